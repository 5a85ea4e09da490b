/* core/mail/mail-charset.c - charsets to UTF-8 with iconv(3). */
#include "config-core.h"
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "log.h"
#include "pool.h"
#include "mail-charset.h"

/* Longest multibyte sequence a charset may leave cut at a piece's end. */
#define CARRY_MAX 16

struct mail_charset {
	iconv_t cd;        /* (iconv_t)-1: read as UTF-8 */
	unsigned char carry[CARRY_MAX];
	size_t ncarry;
};

/* Names mail uses that iconv knows under another, or supersets that
 * decode what senders really meant. */
static const struct {
	const char *name, *iconv_name;
} aliases[] = {
	{ "gb2312", "GB18030" },
	{ "x-gbk", "GBK" },
	{ "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601", "CP949" },
	{ "iso-8859-8-i", "ISO-8859-8" },
	{ "x-sjis", "SHIFT_JIS" },
	{ "x-euc-jp", "EUC-JP" },
	{ "iso-8859-1", "WINDOWS-1252" }, /* what senders meant, per WHATWG */
	{ "latin1", "WINDOWS-1252" },
	{ "us-ascii", NULL },
	{ "ascii", NULL },
	{ "utf-8", NULL },
	{ "utf8", NULL },
};

/* lookup_alias - 1 when `name` is in the table; *iconv_name_r is then
 * the name for iconv, or NULL to read the text as UTF-8. */
static int lookup_alias(const char *name, const char **iconv_name_r)
{
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(name, aliases[i].name) == 0) {
			*iconv_name_r = aliases[i].iconv_name;
			return 1;
		}
	}
	return 0;
}

struct mail_charset *mail_charset_open(const char *charset)
{
	struct mail_charset *cs;
	const char *name = charset;
	char clean[64];
	size_t len;
	iconv_t cd = (iconv_t)-1;

	if (charset == NULL)
		return NULL;
	/* trim blanks and quotes a broken header may leave */
	while (*name == ' ' || *name == '\t' || *name == '"')
		name++;
	len = strlen(name);
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t' ||
			   name[len - 1] == '"'))
		len--;
	if (len == 0 || len >= sizeof(clean))
		return NULL;
	memcpy(clean, name, len);
	clean[len] = '\0';
	if (lookup_alias(clean, &name)) {
		if (name != NULL) {
			cd = iconv_open("UTF-8", name);
			if (cd == (iconv_t)-1)
				return NULL;
		}
	} else {
		/* iconv accepts option suffixes: refuse anything odd */
		for (len = 0; clean[len] != '\0'; len++) {
			unsigned char c = (unsigned char)clean[len];

			if (!isalnum(c) && c != '-' && c != '_' && c != '.' &&
			    c != ':')
				return NULL;
		}
		cd = iconv_open("UTF-8", clean);
		if (cd == (iconv_t)-1)
			return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		pz_fatal("out of memory opening a charset");
	cs->cd = cd;
	return cs;
}

void mail_charset_close(struct mail_charset **csp)
{
	struct mail_charset *cs = *csp;

	if (cs == NULL)
		return;
	if (cs->cd != (iconv_t)-1)
		iconv_close(cs->cd);
	free(cs);
	*csp = NULL;
}

size_t mail_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

void mail_utf8_put(struct mail_buf *out, uint32_t cp)
{
	unsigned char b[4];

	if (cp < 0x80) {
		mail_buf_putc(out, (unsigned char)cp);
		return;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		mail_buf_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		mail_buf_append(out, b, 3);
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		mail_buf_append(out, b, 4);
	}
}

void mail_utf8_append(struct mail_buf *out, const void *data, size_t len)
{
	const unsigned char *p = data, *run = data;
	size_t i = 0, n;
	uint32_t cp;

	if (len == 0)
		return;
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = mail_utf8_seq(p + i, len - i, &cp);
		if (n > 0) {
			i += n;
			continue;
		}
		mail_buf_append(out, run, (size_t)(p + i - run));
		mail_buf_puts(out, MAIL_UTF8_REPLACEMENT);
		run = p + ++i;
	}
	mail_buf_append(out, run, (size_t)(p + len - run));
}

/* utf8_cut - how many bytes at the end of p[0..len) may start a UTF-8
 * sequence the next piece completes. */
static size_t utf8_cut(const unsigned char *p, size_t len)
{
	size_t i, back;

	for (back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = p[len - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue;
		if ((c & 0xe0) == 0xc0)
			need = 2;
		else if ((c & 0xf0) == 0xe0)
			need = 3;
		else if ((c & 0xf8) == 0xf0)
			need = 4;
		else
			return 0;
		for (i = len - back + 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		}
		return need > back ? back : 0;
	}
	return 0;
}

/* utf8_need - the length a sequence starting with c claims. */
static size_t utf8_need(unsigned char c)
{
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;
}

static void feed_utf8(struct mail_charset *cs, const unsigned char *p, size_t len,
		      struct mail_buf *out)
{
	size_t cut;

	if (cs->ncarry > 0) {
		/* complete the sequence the last piece cut */
		size_t need = utf8_need(cs->carry[0]);

		while (len > 0 && cs->ncarry < need && (*p & 0xc0) == 0x80) {
			cs->carry[cs->ncarry++] = *p++;
			len--;
		}
		if (cs->ncarry < need && len == 0)
			return;
		mail_utf8_append(out, cs->carry, cs->ncarry);
		cs->ncarry = 0;
	}
	cut = utf8_cut(p, len);
	mail_utf8_append(out, p, len - cut);
	memcpy(cs->carry, p + len - cut, cut);
	cs->ncarry = cut;
}

/* run_iconv - convert in[0..*len) as far as it goes; leaves in *len the
 * bytes of a cut sequence at the end. */
static void run_iconv(struct mail_charset *cs, const unsigned char **in, size_t *len,
		      struct mail_buf *out, int final)
{
	char obuf[4096];

	while (*len > 0) {
		char *ip = (char *)(uintptr_t)*in, *op = obuf;
		size_t ileft = *len, oleft = sizeof(obuf);
		size_t r = iconv(cs->cd, &ip, &ileft, &op, &oleft);
		int e = errno;

		mail_buf_append(out, obuf, sizeof(obuf) - oleft);
		*in = (const unsigned char *)ip;
		*len = ileft;
		if (r != (size_t)-1 || e == E2BIG)
			continue;
		if (e == EINVAL && !final && ileft < CARRY_MAX)
			return; /* cut sequence: wait for more */
		/* invalid (or cut at the very end): replace one byte */
		mail_buf_puts(out, MAIL_UTF8_REPLACEMENT);
		(*in)++;
		(*len)--;
	}
}

void mail_charset_feed(struct mail_charset *cs, const void *data, size_t len,
		       struct mail_buf *out)
{
	const unsigned char *p = data;

	if (len == 0)
		return;
	if (cs->cd == (iconv_t)-1) {
		feed_utf8(cs, p, len, out);
		return;
	}
	while (cs->ncarry > 0 && len > 0) {
		/* glue the cut sequence to the start of this piece */
		const unsigned char *c = cs->carry;
		size_t clen;

		cs->carry[cs->ncarry++] = *p++;
		len--;
		clen = cs->ncarry;
		run_iconv(cs, &c, &clen, out, 0);
		memmove(cs->carry, c, clen);
		cs->ncarry = clen;
		if (clen == CARRY_MAX) {
			c = cs->carry;
			run_iconv(cs, &c, &clen, out, 1);
			cs->ncarry = 0;
		}
	}
	if (cs->ncarry > 0)
		return; /* the piece went into the cut sequence */
	run_iconv(cs, &p, &len, out, 0);
	memcpy(cs->carry, p, len);
	cs->ncarry = len;
}

void mail_charset_finish(struct mail_charset *cs, struct mail_buf *out)
{
	if (cs->cd == (iconv_t)-1) {
		if (cs->ncarry > 0)
			mail_utf8_append(out, cs->carry, cs->ncarry);
	} else {
		const unsigned char *c = cs->carry;
		size_t clen = cs->ncarry;
		char obuf[64], *op = obuf;
		size_t oleft = sizeof(obuf);

		run_iconv(cs, &c, &clen, out, 1);
		/* return a stateful charset (ISO-2022-JP) to its initial state */
		if (iconv(cs->cd, NULL, NULL, &op, &oleft) != (size_t)-1)
			mail_buf_append(out, obuf, sizeof(obuf) - oleft);
		iconv(cs->cd, NULL, NULL, NULL, NULL);
	}
	cs->ncarry = 0;
}

char *pz_charset_to_utf8(pz_pool *pool, const char *charset, const void *data,
			 size_t len)
{
	struct mail_charset *cs = mail_charset_open(charset);
	struct mail_buf out;

	if (cs == NULL)
		return NULL;
	mail_buf_init(&out, pool);
	mail_charset_feed(cs, data, len, &out);
	mail_charset_finish(cs, &out);
	mail_charset_close(&cs);
	return mail_buf_cstr(&out);
}
