/* poczta/search.h - the search tree shared by protocols, storage and filters.
 *
 * The IMAP module parses SEARCH into this tree; message sequence numbers are
 * already turned into UID sets, and strings are already in UTF-8.  A storage
 * may evaluate the tree natively (SQL) or decline, in which case the core
 * evaluates it message by message.  Text keys may go to a search filter.
 *
 * The tree is allocated from the command's pool and is valid only during
 * the call it is passed to.
 */
#ifndef POCZTA_SEARCH_H
#define POCZTA_SEARCH_H

#include <poczta/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pz_search_type {
	PZ_SEARCH_ALL = 1,
	PZ_SEARCH_AND,        /* children: all must match */
	PZ_SEARCH_OR,         /* children: any must match */
	PZ_SEARCH_UIDSET,     /* u.uids */
	PZ_SEARCH_FLAGS,      /* u.flags: all of these PZ_FLAG_* bits set */
	PZ_SEARCH_KEYWORD,    /* u.str: keyword set */
	PZ_SEARCH_BEFORE,     /* internal date < u.date (day granularity, UTC) */
	PZ_SEARCH_ON,
	PZ_SEARCH_SINCE,
	PZ_SEARCH_SENTBEFORE, /* Date: header, day granularity */
	PZ_SEARCH_SENTON,
	PZ_SEARCH_SENTSINCE,
	PZ_SEARCH_OLDER,      /* internal date older than u.number seconds */
	PZ_SEARCH_YOUNGER,
	PZ_SEARCH_LARGER,     /* RFC822.SIZE > u.number */
	PZ_SEARCH_SMALLER,
	PZ_SEARCH_MODSEQ,     /* modseq >= u.number */
	PZ_SEARCH_HEADER,     /* header `field` contains u.str (empty: present) */
	PZ_SEARCH_BODY,       /* decoded body text contains u.str */
	PZ_SEARCH_TEXT,       /* header or body contains u.str */
};

/* One node.  `negate` inverts the node (IMAP NOT).  Children are a linked
 * list through `next`.  `field` is the header name for PZ_SEARCH_HEADER
 * (FROM, TO, CC, BCC and SUBJECT arrive as HEADER nodes).  FROZEN: new
 * criteria are new type values, never new fields. */
struct pz_search_key {
	enum pz_search_type type;
	int negate;
	struct pz_search_key *children;
	struct pz_search_key *next;
	const char *field;
	union {
		pz_uidset uids;
		unsigned int flags;
		const char *str;
		time_t date;
		uint64_t number;
	} u;
};

#ifdef __cplusplus
}
#endif
#endif
