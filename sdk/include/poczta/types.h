/* poczta/types.h - opaque handles and the small public value types of the ABI.
 *
 * Every object the core and the modules share is an opaque handle: a module
 * only ever holds a pointer to it and reaches it through the host API
 * (poczta/host.h).  The few structs defined here are values that cross the
 * ABI; each either starts with its own size or is declared frozen.
 */
#ifndef POCZTA_TYPES_H
#define POCZTA_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#  define PZ_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#  define PZ_EXPORT __attribute__((visibility("default")))
#else
#  define PZ_PRINTF(fmt, args)
#  define PZ_EXPORT
#endif

/* Opaque handles.  Lifetimes are documented at the calls that hand them out. */
typedef struct pz_module pz_module;     /* one loaded module, given to its init */
typedef struct pz_pool pz_pool;         /* memory pool; freed as a whole */
typedef struct pz_conn pz_conn;         /* one client connection */
typedef struct pz_user pz_user;         /* an authenticated or looked-up user */
typedef struct pz_stream pz_stream;     /* a seekable byte stream (a message) */
typedef struct pz_sasl pz_sasl;         /* one SASL exchange in progress */
typedef struct pz_filter_msg pz_filter_msg; /* a message handed to filters */

/* Handles a storage provider defines for itself; the core never looks inside. */
typedef struct pz_mail_user pz_mail_user; /* a user's opened mail store */
typedef struct pz_mailbox pz_mailbox;     /* an opened mailbox (a view) */
typedef struct pz_save pz_save;           /* a save transaction in progress */

/* Error classes.  Protocols map them to responses:
 * NOT_FOUND -> NO [NONEXISTENT] / -ERR / 550, EXISTS -> NO [ALREADYEXISTS],
 * QUOTA -> NO [OVERQUOTA] / 552 or 452, TEMP -> NO [UNAVAILABLE] / -ERR
 * [SYS/TEMP] / 4xx, PERM -> NO / -ERR [SYS/PERM] / 5xx, AUTH -> failed login,
 * PARAMS -> bad input from the client, BUG -> NO [SERVERBUG] / 4xx. */
enum pz_error_class {
	PZ_ERR_NONE = 0,
	PZ_ERR_NOT_FOUND,
	PZ_ERR_EXISTS,
	PZ_ERR_QUOTA,
	PZ_ERR_TEMP,
	PZ_ERR_PERM,
	PZ_ERR_AUTH,
	PZ_ERR_PARAMS,
	PZ_ERR_BUG,
	PZ_ERR_NOT_SUPPORTED,
	PZ_ERR_IN_USE,
};

/* An error with its class.  The caller owns the struct (usually on its
 * stack); the callee sets both fields when it returns -1.  `msg` must stay
 * valid until the caller's command ends: use a static string or the pool
 * the call was given.  FROZEN: this struct never grows. */
typedef struct pz_error {
	enum pz_error_class cls;
	const char *msg;
} pz_error;

/* An inclusive range of UIDs; `last` = UINT32_MAX stands for "*". */
struct pz_uid_range {
	uint32_t first;
	uint32_t last;
};

/* A set of UIDs as sorted, non-overlapping ranges.  FROZEN. */
typedef struct pz_uidset {
	const struct pz_uid_range *ranges;
	size_t count;
} pz_uidset;

/* A growable array of UIDs allocated from a pool.  FROZEN. */
typedef struct pz_uid_array {
	uint32_t *uids;
	size_t count;
	size_t alloc;
	pz_pool *pool;
} pz_uid_array;

/* System flags (RFC 9051 section 2.3.2), as bits. */
enum pz_flag {
	PZ_FLAG_SEEN     = 1u << 0,
	PZ_FLAG_ANSWERED = 1u << 1,
	PZ_FLAG_FLAGGED  = 1u << 2,
	PZ_FLAG_DELETED  = 1u << 3,
	PZ_FLAG_DRAFT    = 1u << 4,
	PZ_FLAG_RECENT   = 1u << 5, /* read-only: set by the storage */
};

/* Special-use attributes of a mailbox (RFC 6154), as bits. */
enum pz_special_use {
	PZ_SPECIAL_ALL     = 1u << 0,
	PZ_SPECIAL_ARCHIVE = 1u << 1,
	PZ_SPECIAL_DRAFTS  = 1u << 2,
	PZ_SPECIAL_FLAGGED = 1u << 3,
	PZ_SPECIAL_JUNK    = 1u << 4,
	PZ_SPECIAL_SENT    = 1u << 5,
	PZ_SPECIAL_TRASH   = 1u << 6,
};

/* Log levels for host->log. */
enum pz_log_level {
	PZ_LOG_DEBUG = 0,
	PZ_LOG_INFO,
	PZ_LOG_WARNING,
	PZ_LOG_ERROR,
	PZ_LOG_FATAL, /* logged; the module must then fail the call it is in */
};

#ifdef __cplusplus
}
#endif
#endif
