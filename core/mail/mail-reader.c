/* core/mail/mail-reader.c - buffered line reading with line counting. */
#include "config-core.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "stream.h"
#include "mail-reader.h"

void mail_reader_init(struct mail_reader *r, pz_stream *s, uint64_t offset)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->buf = malloc(MAIL_READER_SIZE);
	if (r->buf == NULL)
		pz_fatal("out of memory for a mail reader");
	r->pos = offset;
	r->last = -1;
	if (pz_stream_seek(s, offset) < 0)
		r->error = 1;
}

void mail_reader_free(struct mail_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

size_t mail_reader_fill(struct mail_reader *r, size_t want)
{
	if (want > MAIL_READER_SIZE)
		want = MAIL_READER_SIZE;
	while (r->end - r->start < want && !r->eof && !r->error) {
		ssize_t n;

		if (r->end == MAIL_READER_SIZE) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		n = pz_stream_read(r->s, r->buf + r->end, MAIL_READER_SIZE - r->end);
		if (n < 0)
			r->error = 1;
		else if (n == 0)
			r->eof = 1;
		else
			r->end += (size_t)n;
	}
	return r->end - r->start;
}

void mail_reader_skip(struct mail_reader *r, size_t n)
{
	const unsigned char *p = r->buf + r->start, *end = p + n, *lf;

	if (n == 0)
		return;
	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		int before = lf > r->buf + r->start ? lf[-1] : r->last;

		r->lf++;
		if (before != '\r')
			r->bare++;
		p = lf + 1;
	}
	r->last = end[-1];
	r->start += n;
	r->pos += n;
	r->scanned = r->scanned > n ? r->scanned - n : 0;
}

int mail_reader_line(struct mail_reader *r, struct mail_line *line)
{
	const unsigned char *lf = NULL;

	for (;;) {
		size_t avail = r->end - r->start;

		if (r->scanned < avail) {
			lf = memchr(r->buf + r->start + r->scanned, '\n',
				    avail - r->scanned);
			if (lf != NULL)
				break;
			r->scanned = avail;
		}
		if (avail == MAIL_READER_SIZE || r->eof || r->error)
			break;
		if (r->end == MAIL_READER_SIZE && r->start > 0) {
			memmove(r->buf, r->buf + r->start, avail);
			r->end = avail;
			r->start = 0;
		}
		(void)mail_reader_fill(r, avail + 1);
	}
	if (r->error)
		return -1;
	line->data = r->buf + r->start;
	if (lf != NULL) {
		line->len = (size_t)(lf - line->data);
		line->total = line->len + 1;
		line->has_lf = 1;
		line->nl = (line->len > 0 ? lf[-1] : r->last) == '\r' ? 2 : 1;
		return 1;
	}
	line->len = line->total = r->end - r->start;
	line->has_lf = 0;
	line->nl = 0;
	return line->total > 0 ? 1 : 0;
}
