/* maildir-index.c - the per-mailbox index in SQLite: the database, its
 * schema and upgrades, transactions (the mailbox lock), the header row and
 * its totals, keywords and cached data.  The message records are in
 * maildir-index-msgs.c.
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
 *
 * The mailbox row also keeps totals (messages, unseen, deleted, recent,
 * sizes, records without an internal date) so that STATUS reads one row:
 * every change to msgs goes through maildir-index-msgs.c, which adds up
 * the difference; the commit writes it.
 */
#include "maildir-index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 1: first version; 2: totals in the mailbox row, idate may be NULL,
 * fname may hold only what follows the base */
#define INDEX_VERSION 2
#define STR_(x) #x
#define STR(x) STR_(x)

#if ST_COUNT > MAILDIR_INDEX_STMTS
#error "raise MAILDIR_INDEX_STMTS"
#endif

#define REC_COLS "uid, base, fname, in_new, flags, kw, modseq, psize, vsize, " \
	"idate, idate_tz"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_HDR_GET] = "SELECT uidvalidity, uidnext, highestmodseq, "
		"first_recent_uid, new_mtime, cur_mtime, new_trusted, cur_trusted, "
		"expunge_floor, keywords_mtime, tmp_cleaned, n_messages, n_unseen, "
		"n_deleted, n_vsize, n_recent, n_undated, import_modseq, "
		"new_checked, cur_checked FROM mailbox WHERE id = 1",
	[ST_HDR_SET] = "UPDATE mailbox SET uidvalidity = ?1, uidnext = ?2, "
		"highestmodseq = ?3, first_recent_uid = ?4, new_mtime = ?5, "
		"cur_mtime = ?6, new_trusted = ?7, cur_trusted = ?8, "
		"expunge_floor = ?9, keywords_mtime = ?10, tmp_cleaned = ?11, "
		"import_modseq = ?12, new_checked = ?13, cur_checked = ?14 "
		"WHERE id = 1",
	[ST_INSERT] = "INSERT INTO msgs " INDEX_INSERT_COLS
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_UPDATE] = "UPDATE msgs SET fname = ?2, in_new = ?3, flags = ?4, "
		"kw = ?5, modseq = ?6 WHERE uid = ?1",
	[ST_DELETE] = "DELETE FROM msgs WHERE uid = ?1",
	[ST_EXP_ADD] = "INSERT OR REPLACE INTO expunged (uid, modseq, at) "
		"VALUES (?1, ?2, ?3)",
	[ST_CACHE_DEL] = "DELETE FROM cache WHERE uid = ?1",
	[ST_GET] = "SELECT " REC_COLS " FROM msgs WHERE uid = ?1",
	[ST_GET_BASE] = "SELECT " REC_COLS " FROM msgs WHERE base = ?1",
	[ST_ITER_RANGE] = "SELECT " REC_COLS " FROM msgs "
		"WHERE uid BETWEEN ?1 AND ?2 ORDER BY uid",
	/* It must use the partial index msgs_modseq: left to itself, SQLite
	 * reads the whole UID range (every record of the view) for the few
	 * that changed.  "modseq > 0" shows the index applies without
	 * looking at ?3 ("modseq > ?3" alone would make SQLite compile the
	 * statement again whenever ?3 changes, i.e. at every view sync), and
	 * the BETWEEN is the range it seeks ("modseq > 0 AND modseq > ?3"
	 * would read the index from 0). */
	[ST_ITER_MODSEQ] = "SELECT " REC_COLS " FROM msgs INDEXED BY msgs_modseq "
		"WHERE modseq > 0 AND modseq BETWEEN ?3 + 1 AND "
		"9223372036854775807 AND uid BETWEEN ?1 AND ?2 ORDER BY uid",
	[ST_ITER_NEW] = "SELECT " REC_COLS " FROM msgs WHERE in_new = 1 "
		"ORDER BY uid",
	[ST_ITER_VIEW] = "SELECT uid, flags, kw, modseq, vsize, idate, idate_tz, "
		"base, fname, in_new FROM msgs WHERE uid >= ?1 ORDER BY uid",
	/* in no order: with ORDER BY uid, SQLite reads every expunge
	 * record kept (a week's) instead of searching expunged_modseq */
	[ST_EXPUNGED_SINCE] = "SELECT uid FROM expunged WHERE modseq > ?1",
	[ST_CACHE_GET] = "SELECT value FROM cache WHERE uid = ?1 AND field = ?2",
	[ST_CACHE_RANGE] = "SELECT uid, value FROM cache WHERE uid BETWEEN ?1 AND ?2 "
		"AND field = ?3 ORDER BY uid",
	[ST_CACHE_SET] = "INSERT OR REPLACE INTO cache (uid, field, value) "
		"SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM msgs WHERE uid = ?1)",
	[ST_KW_LOAD] = "SELECT id, name FROM keywords ORDER BY id",
	[ST_KW_ADD] = "INSERT INTO keywords (id, name) VALUES (?1, ?2)",
	[ST_COUNTERS_ADD] = "UPDATE mailbox SET n_messages = n_messages + ?1, "
		"n_unseen = n_unseen + ?2, n_deleted = n_deleted + ?3, "
		"n_vsize = n_vsize + ?4, n_recent = n_recent + ?5, "
		"n_undated = n_undated + ?6 WHERE id = 1",
	/* UIDs from first_recent_uid up: a range of the primary key, which
	 * first_recent_uid = UIDNEXT (a \Recent claim) makes empty */
	[ST_RECENT_COUNT] = "UPDATE mailbox SET n_recent = (SELECT count(*) "
		"FROM msgs WHERE uid >= mailbox.first_recent_uid) WHERE id = 1",
	[ST_UNDATED] = "SELECT uid, base, fname, in_new FROM msgs "
		"WHERE idate IS NULL ORDER BY uid",
	[ST_SET_IDATE] = "UPDATE msgs SET idate = ?2 WHERE uid = ?1 AND "
		"idate IS NULL",
	/* ST_INSERT_MANY: built in maildir-index-msgs.c */
};

/* Columns of msgs, in the order of version 1 (the upgrade copies rows as
 * they are).  idate is NULL while not known (MAILDIR_IDATE_UNKNOWN);
 * fname is what follows the base (":2,S"), or a whole name written by
 * version 1; modseq is 0 for the records of the first sync, which all
 * have the mailbox's import_modseq: the modseq index leaves them out (a
 * first sync of 100,000 files writes no entry in it). */
#define MSGS_TABLE(name) \
	"CREATE TABLE " name " (" \
	" uid INTEGER PRIMARY KEY, base TEXT NOT NULL UNIQUE," \
	" fname TEXT NOT NULL, in_new INTEGER NOT NULL, flags INTEGER NOT NULL," \
	" kw TEXT, modseq INTEGER NOT NULL, psize INTEGER NOT NULL," \
	" vsize INTEGER NOT NULL, idate INTEGER, idate_tz INTEGER NOT NULL);"
#define MSGS_INDEXES \
	"CREATE INDEX msgs_modseq ON msgs (modseq) WHERE modseq > 0;" \
	"CREATE INDEX msgs_new ON msgs (in_new) WHERE in_new = 1;"
/* the totals and import_modseq came with version 2; new_checked and
 * cur_checked later, without a new version: a version 2 index without
 * them gets them when opened (add_checked_columns), and a program that
 * does not know them leaves them be (see dir_stale in maildir-sync.c) */
#define ADD_INT_COLUMN(col) \
	"ALTER TABLE mailbox ADD COLUMN " col " INTEGER NOT NULL DEFAULT 0;"

/* a new database (user_version 0) */
static const char schema_sql[] =
	"CREATE TABLE mailbox ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL, first_recent_uid INTEGER NOT NULL,"
	" new_mtime INTEGER NOT NULL, cur_mtime INTEGER NOT NULL,"
	" new_trusted INTEGER NOT NULL, cur_trusted INTEGER NOT NULL,"
	" expunge_floor INTEGER NOT NULL, keywords_mtime INTEGER NOT NULL,"
	" tmp_cleaned INTEGER NOT NULL);"
	ADD_INT_COLUMN("n_messages") ADD_INT_COLUMN("n_unseen")
	ADD_INT_COLUMN("n_deleted") ADD_INT_COLUMN("n_vsize")
	ADD_INT_COLUMN("n_recent") ADD_INT_COLUMN("n_undated")
	ADD_INT_COLUMN("import_modseq")
	ADD_INT_COLUMN("new_checked") ADD_INT_COLUMN("cur_checked")
	MSGS_TABLE("msgs") MSGS_INDEXES
	"CREATE TABLE expunged ("
	" uid INTEGER PRIMARY KEY, modseq INTEGER NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX expunged_modseq ON expunged (modseq);"
	"CREATE TABLE keywords ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);"
	"CREATE TABLE cache ("
	" uid INTEGER NOT NULL, field TEXT NOT NULL, value BLOB,"
	" PRIMARY KEY (uid, field)) WITHOUT ROWID;"
	"INSERT INTO mailbox (id, uidvalidity, uidnext, highestmodseq,"
	" first_recent_uid, new_mtime, cur_mtime, new_trusted, cur_trusted,"
	" expunge_floor, keywords_mtime, tmp_cleaned)"
	" VALUES (1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);";

/* version 1 to 2: msgs.idate loses NOT NULL (SQLite cannot alter a
 * column: the table is copied), the mailbox row gets its totals */
static const char upgrade_v1_sql[] =
	MSGS_TABLE("msgs_v2")
	"INSERT INTO msgs_v2 SELECT * FROM msgs;"
	"DROP TABLE msgs;"
	"ALTER TABLE msgs_v2 RENAME TO msgs;"
	MSGS_INDEXES
	ADD_INT_COLUMN("n_messages") ADD_INT_COLUMN("n_unseen")
	ADD_INT_COLUMN("n_deleted") ADD_INT_COLUMN("n_vsize")
	ADD_INT_COLUMN("n_recent") ADD_INT_COLUMN("n_undated")
	ADD_INT_COLUMN("import_modseq")
	ADD_INT_COLUMN("new_checked") ADD_INT_COLUMN("cur_checked")
	"UPDATE mailbox SET"
	" n_messages = (SELECT count(*) FROM msgs),"
	" n_unseen = (SELECT count(*) FROM msgs WHERE (flags & 1) = 0),"
	" n_deleted = (SELECT count(*) FROM msgs WHERE (flags & 8) != 0),"
	" n_vsize = (SELECT total(vsize) FROM msgs),"
	" n_recent = (SELECT count(*) FROM msgs"
	"  WHERE uid >= mailbox.first_recent_uid);";

int index_db_error(struct maildir_mbox *mb, pz_error *err, const char *what)
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

sqlite3_stmt *index_stmt(struct maildir_mbox *mb, enum maildir_stmt s,
			 pz_error *err)
{
	struct maildir_index *idx = mb->idx;

	if (idx->st[s] == NULL &&
	    sqlite3_prepare_v3(idx->db, stmt_sql[s], -1, SQLITE_PREPARE_PERSISTENT,
			       &idx->st[s], NULL) != SQLITE_OK) {
		index_db_error(mb, err, "prepare");
		return NULL;
	}
	return idx->st[s];
}

int index_step_done(struct maildir_mbox *mb, sqlite3_stmt *st, pz_error *err,
		    const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return index_db_error(mb, err, what);
	return 0;
}

int index_exec(struct maildir_mbox *mb, const char *sql, pz_error *err)
{
	if (sqlite3_exec(mb->idx->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return index_db_error(mb, err, sql);
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
			return index_db_error(mb, err, "journal_mode = WAL");
		nanosleep(&pause, NULL);
		waited += 10;
	}
}

/* pragma_int - the value of an integer pragma, -1 on errors */
static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int value = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		value = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return value;
}

static int user_version(struct maildir_mbox *mb)
{
	return pragma_int(mb->idx->db, "PRAGMA user_version");
}

int maildir_index_schema_version(struct maildir_index *idx)
{
	return pragma_int(idx->db, "PRAGMA schema_version");
}

/* index_upgrade - create the schema or bring it to INDEX_VERSION, under
 * the write lock (another process may have done it meanwhile) */
static int index_upgrade(struct maildir_mbox *mb, pz_error *err)
{
	int version, ret = 0;

	if (index_exec(mb, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	version = user_version(mb);
	if (version < 0)
		ret = index_db_error(mb, err, "user_version");
	else if (version == 0)
		ret = index_exec(mb, schema_sql, err);
	else if (version == 1)
		ret = index_exec(mb, upgrade_v1_sql, err);
	if (ret == 0 && version != INDEX_VERSION)
		ret = index_exec(mb, "PRAGMA user_version = " STR(INDEX_VERSION), err);
	if (ret == 0)
		ret = index_exec(mb, "COMMIT", err);
	if (ret < 0)
		sqlite3_exec(mb->idx->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* add_checked_columns - a version 2 index written before new_checked and
 * cur_checked gets them (another process may add them first) */
static int add_checked_columns(struct maildir_mbox *mb, pz_error *err)
{
	sqlite3 *db = mb->idx->db;
	int ret;

	if (index_exec(mb, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	ret = sqlite3_exec(db, "SELECT new_checked FROM mailbox", NULL, NULL,
			   NULL) == SQLITE_OK ? 0 :
		index_exec(mb, ADD_INT_COLUMN("new_checked")
			   ADD_INT_COLUMN("cur_checked"), err);
	if (ret == 0)
		ret = index_exec(mb, "COMMIT", err);
	if (ret < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* prepare_hdr_get - the header statement, which every use of an index
 * needs first; it fails on an index without the checked columns */
static int prepare_hdr_get(struct maildir_mbox *mb, pz_error *err)
{
	struct maildir_index *idx = mb->idx;

	if (sqlite3_prepare_v3(idx->db, stmt_sql[ST_HDR_GET], -1,
			       SQLITE_PREPARE_PERSISTENT, &idx->st[ST_HDR_GET],
			       NULL) == SQLITE_OK)
		return 0;
	if (add_checked_columns(mb, err) < 0)
		return -1;
	return index_stmt(mb, ST_HDR_GET, err) != NULL ? 0 : -1;
}

static int index_setup(struct maildir_mbox *mb, pz_error *err)
{
	sqlite3 *db = mb->idx->db;
	int version;

	sqlite3_busy_timeout(db, (int)(maildir_set.lock_timeout_ms > INT32_MAX ?
				       INT32_MAX : maildir_set.lock_timeout_ms));
	sqlite3_extended_result_codes(db, 0);
	/* the WAL outlives the connection: see maildir_index_close() */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	/* reads map the database instead of copying each page out of it: a
	 * view of 100,000 messages reads some 10 MB */
	if (set_wal(mb, err) < 0 ||
	    index_exec(mb, "PRAGMA mmap_size = " STR(MAILDIR_INDEX_MMAP_SIZE),
		       err) < 0 ||
	    index_exec(mb, maildir_set.fsync ? "PRAGMA synchronous = NORMAL"
		       : "PRAGMA synchronous = OFF", err) < 0)
		return -1;
	version = user_version(mb);
	if (version < 0)
		return index_db_error(mb, err, "user_version");
	if (version > INDEX_VERSION)
		return maildir_error(mb->mu, err, PZ_ERR_TEMP,
				     "Mailbox index written by a newer version");
	if (version < INDEX_VERSION && index_upgrade(mb, err) < 0)
		return -1;
	return prepare_hdr_get(mb, err);
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

/* drop_stale_wal - before the first open of a new index: a WAL (and its
 * shared memory) left by a deleted index would otherwise be replayed into
 * the new one.  Only the process whose O_EXCL create made the file does
 * this, so a WAL another process just started is never touched. */
static void drop_stale_wal(struct maildir_mbox *mb)
{
	int fd = open(mb->idx->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	unlink(HOST->pool_printf(mb->pool, "%s-wal", mb->idx->path));
	unlink(HOST->pool_printf(mb->pool, "%s-shm", mb->idx->path));
	close(fd);
}

static int index_try_open(struct maildir_mbox *mb, int create, pz_error *err)
{
	struct maildir_index *idx;
	struct stat st;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		(create ? SQLITE_OPEN_CREATE : 0);

	/* not from mb's pool: the connection may outlive mb (maildir_index_release) */
	idx = calloc(1, sizeof(*idx));
	if (idx == NULL || (idx->path = strdup(mb->paths.index_path)) == NULL) {
		free(idx);
		return maildir_error(mb->mu, err, PZ_ERR_TEMP, "Out of memory");
	}
	mb->idx = idx;
	if (create && strcmp(mb->paths.index_dir, mb->paths.dir) != 0 &&
	    mkdir_p(mb->paths.index_dir) < 0)
		return maildir_syserror(mb->mu, err, "mkdir", mb->paths.index_dir);
	if (create && stat(idx->path, &st) < 0 && errno == ENOENT)
		drop_stale_wal(mb);
	if (sqlite3_open_v2(idx->path, &idx->db, flags, NULL) != SQLITE_OK) {
		if (!create && stat(idx->path, &st) < 0 && errno == ENOENT) {
			maildir_index_close(&mb->idx);
			return 1;
		}
		return index_db_error(mb, err, "open");
	}
	if (index_setup(mb, err) < 0)
		return -1;
	idx->schema_version = maildir_index_schema_version(idx);
	if (stat(idx->path, &st) == 0) {
		idx->dev = st.st_dev;
		idx->ino = st.st_ino;
	}
	return 0;
}

int maildir_index_open(struct maildir_mbox *mb, int create, pz_error *err)
{
	int ret, code;

	if (maildir_index_reuse(mb))
		return 0;
	ret = index_try_open(mb, create, err);
	code = mb->idx != NULL && mb->idx->db != NULL ?
		sqlite3_errcode(mb->idx->db) : SQLITE_OK;

	if (ret < 0 && create && (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)) {
		maildir_index_close(&mb->idx);
		index_move_aside(mb);
		ret = index_try_open(mb, create, err);
	}
	if (ret < 0)
		maildir_index_close(&mb->idx);
	else if (ret == 0)
		maildir_index_adopt(mb);
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
	if (idx->db != NULL) {
		maildir_index_wal_trim(idx);
		sqlite3_close_v2(idx->db);
	}
	free(idx->path);
	free(idx);
}

void maildir_index_wal_trim(struct maildir_index *idx)
{
	char wal[PATH_MAX];
	struct stat st;

	/* a large WAL goes back into the database now; one that another
	 * process is reading stays (SQLITE_BUSY) until a later close */
	if (snprintf(wal, sizeof(wal), "%s-wal", idx->path) < (int)sizeof(wal) &&
	    stat(wal, &st) == 0 && st.st_size > MAILDIR_INDEX_WAL_KEEP)
		sqlite3_wal_checkpoint_v2(idx->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
					  NULL, NULL);
}

int maildir_index_replaced(struct maildir_index *idx)
{
	struct stat st;

	if (stat(idx->path, &st) < 0)
		return 1;
	return st.st_ino != idx->ino || st.st_dev != idx->dev;
}

/* ---- transactions
 *
 * Durability.  In WAL mode with synchronous = NORMAL a commit is atomic
 * and the database stays consistent through a crash, but the last commits
 * before a power loss may be lost (the WAL is fsynced only at
 * checkpoints); FULL fsyncs the WAL at each commit.  The files are the
 * truth for content and flags, so a lost commit loses nothing a rescan
 * cannot rebuild, except numbers already handed out.  The one that must
 * never come back is a UID: once a client has seen UID n for a message
 * (in an APPENDUID, a FETCH, after a sync), UIDNEXT must stay above n, or
 * another message could get it (RFC 9051 2.3.1.1).  Every UID reaches a
 * client only after the commit that recorded it, so:
 *   - a transaction that gives out UIDs is durable when its commit
 *     returns: FULL when the caller knew it might (saves, copies, moves,
 *     and a sync that found the folders changed), so the WAL is synced
 *     before the commit is published to other sessions.  A sync that
 *     finds new files inside a transaction begun NORMAL (under a STORE's
 *     or an EXPUNGE's lock) has its WAL fsynced right after the commit
 *     (wal_sync()): there another session could read the new UIDs in the
 *     moment between the two, which a power loss in that moment could
 *     then give again;
 *   - everything else commits NORMAL: flags and expunges found in the
 *     files, dates learnt from stat(), \Recent claims, cached data.
 *     A power loss may undo their last commits and the next sync redoes
 *     the work; the modseqs of undone changes may then be given again,
 *     as with Dovecot's default mail_fsync = optimized.
 * An import under a new UIDVALIDITY could skip even the UID rule (if it
 * is lost, the next import takes another UIDVALIDITY and clients drop
 * their caches), but only if the UIDVALIDITY file were made durable
 * first, at the same cost: imports follow the rule too. */

/* wal_sync - make the commit just done durable: fsync the WAL */
static int wal_sync(struct maildir_mbox *mb, pz_error *err)
{
	sqlite3_file *wal = NULL;

	if (sqlite3_file_control(mb->idx->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
				 &wal) != SQLITE_OK)
		return index_db_error(mb, err, "journal pointer");
	if (wal == NULL || wal->pMethods == NULL)
		return 0; /* no WAL open: the commit went to the database file */
	if (wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK)
		return maildir_error(mb->mu, err, PZ_ERR_TEMP,
				     "Could not sync the mailbox index");
	return 0;
}

int maildir_index_begin(struct maildir_mbox *mb, int durable, pz_error *err)
{
	struct maildir_index *idx = mb->idx;
	const char *sync = !maildir_set.fsync ? "PRAGMA synchronous = OFF" :
		durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
	struct maildir_hdr h;

	if (idx->in_txn)
		return maildir_error(mb->mu, err, PZ_ERR_BUG,
				     "Nested index transaction");
	if (index_exec(mb, sync, err) < 0 || index_exec(mb, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	idx->in_txn = 1;
	idx->durable = durable;
	idx->inserted = 0;
	idx->recent_stale = 0;
	memset(&idx->delta, 0, sizeof(idx->delta));
	memset(idx->dirs, 0, sizeof(idx->dirs));
	/* the totals of \Recent follow first_recent_uid as of now */
	if (maildir_index_hdr_get(mb, &h, err) < 0) {
		maildir_index_rollback(mb);
		return -1;
	}
	return 0;
}

void index_counted(struct maildir_index *idx, const struct maildir_rec *r,
		   int sign)
{
	idx->delta.messages += sign;
	idx->delta.unseen += (r->flags & PZ_FLAG_SEEN) == 0 ? sign : 0;
	idx->delta.deleted += (r->flags & PZ_FLAG_DELETED) != 0 ? sign : 0;
	idx->delta.vsize += sign * (int64_t)r->vsize;
	idx->delta.recent += r->uid >= idx->first_recent_uid ? sign : 0;
	idx->delta.undated += r->idate == MAILDIR_IDATE_UNKNOWN ? sign : 0;
}

/* counters_flush - add the changes of the transaction to the totals */
static int counters_flush(struct maildir_mbox *mb, pz_error *err)
{
	struct maildir_index *idx = mb->idx;
	struct maildir_counters *d = &idx->delta;
	sqlite3_stmt *st;

	if (d->messages != 0 || d->unseen != 0 || d->deleted != 0 ||
	    d->vsize != 0 || d->recent != 0 || d->undated != 0) {
		st = index_stmt(mb, ST_COUNTERS_ADD, err);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, d->messages);
		sqlite3_bind_int64(st, 2, d->unseen);
		sqlite3_bind_int64(st, 3, d->deleted);
		sqlite3_bind_int64(st, 4, d->vsize);
		sqlite3_bind_int64(st, 5, d->recent);
		sqlite3_bind_int64(st, 6, d->undated);
		memset(d, 0, sizeof(*d));
		if (index_step_done(mb, st, err, "counters") < 0)
			return -1;
	}
	if (!idx->recent_stale)
		return 0;
	idx->recent_stale = 0;
	st = index_stmt(mb, ST_RECENT_COUNT, err);
	return st == NULL ? -1 : index_step_done(mb, st, err, "recent count");
}

int index_changed(struct maildir_mbox *mb, pz_error *err)
{
	return mb->idx->in_txn ? 0 : counters_flush(mb, err);
}

void index_bulk(struct maildir_mbox *mb)
{
	if (mb->idx->bulk)
		return;
	mb->idx->bulk = 1;
	sqlite3_exec(mb->idx->db, "PRAGMA cache_size = -"
		     STR(MAILDIR_INDEX_BULK_CACHE), NULL, NULL, NULL);
}

/* txn_end - what a transaction changed of the connection goes back */
static void txn_end(struct maildir_index *idx)
{
	idx->in_txn = 0;
	memset(&idx->delta, 0, sizeof(idx->delta));
	memset(idx->dirs, 0, sizeof(idx->dirs));
	if (idx->bulk) {
		idx->bulk = 0;
		sqlite3_exec(idx->db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
	}
}

void maildir_index_dir_known(struct maildir_mbox *mb, enum maildir_dir d,
			     int64_t checked_ns)
{
	mb->idx->dirs[d].known = 1;
	mb->idx->dirs[d].checked_ns = checked_ns;
}

void maildir_index_dir_touched(struct maildir_mbox *mb, enum maildir_dir d)
{
	mb->idx->dirs[d].touched = 1;
}

/* dirs_record - a folder the index knew whole, which we changed since
 * (renamed, linked or removed files, and recorded that in this
 * transaction), still matches the index, except for what other tools did
 * meanwhile: its mtime now goes into the header, so that our own changes
 * do not make the next sync read the folder.  Another tool's change may
 * share the mtime of ours (the same timestamp tick), so the folder stays
 * untrusted and is read again once MAILDIR_SYNC_SECS have passed since it
 * was known whole (Dovecot's maildir sync does the same). */
static int dirs_record(struct maildir_mbox *mb, pz_error *err)
{
	static const char *const names[2] = { "cur", "new" };
	struct maildir_index *idx = mb->idx;
	struct maildir_hdr h;
	int any = 0;

	for (int d = 0; d < 2; d++)
		any |= idx->dirs[d].known && idx->dirs[d].touched;
	if (!any)
		return 0;
	if (maildir_index_hdr_get(mb, &h, err) < 0)
		return -1;
	for (int d = 0; d < 2; d++) {
		char path[PATH_MAX];
		struct stat st;

		if (!idx->dirs[d].known || !idx->dirs[d].touched ||
		    snprintf(path, sizeof(path), "%s/%s", mb->paths.dir,
			     names[d]) >= (int)sizeof(path) ||
		    stat(path, &st) < 0)
			continue; /* left as it was: the next sync reads it */
		if (d == MAILDIR_NEW) {
			h.new_mtime_ns = maildir_st_mtime_ns(&st);
			h.new_trusted = 0;
			h.new_checked_ns = idx->dirs[d].checked_ns;
		} else {
			h.cur_mtime_ns = maildir_st_mtime_ns(&st);
			h.cur_trusted = 0;
			h.cur_checked_ns = idx->dirs[d].checked_ns;
		}
	}
	return maildir_index_hdr_set(mb, &h, err);
}

int maildir_index_commit(struct maildir_mbox *mb, pz_error *err)
{
	struct maildir_index *idx = mb->idx;

	if (dirs_record(mb, err) < 0 || counters_flush(mb, err) < 0 ||
	    index_exec(mb, "COMMIT", err) < 0) {
		maildir_index_rollback(mb);
		return -1;
	}
	txn_end(idx);
	if (idx->inserted && !idx->durable && maildir_set.fsync)
		return wal_sync(mb, err);
	return 0;
}

void maildir_index_rollback(struct maildir_mbox *mb)
{
	if (mb->idx == NULL || !mb->idx->in_txn)
		return;
	sqlite3_exec(mb->idx->db, "ROLLBACK", NULL, NULL, NULL);
	txn_end(mb->idx);
}

/* ---- the header row */

int maildir_index_hdr_get(struct maildir_mbox *mb, struct maildir_hdr *h,
			  pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_HDR_GET, err);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return index_db_error(mb, err, "read header");
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
	h->counters.messages = sqlite3_column_int64(st, 11);
	h->counters.unseen = sqlite3_column_int64(st, 12);
	h->counters.deleted = sqlite3_column_int64(st, 13);
	h->counters.vsize = sqlite3_column_int64(st, 14);
	h->counters.recent = sqlite3_column_int64(st, 15);
	h->counters.undated = sqlite3_column_int64(st, 16);
	h->import_modseq = (uint64_t)sqlite3_column_int64(st, 17);
	h->new_checked_ns = sqlite3_column_int64(st, 18);
	h->cur_checked_ns = sqlite3_column_int64(st, 19);
	sqlite3_reset(st);
	mb->idx->import_modseq = h->import_modseq;
	if (mb->idx->in_txn && !mb->idx->recent_stale)
		mb->idx->first_recent_uid = h->first_recent_uid;
	return 0;
}

int maildir_index_hdr_set(struct maildir_mbox *mb, const struct maildir_hdr *h,
			  pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_HDR_SET, err);

	if (st == NULL)
		return -1;
	if (h->first_recent_uid != mb->idx->first_recent_uid) {
		/* the records counted as recent change: recount at commit */
		mb->idx->first_recent_uid = h->first_recent_uid;
		mb->idx->recent_stale = 1;
	}
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
	sqlite3_bind_int64(st, 12, (sqlite3_int64)h->import_modseq);
	sqlite3_bind_int64(st, 13, h->new_checked_ns);
	sqlite3_bind_int64(st, 14, h->cur_checked_ns);
	mb->idx->import_modseq = h->import_modseq;
	return index_step_done(mb, st, err, "write header");
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
		return index_db_error(mb, err, "prune");
	sqlite3_bind_int64(st, 1, cutoff);
	if (sqlite3_step(st) == SQLITE_ROW)
		floor = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (floor == 0)
		return 0;
	if (sqlite3_prepare_v2(mb->idx->db, "DELETE FROM expunged WHERE at < ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return index_db_error(mb, err, "prune");
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

/* ---- cached data and keywords */

int maildir_index_cache_get(struct maildir_mbox *mb, uint32_t uid,
			    const char *field, pz_pool *pool,
			    const char **value_r, size_t *len_r, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_CACHE_GET, err);
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
	return rc == SQLITE_DONE ? 1 : index_db_error(mb, err, "cache get");
}

int maildir_index_cache_range(struct maildir_mbox *mb, const char *field,
			      uint32_t first, uint32_t last,
			      int (*cb)(void *ctx, uint32_t uid, const void *value,
					size_t len),
			      void *ctx, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_CACHE_RANGE, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_text(st, 3, field, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(ctx, (uint32_t)sqlite3_column_int64(st, 0),
		       sqlite3_column_blob(st, 1),
		       (size_t)sqlite3_column_bytes(st, 1)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(mb, err, "cache range");
}

int maildir_index_cache_set(struct maildir_mbox *mb, uint32_t uid,
			    const char *field, const void *value, size_t len,
			    pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_CACHE_SET, err);

	if (st == NULL)
		return -1;
	if (!mb->idx->in_txn && maildir_set.fsync &&
	    index_exec(mb, "PRAGMA synchronous = NORMAL", err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 3, value, len, SQLITE_STATIC);
	return index_step_done(mb, st, err, "cache set");
}

int maildir_index_keywords_load(struct maildir_mbox *mb, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_KW_LOAD, err);
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
	return rc == SQLITE_DONE ? 0 : index_db_error(mb, err, "keywords");
}

int maildir_index_keyword_add(struct maildir_mbox *mb, uint32_t id,
			      const char *name, pz_error *err)
{
	sqlite3_stmt *st = index_stmt(mb, ST_KW_ADD, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return index_step_done(mb, st, err, "keyword add");
}
