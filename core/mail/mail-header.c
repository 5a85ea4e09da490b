/* core/mail/mail-header.c - header lines into fields (RFC 5322 2.2). */
#include "config-core.h"
#include <stdint.h>
#include <string.h>
#include "pool.h"
#include "mail-part.h"
#include "mail-header.h"

#define IS_LWSP(c) ((c) == ' ' || (c) == '\t')

void mail_hdr_scan_init(struct mail_hdr_scan *s, mail_field_cb *cb, void *ctx)
{
	memset(s, 0, sizeof(*s));
	mail_buf_init(&s->field, NULL);
	s->cb = cb;
	s->ctx = ctx;
}

void mail_hdr_scan_free(struct mail_hdr_scan *s)
{
	mail_buf_free(&s->field);
}

/* keep - append to the field within MAIL_FIELD_MAX. */
static void keep(struct mail_hdr_scan *s, const void *data, size_t len)
{
	size_t room = MAIL_FIELD_MAX - s->field.len;

	if (len > room) {
		len = room;
		s->truncated = 1;
	}
	mail_buf_append(&s->field, data, len);
}

void mail_hdr_scan_flush(struct mail_hdr_scan *s)
{
	const char *f = mail_buf_cstr(&s->field);
	size_t name_len, v, first_end;

	if (!s->active)
		return;
	s->active = 0;
	if (s->colon == SIZE_MAX) {
		s->cb(s->ctx, f, s->field.len, "", 0, s->truncated);
		return;
	}
	name_len = s->colon;
	while (name_len > 0 && IS_LWSP(f[name_len - 1]))
		name_len--;
	/* skip the blanks after the colon, or just one when the first line
	 * has nothing else */
	first_end = s->first_len;
	for (v = s->colon + 1; v < first_end && IS_LWSP(f[v]); v++)
		;
	if (v == first_end)
		v = s->colon + 1 < first_end ? s->colon + 2 : s->colon + 1;
	s->field.data[name_len] = '\0';
	s->cb(s->ctx, f, name_len, f + v, s->field.len - v, s->truncated);
}

void mail_hdr_scan_line(struct mail_hdr_scan *s, const unsigned char *data,
			size_t len, int more)
{
	const unsigned char *colon;

	if (more) {
		/* the rest of a long line: a colon found only here comes too
		 * late, the line stays a name without a value */
		if (s->active)
			keep(s, data, len);
		return;
	}
	if (s->active && len > 0 && IS_LWSP(data[0])) {
		keep(s, "\n", 1);
		keep(s, data, len);
		return;
	}
	mail_hdr_scan_flush(s);
	mail_buf_truncate(&s->field, 0);
	s->active = 1;
	s->truncated = 0;
	keep(s, data, len);
	s->first_len = s->field.len;
	colon = memchr(s->field.data, ':', s->field.len);
	s->colon = colon == NULL ? SIZE_MAX : (size_t)(colon - s->field.data);
}

char *mail_header_dup(pz_pool *pool, const char *value, size_t len)
{
	struct mail_buf out;
	const char *nul;

	if (memchr(value, '\0', len) == NULL)
		return pz_pool_strndup(pool, value, len);
	mail_buf_init(&out, pool);
	while ((nul = memchr(value, '\0', len)) != NULL) {
		mail_buf_append(&out, value, (size_t)(nul - value));
		mail_buf_puts(&out, MAIL_NUL_REPLACEMENT);
		len -= (size_t)(nul - value) + 1;
		value = nul + 1;
	}
	mail_buf_append(&out, value, len);
	return mail_buf_cstr(&out);
}

int mail_header_read(pz_stream *msg, uint64_t offset, mail_field_cb *cb, void *ctx)
{
	struct mail_reader r;
	struct mail_hdr_scan s;
	struct mail_line line;
	int ret, mid = 0;

	mail_reader_init(&r, msg, offset);
	mail_hdr_scan_init(&s, cb, ctx);
	while ((ret = mail_reader_line(&r, &line)) > 0) {
		size_t len = line.len;

		if (line.has_lf && len > 0 && line.data[len - 1] == '\r')
			len--;
		if (!mid && line.has_lf && len == 0)
			break;
		mail_hdr_scan_line(&s, line.data, len, mid);
		mid = !line.has_lf;
		mail_reader_skip(&r, line.total);
	}
	mail_hdr_scan_flush(&s);
	mail_hdr_scan_free(&s);
	mail_reader_free(&r);
	return ret < 0 ? -1 : 0;
}
