/* test-maildir-names.c - mailbox names in the maildir module: what is
 * accepted, the Maildir++ folder it becomes on disk (modified UTF-7, '.'
 * between levels, as Dovecot writes it), that listing gives the same name
 * back, and that nothing can reach outside the maildir. */
#include "test-maildir-util.c"

#include <sys/stat.h>

struct name_row {
	const char *name;
	const char *dir;    /* on-disk folder; NULL: refused with PARAMS */
	const char *listed; /* name as listed (NULL: same as name) */
};

static const struct name_row rows[] = {
	{ "Sent", ".Sent", NULL },
	{ "A/B", ".A.B", NULL },
	{ "inbox/Sub", ".INBOX.Sub", "INBOX/Sub" },
	{ "Pocztą", ".Poczt&AQU-", NULL },
	{ "日本語", ".&ZeVnLIqe-", NULL },
	{ "a&b", ".a&-b", NULL },
	{ "x~y z", ".x~y z", NULL },
	{ "emoji 😀", ".emoji &2D3eAA-", NULL },
	{ "Ünïcödé/ß", ".&ANw-n&AO8-c&APY-d&AOk-.&AN8-", NULL },
	{ "", NULL, NULL },
	{ "/", NULL, NULL },
	{ "/abs", NULL, NULL },
	{ "a//b", NULL, NULL },
	{ "a/", NULL, NULL },
	{ "..", NULL, NULL },
	{ "a/../b", NULL, NULL },
	{ "../../etc", NULL, NULL },
	{ "a.b", NULL, NULL },
	{ ".hidden", NULL, NULL },
	{ "ctl\x01", NULL, NULL },
	{ "tab\there", NULL, NULL },
	{ "del\x7f", NULL, NULL },
	{ "nl\n", NULL, NULL },
	{ "c1 \xc2\x85", NULL, NULL },
	{ "bad \xff\xfe", NULL, NULL },
	{ "overlong \xc0\xaf", NULL, NULL },
	{ "surrogate \xed\xa0\x80", NULL, NULL },
	{ "DOVECOT-TRASHED", NULL, NULL },
};

struct found {
	char names[64][256];
	size_t count;
};

static void on_list(void *ctx, const struct pz_mailbox_info *info)
{
	struct found *f = ctx;

	if (f->count < 64)
		snprintf(f->names[f->count++], sizeof(f->names[0]), "%s", info->name);
}

static int listed(const struct found *f, const char *name)
{
	for (size_t i = 0; i < f->count; i++) {
		if (strcmp(f->names[i], name) == 0)
			return 1;
	}
	return 0;
}

static void test_name_table(void **state)
{
	struct md_user u;
	struct found f = { .count = 0 };
	pz_error err;
	char path[1024];

	md_user_open(&u, "names", NULL);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct name_row *r = &rows[i];
		int ret = S->mailbox_create(u.mu, r->name, 0, &err);

		if (r->dir == NULL) {
			if (ret != -1 || err.cls != PZ_ERR_PARAMS)
				print_error("row %zu (%s): got %d/%d, want PARAMS\n", i,
					    r->name, ret, ret < 0 ? (int)err.cls : 0);
			assert_int_equal(ret, -1);
			assert_int_equal(err.cls, PZ_ERR_PARAMS);
			continue;
		}
		if (ret != 0)
			print_error("row %zu (%s): %s\n", i, r->name, err.msg);
		assert_int_equal(ret, 0);
		snprintf(path, sizeof(path), "%s/%s/cur", u.dir, r->dir);
		if (access(path, F_OK) != 0)
			print_error("row %zu (%s): no folder %s\n", i, r->name, r->dir);
		assert_int_equal(access(path, F_OK), 0);
	}
	assert_int_equal(S->mailbox_list(u.mu, on_list, &f, &err), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *want = rows[i].listed != NULL ? rows[i].listed : rows[i].name;

		if (rows[i].dir == NULL)
			continue;
		if (!listed(&f, want))
			print_error("row %zu: '%s' not listed\n", i, want);
		assert_true(listed(&f, want));
	}
	/* a refused name never reached the disk: only what the table made,
	 * plus INBOX and the implicit parents A, INBOX, Ünïcödé */
	assert_int_equal(f.count, 9 + 3);
	md_user_close(&u);
}

/* Folders other tools made with names we would not write are skipped. */
static void test_foreign_folders(void **state)
{
	static const char *const bad[] = {
		".&Jjo", ".&AGE-", ".a..b", ".trailing.", ".&-&", ".&2D0-",
	};
	struct md_user u;
	struct found f = { .count = 0 };
	pz_error err;
	char path[1024];

	md_user_open(&u, "foreign", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", u.dir, bad[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	assert_int_equal(S->mailbox_list(u.mu, on_list, &f, &err), 0);
	if (f.count != 1)
		print_error("listed %zu, first extra '%s'\n", f.count,
			    f.count > 1 ? f.names[1] : "");
	assert_int_equal(f.count, 1);
	assert_string_equal(f.names[0], "INBOX");
	md_user_close(&u);
}

/* Operations on refused names fail cleanly, everywhere. */
static void test_refused_everywhere(void **state)
{
	struct md_user u;
	struct pz_mailbox_status st = { .size = sizeof(st) };
	pz_mailbox *box = NULL;
	pz_error err;

	md_user_open(&u, "refused", NULL);
	assert_int_equal(S->mailbox_open(u.mu, "../x", 0, &box, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PARAMS);
	assert_int_equal(S->mailbox_status(u.mu, "a/../..", PZ_STATUS_ALL, &st,
					   &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PARAMS);
	assert_int_equal(S->mailbox_rename(u.mu, "INBOX", "x/../y", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PARAMS);
	assert_int_equal(S->mailbox_delete(u.mu, "..", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PARAMS);
	assert_int_equal(S->mailbox_subscribe(u.mu, "a\nb", 1, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PARAMS);
	assert_int_equal(S->mailbox_open(u.mu, "Missing", 0, &box, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_NOT_FOUND);
	md_user_close(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_table),
		cmocka_unit_test(test_foreign_folders),
		cmocka_unit_test(test_refused_everywhere),
	};
	int ret;

	if (md_setup(NULL) < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	md_teardown();
	return ret;
}
