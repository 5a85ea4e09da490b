/* test-maildir.c - the maildir storage module through its ops: saving,
 * syncing views, the CRLF stream, flags in file names (and changes made by
 * other tools), keywords and dovecot-keywords, expunge, \Recent, copy and
 * move, the index rebuilt or imported from dovecot-uidlist/courierimapuiddb,
 * quota, cache and the notify fd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-maildir-util.c"

static const char msg1[] = "From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n";
static const char msg2[] = "From: b@example.org\r\nSubject: two\r\n\r\nbody two\r\n";

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* find_file - the name in dir/sub whose name contains `part` */
static int find_file(const char *dir, const char *sub, const char *part,
		     char *out, size_t n)
{
	char path[1024];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' && strstr(de->d_name, part) != NULL) {
			snprintf(out, n, "%s", de->d_name);
			closedir(d);
			return 1;
		}
	}
	closedir(d);
	return 0;
}

static void test_save_sync_flags(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	char name[256];

	md_user_open(&u, "save", NULL);
	box = md_open(&u, "INBOX", 0);
	assert_int_equal(md_save(box, msg1, 0, NULL), 1);
	assert_int_equal(md_save(box, msg2, PZ_FLAG_SEEN | PZ_FLAG_FLAGGED,
				 "$Junk", "Work", NULL), 2);
	/* before a sync: flagless in new/, flagged in cur/ */
	assert_int_equal(md_count_files(u.dir, "new", name, sizeof(name)), 1);
	assert_non_null(strstr(name, ",S=43,W=47"));
	assert_null(strchr(name, ':'));
	assert_int_equal(md_count_files(u.dir, "cur", name, sizeof(name)), 1);
	assert_non_null(strstr(name, ":2,FSab"));
	assert_string_equal(read_file(strcat(strcpy((char[600]){0}, u.dir),
					     "/dovecot-keywords")),
			    "0 $Junk\n1 Work\n");

	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].uid, 1);
	assert_int_equal(ev->appended[0].flags, PZ_FLAG_RECENT);
	assert_int_equal(ev->appended[0].size, 47);
	assert_int_equal(ev->appended[1].flags,
			 PZ_FLAG_SEEN | PZ_FLAG_FLAGGED | PZ_FLAG_RECENT);
	assert_string_equal(ev->appended[1].keywords, "$Junk Work");
	assert_true(ev->appended[1].modseq > ev->appended[0].modseq);
	/* a read-write view moved the new message to cur/ */
	assert_int_equal(md_count_files(u.dir, "new", NULL, 0), 0);
	assert_int_equal(md_count_files(u.dir, "cur", NULL, 0), 2);

	md_sync(box, ev);
	assert_int_equal(ev->n_appended + ev->n_changed + ev->n_expunged, 0);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

static void test_stream_crlf(void **state)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "a\nb\r\nc", "a\r\nb\r\nc" },
		{ "x\r\n\r\ny\r\n", "x\r\n\r\ny\r\n" },
		{ "lone\rcr\n", "lone\rcr\r\n" },
		{ "end with cr\r", "end with cr\r" },
		{ "\n\n", "\r\n\r\n" },
	};
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;

	md_user_open(&u, "stream", NULL);
	box = md_open(&u, "INBOX", 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		md_save(box, rows[i].in, 0, NULL);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, sizeof(rows) / sizeof(rows[0]));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len;
		char *got = md_read(box, (uint32_t)i + 1, &len);

		if (strcmp(got, rows[i].want) != 0 ||
		    ev->appended[i].size != strlen(rows[i].want))
			print_error("row %zu: got '%s' (size %llu), want '%s'\n", i,
				    got, (unsigned long long)ev->appended[i].size,
				    rows[i].want);
		assert_string_equal(got, rows[i].want);
		assert_int_equal(ev->appended[i].size, strlen(rows[i].want));
		free(got);
	}
	/* random access: a partial fetch seeks into the CRLF view */
	{
		pz_pool *pool = H->pool_create("t");
		pz_stream *s = NULL;
		pz_error err;
		char buf[16] = { 0 };

		assert_int_equal(S->msg_stream(box, 1, pool, &s, &err), 0);
		assert_int_equal(H->stream_size(s), 7);
		assert_int_equal(H->stream_seek(s, 2), 0);
		assert_int_equal(H->stream_read(s, buf, 3), 3);
		assert_string_equal(buf, "\nb\r");
		assert_int_equal(H->stream_seek(s, 0), 0);
		assert_int_equal(H->stream_read(s, buf, 2), 2);
		assert_memory_equal(buf, "a\r", 2);
		H->pool_destroy(&pool);
	}
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* A file another tool wrote, with CR, LF and CRLF mixed at random and
 * longer than the stream's read buffer: the CRLF view is right however it
 * is read (whole, in odd chunks, from random offsets). */
static void test_stream_crlf_random(void **state)
{
	enum { LEN = 200000 };
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	char *in = malloc(LEN), *want = malloc(2 * LEN), path[1024];
	pz_pool *pool = H->pool_create("t");
	pz_stream *st = NULL;
	pz_error err;
	size_t wlen = 0, i, off;
	unsigned int seed = 7;
	pz_mailbox *box;
	FILE *f;

	for (i = 0; i < LEN; i++) {
		unsigned int r = rand_r(&seed) % 16;

		in[i] = r == 0 ? '\r' : r < 3 ? '\n' : (char)('a' + r);
	}
	for (i = 0; i < LEN; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			want[wlen++] = '\r';
		want[wlen++] = in[i];
	}
	md_user_open(&u, "crlfrandom", NULL);
	snprintf(path, sizeof(path), "%s/cur/1600000000.M1P1.random:2,", u.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(in, 1, LEN, f), LEN);
	fclose(f);
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].size, wlen);
	assert_int_equal(S->msg_stream(box, ev->appended[0].uid, pool, &st, &err), 0);
	for (size_t chunk = 1; chunk < 70000; chunk = chunk * 3 + 4) {
		char *got = malloc(wlen);
		ssize_t r;

		assert_int_equal(H->stream_seek(st, 0), 0);
		for (off = 0; (r = H->stream_read(st, got + off, chunk < wlen - off ? chunk : wlen - off)) > 0; )
			off += (size_t)r;
		assert_int_equal(off, wlen);
		assert_memory_equal(got, want, wlen);
		free(got);
	}
	for (i = 0; i < 200; i++) {
		char buf[300];
		size_t n;

		off = (size_t)rand_r(&seed) % wlen;
		n = wlen - off < sizeof(buf) ? wlen - off : sizeof(buf);
		assert_int_equal(H->stream_seek(st, off), 0);
		assert_int_equal(H->stream_read(st, buf, n), (ssize_t)n);
		assert_memory_equal(buf, want + off, n);
	}
	H->pool_destroy(&pool);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(in);
	free(want);
	free(ev);
}

/* A view opened with PZ_OPEN_DATES_LATER on a maildir never indexed: the
 * first sync and msg_info report no dates (nothing is stat()ed for them),
 * msg_internal_date finds each one from its file (and msg_info knows it
 * from then on); a view without the flag gets them in the callbacks. */
static void test_dates_later(void **state)
{
	static const time_t dates[] = { 1500000000, 1600000000, 1700000000 };
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_pool *pool = H->pool_create("t");
	char path[1024];
	pz_mailbox *box;
	size_t i;

	md_user_open(&u, "dateslater", NULL);
	for (i = 0; i < 3; i++) {
		struct timespec ts[2] = { { dates[i], 0 }, { dates[i], 0 } };

		snprintf(path, sizeof(path), "%s/cur/%lld.M%zuP1.other:2,S", u.dir,
			 (long long)(1234567890 + i), i);
		write_file(path, "Subject: old\n\nbody\n");
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	box = md_open(&u, "INBOX", PZ_OPEN_DATES_LATER);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 3);
	assert_int_equal(S->msg_internal_date(box, 999, &(time_t){ 0 }, &(int){ 0 }, &(pz_error){ 0 }), 1);
	for (i = 0; i < 3; i++) {
		struct pz_msg_info info = { .size = sizeof(info) };
		pz_error err;

		assert_int_equal(ev->appended[i].idate, 0);
		assert_int_equal(S->msg_info(box, ev->appended[i].uid, pool, &info, &err), 0);
		assert_int_equal(info.internal_date, 0);
		assert_int_equal(info.flags & PZ_FLAG_SEEN, PZ_FLAG_SEEN);
	}
	/* the first date asked for brings those of the whole view */
	{
		time_t date = 0;
		int tz = -1;
		pz_error err;

		assert_int_equal(S->msg_internal_date(box, ev->appended[2].uid, &date, &tz,
						      &err), 0);
		assert_int_equal(date, dates[2]);
	}
	for (i = 0; i < 3; i++) {
		struct pz_msg_info info = { .size = sizeof(info) };
		pz_error err;
		time_t date = 0;
		int tz = -1;

		assert_int_equal(S->msg_info(box, ev->appended[i].uid, pool, &info, &err), 0);
		assert_int_equal(info.internal_date, dates[i]);
		assert_int_equal(S->msg_internal_date(box, ev->appended[i].uid, &date, &tz, &err), 0);
		assert_int_equal(date, dates[i]);
	}
	S->mailbox_close(&box);
	/* and they are in the index: a later mtime of the file is not the date */
	snprintf(path, sizeof(path), "%s/cur/%lld.M%zuP1.other:2,S", u.dir,
		 (long long)1234567890, (size_t)0);
	assert_int_equal(utimensat(AT_FDCWD, path, (struct timespec[2]){ { 1, 0 }, { 1, 0 } }, 0), 0);
	box = md_open(&u, "INBOX", PZ_OPEN_DATES_LATER);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 3);
	assert_int_equal(ev->appended[0].idate, dates[0]);
	S->mailbox_close(&box);
	memset(ev, 0, sizeof(*ev));
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(ev->appended[i].idate, dates[i]);
	S->mailbox_close(&box);
	H->pool_destroy(&pool);
	md_user_close(&u);
	free(ev);
}

static void test_store(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box, *other;
	pz_uid_array changed, refused;
	pz_error err = { 0 };
	const char *kw[] = { "Later" };
	struct pz_store_args a = { .size = sizeof(a), .mode = PZ_STORE_ADD,
				   .flags = PZ_FLAG_ANSWERED, .keywords = kw,
				   .keyword_count = 1 };
	pz_uidset all = md_set(1, UINT32_MAX);
	char name[256];
	uint64_t ms;

	md_user_open(&u, "store", NULL);
	box = md_open(&u, "INBOX", 0);
	other = md_open(&u, "INBOX", PZ_OPEN_NO_RECENT);
	md_save(box, msg1, PZ_FLAG_SEEN, NULL);
	md_save(box, msg2, 0, NULL);
	md_sync(box, ev);
	md_sync(other, ev);
	ms = ev->appended[1].modseq;
	H->uid_array_init(&changed, u.pool);
	H->uid_array_init(&refused, u.pool);
	assert_int_equal(S->store(box, &all, &a, &changed, &refused, &err), 0);
	assert_int_equal(changed.count, 2);
	assert_int_equal(refused.count, 0);
	assert_true(find_file(u.dir, "cur", ":2,RSa", name, sizeof(name)));
	assert_string_equal(read_file(strcat(strcpy((char[600]){0}, u.dir),
					     "/dovecot-keywords")), "0 Later\n");
	/* the session that stored knows; the other learns at its sync */
	md_sync(box, ev);
	assert_int_equal(ev->n_changed, 0);
	md_sync(other, ev);
	assert_int_equal(ev->n_changed, 2);
	assert_int_equal(ev->changed[0].flags, PZ_FLAG_SEEN | PZ_FLAG_ANSWERED);
	assert_string_equal(ev->changed[0].keywords, "Later");
	assert_true(ev->changed[0].modseq > ms);

	/* CONDSTORE: UNCHANGEDSINCE below the message's modseq is refused */
	a.mode = PZ_STORE_REMOVE;
	a.flags = PZ_FLAG_SEEN;
	a.keyword_count = 0;
	a.unchanged_since = ms;
	changed.count = refused.count = 0;
	assert_int_equal(S->store(box, &all, &a, &changed, &refused, &err), 0);
	assert_int_equal(changed.count, 0);
	assert_int_equal(refused.count, 2);

	/* replace, and a read-only view refuses */
	a.mode = PZ_STORE_REPLACE;
	a.flags = PZ_FLAG_DRAFT;
	a.unchanged_since = 0;
	assert_int_equal(S->store(box, &all, &a, NULL, NULL, &err), 0);
	md_sync(other, ev);
	assert_int_equal(ev->n_changed, 2);
	assert_int_equal(ev->changed[1].flags, PZ_FLAG_DRAFT);
	assert_string_equal(ev->changed[1].keywords, "");
	S->mailbox_close(&other);
	other = md_open(&u, "INBOX", PZ_OPEN_READONLY);
	md_sync(other, ev);
	assert_int_equal(S->store(other, &all, &a, NULL, NULL, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PERM);
	S->mailbox_close(&other);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* Another tool renames a file (new flags), drops one into new/ and deletes
 * one: the next sync reports all three. */
static void test_external_changes(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	char name[256], from[1024], to[1024];

	md_user_open(&u, "external", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, PZ_FLAG_SEEN, NULL);
	md_save(box, msg2, PZ_FLAG_SEEN | PZ_FLAG_DRAFT, NULL);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);

	/* mutt marks message 1 replied and flagged */
	assert_true(find_file(u.dir, "cur", ",S=43,W=47:2,S", name, sizeof(name)));
	snprintf(from, sizeof(from), "%s/cur/%s", u.dir, name);
	*strstr(name, ":2,") = '\0';
	snprintf(to, sizeof(to), "%s/cur/%s:2,FRS", u.dir, name);
	assert_int_equal(rename(from, to), 0);
	/* an MDA delivers */
	snprintf(to, sizeof(to), "%s/new/1700000000.M1P1.mda", u.dir);
	write_file(to, "Subject: from mda\n\nhello\n");
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].uid, 3);
	assert_int_equal(ev->appended[0].size, 28);
	assert_int_equal(ev->n_changed, 1);
	assert_int_equal(ev->changed[0].uid, 1);
	assert_int_equal(ev->changed[0].flags,
			 PZ_FLAG_SEEN | PZ_FLAG_ANSWERED | PZ_FLAG_FLAGGED |
			 PZ_FLAG_RECENT);

	/* a file disappears */
	assert_true(find_file(u.dir, "cur", "1700000000.M1P1.mda", name,
			      sizeof(name)));
	snprintf(from, sizeof(from), "%s/cur/%s", u.dir, name);
	assert_int_equal(unlink(from), 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_expunged, 1);
	assert_int_equal(ev->expunged[0], 3);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

static void test_expunge_recent(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *a, *b, *ro;
	pz_uid_array gone;
	pz_uidset one = md_set(1, 1);
	pz_error err;
	struct pz_mailbox_status st = { .size = sizeof(st) };

	md_user_open(&u, "recent", NULL);
	ro = md_open(&u, "INBOX", PZ_OPEN_READONLY);
	a = md_open(&u, "INBOX", 0);
	b = md_open(&u, "INBOX", 0);
	md_save(a, msg1, 0, NULL);
	md_save(a, msg2, 0, NULL);
	/* EXAMINE does not take \Recent */
	md_sync(ro, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_RECENT, 0);
	assert_int_equal(S->mailbox_status(u.mu, "INBOX", PZ_STATUS_ALL, &st,
					   &err), 0);
	assert_int_equal(st.recent, 2);
	/* exactly one session gets it */
	md_sync(b, ev);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_RECENT, PZ_FLAG_RECENT);
	md_sync(a, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_RECENT, 0);
	assert_int_equal(ev->appended[1].flags & PZ_FLAG_RECENT, 0);
	assert_int_equal(S->mailbox_status(u.mu, "INBOX", PZ_STATUS_ALL, &st,
					   &err), 0);
	assert_int_equal(st.recent, 0);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.unseen, 2);
	assert_int_equal(st.uidnext, 3);
	assert_int_equal(st.bytes, 94);

	H->uid_array_init(&gone, u.pool);
	assert_int_equal(S->expunge(a, &one, &gone, &err), 0);
	assert_int_equal(gone.count, 1);
	/* the view still has it until it syncs */
	assert_int_equal(md_count_files(u.dir, "cur", NULL, 0), 1);
	md_sync(a, ev);
	assert_int_equal(ev->n_expunged, 1);
	assert_int_equal(ev->expunged[0], 1);
	md_sync(b, ev);
	assert_int_equal(ev->n_expunged, 1);
	md_sync(ro, ev);
	assert_int_equal(ev->n_expunged, 1);
	{
		struct pz_msg_info info = { .size = sizeof(info) };
		pz_pool *pool = H->pool_create("t");
		assert_int_equal(S->msg_info(a, 1, pool, &info, &err), 1);
		assert_int_equal(S->msg_info(a, 2, pool, &info, &err), 0);
		assert_int_equal(info.uid, 2);
		H->pool_destroy(&pool);
	}
	S->mailbox_close(&a);
	S->mailbox_close(&b);
	S->mailbox_close(&ro);
	md_user_close(&u);
	free(ev);
}

/* index_fds - how many descriptors of this process have `dir`'s index */
static int index_fds(const char *dir)
{
	char want[1100], link[PATH_MAX], path[300];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	snprintf(want, sizeof(want), "%s/poczta-index.db", dir);
	while ((de = readdir(d)) != NULL) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		n += strcmp(link, want) == 0;
	}
	closedir(d);
	return n;
}

/* the open mailboxes of a user share one connection to an index: a save
 * and a copy through a handle of their own go into the view's mailbox */
static void test_shared_connection(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *view, *save, *again;
	pz_uid_array src, dst;
	pz_uidset all = md_set(1, UINT32_MAX);
	pz_error err;
	char *body;

	md_user_open(&u, "shared", NULL);
	view = md_open(&u, "INBOX", 0);
	md_sync(view, ev);
	assert_int_equal(index_fds(u.dir), 1);
	save = md_open(&u, "INBOX", PZ_OPEN_SAVEONLY);
	assert_int_equal(index_fds(u.dir), 1);
	assert_int_equal(md_save(save, msg1, PZ_FLAG_SEEN, NULL), 1);
	md_sync(view, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].uid, 1);
	/* a copy within the mailbox: the view is the source, the handle the
	 * target, one lock */
	H->uid_array_init(&src, u.pool);
	H->uid_array_init(&dst, u.pool);
	assert_int_equal(S->copy(view, &all, save, &src, &dst, &err), 0);
	assert_int_equal(dst.count, 1);
	assert_int_equal(dst.uids[0], 2);
	md_sync(view, ev);
	assert_int_equal(ev->n_appended, 1);
	body = md_read(view, 2, NULL);
	assert_string_equal(body, msg1);
	free(body);
	/* the view goes first: the handle keeps the connection */
	S->mailbox_close(&view);
	assert_int_equal(index_fds(u.dir), 1);
	assert_int_equal(md_save(save, msg2, 0, NULL), 3);
	again = md_open(&u, "INBOX", 0);
	assert_int_equal(index_fds(u.dir), 1);
	S->mailbox_close(&save);
	md_sync(again, ev);
	assert_int_equal(ev->n_appended, 3);
	body = md_read(again, 3, NULL);
	assert_string_equal(body, msg2);
	free(body);
	S->mailbox_close(&again);
	md_user_close(&u);
	free(ev);
}

static void test_copy_move(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *inbox, *arch, *trash;
	pz_uid_array src, dst;
	pz_uidset all = md_set(1, UINT32_MAX);
	pz_error err;
	char name[256], p1[1024], p2[1024];
	struct stat s1, s2;

	md_user_open(&u, "copy", NULL);
	assert_int_equal(S->mailbox_create(u.mu, "Archive", 0, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Trash", 0, &err), 0);
	inbox = md_open(&u, "INBOX", 0);
	arch = md_open(&u, "Archive", 0);
	trash = md_open(&u, "Trash", 0);
	md_save(inbox, msg1, PZ_FLAG_FLAGGED, "Tag", NULL);
	md_save(inbox, msg2, 0, NULL);
	md_sync(inbox, ev);
	H->uid_array_init(&src, u.pool);
	H->uid_array_init(&dst, u.pool);
	assert_int_equal(S->copy(inbox, &all, arch, &src, &dst, &err), 0);
	assert_int_equal(src.count, 2);
	assert_int_equal(dst.count, 2);
	assert_int_equal(src.uids[0], 1);
	assert_int_equal(dst.uids[0], 1);
	/* a hard link: one file on disk */
	assert_true(find_file(u.dir, "cur", ":2,Fa", name, sizeof(name)));
	snprintf(p1, sizeof(p1), "%s/cur/%s", u.dir, name);
	assert_true(find_file(u.dir, ".Archive/cur", ":2,Fa", name, sizeof(name)));
	snprintf(p2, sizeof(p2), "%s/.Archive/cur/%s", u.dir, name);
	assert_int_equal(stat(p1, &s1), 0);
	assert_int_equal(stat(p2, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	md_sync(arch, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_string_equal(ev->appended[0].keywords, "Tag");
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_FLAGGED, PZ_FLAG_FLAGGED);

	/* move: gone from the source, there in the target, never both */
	src.count = dst.count = 0;
	assert_int_equal(S->move(inbox, &all, trash, &src, &dst, &err), 0);
	assert_int_equal(dst.count, 2);
	assert_int_equal(md_count_files(u.dir, "cur", NULL, 0) +
			 md_count_files(u.dir, "new", NULL, 0), 0);
	md_sync(inbox, ev);
	assert_int_equal(ev->n_expunged, 2);
	md_sync(trash, ev);
	assert_int_equal(ev->n_appended, 2);
	{
		char *body = md_read(trash, dst.uids[1], NULL);
		assert_string_equal(body, msg2);
		free(body);
	}
	/* move within one mailbox gives new UIDs */
	src.count = dst.count = 0;
	assert_int_equal(S->move(trash, &all, trash, &src, &dst, &err), 0);
	assert_int_equal(dst.count, 2);
	assert_int_equal(dst.uids[0], 3);
	md_sync(trash, ev);
	assert_int_equal(ev->n_expunged, 2);
	assert_int_equal(ev->n_appended, 2);
	S->mailbox_close(&inbox);
	S->mailbox_close(&arch);
	S->mailbox_close(&trash);
	md_user_close(&u);
	free(ev);
}

struct listed {
	char names[64][128];
	unsigned int attrs[64];
	unsigned int special[64];
	size_t count;
};

static void list_cb(void *ctx, const struct pz_mailbox_info *info)
{
	struct listed *l = ctx;

	if (l->count >= 64)
		return;
	snprintf(l->names[l->count], sizeof(l->names[0]), "%s", info->name);
	l->attrs[l->count] = info->attrs;
	l->special[l->count] = info->special_use;
	l->count++;
}

static int listed_find(const struct listed *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static void test_mailbox_ops(void **state)
{
	struct md_user u;
	struct listed l;
	pz_error err;
	struct pz_mailbox_status st = { .size = sizeof(st) };
	char path[1024];
	int i;

	md_user_open(&u, "ops", NULL);
	assert_int_equal(S->mailbox_create(u.mu, "Lists/pocztą", 0, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Lists/pocztą/2024", 0, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Sent", PZ_SPECIAL_SENT, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Sent", 0, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_EXISTS);
	assert_int_equal(S->mailbox_create(u.mu, "inbox", 0, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_EXISTS);
	/* modified UTF-7 on disk, as Dovecot writes it */
	snprintf(path, sizeof(path), "%s/.Lists.poczt&AQU-/maildirfolder", u.dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(S->mailbox_subscribe(u.mu, "Lists/pocztą", 1, &err), 0);
	assert_int_equal(S->mailbox_subscribe(u.mu, "Gone", 1, &err), 0);
	snprintf(path, sizeof(path), "%s/subscriptions", u.dir);
	assert_string_equal(read_file(path), "Lists.poczt&AQU-\nGone\n");

	memset(&l, 0, sizeof(l));
	assert_int_equal(S->mailbox_list(u.mu, list_cb, &l, &err), 0);
	assert_int_equal(l.count, 6);
	i = listed_find(&l, "Lists");
	assert_true(i >= 0);
	assert_int_equal(l.attrs[i], PZ_MBOX_NOSELECT | PZ_MBOX_HASCHILDREN);
	i = listed_find(&l, "Lists/pocztą");
	assert_int_equal(l.attrs[i], PZ_MBOX_SUBSCRIBED | PZ_MBOX_HASCHILDREN);
	i = listed_find(&l, "Lists/pocztą/2024");
	assert_int_equal(l.attrs[i], PZ_MBOX_HASNOCHILDREN);
	i = listed_find(&l, "Gone");
	assert_int_equal(l.attrs[i], PZ_MBOX_SUBSCRIBED | PZ_MBOX_NONEXISTENT);
	i = listed_find(&l, "Sent");
	assert_int_equal(l.special[i], PZ_SPECIAL_SENT);
	assert_true(listed_find(&l, "INBOX") >= 0);

	/* rename with children */
	assert_int_equal(S->mailbox_rename(u.mu, "Lists/pocztą", "Old", &err), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(S->mailbox_list(u.mu, list_cb, &l, &err), 0);
	assert_true(listed_find(&l, "Old/2024") >= 0);
	assert_true(listed_find(&l, "Old") >= 0);
	assert_int_equal(listed_find(&l, "Lists"), -1);
	assert_int_equal(S->mailbox_rename(u.mu, "Nope", "Other", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_NOT_FOUND);
	assert_int_equal(S->mailbox_rename(u.mu, "Old", "Sent", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_EXISTS);

	/* delete keeps children; INBOX cannot go */
	assert_int_equal(S->mailbox_delete(u.mu, "Old", &err), 0);
	assert_int_equal(S->mailbox_status(u.mu, "Old", PZ_STATUS_ALL, &st, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_NOT_FOUND);
	assert_int_equal(S->mailbox_status(u.mu, "Old/2024", PZ_STATUS_ALL, &st,
					   &err), 0);
	assert_int_equal(S->mailbox_delete(u.mu, "INBOX", &err), -1);
	assert_int_equal(S->mailbox_delete(u.mu, "Old", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_NOT_FOUND);
	md_user_close(&u);
}

static void test_rename_inbox(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	pz_error err;

	md_user_open(&u, "renameinbox", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, 0, NULL);
	md_save(box, msg2, PZ_FLAG_SEEN, NULL);
	md_sync(box, ev);
	assert_int_equal(S->mailbox_rename(u.mu, "INBOX", "Saved", &err), 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_expunged, 2);
	S->mailbox_close(&box);
	box = md_open(&u, "Saved", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[1].flags & PZ_FLAG_SEEN, PZ_FLAG_SEEN);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* The index is deleted: it is rebuilt from the files with a new
 * UIDVALIDITY, and flags survive (they are in the names). */
static void test_rebuild(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	uint32_t old_uv;
	char path[1024];
	struct pz_mailbox_status st = { .size = sizeof(st) };

	md_user_open(&u, "rebuild", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, PZ_FLAG_ANSWERED, "Kw", NULL);
	md_save(box, msg2, 0, NULL);
	md_sync(box, ev);
	assert_int_equal(S->mailbox_view_status(box, &st), 0);
	old_uv = st.uidvalidity;
	S->mailbox_close(&box);
	snprintf(path, sizeof(path), "%s/poczta-index.db", u.dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/poczta-index.db-wal", u.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/poczta-index.db-shm", u.dir);
	unlink(path);
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_ANSWERED, PZ_FLAG_ANSWERED);
	assert_string_equal(ev->appended[0].keywords, "Kw");
	assert_int_equal(S->mailbox_view_status(box, &st), 0);
	assert_true(st.uidvalidity > old_uv);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* MAILDIR_INDEX_WAL_KEEP of modules/maildir/maildir.h (this test sees the
 * module through its storage ops only) */
#define WAL_KEEP (1024 * 1024)

static off_t file_size(const char *dir, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) < 0 ? -1 : st.st_size;
}

/* Only the database file of the index is deleted (a closed index keeps
 * its WAL and shared memory files, and an admin may remove just the
 * .db): the index is rebuilt whole, with a new UIDVALIDITY, and takes
 * saves again. */
static void test_rebuild_stale_wal(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	uint32_t old_uv, uid = 0;
	char path[1024];
	struct pz_mailbox_status st = { .size = sizeof(st) };

	md_user_open(&u, "stalewal", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, PZ_FLAG_FLAGGED, NULL);
	md_save(box, msg2, 0, NULL);
	md_sync(box, ev);
	assert_int_equal(S->mailbox_view_status(box, &st), 0);
	old_uv = st.uidvalidity;
	S->mailbox_close(&box);
	assert_true(file_size(u.dir, "poczta-index.db-wal") > 0);
	snprintf(path, sizeof(path), "%s/poczta-index.db", u.dir);
	assert_int_equal(unlink(path), 0);
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_FLAGGED, PZ_FLAG_FLAGGED);
	assert_int_equal(S->mailbox_view_status(box, &st), 0);
	assert_true(st.uidvalidity > old_uv);
	assert_int_equal(st.messages, 2);
	uid = md_save(box, msg1, 0, NULL);
	assert_int_equal(uid, 3);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* A WAL that grew large is checkpointed and truncated when the index
 * closes; a small one stays. */
static void test_wal_bounded(void **state)
{
	struct md_user u;
	pz_mailbox *box;
	int i;

	md_user_open(&u, "walsize", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, 0, NULL);
	S->mailbox_close(&box);
	assert_true(file_size(u.dir, "poczta-index.db-wal") > 0);
	assert_true(file_size(u.dir, "poczta-index.db-wal") <= WAL_KEEP);
	box = md_open(&u, "INBOX", 0);
	for (i = 0; i < 5000 && file_size(u.dir, "poczta-index.db-wal") <= WAL_KEEP; i++)
		md_save(box, msg2, 0, NULL);
	assert_true(file_size(u.dir, "poczta-index.db-wal") > WAL_KEEP);
	S->mailbox_close(&box);
	assert_int_equal(file_size(u.dir, "poczta-index.db-wal"), 0);
	md_user_close(&u);
}

static void make_maildir(const char *dir)
{
	char p[1024];

	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/cur", dir); mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/new", dir); mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/tmp", dir); mkdir(p, 0700);
}

/* An existing maildir with Dovecot's uid list (and one without): UIDs,
 * UIDVALIDITY and keyword letters are kept. */
static void test_import(void **state)
{
	static const struct {
		const char *file, *content;
		uint32_t uidvalidity;
		uint32_t uids[3];
		uint32_t uidnext;
	} rows[] = {
		{ "dovecot-uidlist",
		  "3 V1234567890 N20 G3085f01b7f11094c501100008c4a11c1\n"
		  "5 :1000.M1P1.old,S=12,W=14:2,S\n"
		  "7 W14 :1001.M1P1.old:2,\n"
		  "junk line\n",
		  1234567890, { 5, 7, 20 }, 21 },
		{ "courierimapuiddb",
		  "1 987654 9\n3 1000.M1P1.old,S=12,W=14\n8 1001.M1P1.old\n",
		  987654, { 3, 8, 9 }, 10 },
	};
	char parent[300], dir[400], p[1024];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct md_user u;
		struct md_events *ev = calloc(1, sizeof(*ev));
		struct pz_mailbox_status st = { .size = sizeof(st) };
		pz_mailbox *box;
		char user[32];

		snprintf(user, sizeof(user), "import%zu", i);
		snprintf(parent, sizeof(parent), "%s/%s", md_root, user);
		mkdir(parent, 0700);
		snprintf(dir, sizeof(dir), "%s/Maildir", parent);
		make_maildir(dir);
		snprintf(p, sizeof(p), "%s/%s", dir, rows[i].file);
		write_file(p, rows[i].content);
		snprintf(p, sizeof(p), "%s/dovecot-keywords", dir);
		write_file(p, "0 $Forwarded\n1 NonJunk\n");
		snprintf(p, sizeof(p), "%s/cur/1000.M1P1.old,S=12,W=14:2,Sb", dir);
		write_file(p, "Subject: a\n\nx\n");
		snprintf(p, sizeof(p), "%s/cur/1001.M1P1.old:2,a", dir);
		write_file(p, "Subject: b\n\nx\n");
		snprintf(p, sizeof(p), "%s/new/1002.M1P1.new", dir);
		write_file(p, "Subject: c\n\nx\n");

		md_user_open(&u, user, NULL);
		box = md_open(&u, "INBOX", 0);
		md_sync(box, ev);
		assert_int_equal(ev->n_appended, 3);
		for (size_t j = 0; j < 3; j++) {
			if (ev->appended[j].uid != rows[i].uids[j])
				print_error("row %zu msg %zu: got uid %u, want %u\n", i,
					    j, ev->appended[j].uid, rows[i].uids[j]);
			assert_int_equal(ev->appended[j].uid, rows[i].uids[j]);
		}
		assert_string_equal(ev->appended[0].keywords, "NonJunk");
		assert_string_equal(ev->appended[1].keywords, "$Forwarded");
		assert_int_equal(ev->appended[0].flags & PZ_FLAG_SEEN, PZ_FLAG_SEEN);
		assert_int_equal(S->mailbox_view_status(box, &st), 0);
		assert_int_equal(st.uidvalidity, rows[i].uidvalidity);
		assert_int_equal(st.uidnext, rows[i].uidnext);
		assert_int_equal(md_save(box, msg1, 0, NULL), rows[i].uidnext);
		S->mailbox_close(&box);
		md_user_close(&u);
		free(ev);
	}
}

static void test_quota(void **state)
{
	struct md_user u;
	pz_mailbox *box;
	pz_error err;
	struct pz_quota q = { .size = sizeof(q) };
	char path[1024];

	md_user_open(&u, "quota", "quota=100", "quota_messages=3", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, 0, NULL);                /* 43 bytes on disk */
	assert_int_equal(S->quota_get(u.mu, &q, &err), 0);
	assert_int_equal(q.bytes_used, 43);
	assert_int_equal(q.messages_used, 1);
	assert_int_equal(q.bytes_limit, 100);
	assert_int_equal(q.messages_limit, 3);
	md_save(box, msg2, 0, NULL);                /* 86 */
	assert_int_equal(md_save_err(box, msg1, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_QUOTA);
	assert_int_equal(md_count_files(u.dir, "new", NULL, 0), 2);
	assert_int_equal(md_count_files(u.dir, "tmp", NULL, 0), 0);
	snprintf(path, sizeof(path), "%s/maildirsize", u.dir);
	assert_string_equal(read_file(path), "100S,3C\n0 0\n43 1\n43 1\n");
	{
		pz_uidset one = md_set(1, 1);
		struct md_events *ev = calloc(1, sizeof(*ev));
		md_sync(box, ev);
		assert_int_equal(S->expunge(box, &one, NULL, &err), 0);
		free(ev);
	}
	assert_int_equal(S->quota_get(u.mu, &q, &err), 0);
	assert_int_equal(q.bytes_used, 43);
	assert_int_equal(q.messages_used, 1);
	S->mailbox_close(&box);
	md_user_close(&u);

	/* no limit: nothing is counted (usage 0, as storage.h allows), and
	 * no maildirsize appears */
	md_user_open(&u, "noquota", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, 0, NULL);
	assert_int_equal(S->quota_get(u.mu, &q, &err), 0);
	assert_int_equal(q.bytes_limit, 0);
	assert_int_equal(q.messages_limit, 0);
	assert_int_equal(q.bytes_used, 0);
	assert_int_equal(q.messages_used, 0);
	snprintf(path, sizeof(path), "%s/maildirsize", u.dir);
	assert_int_equal(access(path, F_OK), -1);
	S->mailbox_close(&box);
	md_user_close(&u);
}

/* a field asked of many messages is read for the whole view at once;
 * what the view sets replaces it, and the next sync forgets it */
static void test_cache_memo(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box, *other;
	pz_pool *pool = H->pool_create("t");
	const char *v;
	size_t len;
	pz_error err;
	char want[32];

	md_user_open(&u, "memo", NULL);
	box = md_open(&u, "INBOX", 0);
	other = md_open(&u, "INBOX", PZ_OPEN_SAVEONLY);
	for (int i = 1; i <= 40; i++)
		md_save(other, msg1, 0, NULL);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 40);
	for (uint32_t uid = 1; uid <= 40; uid += 2) {
		snprintf(want, sizeof(want), "v%u", uid);
		assert_int_equal(S->msg_cache_set(other, uid, "hdr:x", want, strlen(want),
						  &err), 0);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t uid = 1; uid <= 40; uid++) {
			int ret = S->msg_cache_get(box, uid, "hdr:x", pool, &v, &len, &err);

			if (uid % 2 == 0) {
				assert_int_equal(ret, 1);
				continue;
			}
			snprintf(want, sizeof(want), "v%u", uid);
			assert_int_equal(ret, 0);
			assert_int_equal(len, strlen(want));
			assert_string_equal(v, want);
		}
	}
	/* set through the view: seen at once */
	assert_int_equal(S->msg_cache_set(box, 2, "hdr:x", "new", 3, &err), 0);
	assert_int_equal(S->msg_cache_set(box, 3, "hdr:x", "changed", 7, &err), 0);
	for (uint32_t uid = 1; uid <= 40; uid++)
		(void)S->msg_cache_get(box, uid, "hdr:x", pool, &v, &len, &err);
	assert_int_equal(S->msg_cache_get(box, 2, "hdr:x", pool, &v, &len, &err), 0);
	assert_string_equal(v, "new");
	assert_int_equal(S->msg_cache_get(box, 3, "hdr:x", pool, &v, &len, &err), 0);
	assert_string_equal(v, "changed");
	/* set elsewhere: seen after the view's next sync */
	assert_int_equal(S->msg_cache_set(other, 5, "hdr:x", "other", 5, &err), 0);
	md_sync(box, ev);
	for (uint32_t uid = 1; uid <= 40; uid++)
		(void)S->msg_cache_get(box, uid, "hdr:x", pool, &v, &len, &err);
	assert_int_equal(S->msg_cache_get(box, 5, "hdr:x", pool, &v, &len, &err), 0);
	assert_string_equal(v, "other");
	assert_int_equal(S->msg_cache_get(box, 7, "hdr:x", pool, &v, &len, &err), 0);
	assert_string_equal(v, "v7");
	/* a field too large to keep whole: each value read alone */
	{
		size_t big = 40 * 1024;
		char *value = malloc(big);

		for (uint32_t uid = 1; uid <= 40; uid++) {
			memset(value, 'a' + (int)(uid % 26), big);
			assert_int_equal(S->msg_cache_set(other, uid, "big", value, big, &err), 0);
		}
		md_sync(box, ev);
		for (int pass = 0; pass < 2; pass++) {
			for (uint32_t uid = 1; uid <= 40; uid++) {
				assert_int_equal(S->msg_cache_get(box, uid, "big", pool, &v, &len,
								  &err), 0);
				assert_int_equal(len, big);
				assert_int_equal(v[0], 'a' + (int)(uid % 26));
				assert_int_equal(v[big - 1], 'a' + (int)(uid % 26));
			}
		}
		free(value);
	}
	S->mailbox_close(&other);
	S->mailbox_close(&box);
	H->pool_destroy(&pool);
	md_user_close(&u);
	free(ev);
}

static void test_cache_notify(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box, *other;
	pz_pool *pool = H->pool_create("t");
	const char *v;
	size_t len;
	pz_error err;
	struct pollfd pfd;

	md_user_open(&u, "cache", NULL);
	box = md_open(&u, "INBOX", 0);
	other = md_open(&u, "INBOX", PZ_OPEN_SAVEONLY);
	md_save(box, msg1, 0, NULL);
	md_sync(box, ev);
	assert_int_equal(S->msg_cache_get(box, 1, "envelope", pool, &v, &len, &err), 1);
	assert_int_equal(S->msg_cache_set(box, 1, "envelope", "(x y)", 5, &err), 0);
	assert_int_equal(S->msg_cache_get(box, 1, "envelope", pool, &v, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(v, "(x y)");

	pfd.fd = S->mailbox_notify_fd(box);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	S->mailbox_notify_ack(box);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	md_save(other, msg2, 0, NULL);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	S->mailbox_notify_ack(box);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	S->mailbox_close(&other);
	S->mailbox_close(&box);
	H->pool_destroy(&pool);
	md_user_close(&u);
	free(ev);
}


/* More than 26 keywords: the first 26 are letters a..z in file names, the
 * rest live in the index only, and all survive a rename by another tool. */
static void test_many_keywords(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	const char *names[30];
	char bufs[30][16], name[256], from[1024], to[1024];
	struct pz_store_args a = { .size = sizeof(a), .mode = PZ_STORE_ADD,
				   .keywords = names, .keyword_count = 30 };
	pz_uidset one = md_set(1, 1);
	pz_error err;

	for (int i = 0; i < 30; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "kw%02d", i);
		names[i] = bufs[i];
	}
	md_user_open(&u, "keywords", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, 0, NULL);
	md_sync(box, ev);
	assert_int_equal(S->store(box, &one, &a, NULL, NULL, &err), 0);
	assert_true(find_file(u.dir, "cur", ":2,abcdefghijklmnopqrstuvwxyz",
			      name, sizeof(name)));
	/* another tool adds \Seen; the index-only keywords stay */
	snprintf(from, sizeof(from), "%s/cur/%s", u.dir, name);
	snprintf(to, sizeof(to), "%s/cur/%.*s:2,Sabcdefghijklmnopqrstuvwxyz", u.dir,
		 (int)(strstr(name, ":2,") - name), name);
	assert_int_equal(rename(from, to), 0);
	S->mailbox_close(&box);
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_SEEN, PZ_FLAG_SEEN);
	assert_non_null(strstr(ev->appended[0].keywords, "kw00 kw01"));
	assert_non_null(strstr(ev->appended[0].keywords, "kw28 kw29"));
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* A file renamed by another tool after our last sync is still found for
 * reading, storing and expunging. */
static void test_stale_file_names(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	char name[256], from[1024], to[1024], *body;
	struct pz_store_args a = { .size = sizeof(a), .mode = PZ_STORE_ADD,
				   .flags = PZ_FLAG_FLAGGED };
	pz_uidset one = md_set(1, 1);
	pz_uid_array gone;
	pz_error err;

	md_user_open(&u, "stale", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, PZ_FLAG_SEEN, NULL);
	md_sync(box, ev);
	assert_true(find_file(u.dir, "cur", ":2,S", name, sizeof(name)));
	snprintf(from, sizeof(from), "%s/cur/%s", u.dir, name);
	snprintf(to, sizeof(to), "%s/cur/%sR", u.dir, name);
	assert_int_equal(rename(from, to), 0);
	body = md_read(box, 1, NULL);
	assert_string_equal(body, msg1);
	free(body);
	assert_int_equal(S->store(box, &one, &a, NULL, NULL, &err), 0);
	assert_true(find_file(u.dir, "cur", ":2,FRS", name, sizeof(name)));
	snprintf(from, sizeof(from), "%s/cur/%s", u.dir, name);
	snprintf(to, sizeof(to), "%s/cur/%.*s:2,FS", u.dir,
		 (int)(strstr(name, ":2,") - name), name);
	assert_int_equal(rename(from, to), 0);
	H->uid_array_init(&gone, u.pool);
	assert_int_equal(S->expunge(box, &one, &gone, &err), 0);
	assert_int_equal(gone.count, 1);
	assert_int_equal(md_count_files(u.dir, "cur", NULL, 0), 0);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* A second file with the base of a known message: a leftover hard link is
 * removed, a different file becomes a message of its own. */
static void test_duplicate_files(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	char name[256], from[1024], to[1024];

	md_user_open(&u, "dup", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, PZ_FLAG_SEEN, NULL);
	md_sync(box, ev);
	assert_true(find_file(u.dir, "cur", ":2,S", name, sizeof(name)));
	snprintf(from, sizeof(from), "%s/cur/%s", u.dir, name);
	snprintf(to, sizeof(to), "%s/new/%.*s", u.dir,
		 (int)(strstr(name, ":2,") - name), name);
	assert_int_equal(link(from, to), 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended + ev->n_expunged, 0);
	assert_int_equal(md_count_files(u.dir, "new", NULL, 0) +
			 md_count_files(u.dir, "cur", NULL, 0), 1);
	write_file(to, "Subject: other\n\ndifferent\n");
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].uid, 2);
	assert_int_equal(ev->n_expunged, 0);
	{
		char *b1 = md_read(box, 1, NULL), *b2 = md_read(box, 2, NULL);
		assert_string_equal(b1, msg1);
		assert_string_equal(b2, "Subject: other\r\n\r\ndifferent\r\n");
		free(b1);
		free(b2);
	}
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* A damaged index is moved aside and rebuilt from the files. */
static void test_corrupt_index(void **state)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	char path[1024];

	md_user_open(&u, "corrupt", NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, PZ_FLAG_SEEN, NULL);
	md_save(box, msg2, 0, NULL);
	md_sync(box, ev);
	S->mailbox_close(&box);
	snprintf(path, sizeof(path), "%s/poczta-index.db-wal", u.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/poczta-index.db-shm", u.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/poczta-index.db", u.dir);
	write_file(path, "this is not a database, it is garbage of some length "
		   "that SQLite will refuse to read as one........................"
		   "................................................................");
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	S->mailbox_close(&box);
	md_user_close(&u);
	free(ev);
}

/* The user's "mail" field wins over the configured location, and INDEX=
 * puts the indexes elsewhere. */
static void test_user_location(void **state)
{
	struct md_user u;
	char field[600], path[1024];
	pz_mailbox *box;

	snprintf(field, sizeof(field), "mail=maildir:%s/elsewhere/%%n:INDEX=%s/idx/%%n",
		 md_root, md_root);
	md_user_open(&u, "loc@example.org", field, NULL);
	box = md_open(&u, "INBOX", 0);
	md_save(box, msg1, 0, NULL);
	S->mailbox_close(&box);
	snprintf(path, sizeof(path), "%s/elsewhere/loc", md_root);
	assert_int_equal(md_count_files(path, "new", NULL, 0), 1);
	snprintf(path, sizeof(path), "%s/idx/loc/poczta-index.db", md_root);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/elsewhere/loc/poczta-index.db", md_root);
	assert_int_equal(access(path, F_OK), -1);
	md_user_close(&u);

	{
		pz_pool *pool = H->pool_create("t");
		pz_user *user = pz_user_new(pool, "evil");
		pz_mail_user *mu = NULL;
		pz_error err;

		H->user_set(user, "mail", "maildir:/tmp/../etc/%u");
		assert_int_equal(S->user_open(NULL, user, pool, &mu, &err), -1);
		H->pool_destroy(&pool);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_sync_flags),
		cmocka_unit_test(test_stream_crlf),
		cmocka_unit_test(test_stream_crlf_random),
		cmocka_unit_test(test_dates_later),
		cmocka_unit_test(test_rebuild_stale_wal),
		cmocka_unit_test(test_wal_bounded),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_external_changes),
		cmocka_unit_test(test_expunge_recent),
		cmocka_unit_test(test_copy_move),
		cmocka_unit_test(test_shared_connection),
		cmocka_unit_test(test_mailbox_ops),
		cmocka_unit_test(test_rename_inbox),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_cache_notify),
		cmocka_unit_test(test_cache_memo),
		cmocka_unit_test(test_many_keywords),
		cmocka_unit_test(test_stale_file_names),
		cmocka_unit_test(test_duplicate_files),
		cmocka_unit_test(test_corrupt_index),
		cmocka_unit_test(test_user_location),
	};
	int ret;

	if (md_setup(NULL) < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	md_teardown();
	return ret;
}
