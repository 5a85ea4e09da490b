/* poczta/filter.h - what a filter module (antivirus, search, spam) provides.
 *
 * A filter registers for hook points.  At `deliver` (LMTP, poczta-deliver),
 * `append` (IMAP APPEND) and `scan` (poczta-admin scan) it returns a verdict;
 * the first non-accept verdict of all filters wins.  A filter that returns
 * -1 counts as a tempfail unless the admin set `fail_open = yes` in the
 * filter's section.  `saved` and `expunged` are notifications after the
 * fact (for indexers).  `search` answers text queries with UIDs.
 *
 * Time: every hook call must finish within the global `filter_timeout`
 * (host->config_global("filter_timeout"), a duration such as "30s").  Bound
 * your own I/O by it (poll timeouts on your scanner's socket) and return -1
 * when it runs out.  A call that overruns it ends the connection process:
 * nothing in progress is acknowledged, so the MTA or client retries.
 *
 * The message is reached through host->filter_msg_* calls: its stream, the
 * envelope sender and recipients, the user, and a call to add headers.
 */
#ifndef POCZTA_FILTER_H
#define POCZTA_FILTER_H

#include <poczta/types.h>
#include <poczta/search.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pz_filter_hook {
	PZ_HOOK_DELIVER  = 1u << 0,
	PZ_HOOK_APPEND   = 1u << 1,
	PZ_HOOK_SAVED    = 1u << 2,
	PZ_HOOK_EXPUNGED = 1u << 3,
	PZ_HOOK_SEARCH   = 1u << 4,
	PZ_HOOK_SCAN     = 1u << 5,
};

enum pz_verdict_action {
	PZ_VERDICT_ACCEPT = 0,
	PZ_VERDICT_REJECT,     /* permanent: 5xx / NO / expunge on scan */
	PZ_VERDICT_TEMPFAIL,   /* temporary: 4xx / NO [UNAVAILABLE] */
	PZ_VERDICT_QUARANTINE, /* store into `folder` instead */
	PZ_VERDICT_DISCARD,    /* accept and store nothing */
};

/* Filled by the filter; the caller zeroes it (action ACCEPT) first.
 * `text` and `folder` must be static or come from host->filter_msg_pool().
 * FROZEN: extra output goes through host calls (e.g. filter_msg_add_header). */
struct pz_verdict {
	enum pz_verdict_action action;
	const char *text;   /* reason shown to the sender or the client */
	const char *folder; /* for QUARANTINE */
};

struct pz_filter_ops {
	size_t size;           /* sizeof(struct pz_filter_ops) */
	const char *name;
	unsigned int hooks;    /* PZ_HOOK_* this filter implements */

	/* Verdict hooks.  Return 0 with *v set, or -1 with *error_r set. */
	int (*deliver)(pz_module *self, pz_filter_msg *msg, struct pz_verdict *v,
		       const char **error_r);
	int (*append)(pz_module *self, pz_filter_msg *msg, struct pz_verdict *v,
		      const char **error_r);
	int (*scan)(pz_module *self, pz_filter_msg *msg, struct pz_verdict *v,
		    const char **error_r);

	/* Notifications.  `mailbox` is the storage name of the mailbox. */
	void (*saved)(pz_module *self, pz_filter_msg *msg, const char *mailbox,
		      uint32_t uid);
	void (*expunged)(pz_module *self, pz_user *user, const char *mailbox,
			 uint32_t uidvalidity, uint32_t uid);

	/* Answer a text search over `box` (opened by the caller's storage):
	 * return 0 with the UIDs that match `key` (a BODY/TEXT/HEADER node or an
	 * AND of them), 1 to decline, -1 on error. */
	int (*search)(pz_module *self, pz_user *user, pz_mailbox *box,
		      const char *mailbox, const struct pz_search_key *key,
		      pz_uid_array *result_r, const char **error_r);
};

#ifdef __cplusplus
}
#endif
#endif
