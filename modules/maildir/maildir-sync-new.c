/* maildir-sync-new.c - records for the files a sync found without one,
 * and internal dates that syncs left unknown.
 *
 * New files get UIDs in delivery order (maildir_fname_order), or as an
 * imported uid list had them.  A record comes from the file's name: flags,
 * S= and W= sizes.  The file is stat()ed only when its name has no S=,
 * when readdir did not tell its type, or for its internal date (its
 * mtime) when the sync serves a view (MAILDIR_SYNC_DATES); without that,
 * the record's date stays unknown until a view's sync looks, here too
 * (sync_date_undated).  Many stat() calls run on threads (maildir-scan.c).
 */
#include "maildir-sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The order new files get their UIDs in: imported UIDs first, then
 * delivery order (maildir_fname_order), then names. */
struct fresh_order {
	uint32_t uid;
	uint64_t key;
	struct maildir_dirent *e;
};

static int cmp_fresh(const void *a, const void *b)
{
	const struct fresh_order *x = a, *y = b;

	if (x->uid != y->uid) {
		if (x->uid == 0 || y->uid == 0)
			return x->uid == 0 ? 1 : -1;
		return x->uid < y->uid ? -1 : 1;
	}
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->e->name, y->e->name);
}

/* Bits of the key a radix pass sorts by. */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

/* radix_by_key - sort by key, stably, RADIX_BITS at a time: comparing
 * 100,000 names costs more than the rest of making their records */
static void radix_by_key(struct fresh_order *o, struct fresh_order *tmp, size_t n)
{
	struct fresh_order *from = o, *to = tmp, *swap;
	uint64_t all = 0;

	for (size_t i = 0; i < n; i++)
		all |= from[i].key;
	for (unsigned int shift = 0; shift < 64 && (all >> shift) != 0;
	     shift += RADIX_BITS) {
		size_t count[RADIX_SIZE] = { 0 }, sum = 0;

		for (size_t i = 0; i < n; i++)
			count[(from[i].key >> shift) & (RADIX_SIZE - 1)]++;
		for (size_t d = 0; d < RADIX_SIZE; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			to[count[(from[i].key >> shift) & (RADIX_SIZE - 1)]++] = from[i];
		swap = from;
		from = to;
		to = swap;
	}
	if (from != o)
		memcpy(o, from, n * sizeof(*o));
}

/* sort_ties - order the runs of equal keys by name (insertion sort: such
 * runs are a few files delivered in the same microsecond) */
static void sort_ties(struct fresh_order *o, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct fresh_order x = o[i];
		size_t j = i;

		while (j > 0 && o[j - 1].key == x.key && cmp_fresh(&o[j - 1], &x) > 0) {
			o[j] = o[j - 1];
			j--;
		}
		o[j] = x;
	}
}

/* fresh_sorted - the new files in the order of their UIDs (malloc'd) */
static struct fresh_order *fresh_sorted(struct sync_ctx *ctx)
{
	size_t n = ctx->nfresh, imported = 0, a, b;
	struct fresh_order *o;

	if (n > SIZE_MAX / 2 / sizeof(*o))
		return NULL;
	o = malloc(2 * n * sizeof(*o));   /* the second half: radix's room */
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		imported += ctx->fresh[i].uid != 0;
	/* files with an imported UID first (few: compared), then the rest */
	a = 0;
	b = imported;
	for (size_t i = 0; i < n; i++) {
		struct maildir_dirent *e = &ctx->fresh[i];
		struct fresh_order x = { e->uid, maildir_fname_order(e->name), e };

		o[x.uid != 0 ? a++ : b++] = x;
	}
	qsort(o, imported, sizeof(*o), cmp_fresh);
	radix_by_key(o + imported, o + n, n - imported);
	sort_ties(o + imported, n - imported);
	return o;
}

/* fresh_rec - the record of a new file; 1 when it is to be skipped (gone,
 * or not a regular file) */
static int fresh_rec(struct sync_ctx *ctx, const struct maildir_dirent *e,
		     uint32_t uid, struct maildir_rec *r, pz_error *err)
{
	struct maildir_fname f;
	int fd = sync_dir_fd(ctx, e->in_new);

	if (e->st_state == MAILDIR_ST_GONE)
		return 1;
	if (e->st_state == MAILDIR_ST_ERROR) {
		errno = e->st_errno;
		return maildir_syserror(ctx->mb->mu, err, "stat", e->name);
	}
	memset(r, 0, sizeof(*r));
	maildir_fname_parse(e->name, &f);
	if (f.has_vsize && !f.has_psize && e->st_state != MAILDIR_ST_FILE) {
		struct maildir_dirent one = *e;

		one.st_state = MAILDIR_ST_NONE;
		maildir_stat_ents(ctx->new_fd, ctx->cur_fd, &one, 1);
		if (one.st_state != MAILDIR_ST_FILE)
			return one.st_state == MAILDIR_ST_GONE ? 1 :
				maildir_syserror(ctx->mb->mu, err, "stat", e->name);
		r->psize = one.size;
	} else {
		r->psize = f.has_psize ? f.psize : e->size;
	}
	r->vsize = f.vsize;
	if (!f.has_vsize) {
		int mfd = openat(fd, e->name, O_RDONLY | O_CLOEXEC);
		if (mfd < 0)
			return errno == ENOENT ? 1 : maildir_syserror(ctx->mb->mu,
					err, "open", e->name);
		if (maildir_file_vsize(mfd, &r->psize, &r->vsize) < 0) {
			close(mfd);
			return maildir_syserror(ctx->mb->mu, err, "read", e->name);
		}
		close(mfd);
	}
	r->fname = e->name;
	r->in_new = e->in_new;
	if (e->in_new && (ctx->flags & MAILDIR_SYNC_MOVE_NEW) != 0) {
		char *dest = sync_move_to_cur(ctx, e->name);
		if (dest != NULL) {
			r->fname = dest;
			r->in_new = 0;
		} else if (errno == ENOENT) {
			return 1;
		}
	}
	r->uid = uid;
	r->base = HOST->pool_strndup(ctx->pool, e->name, e->base_len);
	r->flags = f.flags;
	r->kw = f.kw_letters == 0 ? NULL :
		maildir_kw_from_letters(ctx->pool, &ctx->mb->kw, f.kw_letters, NULL);
	/* the first sync's records share one modseq (see import_modseq) */
	r->modseq = ctx->importing ? 0 : ++ctx->hdr.highestmodseq;
	r->idate = e->st_state == MAILDIR_ST_FILE ? e->mtime : MAILDIR_IDATE_UNKNOWN;
	r->idate_tz = 0;
	return 0;
}

/* stat_fresh - stat() the new files whose type readdir did not give, and
 * all of them when a view wants their dates (a name without S= is dealt
 * with by fresh_rec) */
static void stat_fresh(struct sync_ctx *ctx)
{
	int dates = (ctx->flags & MAILDIR_SYNC_DATES) != 0;

	for (size_t i = 0; i < ctx->nfresh; i++) {
		struct maildir_dirent *e = &ctx->fresh[i];

		if (e->st_state != MAILDIR_ST_NONE)
			continue;
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN &&
		    e->d_type != DT_LNK)
			e->st_state = MAILDIR_ST_GONE;
		else if (!dates && e->d_type == DT_REG)
			e->st_state = MAILDIR_ST_SKIP;
	}
	maildir_stat_ents(ctx->new_fd, ctx->cur_fd, ctx->fresh, ctx->nfresh);
}

int sync_index_new(struct sync_ctx *ctx, pz_error *err)
{
	struct fresh_order *order;
	struct maildir_rec *recs;
	uint32_t prev = 0;
	size_t n = 0;
	int ret = 0;

	if (ctx->uidmap != NULL) {
		for (size_t i = 0; i < ctx->nfresh; i++) {
			struct maildir_dirent *e = &ctx->fresh[i];
			e->uid = maildir_uidmap_lookup(ctx->uidmap, e->name, e->base_len);
		}
	}
	if (ctx->nfresh == 0)
		return 0;
	stat_fresh(ctx);
	order = fresh_sorted(ctx);
	recs = order != NULL && ctx->nfresh < SIZE_MAX / sizeof(*recs) ?
		malloc(ctx->nfresh * sizeof(*recs)) : NULL;
	if (recs == NULL) {
		free(order);
		return sync_nomem(ctx, err);
	}
	for (size_t i = 0; i < ctx->nfresh && ret >= 0; i++) {
		struct maildir_dirent *e = order[i].e;
		uint32_t uid = e->uid;

		/* an imported UID is used once, and only below UIDNEXT */
		if (uid == 0 || uid == prev || uid >= ctx->hdr.uidnext)
			uid = ctx->hdr.uidnext;
		else
			prev = uid;
		if (uid == UINT32_MAX) {
			ret = maildir_error(ctx->mb->mu, err, PZ_ERR_PERM,
					    "Mailbox has run out of UIDs");
			break;
		}
		ret = fresh_rec(ctx, e, uid, &recs[n], err);
		if (ret != 0)
			continue;
		n++;
		if (uid >= ctx->hdr.uidnext)
			ctx->hdr.uidnext = uid + 1;
	}
	if (ret >= 0)
		ret = maildir_index_insert_many(ctx->mb, recs, n, err);
	if (ret >= 0 && ctx->importing && n > 0)
		ctx->hdr.import_modseq = ++ctx->hdr.highestmodseq;
	free(recs);
	free(order);
	return ret < 0 ? -1 : 0;
}

/* The records without a date, as entries to stat(). */
struct undated {
	struct sync_ctx *ctx;
	struct maildir_dirent *ents;
	size_t n, alloc;
	int oom;
};

/* undated_add - one more record to date */
static int undated_add(void *_u, const struct maildir_rec *r)
{
	struct undated *u = _u;
	struct maildir_dirent *e;

	if (sync_grow((void **)&u->ents, &u->alloc, u->n + 1, sizeof(*u->ents)) < 0) {
		u->oom = 1;
		return 1;
	}
	e = &u->ents[u->n++];
	memset(e, 0, sizeof(*e));
	e->name = HOST->pool_strdup(u->ctx->pool, r->fname);
	e->in_new = (unsigned char)r->in_new;
	e->uid = r->uid;
	return 0;
}

int sync_date_undated(struct sync_ctx *ctx, pz_error *err)
{
	struct undated u = { .ctx = ctx };
	int ret;

	if ((ctx->flags & MAILDIR_SYNC_DATES) == 0 ||
	    ctx->hdr.counters.undated + ctx->mb->idx->delta.undated <= 0)
		return 0;
	ret = maildir_index_iter_undated(ctx->mb, undated_add, &u, err);
	if (ret == 0 && u.oom)
		ret = sync_nomem(ctx, err);
	if (ret == 0)
		maildir_stat_ents(ctx->new_fd, ctx->cur_fd, u.ents, u.n);
	for (size_t i = 0; i < u.n && ret == 0; i++) {
		const struct maildir_dirent *e = &u.ents[i];

		/* a file renamed or removed since: the next scan finds where
		 * it went, and a later sync dates it */
		if (e->st_state == MAILDIR_ST_FILE)
			ret = maildir_index_set_idate(ctx->mb, e->uid, e->mtime, err);
		else if (e->st_state == MAILDIR_ST_ERROR)
			maildir_log(PZ_LOG_WARNING, "%s: stat %s: %s",
				    ctx->mb->paths.dir, e->name, strerror(e->st_errno));
	}
	free(u.ents);
	return ret;
}
