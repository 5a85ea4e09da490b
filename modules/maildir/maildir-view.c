/* maildir-view.c - opened mailboxes: views, sync reports, \Recent, notify.
 *
 * A view keeps, in memory, every message it has reported: UID, flags,
 * keywords, modseq, size and date, sorted by UID.  mailbox_sync() first
 * brings the index up to date with the files, then reads in one snapshot
 * what changed since the view's last sync:
 *   expunged  records in the index's expunged table above the view's
 *             modseq (or, when those were pruned, a full comparison);
 *   appended  UIDs at or above the view's UIDNEXT;
 *   changed   records below it whose modseq passed the view's.
 * \Recent (RFC 3501 2.3.2): the index keeps first_recent_uid; the first
 * read-write view to sync past it takes every UID below UIDNEXT as its
 * recent messages and moves it up, all under the mailbox lock, so exactly
 * one session sees each message as recent.
 * A view's syncs leave no internal date unknown (MAILDIR_SYNC_DATES): the
 * callbacks and msg_info report one for every message.  A view opened with
 * PZ_OPEN_DATES_LATER skips that (a maildir never indexed would need a
 * stat() of every file): its callbacks report 0 for a date the index does
 * not have, and msg_info finds it when asked (maildir_vmsg_idate): the
 * first one asked brings those of the whole view, up to
 * MAILDIR_DATES_BATCH_MAX messages, and puts them in the index.
 */
#include "maildir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define FIELD_FITS(st, field) \
	(offsetof(__typeof__(*(st)), field) + sizeof((st)->field) <= (st)->size)
#define SET_FIELD(st, field, v) \
	do { if (FIELD_FITS(st, field)) (st)->field = (v); } while (0)

int maildir_mbox_open(struct pz_mail_user *mu, const char *name, pz_pool *pool,
		      unsigned int sync_flags, struct maildir_mbox *mb,
		      pz_error *err)
{
	struct stat st;
	char *cur;

	memset(mb, 0, sizeof(*mb));
	mb->mu = mu;
	mb->pool = pool;
	mb->sync_flags = sync_flags;
	if (maildir_paths_lookup(mu, pool, name, &mb->paths, err) < 0)
		return -1;
	cur = maildir_path(pool, mb->paths.dir, "cur", NULL);
	if (stat(cur, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return maildir_error(mu, err, PZ_ERR_NOT_FOUND,
					     "Mailbox does not exist: %s", mb->paths.name);
		return maildir_syserror(mu, err, "stat", cur);
	}
	if (maildir_index_open(mb, 1, err) < 0)
		return -1;
	return maildir_mbox_init(mb, err);
}

/* maildir_mbox_init - a new index gets its UIDVALIDITY (and the files
 * their UIDs) before anything else touches it */
int maildir_mbox_init(struct maildir_mbox *mb, pz_error *err)
{
	struct maildir_hdr h;

	if (maildir_index_hdr_get(mb, &h, err) < 0)
		return -1;
	if (h.uidvalidity == 0 &&
	    maildir_sync_disk(mb, MAILDIR_SYNC_FORCE, err) < 0)
		return -1;
	return maildir_index_keywords_load(mb, err);
}

void maildir_mbox_close(struct maildir_mbox *mb)
{
	maildir_index_rollback(mb);
	maildir_index_release(mb);
}

/* ---- the view's message array */

int maildir_view_find(const struct pz_mailbox *box, uint32_t uid)
{
	size_t lo = 0, hi = box->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < box->count && box->msgs[lo].uid == uid ? (int)lo : -1;
}

/* rec_idate - the mtime of a record's file when the index has no date
 * for it yet (a sync of another process that served no view added it
 * after ours); a file that is gone meanwhile gets its name's time */
static int64_t rec_idate(struct pz_mailbox *box, const struct maildir_rec *r,
			 pz_pool *pool)
{
	struct maildir_mbox *mb = &box->mb;
	char *fname = r->fname;
	int in_new = r->in_new;
	struct stat st;
	pz_error err;
	int64_t t;

	for (int attempt = 0; attempt < 2; attempt++) {
		char *path = maildir_path(pool, mb->paths.dir, in_new ? "new" : "cur",
					  fname);

		if (stat(path, &st) == 0)
			return st.st_mtim.tv_sec;
		if (errno != ENOENT || r->base == NULL ||
		    maildir_sync_find_file(mb, r->base, pool, &fname, &in_new,
					   &err) != 0)
			break;
	}
	t = maildir_fname_time(r->fname);
	return t >= 0 ? t : 0;
}

static void vmsg_set(struct pz_mailbox *box, struct maildir_vmsg *v,
		     const struct maildir_rec *r, pz_pool *pool)
{
	v->uid = r->uid;
	v->flags = (v->flags & PZ_FLAG_RECENT) | r->flags;
	v->modseq = r->modseq;
	v->vsize = r->vsize;
	if (r->idate != MAILDIR_IDATE_UNKNOWN)
		v->idate = r->idate;
	else if (v->idate == MAILDIR_IDATE_UNKNOWN &&
		 (box->open_flags & PZ_OPEN_DATES_LATER) == 0)
		v->idate = rec_idate(box, r, pool);
	v->idate_tz = r->idate_tz;
	free(v->kw);
	v->kw = r->kw != NULL && *r->kw != '\0' ? strdup(r->kw) : NULL;
}

static int date_from_rec(void *ctx, const struct maildir_rec *r)
{
	struct pz_mailbox *box = ctx;
	int i = maildir_view_find(box, r->uid);

	if (i >= 0 && r->idate != MAILDIR_IDATE_UNKNOWN) {
		box->msgs[i].idate = r->idate;
		box->msgs[i].idate_tz = r->idate_tz;
	}
	return 0;
}

/* dates_load - the first date asked of a view brings those of the whole
 * view (a SEARCH SINCE asks for every one): the dates no sync learnt yet
 * go into the index first, for later sessions too, then one pass reads
 * them all.  A larger view, or an error, leaves each to be found alone. */
static void dates_load(struct pz_mailbox *box)
{
	pz_error err;

	box->dates_loaded = 1;
	if (box->count == 0 || box->count > MAILDIR_DATES_BATCH_MAX ||
	    maildir_sync_disk(&box->mb, MAILDIR_SYNC_DATES, &err) < 0)
		return;
	(void)maildir_index_iter(&box->mb, box->msgs[0].uid,
				 box->msgs[box->count - 1].uid, 0, 0, date_from_rec,
				 box, &err);
}

int64_t maildir_vmsg_idate(struct pz_mailbox *box, struct maildir_vmsg *v, pz_pool *pool)
{
	struct maildir_rec r;
	pz_error err;

	if (v->idate == MAILDIR_IDATE_UNKNOWN && !box->dates_loaded)
		dates_load(box);
	if (v->idate != MAILDIR_IDATE_UNKNOWN)
		return v->idate;
	if (maildir_index_get(&box->mb, v->uid, pool, &r, &err) != 0)
		return 0; /* expunged meanwhile: the next sync tells */
	v->idate = r.idate != MAILDIR_IDATE_UNKNOWN ? r.idate : rec_idate(box, &r, pool);
	return v->idate;
}

static void vmsg_to_info(const struct pz_mailbox *box,
			 const struct maildir_vmsg *v, pz_pool *pool,
			 struct pz_msg_info *info)
{
	size_t n = 0;
	const char **names = maildir_kw_names(pool, &box->mb.kw, v->kw, &n, 0);

	SET_FIELD(info, uid, v->uid);
	SET_FIELD(info, flags, v->flags & (MAILDIR_PZ_FLAGS | PZ_FLAG_RECENT));
	SET_FIELD(info, keywords, names);
	SET_FIELD(info, keyword_count, n);
	SET_FIELD(info, modseq, v->modseq);
	SET_FIELD(info, rfc822_size, v->vsize);
	SET_FIELD(info, internal_date, v->idate == MAILDIR_IDATE_UNKNOWN ? 0 : (time_t)v->idate);
	SET_FIELD(info, internal_date_tz, v->idate_tz);
}

static void view_free_msgs(struct pz_mailbox *box)
{
	for (size_t i = 0; i < box->count; i++)
		free(box->msgs[i].kw);
	free(box->msgs);
	box->msgs = NULL;
	box->count = box->alloc = 0;
}

static void box_cleanup(void *ctx)
{
	struct pz_mailbox *box = ctx;

	view_free_msgs(box);
	maildir_memo_clear(box);
	maildir_mbox_close(&box->mb);
	if (box->notify_fd >= 0)
		close(box->notify_fd);
	box->notify_fd = -1;
}

int maildir_mailbox_open(pz_mail_user *mu, const char *name, unsigned int flags,
			 pz_mailbox **box_r, pz_error *err)
{
	pz_pool *pool = HOST->pool_create("maildir mailbox");
	struct pz_mailbox *box = HOST->pool_alloc(pool, sizeof(*box));
	unsigned int sync_flags = 0;

	box->notify_fd = -1;
	box->open_flags = flags;
	box->view_uidnext = 1;
	HOST->pool_cleanup(pool, box_cleanup, box);
	if ((flags & (PZ_OPEN_SAVEONLY | PZ_OPEN_DATES_LATER)) == 0)
		sync_flags |= MAILDIR_SYNC_DATES;
	if ((flags & (PZ_OPEN_READONLY | PZ_OPEN_SAVEONLY)) == 0)
		sync_flags |= MAILDIR_SYNC_MOVE_NEW;
	if (maildir_mbox_open(mu, name, pool, sync_flags, &box->mb, err) < 0) {
		HOST->pool_destroy(&pool);
		return -1;
	}
	*box_r = box;
	return 0;
}

void maildir_mailbox_close(pz_mailbox **_box)
{
	struct pz_mailbox *box = *_box;
	pz_pool *pool;

	if (box == NULL)
		return;
	*_box = NULL;
	pool = box->mb.pool;
	HOST->pool_destroy(&pool);
}

/* ---- sync */

struct view_sync {
	struct pz_mailbox *box;
	const struct pz_sync_handler *h;
	void *hctx;
	pz_pool *pool;
	uint32_t recent_first, recent_last; /* [first, last) taken by us */
	uint32_t old_uidnext;
	unsigned char *gone;                /* per view message: expunged */
	int oom;
	size_t ngone;
};

static void mark_gone(void *_vs, uint32_t uid)
{
	struct view_sync *vs = _vs;
	int i = maildir_view_find(vs->box, uid);

	if (i >= 0 && !vs->gone[i]) {
		vs->gone[i] = 1;
		vs->ngone++;
	}
}

static int mark_present(void *_vs, const struct maildir_rec *r)
{
	struct view_sync *vs = _vs;
	int i = maildir_view_find(vs->box, r->uid);

	if (i >= 0 && vs->gone[i]) {
		vs->gone[i] = 0;
		vs->ngone--;
	}
	return 0;
}

/* find_expunged - which view messages are gone from the index */
static int find_expunged(struct view_sync *vs, const struct maildir_hdr *h,
			 pz_error *err)
{
	struct pz_mailbox *box = vs->box;

	if (box->count == 0)
		return 0;
	vs->gone = calloc(box->count, 1);
	if (vs->gone == NULL)
		return maildir_error(box->mb.mu, err, PZ_ERR_TEMP, "Out of memory");
	if (box->view_modseq >= h->expunge_floor)
		return maildir_index_expunged_since(&box->mb, box->view_modseq,
						    mark_gone, vs, err);
	/* records were pruned: compare every UID */
	memset(vs->gone, 1, box->count);
	vs->ngone = box->count;
	return maildir_index_iter_view(&box->mb, 1, mark_present, vs, err);
}

static void report_expunged(struct view_sync *vs)
{
	struct pz_mailbox *box = vs->box;
	size_t out = 0;

	if (vs->ngone == 0)
		return;
	for (size_t i = 0; i < box->count; i++) {
		if (vs->gone[i]) {
			if (vs->h != NULL && FIELD_FITS(vs->h, expunged) &&
			    vs->h->expunged != NULL)
				vs->h->expunged(vs->hctx, box->msgs[i].uid);
			free(box->msgs[i].kw);
			continue;
		}
		box->msgs[out++] = box->msgs[i];
	}
	box->count = out;
}

static void report(struct view_sync *vs, const struct maildir_vmsg *v,
		   int appended)
{
	struct pz_msg_info info = { .size = sizeof(info) };
	const struct pz_sync_handler *h = vs->h;

	if (h == NULL)
		return;
	if (appended ? !FIELD_FITS(h, appended) || h->appended == NULL
	    : !FIELD_FITS(h, changed) || h->changed == NULL)
		return;
	vmsg_to_info(vs->box, v, vs->pool, &info);
	if (appended)
		h->appended(vs->hctx, &info);
	else
		h->changed(vs->hctx, &info);
}

static int on_appended(void *_vs, const struct maildir_rec *r)
{
	struct view_sync *vs = _vs;
	struct pz_mailbox *box = vs->box;
	struct maildir_vmsg *v;

	if (box->count == box->alloc) {
		size_t na = box->alloc != 0 ? box->alloc * 2 : 1024;
		void *p = na < SIZE_MAX / sizeof(*v) ?
			realloc(box->msgs, na * sizeof(*v)) : NULL;
		if (p == NULL) {
			vs->oom = 1;
			return 1;
		}
		box->msgs = p;
		box->alloc = na;
	}
	v = &box->msgs[box->count++];
	memset(v, 0, sizeof(*v));
	v->idate = MAILDIR_IDATE_UNKNOWN;
	if (r->uid >= vs->recent_first && r->uid < vs->recent_last)
		v->flags = PZ_FLAG_RECENT;
	vmsg_set(box, v, r, vs->pool);
	report(vs, v, 1);
	return 0;
}

static int on_changed(void *_vs, const struct maildir_rec *r)
{
	struct view_sync *vs = _vs;
	int i = maildir_view_find(vs->box, r->uid);
	struct maildir_vmsg *v;

	if (i < 0)
		return 0;
	v = &vs->box->msgs[i];
	if (v->modseq == r->modseq)
		return 0; /* this view made the change and knows it */
	vmsg_set(vs->box, v, r, vs->pool);
	report(vs, v, 0);
	return 0;
}

/* take_recent - claim the messages nobody has seen as \Recent yet */
static int take_recent(struct view_sync *vs, pz_error *err)
{
	struct maildir_mbox *mb = &vs->box->mb;
	struct maildir_hdr h;

	if (maildir_index_hdr_get(mb, &h, err) < 0)
		return -1;
	if (h.first_recent_uid >= h.uidnext)
		return 0;
	if (maildir_index_begin(mb, 0, err) < 0)
		return -1;
	if (maildir_index_hdr_get(mb, &h, err) < 0)
		goto fail;
	if (h.first_recent_uid < h.uidnext) {
		vs->recent_first = h.first_recent_uid;
		vs->recent_last = h.uidnext;
		h.first_recent_uid = h.uidnext;
		if (maildir_index_hdr_set(mb, &h, err) < 0)
			goto fail;
	}
	return maildir_index_commit(mb, err);
fail:
	maildir_index_rollback(mb);
	return -1;
}

static int reopen_if_replaced(struct pz_mailbox *box, pz_error *err)
{
	struct maildir_mbox *mb = &box->mb;

	if (!maildir_index_replaced(mb->idx))
		return 0;
	maildir_log(PZ_LOG_INFO, "%s: index was replaced, reopening",
		    mb->paths.index_path);
	maildir_index_release(mb);
	if (maildir_index_open(mb, 1, err) < 0)
		return -1;
	return maildir_mbox_init(mb, err);
}

static int read_changes(struct view_sync *vs, pz_error *err)
{
	struct pz_mailbox *box = vs->box;
	struct maildir_mbox *mb = &box->mb;
	struct maildir_hdr h;

	if (maildir_index_hdr_get(mb, &h, err) < 0 ||
	    maildir_index_keywords_load(mb, err) < 0)
		return -1;
	if (box->synced && h.uidvalidity != box->uidvalidity)
		return maildir_error(mb->mu, err, PZ_ERR_TEMP,
				     "Mailbox was rebuilt (UIDVALIDITY changed)");
	vs->old_uidnext = box->view_uidnext;
	if (find_expunged(vs, &h, err) < 0)
		return -1;
	report_expunged(vs);
	if (maildir_index_iter_view(mb, box->view_uidnext, on_appended, vs, err) < 0)
		return -1;
	if (vs->oom)
		return maildir_error(mb->mu, err, PZ_ERR_TEMP, "Out of memory");
	if (box->synced && h.highestmodseq > box->view_modseq &&
	    vs->old_uidnext > 1 &&
	    maildir_index_iter(mb, 1, vs->old_uidnext - 1, box->view_modseq, 0,
			       on_changed, vs, err) < 0)
		return -1;
	box->uidvalidity = h.uidvalidity;
	box->view_uidnext = h.uidnext;
	box->view_modseq = h.highestmodseq;
	box->synced = 1;
	return 0;
}

int maildir_mailbox_sync(pz_mailbox *box, const struct pz_sync_handler *h,
			 void *ctx, pz_error *err)
{
	struct maildir_mbox *mb = &box->mb;
	struct view_sync vs = { .box = box, .h = h, .hctx = ctx };
	int ret;

	if ((box->open_flags & PZ_OPEN_SAVEONLY) != 0)
		return 0;
	maildir_memo_clear(box);
	if (reopen_if_replaced(box, err) < 0 || maildir_sync_disk(mb, 0, err) < 0)
		return -1;
	if ((box->open_flags & (PZ_OPEN_READONLY | PZ_OPEN_NO_RECENT)) == 0 &&
	    take_recent(&vs, err) < 0)
		return -1;
	vs.pool = HOST->pool_create("maildir view sync");
	/* one read transaction: a consistent snapshot of the index */
	if (sqlite3_exec(mb->idx->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		HOST->pool_destroy(&vs.pool);
		return maildir_error(mb->mu, err, PZ_ERR_TEMP, "Index read failed");
	}
	ret = read_changes(&vs, err);
	sqlite3_exec(mb->idx->db, "COMMIT", NULL, NULL, NULL);
	free(vs.gone);
	HOST->pool_destroy(&vs.pool);
	return ret;
}

int maildir_mailbox_view_status(pz_mailbox *box, struct pz_mailbox_status *st)
{
	uint32_t recent = 0, unseen = 0, deleted = 0;
	uint64_t bytes = 0;

	for (size_t i = 0; i < box->count; i++) {
		const struct maildir_vmsg *v = &box->msgs[i];
		recent += (v->flags & PZ_FLAG_RECENT) != 0;
		unseen += (v->flags & PZ_FLAG_SEEN) == 0;
		deleted += (v->flags & PZ_FLAG_DELETED) != 0;
		bytes += v->vsize;
	}
	SET_FIELD(st, messages, (uint32_t)box->count);
	SET_FIELD(st, recent, recent);
	SET_FIELD(st, uidnext, box->view_uidnext);
	SET_FIELD(st, uidvalidity, box->uidvalidity);
	SET_FIELD(st, unseen, unseen);
	SET_FIELD(st, deleted, deleted);
	SET_FIELD(st, bytes, bytes);
	SET_FIELD(st, highestmodseq, box->view_modseq);
	if (FIELD_FITS(st, special_use)) {
		pz_pool *pool = HOST->pool_create("maildir view status");
		st->special_use = maildir_special_use_get(box->mb.mu, pool,
							  &box->mb.paths);
		HOST->pool_destroy(&pool);
	}
	return 0;
}

/* ---- notify: inotify on new/, cur/ and the index (changes by other
 * sessions that touch only the index, such as keywords past z) */

int maildir_mailbox_notify_fd(pz_mailbox *box)
{
	static const struct { const char *sub; uint32_t mask; } watches[] = {
		{ "new", IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE },
		{ "cur", IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE },
	};
	struct maildir_mbox *mb = &box->mb;

	if (box->notify_fd >= 0)
		return box->notify_fd;
	box->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (box->notify_fd < 0) {
		maildir_log(PZ_LOG_WARNING, "inotify_init1: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(watches) / sizeof(watches[0]); i++) {
		char *p = maildir_path(mb->pool, mb->paths.dir, watches[i].sub, NULL);
		if (inotify_add_watch(box->notify_fd, p, watches[i].mask) < 0)
			maildir_log(PZ_LOG_WARNING, "inotify_add_watch %s: %s", p,
				    strerror(errno));
	}
	if (inotify_add_watch(box->notify_fd, mb->paths.index_dir,
			      IN_MODIFY | IN_CLOSE_WRITE) < 0)
		maildir_log(PZ_LOG_WARNING, "inotify_add_watch %s: %s",
			    mb->paths.index_dir, strerror(errno));
	return box->notify_fd;
}

void maildir_mailbox_notify_ack(pz_mailbox *box)
{
	char buf[4096];

	if (box->notify_fd < 0)
		return;
	while (read(box->notify_fd, buf, sizeof(buf)) > 0)
		;
}
