/* core/user.c - user objects and template expansion. */
#include "config-core.h"
#include <string.h>
#include "pool.h"
#include "user.h"

#define USER_MAX_FIELDS 64

struct user_field {
	char *key;
	char *value;
};

struct pz_user {
	pz_pool *pool;
	char *name;
	struct user_field fields[USER_MAX_FIELDS];
	size_t n_fields;
};

pz_user *pz_user_new(pz_pool *pool, const char *name)
{
	pz_user *u = pz_pool_alloc(pool, sizeof(*u));

	u->pool = pool;
	u->name = pz_pool_strdup(pool, name);
	return u;
}

pz_user *pz_user_copy(pz_pool *pool, pz_user *src)
{
	pz_user *u = pz_user_new(pool, src->name);
	size_t i;

	for (i = 0; i < src->n_fields; i++)
		pz_user_set(u, src->fields[i].key, src->fields[i].value);
	return u;
}

const char *pz_user_name(pz_user *u)
{
	return u->name;
}

const char *pz_user_get(pz_user *u, const char *field)
{
	size_t i;

	for (i = 0; i < u->n_fields; i++) {
		if (strcmp(u->fields[i].key, field) == 0)
			return u->fields[i].value;
	}
	return NULL;
}

void pz_user_set(pz_user *u, const char *field, const char *value)
{
	size_t i;

	for (i = 0; i < u->n_fields; i++) {
		if (strcmp(u->fields[i].key, field) == 0)
			break;
	}
	if (value == NULL) {
		if (i < u->n_fields)
			u->fields[i] = u->fields[--u->n_fields];
		return;
	}
	if (i == u->n_fields) {
		if (u->n_fields == USER_MAX_FIELDS)
			return; /* bounded: extra fields beyond the limit are dropped */
		u->fields[i].key = pz_pool_strdup(u->pool, field);
		u->n_fields++;
	}
	u->fields[i].value = pz_pool_strdup(u->pool, value);
}

/* append - copy `n` bytes to out, growing it in the pool. */
static void append(pz_pool *pool, char **out, size_t *len, size_t *cap,
		   const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;

		*out = pz_pool_realloc(pool, *out, *cap, ncap);
		*cap = ncap;
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

/* expand - append `tmpl` with its variables to out; `home` is the home to
 * use for ~ and %h, or NULL inside the home itself (no recursion). */
static void expand(pz_user *u, pz_pool *pool, const char *tmpl, const char *home,
		   char **out, size_t *len, size_t *cap)
{
	const char *at = strchr(u->name, '@');
	const char *p;

	if (home != NULL && tmpl[0] == '~' && (tmpl[1] == '/' || tmpl[1] == '\0')) {
		expand(u, pool, home, NULL, out, len, cap);
		tmpl++;
	}
	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			append(pool, out, len, cap, p, 1);
			continue;
		}
		p++;
		switch (*p) {
		case 'u':
			append(pool, out, len, cap, u->name, strlen(u->name));
			break;
		case 'n':
			append(pool, out, len, cap, u->name,
			       at != NULL ? (size_t)(at - u->name) : strlen(u->name));
			break;
		case 'd':
			if (at != NULL)
				append(pool, out, len, cap, at + 1, strlen(at + 1));
			break;
		case 'h':
			if (home != NULL)
				expand(u, pool, home, NULL, out, len, cap);
			break;
		case '%':
			append(pool, out, len, cap, "%", 1);
			break;
		default:
			append(pool, out, len, cap, p - 1, 2);
			break;
		}
	}
}

/* pz_user_expand - %u %n %d %h %% and a leading ~; the home may itself
 * hold %u, %n and %d (e.g. default_home = /var/mail/%u). */
char *pz_user_expand(pz_user *u, pz_pool *pool, const char *tmpl)
{
	char *out = NULL;
	size_t len = 0, cap = 0;

	append(pool, &out, &len, &cap, "", 0);
	expand(u, pool, tmpl, pz_user_get(u, "home"), &out, &len, &cap);
	return out;
}
