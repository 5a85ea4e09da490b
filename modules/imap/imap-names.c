/* modules/imap/imap-names.c - mailbox names between the client and the
 * storage.  The storage speaks UTF-8 with '/' between levels and "INBOX";
 * clients see the configured separator, modified UTF-7 (RFC 3501 5.1.3)
 * unless they enabled IMAP4rev2 (then UTF-8, RFC 9051 5.1), and may spell
 * INBOX in any case.  The storage validates what is left (no "..", no
 * empty levels, no control bytes). */
#include <string.h>
#include <strings.h>
#include "imap.h"

static const struct {
	unsigned int bit;
	const char *name;
} special_uses[] = {
	{ PZ_SPECIAL_ALL, "\\All" },
	{ PZ_SPECIAL_ARCHIVE, "\\Archive" },
	{ PZ_SPECIAL_DRAFTS, "\\Drafts" },
	{ PZ_SPECIAL_FLAGGED, "\\Flagged" },
	{ PZ_SPECIAL_JUNK, "\\Junk" },
	{ PZ_SPECIAL_SENT, "\\Sent" },
	{ PZ_SPECIAL_TRASH, "\\Trash" },
};

const char *imap_special_use_name(unsigned int bit)
{
	size_t i;

	for (i = 0; i < sizeof(special_uses) / sizeof(special_uses[0]); i++) {
		if (special_uses[i].bit == bit)
			return special_uses[i].name;
	}
	return NULL;
}

unsigned int imap_special_use_bit(const char *attr)
{
	size_t i;

	for (i = 0; i < sizeof(special_uses) / sizeof(special_uses[0]); i++) {
		if (strcasecmp(special_uses[i].name, attr) == 0)
			return special_uses[i].bit;
	}
	return 0;
}

/* imap_astring - the text of an atom or string without NUL bytes. */
int imap_astring(const struct imap_arg *a, const char **s_r)
{
	if (!imap_arg_is_astring(a) || strlen(a->str) != a->len)
		return 0;
	*s_r = a->str;
	return 1;
}

static int has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return 1;
	}
	return 0;
}

/* mutf7_decode - modified UTF-7 to UTF-8 through the core; a name with
 * no '&' is the same in both. */
static char *mutf7_decode(pz_pool *pool, const char *name)
{
	if (strchr(name, '&') == NULL)
		return imap_host->pool_strdup(pool, name);
	if (!PZ_HOST_HAS(imap_host, mutf7_to_utf8))
		return NULL;
	return imap_host->mutf7_to_utf8(pool, name);
}

static char *mutf7_encode(pz_pool *pool, const char *name)
{
	char *out;

	if (strchr(name, '&') == NULL && !has_8bit(name))
		return imap_host->pool_strdup(pool, name);
	if (PZ_HOST_HAS(imap_host, utf8_to_mutf7) &&
	    (out = imap_host->utf8_to_mutf7(pool, name)) != NULL)
		return out;
	return imap_host->pool_strdup(pool, name);
}

/* inbox_fold - "inbox" and "Inbox/x" in any case are INBOX. */
static void inbox_fold(char *name)
{
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/'))
		memcpy(name, "INBOX", 5);
}

const char *imap_name_decode(struct imap_session *s, const char *name, pz_pool *pool,
			     const char **error_r)
{
	char sep = s->set.separator, *out, *p;

	if (sep != '/' && strchr(name, '/') != NULL) {
		*error_r = "Mailbox name may not contain '/'.";
		return NULL;
	}
	if (!imap_rev2(s)) {
		if (has_8bit(name)) {
			*error_r = "Mailbox name is not valid modified UTF-7.";
			return NULL;
		}
		out = mutf7_decode(pool, name);
		if (out == NULL) {
			*error_r = "Mailbox name is not valid modified UTF-7.";
			return NULL;
		}
	} else {
		out = imap_host->pool_strdup(pool, name);
	}
	if (sep != '/') {
		for (p = out; *p != '\0'; p++) {
			if (*p == sep)
				*p = '/';
		}
	}
	inbox_fold(out);
	return out;
}

const char *imap_name_from_client(struct imap_session *s, const struct imap_arg *arg,
				   pz_pool *pool, const char **error_r)
{
	const char *name;

	if (!imap_astring(arg, &name)) {
		*error_r = "Mailbox name must be a string.";
		return NULL;
	}
	return imap_name_decode(s, name, pool, error_r);
}

const char *imap_name_to_client(struct imap_session *s, const char *name, pz_pool *pool)
{
	char *out = imap_rev2(s) ? imap_host->pool_strdup(pool, name) : mutf7_encode(pool, name);
	char *p;

	if (s->set.separator != '/') {
		for (p = out; *p != '\0'; p++) {
			if (*p == '/')
				*p = s->set.separator;
		}
	}
	return out;
}

void imap_str_mailbox(struct imap_session *s, struct imap_str *b, const char *name)
{
	const char *client = imap_name_to_client(s, name, b->pool);

	imap_str_string(b, client, strlen(client), imap_rev2(s));
}
