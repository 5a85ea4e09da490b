/* core/mail/mail-parse.h - the MIME structure of a message (RFC 2045,
 * 2046): host API mail_parse.
 *
 * One pass over the stream, with bounded memory (a 64 KiB window and the
 * tree).  The rules are those of Dovecot's message parser, so part
 * boundaries, sizes and line counts agree with it:
 * - a boundary line is "--" and a boundary of any enclosing multipart at
 *   the start of a line (the longest one that matches; only a prefix needs
 *   to match), with the line break before it belonging to the boundary;
 * - a boundary line ends the header of a part too;
 * - a multipart without a boundary, or whose header does not end with an
 *   empty line, has no children; a missing final boundary just ends the
 *   parts at the end of the message;
 * - message/rfc822 (and message/global) parts hold one child, the
 *   encapsulated message, even when it is empty;
 * - parts deeper than MAIL_MAX_DEPTH or beyond MAIL_MAX_PARTS are not
 *   split (PZ_PART_DAMAGED is set on them).
 * Line breaks may be CRLF or LF, mixed. */
#ifndef POCZTA_CORE_MAIL_PARSE_H
#define POCZTA_CORE_MAIL_PARSE_H

#include "mail-part.h"

/* pz_mail_parse - parse `msg` from offset 0 into `pool`.  Fails (-1,
 * PZ_ERR_TEMP) only when the stream cannot be read. */
int pz_mail_parse(pz_stream *msg, pz_pool *pool, pz_mail_part **root_r,
		  pz_error *err);

#endif
