/* maildir.h - private declarations of the maildir storage module.
 *
 * Files and what each owns:
 *   maildir-module.c   descriptor, config, user_open/close, errors, ops table
 *   maildir-names.c    mailbox name validation, modified UTF-7, paths
 *   maildir-file.c     file name parsing (base, S=, W=, :2,flags), unique
 *                      names, small file helpers
 *   maildir-index.c    the per-mailbox SQLite index: schema, upgrades,
 *                      transactions, header and totals, keywords, cache
 *   maildir-index-msgs.c  the index's message records
 *   maildir-index-idle.c  index connections kept open between opens
 *   maildir-keywords.c keyword table, dovecot-keywords letters a..z
 *   maildir-scan.c     read cur/ and new/ (getdents64) and stat files,
 *                      on worker threads when there are many
 *   maildir-sync.c     reconcile the index with cur/ and new/
 *   maildir-sync-new.c records for new files; dates left unknown
 *   maildir-uidlist.c  import of dovecot-uidlist and courierimapuiddb
 *   maildir-view.c     mailbox_open/close/sync, views, \Recent, notify fd
 *   maildir-message.c  msg_info, msg_stream (CRLF), cache, store, expunge
 *   maildir-save.c     save transactions, copy, move
 *   maildir-mailbox.c  list, create, delete, rename, subscribe, status
 *   maildir-quota.c    Maildir++ maildirsize quota
 *
 * Memory: objects that live as long as a user (pz_mail_user) come from the
 * user's pool; a view (pz_mailbox) has its own pool; message arrays of a
 * view and of a sync grow with malloc and are freed explicitly, because
 * pools never give memory back.
 */
#ifndef MAILDIR_H
#define MAILDIR_H

#include <poczta/poczta.h>
#include <sqlite3.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

/* ---- limits and names */
#define MAILDIR_INDEX_NAME "poczta-index.db"
#define MAILDIR_SPECIAL_USE_NAME "poczta-special-use"
#define MAILDIR_UIDVALIDITY_NAME "poczta-uidvalidity"
#define MAILDIR_SUBSCRIPTIONS_NAME "subscriptions"
#define MAILDIR_KEYWORDS_NAME "dovecot-keywords"
#define MAILDIR_UIDLIST_NAME "dovecot-uidlist"
#define MAILDIR_COURIER_UIDDB_NAME "courierimapuiddb"
#define MAILDIR_QUOTA_NAME "maildirsize"
#define MAILDIR_FOLDER_MARKER "maildirfolder"
#define MAILDIR_TRASHED_NAME ".DOVECOT-TRASHED"
/* On-disk folder names (".A.B") are at most this long: one path element. */
#define MAILDIR_DIRNAME_MAX 255
/* Letters a..z in a file name's info carry the first 26 keywords. */
#define MAILDIR_KEYWORD_LETTERS 26
#define MAILDIR_KEYWORD_MAX_LEN 250
#define MAILDIR_KEYWORDS_MAX 4000
/* A directory whose mtime is this close to "now" may still change within
 * the same timestamp tick: its mtime is not trusted for the quick check. */
#define MAILDIR_SYNC_SECS 1
/* tmp/ files older than this are leftovers of crashed saves (qmail: 36h). */
#define MAILDIR_TMP_STALE_SECS (36 * 3600)
#define MAILDIR_TMP_CLEAN_INTERVAL (8 * 3600)
/* Expunge records are kept this long for views that sync rarely. */
#define MAILDIR_EXPUNGE_KEEP_SECS (7 * 24 * 3600)
/* Directory reads take this much at a time (glibc's readdir: 32 KiB). */
#define MAILDIR_GETDENTS_BUF_SIZE (256 * 1024)
/* Fewer files than this are stat()ed on the calling thread alone. */
#define MAILDIR_STAT_PARALLEL_MIN 512
/* Threads that stat() files: the work waits on the disk more than on the
 * CPU, so a few more than the CPUs, up to this. */
#define MAILDIR_STAT_THREADS_MAX 4
/* Bytes of an index that reads may map (SQLite's mmap_size). */
#define MAILDIR_INDEX_MMAP_SIZE 268435456
/* A sync that adds more records than this gives SQLite a page cache of
 * MAILDIR_INDEX_BULK_CACHE KiB while it writes them (default: 2000). */
#define MAILDIR_INDEX_BULK_ROWS 4096
#define MAILDIR_INDEX_BULK_CACHE 65536
/* The WAL of an index stays when it closes (no checkpoint at every close:
 * that cost two syncs per delivery), unless it has grown past this many
 * bytes: then the closing process checkpoints it and truncates it, which
 * keeps what an idle mailbox leaves on disk small (as Dovecot rotates its
 * transaction log past 1 MiB).  A session of a few commands writes some
 * 100 KiB; a smaller bound made every other close checkpoint (two more
 * syncs). */
#define MAILDIR_INDEX_WAL_KEEP (1024 * 1024)
/* Stack of the thread that fsyncs a folder during a save's commit. */
#define MAILDIR_DIR_SYNC_STACK (64 * 1024)
/* Index connections of closed mailboxes a user keeps open for the next
 * open of the same mailbox (maildir-index-idle.c). */
#define MAILDIR_IDLE_INDEXES 4
/* a view of up to this many messages learns all their internal dates
 * at the first one asked for */
#define MAILDIR_DATES_BATCH_MAX 20000
/* the core's search asks a view's cache for one field of message after
 * message: once MAILDIR_MEMO_AFTER lookups asked for one, its values for
 * a view of up to MAILDIR_DATES_BATCH_MAX messages are read at once, and
 * kept (for up to MAILDIR_MEMO_FIELDS fields) until the view's next sync,
 * at the end of the command */
#define MAILDIR_MEMO_FIELDS 4
#define MAILDIR_MEMO_AFTER 16
/* a field whose values take more (a FETCH BODYSTRUCTURE of a large
 * mailbox) is read value by value, as before the memo */
#define MAILDIR_MEMO_BYTES (1024 * 1024)
/* Rows per statement of a bulk insert (11 variables each). */
#define MAILDIR_INSERT_BATCH 32

extern const struct pz_host *maildir_host;
extern pz_module *maildir_module;

#define HOST maildir_host

struct maildir_settings {
	const char *location;      /* "maildir:~/Maildir[:INDEX=...]" */
	const char *autocreate;    /* blank separated names, or NULL */
	int autosubscribe;
	int fsync;                 /* fsync files, dirs and index commits */
	uint64_t lock_timeout_ms;
	uint64_t quota_bytes;      /* defaults when the user has no fields */
	uint64_t quota_messages;
};
extern struct maildir_settings maildir_set;

/* ---- the user's mail store */
struct pz_mail_user {
	pz_user *user;
	pz_pool *pool;
	char *root;         /* maildir root, no trailing '/' */
	char *index_root;   /* where indexes live; == root by default */
	char *quota_file;   /* maildirsize */
	uint64_t quota_bytes;
	uint64_t quota_messages;
	char errbuf[4][256];
	unsigned int errnext;
	/* connections of indexes closed lately, oldest first */
	struct maildir_index *idle[MAILDIR_IDLE_INDEXES];
	size_t n_idle;
	/* connections open mailboxes hold (linked by next_open) */
	struct maildir_index *open;
};

/* One mailbox's place on disk: the same for a view, a status or a save. */
struct maildir_paths {
	char *name;         /* storage name, "INBOX" or "A/B" */
	char *dirname;      /* on disk "" (INBOX) or ".A.B" */
	char *dir;          /* the maildir of the mailbox */
	char *index_dir;    /* folder of the index */
	char *index_path;
};

/* ---- index records */
enum maildir_dir { MAILDIR_CUR = 0, MAILDIR_NEW = 1 };

/* Flags that have no IMAP meaning but live in file names: kept as bits
 * above the PZ_FLAG_* range so they survive a rename. */
#define MAILDIR_FLAG_PASSED (1u << 16)
#define MAILDIR_PZ_FLAGS (PZ_FLAG_SEEN | PZ_FLAG_ANSWERED | PZ_FLAG_FLAGGED | \
			  PZ_FLAG_DELETED | PZ_FLAG_DRAFT)

/* The internal date of a file found by a sync is its mtime (as Dovecot
 * has it: an APPEND with a date sets the mtime, and the file name keeps the
 * time of the save).  A sync that serves no view does not stat() the files
 * for it: the record keeps this until a view's sync looks (NULL in SQL). */
#define MAILDIR_IDATE_UNKNOWN INT64_MIN

struct maildir_rec {
	uint32_t uid;
	uint32_t flags;      /* PZ_FLAG_* and MAILDIR_FLAG_PASSED */
	uint64_t modseq;
	uint64_t psize;      /* bytes on disk */
	uint64_t vsize;      /* with CRLF line ends: RFC822.SIZE */
	int64_t idate;       /* or MAILDIR_IDATE_UNKNOWN */
	int32_t idate_tz;    /* minutes east of UTC */
	int in_new;
	char *base;          /* file name up to the ':' of the info */
	char *fname;         /* current file name in new/ or cur/ */
	char *kw;            /* keyword ids, "0 3 27", or NULL */
};

/* Per-mailbox totals kept in the index (STATUS without a table scan). */
struct maildir_counters {
	int64_t messages, unseen, deleted, vsize;
	int64_t recent;      /* UIDs from first_recent_uid up */
	int64_t undated;     /* records whose idate is not known yet */
};

struct maildir_hdr {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t first_recent_uid;
	int64_t new_mtime_ns;    /* as of the last scan of new/ */
	int64_t cur_mtime_ns;
	int new_trusted;         /* mtime old enough to compare against */
	int cur_trusted;
	/* while not trusted: when the index last knew the folder whole (a
	 * scan's start, or the check before changes of our own); a folder
	 * whose mtime did not move is read again a MAILDIR_SYNC_SECS later */
	int64_t new_checked_ns;
	int64_t cur_checked_ns;
	uint64_t expunge_floor;  /* expunge records below this were pruned */
	/* the modseq of every record the first sync made, which the index
	 * keeps as 0 (outside its modseq index); 0 when there are none */
	uint64_t import_modseq;
	int64_t keywords_mtime_ns; /* dovecot-keywords as last read */
	int64_t tmp_cleaned;     /* time of the last tmp/ cleanup */
	/* read by maildir_index_hdr_get, as committed (not written by
	 * maildir_index_hdr_set: the index keeps them itself) */
	struct maildir_counters counters;
};

struct maildir_keywords {
	char **names;        /* by id; NULL for holes */
	size_t count;        /* ids 0..count-1 */
};

#define MAILDIR_INDEX_STMTS 32
struct maildir_index {
	sqlite3 *db;
	char *path;          /* malloc'd, as the struct: it outlives the mbox */
	dev_t dev;
	ino_t ino;
	dev_t shm_dev;       /* the WAL index while the connection is idle */
	ino_t shm_ino;
	int schema_version;  /* as opened (PRAGMA schema_version) */
	/* the open mailboxes of one user that share the connection, and the
	 * next connection of the user's open list */
	unsigned int refs;
	struct maildir_index *next_open;
	/* the open write transaction */
	int in_txn;
	int durable;                    /* began with synchronous = FULL */
	int inserted;                   /* gave out UIDs */
	struct maildir_counters delta;  /* what it changed in the totals */
	uint32_t first_recent_uid;      /* as the header has it in it */
	uint64_t import_modseq;         /* as the header has it */
	int recent_stale;               /* first_recent_uid moved: recount */
	int bulk;                       /* a larger page cache meanwhile */
	/* new/ and cur/ (enum maildir_dir) in the open write transaction:
	 * whether a sync under its lock found the index whole as of the
	 * header's mtime, and whether we changed the folder since; the
	 * commit then records the mtime our changes left (see
	 * maildir_index_commit) */
	struct {
		int known, touched;
		int64_t checked_ns;     /* the header's checked time then */
	} dirs[2];
	/* a file name rebuilt from base + stored suffix (maildir-index-msgs.c) */
	char fname_buf[NAME_MAX + 1];
	sqlite3_stmt *st[MAILDIR_INDEX_STMTS];
};

/* A mailbox opened for some purpose: the index plus what it needs. */
struct maildir_mbox {
	struct pz_mail_user *mu;
	struct maildir_paths paths;
	struct maildir_index *idx;
	struct maildir_keywords kw;
	pz_pool *pool;       /* lives as long as the mbox */
	unsigned int sync_flags;
};

/* ---- a view */
struct maildir_vmsg {
	uint32_t uid;
	uint32_t flags;      /* includes PZ_FLAG_RECENT for this view */
	uint64_t modseq;
	uint64_t vsize;
	int64_t idate;
	int32_t idate_tz;
	char *kw;            /* malloc'd, or NULL */
};

struct pz_mailbox {
	struct maildir_mbox mb;
	unsigned int open_flags;
	struct maildir_vmsg *msgs;
	size_t count, alloc;
	uint32_t view_uidnext;   /* UIDs below were reported to the view */
	uint64_t view_modseq;    /* changes up to this were reported */
	uint32_t uidvalidity;
	int synced;
	int dates_loaded;        /* dates_load() ran (maildir-view.c) */
	/* cached values of a few fields for the whole view, read at once for
	 * the command that asked (maildir-message.c) */
	struct maildir_memo *memo[MAILDIR_MEMO_FIELDS];
	int notify_fd;
};

/* ---- errors (maildir-module.c) */
/* maildir_error - set *err to `cls` with a formatted message kept in the
 * user's rotating buffers (valid through the caller's command). */
int maildir_error(struct pz_mail_user *mu, pz_error *err,
		  enum pz_error_class cls, const char *fmt, ...) PZ_PRINTF(4, 5);
/* maildir_syserror - log "what path: strerror" and set a TEMP (or PERM for
 * EACCES, QUOTA for EDQUOT/ENOSPC) error without the path. */
int maildir_syserror(struct pz_mail_user *mu, pz_error *err, const char *what,
		     const char *path);
void maildir_log(enum pz_log_level level, const char *fmt, ...) PZ_PRINTF(2, 3);

/* ---- names (maildir-names.c) */
/* maildir_name_to_dir - check a storage name and give its canonical form
 * ("INBOX" for any case of inbox) and its on-disk folder name ("" for
 * INBOX, ".A.B" with levels in modified UTF-7).  PZ_ERR_PARAMS when bad. */
int maildir_name_to_dir(struct pz_mail_user *mu, pz_pool *pool, const char *name,
			char **canon_r, char **dirname_r, pz_error *err);
/* maildir_dir_to_name - the storage name of an on-disk folder name
 * (".A.B"), or NULL if it is not one this module would write. */
char *maildir_dir_to_name(pz_pool *pool, const char *dirname);
/* Modified UTF-7 (RFC 3501 5.1.3).  Return NULL on invalid input. */
char *maildir_utf8_to_mutf7(pz_pool *pool, const char *in, size_t len);
char *maildir_mutf7_to_utf8(pz_pool *pool, const char *in, size_t len);
/* maildir_paths_init - fill `p` for a (canonical) name and its dirname. */
void maildir_paths_init(struct pz_mail_user *mu, pz_pool *pool,
			const char *canon, const char *dirname,
			struct maildir_paths *p);
int maildir_paths_lookup(struct pz_mail_user *mu, pz_pool *pool,
			 const char *name, struct maildir_paths *p, pz_error *err);

/* ---- file names and file helpers (maildir-file.c) */
struct maildir_fname {
	const char *base;   /* points into a copy */
	size_t base_len;
	uint64_t psize;     /* 0 when no S= */
	uint64_t vsize;     /* 0 when no W= */
	int has_psize, has_vsize;
	int has_info;       /* ":2," present */
	uint32_t flags;     /* PZ_FLAG_* and MAILDIR_FLAG_PASSED */
	uint32_t kw_letters; /* bit i: letter 'a'+i */
	char unknown[32];   /* flag letters we do not know, kept as they are */
	const char *tail;   /* ",..." after the flag letters, or NULL */
};
void maildir_fname_parse(const char *fname, struct maildir_fname *f_r);
/* The length of the base part of a file name (up to ':'). */
size_t maildir_fname_base_len(const char *fname);
/* maildir_fname_build - "<base>:2,<letters in ASCII order><tail>". */
char *maildir_fname_build(pz_pool *pool, const char *base, size_t base_len,
			  uint32_t flags, uint32_t kw_letters,
			  const char *unknown, const char *tail);
/* A unique base name: "<sec>.M<usec>P<pid>Q<n>.<host>". */
char *maildir_unique_base(pz_pool *pool);
char *maildir_path(pz_pool *pool, const char *dir, const char *sub,
		   const char *fname);
int maildir_fsync_dir(const char *dir);
/* A folder fsync on a thread of its own while the caller goes on (with the
 * index commit, whose WAL sync then overlaps it: two journal commits wait
 * as one).  finish() joins it: 0, or -1 with errno. */
struct maildir_dir_sync {
	pthread_t thread;
	const char *dir;
	int started;
	int ret, error;
};
void maildir_dir_sync_start(struct maildir_dir_sync *ds, const char *dir);
int maildir_dir_sync_finish(struct maildir_dir_sync *ds);
int maildir_mkdir_maildir(const char *dir, int folder_marker);
/* Read a whole small file into the pool; 1 when it does not exist. */
int maildir_read_file(pz_pool *pool, const char *path, size_t max,
		      char **data_r, size_t *len_r, struct stat *st_r);
/* Replace a small file atomically (tmp file, fsync, rename). */
int maildir_write_file(const char *path, const char *data, size_t len);
/* Count the RFC822 size of a file: bytes plus one per bare LF. */
int maildir_file_vsize(int fd, uint64_t *psize_r, uint64_t *vsize_r);
/* The leading "<seconds>." of a file name, or -1: a guess of the delivery
 * time, used only for a message whose file is gone. */
int64_t maildir_fname_time(const char *fname);
/* maildir_fname_order - a key that sorts file names in delivery order:
 * the seconds and the microseconds ("<sec>.M<usec>...") they start with,
 * as Dovecot orders new files; 0 for a name without them.  Equal keys
 * fall back to the names. */
uint64_t maildir_fname_order(const char *fname);
int maildir_rmdir_recursive(const char *path);
int64_t maildir_st_mtime_ns(const struct stat *st);
int64_t maildir_now_ns(void);

/* ---- index (maildir-index.c) */
int maildir_index_open(struct maildir_mbox *mb, int create, pz_error *err);
void maildir_index_close(struct maildir_index **idx);
/* Whether the index file on disk is still the one opened. */
int maildir_index_replaced(struct maildir_index *idx);
/* The WAL past MAILDIR_INDEX_WAL_KEEP goes into the database, which
 * truncates it (unless another process reads it). */
void maildir_index_wal_trim(struct maildir_index *idx);
/* PRAGMA schema_version of the database, -1 on errors. */
int maildir_index_schema_version(struct maildir_index *idx);
/* maildir_index_reuse - give mb a connection to its index that the user
 * has open: one another open mailbox holds (shared), or an idle one still
 * usable: 1, else 0 */
int maildir_index_reuse(struct maildir_mbox *mb);
/* maildir_index_adopt - a connection just opened for mb joins the user's
 * open list */
void maildir_index_adopt(struct maildir_mbox *mb);
/* maildir_index_release - mb lets go of its connection (outside any
 * transaction): the last mailbox to hold it hands it to the user to keep,
 * closing the oldest kept; mb->idx becomes NULL */
void maildir_index_release(struct maildir_mbox *mb);
/* maildir_index_idle_close - close the connections the user keeps */
void maildir_index_idle_close(struct pz_mail_user *mu);
/* Write transactions take the mailbox write lock (BEGIN IMMEDIATE) and
 * wait up to lock_timeout for it.  `durable` commits with a full fsync;
 * without it, the commit is still made durable when the transaction gave
 * out UIDs (see maildir-index.c). */
int maildir_index_begin(struct maildir_mbox *mb, int durable, pz_error *err);
int maildir_index_commit(struct maildir_mbox *mb, pz_error *err);
/* maildir_index_dir_known - inside a write transaction: the index holds
 * every change of folder `d` up to its mtime in the header, as known at
 * `checked_ns` */
void maildir_index_dir_known(struct maildir_mbox *mb, enum maildir_dir d,
			     int64_t checked_ns);
/* maildir_index_dir_touched - inside a write transaction: we renamed,
 * linked or removed a file of folder `d`, and the transaction records
 * it in the index */
void maildir_index_dir_touched(struct maildir_mbox *mb, enum maildir_dir d);
void maildir_index_rollback(struct maildir_mbox *mb);
int maildir_index_hdr_get(struct maildir_mbox *mb, struct maildir_hdr *h,
			  pz_error *err);
int maildir_index_hdr_set(struct maildir_mbox *mb, const struct maildir_hdr *h,
			  pz_error *err);
/* The record changers below keep the index's counters: they must run
 * inside a write transaction, whose commit adds up what they changed. */
int maildir_index_insert(struct maildir_mbox *mb, const struct maildir_rec *r,
			 pz_error *err);
/* Insert n records (strings must stay valid until it returns); many at
 * once get a larger page cache for the rest of the transaction. */
int maildir_index_insert_many(struct maildir_mbox *mb,
			      const struct maildir_rec *recs, size_t n,
			      pz_error *err);
/* Update file name, location, flags, keywords and modseq of r->uid, whose
 * flags were `old_flags`. */
int maildir_index_update(struct maildir_mbox *mb, const struct maildir_rec *r,
			 uint32_t old_flags, pz_error *err);
/* Delete the record of r->uid (r as the index has it) and remember it as
 * expunged at `modseq`. */
int maildir_index_expunge(struct maildir_mbox *mb, const struct maildir_rec *r,
			  uint64_t modseq, pz_error *err);
/* Record the internal date of a record whose date was unknown. */
int maildir_index_set_idate(struct maildir_mbox *mb, uint32_t uid, int64_t idate,
			    pz_error *err);
/* The records whose internal date is not known (only uid, base, fname and
 * in_new are set); cb returns nonzero to stop. */
int maildir_index_iter_undated(struct maildir_mbox *mb,
			       int (*cb)(void *ctx, const struct maildir_rec *r),
			       void *ctx, pz_error *err);
/* 0 with the record (strings from `pool`), 1 when there is none. */
int maildir_index_get(struct maildir_mbox *mb, uint32_t uid, pz_pool *pool,
		      struct maildir_rec *r, pz_error *err);
int maildir_index_get_by_base(struct maildir_mbox *mb, const char *base,
			      pz_pool *pool, struct maildir_rec *r, pz_error *err);
/* Iterate records: uid range [first, last], only in new/ when `new_only`,
 * or modseq > `modseq_gt` (0: any).  cb returns nonzero to stop. */
int maildir_index_iter(struct maildir_mbox *mb, uint32_t first, uint32_t last,
		       uint64_t modseq_gt, int new_only,
		       int (*cb)(void *ctx, const struct maildir_rec *r),
		       void *ctx, pz_error *err);
/* What a view needs of the records from UID `first` up: uid, flags, kw,
 * modseq, vsize, idate, idate_tz; base, fname and in_new only for a
 * record whose idate is unknown.  cb returns nonzero to stop. */
int maildir_index_iter_view(struct maildir_mbox *mb, uint32_t first,
			    int (*cb)(void *ctx, const struct maildir_rec *r),
			    void *ctx, pz_error *err);
/* The UIDs expunged at a modseq above `modseq`, in no particular order. */
int maildir_index_expunged_since(struct maildir_mbox *mb, uint64_t modseq,
				 void (*cb)(void *ctx, uint32_t uid), void *ctx,
				 pz_error *err);
int maildir_index_prune_expunged(struct maildir_mbox *mb, pz_error *err);
struct maildir_counts {
	uint32_t messages, unseen, deleted, recent;
	uint64_t bytes;
};
/* The counts STATUS reports, from the totals a header read got. */
void maildir_index_counts(const struct maildir_hdr *h, struct maildir_counts *c);
int maildir_index_cache_get(struct maildir_mbox *mb, uint32_t uid,
			    const char *field, pz_pool *pool,
			    const char **value_r, size_t *len_r, pz_error *err);
/* maildir_index_cache_range - the cached values of `field` for the UIDs
 * first..last, in UID order; cb returns nonzero to stop */
int maildir_index_cache_range(struct maildir_mbox *mb, const char *field,
			      uint32_t first, uint32_t last,
			      int (*cb)(void *ctx, uint32_t uid, const void *value,
					size_t len),
			      void *ctx, pz_error *err);
int maildir_index_cache_set(struct maildir_mbox *mb, uint32_t uid,
			    const char *field, const void *value, size_t len,
			    pz_error *err);
int maildir_index_keywords_load(struct maildir_mbox *mb, pz_error *err);
int maildir_index_keyword_add(struct maildir_mbox *mb, uint32_t id,
			      const char *name, pz_error *err);

/* ---- keywords (maildir-keywords.c) */
/* Id of keyword `name` (case-insensitive, RFC 9051 2.3.2), -1 if unknown. */
int maildir_keyword_lookup(const struct maildir_keywords *kw, const char *name);
/* Id of `name`, adding it (inside a write transaction) when new. */
int maildir_keyword_get(struct maildir_mbox *mb, const char *name,
			uint32_t *id_r, pz_error *err);
int maildir_keyword_valid(const char *name);
/* Read dovecot-keywords if it changed and merge its letters. */
int maildir_keywords_sync_file(struct maildir_mbox *mb, struct maildir_hdr *h,
			       pz_error *err);
int maildir_keywords_write_file(struct maildir_mbox *mb, pz_error *err);
/* Keyword id lists ("0 3 27") <-> letters and names. */
uint32_t maildir_kw_letters(const char *kw);
/* Merge letters of a file name with the ids >= 26 of an index list. */
char *maildir_kw_from_letters(pz_pool *pool, const struct maildir_keywords *kw,
			      uint32_t letters, const char *old_kw);
size_t maildir_kw_count(const char *kw);
/* Names of the ids in `kw` (array from `pool`, names strdup'd when
 * `copy`). */
const char **maildir_kw_names(pz_pool *pool, const struct maildir_keywords *k,
			      const char *kw, size_t *count_r, int copy);
int maildir_kw_has(const char *kw, uint32_t id);
/* Add, remove or replace ids; result from `pool` (NULL when empty). */
char *maildir_kw_apply(pz_pool *pool, const char *kw, const uint32_t *ids,
		       size_t n, enum pz_store_mode mode);
int maildir_kw_equal(const char *a, const char *b);

/* ---- sync (maildir-sync.c) */
enum maildir_sync_flag {
	MAILDIR_SYNC_FORCE = 1u << 0,    /* scan even if mtimes say no change */
	MAILDIR_SYNC_MOVE_NEW = 1u << 1, /* move new/ files to cur/ */
	MAILDIR_SYNC_LOCKED = 1u << 2,   /* caller holds a write transaction */
	MAILDIR_SYNC_DATES = 1u << 3,    /* leave no internal date unknown */
};
/* maildir_sync_disk - bring the index up to date with cur/ and new/.
 * Cheap when the directories did not change.  PZ_ERR_NOT_FOUND when the
 * mailbox is gone. */
int maildir_sync_disk(struct maildir_mbox *mb, unsigned int flags, pz_error *err);
/* maildir_sync_dirs_known - inside a write transaction that will change
 * the folders without a sync: note which of new/ and cur/ the index
 * knows whole (maildir_index_dir_known) */
int maildir_sync_dirs_known(struct maildir_mbox *mb, pz_error *err);
/* Find the current file name of `base` by scanning cur/ and new/; 1 when
 * it is gone. */
int maildir_sync_find_file(struct maildir_mbox *mb, const char *base,
			   pz_pool *pool, char **fname_r, int *in_new_r,
			   pz_error *err);
/* Open the file of a record (following a rename by another tool);
 * -1 with errno ENOENT when the message is gone. */
int maildir_open_rec(struct maildir_mbox *mb, struct maildir_rec *r,
		     pz_pool *pool, pz_error *err);

/* ---- reading the directories (maildir-scan.c) */
enum maildir_st_state {
	MAILDIR_ST_NONE = 0,  /* not stat()ed */
	MAILDIR_ST_FILE,      /* a regular file: mtime and size are set */
	MAILDIR_ST_GONE,      /* vanished, or not a regular file */
	MAILDIR_ST_ERROR,     /* stat() failed with st_errno */
	MAILDIR_ST_SKIP,      /* not to be stat()ed */
};

/* A directory entry of new/ or cur/. */
struct maildir_dirent {
	char *name;
	size_t base_len;
	uint32_t uid;            /* from an imported uid list, or 0 */
	unsigned char in_new;
	unsigned char d_type;    /* DT_REG, DT_UNKNOWN, ... */
	unsigned char st_state;  /* enum maildir_st_state */
	int st_errno;
	int64_t mtime;
	uint64_t size;
};

/* Entries of a scan: blocks that never move (worker threads write into
 * them), and pointers to the entries in directory order. */
struct maildir_dirlist {
	struct maildir_dirent **ents;
	size_t count, alloc;
	struct maildir_dirblock *blocks;
	char *buf;               /* getdents64 buffer */
};
struct maildir_statq;

/* maildir_dirlist_read - add the files of a directory (no dot files, no
 * directories); when `q` is not NULL, each batch read is handed to its
 * threads to stat() while the next is read.  -1 with errno. */
int maildir_dirlist_read(struct maildir_dirlist *l, int dirfd, int in_new,
			 struct maildir_statq *q);
/* Forget the entries (and free their memory). */
void maildir_dirlist_clear(struct maildir_dirlist *l);
void maildir_dirlist_free(struct maildir_dirlist *l);
/* maildir_statq_start - threads that stat() the entries (of new_fd or
 * cur_fd) added to it, while the caller goes on.  NULL when out of memory;
 * when no thread starts, maildir_statq_finish does the work. */
struct maildir_statq *maildir_statq_start(int new_fd, int cur_fd);
/* Entries must stay in place until maildir_statq_finish. */
void maildir_statq_add(struct maildir_statq *q, struct maildir_dirent *ents,
		       size_t n);
/* Wait until every entry added is done, and free the queue. */
void maildir_statq_finish(struct maildir_statq **q);
/* stat() the entries with st_state NONE, in parallel when there are
 * many. */
void maildir_stat_ents(int new_fd, int cur_fd, struct maildir_dirent *ents,
		       size_t n);

/* ---- import (maildir-uidlist.c) */
struct maildir_uidmap;
/* Read dovecot-uidlist or courierimapuiddb of a mailbox without index:
 * 1 when neither exists. */
int maildir_uidlist_read(struct maildir_mbox *mb, pz_pool *pool,
			 struct maildir_uidmap **map_r);
uint32_t maildir_uidmap_uidvalidity(const struct maildir_uidmap *m);
uint32_t maildir_uidmap_uidnext(const struct maildir_uidmap *m);
/* The UID of `base` (0 when unknown). */
uint32_t maildir_uidmap_lookup(const struct maildir_uidmap *m, const char *base,
			       size_t len);
/* A fresh UIDVALIDITY for a mailbox of the user, never reused. */
uint32_t maildir_uidvalidity_next(struct pz_mail_user *mu);

/* ---- mailbox handles (maildir-view.c) */
/* maildir_mbox_open - open the index of a mailbox; `sync_flags` (DATES,
 * MOVE_NEW) apply to every sync of the handle, the first one included. */
int maildir_mbox_open(struct pz_mail_user *mu, const char *name, pz_pool *pool,
		      unsigned int sync_flags, struct maildir_mbox *mb,
		      pz_error *err);
int maildir_mbox_init(struct maildir_mbox *mb, pz_error *err);
void maildir_mbox_close(struct maildir_mbox *mb);
/* maildir_vmsg_idate - a view message's internal date, found now (index,
 * else the file's mtime) when the view did not learn it at sync. */
int64_t maildir_vmsg_idate(struct pz_mailbox *box, struct maildir_vmsg *v, pz_pool *pool);
int maildir_msg_internal_date(pz_mailbox *box, uint32_t uid, time_t *date_r, int *tz_r,
			      pz_error *err);
int maildir_view_find(const struct pz_mailbox *box, uint32_t uid);

/* ---- the ops (one file each group) */
int maildir_user_open(pz_module *self, pz_user *user, pz_pool *pool,
		      pz_mail_user **mu_r, pz_error *err);
void maildir_user_close(pz_mail_user **mu);
int maildir_mailbox_list(pz_mail_user *mu,
			 void (*cb)(void *ctx, const struct pz_mailbox_info *info),
			 void *ctx, pz_error *err);
int maildir_mailbox_create(pz_mail_user *mu, const char *name,
			   unsigned int special_use, pz_error *err);
int maildir_mailbox_delete(pz_mail_user *mu, const char *name, pz_error *err);
int maildir_mailbox_rename(pz_mail_user *mu, const char *from, const char *to,
			   pz_error *err);
int maildir_mailbox_subscribe(pz_mail_user *mu, const char *name, int subscribe,
			      pz_error *err);
int maildir_mailbox_status(pz_mail_user *mu, const char *name,
			   unsigned int items, struct pz_mailbox_status *st,
			   pz_error *err);
int maildir_autocreate(struct pz_mail_user *mu, pz_error *err);
unsigned int maildir_special_use_get(struct pz_mail_user *mu, pz_pool *pool,
				     const struct maildir_paths *p);

int maildir_mailbox_open(pz_mail_user *mu, const char *name, unsigned int flags,
			 pz_mailbox **box_r, pz_error *err);
void maildir_mailbox_close(pz_mailbox **box);
int maildir_mailbox_sync(pz_mailbox *box, const struct pz_sync_handler *h,
			 void *ctx, pz_error *err);
int maildir_mailbox_view_status(pz_mailbox *box, struct pz_mailbox_status *st);
int maildir_mailbox_notify_fd(pz_mailbox *box);
void maildir_mailbox_notify_ack(pz_mailbox *box);

int maildir_msg_info(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		     struct pz_msg_info *info, pz_error *err);
int maildir_msg_stream(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		       pz_stream **stream_r, pz_error *err);
int maildir_msg_cache_get(pz_mailbox *box, uint32_t uid, const char *field,
			  pz_pool *pool, const char **value_r, size_t *len_r,
			  pz_error *err);
int maildir_msg_cache_set(pz_mailbox *box, uint32_t uid, const char *field,
			  const char *value, size_t len, pz_error *err);
/* maildir_memo_clear - forget the view's memos (maildir-message.c) */
void maildir_memo_clear(struct pz_mailbox *box);
int maildir_store(pz_mailbox *box, const pz_uidset *set,
		  const struct pz_store_args *args, pz_uid_array *changed_r,
		  pz_uid_array *refused_r, pz_error *err);
int maildir_expunge(pz_mailbox *box, const pz_uidset *set,
		    pz_uid_array *expunged_r, pz_error *err);
int maildir_search(pz_mailbox *box, const struct pz_search_key *key,
		   pz_uid_array *result_r, pz_error *err);

int maildir_save_begin(pz_mailbox *box, const struct pz_save_args *args,
		       pz_save **save_r, pz_error *err);
int maildir_save_write(pz_save *save, const void *data, size_t len,
		       pz_error *err);
int maildir_save_commit(pz_save **save, uint32_t *uid_r, pz_error *err);
void maildir_save_abort(pz_save **save);
int maildir_copy(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
		 pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r,
		 pz_error *err);
int maildir_move(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
		 pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r,
		 pz_error *err);

/* ---- quota (maildir-quota.c) */
int maildir_quota_get(pz_mail_user *mu, struct pz_quota *quota, pz_error *err);
/* PZ_ERR_QUOTA when adding `bytes` in `count` messages would pass a limit. */
int maildir_quota_check(struct pz_mail_user *mu, uint64_t bytes, uint64_t count,
			pz_error *err);
/* Record a change of usage (negative when expunged). */
void maildir_quota_update(struct pz_mail_user *mu, int64_t bytes, int64_t count);
/* Forget the cached usage (after a folder was deleted). */
void maildir_quota_invalidate(struct pz_mail_user *mu);
int maildir_parse_size(const char *s, uint64_t *out);

/* ---- base name -> number map (maildir-hash.c); keys are not copied */
struct maildir_hash;
struct maildir_hash *maildir_hash_new(size_t expected);
void maildir_hash_free(struct maildir_hash **h);
/* 0 added, 1 replaced, -1 out of memory */
int maildir_hash_put(struct maildir_hash *h, const char *key, size_t len,
		     uint32_t value);
int maildir_hash_get(struct maildir_hash *h, const char *key, size_t len,
		     uint32_t *value_r);

/* ---- uid sets */
int maildir_uidset_has(const pz_uidset *set, uint32_t uid);

#endif
