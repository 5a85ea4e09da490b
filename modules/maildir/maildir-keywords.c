/* maildir-keywords.c - IMAP keywords of a mailbox.
 *
 * Each mailbox numbers its keywords (the index's keywords table).  Ids
 * 0..25 are also letters a..z in file names, with the mapping in the
 * mailbox's dovecot-keywords file ("0 $Junk" = letter a), exactly as
 * Dovecot keeps them, so Dovecot and we see the same keywords.  Later ids
 * live only in the index.  A message's keywords are a list of ids in
 * ascending order, "0 3 27", stored as text.
 */
#include "maildir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int maildir_keyword_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MAILDIR_KEYWORD_MAX_LEN || name[0] == '\\')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return 0;
	}
	return 1;
}

int maildir_keyword_lookup(const struct maildir_keywords *kw, const char *name)
{
	for (size_t i = 0; i < kw->count; i++) {
		if (kw->names[i] != NULL && strcasecmp(kw->names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

int maildir_keyword_get(struct maildir_mbox *mb, const char *name,
			uint32_t *id_r, pz_error *err)
{
	int id = maildir_keyword_lookup(&mb->kw, name);
	uint32_t nid;

	if (id >= 0) {
		*id_r = (uint32_t)id;
		return 0;
	}
	if (!maildir_keyword_valid(name))
		return maildir_error(mb->mu, err, PZ_ERR_PARAMS, "Invalid keyword");
	if (mb->kw.count >= MAILDIR_KEYWORDS_MAX)
		return maildir_error(mb->mu, err, PZ_ERR_PARAMS,
				     "Too many keywords in this mailbox");
	nid = (uint32_t)mb->kw.count;
	if (maildir_index_keyword_add(mb, nid, name, err) < 0 ||
	    maildir_index_keywords_load(mb, err) < 0)
		return -1;
	if (nid < MAILDIR_KEYWORD_LETTERS && maildir_keywords_write_file(mb, err) < 0)
		return -1;
	*id_r = nid;
	return 0;
}

int maildir_keywords_write_file(struct maildir_mbox *mb, pz_error *err)
{
	char buf[MAILDIR_KEYWORD_LETTERS * (MAILDIR_KEYWORD_MAX_LEN + 8)];
	size_t len = 0;
	char *path = maildir_path(mb->pool, mb->paths.dir, MAILDIR_KEYWORDS_NAME, NULL);

	for (size_t i = 0; i < mb->kw.count && i < MAILDIR_KEYWORD_LETTERS; i++) {
		if (mb->kw.names[i] != NULL)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%zu %s\n",
						i, mb->kw.names[i]);
	}
	if (maildir_write_file(path, buf, len) < 0)
		return maildir_syserror(mb->mu, err, "write", path);
	return 0;
}

/* maildir_keywords_sync_file - merge dovecot-keywords into the index when it
 * changed since `h` saw it.  Inside a write transaction. */
int maildir_keywords_sync_file(struct maildir_mbox *mb, struct maildir_hdr *h,
			       pz_error *err)
{
	char *path = maildir_path(mb->pool, mb->paths.dir, MAILDIR_KEYWORDS_NAME, NULL);
	char *data, *line, *save;
	struct stat st;
	size_t len;
	uint32_t in_file = 0;
	int ret, missing = 0;

	ret = maildir_read_file(mb->pool, path, 64 * 1024, &data, &len, &st);
	if (ret < 0)
		return maildir_syserror(mb->mu, err, "read", path);
	if (ret == 0 && maildir_st_mtime_ns(&st) == h->keywords_mtime_ns)
		return 0;
	if (ret == 0) {
		for (line = strtok_r(data, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *end, *name;
			unsigned long id = strtoul(line, &end, 10);
			int known;

			if (end == line || *end != ' ' || id >= MAILDIR_KEYWORD_LETTERS)
				continue;
			name = end + 1;
			if (!maildir_keyword_valid(name))
				continue;
			known = maildir_keyword_lookup(&mb->kw, name);
			if (known == (int)id) {
				in_file |= 1u << id;
				continue;
			}
			if (known >= 0 || (id < mb->kw.count && mb->kw.names[id] != NULL)) {
				maildir_log(PZ_LOG_WARNING,
					    "%s: letter %c is '%s' in the file but "
					    "the index disagrees; keeping the index",
					    path, (int)('a' + id), name);
				missing = 1;
				continue;
			}
			if (maildir_index_keyword_add(mb, (uint32_t)id, name, err) < 0 ||
			    maildir_index_keywords_load(mb, err) < 0)
				return -1;
			in_file |= 1u << id;
		}
	}
	/* letters the index knows but the file lacks: write them back */
	for (size_t i = 0; i < mb->kw.count && i < MAILDIR_KEYWORD_LETTERS; i++) {
		if (mb->kw.names[i] != NULL && (in_file & (1u << i)) == 0)
			missing = 1;
	}
	if (missing && mb->kw.count > 0) {
		if (maildir_keywords_write_file(mb, err) < 0)
			return -1;
		if (stat(path, &st) < 0)
			return maildir_syserror(mb->mu, err, "stat", path);
	} else if (ret != 0) {
		h->keywords_mtime_ns = 0;
		return 0;
	}
	h->keywords_mtime_ns = maildir_st_mtime_ns(&st);
	return 0;
}

/* kw_parse - ids of a list into `ids` (at most `max`); returns the count */
static size_t kw_parse(const char *kw, uint32_t *ids, size_t max)
{
	size_t n = 0;

	while (kw != NULL && *kw != '\0' && n < max) {
		char *end;
		unsigned long id = strtoul(kw, &end, 10);

		if (end == kw)
			break;
		if (id < MAILDIR_KEYWORDS_MAX)
			ids[n++] = (uint32_t)id;
		kw = *end == ' ' ? end + 1 : end;
	}
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* kw_format - a sorted, unique list as text from `pool`; NULL if empty */
static char *kw_format(pz_pool *pool, uint32_t *ids, size_t n)
{
	char *out, *p;

	if (n == 0)
		return NULL;
	qsort(ids, n, sizeof(*ids), cmp_u32);
	p = out = HOST->pool_alloc(pool, n * 11 + 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			continue;
		p += sprintf(p, p == out ? "%u" : " %u", ids[i]);
	}
	return out;
}

uint32_t maildir_kw_letters(const char *kw)
{
	uint32_t ids[MAILDIR_KEYWORDS_MAX], letters = 0;
	size_t n = kw_parse(kw, ids, MAILDIR_KEYWORDS_MAX);

	for (size_t i = 0; i < n; i++) {
		if (ids[i] < MAILDIR_KEYWORD_LETTERS)
			letters |= 1u << ids[i];
	}
	return letters;
}

char *maildir_kw_from_letters(pz_pool *pool, const struct maildir_keywords *k,
			      uint32_t letters, const char *old_kw)
{
	uint32_t ids[MAILDIR_KEYWORDS_MAX + MAILDIR_KEYWORD_LETTERS];
	uint32_t old[MAILDIR_KEYWORDS_MAX];
	size_t n = 0, nold = kw_parse(old_kw, old, MAILDIR_KEYWORDS_MAX);

	for (uint32_t i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
		if ((letters & (1u << i)) != 0 && i < k->count && k->names[i] != NULL)
			ids[n++] = i;
	}
	for (size_t i = 0; i < nold; i++) {
		if (old[i] >= MAILDIR_KEYWORD_LETTERS)
			ids[n++] = old[i];
	}
	return kw_format(pool, ids, n);
}

size_t maildir_kw_count(const char *kw)
{
	uint32_t ids[MAILDIR_KEYWORDS_MAX];
	return kw_parse(kw, ids, MAILDIR_KEYWORDS_MAX);
}

const char **maildir_kw_names(pz_pool *pool, const struct maildir_keywords *k,
			      const char *kw, size_t *count_r, int copy)
{
	uint32_t ids[MAILDIR_KEYWORDS_MAX];
	size_t n = kw_parse(kw, ids, MAILDIR_KEYWORDS_MAX), out = 0;
	const char **names;

	*count_r = 0;
	if (n == 0)
		return NULL;
	names = HOST->pool_alloc(pool, n * sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		if (ids[i] >= k->count || k->names[ids[i]] == NULL)
			continue;
		names[out++] = copy ? HOST->pool_strdup(pool, k->names[ids[i]])
			: k->names[ids[i]];
	}
	*count_r = out;
	return names;
}

int maildir_kw_has(const char *kw, uint32_t id)
{
	uint32_t ids[MAILDIR_KEYWORDS_MAX];
	size_t n = kw_parse(kw, ids, MAILDIR_KEYWORDS_MAX);

	for (size_t i = 0; i < n; i++) {
		if (ids[i] == id)
			return 1;
	}
	return 0;
}

char *maildir_kw_apply(pz_pool *pool, const char *kw, const uint32_t *add,
		       size_t nadd, enum pz_store_mode mode)
{
	uint32_t ids[MAILDIR_KEYWORDS_MAX];
	size_t n = 0;

	if (mode != PZ_STORE_REPLACE)
		n = kw_parse(kw, ids, MAILDIR_KEYWORDS_MAX);
	if (mode == PZ_STORE_REMOVE) {
		size_t out = 0;
		for (size_t i = 0; i < n; i++) {
			size_t j;
			for (j = 0; j < nadd && add[j] != ids[i]; j++)
				;
			if (j == nadd)
				ids[out++] = ids[i];
		}
		n = out;
	} else {
		for (size_t j = 0; j < nadd && n < MAILDIR_KEYWORDS_MAX; j++)
			ids[n++] = add[j];
	}
	return kw_format(pool, ids, n);
}

int maildir_kw_equal(const char *a, const char *b)
{
	if (a == NULL || *a == '\0')
		return b == NULL || *b == '\0';
	return b != NULL && strcmp(a, b) == 0;
}
