/* tests/unit/test-mail-imap.c - BODY, BODYSTRUCTURE and ENVELOPE strings
 * (core/mail/mail-imap.c) and IMAP string quoting.
 *
 * The expected strings of the message table are what Dovecot 2.3.19 sent
 * for the same messages (tests/integration/mime-cases/, compared by
 * test-mime-dovecot.py); they pin down its quirks: folded values,
 * literals for 8-bit and CR/LF, parameters as written, RFC 2231 joining,
 * duplicate fields, address list repairs, the default us-ascii charset. */
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
#include "mail/mail-imap.h"
#include "mail/mail-parse.h"

static int same(const char *row, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	print_message("FAIL %s %s\n got: %s\nwant: %s\n", row, what, got, want);
	return 0;
}

static pz_mail_part *parse(pz_pool *pool, const char *msg)
{
	pz_stream *s = pz_stream_from_memory(pool, msg, strlen(msg));
	pz_mail_part *root = NULL;
	pz_error err;

	assert_int_equal(pz_mail_parse(s, pool, &root, &err), 0);
	return root;
}

static const struct imap_case {
	const char *name;
	const char *msg;
	const char *bodystructure, *body, *envelope;
} imap_cases[] = {
	{ "03-fold",
	  "From: a@b.c\n"
	  "Message-ID:\n"
	  " <abc@def>\n"
	  "In-Reply-To: <x@y>\n"
	  "  <z@w>\n"
	  "Date: Mon, 1 Jan\n"
	  " 2001 00:00:00 +0000\n"
	  "Subject: a\n"
	  "\tb   c\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  " NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  ")",
	  "(\"Mon, 1 Jan 2001 00:00:00 +0000\" {5}\r\n"
	  "a b c ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL NIL"
	  " \"a\" \"b.c\")) NIL NIL NIL \"<x@y>  <z@w>\" \" <abc@def>\")" },
	{ "04-8bit",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain; name=\"\xc3\xa9t\xc3\xa9.txt\"\n"
	  "Content-Description: caf\xc3\xa9\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"name\" {9}\r\n"
	  "\xc3\xa9t\xc3\xa9.txt \"charset\" \"us-ascii\") NIL {5}\r\n"
	  "caf\xc3\xa9 \"7bit\" 3 1 NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"name\" {9}\r\n"
	  "\xc3\xa9t\xc3\xa9.txt \"charset\" \"us-ascii\") NIL {5}\r\n"
	  "caf\xc3\xa9 \"7bit\" 3 1)",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "05-emptymp",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"zz\"\n"
	  "\n"
	  "pre\n"
	  "--zz--\n"
	  "epi\n",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
	  "0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"zz\") NIL NIL NIL)",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
	  "0) \"mixed\")",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "08-2231",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: application/octet-stream; name*0*=utf-8''%E2%82%AC; n"
	  "ame*1=\".txt\"; X=1\n"
	  "Content-Disposition: attachment;\n"
	  " filename*=iso-8859-1'en'%E9t%E9\n"
	  "Content-Language: en, de-DE\n"
	  "Content-Location: http://x/\n"
	  " y\n"
	  "Content-MD5: abc\n"
	  "\n"
	  "x\n",
	  "(\"application\" \"octet-stream\" (\"X\" \"1\" \"name*\" \"utf-8''%"
	  "E2%82%AC.txt\") NIL NIL \"7bit\" 3 \"abc\" (\"attachment\" (\"filen"
	  "ame*\" \"iso-8859-1'en'%E9t%E9\")) (\"en\" \"de-DE\") \"http://x/ y"
	  "\")",
	  "(\"application\" \"octet-stream\" (\"X\" \"1\" \"name*\" \"utf-8''%"
	  "E2%82%AC.txt\") NIL NIL \"7bit\" 3)",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "09-addr",
	  "To: undisclosed-recipients:;, \"A \\\"q\\\" B\" <a@b>, c@d (Comment"
	  " Name), Group: e@f, <g@h>;, @route1,@route2:x@y, bad, <>, \"quoted\""
	  "@dom\n"
	  "From: =?utf-8?q?J=C3=B6rg?= <j@x>\n"
	  "Cc: a@\n"
	  "Bcc: \"\" <x@y>\n"
	  "Sender: \n"
	  "Reply-To: a b c\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  " NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  ")",
	  "(NIL NIL ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\")) ((\"=?utf-8?"
	  "q?J=C3=B6rg?=\" NIL \"j\" \"x\")) ((\"a b c\" NIL \"MISSING_MAILBOX"
	  "\" \"MISSING_DOMAIN\")) ((NIL NIL \"undisclosed-recipients\" NIL)(N"
	  "IL NIL NIL NIL)({7}\r\n"
	  "A \"q\" B NIL \"a\" \"b\")(\"Comment Name\" NIL \"c\" \"d\")(NIL NI"
	  "L \"Group\" NIL)(NIL NIL \"e\" \"f\")(NIL NIL \"g\" \"h\")(NIL NIL "
	  "NIL NIL)(NIL NIL \"MISSING_MAILBOX\" \"route1\")(NIL NIL \"MISSING_"
	  "MAILBOX\" \"route2\")) ((NIL NIL \"a\" \"MISSING_DOMAIN\")) ((NIL N"
	  "IL \"x\" \"y\")) NIL NIL)" },
	{ "10-ct-empty",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: ;charset=x\n"
	  "\n"
	  "x\n",
	  "(\"\" \"\" NIL NIL NIL \"7bit\" 3 NIL NIL NIL NIL)",
	  "(\"\" \"\" NIL NIL NIL \"7bit\" 3)",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "13-badparams",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain; charset=utf-8; ; foo; bar=; baz=\"x\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\" \"bar\" \"\") NIL NIL \""
	  "7bit\" 3 1 NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\" \"bar\" \"\") NIL NIL \""
	  "7bit\" 3 1)",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "15-digest",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/digest; boundary=b\n"
	  "\n"
	  "--b\n"
	  "\n"
	  "From: x@y\n"
	  "\n"
	  "hi\n"
	  "--b\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "yo\n"
	  "--b--\n",
	  "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL NIL ((NIL NIL"
	  " \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) NIL "
	  "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL"
	  " NIL \"7bit\" 2 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)(\"text\" \"pl"
	  "ain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 0 NIL NIL NIL N"
	  "IL) \"digest\" (\"boundary\" \"b\") NIL NIL NIL)",
	  "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL NIL ((NIL NIL"
	  " \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) NIL "
	  "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL"
	  " NIL \"7bit\" 2 0) 2)(\"text\" \"plain\" (\"charset\" \"us-ascii\")"
	  " NIL NIL \"7bit\" 2 0) \"digest\")",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "30-dup",
	  "From: a@b.c\n"
	  "Subject: first\n"
	  "Subject: second\n"
	  "From: d@e.f\n"
	  "To: x@y\n"
	  "To: \n"
	  "Date: d1\n"
	  "Date: d2\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain; charset=a\n"
	  "Content-Type: text/html; charset=b\n"
	  "Content-Disposition: inline\n"
	  "Content-Disposition: attachment; filename=x\n"
	  "Content-Disposition: attachment; filename=y\n"
	  "Content-ID: <1>\n"
	  "Content-ID: <2>\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"a\") \"<1>\" NIL \"7bit\" 3 1 NI"
	  "L (\"attachment\" (\"filename\" \"x\")) NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"a\") \"<1>\" NIL \"7bit\" 3 1)",
	  "(\"d2\" \"second\" ((NIL NIL \"a\" \"b.c\")(NIL NIL \"d\" \"e.f\"))"
	  " ((NIL NIL \"a\" \"b.c\")(NIL NIL \"d\" \"e.f\")) ((NIL NIL \"a\" \""
	  "b.c\")(NIL NIL \"d\" \"e.f\")) ((NIL NIL \"x\" \"y\")) NIL NIL NIL "
	  "NIL)" },
	{ "31-subj",
	  "From: a@b.c\n"
	  "Subject: tab\there  and   spaces \n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  " NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  ")",
	  "(NIL {19}\r\n"
	  "tab here and spaces ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c"
	  "\")) ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "42-nested-rfc822",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"outer\"\n"
	  "\n"
	  "--outer\n"
	  "Content-Type: text/plain; charset=utf-8\n"
	  "Content-Transfer-Encoding: 8bit\n"
	  "\n"
	  "h\xc3\xa9llo\n"
	  "--outer\n"
	  "Content-Type: message/rfc822\n"
	  "Content-Disposition: attachment; filename=\"fwd.eml\"\n"
	  "\n"
	  "From: \"Inner, Person\" <in@x.y>\n"
	  "To: group: a@b, c@d;\n"
	  "Subject: =?utf-8?q?inner_=C3=A9?=\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/alternative; boundary=inner\n"
	  "\n"
	  "--inner\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "plain\n"
	  "--inner\n"
	  "Content-Type: text/html\n"
	  "\n"
	  "<b>html</b>\n"
	  "--inner--\n"
	  "--outer--\n"
	  "epilogue\n",
	  "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 6 0 N"
	  "IL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 267 (NI"
	  "L \"=?utf-8?q?inner_=C3=A9?=\" ((\"Inner, Person\" NIL \"in\" \"x.y"
	  "\")) ((\"Inner, Person\" NIL \"in\" \"x.y\")) ((\"Inner, Person\" N"
	  "IL \"in\" \"x.y\")) ((NIL NIL \"group\" NIL)(NIL NIL \"a\" \"b\")(N"
	  "IL NIL \"c\" \"d\")(NIL NIL NIL NIL)) NIL NIL NIL NIL) ((\"text\" \""
	  "plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL"
	  " NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	  " 11 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL"
	  " NIL NIL) 15 NIL (\"attachment\" (\"filename\" \"fwd.eml\")) NIL NI"
	  "L) \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)",
	  "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 6 0)("
	  "\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 267 (NIL \"=?utf-8?q?in"
	  "ner_=C3=A9?=\" ((\"Inner, Person\" NIL \"in\" \"x.y\")) ((\"Inner, "
	  "Person\" NIL \"in\" \"x.y\")) ((\"Inner, Person\" NIL \"in\" \"x.y\""
	  ")) ((NIL NIL \"group\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\""
	  ")(NIL NIL NIL NIL)) NIL NIL NIL NIL) ((\"text\" \"plain\" (\"charse"
	  "t\" \"us-ascii\") NIL NIL \"7bit\" 5 0)(\"text\" \"html\" (\"charse"
	  "t\" \"us-ascii\") NIL NIL \"7bit\" 11 0) \"alternative\") 15) \"mix"
	  "ed\")",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "54-addresses",
	  "From: \"Last, First\" <first.last@example.com>, (comment only) x@y,"
	  " <@a.b,@c.d:route@e.f>\n"
	  "Sender: <>\n"
	  "Reply-To: Empty Group:;\n"
	  "To: a@b (A (nested) comment), \"quoted\\\\\\\"str\" <q@d>, u\xc3\xa4"
	  "@b\xc3\xa4.de\n"
	  "Cc: \"\" , ,, trailing,\n"
	  "Bcc: <incomplete@\n"
	  "In-Reply-To: <a@b> (comment) <c@d>\n"
	  "Subject: =?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?=\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  " NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  ")",
	  "(NIL \"=?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?=\" ((\"Last, First\""
	  " NIL \"first.last\" \"example.com\")(NIL NIL \"x\" \"y\")(NIL \"@a."
	  "b,@c.d\" \"route\" \"e.f\")) ((NIL NIL \"MISSING_MAILBOX\" \"MISSIN"
	  "G_DOMAIN\")) ((NIL NIL \"Empty Group\" NIL)(NIL NIL NIL NIL)) ((\"A"
	  " (nested) comment\" NIL \"a\" \"b\")({11}\r\n"
	  "quoted\\\"str NIL \"q\" \"d\")(NIL NIL {3}\r\n"
	  "u\xc3\xa4 {6}\r\n"
	  "b\xc3\xa4.de)) ((\"\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(N"
	  "IL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MA"
	  "ILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"trailing\" \"MISSING_DOMAIN\""
	  ")) ((NIL NIL \"incomplete\" \"SYNTAX_ERROR\")) \"<a@b> (comment) <c"
	  "@d>\" NIL)" },
	{ "59-params-quirks",
	  "Subject: x\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain; charset=\"us-ascii\" ; format=flowed; del"
	  "sp=yes; name==?utf-8?q?a=C3=A9?=\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\" \"format\" \"flowed\""
	  " \"delsp\" \"yes\" \"name\" \"=?utf-8?q?a=C3=A9?=\") NIL NIL \"7bit"
	  "\" 3 1 NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\" \"format\" \"flowed\""
	  " \"delsp\" \"yes\" \"name\" \"=?utf-8?q?a=C3=A9?=\") NIL NIL \"7bit"
	  "\" 3 1)",
	  "(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)" },
	{ "61-plain-7bit-variants",
	  "Subject: x\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
	  "Content-Transfer-Encoding: 7BIT\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  " NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1"
	  ")",
	  "(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)" },
	{ "14-comments",
	  "From: a@b.c\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain (comment); charset=(c)\"utf-8\"\n"
	  "Content-Transfer-Encoding: (x) BASE64 (y)\n"
	  "Content-ID: <a@b>\n"
	  "Content-Disposition: inline\n"
	  "\n"
	  "x\n",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\") \"<a@b>\" NIL \"BASE64\""
	  " 3 1 NIL (\"inline\" NIL) NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\") \"<a@b>\" NIL \"BASE64\""
	  " 3 1)",
	  "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL "
	  "NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)" },
	{ "16-prefix",
	  "Subject: x\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=a\n"
	  "\n"
	  "--a\n"
	  "Content-Type: multipart/mixed; boundary=ab\n"
	  "\n"
	  "--ab\n"
	  "\n"
	  "in\n"
	  "--a\n"
	  "\n"
	  "out\n"
	  "--a--\n",
	  "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2"
	  " 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"ab\") NIL NIL NIL)(\""
	  "text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NI"
	  "L NIL NIL NIL) \"mixed\" (\"boundary\" \"a\") NIL NIL NIL)",
	  "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2"
	  " 0) \"mixed\")(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NI"
	  "L \"7bit\" 3 0) \"mixed\")",
	  "(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)" },
	{ "52-mime-version-only",
	  "MIME-Version: 1.0\n"
	  "Content-Transfer-Encoding: quoted-printable\n"
	  "Content-Disposition: inline\n"
	  "Content-Language: fr\n"
	  "\n"
	  "caf=E9\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-pri"
	  "ntable\" 8 1 NIL (\"inline\" NIL) (\"fr\") NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-pri"
	  "ntable\" 8 1)",
	  "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" },
	{ "53-language-location",
	  "Subject: x\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/html; charset=\"utf-8\"\n"
	  "Content-Language: en-US ,  (c) de ,x-klingon\n"
	  "Content-Location: \"http://example.com/a b\"\n"
	  "Content-ID:\n"
	  " <id@x>\n"
	  "Content-Description: line1\n"
	  " line2\n"
	  "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	  "\n"
	  "<p/>\n",
	  "(\"text\" \"html\" (\"charset\" \"utf-8\") \" <id@x>\" \"line1 line"
	  "2\" \"7bit\" 6 1 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" NIL (\"en-US\" \"de\""
	  " \"x-klingon\") \"\\\"http://example.com/a b\\\"\")",
	  "(\"text\" \"html\" (\"charset\" \"utf-8\") \" <id@x>\" \"line1 line"
	  "2\" \"7bit\" 6 1)",
	  "(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)" },
};

static void test_messages(void **state)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(imap_cases) / sizeof(imap_cases[0]); i++) {
		const struct imap_case *c = &imap_cases[i];
		pz_pool *pool = pz_pool_create("t");
		pz_mail_part *root = parse(pool, c->msg);

		ok &= same(c->name, "BODYSTRUCTURE", pz_mail_bodystructure(root, pool, 1),
			   c->bodystructure);
		ok &= same(c->name, "BODY", pz_mail_bodystructure(root, pool, 0), c->body);
		ok &= same(c->name, "ENVELOPE", pz_mail_envelope(root, pool), c->envelope);
		pz_pool_destroy(&pool);
	}
	assert_true(ok);
}

/* A part's own structure, and the envelope of an encapsulated message. */
static void test_parts(void **state)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: message/rfc822\n\n"
		"Subject: inner\nFrom: i@x\n\nbody\n"
		"--b\n\nplain\n--b--\n";
	pz_pool *pool = pz_pool_create("t");
	pz_mail_part *root = parse(pool, msg);
	pz_mail_part *inner = pz_mail_part_find(root, "1");
	int ok = 1;

	ok &= same("part 2", "BODY", pz_mail_bodystructure(pz_mail_part_find(root, "2"), pool, 0),
		   "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0)");
	ok &= same("part 1", "ENVELOPE", pz_mail_envelope(inner, pool),
		   "(NIL \"inner\" ((NIL NIL \"i\" \"x\")) ((NIL NIL \"i\" \"x\")) "
		   "((NIL NIL \"i\" \"x\")) NIL NIL NIL NIL NIL)");
	ok &= same("root", "ENVELOPE", pz_mail_envelope(root, pool),
		   "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_true(ok);
	pz_pool_destroy(&pool);
}

/* NULs in header values: U+FFFD in strings and quoted parameters (as
 * Dovecot shows them); outside quotes an address stops at them. */
static void test_nul(void **state)
{
	static const char msg[] = "Subject: a\0b\nFrom: x\0y@z\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; name=\"n\0m\"\n\nbody\n";
	pz_pool *pool = pz_pool_create("t");
	pz_stream *s = pz_stream_from_memory(pool, msg, sizeof(msg) - 1);
	pz_mail_part *root;
	pz_error err;
	const char **v;
	int ok = 1;

	assert_int_equal(pz_mail_parse(s, pool, &root, &err), 0);
	ok &= same("nul", "BODY", pz_mail_bodystructure(root, pool, 0),
		   "(\"text\" \"plain\" (\"name\" {5}\r\nn\xef\xbf\xbdm \"charset\" "
		   "\"us-ascii\") NIL NIL \"7bit\" 6 1)");
	ok &= same("nul", "ENVELOPE", pz_mail_envelope(root, pool),
		   "(NIL {5}\r\na\xef\xbf\xbd" "b ((NIL NIL \"x\" \"MISSING_DOMAIN\")) "
		   "((NIL NIL \"x\" \"MISSING_DOMAIN\")) ((NIL NIL \"x\" \"MISSING_DOMAIN\")) "
		   "NIL NIL NIL NIL NIL)");
	assert_int_equal(pz_mail_header_get(root, pool, "subject", &v), 1);
	ok &= same("nul", "header", v[0], "a\xef\xbf\xbd" "b");
	assert_true(ok);
	pz_pool_destroy(&pool);
}

static void test_quoting(void **state)
{
	static const struct {
		const char *in, *nstring, *nolf, *humans;
	} rows[] = {
		{ "plain", "\"plain\"", "\"plain\"", "\"plain\"" },
		{ "", "\"\"", "\"\"", "\"\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\"", "{5}\r\na\"b\\c" },
		{ "\"\"\"\"", "\"\\\"\\\"\\\"\\\"\"", "\"\\\"\\\"\\\"\\\"\"", "{4}\r\n\"\"\"\"" },
		{ "\"\"\"\"\"", "{5}\r\n\"\"\"\"\"", "{5}\r\n\"\"\"\"\"", "{5}\r\n\"\"\"\"\"" },
		{ "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9", "{5}\r\ncaf\xc3\xa9", "{5}\r\ncaf\xc3\xa9" },
		{ "a\n b", "{4}\r\na\n b", "\"a b\"", "{3}\r\na b" },
		{ "a\r\nb", "{4}\r\na\r\nb", "\"a b\"", "{3}\r\na b" },
		{ "  lead and trail  ", "\"  lead and trail  \"", "\"  lead and trail  \"",
		  "{14}\r\nlead and trail" },
		{ "tab\there", "\"tab\there\"", "\"tab\there\"", "{8}\r\ntab here" },
		{ " \t ", "\" \t \"", "\" \t \"", "\"\"" },
	};
	pz_pool *pool = pz_pool_create("t");
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mail_buf a, b, c;

		mail_buf_init(&a, pool);
		mail_buf_init(&b, pool);
		mail_buf_init(&c, pool);
		mail_imap_nstring(&a, rows[i].in);
		mail_imap_nstring_nolf(&b, rows[i].in);
		mail_imap_string_humans(&c, rows[i].in);
		ok &= same(rows[i].in, "nstring", mail_buf_cstr(&a), rows[i].nstring);
		ok &= same(rows[i].in, "nolf", mail_buf_cstr(&b), rows[i].nolf);
		ok &= same(rows[i].in, "humans", mail_buf_cstr(&c), rows[i].humans);
	}
	{
		struct mail_buf n;

		mail_buf_init(&n, pool);
		mail_imap_nstring(&n, NULL);
		ok &= same("NULL", "nstring", mail_buf_cstr(&n), "NIL");
	}
	assert_true(ok);
	pz_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_quoting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
