/* core/mail/mail-part.c - reading a parsed part tree: sections, children,
 * part info and header fields. */
#include "config-core.h"
#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include "pool.h"
#include "mail-part.h"
#include "mail-words.h"

pz_mail_part *pz_mail_part_child(pz_mail_part *p, unsigned int i)
{
	pz_mail_part *c;

	if (p == NULL)
		return NULL;
	for (c = p->children; c != NULL && i > 0; c = c->next)
		i--;
	return c;
}

/* section_number - the number at *s (1..), moving past it and a dot; 0
 * when the syntax is wrong. */
static unsigned int section_number(const char **s)
{
	const char *p = *s;
	unsigned int n = 0;

	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > 100000000u)
			return 0;
		n = n * 10 + (unsigned int)(*p - '0');
	}
	if (*p == '.') {
		if (p[1] == '\0')
			return 0;
		p++;
	} else if (*p != '\0') {
		return 0;
	}
	*s = p;
	return n;
}

pz_mail_part *pz_mail_part_find(pz_mail_part *root, const char *section)
{
	pz_mail_part *part = root;
	const char *s = section;

	if (root == NULL || section == NULL)
		return NULL;
	/* RFC 9051 6.4.5: a non-multipart has only part 1, itself; numbers
	 * after a message/rfc822 part go on inside the encapsulated message */
	while (*s != '\0' && part != NULL) {
		unsigned int n = section_number(&s);

		if (n == 0)
			return NULL;
		if ((part->flags & PZ_PART_MULTIPART) != 0) {
			part = pz_mail_part_child(part, n - 1);
		} else if (n != 1 || (*s != '\0' && (part->flags & PZ_PART_MESSAGE) == 0)) {
			return NULL;
		}
		if (part != NULL && *s != '\0' && (part->flags & PZ_PART_MESSAGE) != 0)
			part = part->children;
	}
	return part;
}

int mail_part_is_text(const pz_mail_part *p)
{
	return p->c.type == NULL || strcasecmp(p->c.type, "text") == 0;
}

const char *mail_param_get(const struct mail_param *params, unsigned int n,
			   const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	}
	return NULL;
}

static char *lower(pz_pool *pool, const char *s)
{
	char *d = pz_pool_strdup(pool, s), *p;

	for (p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

const char *mail_part_encoding(const pz_mail_part *p, pz_pool *pool)
{
	return p->c.encoding == NULL ? "7bit" : lower(pool, p->c.encoding);
}

const char *mail_part_charset(const pz_mail_part *p, pz_pool *pool)
{
	const char *cs = mail_param_get(p->c.params, p->c.n_params, "charset");

	return cs == NULL ? NULL : lower(pool, cs);
}

/* part_type - type and subtype as the tree treats them, lowercased. */
static void part_type(const pz_mail_part *p, pz_pool *pool, const char **type_r,
		      const char **subtype_r)
{
	if ((p->flags & PZ_PART_MESSAGE) != 0) {
		*type_r = "message";
		*subtype_r = "rfc822";
	} else if (p->c.type != NULL && p->c.type[0] != '\0') {
		*type_r = lower(pool, p->c.type);
		*subtype_r = lower(pool, p->c.subtype == NULL ? "" : p->c.subtype);
	} else if ((p->flags & PZ_PART_TEXT) != 0) {
		*type_r = "text";
		*subtype_r = "plain";
	} else {
		/* an unreadable Content-Type */
		*type_r = "application";
		*subtype_r = "octet-stream";
	}
}

#define INFO_HAS(info, field) \
	(offsetof(struct pz_mail_part_info, field) + sizeof((info)->field) <= (info)->size)
#define INFO_SET(info, field, value) \
	do { if (INFO_HAS(info, field)) (info)->field = (value); } while (0)

void pz_mail_part_info(pz_mail_part *p, struct pz_mail_part_info *info)
{
	const char *type, *subtype, *filename;

	part_type(p, p->pool, &type, &subtype);
	INFO_SET(info, flags, p->flags & (PZ_PART_MULTIPART | PZ_PART_MESSAGE |
					  PZ_PART_TEXT | PZ_PART_DAMAGED));
	INFO_SET(info, header_offset, p->header_offset);
	INFO_SET(info, header_size, p->header_size);
	INFO_SET(info, body_offset, p->body_offset);
	INFO_SET(info, body_size, p->body_size);
	INFO_SET(info, body_lines, p->body_lines);
	INFO_SET(info, type, type);
	INFO_SET(info, subtype, subtype);
	INFO_SET(info, encoding, mail_part_encoding(p, p->pool));
	INFO_SET(info, charset, mail_part_charset(p, p->pool));
	if (INFO_HAS(info, filename)) {
		filename = mail_param_decoded(p->pool, p->c.disp_params,
					      p->c.n_disp_params, "filename");
		if (filename == NULL)
			filename = mail_param_decoded(p->pool, p->c.params,
						      p->c.n_params, "name");
		info->filename = filename;
	}
	INFO_SET(info, child_count, p->child_count);
}

size_t pz_mail_header_get(pz_mail_part *p, pz_pool *pool, const char *name,
			  const char ***values_r)
{
	const char **values;
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < p->n_fields; i++) {
		if (strcasecmp(p->fields[i].name, name) == 0)
			n++;
	}
	values = pz_pool_alloc(pool, (n + 1) * sizeof(*values));
	n = 0;
	for (i = 0; i < p->n_fields; i++) {
		const struct mail_field *f = &p->fields[i];
		char *v, *d;
		size_t j;

		if (strcasecmp(f->name, name) != 0)
			continue;
		/* unfold: continuation lines were joined with "\n" */
		v = d = pz_pool_alloc(pool, f->value_len + 1);
		for (j = 0; j < f->value_len; j++) {
			if (f->value[j] != '\n')
				*d++ = f->value[j];
		}
		*d = '\0';
		values[n++] = v;
	}
	values[n] = NULL;
	*values_r = values;
	return n;
}
