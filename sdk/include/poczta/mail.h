/* poczta/mail.h - the core's mail primitives (ABI 1.1): MIME structure,
 * IMAP BODYSTRUCTURE and ENVELOPE, header fields, decoding, charsets,
 * dates and mailbox-name encodings.  Reached through host->mail_* calls
 * (poczta/host.h); test with PZ_HOST_HAS(host, mail_parse) first.
 *
 * Offsets are byte offsets in the message stream the part was parsed from
 * (for stored messages: the CRLF stream msg_stream returns).  Everything
 * returned lives in the pool the call was given. */
#ifndef POCZTA_MAIL_H
#define POCZTA_MAIL_H

#include <poczta/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A parsed MIME part.  The root is the whole message; a message/rfc822
 * part has the encapsulated message as its one child (message/global is
 * a leaf, as in Dovecot, since rev1 clients cannot parse its envelope). */
typedef struct pz_mail_part pz_mail_part;

enum pz_mail_part_flag {
	PZ_PART_MULTIPART    = 1u << 0, /* multipart/ *: children are the parts */
	PZ_PART_MESSAGE      = 1u << 1, /* message/rfc822 (message/global is a leaf) */
	PZ_PART_TEXT         = 1u << 2, /* text/ * (IMAP counts its lines) */
	PZ_PART_DAMAGED      = 1u << 3, /* parsed with repairs (missing boundary...) */
};

/* What a part is and where it lies.  The caller sets `size`; the core
 * fills the fields inside it.  Strings are lowercased where MIME says
 * case does not matter (type, subtype, encoding, parameter names). */
struct pz_mail_part_info {
	size_t size;
	unsigned int flags;          /* PZ_PART_* */
	uint64_t header_offset;      /* first byte of the part's header */
	uint64_t header_size;        /* header, including the blank line */
	uint64_t body_offset;
	uint64_t body_size;
	uint64_t body_lines;         /* lines of the body (IMAP's count) */
	const char *type;            /* "text" (default for a missing header) */
	const char *subtype;         /* "plain" */
	const char *encoding;        /* Content-Transfer-Encoding, "7bit" default */
	const char *charset;         /* the charset parameter, or NULL */
	const char *filename;        /* from Content-Disposition/Content-Type,
	                              * RFC 2231 and 2047 decoded to UTF-8, or NULL */
	unsigned int child_count;
};

/* IMAP date-time, "17-Jul-1996 02:44:25 -0700" (RFC 9051 section 9). */
#define PZ_IMAP_DATE_MAX 32

#ifdef __cplusplus
}
#endif
#endif
