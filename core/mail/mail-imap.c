/* core/mail/mail-imap.c - BODY, BODYSTRUCTURE and ENVELOPE strings. */
#include "config-core.h"
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include "pool.h"
#include "mail-address.h"
#include "mail-imap.h"

/* Above this many quoted specials a literal is shorter (Dovecot). */
#define QUOTED_MAX_ESCAPES 4

#define DEFAULT_CHARSET "\"charset\" \"us-ascii\""
#define EMPTY_BODY "(\"text\" \"plain\" (" DEFAULT_CHARSET ") NIL NIL \"7bit\" 0 0"

static void literal(struct mail_buf *out, const char *s, size_t len)
{
	mail_buf_printf(out, "{%zu}\r\n", len);
	mail_buf_append(out, s, len);
}

void mail_imap_nstring(struct mail_buf *out, const char *s)
{
	unsigned int escapes = 0;
	const char *p;

	if (s == NULL) {
		mail_buf_puts(out, "NIL");
		return;
	}
	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\r' || c == '\n' || c >= 0x80 ||
		    ((c == '"' || c == '\\') && ++escapes > QUOTED_MAX_ESCAPES)) {
			literal(out, s, strlen(s));
			return;
		}
	}
	mail_buf_putc(out, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			mail_buf_putc(out, '\\');
		mail_buf_putc(out, (unsigned char)*p);
	}
	mail_buf_putc(out, '"');
}

/* string - like nstring, but "" for NULL. */
static void string(struct mail_buf *out, const char *s)
{
	mail_imap_nstring(out, s == NULL ? "" : s);
}

void mail_imap_nstring_nolf(struct mail_buf *out, const char *s)
{
	struct mail_buf clean;
	const char *p;

	if (s == NULL || strpbrk(s, "\r\n") == NULL) {
		mail_imap_nstring(out, s);
		return;
	}
	mail_buf_init(&clean, NULL);
	for (p = s; *p != '\0'; p++) {
		if (*p != '\r' && *p != '\n')
			mail_buf_putc(&clean, (unsigned char)*p);
		else if (p[1] != ' ' && p[1] != '\t' && p[1] != '\r' &&
			 p[1] != '\n' && p[1] != '\0')
			mail_buf_putc(&clean, ' '); /* keep the words apart */
	}
	mail_imap_nstring(out, mail_buf_cstr(&clean));
	mail_buf_free(&clean);
}

static int is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void mail_imap_string_humans(struct mail_buf *out, const char *s)
{
	size_t i, len = strlen(s), removed = 0, start;
	int last_lwsp = 1, prefix = 1, modify = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_lwsp((char)c)) {
			if (c != ' ' || last_lwsp)
				modify = 1;
			if (last_lwsp)
				removed++;
			last_lwsp = 1;
		} else {
			if (c == '"' || c == '\\' || c >= 0x80)
				modify = 1;
			last_lwsp = 0;
			prefix = 0;
		}
	}
	if (last_lwsp && len > 0 && !prefix) {
		modify = 1;
		removed++;
	}
	if (!modify) {
		mail_buf_putc(out, '"');
		mail_buf_append(out, s, len);
		mail_buf_putc(out, '"');
		return;
	}
	if (removed == len) {
		mail_buf_puts(out, "\"\"");
		return;
	}
	mail_buf_printf(out, "{%zu}\r\n", len - removed);
	start = out->len;
	last_lwsp = 1;
	for (i = 0; i < len; i++) {
		if (is_lwsp(s[i])) {
			if (!last_lwsp)
				mail_buf_putc(out, ' ');
			last_lwsp = 1;
		} else {
			mail_buf_putc(out, (unsigned char)s[i]);
			last_lwsp = 0;
		}
	}
	if (last_lwsp && out->len > start)
		mail_buf_truncate(out, out->len - 1);
}

/* ---- ENVELOPE */

static void address_list(struct mail_buf *out, pz_pool *pool,
			 const struct mail_addr_raw *raw)
{
	struct mail_address *a;
	unsigned int i;
	int any = 0;

	for (i = 0; i < raw->n; i++) {
		for (a = mail_address_parse(pool, raw->v[i], raw->len[i]);
		     a != NULL; a = a->next) {
			if (!any)
				mail_buf_putc(out, '(');
			any = 1;
			mail_buf_putc(out, '(');
			if (a->name == NULL)
				mail_buf_puts(out, "NIL");
			else
				mail_imap_string_humans(out, a->name);
			mail_buf_putc(out, ' ');
			mail_imap_nstring(out, a->route);
			mail_buf_putc(out, ' ');
			mail_imap_nstring(out, a->mailbox);
			mail_buf_putc(out, ' ');
			mail_imap_nstring(out, a->domain);
			mail_buf_putc(out, ')');
		}
	}
	mail_buf_puts(out, any ? ")" : "NIL");
}

/* has_addresses - whether an address field yields any address. */
static int has_addresses(pz_pool *pool, const struct mail_addr_raw *raw)
{
	unsigned int i;

	for (i = 0; i < raw->n; i++) {
		if (mail_address_parse(pool, raw->v[i], raw->len[i]) != NULL)
			return 1;
	}
	return 0;
}

static void envelope(struct mail_buf *out, pz_pool *pool, const struct mail_env_raw *e)
{
	const struct mail_addr_raw *sender = &e->sender, *reply_to = &e->reply_to;

	/* Sender and Reply-To default to From (RFC 9051 7.5.2) */
	if (!has_addresses(pool, sender))
		sender = &e->from;
	if (!has_addresses(pool, reply_to))
		reply_to = &e->from;
	mail_buf_putc(out, '(');
	mail_imap_nstring_nolf(out, e->date);
	mail_buf_putc(out, ' ');
	if (e->subject == NULL)
		mail_buf_puts(out, "NIL");
	else
		mail_imap_string_humans(out, e->subject);
	mail_buf_putc(out, ' ');
	address_list(out, pool, &e->from);
	mail_buf_putc(out, ' ');
	address_list(out, pool, sender);
	mail_buf_putc(out, ' ');
	address_list(out, pool, reply_to);
	mail_buf_putc(out, ' ');
	address_list(out, pool, &e->to);
	mail_buf_putc(out, ' ');
	address_list(out, pool, &e->cc);
	mail_buf_putc(out, ' ');
	address_list(out, pool, &e->bcc);
	mail_buf_putc(out, ' ');
	mail_imap_nstring_nolf(out, e->in_reply_to);
	mail_buf_putc(out, ' ');
	mail_imap_nstring_nolf(out, e->message_id);
	mail_buf_putc(out, ')');
}

char *pz_mail_envelope(pz_mail_part *p, pz_pool *pool)
{
	struct mail_buf out;

	/* a message's own header; for an encapsulated one, its child's */
	if (p->parent != NULL && (p->flags & PZ_PART_MESSAGE) != 0 && p->children != NULL)
		p = p->children;
	mail_buf_init(&out, pool);
	envelope(&out, pool, &p->env);
	return mail_buf_cstr(&out);
}

/* ---- BODY and BODYSTRUCTURE */

static void params(struct mail_buf *out, const struct mail_param *prm,
		   unsigned int n, int default_charset)
{
	unsigned int i;
	int charset = 0;

	if (n == 0 && !default_charset) {
		mail_buf_puts(out, "NIL");
		return;
	}
	mail_buf_putc(out, '(');
	for (i = 0; i < n; i++) {
		if (i > 0)
			mail_buf_putc(out, ' ');
		if (strcasecmp(prm[i].name, "charset") == 0)
			charset = 1;
		string(out, prm[i].name);
		mail_buf_putc(out, ' ');
		string(out, prm[i].value);
	}
	if (default_charset && !charset) {
		if (n > 0)
			mail_buf_putc(out, ' ');
		mail_buf_puts(out, DEFAULT_CHARSET);
	}
	mail_buf_putc(out, ')');
}

/* extension_common - disposition, language and location. */
static void extension_common(struct mail_buf *out, const struct mail_content *c)
{
	unsigned int i;

	mail_buf_putc(out, ' ');
	if (c->disposition == NULL) {
		mail_buf_puts(out, "NIL");
	} else {
		mail_buf_putc(out, '(');
		string(out, c->disposition);
		mail_buf_putc(out, ' ');
		params(out, c->disp_params, c->n_disp_params, 0);
		mail_buf_putc(out, ')');
	}
	mail_buf_putc(out, ' ');
	if (c->n_language == 0) {
		mail_buf_puts(out, "NIL");
	} else {
		mail_buf_putc(out, '(');
		for (i = 0; i < c->n_language; i++) {
			if (i > 0)
				mail_buf_putc(out, ' ');
			string(out, c->language[i]);
		}
		mail_buf_putc(out, ')');
	}
	mail_buf_putc(out, ' ');
	mail_imap_nstring_nolf(out, c->location);
}

static void body(struct mail_buf *out, pz_pool *pool, const pz_mail_part *p,
		 int extended);

static void body_multipart(struct mail_buf *out, pz_pool *pool,
			   const pz_mail_part *p, int extended)
{
	const pz_mail_part *c;

	if (p->children == NULL) {
		/* a multipart must have parts: show an empty text one */
		mail_buf_puts(out, EMPTY_BODY);
		mail_buf_puts(out, extended ? " NIL NIL NIL NIL)" : ")");
	}
	for (c = p->children; c != NULL; c = c->next) {
		mail_buf_putc(out, '(');
		body(out, pool, c, extended);
		mail_buf_putc(out, ')');
	}
	mail_buf_putc(out, ' ');
	string(out, p->c.subtype);
	if (!extended)
		return;
	mail_buf_putc(out, ' ');
	params(out, p->c.params, p->c.n_params, 0);
	extension_common(out, &p->c);
}

static void body_single(struct mail_buf *out, pz_pool *pool,
			const pz_mail_part *p, int extended)
{
	int text = 0;

	if ((p->flags & PZ_PART_MESSAGE) != 0) {
		mail_buf_puts(out, "\"message\" \"rfc822\"");
	} else if (p->c.type == NULL) {
		text = 1;
		mail_buf_puts(out, "\"text\" \"plain\"");
	} else {
		text = strcasecmp(p->c.type, "text") == 0;
		string(out, p->c.type);
		mail_buf_putc(out, ' ');
		string(out, p->c.subtype);
	}
	mail_buf_putc(out, ' ');
	params(out, p->c.params, p->c.n_params, text);
	mail_buf_putc(out, ' ');
	mail_imap_nstring_nolf(out, p->c.id);
	mail_buf_putc(out, ' ');
	mail_imap_nstring_nolf(out, p->c.description);
	mail_buf_putc(out, ' ');
	string(out, p->c.encoding == NULL ? "7bit" : p->c.encoding);
	mail_buf_printf(out, " %" PRIu64, p->body_vsize);
	if (text) {
		mail_buf_printf(out, " %" PRIu64, p->body_lines);
	} else if ((p->flags & PZ_PART_MESSAGE) != 0 && p->children != NULL) {
		mail_buf_putc(out, ' ');
		envelope(out, pool, &p->children->env);
		mail_buf_puts(out, " (");
		body(out, pool, p->children, extended);
		mail_buf_printf(out, ") %" PRIu64, p->body_lines);
	}
	if (!extended)
		return;
	mail_buf_putc(out, ' ');
	mail_imap_nstring_nolf(out, p->c.md5);
	extension_common(out, &p->c);
}

static void body(struct mail_buf *out, pz_pool *pool, const pz_mail_part *p,
		 int extended)
{
	if ((p->flags & PZ_PART_MULTIPART) != 0)
		body_multipart(out, pool, p, extended);
	else
		body_single(out, pool, p, extended);
}

/* plain_7bit - whether p is a message that is one text/plain us-ascii 7bit
 * part with nothing else to say: Dovecot then writes a fixed, lowercase
 * structure from the sizes alone, and so do we. */
static int plain_7bit(const pz_mail_part *p)
{
	const struct mail_content *c = &p->c;

	if (p->parent != NULL || (p->flags & PZ_PART_TEXT) == 0 || p->children != NULL)
		return 0;
	if (c->type != NULL && (c->subtype == NULL || strcasecmp(c->subtype, "plain") != 0))
		return 0;
	if (c->n_params > 1 ||
	    (c->n_params == 1 && (strcasecmp(c->params[0].name, "charset") != 0 ||
				  strcasecmp(c->params[0].value, "us-ascii") != 0)))
		return 0;
	if (c->encoding != NULL && strcasecmp(c->encoding, "7bit") != 0)
		return 0;
	return c->id == NULL && c->description == NULL && c->md5 == NULL &&
		c->disposition == NULL && c->n_language == 0 && c->location == NULL;
}

char *pz_mail_bodystructure(pz_mail_part *p, pz_pool *pool, int extended)
{
	struct mail_buf out;

	mail_buf_init(&out, pool);
	mail_buf_putc(&out, '(');
	if (plain_7bit(p)) {
		mail_buf_printf(&out, "\"text\" \"plain\" (" DEFAULT_CHARSET ") NIL NIL "
				"\"7bit\" %" PRIu64 " %" PRIu64 "%s", p->body_vsize,
				p->body_lines, extended ? " NIL NIL NIL NIL" : "");
	} else {
		body(&out, pool, p, extended);
	}
	mail_buf_putc(&out, ')');
	return mail_buf_cstr(&out);
}
