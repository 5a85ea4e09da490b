/* tests/unit/test-mail-search.c - text search in messages and the
 * evaluation of search trees over a (fake, in-memory) storage, of
 * core/mail: every criterion type, NOT/AND/OR, day-granularity dates in
 * the right zones, HEADER with an empty string, and the storage cache. */
#include "config-core.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pool.h"
#include "stream.h"
#include "mail/mail-date.h"
#include "mail/mail-parse.h"
#include "mail/mail-search.h"
#include "mail/mail-search-eval.h"

/* ---- a storage with a few messages in memory */

struct fake_msg {
	uint32_t uid;
	unsigned int flags;
	const char *keyword;
	uint64_t modseq, size;
	const char *internal; /* IMAP date-time */
	const char *raw;
};

#define CACHE_MAX 64

struct pz_mailbox {
	const struct fake_msg *msgs;
	size_t n;
	struct { uint32_t uid; char field[32]; char value[2048]; } cache[CACHE_MAX];
	size_t ncache;
	unsigned int streams;   /* msg_stream calls */
	int fail_stream;
};

static const struct fake_msg msgs[] = {
	{ 1, PZ_FLAG_SEEN, "$Forwarded", 5, 100, "15-Jan-2024 10:00:00 +0000",
	  "Date: Mon, 15 Jan 2024 23:30:00 -0500\n"
	  "From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\n"
	  "To: you@example.com\n"
	  "Subject: Hello World\n\n"
	  "The quick brown fox\n" },
	{ 2, PZ_FLAG_FLAGGED | PZ_FLAG_DELETED, NULL, 10, 5000, "16-Jan-2024 00:30:00 +0100",
	  "Subject: no date\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=b\n\n"
	  "--b\nContent-Type: text/plain; charset=iso-8859-1\n"
	  "Content-Transfer-Encoding: base64\n\nQ2Fm6SBhdSBsYWl0\n"
	  "--b\nContent-Type: application/octet-stream\n\nsecret\n"
	  "--b\nContent-Type: message/rfc822\n\nSubject: inner header\n\ninner body\n"
	  "--b--\n" },
	{ 3, 0, NULL, 7, 300, "14-Jan-2024 12:00:00 -0800",
	  "Date: Sun, 14 Jan 2024 12:00:00 -0800\n"
	  "X-Custom:\n"
	  "Subject: =?iso-8859-1?q?na=EFve?=\n"
	  "Content-Type: text/plain; charset=utf-8\n"
	  "Content-Transfer-Encoding: quoted-printable\n\n"
	  "na=C3=AFve=\n text\n" },
};

static const struct fake_msg *find_msg(pz_mailbox *box, uint32_t uid)
{
	size_t i;

	for (i = 0; i < box->n; i++) {
		if (box->msgs[i].uid == uid)
			return &box->msgs[i];
	}
	return NULL;
}

static int fake_info(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		     struct pz_msg_info *info, pz_error *err)
{
	const struct fake_msg *m = find_msg(box, uid);

	(void)pool, (void)err;
	if (m == NULL)
		return 1;
	info->uid = uid;
	info->flags = m->flags;
	info->keywords = m->keyword == NULL ? NULL : &m->keyword;
	info->keyword_count = m->keyword == NULL ? 0 : 1;
	info->modseq = m->modseq;
	info->rfc822_size = m->size;
	assert_int_equal(pz_imap_date_parse(m->internal, &info->internal_date,
					    &info->internal_date_tz), 0);
	return 0;
}

static int fake_stream(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		       pz_stream **stream_r, pz_error *err)
{
	const struct fake_msg *m = find_msg(box, uid);

	if (m == NULL)
		return 1;
	if (box->fail_stream) {
		err->cls = PZ_ERR_TEMP;
		err->msg = "disk on fire";
		return -1;
	}
	box->streams++;
	*stream_r = pz_stream_from_memory(pool, m->raw, strlen(m->raw));
	return 0;
}

static int fake_cache_get(pz_mailbox *box, uint32_t uid, const char *field,
			  pz_pool *pool, const char **value_r, size_t *len_r, pz_error *err)
{
	size_t i;

	(void)err;
	for (i = 0; i < box->ncache; i++) {
		if (box->cache[i].uid == uid && strcmp(box->cache[i].field, field) == 0) {
			*value_r = pz_pool_strdup(pool, box->cache[i].value);
			*len_r = strlen(*value_r);
			return 0;
		}
	}
	return 1;
}

static int fake_cache_set(pz_mailbox *box, uint32_t uid, const char *field,
			  const char *value, size_t len, pz_error *err)
{
	(void)err;
	assert_true(box->ncache < CACHE_MAX);
	assert_true(len < sizeof(box->cache[0].value));
	box->cache[box->ncache].uid = uid;
	snprintf(box->cache[box->ncache].field, sizeof(box->cache[0].field), "%s", field);
	memcpy(box->cache[box->ncache].value, value, len);
	box->cache[box->ncache].value[len] = '\0';
	box->ncache++;
	return 0;
}

static const char *cached(pz_mailbox *box, uint32_t uid, const char *field)
{
	size_t i;

	for (i = 0; i < box->ncache; i++) {
		if (box->cache[i].uid == uid && strcmp(box->cache[i].field, field) == 0)
			return box->cache[i].value;
	}
	return NULL;
}

static struct pz_storage_ops fake_ops;

static void setup_ops(void)
{
	memset(&fake_ops, 0, sizeof(fake_ops));
	fake_ops.size = sizeof(fake_ops);
	fake_ops.name = "fake";
	fake_ops.msg_info = fake_info;
	fake_ops.msg_stream = fake_stream;
	fake_ops.msg_cache_get = fake_cache_get;
	fake_ops.msg_cache_set = fake_cache_set;
}

/* ---- building search trees */

static pz_pool *kp;

static struct pz_search_key *key(enum pz_search_type type)
{
	struct pz_search_key *k = pz_pool_alloc(kp, sizeof(*k));

	k->type = type;
	return k;
}

static struct pz_search_key *not(struct pz_search_key *k)
{
	k->negate = 1;
	return k;
}

static struct pz_search_key *kstr(enum pz_search_type type, const char *field, const char *s)
{
	struct pz_search_key *k = key(type);

	k->field = field;
	k->u.str = s;
	return k;
}

static struct pz_search_key *knum(enum pz_search_type type, uint64_t n)
{
	struct pz_search_key *k = key(type);

	k->u.number = n;
	return k;
}

static struct pz_search_key *kflags(unsigned int flags)
{
	struct pz_search_key *k = key(PZ_SEARCH_FLAGS);

	k->u.flags = flags;
	return k;
}

/* kdate - a date key for the day "YYYY-MM-DD" (its 00:00 UTC). */
static struct pz_search_key *kdate(enum pz_search_type type, const char *day)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct pz_search_key *k = key(type);
	int y, m, d, tz;
	char buf[64];

	assert_int_equal(sscanf(day, "%d-%d-%d", &y, &m, &d), 3);
	snprintf(buf, sizeof(buf), "%02d-%.3s-%04d 00:00:00 +0000", d, months + (m - 1) * 3, y);
	assert_int_equal(pz_imap_date_parse(buf, &k->u.date, &tz), 0);
	return k;
}

static struct pz_search_key *kuids(uint32_t first, uint32_t last)
{
	struct pz_search_key *k = key(PZ_SEARCH_UIDSET);
	struct pz_uid_range *r = pz_pool_alloc(kp, sizeof(*r));

	r->first = first;
	r->last = last;
	k->u.uids.ranges = r;
	k->u.uids.count = 1;
	return k;
}

/* kgroup - AND or OR of the keys given, NULL-terminated. */
static struct pz_search_key *kgroup(enum pz_search_type type, ...)
{
	struct pz_search_key *k = key(type), **tail = &k->children, *c;
	va_list args;

	va_start(args, type);
	while ((c = va_arg(args, struct pz_search_key *)) != NULL) {
		*tail = c;
		tail = &c->next;
	}
	va_end(args);
	return k;
}

/* run - the UIDs 1, 2, 3 and 5 (expunged) that match, as "1 3". */
static const char *run(pz_mailbox *box, const struct pz_search_key *k, int *ret_r)
{
	static const uint32_t uids[] = { 1, 2, 3, 5 };
	pz_uid_array cand = { (uint32_t *)uids, 4, 4, NULL }, result;
	struct mail_buf out;
	pz_error err;
	size_t i;

	pz_uid_array_init(&result, kp);
	*ret_r = pz_search_evaluate(&fake_ops, box, k, &cand, &result, &err);
	mail_buf_init(&out, kp);
	for (i = 0; i < result.count; i++)
		mail_buf_printf(&out, i == 0 ? "%u" : " %u", result.uids[i]);
	return mail_buf_cstr(&out);
}

static int same(const char *row, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	print_message("FAIL %s\n got: %s\nwant: %s\n", row, got, want);
	return 0;
}

static void test_evaluate(void **state)
{
	struct pz_mailbox box;
	struct {
		const char *name;
		struct pz_search_key *key;
		const char *want;
	} rows[64];
	size_t n = 0, i;
	int ok = 1, ret;

	setup_ops();
	kp = pz_pool_create("keys");
	memset(&box, 0, sizeof(box));
	box.msgs = msgs;
	box.n = 3;

#define ROW(k, w) do { rows[n].name = #k; rows[n].key = (k); rows[n].want = (w); n++; } while (0)
	ROW(key(PZ_SEARCH_ALL), "1 2 3");
	ROW(not(key(PZ_SEARCH_ALL)), "");
	ROW(kuids(2, 3), "2 3");
	ROW(kuids(3, UINT32_MAX), "3");
	ROW(kflags(PZ_FLAG_SEEN), "1");
	ROW(not(kflags(PZ_FLAG_SEEN)), "2 3");
	ROW(kflags(PZ_FLAG_FLAGGED | PZ_FLAG_DELETED), "2");
	ROW(kflags(PZ_FLAG_FLAGGED | PZ_FLAG_SEEN), "");
	ROW(kstr(PZ_SEARCH_KEYWORD, NULL, "$forwarded"), "1");
	ROW(not(kstr(PZ_SEARCH_KEYWORD, NULL, "$Junk")), "1 2 3");
	/* internal dates, each in its own zone: 15 Jan, 16 Jan (+0100; in
	 * UTC still the 15th), 14 Jan */
	ROW(kdate(PZ_SEARCH_BEFORE, "2024-01-15"), "3");
	ROW(kdate(PZ_SEARCH_ON, "2024-01-15"), "1");
	ROW(kdate(PZ_SEARCH_ON, "2024-01-16"), "2");
	ROW(kdate(PZ_SEARCH_SINCE, "2024-01-15"), "1 2");
	/* Date: 15 Jan 23:30 -0500 (16 Jan in UTC), none, 14 Jan -0800 */
	ROW(kdate(PZ_SEARCH_SENTON, "2024-01-15"), "1");
	ROW(kdate(PZ_SEARCH_SENTON, "2024-01-16"), "");
	ROW(kdate(PZ_SEARCH_SENTBEFORE, "2024-01-15"), "3");
	ROW(kdate(PZ_SEARCH_SENTSINCE, "2024-01-14"), "1 3");
	ROW(not(kdate(PZ_SEARCH_SENTSINCE, "2024-01-14")), "2");
	ROW(knum(PZ_SEARCH_LARGER, 300), "2");
	ROW(knum(PZ_SEARCH_SMALLER, 300), "1");
	ROW(knum(PZ_SEARCH_MODSEQ, 7), "2 3");
	ROW(knum(PZ_SEARCH_OLDER, 3600), "1 2 3");
	ROW(knum(PZ_SEARCH_YOUNGER, 3600), "");
	ROW(kstr(PZ_SEARCH_HEADER, "subject", "hello"), "1");
	ROW(kstr(PZ_SEARCH_HEADER, "FROM", "j\xc3\xb6rg"), "1");
	ROW(kstr(PZ_SEARCH_HEADER, "subject", "NA\xc3\x8fVE"), "3");
	ROW(kstr(PZ_SEARCH_HEADER, "x-custom", ""), "3");
	ROW(kstr(PZ_SEARCH_HEADER, "x-custom", "x"), "");
	ROW(kstr(PZ_SEARCH_HEADER, "to", ""), "1");
	ROW(kstr(PZ_SEARCH_HEADER, "subject", "inner"), "");
	ROW(kstr(PZ_SEARCH_BODY, NULL, "QUICK brown"), "1");
	ROW(kstr(PZ_SEARCH_BODY, NULL, "caf\xc3\xa9 au"), "2");
	ROW(kstr(PZ_SEARCH_BODY, NULL, "secret"), "");
	ROW(kstr(PZ_SEARCH_BODY, NULL, "inner body"), "2");
	ROW(kstr(PZ_SEARCH_BODY, NULL, "na\xc3\xafve text"), "3");
	ROW(kstr(PZ_SEARCH_BODY, NULL, "hello"), "");
	ROW(kstr(PZ_SEARCH_BODY, NULL, ""), "1 2 3");
	ROW(kstr(PZ_SEARCH_TEXT, NULL, "hello"), "1");
	ROW(kstr(PZ_SEARCH_TEXT, NULL, "inner header"), "2");
	ROW(kstr(PZ_SEARCH_TEXT, NULL, "subject: no"), "2");
	ROW(kgroup(PZ_SEARCH_OR, kflags(PZ_FLAG_SEEN), knum(PZ_SEARCH_LARGER, 1000), NULL), "1 2");
	ROW(kgroup(PZ_SEARCH_AND, not(kflags(PZ_FLAG_SEEN)), knum(PZ_SEARCH_SMALLER, 1000), NULL), "3");
	ROW(not(kgroup(PZ_SEARCH_OR, kuids(1, 1), kuids(3, 3), NULL)), "2");
	ROW(kgroup(PZ_SEARCH_AND, NULL), "1 2 3");
	ROW(kgroup(PZ_SEARCH_OR, NULL), "");
	ROW(kgroup(PZ_SEARCH_AND, kuids(1, 2),
		   kgroup(PZ_SEARCH_OR, kstr(PZ_SEARCH_BODY, NULL, "fox"),
			  not(kstr(PZ_SEARCH_HEADER, "date", "")), NULL), NULL), "1 2");
#undef ROW
	for (i = 0; i < n; i++) {
		ok &= same(rows[i].name, run(&box, rows[i].key, &ret), rows[i].want);
		assert_int_equal(ret, 0);
	}
	assert_true(ok);

	/* what parsing found went to the cache */
	assert_string_equal(cached(&box, 2, "date.sent"), "");
	assert_non_null(cached(&box, 1, "date.sent"));
	assert_string_equal(cached(&box, 3, "body"),
			    "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
			    "\"quoted-printable\" 20 2)");
	assert_non_null(cached(&box, 2, "bodystructure"));
	assert_non_null(cached(&box, 1, "envelope"));
	/* and is used: SENT* needs no message any more */
	box.streams = 0;
	ok &= same("cached SENTON", run(&box, kdate(PZ_SEARCH_SENTON, "2024-01-15"), &ret), "1");
	assert_int_equal(box.streams, 0);
	/* so did the values of the fields of FROM, TO, CC, BCC and SUBJECT
	 * (none when a message has no such field), not those of others */
	assert_string_equal(cached(&box, 1, "hdr.subject"), "11:Hello World");
	assert_string_equal(cached(&box, 3, "hdr.to"), "");
	assert_null(cached(&box, 3, "hdr.x-custom"));
	box.streams = 0;
	ok &= same("cached SUBJECT", run(&box, kstr(PZ_SEARCH_HEADER, "Subject", "WORLD"), &ret),
		   "1");
	ok &= same("cached FROM", run(&box, kstr(PZ_SEARCH_HEADER, "from", "J\xc3\xb6RG"), &ret),
		   "1");
	ok &= same("cached TO", run(&box, kstr(PZ_SEARCH_HEADER, "To", ""), &ret), "1");
	assert_int_equal(box.streams, 0);
	/* values that make no sense are not trusted: the message is read */
	for (i = 0; i < box.ncache; i++) {
		if (box.cache[i].uid == 1 && strcmp(box.cache[i].field, "hdr.subject") == 0)
			snprintf(box.cache[i].value, sizeof(box.cache[i].value), "99:Hello");
	}
	ok &= same("damaged cache", run(&box, kstr(PZ_SEARCH_HEADER, "subject", "world"), &ret),
		   "1");
	assert_int_equal(box.streams, 1);
	assert_true(ok);
	pz_pool_destroy(&kp);
}

static void test_evaluate_errors(void **state)
{
	struct pz_mailbox box;
	pz_uid_array cand, result;
	uint32_t uid = 1;
	pz_error err;
	int ret;
	struct pz_storage_ops no_cache;

	setup_ops();
	kp = pz_pool_create("keys");
	memset(&box, 0, sizeof(box));
	box.msgs = msgs;
	box.n = 3;

	/* a storage error ends the search */
	box.fail_stream = 1;
	assert_string_equal(run(&box, kstr(PZ_SEARCH_BODY, NULL, "x"), &ret), "");
	assert_int_equal(ret, -1);
	/* not needed, not read */
	assert_string_equal(run(&box, kflags(PZ_FLAG_SEEN), &ret), "1");
	assert_int_equal(ret, 0);
	box.fail_stream = 0;

	/* an unknown criterion */
	assert_string_equal(run(&box, key((enum pz_search_type)999), &ret), "");
	assert_int_equal(ret, -1);

	/* a result array without a pool */
	memset(&result, 0, sizeof(result));
	cand.uids = &uid;
	cand.count = cand.alloc = 1;
	cand.pool = NULL;
	assert_int_equal(pz_search_evaluate(&fake_ops, &box, key(PZ_SEARCH_ALL), &cand,
					    &result, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_BUG);

	/* a storage from before the cache calls: searched without them */
	no_cache = fake_ops;
	no_cache.size = offsetof(struct pz_storage_ops, msg_cache_get);
	pz_uid_array_init(&result, kp);
	assert_int_equal(pz_search_evaluate(&no_cache, &box, kdate(PZ_SEARCH_SENTON, "2024-01-14"),
					    &cand, &result, &err), 0);
	assert_int_equal(result.count, 0);
	assert_int_equal(box.ncache, 0);
	pz_pool_destroy(&kp);
}

static const struct {
	const char *msg;
	unsigned int where;
	const char *needle;
	int want;
} text_rows[] = {
	{ "Subject: Hello\n\nbody text\n", 1, "subject: hello", 1 },
	{ "Subject: Hello\n\nbody text\n", 2, "hello", 0 },
	{ "Subject: Hello\n\nbody text\n", 2, "BODY", 1 },
	{ "Subject: =?utf-8?b?w4l0w6k=?=\n\nx\n", 1, "\xc3\xa9t\xc3\xa9", 1 },
	{ "Content-Type: text/plain; charset=koi8-r\n\n\xcd\xcf\xd3\xcb\xd7\xc1\n", 2,
	  "\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90", 1 },
	{ "Content-Type: text/plain; charset=x-unknown\n\ncaf\xc3\xa9\n", 2, "CAF\xc3\x89", 1 },
	{ "Content-Type: text/html\n\n<b>bold</b>\n", 2, "<B>", 1 },
	{ "Content-Type: image/png\n\nPNG data\n", 2, "png", 0 },
	{ "Content-Type: text/plain\nContent-Transfer-Encoding: x-custom\n\nraw\n", 2, "raw", 1 },
	{ "Subject: a\n\nsplit\nacross lines\n", 2, "split\nacross", 1 },
	{ "Subject: a\nX: b\n\n", 1, "a\nx", 0 },     /* fields are apart */
};

static void test_search_text(void **state)
{
	pz_pool *pool = pz_pool_create("t");
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(text_rows) / sizeof(text_rows[0]); i++) {
		pz_stream *s = pz_stream_from_memory(pool, text_rows[i].msg, strlen(text_rows[i].msg));
		pz_mail_part *root;
		pz_error err;
		int got;

		assert_int_equal(pz_mail_parse(s, pool, &root, &err), 0);
		got = pz_mail_search_text(s, root, text_rows[i].where, text_rows[i].needle, pool);
		if (got != text_rows[i].want) {
			print_message("FAIL %s / %s\n got: %d\nwant: %d\n", text_rows[i].msg,
				      text_rows[i].needle, got, text_rows[i].want);
			ok = 0;
		}
	}
	assert_true(ok);
	pz_pool_destroy(&pool);
}

/* A long body is searched in pieces: a match across any piece boundary. */
static void test_search_long(void **state)
{
	pz_pool *pool = pz_pool_create("t");
	struct mail_buf msg;
	pz_stream *s;
	pz_mail_part *root;
	pz_error err;
	size_t pad;

	for (pad = 16370; pad < 16390; pad += 3) {
		mail_buf_init(&msg, pool);
		mail_buf_puts(&msg, "Content-Type: text/plain; charset=utf-8\n\n");
		while (msg.len < pad)
			mail_buf_putc(&msg, 'x');
		mail_buf_puts(&msg, "n\xc3\xa9\xc3\xa9" "dle\n");
		s = pz_stream_from_memory(pool, msg.data, msg.len);
		assert_int_equal(pz_mail_parse(s, pool, &root, &err), 0);
		assert_int_equal(pz_mail_search_text(s, root, 2, "N\xc3\x89\xc3\x89""DLE", pool), 1);
		assert_int_equal(pz_mail_search_text(s, root, 2, "needle", pool), 0);
	}
	pz_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_evaluate_errors),
		cmocka_unit_test(test_search_text),
		cmocka_unit_test(test_search_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
