/* modules/lmtp/lmtp-spool.c - the message as received: in memory up to
 * spool_memory, then in an unlinked temp file under spool_dir. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lmtp.h"

void lmtp_spool_init(struct lmtp_spool *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
}

void lmtp_spool_free(struct lmtp_spool *sp)
{
	free(sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	lmtp_spool_init(sp);
}

/* spool_to_file - move what is in memory into a new temp file. */
static int spool_to_file(struct lmtp_session *s)
{
	struct lmtp_spool *sp = &s->spool;
	char path[4096];
	size_t off = 0;

	snprintf(path, sizeof(path), "%s/poczta-lmtp.XXXXXX", s->set.spool_dir);
	sp->fd = mkstemp(path);
	if (sp->fd < 0) {
		lmtp_host->log(s->module, PZ_LOG_ERROR, "mkstemp %s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	while (off < sp->mem_len) {
		ssize_t w = write(sp->fd, sp->mem + off, sp->mem_len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	free(sp->mem);
	sp->mem = NULL;
	sp->mem_len = sp->mem_alloc = 0;
	return 0;
}

/* lmtp_spool_write - append; on failure or overflow the spool is marked
 * and later bytes are dropped (the transaction ends in 4xx / 552). */
int lmtp_spool_write(struct lmtp_session *s, const void *data, size_t len)
{
	struct lmtp_spool *sp = &s->spool;
	const unsigned char *p = data;

	if (sp->failed || sp->too_big)
		return -1;
	if (len > s->set.max_message_size - sp->size || sp->size > s->set.max_message_size) {
		sp->too_big = 1;
		return -1;
	}
	sp->size += len;
	if (sp->fd < 0 && sp->mem_len + len > s->set.spool_memory && spool_to_file(s) < 0) {
		sp->failed = 1;
		return -1;
	}
	if (sp->fd >= 0) {
		while (len > 0) {
			ssize_t w = write(sp->fd, p, len);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				lmtp_host->log(s->module, PZ_LOG_ERROR, "spool write: %s",
					       strerror(errno));
				sp->failed = 1;
				return -1;
			}
			p += w;
			len -= (size_t)w;
		}
		return 0;
	}
	if (sp->mem_len + len > sp->mem_alloc) {
		size_t n = (sp->mem_len + len) * 2;
		unsigned char *m;

		if (n > s->set.spool_memory + 1)
			n = s->set.spool_memory + 1;
		if (n < sp->mem_len + len)
			n = sp->mem_len + len;
		m = realloc(sp->mem, n);
		if (m == NULL) {
			sp->failed = 1;
			return -1;
		}
		sp->mem = m;
		sp->mem_alloc = n;
	}
	memcpy(sp->mem + sp->mem_len, p, len);
	sp->mem_len += len;
	return 0;
}

/* lmtp_spool_stream - the spooled message as a stream in `pool`. */
pz_stream *lmtp_spool_stream(struct lmtp_session *s, pz_pool *pool)
{
	struct lmtp_spool *sp = &s->spool;

	if (sp->fd >= 0)
		return lmtp_host->stream_from_fd(pool, sp->fd, 0);
	return lmtp_host->stream_from_memory(pool, sp->mem != NULL ? sp->mem : (unsigned char *)"",
					     sp->mem_len);
}
