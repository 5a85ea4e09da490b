/* core/listener.c - parse listener addresses, load their TLS contexts and
 * bind the sockets (TCP on IPv4/IPv6, unix sockets). */
#include "config-core.h"
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include "listener.h"
#include "log.h"
#include "pool.h"
#include "settings.h"
#include "tls.h"

#define PZ_MAX_PER_PROCESS 1000000
#define PZ_MAX_MIN_AVAIL 1000

static const char *sect_value(const struct pz_conf_section *s, const char *key)
{
	return pz_config_value(s->entries, s->n_entries, pz_listener_keys, key);
}

/* listener_tls - the context for a section: its own cert/key or the global
 * ones.  *ctx_r stays NULL when no certificate is configured. */
static int listener_tls(const struct pz_conf_section *s, SSL_CTX **ctx_r, char **error_r)
{
	const char *cert = sect_value(s, "ssl_cert"), *key = sect_value(s, "ssl_key");
	char *err = NULL;

	if (cert == NULL)
		cert = pz_setting("ssl_cert");
	if (key == NULL)
		key = pz_setting("ssl_key");
	*ctx_r = NULL;
	if (cert == NULL && key == NULL)
		return 0;
	if (cert == NULL || key == NULL) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: ssl_cert and ssl_key go together",
				  s->file, s->line, s->name);
		return -1;
	}
	*ctx_r = pz_tls_context(cert, key, pz_setting("ssl_min_protocol"),
				pz_setting("ssl_ciphers"), &err);
	if (*ctx_r == NULL) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: %s", s->file, s->line, s->name, err);
		free(err);
		return -1;
	}
	return 0;
}

/* split_host_port - "1.2.3.4:143", "[::1]:143", "*:143" into host and port. */
static int split_host_port(const char *addr, char *host, size_t hsize, char *port,
			   size_t psize)
{
	const char *colon;
	size_t hlen;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		hlen = (size_t)(end - addr - 1);
		if (hlen >= hsize)
			return -1;
		memcpy(host, addr + 1, hlen);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL || strchr(addr, ':') != colon)
			return -1;
		hlen = (size_t)(colon - addr);
		if (hlen >= hsize)
			return -1;
		memcpy(host, addr, hlen);
	}
	host[hlen] = '\0';
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= psize ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	strcpy(port, colon + 1);
	return 0;
}

/* address_check - the syntax of one address, before anything binds. */
static int address_check(const struct pz_conf_section *s, const char *addr, char **error_r)
{
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int r;

	if (strncmp(addr, "unix:", 5) == 0) {
		if (addr[5] != '/' || strlen(addr + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*error_r = pz_strdup_printf("%s:%u: listener %s: unix socket '%s' must be an "
						    "absolute path under 108 bytes", s->file, s->line,
						    s->name, addr + 5);
			return -1;
		}
		return 0;
	}
	if (split_host_port(addr, host, sizeof(host), port, sizeof(port)) < 0) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: bad address '%s' (expected HOST:PORT, "
					    "[IPv6]:PORT, *:PORT or unix:PATH)", s->file, s->line,
					    s->name, addr);
		return -1;
	}
	r = getaddrinfo(strcmp(host, "*") == 0 ? "0.0.0.0" : host, port, &hints, &ai);
	if (r != 0) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: bad address '%s': %s", s->file,
					    s->line, s->name, addr, gai_strerror(r));
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

/* count_value - a non-negative count key of a section, at most `max`. */
static int count_value(const struct pz_conf_section *s, const char *key, int64_t max,
		       unsigned int *out, char **error_r)
{
	int64_t v = 0;

	if (pz_conf_parse_int(sect_value(s, key), &v) < 0 || v < 0 || v > max) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: bad %s '%s': expected 0 to %lld",
				  s->file, s->line, s->name, key, sect_value(s, key),
				  (long long)max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

/* add_section - the listeners of one section, one per address. */
static int add_section(const struct pz_conf_section *s, struct pz_listener **ls,
		       size_t *n, char **error_r)
{
	const char *proto_name = sect_value(s, "protocol");
	struct pz_module *mod = NULL;
	const struct pz_protocol_ops *proto = pz_protocol_by_name(proto_name, &mod);
	char addrs[2048], *save = NULL, *a;
	SSL_CTX *ctx;
	uint64_t timeout = 0;
	unsigned int per_process = 1, min_avail = 0;
	int implicit = strcmp(sect_value(s, "tls"), "implicit") == 0, first = 1;
	const char *mode_s = sect_value(s, "mode");
	char *end = NULL;
	unsigned long mode = strtoul(mode_s, &end, 8);

	if (proto == NULL) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: no loaded module provides protocol '%s' "
				  "(add a 'module %s { }' section)", s->file, s->line, s->name,
				  proto_name, proto_name);
		return -1;
	}
	if (*mode_s == '\0' || *end != '\0' || mode > 0777) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: bad mode '%s': expected octal such as 0660",
				  s->file, s->line, s->name, mode_s);
		return -1;
	}
	if (listener_tls(s, &ctx, error_r) < 0)
		return -1;
	if (implicit && ctx == NULL) {
		*error_r = pz_strdup_printf("%s:%u: listener %s: tls = implicit needs ssl_cert and ssl_key",
				  s->file, s->line, s->name);
		return -1;
	}
	(void)pz_conf_parse_duration_ms(sect_value(s, "timeout"), &timeout);
	if (count_value(s, "connections_per_process", PZ_MAX_PER_PROCESS, &per_process, error_r) < 0 ||
	    count_value(s, "process_min_avail", PZ_MAX_MIN_AVAIL, &min_avail, error_r) < 0) {
		if (ctx != NULL)
			SSL_CTX_free(ctx);
		return -1;
	}
	snprintf(addrs, sizeof(addrs), "%s", sect_value(s, "address"));
	for (a = strtok_r(addrs, " \t,", &save); a != NULL; a = strtok_r(NULL, " \t,", &save)) {
		struct pz_listener *l;

		if (address_check(s, a, error_r) < 0) {
			if (ctx != NULL && first)
				SSL_CTX_free(ctx);
			return -1;
		}

		*ls = realloc(*ls, (*n + 1) * sizeof(**ls));
		if (*ls == NULL)
			pz_fatal("out of memory");
		l = &(*ls)[(*n)++];
		memset(l, 0, sizeof(*l));
		l->name = strdup(s->name);
		l->address = strdup(a);
		l->fd = -1;
		l->implicit_tls = implicit;
		l->tls_ctx = ctx;
		if (ctx != NULL && !first)
			SSL_CTX_up_ref(ctx);
		first = 0;
		l->unix_mode = (mode_t)mode;
		l->timeout_ms = timeout > UINT32_MAX ? UINT32_MAX : (unsigned int)timeout;
		l->per_process = per_process;
		l->min_avail = min_avail;
		l->module = mod;
		l->protocol = proto;
	}
	return 0;
}

int pz_listeners_build(const struct pz_config *cfg, struct pz_listener **ls_r,
		       size_t *n_r, char **error_r)
{
	size_t i;

	*ls_r = NULL;
	*n_r = 0;
	for (i = 0; i < cfg->n_sections; i++) {
		if (strcmp(cfg->sections[i].type, "listener") == 0 &&
		    add_section(&cfg->sections[i], ls_r, n_r, error_r) < 0) {
			pz_listeners_free(ls_r, n_r);
			return -1;
		}
	}
	return 0;
}

/* bind_unix - a unix socket; a stale socket file is replaced. */
static int bind_unix(struct pz_listener *l, const char *path, char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = pz_strdup_printf("listener %s: unix socket path too long: %s", l->name, path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, PZ_LISTEN_BACKLOG) < 0) {
		*error_r = pz_strdup_printf("listener %s: unix:%s: %s", l->name, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (chmod(path, l->unix_mode) < 0) {
		*error_r = pz_strdup_printf("listener %s: chmod %s: %s", l->name, path, strerror(errno));
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

/* bind_tcp - a TCP socket on a numeric address. */
static int bind_tcp(struct pz_listener *l, char **error_r)
{
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int fd, one = 1, r;

	if (split_host_port(l->address, host, sizeof(host), port, sizeof(port)) < 0) {
		*error_r = pz_strdup_printf("listener %s: bad address '%s' (expected HOST:PORT, "
				  "[IPv6]:PORT, *:PORT or unix:PATH)", l->name, l->address);
		return -1;
	}
	r = getaddrinfo(strcmp(host, "*") == 0 ? "0.0.0.0" : host, port, &hints, &ai);
	if (r != 0) {
		*error_r = pz_strdup_printf("listener %s: bad address '%s': %s", l->name, l->address,
				  gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, PZ_LISTEN_BACKLOG) < 0) {
		*error_r = pz_strdup_printf("listener %s: cannot listen on %s: %s", l->name, l->address,
				  strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	l->fd = fd;
	return 0;
}

int pz_listeners_open(struct pz_listener *ls, size_t n, struct pz_listener *old,
		      size_t n_old, char **error_r)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct pz_listener *l = &ls[i];

		for (j = 0; j < n_old && l->fd < 0; j++) {
			if (old[j].fd >= 0 && strcmp(old[j].address, l->address) == 0) {
				l->fd = old[j].fd;
				old[j].fd = -1;
			}
		}
		if (l->fd >= 0)
			continue;
		if (strncmp(l->address, "unix:", 5) == 0 ?
		    bind_unix(l, l->address + 5, error_r) < 0 : bind_tcp(l, error_r) < 0)
			return -1;
	}
	return 0;
}

void pz_listeners_free(struct pz_listener **ls, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		struct pz_listener *l = &(*ls)[i];

		if (l->fd >= 0)
			close(l->fd);
		if (l->tls_ctx != NULL)
			SSL_CTX_free(l->tls_ctx);
		free(l->name);
		free(l->address);
	}
	free(*ls);
	*ls = NULL;
	*n = 0;
}
