/* pgsql.h - private declarations of the postgres module: mail storage and
 * user database in PostgreSQL.
 *
 * Files and what each owns:
 *   pgsql-module.c    descriptor, settings, init (schema check), errors,
 *                     user_open/close, quota, ops tables
 *   pgsql-db.c        the process's connection: connect and reconnect,
 *                     prepared statements, parameters, transactions, the
 *                     error classes of SQLSTATEs, LISTEN/NOTIFY plumbing
 *   pgsql-sql.c       every SQL statement the module runs, in one table
 *   pgsql-schema.c    versioned migrations and the version check (plain
 *                     libpq: the admin helper links it too)
 *   pgsql-admin*.c    postgres-admin, the helper poczta-admin runs for db,
 *                     import and export (a program; see pgsql-admin.h)
 *   pgsql-names.c     mailbox name and keyword validation
 *   pgsql-mailbox.c   list, create, delete, rename, subscribe, status
 *   pgsql-view.c      mailbox_open/close/sync, views, \Recent, notify fd
 *   pgsql-message.c   msg_info, msg_stream, cache, store, expunge
 *   pgsql-save.c      save transactions (content-addressed bodies), copy,
 *                     move, body garbage collection
 *   pgsql-search.c    SEARCH evaluated in SQL
 *   pgsql-fields.c    header fields and sent dates of bodies, for SEARCH
 *   pgsql-auth.c      the auth backend (users from a table)
 *
 * Memory: what lives as long as a user comes from the user's pool; a view
 * has its own pool; the message array of a view grows with malloc and is
 * freed explicitly (pools never give memory back).
 *
 * Concurrency: every change is one transaction.  Locks are always taken in
 * the order mailbox rows (by id) -> account row -> body rows (by id), so
 * two sessions never deadlock on each other; serialization failures and
 * deadlocks reported by the server are retried all the same.
 */
#ifndef PGSQL_H
#define PGSQL_H

/* dup3, vasprintf, explicit_bzero: the first include of every file */
#ifndef _GNU_SOURCE
#  define _GNU_SOURCE 1
#endif

#include <poczta/poczta.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- limits */
#define PGSQL_NAME_MAX 1024          /* bytes of a mailbox name */
#define PGSQL_KEYWORD_MAX 250        /* bytes of a keyword */
#define PGSQL_KEYWORDS_MAX 1000      /* keywords of one mailbox */
#define PGSQL_MAX_PARAMS 16
#define PGSQL_TXN_ATTEMPTS 4         /* tries of a transaction that may be retried */
#define PGSQL_STREAM_CHUNK (256 * 1024)
#define PGSQL_EXPUNGE_KEEP_DAYS 7    /* expunge records kept for views that sync rarely */
#define PGSQL_RECONNECT_MIN_MS 1000  /* first retry after the server went away */
#define PGSQL_RECONNECT_MAX_MS 30000
#define PGSQL_FTS_TEXT_MAX (1024 * 1024) /* decoded text indexed per message */

extern const struct pz_host *pgsql_host;
extern pz_module *pgsql_module;
#define HOST pgsql_host

struct pgsql_settings {
	const char *conninfo;       /* libpq connection string */
	uint64_t connect_timeout_ms;
	int auto_migrate;
	const char *autocreate;     /* blank separated names, or NULL */
	int autosubscribe;
	uint64_t quota_bytes;       /* defaults when the user has no fields */
	uint64_t quota_messages;
	int fts;                    /* build tsvectors; BODY/TEXT in SQL */
	const char *fts_config;     /* text search configuration */
	const char *user_query;
	const char *password_query;
	int allow_plaintext;        /* {PLAIN} passwords in the table */
};
extern struct pgsql_settings pgsql_set;

/* ---- the user's mail store */
struct pz_mail_user {
	pz_user *user;
	pz_pool *pool;
	char *account;              /* account name (the user name by default) */
	int64_t account_id;
	uint64_t quota_bytes;       /* 0: unlimited */
	uint64_t quota_messages;
	char errbuf[4][256];
	unsigned int errnext;
};

/* ---- a view */
struct pgsql_vmsg {
	uint32_t uid;
	uint32_t flags;      /* PZ_FLAG_*, with RECENT for this view */
	uint64_t modseq;
	uint64_t size;       /* RFC822.SIZE */
	int64_t idate;
	int32_t idate_tz;
	int64_t body_id;
	char *kw;            /* keywords separated by ' ' (malloc'd), or NULL */
};

struct pz_mailbox {
	struct pz_mail_user *mu;
	pz_pool *pool;
	char *name;
	int64_t id;
	unsigned int special_use;
	unsigned int open_flags;
	struct pgsql_vmsg *msgs;
	size_t count, alloc;
	uint32_t uidvalidity;
	uint32_t view_uidnext;    /* UIDs below were reported to the view */
	uint64_t view_modseq;     /* changes up to this were reported */
	int synced;
	/* notify: a descriptor number that stays the same across reconnects
	 * (a dup of the libpq socket, or of the retry timer while the server
	 * is away) */
	int notify_fd;
	uint64_t listen_gen;      /* connection generation LISTENed on */
	int pending;              /* a notification arrived for this box */
	struct pz_mailbox *next_listener;
};

/* ---- errors (pgsql-module.c) */
/* pgsql_error - set *err to `cls` with a formatted message kept in the
 * user's rotating buffers (valid through the caller's command). */
int pgsql_error(struct pz_mail_user *mu, pz_error *err, enum pz_error_class cls,
		const char *fmt, ...) PZ_PRINTF(4, 5);
void pgsql_log(enum pz_log_level level, const char *fmt, ...) PZ_PRINTF(2, 3);
int pgsql_parse_size(const char *s, uint64_t *out);

/* ---- statements (pgsql-sql.c) */
enum pgsql_stmt {
	ST_ACCOUNT_GET,
	ST_ACCOUNT_CREATE,
	ST_ACCOUNT_USAGE,
	ST_ACCOUNT_ADD,
	ST_MAILBOX_GET,
	ST_MAILBOX_LOCK,
	ST_MAILBOX_CREATE,
	ST_MAILBOX_LIST,
	ST_MAILBOX_DELETE,
	ST_MAILBOX_DELETE_MSGS,
	ST_MAILBOX_RENAME,
	ST_MAILBOX_CHILD_EXISTS,
	ST_MAILBOX_STATUS,
	ST_MAILBOX_SET_MODSEQ,
	ST_MAILBOX_TAKE_UIDS,
	ST_MAILBOX_SET_KEYWORDS,
	ST_MAILBOX_TAKE_RECENT,
	ST_MAILBOX_PRUNE_EXPUNGED,
	ST_MAILBOX_SET_NEXT,
	ST_SUBSCRIBE,
	ST_UNSUBSCRIBE,
	ST_SUBSCRIPTIONS,
	ST_SYNC_HEADER,
	ST_SYNC_EXPUNGED,
	ST_SYNC_NEW,
	ST_SYNC_CHANGED,
	ST_SYNC_ALL_UIDS,
	ST_BODY_FIND,
	ST_BODY_INSERT,
	ST_BODY_SIZE,
	ST_BODY_READ,
	ST_BODY_READ_ALL,
	ST_BODY_LOCK,
	ST_BODY_GC,
	ST_BODY_FIELDS_INSERT,
	ST_BODY_FIELDS_MARK,
	ST_BODY_FIELDS_MISSING,
	ST_BODY_FIELDS_COMPLETE,
	ST_MESSAGE_INSERT,
	ST_MESSAGE_SOURCE,
	ST_MESSAGE_INSERT_MANY,
	ST_MESSAGE_STORE_ADD,
	ST_MESSAGE_STORE_REMOVE,
	ST_MESSAGE_STORE_REPLACE,
	ST_MESSAGE_REFUSED,
	ST_MESSAGE_EXPUNGE,
	ST_MESSAGE_MOVE_ALL,
	ST_EXPUNGED_ADD,
	ST_CACHE_GET,
	ST_CACHE_SET,
	ST_NOTIFY,
	ST_AUTH_USER,
	ST_AUTH_PASSWORD,
	PGSQL_STMT_COUNT
};

struct pgsql_stmt_def {
	const char *name;         /* prepared statement name */
	const char *sql;
	int binary_result;        /* results in binary format (bytea) */
};
extern const struct pgsql_stmt_def pgsql_stmts[PGSQL_STMT_COUNT];

/* ---- parameters of one statement: text values, or binary for bytea */
struct pgsql_params {
	int n;
	const char *values[PGSQL_MAX_PARAMS];
	int lengths[PGSQL_MAX_PARAMS];
	int formats[PGSQL_MAX_PARAMS];
	char num[PGSQL_MAX_PARAMS][24];
};
void pgp_init(struct pgsql_params *p);
void pgp_int(struct pgsql_params *p, int64_t v);
void pgp_str(struct pgsql_params *p, const char *s); /* NULL: SQL NULL */
void pgp_bin(struct pgsql_params *p, const void *data, size_t len);

/* A text array literal ("{1,2}" or "{\"a\",\"b\"}") built in a pool. */
struct pgsql_array {
	char *s;
	size_t len, alloc;
	pz_pool *pool;
	int count;
};
void pga_init(struct pgsql_array *a, pz_pool *pool);
void pga_int(struct pgsql_array *a, int64_t v);
void pga_str(struct pgsql_array *a, const char *s);
const char *pga_done(struct pgsql_array *a);
/* The ranges of a uid set as two bigint arrays (first, last). */
void pgsql_uidset_arrays(pz_pool *pool, const pz_uidset *set,
			 const char **firsts_r, const char **lasts_r);

/* ---- the connection (pgsql-db.c) */
/* pgsql_db_connect_check - in the master at init: connect once, check the
 * schema (migrating it when auto_migrate is set), disconnect.  -1 with
 * *error_r when the schema cannot be used; an unreachable server is only
 * logged (sessions retry). */
int pgsql_db_init_check(const char **error_r);
void pgsql_db_close(void);
/* pgsql_exec - run a prepared statement on the process's connection
 * (connecting first when needed).  Returns the result (PQclear it), or
 * NULL with *err: PZ_ERR_TEMP for every server or connection problem,
 * with the reason logged.  `sqlstate_r` (may be NULL) gets the SQLSTATE
 * of a failed statement ("" when there is none). */
PGresult *pgsql_exec(struct pz_mail_user *mu, enum pgsql_stmt id,
		     const struct pgsql_params *p, char sqlstate_r[6], pz_error *err);
/* pgsql_exec_cmd - pgsql_exec for statements whose rows are not needed. */
int pgsql_exec_cmd(struct pz_mail_user *mu, enum pgsql_stmt id,
		   const struct pgsql_params *p, pz_error *err);
/* pgsql_exec_params - a statement whose text was composed from constant
 * fragments (search), with every value a parameter. */
PGresult *pgsql_exec_params(struct pz_mail_user *mu, const char *sql, int n,
			    const char *const *values, pz_error *err);

enum pgsql_txn_mode {
	PGSQL_TXN_WRITE = 0,      /* READ COMMITTED, row locks */
	PGSQL_TXN_SNAPSHOT,       /* REPEATABLE READ READ ONLY: one snapshot */
};
/* pgsql_txn - run fn in a transaction and commit.  fn returns 0 (commit),
 * a positive value (commit, returned as is) or -1 with *err (rollback).
 * A transaction that failed on a serialization failure, a deadlock or a
 * connection lost before COMMIT is run again from the start (fn must
 * reset its outputs), up to PGSQL_TXN_ATTEMPTS times.  A connection lost
 * during COMMIT is PZ_ERR_TEMP without a retry: the outcome is unknown. */
int pgsql_txn(struct pz_mail_user *mu, enum pgsql_txn_mode mode,
	      int (*fn)(void *ctx, pz_error *err), void *ctx, pz_error *err);

/* Notify: views that asked for a descriptor are registered here. */
int pgsql_listen(struct pz_mailbox *box);
void pgsql_unlisten(struct pz_mailbox *box);
void pgsql_notify_ack(struct pz_mailbox *box);
/* pgsql_notify_poke - make the notify descriptors readable soon when a
 * notification for a listening view was absorbed by another query. */
void pgsql_notify_poke(void);

/* Field accessors of a result (text format). */
int64_t pgsql_int(const PGresult *r, int row, int col);
const char *pgsql_text(const PGresult *r, int row, int col); /* NULL when NULL */

/* ---- schema (pgsql-schema.c); plain libpq, no host API */
#define PGSQL_SCHEMA_VERSION 2
/* pgsql_schema_check - 0 when this build can use the database's schema;
 * -1 with a message (malloc'd) saying what to do. */
int pgsql_schema_check(PGconn *c, char **error_r);
/* pgsql_schema_migrate - bring the schema to PGSQL_SCHEMA_VERSION, one
 * transaction per migration under an advisory lock; *applied_r gets the
 * number of migrations run.  -1 with a message (malloc'd). */
int pgsql_schema_migrate(PGconn *c, int *applied_r, char **error_r);
/* pgsql_schema_version - the installed version (0: none), -1 on error. */
int pgsql_schema_version(PGconn *c, int *min_compatible_r, char **error_r);
/* pgsql_schema_gc - remove the bodies no message references (after an
 * account was deleted by hand); *removed_r gets their number. */
int pgsql_schema_gc(PGconn *c, long *removed_r, char **error_r);

/* ---- names (pgsql-names.c) */
/* pgsql_name_canon - a checked mailbox name in canonical form ("INBOX" for
 * any case of inbox as the first level), from `pool`; PZ_ERR_PARAMS. */
int pgsql_name_canon(struct pz_mail_user *mu, pz_pool *pool, const char *name,
		     char **canon_r, pz_error *err);
int pgsql_keyword_valid(const char *kw);

/* ---- the ops */
int pgsql_user_open(pz_module *self, pz_user *user, pz_pool *pool,
		    pz_mail_user **mu_r, pz_error *err);
void pgsql_user_close(pz_mail_user **mu);
int pgsql_quota_get(pz_mail_user *mu, struct pz_quota *quota, pz_error *err);
int pgsql_quota_check(struct pz_mail_user *mu, int64_t bytes_used,
		      int64_t messages_used, pz_error *err);

int pgsql_mailbox_list(pz_mail_user *mu,
		       void (*cb)(void *ctx, const struct pz_mailbox_info *info),
		       void *ctx, pz_error *err);
int pgsql_mailbox_create(pz_mail_user *mu, const char *name,
			 unsigned int special_use, pz_error *err);
int pgsql_mailbox_delete(pz_mail_user *mu, const char *name, pz_error *err);
int pgsql_mailbox_rename(pz_mail_user *mu, const char *from, const char *to,
			 pz_error *err);
int pgsql_mailbox_subscribe(pz_mail_user *mu, const char *name, int subscribe,
			    pz_error *err);
int pgsql_mailbox_status(pz_mail_user *mu, const char *name, unsigned int items,
			 struct pz_mailbox_status *st, pz_error *err);
/* Create INBOX and the autocreate mailboxes of a new account (in a txn). */
int pgsql_autocreate(struct pz_mail_user *mu, pz_error *err);
unsigned int pgsql_special_use_by_name(const char *name);

int pgsql_mailbox_open(pz_mail_user *mu, const char *name, unsigned int flags,
		       pz_mailbox **box_r, pz_error *err);
void pgsql_mailbox_close(pz_mailbox **box);
int pgsql_mailbox_sync(pz_mailbox *box, const struct pz_sync_handler *h,
		       void *ctx, pz_error *err);
int pgsql_mailbox_view_status(pz_mailbox *box, struct pz_mailbox_status *st);
int pgsql_mailbox_notify_fd(pz_mailbox *box);
void pgsql_mailbox_notify_ack(pz_mailbox *box);
int pgsql_view_find(const struct pz_mailbox *box, uint32_t uid);
/* Update the view's copy of a message it changed itself. */
void pgsql_view_update(struct pz_mailbox *box, uint32_t uid, uint32_t flags,
		       const char *kw, uint64_t modseq);

int pgsql_msg_info(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		   struct pz_msg_info *info, pz_error *err);
int pgsql_msg_stream(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		     pz_stream **stream_r, pz_error *err);
/* pgsql_body_stream - a stream over a stored body of `size` bytes. */
pz_stream *pgsql_body_stream(int64_t body_id, uint64_t size, pz_pool *pool);
int pgsql_msg_cache_get(pz_mailbox *box, uint32_t uid, const char *field,
			pz_pool *pool, const char **value_r, size_t *len_r,
			pz_error *err);
int pgsql_msg_cache_set(pz_mailbox *box, uint32_t uid, const char *field,
			const char *value, size_t len, pz_error *err);
int pgsql_store(pz_mailbox *box, const pz_uidset *set,
		const struct pz_store_args *args, pz_uid_array *changed_r,
		pz_uid_array *refused_r, pz_error *err);
int pgsql_expunge(pz_mailbox *box, const pz_uidset *set,
		  pz_uid_array *expunged_r, pz_error *err);
/* pgsql_mailbox_lock - the row lock every change of a mailbox takes
 * first; 0 with its HIGHESTMODSEQ and keywords (' ' separated, from
 * `pool`; kw_r may be NULL).  PZ_ERR_NOT_FOUND when it was deleted. */
int pgsql_mailbox_lock(struct pz_mailbox *box, uint64_t *modseq_r, char **kw_r,
		       pz_pool *pool, pz_error *err);
/* Keywords of `names` in the spelling the mailbox already uses (case-
 * insensitive, RFC 9051 2.3.2), adding new ones to its list; inside a
 * transaction that holds the mailbox row.  Result: ' ' separated. */
int pgsql_keywords_canon(struct pz_mail_user *mu, int64_t mailbox_id,
			 const char *mailbox_kw, const char *const *names,
			 size_t n, pz_pool *pool, char **kw_r, pz_error *err);

int pgsql_save_begin(pz_mailbox *box, const struct pz_save_args *args,
		     pz_save **save_r, pz_error *err);
int pgsql_save_write(pz_save *save, const void *data, size_t len, pz_error *err);
int pgsql_save_commit(pz_save **save, uint32_t *uid_r, pz_error *err);
void pgsql_save_abort(pz_save **save);
int pgsql_copy(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
	       pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r, pz_error *err);
int pgsql_move(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
	       pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r, pz_error *err);
/* Remove the bodies of `ids` (a bigint array literal) that no message
 * references any more; inside the transaction that removed messages. */
int pgsql_body_gc(struct pz_mail_user *mu, const char *ids, pz_error *err);
/* Record expunged UIDs (an array literal) at `modseq`. */
int pgsql_expunged_add(struct pz_mail_user *mu, int64_t mailbox_id,
		       const char *uids, uint64_t modseq, pz_error *err);
/* Send a NOTIFY for a changed mailbox (delivered at commit). */
int pgsql_notify_mailbox(struct pz_mail_user *mu, int64_t mailbox_id,
			 pz_error *err);

/* pgsql_fts_text - the decoded header and body text of a new message for
 * its tsvector, from `pool`; both NULL when fts is off or the core lacks
 * the MIME primitives. */
int pgsql_fts_text(pz_pool *pool, const void *data, size_t len,
		   const char **hdr_r, const char **body_r);
/* ---- header fields for SEARCH (pgsql-fields.c) */
struct pgsql_fields {
	pz_pool *pool;
	int state;              /* fields_state: 1 the rows describe the header
				 * exactly, -1 they cannot, 0 no core support */
	int date_seen;
	int has_sent_day;       /* the first Date: could be read */
	int64_t sent_day;       /* its day in its own zone, from 1970-01-01 */
	const char *names;      /* text array literals: names, hex values */
	const char *values;
};
/* pgsql_hex - `len` bytes as hex digits, from the pool */
char *pgsql_hex(pz_pool *pool, const char *data, size_t len);
/* pgsql_fields_read - the fields of the header of `msg`; state is 0 when
 * the core lacks mail_search_fields (ABI 1.2).  -1 on a read error. */
int pgsql_fields_read(pz_stream *msg, pz_pool *pool, struct pgsql_fields *f_r);
/* pgsql_fields_params - adds fields_state and the sent day ($n, $n+1 of
 * ST_BODY_INSERT and ST_BODY_FIELDS_MARK). */
void pgsql_fields_params(const struct pgsql_fields *f, struct pgsql_params *p);
/* pgsql_fields_insert - the rows of a body just inserted or claimed. */
int pgsql_fields_insert(struct pz_mail_user *mu, int64_t body_id,
			const struct pgsql_fields *f, pz_error *err);
/* pgsql_fields_complete - index what the mailbox's bodies lack (a batch);
 * 1 when every body of the mailbox is indexed, 0 when not, -1 on error. */
int pgsql_fields_complete(struct pz_mailbox *box, pz_error *err);

int pgsql_search(pz_mailbox *box, const struct pz_search_key *key,
		 pz_uid_array *result_r, pz_error *err);

/* ---- auth (pgsql-auth.c) */
extern const struct pz_auth_ops pgsql_auth_ops;

#endif
