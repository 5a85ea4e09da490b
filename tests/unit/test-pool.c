/* tests/unit/test-pool.c - memory pools and UID arrays. */
#include "config-core.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "pool.h"

static void test_alloc_zeroed_aligned(void **state)
{
	pz_pool *p = pz_pool_create("t");
	size_t sizes[] = { 1, 3, 16, 17, 100, 8191, 8192, 100000 };
	size_t i, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *m = pz_pool_alloc(p, sizes[i]);

		assert_int_equal((uintptr_t)m % 16, 0);
		for (j = 0; j < sizes[i]; j++)
			assert_int_equal(m[j], 0);
		memset(m, 0xaa, sizes[i]);
	}
	assert_true(pz_pool_allocated(p) >= 1 + 3 + 16 + 17 + 100 + 8191 + 8192 + 100000);
	pz_pool_destroy(&p);
	assert_null(p);
}

static void test_pool_realloc(void **state)
{
	pz_pool *p = pz_pool_create("t");
	char *a = pz_pool_alloc(p, 10), *b, *c;

	memcpy(a, "abcdefghi", 10);
	b = pz_pool_realloc(p, a, 10, 40);
	assert_ptr_equal(a, b); /* newest piece grows in place */
	assert_string_equal(b, "abcdefghi");
	assert_int_equal(b[39], 0);
	c = pz_pool_alloc(p, 5);
	(void)c;
	a = pz_pool_realloc(p, b, 40, 100000);
	assert_ptr_not_equal(a, b); /* not the newest any more: moved */
	assert_string_equal(a, "abcdefghi");
	assert_int_equal(a[99999], 0);
	pz_pool_destroy(&p);
}

static void test_strings(void **state)
{
	pz_pool *p = pz_pool_create("t");
	static const struct { const char *in; size_t n; const char *want; } rows[] = {
		{ "hello", 5, "hello" },
		{ "hello", 2, "he" },
		{ "", 0, "" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_string_equal(pz_pool_strndup(p, rows[i].in, rows[i].n), rows[i].want);
	assert_string_equal(pz_pool_strdup(p, "x y"), "x y");
	assert_null(pz_pool_strdup(p, NULL));
	assert_string_equal(pz_pool_printf(p, "%s-%d-%05.1f", "a", 42, 3.14159), "a-42-003.1");
	{
		char big[20000];

		memset(big, 'q', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_string_equal(pz_pool_printf(p, "%s", big), big);
	}
	pz_pool_destroy(&p);
}

static int order[4];
static int n_order;

static void cleanup_fn(void *ctx)
{
	order[n_order++] = *(int *)ctx;
}

static void test_cleanup_order(void **state)
{
	pz_pool *p = pz_pool_create("t");
	static int one = 1, two = 2, three = 3;

	n_order = 0;
	pz_pool_cleanup(p, cleanup_fn, &one);
	pz_pool_cleanup(p, cleanup_fn, &two);
	pz_pool_clear(p);
	assert_int_equal(n_order, 2);
	assert_int_equal(order[0], 2); /* newest first */
	assert_int_equal(order[1], 1);
	assert_int_equal(pz_pool_allocated(p), 0);
	pz_pool_cleanup(p, cleanup_fn, &three);
	pz_pool_destroy(&p);
	assert_int_equal(n_order, 3);
	assert_int_equal(order[2], 3);
}

static void test_uid_array(void **state)
{
	pz_pool *p = pz_pool_create("t");
	pz_uid_array a;
	uint32_t i;

	pz_uid_array_init(&a, p);
	assert_int_equal(a.count, 0);
	for (i = 1; i <= 10000; i++)
		pz_uid_array_add(&a, i * 3);
	assert_int_equal(a.count, 10000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(a.uids[i], (i + 1) * 3);
	pz_pool_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_zeroed_aligned),
		cmocka_unit_test(test_pool_realloc),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_cleanup_order),
		cmocka_unit_test(test_uid_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
