/* core/mail/mail-words.c - RFC 2047 encoded-words and RFC 2231 values. */
#include "config-core.h"
#include <string.h>
#include <strings.h>
#include "base64.h"
#include "pool.h"
#include "mail-charset.h"
#include "mail-part.h"
#include "mail-words.h"

#define IS_WSP(c) ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One parsed encoded-word: =?charset[*lang]?enc?text?= */
struct eword {
	const char *charset;
	size_t charset_len;
	char enc;                 /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total;             /* bytes of the whole word */
};

/* parse_eword - whether an encoded-word starts at s. */
static int parse_eword(const char *s, size_t len, struct eword *w)
{
	size_t i = 2, cs_end, t;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	while (i < len && s[i] != '?' && !IS_WSP(s[i]))
		i++;
	if (i == 2 || i + 3 >= len || s[i] != '?' || s[i + 2] != '?')
		return 0;
	cs_end = i;
	w->enc = (char)(s[i + 1] & ~0x20);
	if (w->enc != 'B' && w->enc != 'Q')
		return 0;
	t = i + 3;
	for (i = t; i + 1 < len; i++) {
		if (s[i] == '?' && s[i + 1] == '=')
			break;
		if (s[i] == '\r' || s[i] == '\n')
			return 0;
	}
	if (i + 1 >= len)
		return 0;
	w->charset = s + 2;
	w->charset_len = cs_end - 2;
	/* RFC 2231 section 5: charset*language */
	for (t = 0; t < w->charset_len && w->charset[t] != '*'; t++)
		;
	w->charset_len = t;
	w->text = s + cs_end + 3;
	w->text_len = i - (cs_end + 3);
	w->total = i + 2;
	return w->charset_len > 0;
}

/* decode_text - the bytes an encoded-word's text stands for. */
static void decode_text(const struct eword *w, struct mail_buf *out)
{
	size_t i;

	if (w->enc == 'B') {
		struct pz_base64_lax st;
		unsigned char tmp[PZ_BASE64_LAX_MAX(64)];

		pz_base64_lax_init(&st);
		for (i = 0; i < w->text_len; i += 64) {
			size_t n = w->text_len - i < 64 ? w->text_len - i : 64;

			mail_buf_append(out, tmp, pz_base64_lax_step(&st, w->text + i, n, tmp));
		}
		return;
	}
	for (i = 0; i < w->text_len; i++) {
		unsigned char c = (unsigned char)w->text[i];
		int h, l;

		if (c == '_') {
			mail_buf_putc(out, ' ');
		} else if (c == '=' && i + 2 < w->text_len &&
			   (h = hexval((unsigned char)w->text[i + 1])) >= 0 &&
			   (l = hexval((unsigned char)w->text[i + 2])) >= 0) {
			mail_buf_putc(out, (unsigned char)(h << 4 | l));
			i += 2;
		} else {
			mail_buf_putc(out, c);
		}
	}
}

/* Decoding state: bytes of adjacent words in one charset wait in `pend`
 * until the charset changes or other text comes. */
struct words {
	struct mail_buf *out;
	struct mail_buf pend;
	char charset[64];
	int have_pend;
};

static void flush_pending(struct words *d)
{
	struct mail_charset *cs;

	if (!d->have_pend)
		return;
	cs = mail_charset_open(d->charset);
	if (cs == NULL) {
		mail_utf8_append(d->out, d->pend.data, d->pend.len);
	} else {
		mail_charset_feed(cs, d->pend.data, d->pend.len, d->out);
		mail_charset_finish(cs, d->out);
		mail_charset_close(&cs);
	}
	mail_buf_truncate(&d->pend, 0);
	d->have_pend = 0;
}

/* add_word - 1 when the word was decoded, 0 when it stays as text. */
static int add_word(struct words *d, const struct eword *w)
{
	char cs[64];
	struct mail_charset *probe;

	if (w->charset_len >= sizeof(cs))
		return 0;
	memcpy(cs, w->charset, w->charset_len);
	cs[w->charset_len] = '\0';
	if (!d->have_pend || strcasecmp(cs, d->charset) != 0) {
		flush_pending(d);
		probe = mail_charset_open(cs);
		if (probe == NULL)
			return 0;
		mail_charset_close(&probe);
		memcpy(d->charset, cs, w->charset_len + 1);
		d->have_pend = 1;
	}
	decode_text(w, &d->pend);
	return 1;
}

/* plain_text - text outside words: unfolded, as UTF-8. */
static void plain_text(struct words *d, const char *s, size_t len)
{
	size_t i, run = 0;

	flush_pending(d);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			mail_utf8_append(d->out, s + run, i - run);
			run = i + 1;
		}
	}
	mail_utf8_append(d->out, s + run, len - run);
}

/* all_wsp - whether s[0..len) is white space only. */
static int all_wsp(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!IS_WSP(s[i]))
			return 0;
	}
	return 1;
}

void mail_decode_words_buf(struct mail_buf *out, const char *value, size_t len)
{
	struct words d;
	struct eword w;
	size_t i = 0, text = 0;
	int after_word = 0;

	memset(&d, 0, sizeof(d));
	d.out = out;
	mail_buf_init(&d.pend, NULL);
	while (i < len) {
		if (value[i] != '=' || !parse_eword(value + i, len - i, &w)) {
			i++;
			continue;
		}
		/* the blanks between two words go (RFC 2047 6.2) */
		if (!after_word || !all_wsp(value + text, i - text))
			plain_text(&d, value + text, i - text);
		after_word = add_word(&d, &w);
		if (!after_word)
			plain_text(&d, value + i, w.total);
		i += w.total;
		text = i;
	}
	plain_text(&d, value + text, len - text);
	flush_pending(&d);
	mail_buf_free(&d.pend);
}

char *pz_mail_decode_words(pz_pool *pool, const char *value)
{
	struct mail_buf out;

	mail_buf_init(&out, pool);
	if (value != NULL)
		mail_decode_words_buf(&out, value, strlen(value));
	return mail_buf_cstr(&out);
}

/* decode_2231 - charset'language'%XX... as UTF-8. */
static const char *decode_2231(pz_pool *pool, const char *v)
{
	const char *q1 = strchr(v, '\''), *q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');
	struct mail_buf raw, out;
	struct mail_charset *cs = NULL;
	char charset[64];
	const char *p = v;

	if (q2 != NULL && (size_t)(q1 - v) < sizeof(charset)) {
		memcpy(charset, v, (size_t)(q1 - v));
		charset[q1 - v] = '\0';
		cs = mail_charset_open(charset);
		p = q2 + 1;
	}
	mail_buf_init(&raw, NULL);
	for (; *p != '\0'; p++) {
		int h, l;

		if (*p == '%' && (h = hexval((unsigned char)p[1])) >= 0 &&
		    (l = hexval((unsigned char)p[2])) >= 0) {
			mail_buf_putc(&raw, (unsigned char)(h << 4 | l));
			p += 2;
		} else {
			mail_buf_putc(&raw, (unsigned char)*p);
		}
	}
	mail_buf_init(&out, pool);
	if (cs != NULL) {
		mail_charset_feed(cs, raw.data, raw.len, &out);
		mail_charset_finish(cs, &out);
		mail_charset_close(&cs);
	} else {
		mail_utf8_append(&out, raw.data, raw.len);
	}
	mail_buf_free(&raw);
	return mail_buf_cstr(&out);
}

const char *mail_param_decoded(pz_pool *pool, const struct mail_param *params,
			       unsigned int n, const char *name)
{
	size_t len = strlen(name);
	unsigned int i;
	const char *plain = NULL;

	for (i = 0; i < n; i++) {
		const char *pn = params[i].name;

		if (strncasecmp(pn, name, len) != 0)
			continue;
		if (pn[len] == '*' && pn[len + 1] == '\0')
			return decode_2231(pool, params[i].value);
		if (pn[len] == '\0' && plain == NULL)
			plain = params[i].value;
	}
	return plain == NULL ? NULL : pz_mail_decode_words(pool, plain);
}
