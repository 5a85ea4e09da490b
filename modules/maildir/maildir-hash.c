/* maildir-hash.c - a map from file base names to numbers.
 *
 * Open addressing with linear probing, sized once for the expected count
 * (it grows when that was too small).  Keys are not copied: the caller keeps
 * them alive as long as the map.  Used to match directory entries against
 * index records and uid list lines, which can be 100,000s per mailbox.
 */
#include "maildir.h"

#include <stdlib.h>
#include <string.h>

struct maildir_hash_slot {
	const char *key;
	size_t len;
	uint32_t value;
};

struct maildir_hash {
	struct maildir_hash_slot *slots;
	size_t size;   /* power of two */
	size_t count;
};

static uint64_t hash_key(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct maildir_hash *maildir_hash_new(size_t expected)
{
	struct maildir_hash *h = calloc(1, sizeof(*h));
	size_t size = 64;

	if (h == NULL)
		return NULL;
	while (size < expected * 2 && size < ((size_t)1 << 40))
		size *= 2;
	h->slots = calloc(size, sizeof(*h->slots));
	if (h->slots == NULL) {
		free(h);
		return NULL;
	}
	h->size = size;
	return h;
}

void maildir_hash_free(struct maildir_hash **_h)
{
	struct maildir_hash *h = *_h;

	if (h == NULL)
		return;
	*_h = NULL;
	free(h->slots);
	free(h);
}

static struct maildir_hash_slot *hash_find(struct maildir_hash *h,
					   const char *key, size_t len)
{
	size_t i = (size_t)hash_key(key, len) & (h->size - 1);

	for (;;) {
		struct maildir_hash_slot *s = &h->slots[i];
		if (s->key == NULL ||
		    (s->len == len && memcmp(s->key, key, len) == 0))
			return s;
		i = (i + 1) & (h->size - 1);
	}
}

static int hash_grow(struct maildir_hash *h)
{
	struct maildir_hash_slot *old = h->slots;
	size_t oldsize = h->size;

	if (h->size > SIZE_MAX / 2 / sizeof(*old))
		return -1;
	h->slots = calloc(h->size * 2, sizeof(*h->slots));
	if (h->slots == NULL) {
		h->slots = old;
		return -1;
	}
	h->size *= 2;
	for (size_t i = 0; i < oldsize; i++) {
		if (old[i].key != NULL)
			*hash_find(h, old[i].key, old[i].len) = old[i];
	}
	free(old);
	return 0;
}

int maildir_hash_put(struct maildir_hash *h, const char *key, size_t len,
		     uint32_t value)
{
	struct maildir_hash_slot *s;

	if ((h->count + 1) * 2 > h->size && hash_grow(h) < 0)
		return -1;
	s = hash_find(h, key, len);
	if (s->key != NULL) {
		s->value = value;
		return 1;
	}
	s->key = key;
	s->len = len;
	s->value = value;
	h->count++;
	return 0;
}

int maildir_hash_get(struct maildir_hash *h, const char *key, size_t len,
		     uint32_t *value_r)
{
	struct maildir_hash_slot *s = hash_find(h, key, len);

	if (s->key == NULL)
		return 0;
	*value_r = s->value;
	return 1;
}
