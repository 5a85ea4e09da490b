/* core/mail/mail-rfc822.c - RFC 5322 / RFC 2045 / RFC 2231 lexical layer. */
#include "config-core.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "log.h"
#include "pool.h"
#include "mail-rfc822.h"

/* 1: atext, 2: letters, digits and 8-bit, 4: atext that MIME calls a
 * tspecial ('/', '=', '?').  Tokens take 1 and 2. */
const unsigned char mail_rfc822_atext[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 4,   /* sp ! " # ... / */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 4, 0, 4,   /* 0-9 : ; < = > ? */
	0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,   /* @ A-O */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1,   /* P-Z [ \ ] ^ _ */
	1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,   /* ` a-o */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0,   /* p-z { | } ~ del */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

void mail_rfc822_init(struct mail_rfc822 *ctx, const void *data, size_t len)
{
	ctx->data = data;
	ctx->end = ctx->data + len;
	ctx->last_comment = NULL;
	ctx->nul_repl = 0;
}

/* more - 1 when input is left, 0 at its end. */
static int more(const struct mail_rfc822 *ctx)
{
	return ctx->data < ctx->end ? 1 : 0;
}

int mail_rfc822_skip_comment(struct mail_rfc822 *ctx)
{
	const unsigned char *start;
	int level = 1;

	if (ctx->last_comment != NULL)
		mail_buf_truncate(ctx->last_comment, 0);
	start = ++ctx->data;
	for (; ctx->data < ctx->end; ctx->data++) {
		if (*ctx->data == '(') {
			level++;
		} else if (*ctx->data == ')') {
			if (--level > 0)
				continue;
			if (ctx->last_comment != NULL)
				mail_buf_append(ctx->last_comment, start,
						(size_t)(ctx->data - start));
			ctx->data++;
			return more(ctx);
		} else if (*ctx->data == '\\') {
			if (ctx->last_comment != NULL)
				mail_buf_append(ctx->last_comment, start,
						(size_t)(ctx->data - start));
			start = ctx->data + 1;
			if (++ctx->data >= ctx->end)
				return -1;
		} else if (*ctx->data == '\0' && ctx->nul_repl &&
			   ctx->last_comment != NULL) {
			mail_buf_append(ctx->last_comment, start, (size_t)(ctx->data - start));
			mail_buf_puts(ctx->last_comment, MAIL_NUL_REPLACEMENT);
			start = ctx->data + 1;
		}
	}
	return -1; /* no ')' */
}

int mail_rfc822_skip_lwsp(struct mail_rfc822 *ctx)
{
	while (ctx->data < ctx->end) {
		unsigned char c = *ctx->data;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			ctx->data++;
		} else if (c == '(') {
			if (mail_rfc822_skip_comment(ctx) < 0)
				return -1;
		} else {
			break;
		}
	}
	return more(ctx);
}

/* take - append [start, cursor) and skip what follows it. */
static int take(struct mail_rfc822 *ctx, const unsigned char *start,
		struct mail_buf *out)
{
	mail_buf_append(out, start, (size_t)(ctx->data - start));
	return ctx->data < ctx->end ? mail_rfc822_skip_lwsp(ctx) : 0;
}

int mail_rfc822_atom(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	const unsigned char *start = ctx->data;

	if (ctx->data >= ctx->end || !MAIL_IS_ATEXT(*ctx->data))
		return -1;
	while (ctx->data < ctx->end && MAIL_IS_ATEXT(*ctx->data))
		ctx->data++;
	return take(ctx, start, out);
}

int mail_rfc822_dot_atom(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	const unsigned char *start = ctx->data;
	int ret;

	if (ctx->data >= ctx->end || !MAIL_IS_ATEXT(*ctx->data))
		return -1;
	/* RFC 822 allowed white space around the dots */
	for (;;) {
		while (ctx->data < ctx->end && MAIL_IS_ATEXT(*ctx->data))
			ctx->data++;
		if (ctx->data >= ctx->end) {
			mail_buf_append(out, start, (size_t)(ctx->data - start));
			return 0;
		}
		mail_buf_append(out, start, (size_t)(ctx->data - start));
		if ((ret = mail_rfc822_skip_lwsp(ctx)) <= 0)
			return ret;
		if (*ctx->data != '.')
			return 1;
		ctx->data++;
		mail_buf_putc(out, '.');
		if ((ret = mail_rfc822_skip_lwsp(ctx)) <= 0)
			return ret;
		start = ctx->data;
	}
}

int mail_rfc822_token(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	const unsigned char *start = ctx->data;

	while (ctx->data < ctx->end && MAIL_IS_TOKEN(*ctx->data))
		ctx->data++;
	return take(ctx, start, out);
}

int mail_rfc822_quoted(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	const unsigned char *start;
	size_t len;

	start = ++ctx->data;
	for (; ctx->data < ctx->end; ctx->data++) {
		switch (*ctx->data) {
		case '"':
			mail_buf_append(out, start, (size_t)(ctx->data - start));
			ctx->data++;
			return mail_rfc822_skip_lwsp(ctx);
		case '\n':
			/* folding: drop the line break, keep the blank */
			len = (size_t)(ctx->data - start);
			if (len > 0 && start[len - 1] == '\r')
				len--;
			mail_buf_append(out, start, len);
			start = ctx->data + 1;
			break;
		case '\\':
			if (++ctx->data >= ctx->end)
				return -1;
			mail_buf_append(out, start, (size_t)(ctx->data - start - 1));
			start = ctx->data;
			break;
		case '\0':
			if (!ctx->nul_repl)
				return -1;
			mail_buf_append(out, start, (size_t)(ctx->data - start));
			mail_buf_puts(out, MAIL_NUL_REPLACEMENT);
			start = ctx->data + 1;
			break;
		default:
			break;
		}
	}
	return -1; /* no closing quote */
}

/* atom_or_dot - atext and dots, possibly nothing, without the special
 * treatment of white space around dots. */
static int atom_or_dot(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	const unsigned char *start = ctx->data;

	while (ctx->data < ctx->end &&
	       (MAIL_IS_ATEXT(*ctx->data) || *ctx->data == '.'))
		ctx->data++;
	return take(ctx, start, out);
}

int mail_rfc822_phrase(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	int ret;

	/* phrase = 1*word / obs-phrase; obs-phrase allows dots */
	if (ctx->data >= ctx->end)
		return 0;
	if (*ctx->data == '.')
		return -1;
	for (;;) {
		if (*ctx->data == '"')
			ret = mail_rfc822_quoted(ctx, out);
		else
			ret = atom_or_dot(ctx, out);
		if (ret <= 0)
			return ret;
		if (!MAIL_IS_ATEXT(*ctx->data) && *ctx->data != '"' &&
		    *ctx->data != '.')
			break;
		mail_buf_putc(out, ' ');
	}
	return mail_rfc822_skip_lwsp(ctx);
}

static int domain_literal(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	const unsigned char *start = ctx->data;

	for (; ctx->data < ctx->end; ctx->data++) {
		if (*ctx->data == '\\') {
			if (++ctx->data >= ctx->end)
				break;
		} else if (*ctx->data == ']') {
			ctx->data++;
			return take(ctx, start, out);
		}
	}
	return -1; /* no ']' */
}

int mail_rfc822_domain(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	ctx->data++; /* the '@' */
	if (mail_rfc822_skip_lwsp(ctx) <= 0)
		return -1;
	if (*ctx->data == '[')
		return domain_literal(ctx, out);
	return mail_rfc822_dot_atom(ctx, out);
}

int mail_rfc822_content_type(struct mail_rfc822 *ctx, struct mail_buf *out)
{
	size_t orig = out->len, sub;
	int ret;

	if (mail_rfc822_skip_lwsp(ctx) <= 0)
		return -1;
	/* the main type; at the end of input it is kept ("text") */
	if (mail_rfc822_token(ctx, out) <= 0 || out->len == orig)
		return -1;
	if (*ctx->data != '/') {
		mail_buf_truncate(out, orig);
		return -1;
	}
	ctx->data++;
	if (mail_rfc822_skip_lwsp(ctx) <= 0) {
		mail_buf_truncate(out, orig);
		return -1;
	}
	mail_buf_putc(out, '/');
	sub = out->len;
	ret = mail_rfc822_token(ctx, out);
	/* only parameters may follow */
	if (ret < 0 || out->len == sub || (ret > 0 && *ctx->data != ';')) {
		mail_buf_truncate(out, orig);
		return -1;
	}
	return ret;
}

/* content_param - one ";name=value": 1 with it, 0 at the end, -1 broken. */
static int content_param(struct mail_rfc822 *ctx, struct mail_buf *key,
			 struct mail_buf *value)
{
	int ret;

	mail_buf_truncate(key, 0);
	mail_buf_truncate(value, 0);
	if (ctx->data >= ctx->end)
		return 0;
	if (*ctx->data != ';')
		return -1;
	ctx->data++;
	if (mail_rfc822_skip_lwsp(ctx) <= 0)
		return -1;
	if (mail_rfc822_token(ctx, key) <= 0 || *ctx->data != '=')
		return -1;
	ctx->data++;
	ret = mail_rfc822_skip_lwsp(ctx);
	if (ret <= 0) {
		/* no value */
	} else if (*ctx->data == '"') {
		ret = mail_rfc822_quoted(ctx, value);
	} else if (*ctx->data == '=') {
		/* broken senders write name==?utf-8?b?...?= unquoted */
		while (ctx->data < ctx->end && *ctx->data != ';' &&
		       *ctx->data != ' ' && *ctx->data != '\t' &&
		       *ctx->data != '\r' && *ctx->data != '\n')
			mail_buf_putc(value, *ctx->data++);
	} else {
		ret = mail_rfc822_token(ctx, value);
	}
	return ret < 0 ? -1 : 1;
}

/* One RFC 2231 section: name*N or name*N* (or name*). */
struct section {
	const char *key;   /* the name before the '*' */
	const char *value;
	unsigned int idx;
	unsigned int seq;  /* order of appearance, for a stable sort */
	int extended;
};

static int section_cmp(const void *a, const void *b)
{
	const struct section *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	if (r != 0)
		return r;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct param_list {
	pz_pool *pool;
	struct mail_param *items;
	unsigned int count, alloc;
};

static void list_add(struct param_list *l, const char *name, const char *value)
{
	if (l->count == l->alloc) {
		unsigned int n = l->alloc == 0 ? 8 : l->alloc * 2;

		l->items = pz_pool_realloc(l->pool, l->items,
					   l->alloc * sizeof(*l->items),
					   n * sizeof(*l->items));
		l->alloc = n;
	}
	l->items[l->count].name = name;
	l->items[l->count].value = value;
	l->count++;
}

/* split_section - whether `key` is an RFC 2231 section name; fills
 * s->key, s->extended and (when digits follow the '*') s->idx.  An idx
 * not given keeps the previous section's, as Dovecot does. */
static int split_section(pz_pool *pool, const char *key, struct section *s)
{
	const char *star = strchr(key, '*'), *p;

	if (star == NULL)
		return 0;
	p = star;
	if (p[1] != '\0') {
		p++;
		s->idx = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			s->idx = s->idx * 10 + (unsigned int)(*p - '0');
	}
	s->extended = *p == '*';
	if (s->extended)
		p++;
	if (*p != '\0')
		return 0;
	s->key = pz_pool_strndup(pool, key, (size_t)(star - key));
	return 1;
}

/* escape_percent - a plain section inside an extended value. */
static void escape_percent(struct mail_buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			mail_buf_puts(out, "%25");
		else
			mail_buf_putc(out, (unsigned char)*s);
	}
}

/* join_sections - sections[i..next) share a name: one parameter, or each
 * on its own when an index is missing. */
static void join_sections(struct param_list *l, const struct section *s,
			  unsigned int n)
{
	struct mail_buf v;
	int ok = 1, extended = 0;
	unsigned int j;

	for (j = 0; j < n; j++) {
		if (s[j].idx != j)
			ok = 0;
		if (s[j].extended)
			extended = 1;
	}
	if (!ok) {
		for (j = 0; j < n; j++)
			list_add(l, pz_pool_printf(l->pool, s[j].extended ? "%s*%u*" : "%s*%u",
						   s[j].key, s[j].idx), s[j].value);
		return;
	}
	mail_buf_init(&v, l->pool);
	if (!s[0].extended && extended)
		mail_buf_puts(&v, "''");
	for (j = 0; j < n; j++) {
		if (!s[j].extended && extended)
			escape_percent(&v, s[j].value);
		else
			mail_buf_puts(&v, s[j].value);
	}
	list_add(l, extended ? pz_pool_printf(l->pool, "%s*", s[0].key) : s[0].key,
		 mail_buf_cstr(&v));
}

void mail_rfc822_params(struct mail_rfc822 *ctx, pz_pool *pool,
			struct mail_param **params_r, unsigned int *count_r)
{
	struct param_list l = { pool, NULL, 0, 0 };
	struct section cur = { NULL, NULL, 0, 0, 0 }, *secs = NULL;
	unsigned int nsecs = 0, asecs = 0, i, next;
	struct mail_buf key, value;
	int ret, nul_repl = ctx->nul_repl;

	mail_buf_init(&key, NULL);
	mail_buf_init(&value, NULL);
	ctx->nul_repl = 1;
	while ((ret = content_param(ctx, &key, &value)) != 0) {
		if (ret < 0) {
			/* skip a byte and try again */
			if (ctx->data >= ctx->end)
				break;
			ctx->data++;
			continue;
		}
		if (!split_section(pool, mail_buf_cstr(&key), &cur)) {
			list_add(&l, pz_pool_strdup(pool, mail_buf_cstr(&key)),
				 pz_pool_strndup(pool, mail_buf_cstr(&value), value.len));
			continue;
		}
		if (nsecs == asecs) {
			asecs = asecs == 0 ? 8 : asecs * 2;
			secs = realloc(secs, asecs * sizeof(*secs));
			if (secs == NULL)
				pz_fatal("out of memory parsing MIME parameters");
		}
		cur.value = pz_pool_strndup(pool, mail_buf_cstr(&value), value.len);
		cur.seq = nsecs;
		secs[nsecs++] = cur;
	}
	ctx->nul_repl = nul_repl;
	mail_buf_free(&key);
	mail_buf_free(&value);
	if (nsecs > 0) {
		qsort(secs, nsecs, sizeof(*secs), section_cmp);
		for (i = 0; i < nsecs; i = next) {
			for (next = i + 1; next < nsecs; next++) {
				if (strcasecmp(secs[i].key, secs[next].key) != 0)
					break;
			}
			join_sections(&l, secs + i, next - i);
		}
		free(secs);
	}
	*params_r = l.items;
	*count_r = l.count;
}
