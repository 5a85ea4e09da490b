/* tests/unit/test-mail-parse.c - the MIME part tree (core/mail): header
 * fields, part boundaries, sizes and line counts, section numbers, part
 * info, header_get, and the parser's limits.
 *
 * A tree is shown one part per line, indented by depth:
 *   TYPE/SUBTYPE h<offset>+<size> b<offset>+<size>/<crlf size>/<lines> FLAGS
 * where FLAGS has M (multipart), R (message/rfc822), T (text), D (damaged). */
#include "config-core.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pool.h"
#include "stream.h"
#include "mail/mail-buf.h"
#include "mail/mail-header.h"
#include "mail/mail-parse.h"

/* same - whether got equals want; prints both when not. */
static int same(const char *row, const char *got, const char *want)
{
	if (got != NULL && want != NULL && strcmp(got, want) == 0)
		return 1;
	if (got == NULL && want == NULL)
		return 1;
	print_message("FAIL %s\n got: %s\nwant: %s\n", row, got == NULL ? "(null)" : got,
		      want == NULL ? "(null)" : want);
	return 0;
}

static pz_mail_part *parse(pz_pool *pool, const char *msg, size_t len)
{
	pz_stream *s = pz_stream_from_memory(pool, msg, len);
	pz_mail_part *root = NULL;
	pz_error err;

	assert_int_equal(pz_mail_parse(s, pool, &root, &err), 0);
	assert_non_null(root);
	return root;
}

static void dump(struct mail_buf *out, pz_mail_part *p, int depth)
{
	struct pz_mail_part_info info = { .size = sizeof(info) };
	pz_mail_part *c;

	pz_mail_part_info(p, &info);
	mail_buf_printf(out, "%*s%s/%s h%llu+%llu b%llu+%llu/%llu/%llu %s%s%s%s\n",
			depth * 2, "", info.type, info.subtype,
			(unsigned long long)info.header_offset,
			(unsigned long long)info.header_size,
			(unsigned long long)info.body_offset,
			(unsigned long long)info.body_size,
			(unsigned long long)p->body_vsize,
			(unsigned long long)info.body_lines,
			(info.flags & PZ_PART_MULTIPART) ? "M" : "",
			(info.flags & PZ_PART_MESSAGE) ? "R" : "",
			(info.flags & PZ_PART_TEXT) ? "T" : "",
			(info.flags & PZ_PART_DAMAGED) ? "D" : "");
	for (c = p->children; c != NULL; c = c->next)
		dump(out, c, depth + 1);
}

static const char *tree(pz_pool *pool, pz_mail_part *root)
{
	struct mail_buf out;

	mail_buf_init(&out, pool);
	dump(&out, root, 0);
	return mail_buf_cstr(&out);
}

static const struct tree_case {
	const char *name;
	const char *msg;
	const char *want;
} tree_cases[] = {
	{ "empty message", "",
	  "text/plain h0+0 b0+0/0/0 T\n" },
	{ "header only, no line break", "Subject: x",
	  "text/plain h0+10 b10+0/0/0 T\n" },
	{ "header and body, LF",
	  "Subject: x\n\nline 1\nline 2\n",
	  "text/plain h0+12 b12+14/16/2 T\n" },
	{ "header and body, CRLF",
	  "Subject: x\r\n\r\nline 1\r\nline 2\r\n",
	  "text/plain h0+14 b14+16/16/2 T\n" },
	{ "no header", "\nbody\n",
	  "text/plain h0+1 b1+5/6/1 T\n" },
	{ "multipart with preamble and epilogue",
	  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
	  "pre\n--b\nContent-Type: text/html\n\n<p>\n--b\n\nplain\n--b--\nepi\n",
	  "multipart/mixed h0+61 b61+58/68/10 M\n"
	  "  text/html h69+25 b94+3/3/0 T\n"
	  "  text/plain h102+1 b103+5/5/0 T\n" },
	{ "multipart, CRLF",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
	  "multipart/mixed h0+45 b45+17/17/4 M\n"
	  "  text/plain h50+2 b52+1/1/0 T\n" },
	{ "missing final boundary",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
	  "multipart/mixed h0+43 b43+18/24/6 MD\n"
	  "  text/plain h47+1 b48+3/3/0 T\n"
	  "  text/plain h56+1 b57+4/5/1 T\n" },
	{ "no boundary parameter",
	  "Content-Type: multipart/mixed\n\n--b\n\nx\n",
	  "multipart/mixed h0+31 b31+7/10/3 MD\n" },
	{ "boundary ends a header",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b\n\nx\n--b--\n",
	  "multipart/mixed h0+43 b43+42/48/6 M\n"
	  "  text/plain h47+24 b71+0/0/0 T\n"
	  "  text/plain h76+1 b77+1/1/0 T\n" },
	{ "longest boundary prefix wins; inner ended by outer",
	  "Content-Type: multipart/mixed; boundary=a\n\n--a\n"
	  "Content-Type: multipart/mixed; boundary=ab\n\n--ab\n\nin\n--a\n\nout\n--a--\n",
	  "multipart/mixed h0+43 b43+72/82/10 M\n"
	  "  multipart/mixed h47+44 b91+8/10/2 MD\n"
	  "    text/plain h96+1 b97+2/2/0 T\n"
	  "  text/plain h104+1 b105+3/3/0 T\n" },
	{ "boundary with a longer line still matches (prefix)",
	  "Content-Type: multipart/mixed; boundary=abc\n\n--abc\n\nx\n--abcdef\n\ny\n--abc--x\n",
	  "multipart/mixed h0+45 b45+30/37/7 M\n"
	  "  text/plain h51+1 b52+1/1/0 T\n"
	  "  text/plain h63+1 b64+1/1/0 T\n" },
	{ "message/rfc822 holds the message",
	  "Content-Type: message/rfc822\n\nSubject: in\n\nbody\n",
	  "message/rfc822 h0+30 b30+18/21/3 R\n"
	  "  text/plain h30+13 b43+5/6/1 T\n" },
	{ "empty message/rfc822 at a boundary",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n--b--\n",
	  "multipart/mixed h0+43 b43+39/42/3 M\n"
	  "  message/rfc822 h47+28 b75+0/0/0 R\n"
	  "    text/plain h75+0 b75+0/0/0 T\n" },
	{ "digest: the default is message/rfc822",
	  "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nA\n--d\n"
	  "Content-Type: text/plain\n\nB\n--d--\n",
	  "multipart/digest h0+44 b44+57/67/10 M\n"
	  "  message/rfc822 h48+1 b49+13/15/2 R\n"
	  "    text/plain h49+12 b61+1/1/0 T\n"
	  "  text/plain h67+26 b93+1/1/0 T\n" },
	{ "Content-Type without MIME-Version is still MIME",
	  "Content-Type: text/html\n\n<b>\n",
	  "text/html h0+25 b25+4/5/1 T\n" },
	{ "without MIME, Content-Transfer-Encoding does not count",
	  "Content-Transfer-Encoding: base64\n\naGk=\n",
	  "text/plain h0+35 b35+5/6/1 T\n" },
	{ "unreadable type",
	  "Content-Type: application/pdf name=x\n\n%PDF\n",
	  "application/octet-stream h0+38 b38+5/6/1 \n" },
	{ "mixed line breaks",
	  "Subject: x\r\nContent-Type: multipart/mixed; boundary=m\n\r\n--m\r\n\nA\r\nB\n--m--\r\n",
	  "multipart/mixed h0+56 b56+18/20/5 M\n"
	  "  text/plain h61+1 b62+4/4/1 T\n" },
};

static void test_tree(void **state)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(tree_cases) / sizeof(tree_cases[0]); i++) {
		pz_pool *pool = pz_pool_create("t");
		const struct tree_case *c = &tree_cases[i];

		ok &= same(c->name, tree(pool, parse(pool, c->msg, strlen(c->msg))), c->want);
		pz_pool_destroy(&pool);
	}
	assert_true(ok);
}

/* Sections: a message with a nested message/rfc822 and multiparts. */
static const char section_msg[] =
	"Content-Type: multipart/mixed; boundary=o\n\n"
	"--o\n\nfirst\n"
	"--o\nContent-Type: message/rfc822\n\n"
	"Subject: inner\nContent-Type: multipart/alternative; boundary=i\n\n"
	"--i\n\nplain\n--i\nContent-Type: text/html\n\nhtml\n--i--\n"
	"--o\nContent-Type: message/rfc822\n\nSubject: single\n\nsingle body\n"
	"--o--\n";

static const struct {
	const char *section;
	const char *want; /* the part's body, or NULL when there is none */
} section_cases[] = {
	{ "", NULL },  /* the root: checked apart */
	{ "1", "first" },
	{ "2.1", "plain" },
	{ "2.2", "html" },
	{ "3.1", "single body" },
	{ "4", NULL },
	{ "1.1", "first" },   /* a leaf takes one ".1" more (Dovecot) */
	{ "1.1.1", NULL },
	{ "2.3", NULL },
	{ "3.2", NULL },
	{ "0", NULL },
	{ "01", NULL },
	{ "1.", NULL },
	{ ".1", NULL },
	{ "1..1", NULL },
	{ "a", NULL },
	{ "2.1.1", "plain" },
	{ "99999999999999999999", NULL },
};

static const char *body_of(pz_pool *pool, const pz_mail_part *p)
{
	return pz_pool_strndup(pool, section_msg + p->body_offset, p->body_size);
}

static void test_sections(void **state)
{
	pz_pool *pool = pz_pool_create("t");
	pz_mail_part *root = parse(pool, section_msg, sizeof(section_msg) - 1), *p;
	size_t i;
	int ok = 1;

	assert_ptr_equal(pz_mail_part_find(root, ""), root);
	for (i = 1; i < sizeof(section_cases) / sizeof(section_cases[0]); i++) {
		p = pz_mail_part_find(root, section_cases[i].section);
		ok &= same(section_cases[i].section, p == NULL ? NULL : body_of(pool, p),
			   section_cases[i].want);
	}
	/* a message/rfc822 part is its own number; its message is below */
	p = pz_mail_part_find(root, "2");
	assert_non_null(p);
	assert_true((p->flags & PZ_PART_MESSAGE) != 0);
	assert_ptr_equal(pz_mail_part_child(p, 0), p->children);
	assert_null(pz_mail_part_child(p, 1));
	assert_ptr_equal(pz_mail_part_find(root, "3"), pz_mail_part_child(root, 2));
	assert_null(pz_mail_part_child(NULL, 0));
	/* a single-part message has part 1, itself */
	{
		pz_mail_part *single = parse(pool, "Subject: s\n\nx\n", 14);

		assert_ptr_equal(pz_mail_part_find(single, "1"), single);
		assert_null(pz_mail_part_find(single, "2"));
		assert_null(pz_mail_part_find(single, "1.1"));
	}
	assert_true(ok);
	pz_pool_destroy(&pool);
}

static void test_info(void **state)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: TEXT/Plain; Charset=\"UTF-8\"\n"
		"Content-Transfer-Encoding: Quoted-Printable\n\nx\n"
		"--b\nContent-Type: application/octet-stream; name=\"=?utf-8?q?n=C3=A4me?=\"\n"
		"Content-Disposition: attachment; filename*0*=utf-8''%E2%82%AC; filename*1=\".txt\"\n\n"
		"data\n"
		"--b\nContent-Type: image/png; name=\"plain name.png\"\n\nPNG\n--b--\n";
	pz_pool *pool = pz_pool_create("t");
	pz_mail_part *root = parse(pool, msg, sizeof(msg) - 1);
	struct pz_mail_part_info info;
	struct pz_mail_part_info small;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	pz_mail_part_info(root, &info);
	assert_int_equal(info.child_count, 3);
	assert_string_equal(info.type, "multipart");
	assert_string_equal(info.subtype, "mixed");
	assert_string_equal(info.encoding, "7bit");
	assert_null(info.charset);
	assert_null(info.filename);

	pz_mail_part_info(pz_mail_part_find(root, "1"), &info);
	assert_string_equal(info.type, "text");
	assert_string_equal(info.subtype, "plain");
	assert_string_equal(info.encoding, "quoted-printable");
	assert_string_equal(info.charset, "utf-8");
	assert_int_equal(info.flags, PZ_PART_TEXT);

	pz_mail_part_info(pz_mail_part_find(root, "2"), &info);
	same("2231 filename", info.filename, "\xe2\x82\xac.txt");
	pz_mail_part_info(pz_mail_part_find(root, "3"), &info);
	same("name parameter", info.filename, "plain name.png");

	/* a caller built against a smaller struct gets only its fields */
	memset(&small, 0xa5, sizeof(small));
	small.size = offsetof(struct pz_mail_part_info, type);
	pz_mail_part_info(root, &small);
	assert_int_equal(small.body_offset, root->body_offset);
	{
		const unsigned char *b = (const unsigned char *)&small;
		size_t k;

		for (k = offsetof(struct pz_mail_part_info, type); k < sizeof(small); k++)
			assert_int_equal(b[k], 0xa5);
	}
	pz_pool_destroy(&pool);
}

static void test_header_get(void **state)
{
	static const char msg[] =
		" leading: blank\n"
		"Received: one\n"
		"Subject: folded\n\tover\n  lines\n"
		"received: two\n"
		"NoColon\n"
		"Empty:\n"
		"Spaces:    \n"
		"Name  : value after blanks\n"
		"\n"
		"body\n";
	static const struct {
		const char *name;
		size_t count;
		const char *first, *second;
	} rows[] = {
		{ "received", 2, "one", "two" },
		{ "SUBJECT", 1, "folded\tover  lines", NULL },
		{ "empty", 1, "", NULL },
		{ "spaces", 1, "   ", NULL },
		{ "name", 1, "value after blanks", NULL },
		{ " leading", 1, "blank", NULL },
		{ "NoColon", 1, "", NULL },
		{ "missing", 0, NULL, NULL },
	};
	pz_pool *pool = pz_pool_create("t");
	pz_mail_part *root = parse(pool, msg, sizeof(msg) - 1);
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char **v;
		size_t n = pz_mail_header_get(root, pool, rows[i].name, &v);

		assert_int_equal(n, rows[i].count);
		assert_null(v[n]);
		if (n > 0)
			ok &= same(rows[i].name, v[0], rows[i].first);
		if (n > 1)
			ok &= same(rows[i].name, v[1], rows[i].second);
	}
	assert_true(ok);
	pz_pool_destroy(&pool);
}

/* Header scanning on its own: fields as the callback sees them. */
static void collect(void *ctx, const char *name, size_t name_len, const char *value,
		    size_t value_len, int truncated)
{
	struct mail_buf *out = ctx;

	mail_buf_printf(out, "[%.*s|%.*s%s]", (int)name_len, name, (int)value_len, value,
			truncated ? "|cut" : "");
}

static void test_header_read(void **state)
{
	static const struct {
		const char *hdr, *want;
	} rows[] = {
		{ "A: 1\nB:2\n\nC: body", "[A|1][B|2]" },
		{ "A: 1\r\n b\r\n\r\n", "[A|1\n b]" },
		{ "A:\n x\n", "[A|\n x]" },
		{ "A:  \n", "[A| ]" },
		{ "A: x\xff\x80\n", "[A|x\xff\x80]" },
		{ "A: x", "[A|x]" },
		{ "no colon\n", "[no colon|]" },
		{ "\n", "" },
		{ "", "" },
	};
	pz_pool *pool = pz_pool_create("t");
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mail_buf out;
		pz_stream *s = pz_stream_from_memory(pool, rows[i].hdr, strlen(rows[i].hdr));

		mail_buf_init(&out, pool);
		assert_int_equal(mail_header_read(s, 0, collect, &out), 0);
		ok &= same(rows[i].hdr, mail_buf_cstr(&out), rows[i].want);
	}
	assert_true(ok);
	pz_pool_destroy(&pool);
}

/* A field longer than MAIL_FIELD_MAX is cut and the part marked. */
static void test_long_field(void **state)
{
	size_t len = MAIL_FIELD_MAX + 100000;
	char *msg = malloc(len + 32);
	pz_pool *pool = pz_pool_create("t");
	pz_mail_part *root;
	const char **v;

	memcpy(msg, "X-Long: ", 8);
	memset(msg + 8, 'a', len);
	memcpy(msg + 8 + len, "\n\nbody\n", 7);
	root = parse(pool, msg, len + 15);
	assert_int_equal(pz_mail_header_get(root, pool, "x-long", &v), 1);
	assert_int_equal(strlen(v[0]), MAIL_FIELD_MAX - 8);
	assert_true((root->flags & PZ_PART_DAMAGED) != 0);
	assert_int_equal(root->body_size, 5);
	free(msg);
	pz_pool_destroy(&pool);
}

/* Nesting beyond MAIL_MAX_DEPTH stops splitting; deep recursion is safe. */
static void test_depth_limit(void **state)
{
	struct mail_buf msg;
	pz_pool *pool = pz_pool_create("t");
	pz_mail_part *root, *p;
	unsigned int i, depth = 0;

	mail_buf_init(&msg, pool);
	for (i = 0; i < 300; i++)
		mail_buf_puts(&msg, "Content-Type: message/rfc822\n\n");
	mail_buf_puts(&msg, "Subject: deepest\n\nx\n");
	root = parse(pool, (const char *)msg.data, msg.len);
	for (p = root; p->children != NULL; p = p->children)
		depth++;
	assert_int_equal(depth, MAIL_MAX_DEPTH - 1);
	assert_true((p->flags & PZ_PART_DAMAGED) != 0);
	assert_int_equal(p->body_offset + p->body_size, msg.len);
	pz_pool_destroy(&pool);
}

/* Parts beyond MAIL_MAX_PARTS stay in the last one. */
static void test_part_limit(void **state)
{
	struct mail_buf msg;
	pz_pool *pool = pz_pool_create("t");
	pz_mail_part *root, *last;
	unsigned int i;

	mail_buf_init(&msg, pool);
	mail_buf_puts(&msg, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (i = 0; i < MAIL_MAX_PARTS + 50; i++)
		mail_buf_puts(&msg, "--b\n\nx\n");
	mail_buf_puts(&msg, "--b--\n");
	root = parse(pool, (const char *)msg.data, msg.len);
	assert_int_equal(root->child_count, MAIL_MAX_PARTS - 1);
	last = root->last_child;
	assert_true((last->flags & PZ_PART_DAMAGED) != 0);
	assert_int_equal(last->body_offset + last->body_size, msg.len);
	pz_pool_destroy(&pool);
}

/* A stream that fails: mail_parse reports it, and only that. */
static ssize_t fail_read(void *ctx, void *buf, size_t n, uint64_t offset)
{
	(void)ctx, (void)buf, (void)n;
	return offset >= 10 ? -1 : (ssize_t)(n < 10 - offset ? n : 10 - offset);
}

static void test_read_error(void **state)
{
	static const struct pz_stream_ops ops = { sizeof(ops), fail_read, NULL, NULL };
	pz_pool *pool = pz_pool_create("t");
	pz_stream *s = pz_stream_new(pool, &ops, NULL);
	pz_mail_part *root = NULL;
	pz_error err;

	assert_int_equal(pz_mail_parse(s, pool, &root, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_TEMP);
	assert_null(root);
	pz_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_header_get),
		cmocka_unit_test(test_header_read),
		cmocka_unit_test(test_long_field),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_part_limit),
		cmocka_unit_test(test_read_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
