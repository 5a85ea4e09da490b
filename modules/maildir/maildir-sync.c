/* maildir-sync.c - bring a mailbox's index up to date with its files.
 *
 * The files are the truth: a file that appears in new/ or cur/ is a new
 * message (its UID and record come from maildir-sync-new.c), a file
 * renamed with other flags changes the message's flags, a file that is
 * gone is expunged.
 * Other tools (an MDA, mutt, Dovecot) change the maildir without our lock,
 * so we notice by looking:
 *   - cheaply first: new/ and cur/ mtimes against those of the last scan.
 *     A mtime within MAILDIR_SYNC_SECS of the scan is not trusted (another
 *     change could land in the same timestamp tick), so a sync at least
 *     MAILDIR_SYNC_SECS after the scan reads the folder again, as
 *     Dovecot's does: a change by another tool in the tick of the last
 *     one may show up a second late.  Changes of our own (flags, expunges,
 *     saves, new/ to cur/) are in the index when they commit, and so is
 *     the mtime they leave (maildir_index_commit): they alone never make a
 *     sync read a folder;
 *   - then by reading the directories, under the mailbox write lock.
 *     readdir() may skip an entry renamed while it runs, so a scan is
 *     repeated until the mtimes hold still, and a message is only expunged
 *     when a second look confirms its file is gone.
 */
#include "maildir-sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCAN_ATTEMPTS 4

int sync_grow(void **arr, size_t *alloc, size_t need, size_t elem)
{
	size_t n = *alloc != 0 ? *alloc : 256;
	void *p;

	if (need <= *alloc)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return -1;
		n *= 2;
	}
	p = realloc(*arr, n * elem);
	if (p == NULL)
		return -1;
	*arr = p;
	*alloc = n;
	return 0;
}

int sync_nomem(struct sync_ctx *ctx, pz_error *err)
{
	maildir_log(PZ_LOG_ERROR, "%s: out of memory while syncing",
		    ctx->mb->paths.dir);
	return maildir_error(ctx->mb->mu, err, PZ_ERR_TEMP, "Out of memory");
}

/* ---- records of the index */

static int rec_add(void *_ctx, const struct maildir_rec *r)
{
	struct sync_ctx *ctx = _ctx;
	struct maildir_rec *c;

	if (sync_grow((void **)&ctx->recs, &ctx->recs_alloc, ctx->nrecs + 1,
		 sizeof(*ctx->recs)) < 0 ||
	    sync_grow((void **)&ctx->seen, &ctx->seen_alloc, ctx->nrecs + 1, 1) < 0) {
		ctx->oom = 1;
		return -1;
	}
	ctx->seen[ctx->nrecs] = 0;
	c = &ctx->recs[ctx->nrecs];
	*c = *r;
	c->base = HOST->pool_strdup(ctx->pool, r->base);
	c->fname = HOST->pool_strdup(ctx->pool, r->fname);
	c->kw = r->kw != NULL ? HOST->pool_strdup(ctx->pool, r->kw) : NULL;
	if (maildir_hash_put(ctx->map, c->base, strlen(c->base),
			     (uint32_t)ctx->nrecs) < 0) {
		ctx->oom = 1;
		return -1;
	}
	ctx->nrecs++;
	return 0;
}

static int recs_load(struct sync_ctx *ctx, pz_error *err)
{
	ctx->map = maildir_hash_new(ctx->scan_cur ? ctx->hdr.uidnext : 64);
	if (ctx->map == NULL)
		return sync_nomem(ctx, err);
	if (maildir_index_iter(ctx->mb, 1, UINT32_MAX, 0, !ctx->scan_cur,
			       rec_add, ctx, err) < 0)
		return -1;
	return ctx->oom ? sync_nomem(ctx, err) : 0;
}

/* ---- reading the directories */

static int read_dir(struct sync_ctx *ctx, struct maildir_dirlist *l, int in_new,
		    struct maildir_statq *q, pz_error *err)
{
	if (maildir_dirlist_read(l, in_new ? ctx->new_fd : ctx->cur_fd, in_new,
				 q) < 0) {
		if (errno == ENOMEM)
			return sync_nomem(ctx, err);
		return maildir_syserror(ctx->mb->mu, err, "getdents",
					maildir_path(ctx->pool, ctx->mb->paths.dir,
						     in_new ? "new" : "cur", NULL));
	}
	return 0;
}

static int stat_dirs(struct sync_ctx *ctx, struct stat *new_r, struct stat *cur_r,
		     pz_error *err)
{
	if (fstat(ctx->new_fd, new_r) < 0 || fstat(ctx->cur_fd, cur_r) < 0)
		return maildir_syserror(ctx->mb->mu, err, "fstat", ctx->mb->paths.dir);
	return 0;
}

/* stat_while_reading - whether to stat() files while the directories are
 * read: when the index has no record to match them against (every file is
 * new) and there is more than one batch to read */
static int stat_while_reading(struct sync_ctx *ctx)
{
	off_t dir_bytes = ctx->st_new.st_size + ctx->st_cur.st_size;

	return (ctx->flags & MAILDIR_SYNC_DATES) != 0 && ctx->nrecs == 0 &&
		dir_bytes > MAILDIR_GETDENTS_BUF_SIZE;
}

static int scan_once(struct sync_ctx *ctx, pz_error *err)
{
	struct maildir_statq *q = NULL;
	int ret = 0;

	maildir_dirlist_clear(&ctx->dl);
	if (stat_dirs(ctx, &ctx->st_new, &ctx->st_cur, err) < 0)
		return -1;
	if (stat_while_reading(ctx))
		q = maildir_statq_start(ctx->new_fd, ctx->cur_fd);
	if (ctx->scan_new)
		ret = read_dir(ctx, &ctx->dl, 1, q, err);
	if (ret == 0 && ctx->scan_cur)
		ret = read_dir(ctx, &ctx->dl, 0, q, err);
	maildir_statq_finish(&q);
	return ret;
}

/* scan - list the directories until a listing saw no concurrent change */
static int scan(struct sync_ctx *ctx, pz_error *err)
{
	struct stat new2, cur2;

	for (int attempt = 0; attempt < SCAN_ATTEMPTS; attempt++) {
		if (scan_once(ctx, err) < 0 || stat_dirs(ctx, &new2, &cur2, err) < 0)
			return -1;
		if (maildir_st_mtime_ns(&new2) == maildir_st_mtime_ns(&ctx->st_new) &&
		    maildir_st_mtime_ns(&cur2) == maildir_st_mtime_ns(&ctx->st_cur))
			break;
	}
	return 0;
}

/* ---- applying what the directories say */

/* dir_stale - whether a folder must be read: its mtime moved, or it was
 * not trusted and was last known whole MAILDIR_SYNC_SECS ago (or in the
 * future: the clock went back).  An index whose checked time is 0 (none
 * yet, or written by a version that did not keep it) reads it now. */
static int dir_stale(const struct sync_ctx *ctx, const struct stat *st,
		     int64_t mtime_ns, int trusted, int64_t checked_ns)
{
	if (maildir_st_mtime_ns(st) != mtime_ns)
		return 1;
	return !trusted && (checked_ns > ctx->start_ns ||
			    ctx->start_ns - checked_ns >=
			    (int64_t)MAILDIR_SYNC_SECS * 1000000000);
}

static int new_stale(const struct sync_ctx *ctx, const struct stat *st)
{
	return dir_stale(ctx, st, ctx->hdr.new_mtime_ns, ctx->hdr.new_trusted,
			 ctx->hdr.new_checked_ns);
}

static int cur_stale(const struct sync_ctx *ctx, const struct stat *st)
{
	return dir_stale(ctx, st, ctx->hdr.cur_mtime_ns, ctx->hdr.cur_trusted,
			 ctx->hdr.cur_checked_ns);
}

/* dirs_known - tell the open transaction that the index holds new/ and
 * cur/ as of their mtimes in the header (so changes of our own may
 * record theirs) */
static void dirs_known(struct sync_ctx *ctx)
{
	struct maildir_hdr *h = &ctx->hdr;

	maildir_index_dir_known(ctx->mb, MAILDIR_NEW, h->new_trusted ?
				ctx->start_ns : h->new_checked_ns);
	maildir_index_dir_known(ctx->mb, MAILDIR_CUR, h->cur_trusted ?
				ctx->start_ns : h->cur_checked_ns);
}

int sync_dir_fd(struct sync_ctx *ctx, int in_new)
{
	return in_new ? ctx->new_fd : ctx->cur_fd;
}

char *sync_move_to_cur(struct sync_ctx *ctx, const char *name)
{
	struct maildir_fname f;
	char *dest;

	maildir_fname_parse(name, &f);
	dest = maildir_fname_build(ctx->pool, f.base, f.base_len, f.flags,
				   f.kw_letters, f.unknown, f.tail);
	if (renameat(ctx->new_fd, name, ctx->cur_fd, dest) < 0)
		return NULL;
	maildir_index_dir_touched(ctx->mb, MAILDIR_NEW);
	maildir_index_dir_touched(ctx->mb, MAILDIR_CUR);
	return dest;
}

/* rec_apply_name - what a file name says about a known record */
static int rec_apply_name(struct sync_ctx *ctx, struct maildir_rec *r,
			  const char *name, int in_new, pz_error *err)
{
	struct maildir_fname f;
	uint32_t flags, old_flags = r->flags;
	char *kw;

	maildir_fname_parse(name, &f);
	flags = f.flags;
	kw = maildir_kw_from_letters(ctx->pool, &ctx->mb->kw, f.kw_letters, r->kw);
	if (flags == r->flags && maildir_kw_equal(kw, r->kw) &&
	    in_new == r->in_new && strcmp(name, r->fname) == 0)
		return 0;
	if (flags != r->flags || !maildir_kw_equal(kw, r->kw))
		r->modseq = ++ctx->hdr.highestmodseq;
	r->flags = flags;
	r->kw = kw;
	r->fname = HOST->pool_strdup(ctx->pool, name);
	r->in_new = in_new;
	return maildir_index_update(ctx->mb, r, old_flags, err);
}

/* same_inode - whether two directory entries are links to one file */
static int same_inode(struct sync_ctx *ctx, const struct maildir_rec *r,
		      const struct maildir_dirent *e)
{
	struct stat a, b;

	return fstatat(sync_dir_fd(ctx, r->in_new), r->fname, &a, 0) == 0 &&
		fstatat(sync_dir_fd(ctx, e->in_new), e->name, &b, 0) == 0 &&
		a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* duplicate - a second file with a known base: a leftover link of the same
 * file is removed, a different file gets a base of its own */
static int duplicate(struct sync_ctx *ctx, struct maildir_rec *r,
		     struct maildir_dirent *e, int *fresh_r)
{
	struct maildir_fname f;
	char *base, *dest;

	*fresh_r = 0;
	if (same_inode(ctx, r, e)) {
		if (unlinkat(sync_dir_fd(ctx, e->in_new), e->name, 0) < 0) {
			if (errno != ENOENT)
				return -1;
			return 0;
		}
		maildir_index_dir_touched(ctx->mb, e->in_new ? MAILDIR_NEW :
					  MAILDIR_CUR);
		return 0;
	}
	maildir_fname_parse(e->name, &f);
	base = maildir_unique_base(ctx->pool);
	dest = f.has_info ? maildir_fname_build(ctx->pool, base, strlen(base),
						f.flags, f.kw_letters, f.unknown,
						f.tail) : base;
	maildir_log(PZ_LOG_WARNING, "%s: duplicate file %s renamed to %s",
		    ctx->mb->paths.dir, e->name, dest);
	if (renameat(sync_dir_fd(ctx, e->in_new), e->name, sync_dir_fd(ctx, e->in_new),
		     dest) < 0)
		return -1;
	maildir_index_dir_touched(ctx->mb, e->in_new ? MAILDIR_NEW : MAILDIR_CUR);
	e->name = dest;
	e->base_len = maildir_fname_base_len(dest);
	e->st_state = MAILDIR_ST_NONE;
	*fresh_r = 1;
	return 0;
}

static int add_fresh(struct sync_ctx *ctx, const struct maildir_dirent *e,
		     pz_error *err)
{
	if (sync_grow((void **)&ctx->fresh, &ctx->fresh_alloc, ctx->nfresh + 1,
		 sizeof(*ctx->fresh)) < 0)
		return sync_nomem(ctx, err);
	ctx->fresh[ctx->nfresh++] = *e;
	return 0;
}

/* lookup_rec - the record of an entry's base; 1 when there is none, 2
 * when only new/ is read and the record is of a file in cur/ (a link of
 * it, or a file moved back: only a full scan tells which) */
static int lookup_rec(struct sync_ctx *ctx, const struct maildir_dirent *e,
		      uint32_t *ri_r, pz_error *err)
{
	struct maildir_rec r;
	char *base;
	int ret;

	if (maildir_hash_get(ctx->map, e->name, e->base_len, ri_r))
		return 0;
	if (ctx->scan_cur)
		return 1;
	/* only new/ records were loaded: ask for the others */
	base = HOST->pool_strndup(ctx->pool, e->name, e->base_len);
	ret = maildir_index_get_by_base(ctx->mb, base, ctx->pool, &r, err);
	if (ret != 0)
		return ret;
	if (!r.in_new)
		return 2;
	if (rec_add(ctx, &r) < 0)
		return sync_nomem(ctx, err);
	*ri_r = (uint32_t)ctx->nrecs - 1;
	return 0;
}

/* match_entries - pair directory entries with records.  Entries where the
 * index last saw them go first, so when a base shows up twice the file
 * the index knows keeps its UID and the other one is the duplicate. */
static int match_entries(struct sync_ctx *ctx, pz_error *err)
{
	size_t nents = ctx->dl.count;
	unsigned char *done = calloc(nents + 1, 1);
	int ret = 0;

	if (done == NULL)
		return sync_nomem(ctx, err);
	for (size_t i = 0; i < nents && ret == 0; i++) {
		struct maildir_dirent *e = ctx->dl.ents[i];
		uint32_t ri;

		ret = lookup_rec(ctx, e, &ri, err);
		if (ret == 2) {
			ctx->full = 1;
			ret = 0;
			break;
		}
		if (ret > 0) {
			ret = add_fresh(ctx, e, err);
			done[i] = 1;
		} else if (ret == 0 && !ctx->seen[ri] &&
			   e->in_new == ctx->recs[ri].in_new &&
			   strcmp(e->name, ctx->recs[ri].fname) == 0) {
			ctx->seen[ri] = 1;
			done[i] = 1;
		}
	}
	for (size_t i = 0; i < nents && ret == 0 && !ctx->full; i++) {
		struct maildir_dirent *e = ctx->dl.ents[i];
		uint32_t ri;
		int fresh;

		if (done[i])
			continue;
		ret = lookup_rec(ctx, e, &ri, err);
		if (ret == 2) {
			ctx->full = 1;
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if (!ctx->seen[ri]) {
			ctx->seen[ri] = 1;
			ret = rec_apply_name(ctx, &ctx->recs[ri], e->name, e->in_new,
					     err);
			continue;
		}
		if (duplicate(ctx, &ctx->recs[ri], e, &fresh) < 0) {
			ret = maildir_syserror(ctx->mb->mu, err, "rename", e->name);
			break;
		}
		if (fresh)
			ret = add_fresh(ctx, e, err);
	}
	free(done);
	return ret < 0 ? -1 : 0;
}

/* confirm_missing - look once more for files of records not seen; the
 * ones still missing are expunged */
static int confirm_missing(struct sync_ctx *ctx, pz_error *err)
{
	struct maildir_dirlist again = { 0 };
	size_t missing = 0;
	int ret;

	for (size_t i = 0; i < ctx->nrecs; i++)
		missing += !ctx->seen[i];
	if (missing == 0)
		return 0;
	/* a list of its own: the fresh entries point into ctx->dl */
	ret = read_dir(ctx, &again, 1, NULL, err);
	if (ret == 0)
		ret = read_dir(ctx, &again, 0, NULL, err);
	for (size_t i = 0; i < again.count && ret == 0; i++) {
		struct maildir_dirent *e = again.ents[i];
		uint32_t ri;

		if (maildir_hash_get(ctx->map, e->name, e->base_len, &ri) &&
		    !ctx->seen[ri]) {
			ctx->seen[ri] = 1;
			ret = rec_apply_name(ctx, &ctx->recs[ri], e->name, e->in_new,
					     err);
		}
	}
	maildir_dirlist_free(&again);
	for (size_t i = 0; i < ctx->nrecs && ret == 0; i++) {
		/* maildirsize is the remover's to update (Maildir++) */
		if (!ctx->seen[i])
			ret = maildir_index_expunge(ctx->mb, &ctx->recs[i],
						    ++ctx->hdr.highestmodseq, err);
	}
	return ret;
}

/* move_known_new - RW sessions move files that stay in new/ to cur/ */
static int move_known_new(struct sync_ctx *ctx, pz_error *err)
{
	for (size_t i = 0; i < ctx->nrecs; i++) {
		struct maildir_rec *r = &ctx->recs[i];
		char *dest;

		if (!ctx->seen[i] || !r->in_new)
			continue;
		dest = sync_move_to_cur(ctx, r->fname);
		if (dest == NULL)
			continue; /* changed under us: the next sync sees it */
		r->fname = dest;
		r->in_new = 0;
		if (maildir_index_update(ctx->mb, r, r->flags, err) < 0)
			return -1;
	}
	return 0;
}

static void clean_tmp(struct sync_ctx *ctx)
{
	char *tmp = maildir_path(ctx->pool, ctx->mb->paths.dir, "tmp", NULL);
	time_t now = time(NULL);
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	ctx->hdr.tmp_cleaned = now;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && st.st_ctime < now - MAILDIR_TMP_STALE_SECS &&
		    st.st_mtime < now - MAILDIR_TMP_STALE_SECS)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int trusted(struct sync_ctx *ctx, const struct stat *st)
{
	return maildir_st_mtime_ns(st) + (int64_t)MAILDIR_SYNC_SECS * 1000000000 <
		ctx->start_ns;
}

static int has_new_recs(void *ctx, const struct maildir_rec *r)
{
	*(int *)ctx = 1;
	return 1;
}

/* decide - which directories need a scan, under the lock */
static int decide(struct sync_ctx *ctx, pz_error *err)
{
	int force = (ctx->flags & MAILDIR_SYNC_FORCE) != 0;
	int pending_new = 0;

	if (stat_dirs(ctx, &ctx->st_new, &ctx->st_cur, err) < 0)
		return -1;
	ctx->scan_new = force || new_stale(ctx, &ctx->st_new);
	ctx->scan_cur = force || cur_stale(ctx, &ctx->st_cur);
	if (!ctx->scan_new && (ctx->flags & MAILDIR_SYNC_MOVE_NEW) != 0) {
		if (maildir_index_iter(ctx->mb, 0, 0, 0, 1, has_new_recs,
				       &pending_new, err) < 0)
			return -1;
		ctx->scan_new = pending_new;
	}
	return 0;
}

/* sync_scan - scan what decide() chose and apply it to the index */
static int sync_scan(struct sync_ctx *ctx, pz_error *err)
{
	size_t missing = 0;

	if (recs_load(ctx, err) < 0 || scan(ctx, err) < 0 ||
	    match_entries(ctx, err) < 0)
		return -1;
	for (size_t i = 0; i < ctx->nrecs; i++)
		missing += !ctx->seen[i];
	if ((missing > 0 || ctx->full) && !ctx->scan_cur) {
		/* a file left new/, or a file of cur/ showed up in new/: only
		 * a full scan tells what happened */
		ctx->full = 0;
		ctx->scan_new = ctx->scan_cur = 1;
		ctx->nfresh = 0;
		ctx->nrecs = 0;
		maildir_hash_free(&ctx->map);
		return sync_scan(ctx, err);
	}
	if (confirm_missing(ctx, err) < 0 || sync_index_new(ctx, err) < 0)
		return -1;
	if ((ctx->flags & MAILDIR_SYNC_MOVE_NEW) != 0 && move_known_new(ctx, err) < 0)
		return -1;
	if (ctx->scan_new) {
		ctx->hdr.new_mtime_ns = maildir_st_mtime_ns(&ctx->st_new);
		ctx->hdr.new_trusted = trusted(ctx, &ctx->st_new);
		ctx->hdr.new_checked_ns = ctx->start_ns;
	}
	if (ctx->scan_cur) {
		ctx->hdr.cur_mtime_ns = maildir_st_mtime_ns(&ctx->st_cur);
		ctx->hdr.cur_trusted = trusted(ctx, &ctx->st_cur);
		ctx->hdr.cur_checked_ns = ctx->start_ns;
	}
	return 0;
}

static int sync_locked(struct sync_ctx *ctx, pz_error *err)
{
	struct maildir_mbox *mb = ctx->mb;

	if (maildir_index_hdr_get(mb, &ctx->hdr, err) < 0)
		return -1;
	if (ctx->hdr.uidvalidity == 0) {
		/* a new index: keep the UIDs another server gave */
		if (maildir_uidlist_read(mb, ctx->pool, &ctx->uidmap) == 0) {
			ctx->hdr.uidvalidity = maildir_uidmap_uidvalidity(ctx->uidmap);
			ctx->hdr.uidnext = maildir_uidmap_uidnext(ctx->uidmap);
		} else {
			ctx->hdr.uidvalidity = maildir_uidvalidity_next(mb->mu);
		}
		if (ctx->hdr.uidnext == 0)
			ctx->hdr.uidnext = 1;
		ctx->hdr.first_recent_uid = ctx->hdr.uidnext;
		ctx->flags |= MAILDIR_SYNC_FORCE;
		ctx->importing = 1;
	}
	if (maildir_index_keywords_load(mb, err) < 0 ||
	    maildir_keywords_sync_file(mb, &ctx->hdr, err) < 0 ||
	    decide(ctx, err) < 0)
		return -1;
	if ((ctx->scan_new || ctx->scan_cur) && sync_scan(ctx, err) < 0)
		return -1;
	if (sync_date_undated(ctx, err) < 0)
		return -1;
	if (ctx->hdr.tmp_cleaned + MAILDIR_TMP_CLEAN_INTERVAL < time(NULL)) {
		struct maildir_hdr h;

		clean_tmp(ctx);
		if (maildir_index_hdr_set(mb, &ctx->hdr, err) < 0 ||
		    maildir_index_prune_expunged(mb, err) < 0 ||
		    maildir_index_hdr_get(mb, &h, err) < 0)
			return -1;
		ctx->hdr.expunge_floor = h.expunge_floor;
	}
	dirs_known(ctx);
	return maildir_index_hdr_set(mb, &ctx->hdr, err);
}

/* quick_check - 1 when the directories may have changed since the index
 * last looked, 2 when they did not but files wait in new/ for a session
 * that moves them or records for their dates, 0 when none of that;
 * without the lock */
static int quick_check(struct sync_ctx *ctx, pz_error *err)
{
	struct stat st_new, st_cur;
	int pending_new = 0;

	if (maildir_index_hdr_get(ctx->mb, &ctx->hdr, err) < 0)
		return -1;
	if (ctx->hdr.uidvalidity == 0)
		return 1;
	if (stat_dirs(ctx, &st_new, &st_cur, err) < 0)
		return -1;
	if (new_stale(ctx, &st_new) || cur_stale(ctx, &st_cur))
		return 1;
	if ((ctx->flags & MAILDIR_SYNC_DATES) != 0 && ctx->hdr.counters.undated > 0)
		return 2;
	if ((ctx->flags & MAILDIR_SYNC_MOVE_NEW) != 0 &&
	    maildir_index_iter(ctx->mb, 0, 0, 0, 1, has_new_recs, &pending_new,
			       err) < 0)
		return -1;
	return pending_new ? 2 : 0;
}

static int open_dirs(struct sync_ctx *ctx, pz_error *err)
{
	char *p = maildir_path(ctx->pool, ctx->mb->paths.dir, "new", NULL);

	ctx->new_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->new_fd >= 0) {
		p = maildir_path(ctx->pool, ctx->mb->paths.dir, "cur", NULL);
		ctx->cur_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (ctx->new_fd < 0 || ctx->cur_fd < 0) {
		if (errno == ENOENT)
			return maildir_error(ctx->mb->mu, err, PZ_ERR_NOT_FOUND,
					     "Mailbox does not exist: %s",
					     ctx->mb->paths.name);
		return maildir_syserror(ctx->mb->mu, err, "open", p);
	}
	return 0;
}

static void sync_ctx_free(struct sync_ctx *ctx)
{
	if (ctx->new_fd >= 0)
		close(ctx->new_fd);
	if (ctx->cur_fd >= 0)
		close(ctx->cur_fd);
	maildir_hash_free(&ctx->map);
	free(ctx->recs);
	free(ctx->seen);
	maildir_dirlist_free(&ctx->dl);
	free(ctx->fresh);
	HOST->pool_destroy(&ctx->pool);
}

/* sync_once - one sync; under the caller's lock, or in a transaction of
 * its own that is durable when `durable`.  1 when it gave out UIDs in a
 * transaction that was not durable and rolled back: the caller syncs
 * again, durable. */
static int sync_once(struct maildir_mbox *mb, unsigned int flags, int durable,
		     pz_error *err)
{
	struct sync_ctx ctx = {
		.mb = mb, .flags = flags | mb->sync_flags, .new_fd = -1, .cur_fd = -1,
	};
	int locked = (flags & MAILDIR_SYNC_LOCKED) != 0, ret;

	ctx.pool = HOST->pool_create("maildir sync");
	ctx.start_ns = maildir_now_ns();
	ret = open_dirs(&ctx, err);
	if (ret == 0 && !locked && !durable && (ctx.flags & MAILDIR_SYNC_FORCE) == 0)
		ret = quick_check(&ctx, err);
	else if (ret == 0)
		ret = 1;
	if (ret <= 0) {
		sync_ctx_free(&ctx);
		return ret;
	}
	/* when the folders changed, this sync may give out UIDs, and a UID
	 * must not be visible to another session before it is durable: the
	 * commit syncs the WAL before it is published (FULL), not after.
	 * Dating records or moving their files out of new/ gives out none;
	 * should the folders have changed since quick_check() all the same,
	 * the transaction is undone and the sync done again, durable. */
	if (!locked && maildir_index_begin(mb, durable || ret == 1, err) < 0) {
		sync_ctx_free(&ctx);
		return -1;
	}
	ret = sync_locked(&ctx, err);
	if (!locked) {
		if (ret == 0 && mb->idx->inserted && !mb->idx->durable &&
		    maildir_set.fsync) {
			maildir_index_rollback(mb);
			ret = 1;
		} else if (ret < 0) {
			maildir_index_rollback(mb);
		} else {
			ret = maildir_index_commit(mb, err);
		}
	}
	sync_ctx_free(&ctx);
	return ret;
}

int maildir_sync_disk(struct maildir_mbox *mb, unsigned int flags, pz_error *err)
{
	int ret = sync_once(mb, flags, 0, err);

	if (ret > 0)
		ret = sync_once(mb, flags, 1, err);
	return ret;
}

int maildir_sync_dirs_known(struct maildir_mbox *mb, pz_error *err)
{
	struct sync_ctx ctx = { .mb = mb, .new_fd = -1, .cur_fd = -1 };
	struct stat st_new, st_cur;
	char *p;
	int ret;

	ctx.pool = HOST->pool_create("maildir dirs known");
	ctx.start_ns = maildir_now_ns();
	ret = maildir_index_hdr_get(mb, &ctx.hdr, err);
	p = maildir_path(ctx.pool, mb->paths.dir, "new", NULL);
	if (ret == 0 && ctx.hdr.uidvalidity != 0 && stat(p, &st_new) == 0 &&
	    stat(maildir_path(ctx.pool, mb->paths.dir, "cur", NULL), &st_cur) == 0 &&
	    !new_stale(&ctx, &st_new) && !cur_stale(&ctx, &st_cur))
		dirs_known(&ctx);
	HOST->pool_destroy(&ctx.pool);
	return ret;
}

/* ---- finding a message's file after another tool renamed it */

static int find_in(const char *dir, const char *base, size_t blen, pz_pool *pool,
		   char **fname_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (maildir_fname_base_len(de->d_name) == blen &&
		    memcmp(de->d_name, base, blen) == 0) {
			*fname_r = HOST->pool_strdup(pool, de->d_name);
			closedir(d);
			return 1;
		}
	}
	closedir(d);
	return 0;
}

int maildir_sync_find_file(struct maildir_mbox *mb, const char *base,
			   pz_pool *pool, char **fname_r, int *in_new_r,
			   pz_error *err)
{
	size_t blen = strlen(base);

	for (int in_new = 0; in_new <= 1; in_new++) {
		char *dir = maildir_path(pool, mb->paths.dir, in_new ? "new" : "cur",
					 NULL);
		int ret = find_in(dir, base, blen, pool, fname_r);

		if (ret < 0)
			return maildir_syserror(mb->mu, err, "opendir", dir);
		if (ret > 0) {
			*in_new_r = in_new;
			return 0;
		}
	}
	return 1;
}

int maildir_open_rec(struct maildir_mbox *mb, struct maildir_rec *r,
		     pz_pool *pool, pz_error *err)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		char *path = maildir_path(pool, mb->paths.dir,
					  r->in_new ? "new" : "cur", r->fname);
		int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

		if (fd >= 0)
			return fd;
		if (errno != ENOENT)
			return maildir_syserror(mb->mu, err, "open", path);
		ret = maildir_sync_find_file(mb, r->base, pool, &r->fname, &r->in_new,
					     err);
		if (ret < 0)
			return -1;
		if (ret > 0)
			break;
	}
	return maildir_error(mb->mu, err, PZ_ERR_NOT_FOUND,
			     "Message was expunged");
}
