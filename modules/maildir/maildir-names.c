/* maildir-names.c - mailbox names: validation, modified UTF-7, folder paths.
 *
 * The storage API names mailboxes in UTF-8 with '/' between levels.  On
 * disk, Maildir++ (as Courier and Dovecot write it) keeps INBOX in the root
 * and every other mailbox in a folder ".Level1.Level2" right below it, each
 * level in modified UTF-7 (RFC 3501 5.1.3).  '.' is the on-disk separator,
 * so it cannot appear inside a level.  Every name from a client is checked
 * here before it becomes a path: nothing can reach outside the maildir.
 */
#include "maildir.h"

#include <string.h>
#include <strings.h>

#define MAILDIR_NAME_MAX 1024

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct strbuf {
	char *s;
	size_t len, alloc;
	pz_pool *pool;
};

/* sb_add - append bytes, growing from the pool */
static void sb_add(struct strbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		size_t na = b->alloc ? b->alloc : 64;
		while (na < b->len + n + 1)
			na *= 2;
		b->s = HOST->pool_realloc(b->pool, b->s, b->alloc, na);
		b->alloc = na;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_addc(struct strbuf *b, char c)
{
	sb_add(b, &c, 1);
}

/* utf8_next - decode one code point; -1 on malformed, overlong or
 * surrogate sequences. */
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

static void utf8_put(struct strbuf *b, uint32_t c)
{
	unsigned char o[4];
	size_t n;

	if (c < 0x80) {
		o[0] = (unsigned char)c; n = 1;
	} else if (c < 0x800) {
		o[0] = 0xc0 | (c >> 6); o[1] = 0x80 | (c & 0x3f); n = 2;
	} else if (c < 0x10000) {
		o[0] = 0xe0 | (c >> 12); o[1] = 0x80 | ((c >> 6) & 0x3f);
		o[2] = 0x80 | (c & 0x3f); n = 3;
	} else {
		o[0] = 0xf0 | (c >> 18); o[1] = 0x80 | ((c >> 12) & 0x3f);
		o[2] = 0x80 | ((c >> 6) & 0x3f); o[3] = 0x80 | (c & 0x3f); n = 4;
	}
	sb_add(b, o, n);
}

static int is_control(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0);
}

/* b64_flush - base64 the pending UTF-16 units and close the shift */
static void b64_flush(struct strbuf *b, const uint16_t *u, size_t n)
{
	uint32_t bits = 0;
	int nbits = 0;

	sb_addc(b, '&');
	for (size_t i = 0; i < n; i++) {
		bits = (bits << 16) | u[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			sb_addc(b, b64chars[(bits >> nbits) & 0x3f]);
		}
	}
	if (nbits > 0)
		sb_addc(b, b64chars[(bits << (6 - nbits)) & 0x3f]);
	sb_addc(b, '-');
}

/* maildir_utf8_to_mutf7 - encode; NULL on invalid UTF-8 */
char *maildir_utf8_to_mutf7(pz_pool *pool, const char *in, size_t len)
{
	struct strbuf b = { .pool = pool };
	const unsigned char *p = (const unsigned char *)in, *end = p + len;
	uint16_t units[MAILDIR_NAME_MAX * 2];
	size_t nu = 0;

	sb_add(&b, "", 0);
	while (p < end) {
		int32_t c = utf8_next(&p, end);
		if (c < 0)
			return NULL;
		if (c >= 0x20 && c < 0x7f) {
			if (nu > 0) {
				b64_flush(&b, units, nu);
				nu = 0;
			}
			if (c == '&')
				sb_add(&b, "&-", 2);
			else
				sb_addc(&b, (char)c);
			continue;
		}
		if (nu + 2 > sizeof(units) / sizeof(units[0]))
			return NULL;
		if (c >= 0x10000) {
			c -= 0x10000;
			units[nu++] = (uint16_t)(0xd800 | (c >> 10));
			units[nu++] = (uint16_t)(0xdc00 | (c & 0x3ff));
		} else {
			units[nu++] = (uint16_t)c;
		}
	}
	if (nu > 0)
		b64_flush(&b, units, nu);
	return b.s;
}

static int b64_value(unsigned char c)
{
	const char *p = c != '\0' ? strchr(b64chars, c) : NULL;
	return p != NULL ? (int)(p - b64chars) : -1;
}

/* mutf7_shift - decode one "&...-" run at *pp (after the '&') */
static int mutf7_shift(struct strbuf *b, const char **pp, const char *end)
{
	const char *p = *pp;
	uint32_t bits = 0, high = 0;
	int nbits = 0, units = 0;

	for (; p < end && *p != '-'; p++) {
		int v = b64_value((unsigned char)*p);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		units++;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			utf8_put(b, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return -1;
		} else if (u >= 0x20 && u < 0x7f) {
			return -1; /* must have been written directly */
		} else {
			utf8_put(b, u);
		}
	}
	/* a shift must end with '-', hold something, and leave only zero
	 * padding bits */
	if (p == end || units == 0 || high != 0 || nbits >= 6 ||
	    (bits & ((1u << nbits) - 1)) != 0)
		return -1;
	*pp = p + 1;
	return 0;
}

/* maildir_mutf7_to_utf8 - decode; NULL on anything not strictly valid */
char *maildir_mutf7_to_utf8(pz_pool *pool, const char *in, size_t len)
{
	struct strbuf b = { .pool = pool };
	const char *p = in, *end = in + len;

	sb_add(&b, "", 0);
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c >= 0x7f)
			return NULL;
		if (c != '&') {
			sb_addc(&b, (char)c);
			p++;
		} else if (p + 1 < end && p[1] == '-') {
			sb_addc(&b, '&');
			p += 2;
		} else {
			p++;
			if (mutf7_shift(&b, &p, end) < 0)
				return NULL;
		}
	}
	return b.s;
}

/* level_check - why one UTF-8 level is not acceptable, or NULL */
static const char *level_check(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	if (len == 0)
		return "empty hierarchy level";
	while (p < end) {
		int32_t c = utf8_next(&p, end);
		if (c < 0)
			return "not valid UTF-8";
		if (is_control((uint32_t)c))
			return "control characters are not allowed";
		if (c == '.')
			return "'.' is not allowed in a mailbox name level "
			       "(it is the Maildir++ separator)";
	}
	return NULL;
}

int maildir_name_to_dir(struct pz_mail_user *mu, pz_pool *pool, const char *name,
			char **canon_r, char **dirname_r, pz_error *err)
{
	struct strbuf canon = { .pool = pool }, dir = { .pool = pool };
	size_t len = name != NULL ? strlen(name) : 0;
	const char *p, *why;

	if (len == 0)
		return maildir_error(mu, err, PZ_ERR_PARAMS, "Empty mailbox name");
	if (len > MAILDIR_NAME_MAX)
		return maildir_error(mu, err, PZ_ERR_PARAMS, "Mailbox name too long");
	sb_add(&canon, "", 0);
	sb_add(&dir, "", 0);
	p = name;
	for (int level = 0;; level++) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

		why = level_check(p, n);
		if (why != NULL)
			return maildir_error(mu, err, PZ_ERR_PARAMS,
					     "Invalid mailbox name: %s", why);
		if (level == 0 && n == 5 && strncasecmp(p, "INBOX", 5) == 0) {
			sb_add(&canon, "INBOX", 5);
			if (slash != NULL)
				sb_add(&dir, ".INBOX", 6);
		} else {
			char *enc = maildir_utf8_to_mutf7(pool, p, n);
			if (enc == NULL)
				return maildir_error(mu, err, PZ_ERR_PARAMS,
						     "Invalid mailbox name");
			if (level > 0)
				sb_addc(&canon, '/');
			sb_add(&canon, p, n);
			sb_addc(&dir, '.');
			sb_add(&dir, enc, strlen(enc));
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (dir.len > MAILDIR_DIRNAME_MAX)
		return maildir_error(mu, err, PZ_ERR_PARAMS, "Mailbox name too long");
	if (strcasecmp(dir.s, MAILDIR_TRASHED_NAME) == 0)
		return maildir_error(mu, err, PZ_ERR_PARAMS, "Reserved mailbox name");
	*canon_r = canon.s;
	*dirname_r = dir.s;
	return 0;
}

char *maildir_dir_to_name(pz_pool *pool, const char *dirname)
{
	struct strbuf name = { .pool = pool };
	const char *p;

	if (dirname[0] != '.' || dirname[1] == '\0' ||
	    strlen(dirname) > MAILDIR_DIRNAME_MAX ||
	    strcmp(dirname, "..") == 0 ||
	    strcasecmp(dirname, MAILDIR_TRASHED_NAME) == 0 ||
	    strcasecmp(dirname, ".INBOX") == 0)
		return NULL;
	sb_add(&name, "", 0);
	p = dirname + 1;
	for (int level = 0;; level++) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		char *dec;

		if (n == 0)
			return NULL;
		dec = maildir_mutf7_to_utf8(pool, p, n);
		if (dec == NULL || level_check(dec, strlen(dec)) != NULL)
			return NULL;
		if (level > 0)
			sb_addc(&name, '/');
		if (level == 0 && strcasecmp(dec, "INBOX") == 0)
			dec = "INBOX";
		sb_add(&name, dec, strlen(dec));
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return name.s;
}

void maildir_paths_init(struct pz_mail_user *mu, pz_pool *pool,
			const char *canon, const char *dirname,
			struct maildir_paths *p)
{
	p->name = HOST->pool_strdup(pool, canon);
	p->dirname = HOST->pool_strdup(pool, dirname);
	p->dir = dirname[0] == '\0' ? HOST->pool_strdup(pool, mu->root)
		: HOST->pool_printf(pool, "%s/%s", mu->root, dirname);
	p->index_dir = dirname[0] == '\0' ? HOST->pool_strdup(pool, mu->index_root)
		: HOST->pool_printf(pool, "%s/%s", mu->index_root, dirname);
	p->index_path = HOST->pool_printf(pool, "%s/%s", p->index_dir,
					  MAILDIR_INDEX_NAME);
}

int maildir_paths_lookup(struct pz_mail_user *mu, pz_pool *pool,
			 const char *name, struct maildir_paths *p, pz_error *err)
{
	char *canon, *dirname;

	if (maildir_name_to_dir(mu, pool, name, &canon, &dirname, err) < 0)
		return -1;
	maildir_paths_init(mu, pool, canon, dirname, p);
	return 0;
}
