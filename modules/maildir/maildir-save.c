/* maildir-save.c - delivery, APPEND, COPY and MOVE.
 *
 * A save writes the message to tmp/<unique> (CRLF turned into LF, as mail
 * on disk has it), fsyncs it, then, under the mailbox lock, links it into
 * new/ (or cur/ when it has flags) as "<unique>,S=<size>,W=<rfc822 size>",
 * fsyncs the folder, and records the UID in the index with a durable
 * commit.  A crash before the link leaves only a tmp/ file (cleaned after
 * 36 hours); after it, the whole message is there once and the next sync
 * gives it a UID if the commit did not happen.  A UID is only ever taken
 * by a commit, so none is reused.
 *
 * COPY hard-links the files (one copy on disk) and falls back to copying
 * the bytes; MOVE renames them from one folder to the other, holding both
 * mailbox locks (taken in path order, so two moves cannot deadlock): a
 * message is never in both mailboxes, and never in none.
 */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SAVE_BUF_SIZE 65536

struct pz_save {
	struct pz_mailbox *box;
	pz_pool *pool;
	int fd;
	char *base;
	char *tmp_path;
	unsigned char *buf;
	size_t buflen;
	int pending_cr;
	unsigned char last;
	uint64_t psize, vsize;
	uint32_t flags;
	const char **keywords;
	size_t keyword_count;
	time_t idate;
	int idate_tz;
};

static int local_tz_minutes(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

static void save_free(struct pz_save **_save)
{
	struct pz_save *save = *_save;
	pz_pool *pool;

	if (save == NULL)
		return;
	*_save = NULL;
	if (save->fd >= 0)
		close(save->fd);
	if (save->tmp_path != NULL)
		unlink(save->tmp_path);
	pool = save->pool;
	HOST->pool_destroy(&pool);
}

static int check_target(pz_mailbox *box, pz_error *err)
{
	if ((box->open_flags & PZ_OPEN_READONLY) != 0)
		return maildir_error(box->mb.mu, err, PZ_ERR_PERM,
				     "Mailbox is read-only");
	return 0;
}

int maildir_save_begin(pz_mailbox *box, const struct pz_save_args *args,
		       pz_save **save_r, pz_error *err)
{
	struct pz_mail_user *mu = box->mb.mu;
	struct pz_save *save;
	pz_pool *pool;

	if (check_target(box, err) < 0)
		return -1;
	if (args->expected_size > 0 &&
	    maildir_quota_check(mu, args->expected_size, 1, err) < 0)
		return -1;
	for (size_t i = 0; i < args->keyword_count; i++) {
		if (!maildir_keyword_valid(args->keywords[i]))
			return maildir_error(mu, err, PZ_ERR_PARAMS, "Invalid keyword");
	}
	pool = HOST->pool_create("maildir save");
	save = HOST->pool_alloc(pool, sizeof(*save));
	save->pool = pool;
	save->box = box;
	save->fd = -1;
	save->buf = HOST->pool_alloc(pool, SAVE_BUF_SIZE);
	save->flags = args->flags & MAILDIR_PZ_FLAGS;
	save->keyword_count = args->keyword_count;
	save->keywords = HOST->pool_alloc(pool, (args->keyword_count + 1) *
					  sizeof(char *));
	for (size_t i = 0; i < args->keyword_count; i++)
		save->keywords[i] = HOST->pool_strdup(pool, args->keywords[i]);
	save->idate = args->internal_date != 0 ? args->internal_date : time(NULL);
	save->idate_tz = args->internal_date != 0 ? args->internal_date_tz
		: local_tz_minutes(save->idate);
	save->base = maildir_unique_base(pool);
	save->tmp_path = maildir_path(pool, box->mb.paths.dir, "tmp", save->base);
	save->fd = open(save->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (save->fd < 0) {
		/* the error names the path: report it before the pool goes */
		int ret = maildir_syserror(mu, err, "create", save->tmp_path);

		save->tmp_path = NULL;
		save_free(&save);
		return ret;
	}
	*save_r = save;
	return 0;
}

static int save_flush(struct pz_save *save, pz_error *err)
{
	size_t off = 0;

	while (off < save->buflen) {
		ssize_t n = write(save->fd, save->buf + off, save->buflen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return maildir_syserror(save->box->mb.mu, err, "write",
						save->tmp_path);
		off += (size_t)n;
	}
	save->buflen = 0;
	return 0;
}

static int save_out(struct pz_save *save, unsigned char c, pz_error *err)
{
	if (save->buflen == SAVE_BUF_SIZE && save_flush(save, err) < 0)
		return -1;
	save->buf[save->buflen++] = c;
	save->psize++;
	save->vsize += c == '\n' && save->last != '\r' ? 2 : 1;
	save->last = c;
	return 0;
}

int maildir_save_write(pz_save *save, const void *data, size_t len, pz_error *err)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (save->pending_cr) {
			save->pending_cr = 0;
			if (c == '\n') {
				if (save_out(save, '\n', err) < 0)
					return -1;
				continue;
			}
			if (save_out(save, '\r', err) < 0)
				return -1;
		}
		if (c == '\r') {
			save->pending_cr = 1;
			continue;
		}
		if (save_out(save, c, err) < 0)
			return -1;
	}
	return 0;
}

void maildir_save_abort(pz_save **save)
{
	save_free(save);
}

/* ---- placing a file into a mailbox, under its lock */

struct placed {
	char **paths;
	size_t count, alloc;
	pz_pool *pool;
};

static void placed_add(struct placed *p, const char *path)
{
	if (p->count == p->alloc) {
		size_t na = p->alloc != 0 ? p->alloc * 2 : 16;
		p->paths = HOST->pool_realloc(p->pool, p->paths,
					      p->alloc * sizeof(char *),
					      na * sizeof(char *));
		p->alloc = na;
	}
	p->paths[p->count++] = HOST->pool_strdup(p->pool, path);
}

/* placed_undo - remove files linked in before a failed commit */
static void placed_undo(struct placed *p)
{
	for (size_t i = 0; i < p->count; i++)
		unlink(p->paths[i]);
	p->count = 0;
}

enum place_mode { PLACE_LINK, PLACE_RENAME };

struct place_args {
	const char *src;        /* file to link or rename */
	uint64_t psize, vsize;
	uint32_t flags;
	const char *kw;         /* keyword ids in the target */
	int64_t idate;
	int32_t idate_tz;
	enum place_mode mode;
};

/* copy_bytes - fallback when a link is impossible: copy into tmp/ */
static int copy_bytes(struct maildir_mbox *mb, const char *src, const char *tmp,
		      pz_error *err)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	struct stat st;

	if (in < 0)
		return -1;
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0 || fstat(in, &st) < 0) {
		int e = errno;
		close(in);
		if (out >= 0)
			close(out);
		errno = e;
		return -1;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), w = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				w = -1;
			if (w == 0 && maildir_set.fsync && fsync(out) < 0)
				w = -1;
			struct timespec ts[2] = { st.st_atim, st.st_mtim };
			futimens(out, ts);
			close(in);
			if (close(out) < 0)
				w = -1;
			if (w < 0)
				unlink(tmp);
			return w < 0 ? -1 : 0;
		}
		while (w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				int e = errno;
				close(in);
				close(out);
				unlink(tmp);
				errno = e;
				return -1;
			}
			w += k;
		}
	}
}

/* place - put a file into `mb` under a fresh name and index it with the
 * next UID.  Returns 0 with *uid_r, 1 when the source file is gone. */
static int place(struct maildir_mbox *mb, struct maildir_hdr *h,
		 const struct place_args *a, struct placed *placed,
		 uint32_t *uid_r, pz_pool *pool, pz_error *err)
{
	int in_new = a->flags == 0 && (a->kw == NULL || *a->kw == '\0');
	struct maildir_rec r = { 0 };
	char *path = NULL;

	if (h->uidnext == UINT32_MAX)
		return maildir_error(mb->mu, err, PZ_ERR_PERM,
				     "Mailbox has run out of UIDs");
	for (int attempt = 0; attempt < 8; attempt++) {
		int ret;

		r.base = HOST->pool_printf(pool, "%s,S=%llu,W=%llu",
					   maildir_unique_base(pool),
					   (unsigned long long)a->psize,
					   (unsigned long long)a->vsize);
		r.fname = in_new ? r.base :
			maildir_fname_build(pool, r.base, strlen(r.base), a->flags,
					    maildir_kw_letters(a->kw), NULL, NULL);
		path = maildir_path(pool, mb->paths.dir, in_new ? "new" : "cur",
				    r.fname);
		if (a->mode == PLACE_RENAME) {
			/* the fresh name is unique: no file can be overwritten */
			ret = rename(a->src, path);
		} else {
			ret = link(a->src, path);
			if (ret < 0 && (errno == EXDEV || errno == EPERM ||
					errno == EMLINK || errno == ENOTSUP)) {
				char *tmp = maildir_path(pool, mb->paths.dir, "tmp",
							 maildir_unique_base(pool));
				if (copy_bytes(mb, a->src, tmp, err) < 0) {
					if (errno == ENOENT)
						return 1;
					return maildir_syserror(mb->mu, err, "copy", a->src);
				}
				ret = link(tmp, path);
				int e = errno;
				unlink(tmp);
				errno = e;
			}
		}
		if (ret == 0)
			break;
		if (errno == ENOENT && access(a->src, F_OK) < 0)
			return 1;
		if (errno != EEXIST)
			return maildir_syserror(mb->mu, err,
						a->mode == PLACE_RENAME ? "rename" : "link",
						path);
		path = NULL;
	}
	if (path == NULL)
		return maildir_error(mb->mu, err, PZ_ERR_TEMP,
				     "Could not find a unique file name");
	if (a->mode == PLACE_LINK)
		placed_add(placed, path);
	maildir_index_dir_touched(mb, in_new ? MAILDIR_NEW : MAILDIR_CUR);
	r.uid = h->uidnext;
	r.in_new = in_new;
	r.flags = a->flags;
	r.kw = (char *)a->kw;
	r.modseq = ++h->highestmodseq;
	r.psize = a->psize;
	r.vsize = a->vsize;
	r.idate = a->idate;
	r.idate_tz = a->idate_tz;
	if (maildir_index_insert(mb, &r, err) < 0)
		return -1;
	h->uidnext++;
	*uid_r = r.uid;
	return 0;
}

/* target_kw - keyword ids in `mb` for names (adding them; under lock) */
static int target_kw(struct maildir_mbox *mb, const char *const *names, size_t n,
		     pz_pool *pool, char **kw_r, pz_error *err)
{
	uint32_t *ids = HOST->pool_alloc(pool, (n + 1) * sizeof(*ids));

	for (size_t i = 0; i < n; i++) {
		if (maildir_keyword_get(mb, names[i], &ids[i], err) < 0)
			return -1;
	}
	*kw_r = maildir_kw_apply(pool, NULL, ids, n, PZ_STORE_ADD);
	return 0;
}

static int fsync_target_dirs(struct maildir_mbox *mb, pz_pool *pool)
{
	if (maildir_fsync_dir(maildir_path(pool, mb->paths.dir, "new", NULL)) < 0 ||
	    maildir_fsync_dir(maildir_path(pool, mb->paths.dir, "cur", NULL)) < 0)
		return -1;
	return 0;
}

int maildir_save_commit(pz_save **_save, uint32_t *uid_r, pz_error *err)
{
	struct pz_save *save = *_save;
	struct maildir_mbox *mb = &save->box->mb;
	struct placed placed = { .pool = save->pool };
	struct place_args a = { 0 };
	struct maildir_hdr h;
	struct maildir_dir_sync dsync = { .dir = NULL };
	char *kw = NULL;
	int ret;

	if (save->pending_cr && save_out(save, '\r', err) < 0)
		goto fail;
	save->pending_cr = 0;
	if (save_flush(save, err) < 0)
		goto fail;
	if (maildir_set.fsync && fsync(save->fd) < 0) {
		maildir_syserror(mb->mu, err, "fsync", save->tmp_path);
		goto fail;
	}
	struct timespec ts[2] = { { save->idate, 0 }, { save->idate, 0 } };
	if (futimens(save->fd, ts) < 0 || close(save->fd) < 0) {
		save->fd = -1;
		maildir_syserror(mb->mu, err, "close", save->tmp_path);
		goto fail;
	}
	save->fd = -1;
	if (maildir_quota_check(mb->mu, save->psize, 1, err) < 0)
		goto fail;
	if (maildir_index_begin(mb, 1, err) < 0)
		goto fail;
	if (maildir_sync_dirs_known(mb, err) < 0) {
		maildir_index_rollback(mb);
		goto fail;
	}
	a.src = save->tmp_path;
	a.psize = save->psize;
	a.vsize = save->vsize;
	a.flags = save->flags;
	a.idate = save->idate;
	a.idate_tz = save->idate_tz;
	a.mode = PLACE_LINK;
	ret = maildir_index_keywords_load(mb, err);
	if (ret == 0)
		ret = target_kw(mb, save->keywords, save->keyword_count, save->pool,
				&kw, err);
	a.kw = kw;
	if (ret == 0)
		ret = maildir_index_hdr_get(mb, &h, err);
	if (ret == 0)
		ret = place(mb, &h, &a, &placed, uid_r, save->pool, err);
	if (ret > 0)
		ret = maildir_error(mb->mu, err, PZ_ERR_TEMP,
				    "Message file vanished before it was saved");
	/* the new name must be durable too: the folder it is in is fsynced
	 * while the index commits (and syncs its WAL); the reply waits for
	 * both.  Should the folder's sync fail after the commit, the file goes
	 * again and its UID is left unused (the next sync expunges it). */
	if (ret == 0)
		maildir_dir_sync_start(&dsync, maildir_path(save->pool, mb->paths.dir,
							    a.flags == 0 && kw == NULL ?
							    "new" : "cur", NULL));
	if (ret == 0)
		ret = maildir_index_hdr_set(mb, &h, err);
	if (ret == 0)
		ret = maildir_index_commit(mb, err);
	else
		maildir_index_rollback(mb);
	if (dsync.dir != NULL && maildir_dir_sync_finish(&dsync) < 0 && ret == 0)
		ret = maildir_syserror(mb->mu, err, "fsync", dsync.dir);
	if (ret < 0) {
		placed_undo(&placed);
		goto fail;
	}
	maildir_quota_update(mb->mu, (int64_t)save->psize, 1);
	save_free(_save);
	return 0;
fail:
	save_free(_save);
	return -1;
}

/* ---- copy and move */

struct xfer {
	pz_mailbox *src, *dest;
	int move;
	pz_pool *pool;
	struct placed placed;
	struct maildir_hdr sh, dh;
	uint64_t bytes, count;
	pz_uid_array *src_uids_r, *dest_uids_r;
};

static int xfer_one(struct xfer *x, uint32_t uid, pz_error *err)
{
	struct maildir_mbox *smb = &x->src->mb, *dmb = &x->dest->mb;
	struct place_args a = { 0 };
	struct maildir_rec r;
	const char **names;
	size_t n;
	char *kw;
	uint32_t new_uid;
	int ret = maildir_index_get(smb, uid, x->pool, &r, err);

	if (ret != 0)
		return ret;
	names = maildir_kw_names(x->pool, &smb->kw, r.kw, &n, 1);
	if (target_kw(dmb, names, n, x->pool, &kw, err) < 0)
		return -1;
	a.psize = r.psize;
	a.vsize = r.vsize;
	a.flags = r.flags;
	a.kw = kw;
	a.idate = r.idate;
	a.idate_tz = r.idate_tz;
	a.mode = x->move ? PLACE_RENAME : PLACE_LINK;
	for (int attempt = 0; attempt < 2; attempt++) {
		a.src = maildir_path(x->pool, smb->paths.dir, r.in_new ? "new" : "cur",
				     r.fname);
		ret = place(dmb, &x->dh, &a, &x->placed, &new_uid, x->pool, err);
		if (ret <= 0)
			break;
		/* renamed by another tool since the index saw it? */
		ret = maildir_sync_find_file(smb, r.base, x->pool, &r.fname,
					     &r.in_new, err);
		if (ret != 0)
			return ret;
		ret = 1;
	}
	if (ret != 0)
		return ret;
	if (x->move && maildir_index_expunge(smb, &r, ++x->sh.highestmodseq,
					     err) < 0)
		return -1;
	x->bytes += r.psize;
	x->count++;
	if (x->src_uids_r != NULL)
		HOST->uid_array_add(x->src_uids_r, uid);
	if (x->dest_uids_r != NULL)
		HOST->uid_array_add(x->dest_uids_r, new_uid);
	return 0;
}

/* xfer_lock - lock the mailboxes involved, in index path order */
static int xfer_lock(struct xfer *x, pz_error *err)
{
	struct maildir_mbox *a = &x->src->mb, *b = &x->dest->mb;

	if (!x->move) {
		/* a copy reads the source without its lock */
		return maildir_index_begin(b, 1, err);
	}
	if (strcmp(a->paths.index_path, b->paths.index_path) > 0) {
		struct maildir_mbox *t = a;
		a = b;
		b = t;
	}
	if (maildir_index_begin(a, 1, err) < 0)
		return -1;
	if (maildir_index_begin(b, 1, err) < 0) {
		maildir_index_rollback(a);
		return -1;
	}
	return 0;
}

static int xfer_run(struct xfer *x, const pz_uidset *set, pz_error *err)
{
	struct maildir_mbox *smb = &x->src->mb, *dmb = &x->dest->mb;
	int ret = 0;

	if (x->move && maildir_sync_disk(smb, MAILDIR_SYNC_LOCKED, err) < 0)
		return -1;
	if (maildir_index_keywords_load(dmb, err) < 0 ||
	    maildir_index_keywords_load(smb, err) < 0 ||
	    maildir_index_hdr_get(dmb, &x->dh, err) < 0 ||
	    (x->move && maildir_index_hdr_get(smb, &x->sh, err) < 0))
		return -1;
	for (size_t i = 0; i < x->src->count && ret >= 0; i++) {
		uint32_t uid = x->src->msgs[i].uid;

		if (maildir_uidset_has(set, uid))
			ret = xfer_one(x, uid, err);
	}
	if (ret < 0)
		return -1;
	if (x->count == 0)
		return 0;
	if (fsync_target_dirs(dmb, x->pool) < 0 ||
	    (x->move && fsync_target_dirs(smb, x->pool) < 0))
		return maildir_syserror(dmb->mu, err, "fsync", dmb->paths.dir);
	if (maildir_index_hdr_set(dmb, &x->dh, err) < 0 ||
	    (x->move && maildir_index_hdr_set(smb, &x->sh, err) < 0))
		return -1;
	return 0;
}

static int xfer(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
		int move, pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r,
		pz_error *err)
{
	struct xfer x = {
		.src = src, .dest = dest, .move = move,
		.src_uids_r = src_uids_r, .dest_uids_r = dest_uids_r,
	};
	uint64_t bytes = 0, count = 0;
	int ret;

	if (check_target(dest, err) < 0 || (move && check_target(src, err) < 0))
		return -1;
	if (!move) {
		for (size_t i = 0; i < src->count; i++) {
			if (maildir_uidset_has(set, src->msgs[i].uid)) {
				count++;
				bytes += src->msgs[i].vsize;
			}
		}
		if (count > 0 && maildir_quota_check(dest->mb.mu, bytes, count, err) < 0)
			return -1;
	}
	x.pool = HOST->pool_create("maildir copy");
	x.placed.pool = x.pool;
	if (xfer_lock(&x, err) < 0) {
		HOST->pool_destroy(&x.pool);
		return -1;
	}
	ret = xfer_run(&x, set, err);
	/* the destination first: a crash in between leaves the source's
	 * records without files, which its next sync expunges */
	if (ret == 0)
		ret = maildir_index_commit(&dest->mb, err);
	else
		maildir_index_rollback(&dest->mb);
	if (ret < 0)
		placed_undo(&x.placed);
	if (move) {
		if (ret == 0 && maildir_index_commit(&src->mb, err) < 0)
			maildir_log(PZ_LOG_WARNING, "%s: move committed in the target "
				    "only; the next sync completes it",
				    src->mb.paths.dir);
		maildir_index_rollback(&src->mb);
	}
	if (ret == 0 && !move && x.count > 0)
		maildir_quota_update(dest->mb.mu, (int64_t)x.bytes, (int64_t)x.count);
	HOST->pool_destroy(&x.pool);
	return ret;
}

int maildir_copy(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
		 pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r,
		 pz_error *err)
{
	return xfer(src, set, dest, 0, src_uids_r, dest_uids_r, err);
}

int maildir_move(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
		 pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r,
		 pz_error *err)
{
	pz_uid_array moved;

	if (strcmp(src->mb.paths.index_path, dest->mb.paths.index_path) != 0)
		return xfer(src, set, dest, 1, src_uids_r, dest_uids_r, err);
	/* within one mailbox: new UIDs for the same messages */
	HOST->uid_array_init(&moved, src->mb.pool);
	if (xfer(src, set, dest, 0, &moved, dest_uids_r, err) < 0)
		return -1;
	for (size_t i = 0; i < moved.count; i++) {
		if (src_uids_r != NULL)
			HOST->uid_array_add(src_uids_r, moved.uids[i]);
	}
	if (moved.count == 0)
		return 0;
	struct pz_uid_range *ranges = HOST->pool_alloc(src->mb.pool,
						       moved.count * sizeof(*ranges));
	for (size_t i = 0; i < moved.count; i++)
		ranges[i].first = ranges[i].last = moved.uids[i];
	pz_uidset done = { ranges, moved.count };
	return maildir_expunge(src, &done, NULL, err);
}
