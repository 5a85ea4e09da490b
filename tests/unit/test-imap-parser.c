/* tests/unit/test-imap-parser.c - the IMAP command parser, table-driven:
 * valid commands (rendered back), every malformed form with its BAD text,
 * the same inputs split at every byte, literals (synchronizing, LITERAL+,
 * literal8, taken by the caller, refused), limits and recovery. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "imap-parser.h"

/* ---- a throwaway arena: every allocation is kept until arena_free */

struct arena {
	void **blocks;
	size_t count, alloc;
};

static void *arena_alloc(void *ctx, size_t size)
{
	struct arena *a = ctx;
	void *p = calloc(1, size == 0 ? 1 : size);

	assert_non_null(p);
	if (a->count == a->alloc) {
		a->alloc = a->alloc == 0 ? 64 : a->alloc * 2;
		a->blocks = realloc(a->blocks, a->alloc * sizeof(void *));
		assert_non_null(a->blocks);
	}
	a->blocks[a->count++] = p;
	return p;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->count; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

static const struct imap_parser_limits test_limits = {
	.max_token = 64,
	.max_literal = 100,
	.max_total = 300,
	.max_depth = 4,
	.max_args = 20,
};

/* ---- rendering a parsed command back to text */

static void render_args(char *out, size_t size, const struct imap_arg *args,
			unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		size_t n = strlen(out);

		if (i > 0 && !a->attached)
			snprintf(out + n, size - n, " ");
		n = strlen(out);
		switch (a->type) {
		case IMAP_ARG_ATOM:
			snprintf(out + n, size - n, "%s", a->str);
			break;
		case IMAP_ARG_QUOTED:
			snprintf(out + n, size - n, "\"%s\"", a->str);
			break;
		case IMAP_ARG_LITERAL:
			snprintf(out + n, size - n, "%s{%zu}%.*s", a->literal8 ? "~" : "",
				 a->len, (int)a->len, a->str);
			break;
		case IMAP_ARG_LITERAL_TAKEN:
			snprintf(out + n, size - n, "<taken %llu>",
				 (unsigned long long)a->literal_size);
			break;
		case IMAP_ARG_LIST:
			snprintf(out + n, size - n, "(");
			render_args(out, size, a->list, a->count);
			n = strlen(out);
			snprintf(out + n, size - n, ")");
			break;
		}
	}
}

/* run - feed `in` in pieces of `chunk` bytes (0: all at once); literals
 * are accepted by feeding on.  Returns the result and renders into out:
 * "TAG NAME args" on DONE, "BAD tag|*: reason" on ERROR. */
static enum imap_parse_result run(const char *in, size_t in_len, size_t chunk,
				  char *out, size_t size, size_t *used_r)
{
	struct arena arena = { 0 };
	struct imap_parser p;
	char tok[65];
	size_t off = 0;
	enum imap_parse_result r = IMAP_PARSE_MORE;

	imap_parser_init(&p, &test_limits, tok, arena_alloc, &arena);
	out[0] = '\0';
	while (off < in_len || r == IMAP_PARSE_LITERAL) {
		size_t n = chunk == 0 || chunk > in_len - off ? in_len - off : chunk, used;

		r = imap_parser_feed(&p, in + off, n, &used);
		off += used;
		if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR || r == IMAP_PARSE_SKIPPED)
			break;
	}
	if (r == IMAP_PARSE_DONE) {
		snprintf(out, size, "%s %s", p.tag, p.name);
		if (p.count > 0) {
			strncat(out, " ", size - strlen(out) - 1);
			render_args(out, size, p.args, p.count);
		}
	} else if (r == IMAP_PARSE_ERROR) {
		snprintf(out, size, "BAD %s: %s", p.tag_ok ? p.tag : "*", p.error);
	}
	if (used_r != NULL)
		*used_r = off;
	arena_free(&arena);
	return r;
}

struct row {
	const char *in;
	enum imap_parse_result want;
	const char *out;
};

static const struct row rows[] = {
	/* valid commands */
	{ "a1 NOOP\r\n", IMAP_PARSE_DONE, "a1 NOOP" },
	{ "a1 noop\n", IMAP_PARSE_DONE, "a1 noop" },
	{ "a1 NOOP \r\n", IMAP_PARSE_DONE, "a1 NOOP" },
	{ "a] CAPABILITY\r\n", IMAP_PARSE_DONE, "a] CAPABILITY" },
	{ "A2 LOGIN user \"pa ss\\\"\\\\\"\r\n", IMAP_PARSE_DONE,
	  "A2 LOGIN user \"pa ss\"\\\"" },
	{ "A3 SELECT \"\"\r\n", IMAP_PARSE_DONE, "A3 SELECT \"\"" },
	{ "A4 FETCH 1:*,$ (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> UID)\r\n",
	  IMAP_PARSE_DONE,
	  "A4 FETCH 1:*,$ (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> UID)" },
	{ "A5 FETCH 1 BODY[HEADER.FIELDS.NOT (X)]\r\n", IMAP_PARSE_DONE,
	  "A5 FETCH 1 BODY[HEADER.FIELDS.NOT (X)]" },
	{ "A6 STORE 1 +FLAGS.SILENT (\\Seen $Forwarded \\*)\r\n", IMAP_PARSE_DONE,
	  "A6 STORE 1 +FLAGS.SILENT (\\Seen $Forwarded \\*)" },
	{ "A7 LIST \"\" %/*\r\n", IMAP_PARSE_DONE, "A7 LIST \"\" %/*" },
	{ "A8 SEARCH ((OR SEEN (FLAGGED)) NOT ())\r\n", IMAP_PARSE_DONE,
	  "A8 SEARCH ((OR SEEN (FLAGGED)) NOT ())" },
	{ "A9 LOGIN {4}\r\nuser {4+}\r\npass\r\n", IMAP_PARSE_DONE,
	  "A9 LOGIN {4}user {4}pass" },
	{ "B1 APPEND box (\\Seen) ~{3}\r\na\r\n\r\n", IMAP_PARSE_DONE,
	  "B1 APPEND box (\\Seen) ~{3}a\r\n" },
	{ "B2 X {0}\r\n\r\n", IMAP_PARSE_DONE, "B2 X {0}" },
	{ "B3 X ~abc\r\n", IMAP_PARSE_DONE, "B3 X ~abc" },
	{ "B4 SELECT \"Ma\xc5\x82" "e\"\r\n", IMAP_PARSE_DONE, "B4 SELECT \"Ma\xc5\x82" "e\"" },
	{ "B5 X ({2}\r\nab)\r\n", IMAP_PARSE_DONE, "B5 X ({2}ab)" },
	{ "B6 X (a (b (c)))\r\n", IMAP_PARSE_DONE, "B6 X (a (b (c)))" },
	{ "\r\n\nB7 NOOP\r\n", IMAP_PARSE_DONE, "B7 NOOP" },
	{ "B8 ID NIL\r\n", IMAP_PARSE_DONE, "B8 ID NIL" },
	/* malformed: each gets its reason, with the tag when there is one */
	{ " NOOP\r\n", IMAP_PARSE_ERROR, "BAD *: Missing tag" },
	{ "a+b NOOP\r\n", IMAP_PARSE_ERROR, "BAD *: Invalid tag" },
	{ "a{b NOOP\r\n", IMAP_PARSE_ERROR, "BAD *: Invalid tag" },
	{ "a1\r\n", IMAP_PARSE_ERROR, "BAD a1: Missing command" },
	{ "a1 \r\n", IMAP_PARSE_ERROR, "BAD a1: Missing command" },
	{ "a1 NO[OP\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid command name" },
	{ "a1 ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ\r\n", IMAP_PARSE_ERROR,
	  "BAD a1: Unknown command" },
	{ "a1 X  y\r\n", IMAP_PARSE_ERROR, "BAD a1: Double space between arguments" },
	{ "a1 X (y\r\n", IMAP_PARSE_ERROR, "BAD a1: Missing ')'" },
	{ "a1 X y)\r\n", IMAP_PARSE_ERROR, "BAD a1: Unexpected ')'" },
	{ "a1 X (y )\r\n", IMAP_PARSE_ERROR, "BAD a1: Unexpected space before ')'" },
	{ "a1 X (y)z\r\n", IMAP_PARSE_ERROR, "BAD a1: Missing space between arguments" },
	{ "a1 X \"y\"z\r\n", IMAP_PARSE_ERROR, "BAD a1: Missing space between arguments" },
	{ "a1 X \"abc\r\n", IMAP_PARSE_ERROR, "BAD a1: Missing '\"' at end of quoted string" },
	{ "a1 X \"a\\bc\"\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid escape in quoted string" },
	{ "a1 X a\"b\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid character in atom" },
	{ "a1 X a(b\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid character in atom" },
	{ "a1 X \x01\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid character in command" },
	{ "a1 X a\rb\r\n", IMAP_PARSE_ERROR, "BAD a1: CR without LF" },
	{ "a1 X {}\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid literal size" },
	{ "a1 X {x}\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid literal size" },
	{ "a1 X {1+2}\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid literal size" },
	{ "a1 X {12345678901234567890}\r\n", IMAP_PARSE_ERROR,
	  "BAD a1: Literal size too large" },
	{ "a1 X {3} y\r\n", IMAP_PARSE_ERROR, "BAD a1: Missing CRLF after literal size" },
	{ "a1 X {101}\r\n", IMAP_PARSE_ERROR, "BAD a1: [TOOBIG] Literal too large" },
	{ "a1 X {3}\r\na\0c\r\n", IMAP_PARSE_ERROR,
	  "BAD a1: NUL byte in literal (use literal8)" },
	{ "a1 X (((((y)))))\r\n", IMAP_PARSE_ERROR, "BAD a1: Too deeply nested parentheses" },
	{ "a1 X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\r\n", IMAP_PARSE_ERROR,
	  "BAD a1: Too many arguments" },
	{ "a1 X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
	  IMAP_PARSE_ERROR, "BAD a1: Argument too long" },
	{ "a1 X z {100+}\r\n" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {100+}\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {100+}\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", IMAP_PARSE_ERROR,
	  "BAD a1: [TOOBIG] Literal too large" },
	{ "a1 X \"a\0b\"\r\n", IMAP_PARSE_ERROR, "BAD a1: NUL byte in quoted string" },
	{ "a1 X {3+ }\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid literal size" },
	{ "a1 X ~{x}\r\n", IMAP_PARSE_ERROR, "BAD a1: Invalid literal size" },
	{ "a1 X \"a\"\rb\r\n", IMAP_PARSE_ERROR, "BAD a1: CR without LF" },
	{ "* NOOP\r\n", IMAP_PARSE_ERROR, "BAD *: Invalid tag" },
	{ "a\\ NOOP\r\n", IMAP_PARSE_ERROR, "BAD *: Invalid tag" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa NOOP\r\n", IMAP_PARSE_ERROR,
	  "BAD *: Tag too long" },
	{ "a1 X ((y) z\r\n", IMAP_PARSE_ERROR, "BAD a1: Missing ')'" },
	{ "a1 X ) \r\n", IMAP_PARSE_ERROR, "BAD a1: Unexpected space before ')'" },
};

static size_t row_len(const struct row *r)
{
	/* rows holding NUL bytes: up to the last LF */
	const char *s = r->in;
	size_t n = strlen(s);

	if (strstr(r->out, "NUL") != NULL) {
		n = 0;
		while (!(s[n] == '\r' && s[n + 1] == '\n' && s[n + 2] == '\0'))
			n++;
		n += 2;
	}
	return n;
}

static void check_row(const struct row *r, size_t chunk)
{
	char out[1024];
	size_t len = row_len(r), used = 0;
	enum imap_parse_result got = run(r->in, len, chunk, out, sizeof(out), &used);

	if (got != r->want || strcmp(out, r->out) != 0 || used != len)
		fail_msg("input %.60s (chunk %zu)\n got:  %d %s (used %zu of %zu)\n want: %d %s",
			 r->in, chunk, got, out, used, len, r->want, r->out);
}

static void test_rows_whole(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i], 0);
}

/* every row, fed one byte at a time and in pieces of 2..7 bytes: the
 * parser must resume wherever a read ended */
static void test_rows_split(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (size_t chunk = 1; chunk <= 7; chunk++)
			check_row(&rows[i], chunk);
}

/* after a bad command the next one on the same stream parses */
static void test_recovery(void **state)
{
	static const char *bad[] = {
		"a1 X (y\r\n", "a1 X {5+}\r\nab\r\nc z)\r\n", "a1 X \"abc\r\n",
		"a1 X {101+}\r\n", "a1 X {200}\r\n", "a+ X {3+}\r\nzzz\r\n", " \r\n",
	};
	struct arena arena = { 0 };
	char tok[65];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_parser p;
		char in[512];
		size_t off = 0, used, n;
		enum imap_parse_result r;

		n = (size_t)snprintf(in, sizeof(in), "%s", bad[i]);
		if (strstr(bad[i], "{101+}") != NULL) {
			memset(in + n, 'q', 101);
			n += 101;
			n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
		}
		n += (size_t)snprintf(in + n, sizeof(in) - n, "b2 NOOP\r\n");
		imap_parser_init(&p, &test_limits, tok, arena_alloc, &arena);
		do {
			r = imap_parser_feed(&p, in + off, n - off, &used);
			off += used;
		} while (r == IMAP_PARSE_LITERAL || r == IMAP_PARSE_MORE);
		assert_int_equal(r, IMAP_PARSE_ERROR);
		imap_parser_reset(&p);
		r = imap_parser_feed(&p, in + off, n - off, &used);
		if (r != IMAP_PARSE_DONE || strcmp(p.tag, "b2") != 0 || off + used != n)
			fail_msg("after %s: got %d tag %s, used %zu of %zu", bad[i], r, p.tag,
				 off + used, n);
	}
	arena_free(&arena);
}

/* pipelined commands: DONE stops at the end of the first */
static void test_pipelined(void **state)
{
	const char *in = "a NOOP\r\nb CHECK\r\n";
	struct arena arena = { 0 };
	struct imap_parser p;
	char tok[65];
	size_t used;

	imap_parser_init(&p, &test_limits, tok, arena_alloc, &arena);
	assert_int_equal(imap_parser_feed(&p, in, strlen(in), &used), IMAP_PARSE_DONE);
	assert_int_equal(used, 8);
	assert_string_equal(p.name, "NOOP");
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, in + used, strlen(in) - used, &used),
			 IMAP_PARSE_DONE);
	assert_string_equal(p.name, "CHECK");
	arena_free(&arena);
}

/* literal headers stop the parser: the caller sees size and kind first */
static void test_literal_decisions(void **state)
{
	struct arena arena = { 0 };
	struct imap_parser p;
	struct imap_arg *top;
	unsigned int count;
	char tok[65];
	size_t used;
	const char *l1 = "t APPEND INBOX (\\Seen) {5000}\r\n";
	const char *l2 = " ~{7+}\r\n";

	imap_parser_init(&p, &test_limits, tok, arena_alloc, &arena);
	assert_int_equal(imap_parser_feed(&p, l1, strlen(l1), &used), IMAP_PARSE_LITERAL);
	assert_int_equal(used, strlen(l1));
	assert_true(p.literal_sync);
	assert_int_equal(p.literal_size, 5000);
	top = imap_parser_top_args(&p, &count);
	assert_non_null(top);
	assert_int_equal(count, 2);
	assert_string_equal(top[0].str, "INBOX");
	assert_int_equal(top[1].type, IMAP_ARG_LIST);
	/* too big for the parser, but the caller takes it (streams it) */
	imap_parser_literal_taken(&p);
	assert_int_equal(imap_parser_raw_wanted(&p), 0);
	assert_int_equal(imap_parser_feed(&p, l2, strlen(l2), &used), IMAP_PARSE_LITERAL);
	assert_false(p.literal_sync);
	assert_true(p.literal8);
	imap_parser_literal_taken(&p);
	assert_int_equal(imap_parser_feed(&p, "\r\n", 2, &used), IMAP_PARSE_DONE);
	assert_int_equal(p.count, 4);
	assert_int_equal(p.args[2].type, IMAP_ARG_LITERAL_TAKEN);
	assert_int_equal(p.args[3].literal_size, 7);
	assert_true(p.args[3].literal8);

	/* refused by the caller at a synchronizing literal: done at once */
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, l1, strlen(l1), &used), IMAP_PARSE_LITERAL);
	imap_parser_fail(&p);
	assert_int_equal(imap_parser_feed(&p, "", 0, &used), IMAP_PARSE_SKIPPED);

	/* refused at a non-synchronizing one: its bytes are skipped */
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, "t APPEND x {3+}\r\n", 17, &used),
			 IMAP_PARSE_LITERAL);
	imap_parser_fail(&p);
	assert_int_equal(imap_parser_raw_wanted(&p), 3);
	assert_int_equal(imap_parser_feed(&p, "abc", 3, &used), IMAP_PARSE_MORE);
	assert_int_equal(imap_parser_raw_wanted(&p), 0);
	assert_int_equal(imap_parser_feed(&p, " {2+}\r\nzz\r\nu NOOP\r\n", 19, &used),
			 IMAP_PARSE_SKIPPED);
	assert_int_equal(used, 11);

	/* accepted: the parser reads it, and wants its bytes raw */
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, "t LOGIN {3}\r\n", 13, &used),
			 IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_literal_accept(&p), 0);
	assert_int_equal(imap_parser_raw_wanted(&p), 3);
	assert_int_equal(imap_parser_feed(&p, "a\r\n", 3, &used), IMAP_PARSE_MORE);
	assert_int_equal(imap_parser_feed(&p, " b\r\n", 4, &used), IMAP_PARSE_DONE);
	assert_int_equal(p.args[0].len, 3);
	assert_memory_equal(p.args[0].str, "a\r\n", 3);

	/* over the limit: a synchronizing literal fails at once */
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, "t LOGIN {300}\r\n", 15, &used),
			 IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_literal_accept(&p), -1);
	assert_int_equal(imap_parser_feed(&p, "", 0, &used), IMAP_PARSE_ERROR);
	assert_string_equal(p.error, "[TOOBIG] Literal too large");
	assert_true(p.tag_ok);
	arena_free(&arena);
}

/* the total size of one command is bounded across lines and literals */
static void test_total_limit(void **state)
{
	char in[2048];
	size_t n = (size_t)snprintf(in, sizeof(in), "t X");
	char out[4096];

	for (int i = 0; i < 5; i++) {
		n += (size_t)snprintf(in + n, sizeof(in) - n, " {80+}\r\n");
		memset(in + n, 'y', 80);
		n += 80;
	}
	n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
	assert_int_equal(run(in, n, 0, out, sizeof(out), NULL), IMAP_PARSE_ERROR);
	assert_string_equal(out, "BAD t: [TOOBIG] Literal too large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_whole),
		cmocka_unit_test(test_rows_split),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_literal_decisions),
		cmocka_unit_test(test_total_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
