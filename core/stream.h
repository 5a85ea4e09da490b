/* core/stream.h - seekable byte streams over an fd, memory, or a module's
 * own read_at function.  A stream lives in the pool it was created in. */
#ifndef POCZTA_CORE_STREAM_H
#define POCZTA_CORE_STREAM_H

#include <poczta/host.h>

pz_stream *pz_stream_from_fd(pz_pool *pool, int fd, int close_on_free);
pz_stream *pz_stream_from_memory(pz_pool *pool, const void *data, size_t len);
pz_stream *pz_stream_new(pz_pool *pool, const struct pz_stream_ops *ops, void *ctx);
/* Read up to n bytes at the current offset: count, 0 at the end, -1 error. */
ssize_t pz_stream_read(pz_stream *s, void *buf, size_t n);
int pz_stream_seek(pz_stream *s, uint64_t offset);
/* Length in bytes, or -1 when unknown. */
int64_t pz_stream_size(pz_stream *s);

#endif
