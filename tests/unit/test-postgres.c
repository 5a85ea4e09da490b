/* test-postgres.c - the postgres storage and auth through their ops, against
 * a real PostgreSQL: saving, syncing views, the stream, flags, keywords,
 * CONDSTORE, expunge, \Recent, copy and move (bodies stored once and
 * removed when unreferenced), mailbox operations, quota, cache, SEARCH in
 * SQL, notify, and users from the table. */
#include "test-postgres-util.c"

#include <crypt.h>
#include <poll.h>

static const char msg1[] = "From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n";
static const char msg2[] = "From: b@example.org\r\nSubject: two\r\n\r\nbody two\r\n";

static int64_t body_rows(void)
{
	return strtoll(pg_sql("SELECT count(*) FROM pz_body"), NULL, 10);
}

static void test_save_sync_flags(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;

	pg_user_open(&u, "save", NULL);
	box = pg_open(&u, "INBOX", 0);
	assert_int_equal(pg_save(box, msg1, 0, NULL), 1);
	assert_int_equal(pg_save(box, msg2, PZ_FLAG_SEEN | PZ_FLAG_FLAGGED | PZ_FLAG_RECENT,
				 "Work", "$Junk", "work", NULL), 2);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].uid, 1);
	assert_int_equal(ev->appended[0].flags, PZ_FLAG_RECENT);
	assert_int_equal(ev->appended[0].size, 47);
	assert_int_equal(ev->appended[1].flags,
			 PZ_FLAG_SEEN | PZ_FLAG_FLAGGED | PZ_FLAG_RECENT);
	/* case-insensitive keywords: one of "Work" and "work" */
	assert_string_equal(ev->appended[1].keywords, "$Junk Work");
	assert_true(ev->appended[1].modseq > ev->appended[0].modseq);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended + ev->n_changed + ev->n_expunged, 0);
	{
		char *body = pg_read(box, 2, NULL);
		assert_string_equal(body, msg2);
		free(body);
	}
	S->mailbox_close(&box);
	pg_user_close(&u);
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
	size_t nrows = sizeof(rows) / sizeof(rows[0]);
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;

	pg_user_open(&u, "stream", NULL);
	box = pg_open(&u, "INBOX", 0);
	for (size_t i = 0; i < nrows; i++)
		pg_save(box, rows[i].in, 0, NULL);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, nrows);
	for (size_t i = 0; i < nrows; i++) {
		size_t len;
		char *got = pg_read(box, (uint32_t)i + 1, &len);

		if (strcmp(got, rows[i].want) != 0 ||
		    ev->appended[i].size != strlen(rows[i].want))
			print_error("row %zu: got '%s' (size %llu), want '%s'\n", i, got,
				    (unsigned long long)ev->appended[i].size, rows[i].want);
		assert_string_equal(got, rows[i].want);
		assert_int_equal(ev->appended[i].size, strlen(rows[i].want));
		free(got);
	}
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

/* A message larger than one slice of the stream, read from offsets. */
static void test_stream_large(void **state)
{
	size_t n = 700 * 1024;
	char *big = malloc(n + 1), *got;
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_pool *pool = H->pool_create("t");
	pz_stream *s = NULL;
	pz_error err;
	char buf[32];
	pz_mailbox *box;
	size_t len;

	for (size_t i = 0; i < n; i++)
		big[i] = (i % 100 == 99) ? '\n' : (char)('a' + i % 26);
	big[n] = '\0';
	pg_user_open(&u, "large", NULL);
	box = pg_open(&u, "INBOX", 0);
	pg_save(box, big, 0, NULL);
	pg_sync(box, ev);
	assert_int_equal(ev->appended[0].size, n + n / 100);
	got = pg_read(box, 1, &len);
	assert_int_equal(len, n + n / 100);
	assert_memory_equal(got, "abcdefghijklmnopqrstuvwxyzabcd", 30);
	free(got);
	assert_int_equal(S->msg_stream(box, 1, pool, &s, &err), 0);
	/* 99 letters and CRLF a line: byte 600000 is in line 5940, column 60 */
	assert_int_equal(H->stream_seek(s, 600000), 0);
	assert_int_equal(H->stream_read(s, buf, 1), 1);
	assert_int_equal(buf[0], 'a' + (5940 * 100 + 60) % 26);
	assert_int_equal(H->stream_seek(s, 99), 0);
	assert_int_equal(H->stream_read(s, buf, 3), 3);
	assert_memory_equal(buf, "\r\nw", 3);
	H->pool_destroy(&pool);
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
	free(big);
}

static void test_store(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box, *other;
	pz_uid_array changed, refused;
	pz_error err = { 0 };
	const char *kw[] = { "Later" };
	struct pz_store_args a = { .size = sizeof(a), .mode = PZ_STORE_ADD,
				   .flags = PZ_FLAG_ANSWERED, .keywords = kw,
				   .keyword_count = 1 };
	pz_uidset all = pg_set(1, UINT32_MAX);
	uint64_t ms;

	pg_user_open(&u, "store", NULL);
	box = pg_open(&u, "INBOX", 0);
	other = pg_open(&u, "INBOX", PZ_OPEN_NO_RECENT);
	pg_save(box, msg1, PZ_FLAG_SEEN, NULL);
	pg_save(box, msg2, 0, NULL);
	pg_sync(box, ev);
	pg_sync(other, ev);
	ms = ev->appended[1].modseq;
	H->uid_array_init(&changed, u.pool);
	H->uid_array_init(&refused, u.pool);
	assert_int_equal(S->store(box, &all, &a, &changed, &refused, &err), 0);
	assert_int_equal(changed.count, 2);
	assert_int_equal(refused.count, 0);
	/* the session that stored knows; the other learns at its sync */
	pg_sync(box, ev);
	assert_int_equal(ev->n_changed, 0);
	pg_sync(other, ev);
	assert_int_equal(ev->n_changed, 2);
	assert_int_equal(ev->changed[0].flags, PZ_FLAG_SEEN | PZ_FLAG_ANSWERED);
	assert_string_equal(ev->changed[0].keywords, "Later");
	assert_true(ev->changed[0].modseq > ms);
	/* nothing to change: no new modseq */
	changed.count = 0;
	assert_int_equal(S->store(box, &all, &a, &changed, NULL, &err), 0);
	assert_int_equal(changed.count, 0);

	/* CONDSTORE: UNCHANGEDSINCE below the message's modseq is refused */
	a.mode = PZ_STORE_REMOVE;
	a.flags = PZ_FLAG_SEEN;
	a.keyword_count = 0;
	a.unchanged_since = ms;
	assert_int_equal(S->store(box, &all, &a, &changed, &refused, &err), 0);
	assert_int_equal(changed.count, 0);
	assert_int_equal(refused.count, 2);

	/* remove a keyword in another case */
	kw[0] = "LATER";
	a.keyword_count = 1;
	a.flags = 0;
	a.unchanged_since = 0;
	assert_int_equal(S->store(box, &all, &a, &changed, NULL, &err), 0);
	assert_int_equal(changed.count, 2);
	pg_sync(other, ev);
	assert_string_equal(ev->changed[0].keywords, "");

	/* replace, and a read-only view refuses */
	a.mode = PZ_STORE_REPLACE;
	a.flags = PZ_FLAG_DRAFT;
	a.keyword_count = 0;
	assert_int_equal(S->store(box, &all, &a, NULL, NULL, &err), 0);
	pg_sync(other, ev);
	assert_int_equal(ev->n_changed, 2);
	assert_int_equal(ev->changed[1].flags, PZ_FLAG_DRAFT);
	S->mailbox_close(&other);
	other = pg_open(&u, "INBOX", PZ_OPEN_READONLY);
	pg_sync(other, ev);
	assert_int_equal(S->store(other, &all, &a, NULL, NULL, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PERM);
	kw[0] = "bad keyword";
	a.keyword_count = 1;
	assert_int_equal(S->store(box, &all, &a, NULL, NULL, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PARAMS);
	S->mailbox_close(&other);
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

static void test_expunge_recent(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *a, *b, *ro;
	pz_uid_array gone;
	pz_uidset one = pg_set(1, 1);
	pz_error err;
	struct pz_mailbox_status st = { .size = sizeof(st) };

	pg_user_open(&u, "recent", NULL);
	ro = pg_open(&u, "INBOX", PZ_OPEN_READONLY);
	a = pg_open(&u, "INBOX", 0);
	b = pg_open(&u, "INBOX", 0);
	pg_save(a, msg1, 0, NULL);
	pg_save(a, msg2, 0, NULL);
	/* EXAMINE does not take \Recent */
	pg_sync(ro, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_RECENT, 0);
	assert_int_equal(S->mailbox_status(u.mu, "INBOX", PZ_STATUS_ALL, &st, &err), 0);
	assert_int_equal(st.recent, 2);
	/* exactly one session gets it */
	pg_sync(b, ev);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_RECENT, PZ_FLAG_RECENT);
	pg_sync(a, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_RECENT, 0);
	assert_int_equal(S->mailbox_status(u.mu, "inbox", PZ_STATUS_ALL, &st, &err), 0);
	assert_int_equal(st.recent, 0);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.unseen, 2);
	assert_int_equal(st.uidnext, 3);
	assert_int_equal(st.bytes, 94);

	H->uid_array_init(&gone, u.pool);
	assert_int_equal(S->expunge(a, &one, &gone, &err), 0);
	assert_int_equal(gone.count, 1);
	pg_sync(a, ev);
	assert_int_equal(ev->n_expunged, 1);
	assert_int_equal(ev->expunged[0], 1);
	pg_sync(b, ev);
	assert_int_equal(ev->n_expunged, 1);
	pg_sync(ro, ev);
	assert_int_equal(ev->n_expunged, 1);
	{
		struct pz_msg_info info = { .size = sizeof(info) };
		pz_pool *pool = H->pool_create("t");
		assert_int_equal(S->msg_info(a, 1, pool, &info, &err), 1);
		assert_int_equal(S->msg_info(a, 2, pool, &info, &err), 0);
		assert_int_equal(info.uid, 2);
		H->pool_destroy(&pool);
	}
	/* a read-only view cannot expunge */
	assert_int_equal(S->expunge(ro, &one, NULL, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PERM);
	S->mailbox_close(&a);
	S->mailbox_close(&b);
	S->mailbox_close(&ro);
	pg_user_close(&u);
	free(ev);
}

static void test_copy_move(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *inbox, *arch, *trash;
	pz_uid_array src, dst;
	pz_uidset all = pg_set(1, UINT32_MAX);
	pz_error err;
	int64_t bodies;

	pg_user_open(&u, "copy", NULL);
	assert_int_equal(S->mailbox_create(u.mu, "Archive", 0, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Trash", 0, &err), 0);
	inbox = pg_open(&u, "INBOX", 0);
	arch = pg_open(&u, "Archive", 0);
	trash = pg_open(&u, "Trash", 0);
	/* the target has "tag" already: the copy takes that spelling */
	pg_save(arch, "Subject: old\r\n\r\nx\r\n", 0, "tag", NULL);
	pg_save(inbox, "Subject: copy me\r\n\r\nonce\r\n", PZ_FLAG_FLAGGED, "Tag", NULL);
	pg_save(inbox, "Subject: copy me too\r\n\r\ntwice\r\n", 0, NULL);
	pg_sync(inbox, ev);
	pg_sync(arch, ev);
	bodies = body_rows();
	H->uid_array_init(&src, u.pool);
	H->uid_array_init(&dst, u.pool);
	assert_int_equal(S->copy(inbox, &all, arch, &src, &dst, &err), 0);
	assert_int_equal(src.count, 2);
	assert_int_equal(dst.count, 2);
	assert_int_equal(src.uids[0], 1);
	assert_int_equal(dst.uids[0], 2);
	assert_int_equal(dst.uids[1], 3);
	/* the bodies are shared, not copied */
	assert_int_equal(body_rows(), bodies);
	pg_sync(arch, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_string_equal(ev->appended[0].keywords, "tag");
	assert_int_equal(ev->appended[0].flags & PZ_FLAG_FLAGGED, PZ_FLAG_FLAGGED);

	/* move: gone from the source, there in the target */
	src.count = dst.count = 0;
	assert_int_equal(S->move(inbox, &all, trash, &src, &dst, &err), 0);
	assert_int_equal(dst.count, 2);
	pg_sync(inbox, ev);
	assert_int_equal(ev->n_expunged, 2);
	pg_sync(trash, ev);
	assert_int_equal(ev->n_appended, 2);
	{
		char *body = pg_read(trash, dst.uids[1], NULL);
		assert_string_equal(body, "Subject: copy me too\r\n\r\ntwice\r\n");
		free(body);
	}
	/* move within one mailbox gives new UIDs */
	src.count = dst.count = 0;
	assert_int_equal(S->move(trash, &all, trash, &src, &dst, &err), 0);
	assert_int_equal(dst.count, 2);
	assert_int_equal(dst.uids[0], 3);
	pg_sync(trash, ev);
	assert_int_equal(ev->n_expunged, 2);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(body_rows(), bodies);
	/* a set with nothing in it is fine */
	{
		pz_uidset none = pg_set(100, 200);
		src.count = dst.count = 0;
		assert_int_equal(S->copy(trash, &none, arch, &src, &dst, &err), 0);
		assert_int_equal(dst.count, 0);
	}
	S->mailbox_close(&inbox);
	S->mailbox_close(&arch);
	S->mailbox_close(&trash);
	pg_user_close(&u);
	free(ev);
}

/* One delivery to many users stores its body once; the body goes when
 * the last message pointing at it is expunged, or its mailbox deleted. */
static void test_bodies_shared_and_removed(void **state)
{
	static const char msg[] = "Subject: to everyone\n\nsame bytes for all\n";
	struct pg_user u[3];
	pz_mailbox *box[3];
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_uidset all = pg_set(1, UINT32_MAX);
	pz_error err;
	const char *count_sql = "SELECT count(*) FROM pz_body WHERE sha256 = "
		"sha256(convert_to('Subject: to everyone' || chr(13) || chr(10) || chr(13) || "
		"chr(10) || 'same bytes for all' || chr(13) || chr(10), 'UTF8'))";

	for (int i = 0; i < 3; i++) {
		pg_user_open(&u[i], "shared", NULL);
		box[i] = pg_open(&u[i], "INBOX", 0);
		pg_save(box[i], msg, 0, NULL);
		pg_sync(box[i], ev);
	}
	assert_string_equal(pg_sql("%s", count_sql), "1");
	assert_int_equal(S->expunge(box[0], &all, NULL, &err), 0);
	assert_int_equal(S->expunge(box[1], &all, NULL, &err), 0);
	assert_string_equal(pg_sql("%s", count_sql), "1");
	/* a copy keeps it alive after its source is expunged */
	assert_int_equal(S->mailbox_create(u[2].mu, "Keep", 0, &err), 0);
	{
		pz_mailbox *keep = pg_open(&u[2], "Keep", 0);
		assert_int_equal(S->copy(box[2], &all, keep, NULL, NULL, &err), 0);
		assert_int_equal(S->expunge(box[2], &all, NULL, &err), 0);
		assert_string_equal(pg_sql("%s", count_sql), "1");
		S->mailbox_close(&keep);
	}
	assert_int_equal(S->mailbox_delete(u[2].mu, "Keep", &err), 0);
	assert_string_equal(pg_sql("%s", count_sql), "0");
	for (int i = 0; i < 3; i++) {
		struct pz_quota q = { .size = sizeof(q) };
		assert_int_equal(S->quota_get(u[i].mu, &q, &err), 0);
		assert_int_equal(q.bytes_used, 0);
		assert_int_equal(q.messages_used, 0);
		S->mailbox_close(&box[i]);
		pg_user_close(&u[i]);
	}
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
	static const struct {
		const char *name;
		enum pz_error_class want;
	} bad[] = {
		{ "", PZ_ERR_PARAMS }, { "a//b", PZ_ERR_PARAMS }, { "/a", PZ_ERR_PARAMS },
		{ "a/", PZ_ERR_PARAMS }, { "a/../b", PZ_ERR_PARAMS }, { "..", PZ_ERR_PARAMS },
		{ "tab\there", PZ_ERR_PARAMS }, { "bad\xff utf8", PZ_ERR_PARAMS },
		{ "inbox", PZ_ERR_EXISTS }, { "Sent", PZ_ERR_EXISTS },
	};
	struct pg_user u;
	struct listed l;
	pz_error err;
	struct pz_mailbox_status st = { .size = sizeof(st) };
	int i;

	pg_user_open(&u, "ops", NULL);
	assert_int_equal(S->mailbox_create(u.mu, "Lists/pocztą", 0, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Lists/pocztą/2024", 0, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Sent", 0, &err), 0);
	assert_int_equal(S->mailbox_create(u.mu, "Mine.v2", PZ_SPECIAL_ARCHIVE, &err), 0);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err.cls = PZ_ERR_NONE;
		assert_int_equal(S->mailbox_create(u.mu, bad[k].name, 0, &err), -1);
		if (err.cls != bad[k].want)
			print_error("row %zu '%s': got class %d, want %d\n", k, bad[k].name,
				    err.cls, bad[k].want);
		assert_int_equal(err.cls, bad[k].want);
	}
	assert_int_equal(S->mailbox_subscribe(u.mu, "Lists/pocztą", 1, &err), 0);
	assert_int_equal(S->mailbox_subscribe(u.mu, "Gone", 1, &err), 0);
	assert_int_equal(S->mailbox_subscribe(u.mu, "Gone", 1, &err), 0);

	memset(&l, 0, sizeof(l));
	assert_int_equal(S->mailbox_list(u.mu, list_cb, &l, &err), 0);
	assert_int_equal(l.count, 7);
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
	i = listed_find(&l, "Mine.v2");
	assert_int_equal(l.special[i], PZ_SPECIAL_ARCHIVE);
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
	assert_int_equal(S->mailbox_rename(u.mu, "Old", "Old/Inside", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PARAMS);

	/* delete keeps children; INBOX cannot go */
	assert_int_equal(S->mailbox_delete(u.mu, "Old", &err), 0);
	assert_int_equal(S->mailbox_status(u.mu, "Old", PZ_STATUS_ALL, &st, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_NOT_FOUND);
	assert_int_equal(S->mailbox_status(u.mu, "Old/2024", PZ_STATUS_ALL, &st, &err), 0);
	assert_int_equal(S->mailbox_delete(u.mu, "INBOX", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_PERM);
	assert_int_equal(S->mailbox_delete(u.mu, "Old", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_NOT_FOUND);
	/* a recreated mailbox has a new UIDVALIDITY */
	{
		uint32_t uv;
		assert_int_equal(S->mailbox_status(u.mu, "Old/2024", PZ_STATUS_ALL, &st, &err), 0);
		uv = st.uidvalidity;
		assert_int_equal(S->mailbox_delete(u.mu, "Old/2024", &err), 0);
		assert_int_equal(S->mailbox_create(u.mu, "Old/2024", 0, &err), 0);
		assert_int_equal(S->mailbox_status(u.mu, "Old/2024", PZ_STATUS_ALL, &st, &err), 0);
		assert_true(st.uidvalidity != uv);
	}
	pg_user_close(&u);
}

static void test_rename_inbox(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	pz_error err;

	pg_user_open(&u, "renameinbox", NULL);
	box = pg_open(&u, "INBOX", 0);
	pg_save(box, msg1, 0, NULL);
	pg_save(box, msg2, PZ_FLAG_SEEN, "Kw", NULL);
	pg_sync(box, ev);
	assert_int_equal(S->mailbox_rename(u.mu, "INBOX", "Saved", &err), 0);
	pg_sync(box, ev);
	assert_int_equal(ev->n_expunged, 2);
	pg_save(box, msg1, 0, NULL);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].uid, 3);
	S->mailbox_close(&box);
	box = pg_open(&u, "Saved", 0);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, 2);
	assert_int_equal(ev->appended[1].flags & PZ_FLAG_SEEN, PZ_FLAG_SEEN);
	assert_string_equal(ev->appended[1].keywords, "Kw");
	assert_int_equal(pg_save(box, msg1, 0, NULL), 3);
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

static void test_quota(void **state)
{
	struct pg_user u;
	pz_mailbox *box;
	pz_error err;
	struct pz_quota q = { .size = sizeof(q) };
	struct pg_events *ev = calloc(1, sizeof(*ev));

	pg_user_open(&u, "quota", "quota=100", "quota_messages=3", NULL);
	box = pg_open(&u, "INBOX", 0);
	pg_save(box, msg1, 0, NULL);                /* 47 bytes */
	assert_int_equal(S->quota_get(u.mu, &q, &err), 0);
	assert_int_equal(q.bytes_used, 47);
	assert_int_equal(q.messages_used, 1);
	assert_int_equal(q.bytes_limit, 100);
	assert_int_equal(q.messages_limit, 3);
	pg_save(box, msg2, 0, NULL);                /* 94 */
	assert_int_equal(pg_save_err(box, msg1, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_QUOTA);
	assert_int_equal(S->quota_get(u.mu, &q, &err), 0);
	assert_int_equal(q.bytes_used, 94);          /* the refused one left nothing */
	/* expected_size refuses before any byte is sent */
	{
		struct pz_save_args a = { .size = sizeof(a), .expected_size = 1000 };
		pz_save *save = NULL;
		assert_int_equal(S->save_begin(box, &a, &save, &err), -1);
		assert_int_equal(err.cls, PZ_ERR_QUOTA);
	}
	pg_sync(box, ev);
	{
		pz_uidset one = pg_set(1, 1);
		assert_int_equal(S->expunge(box, &one, NULL, &err), 0);
	}
	assert_int_equal(S->quota_get(u.mu, &q, &err), 0);
	assert_int_equal(q.bytes_used, 47);
	assert_int_equal(q.messages_used, 1);
	/* a copy counts */
	assert_int_equal(S->mailbox_create(u.mu, "Copies", 0, &err), 0);
	{
		pz_mailbox *c = pg_open(&u, "Copies", 0);
		pz_uidset all = pg_set(1, UINT32_MAX);
		assert_int_equal(S->copy(box, &all, c, NULL, NULL, &err), 0);
		assert_int_equal(S->copy(box, &all, c, NULL, NULL, &err), -1);
		assert_int_equal(err.cls, PZ_ERR_QUOTA);
		S->mailbox_close(&c);
	}
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

static void test_cache(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box, *other;
	pz_pool *pool = H->pool_create("t");
	pz_uidset all = pg_set(1, UINT32_MAX);
	const char *v;
	size_t len;
	pz_error err;

	pg_user_open(&u, "cache", NULL);
	assert_int_equal(S->mailbox_create(u.mu, "Other", 0, &err), 0);
	box = pg_open(&u, "INBOX", 0);
	other = pg_open(&u, "Other", 0);
	pg_save(box, msg1, 0, NULL);
	pg_sync(box, ev);
	assert_int_equal(S->msg_cache_get(box, 1, "envelope", pool, &v, &len, &err), 1);
	assert_int_equal(S->msg_cache_set(box, 1, "envelope", "(x\0y)", 5, &err), 0);
	assert_int_equal(S->msg_cache_get(box, 1, "envelope", pool, &v, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(v, "(x\0y)", 5);
	assert_int_equal(S->msg_cache_set(box, 1, "envelope", "(z)", 3, &err), 0);
	/* the cache belongs to the body: a copy has it already */
	assert_int_equal(S->copy(box, &all, other, NULL, NULL, &err), 0);
	pg_sync(other, ev);
	assert_int_equal(S->msg_cache_get(other, 1, "envelope", pool, &v, &len, &err), 0);
	assert_string_equal(v, "(z)");
	assert_int_equal(S->msg_cache_get(other, 9, "envelope", pool, &v, &len, &err), 1);
	H->pool_destroy(&pool);
	S->mailbox_close(&box);
	S->mailbox_close(&other);
	pg_user_close(&u);
	free(ev);
}

/* ---- search */

static struct pz_search_key *key(pz_pool *pool, enum pz_search_type type, int negate)
{
	struct pz_search_key *k = H->pool_alloc(pool, sizeof(*k));

	k->type = type;
	k->negate = negate;
	return k;
}

static struct pz_search_key *two(pz_pool *pool, enum pz_search_type type,
				 struct pz_search_key *a, struct pz_search_key *b)
{
	struct pz_search_key *k = key(pool, type, 0);

	k->children = a;
	a->next = b;
	return k;
}

static void uids_str(const pz_uid_array *a, char *out, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < a->count && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%u", i > 0 ? "," : "", a->uids[i]);
}

static void test_search(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_pool *pool = H->pool_create("search");
	pz_mailbox *box, *other;
	time_t now = time(NULL), day = now - now % 86400;
	struct pz_search_key *k[20];
	struct {
		const char *what;
		struct pz_search_key *key;
		int want_ret;
		const char *want;
	} rows[24];
	size_t n = 0, n_before;
	pz_error err;
	char big[2048];

	pg_user_open(&u, "search", NULL);
	box = pg_open(&u, "INBOX", 0);
	other = pg_open(&u, "INBOX", 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "Subject: big\r\n\r\n", 16);
	pg_save(box, msg1, PZ_FLAG_SEEN, NULL);                 /* 1 */
	pg_save(box, msg2, PZ_FLAG_SEEN | PZ_FLAG_FLAGGED, "Todo", NULL); /* 2 */
	pg_save(box, big, 0, NULL);                             /* 3 */
	pg_sync(other, ev);        /* takes \Recent of 1..3 */
	pg_save(box, "Subject: four\r\n\r\nlexemes for fts\r\n", 0, "todo", NULL); /* 4 */
	pg_sync(box, ev);          /* \Recent: 4 only */
	pg_sql("UPDATE pz_message SET internal_date = %lld WHERE uid = 1 AND mailbox_id = "
	       "(SELECT b.id FROM pz_mailbox b JOIN pz_account a ON a.id = b.account_id "
	       "WHERE a.name = '%s' AND b.name = 'INBOX')", (long long)(day - 10 * 86400), u.name);

	k[0] = key(pool, PZ_SEARCH_FLAGS, 0);
	k[0]->u.flags = PZ_FLAG_SEEN;
	rows[n++] = (__typeof__(rows[0])){ "SEEN", k[0], 0, "1,2" };
	k[1] = key(pool, PZ_SEARCH_FLAGS, 1);
	k[1]->u.flags = PZ_FLAG_SEEN;
	rows[n++] = (__typeof__(rows[0])){ "UNSEEN", k[1], 0, "3,4" };
	k[2] = key(pool, PZ_SEARCH_KEYWORD, 0);
	k[2]->u.str = "TODO";
	rows[n++] = (__typeof__(rows[0])){ "KEYWORD TODO", k[2], 0, "2,4" };
	k[3] = key(pool, PZ_SEARCH_LARGER, 0);
	k[3]->u.number = 1000;
	rows[n++] = (__typeof__(rows[0])){ "LARGER 1000", k[3], 0, "3" };
	k[4] = key(pool, PZ_SEARCH_BEFORE, 0);
	k[4]->u.date = day - 5 * 86400;
	rows[n++] = (__typeof__(rows[0])){ "BEFORE", k[4], 0, "1" };
	k[5] = key(pool, PZ_SEARCH_UIDSET, 0);
	k[5]->u.uids = pg_set(2, 3);
	rows[n++] = (__typeof__(rows[0])){ "UID 2:3", k[5], 0, "2,3" };
	k[6] = key(pool, PZ_SEARCH_FLAGS, 0);
	k[6]->u.flags = PZ_FLAG_RECENT;
	rows[n++] = (__typeof__(rows[0])){ "RECENT", k[6], 0, "4" };
	{
		struct pz_search_key *a = key(pool, PZ_SEARCH_SMALLER, 0);
		struct pz_search_key *b = key(pool, PZ_SEARCH_FLAGS, 0);
		a->u.number = 100;
		b->u.flags = PZ_FLAG_FLAGGED;
		rows[n++] = (__typeof__(rows[0])){ "OR SMALLER 100 FLAGGED",
			two(pool, PZ_SEARCH_OR, a, b), 0, "1,2,4" };
	}
	k[10] = key(pool, PZ_SEARCH_MODSEQ, 0);
	k[10]->u.number = ev->appended[1].modseq;
	rows[n++] = (__typeof__(rows[0])){ "MODSEQ", k[10], 0, "2,3,4" };
	k[11] = key(pool, PZ_SEARCH_ON, 1);
	k[11]->u.date = day;
	rows[n++] = (__typeof__(rows[0])){ "NOT ON today", k[11], 0, "1" };
	k[7] = key(pool, PZ_SEARCH_HEADER, 0);
	k[7]->field = "Subject";
	k[7]->u.str = "two";
	/* each save stored its header fields (the core's mail_search_fields) */
	rows[n++] = (__typeof__(rows[0])){ "HEADER in SQL", k[7], 0, "2" };
	k[8] = key(pool, PZ_SEARCH_BODY, 0);
	k[8]->u.str = "lexemes";
	/* fts = yes: each save made its tsvector with the core's MIME calls */
	rows[n++] = (__typeof__(rows[0])){ "BODY, tsvectors made at save", k[8], 0, "4" };
	k[9] = key(pool, PZ_SEARCH_ALL, 0);
	rows[n++] = (__typeof__(rows[0])){ "ALL", k[9], 0, "1,2,3,4" };
	k[12] = key(pool, PZ_SEARCH_SMALLER, 0);
	k[12]->u.number = 100;
	k[13] = key(pool, PZ_SEARCH_HEADER, 0);
	k[13]->field = "Subject";
	k[13]->u.str = "four";
	rows[n++] = (__typeof__(rows[0])){ "SMALLER and HEADER",
		two(pool, PZ_SEARCH_AND, k[12], k[13]), 0, "4" };

	n_before = n;
	k[14] = key(pool, PZ_SEARCH_BODY, 0);
	k[14]->u.str = "Lexemes";
	rows[n++] = (__typeof__(rows[0])){ "BODY with fts", k[14], 0, "4" };
	k[15] = key(pool, PZ_SEARCH_BODY, 0);
	k[15]->u.str = "four";
	rows[n++] = (__typeof__(rows[0])){ "BODY: not the header", k[15], 0, "" };
	{
		struct pz_search_key *t = key(pool, PZ_SEARCH_TEXT, 0);
		struct pz_search_key *f = key(pool, PZ_SEARCH_FLAGS, 1);
		t->u.str = "four";
		f->u.flags = PZ_FLAG_SEEN;
		rows[n++] = (__typeof__(rows[0])){ "TEXT header word, UNSEEN",
			two(pool, PZ_SEARCH_AND, t, f), 0, "4" };
	}

	for (size_t i = 0; i < n; i++) {
		pz_uid_array res;
		char got[256];
		int ret;

		if (i == n_before) {
			/* fts = yes in this config: the bodies get the tsvectors the
			 * module makes when the core has its MIME parser (header
			 * words weighted 'A', body words 'D') */
			pg_sql("UPDATE pz_body b SET tsv = setweight(to_tsvector('simple', "
			       "split_part(convert_from(b.data, 'UTF8'), E'\\r\\n\\r\\n', 1)), "
			       "'A') || to_tsvector('simple', split_part(convert_from(b.data, "
			       "'UTF8'), E'\\r\\n\\r\\n', 2)) FROM pz_message m JOIN pz_mailbox x "
			       "ON x.id = m.mailbox_id JOIN pz_account a ON a.id = x.account_id "
			       "WHERE m.body_id = b.id AND a.name = '%s'", u.name);
		}
		H->uid_array_init(&res, pool);
		ret = S->search(box, rows[i].key, &res, &err);
		uids_str(&res, got, sizeof(got));
		if (ret != rows[i].want_ret || (ret == 0 && strcmp(got, rows[i].want) != 0))
			print_error("%s: got %d '%s', want %d '%s'\n", rows[i].what, ret, got,
				    rows[i].want_ret, rows[i].want);
		assert_int_equal(ret, rows[i].want_ret);
		if (ret == 0)
			assert_string_equal(got, rows[i].want);
	}
	{
		/* a body whose header could not be indexed: the core decides */
		pz_uid_array res;

		pg_sql("UPDATE pz_body b SET fields_state = -1 FROM pz_message m JOIN pz_mailbox x "
		       "ON x.id = m.mailbox_id JOIN pz_account a ON a.id = x.account_id "
		       "WHERE m.body_id = b.id AND m.uid = 3 AND a.name = '%s'", u.name);
		H->uid_array_init(&res, pool);
		assert_int_equal(S->search(box, k[7], &res, &err), 1);
	}
	H->pool_destroy(&pool);
	S->mailbox_close(&box);
	S->mailbox_close(&other);
	pg_user_close(&u);
	free(ev);
}

/* A save through one view wakes another view's notify descriptor. */
static void test_notify(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box, *saver;
	struct pollfd pfd;
	int fd;

	pg_user_open(&u, "notify", NULL);
	box = pg_open(&u, "INBOX", 0);
	saver = pg_open(&u, "INBOX", PZ_OPEN_SAVEONLY);
	assert_int_equal(S->mailbox_notify_fd(saver), -1);
	pg_sync(box, ev);
	fd = S->mailbox_notify_fd(box);
	assert_true(fd >= 0);
	assert_int_equal(S->mailbox_notify_fd(box), fd);
	/* the first wake-up closes the window between sync and LISTEN */
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	S->mailbox_notify_ack(box);
	pg_sync(box, ev);
	assert_int_equal(poll(&pfd, 1, 100), 0);
	pg_save(saver, msg1, 0, NULL);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	S->mailbox_notify_ack(box);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(poll(&pfd, 1, 100), 0);
	/* a change made outside poczta (by SQL) notifies as well */
	pg_sql("SELECT pz_test_deliver('%s', convert_to('Subject: sql' || chr(13) || chr(10) "
	       "|| chr(13) || chr(10) || 'x', 'UTF8'))", u.name);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	S->mailbox_notify_ack(box);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	S->mailbox_close(&saver);
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

/* ---- auth */

static void test_auth(void **state)
{
	static const struct {
		const char *user, *password;
		int want;
	} rows[] = {
		{ "alice", "secret", PZ_AUTH_OK },
		{ "alice", "wrong", PZ_AUTH_FAILED },
		{ "locked", "secret", PZ_AUTH_FAILED },
		{ "plain", "pw", PZ_AUTH_FAILED },        /* {PLAIN} needs allow_plaintext */
		{ "disabled", "secret", PZ_AUTH_UNKNOWN },
		{ "nobody", "x", PZ_AUTH_UNKNOWN },
	};
	struct crypt_data cd = { 0 };
	const char *hash = crypt_r("secret", "$6$saltsaltsalt$", &cd);
	pz_pool *pool = H->pool_create("auth");
	const char *error = NULL;

	pg_sql("INSERT INTO pz_users (name, password, home, quota) VALUES "
	       "('alice', '%s', '/home/alice', 2048), ('locked', '!%s', NULL, NULL), "
	       "('plain', '{PLAIN}pw', NULL, NULL)", hash, hash);
	pg_sql("INSERT INTO pz_users (name, password, enabled) VALUES ('disabled', '%s', false)",
	       hash);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pz_user *user = pz_user_new(pool, rows[i].user);
		int got = A->verify_password(NULL, user, rows[i].password, &error);

		if (got != rows[i].want)
			print_error("row %zu %s/%s: got %d, want %d\n", i, rows[i].user,
				    rows[i].password, got, rows[i].want);
		assert_int_equal(got, rows[i].want);
	}
	{
		pz_user *user = pz_user_new(pool, "alice");
		assert_int_equal(A->lookup(NULL, user, &error), PZ_AUTH_OK);
		assert_string_equal(H->user_get(user, "home"), "/home/alice");
		assert_string_equal(H->user_get(user, "quota"), "2048");
		assert_null(H->user_get(user, "mail"));
		user = pz_user_new(pool, "nobody");
		assert_int_equal(A->lookup(NULL, user, &error), PZ_AUTH_UNKNOWN);
	}
	H->pool_destroy(&pool);
}

/* The user's "mail" field names the account: two users, one mail store. */
static void test_mail_field(void **state)
{
	struct pg_user a, b;
	pz_mailbox *box;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	char field[128];

	pg_user_open(&a, "field", "mail=postgres:shared-%n", NULL);
	snprintf(field, sizeof(field), "mail=postgres:shared-%s", a.name);
	pg_user_open(&b, "other", field, NULL);
	box = pg_open(&a, "INBOX", 0);
	pg_save(box, msg1, 0, NULL);
	S->mailbox_close(&box);
	box = pg_open(&b, "INBOX", 0);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	S->mailbox_close(&box);
	pg_user_close(&a);
	pg_user_close(&b);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_sync_flags),
		cmocka_unit_test(test_stream_crlf),
		cmocka_unit_test(test_stream_large),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_expunge_recent),
		cmocka_unit_test(test_copy_move),
		cmocka_unit_test(test_bodies_shared_and_removed),
		cmocka_unit_test(test_mailbox_ops),
		cmocka_unit_test(test_rename_inbox),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_mail_field),
	};
	int ret;

	if (pg_setup("  fts = yes\n") < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	pg_teardown();
	return ret;
}
