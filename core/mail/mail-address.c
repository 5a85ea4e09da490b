/* core/mail/mail-address.c - address lists for ENVELOPE (RFC 5322 3.4). */
#include "config-core.h"
#include <string.h>
#include "pool.h"
#include "mail-rfc822.h"
#include "mail-address.h"

struct addr_parser {
	pz_pool *pool;
	struct mail_rfc822 ctx;
	struct mail_buf str, comment;
	struct mail_address *first, *last, addr;
};

static const char *dup(struct addr_parser *p, struct mail_buf *b)
{
	return pz_pool_strndup(p->pool, mail_buf_cstr(b), b->len);
}

static void add_address(struct addr_parser *p)
{
	struct mail_address *a = pz_pool_alloc(p->pool, sizeof(*a));

	*a = p->addr;
	a->next = NULL;
	memset(&p->addr, 0, sizeof(p->addr));
	if (p->first == NULL)
		p->first = a;
	else
		p->last->next = a;
	p->last = a;
}

/* add_fixed - add the address, naming what is missing. */
static void add_fixed(struct addr_parser *p)
{
	if (p->addr.mailbox == NULL) {
		p->addr.mailbox = "MISSING_MAILBOX";
		p->addr.invalid = 1;
	}
	if (p->addr.domain == NULL || p->addr.domain[0] == '\0') {
		p->addr.domain = "MISSING_DOMAIN";
		p->addr.invalid = 1;
	}
	add_address(p);
}

static int more(const struct addr_parser *p)
{
	return p->ctx.data < p->ctx.end;
}

static int local_part(struct addr_parser *p)
{
	int ret;

	/* local-part = dot-atom / quoted-string / obs-local-part */
	mail_buf_truncate(&p->str, 0);
	if (*p->ctx.data == '"')
		ret = mail_rfc822_quoted(&p->ctx, &p->str);
	else
		ret = mail_rfc822_dot_atom(&p->ctx, &p->str);
	if (ret < 0)
		return -1;
	p->addr.mailbox = dup(p, &p->str);
	return ret;
}

static int domain(struct addr_parser *p)
{
	int ret;

	mail_buf_truncate(&p->str, 0);
	if ((ret = mail_rfc822_domain(&p->ctx, &p->str)) < 0)
		return -1;
	p->addr.domain = dup(p, &p->str);
	return ret;
}

/* domain_list - obs-domain-list = "@" domain *(*(CFWS / ",") "@" domain) */
static int domain_list(struct addr_parser *p)
{
	int ret;

	mail_buf_truncate(&p->str, 0);
	for (;;) {
		if (!more(p))
			return 0;
		if (*p->ctx.data != '@')
			break;
		if (p->str.len > 0)
			mail_buf_putc(&p->str, ',');
		mail_buf_putc(&p->str, '@');
		if ((ret = mail_rfc822_domain(&p->ctx, &p->str)) <= 0)
			return ret;
		while (mail_rfc822_skip_lwsp(&p->ctx) > 0 && *p->ctx.data == ',')
			p->ctx.data++;
	}
	p->addr.route = dup(p, &p->str);
	return 1;
}

/* angle_addr - "<" [route ":"] local-part "@" domain ">" */
static int angle_addr(struct addr_parser *p)
{
	p->ctx.data++;
	if (mail_rfc822_skip_lwsp(&p->ctx) <= 0)
		return -1;
	if (*p->ctx.data == '@') {
		if (domain_list(p) > 0 && *p->ctx.data == ':') {
			p->ctx.data++;
		} else {
			p->addr.route = "INVALID_ROUTE";
			if (!more(p))
				return -1;
			/* go on anyway */
		}
		if (mail_rfc822_skip_lwsp(&p->ctx) <= 0)
			return -1;
	}
	if (*p->ctx.data != '>') {
		if (local_part(p) <= 0)
			return -1;
		if (*p->ctx.data == '@' && domain(p) <= 0)
			return -1;
	}
	if (*p->ctx.data != '>')
		return -1;
	p->ctx.data++;
	return mail_rfc822_skip_lwsp(&p->ctx);
}

/* name_addr - [display-name] angle-addr */
static int name_addr(struct addr_parser *p)
{
	mail_buf_truncate(&p->str, 0);
	if (mail_rfc822_phrase(&p->ctx, &p->str) <= 0 || *p->ctx.data != '<')
		return -1;
	p->addr.name = p->str.len == 0 ? NULL : dup(p, &p->str);
	if (angle_addr(p) < 0) {
		p->addr.domain = "SYNTAX_ERROR";
		p->addr.invalid = 1;
	}
	return more(p);
}

/* addr_spec - local-part "@" domain, with a comment as the name */
static int addr_spec(struct addr_parser *p)
{
	int ret, ret2 = -2, quoted = *p->ctx.data == '"';
	size_t len;

	mail_buf_truncate(&p->comment, 0);
	ret = local_part(p);
	if (ret <= 0)
		p->addr.invalid = 1;
	if (ret != 0 && more(p) && *p->ctx.data == '@') {
		ret2 = domain(p);
		if (ret2 <= 0)
			ret = ret2;
	}
	if (p->comment.len > 0) {
		p->addr.name = dup(p, &p->comment);
	} else if (ret2 == -2) {
		/* a lone word is a mailbox, but with more words after it the
		 * whole is a display name */
		mail_buf_putc(&p->str, ' ');
		len = p->str.len;
		(void)mail_rfc822_phrase(&p->ctx, &p->str);
		if (p->str.len != len) {
			p->addr.mailbox = NULL;
			p->addr.name = dup(p, &p->str);
		} else if (!quoted) {
			p->addr.domain = "";
		}
		p->addr.invalid = 1;
		ret = -1;
	}
	return ret;
}

static int mailbox(struct addr_parser *p)
{
	const unsigned char *start = p->ctx.data;
	int ret;

	if ((ret = name_addr(p)) < 0) {
		p->ctx.data = start;
		ret = addr_spec(p);
		if (p->addr.invalid && p->addr.name == NULL &&
		    p->addr.mailbox != NULL && p->addr.domain == NULL) {
			p->addr.name = p->addr.mailbox;
			p->addr.mailbox = NULL;
		}
	}
	if (ret < 0)
		p->addr.invalid = 1;
	add_fixed(p);
	return ret;
}

/* group - display-name ":" [mailbox-list / CFWS] ";" [CFWS] */
static int group(struct addr_parser *p)
{
	int ret;

	mail_buf_truncate(&p->str, 0);
	if (mail_rfc822_phrase(&p->ctx, &p->str) <= 0 || *p->ctx.data != ':')
		return -1;
	/* a group from here on, whatever follows */
	p->ctx.data++;
	if ((ret = mail_rfc822_skip_lwsp(&p->ctx)) <= 0)
		p->addr.invalid = 1;
	p->addr.mailbox = dup(p, &p->str);
	add_address(p);
	if (ret > 0 && *p->ctx.data != ';') {
		for (;;) {
			(void)mailbox(p);
			if (!more(p) || *p->ctx.data != ',')
				break;
			p->ctx.data++;
			if (mail_rfc822_skip_lwsp(&p->ctx) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (!more(p) || *p->ctx.data != ';') {
			ret = -1;
		} else {
			p->ctx.data++;
			ret = mail_rfc822_skip_lwsp(&p->ctx);
		}
	}
	if (ret < 0)
		p->addr.invalid = 1;
	add_address(p);
	return ret == 0 ? 0 : 1;
}

static int address(struct addr_parser *p)
{
	const unsigned char *start = p->ctx.data;
	int ret;

	if ((ret = group(p)) < 0) {
		p->ctx.data = start;
		ret = mailbox(p);
	}
	return ret;
}

struct mail_address *mail_address_parse(pz_pool *pool, const char *value, size_t len)
{
	struct addr_parser p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.pool = pool;
	mail_buf_init(&p.str, NULL);
	mail_buf_init(&p.comment, NULL);
	mail_rfc822_init(&p.ctx, value, len);
	p.ctx.last_comment = &p.comment;
	p.ctx.nul_repl = 1;
	if (mail_rfc822_skip_lwsp(&p.ctx) > 0) {
		/* address-list = address *("," address) */
		while ((ret = address(&p)) != 0) {
			if (!more(&p) || *p.ctx.data != ',')
				break;
			p.ctx.data++;
			if ((ret = mail_rfc822_skip_lwsp(&p.ctx)) <= 0) {
				if (ret < 0)
					add_fixed(&p); /* garbage at the end */
				break;
			}
		}
	}
	mail_buf_free(&p.str);
	mail_buf_free(&p.comment);
	return p.first;
}
