/* modules/imap/imap-reply.c - writing responses: untagged and tagged lines,
 * strings as the grammar wants them (quoted or literal), UID sets, and the
 * mapping from storage error classes to response codes (RFC 5530). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"

int imap_write(struct imap_session *s, const void *data, size_t len)
{
	return imap_host->conn_write(s->conn, data, len);
}

/* vline - prefix, the formatted text, CRLF. */
static void vline(struct imap_session *s, const char *prefix, const char *fmt, va_list args)
{
	char buf[2048], *p = buf;
	size_t plen = strlen(prefix);
	va_list copy;
	int n;

	va_copy(copy, args);
	n = vsnprintf(buf, sizeof(buf), fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		p = imap_host->pool_alloc(s->cmd_pool, (size_t)n + 1);
		vsnprintf(p, (size_t)n + 1, fmt, args);
	}
	imap_write(s, prefix, plen);
	imap_write(s, p, (size_t)n);
	imap_write(s, "\r\n", 2);
}

void imap_line(struct imap_session *s, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vline(s, "", fmt, args);
	va_end(args);
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vline(s, "* ", fmt, args);
	va_end(args);
}

/* tagged - the command's final reply; OK and NO first report what changed
 * in the selected mailbox (RFC 9051 7: untagged data before the tag). */
static void tagged(struct imap_cmd *cmd, const char *status, const char *fmt, va_list args)
{
	struct imap_session *s = cmd->s;
	char prefix[IMAP_MAX_TAG + 8];

	if (cmd->replied)
		return;
	cmd->replied = 1;
	if (status[0] != 'B' && s->state == IMAP_STATE_SELECTED &&
	    (cmd->flags & IMAP_CMD_NOSYNC) == 0) {
		pz_error err = { PZ_ERR_NONE, NULL };

		if (imap_view_sync(s, !(cmd->flags & IMAP_CMD_SEQ) || cmd->uid, &err) < 0)
			return; /* said BYE */
	}
	snprintf(prefix, sizeof(prefix), "%s %s ", cmd->tag, status);
	vline(s, prefix, fmt, args);
}

void imap_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	tagged(cmd, "OK", fmt, args);
	va_end(args);
}

void imap_no(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	tagged(cmd, "NO", fmt, args);
	va_end(args);
}

void imap_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list args;

	if (!cmd->replied)
		cmd->s->bad_commands++;
	va_start(args, fmt);
	tagged(cmd, "BAD", fmt, args);
	va_end(args);
}

/* imap_error_code - the response code for an error class (types.h). */
const char *imap_error_code(enum pz_error_class cls)
{
	switch (cls) {
	case PZ_ERR_NOT_FOUND: return "NONEXISTENT";
	case PZ_ERR_EXISTS: return "ALREADYEXISTS";
	case PZ_ERR_QUOTA: return "OVERQUOTA";
	case PZ_ERR_TEMP: return "UNAVAILABLE";
	case PZ_ERR_AUTH: return "AUTHENTICATIONFAILED";
	case PZ_ERR_BUG: return "SERVERBUG";
	case PZ_ERR_IN_USE: return "INUSE";
	case PZ_ERR_PARAMS:
	case PZ_ERR_PERM:
	case PZ_ERR_NOT_SUPPORTED:
	case PZ_ERR_NONE:
	default: return "CANNOT";
	}
}

void imap_no_error(struct imap_cmd *cmd, const pz_error *err, const char *what)
{
	const char *msg = err->msg != NULL ? err->msg : what;

	if (err->cls == PZ_ERR_BUG || err->cls == PZ_ERR_TEMP)
		imap_host->log(cmd->s->module, PZ_LOG_ERROR, "%s: %s", cmd->name, msg);
	if (err->cls == PZ_ERR_BUG)
		msg = "Internal error occurred. Refer to server log for more information.";
	imap_no(cmd, "[%s] %s", imap_error_code(err->cls), msg);
}

/* ---- strings in a pool */

void imap_str_init(struct imap_str *b, pz_pool *pool, size_t hint)
{
	b->pool = pool;
	b->cap = hint < 64 ? 64 : hint;
	b->data = imap_host->pool_alloc(pool, b->cap);
	b->len = 0;
}

static void str_reserve(struct imap_str *b, size_t more)
{
	size_t ncap = b->cap;

	if (more < b->cap - b->len)
		return;
	while (more >= ncap - b->len) {
		if (ncap > SIZE_MAX / 2)
			abort();
		ncap *= 2;
	}
	b->data = imap_host->pool_realloc(b->pool, b->data, b->cap, ncap);
	b->cap = ncap;
}

void imap_str_add(struct imap_str *b, const void *data, size_t len)
{
	str_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void imap_str_adds(struct imap_str *b, const char *s)
{
	imap_str_add(b, s, strlen(s));
}

/* imap_str_printf - formats once into the room there is (a FETCH of
 * every message's flags prints some lines per message), and again only
 * when it did not fit. */
void imap_str_printf(struct imap_str *b, const char *fmt, ...)
{
	va_list args;
	int n;

	va_start(args, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, args);
	va_end(args);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		str_reserve(b, (size_t)n);
		va_start(args, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, args);
		va_end(args);
	}
	b->len += (size_t)n;
}

void imap_str_string(struct imap_str *b, const char *s, size_t len, int utf8)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8))
			break;
	}
	if (i < len || len > 4096) {
		imap_str_printf(b, "{%zu}\r\n", len);
		imap_str_add(b, s, len);
		return;
	}
	str_reserve(b, len * 2 + 2);
	b->data[b->len++] = '"';
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			b->data[b->len++] = '\\';
		b->data[b->len++] = s[i];
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
}

/* imap_str_uidset - sorted UIDs as a compact set: 1:3,7,9:10. */
void imap_str_uidset(struct imap_str *b, const uint32_t *uids, size_t count)
{
	size_t i = 0;

	while (i < count) {
		size_t j = i;

		while (j + 1 < count && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			imap_str_adds(b, ",");
		if (j == i)
			imap_str_printf(b, "%u", uids[i]);
		else
			imap_str_printf(b, "%u:%u", uids[i], uids[j]);
		i = j + 1;
	}
}
