/* core/mail/mail-address.h - RFC 5322 address lists (3.4), read the way
 * Dovecot reads them for ENVELOPE: groups become a start entry (mailbox =
 * group name, no domain) and an end entry (all NULL); what cannot be read
 * is kept with the placeholders MISSING_MAILBOX, MISSING_DOMAIN,
 * SYNTAX_ERROR and INVALID_ROUTE where parts are missing; a list stops at
 * the first place it cannot go on from. */
#ifndef POCZTA_CORE_MAIL_ADDRESS_H
#define POCZTA_CORE_MAIL_ADDRESS_H

#include <poczta/types.h>

struct mail_address {
	struct mail_address *next;
	const char *name;    /* display name or comment, or NULL */
	const char *route;   /* "@a,@b", or NULL */
	const char *mailbox;
	const char *domain;
	int invalid;
};

/* mail_address_parse - the addresses in value[0..len), or NULL when there
 * are none.  Everything is allocated from `pool`. */
struct mail_address *mail_address_parse(pz_pool *pool, const char *value, size_t len);

#endif
