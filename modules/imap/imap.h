/* modules/imap/imap.h - the IMAP server module (RFC 9051 IMAP4rev2 and
 * RFC 3501 IMAP4rev1, with the extensions listed in imap-auth.c).
 *
 * A session is a state (NOT_AUTH, AUTH, SELECTED, LOGOUT) plus a command
 * table (imap-commands.c).  Commands are read by the resumable parser
 * (imap-parser.h) and run one at a time; each command's memory lives in
 * the command pool, cleared when it ends.  The selected mailbox is a view
 * (imap-view.c): the storage speaks UIDs, the view keeps the sequence
 * numbers the client knows and turns storage syncs into untagged EXISTS,
 * EXPUNGE, RECENT and FETCH responses at the moments RFC 9051 allows.
 *
 * Files, one responsibility each:
 *   imap-module.c    descriptor, settings, init
 *   imap-session.c   the session loop: read, parse, literals, timeouts
 *   imap-commands.c  the command table and dispatch
 *   imap-reply.c     responses, strings, error classes to response codes
 *   imap-auth.c      CAPABILITY NOOP LOGOUT STARTTLS LOGIN AUTHENTICATE ENABLE ID
 *   imap-names.c     mailbox names: modified UTF-7 / UTF-8, separator, INBOX
 *   imap-mailbox.c   CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE STATUS NAMESPACE
 *   imap-list.c      LIST (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE) and LSUB
 *   imap-select.c    SELECT EXAMINE CLOSE UNSELECT CHECK EXPUNGE
 *   imap-view.c      the selected mailbox and its untagged responses
 *   imap-seqset.c    sequence sets, UID sets, $
 *   imap-fetch.c     FETCH: items, per-message responses
 *   imap-fetch-body.c BODY[section]<partial>, BINARY, structure cache
 *   imap-store.c     STORE and flag lists
 *   imap-search.c    SEARCH criteria into a pz_search_key tree
 *   imap-search-run.c evaluation, SEARCH/ESEARCH responses, SEARCHRES
 *   imap-append.c    APPEND and MULTIAPPEND
 *   imap-copy.c      COPY and MOVE
 *   imap-idle.c      IDLE
 */
#ifndef POCZTA_IMAP_H
#define POCZTA_IMAP_H

#include <poczta/poczta.h>
#include "imap-parser.h"

/* Bounds of one command (the APPEND limit is a setting). */
#define IMAP_MAX_LINE (64 * 1024)        /* one line of a command */
#define IMAP_MAX_LITERAL (64 * 1024)     /* a literal outside APPEND */
#define IMAP_MAX_COMMAND (1024 * 1024)   /* all arguments of a command */
#define IMAP_MAX_DEPTH 32                /* nested parentheses */
#define IMAP_MAX_ARGS 8192               /* arguments at all levels */
#define IMAP_SEND_CHUNK (64 * 1024)      /* message data written per call */
#define IMAP_IDLE_MIN_MS (30u * 60 * 1000) /* RFC 9051 5.4: 30 minutes */
#define IMAP_IDLE_KEEPALIVE_MS (2u * 60 * 1000)
#define IMAP_IDLE_POLL_MS 1000           /* re-sync when no notify fd */
#define IMAP_HEADER_MAX (1024 * 1024)    /* a header read into memory */

extern const struct pz_host *imap_host;

enum imap_state {
	IMAP_STATE_NOT_AUTH = 0,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

/* What the client turned on with ENABLE (or implicitly, for CONDSTORE). */
enum imap_enabled {
	IMAP_ENABLED_REV2 = 1u << 0,
	IMAP_ENABLED_CONDSTORE = 1u << 1,
};

struct imap_settings {
	uint64_t login_timeout_ms;
	uint64_t idle_timeout_ms;     /* at least IMAP_IDLE_MIN_MS */
	int64_t max_bad_commands;
	uint64_t append_limit;
	char separator;
	const char *greeting;
	const char *spool_dir;
	uint64_t spool_memory;
};

/* The view's per-message flag byte: PZ_FLAG_* bits plus this one. */
#define IMAP_MSG_EXPUNGED 0x80u

/* The selected mailbox (imap-view.c). */
struct imap_view {
	pz_pool *pool;
	pz_pool *sync_pool;        /* cleared at every sync */
	pz_mailbox *box;
	const char *name;          /* storage name */
	int readonly;
	uint32_t *uids;            /* by sequence number - 1, ascending */
	uint8_t *flags;
	uint32_t count, alloc;
	uint32_t exists_sent;      /* the count the client was told */
	uint32_t expunged;         /* messages gone but still numbered */
	uint32_t recent, recent_sent;
	uint32_t uidvalidity;
	char **keywords;           /* keywords seen in the mailbox */
	size_t keyword_count, keyword_alloc;
	int keywords_changed;
	const pz_uidset *quiet;    /* no flag FETCH for these during a sync */
	pz_uid_array changed;      /* flag changes seen in the current sync */
	uint32_t *saved;           /* SEARCHRES ($), as sorted UIDs */
	size_t saved_count, saved_alloc;
};

struct imap_session {
	pz_module *module;
	pz_conn *conn;
	pz_pool *pool;             /* the session */
	pz_pool *cmd_pool;         /* cleared after every command */
	enum imap_state state;
	struct imap_settings set;
	struct imap_parser parser;
	int bad_commands;
	unsigned int enabled;      /* IMAP_ENABLED_* */
	pz_user *user;
	const char *user_name;
	const struct pz_storage_ops *storage;
	pz_mail_user *mu;
	struct imap_view *view;    /* when SELECTED */
	struct imap_append *append; /* an APPEND between its literals */
	int disconnect;            /* end the session after this command */
};

/* One command being run: a row of the table with its arguments. */
struct imap_append;

struct imap_cmd {
	struct imap_session *s;
	pz_pool *pool;             /* = s->cmd_pool */
	const char *tag;
	const char *name;          /* upper case, "UID FETCH" for UID forms */
	const struct imap_arg *args;
	unsigned int count;
	int uid;                   /* the UID form */
	unsigned int flags;        /* IMAP_CMD_* of its table row */
	int replied;
};

/* Table row flags. */
#define IMAP_CMD_SEQ 0x01      /* takes sequence numbers: no EXPUNGE replies
				* while it runs (RFC 9051 7.5.1) unless UID */
#define IMAP_CMD_NOSYNC 0x02   /* no mailbox sync before the tagged reply */

/* A string being built for a response, in a pool. */
struct imap_str {
	pz_pool *pool;
	char *data;
	size_t len, cap;
};

/* imap-module.c */
void imap_settings_read(pz_module *self, struct imap_settings *set);

/* imap-session.c */
void imap_session(pz_module *self, pz_conn *conn, pz_pool *pool);
void imap_session_set_state(struct imap_session *s, enum imap_state state);
int imap_rev2(const struct imap_session *s);
/* imap_read_raw - exactly n literal bytes from the client. */
int imap_read_raw(struct imap_session *s, void *buf, size_t n);

/* imap-commands.c */
void imap_command_run(struct imap_session *s);

/* imap-reply.c: every line ends in CRLF here; fmt has none. */
void imap_line(struct imap_session *s, const char *fmt, ...) PZ_PRINTF(2, 3);
void imap_untagged(struct imap_session *s, const char *fmt, ...) PZ_PRINTF(2, 3);
void imap_ok(struct imap_cmd *cmd, const char *fmt, ...) PZ_PRINTF(2, 3);
void imap_no(struct imap_cmd *cmd, const char *fmt, ...) PZ_PRINTF(2, 3);
void imap_bad(struct imap_cmd *cmd, const char *fmt, ...) PZ_PRINTF(2, 3);
/* imap_no_error - NO with the response code of err's class. */
void imap_no_error(struct imap_cmd *cmd, const pz_error *err, const char *what);
const char *imap_error_code(enum pz_error_class cls);
void imap_str_init(struct imap_str *b, pz_pool *pool, size_t hint);
void imap_str_add(struct imap_str *b, const void *data, size_t len);
void imap_str_adds(struct imap_str *b, const char *s);
void imap_str_printf(struct imap_str *b, const char *fmt, ...) PZ_PRINTF(2, 3);
/* A string as a quoted string, or a literal when it cannot be quoted;
 * utf8: 8-bit bytes may be quoted (IMAP4rev2). */
void imap_str_string(struct imap_str *b, const char *s, size_t len, int utf8);
void imap_str_uidset(struct imap_str *b, const uint32_t *uids, size_t count);
int imap_write(struct imap_session *s, const void *data, size_t len);

/* imap-auth.c */
const char *imap_capabilities(struct imap_session *s, pz_pool *pool);
void imap_cmd_capability(struct imap_cmd *cmd);
void imap_cmd_noop(struct imap_cmd *cmd);
void imap_cmd_logout(struct imap_cmd *cmd);
void imap_cmd_starttls(struct imap_cmd *cmd);
void imap_cmd_login(struct imap_cmd *cmd);
void imap_cmd_authenticate(struct imap_cmd *cmd);
void imap_cmd_enable(struct imap_cmd *cmd);
void imap_cmd_id(struct imap_cmd *cmd);

/* imap-names.c */
/* The storage name for a client's mailbox argument, or NULL with
 * *error_r (a reason for NO/BAD). */
const char *imap_name_from_client(struct imap_session *s, const struct imap_arg *arg,
				   pz_pool *pool, const char **error_r);
/* The same for text already taken out of an argument (LIST patterns). */
const char *imap_name_decode(struct imap_session *s, const char *name, pz_pool *pool,
			     const char **error_r);
/* The name as the client sees it (separator, modified UTF-7 for rev1). */
const char *imap_name_to_client(struct imap_session *s, const char *name, pz_pool *pool);
/* Append the client form as a quoted string (or literal). */
void imap_str_mailbox(struct imap_session *s, struct imap_str *b, const char *name);
const char *imap_special_use_name(unsigned int bit);
unsigned int imap_special_use_bit(const char *attr);
int imap_astring(const struct imap_arg *a, const char **s_r);

/* imap-mailbox.c */
void imap_cmd_create(struct imap_cmd *cmd);
void imap_cmd_delete(struct imap_cmd *cmd);
void imap_cmd_rename(struct imap_cmd *cmd);
void imap_cmd_subscribe(struct imap_cmd *cmd);
void imap_cmd_unsubscribe(struct imap_cmd *cmd);
void imap_cmd_status(struct imap_cmd *cmd);
void imap_cmd_namespace(struct imap_cmd *cmd);
/* STATUS items from a list argument; 0 on success. */
int imap_status_items_parse(struct imap_cmd *cmd, const struct imap_arg *list,
			    unsigned int *items_r, int *appendlimit_r);
/* "* STATUS name (...)" for a mailbox; -1 with err on failure. */
int imap_status_send(struct imap_cmd *cmd, const char *name, unsigned int items,
		     int appendlimit, pz_error *err);

/* imap-list.c */
void imap_cmd_list(struct imap_cmd *cmd);
void imap_cmd_lsub(struct imap_cmd *cmd);

/* imap-select.c */
void imap_cmd_select(struct imap_cmd *cmd);
void imap_cmd_examine(struct imap_cmd *cmd);
void imap_cmd_close(struct imap_cmd *cmd);
void imap_cmd_unselect(struct imap_cmd *cmd);
void imap_cmd_check(struct imap_cmd *cmd);
void imap_cmd_expunge(struct imap_cmd *cmd);
/* imap_expunge_uids - expunge, tell the filters; -1 with err. */
int imap_expunge_uids(struct imap_session *s, const pz_uidset *set, pz_pool *pool,
		      pz_error *err);

/* imap-view.c */
int imap_view_open(struct imap_session *s, const char *name, int readonly, pz_error *err);
void imap_view_close(struct imap_session *s);
/* Sync with the storage and send what changed; expunges are held back
 * (still numbered) unless expunge_ok.  -1 with err when the storage fails. */
int imap_view_sync(struct imap_session *s, int expunge_ok, pz_error *err);
/* Index of uid in the view, or -1. */
long imap_view_find(const struct imap_view *v, uint32_t uid);
/* First index whose UID is >= uid. */
uint32_t imap_view_lower(const struct imap_view *v, uint32_t uid);
void imap_str_flags(struct imap_session *s, struct imap_str *b, unsigned int flags,
		    const char *const *keywords, size_t keyword_count);
void imap_str_all_flags(struct imap_session *s, struct imap_str *b, int permanent);
void imap_view_keyword_seen(struct imap_view *v, const char *kw);

/* imap-seqset.c: a set of view messages as index ranges. */
struct imap_msgset {
	struct { uint32_t first, last; } *r;  /* 0-based, inclusive, sorted */
	size_t count;
};
int imap_seqset_parse(const char *s, pz_pool *pool, struct pz_uid_range **r_r,
		      size_t *count_r);
/* Resolve a sequence set or UID set argument ("$" too) against the view. */
int imap_msgset_get(struct imap_cmd *cmd, const struct imap_arg *arg, int uid,
		    struct imap_msgset *set_r, const char **error_r);
/* The UIDs of a message set as ranges (for storage calls). */
pz_uidset imap_msgset_uids(struct imap_session *s, const struct imap_msgset *set,
			   pz_pool *pool);
/* A UID set argument normalised ('*' = the view's highest UID). */
int imap_uidset_get(struct imap_cmd *cmd, const char *s, pz_uidset *set_r);
int imap_uidset_has(const pz_uidset *set, uint32_t uid);
void imap_uids_sort(uint32_t *uids, size_t count);
pz_uidset imap_uids_to_set(const uint32_t *uids, size_t count, pz_pool *pool);

/* imap-fetch.c (sections in imap-fetch-body.c, see imap-fetch.h) */
void imap_cmd_fetch(struct imap_cmd *cmd);

/* imap-store.c */
void imap_cmd_store(struct imap_cmd *cmd);
/* Flags from a flag list (or a single flag); keywords into the pool. */
int imap_flags_parse(struct imap_cmd *cmd, const struct imap_arg *args, unsigned int count,
		     unsigned int *flags_r, const char ***keywords_r, size_t *kw_count_r,
		     const char **error_r);

/* imap-search-run.c (criteria in imap-search.c, see imap-search.h) */
void imap_cmd_search(struct imap_cmd *cmd);

/* imap-append.c */
void imap_cmd_append(struct imap_cmd *cmd);
/* At a literal of an APPEND: check, start the save, read the message. */
void imap_append_literal(struct imap_session *s);
void imap_append_abort(struct imap_session *s);

/* imap-copy.c */
void imap_cmd_copy(struct imap_cmd *cmd);
void imap_cmd_move(struct imap_cmd *cmd);

/* imap-idle.c */
void imap_cmd_idle(struct imap_cmd *cmd);

#endif
