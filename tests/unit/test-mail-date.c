/* tests/unit/test-mail-date.c - dates (IMAP date-time and RFC 5322 Date:),
 * modified UTF-7 mailbox names, and case folding, of core/mail. */
#include "config-core.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pool.h"
#include "mail/mail-date.h"
#include "mail/mail-fold.h"
#include "mail/mail-utf7.h"

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

static int same_num(const char *row, const char *what, long long got, long long want)
{
	if (got == want)
		return 1;
	print_message("FAIL %s %s\n got: %lld\nwant: %lld\n", row, what, got, want);
	return 0;
}

static const struct {
	const char *in;
	int ok;
	long long t;
	int tz;
	const char *formatted;
} imap_rows[] = {
	{ "17-Jul-1996 02:44:25 -0700", 1, 837596665, -420, "17-Jul-1996 02:44:25 -0700" },
	{ "\"17-Jul-1996 02:44:25 -0700\"", 1, 837596665, -420, "17-Jul-1996 02:44:25 -0700" },
	{ " 7-Jul-1996 02:44:25 +0000", 1, 836707465, 0, "07-Jul-1996 02:44:25 +0000" },
	{ "7-jul-1996 02:44:25 +0000", 1, 836707465, 0, "07-Jul-1996 02:44:25 +0000" },
	{ "01-Jan-1970 00:00:00 +0000", 1, 0, 0, "01-Jan-1970 00:00:00 +0000" },
	{ "01-Jan-1970 01:00:00 +0100", 1, 0, 60, "01-Jan-1970 01:00:00 +0100" },
	{ "29-Feb-2024 23:59:59 +0530", 1, 1709231399, 330, "29-Feb-2024 23:59:59 +0530" },
	{ "31-Dec-2099 12:00:00 -1200", 1, 4102444800, -720, "31-Dec-2099 12:00:00 -1200" },
	{ "29-Feb-2023 00:00:00 +0000", 0, 0, 0, NULL },
	{ "32-Jan-2020 00:00:00 +0000", 0, 0, 0, NULL },
	{ "17-Jux-1996 02:44:25 -0700", 0, 0, 0, NULL },
	{ "17-Jul-96 02:44:25 -0700", 0, 0, 0, NULL },
	{ "17-Jul-1996 24:00:00 -0700", 0, 0, 0, NULL },
	{ "17-Jul-1996 02:44 -0700", 0, 0, 0, NULL },
	{ "17-Jul-1996 02:44:25", 0, 0, 0, NULL },
	{ "17-Jul-1996 02:44:25 -07", 0, 0, 0, NULL },
	{ "17-Jul-1996 02:44:25 -0760", 0, 0, 0, NULL },
	{ "17-Jul-1996 02:44:25 -0700x", 0, 0, 0, NULL },
	{ "\"17-Jul-1996 02:44:25 -0700", 0, 0, 0, NULL },
	{ "", 0, 0, 0, NULL },
};

static void test_imap_date(void **state)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(imap_rows) / sizeof(imap_rows[0]); i++) {
		time_t t = 0;
		int tz = 0, r = pz_imap_date_parse(imap_rows[i].in, &t, &tz);
		char buf[PZ_IMAP_DATE_MAX];

		ok &= same_num(imap_rows[i].in, "ok", r == 0, imap_rows[i].ok);
		if (r != 0 || !imap_rows[i].ok)
			continue;
		ok &= same_num(imap_rows[i].in, "time", (long long)t, imap_rows[i].t);
		ok &= same_num(imap_rows[i].in, "zone", tz, imap_rows[i].tz);
		pz_imap_date_format(t, tz, buf);
		ok &= same(imap_rows[i].in, buf, imap_rows[i].formatted);
	}
	assert_true(ok);
}

static const struct {
	const char *in;
	int ok;
	long long t;
	int tz;
} rfc_rows[] = {
	{ "Fri, 21 Nov 1997 09:55:06 -0600", 1, 880127706, -360 },
	{ "21 Nov 1997 09:55:06 -0600", 1, 880127706, -360 },
	{ "Fri, 21 Nov 1997 09:55 -0600", 1, 880127700, -360 },
	{ "Fri,21 Nov 97 09:55:06 -0600", 1, 880127706, -360 },      /* 2-digit year */
	{ "Fri, 21 Nov 03 09:55:06 +0000", 1, 1069408506, 0 },
	{ "Fri, 21 Nov 097 09:55:06 +0000", 1, 880106106, 0 },       /* 3-digit year */
	{ "Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32\r\n -0330 (Newfoundland Time)", 1, -27723480, -210 },
	{ "Fri, 21 Nov 1997 09:55:06 GMT", 1, 880106106, 0 },
	{ "Fri, 21 Nov 1997 09:55:06 EST", 1, 880124106, -300 },
	{ "Fri, 21 Nov 1997 09:55:06 PDT", 1, 880131306, -420 },
	{ "Fri, 21 Nov 1997 09:55:06 Z", 1, 880106106, 0 },
	{ "Fri, 21 Nov 1997 09:55:06 A", 1, 880106106, 0 },           /* military: -0000 */
	{ "Fri, 21 Nov 1997 09:55:06", 1, 880106106, 0 },             /* no zone */
	{ "Fri, 21 Nov 1997 09:55:06 (comment) +0100", 1, 880102506, 60 },
	{ "(comment) Fri , 21 (x) Nov 1997 09:55:06 +0100", 1, 880102506, 60 },
	{ "21-Nov-1997 09:55:06 +0100", 1, 880102506, 60 },
	{ "Friday, 21 November 1997 09:55:06 +0100", 1, 880102506, 60 },
	{ "1 Jan 2000 0:0:0 +0000", 1, 946684800, 0 },
	{ "Fri, 31 Nov 1997 09:55:06 -0600", 0, 0, 0 },
	{ "Fri, 21 Nov 1997", 0, 0, 0 },
	{ "Fri, 21 1997 09:55:06 -0600", 0, 0, 0 },
	{ "garbage", 0, 0, 0 },
	{ "", 0, 0, 0 },
};

static void test_mail_date(void **state)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(rfc_rows) / sizeof(rfc_rows[0]); i++) {
		time_t t = 0;
		int tz = 0, r = pz_mail_date_parse(rfc_rows[i].in, &t, &tz);

		ok &= same_num(rfc_rows[i].in, "ok", r == 0, rfc_rows[i].ok);
		if (r != 0 || !rfc_rows[i].ok)
			continue;
		ok &= same_num(rfc_rows[i].in, "time", (long long)t, rfc_rows[i].t);
		ok &= same_num(rfc_rows[i].in, "zone", tz, rfc_rows[i].tz);
	}
	assert_true(ok);
}

static void test_date_day(void **state)
{
	/* the day a time falls on, in its own zone */
	assert_int_equal(mail_date_day(0, 0), 0);
	assert_int_equal(mail_date_day(86399, 0), 0);
	assert_int_equal(mail_date_day(86400, 0), 1);
	assert_int_equal(mail_date_day(82800, 60), 1);   /* 23:00Z is 00:00 +0100 */
	assert_int_equal(mail_date_day(3600, -120), -1); /* 01:00Z is 23:00 -0200 */
	assert_int_equal(mail_date_day(-1, 0), -1);
}

static const struct {
	const char *utf8, *mutf7;
} utf7_rows[] = {
	{ "INBOX", "INBOX" },
	{ "", "" },
	{ "&", "&-" },
	{ "a&b", "a&-b" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "\xe5\x8f\xb0\xe5\x8c\x97", "&U,BTFw-" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },                   /* outside the BMP */
	{ "a\tb", "a&AAk-b" },                                 /* controls shift */
	{ "\xc3\xa4\xc3\xb6 x \xc3\xbc", "&AOQA9g- x &APw-" },
};

static const char *const utf7_invalid[] = {
	"&",             /* not closed */
	"&AOQ",          /* not closed */
	"&AOQ-&APw-",    /* two shifted runs in a row */
	"&AGE-",         /* printable ASCII shifted */
	"&AOQ-x&-",      /* fine... */
	"&2D0-",         /* lone high surrogate */
	"&3gA-",         /* lone low surrogate */
	"&AOR-",         /* stray bits */
	"&A-",           /* too few bits */
	"&AO*Q-",        /* not base64 */
	"a\x7f",         /* not printable */
	"\xc3\xa4",      /* 8-bit */
	"&AAA-",         /* NUL */
};

static void test_mutf7(void **state)
{
	pz_pool *pool = pz_pool_create("t");
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(utf7_rows) / sizeof(utf7_rows[0]); i++) {
		const char *enc = pz_utf8_to_mutf7(pool, utf7_rows[i].utf8);

		ok &= same(utf7_rows[i].utf8, enc, utf7_rows[i].mutf7);
		ok &= same(utf7_rows[i].mutf7, pz_mutf7_to_utf8(pool, utf7_rows[i].mutf7),
			   utf7_rows[i].utf8);
	}
	for (i = 0; i < sizeof(utf7_invalid) / sizeof(utf7_invalid[0]); i++) {
		const char *got = pz_mutf7_to_utf8(pool, utf7_invalid[i]);

		if (strcmp(utf7_invalid[i], "&AOQ-x&-") == 0)
			ok &= same(utf7_invalid[i], got, "\xc3\xa4x&");
		else
			ok &= same(utf7_invalid[i], got, NULL);
	}
	/* invalid UTF-8 cannot be encoded */
	assert_null(pz_utf8_to_mutf7(pool, "\xc3"));
	assert_null(pz_utf8_to_mutf7(pool, "\xed\xa0\x80"));
	assert_null(pz_utf8_to_mutf7(pool, "\xc0\x80"));
	assert_true(ok);
	pz_pool_destroy(&pool);
}

static const struct {
	const char *in, *want;
} fold_rows[] = {
	{ "ABC xyz", "abc xyz" },
	{ "\xc3\x89T\xc3\x89", "\xc3\xa9t\xc3\xa9" },                 /* ÉTÉ */
	{ "STRA\xc3\x9f""E", "stra\xc3\x9f""e" },                       /* ß stays */
	{ "\xe1\xba\x9e", "\xc3\x9f" },                                 /* ẞ */
	{ "\xc5\x81\xc3\x93" "D\xc5\xb9", "\xc5\x82\xc3\xb3" "d\xc5\xba" }, /* ŁÓDŹ */
	{ "\xc5\xb8", "\xc3\xbf" },                                     /* Ÿ */
	{ "\xc4\xb0", "\xc4\xb0" },                                     /* İ: no simple fold */
	{ "\xce\xa3\xce\x99\xce\xa3", "\xcf\x83\xce\xb9\xcf\x83" },     /* ΣΙΣ */
	{ "\xcf\x82", "\xcf\x83" },                                     /* final sigma */
	{ "\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90 \xd0\x81",
	  "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xd1\x91" }, /* МОСКВА Ё */
	{ "\xef\xbc\xa1", "\xef\xbd\x81" },                             /* fullwidth A */
	{ "\xe2\x84\xaa", "k" },                                        /* Kelvin */
	{ "bad \xff", "bad \xef\xbf\xbd" },
};

static void test_fold(void **state)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(fold_rows) / sizeof(fold_rows[0]); i++) {
		struct mail_buf out;

		mail_buf_init(&out, NULL);
		mail_fold_utf8(&out, fold_rows[i].in, strlen(fold_rows[i].in));
		ok &= same(fold_rows[i].in, mail_buf_cstr(&out), fold_rows[i].want);
		mail_buf_free(&out);
	}
	assert_true(ok);
}

static void test_finder(void **state)
{
	static const struct {
		const char *needle;
		const char *pieces[4];
		int found;
	} rows[] = {
		{ "world", { "hello wor", "ld", NULL }, 1 },
		{ "WORLD", { "hello world", NULL }, 1 },
		{ "\xc3\xa9t\xc3\xa9", { "ETE \xc3\x89T", "\xc3", "\x89", NULL }, 1 },
		{ "abc", { "ab", "xc", NULL }, 0 },
		{ "", { NULL }, 1 },
		{ "x", { NULL }, 0 },
	};
	size_t i, j;
	int ok = 1;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mail_finder f;
		int found;

		mail_finder_init(&f, rows[i].needle);
		found = f.found;
		for (j = 0; rows[i].pieces[j] != NULL; j++)
			found = mail_finder_feed(&f, rows[i].pieces[j], strlen(rows[i].pieces[j]));
		ok &= same_num(rows[i].needle, "found", found, rows[i].found);
		mail_finder_free(&f);
	}
	/* a reset starts a new text: no match across */
	{
		struct mail_finder f;

		mail_finder_init(&f, "ab");
		assert_int_equal(mail_finder_feed(&f, "xa", 2), 0);
		mail_finder_reset(&f);
		assert_int_equal(mail_finder_feed(&f, "bx", 2), 0);
		mail_finder_free(&f);
	}
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imap_date),
		cmocka_unit_test(test_mail_date),
		cmocka_unit_test(test_date_day),
		cmocka_unit_test(test_mutf7),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_finder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
