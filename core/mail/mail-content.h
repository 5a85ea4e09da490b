/* core/mail/mail-content.h - what a part's own header says about it: the
 * Content-* fields (RFC 2045, 2183, 3282, 2557, 1864), MIME-Version, and
 * the raw ENVELOPE fields (RFC 9051 7.5.2).
 *
 * The rules are Dovecot's, so that BODYSTRUCTURE agrees with it: without
 * MIME-Version or Content-Type the Content-* fields of a part do not count
 * (unless it is inside a multipart), an unreadable Content-Type still
 * names a type (possibly ""), and so on. */
#ifndef POCZTA_CORE_MAIL_CONTENT_H
#define POCZTA_CORE_MAIL_CONTENT_H

#include "mail-part.h"

/* mail_content_wants - whether a field of this name matters here. */
int mail_content_wants(const char *name);
/* mail_content_field - a field of p's header: `len` bytes at `value`, NULs
 * included; `value` is in p's pool and may stay referenced. */
void mail_content_field(pz_mail_part *p, const char *name, const char *value,
			size_t len);
/* mail_content_finish - p's header is complete: settle its flags (TEXT,
 * MULTIPART, MESSAGE and the defaults). */
void mail_content_finish(pz_mail_part *p);

#endif
