/* core/base64.h - RFC 4648 base64, strict on input. */
#ifndef POCZTA_CORE_BASE64_H
#define POCZTA_CORE_BASE64_H

#include <stddef.h>
#include <poczta/types.h>

/* pz_base64_encode - NUL-terminated encoding of data, from the pool. */
char *pz_base64_encode(pz_pool *pool, const void *data, size_t len);
/* pz_base64_decode - decode `in` (padding required, no blanks) into the
 * pool; returns -1 for anything not valid base64.  *out_r is NUL-terminated
 * (the NUL is not counted). */
int pz_base64_decode(pz_pool *pool, const char *in, size_t in_len,
		     unsigned char **out_r, size_t *len_r);

#endif
