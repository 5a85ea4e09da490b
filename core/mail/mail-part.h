/* core/mail/mail-part.h - the parsed MIME tree (pz_mail_part) inside the
 * core, its limits, and the calls that read it (host API: mail_part_find,
 * mail_part_child, mail_part_info, mail_header_get).
 *
 * A tree is built by mail_parse (mail-parse.h) into the caller's pool and
 * lives as long as that pool; nothing in it points into the stream.  The
 * layout of the tree follows Dovecot's message parser, so that sizes, line
 * counts and part numbers agree with Dovecot for the same bytes.
 *
 * Memory: the tree keeps the header fields within the bounds below, and a
 * copy of each Content-* and ENVELOPE field it meets, so a parse takes at
 * most about the message's header bytes, never its bodies. */
#ifndef POCZTA_CORE_MAIL_PART_H
#define POCZTA_CORE_MAIL_PART_H

#include <poczta/host.h>
#include "mail-rfc822.h"

/* Bounds of one parse.  Parts nested deeper than MAIL_MAX_DEPTH, and parts
 * after the MAIL_MAX_PARTS-th, are not split further (their content stays
 * in the body of the part that reached the limit); Dovecot has the same
 * defaults. */
#define MAIL_MAX_DEPTH 100
#define MAIL_MAX_PARTS 10000
/* Boundaries longer than this are cut to it (RFC 2046 allows 70). */
#define MAIL_BOUNDARY_MAX 80
/* Bytes of one header field value kept (the rest is dropped and the part
 * marked damaged); the same bound applies to one header line. */
#define MAIL_FIELD_MAX (256 * 1024)
/* Header fields kept per part for mail_header_get, and field bytes kept
 * per parsed message.  Content-* and envelope fields are read as they go
 * by, so the structure is right even past these. */
#define MAIL_PART_FIELDS_MAX 2000
#define MAIL_KEEP_MAX (8 * 1024 * 1024)
/* Values kept of one address field (From:, To: ...) repeated in a header. */
#define MAIL_ADDR_FIELDS_MAX 64

/* Internal flags, above the public PZ_PART_* bits. */
enum mail_part_iflag {
	MAIL_PART_IS_MIME  = 1u << 16, /* MIME-Version, Content-Type, or a
					* child of a multipart */
	MAIL_PART_DIGEST   = 1u << 17, /* multipart/digest */
	MAIL_PART_OVERFLOW = 1u << 18, /* reached a limit: not split */
	MAIL_PART_SEEN_CT  = 1u << 19, /* had a Content-Type field */
};

/* One header field as read: the value after the colon (leading blanks
 * skipped), continuation lines joined with "\n" (carriage returns
 * dropped), NULs shown as U+FFFD, NUL-terminated. */
struct mail_field {
	const char *name;
	const char *value;
	size_t value_len;
};

/* What the Content-* fields say, as written (case kept); NULL when the
 * field is absent.  Only the first Content-Type, -Transfer-Encoding, -ID,
 * -Description, -MD5, -Language and -Location count, and the first
 * Content-Disposition that has parameters (as in Dovecot). */
struct mail_content {
	const char *type;           /* "" when the field was unreadable */
	const char *subtype;        /* NULL when there was none */
	struct mail_param *params;
	unsigned int n_params;
	const char *encoding;
	const char *id, *description, *md5, *location;
	const char *disposition;
	struct mail_param *disp_params;
	unsigned int n_disp_params;
	const char **language;      /* n_language atoms */
	unsigned int n_language;
	const char *boundary;       /* multipart boundary parameter */
};

/* Values of a repeated address field, in order. */
struct mail_addr_raw {
	const char **v;     /* as written: NULs included */
	size_t *len;
	unsigned int n;
};

/* The ENVELOPE fields of the part's own header, raw.  For the string
 * fields the last occurrence counts, address fields add up (Dovecot). */
struct mail_env_raw {
	const char *date, *subject, *message_id, *in_reply_to;
	struct mail_addr_raw from, sender, reply_to, to, cc, bcc;
};

struct pz_mail_part {
	struct pz_mail_part *parent, *next;
	struct pz_mail_part *children, *last_child;
	unsigned int child_count;
	unsigned int flags;         /* PZ_PART_* | MAIL_PART_* */
	unsigned int depth;         /* 0: the root */
	pz_pool *pool;

	/* physical offsets and sizes in the parsed stream; "v" sizes count
	 * every line break as CRLF, as IMAP does */
	uint64_t header_offset, header_size, header_vsize, header_lines;
	uint64_t body_offset, body_size, body_vsize, body_lines;

	struct mail_content c;
	struct mail_env_raw env;
	struct mail_field *fields;
	unsigned int n_fields, a_fields;

	/* parser state */
	struct pz_mail_part *bnext; /* next older active boundary owner */
	size_t boundary_len;
	uint64_t lf0, bare0, lf1, bare1; /* line counters at header, body */
};

pz_mail_part *pz_mail_part_find(pz_mail_part *root, const char *section);
pz_mail_part *pz_mail_part_child(pz_mail_part *p, unsigned int i);
void pz_mail_part_info(pz_mail_part *p, struct pz_mail_part_info *info);
size_t pz_mail_header_get(pz_mail_part *p, pz_pool *pool, const char *name,
			  const char ***values_r);

/* mail_part_is_text - whether the body counts lines in BODYSTRUCTURE
 * (text/ *, or no usable Content-Type). */
int mail_part_is_text(const pz_mail_part *p);
/* mail_param_get - the value of parameter `name` (any case), or NULL. */
const char *mail_param_get(const struct mail_param *params, unsigned int n,
			   const char *name);
/* mail_part_encoding - the Content-Transfer-Encoding, lowercased; "7bit"
 * when absent. */
const char *mail_part_encoding(const pz_mail_part *p, pz_pool *pool);
/* mail_part_charset - the charset parameter lowercased, or NULL. */
const char *mail_part_charset(const pz_mail_part *p, pz_pool *pool);

#endif
