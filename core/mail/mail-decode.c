/* core/mail/mail-decode.c - base64 and quoted-printable bodies. */
#include "config-core.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "log.h"
#include "pool.h"
#include "stream.h"
#include "mail-decode.h"

#define CHUNK 16384

enum mail_cte mail_cte_of(const char *encoding)
{
	if (encoding == NULL || strcasecmp(encoding, "7bit") == 0 ||
	    strcasecmp(encoding, "8bit") == 0 || strcasecmp(encoding, "binary") == 0)
		return MAIL_CTE_IDENTITY;
	if (strcasecmp(encoding, "base64") == 0)
		return MAIL_CTE_BASE64;
	if (strcasecmp(encoding, "quoted-printable") == 0)
		return MAIL_CTE_QP;
	return MAIL_CTE_UNKNOWN;
}

/* quoted-printable states */
enum {
	QP_TEXT,   /* plain text */
	QP_CR,     /* a CR: a line break if LF follows */
	QP_EQ,     /* '=' */
	QP_HEX,    /* '=' and one hex digit */
	QP_EQWS,   /* '=' and blanks: a soft break if the line ends */
	QP_EQCR,   /* '=', maybe blanks, CR */
};

void mail_decoder_init(struct mail_decoder *d, enum mail_cte cte)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
	pz_base64_lax_init(&d->b64);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* qp_release - text held back turned out to be data. */
static void qp_release(struct mail_decoder *d, struct mail_buf *out)
{
	mail_buf_append(out, d->qp_ws, d->qp_nws);
	d->qp_nws = 0;
	mail_buf_append(out, d->qp_hold, d->qp_nhold);
	d->qp_nhold = 0;
	d->qp_state = QP_TEXT;
}

static void qp_hold(struct mail_decoder *d, unsigned char c, int state)
{
	d->qp_hold[d->qp_nhold++] = c;
	d->qp_state = state;
}

/* qp_byte - one byte of input; 0 when it must be looked at again. */
static int qp_byte(struct mail_decoder *d, unsigned char c, struct mail_buf *out)
{
	int h;

	switch (d->qp_state) {
	case QP_TEXT:
		if (c == ' ' || c == '\t') {
			if (d->qp_nws == MAIL_QP_WS_MAX) {
				mail_buf_append(out, d->qp_ws, d->qp_nws);
				d->qp_nws = 0;
			}
			d->qp_ws[d->qp_nws++] = c;
		} else if (c == '\r') {
			qp_hold(d, c, QP_CR);
		} else if (c == '\n') {
			d->qp_nws = 0; /* blanks at a line end are not data */
			mail_buf_putc(out, c);
		} else {
			mail_buf_append(out, d->qp_ws, d->qp_nws);
			d->qp_nws = 0;
			if (c == '=')
				qp_hold(d, c, QP_EQ);
			else
				mail_buf_putc(out, c);
		}
		return 1;
	case QP_CR:
		if (c != '\n') {
			qp_release(d, out);
			return 0;
		}
		d->qp_nws = d->qp_nhold = 0;
		d->qp_state = QP_TEXT;
		mail_buf_puts(out, "\r\n");
		return 1;
	case QP_EQ:
		if (hexval(c) >= 0) {
			qp_hold(d, c, QP_HEX);
		} else if (c == ' ' || c == '\t') {
			qp_hold(d, c, QP_EQWS);
		} else if (c == '\r') {
			qp_hold(d, c, QP_EQCR);
		} else if (c == '\n') {
			d->qp_nhold = 0; /* soft line break */
			d->qp_state = QP_TEXT;
		} else {
			qp_release(d, out);
			return 0;
		}
		return 1;
	case QP_HEX:
		if ((h = hexval(c)) < 0) {
			qp_release(d, out);
			return 0;
		}
		mail_buf_putc(out, (unsigned char)(hexval(d->qp_hold[1]) << 4 | h));
		d->qp_nhold = 0;
		d->qp_state = QP_TEXT;
		return 1;
	case QP_EQWS:
		if ((c == ' ' || c == '\t') && d->qp_nhold < MAIL_QP_WS_MAX) {
			qp_hold(d, c, QP_EQWS);
		} else if (c == '\r') {
			qp_hold(d, c, QP_EQCR);
		} else if (c == '\n') {
			d->qp_nhold = 0;
			d->qp_state = QP_TEXT;
		} else {
			qp_release(d, out);
			return 0;
		}
		return 1;
	default: /* QP_EQCR */
		if (c == '\n') {
			d->qp_nhold = 0;
			d->qp_state = QP_TEXT;
			return 1;
		}
		qp_release(d, out);
		return 0;
	}
}

void mail_decoder_step(struct mail_decoder *d, const void *data, size_t len,
		       struct mail_buf *out)
{
	const unsigned char *p = data;
	size_t i;

	switch (d->cte) {
	case MAIL_CTE_BASE64: {
		unsigned char tmp[PZ_BASE64_LAX_MAX(4096)];

		for (i = 0; i < len; i += 4096) {
			size_t n = len - i < 4096 ? len - i : 4096;

			mail_buf_append(out, tmp, pz_base64_lax_step(&d->b64, p + i, n, tmp));
		}
		break;
	}
	case MAIL_CTE_QP:
		for (i = 0; i < len; ) {
			if (qp_byte(d, p[i], out))
				i++;
		}
		break;
	default:
		mail_buf_append(out, data, len);
		break;
	}
}

void mail_decoder_finish(struct mail_decoder *d, struct mail_buf *out)
{
	if (d->cte != MAIL_CTE_QP)
		return;
	/* blanks at the end are a line end's; what else waits is data */
	d->qp_nws = 0;
	if (d->qp_state != QP_TEXT)
		qp_release(d, out);
}

/* ---- the decoded stream */

struct dec_stream {
	pz_stream *src;
	uint64_t start, len;      /* the body in src */
	uint64_t in_pos;          /* body bytes decoded so far */
	uint64_t out_pos;         /* decoded offset of out.data[0] */
	struct mail_buf out;      /* the last decoded piece */
	struct mail_decoder dec;
	enum mail_cte cte;
	int64_t total;            /* decoded length, -1 until known */
	int done, error;
	unsigned char *in;
};

static void dec_restart(struct dec_stream *s)
{
	s->in_pos = 0;
	s->out_pos = 0;
	s->done = 0;
	mail_buf_truncate(&s->out, 0);
	mail_decoder_init(&s->dec, s->cte);
}

/* dec_more - decode the next piece into s->out (after the last one). */
static int dec_more(struct dec_stream *s)
{
	size_t want;
	ssize_t n;

	s->out_pos += s->out.len;
	mail_buf_truncate(&s->out, 0);
	while (s->out.len == 0 && !s->done) {
		want = s->len - s->in_pos < CHUNK ? (size_t)(s->len - s->in_pos) : CHUNK;
		if (want == 0) {
			mail_decoder_finish(&s->dec, &s->out);
			s->done = 1;
			break;
		}
		if (pz_stream_seek(s->src, s->start + s->in_pos) < 0 ||
		    (n = pz_stream_read(s->src, s->in, want)) < 0) {
			s->error = 1;
			return -1;
		}
		if (n == 0) {
			/* the message is shorter than parsed: end here */
			s->len = s->in_pos;
			continue;
		}
		s->in_pos += (uint64_t)n;
		mail_decoder_step(&s->dec, s->in, (size_t)n, &s->out);
	}
	if (s->done && s->total < 0)
		s->total = (int64_t)(s->out_pos + s->out.len);
	return 0;
}

static ssize_t dec_read_at(void *ctx, void *buf, size_t n, uint64_t offset)
{
	struct dec_stream *s = ctx;
	size_t avail, from;

	if (s->cte == MAIL_CTE_IDENTITY) {
		ssize_t r;

		if (offset >= s->len)
			return 0;
		if (n > s->len - offset)
			n = (size_t)(s->len - offset);
		if (pz_stream_seek(s->src, s->start + offset) < 0)
			return -1;
		r = pz_stream_read(s->src, buf, n);
		return r;
	}
	if (offset < s->out_pos)
		dec_restart(s);
	while (offset >= s->out_pos + s->out.len) {
		if (s->done)
			return 0;
		if (dec_more(s) < 0)
			return -1;
	}
	from = (size_t)(offset - s->out_pos);
	avail = s->out.len - from;
	if (n > avail)
		n = avail;
	memcpy(buf, s->out.data + from, n);
	return (ssize_t)n;
}

static int64_t dec_length(void *ctx)
{
	struct dec_stream *s = ctx;

	if (s->cte == MAIL_CTE_IDENTITY)
		return (int64_t)s->len;
	while (s->total < 0) {
		if (dec_more(s) < 0)
			return -1;
	}
	return s->total;
}

static void dec_close(void *ctx)
{
	struct dec_stream *s = ctx;

	mail_buf_free(&s->out);
	free(s->in);
	s->in = NULL;
}

static const struct pz_stream_ops dec_ops = {
	.size = sizeof(struct pz_stream_ops),
	.read_at = dec_read_at,
	.length = dec_length,
	.close = dec_close,
};

int pz_mail_part_decoded(pz_stream *msg, pz_mail_part *p, pz_pool *pool,
			 pz_stream **decoded_r, pz_error *err)
{
	struct dec_stream *s;
	enum mail_cte cte = mail_cte_of(p->c.encoding);

	if (cte == MAIL_CTE_UNKNOWN) {
		err->cls = PZ_ERR_NOT_SUPPORTED;
		err->msg = "Unknown Content-Transfer-Encoding";
		return -1;
	}
	s = pz_pool_alloc(pool, sizeof(*s));
	s->src = msg;
	s->start = p->body_offset;
	s->len = p->body_size;
	s->cte = cte;
	s->total = -1;
	mail_buf_init(&s->out, NULL);
	if (cte != MAIL_CTE_IDENTITY) {
		s->in = malloc(CHUNK);
		if (s->in == NULL)
			pz_fatal("out of memory for a decoder");
	}
	dec_restart(s);
	*decoded_r = pz_stream_new(pool, &dec_ops, s);
	return 0;
}
