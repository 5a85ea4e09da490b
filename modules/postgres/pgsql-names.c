/* pgsql-names.c - mailbox names and keywords as the database keeps them.
 *
 * Names are stored as the storage API gives them: UTF-8, '/' between
 * levels, "INBOX" in that spelling whatever case the client used.  Every
 * name is checked before it reaches a statement: valid UTF-8, no control
 * characters, no empty level (so no leading, trailing or doubled '/'), no
 * "." or ".." level, at most PGSQL_NAME_MAX bytes.  Unlike Maildir++, a
 * '.' inside a level is fine here.
 */
#include "pgsql.h"

#include <string.h>
#include <strings.h>

/* utf8_next - one code point; -1 on malformed, overlong or surrogates */
static int32_t utf8_next(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	uint32_t c = *p++, min;
	int more;

	if (c < 0x80) {
		*pp = p;
		return (int32_t)c;
	} else if ((c & 0xe0) == 0xc0) {
		c &= 0x1f; more = 1; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		c &= 0x0f; more = 2; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		c &= 0x07; more = 3; min = 0x10000;
	} else {
		return -1;
	}
	if (end - p < more)
		return -1;
	while (more-- > 0) {
		if ((*p & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (*p++ & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*pp = p;
	return (int32_t)c;
}

/* level_check - why one level is not acceptable, or NULL */
static const char *level_check(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	if (len == 0)
		return "empty hierarchy level";
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return "'.' and '..' are not allowed as a level";
	while (p < end) {
		int32_t c = utf8_next(&p, end);
		if (c < 0)
			return "not valid UTF-8";
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
			return "control characters are not allowed";
	}
	return NULL;
}

int pgsql_name_canon(struct pz_mail_user *mu, pz_pool *pool, const char *name,
		     char **canon_r, pz_error *err)
{
	size_t len = name != NULL ? strlen(name) : 0;
	const char *p = name, *why;
	char *canon;

	if (len == 0)
		return pgsql_error(mu, err, PZ_ERR_PARAMS, "Empty mailbox name");
	if (len > PGSQL_NAME_MAX)
		return pgsql_error(mu, err, PZ_ERR_PARAMS, "Mailbox name too long");
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

		why = level_check(p, n);
		if (why != NULL)
			return pgsql_error(mu, err, PZ_ERR_PARAMS,
					   "Invalid mailbox name: %s", why);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	canon = HOST->pool_strdup(pool, name);
	if (strncasecmp(canon, "INBOX", 5) == 0 && (canon[5] == '\0' || canon[5] == '/'))
		memcpy(canon, "INBOX", 5);
	*canon_r = canon;
	return 0;
}

/* pgsql_keyword_valid - an IMAP atom (RFC 9051 9: flag-keyword), which
 * also keeps blanks out of the ' ' separated lists */
int pgsql_keyword_valid(const char *kw)
{
	size_t n = strlen(kw);

	if (n == 0 || n > PGSQL_KEYWORD_MAX || kw[0] == '\\')
		return 0;
	for (const unsigned char *p = (const unsigned char *)kw; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return 0;
	}
	return 1;
}
