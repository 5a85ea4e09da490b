/* core/mail/mail-header.h - RFC 5322 header fields out of header lines.
 *
 * Lines come in one at a time (without their line break); a line that
 * starts with a blank continues the field before it (RFC 5322 2.2.3).  A
 * field's value is what follows the colon with the leading blanks skipped
 * (all of them, or one when the line holds nothing else), continuation
 * lines joined with "\n"; a line without a colon is a field whose name is
 * the whole line and whose value is empty.  8-bit bytes and NULs pass
 * through.  A value is kept up to MAIL_FIELD_MAX bytes; the rest is
 * dropped and reported as truncated. */
#ifndef POCZTA_CORE_MAIL_HEADER_H
#define POCZTA_CORE_MAIL_HEADER_H

#include "mail-buf.h"
#include "mail-reader.h"

/* Called for each complete field; `name` and `value` are valid during the
 * call only and NUL-terminated (value_len excludes the NUL). */
typedef void mail_field_cb(void *ctx, const char *name, size_t name_len,
			   const char *value, size_t value_len, int truncated);

struct mail_hdr_scan {
	struct mail_buf field;   /* the field so far, as read */
	size_t colon;            /* offset of the colon in `field`, or SIZE_MAX */
	size_t first_len;        /* bytes of the field's first line */
	int active;              /* a field is being read */
	int truncated;
	mail_field_cb *cb;
	void *ctx;
};

void mail_hdr_scan_init(struct mail_hdr_scan *s, mail_field_cb *cb, void *ctx);
void mail_hdr_scan_free(struct mail_hdr_scan *s);
/* mail_hdr_scan_line - a header line, or with `more` = 1 the rest of a line
 * too long to come in one piece. */
void mail_hdr_scan_line(struct mail_hdr_scan *s, const unsigned char *data,
			size_t len, int more);
/* mail_hdr_scan_flush - the header ended: report the last field. */
void mail_hdr_scan_flush(struct mail_hdr_scan *s);

/* mail_header_dup - a field value as a C string in `pool`, each NUL in it
 * replaced by U+FFFD (as Dovecot shows them). */
char *mail_header_dup(pz_pool *pool, const char *value, size_t len);

/* mail_header_read - read the header at `offset` of `msg` up to its empty
 * line (or the end), calling `cb` for each field.  0, or -1 on a read
 * error. */
int mail_header_read(pz_stream *msg, uint64_t offset, mail_field_cb *cb, void *ctx);

#endif
