/* core/mail/mail-decode.h - Content-Transfer-Encoding decoding (RFC 2045
 * section 6): host API mail_part_decoded, and the streaming decoder the
 * search code shares.
 *
 * Decoding is lenient, as RFC 2045 asks of readers: base64 skips what is
 * not in its alphabet; quoted-printable keeps a '=' that starts no valid
 * escape, removes blanks at line ends and accepts lowercase hex.  7bit,
 * 8bit and binary pass through.  Any other encoding is unknown. */
#ifndef POCZTA_CORE_MAIL_DECODE_H
#define POCZTA_CORE_MAIL_DECODE_H

#include "mail-buf.h"
#include "mail-part.h"
#include "base64.h"

enum mail_cte {
	MAIL_CTE_IDENTITY,
	MAIL_CTE_BASE64,
	MAIL_CTE_QP,
	MAIL_CTE_UNKNOWN,
};

/* mail_cte_of - the decoder for an encoding name (NULL: 7bit). */
enum mail_cte mail_cte_of(const char *encoding);

/* Blanks a quoted-printable line may end with that are held back. */
#define MAIL_QP_WS_MAX 256

struct mail_decoder {
	enum mail_cte cte;
	struct pz_base64_lax b64;
	int qp_state;
	unsigned char qp_hold[MAIL_QP_WS_MAX + 4]; /* '=', hex, blanks, CR */
	size_t qp_nhold;
	unsigned char qp_ws[MAIL_QP_WS_MAX];       /* blanks of the line */
	size_t qp_nws;
};

void mail_decoder_init(struct mail_decoder *d, enum mail_cte cte);
/* mail_decoder_step - decode a piece, appending to `out`. */
void mail_decoder_step(struct mail_decoder *d, const void *data, size_t len,
		       struct mail_buf *out);
/* mail_decoder_finish - the end of the input: flush what is held back. */
void mail_decoder_finish(struct mail_decoder *d, struct mail_buf *out);

/* pz_mail_part_decoded - host API: a stream of p's decoded body, read from
 * `msg` as it goes (memory stays bounded; seeking backwards decodes again
 * from the start).  Its length is known after one pass, which a call to
 * stream_size makes. */
int pz_mail_part_decoded(pz_stream *msg, pz_mail_part *p, pz_pool *pool,
			 pz_stream **decoded_r, pz_error *err);

#endif
