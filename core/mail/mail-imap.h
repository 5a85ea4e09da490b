/* core/mail/mail-imap.h - IMAP BODY, BODYSTRUCTURE and ENVELOPE (RFC 9051
 * 7.5.2, RFC 3501 7.4.2) of parsed parts, and IMAP string quoting.
 *
 * Output is what Dovecot 2.3 sends for the same message: strings are
 * quoted unless they hold CR, LF, 8-bit bytes or more than four quoted
 * specials, then literals ({n}CRLF...); header values keep their case,
 * folding is removed; a text part without charset says "us-ascii"; the
 * subject and display names are cleaned for humans (blanks collapsed).
 * Sizes count line breaks as CRLF, whatever the stream has. */
#ifndef POCZTA_CORE_MAIL_IMAP_H
#define POCZTA_CORE_MAIL_IMAP_H

#include "mail-buf.h"
#include "mail-part.h"

/* pz_mail_bodystructure - host API: "(...)" for part p. */
char *pz_mail_bodystructure(pz_mail_part *p, pz_pool *pool, int extended);
/* pz_mail_envelope - host API: "(...)" of the header of p, or, when p is
 * a message/rfc822 part below the root, of the message it encapsulates. */
char *pz_mail_envelope(pz_mail_part *p, pz_pool *pool);

/* IMAP strings: NIL for NULL, "quoted" or a literal. */
void mail_imap_nstring(struct mail_buf *out, const char *s);
/* the same with CR and LF taken out (a blank put in where needed) */
void mail_imap_nstring_nolf(struct mail_buf *out, const char *s);
/* for display: blanks and line breaks collapsed, ends trimmed */
void mail_imap_string_humans(struct mail_buf *out, const char *s);

#endif
