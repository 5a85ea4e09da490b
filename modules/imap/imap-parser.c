/* modules/imap/imap-parser.c - the IMAP command parser: a resumable,
 * bounded state machine over bytes (see imap-parser.h for the contract).
 *
 * Grammar followed: RFC 9051 section 9 (tag, atom, quoted, literal,
 * literal8) and RFC 7888 (LITERAL+ / LITERAL- non-synchronizing literals).
 * The parser is strict where a client's mistake would desynchronise the
 * stream (literal headers, CR without LF, unbalanced parentheses) and
 * lenient where real clients are sloppy (a trailing space before CRLF,
 * 8-bit bytes in atoms, a bare LF as line end). */
#include <string.h>
#include "imap-parser.h"

enum {
	S_TAG = 0,
	S_NAME,
	S_ARG_START,
	S_ATOM,
	S_TILDE,
	S_QUOTED,
	S_QUOTED_ESC,
	S_LIT_SIZE,
	S_LIT_PLUS,
	S_LIT_CR,
	S_LIT_LF,
	S_LIT_WAIT,
	S_LIT_DATA,
	S_AFTER,
	S_EOL_LF,
	S_SKIP,
	S_SKIP_LIT,
	S_DONE,
	S_ERROR_READY,
};

/* the 19 digits of a literal size keep it below 2^63 */
#define LIT_MAX_DIGITS 19

struct imap_node {
	struct imap_arg arg;
	struct imap_node *next;
};

void imap_parser_init(struct imap_parser *p, const struct imap_parser_limits *limits,
		      char *token_buf, imap_parser_alloc_fn *alloc, void *alloc_ctx)
{
	memset(p, 0, sizeof(*p));
	p->limits = *limits;
	if (p->limits.max_depth > IMAP_PARSER_MAX_DEPTH)
		p->limits.max_depth = IMAP_PARSER_MAX_DEPTH;
	p->alloc = alloc;
	p->alloc_ctx = alloc_ctx;
	p->tok = token_buf;
	imap_parser_reset(p);
}

void imap_parser_reset(struct imap_parser *p)
{
	p->tag_len = p->name_len = 0;
	p->tag[0] = p->name[0] = '\0';
	p->args = NULL;
	p->count = 0;
	p->literal_size = 0;
	p->literal_sync = p->literal8 = 0;
	p->error = NULL;
	p->tag_ok = 0;
	p->state = S_TAG;
	p->tok_len = 0;
	p->tok_attached = p->after_space = p->after_list = p->eol_cr = 0;
	memset(p->stack, 0, sizeof(p->stack));
	p->depth = 0;
	p->nargs = 0;
	p->total = 0;
	p->lit_buf = NULL;
	p->lit_done = 0;
	p->skip_literal = 0;
	p->skip_lit_state = 0;
	p->skip_lit_size = 0;
	p->skip_lit_plus = 0;
	p->silent = 0;
}

/* fail - the command is bad: remember the first reason, then consume the
 * rest of it (at_eol: the line already ended, nothing more to skip). */
static void fail(struct imap_parser *p, const char *why, int at_eol)
{
	if (p->error == NULL)
		p->error = why;
	p->skip_lit_state = 0;
	p->state = at_eol ? S_ERROR_READY : S_SKIP;
}

/* fail_at_literal - fail while a literal header was just read: a
 * synchronizing literal will never be sent; a non-synchronizing one must
 * be skipped, then the rest of the line after it. */
static void fail_at_literal(struct imap_parser *p, const char *why)
{
	fail(p, why, p->literal_sync);
	if (!p->literal_sync) {
		p->skip_literal = p->literal_size;
		p->state = S_SKIP_LIT;
	}
}

static int is_tag_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){%*\"\\+", c) == NULL;
}

static int is_atom_char(unsigned char c)
{
	/* lenient: brackets, '\', wildcards and 8-bit bytes are allowed; the
	 * commands check what they accept */
	if (c <= 0x20 || c == 0x7f)
		return 0;
	return c != '(' && c != ')' && c != '{' && c != '"';
}

/* add_arg - append an argument at the current depth. */
static struct imap_arg *add_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_node *n;

	if (p->nargs >= p->limits.max_args) {
		fail(p, "Too many arguments", 0);
		return NULL;
	}
	p->nargs++;
	n = p->alloc(p->alloc_ctx, sizeof(*n));
	n->arg.type = type;
	if (p->stack[p->depth].tail != NULL)
		p->stack[p->depth].tail->next = n;
	else
		p->stack[p->depth].head = n;
	p->stack[p->depth].tail = n;
	p->stack[p->depth].count++;
	return &n->arg;
}

/* flatten - the nodes of one level as an array. */
static struct imap_arg *flatten(struct imap_parser *p, unsigned int level,
				unsigned int *count_r)
{
	unsigned int n = p->stack[level].count, i = 0;
	struct imap_arg *arr = p->alloc(p->alloc_ctx, sizeof(*arr) * (n + 1));
	struct imap_node *node;

	for (node = p->stack[level].head; node != NULL; node = node->next)
		arr[i++] = node->arg;
	*count_r = n;
	return arr;
}

/* finish_token - the token in tok[] becomes an argument. */
static void finish_token(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *a;
	char *s;

	if (p->tok_len > p->limits.max_total - p->total) {
		fail(p, "Command too long", 0);
		return;
	}
	p->total += p->tok_len;
	a = add_arg(p, type);
	if (a == NULL)
		return;
	s = p->alloc(p->alloc_ctx, p->tok_len + 1);
	memcpy(s, p->tok, p->tok_len);
	a->str = s;
	a->len = p->tok_len;
	a->attached = p->tok_attached ? 1 : 0;
	p->tok_len = 0;
	p->tok_attached = 0;
	p->after_list = 0;
	p->state = S_AFTER;
}

static int tok_add(struct imap_parser *p, unsigned char c)
{
	if (p->tok_len >= p->limits.max_token) {
		fail(p, "Argument too long", 0);
		return -1;
	}
	p->tok[p->tok_len++] = (char)c;
	return 0;
}

static void open_list(struct imap_parser *p)
{
	if (p->depth >= p->limits.max_depth) {
		fail(p, "Too deeply nested parentheses", 0);
		return;
	}
	if (add_arg(p, IMAP_ARG_LIST) == NULL)
		return;
	p->depth++;
	p->stack[p->depth].head = p->stack[p->depth].tail = NULL;
	p->stack[p->depth].count = 0;
	p->after_space = 0;
	p->state = S_ARG_START;
}

static void close_list(struct imap_parser *p)
{
	struct imap_arg *list;

	if (p->depth == 0) {
		fail(p, "Unexpected ')'", 0);
		return;
	}
	list = &p->stack[p->depth - 1].tail->arg;
	list->list = flatten(p, p->depth, &list->count);
	p->depth--;
	p->after_list = 1;
	p->state = S_AFTER;
}

/* end_of_line - a line ended outside any token. */
static void end_of_line(struct imap_parser *p)
{
	if (p->depth > 0) {
		fail(p, "Missing ')'", 1);
		return;
	}
	p->args = flatten(p, 0, &p->count);
	p->state = S_DONE;
}

static void start_literal_header(struct imap_parser *p, int literal8)
{
	p->literal8 = literal8;
	p->literal_size = 0;
	p->lit_done = 0; /* counts digits until the size is known */
	p->literal_sync = 1;
	p->state = S_LIT_SIZE;
}

/* arg_start - the first byte of an argument, or a list end, or EOL. */
static void arg_start(struct imap_parser *p, unsigned char c)
{
	int was_space = p->after_space;

	p->after_space = 0;
	switch (c) {
	case '(':
		open_list(p);
		return;
	case ')':
		if (was_space)
			fail(p, "Unexpected space before ')'", 0);
		else
			close_list(p);
		return;
	case '"':
		p->state = S_QUOTED;
		return;
	case '{':
		start_literal_header(p, 0);
		return;
	case '~':
		p->state = S_TILDE;
		return;
	case '\r':
		p->eol_cr = 1;
		p->state = S_EOL_LF;
		return;
	case '\n':
		end_of_line(p);
		return;
	case ' ':
		fail(p, "Double space between arguments", 0);
		return;
	default:
		break;
	}
	if (c == 0)
		fail(p, "NUL byte in command", 0);
	else if (!is_atom_char(c))
		fail(p, "Invalid character in command", 0);
	else if (tok_add(p, c) == 0)
		p->state = S_ATOM;
}

/* after_arg - what may follow an argument or a list. */
static void after_arg(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		p->after_space = 1;
		p->after_list = 0;
		p->state = S_ARG_START;
		return;
	case ')':
		close_list(p);
		return;
	case '\r':
		p->state = S_EOL_LF;
		return;
	case '\n':
		end_of_line(p);
		return;
	case ']':
		if (p->after_list) {
			p->tok_attached = 1;
			if (tok_add(p, c) == 0)
				p->state = S_ATOM;
			return;
		}
		break;
	default:
		break;
	}
	fail(p, "Missing space between arguments", 0);
}

static void atom_byte(struct imap_parser *p, unsigned char c)
{
	if (is_atom_char(c)) {
		tok_add(p, c);
		return;
	}
	switch (c) {
	case ' ':
	case ')':
	case '\r':
	case '\n':
		finish_token(p, IMAP_ARG_ATOM);
		if (p->state == S_AFTER)
			after_arg(p, c);
		return;
	case 0:
		fail(p, "NUL byte in command", 0);
		return;
	default:
		fail(p, "Invalid character in atom", 0);
		return;
	}
}

static void quoted_byte(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case '"':
		finish_token(p, IMAP_ARG_QUOTED);
		return;
	case '\\':
		p->state = S_QUOTED_ESC;
		return;
	case '\r':
	case '\n':
		fail(p, "Missing '\"' at end of quoted string", c == '\n');
		if (c == '\r')
			p->eol_cr = 1;
		return;
	case 0:
		fail(p, "NUL byte in quoted string", 0);
		return;
	default:
		tok_add(p, c);
		return;
	}
}

static void literal_size_byte(struct imap_parser *p, unsigned char c)
{
	if (p->state == S_LIT_SIZE && c >= '0' && c <= '9') {
		if (++p->lit_done > LIT_MAX_DIGITS) {
			fail(p, "Literal size too large", 0);
			return;
		}
		p->literal_size = p->literal_size * 10 + (uint64_t)(c - '0');
		return;
	}
	if (p->lit_done == 0) {
		fail(p, "Invalid literal size", 0);
		return;
	}
	if (p->state == S_LIT_SIZE && c == '+') {
		p->literal_sync = 0;
		p->state = S_LIT_PLUS;
		return;
	}
	if (c == '}') {
		p->state = S_LIT_CR;
		return;
	}
	fail(p, "Invalid literal size", 0);
}

static void literal_complete(struct imap_parser *p);

/* literal_ready - a literal header ended its line: the caller decides. */
static void literal_ready(struct imap_parser *p)
{
	p->lit_done = 0;
	p->state = S_LIT_WAIT;
}

int imap_parser_literal_accept(struct imap_parser *p)
{
	if (p->state != S_LIT_WAIT)
		return -1;
	if (p->literal_size > p->limits.max_literal ||
	    p->literal_size > p->limits.max_total - p->total) {
		fail_at_literal(p, "[TOOBIG] Literal too large");
		return -1;
	}
	if (p->nargs >= p->limits.max_args) {
		fail_at_literal(p, "Too many arguments");
		return -1;
	}
	p->total += p->literal_size;
	p->lit_buf = p->alloc(p->alloc_ctx, (size_t)p->literal_size + 1);
	p->lit_done = 0;
	p->state = S_LIT_DATA;
	if (p->literal_size == 0)
		literal_complete(p);
	return 0;
}

/* literal_complete - the literal's bytes are in lit_buf. */
static void literal_complete(struct imap_parser *p)
{
	struct imap_arg *a = add_arg(p, IMAP_ARG_LITERAL);

	if (a == NULL)
		return;
	a->str = p->lit_buf;
	a->len = (size_t)p->literal_size;
	a->literal8 = p->literal8 ? 1 : 0;
	p->lit_buf = NULL;
	p->after_list = 0;
	p->state = S_AFTER;
}

void imap_parser_literal_taken(struct imap_parser *p)
{
	struct imap_arg *a;

	if (p->state != S_LIT_WAIT)
		return;
	a = add_arg(p, IMAP_ARG_LITERAL_TAKEN);
	if (a == NULL) {
		/* the caller has read the data already */
		p->state = S_SKIP;
		return;
	}
	a->literal_size = p->literal_size;
	a->literal8 = p->literal8 ? 1 : 0;
	a->str = "";
	p->after_list = 0;
	p->state = S_AFTER;
}

void imap_parser_fail(struct imap_parser *p)
{
	p->silent = 1;
	if (p->state == S_LIT_WAIT)
		fail_at_literal(p, "Command refused");
	else if (p->state != S_ERROR_READY)
		fail(p, "Command refused", p->state == S_DONE);
}

/* skip_byte - consume a failed command up to the end of its line; a line
 * ending in a non-synchronizing literal header goes on after the literal. */
static void skip_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->skip_lit_state) {
	case 1: /* digits */
		if (c >= '0' && c <= '9' && p->skip_lit_size < (UINT64_MAX - 9) / 10) {
			p->skip_lit_size = p->skip_lit_size * 10 + (uint64_t)(c - '0');
			return;
		}
		if (c == '+') {
			p->skip_lit_plus = 1;
			p->skip_lit_state = 2;
			return;
		}
		if (c == '}') {
			p->skip_lit_state = 3;
			return;
		}
		break;
	case 2:
		if (c == '}') {
			p->skip_lit_state = 3;
			return;
		}
		break;
	case 3:
		if (c == '\r') {
			p->skip_lit_state = 4;
			return;
		}
		/* fall through */
	case 4:
		if (c == '\n') {
			p->skip_lit_state = 0;
			if (!p->skip_lit_plus) {
				p->state = S_ERROR_READY;
				return;
			}
			p->skip_literal = p->skip_lit_size;
			p->state = S_SKIP_LIT;
			return;
		}
		break;
	default:
		break;
	}
	p->skip_lit_state = 0;
	if (c == '{') {
		p->skip_lit_state = 1;
		p->skip_lit_size = 0;
		p->skip_lit_plus = 0;
	} else if (c == '\n') {
		p->state = S_ERROR_READY;
	}
}

static void tag_byte(struct imap_parser *p, unsigned char c)
{
	if (c == ' ') {
		if (p->tag_len == 0) {
			fail(p, "Missing tag", 0);
			return;
		}
		p->tag[p->tag_len] = '\0';
		p->tag_ok = 1;
		p->state = S_NAME;
		return;
	}
	if ((c == '\r' || c == '\n') && p->tag_len == 0)
		return; /* an empty line is ignored */
	if (c == '\r' || c == '\n') {
		p->tag[p->tag_len] = '\0';
		p->tag_ok = 1;
		fail(p, "Missing command", c == '\n');
		return;
	}
	if (!is_tag_char(c)) {
		fail(p, "Invalid tag", 0);
		return;
	}
	if (p->tag_len >= IMAP_MAX_TAG) {
		fail(p, "Tag too long", 0);
		return;
	}
	p->tag[p->tag_len++] = (char)c;
}

static void name_byte(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' || c == '\r' || c == '\n') {
		if (p->name_len == 0) {
			fail(p, "Missing command", c == '\n');
			return;
		}
		p->name[p->name_len] = '\0';
		if (c == ' ') {
			p->after_space = 1;
			p->state = S_ARG_START;
		} else if (c == '\r') {
			p->state = S_EOL_LF;
		} else {
			end_of_line(p);
		}
		return;
	}
	if (!is_atom_char(c) || c >= 0x80 || c == '[' || c == ']' || c == '\\' ||
	    c == '%' || c == '*') {
		fail(p, "Invalid command name", 0);
		return;
	}
	if (p->name_len >= IMAP_MAX_NAME) {
		fail(p, "Unknown command", 0);
		return;
	}
	p->name[p->name_len++] = (char)c;
}

/* bulk - literal data, read or skipped, in one copy. */
static size_t bulk(struct imap_parser *p, const unsigned char *d, size_t len)
{
	if (p->state == S_SKIP_LIT) {
		size_t n = p->skip_literal < len ? (size_t)p->skip_literal : len;

		p->skip_literal -= n;
		if (p->skip_literal == 0)
			p->state = S_SKIP;
		return n;
	} else {
		uint64_t left = p->literal_size - p->lit_done;
		size_t n = left < len ? (size_t)left : len;

		if (!p->literal8 && memchr(d, 0, n) != NULL) {
			size_t at = (size_t)((const unsigned char *)memchr(d, 0, n) - d);

			p->lit_done += at;
			fail(p, "NUL byte in literal (use literal8)", 0);
			p->skip_literal = p->literal_size - p->lit_done;
			p->state = p->skip_literal > 0 ? S_SKIP_LIT : S_SKIP;
			return at;
		}
		memcpy(p->lit_buf + p->lit_done, d, n);
		p->lit_done += n;
		if (p->lit_done == p->literal_size)
			literal_complete(p);
		return n;
	}
}

static void step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_TAG: tag_byte(p, c); break;
	case S_NAME: name_byte(p, c); break;
	case S_ARG_START: arg_start(p, c); break;
	case S_ATOM: atom_byte(p, c); break;
	case S_TILDE:
		if (c == '{') {
			start_literal_header(p, 1);
		} else if (tok_add(p, '~') == 0) {
			p->state = S_ATOM;
			atom_byte(p, c);
		}
		break;
	case S_QUOTED: quoted_byte(p, c); break;
	case S_QUOTED_ESC:
		if (c == '"' || c == '\\') {
			p->state = S_QUOTED;
			tok_add(p, c);
		} else {
			fail(p, "Invalid escape in quoted string", c == '\n');
		}
		break;
	case S_LIT_SIZE:
	case S_LIT_PLUS: literal_size_byte(p, c); break;
	case S_LIT_CR:
		if (c == '\r')
			p->state = S_LIT_LF;
		else if (c == '\n')
			literal_ready(p);
		else
			fail(p, "Missing CRLF after literal size", 0);
		break;
	case S_LIT_LF:
		if (c == '\n')
			literal_ready(p);
		else
			fail(p, "CR without LF", 0);
		break;
	case S_AFTER: after_arg(p, c); break;
	case S_EOL_LF:
		if (c == '\n')
			end_of_line(p);
		else
			fail(p, "CR without LF", 0);
		break;
	case S_SKIP: skip_byte(p, c); break;
	default: break;
	}
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *data,
					size_t len, size_t *consumed_r)
{
	const unsigned char *d = data;
	size_t i = 0;

	if (p->state == S_LIT_WAIT)
		(void)imap_parser_literal_accept(p);
	while (i < len && p->state != S_DONE && p->state != S_ERROR_READY &&
	       p->state != S_LIT_WAIT) {
		if (p->state == S_LIT_DATA || p->state == S_SKIP_LIT)
			i += bulk(p, d + i, len - i);
		else
			step(p, d[i++]);
	}
	*consumed_r = i;
	switch (p->state) {
	case S_DONE:
		return IMAP_PARSE_DONE;
	case S_ERROR_READY:
		return p->silent ? IMAP_PARSE_SKIPPED : IMAP_PARSE_ERROR;
	case S_LIT_WAIT:
		return IMAP_PARSE_LITERAL;
	default:
		return IMAP_PARSE_MORE;
	}
}

uint64_t imap_parser_raw_wanted(const struct imap_parser *p)
{
	if (p->state == S_LIT_DATA)
		return p->literal_size - p->lit_done;
	if (p->state == S_SKIP_LIT)
		return p->skip_literal;
	return 0;
}

struct imap_arg *imap_parser_top_args(struct imap_parser *p, unsigned int *count_r)
{
	if (p->depth != 0)
		return NULL;
	return flatten(p, 0, count_r);
}

int imap_arg_is_atom(const struct imap_arg *a)
{
	return a != NULL && a->type == IMAP_ARG_ATOM;
}

int imap_arg_is_string(const struct imap_arg *a)
{
	return a != NULL && (a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL);
}

int imap_arg_is_astring(const struct imap_arg *a)
{
	return imap_arg_is_atom(a) || imap_arg_is_string(a);
}

int imap_arg_is_nil(const struct imap_arg *a)
{
	return imap_arg_atom_equals(a, "NIL");
}

int imap_arg_is_list(const struct imap_arg *a)
{
	return a != NULL && a->type == IMAP_ARG_LIST;
}

int imap_arg_atom_equals(const struct imap_arg *a, const char *upper)
{
	const char *s = upper;
	size_t i;

	if (!imap_arg_is_atom(a))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = a->str[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != s[i])
			return 0;
	}
	return a->str[i] == '\0';
}
