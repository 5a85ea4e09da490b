/* core/mail/mail-fold.c - simple case folding and substring search. */
#include "config-core.h"
#include <string.h>
#include "mail-charset.h"
#include "mail-fold.h"

/* Ranges where upper and lower case alternate: even (or odd, per `odd`)
 * code points fold to the next one. */
static const struct {
	uint32_t first, last;
	int odd;
} pairs[] = {
	{ 0x0100, 0x012f, 0 }, { 0x0132, 0x0137, 0 }, { 0x0139, 0x0148, 1 },
	{ 0x014a, 0x0177, 0 }, { 0x0179, 0x017e, 1 }, { 0x0182, 0x0185, 0 },
	{ 0x01a0, 0x01a5, 0 }, { 0x01b3, 0x01b6, 1 }, { 0x01cd, 0x01dc, 1 },
	{ 0x01de, 0x01ef, 0 }, { 0x01f8, 0x021f, 0 }, { 0x0222, 0x0233, 0 },
	{ 0x0246, 0x024f, 0 }, { 0x0370, 0x0373, 0 }, { 0x03d8, 0x03ef, 0 },
	{ 0x0460, 0x0481, 0 }, { 0x048a, 0x04bf, 0 }, { 0x04c1, 0x04ce, 1 },
	{ 0x04d0, 0x052f, 0 }, { 0x1e00, 0x1e95, 0 }, { 0x1ea0, 0x1eff, 0 },
	{ 0x2c80, 0x2ce3, 0 }, { 0xa640, 0xa66d, 0 }, { 0xa680, 0xa69b, 0 },
	{ 0xa722, 0xa72f, 0 }, { 0xa732, 0xa76f, 0 },
};

/* Single mappings outside the regular ranges. */
static const struct {
	uint32_t from, to;
} singles[] = {
	{ 0x00b5, 0x03bc }, { 0x0178, 0x00ff }, { 0x017f, 0x0073 },
	{ 0x0181, 0x0253 }, { 0x0186, 0x0254 }, { 0x0187, 0x0188 },
	{ 0x0189, 0x0256 }, { 0x018a, 0x0257 }, { 0x018b, 0x018c },
	{ 0x018e, 0x01dd }, { 0x018f, 0x0259 }, { 0x0190, 0x025b },
	{ 0x0191, 0x0192 }, { 0x0193, 0x0260 }, { 0x0194, 0x0263 },
	{ 0x0196, 0x0269 }, { 0x0197, 0x0268 }, { 0x0198, 0x0199 },
	{ 0x019c, 0x026f }, { 0x019d, 0x0272 }, { 0x019f, 0x0275 },
	{ 0x01a6, 0x0280 }, { 0x01a7, 0x01a8 }, { 0x01a9, 0x0283 },
	{ 0x01ac, 0x01ad }, { 0x01ae, 0x0288 }, { 0x01af, 0x01b0 },
	{ 0x01b1, 0x028a }, { 0x01b2, 0x028b }, { 0x01b7, 0x0292 },
	{ 0x01b8, 0x01b9 }, { 0x01bc, 0x01bd }, { 0x01c4, 0x01c6 },
	{ 0x01c5, 0x01c6 }, { 0x01c7, 0x01c9 }, { 0x01c8, 0x01c9 },
	{ 0x01ca, 0x01cc }, { 0x01cb, 0x01cc }, { 0x01f1, 0x01f3 },
	{ 0x01f2, 0x01f3 }, { 0x01f4, 0x01f5 }, { 0x01f6, 0x0195 },
	{ 0x01f7, 0x01bf }, { 0x0220, 0x019e }, { 0x023a, 0x2c65 },
	{ 0x023b, 0x023c }, { 0x023d, 0x019a }, { 0x023e, 0x2c66 },
	{ 0x0241, 0x0242 }, { 0x0243, 0x0180 }, { 0x0244, 0x0289 },
	{ 0x0245, 0x028c }, { 0x0345, 0x03b9 }, { 0x0376, 0x0377 },
	{ 0x037f, 0x03f3 }, { 0x0386, 0x03ac }, { 0x038c, 0x03cc },
	{ 0x038e, 0x03cd }, { 0x038f, 0x03ce }, { 0x03c2, 0x03c3 },
	{ 0x03cf, 0x03d7 }, { 0x03d0, 0x03b2 }, { 0x03d1, 0x03b8 },
	{ 0x03d5, 0x03c6 }, { 0x03d6, 0x03c0 }, { 0x03f0, 0x03ba },
	{ 0x03f1, 0x03c1 }, { 0x03f4, 0x03b8 }, { 0x03f5, 0x03b5 },
	{ 0x03f7, 0x03f8 }, { 0x03f9, 0x03f2 }, { 0x03fa, 0x03fb },
	{ 0x04c0, 0x04cf }, { 0x1e9b, 0x1e61 }, { 0x1e9e, 0x00df },
	{ 0x2126, 0x03c9 }, { 0x212a, 0x006b }, { 0x212b, 0x00e5 },
};

uint32_t mail_fold_cp(uint32_t cp)
{
	unsigned int i;

	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	if ((cp >= 0x00c0 && cp <= 0x00de && cp != 0x00d7) ||
	    (cp >= 0x0391 && cp <= 0x03ab && cp != 0x03a2) ||
	    (cp >= 0x0410 && cp <= 0x042f) || (cp >= 0xff21 && cp <= 0xff3a))
		return cp + 32;
	if (cp >= 0x0400 && cp <= 0x040f)
		return cp + 80;
	if (cp >= 0x0388 && cp <= 0x038a)
		return cp + 37;
	if (cp >= 0x0531 && cp <= 0x0556)
		return cp + 48;
	if (cp >= 0x1f08 && cp <= 0x1f6f && (cp & 0x8) != 0) {
		/* Greek extended: capitals are 8 above their small letters */
		static const uint32_t holes[] = { 0x1f1e, 0x1f1f, 0x1f4e, 0x1f4f,
			0x1f58, 0x1f5a, 0x1f5c, 0x1f5e };
		for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
			if (cp == holes[i])
				return cp;
		}
		return cp - 8;
	}
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (cp >= pairs[i].first && cp <= pairs[i].last)
			return (cp & 1) == (uint32_t)pairs[i].odd ? cp + 1 : cp;
	}
	for (i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		if (cp == singles[i].from)
			return singles[i].to;
	}
	return cp;
}

void mail_fold_utf8(struct mail_buf *out, const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			size_t run = i;

			while (i < len && p[i] < 0x80 && (p[i] < 'A' || p[i] > 'Z'))
				i++;
			mail_buf_append(out, p + run, i - run);
			if (i < len && p[i] >= 'A' && p[i] <= 'Z')
				mail_buf_putc(out, (unsigned char)(p[i++] + 32));
			continue;
		}
		n = mail_utf8_seq(p + i, len - i, &cp);
		if (n == 0) {
			mail_buf_puts(out, MAIL_UTF8_REPLACEMENT);
			i++;
			continue;
		}
		mail_utf8_put(out, mail_fold_cp(cp));
		i += n;
	}
}

void mail_finder_init(struct mail_finder *f, const char *needle)
{
	memset(f, 0, sizeof(*f));
	mail_buf_init(&f->needle, NULL);
	mail_buf_init(&f->window, NULL);
	mail_fold_utf8(&f->needle, needle, strlen(needle));
	(void)mail_buf_cstr(&f->needle);
	f->found = f->needle.len == 0;
}

void mail_finder_free(struct mail_finder *f)
{
	mail_buf_free(&f->needle);
	mail_buf_free(&f->window);
}

void mail_finder_reset(struct mail_finder *f)
{
	mail_buf_truncate(&f->window, 0);
	f->ncarry = 0;
}

/* cut_tail - bytes at the end that may start a character still coming. */
static size_t cut_tail(const unsigned char *p, size_t len)
{
	size_t back;

	for (back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = p[len - back];

		if ((c & 0xc0) == 0x80)
			continue;
		if ((c & 0xe0) == 0xc0)
			return back < 2 ? back : 0;
		if ((c & 0xf0) == 0xe0)
			return back < 3 ? back : 0;
		if ((c & 0xf8) == 0xf0)
			return back < 4 ? back : 0;
		return 0;
	}
	return 0;
}

void mail_fold_piece(struct mail_buf *out, const void *s, size_t len)
{
	mail_fold_utf8(out, s, len - cut_tail(s, len));
}

static int window_search(struct mail_finder *f)
{
	size_t keep;

	if (f->window.len >= f->needle.len &&
	    memmem(f->window.data, f->window.len, f->needle.data, f->needle.len) != NULL) {
		f->found = 1;
		return 1;
	}
	/* keep what a match could still start in */
	keep = f->needle.len - 1;
	if (f->window.len > keep) {
		memmove(f->window.data, f->window.data + f->window.len - keep, keep);
		mail_buf_truncate(&f->window, keep);
	}
	return 0;
}

int mail_finder_feed(struct mail_finder *f, const void *text, size_t len)
{
	const unsigned char *p = text;
	size_t cut;

	if (f->found)
		return 1;
	if (len == 0)
		return 0;
	if (f->ncarry > 0) {
		while (len > 0 && f->ncarry < 4 && (*p & 0xc0) == 0x80 &&
		       cut_tail(f->carry, f->ncarry) > 0) {
			f->carry[f->ncarry++] = *p++;
			len--;
		}
		if (len == 0 && cut_tail(f->carry, f->ncarry) > 0)
			return 0;
		mail_fold_utf8(&f->window, f->carry, f->ncarry);
		f->ncarry = 0;
	}
	cut = cut_tail(p, len);
	mail_fold_utf8(&f->window, p, len - cut);
	memcpy(f->carry, p + len - cut, cut);
	f->ncarry = cut;
	return window_search(f);
}
