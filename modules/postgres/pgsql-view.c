/* pgsql-view.c - opened mailboxes: views, sync reports, \Recent, notify.
 *
 * A view keeps in memory every message it has reported (UID, flags,
 * keywords, modseq, size, date, body), sorted by UID.  mailbox_sync()
 * reads what changed since the view's last sync in one REPEATABLE READ
 * snapshot, and only then updates the view and calls the handler, so a
 * retried transaction never reports anything twice:
 *   expunged  pz_expunged records above the view's modseq (or, when those
 *             were pruned, every UID compared with the table);
 *   appended  UIDs at or above the view's UIDNEXT;
 *   changed   UIDs below it whose modseq passed the view's.
 * \Recent (RFC 3501 2.3.2): the first read-write view to sync after a
 * delivery moves the mailbox's first_recent_uid up to UIDNEXT in one
 * UPDATE and takes the UIDs it passed, so one session sees each message
 * as recent, whichever node it is on.
 */
#include "pgsql.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIELD_FITS(st, field) \
	(offsetof(__typeof__(*(st)), field) + sizeof((st)->field) <= (st)->size)
#define SET_FIELD(st, field, v) \
	do { if (FIELD_FITS(st, field)) (st)->field = (v); } while (0)

/* columns of ST_SYNC_NEW and ST_SYNC_CHANGED */
enum { C_UID, C_FLAGS, C_KW, C_MODSEQ, C_SIZE, C_IDATE, C_TZ, C_BODY };

int pgsql_view_find(const struct pz_mailbox *box, uint32_t uid)
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

static char *kw_dup(const char *kw)
{
	return kw != NULL && *kw != '\0' ? strdup(kw) : NULL;
}

void pgsql_view_update(struct pz_mailbox *box, uint32_t uid, uint32_t flags,
		       const char *kw, uint64_t modseq)
{
	int i = pgsql_view_find(box, uid);
	struct pgsql_vmsg *v;

	if (i < 0)
		return;
	v = &box->msgs[i];
	v->flags = (v->flags & PZ_FLAG_RECENT) | flags;
	v->modseq = modseq;
	free(v->kw);
	v->kw = kw_dup(kw);
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

	pgsql_unlisten(box);
	view_free_msgs(box);
}

int pgsql_mailbox_open(pz_mail_user *mu, const char *name, unsigned int flags,
		       pz_mailbox **box_r, pz_error *err)
{
	pz_pool *pool = HOST->pool_create("pgsql mailbox");
	struct pz_mailbox *box = HOST->pool_alloc(pool, sizeof(*box));
	struct pgsql_params p;
	PGresult *r = NULL;
	char *canon;

	box->mu = mu;
	box->pool = pool;
	box->notify_fd = -1;
	box->open_flags = flags;
	box->view_uidnext = 1;
	HOST->pool_cleanup(pool, box_cleanup, box);
	if (pgsql_name_canon(mu, pool, name, &canon, err) < 0)
		goto fail;
	box->name = canon;
	for (int attempt = 0; attempt < 2; attempt++) {
		pgp_init(&p);
		pgp_int(&p, mu->account_id);
		pgp_str(&p, canon);
		r = pgsql_exec(mu, ST_MAILBOX_GET, &p, NULL, err);
		if (r == NULL)
			goto fail;
		if (PQntuples(r) > 0 || strcmp(canon, "INBOX") != 0 || attempt > 0)
			break;
		/* INBOX always exists: made again if someone removed it */
		PQclear(r);
		r = NULL;
		if (pgsql_autocreate(mu, err) < 0)
			goto fail;
	}
	if (PQntuples(r) == 0) {
		pgsql_error(mu, err, PZ_ERR_NOT_FOUND, "Mailbox does not exist: %s", canon);
		goto fail;
	}
	box->id = pgsql_int(r, 0, 0);
	box->uidvalidity = (uint32_t)pgsql_int(r, 0, 1);
	box->special_use = (unsigned int)pgsql_int(r, 0, 2);
	PQclear(r);
	*box_r = box;
	return 0;
fail:
	if (r != NULL)
		PQclear(r);
	HOST->pool_destroy(&pool);
	return -1;
}

void pgsql_mailbox_close(pz_mailbox **_box)
{
	struct pz_mailbox *box = *_box;
	pz_pool *pool;

	if (box == NULL)
		return;
	*_box = NULL;
	pool = box->pool;
	HOST->pool_destroy(&pool);
}

/* ---- sync */

struct sync_read {
	struct pz_mailbox *box;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	PGresult *expunged;    /* records, or every UID below the view's UIDNEXT */
	int full_compare;      /* `expunged` lists survivors, not the expunged */
	PGresult *appended;
	PGresult *changed;
};

static void sync_read_clear(struct sync_read *s)
{
	PQclear(s->expunged);
	PQclear(s->appended);
	PQclear(s->changed);
	s->expunged = s->appended = s->changed = NULL;
}

static int sync_read_txn(void *ctx, pz_error *err)
{
	struct sync_read *s = ctx;
	struct pz_mailbox *box = s->box;
	struct pgsql_params p;
	PGresult *r;
	uint64_t floor;

	sync_read_clear(s);
	pgp_init(&p);
	pgp_int(&p, box->id);
	r = pgsql_exec(box->mu, ST_SYNC_HEADER, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return pgsql_error(box->mu, err, PZ_ERR_NOT_FOUND,
				   "Mailbox was deleted: %s", box->name);
	}
	s->uidvalidity = (uint32_t)pgsql_int(r, 0, 0);
	s->uidnext = (uint32_t)pgsql_int(r, 0, 1);
	s->highestmodseq = (uint64_t)pgsql_int(r, 0, 2);
	floor = (uint64_t)pgsql_int(r, 0, 3);
	PQclear(r);
	if (s->uidvalidity != box->uidvalidity)
		return pgsql_error(box->mu, err, PZ_ERR_TEMP,
				   "Mailbox was recreated (UIDVALIDITY changed)");
	if (box->count > 0) {
		s->full_compare = box->view_modseq < floor;
		pgp_init(&p);
		pgp_int(&p, box->id);
		pgp_int(&p, s->full_compare ? box->view_uidnext : (int64_t)box->view_modseq);
		s->expunged = pgsql_exec(box->mu, s->full_compare ? ST_SYNC_ALL_UIDS :
					 ST_SYNC_EXPUNGED, &p, NULL, err);
		if (s->expunged == NULL)
			return -1;
	}
	pgp_init(&p);
	pgp_int(&p, box->id);
	pgp_int(&p, box->view_uidnext);
	s->appended = pgsql_exec(box->mu, ST_SYNC_NEW, &p, NULL, err);
	if (s->appended == NULL)
		return -1;
	if (box->synced && s->highestmodseq > box->view_modseq && box->view_uidnext > 1) {
		pgp_int(&p, (int64_t)box->view_modseq);
		s->changed = pgsql_exec(box->mu, ST_SYNC_CHANGED, &p, NULL, err);
		if (s->changed == NULL)
			return -1;
	}
	return 0;
}

static void report_expunged(struct sync_read *s, const struct pz_sync_handler *h,
			    void *hctx, unsigned char *gone)
{
	struct pz_mailbox *box = s->box;
	size_t out = 0;

	if (s->expunged == NULL)
		return;
	memset(gone, s->full_compare, box->count);
	for (int i = 0; i < PQntuples(s->expunged); i++) {
		int k = pgsql_view_find(box, (uint32_t)pgsql_int(s->expunged, i, 0));
		if (k >= 0)
			gone[k] = !s->full_compare;
	}
	for (size_t i = 0; i < box->count; i++) {
		if (gone[i]) {
			if (h != NULL && FIELD_FITS(h, expunged) && h->expunged != NULL)
				h->expunged(hctx, box->msgs[i].uid);
			free(box->msgs[i].kw);
			continue;
		}
		box->msgs[out++] = box->msgs[i];
	}
	box->count = out;
}

static void vmsg_info(const struct pgsql_vmsg *v, pz_pool *pool,
		      struct pz_msg_info *info)
{
	const char **names = NULL;
	size_t n = 0;

	if (v->kw != NULL) {
		char *copy = HOST->pool_strdup(pool, v->kw), *save, *w;

		for (const char *c = v->kw; *c != '\0'; c++)
			n += *c == ' ';
		names = HOST->pool_alloc(pool, (n + 2) * sizeof(*names));
		n = 0;
		for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
			names[n++] = w;
	}
	SET_FIELD(info, uid, v->uid);
	SET_FIELD(info, flags, v->flags);
	SET_FIELD(info, keywords, names);
	SET_FIELD(info, keyword_count, n);
	SET_FIELD(info, modseq, v->modseq);
	SET_FIELD(info, rfc822_size, v->size);
	SET_FIELD(info, internal_date, (time_t)v->idate);
	SET_FIELD(info, internal_date_tz, v->idate_tz);
}

static void row_to_vmsg(const PGresult *r, int i, struct pgsql_vmsg *v)
{
	v->uid = (uint32_t)pgsql_int(r, i, C_UID);
	v->flags = (v->flags & PZ_FLAG_RECENT) | (uint32_t)pgsql_int(r, i, C_FLAGS);
	v->modseq = (uint64_t)pgsql_int(r, i, C_MODSEQ);
	v->size = (uint64_t)pgsql_int(r, i, C_SIZE);
	v->idate = pgsql_int(r, i, C_IDATE);
	v->idate_tz = (int32_t)pgsql_int(r, i, C_TZ);
	v->body_id = pgsql_int(r, i, C_BODY);
	free(v->kw);
	v->kw = kw_dup(pgsql_text(r, i, C_KW));
}

static void report(const struct pz_sync_handler *h, void *hctx,
		   const struct pgsql_vmsg *v, int appended, pz_pool *pool)
{
	struct pz_msg_info info = { .size = sizeof(info) };

	if (h == NULL)
		return;
	if (appended ? !FIELD_FITS(h, appended) || h->appended == NULL
	    : !FIELD_FITS(h, changed) || h->changed == NULL)
		return;
	vmsg_info(v, pool, &info);
	if (appended)
		h->appended(hctx, &info);
	else
		h->changed(hctx, &info);
}

static int apply_appended(struct sync_read *s, const struct pz_sync_handler *h,
			  void *hctx, uint32_t recent_first, uint32_t recent_last,
			  pz_pool *pool, pz_error *err)
{
	struct pz_mailbox *box = s->box;
	size_t n = (size_t)PQntuples(s->appended);

	if (box->count + n > box->alloc) {
		size_t na = box->alloc != 0 ? box->alloc : 256;
		void *m;

		while (na < box->count + n)
			na *= 2;
		m = na < SIZE_MAX / sizeof(*box->msgs) ?
			realloc(box->msgs, na * sizeof(*box->msgs)) : NULL;
		if (m == NULL)
			return pgsql_error(box->mu, err, PZ_ERR_TEMP, "Out of memory");
		box->msgs = m;
		box->alloc = na;
	}
	for (size_t i = 0; i < n; i++) {
		struct pgsql_vmsg *v = &box->msgs[box->count++];

		memset(v, 0, sizeof(*v));
		row_to_vmsg(s->appended, (int)i, v);
		if (v->uid >= recent_first && v->uid < recent_last)
			v->flags |= PZ_FLAG_RECENT;
		report(h, hctx, v, 1, pool);
		if ((i & 1023) == 1023)
			HOST->pool_clear(pool);
	}
	return 0;
}

static void apply_changed(struct sync_read *s, const struct pz_sync_handler *h,
			  void *hctx, pz_pool *pool)
{
	if (s->changed == NULL)
		return;
	for (int i = 0; i < PQntuples(s->changed); i++) {
		int k = pgsql_view_find(s->box, (uint32_t)pgsql_int(s->changed, i, C_UID));
		struct pgsql_vmsg *v;

		if (k < 0)
			continue;
		v = &s->box->msgs[k];
		if (v->modseq == (uint64_t)pgsql_int(s->changed, i, C_MODSEQ))
			continue; /* this view made the change and knows it */
		row_to_vmsg(s->changed, i, v);
		report(h, hctx, v, 0, pool);
	}
}

/* take_recent - claim the messages no session has seen as \Recent */
static int take_recent(struct pz_mailbox *box, uint32_t *first_r, uint32_t *last_r,
		       pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;

	pgp_init(&p);
	pgp_int(&p, box->id);
	r = pgsql_exec(box->mu, ST_MAILBOX_TAKE_RECENT, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		*first_r = (uint32_t)pgsql_int(r, 0, 0);
		*last_r = (uint32_t)pgsql_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

int pgsql_mailbox_sync(pz_mailbox *box, const struct pz_sync_handler *h,
		       void *ctx, pz_error *err)
{
	struct sync_read s = { .box = box };
	uint32_t recent_first = 0, recent_last = 0;
	unsigned char *gone = NULL;
	pz_pool *pool;
	int ret;

	if ((box->open_flags & PZ_OPEN_SAVEONLY) != 0)
		return 0;
	box->pending = 0;
	if ((box->open_flags & (PZ_OPEN_READONLY | PZ_OPEN_NO_RECENT)) == 0 &&
	    take_recent(box, &recent_first, &recent_last, err) < 0)
		return -1;
	if (pgsql_txn(box->mu, PGSQL_TXN_SNAPSHOT, sync_read_txn, &s, err) < 0) {
		sync_read_clear(&s);
		return -1;
	}
	pool = HOST->pool_create("pgsql sync");
	if (box->count > 0 && (gone = malloc(box->count)) == NULL) {
		ret = pgsql_error(box->mu, err, PZ_ERR_TEMP, "Out of memory");
		goto out;
	}
	report_expunged(&s, h, ctx, gone);
	ret = apply_appended(&s, h, ctx, recent_first, recent_last, pool, err);
	if (ret == 0) {
		apply_changed(&s, h, ctx, pool);
		box->view_uidnext = s.uidnext;
		box->view_modseq = s.highestmodseq;
		box->synced = 1;
	}
out:
	free(gone);
	sync_read_clear(&s);
	HOST->pool_destroy(&pool);
	pgsql_notify_poke();
	return ret;
}

int pgsql_mailbox_view_status(pz_mailbox *box, struct pz_mailbox_status *st)
{
	uint32_t recent = 0, unseen = 0, deleted = 0;
	uint64_t bytes = 0;

	for (size_t i = 0; i < box->count; i++) {
		const struct pgsql_vmsg *v = &box->msgs[i];
		recent += (v->flags & PZ_FLAG_RECENT) != 0;
		unseen += (v->flags & PZ_FLAG_SEEN) == 0;
		deleted += (v->flags & PZ_FLAG_DELETED) != 0;
		bytes += v->size;
	}
	SET_FIELD(st, messages, (uint32_t)box->count);
	SET_FIELD(st, recent, recent);
	SET_FIELD(st, uidnext, box->view_uidnext);
	SET_FIELD(st, uidvalidity, box->uidvalidity);
	SET_FIELD(st, unseen, unseen);
	SET_FIELD(st, deleted, deleted);
	SET_FIELD(st, bytes, bytes);
	SET_FIELD(st, highestmodseq, box->view_modseq);
	SET_FIELD(st, special_use, box->special_use);
	return 0;
}

int pgsql_mailbox_notify_fd(pz_mailbox *box)
{
	if ((box->open_flags & PZ_OPEN_SAVEONLY) != 0)
		return -1;
	return pgsql_listen(box);
}

void pgsql_mailbox_notify_ack(pz_mailbox *box)
{
	if (box->notify_fd >= 0)
		pgsql_notify_ack(box);
}

int pgsql_msg_info(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		   struct pz_msg_info *info, pz_error *err)
{
	int i = pgsql_view_find(box, uid);

	if (i < 0)
		return 1;
	vmsg_info(&box->msgs[i], pool, info);
	return 0;
}
