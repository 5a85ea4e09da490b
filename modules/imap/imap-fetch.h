/* modules/imap/imap-fetch.h - what imap-fetch.c and imap-fetch-body.c
 * share: a parsed FETCH item and the message being answered. */
#ifndef POCZTA_IMAP_FETCH_H
#define POCZTA_IMAP_FETCH_H

#include "imap.h"

enum imap_fetch_kind {
	FETCH_UID = 1,
	FETCH_FLAGS,
	FETCH_INTERNALDATE,
	FETCH_RFC822_SIZE,
	FETCH_ENVELOPE,
	FETCH_BODY,           /* BODY without a section: non-extensible structure */
	FETCH_BODYSTRUCTURE,
	FETCH_MODSEQ,
	FETCH_SECTION,        /* BODY[...], BINARY[...], RFC822, RFC822.HEADER/TEXT */
	FETCH_BINARY_SIZE,
};

/* What a section names inside its part. */
enum imap_section_text {
	SECTION_ALL = 0,      /* BODY[] or BODY[1.2]: the whole part */
	SECTION_HEADER,
	SECTION_HEADER_FIELDS,
	SECTION_HEADER_FIELDS_NOT,
	SECTION_TEXT,
	SECTION_MIME,
};

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	int binary;               /* BINARY[...] / BINARY.SIZE: decoded */
	int sets_seen;            /* not PEEK: fetching sets \Seen */
	const char *part;         /* "1.2", or "" for the message itself */
	enum imap_section_text text;
	const char **fields;      /* HEADER.FIELDS (.NOT) */
	unsigned int field_count;
	int partial;
	uint64_t offset, length;
	const char *resp_name;    /* "BODY[1.2]", "RFC822.HEADER", ... */
};

/* The message a FETCH response is being written for. */
struct imap_fetch_msg {
	uint32_t seq;
	uint32_t uid;
	pz_pool *pool;            /* cleared after each message */
	struct pz_msg_info info;
	pz_stream *stream;        /* opened on first use */
	pz_mail_part *root;       /* parsed on first use */
	char *buf;                /* IMAP_SEND_CHUNK bytes for copying */
	int failed;               /* a literal had to be padded */
	int unknown_cte;          /* BINARY met an encoding it cannot decode */
	int damaged;              /* the MIME parser had to repair it */
};

/* The message stream and its MIME tree, opened or parsed on first use. */
int imap_fetch_stream(struct imap_cmd *cmd, struct imap_fetch_msg *m, pz_error *err);
int imap_fetch_parse_tree(struct imap_cmd *cmd, struct imap_fetch_msg *m, pz_error *err);
/* A BODY[...] / BINARY[...] item from args (1 or 3 of them, *used_r). */
int imap_fetch_body_parse(struct imap_cmd *cmd, const struct imap_arg *args,
			  unsigned int count, unsigned int *used_r,
			  struct imap_fetch_item *item, const char **error_r);
/* Write a section item ("BODY[1] {n}\r\n..."); -1 with err. */
int imap_fetch_body_send(struct imap_cmd *cmd, struct imap_fetch_msg *m,
			 const struct imap_fetch_item *item, pz_error *err);
/* ENVELOPE, BODY or BODYSTRUCTURE text, cached by the storage. */
int imap_fetch_structure(struct imap_cmd *cmd, struct imap_fetch_msg *m, const char *field,
			 const char **value_r, pz_error *err);

#endif
