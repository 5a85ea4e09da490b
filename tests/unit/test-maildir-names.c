/* test-maildir-names.c - mailbox names in the maildir module: what is
 * accepted, the Maildir++ folder it becomes on disk (modified UTF-7, '.'
 * between levels, as Dovecot writes it), that listing gives the same name
 * back, and that nothing can reach outside the maildir.  The config also
 * autocreates the special-use mailboxes, which every list here shows. */
#include "test-maildir-util.c"

#include <sys/stat.h>

struct name_row {
	const char *name;
	const char *dir;    /* on-disk folder; NULL: refused with PARAMS */
	const char *listed; /* name as listed (NULL: same as name) */
};

static const struct name_row rows[] = {
	{ "Sent Items", ".Sent Items", NULL },
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

#define AUTOCREATED 5

struct found {
	char names[64][256];
	unsigned int attrs[64], special[64];
	size_t count;
};

static void on_list(void *ctx, const struct pz_mailbox_info *info)
{
	struct found *f = ctx;

	if (f->count < 64) {
		f->attrs[f->count] = info->attrs;
		f->special[f->count] = info->special_use;
		snprintf(f->names[f->count++], sizeof(f->names[0]), "%s", info->name);
	}
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
	assert_int_equal(f.count, 9 + 3 + AUTOCREATED);
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
	if (f.count != 1 + AUTOCREATED)
		print_error("listed %zu, last '%s'\n", f.count, f.names[f.count - 1]);
	assert_int_equal(f.count, 1 + AUTOCREATED);
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

/* A new user gets the configured mailboxes, subscribed, with their
 * special-use; deleting one is the user's choice and sticks. */
static void test_autocreate(void **state)
{
	static const struct {
		const char *name;
		unsigned int use;
	} want[] = {
		{ "Drafts", PZ_SPECIAL_DRAFTS }, { "Sent", PZ_SPECIAL_SENT },
		{ "Trash", PZ_SPECIAL_TRASH }, { "Junk", PZ_SPECIAL_JUNK },
		{ "Archive", PZ_SPECIAL_ARCHIVE },
	};
	struct md_user u;
	struct found f = { .count = 0 };
	pz_error err;
	char path[1024], subs[256] = "";
	FILE *fp;

	md_user_open(&u, "auto", NULL);
	assert_int_equal(S->mailbox_list(u.mu, on_list, &f, &err), 0);
	assert_int_equal(f.count, 1 + AUTOCREATED);
	for (size_t i = 0; i < AUTOCREATED; i++) {
		size_t j;
		for (j = 0; j < f.count && strcmp(f.names[j], want[i].name) != 0; j++)
			;
		if (j == f.count || f.special[j] != want[i].use ||
		    (f.attrs[j] & PZ_MBOX_SUBSCRIBED) == 0)
			print_error("%s: listed %d, special-use %#x, attrs %#x\n",
				    want[i].name, j < f.count, j < f.count ? f.special[j] : 0,
				    j < f.count ? f.attrs[j] : 0);
		assert_true(j < f.count);
		assert_int_equal(f.special[j], want[i].use);
		assert_true((f.attrs[j] & PZ_MBOX_SUBSCRIBED) != 0);
	}
	snprintf(path, sizeof(path), "%s/subscriptions", u.dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_true(fread(subs, 1, sizeof(subs) - 1, fp) > 0);
	fclose(fp);
	assert_string_equal(subs, "INBOX\nDrafts\nSent\nTrash\nJunk\nArchive\n");
	assert_int_equal(S->mailbox_delete(u.mu, "Junk", &err), 0);
	md_user_close(&u);
	md_user_open(&u, "auto", NULL);
	f.count = 0;
	assert_int_equal(S->mailbox_list(u.mu, on_list, &f, &err), 0);
	/* Junk stays deleted, but stays subscribed (IMAP keeps those apart) */
	assert_int_equal(f.count, 1 + AUTOCREATED);
	for (size_t j = 0; j < f.count; j++) {
		if (strcmp(f.names[j], "Junk") == 0)
			assert_int_equal(f.attrs[j],
					 PZ_MBOX_SUBSCRIBED | PZ_MBOX_NONEXISTENT);
	}
	md_user_close(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_autocreate),
		cmocka_unit_test(test_name_table),
		cmocka_unit_test(test_foreign_folders),
		cmocka_unit_test(test_refused_everywhere),
	};
	int ret;

	if (md_setup("  autocreate = Drafts Sent Trash Junk Archive\n") < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	md_teardown();
	return ret;
}
