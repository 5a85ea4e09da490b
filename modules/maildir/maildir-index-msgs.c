/* maildir-index-msgs.c - the message records of a mailbox's index: one
 * row per message (UID, base name, the rest of the file name, flags,
 * keywords, modseq, sizes, internal date), and the expunge records.
 *
 * Every change to a record goes through here, so the totals of the
 * mailbox row (maildir-index.c) are kept as the records change.  A file
 * name is stored as what follows its base (":2,FS"): the base is stored
 * already, and a first sync of a large maildir writes every name once.
 */
#include "maildir-index.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- file names: base + stored suffix */

/* fname_stored - what the index keeps of r->fname: the part after the
 * base, or the whole name if it does not start with the base */
static const char *fname_stored(const struct maildir_rec *r)
{
	size_t blen = strlen(r->base);

	if (strncmp(r->fname, r->base, blen) == 0 &&
	    (r->fname[blen] == ':' || r->fname[blen] == '\0'))
		return r->fname + blen;
	return r->fname;
}

/* fname_load - the file name of a row; a stored suffix (empty or starting
 * with ':', which no whole name does) is joined to the base in the
 * index's buffer, valid until the next row */
static char *fname_load(struct maildir_index *idx, const char *base,
			const char *stored)
{
	size_t blen, slen;

	if (stored == NULL || base == NULL ||
	    (stored[0] != ':' && stored[0] != '\0'))
		return (char *)stored;
	blen = strlen(base);
	slen = strlen(stored);
	/* a file name fits NAME_MAX; a longer join is a broken row */
	if (blen > NAME_MAX || slen > NAME_MAX - blen)
		return (char *)stored;
	memcpy(idx->fname_buf, base, blen);
	memcpy(idx->fname_buf + blen, stored, slen + 1);
	return idx->fname_buf;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || *s == '\0')
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* bind_rec - the INDEX_INSERT_VARS variables of a record from `i` on */
static void bind_rec(sqlite3_stmt *st, int i, const struct maildir_rec *r)
{
	sqlite3_bind_int64(st, i, r->uid);
	sqlite3_bind_text(st, i + 1, r->base, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i + 2, fname_stored(r), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i + 3, r->in_new);
	sqlite3_bind_int64(st, i + 4, r->flags);
	bind_text_or_null(st, i + 5, r->kw);
	sqlite3_bind_int64(st, i + 6, (sqlite3_int64)r->modseq);
	sqlite3_bind_int64(st, i + 7, (sqlite3_int64)r->psize);
	sqlite3_bind_int64(st, i + 8, (sqlite3_int64)r->vsize);
	if (r->idate == MAILDIR_IDATE_UNKNOWN)
		sqlite3_bind_null(st, i + 9);
	else
		sqlite3_bind_int64(st, i + 9, r->idate);
	sqlite3_bind_int(st, i + 10, r->idate_tz);
}

/* column_idate - an idate column: NULL is MAILDIR_IDATE_UNKNOWN */
static int64_t column_idate(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? MAILDIR_IDATE_UNKNOWN :
		sqlite3_column_int64(st, i);
}

/* column_modseq - a modseq column: 0 stands for the first sync's */
static uint64_t column_modseq(struct maildir_index *idx, sqlite3_stmt *st, int i)
{
	uint64_t modseq = (uint64_t)sqlite3_column_int64(st, i);

	return modseq != 0 ? modseq : idx->import_modseq;
}

/* row_to_rec - a row of REC_COLS; strings point into the statement (or
 * the index's buffer): valid until it steps */
static void row_to_rec(struct maildir_index *idx, sqlite3_stmt *st,
		       struct maildir_rec *r)
{
	r->uid = (uint32_t)sqlite3_column_int64(st, 0);
	r->base = (char *)sqlite3_column_text(st, 1);
	r->fname = fname_load(idx, r->base, (const char *)sqlite3_column_text(st, 2));
	r->in_new = sqlite3_column_int(st, 3);
	r->flags = (uint32_t)sqlite3_column_int64(st, 4);
	r->kw = (char *)sqlite3_column_text(st, 5);
	r->modseq = column_modseq(idx, st, 6);
	r->psize = (uint64_t)sqlite3_column_int64(st, 7);
	r->vsize = (uint64_t)sqlite3_column_int64(st, 8);
	r->idate = column_idate(st, 9);
	r->idate_tz = sqlite3_column_int(st, 10);
}

/* ---- changes */

int maildir_index_insert(struct maildir_mbox *mb, const struct maildir_rec *r,
			 pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_INSERT, err);

	if (st == NULL)
		return -1;
	bind_rec(st, 1, r);
	if (index_step_done(mb, st, err, "insert") < 0)
		return -1;
	index_counted(mb->idx, r, 1);
	mb->idx->inserted = 1;
	return index_changed(mb, err);
}

/* insert_many_sql - one INSERT of MAILDIR_INSERT_BATCH rows: a statement
 * per row costs about as much as the row itself */
static const char *insert_many_sql(void)
{
	static char sql[sizeof("INSERT INTO msgs " INDEX_INSERT_COLS " VALUES ") +
			MAILDIR_INSERT_BATCH * sizeof(",(?,?,?,?,?,?,?,?,?,?,?)")];
	size_t len;

	if (sql[0] != '\0')
		return sql;
	len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO msgs "
			       INDEX_INSERT_COLS " VALUES ");
	for (int i = 0; i < MAILDIR_INSERT_BATCH; i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%s",
					i > 0 ? "," : "", "(?,?,?,?,?,?,?,?,?,?,?)");
	return sql;
}

int maildir_index_insert_many(struct maildir_mbox *mb,
			      const struct maildir_rec *recs, size_t n,
			      pz_error *err)
{
	struct maildir_index *idx = mb->idx;
	sqlite3_stmt *st = idx->st[ST_INSERT_MANY];
	size_t i = 0;

	if (n >= MAILDIR_INDEX_BULK_ROWS && idx->in_txn)
		index_bulk(mb);
	if (n >= MAILDIR_INSERT_BATCH && st == NULL) {
		if (sqlite3_prepare_v3(idx->db, insert_many_sql(), -1,
				       SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
			return index_db_error(mb, err, "prepare");
		idx->st[ST_INSERT_MANY] = st;
	}
	for (; i + MAILDIR_INSERT_BATCH <= n; i += MAILDIR_INSERT_BATCH) {
		for (int j = 0; j < MAILDIR_INSERT_BATCH; j++)
			bind_rec(st, j * INDEX_INSERT_VARS + 1, &recs[i + (size_t)j]);
		if (index_step_done(mb, st, err, "insert") < 0)
			return -1;
		for (int j = 0; j < MAILDIR_INSERT_BATCH; j++)
			index_counted(idx, &recs[i + (size_t)j], 1);
		idx->inserted = 1;
	}
	for (; i < n; i++) {
		if (maildir_index_insert(mb, &recs[i], err) < 0)
			return -1;
	}
	return index_changed(mb, err);
}

int maildir_index_update(struct maildir_mbox *mb, const struct maildir_rec *r,
			 uint32_t old_flags, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_UPDATE, err);
	struct maildir_rec old = *r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, r->uid);
	sqlite3_bind_text(st, 2, fname_stored(r), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, r->in_new);
	sqlite3_bind_int64(st, 4, r->flags);
	bind_text_or_null(st, 5, r->kw);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->modseq);
	if (index_step_done(mb, st, err, "update") < 0)
		return -1;
	if (old_flags != r->flags) {
		old.flags = old_flags;
		index_counted(mb->idx, &old, -1);
		index_counted(mb->idx, r, 1);
	}
	return index_changed(mb, err);
}

int maildir_index_expunge(struct maildir_mbox *mb, const struct maildir_rec *r,
			  uint64_t modseq, pz_error *err)
{
	sqlite3_stmt *del = index_stmt(mb, ST_DELETE, err);
	sqlite3_stmt *add = del != NULL ? index_stmt(mb, ST_EXP_ADD, err) : NULL;
	sqlite3_stmt *cache = add != NULL ? index_stmt(mb, ST_CACHE_DEL, err) : NULL;

	if (cache == NULL)
		return -1;
	sqlite3_bind_int64(del, 1, r->uid);
	if (index_step_done(mb, del, err, "delete") < 0)
		return -1;
	if (sqlite3_changes(mb->idx->db) > 0)
		index_counted(mb->idx, r, -1);
	sqlite3_bind_int64(add, 1, r->uid);
	sqlite3_bind_int64(add, 2, (sqlite3_int64)modseq);
	sqlite3_bind_int64(add, 3, (sqlite3_int64)time(NULL));
	if (index_step_done(mb, add, err, "expunge record") < 0)
		return -1;
	sqlite3_bind_int64(cache, 1, r->uid);
	if (index_step_done(mb, cache, err, "cache delete") < 0)
		return -1;
	return index_changed(mb, err);
}

int maildir_index_set_idate(struct maildir_mbox *mb, uint32_t uid, int64_t idate,
			    pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_SET_IDATE, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, idate);
	if (index_step_done(mb, st, err, "set idate") < 0)
		return -1;
	if (sqlite3_changes(mb->idx->db) > 0)
		mb->idx->delta.undated--;
	return index_changed(mb, err);
}

/* ---- lookups */

static int get_one(struct maildir_mbox *mb, sqlite3_stmt *st, pz_pool *pool,
		   struct maildir_rec *r, pz_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		row_to_rec(mb->idx, st, r);
		r->base = HOST->pool_strdup(pool, r->base);
		r->fname = HOST->pool_strdup(pool, r->fname);
		r->kw = r->kw != NULL ? HOST->pool_strdup(pool, r->kw) : NULL;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return index_db_error(mb, err, "lookup");
}

int maildir_index_get(struct maildir_mbox *mb, uint32_t uid, pz_pool *pool,
		      struct maildir_rec *r, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_GET, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	return get_one(mb, st, pool, r, err);
}

int maildir_index_get_by_base(struct maildir_mbox *mb, const char *base,
			      pz_pool *pool, struct maildir_rec *r, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_GET_BASE, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
	return get_one(mb, st, pool, r, err);
}

int maildir_index_iter(struct maildir_mbox *mb, uint32_t first, uint32_t last,
		       uint64_t modseq_gt, int new_only,
		       int (*cb)(void *ctx, const struct maildir_rec *r),
		       void *ctx, pz_error *err)
{
	/* below import_modseq the first sync's records count too: they are
	 * not in the modseq index, so look at them all */
	int all = modseq_gt > 0 && modseq_gt < mb->idx->import_modseq;
	enum maildir_stmt which = new_only ? ST_ITER_NEW :
		modseq_gt > 0 && !all ? ST_ITER_MODSEQ : ST_ITER_RANGE;
	sqlite3_stmt *st = index_stmt(mb, which, err);
	struct maildir_rec r;
	int rc;

	if (st == NULL)
		return -1;
	if (!new_only) {
		sqlite3_bind_int64(st, 1, first);
		sqlite3_bind_int64(st, 2, last);
		if (which == ST_ITER_MODSEQ)
			sqlite3_bind_int64(st, 3, (sqlite3_int64)modseq_gt);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_rec(mb->idx, st, &r);
		if (r.modseq <= modseq_gt)
			continue;
		if (cb(ctx, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(mb, err, "iterate");
}

int maildir_index_iter_view(struct maildir_mbox *mb, uint32_t first,
			    int (*cb)(void *ctx, const struct maildir_rec *r),
			    void *ctx, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_ITER_VIEW, err);
	struct maildir_rec r = { 0 };
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, first);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.uid = (uint32_t)sqlite3_column_int64(st, 0);
		r.flags = (uint32_t)sqlite3_column_int64(st, 1);
		r.kw = (char *)sqlite3_column_text(st, 2);
		r.modseq = column_modseq(mb->idx, st, 3);
		r.vsize = (uint64_t)sqlite3_column_int64(st, 4);
		r.idate = column_idate(st, 5);
		r.idate_tz = sqlite3_column_int(st, 6);
		if (r.idate == MAILDIR_IDATE_UNKNOWN) {
			r.base = (char *)sqlite3_column_text(st, 7);
			r.fname = fname_load(mb->idx, r.base,
					     (const char *)sqlite3_column_text(st, 8));
			r.in_new = sqlite3_column_int(st, 9);
		} else {
			r.base = r.fname = NULL;
		}
		if (cb(ctx, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(mb, err, "iterate");
}

int maildir_index_iter_undated(struct maildir_mbox *mb,
			       int (*cb)(void *ctx, const struct maildir_rec *r),
			       void *ctx, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_UNDATED, err);
	struct maildir_rec r = { .idate = MAILDIR_IDATE_UNKNOWN };
	size_t rows = 0;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.uid = (uint32_t)sqlite3_column_int64(st, 0);
		r.base = (char *)sqlite3_column_text(st, 1);
		r.fname = fname_load(mb->idx, r.base,
				     (const char *)sqlite3_column_text(st, 2));
		r.in_new = sqlite3_column_int(st, 3);
		rows++;
		if (cb(ctx, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return index_db_error(mb, err, "undated");
	if (rows == 0 && mb->idx->in_txn) {
		/* the total was wrong: mend it rather than look again */
		maildir_log(PZ_LOG_WARNING, "index %s: count of undated records "
			    "was off", mb->idx->path);
		mb->idx->delta.undated = 0;
		return index_exec(mb, "UPDATE mailbox SET n_undated = 0", err);
	}
	return 0;
}

int maildir_index_expunged_since(struct maildir_mbox *mb, uint64_t modseq,
				 void (*cb)(void *ctx, uint32_t uid), void *ctx,
				 pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_EXPUNGED_SINCE, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)modseq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, (uint32_t)sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(mb, err, "expunged");
}

void maildir_index_counts(const struct maildir_hdr *h, struct maildir_counts *c)
{
	c->messages = (uint32_t)h->counters.messages;
	c->unseen = (uint32_t)h->counters.unseen;
	c->deleted = (uint32_t)h->counters.deleted;
	c->recent = (uint32_t)h->counters.recent;
	c->bytes = (uint64_t)h->counters.vsize;
}
