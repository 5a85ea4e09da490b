/* core/mail/mail-charset.h - text in a MIME charset to UTF-8, and UTF-8
 * checks.
 *
 * Conversion never fails once a charset is known: bytes that are not
 * valid in it become U+FFFD.  us-ascii and utf-8 are read as UTF-8 (mail
 * labelled us-ascii often carries UTF-8); other charsets go through
 * iconv(3).  A charset iconv does not know is "unknown" (NULL). */
#ifndef POCZTA_CORE_MAIL_CHARSET_H
#define POCZTA_CORE_MAIL_CHARSET_H

#include "mail-buf.h"

#define MAIL_UTF8_REPLACEMENT "\xef\xbf\xbd"

struct mail_charset;

/* mail_charset_open - a converter from `charset`, or NULL if unknown. */
struct mail_charset *mail_charset_open(const char *charset);
void mail_charset_close(struct mail_charset **cs);
/* mail_charset_feed - convert a piece, appending UTF-8 to `out`; a
 * sequence cut at the end of the piece waits for the next one. */
void mail_charset_feed(struct mail_charset *cs, const void *data, size_t len,
		       struct mail_buf *out);
/* mail_charset_finish - the end of the text: flush what waits. */
void mail_charset_finish(struct mail_charset *cs, struct mail_buf *out);

/* pz_charset_to_utf8 - host API charset_to_utf8: `len` bytes in `charset`
 * as a UTF-8 string in `pool`, or NULL for an unknown charset. */
char *pz_charset_to_utf8(pz_pool *pool, const char *charset, const void *data,
			 size_t len);

/* mail_utf8_seq - length of the valid UTF-8 sequence at s (at most n
 * bytes), or 0 when it is not one (overlong forms and surrogates count as
 * invalid); *cp_r gets the code point. */
size_t mail_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp_r);
/* mail_utf8_append - append `data` with invalid sequences as U+FFFD. */
void mail_utf8_append(struct mail_buf *out, const void *data, size_t len);
void mail_utf8_put(struct mail_buf *out, uint32_t cp);

#endif
