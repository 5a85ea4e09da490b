/* modules/imap/imap-parser.h - the IMAP command parser (RFC 9051 section 9).
 *
 * A byte-oriented state machine: feed it input in pieces of any size (a
 * line, a literal chunk, a single byte) and it resumes where the last piece
 * ended.  It knows nothing of sockets or of the host API, so unit tests and
 * the fuzz target drive it alone.
 *
 * What it reads: a tag, a command name, then arguments: atoms, quoted
 * strings, literals ({n}, {n+} LITERAL+/LITERAL-, ~{n} literal8) and
 * parenthesised lists, nested up to a depth.  Atoms are read leniently
 * (brackets, '\', '*', '%' and 8-bit bytes are atom characters) so that
 * FETCH's BODY[HEADER.FIELDS (A B)]<0.10> arrives as the atom
 * "BODY[HEADER.FIELDS", the list (A B) and the atom "]<0.10>" with
 * `attached` set (no space before it; only ']' may follow ')' that way).
 *
 * Every bound is a field of struct imap_parser_limits.  A malformed
 * command is consumed to its end (the end of its line, and through any
 * non-synchronizing literals that line announces) and then reported once
 * as IMAP_PARSE_ERROR with a reason for the tagged BAD.
 *
 * Memory: the caller gives the token buffer at init; the argument tree of
 * each command comes from `alloc`, so the caller ties it to the command's
 * lifetime (a pool it clears after each command).
 */
#ifndef POCZTA_IMAP_PARSER_H
#define POCZTA_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#define IMAP_MAX_TAG 128        /* bytes of a tag */
#define IMAP_MAX_NAME 32        /* bytes of a command name */
#define IMAP_PARSER_MAX_DEPTH 64 /* hard ceiling for limits.max_depth */

enum imap_arg_type {
	IMAP_ARG_ATOM = 1,
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,       /* data read by the parser */
	IMAP_ARG_LITERAL_TAKEN, /* data consumed by the caller (APPEND) */
	IMAP_ARG_LIST,
};

/* One argument.  Strings are NUL-terminated; `len` is their length (a
 * literal8 may hold NUL bytes).  A list has `count` children in `list`. */
struct imap_arg {
	enum imap_arg_type type;
	unsigned int literal8 : 1;  /* ~{n} */
	unsigned int attached : 1;  /* followed ')' with no space between */
	const char *str;
	size_t len;
	struct imap_arg *list;
	unsigned int count;
	uint64_t literal_size;      /* IMAP_ARG_LITERAL_TAKEN */
};

enum imap_parse_result {
	IMAP_PARSE_MORE = 0,   /* all input consumed: feed more */
	IMAP_PARSE_DONE,       /* a whole command: tag, name, args */
	IMAP_PARSE_LITERAL,    /* a literal header was read: see below */
	IMAP_PARSE_ERROR,      /* a bad command was consumed: error, tag */
	IMAP_PARSE_SKIPPED,    /* a command failed by the caller was consumed */
};

struct imap_parser_limits {
	size_t max_token;      /* an atom or quoted string */
	uint64_t max_literal;  /* a literal the parser reads itself */
	uint64_t max_total;    /* bytes of all arguments of one command */
	unsigned int max_depth;
	unsigned int max_args; /* arguments at all levels */
};

typedef void *imap_parser_alloc_fn(void *ctx, size_t size); /* zeroed */

struct imap_node;

struct imap_parser {
	struct imap_parser_limits limits;
	imap_parser_alloc_fn *alloc;
	void *alloc_ctx;

	/* the command so far */
	char tag[IMAP_MAX_TAG + 1];
	size_t tag_len;
	char name[IMAP_MAX_NAME + 1];
	size_t name_len;
	struct imap_arg *args;   /* on DONE */
	unsigned int count;

	/* on IMAP_PARSE_LITERAL */
	uint64_t literal_size;
	int literal_sync;        /* the client waits for a continuation */
	int literal8;

	/* on IMAP_PARSE_ERROR: the reason; tag_ok says whether tag[] is one */
	const char *error;
	int tag_ok;

	/* internal state */
	int state;
	char *tok;
	size_t tok_len;
	int tok_attached;
	int after_space;         /* last byte was the SP between arguments */
	int after_list;          /* last thing read was a ')' */
	int eol_cr;
	struct {
		struct imap_node *head, *tail;
		unsigned int count;
	} stack[IMAP_PARSER_MAX_DEPTH + 1];
	unsigned int depth;
	unsigned int nargs;
	uint64_t total;
	char *lit_buf;
	uint64_t lit_done;
	/* skipping a failed command: the end of the line it is on, and the
	 * non-synchronizing literals that line announces */
	uint64_t skip_literal;
	int skip_lit_state;
	uint64_t skip_lit_size;
	int skip_lit_plus;
	int silent;
};

/* imap_parser_init - set limits, the token buffer (limits.max_token + 1
 * bytes, owned by the caller and kept for the parser's life) and the
 * allocator of argument memory. */
void imap_parser_init(struct imap_parser *p, const struct imap_parser_limits *limits,
		      char *token_buf, imap_parser_alloc_fn *alloc, void *alloc_ctx);

/* imap_parser_reset - forget the command (call after DONE, ERROR or
 * SKIPPED, once the argument memory was released or is no longer used). */
void imap_parser_reset(struct imap_parser *p);

/* imap_parser_feed - consume input; *consumed_r tells how much.  Returns
 * when the input is used up (MORE) or something happened.  After DONE,
 * ERROR or SKIPPED nothing more is consumed until imap_parser_reset. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *data,
					size_t len, size_t *consumed_r);

/* imap_parser_raw_wanted - bytes of literal data the parser expects next
 * (read them raw, not as lines), 0 when it expects a line. */
uint64_t imap_parser_raw_wanted(const struct imap_parser *p);

/* After IMAP_PARSE_LITERAL, exactly one of:
 * - imap_parser_literal_accept: the parser reads the literal itself.
 *   Returns 0 (send "+" when literal_sync), or -1 when it is over a limit:
 *   the command fails and feeding on reports ERROR once it is consumed
 *   (at once for a synchronizing literal, which the client will not send).
 * - imap_parser_literal_taken: the caller read the literal_size bytes
 *   itself; the argument is recorded as IMAP_ARG_LITERAL_TAKEN.
 * - imap_parser_fail: the caller refuses the command (it answers it
 *   itself); feeding on reports SKIPPED once the rest is consumed.
 * Feeding without a decision accepts the literal. */
int imap_parser_literal_accept(struct imap_parser *p);
void imap_parser_literal_taken(struct imap_parser *p);
void imap_parser_fail(struct imap_parser *p);

/* imap_parser_top_args - the top-level arguments read so far (for APPEND
 * while it is at a literal), as an array from `alloc`; NULL when inside a
 * list. */
struct imap_arg *imap_parser_top_args(struct imap_parser *p, unsigned int *count_r);

/* Argument helpers. */
int imap_arg_is_atom(const struct imap_arg *a);
int imap_arg_is_string(const struct imap_arg *a);   /* quoted or literal */
int imap_arg_is_astring(const struct imap_arg *a);  /* atom or string */
int imap_arg_is_nil(const struct imap_arg *a);
int imap_arg_is_list(const struct imap_arg *a);
/* an atom equal to `upper` (given in upper case) in any case */
int imap_arg_atom_equals(const struct imap_arg *a, const char *upper);

#endif
