/* core/mail/mail-buf.c - growable byte strings in a pool or on the heap. */
#include "config-core.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "pool.h"
#include "mail-buf.h"

void mail_buf_init(struct mail_buf *b, pz_pool *pool)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->pool = pool;
}

void mail_buf_free(struct mail_buf *b)
{
	if (b->pool == NULL)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* buf_reserve - room for `more` bytes and the terminating NUL. */
static void buf_reserve(struct mail_buf *b, size_t more)
{
	size_t need, cap;
	unsigned char *p;

	if (more > SIZE_MAX / 2 - b->len)
		pz_fatal("mail buffer of %zu bytes overflows", b->len);
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap *= 2;
	if (b->pool != NULL) {
		p = pz_pool_realloc(b->pool, b->data, b->cap, cap);
	} else {
		p = realloc(b->data, cap);
		if (p == NULL)
			pz_fatal("out of memory growing a buffer to %zu bytes", cap);
	}
	b->data = p;
	b->cap = cap;
}

void mail_buf_append(struct mail_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void mail_buf_putc(struct mail_buf *b, unsigned char c)
{
	mail_buf_append(b, &c, 1);
}

void mail_buf_puts(struct mail_buf *b, const char *s)
{
	mail_buf_append(b, s, strlen(s));
}

void mail_buf_printf(struct mail_buf *b, const char *fmt, ...)
{
	va_list args;
	char small[128];
	int n;

	va_start(args, fmt);
	n = vsnprintf(small, sizeof(small), fmt, args);
	va_end(args);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		mail_buf_append(b, small, (size_t)n);
		return;
	}
	buf_reserve(b, (size_t)n);
	va_start(args, fmt);
	(void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, args);
	va_end(args);
	b->len += (size_t)n;
}

void mail_buf_truncate(struct mail_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *mail_buf_cstr(struct mail_buf *b)
{
	if (b->data == NULL)
		buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return (char *)b->data;
}
