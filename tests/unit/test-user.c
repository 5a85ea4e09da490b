/* tests/unit/test-user.c - user fields and template expansion. */
#include "config-core.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "pool.h"
#include "user.h"

struct expand_row {
	const char *name;
	const char *home; /* NULL: no home field */
	const char *tmpl;
	const char *want;
};

static void test_expand_table(void **state)
{
	static const struct expand_row rows[] = {
		{ "alice@example.org", NULL, "/var/mail/%d/%n", "/var/mail/example.org/alice" },
		{ "alice@example.org", NULL, "%u", "alice@example.org" },
		{ "bob", NULL, "/m/%n/%d/x", "/m/bob//x" },
		{ "bob", "/home/bob", "maildir:~/Maildir", "maildir:~/Maildir" },
		{ "bob", "/home/bob", "~/Maildir", "/home/bob/Maildir" },
		{ "bob", "/home/bob", "%h/mail", "/home/bob/mail" },
		{ "bob", "/var/mail/%u", "~/Maildir", "/var/mail/bob/Maildir" },
		{ "bob", "/var/mail/%u", "%h", "/var/mail/bob" },
		{ "bob", "/v/%h", "%h", "/v/" },
		{ "bob", NULL, "~/x", "~/x" },
		{ "bob", NULL, "100%% %q %", "100% %q %" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pz_pool *pool = pz_pool_create("t");
		pz_user *u = pz_user_new(pool, rows[i].name);
		const char *got;

		if (rows[i].home != NULL)
			pz_user_set(u, "home", rows[i].home);
		got = pz_user_expand(u, pool, rows[i].tmpl);
		if (strcmp(got, rows[i].want) != 0)
			print_error("row %zu: got '%s', want '%s'\n", i, got, rows[i].want);
		assert_string_equal(got, rows[i].want);
		pz_pool_destroy(&pool);
	}
}

static void test_fields(void **state)
{
	pz_pool *pool = pz_pool_create("t");
	pz_user *u = pz_user_new(pool, "carol");

	assert_string_equal(pz_user_name(u), "carol");
	assert_null(pz_user_get(u, "quota"));
	pz_user_set(u, "quota", "1G");
	pz_user_set(u, "mail", "maildir:~/M");
	pz_user_set(u, "quota", "2G");
	assert_string_equal(pz_user_get(u, "quota"), "2G");
	pz_user_set(u, "quota", NULL);
	assert_null(pz_user_get(u, "quota"));
	assert_string_equal(pz_user_get(u, "mail"), "maildir:~/M");
	pz_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_table),
		cmocka_unit_test(test_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
