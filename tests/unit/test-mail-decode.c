/* tests/unit/test-mail-decode.c - the decoders of core/mail: lax base64,
 * quoted-printable, decoded part streams, RFC 2047 encoded-words, RFC 2231
 * parameter values and charset conversion to UTF-8. */
#include "config-core.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"
#include "pool.h"
#include "stream.h"
#include "mail/mail-charset.h"
#include "mail/mail-decode.h"
#include "mail/mail-parse.h"
#include "mail/mail-words.h"

/* same - byte strings equal; prints both when not. */
static int same(const char *row, const void *got, size_t got_len, const char *want)
{
	if (got != NULL && want != NULL && got_len == strlen(want) &&
	    memcmp(got, want, got_len) == 0)
		return 1;
	if (got == NULL && want == NULL)
		return 1;
	if (got_len == 0 && want != NULL && *want == '\0')
		return 1;
	print_message("FAIL %s\n got: %.*s\nwant: %s\n", row, got == NULL ? 6 : (int)got_len,
		      got == NULL ? "(null)" : (const char *)got, want == NULL ? "(null)" : want);
	return 0;
}

static const struct {
	const char *in, *want;
} b64_rows[] = {
	{ "aGVsbG8=", "hello" },
	{ "aGVs\r\nbG8=", "hello" },
	{ "aG Vs\tbG8=", "hello" },
	{ "aGVs!!bG8=", "hello" },          /* garbage is skipped */
	{ "aGVsbG", "hell" },               /* an unfinished quantum drops */
	{ "aGk=aGk=", "hihi" },             /* padding ends a quantum only */
	{ "", "" },
	{ "====", "" },
	{ "/+/+", "\xff\xef\xfe" },
};

static void test_base64_lax(void **state)
{
	size_t i, j;
	int ok = 1;

	for (i = 0; i < sizeof(b64_rows) / sizeof(b64_rows[0]); i++) {
		const char *in = b64_rows[i].in;
		size_t len = strlen(in);
		unsigned char out[64];
		size_t n = 0;
		struct pz_base64_lax st;

		/* any split of the input gives the same output */
		for (j = 0; j <= len; j++) {
			pz_base64_lax_init(&st);
			n = pz_base64_lax_step(&st, in, j, out);
			n += pz_base64_lax_step(&st, in + j, len - j, out + n);
			ok &= same(in, out, n, b64_rows[i].want);
		}
	}
	assert_true(ok);
}

static const struct {
	const char *in, *want;
} qp_rows[] = {
	{ "a=3Db", "a=b" },
	{ "a=3db", "a=b" },                 /* lowercase hex */
	{ "soft=\r\nbreak", "softbreak" },
	{ "soft=\nbreak", "softbreak" },
	{ "soft=  \r\nbreak", "softbreak" }, /* blanks after the '=' */
	{ "trail  \r\nx", "trail\r\nx" },    /* blanks at a line end go */
	{ "trail \t\nx", "trail\nx" },
	{ "in  side", "in  side" },
	{ "bad=XYz", "bad=XYz" },           /* no escape: kept */
	{ "bad=4", "bad=4" },
	{ "end=", "end=" },
	{ "end  ", "end" },
	{ "cr\ronly", "cr\ronly" },
	{ "=E9t=E9", "\xe9t\xe9" },
	{ "", "" },
};

static void test_qp(void **state)
{
	size_t i, j;
	int ok = 1;

	for (i = 0; i < sizeof(qp_rows) / sizeof(qp_rows[0]); i++) {
		const char *in = qp_rows[i].in;
		size_t len = strlen(in);

		for (j = 0; j <= len; j++) {
			struct mail_decoder d;
			struct mail_buf out;

			mail_buf_init(&out, NULL);
			mail_decoder_init(&d, MAIL_CTE_QP);
			mail_decoder_step(&d, in, j, &out);
			mail_decoder_step(&d, in + j, len - j, &out);
			mail_decoder_finish(&d, &out);
			ok &= same(in, out.data, out.len, qp_rows[i].want);
			mail_buf_free(&out);
		}
	}
	assert_true(ok);
}

static void test_cte_names(void **state)
{
	assert_int_equal(mail_cte_of(NULL), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_of("7BIT"), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_of("8bit"), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_of("Binary"), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_of("Base64"), MAIL_CTE_BASE64);
	assert_int_equal(mail_cte_of("QUOTED-PRINTABLE"), MAIL_CTE_QP);
	assert_int_equal(mail_cte_of("x-uuencode"), MAIL_CTE_UNKNOWN);
}

/* read_all - a stream's content, in pieces of `step` bytes. */
static size_t read_all(pz_stream *s, unsigned char *buf, size_t cap, size_t step)
{
	size_t got = 0;
	ssize_t n;

	assert_int_equal(pz_stream_seek(s, 0), 0);
	while (got < cap && (n = pz_stream_read(s, buf + got, step < cap - got ? step : cap - got)) > 0)
		got += (size_t)n;
	return got;
}

static void test_decoded_stream(void **state)
{
	static const char msg[] =
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Transfer-Encoding: base64\n\naGVsbG8g\nd29ybGQ=\n"
		"--b\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9=\n au lait\n"
		"--b\nContent-Transfer-Encoding: 8bit\n\nraw \xff bytes\n"
		"--b\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n"
		"--b--\n";
	static const char *const want[] = { "hello world", "caf\xe9 au lait", "raw \xff bytes" };
	pz_pool *pool = pz_pool_create("t");
	pz_stream *msgs = pz_stream_from_memory(pool, msg, sizeof(msg) - 1);
	pz_mail_part *root, *p;
	pz_stream *dec;
	pz_error err;
	unsigned char buf[256];
	unsigned int i;
	size_t step, n;
	int ok = 1;

	assert_int_equal(pz_mail_parse(msgs, pool, &root, &err), 0);
	for (i = 0; i < 3; i++) {
		p = pz_mail_part_child(root, i);
		assert_int_equal(pz_mail_part_decoded(msgs, p, pool, &dec, &err), 0);
		for (step = 1; step <= 7; step += 3) {
			n = read_all(dec, buf, sizeof(buf), step);
			ok &= same(want[i], buf, n, want[i]);
		}
		assert_int_equal(pz_stream_size(dec), (int64_t)strlen(want[i]));
		/* reading at an offset after the end of a pass */
		assert_int_equal(pz_stream_seek(dec, 4), 0);
		assert_int_equal(pz_stream_read(dec, buf, 3), 3);
		assert_int_equal(memcmp(buf, want[i] + 4, 3), 0);
	}
	p = pz_mail_part_child(root, 3);
	assert_int_equal(pz_mail_part_decoded(msgs, p, pool, &dec, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_NOT_SUPPORTED);
	assert_true(ok);
	pz_pool_destroy(&pool);
}

static const struct {
	const char *in, *want;
} word_rows[] = {
	{ "plain text", "plain text" },
	{ "=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9" },
	{ "=?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9" },
	{ "=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?iso-8859-1*fr?q?caf=E9?=", "caf\xc3\xa9" },        /* RFC 2231 language */
	{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },               /* blanks between go */
	{ "=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab" },
	{ "=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b" },
	{ "=?utf-8?q?a_b?=", "a b" },
	{ "=?utf-8?b?w6k=?==?utf-8?b?w6k=?=", "\xc3\xa9\xc3\xa9" },
	{ "=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9" },      /* split character */
	{ "=?x-unknown?q?a?= b", "=?x-unknown?q?a?= b" },        /* unknown: raw */
	{ "=?utf-8?x?a?=", "=?utf-8?x?a?=" },                    /* bad encoding */
	{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
	{ "raw \xe9 byte", "raw \xef\xbf\xbd byte" },
	{ "folded\r\n line", "folded line" },
	{ "=?utf-8?q?=ZZ?=", "=ZZ" },
	{ "", "" },
};

static void test_words(void **state)
{
	pz_pool *pool = pz_pool_create("t");
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(word_rows) / sizeof(word_rows[0]); i++) {
		const char *got = pz_mail_decode_words(pool, word_rows[i].in);

		ok &= same(word_rows[i].in, got, strlen(got), word_rows[i].want);
	}
	assert_string_equal(pz_mail_decode_words(pool, NULL), "");
	assert_true(ok);
	pz_pool_destroy(&pool);
}

static void test_param_decoded(void **state)
{
	static const struct mail_param params[] = {
		{ "name", "=?utf-8?q?x=C3=A9?=" },
		{ "filename*", "utf-8'en'%E2%82%AC%20euro.txt" },
		{ "filename", "fallback.txt" },
		{ "title*", "iso-8859-1''%E9t%E9" },
		{ "bad*", "no quotes %41" },
	};
	pz_pool *pool = pz_pool_create("t");
	const char *v;
	int ok = 1;

	v = mail_param_decoded(pool, params, 5, "name");
	ok &= same("name", v, strlen(v), "x\xc3\xa9");
	v = mail_param_decoded(pool, params, 5, "FILENAME");
	ok &= same("filename", v, strlen(v), "\xe2\x82\xac euro.txt");
	v = mail_param_decoded(pool, params, 5, "title");
	ok &= same("title", v, strlen(v), "\xc3\xa9t\xc3\xa9");
	v = mail_param_decoded(pool, params, 5, "bad");
	ok &= same("bad", v, strlen(v), "no quotes A");
	assert_null(mail_param_decoded(pool, params, 5, "missing"));
	assert_true(ok);
	pz_pool_destroy(&pool);
}

static const struct {
	const char *charset;
	const char *in;
	const char *want; /* NULL: unknown charset */
} charset_rows[] = {
	{ "utf-8", "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "UTF8", "bad \xc3\x28 seq", "bad \xef\xbf\xbd( seq" },
	{ "us-ascii", "caf\xc3\xa9", "caf\xc3\xa9" },   /* 8-bit in us-ascii: UTF-8 */
	{ "utf-8", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
	{ "utf-8", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },                 /* overlong */
	{ "iso-8859-1", "caf\xe9", "caf\xc3\xa9" },
	{ "ISO-8859-2", "\xb1", "\xc4\x85" },
	{ "windows-1252", "\x80", "\xe2\x82\xac" },
	{ "koi8-r", "\xc1", "\xd0\xb0" },
	{ "\"utf-8\"", "x", "x" },
	{ "shift_jis", "\x82\xa0", "\xe3\x81\x82" },
	{ "iso-2022-jp", "\x1b$B$\"\x1b(B", "\xe3\x81\x82" },
	{ "euc-jp", "\xa4\xa2 \xff\xff", "\xe3\x81\x82 \xef\xbf\xbd\xef\xbf\xbd" },
	{ "x-unknown", "x", NULL },
	{ "utf-8//TRANSLIT", "x", NULL },
	{ "", "x", NULL },
};

static void test_charsets(void **state)
{
	pz_pool *pool = pz_pool_create("t");
	size_t i, j;
	int ok = 1;

	for (i = 0; i < sizeof(charset_rows) / sizeof(charset_rows[0]); i++) {
		const char *in = charset_rows[i].in;
		char *got = pz_charset_to_utf8(pool, charset_rows[i].charset, in, strlen(in));
		char row[64];
		struct mail_charset *cs;

		snprintf(row, sizeof(row), "%s", charset_rows[i].charset);
		ok &= same(row, got, got == NULL ? 0 : strlen(got), charset_rows[i].want);
		if (charset_rows[i].want == NULL)
			continue;
		/* fed one byte at a time, a cut sequence waits for the rest */
		cs = mail_charset_open(charset_rows[i].charset);
		assert_non_null(cs);
		{
			struct mail_buf out;

			mail_buf_init(&out, pool);
			for (j = 0; in[j] != '\0'; j++)
				mail_charset_feed(cs, in + j, 1, &out);
			mail_charset_finish(cs, &out);
			ok &= same(row, out.data, out.len, charset_rows[i].want);
		}
		mail_charset_close(&cs);
		assert_null(cs);
	}
	assert_null(pz_charset_to_utf8(pool, NULL, "x", 1));
	assert_true(ok);
	pz_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_lax),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_cte_names),
		cmocka_unit_test(test_decoded_stream),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_param_decoded),
		cmocka_unit_test(test_charsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
