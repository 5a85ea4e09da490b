/* core/mail/mail-words.h - RFC 2047 encoded-words in header values and
 * RFC 2231 encoded parameter values, decoded to UTF-8.
 *
 * Encoded-words are read wherever they stand (also inside quoted strings
 * and parameter values, where broken senders put them); the white space
 * between two adjacent ones goes (RFC 2047 6.2), and adjacent words in one
 * charset are joined before conversion, so a character split over two
 * words survives.  A word in an unknown charset or with a bad encoding is
 * left as it was.  Other text is taken as UTF-8, with invalid bytes
 * replaced by U+FFFD; line breaks are unfolded. */
#ifndef POCZTA_CORE_MAIL_WORDS_H
#define POCZTA_CORE_MAIL_WORDS_H

#include "mail-buf.h"
#include "mail-rfc822.h"

/* pz_mail_decode_words - host API mail_decode_words. */
char *pz_mail_decode_words(pz_pool *pool, const char *value);
/* mail_decode_words_buf - the same for a counted value, appended to out. */
void mail_decode_words_buf(struct mail_buf *out, const char *value, size_t len);
/* mail_param_decoded - parameter `name` of a list, UTF-8: the RFC 2231
 * form ("name*", charset'language'%XX) first, then the plain one with its
 * encoded-words decoded; NULL when neither is there. */
const char *mail_param_decoded(pz_pool *pool, const struct mail_param *params,
			       unsigned int n, const char *name);

#endif
