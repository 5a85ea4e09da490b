/* core/mail/mail-buf.h - growable byte strings for the mail code.
 *
 * A buffer lives either in a pool (output strings handed back to callers:
 * growth may leave old copies in the pool, at most as much again as the
 * final size) or on the heap (scratch space of one call, freed with
 * mail_buf_free).  The data is always NUL-terminated after `len`, so it
 * can be used as a C string when it holds no NUL itself.  Memory
 * exhaustion is fatal, as for pools. */
#ifndef POCZTA_CORE_MAIL_BUF_H
#define POCZTA_CORE_MAIL_BUF_H

#include <stddef.h>
#include <poczta/types.h>

struct mail_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	pz_pool *pool; /* NULL: heap */
};

/* mail_buf_init - an empty buffer in `pool` (NULL: on the heap). */
void mail_buf_init(struct mail_buf *b, pz_pool *pool);
/* mail_buf_free - release a heap buffer (a pool buffer is left alone). */
void mail_buf_free(struct mail_buf *b);
void mail_buf_append(struct mail_buf *b, const void *data, size_t len);
void mail_buf_putc(struct mail_buf *b, unsigned char c);
void mail_buf_puts(struct mail_buf *b, const char *s);
void mail_buf_printf(struct mail_buf *b, const char *fmt, ...) PZ_PRINTF(2, 3);
void mail_buf_truncate(struct mail_buf *b, size_t len);
/* mail_buf_cstr - the contents as a C string (never NULL). */
char *mail_buf_cstr(struct mail_buf *b);

#endif
