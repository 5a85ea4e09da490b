/* poczta/storage.h - what a storage module (maildir, postgres) provides.
 *
 * The contract (DESIGN "The storage contract"):
 * - Mailbox names are UTF-8 with '/' as the hierarchy separator; "INBOX" is
 *   the inbox.  Protocol modules translate to what their clients see.  A
 *   storage validates every name it is given (no "..", no empty levels, no
 *   control bytes) and refuses bad ones with PZ_ERR_PARAMS.
 * - A mailbox has UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ.  UIDs only grow and
 *   are never reused within one UIDVALIDITY.  Every change to a message gets a
 *   modseq greater than any before it in that mailbox.
 * - An opened mailbox is a view.  mailbox_sync() reports what changed since
 *   the view's last sync (the first sync reports every message as appended)
 *   and moves the view forward.  Storage speaks UIDs only; the protocol keeps
 *   sequence numbers.
 * - Save is a transaction: save_begin, save_write in pieces, save_commit
 *   (the message is durable when it returns, with its UID) or save_abort
 *   (nothing is left behind).
 * - Every call that can fail returns 0, or -1 with *err set; a few return 1
 *   for a documented "not there / not handled" case.
 *
 * Pointers in results (names, keyword arrays) are allocated from the pool
 * the call is given, or are valid only during a callback where so stated.
 */
#ifndef POCZTA_STORAGE_H
#define POCZTA_STORAGE_H

#include <poczta/types.h>
#include <poczta/search.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Mailbox attributes reported by mailbox_list (besides special-use). */
enum pz_mailbox_attr {
	PZ_MBOX_NOSELECT      = 1u << 0, /* exists only as a parent */
	PZ_MBOX_HASCHILDREN   = 1u << 1,
	PZ_MBOX_HASNOCHILDREN = 1u << 2,
	PZ_MBOX_SUBSCRIBED    = 1u << 3,
	PZ_MBOX_NONEXISTENT   = 1u << 4, /* subscribed but not there */
	PZ_MBOX_MARKED        = 1u << 5,
	PZ_MBOX_UNMARKED      = 1u << 6,
	PZ_MBOX_NOINFERIORS   = 1u << 7,
};

/* Flags for mailbox_open. */
enum pz_open_flag {
	PZ_OPEN_READONLY = 1u << 0, /* EXAMINE: no flag changes, no \Recent taken */
	PZ_OPEN_SAVEONLY = 1u << 1, /* delivery/APPEND/COPY target: no view kept */
	PZ_OPEN_NO_RECENT = 1u << 2, /* do not take \Recent (POP3, rev2 sessions) */
	/* (ABI 1.2) The caller asks for internal dates when it needs them: the
	 * sync callbacks and msg_info may report internal_date 0 for a date
	 * the storage does not know yet (msg_internal_date finds it), which
	 * spares the storage finding every date at the first sync.  A storage
	 * that always knows them ignores the flag. */
	PZ_OPEN_DATES_LATER = 1u << 3,
};

struct pz_mailbox_info {
	size_t size;              /* set by the storage */
	const char *name;         /* UTF-8, '/' separated */
	unsigned int attrs;       /* PZ_MBOX_* */
	unsigned int special_use; /* PZ_SPECIAL_* */
};

/* Which fields of pz_mailbox_status the caller wants. */
enum pz_status_item {
	PZ_STATUS_MESSAGES      = 1u << 0,
	PZ_STATUS_RECENT        = 1u << 1,
	PZ_STATUS_UIDNEXT       = 1u << 2,
	PZ_STATUS_UIDVALIDITY   = 1u << 3,
	PZ_STATUS_UNSEEN        = 1u << 4,
	PZ_STATUS_SIZE          = 1u << 5,
	PZ_STATUS_HIGHESTMODSEQ = 1u << 6,
	PZ_STATUS_DELETED       = 1u << 7,
	PZ_STATUS_ALL           = 0xffu,
};

/* The caller sets `size`; the storage fills only the fields inside it. */
struct pz_mailbox_status {
	size_t size;
	uint32_t messages;
	uint32_t recent;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint32_t unseen;
	uint32_t deleted;
	uint64_t bytes;          /* sum of RFC822.SIZE */
	uint64_t highestmodseq;
	unsigned int special_use;
};

/* One message as the view sees it.  The caller sets `size`. */
struct pz_msg_info {
	size_t size;
	uint32_t uid;
	unsigned int flags;            /* PZ_FLAG_* */
	const char *const *keywords;   /* keyword names */
	size_t keyword_count;
	uint64_t modseq;
	uint64_t rfc822_size;          /* size with CRLF line endings */
	time_t internal_date;
	int internal_date_tz;          /* offset from UTC in minutes */
};

/* Called by mailbox_sync for each change; `info` is valid only during the
 * call.  Expunges come first, then appended messages in UID order, then flag
 * changes.  Any callback may be NULL. */
struct pz_sync_handler {
	size_t size;
	void (*expunged)(void *ctx, uint32_t uid);
	void (*appended)(void *ctx, const struct pz_msg_info *info);
	void (*changed)(void *ctx, const struct pz_msg_info *info);
};

struct pz_save_args {
	size_t size;
	unsigned int flags;            /* PZ_FLAG_* except RECENT */
	const char *const *keywords;
	size_t keyword_count;
	time_t internal_date;          /* 0: now */
	int internal_date_tz;
	uint64_t expected_size;        /* 0: unknown; lets quota refuse early */
};

enum pz_store_mode {
	PZ_STORE_ADD = 1,
	PZ_STORE_REMOVE,
	PZ_STORE_REPLACE,
};

struct pz_store_args {
	size_t size;
	enum pz_store_mode mode;
	unsigned int flags;
	const char *const *keywords;
	size_t keyword_count;
	uint64_t unchanged_since;      /* CONDSTORE; 0: no condition */
};

struct pz_quota {
	size_t size;
	uint64_t bytes_used;
	uint64_t bytes_limit;          /* 0: unlimited */
	uint64_t messages_used;
	uint64_t messages_limit;       /* 0: unlimited */
};

struct pz_storage_ops {
	size_t size;        /* sizeof(struct pz_storage_ops) */
	const char *name;   /* what `storage = NAME` names */

	/* Open the mail store of an authenticated or looked-up user; create it
	 * (with the configured special-use mailboxes) if it is new.  `pool`
	 * outlives the returned handle. */
	int (*user_open)(pz_module *self, pz_user *user, pz_pool *pool,
			 pz_mail_user **mu_r, pz_error *err);
	void (*user_close)(pz_mail_user **mu);

	/* Report every mailbox, and subscribed names that do not exist, once
	 * each, in no particular order.  `info` is valid only during `cb`. */
	int (*mailbox_list)(pz_mail_user *mu,
			    void (*cb)(void *ctx, const struct pz_mailbox_info *info),
			    void *ctx, pz_error *err);
	int (*mailbox_create)(pz_mail_user *mu, const char *name,
			      unsigned int special_use, pz_error *err);
	/* Delete a mailbox and its messages.  Children stay (as \Noselect
	 * parents where the storage needs them).  INBOX cannot be deleted. */
	int (*mailbox_delete)(pz_mail_user *mu, const char *name, pz_error *err);
	/* Rename with all children.  Renaming INBOX moves its messages to the
	 * new mailbox and leaves INBOX empty (RFC 9051 6.3.6). */
	int (*mailbox_rename)(pz_mail_user *mu, const char *from, const char *to,
			      pz_error *err);
	int (*mailbox_subscribe)(pz_mail_user *mu, const char *name, int subscribe,
				 pz_error *err);
	/* Status of a mailbox by name, without opening a view. */
	int (*mailbox_status)(pz_mail_user *mu, const char *name,
			      unsigned int items, struct pz_mailbox_status *st,
			      pz_error *err);

	/* Open a view (PZ_OPEN_* flags).  The view starts empty: the first
	 * mailbox_sync reports every message. */
	int (*mailbox_open)(pz_mail_user *mu, const char *name, unsigned int flags,
			    pz_mailbox **box_r, pz_error *err);
	void (*mailbox_close)(pz_mailbox **box);
	int (*mailbox_sync)(pz_mailbox *box, const struct pz_sync_handler *h,
			    void *ctx, pz_error *err);
	/* Status as of the view's last sync. */
	int (*mailbox_view_status)(pz_mailbox *box, struct pz_mailbox_status *st);
	/* A descriptor that becomes readable when the mailbox may have changed
	 * (then call mailbox_sync), or -1 when the storage has none.  Owned by
	 * the storage; valid until mailbox_close. */
	int (*mailbox_notify_fd)(pz_mailbox *box);
	/* Drain the notify descriptor after it polled readable. */
	void (*mailbox_notify_ack)(pz_mailbox *box);

	/* Message access by UID.  Return 1 when the UID is not in the view
	 * (expunged meanwhile), 0 on success, -1 on error. */
	int (*msg_info)(pz_mailbox *box, uint32_t uid, pz_pool *pool,
			struct pz_msg_info *info, pz_error *err);
	/* The raw message with CRLF line endings; the stream lives in `pool`. */
	int (*msg_stream)(pz_mailbox *box, uint32_t uid, pz_pool *pool,
			  pz_stream **stream_r, pz_error *err);
	/* Cached parsed data by field name ("bodystructure", "envelope",
	 * "body", "hdr.<name>", "date.sent", ...).  Return 1 when not cached. */
	int (*msg_cache_get)(pz_mailbox *box, uint32_t uid, const char *field,
			     pz_pool *pool, const char **value_r, size_t *len_r,
			     pz_error *err);
	int (*msg_cache_set)(pz_mailbox *box, uint32_t uid, const char *field,
			     const char *value, size_t len, pz_error *err);

	/* Save transaction into a mailbox opened with any flags. */
	int (*save_begin)(pz_mailbox *box, const struct pz_save_args *args,
			  pz_save **save_r, pz_error *err);
	int (*save_write)(pz_save *save, const void *data, size_t len, pz_error *err);
	/* Durable on return.  Frees *save and sets it to NULL either way. */
	int (*save_commit)(pz_save **save, uint32_t *uid_r, pz_error *err);
	void (*save_abort)(pz_save **save);

	/* Copy/move the UIDs of `set` that exist in `src` into `dest`; report
	 * the source and new UIDs pairwise, in source UID order (COPYUID). */
	int (*copy)(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
		    pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r, pz_error *err);
	int (*move)(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
		    pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r, pz_error *err);
	/* Change flags; `changed_r` gets the UIDs whose flags changed,
	 * `refused_r` those refused by unchanged_since (either may be NULL). */
	int (*store)(pz_mailbox *box, const pz_uidset *set,
		     const struct pz_store_args *args, pz_uid_array *changed_r,
		     pz_uid_array *refused_r, pz_error *err);
	/* Expunge the UIDs of `set`; `expunged_r` (may be NULL) gets those
	 * removed.  The view learns of it at its next sync. */
	int (*expunge)(pz_mailbox *box, const pz_uidset *set,
		       pz_uid_array *expunged_r, pz_error *err);
	/* Evaluate a search natively over the view.  Return 1 to decline (the
	 * core then evaluates it), 0 with the matching UIDs, -1 on error. */
	int (*search)(pz_mailbox *box, const struct pz_search_key *key,
		      pz_uid_array *result_r, pz_error *err);
	/* The user's quota.  (ABI 1.2) When both limits are 0 (none), a
	 * storage may skip counting and report usage 0: the count of a large
	 * mailbox is not free, and no limit needs it. */
	int (*quota_get)(pz_mail_user *mu, struct pz_quota *quota, pz_error *err);

	/* (ABI 1.2) The internal date of a message of a view opened with
	 * PZ_OPEN_DATES_LATER, whose msg_info may give 0 for a date not known
	 * yet: found now (which may mean reading the message's file).  Return
	 * 0, 1 when the UID is not in the view, -1 on error.  NULL in a
	 * storage whose msg_info always gives the date. */
	int (*msg_internal_date)(pz_mailbox *box, uint32_t uid, time_t *date_r, int *tz_r,
				 pz_error *err);
};

#ifdef __cplusplus
}
#endif
#endif
