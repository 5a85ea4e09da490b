/* core/base64.h - RFC 4648 base64: strict decoding for SASL, lax
 * streaming decoding for MIME bodies and RFC 2047 words. */
#ifndef POCZTA_CORE_BASE64_H
#define POCZTA_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>
#include <poczta/types.h>

/* pz_base64_encode - NUL-terminated encoding of data, from the pool. */
char *pz_base64_encode(pz_pool *pool, const void *data, size_t len);
/* pz_base64_decode - decode `in` (padding required, no blanks) into the
 * pool; returns -1 for anything not valid base64.  *out_r is NUL-terminated
 * (the NUL is not counted). */
int pz_base64_decode(pz_pool *pool, const char *in, size_t in_len,
		     unsigned char **out_r, size_t *len_r);

/* Lax decoding, as RFC 2045 section 6.8 asks of MIME readers: characters
 * outside the alphabet (line breaks, blanks, garbage) are skipped, a '='
 * ends the current quantum, and bits of an unfinished quantum are dropped.
 * It never fails.  Feed the input in pieces of any size. */
struct pz_base64_lax {
	uint32_t acc;      /* bits not yet written */
	unsigned int bits; /* how many (0..6) */
};
/* PZ_BASE64_LAX_MAX - output bytes one step may write for `n` input bytes. */
#define PZ_BASE64_LAX_MAX(n) ((n) / 4 * 3 + 3)
void pz_base64_lax_init(struct pz_base64_lax *st);
/* pz_base64_lax_step - decode `in` into `out` (room for
 * PZ_BASE64_LAX_MAX(len) bytes); returns the bytes written. */
size_t pz_base64_lax_step(struct pz_base64_lax *st, const void *in, size_t len,
			  unsigned char *out);

#endif
