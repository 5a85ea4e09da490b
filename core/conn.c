/* core/conn.c - connection I/O: non-blocking socket, poll() with timeouts,
 * optional TLS, a bounded input buffer and a fixed output buffer. */
#include "config-core.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/err.h>
#include "conn.h"
#include "pool.h"

volatile sig_atomic_t pz_conn_stopping;

struct pz_conn {
	pz_pool *pool;
	int fd;
	SSL_CTX *tls_ctx;
	SSL *ssl;
	char *in;
	size_t in_cap, in_start, in_end;
	int discarding;   /* dropping the rest of an over-long line */
	int failed;       /* a write failed: the connection is dead */
	unsigned char out[PZ_CONN_OUTBUF];
	size_t out_len;
	unsigned int timeout_ms;
	char peer[INET6_ADDRSTRLEN + 1];
	char local[INET6_ADDRSTRLEN + 1];
	uint16_t local_port;
	int is_local;
	const char *listener;
};

/* sockaddr_text - printable address; IPv4-mapped IPv6 shown as IPv4. */
static void sockaddr_text(const struct sockaddr_storage *sa, char *buf, size_t size,
			  uint16_t *port_r, int *local_r)
{
	*port_r = 0;
	*local_r = 0;
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, buf, size);
		*port_r = ntohs(in->sin_port);
		*local_r = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, size);
			*local_r = in6->sin6_addr.s6_addr[12] == 127;
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, buf, size);
			*local_r = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		}
		*port_r = ntohs(in6->sin6_port);
	} else {
		snprintf(buf, size, "unix");
		*local_r = 1;
	}
}

static void conn_cleanup(void *ctx)
{
	pz_conn *c = ctx;

	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

pz_conn *pz_conn_new(pz_pool *pool, int fd, const char *listener, SSL_CTX *tls_ctx,
		     unsigned int timeout_ms)
{
	pz_conn *c = pz_pool_alloc(pool, sizeof(*c));
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	uint16_t port;
	int local;

	c->pool = pool;
	c->fd = fd;
	c->tls_ctx = tls_ctx;
	c->listener = pz_pool_strdup(pool, listener);
	c->timeout_ms = timeout_ms;
	c->in_cap = PZ_CONN_INBUF_MIN;
	c->in = pz_pool_alloc(pool, c->in_cap);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	memset(&sa, 0, sizeof(sa));
	if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0)
		sockaddr_text(&sa, c->peer, sizeof(c->peer), &port, &c->is_local);
	else
		snprintf(c->peer, sizeof(c->peer), "unknown");
	len = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		sockaddr_text(&sa, c->local, sizeof(c->local), &c->local_port, &local);
	pz_pool_cleanup(pool, conn_cleanup, c);
	return c;
}

/* wait_fd - poll for `events` within the timeout: 1 ready, 0 timeout,
 * -1 error, -2 stopping. */
static int wait_fd(pz_conn *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int r;

	for (;;) {
		if (pz_conn_stopping)
			return -2;
		r = poll(&p, 1, c->timeout_ms == 0 ? -1 : (int)c->timeout_ms);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* io_status - map wait_fd's answer to a pz_io_result. */
static int io_status(int w)
{
	return w == 0 ? PZ_IO_TIMEOUT : w == -2 ? PZ_IO_SHUTDOWN : PZ_IO_ERROR;
}

/* raw_read - read what is there (TLS or plain): bytes, or a pz_io_result
 * as a negative number (-PZ_IO_EOF etc.; PZ_IO_ERROR is -100). */
static ssize_t raw_read(pz_conn *c, void *buf, size_t n)
{
	for (;;) {
		ssize_t r;
		short want = POLLIN;

		if (pz_conn_stopping)
			return -PZ_IO_SHUTDOWN;
		if (c->ssl != NULL) {
			int sr = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);

			if (sr > 0)
				return sr;
			switch (SSL_get_error(c->ssl, sr)) {
			case SSL_ERROR_WANT_READ: break;
			case SSL_ERROR_WANT_WRITE: want = POLLOUT; break;
			case SSL_ERROR_ZERO_RETURN: return -PZ_IO_EOF;
			default: ERR_clear_error(); return -100;
			}
		} else {
			r = read(c->fd, buf, n);
			if (r > 0)
				return r;
			if (r == 0)
				return -PZ_IO_EOF;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -100;
		}
		r = wait_fd(c, want);
		if (r != 1)
			return r == -1 ? -100 : -io_status((int)r);
	}
}

static int neg_to_io(ssize_t r)
{
	return r == -100 ? PZ_IO_ERROR : (int)-r;
}

/* fill - read more input into the buffer, growing it up to `limit`. */
static int fill(pz_conn *c, size_t limit)
{
	ssize_t r;

	if (c->in_start > 0) {
		memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
		c->in_end -= c->in_start;
		c->in_start = 0;
	}
	if (c->in_end == c->in_cap) {
		size_t ncap = c->in_cap * 2;

		if (ncap < c->in_cap || c->in_cap >= limit)
			return PZ_IO_TOO_LONG;
		if (ncap > limit)
			ncap = limit;
		c->in = pz_pool_realloc(c->pool, c->in, c->in_cap, ncap);
		c->in_cap = ncap;
	}
	r = raw_read(c, c->in + c->in_end, c->in_cap - c->in_end);
	if (r < 0)
		return neg_to_io(r);
	c->in_end += (size_t)r;
	return PZ_IO_OK;
}

int pz_conn_read_line(pz_conn *c, size_t max, char **line_r, size_t *len_r)
{
	/* room for the line, its CRLF and the NUL we write over the LF */
	size_t limit = max > SIZE_MAX - 3 ? SIZE_MAX : max + 3;

	if (limit < PZ_CONN_INBUF_MIN)
		limit = PZ_CONN_INBUF_MIN;
	for (;;) {
		char *start = c->in + c->in_start;
		char *lf = memchr(start, '\n', c->in_end - c->in_start);
		int r;

		if (lf != NULL) {
			size_t len = (size_t)(lf - start);

			c->in_start += len + 1;
			if (len > 0 && start[len - 1] == '\r')
				len--;
			if (c->discarding || len > max) {
				c->discarding = 0;
				return PZ_IO_TOO_LONG;
			}
			start[len] = '\0';
			*line_r = start;
			*len_r = len;
			return PZ_IO_OK;
		}
		if (c->discarding || c->in_end - c->in_start > max + 1) {
			c->discarding = 1;
			c->in_start = c->in_end = 0;
		}
		r = fill(c, limit);
		if (r == PZ_IO_TOO_LONG) {
			c->discarding = 1;
			c->in_start = c->in_end = 0;
			continue;
		}
		if (r != PZ_IO_OK)
			return r;
	}
}

int pz_conn_read(pz_conn *c, void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		size_t have = c->in_end - c->in_start;

		if (have > 0) {
			size_t take = have < n ? have : n;

			memcpy(p, c->in + c->in_start, take);
			c->in_start += take;
			p += take;
			n -= take;
		} else {
			ssize_t r = raw_read(c, p, n);

			if (r < 0)
				return neg_to_io(r);
			p += r;
			n -= (size_t)r;
		}
	}
	return PZ_IO_OK;
}

/* raw_write - write everything or fail. */
static int raw_write(pz_conn *c, const unsigned char *data, size_t len)
{
	while (len > 0 && !c->failed) {
		short want = POLLOUT;
		ssize_t r;

		if (c->ssl != NULL) {
			int sr = SSL_write(c->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);

			if (sr > 0) {
				data += sr;
				len -= (size_t)sr;
				continue;
			}
			switch (SSL_get_error(c->ssl, sr)) {
			case SSL_ERROR_WANT_WRITE: break;
			case SSL_ERROR_WANT_READ: want = POLLIN; break;
			default: ERR_clear_error(); c->failed = 1; return -1;
			}
		} else {
			r = send(c->fd, data, len, MSG_NOSIGNAL);
			if (r > 0) {
				data += r;
				len -= (size_t)r;
				continue;
			}
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				c->failed = 1;
				return -1;
			}
		}
		/* a stop request must not cut a reply short: wait on regardless */
		{
			struct pollfd p = { .fd = c->fd, .events = want };
			int pr = poll(&p, 1, c->timeout_ms == 0 ? -1 : (int)c->timeout_ms);

			if (pr == 0 || (pr < 0 && errno != EINTR)) {
				c->failed = 1;
				return -1;
			}
		}
	}
	return c->failed ? -1 : 0;
}

int pz_conn_flush(pz_conn *c)
{
	int r = raw_write(c, c->out, c->out_len);

	c->out_len = 0;
	return r;
}

int pz_conn_write(pz_conn *c, const void *data, size_t len)
{
	if (c->failed)
		return -1;
	if (len > sizeof(c->out) - c->out_len && pz_conn_flush(c) < 0)
		return -1;
	if (len >= sizeof(c->out))
		return raw_write(c, data, len);
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

int pz_conn_printf(pz_conn *c, const char *fmt, ...)
{
	char buf[4096], *p = buf;
	va_list args;
	int len, r;

	va_start(args, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(buf)) {
		p = malloc((size_t)len + 1);
		if (p == NULL)
			return -1;
		va_start(args, fmt);
		vsnprintf(p, (size_t)len + 1, fmt, args);
		va_end(args);
	}
	r = pz_conn_write(c, p, (size_t)len);
	if (p != buf)
		free(p);
	return r;
}

void pz_conn_set_timeout(pz_conn *c, unsigned int ms)
{
	c->timeout_ms = ms;
}

size_t pz_conn_input_pending(pz_conn *c)
{
	size_t n = c->in_end - c->in_start;

	if (c->ssl != NULL)
		n += (size_t)SSL_pending(c->ssl);
	return n;
}

int pz_conn_wait(pz_conn *c, int fd, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	int r;

	if (pz_conn_flush(c) < 0)
		return -1;
	for (;;) {
		if (pz_conn_stopping || pz_conn_input_pending(c) > 0)
			return 1;
		r = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[0].revents != 0)
			return 1;
		return 2;
	}
}

int pz_conn_tls_available(pz_conn *c)
{
	return c->tls_ctx != NULL && c->ssl == NULL;
}

int pz_conn_is_tls(pz_conn *c)
{
	return c->ssl != NULL;
}

/* tls_handshake - SSL_accept on the non-blocking socket. */
static int tls_handshake(pz_conn *c, const char **error_r)
{
	c->ssl = SSL_new(c->tls_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		*error_r = "cannot create TLS session";
		return -1;
	}
	for (;;) {
		int r = SSL_accept(c->ssl), w;
		unsigned long e;

		if (r == 1)
			return 0;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ: w = wait_fd(c, POLLIN); break;
		case SSL_ERROR_WANT_WRITE: w = wait_fd(c, POLLOUT); break;
		default:
			e = ERR_peek_last_error();
			*error_r = e != 0 ? ERR_reason_error_string(e) : "connection closed";
			if (*error_r == NULL)
				*error_r = "TLS handshake failed";
			ERR_clear_error();
			c->failed = 1;
			return -1;
		}
		if (w != 1) {
			*error_r = w == 0 ? "TLS handshake timed out" : "TLS handshake failed";
			c->failed = 1;
			return -1;
		}
	}
}

int pz_conn_tls_accept(pz_conn *c, const char **error_r)
{
	if (c->tls_ctx == NULL) {
		*error_r = "no TLS certificate configured";
		return -1;
	}
	return tls_handshake(c, error_r);
}

int pz_conn_starttls(pz_conn *c, const char **error_r)
{
	if (c->ssl != NULL) {
		*error_r = "TLS is already active";
		return -1;
	}
	if (c->tls_ctx == NULL) {
		*error_r = "TLS is not available";
		return -1;
	}
	/* Input that arrived before the handshake was not protected by it
	 * (the STARTTLS command injection class of bugs): refuse. */
	if (c->in_end != c->in_start) {
		*error_r = "client sent data after the STARTTLS command";
		return -1;
	}
	if (pz_conn_flush(c) < 0) {
		*error_r = "write failed";
		return -1;
	}
	return tls_handshake(c, error_r);
}

int pz_conn_is_local(pz_conn *c)
{
	return c->is_local;
}

const char *pz_conn_peer(pz_conn *c)
{
	return c->peer;
}

const char *pz_conn_local(pz_conn *c)
{
	return c->local;
}

uint16_t pz_conn_local_port(pz_conn *c)
{
	return c->local_port;
}

const char *pz_conn_listener(pz_conn *c)
{
	return c->listener;
}

void pz_conn_close(pz_conn *c)
{
	if (c->fd < 0)
		return;
	if (!c->failed) {
		c->timeout_ms = 5000;
		(void)pz_conn_flush(c);
	}
	if (c->ssl != NULL && !c->failed)
		(void)SSL_shutdown(c->ssl);
	conn_cleanup(c);
}
