/* pgsql-admin.h - postgres-admin, the postgres module's admin helper that
 * poczta-admin runs for `db status|migrate|gc`, `import` and `export`.
 *
 * It is a program of the module (installed in $(pkglibexecdir)), not of
 * the core, because it links libpq.  For import and export it brings the
 * core up from the config as poczta-deliver does, and reads mail through
 * the storage ops of the loaded modules (maildir, postgres): the maildir
 * side is never parsed here beyond the standard Maildir++ files it writes.
 *
 *   pgsql-admin.c         options, the db commands, bringing the core up
 *   pgsql-admin-walk.c    reading a user's mail through storage ops
 *   pgsql-admin-import.c  maildir -> PostgreSQL, same UIDs
 *   pgsql-admin-export.c  PostgreSQL -> Maildir++ with dovecot-uidlist
 *
 * Errors are malloc'd strings (*error_r) the caller prints and frees.
 */
#ifndef PGSQL_ADMIN_H
#define PGSQL_ADMIN_H

#include "pgsql.h"

#include <time.h>

#define ADM_FLAGS_MASK (PZ_FLAG_SEEN | PZ_FLAG_ANSWERED | PZ_FLAG_FLAGGED | \
			PZ_FLAG_DELETED | PZ_FLAG_DRAFT)

/* One message as a view reported it. */
struct adm_msg {
	uint32_t uid;
	unsigned int flags;          /* PZ_FLAG_*, without RECENT */
	const char **kw;             /* keyword names */
	size_t kw_count;
	uint64_t modseq;
	uint64_t size;               /* RFC822.SIZE */
	time_t idate;
	int idate_tz;
};

/* One mailbox of a listing, and after adm_box_read its messages. */
struct adm_box {
	const char *name;
	unsigned int attrs;          /* PZ_MBOX_* */
	unsigned int special_use;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	struct adm_msg *msgs;        /* in UID order */
	size_t count, alloc;
};

/* A user's mail store, opened through a loaded storage module. */
struct adm_store {
	const struct pz_storage_ops *ops;
	pz_mail_user *mu;
	const char *what;            /* "maildir", "postgres": for messages */
};

/* What import and export work on. */
struct adm_job {
	const char *user_name;
	pz_user *user;               /* as the auth backends know the user */
	pz_user *maildir_user;       /* the same with mail = the maildir */
	const char *maildir_root;    /* MAILDIR without maildir: and :INDEX= */
	const char *account;         /* the postgres account name */
	PGconn *db;
	int force;
	pz_pool *pool;
};

/* ---- pgsql-admin-walk.c */
/* adm_store_open - the user's store of the storage named `storage`. */
int adm_store_open(struct adm_store *st, const char *storage, pz_user *user,
		   pz_pool *pool, char **error_r);
/* adm_store_list - every mailbox (and subscribed name) of the store,
 * INBOX first then by name, from `pool`. */
int adm_store_list(struct adm_store *st, pz_pool *pool, struct adm_box **boxes_r,
		   size_t *count_r, char **error_r);
/* adm_box_read - open a view of `box` with `open_flags`, sync it and fill
 * its counters and messages (from `pool`); *view_r is to be closed with
 * the ops' mailbox_close. */
int adm_box_read(struct adm_store *st, struct adm_box *box, unsigned int open_flags,
		 pz_pool *pool, pz_mailbox **view_r, char **error_r);
/* adm_msg_read - the raw message (CRLF) of `uid`, whole, from `pool`. */
int adm_msg_read(struct adm_store *st, pz_mailbox *view, uint32_t uid, pz_pool *pool,
		 unsigned char **data_r, size_t *len_r, char **error_r);
/* adm_grow - `array` (of `count` used out of *alloc elements of `elem`
 * bytes, from `pool`) with room for one more. */
void *adm_grow(pz_pool *pool, void *array, size_t count, size_t *alloc, size_t elem);
/* adm_error - "what: the storage's message" (malloc'd). */
char *adm_error(const struct adm_store *st, const char *what, const pz_error *err);

/* ---- pgsql-admin-import.c, pgsql-admin-export.c: exit codes */
int adm_import(struct adm_job *job);
int adm_export(struct adm_job *job);

/* ---- pgsql-admin.c */
/* adm_query - PQexecParams with text parameters, except `binary` (-1:
 * none) which is `bin_len` bytes; the result, or NULL with *error_r. */
PGresult *adm_query(PGconn *c, const char *sql, int n, const char *const *values,
		    int binary, int bin_len, char **error_r);
/* adm_job_end - the exit code of import or export (`what`): 0 when ret is
 * 0, else 1 with `error` printed and freed. */
int adm_job_end(const struct adm_job *job, const char *what, int ret, char *error);

#endif
