/* core/pool.h - memory pools: allocate many pieces, free them all at once.
 *
 * A pool belongs to one lifetime (process, session, command).  Allocation
 * never returns NULL: running out of memory is fatal for the process.
 * Memory is zeroed.  Cleanup callbacks run, newest first, when the pool is
 * cleared or destroyed. */
#ifndef POCZTA_CORE_POOL_H
#define POCZTA_CORE_POOL_H

#include <stdarg.h>
#include <stddef.h>
#include <poczta/types.h>

pz_pool *pz_pool_create(const char *name);
/* pz_pool_destroy - free everything and the pool; sets *pool to NULL. */
void pz_pool_destroy(pz_pool **pool);
/* pz_pool_clear - free everything allocated, keep the pool for reuse. */
void pz_pool_clear(pz_pool *pool);
void *pz_pool_alloc(pz_pool *pool, size_t size);
/* pz_pool_realloc - grow `old` (of old_size bytes, from this pool). */
void *pz_pool_realloc(pz_pool *pool, void *old, size_t old_size, size_t new_size);
char *pz_pool_strdup(pz_pool *pool, const char *s);
char *pz_pool_strndup(pz_pool *pool, const char *s, size_t n);
char *pz_pool_printf(pz_pool *pool, const char *fmt, ...) PZ_PRINTF(2, 3);
char *pz_pool_vprintf(pz_pool *pool, const char *fmt, va_list args);
void pz_pool_cleanup(pz_pool *pool, void (*fn)(void *ctx), void *ctx);
/* pz_pool_allocated - bytes handed out since create or clear (for tests). */
size_t pz_pool_allocated(const pz_pool *pool);

/* pz_strdup_printf - a malloc'd formatted string (for *error_r values the
 * caller frees); never NULL. */
char *pz_strdup_printf(const char *fmt, ...) PZ_PRINTF(1, 2);

void pz_uid_array_init(pz_uid_array *arr, pz_pool *pool);
void pz_uid_array_add(pz_uid_array *arr, uint32_t uid);

#endif
