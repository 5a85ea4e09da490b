/* core/mail/mail-rfc822.h - the RFC 5322 / RFC 2045 lexical layer:
 * comments and folding white space, atoms, quoted strings, phrases,
 * domains, MIME tokens and Content-* parameters (RFC 2231 included).
 *
 * The rules follow Dovecot's rfc822-parser so that the structures built on
 * them (BODYSTRUCTURE, ENVELOPE) come out byte for byte alike: in
 * particular 8-bit bytes count as atom text, and broken input is read as
 * far as it goes rather than refused.
 *
 * Return values of the parse calls: 1 when more input follows, 0 at the
 * end of the input, -1 when the syntax is broken (the cursor is then left
 * where the parse stopped). */
#ifndef POCZTA_CORE_MAIL_RFC822_H
#define POCZTA_CORE_MAIL_RFC822_H

#include "mail-buf.h"

struct mail_rfc822 {
	const unsigned char *data; /* cursor */
	const unsigned char *end;
	/* when not NULL, gets the text of the last comment skipped */
	struct mail_buf *last_comment;
	/* NULs in quoted strings and comments become U+FFFD; without this a
	 * NUL breaks a quoted string (NULs never belong to atoms) */
	int nul_repl;
};

/* One MIME parameter, after RFC 2231 continuations were joined (the
 * value of a joined extended parameter is still charset'lang'%XX...). */
struct mail_param {
	const char *name;
	const char *value;
};

/* What a NUL in a header value becomes (U+FFFD), as in Dovecot. */
#define MAIL_NUL_REPLACEMENT "\xef\xbf\xbd"

extern const unsigned char mail_rfc822_atext[256];
/* atext: any byte but controls, space and specials (8-bit counts) */
#define MAIL_IS_ATEXT(c) (mail_rfc822_atext[(unsigned char)(c)] != 0)
/* a MIME token byte: atext without tspecials, or '.' */
#define MAIL_IS_TOKEN(c) \
	((mail_rfc822_atext[(unsigned char)(c)] & 3) != 0 || (c) == '.')

void mail_rfc822_init(struct mail_rfc822 *ctx, const void *data, size_t len);
int mail_rfc822_skip_comment(struct mail_rfc822 *ctx);
/* mail_rfc822_skip_lwsp - skip white space, line breaks and comments. */
int mail_rfc822_skip_lwsp(struct mail_rfc822 *ctx);
int mail_rfc822_atom(struct mail_rfc822 *ctx, struct mail_buf *out);
int mail_rfc822_dot_atom(struct mail_rfc822 *ctx, struct mail_buf *out);
/* mail_rfc822_token - a MIME token, possibly empty. */
int mail_rfc822_token(struct mail_rfc822 *ctx, struct mail_buf *out);
int mail_rfc822_quoted(struct mail_rfc822 *ctx, struct mail_buf *out);
/* mail_rfc822_phrase - words joined by single spaces. */
int mail_rfc822_phrase(struct mail_rfc822 *ctx, struct mail_buf *out);
/* mail_rfc822_domain - at the '@': the domain after it. */
int mail_rfc822_domain(struct mail_rfc822 *ctx, struct mail_buf *out);
/* mail_rfc822_content_type - "type/subtype" into `out`; on -1, `out`
 * keeps what could be read ("text" of "Content-Type: text"), or nothing. */
int mail_rfc822_content_type(struct mail_rfc822 *ctx, struct mail_buf *out);
/* mail_rfc822_params - the ";name=value" list that follows, joining RFC
 * 2231 continuations; broken parameters are skipped.  The array and
 * strings are from `pool`; *count_r may be 0. */
void mail_rfc822_params(struct mail_rfc822 *ctx, pz_pool *pool,
			struct mail_param **params_r, unsigned int *count_r);

#endif
