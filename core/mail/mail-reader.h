/* core/mail/mail-reader.h - buffered line reading of a pz_stream for the
 * mail parsers, counting line breaks on the way.
 *
 * The reader keeps a window of the stream in a fixed heap buffer; a line
 * longer than the window comes in pieces.  Besides the offset it counts
 * the LFs consumed and those without a CR before them, which gives line
 * counts and CRLF ("virtual") sizes of any range whose ends were passed. */
#ifndef POCZTA_CORE_MAIL_READER_H
#define POCZTA_CORE_MAIL_READER_H

#include <poczta/host.h>

#define MAIL_READER_SIZE (64 * 1024)

struct mail_reader {
	pz_stream *s;
	unsigned char *buf;   /* MAIL_READER_SIZE bytes */
	size_t start, end;    /* the unconsumed window */
	size_t scanned;       /* bytes of the window known to hold no LF */
	uint64_t pos;         /* stream offset of buf[start] */
	uint64_t lf, bare;    /* LFs, and LFs without CR, consumed */
	int last;             /* the last byte consumed, or -1 */
	int eof;
	int error;
};

/* A line (or, for a line longer than the window, a piece of it). */
struct mail_line {
	const unsigned char *data;
	size_t len;     /* bytes before the LF (a CR before it included) */
	size_t total;   /* bytes to consume: len, plus 1 with the LF */
	int has_lf;
	int nl;         /* line break size: 2 CRLF, 1 LF, 0 none */
};

/* mail_reader_init - read `s` from `offset`. */
void mail_reader_init(struct mail_reader *r, pz_stream *s, uint64_t offset);
void mail_reader_free(struct mail_reader *r);
/* mail_reader_fill - try to have `want` (<= MAIL_READER_SIZE) bytes in the
 * window; returns how many there are (fewer at the end or on error). */
size_t mail_reader_fill(struct mail_reader *r, size_t want);
/* mail_reader_skip - consume n bytes of the window. */
void mail_reader_skip(struct mail_reader *r, size_t n);
/* mail_reader_line - look at the next line without consuming it; 1 with a
 * line, 0 at the end of the stream, -1 on a read error. */
int mail_reader_line(struct mail_reader *r, struct mail_line *line);

#endif
