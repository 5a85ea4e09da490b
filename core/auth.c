/* core/auth.c - authentication over the auth backends named by `auth`. */
#include "config-core.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "auth.h"
#include "base64.h"
#include "conn.h"
#include "core.h"
#include "log.h"
#include "penalty.h"
#include "pool.h"
#include "registry.h"
#include "settings.h"
#include "user.h"

#define AUTH_MAX_BACKENDS 8

enum sasl_mech { SASL_PLAIN, SASL_LOGIN };
enum sasl_state { SASL_START, SASL_LOGIN_USER, SASL_LOGIN_PASS, SASL_FINISHED };

/* The exchange's state and decoded data live in its own pool, freed when
 * the exchange ends, so failed attempts do not grow the caller's pool;
 * only the authenticated user goes into the caller's pool. */
struct pz_sasl {
	pz_conn *conn;
	pz_pool *pool;       /* the exchange's own */
	pz_pool *user_pool;  /* the caller's, for the result */
	enum sasl_mech mech;
	enum sasl_state state;
	char *login_user;
};

static void sasl_pool_free(void *ctx);

int pz_auth_plaintext_allowed(pz_conn *c)
{
	const char *policy = pz_setting("auth_allow_plaintext");

	if (pz_conn_is_tls(c) || strcmp(policy, "yes") == 0)
		return 1;
	return strcmp(policy, "loopback") == 0 && pz_conn_is_local(c);
}

const char *pz_auth_mechanisms(pz_conn *c)
{
	return pz_auth_plaintext_allowed(c) ? "PLAIN LOGIN" : "";
}

/* backends - the auth providers named by `auth`, in order. */
static size_t backends(const struct pz_auth_ops **ops, struct pz_module **mods)
{
	char list[1024], *save = NULL, *word;
	size_t n = 0, i;

	snprintf(list, sizeof(list), "%s", pz_setting("auth"));
	for (word = strtok_r(list, " \t,", &save); word != NULL && n < AUTH_MAX_BACKENDS;
	     word = strtok_r(NULL, " \t,", &save)) {
		for (i = 0; i < pz_module_count; i++) {
			if (pz_modules[i]->auth != NULL &&
			    strcmp(pz_modules[i]->auth->name, word) == 0) {
				ops[n] = pz_modules[i]->auth;
				mods[n++] = pz_modules[i];
				break;
			}
		}
	}
	return n;
}

/* lookup_in - first backend that knows the user: its index, -1 for none,
 * -2 for a backend error (err set). */
static int lookup_in(pz_user *u, const struct pz_auth_ops **ops, struct pz_module **mods,
		     size_t n, pz_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *e = NULL;
		int r = ops[i]->lookup(mods[i], u, &e);

		if (r == PZ_AUTH_OK)
			return (int)i;
		if (r == PZ_AUTH_ERROR) {
			pz_log_module(mods[i]->name, PZ_LOG_ERROR, "user lookup failed: %s",
				      e != NULL ? e : "unknown error");
			err->cls = PZ_ERR_TEMP;
			err->msg = "Authentication service is temporarily unavailable";
			return -2;
		}
	}
	return -1;
}

int pz_auth_user_lookup(const char *name, pz_pool *pool, pz_user **user_r, pz_error *err)
{
	const struct pz_auth_ops *ops[AUTH_MAX_BACKENDS];
	struct pz_module *mods[AUTH_MAX_BACKENDS];
	size_t n = backends(ops, mods);
	pz_pool *tmp = pz_pool_create("user lookup");
	pz_user *u = pz_user_new(tmp, name);
	int i = lookup_in(u, ops, mods, n, err);

	if (i >= 0)
		*user_r = pz_user_copy(pool, u);
	pz_pool_destroy(&tmp);
	return i == -2 ? -1 : i == -1 ? 1 : 0;
}

/* sleep_ms - nanosleep through signals. */
static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && !pz_conn_stopping)
		;
}

/* verify - look up and check the password; 0, or -1 with err. */
static int verify(pz_conn *c, const char *name, const char *password, pz_pool *pool,
		  pz_user **user_r, pz_error *err)
{
	const struct pz_auth_ops *ops[AUTH_MAX_BACKENDS];
	struct pz_module *mods[AUTH_MAX_BACKENDS];
	size_t n = backends(ops, mods);
	pz_pool *tmp = pz_pool_create("login");
	pz_user *u = pz_user_new(tmp, name);
	int i = lookup_in(u, ops, mods, n, err), r = PZ_AUTH_UNKNOWN;
	const char *e = NULL;

	if (i == -2) {
		pz_pool_destroy(&tmp);
		return -1;
	}
	if (i >= 0) {
		r = ops[i]->verify_password(mods[i], u, password, &e);
		if (r == PZ_AUTH_ERROR) {
			pz_log_module(mods[i]->name, PZ_LOG_ERROR, "password check failed: %s",
				      e != NULL ? e : "unknown error");
			err->cls = PZ_ERR_TEMP;
			err->msg = "Authentication service is temporarily unavailable";
			pz_pool_destroy(&tmp);
			return -1;
		}
	}
	if (r != PZ_AUTH_OK) {
		pz_penalty_fail(pz_conn_peer(c));
		pz_log(PZ_LOG_INFO, "login failed for '%s': %s", name,
		       i < 0 ? "unknown user" : "wrong password");
		sleep_ms(pz_penalty_delay_ms(pz_conn_peer(c),
					     pz_setting_duration_ms("auth_fail_delay"),
					     pz_setting_duration_ms("auth_fail_delay_max")));
		err->cls = PZ_ERR_AUTH;
		err->msg = "Authentication failed";
		pz_pool_destroy(&tmp);
		return -1;
	}
	pz_penalty_clear(pz_conn_peer(c));
	pz_log_set_user(name);
	pz_log(PZ_LOG_INFO, "logged in%s", pz_conn_is_tls(c) ? " (TLS)" : "");
	*user_r = pz_user_copy(pool, u);
	pz_pool_destroy(&tmp);
	return 0;
}

int pz_auth_login(pz_conn *c, const char *user, const char *password, pz_pool *pool,
		  pz_user **user_r, pz_error *err)
{
	if (!pz_auth_plaintext_allowed(c)) {
		err->cls = PZ_ERR_PARAMS;
		err->msg = "Plaintext authentication is not allowed without TLS";
		return -1;
	}
	if (user[0] == '\0') {
		err->cls = PZ_ERR_AUTH;
		err->msg = "Authentication failed";
		return -1;
	}
	return verify(c, user, password, pool, user_r, err);
}

pz_sasl *pz_sasl_begin(pz_conn *c, const char *mechanism, pz_pool *pool, pz_error *err)
{
	pz_sasl *s;
	enum sasl_mech mech;

	if (strcasecmp(mechanism, "PLAIN") == 0)
		mech = SASL_PLAIN;
	else if (strcasecmp(mechanism, "LOGIN") == 0)
		mech = SASL_LOGIN;
	else {
		err->cls = PZ_ERR_NOT_SUPPORTED;
		err->msg = "Unsupported authentication mechanism";
		return NULL;
	}
	if (!pz_auth_plaintext_allowed(c)) {
		err->cls = PZ_ERR_PARAMS;
		err->msg = "Plaintext authentication is not allowed without TLS";
		return NULL;
	}
	s = pz_pool_alloc(pool, sizeof(*s));
	s->conn = c;
	s->pool = pz_pool_create("sasl");
	s->user_pool = pool;
	s->mech = mech;
	/* also freed with the caller's pool if the client vanishes midway */
	pz_pool_cleanup(pool, sasl_pool_free, s);
	return s;
}

static void sasl_pool_free(void *ctx)
{
	pz_sasl *s = ctx;

	pz_pool_destroy(&s->pool);
}

/* sasl_finish - the exchange is over: its data goes. */
static int sasl_finish(pz_sasl *s, int result)
{
	s->state = SASL_FINISHED;
	s->login_user = NULL;
	pz_pool_clear(s->pool);
	return result;
}

static int sasl_fail(pz_sasl *s, pz_error *err, enum pz_error_class cls, const char *msg)
{
	err->cls = cls;
	err->msg = msg;
	return sasl_finish(s, PZ_SASL_FAILED);
}

/* sasl_plain - RFC 4616: [authzid] NUL authcid NUL passwd. */
static int sasl_plain(pz_sasl *s, const unsigned char *data, size_t len,
		      pz_user **user_r, pz_error *err)
{
	const char *authzid = (const char *)data, *authcid, *pass;
	const unsigned char *nul1 = memchr(data, '\0', len), *nul2;

	if (nul1 == NULL || (nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - data))) == NULL ||
	    memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - data)) != NULL)
		return sasl_fail(s, err, PZ_ERR_PARAMS, "Invalid PLAIN response");
	authcid = (const char *)nul1 + 1;
	pass = (const char *)nul2 + 1;
	if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0)
		return sasl_fail(s, err, PZ_ERR_AUTH, "Authorization identity not allowed");
	if (authcid[0] == '\0')
		return sasl_fail(s, err, PZ_ERR_AUTH, "Authentication failed");
	return sasl_finish(s, verify(s->conn, authcid, pass, s->user_pool, user_r, err) < 0 ?
			   PZ_SASL_FAILED : PZ_SASL_DONE);
}

int pz_sasl_step(pz_sasl *s, const char *response_b64, const char **challenge_r,
		 pz_user **user_r, pz_error *err)
{
	unsigned char *data = NULL;
	size_t len = 0;

	if (s->state == SASL_FINISHED)
		return sasl_fail(s, err, PZ_ERR_PARAMS, "Authentication already finished");
	if (response_b64 != NULL && strcmp(response_b64, "*") == 0)
		return sasl_fail(s, err, PZ_ERR_PARAMS, "Authentication cancelled");
	if (response_b64 != NULL) {
		size_t n = strlen(response_b64);

		if (n > PZ_AUTH_MAX_INPUT)
			return sasl_fail(s, err, PZ_ERR_PARAMS, "Authentication response too long");
		if (pz_base64_decode(s->pool, response_b64, n, &data, &len) < 0)
			return sasl_fail(s, err, PZ_ERR_PARAMS, "Invalid base64 data");
	}
	switch (s->mech) {
	case SASL_PLAIN:
		if (data == NULL) {
			*challenge_r = "";
			return PZ_SASL_CONTINUE;
		}
		return sasl_plain(s, data, len, user_r, err);
	case SASL_LOGIN:
		if (s->state == SASL_START) {
			s->state = SASL_LOGIN_USER;
			if (data == NULL) {
				*challenge_r = pz_base64_encode(s->pool, "Username:", 9);
				return PZ_SASL_CONTINUE;
			}
		}
		if (s->state == SASL_LOGIN_USER) {
			if (data == NULL || len == 0 || memchr(data, '\0', len) != NULL)
				return sasl_fail(s, err, PZ_ERR_AUTH, "Authentication failed");
			s->login_user = (char *)data;
			s->state = SASL_LOGIN_PASS;
			*challenge_r = pz_base64_encode(s->pool, "Password:", 9);
			return PZ_SASL_CONTINUE;
		}
		if (data == NULL || memchr(data, '\0', len) != NULL)
			return sasl_fail(s, err, PZ_ERR_AUTH, "Authentication failed");
		return sasl_finish(s, verify(s->conn, s->login_user, (const char *)data,
					     s->user_pool, user_r, err) < 0 ?
				   PZ_SASL_FAILED : PZ_SASL_DONE);
	}
	return sasl_fail(s, err, PZ_ERR_BUG, "bad SASL state");
}
