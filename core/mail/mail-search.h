/* core/mail/mail-search.h - text search in a message: host API
 * mail_search_text.
 *
 * The header side (where & 1) looks at every kept header field of every
 * part, as "Name: value" with encoded-words decoded; the body side
 * (where & 2) at the bodies of the text parts (text/ *, or no usable
 * Content-Type), transfer-decoded and converted from their charset to
 * UTF-8 (an unknown charset is read as UTF-8).  Matching is
 * case-insensitive (mail-fold.h) and never spans two fields or parts.
 * Bodies are read in pieces, so memory does not grow with the message. */
#ifndef POCZTA_CORE_MAIL_SEARCH_H
#define POCZTA_CORE_MAIL_SEARCH_H

#include "mail-part.h"

enum mail_search_where {
	MAIL_SEARCH_HEADER = 1,
	MAIL_SEARCH_BODY = 2,
};

int pz_mail_search_text(pz_stream *msg, pz_mail_part *root, unsigned int where,
			const char *needle, pz_pool *pool);

#endif
