/* core/base64.c - base64 (RFC 4648 section 4): strict for SASL, lax for
 * MIME (RFC 2045 section 6.8). */
#include "config-core.h"
#include <stdint.h>
#include <string.h>
#include "base64.h"
#include "pool.h"

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *pz_base64_encode(pz_pool *pool, const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out, *p;
	size_t i;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = p = pz_pool_alloc(pool, (len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = b64chars[v >> 18];
		*p++ = b64chars[(v >> 12) & 63];
		*p++ = b64chars[(v >> 6) & 63];
		*p++ = b64chars[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*p++ = b64chars[v >> 18];
		*p++ = b64chars[(v >> 12) & 63];
		*p++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

/* b64value - the 6-bit value of `c`, or -1 outside the alphabet. */
static int b64value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int pz_base64_decode(pz_pool *pool, const char *in, size_t in_len,
		     unsigned char **out_r, size_t *len_r)
{
	unsigned char *out;
	size_t i, o = 0;

	if (in_len % 4 != 0)
		return -1;
	out = pz_pool_alloc(pool, in_len / 4 * 3 + 1);
	for (i = 0; i < in_len; i += 4) {
		int v[4], k, pad = 0;
		uint32_t n;

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == in_len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = b64value(c)) < 0) {
				return -1;
			}
		}
		n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (unsigned char)(n >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(n >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)n;
	}
	out[o] = '\0';
	*out_r = out;
	*len_r = o;
	return 0;
}

void pz_base64_lax_init(struct pz_base64_lax *st)
{
	st->acc = 0;
	st->bits = 0;
}

size_t pz_base64_lax_step(struct pz_base64_lax *st, const void *in, size_t len,
			  unsigned char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int v = b64value(p[i]);

		if (v < 0) {
			/* padding ends the quantum; leftover bits are not data */
			if (p[i] == '=') {
				st->acc = 0;
				st->bits = 0;
			}
			continue;
		}
		st->acc = (st->acc << 6 | (uint32_t)v) & 0xffffu;
		st->bits += 6;
		if (st->bits >= 8) {
			st->bits -= 8;
			out[o++] = (unsigned char)(st->acc >> st->bits);
		}
	}
	return o;
}
