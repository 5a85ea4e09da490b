/* core/mail/mail-search-eval.h - evaluating a search tree (poczta/search.h)
 * message by message: host API search_evaluate, the fallback when a
 * storage declines to search natively.
 *
 * Each message is read only as far as its criteria need: flags, sizes,
 * dates and UIDs come from msg_info; SENT* from the storage's cached
 * "date.sent" or else the Date: field of the header (then cached); HEADER
 * from the header alone; BODY and TEXT parse the message (and cache its
 * "bodystructure", "body" and "envelope" when they were not cached yet).
 * AND and OR stop at the first child that decides.
 *
 * Criteria semantics (RFC 9051 6.4.4, RFC 5032, RFC 7162):
 * - BEFORE/ON/SINCE compare the day of the internal date in its own zone
 *   (as INTERNALDATE shows it) with the day of u.date in UTC;
 *   SENTBEFORE/SENTON/SENTSINCE the day of the Date: field in the zone it
 *   was written in; a message without a readable Date: matches none.
 * - OLDER n: received more than n seconds ago; YOUNGER n: at most n.
 * - HEADER: a field of that name in the message header whose decoded,
 *   unfolded value contains the string; "" only asks that one exists.
 * - BODY, TEXT: as mail_search_text with where 2 and 3.
 * Cached "date.sent" values are "<seconds> <zone minutes>", or "" when
 * the message has no readable Date:. */
#ifndef POCZTA_CORE_MAIL_SEARCH_EVAL_H
#define POCZTA_CORE_MAIL_SEARCH_EVAL_H

#include <poczta/host.h>

/* pz_search_evaluate - the UIDs of `candidates` that match `key` are added
 * to `result_r` (initialized by the caller, with a pool).  UIDs no longer
 * in the view are skipped.  -1 with *err on a storage or read error. */
int pz_search_evaluate(const struct pz_storage_ops *ops, pz_mailbox *box,
		       const struct pz_search_key *key,
		       const pz_uid_array *candidates, pz_uid_array *result_r,
		       pz_error *err);

/* pz_mail_search_fields, pz_mail_search_fold - host API
 * mail_search_fields and mail_search_fold (poczta/host.h): the text HEADER
 * looks in, for a storage that answers HEADER itself. */
int pz_mail_search_fields(pz_stream *msg, pz_search_field_cb *cb, void *ctx);
char *pz_mail_search_fold(pz_pool *pool, const char *s, size_t *len_r);

#endif
