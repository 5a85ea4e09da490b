/* core/mail/mail-utf7.c - modified UTF-7 (RFC 3501 5.1.3). */
#include "config-core.h"
#include <string.h>
#include "pool.h"
#include "mail-buf.h"
#include "mail-charset.h"
#include "mail-utf7.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(unsigned char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64, c);
	return p == NULL ? -1 : (int)(p - b64);
}

/* Bits of UTF-16 waiting to be written as modified base64. */
struct shift {
	uint32_t bits;
	unsigned int n;
};

static void shift_unit(struct mail_buf *out, struct shift *sh, uint32_t unit)
{
	sh->bits = (sh->bits << 16 | unit) & 0xffffffu;
	sh->n += 16;
	while (sh->n >= 6) {
		sh->n -= 6;
		mail_buf_putc(out, (unsigned char)b64[(sh->bits >> sh->n) & 63]);
	}
}

static void shift_end(struct mail_buf *out, struct shift *sh)
{
	if (sh->n > 0)
		mail_buf_putc(out, (unsigned char)b64[(sh->bits << (6 - sh->n)) & 63]);
	mail_buf_putc(out, '-');
	sh->n = 0;
	sh->bits = 0;
}

/* encode - UTF-8 to modified UTF-7 into `out`; -1 on invalid UTF-8. */
static int encode(struct mail_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;
	struct shift sh = { 0, 0 };
	int shifted = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = mail_utf8_seq(p + i, len - i, &cp);

		if (n == 0)
			return -1;
		i += n;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (shifted) {
				shift_end(out, &sh);
				shifted = 0;
			}
			mail_buf_putc(out, (unsigned char)cp);
			if (cp == '&')
				mail_buf_putc(out, '-');
			continue;
		}
		if (!shifted) {
			mail_buf_putc(out, '&');
			shifted = 1;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			shift_unit(out, &sh, 0xd800 | cp >> 10);
			shift_unit(out, &sh, 0xdc00 | (cp & 0x3ff));
		} else {
			shift_unit(out, &sh, cp);
		}
	}
	if (shifted)
		shift_end(out, &sh);
	return 0;
}

char *pz_utf8_to_mutf7(pz_pool *pool, const char *s)
{
	struct mail_buf out;

	mail_buf_init(&out, pool);
	if (encode(&out, s) < 0)
		return NULL;
	return mail_buf_cstr(&out);
}

/* decode_shifted - the base64 run at *pp (after '&') up to its '-'. */
static int decode_shifted(struct mail_buf *out, const char **pp)
{
	const char *p = *pp;
	uint32_t bits = 0, high = 0;
	unsigned int n = 0;
	int v;

	for (; *p != '-'; p++) {
		if ((v = b64val((unsigned char)*p)) < 0)
			return -1;
		bits = (bits << 6 | (uint32_t)v) & 0xffffffu;
		n += 6;
		if (n < 16)
			continue;
		n -= 16;
		{
			uint32_t unit = (bits >> n) & 0xffff;

			if (unit >= 0xd800 && unit <= 0xdbff) {
				if (high != 0)
					return -1;
				high = unit;
			} else if (unit >= 0xdc00 && unit <= 0xdfff) {
				if (high == 0)
					return -1;
				mail_utf8_put(out, 0x10000 + ((high - 0xd800) << 10) +
					      (unit - 0xdc00));
				high = 0;
			} else {
				if (high != 0)
					return -1;
				mail_utf8_put(out, unit);
			}
		}
	}
	if (high != 0 || n >= 6 || (bits & ((1u << n) - 1)) != 0)
		return -1;
	*pp = p + 1;
	return 0;
}

char *pz_mutf7_to_utf8(pz_pool *pool, const char *s)
{
	struct mail_buf out, again;
	const char *p = s;
	int ok;

	mail_buf_init(&out, pool);
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c > 0x7e)
			return NULL;
		if (c != '&') {
			mail_buf_putc(&out, c);
			p++;
		} else if (p[1] == '-') {
			mail_buf_putc(&out, '&');
			p += 2;
		} else {
			p++;
			if (decode_shifted(&out, &p) < 0)
				return NULL;
		}
	}
	/* one name, one spelling: it must be what encoding gives back */
	mail_buf_init(&again, NULL);
	ok = strlen(mail_buf_cstr(&out)) == out.len &&
		encode(&again, mail_buf_cstr(&out)) == 0 &&
		strcmp(mail_buf_cstr(&again), s) == 0;
	mail_buf_free(&again);
	return ok ? mail_buf_cstr(&out) : NULL;
}
