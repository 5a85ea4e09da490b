/* bench/mailload-session.c - the load generator's client sessions: a
 * blocking connection to 127.0.0.1 with timeouts and a bounded line reader
 * (also used by the IMAP client, mailload-imap.c), a whole POP3 session,
 * and LMTP deliveries over a kept connection. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "mailload.h"

/* load_fail - count an error; keep the first text. */
void load_fail(struct load_result *res, const char *fmt, ...)
{
	va_list ap;

	res->errors++;
	if (res->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(res->first_error, sizeof(res->first_error), fmt, ap);
	va_end(ap);
}

/* load_conn_open - a blocking TCP connection to 127.0.0.1:port with timeouts. */
int load_conn_open(struct load_conn *c, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = LOAD_IO_TIMEOUT_S };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->start = c->end = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		load_fail(c->res, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		load_fail(c->res, "connect 127.0.0.1:%u: %s", port, strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

void load_conn_close(struct load_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* load_conn_send - all of `len` bytes, or -1. */
int load_conn_send(struct load_conn *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			load_fail(c->res, "send: %s", w < 0 ? strerror(errno) : "closed");
			return -1;
		}
		c->res->bytes_out += (uint64_t)w;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* conn_fill - one read into the free end of the buffer (not full): 0, or
 * -1 counted on EOF, a timeout or an error. */
static int conn_fill(struct load_conn *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			load_fail(c->res, "read: %s", r < 0 ? strerror(errno) : "connection closed");
			return -1;
		}
		c->res->bytes_in += (uint64_t)r;
		c->end += (size_t)r;
		return 0;
	}
}

/* load_conn_line - the next line without its CRLF, NUL-terminated inside the
 * buffer; valid until the next read.  A line longer than the buffer, EOF
 * and timeouts are errors. */
int load_conn_line(struct load_conn *c, char **line_r, size_t *len_r)
{
	for (;;) {
		char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);

		if (nl != NULL) {
			size_t len = (size_t)(nl - (c->buf + c->start));

			*line_r = c->buf + c->start;
			if (len > 0 && nl[-1] == '\r')
				len--;
			(*line_r)[len] = '\0';
			*len_r = len;
			c->start = (size_t)(nl - c->buf) + 1;
			return 0;
		}
		if (c->start > 0) {
			memmove(c->buf, c->buf + c->start, c->end - c->start);
			c->end -= c->start;
			c->start = 0;
		}
		if (c->end == sizeof(c->buf)) {
			load_fail(c->res, "reply line longer than %u bytes", LOAD_BUF_SIZE);
			return -1;
		}
		if (conn_fill(c) < 0)
			return -1;
	}
}

/* load_conn_skip - drop `len` bytes: what the buffer holds, then reads. */
int load_conn_skip(struct load_conn *c, size_t len)
{
	while (len > 0) {
		size_t have = c->end - c->start, n = have < len ? have : len;

		c->start += n;
		len -= n;
		if (len == 0)
			break;
		c->start = c->end = 0;
		if (conn_fill(c) < 0)
			return -1;
	}
	return 0;
}

/* conn_reply - read one line that must start with `want`. */
static int conn_reply(struct load_conn *c, const char *want, char **line_r)
{
	char *line;
	size_t len;

	if (load_conn_line(c, &line, &len) < 0)
		return -1;
	if (strncmp(line, want, strlen(want)) != 0) {
		load_fail(c->res, "wanted %s, got: %.100s", want, line);
		return -1;
	}
	if (line_r != NULL)
		*line_r = line;
	return 0;
}

/* conn_cmd - send a command line and read a reply starting with `want`. */
static int __attribute__((format(printf, 4, 5)))
conn_cmd(struct load_conn *c, const char *want, char **line_r, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 2) {
		load_fail(c->res, "command too long");
		return -1;
	}
	memcpy(cmd + n, "\r\n", 2);
	if (load_conn_send(c, cmd, (size_t)n + 2) < 0)
		return -1;
	return conn_reply(c, want, line_r);
}

/* pop3_multiline - read a multi-line POP3 answer up to its "." line. */
static int pop3_multiline(struct load_conn *c)
{
	char *line;
	size_t len;

	for (;;) {
		if (load_conn_line(c, &line, &len) < 0)
			return -1;
		if (len == 1 && line[0] == '.')
			return 0;
	}
}

/* pop3_stat_count - the message count of a "+OK n size" STAT reply. */
static long pop3_stat_count(const char *line)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(line + 3, &end, 10);
	if (errno != 0 || end == line + 3 || n > LOAD_MAX_POP3_MSGS)
		return -1;
	return (long)n;
}

/* load_pop3_session - one whole session over a new connection. */
int load_pop3_session(struct load_conn *c, const struct load_opts *o, const char *user)
{
	char *line;
	long n, i;
	int ret = -1;

	if (load_conn_open(c, o->port) < 0)
		return -1;
	if (conn_reply(c, "+OK", NULL) < 0)
		goto out;
	if (o->greeting_only) {
		ret = conn_cmd(c, "+OK", NULL, "QUIT");
		goto out;
	}
	if (conn_cmd(c, "+OK", NULL, "USER %s", user) < 0 ||
	    conn_cmd(c, "+OK", NULL, "PASS %s", o->password) < 0 ||
	    conn_cmd(c, "+OK", &line, "STAT") < 0)
		goto out;
	n = pop3_stat_count(line);
	if (n < 0 || (o->expect_msgs >= 0 && n != o->expect_msgs)) {
		load_fail(c->res, "%s: STAT says %.60s, want %ld messages", user, line, o->expect_msgs);
		goto out;
	}
	if (conn_cmd(c, "+OK", NULL, "LIST") < 0 || pop3_multiline(c) < 0 ||
	    conn_cmd(c, "+OK", NULL, "UIDL") < 0 || pop3_multiline(c) < 0)
		goto out;
	for (i = 1; i <= n; i++) {
		if (conn_cmd(c, "+OK", NULL, "RETR %ld", i) < 0 || pop3_multiline(c) < 0)
			goto out;
		c->res->messages++;
	}
	if (conn_cmd(c, "+OK", NULL, "QUIT") < 0)
		goto out;
	ret = 0;
out:
	load_conn_close(c);
	return ret;
}

/* message_size - the size of delivery g. */
static size_t message_size(const struct load_opts *o, uint64_t g)
{
	if (o->size_max <= o->size_min)
		return o->size_min;
	return o->size_min + (size_t)((g * 7919) % (o->size_max - o->size_min + 1));
}

/* load_body_make - the generated body lines. */
char *load_body_make(size_t size)
{
	static const char text[] = "the quick brown fox jumps over the lazy dog ";
	char *b = malloc(size + 1);
	size_t off, i;

	if (b == NULL)
		return NULL;
	for (off = 0; off + LOAD_BODY_LINE <= size; off += LOAD_BODY_LINE) {
		int n = snprintf(b + off, LOAD_BODY_LINE, "line %08zu ", off / LOAD_BODY_LINE);

		for (i = (size_t)n; i < LOAD_BODY_LINE - 2; i++)
			b[off + i] = text[(off / LOAD_BODY_LINE + i) % (sizeof(text) - 1)];
		b[off + LOAD_BODY_LINE - 2] = '\r';
		b[off + LOAD_BODY_LINE - 1] = '\n';
	}
	return b;
}

/* lmtp_open - connect, greeting, LHLO and its multi-line reply. */
static int lmtp_open(struct load_conn *c, const struct load_opts *o)
{
	char *line;
	size_t len;

	if (load_conn_open(c, o->port) < 0)
		return -1;
	if (conn_reply(c, "220", NULL) < 0 || load_conn_send(c, "LHLO mailload.example.net\r\n", 27) < 0)
		goto fail;
	do {
		if (load_conn_line(c, &line, &len) < 0)
			goto fail;
		if (len < 4 || strncmp(line, "250", 3) != 0) {
			load_fail(c->res, "LHLO: %.100s", line);
			goto fail;
		}
	} while (line[3] == '-');
	return 0;
fail:
	load_conn_close(c);
	return -1;
}

/* lmtp_delivery - one transaction with one recipient over an open
 * connection; -1 drops the connection, 1 is a refused delivery (RSET sent). */
static int lmtp_delivery(struct load_conn *c, const struct load_opts *o, uint64_t g,
			 unsigned int rcpt, const char *body, char *msg)
{
	char user[LOAD_MAX_NAME + 16];
	size_t size = message_size(o, g), hlen, blen;
	int n;

	snprintf(user, sizeof(user), "%s%02u", o->prefix, rcpt);
	n = snprintf(msg, LOAD_HEADER_MAX, "From: load@mailload.example.net\r\nTo: %s@example.org\r\n"
		     "Subject: mailload delivery %llu\r\nDate: Sat, 1 Jan 2000 00:00:00 +0000\r\n"
		     "Message-ID: <mailload.%llu.%ld@mailload.example.net>\r\n\r\n",
		     user, (unsigned long long)g, (unsigned long long)g, (long)getppid());
	if (n < 0 || n >= LOAD_HEADER_MAX)
		return -1;
	hlen = (size_t)n;
	blen = size > hlen ? (size - hlen) / LOAD_BODY_LINE * LOAD_BODY_LINE : 0;
	memcpy(msg + hlen, body, blen);
	memcpy(msg + hlen + blen, ".\r\n", 3);
	if (conn_cmd(c, "250", NULL, "MAIL FROM:<load@mailload.example.net>") < 0)
		return -1;
	if (conn_cmd(c, "250", NULL, "RCPT TO:<%s@example.org>", user) < 0) {
		if (conn_cmd(c, "250", NULL, "RSET") < 0)
			return -1;
		return 1;
	}
	if (conn_cmd(c, "354", NULL, "DATA") < 0 ||
	    load_conn_send(c, msg, hlen + blen + 3) < 0 ||
	    conn_reply(c, "250", NULL) < 0)
		return -1;
	return 0;
}

/* load_lmtp_step - one delivery, connecting first when needed. */
int load_lmtp_step(struct load_conn *c, const struct load_opts *o, unsigned int idx,
		   uint64_t k, const char *body, char *msg)
{
	int r;

	if (c->fd < 0 && lmtp_open(c, o) < 0) {
		nanosleep(&(struct timespec){ 0, LOAD_RETRY_PAUSE_NS }, NULL);
		return -1;
	}
	r = lmtp_delivery(c, o, idx + k * o->clients, (unsigned int)((idx + k) % o->users),
			  body, msg);
	if (r < 0)
		load_conn_close(c);
	return r;
}

/* load_lmtp_quit - a polite end, outside the figures. */
void load_lmtp_quit(struct load_conn *c)
{
	if (c->fd < 0)
		return;
	if (send(c->fd, "QUIT\r\n", 6, MSG_NOSIGNAL) == 6)
		(void)!read(c->fd, c->buf, sizeof(c->buf));
	load_conn_close(c);
}
