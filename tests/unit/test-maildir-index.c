/* test-maildir-index.c - what the maildir index keeps for speed must stay
 * true: internal dates are the files' mtimes whichever sync saw a file
 * first (and however many files it saw), the STATUS totals follow every
 * kind of change, the first sync's shared modseq does not hide later
 * changes, new files get UIDs in delivery order, changes of our own leave
 * their folder's mtime in the header (so they alone never make a sync
 * read the folder), and an index of version 1, or of version 2 without
 * the checked times, is upgraded in place. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test-maildir-util.c"

static const char msg1[] = "From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n";

static void make_maildir(const char *dir)
{
	char p[1024];

	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/cur", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/new", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/tmp", dir);
	mkdir(p, 0700);
}

/* user_dir - a user's maildir, made empty, before the user is opened */
static void user_dir(const char *user, char *dir, size_t n)
{
	char parent[512];

	snprintf(parent, sizeof(parent), "%s/%s", md_root, user);
	mkdir(parent, 0700);
	snprintf(dir, n, "%s/Maildir", parent);
	make_maildir(dir);
}

/* write_mail - an 18-byte message (21 with CRLF) named in its Subject */
static void write_mail(const char *path, const char *subject, time_t mtime)
{
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char body[256];
	int len = snprintf(body, sizeof(body), "Subject: %s\n\nhello\n", subject);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, (size_t)len), len);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static void status_of(struct md_user *u, const char *box,
		      struct pz_mailbox_status *st)
{
	pz_error err = { 0 };

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (S->mailbox_status(u->mu, box, PZ_STATUS_ALL, st, &err) < 0)
		print_error("status %s: %s\n", box, err.msg);
	assert_int_equal(err.cls, PZ_ERR_NONE);
}

/* ---- internal dates */

struct dates {
	size_t n;
	uint32_t uid[8192];
	time_t idate[8192];
};

static void dates_appended(void *ctx, const struct pz_msg_info *info)
{
	struct dates *d = ctx;

	if (d->n < 8192) {
		d->uid[d->n] = info->uid;
		d->idate[d->n++] = info->internal_date;
	}
}

/* The date of the i-th file (in name order) differs from the time in its
 * name, as after an APPEND with a date: the mtime is what counts. */
static time_t file_mtime(size_t i)
{
	return 1400000000 + (time_t)i * 7;
}

static void test_dates_from_mtime(void **state)
{
	static const struct {
		size_t files;
		int status_first;  /* a sync that serves no view sees them first */
	} rows[] = {
		{ 3, 0 }, { 3, 1 },
		{ 700, 0 }, { 700, 1 },     /* stat()ed by threads */
		{ 6000, 0 }, { 6000, 1 },   /* and while the directory is read */
	};

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		static struct dates d;
		struct pz_sync_handler h = { .size = sizeof(h),
					     .appended = dates_appended };
		struct pz_mailbox_status st;
		struct md_user u;
		pz_mailbox *box;
		pz_error err = { 0 };
		char user[32], dir[600], path[1024];
		pz_pool *pool = H->pool_create("test dates");

		snprintf(user, sizeof(user), "dates%zu", r);
		user_dir(user, dir, sizeof(dir));
		for (size_t i = 0; i < rows[r].files; i++) {
			/* long names: the 6000 take more than one directory read */
			snprintf(path, sizeof(path),
				 "%s/cur/%ld.M%zuP4242.a-rather-long-host-name.example.org"
				 ",S=18,W=21:2,S", dir, 1700000000L + (long)i, i);
			write_mail(path, "x", file_mtime(i));
		}
		md_user_open(&u, user, NULL);
		if (rows[r].status_first) {
			status_of(&u, "INBOX", &st);
			assert_int_equal(st.messages, rows[r].files);
		}
		box = md_open(&u, "INBOX", 0);
		d.n = 0;
		if (S->mailbox_sync(box, &h, &d, &err) < 0)
			print_error("sync: %s\n", err.msg);
		assert_int_equal(d.n, rows[r].files);
		for (size_t i = 0; i < d.n; i++) {
			struct pz_msg_info info = { .size = sizeof(info) };

			if (d.idate[i] != file_mtime(i))
				print_error("row %zu file %zu: got date %lld, want %lld\n",
					    r, i, (long long)d.idate[i],
					    (long long)file_mtime(i));
			assert_int_equal(d.idate[i], file_mtime(i));
			assert_int_equal(S->msg_info(box, d.uid[i], pool, &info, &err), 0);
			assert_int_equal(info.internal_date, file_mtime(i));
		}
		S->mailbox_close(&box);
		/* a second view reads the dates from the index */
		box = md_open(&u, "INBOX", 0);
		d.n = 0;
		assert_int_equal(S->mailbox_sync(box, &h, &d, &err), 0);
		assert_int_equal(d.n, rows[r].files);
		assert_int_equal(d.idate[d.n - 1], file_mtime(d.n - 1));
		S->mailbox_close(&box);
		H->pool_destroy(&pool);
		md_user_close(&u);
	}
}

/* ---- STATUS totals */

struct want {
	uint32_t messages, unseen, deleted, recent;
	uint64_t bytes;
};

/* check_status - STATUS against a read-only view's own count */
static void check_status(struct md_user *u, const char *name, const char *step,
			 uint32_t want_recent)
{
	struct md_events *ev = calloc(1, sizeof(*ev));
	struct pz_mailbox_status st;
	struct want w = { .recent = want_recent };
	pz_mailbox *box;

	status_of(u, name, &st);
	box = md_open(u, name, PZ_OPEN_READONLY);
	md_sync(box, ev);
	for (size_t i = 0; i < ev->n_appended; i++) {
		w.messages++;
		w.unseen += (ev->appended[i].flags & PZ_FLAG_SEEN) == 0;
		w.deleted += (ev->appended[i].flags & PZ_FLAG_DELETED) != 0;
		w.bytes += ev->appended[i].size;
	}
	S->mailbox_close(&box);
	if (st.messages != w.messages || st.unseen != w.unseen ||
	    st.deleted != w.deleted || st.recent != w.recent || st.bytes != w.bytes)
		print_error("%s: got messages %u unseen %u deleted %u recent %u "
			    "bytes %llu, want %u %u %u %u %llu\n", step, st.messages,
			    st.unseen, st.deleted, st.recent,
			    (unsigned long long)st.bytes, w.messages, w.unseen,
			    w.deleted, w.recent, (unsigned long long)w.bytes);
	assert_int_equal(st.messages, w.messages);
	assert_int_equal(st.unseen, w.unseen);
	assert_int_equal(st.deleted, w.deleted);
	assert_int_equal(st.recent, w.recent);
	assert_int_equal(st.bytes, w.bytes);
	free(ev);
}

/* rename_file - give the file whose name contains `part` other flags, as
 * mutt would */
static void rename_file(const char *dir, const char *part, const char *flags)
{
	char name[256] = "", from[1024], to[1024];
	struct dirent *de;
	DIR *d;

	snprintf(from, sizeof(from), "%s/cur", dir);
	d = opendir(from);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, part) != NULL) {
			snprintf(name, sizeof(name), "%s", de->d_name);
			break;
		}
	}
	closedir(d);
	assert_non_null(strchr(name, ':'));
	snprintf(from, sizeof(from), "%s/cur/%s", dir, name);
	*strchr(name, ':') = '\0';
	snprintf(to, sizeof(to), "%s/cur/%s:2,%s", dir, name, flags);
	assert_int_equal(rename(from, to), 0);
}

static void test_status_counts(void **state)
{
	static const char *const kws[] = { "Kw", NULL };
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	struct pz_uid_range gone[] = { { 1, 2 }, { 4, 4 } };
	pz_uidset expunge = { gone, 2 }, all = md_set(1, UINT32_MAX - 1);
	struct pz_store_args a = { .size = sizeof(a), .mode = PZ_STORE_ADD,
				   .flags = PZ_FLAG_SEEN | PZ_FLAG_DELETED,
				   .keywords = kws };
	pz_mailbox *box, *other;
	pz_uid_array dest;
	pz_error err = { 0 };
	char dir[600], path[1024];

	user_dir("counts", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cur/1600000000.M1P1.ext:2,S", dir);
	write_mail(path, "ext", 1);                         /* UID 1 */
	md_user_open(&u, "counts", NULL);
	check_status(&u, "INBOX", "import", 1);

	box = md_open(&u, "INBOX", PZ_OPEN_NO_RECENT);
	assert_int_equal(md_save(box, msg1, 0, NULL), 2);
	assert_int_equal(md_save(box, msg1, PZ_FLAG_SEEN, "Kw", NULL), 3);
	assert_int_equal(md_save(box, msg1, PZ_FLAG_DELETED, NULL), 4);
	md_sync(box, ev);
	check_status(&u, "INBOX", "saves", 4);
	{
		pz_uidset two = md_set(2, 2);
		assert_int_equal(S->store(box, &two, &a, NULL, NULL, &err), 0);
	}
	check_status(&u, "INBOX", "store", 4);
	rename_file(dir, "1600000000.M1P1.ext", "FT");      /* UID 1 */
	check_status(&u, "INBOX", "outside rename", 4);
	snprintf(path, sizeof(path), "%s/new/1600000001.M2P2.mda", dir);
	write_mail(path, "mda", 2);                         /* UID 5 */
	check_status(&u, "INBOX", "delivery", 5);
	md_sync(box, ev);
	assert_int_equal(S->expunge(box, &expunge, NULL, &err), 0);
	check_status(&u, "INBOX", "expunge", 2);

	assert_int_equal(S->mailbox_create(u.mu, "Other", 0, &err), 0);
	other = md_open(&u, "Other", PZ_OPEN_NO_RECENT);
	md_sync(box, ev);
	H->uid_array_init(&dest, u.pool);
	assert_int_equal(S->copy(box, &all, other, NULL, &dest, &err), 0);
	assert_int_equal(dest.count, 2);
	check_status(&u, "Other", "copy", 2);
	md_sync(other, ev);
	assert_int_equal(S->move(other, &all, box, NULL, NULL, &err), 0);
	check_status(&u, "Other", "move out", 0);
	check_status(&u, "INBOX", "move in", 4);
	S->mailbox_close(&other);
	S->mailbox_close(&box);

	/* a read-write view takes \Recent */
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	S->mailbox_close(&box);
	check_status(&u, "INBOX", "recent taken", 0);
	md_user_close(&u);
	free(ev);
}

/* ---- modseqs of the first sync */

/* The records a first sync makes share one modseq (kept outside the
 * modseq index); changes after it are found by modseq as any other. */
static void test_import_modseq(void **state)
{
	static const char *const kws[] = { NULL };
	struct md_events *ev = calloc(1, sizeof(*ev));
	struct pz_mailbox_status st = { .size = sizeof(st) };
	struct pz_store_args a = { .size = sizeof(a), .mode = PZ_STORE_ADD,
				   .flags = PZ_FLAG_FLAGGED, .keywords = kws };
	pz_uidset third = md_set(3, 3);
	struct md_user u;
	pz_mailbox *box, *other;
	pz_error err = { 0 };
	char dir[600], path[1024];
	uint64_t first;

	user_dir("modseq", dir, sizeof(dir));
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/cur/%d.M1P1.host:2,", dir,
			 1600000000 + i);
		write_mail(path, "x", 1);
	}
	md_user_open(&u, "modseq", NULL);
	box = md_open(&u, "INBOX", PZ_OPEN_NO_RECENT);
	other = md_open(&u, "INBOX", PZ_OPEN_NO_RECENT);
	md_sync(box, ev);
	md_sync(other, ev);
	assert_int_equal(ev->n_appended, 3);
	first = ev->appended[0].modseq;
	assert_true(first > 0);
	assert_int_equal(ev->appended[2].modseq, first);
	assert_int_equal(S->mailbox_view_status(box, &st), 0);
	assert_int_equal(st.highestmodseq, first);

	rename_file(dir, "1600000001.M1P1", "S");
	assert_int_equal(S->store(box, &third, &a, NULL, NULL, &err), 0);
	md_sync(other, ev);
	assert_int_equal(ev->n_changed, 2);
	assert_int_equal(ev->changed[0].uid, 2);
	assert_int_equal(ev->changed[1].uid, 3);
	assert_true(ev->changed[0].modseq > first);
	assert_true(ev->changed[1].modseq > ev->changed[0].modseq);
	S->mailbox_close(&other);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* ---- UID order */

static void test_delivery_order(void **state)
{
	/* in the order of their UIDs: the time in the name, then its M<usec>;
	 * not the order of the names as strings */
	static const char *const files[] = {
		"999999999.M5P1.host", "1000000000.M1P1.host",
		"1000000000.M3P2.host", "1000000000.M20P1.host", "no-time.host",
		"1000000000.M3P1.host",
	};
	/* no time: first; the same time and usec: by name */
	static const size_t want[] = { 4, 0, 1, 5, 2, 3 };
	const size_t n = sizeof(files) / sizeof(files[0]);
	struct md_events *ev = calloc(1, sizeof(*ev));
	struct md_user u;
	pz_mailbox *box;
	char dir[600], path[1024];

	user_dir("order", dir, sizeof(dir));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/new/%s", dir, files[i]);
		write_mail(path, files[i], 1500000000);
	}
	md_user_open(&u, "order", NULL);
	box = md_open(&u, "INBOX", PZ_OPEN_READONLY);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, n);
	for (size_t i = 0; i < n; i++) {
		char *got = md_read(box, ev->appended[i].uid, NULL);

		assert_int_equal(ev->appended[i].uid, i + 1);
		if (strstr(got, files[want[i]]) == NULL)
			print_error("UID %zu: got %s, want %s\n", i + 1, got,
				    files[want[i]]);
		assert_non_null(strstr(got, files[want[i]]));
		free(got);
	}
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* ---- upgrade from version 1 */

static const char v1_schema[] =
	"PRAGMA journal_mode = WAL;"
	"CREATE TABLE mailbox (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL, first_recent_uid INTEGER NOT NULL,"
	" new_mtime INTEGER NOT NULL, cur_mtime INTEGER NOT NULL,"
	" new_trusted INTEGER NOT NULL, cur_trusted INTEGER NOT NULL,"
	" expunge_floor INTEGER NOT NULL, keywords_mtime INTEGER NOT NULL,"
	" tmp_cleaned INTEGER NOT NULL);"
	"CREATE TABLE msgs (uid INTEGER PRIMARY KEY, base TEXT NOT NULL UNIQUE,"
	" fname TEXT NOT NULL, in_new INTEGER NOT NULL, flags INTEGER NOT NULL,"
	" kw TEXT, modseq INTEGER NOT NULL, psize INTEGER NOT NULL,"
	" vsize INTEGER NOT NULL, idate INTEGER NOT NULL,"
	" idate_tz INTEGER NOT NULL);"
	"CREATE INDEX msgs_modseq ON msgs (modseq);"
	"CREATE INDEX msgs_new ON msgs (in_new) WHERE in_new = 1;"
	"CREATE TABLE expunged (uid INTEGER PRIMARY KEY, modseq INTEGER NOT NULL,"
	" at INTEGER NOT NULL);"
	"CREATE INDEX expunged_modseq ON expunged (modseq);"
	"CREATE TABLE keywords (id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE COLLATE NOCASE);"
	"CREATE TABLE cache (uid INTEGER NOT NULL, field TEXT NOT NULL,"
	" value BLOB, PRIMARY KEY (uid, field)) WITHOUT ROWID;"
	/* UIDVALIDITY 4242, UIDNEXT 8, two messages, 7 of them recent */
	"INSERT INTO mailbox VALUES (1, 4242, 8, 20, 7, 0, 0, 0, 0, 0, 0, 0);"
	"INSERT INTO msgs VALUES (3, '1600000000.M1P1.v1,S=18,W=21',"
	" '1600000000.M1P1.v1,S=18,W=21:2,S', 0, 1, NULL, 10, 18, 21,"
	" 1234567890, 60);"
	"INSERT INTO msgs VALUES (7, '1600000001.M1P1.v1,S=18,W=21',"
	" '1600000001.M1P1.v1,S=18,W=21:2,', 0, 0, NULL, 11, 18, 21,"
	" 1234567891, 0);"
	"PRAGMA user_version = 1;";

static void test_upgrade_v1(void **state)
{
	struct md_events *ev = calloc(1, sizeof(*ev));
	struct pz_mailbox_status st;
	struct md_user u;
	pz_mailbox *box;
	char dir[600], path[1024];
	sqlite3 *db;

	user_dir("upgrade", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cur/1600000000.M1P1.v1,S=18,W=21:2,S", dir);
	write_mail(path, "x", 1);
	snprintf(path, sizeof(path), "%s/cur/1600000001.M1P1.v1,S=18,W=21:2,", dir);
	write_mail(path, "y", 2);
	snprintf(path, sizeof(path), "%s/poczta-index.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	md_user_open(&u, "upgrade", NULL);
	status_of(&u, "INBOX", &st);
	assert_int_equal(st.uidvalidity, 4242);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(st.recent, 1);
	assert_int_equal(st.bytes, 42);
	box = md_open(&u, "INBOX", PZ_OPEN_NO_RECENT);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].uid, 3);
	assert_int_equal(ev->appended[0].idate, 1234567890);
	assert_int_equal(ev->appended[1].uid, 7);
	/* names of version 1 rows still lead to their files */
	free(md_read(box, 3, NULL));
	rename_file(dir, "1600000001.M1P1.v1", "S");
	md_sync(box, ev);
	assert_int_equal(ev->n_changed, 1);
	assert_int_equal(ev->changed[0].uid, 7);
	S->mailbox_close(&box);
	status_of(&u, "INBOX", &st);
	assert_int_equal(st.unseen, 0);
	md_user_close(&u);
	free(ev);
}

/* ---- changes of our own */

/* hdr_dir - the header's mtime, trusted flag and checked time of a
 * folder ("new" or "cur") */
static void hdr_dir(const char *dir, const char *sub, int64_t *mtime_r,
		    int *trusted_r, int64_t *checked_r)
{
	char path[1024], sql[256];
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(path, sizeof(path), "%s/poczta-index.db", dir);
	snprintf(sql, sizeof(sql), "SELECT %s_mtime, %s_trusted, %s_checked "
		 "FROM mailbox", sub, sub, sub);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*mtime_r = sqlite3_column_int64(st, 0);
	*trusted_r = sqlite3_column_int(st, 1);
	*checked_r = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int64_t dir_mtime(const char *dir, const char *sub)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	assert_int_equal(stat(path, &st), 0);
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* A save, a store, the move of a new file to cur/ and an expunge each
 * record the mtime they left, not trusted; another tool's rename is seen
 * at the next sync. */
static void test_own_changes(void **state)
{
	static const struct {
		const char *what;
		unsigned int save_flags;   /* a save, or 0: a store ... */
		int expunge;               /* ... or an expunge */
		const char *sub;           /* the folder that changed */
	} rows[] = {
		{ "save to cur/", PZ_FLAG_SEEN, 0, "cur" },
		{ "save to new/", 0x100, 0, "new" },
		{ "sync moves new/ to cur/", 0, 0, "cur" },
		{ "store", 0, 0, "cur" },
		{ "expunge", 0, 1, "cur" },
	};
	struct md_events *ev = calloc(1, sizeof(*ev));
	struct md_user u;
	pz_mailbox *box;
	char dir[600];

	user_dir("own", dir, sizeof(dir));
	md_user_open(&u, "own", NULL);
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pz_uidset one = md_set(1, 1);
		struct pz_store_args a = { .size = sizeof(a), .mode = PZ_STORE_ADD,
					   .flags = PZ_FLAG_FLAGGED };
		pz_error err = { 0 };
		pz_uid_array gone;
		int64_t mtime, checked;
		int trusted;

		if (rows[i].save_flags != 0)
			md_save(box, msg1, rows[i].save_flags & ~0x100u, NULL);
		else if (rows[i].expunge) {
			H->uid_array_init(&gone, u.pool);
			assert_int_equal(S->expunge(box, &one, &gone, &err), 0);
		} else if (i == 3)
			assert_int_equal(S->store(box, &one, &a, NULL, NULL, &err), 0);
		md_sync(box, ev);
		hdr_dir(dir, rows[i].sub, &mtime, &trusted, &checked);
		if (mtime != dir_mtime(dir, rows[i].sub) || trusted != 0 ||
		    checked == 0)
			print_error("%s: %s_mtime %lld (folder %lld), trusted %d, "
				    "checked %lld\n", rows[i].what, rows[i].sub,
				    (long long)mtime,
				    (long long)dir_mtime(dir, rows[i].sub), trusted,
				    (long long)checked);
		assert_int_equal(mtime, dir_mtime(dir, rows[i].sub));
		assert_int_equal(trusted, 0);
		assert_true(checked != 0);
	}
	/* another tool flags the message of uid 2 in the same second: the
	 * next sync sees it at once when the mtime moved (fine-grained
	 * timestamps), else once the folder is read again */
	{
		char name[256], from[1024], to[1024];
		int64_t mtime, checked;
		int trusted;

		assert_int_equal(md_count_files(dir, "cur", name, sizeof(name)), 1);
		snprintf(from, sizeof(from), "%s/cur/%s", dir, name);
		snprintf(to, sizeof(to), "%s/cur/%sT", dir, name);
		assert_int_equal(rename(from, to), 0);
		hdr_dir(dir, "cur", &mtime, &trusted, &checked);
		if (mtime == dir_mtime(dir, "cur"))
			usleep(1100 * 1000);
	}
	md_sync(box, ev);
	assert_int_equal(ev->n_changed, 1);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* An index of version 2 written before the checked times gets them. */
static void test_v2_without_checked(void **state)
{
	struct md_events *ev = calloc(1, sizeof(*ev));
	struct md_user u;
	pz_mailbox *box;
	char dir[600], path[1024];
	int64_t mtime, checked;
	int trusted;
	sqlite3 *db;

	user_dir("nochecked", dir, sizeof(dir));
	md_user_open(&u, "nochecked", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, PZ_FLAG_SEEN, NULL);
	S->mailbox_close(&box);
	snprintf(path, sizeof(path), "%s/poczta-index.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE mailbox DROP COLUMN new_checked;"
				      "ALTER TABLE mailbox DROP COLUMN cur_checked;",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	md_save(box, msg1, PZ_FLAG_SEEN, NULL);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].uid, 2);
	S->mailbox_close(&box);
	hdr_dir(dir, "cur", &mtime, &trusted, &checked);
	assert_int_equal(mtime, dir_mtime(dir, "cur"));
	md_user_close(&u);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates_from_mtime),
		cmocka_unit_test(test_status_counts),
		cmocka_unit_test(test_import_modseq),
		cmocka_unit_test(test_delivery_order),
		cmocka_unit_test(test_upgrade_v1),
		cmocka_unit_test(test_own_changes),
		cmocka_unit_test(test_v2_without_checked),
	};
	int ret;

	if (md_setup(NULL) < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	md_teardown();
	return ret;
}
