/* pgsql-auth.c - the postgres auth backend: users from a table.
 *
 * Two queries, both prepared with the user name as $1 and both
 * replaceable in the config:
 *   user_query      one row of the user's fields: every column that is not
 *                   NULL becomes a field named like the column ("home",
 *                   "mail", "quota", "quota_messages", "uid", "gid", ...);
 *                   no row: the user is unknown here
 *   password_query  the crypt(3) hash in the first column
 * Hashes are crypt(3) strings ($y$, $6$, $5$, $2b$ ...), optionally with a
 * Dovecot-style {SCHEME} prefix; {PLAIN} only with allow_plaintext.  An
 * empty hash, or one starting with '*' or '!', is a locked account.
 * A database that cannot be reached is PZ_AUTH_ERROR: the protocols answer
 * "try again later", never "wrong password".
 */
#include "pgsql.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

static char auth_error[256];

static const char *db_error(const pz_error *err)
{
	snprintf(auth_error, sizeof(auth_error), "user database: %s",
		 err->msg != NULL ? err->msg : "unavailable");
	return auth_error;
}

static int pgsql_auth_lookup(pz_module *self, pz_user *user, const char **error_r)
{
	struct pgsql_params p;
	pz_error err = { PZ_ERR_NONE, NULL };
	PGresult *r;

	pgp_init(&p);
	pgp_str(&p, HOST->user_name(user));
	r = pgsql_exec(NULL, ST_AUTH_USER, &p, NULL, &err);
	if (r == NULL) {
		*error_r = db_error(&err);
		return PZ_AUTH_ERROR;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return PZ_AUTH_UNKNOWN;
	}
	for (int c = 0; c < PQnfields(r); c++) {
		if (!PQgetisnull(r, 0, c))
			HOST->user_set(user, PQfname(r, c), PQgetvalue(r, 0, c));
	}
	PQclear(r);
	return PZ_AUTH_OK;
}

/* scheme_strip - the hash without a {SCHEME} prefix; *plain_r when the
 * scheme says the password is stored as it is */
static const char *scheme_strip(const char *hash, int *plain_r)
{
	static const char *const plain[] = { "{PLAIN}", "{CLEAR}", "{CLEARTEXT}" };
	const char *end;

	*plain_r = 0;
	if (hash[0] != '{' || (end = strchr(hash, '}')) == NULL)
		return hash;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (strncasecmp(hash, plain[i], strlen(plain[i])) == 0)
			*plain_r = 1;
	}
	return end + 1;
}

static int equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

static int pgsql_auth_verify(pz_module *self, pz_user *user, const char *password,
			     const char **error_r)
{
	struct pgsql_params p;
	pz_error err = { PZ_ERR_NONE, NULL };
	struct crypt_data *cd;
	const char *hash, *out;
	PGresult *r;
	int plain, ok;

	pgp_init(&p);
	pgp_str(&p, HOST->user_name(user));
	r = pgsql_exec(NULL, ST_AUTH_PASSWORD, &p, NULL, &err);
	if (r == NULL) {
		*error_r = db_error(&err);
		return PZ_AUTH_ERROR;
	}
	if (PQntuples(r) == 0 || PQnfields(r) < 1) {
		PQclear(r);
		return PZ_AUTH_UNKNOWN;
	}
	hash = scheme_strip(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0), &plain);
	if (*hash == '\0' || *hash == '*' || *hash == '!') {
		PQclear(r);
		return PZ_AUTH_FAILED; /* locked */
	}
	if (plain) {
		if (!pgsql_set.allow_plaintext)
			pgsql_log(PZ_LOG_WARNING, "user %s has a {PLAIN} password and "
				  "allow_plaintext is off", HOST->user_name(user));
		ok = pgsql_set.allow_plaintext && equal_ct(hash, password);
		PQclear(r);
		return ok ? PZ_AUTH_OK : PZ_AUTH_FAILED;
	}
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		PQclear(r);
		*error_r = "out of memory";
		return PZ_AUTH_ERROR;
	}
	out = crypt_r(password, hash, cd);
	ok = out != NULL && out[0] != '*' && equal_ct(out, hash);
	if (out == NULL || out[0] == '*')
		pgsql_log(PZ_LOG_WARNING, "user %s: crypt(3) cannot use the stored hash",
			  HOST->user_name(user));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	PQclear(r);
	return ok ? PZ_AUTH_OK : PZ_AUTH_FAILED;
}

const struct pz_auth_ops pgsql_auth_ops = {
	.size = sizeof(struct pz_auth_ops),
	.name = "postgres",
	.lookup = pgsql_auth_lookup,
	.verify_password = pgsql_auth_verify,
};
