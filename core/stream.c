/* core/stream.c - streams: one read_at function each, plus an offset. */
#include "config-core.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pool.h"
#include "stream.h"

struct pz_stream {
	const struct pz_stream_ops *ops;
	void *ctx;
	uint64_t offset;
};

struct fd_stream {
	int fd;
	int close_on_free;
};

struct mem_stream {
	const unsigned char *data;
	size_t len;
};

static ssize_t fd_read_at(void *ctx, void *buf, size_t n, uint64_t offset)
{
	struct fd_stream *f = ctx;
	ssize_t r;

	do {
		r = pread(f->fd, buf, n, (off_t)offset);
	} while (r < 0 && errno == EINTR);
	return r;
}

static int64_t fd_length(void *ctx)
{
	struct fd_stream *f = ctx;
	struct stat st;

	return fstat(f->fd, &st) < 0 ? -1 : (int64_t)st.st_size;
}

static void fd_close(void *ctx)
{
	struct fd_stream *f = ctx;

	if (f->close_on_free && f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static const struct pz_stream_ops fd_ops = {
	.size = sizeof(struct pz_stream_ops),
	.read_at = fd_read_at,
	.length = fd_length,
	.close = fd_close,
};

static ssize_t mem_read_at(void *ctx, void *buf, size_t n, uint64_t offset)
{
	struct mem_stream *m = ctx;

	if (offset >= m->len)
		return 0;
	if (n > m->len - offset)
		n = m->len - (size_t)offset;
	memcpy(buf, m->data + offset, n);
	return (ssize_t)n;
}

static int64_t mem_length(void *ctx)
{
	return (int64_t)((struct mem_stream *)ctx)->len;
}

static const struct pz_stream_ops mem_ops = {
	.size = sizeof(struct pz_stream_ops),
	.read_at = mem_read_at,
	.length = mem_length,
};

static void stream_cleanup(void *ctx)
{
	pz_stream *s = ctx;

	if (s->ops->close != NULL)
		s->ops->close(s->ctx);
}

pz_stream *pz_stream_new(pz_pool *pool, const struct pz_stream_ops *ops, void *ctx)
{
	pz_stream *s = pz_pool_alloc(pool, sizeof(*s));

	s->ops = ops;
	s->ctx = ctx;
	pz_pool_cleanup(pool, stream_cleanup, s);
	return s;
}

pz_stream *pz_stream_from_fd(pz_pool *pool, int fd, int close_on_free)
{
	struct fd_stream *f = pz_pool_alloc(pool, sizeof(*f));

	f->fd = fd;
	f->close_on_free = close_on_free;
	return pz_stream_new(pool, &fd_ops, f);
}

pz_stream *pz_stream_from_memory(pz_pool *pool, const void *data, size_t len)
{
	struct mem_stream *m = pz_pool_alloc(pool, sizeof(*m));

	m->data = data;
	m->len = len;
	return pz_stream_new(pool, &mem_ops, m);
}

ssize_t pz_stream_read(pz_stream *s, void *buf, size_t n)
{
	ssize_t r = s->ops->read_at(s->ctx, buf, n, s->offset);

	if (r > 0)
		s->offset += (uint64_t)r;
	return r;
}

int pz_stream_seek(pz_stream *s, uint64_t offset)
{
	s->offset = offset;
	return 0;
}

int64_t pz_stream_size(pz_stream *s)
{
	return s->ops->length != NULL ? s->ops->length(s->ctx) : -1;
}
