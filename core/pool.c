/* core/pool.c - memory pools: bump allocation in blocks, freed as a whole. */
#include "config-core.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "pool.h"

#define POOL_BLOCK_SIZE 8192
#define POOL_ALIGN 16

struct pool_block {
	struct pool_block *next;
	size_t size;   /* usable bytes in data[] */
	size_t used;
	_Alignas(POOL_ALIGN) unsigned char data[];
};

struct pool_cleanup {
	struct pool_cleanup *next;
	void (*fn)(void *ctx);
	void *ctx;
};

struct pz_pool {
	const char *name;
	struct pool_block *blocks;     /* newest first */
	struct pool_cleanup *cleanups; /* newest first */
	size_t allocated;
};

/* xmalloc - malloc or die: memory exhaustion ends the process. */
static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		pz_fatal("out of memory allocating %zu bytes", size);
	return p;
}

/* pz_pool_create - a new empty pool. */
pz_pool *pz_pool_create(const char *name)
{
	pz_pool *pool = xmalloc(sizeof(*pool));

	memset(pool, 0, sizeof(*pool));
	pool->name = name;
	return pool;
}

/* pool_run_cleanups - call and forget every cleanup, newest first. */
static void pool_run_cleanups(pz_pool *pool)
{
	while (pool->cleanups != NULL) {
		struct pool_cleanup *c = pool->cleanups;

		pool->cleanups = c->next;
		c->fn(c->ctx);
	}
}

/* pz_pool_clear - free all allocations, keep the pool. */
void pz_pool_clear(pz_pool *pool)
{
	pool_run_cleanups(pool);
	while (pool->blocks != NULL) {
		struct pool_block *b = pool->blocks;

		pool->blocks = b->next;
		free(b);
	}
	pool->allocated = 0;
}

/* pz_pool_destroy - free the pool and everything in it. */
void pz_pool_destroy(pz_pool **poolp)
{
	if (*poolp == NULL)
		return;
	pz_pool_clear(*poolp);
	free(*poolp);
	*poolp = NULL;
}

/* pool_new_block - a block with room for at least `size` bytes. */
static struct pool_block *pool_new_block(pz_pool *pool, size_t size)
{
	size_t usable = size > POOL_BLOCK_SIZE ? size : POOL_BLOCK_SIZE;
	struct pool_block *b;

	if (usable > SIZE_MAX - sizeof(*b))
		pz_fatal("pool %s: allocation of %zu bytes overflows", pool->name, size);
	b = xmalloc(sizeof(*b) + usable);
	b->size = usable;
	b->used = 0;
	b->next = pool->blocks;
	pool->blocks = b;
	return b;
}

/* pz_pool_alloc - zeroed memory that lives until the pool is cleared. */
void *pz_pool_alloc(pz_pool *pool, size_t size)
{
	struct pool_block *b = pool->blocks;
	size_t aligned;
	void *p;

	if (size > SIZE_MAX - POOL_ALIGN)
		pz_fatal("pool %s: allocation of %zu bytes overflows", pool->name, size);
	aligned = (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	if (aligned == 0)
		aligned = POOL_ALIGN;
	if (b == NULL || b->size - b->used < aligned)
		b = pool_new_block(pool, aligned);
	p = b->data + b->used;
	b->used += aligned;
	pool->allocated += aligned;
	memset(p, 0, size);
	return p;
}

/* pz_pool_realloc - grow in place when `old` is the newest piece. */
void *pz_pool_realloc(pz_pool *pool, void *old, size_t old_size, size_t new_size)
{
	struct pool_block *b = pool->blocks;
	void *p;

	if (old == NULL)
		return pz_pool_alloc(pool, new_size);
	if (new_size <= old_size)
		return old;
	if (b != NULL && new_size <= SIZE_MAX - POOL_ALIGN) {
		size_t old_aligned = (old_size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
		size_t new_aligned = (new_size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
		unsigned char *start = b->data + b->used - old_aligned;

		if (old_aligned <= b->used && start == (unsigned char *)old &&
		    new_aligned - old_aligned <= b->size - b->used) {
			b->used += new_aligned - old_aligned;
			pool->allocated += new_aligned - old_aligned;
			memset((unsigned char *)old + old_size, 0, new_size - old_size);
			return old;
		}
	}
	p = pz_pool_alloc(pool, new_size);
	memcpy(p, old, old_size);
	return p;
}

char *pz_pool_strndup(pz_pool *pool, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		pz_fatal("pool %s: string too long", pool->name);
	p = pz_pool_alloc(pool, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *pz_pool_strdup(pz_pool *pool, const char *s)
{
	return s == NULL ? NULL : pz_pool_strndup(pool, s, strlen(s));
}

char *pz_pool_vprintf(pz_pool *pool, const char *fmt, va_list args)
{
	va_list copy;
	int len;
	char *p;

	va_copy(copy, args);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		pz_fatal("pool %s: bad format '%s'", pool->name, fmt);
	p = pz_pool_alloc(pool, (size_t)len + 1);
	vsnprintf(p, (size_t)len + 1, fmt, args);
	return p;
}

char *pz_pool_printf(pz_pool *pool, const char *fmt, ...)
{
	va_list args;
	char *p;

	va_start(args, fmt);
	p = pz_pool_vprintf(pool, fmt, args);
	va_end(args);
	return p;
}

/* pz_pool_cleanup - remember fn(ctx) for when the pool goes away. */
void pz_pool_cleanup(pz_pool *pool, void (*fn)(void *ctx), void *ctx)
{
	struct pool_cleanup *c = pz_pool_alloc(pool, sizeof(*c));

	c->fn = fn;
	c->ctx = ctx;
	c->next = pool->cleanups;
	pool->cleanups = c;
}

size_t pz_pool_allocated(const pz_pool *pool)
{
	return pool->allocated;
}

void pz_uid_array_init(pz_uid_array *arr, pz_pool *pool)
{
	memset(arr, 0, sizeof(*arr));
	arr->pool = pool;
}

/* pz_uid_array_add - append, doubling the array when full. */
void pz_uid_array_add(pz_uid_array *arr, uint32_t uid)
{
	if (arr->count == arr->alloc) {
		size_t n = arr->alloc == 0 ? 16 : arr->alloc * 2;

		if (n > SIZE_MAX / sizeof(uint32_t))
			pz_fatal("uid array too large");
		arr->uids = pz_pool_realloc(arr->pool, arr->uids,
					    arr->alloc * sizeof(uint32_t),
					    n * sizeof(uint32_t));
		arr->alloc = n;
	}
	arr->uids[arr->count++] = uid;
}

char *pz_strdup_printf(const char *fmt, ...)
{
	va_list args;
	char *p;
	int len;

	va_start(args, fmt);
	len = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (len < 0)
		pz_fatal("bad format '%s'", fmt);
	p = xmalloc((size_t)len + 1);
	va_start(args, fmt);
	vsnprintf(p, (size_t)len + 1, fmt, args);
	va_end(args);
	return p;
}
