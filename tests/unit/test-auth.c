/* tests/unit/test-auth.c - base64, SASL PLAIN and LOGIN, the plaintext
 * policy and the failed-login delay, against the real passwd-file module. */
#include "config-core.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "auth.h"
#include "base64.h"
#include "conn.h"
#include "core.h"
#include "penalty.h"
#include "pool.h"
#include "user.h"

static pz_pool *pool;
static pz_conn *conn;
static int peer;

static int setup(void **state)
{
	const char *b = getenv("top_builddir");
	char dir[] = "/tmp/pzauth.XXXXXX", path[4200], *err = NULL;
	struct crypt_data cd;
	FILE *f;
	int sv[2];

	if (mkdtemp(dir) == NULL)
		return -1;
	memset(&cd, 0, sizeof(cd));
	snprintf(path, sizeof(path), "%s/users", dir);
	f = fopen(path, "w");
	fprintf(f, "alice:%s\n", crypt_r("wonderland", "$6$saltsaltsalt$", &cd));
	fprintf(f, "bob:{PLAIN}builder\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/poczta.conf", dir);
	f = fopen(path, "w");
	fprintf(f, "module_dir = %s/tests/moddir\nauth_fail_delay = 20ms\n"
		"auth_fail_delay_max = 80ms\nmodule passwd-file {\n path = %s/users\n"
		" allow_plaintext = yes\n}\n", b != NULL ? b : ".", dir);
	fclose(f);
	if (pz_core_load(path, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (pz_penalty_init() < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	pool = pz_pool_create("test");
	conn = pz_conn_new(pool, sv[0], "test", NULL, 1000);
	peer = sv[1];
	return 0;
}

static int teardown(void **state)
{
	close(peer);
	pz_pool_destroy(&pool);
	pz_core_unload();
	return 0;
}

static void test_base64_table(void **state)
{
	static const struct { const char *plain; size_t len; const char *b64; } rows[] = {
		{ "", 0, "" }, { "f", 1, "Zg==" }, { "fo", 2, "Zm8=" }, { "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg==" }, { "fooba", 5, "Zm9vYmE=" }, { "foobar", 6, "Zm9vYmFy" },
		{ "\0alice\0pw", 9, "AGFsaWNlAHB3" },
	};
	static const char *const bad[] = { "Zg=", "Zg", "Z===", "Zm9v!A==", "=Zg=", "Zg==Zg==",
					   "Zm 9v", "Zg=a" };
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned char *out;
		size_t len;

		assert_string_equal(pz_base64_encode(pool, rows[i].plain, rows[i].len), rows[i].b64);
		assert_int_equal(pz_base64_decode(pool, rows[i].b64, strlen(rows[i].b64), &out, &len), 0);
		assert_int_equal(len, rows[i].len);
		assert_memory_equal(out, rows[i].plain, len);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char *out;
		size_t len;

		if (pz_base64_decode(pool, bad[i], strlen(bad[i]), &out, &len) == 0)
			print_error("'%s' decoded, want refusal\n", bad[i]);
		assert_int_equal(pz_base64_decode(pool, bad[i], strlen(bad[i]), &out, &len), -1);
	}
}

/* One SASL exchange: mechanism, responses in order, and the result. */
struct sasl_row {
	const char *mech;
	const char *responses[4]; /* "NULL" entries end the list; "(none)" = no IR */
	int want;
	const char *user_or_error;
};

static void test_sasl_table(void **state)
{
	static const struct sasl_row rows[] = {
		{ "PLAIN", { "AGFsaWNlAHdvbmRlcmxhbmQ=" }, PZ_SASL_DONE, "alice" },
		{ "plain", { "(none)", "AGJvYgBidWlsZGVy" }, PZ_SASL_DONE, "bob" },
		{ "PLAIN", { "YWxpY2UAYWxpY2UAd29uZGVybGFuZA==" }, PZ_SASL_DONE, "alice" },
		{ "PLAIN", { "Ym9iAGFsaWNlAHdvbmRlcmxhbmQ=" }, PZ_SASL_FAILED,
		  "Authorization identity not allowed" },
		{ "PLAIN", { "AGFsaWNlAHdyb25n" }, PZ_SASL_FAILED, "Authentication failed" },
		{ "PLAIN", { "AGNhcm9sAHg=" }, PZ_SASL_FAILED, "Authentication failed" },
		{ "PLAIN", { "not base64!" }, PZ_SASL_FAILED, "Invalid base64 data" },
		{ "PLAIN", { "YWxpY2U=" }, PZ_SASL_FAILED, "Invalid PLAIN response" },
		{ "PLAIN", { "*" }, PZ_SASL_FAILED, "Authentication cancelled" },
		{ "LOGIN", { "(none)", "Ym9i", "YnVpbGRlcg==" }, PZ_SASL_DONE, "bob" },
		{ "LOGIN", { "Ym9i", "YnVpbGRlcg==" }, PZ_SASL_DONE, "bob" },
		{ "LOGIN", { "(none)", "Ym9i", "d3Jvbmc=" }, PZ_SASL_FAILED, "Authentication failed" },
		{ "CRAM-MD5", { NULL }, PZ_SASL_FAILED, "Unsupported authentication mechanism" },
	};
	size_t i, j;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pz_error err = { 0, NULL };
		pz_user *user = NULL;
		pz_sasl *s = pz_sasl_begin(conn, rows[i].mech, pool, &err);
		int r = PZ_SASL_FAILED;

		for (j = 0; s != NULL && j < 4 && rows[i].responses[j] != NULL; j++) {
			const char *resp = strcmp(rows[i].responses[j], "(none)") == 0 ? NULL :
				rows[i].responses[j];
			const char *challenge = NULL;

			r = pz_sasl_step(s, resp, &challenge, &user, &err);
			if (r != PZ_SASL_CONTINUE)
				break;
			assert_non_null(challenge);
		}
		if (r != rows[i].want)
			print_error("row %zu: got %d (%s), want %d\n", i, r,
				    err.msg != NULL ? err.msg : "-", rows[i].want);
		assert_int_equal(r, rows[i].want);
		if (r == PZ_SASL_DONE)
			assert_string_equal(pz_user_name(user), rows[i].user_or_error);
		else
			assert_string_equal(err.msg, rows[i].user_or_error);
		pz_penalty_clear("unix");
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_fail_delay_grows(void **state)
{
	static const uint64_t want_min[] = { 20, 40, 80, 80 };
	size_t i;

	pz_penalty_clear("unix");
	for (i = 0; i < 4; i++) {
		pz_error err = { 0, NULL };
		pz_user *u = NULL;
		uint64_t t0 = now_ms();

		assert_int_equal(pz_auth_login(conn, "alice", "bad", pool, &u, &err), -1);
		assert_int_equal(err.cls, PZ_ERR_AUTH);
		if (now_ms() - t0 < want_min[i])
			print_error("failure %zu: delayed %llu ms, want >= %llu\n", i,
				    (unsigned long long)(now_ms() - t0),
				    (unsigned long long)want_min[i]);
		assert_true(now_ms() - t0 >= want_min[i]);
	}
	{
		pz_error err = { 0, NULL };
		pz_user *u = NULL;

		assert_int_equal(pz_auth_login(conn, "alice", "wonderland", pool, &u, &err), 0);
		assert_int_equal(pz_penalty_delay_ms("unix", 20, 80), 0);
	}
}

static void test_lookup(void **state)
{
	pz_error err = { 0, NULL };
	pz_user *u = NULL;

	assert_int_equal(pz_auth_user_lookup("bob", pool, &u, &err), 0);
	assert_int_equal(pz_auth_user_lookup("nobody-here", pool, &u, &err), 1);
	assert_string_equal(pz_auth_mechanisms(conn), "PLAIN LOGIN");
	assert_int_equal(pz_auth_plaintext_allowed(conn), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_table),
		cmocka_unit_test(test_sasl_table),
		cmocka_unit_test(test_fail_delay_grows),
		cmocka_unit_test(test_lookup),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
