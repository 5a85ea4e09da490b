/* core/filter.h - running filter modules' hooks with a time limit. */
#ifndef POCZTA_CORE_FILTER_H
#define POCZTA_CORE_FILTER_H

#include <poczta/host.h>

pz_filter_msg *pz_filter_msg_new(pz_pool *pool, pz_stream *message, pz_user *user,
				 const char *sender, const char *const *recipients,
				 size_t count);
int pz_filter_run(pz_filter_msg *msg, enum pz_filter_hook hook, struct pz_verdict *v);
void pz_filter_saved(pz_filter_msg *msg, const char *mailbox, uint32_t uid);
void pz_filter_expunged(pz_user *u, const char *mailbox, uint32_t uidvalidity,
			uint32_t uid);
int pz_filter_search(pz_user *u, pz_mailbox *box, const char *mailbox,
		     const struct pz_search_key *key, pz_uid_array *result_r,
		     const char **error_r);
size_t pz_filter_msg_header_count(pz_filter_msg *msg);
void pz_filter_msg_header(pz_filter_msg *msg, size_t i, const char **name_r,
			  const char **value_r);
pz_stream *pz_filter_msg_stream(pz_filter_msg *msg);
const char *pz_filter_msg_sender(pz_filter_msg *msg);
size_t pz_filter_msg_rcpt_count(pz_filter_msg *msg);
const char *pz_filter_msg_rcpt(pz_filter_msg *msg, size_t i);
pz_user *pz_filter_msg_user(pz_filter_msg *msg);
pz_pool *pz_filter_msg_pool(pz_filter_msg *msg);
int pz_filter_msg_add_header(pz_filter_msg *msg, const char *name, const char *value);

#endif
