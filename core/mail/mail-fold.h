/* core/mail/mail-fold.h - case-insensitive search in UTF-8 text.
 *
 * Both the needle and the text are mapped with Unicode simple case folding
 * (CaseFolding.txt, status C and S) for Latin, Greek, Cyrillic, Armenian
 * and the fullwidth Latin letters; other scripts compare as they are.
 * Text may arrive in pieces of any size (a character cut between two
 * pieces is joined); memory stays at the size of a piece plus the needle. */
#ifndef POCZTA_CORE_MAIL_FOLD_H
#define POCZTA_CORE_MAIL_FOLD_H

#include "mail-buf.h"

uint32_t mail_fold_cp(uint32_t cp);
/* mail_fold_utf8 - the folded form of UTF-8 text (invalid bytes become
 * U+FFFD), appended to out. */
void mail_fold_utf8(struct mail_buf *out, const void *s, size_t len);

/* mail_fold_piece - the folded form the finder searches when `s` comes as
 * one whole text: mail_fold_utf8 of it, less a character cut at its end
 * (which a finder keeps for a next piece that never comes). */
void mail_fold_piece(struct mail_buf *out, const void *s, size_t len);

struct mail_finder {
	struct mail_buf needle;  /* folded */
	struct mail_buf window;  /* folded text not yet ruled out */
	unsigned char carry[4];  /* a character cut at the end of a piece */
	size_t ncarry;
	int found;
};

void mail_finder_init(struct mail_finder *f, const char *needle);
void mail_finder_free(struct mail_finder *f);
/* mail_finder_reset - start a new text: no match spans the two. */
void mail_finder_reset(struct mail_finder *f);
/* mail_finder_feed - more text; 1 once the needle was found. */
int mail_finder_feed(struct mail_finder *f, const void *text, size_t len);

#endif
