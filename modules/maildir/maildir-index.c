/* maildir-index.c - the per-mailbox index in SQLite.
 *
 * One database per mailbox ("poczta-index.db" in the mailbox's folder, or
 * below INDEX= when the location names one), in WAL mode so readers never
 * wait for the writer.  It maps UIDs to file names and keeps what the file
 * names cannot: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, per-message modseq,
 * keywords beyond the 26 letters, internal date zone, sizes, expunge
 * records for views, and parsed data the core asks us to cache.
 *
 * The files stay the truth for content and flags (maildir-sync.c brings
 * the index up to date).  The database lock is the mailbox write lock:
 * every change to the maildir by this module happens inside a write
 * transaction (BEGIN IMMEDIATE), so two processes never assign the same
 * UID or race on a rename.  Deleting the index is safe: it is rebuilt,
 * with a new UIDVALIDITY unless dovecot-uidlist can be imported.
 */
#include "maildir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INDEX_VERSION 1

enum stmt {
	ST_HDR_GET, ST_HDR_SET, ST_INSERT, ST_UPDATE, ST_DELETE, ST_EXP_ADD,
	ST_CACHE_DEL, ST_GET, ST_GET_BASE, ST_ITER_RANGE, ST_ITER_MODSEQ,
	ST_ITER_NEW, ST_EXPUNGED_SINCE, ST_CACHE_GET, ST_CACHE_SET, ST_KW_LOAD,
	ST_KW_ADD, ST_COUNTS, ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_HDR_GET] = "SELECT uidvalidity, uidnext, highestmodseq, "
		"first_recent_uid, new_mtime, cur_mtime, new_trusted, cur_trusted, "
		"expunge_floor, keywords_mtime, tmp_cleaned FROM mailbox WHERE id = 1",
	[ST_HDR_SET] = "UPDATE mailbox SET uidvalidity = ?1, uidnext = ?2, "
		"highestmodseq = ?3, first_recent_uid = ?4, new_mtime = ?5, "
		"cur_mtime = ?6, new_trusted = ?7, cur_trusted = ?8, "
		"expunge_floor = ?9, keywords_mtime = ?10, tmp_cleaned = ?11 "
		"WHERE id = 1",
	[ST_INSERT] = "INSERT INTO msgs (uid, base, fname, in_new, flags, kw, "
		"modseq, psize, vsize, idate, idate_tz) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_UPDATE] = "UPDATE msgs SET fname = ?2, in_new = ?3, flags = ?4, "
		"kw = ?5, modseq = ?6 WHERE uid = ?1",
	[ST_DELETE] = "DELETE FROM msgs WHERE uid = ?1",
	[ST_EXP_ADD] = "INSERT OR REPLACE INTO expunged (uid, modseq, at) "
		"VALUES (?1, ?2, ?3)",
	[ST_CACHE_DEL] = "DELETE FROM cache WHERE uid = ?1",
#define REC_COLS "uid, base, fname, in_new, flags, kw, modseq, psize, vsize, " \
		"idate, idate_tz"
	[ST_GET] = "SELECT " REC_COLS " FROM msgs WHERE uid = ?1",
	[ST_GET_BASE] = "SELECT " REC_COLS " FROM msgs WHERE base = ?1",
	[ST_ITER_RANGE] = "SELECT " REC_COLS " FROM msgs "
		"WHERE uid BETWEEN ?1 AND ?2 ORDER BY uid",
	[ST_ITER_MODSEQ] = "SELECT " REC_COLS " FROM msgs "
		"WHERE modseq > ?3 AND uid BETWEEN ?1 AND ?2 ORDER BY uid",
	[ST_ITER_NEW] = "SELECT " REC_COLS " FROM msgs WHERE in_new = 1 "
		"ORDER BY uid",
	[ST_EXPUNGED_SINCE] = "SELECT uid FROM expunged WHERE modseq > ?1 "
		"ORDER BY uid",
	[ST_CACHE_GET] = "SELECT value FROM cache WHERE uid = ?1 AND field = ?2",
	[ST_CACHE_SET] = "INSERT OR REPLACE INTO cache (uid, field, value) "
		"SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM msgs WHERE uid = ?1)",
	[ST_KW_LOAD] = "SELECT id, name FROM keywords ORDER BY id",
	[ST_KW_ADD] = "INSERT INTO keywords (id, name) VALUES (?1, ?2)",
	[ST_COUNTS] = "SELECT count(*), total((flags & 1) = 0), "
		"total((flags & 8) != 0), total(uid >= ?1), total(vsize), "
		"total(psize) FROM msgs",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS mailbox ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL, first_recent_uid INTEGER NOT NULL,"
	" new_mtime INTEGER NOT NULL, cur_mtime INTEGER NOT NULL,"
	" new_trusted INTEGER NOT NULL, cur_trusted INTEGER NOT NULL,"
	" expunge_floor INTEGER NOT NULL, keywords_mtime INTEGER NOT NULL,"
	" tmp_cleaned INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS msgs ("
	" uid INTEGER PRIMARY KEY, base TEXT NOT NULL UNIQUE,"
	" fname TEXT NOT NULL, in_new INTEGER NOT NULL, flags INTEGER NOT NULL,"
	" kw TEXT, modseq INTEGER NOT NULL, psize INTEGER NOT NULL,"
	" vsize INTEGER NOT NULL, idate INTEGER NOT NULL,"
	" idate_tz INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS msgs_modseq ON msgs (modseq);"
	"CREATE INDEX IF NOT EXISTS msgs_new ON msgs (in_new) WHERE in_new = 1;"
	"CREATE TABLE IF NOT EXISTS expunged ("
	" uid INTEGER PRIMARY KEY, modseq INTEGER NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged (modseq);"
	"CREATE TABLE IF NOT EXISTS keywords ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);"
	"CREATE TABLE IF NOT EXISTS cache ("
	" uid INTEGER NOT NULL, field TEXT NOT NULL, value BLOB,"
	" PRIMARY KEY (uid, field)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO mailbox VALUES (1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);";

/* db_error - log SQLite's complaint and map it to an error class */
static int db_error(struct maildir_mbox *mb, pz_error *err, const char *what)
{
	sqlite3 *db = mb->idx != NULL ? mb->idx->db : NULL;
	int code = db != NULL ? sqlite3_errcode(db) : SQLITE_ERROR;
	const char *msg = db != NULL ? sqlite3_errmsg(db) : "no index";

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
		maildir_log(PZ_LOG_WARNING, "index %s: %s: %s (%d)",
			    mb->idx != NULL ? mb->idx->path : mb->paths.index_path,
			    what, msg, sqlite3_extended_errcode(db));
		return maildir_error(mb->mu, err, PZ_ERR_TEMP,
				     "Timeout waiting for the mailbox lock");
	}
	maildir_log(PZ_LOG_ERROR, "index %s: %s: %s",
		    mb->idx != NULL ? mb->idx->path : mb->paths.index_path, what, msg);
	if (code == SQLITE_FULL)
		return maildir_error(mb->mu, err, PZ_ERR_TEMP, "Disk is full");
	return maildir_error(mb->mu, err, PZ_ERR_TEMP,
			     "Internal error in the mailbox index");
}

static sqlite3_stmt *stmt_get(struct maildir_mbox *mb, enum stmt s, pz_error *err)
{
	struct maildir_index *idx = mb->idx;

	if (idx->st[s] == NULL &&
	    sqlite3_prepare_v3(idx->db, stmt_sql[s], -1, SQLITE_PREPARE_PERSISTENT,
			       &idx->st[s], NULL) != SQLITE_OK) {
		db_error(mb, err, "prepare");
		return NULL;
	}
	return idx->st[s];
}

/* step_done - run a statement that returns no rows, then reset it */
static int step_done(struct maildir_mbox *mb, sqlite3_stmt *st, pz_error *err,
		     const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(mb, err, what);
	return 0;
}

static int exec_sql(struct maildir_mbox *mb, const char *sql, pz_error *err)
{
	if (sqlite3_exec(mb->idx->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(mb, err, sql);
	return 0;
}

/* set_wal - switch a new database to WAL.  The switch needs an exclusive
 * lock and SQLite does not wait for it (no busy handler): while another
 * process creates the same index, retry until the lock timeout. */
static int set_wal(struct maildir_mbox *mb, pz_error *err)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	uint64_t waited = 0;

	for (;;) {
		sqlite3_stmt *st;
		int rc, wal = 0;

		rc = sqlite3_prepare_v2(mb->idx->db, "PRAGMA journal_mode = WAL", -1,
					&st, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW) {
				const char *mode = (const char *)sqlite3_column_text(st, 0);
				wal = mode != NULL && strcmp(mode, "wal") == 0;
				rc = SQLITE_OK;
			}
			sqlite3_finalize(st);
		}
		if (wal)
			return 0;
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED && rc != SQLITE_OK) ||
		    waited >= maildir_set.lock_timeout_ms)
			return db_error(mb, err, "journal_mode = WAL");
		nanosleep(&pause, NULL);
		waited += 10;
	}
}

static int index_setup(struct maildir_mbox *mb, pz_error *err)
{
	sqlite3 *db = mb->idx->db;
	int version = 0;
	sqlite3_stmt *st;

	sqlite3_busy_timeout(db, (int)(maildir_set.lock_timeout_ms > INT32_MAX ?
				       INT32_MAX : maildir_set.lock_timeout_ms));
	sqlite3_extended_result_codes(db, 0);
	if (set_wal(mb, err) < 0 ||
	    exec_sql(mb, maildir_set.fsync ? "PRAGMA synchronous = NORMAL"
		     : "PRAGMA synchronous = OFF", err) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_error(mb, err, "user_version");
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == INDEX_VERSION)
		return 0;
	if (version > INDEX_VERSION)
		return maildir_error(mb->mu, err, PZ_ERR_TEMP,
				     "Mailbox index written by a newer version");
	if (exec_sql(mb, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (exec_sql(mb, schema_sql, err) < 0 ||
	    exec_sql(mb, "PRAGMA user_version = 1", err) < 0 ||
	    exec_sql(mb, "COMMIT", err) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* mkdir_p - create the index folder and its parents */
static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static void index_move_aside(struct maildir_mbox *mb)
{
	char *aside = HOST->pool_printf(mb->pool, "%s.corrupt.%lld",
					mb->paths.index_path, (long long)time(NULL));
	char *wal = HOST->pool_printf(mb->pool, "%s-wal", mb->paths.index_path);
	char *shm = HOST->pool_printf(mb->pool, "%s-shm", mb->paths.index_path);

	maildir_log(PZ_LOG_ERROR, "index %s is corrupt: moved to %s and rebuilt",
		    mb->paths.index_path, aside);
	if (rename(mb->paths.index_path, aside) < 0)
		unlink(mb->paths.index_path);
	unlink(wal);
	unlink(shm);
}

static int index_try_open(struct maildir_mbox *mb, int create, pz_error *err)
{
	struct maildir_index *idx;
	struct stat st;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		(create ? SQLITE_OPEN_CREATE : 0);

	idx = HOST->pool_alloc(mb->pool, sizeof(*idx));
	idx->path = mb->paths.index_path;
	mb->idx = idx;
	if (create && strcmp(mb->paths.index_dir, mb->paths.dir) != 0 &&
	    mkdir_p(mb->paths.index_dir) < 0)
		return maildir_syserror(mb->mu, err, "mkdir", mb->paths.index_dir);
	if (sqlite3_open_v2(idx->path, &idx->db, flags, NULL) != SQLITE_OK) {
		if (!create && stat(idx->path, &st) < 0 && errno == ENOENT) {
			maildir_index_close(&mb->idx);
			return 1;
		}
		return db_error(mb, err, "open");
	}
	if (index_setup(mb, err) < 0)
		return -1;
	if (stat(idx->path, &st) == 0) {
		idx->dev = st.st_dev;
		idx->ino = st.st_ino;
	}
	return 0;
}

int maildir_index_open(struct maildir_mbox *mb, int create, pz_error *err)
{
	int ret = index_try_open(mb, create, err);
	int code = mb->idx != NULL && mb->idx->db != NULL ?
		sqlite3_errcode(mb->idx->db) : SQLITE_OK;

	if (ret < 0 && create && (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)) {
		maildir_index_close(&mb->idx);
		index_move_aside(mb);
		ret = index_try_open(mb, create, err);
	}
	if (ret < 0)
		maildir_index_close(&mb->idx);
	return ret;
}

void maildir_index_close(struct maildir_index **_idx)
{
	struct maildir_index *idx = *_idx;

	if (idx == NULL)
		return;
	*_idx = NULL;
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(idx->st[i]);
	if (idx->db != NULL)
		sqlite3_close_v2(idx->db);
}

int maildir_index_replaced(struct maildir_index *idx)
{
	struct stat st;

	if (stat(idx->path, &st) < 0)
		return 1;
	return st.st_ino != idx->ino || st.st_dev != idx->dev;
}

int maildir_index_begin(struct maildir_mbox *mb, int durable, pz_error *err)
{
	const char *sync = !maildir_set.fsync ? "PRAGMA synchronous = OFF" :
		durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";

	if (mb->idx->in_txn)
		return maildir_error(mb->mu, err, PZ_ERR_BUG,
				     "Nested index transaction");
	if (exec_sql(mb, sync, err) < 0 || exec_sql(mb, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	mb->idx->in_txn = 1;
	return 0;
}

int maildir_index_commit(struct maildir_mbox *mb, pz_error *err)
{
	if (exec_sql(mb, "COMMIT", err) < 0) {
		maildir_index_rollback(mb);
		return -1;
	}
	mb->idx->in_txn = 0;
	return 0;
}

void maildir_index_rollback(struct maildir_mbox *mb)
{
	if (mb->idx == NULL || !mb->idx->in_txn)
		return;
	sqlite3_exec(mb->idx->db, "ROLLBACK", NULL, NULL, NULL);
	mb->idx->in_txn = 0;
}

int maildir_index_hdr_get(struct maildir_mbox *mb, struct maildir_hdr *h,
			  pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_HDR_GET, err);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_error(mb, err, "read header");
	}
	h->uidvalidity = (uint32_t)sqlite3_column_int64(st, 0);
	h->uidnext = (uint32_t)sqlite3_column_int64(st, 1);
	h->highestmodseq = (uint64_t)sqlite3_column_int64(st, 2);
	h->first_recent_uid = (uint32_t)sqlite3_column_int64(st, 3);
	h->new_mtime_ns = sqlite3_column_int64(st, 4);
	h->cur_mtime_ns = sqlite3_column_int64(st, 5);
	h->new_trusted = sqlite3_column_int(st, 6);
	h->cur_trusted = sqlite3_column_int(st, 7);
	h->expunge_floor = (uint64_t)sqlite3_column_int64(st, 8);
	h->keywords_mtime_ns = sqlite3_column_int64(st, 9);
	h->tmp_cleaned = sqlite3_column_int64(st, 10);
	sqlite3_reset(st);
	return 0;
}

int maildir_index_hdr_set(struct maildir_mbox *mb, const struct maildir_hdr *h,
			  pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_HDR_SET, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->uidvalidity);
	sqlite3_bind_int64(st, 2, h->uidnext);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)h->highestmodseq);
	sqlite3_bind_int64(st, 4, h->first_recent_uid);
	sqlite3_bind_int64(st, 5, h->new_mtime_ns);
	sqlite3_bind_int64(st, 6, h->cur_mtime_ns);
	sqlite3_bind_int(st, 7, h->new_trusted);
	sqlite3_bind_int(st, 8, h->cur_trusted);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)h->expunge_floor);
	sqlite3_bind_int64(st, 10, h->keywords_mtime_ns);
	sqlite3_bind_int64(st, 11, h->tmp_cleaned);
	return step_done(mb, st, err, "write header");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || *s == '\0')
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int maildir_index_insert(struct maildir_mbox *mb, const struct maildir_rec *r,
			 pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_INSERT, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, r->uid);
	sqlite3_bind_text(st, 2, r->base, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->fname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, r->in_new);
	sqlite3_bind_int64(st, 5, r->flags);
	bind_text_or_null(st, 6, r->kw);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)r->modseq);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)r->psize);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)r->vsize);
	sqlite3_bind_int64(st, 10, r->idate);
	sqlite3_bind_int(st, 11, r->idate_tz);
	return step_done(mb, st, err, "insert");
}

int maildir_index_update(struct maildir_mbox *mb, const struct maildir_rec *r,
			 pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_UPDATE, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, r->uid);
	sqlite3_bind_text(st, 2, r->fname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, r->in_new);
	sqlite3_bind_int64(st, 4, r->flags);
	bind_text_or_null(st, 5, r->kw);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->modseq);
	return step_done(mb, st, err, "update");
}

int maildir_index_expunge(struct maildir_mbox *mb, uint32_t uid, uint64_t modseq,
			  pz_error *err)
{
	sqlite3_stmt *del = stmt_get(mb, ST_DELETE, err);
	sqlite3_stmt *add = del != NULL ? stmt_get(mb, ST_EXP_ADD, err) : NULL;
	sqlite3_stmt *cache = add != NULL ? stmt_get(mb, ST_CACHE_DEL, err) : NULL;

	if (cache == NULL)
		return -1;
	sqlite3_bind_int64(del, 1, uid);
	if (step_done(mb, del, err, "delete") < 0)
		return -1;
	sqlite3_bind_int64(add, 1, uid);
	sqlite3_bind_int64(add, 2, (sqlite3_int64)modseq);
	sqlite3_bind_int64(add, 3, (sqlite3_int64)time(NULL));
	if (step_done(mb, add, err, "expunge record") < 0)
		return -1;
	sqlite3_bind_int64(cache, 1, uid);
	return step_done(mb, cache, err, "cache delete");
}

/* row_to_rec - strings point into the statement: valid until it steps */
static void row_to_rec(sqlite3_stmt *st, struct maildir_rec *r)
{
	r->uid = (uint32_t)sqlite3_column_int64(st, 0);
	r->base = (char *)sqlite3_column_text(st, 1);
	r->fname = (char *)sqlite3_column_text(st, 2);
	r->in_new = sqlite3_column_int(st, 3);
	r->flags = (uint32_t)sqlite3_column_int64(st, 4);
	r->kw = (char *)sqlite3_column_text(st, 5);
	r->modseq = (uint64_t)sqlite3_column_int64(st, 6);
	r->psize = (uint64_t)sqlite3_column_int64(st, 7);
	r->vsize = (uint64_t)sqlite3_column_int64(st, 8);
	r->idate = sqlite3_column_int64(st, 9);
	r->idate_tz = sqlite3_column_int(st, 10);
}

static int get_one(struct maildir_mbox *mb, sqlite3_stmt *st, pz_pool *pool,
		   struct maildir_rec *r, pz_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		row_to_rec(st, r);
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
	return db_error(mb, err, "lookup");
}

int maildir_index_get(struct maildir_mbox *mb, uint32_t uid, pz_pool *pool,
		      struct maildir_rec *r, pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_GET, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	return get_one(mb, st, pool, r, err);
}

int maildir_index_get_by_base(struct maildir_mbox *mb, const char *base,
			      pz_pool *pool, struct maildir_rec *r, pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_GET_BASE, err);

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
	enum stmt which = new_only ? ST_ITER_NEW :
		modseq_gt > 0 ? ST_ITER_MODSEQ : ST_ITER_RANGE;
	sqlite3_stmt *st = stmt_get(mb, which, err);
	struct maildir_rec r;
	int rc;

	if (st == NULL)
		return -1;
	if (!new_only) {
		sqlite3_bind_int64(st, 1, first);
		sqlite3_bind_int64(st, 2, last);
		if (modseq_gt > 0)
			sqlite3_bind_int64(st, 3, (sqlite3_int64)modseq_gt);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_rec(st, &r);
		if (cb(ctx, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : db_error(mb, err, "iterate");
}

int maildir_index_expunged_since(struct maildir_mbox *mb, uint64_t modseq,
				 void (*cb)(void *ctx, uint32_t uid), void *ctx,
				 pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_EXPUNGED_SINCE, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)modseq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, (uint32_t)sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_error(mb, err, "expunged");
}

/* maildir_index_prune_expunged - drop old expunge records (inside a write
 * transaction) and raise the floor below which views must compare fully */
int maildir_index_prune_expunged(struct maildir_mbox *mb, pz_error *err)
{
	struct maildir_hdr h;
	sqlite3_stmt *st;
	sqlite3_int64 cutoff = (sqlite3_int64)time(NULL) - MAILDIR_EXPUNGE_KEEP_SECS;
	uint64_t floor = 0;

	if (sqlite3_prepare_v2(mb->idx->db,
			       "SELECT max(modseq) FROM expunged WHERE at < ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(mb, err, "prune");
	sqlite3_bind_int64(st, 1, cutoff);
	if (sqlite3_step(st) == SQLITE_ROW)
		floor = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (floor == 0)
		return 0;
	if (sqlite3_prepare_v2(mb->idx->db, "DELETE FROM expunged WHERE at < ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(mb, err, "prune");
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (maildir_index_hdr_get(mb, &h, err) < 0)
		return -1;
	if (floor > h.expunge_floor) {
		h.expunge_floor = floor;
		return maildir_index_hdr_set(mb, &h, err);
	}
	return 0;
}

int maildir_index_counts(struct maildir_mbox *mb, uint32_t first_recent_uid,
			 struct maildir_counts *c, pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_COUNTS, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, first_recent_uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->messages = (uint32_t)sqlite3_column_int64(st, 0);
		c->unseen = (uint32_t)sqlite3_column_double(st, 1);
		c->deleted = (uint32_t)sqlite3_column_double(st, 2);
		c->recent = (uint32_t)sqlite3_column_double(st, 3);
		c->bytes = (uint64_t)sqlite3_column_double(st, 4);
		c->psize = (uint64_t)sqlite3_column_double(st, 5);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 0 : db_error(mb, err, "counts");
}

int maildir_index_cache_get(struct maildir_mbox *mb, uint32_t uid,
			    const char *field, pz_pool *pool,
			    const char **value_r, size_t *len_r, pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_CACHE_GET, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		char *copy = HOST->pool_alloc(pool, n + 1);

		if (n > 0)
			memcpy(copy, v, n);
		copy[n] = '\0';
		*value_r = copy;
		*len_r = n;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : db_error(mb, err, "cache get");
}

int maildir_index_cache_set(struct maildir_mbox *mb, uint32_t uid,
			    const char *field, const void *value, size_t len,
			    pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_CACHE_SET, err);

	if (st == NULL)
		return -1;
	if (!mb->idx->in_txn && maildir_set.fsync &&
	    exec_sql(mb, "PRAGMA synchronous = NORMAL", err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 3, value, len, SQLITE_STATIC);
	return step_done(mb, st, err, "cache set");
}

int maildir_index_keywords_load(struct maildir_mbox *mb, pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_KW_LOAD, err);
	struct maildir_keywords *kw = &mb->kw;
	int rc;

	if (st == NULL)
		return -1;
	kw->count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);

		if (id < 0 || id >= MAILDIR_KEYWORDS_MAX || name == NULL)
			continue;
		if ((size_t)id >= kw->count) {
			char **n = HOST->pool_alloc(mb->pool,
						    (size_t)(id + 1) * sizeof(*n));
			if (kw->count > 0)
				memcpy(n, kw->names, kw->count * sizeof(*n));
			kw->names = n;
			kw->count = (size_t)id + 1;
		}
		kw->names[id] = HOST->pool_strdup(mb->pool, name);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_error(mb, err, "keywords");
}

int maildir_index_keyword_add(struct maildir_mbox *mb, uint32_t id,
			      const char *name, pz_error *err)
{
	sqlite3_stmt *st = stmt_get(mb, ST_KW_ADD, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return step_done(mb, st, err, "keyword add");
}
