/* core/mail/mail-utf7.h - modified UTF-7 mailbox names (RFC 3501 5.1.3,
 * RFC 9051 5.1) to and from UTF-8.
 *
 * Decoding is strict: only printable ASCII, every '&' closed by '-', no
 * lone surrogates, and the name must be in the one canonical form (no
 * printable ASCII shifted, no two shifted runs back to back, no stray
 * bits), so that one mailbox has one name. */
#ifndef POCZTA_CORE_MAIL_UTF7_H
#define POCZTA_CORE_MAIL_UTF7_H

#include <poczta/types.h>

/* host API: NULL when the input is not valid */
char *pz_mutf7_to_utf8(pz_pool *pool, const char *s);
char *pz_utf8_to_mutf7(pz_pool *pool, const char *s);

#endif
