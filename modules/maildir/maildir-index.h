/* maildir-index.h - what maildir-index.c (the database: schema, locking,
 * header, totals) and maildir-index-msgs.c (the message records) share.
 * Nothing else includes it: the rest of the module uses maildir.h. */
#ifndef MAILDIR_INDEX_H
#define MAILDIR_INDEX_H

#include "maildir.h"

/* The prepared statements of an index, each made on first use. */
enum maildir_stmt {
	ST_HDR_GET, ST_HDR_SET, ST_INSERT, ST_UPDATE, ST_DELETE, ST_EXP_ADD,
	ST_CACHE_DEL, ST_GET, ST_GET_BASE, ST_ITER_RANGE, ST_ITER_MODSEQ,
	ST_ITER_NEW, ST_ITER_VIEW, ST_EXPUNGED_SINCE, ST_CACHE_GET, ST_CACHE_SET,
	ST_CACHE_RANGE,
	ST_KW_LOAD, ST_KW_ADD, ST_COUNTERS_ADD, ST_RECENT_COUNT, ST_UNDATED,
	ST_SET_IDATE, ST_INSERT_MANY, ST_COUNT
};

/* Columns an insert binds, in this order. */
#define INDEX_INSERT_COLS "(uid, base, fname, in_new, flags, kw, modseq, " \
	"psize, vsize, idate, idate_tz)"
#define INDEX_INSERT_VARS 11

/* index_db_error - log SQLite's complaint and set a TEMP error */
int index_db_error(struct maildir_mbox *mb, pz_error *err, const char *what);
/* index_stmt - the statement, prepared on first use; NULL with err set */
sqlite3_stmt *index_stmt(struct maildir_mbox *mb, enum maildir_stmt s,
			 pz_error *err);
/* index_step_done - run a statement that returns no rows, then reset it */
int index_step_done(struct maildir_mbox *mb, sqlite3_stmt *st, pz_error *err,
		    const char *what);
int index_exec(struct maildir_mbox *mb, const char *sql, pz_error *err);

/* index_counted - account for a record that appears (sign 1) or goes
 * (-1) in the totals of the open transaction */
void index_counted(struct maildir_index *idx, const struct maildir_rec *r,
		   int sign);
/* index_changed - after a change to msgs: outside a transaction the
 * totals are written at once */
int index_changed(struct maildir_mbox *mb, pz_error *err);
/* index_bulk - a larger page cache until the transaction ends */
void index_bulk(struct maildir_mbox *mb);

#endif
