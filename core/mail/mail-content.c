/* core/mail/mail-content.c - Content-* and ENVELOPE fields of a part. */
#include "config-core.h"
#include <string.h>
#include <strings.h>
#include "pool.h"
#include "mail-header.h"
#include "mail-content.h"

#define TYPE_FLAGS (PZ_PART_TEXT | PZ_PART_MULTIPART | PZ_PART_MESSAGE | \
		    MAIL_PART_DIGEST)

static const char *const env_names[] = {
	"Date", "Subject", "Message-ID", "In-Reply-To", "From", "Sender",
	"Reply-To", "To", "Cc", "Bcc", NULL
};

int mail_content_wants(const char *name)
{
	unsigned int i;

	if (strncasecmp(name, "Content-", 8) == 0 ||
	    strcasecmp(name, "MIME-Version") == 0)
		return 1;
	for (i = 0; env_names[i] != NULL; i++) {
		if (strcasecmp(name, env_names[i]) == 0)
			return 1;
	}
	return 0;
}

/* type_flags - the flags a "type/subtype" string gives. */
static unsigned int type_flags(const char *t, size_t len)
{
	if (strcasecmp(t, "message/rfc822") == 0)
		return PZ_PART_MESSAGE;
	if (strncasecmp(t, "text", 4) == 0 && (len == 4 || t[4] == '/'))
		return PZ_PART_TEXT;
	if (strncasecmp(t, "multipart/", 10) == 0) {
		if (strcasecmp(t + 10, "digest") == 0)
			return PZ_PART_MULTIPART | MAIL_PART_DIGEST;
		return PZ_PART_MULTIPART;
	}
	return 0;
}

static void content_type(pz_mail_part *p, const char *value, size_t len)
{
	struct mail_rfc822 ctx;
	struct mail_buf t;
	const char *s, *slash, *b;
	int ret;

	mail_buf_init(&t, p->pool);
	mail_rfc822_init(&ctx, value, len);
	(void)mail_rfc822_skip_lwsp(&ctx);
	ret = mail_rfc822_content_type(&ctx, &t);
	s = mail_buf_cstr(&t);
	p->flags |= MAIL_PART_SEEN_CT | MAIL_PART_IS_MIME | type_flags(s, t.len);
	slash = strchr(s, '/');
	if (slash != NULL) {
		p->c.type = pz_pool_strndup(p->pool, s, (size_t)(slash - s));
		p->c.subtype = slash + 1;
	} else {
		p->c.type = s;
	}
	/* a broken type still names the part, but its parameters are not
	 * read any more */
	if (ret < 0)
		return;
	mail_rfc822_params(&ctx, p->pool, &p->c.params, &p->c.n_params);
	if ((p->flags & PZ_PART_MULTIPART) == 0)
		return;
	b = mail_param_get(p->c.params, p->c.n_params, "boundary");
	if (b != NULL)
		p->c.boundary = strlen(b) > MAIL_BOUNDARY_MAX ?
			pz_pool_strndup(p->pool, b, MAIL_BOUNDARY_MAX) : b;
}

static void content_encoding(pz_mail_part *p, const char *value, size_t len)
{
	struct mail_rfc822 ctx;
	struct mail_buf t;

	mail_buf_init(&t, p->pool);
	mail_rfc822_init(&ctx, value, len);
	(void)mail_rfc822_skip_lwsp(&ctx);
	if (mail_rfc822_token(&ctx, &t) >= 0 && mail_rfc822_skip_lwsp(&ctx) == 0 &&
	    t.len > 0)
		p->c.encoding = mail_buf_cstr(&t);
}

static void content_disposition(pz_mail_part *p, const char *value, size_t len)
{
	struct mail_rfc822 ctx;
	struct mail_buf t;

	mail_buf_init(&t, p->pool);
	mail_rfc822_init(&ctx, value, len);
	(void)mail_rfc822_skip_lwsp(&ctx);
	if (mail_rfc822_token(&ctx, &t) < 0)
		return;
	p->c.disposition = mail_buf_cstr(&t);
	mail_rfc822_params(&ctx, p->pool, &p->c.disp_params, &p->c.n_disp_params);
}

/* content_language - 1#Language-tag (RFC 3282), as atoms. */
static void content_language(pz_mail_part *p, const char *value, size_t len)
{
	struct mail_rfc822 ctx;
	struct mail_buf t;
	const char **list = NULL;
	unsigned int n = 0, alloc = 0;

	mail_rfc822_init(&ctx, value, len);
	(void)mail_rfc822_skip_lwsp(&ctx);
	for (;;) {
		mail_buf_init(&t, p->pool);
		if (mail_rfc822_atom(&ctx, &t) < 0)
			break;
		if (n == alloc) {
			unsigned int a = alloc == 0 ? 4 : alloc * 2;

			list = pz_pool_realloc(p->pool, list, alloc * sizeof(*list),
					       a * sizeof(*list));
			alloc = a;
		}
		list[n++] = mail_buf_cstr(&t);
		if (ctx.data >= ctx.end || *ctx.data != ',')
			break;
		ctx.data++;
		(void)mail_rfc822_skip_lwsp(&ctx);
	}
	if (n > 0) {
		p->c.language = list;
		p->c.n_language = n;
	}
}

static void content_field(pz_mail_part *p, const char *name, const char *value,
			  size_t len)
{
	const char *n = name + 8;

	if (strcasecmp(n, "Type") == 0) {
		if (p->c.type == NULL)
			content_type(p, value, len);
	} else if (strcasecmp(n, "Transfer-Encoding") == 0) {
		if (p->c.encoding == NULL)
			content_encoding(p, value, len);
	} else if (strcasecmp(n, "ID") == 0) {
		if (p->c.id == NULL)
			p->c.id = mail_header_dup(p->pool, value, len);
	} else if (strcasecmp(n, "Description") == 0) {
		if (p->c.description == NULL)
			p->c.description = mail_header_dup(p->pool, value, len);
	} else if (strcasecmp(n, "MD5") == 0) {
		if (p->c.md5 == NULL)
			p->c.md5 = mail_header_dup(p->pool, value, len);
	} else if (strcasecmp(n, "Location") == 0) {
		if (p->c.location == NULL)
			p->c.location = mail_header_dup(p->pool, value, len);
	} else if (strcasecmp(n, "Language") == 0) {
		if (p->c.language == NULL)
			content_language(p, value, len);
	} else if (strcasecmp(n, "Disposition") == 0) {
		/* a later one counts while the first had no parameters */
		if (p->c.n_disp_params == 0)
			content_disposition(p, value, len);
	}
}

static void addr_add(pz_mail_part *p, struct mail_addr_raw *a, const char *value,
		     size_t len)
{
	if (a->n == MAIL_ADDR_FIELDS_MAX) {
		p->flags |= PZ_PART_DAMAGED;
		return;
	}
	if (a->v == NULL) {
		a->v = pz_pool_alloc(p->pool, MAIL_ADDR_FIELDS_MAX * sizeof(*a->v));
		a->len = pz_pool_alloc(p->pool, MAIL_ADDR_FIELDS_MAX * sizeof(*a->len));
	}
	a->v[a->n] = value;
	a->len[a->n++] = len;
}

static void env_field(pz_mail_part *p, const char *name, const char *value, size_t len)
{
	struct mail_env_raw *e = &p->env;

	if (strcasecmp(name, "Date") == 0)
		e->date = mail_header_dup(p->pool, value, len);
	else if (strcasecmp(name, "Subject") == 0)
		e->subject = mail_header_dup(p->pool, value, len);
	else if (strcasecmp(name, "Message-ID") == 0)
		e->message_id = mail_header_dup(p->pool, value, len);
	else if (strcasecmp(name, "In-Reply-To") == 0)
		e->in_reply_to = mail_header_dup(p->pool, value, len);
	else if (strcasecmp(name, "From") == 0)
		addr_add(p, &e->from, value, len);
	else if (strcasecmp(name, "Sender") == 0)
		addr_add(p, &e->sender, value, len);
	else if (strcasecmp(name, "Reply-To") == 0)
		addr_add(p, &e->reply_to, value, len);
	else if (strcasecmp(name, "To") == 0)
		addr_add(p, &e->to, value, len);
	else if (strcasecmp(name, "Cc") == 0)
		addr_add(p, &e->cc, value, len);
	else if (strcasecmp(name, "Bcc") == 0)
		addr_add(p, &e->bcc, value, len);
}

void mail_content_field(pz_mail_part *p, const char *name, const char *value,
			size_t len)
{
	if (strncasecmp(name, "Content-", 8) == 0)
		content_field(p, name, value, len);
	else if (strcasecmp(name, "MIME-Version") == 0)
		p->flags |= MAIL_PART_IS_MIME;
	else
		env_field(p, name, value, len);
}

void mail_content_finish(pz_mail_part *p)
{
	if ((p->flags & MAIL_PART_IS_MIME) == 0) {
		/* not MIME: the Content-* fields mean nothing */
		p->flags &= ~(TYPE_FLAGS | MAIL_PART_SEEN_CT);
		memset(&p->c, 0, sizeof(p->c));
	}
	if ((p->flags & MAIL_PART_SEEN_CT) == 0) {
		/* RFC 2046 5.1.5: in a digest the default is a message */
		if (p->parent != NULL && (p->parent->flags & MAIL_PART_DIGEST) != 0)
			p->flags |= PZ_PART_MESSAGE;
		else
			p->flags |= PZ_PART_TEXT;
	}
	if ((p->flags & MAIL_PART_OVERFLOW) != 0)
		p->flags &= ~(PZ_PART_MULTIPART | PZ_PART_MESSAGE | MAIL_PART_DIGEST);
}
