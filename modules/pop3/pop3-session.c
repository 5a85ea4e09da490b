/* modules/pop3/pop3-session.c - the module descriptor, settings and the
 * session loop: read a line, run it, flush when the client has no more
 * pipelined commands waiting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include "pop3.h"

const struct pz_host *pop3_host;

static const struct pz_config_key pop3_keys[] = {
	{ "login_timeout", PZ_CONF_DURATION, "1m", "time to log in after connecting" },
	{ "idle_timeout", PZ_CONF_DURATION, "10m",
	  "inactivity before disconnecting a logged-in client (RFC 1939: at least 10m)" },
	{ "max_bad_commands", PZ_CONF_INT, "20", "bad commands before disconnecting" },
	{ "mark_seen", PZ_CONF_BOOL, "yes", "set \\Seen on messages retrieved with RETR" },
	{ "expire", PZ_CONF_STRING, "never",
	  "days a retrieved message is kept (EXPIRE); expired mail is removed at login" },
	{ "login_delay", PZ_CONF_DURATION, "0",
	  "minimum time between logins of one user (LOGIN-DELAY); 0: none" },
	{ "uidl_format", PZ_CONF_STRING, "%08Xu%08Xv",
	  "UIDL: %u UID, %v UIDVALIDITY, with printf-style 0, width and X/x/d" },
	{ "mailboxes", PZ_CONF_LIST, "INBOX", "mailboxes shown as the maildrop, in order" },
	{ "greeting", PZ_CONF_STRING, "Poczta ready.", "text of the +OK greeting" },
	{ "lock_dir", PZ_CONF_PATH, NULL,
	  "where maildrop locks live; default: state_dir/pop3-locks" },
	{ NULL, 0, NULL, NULL }
};

static pz_module *pop3_self;

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	char buf[1024];
	va_list args;
	int n;

	va_start(args, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, args);
	va_end(args);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	/* a reply is one line whatever text it quotes */
	for (int i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	}
	memcpy(buf + n, "\r\n", 2);
	pop3_host->conn_write(s->conn, buf, (size_t)n + 2);
}

/* read_settings - the module section, once per session. */
static void read_settings(struct pop3_settings *set)
{
	const struct pz_host *h = pop3_host;
	const char *expire = h->config_string(pop3_self, "expire");

	set->login_timeout_ms = h->config_duration_ms(pop3_self, "login_timeout");
	set->idle_timeout_ms = h->config_duration_ms(pop3_self, "idle_timeout");
	set->max_bad_commands = h->config_int(pop3_self, "max_bad_commands");
	set->mark_seen = h->config_bool(pop3_self, "mark_seen");
	set->expire_days = strcmp(expire, "never") == 0 ? -1 : strtoll(expire, NULL, 10);
	set->login_delay_ms = h->config_duration_ms(pop3_self, "login_delay");
	set->uidl_format = h->config_string(pop3_self, "uidl_format");
	set->mailboxes = h->config_string(pop3_self, "mailboxes");
	set->greeting = h->config_string(pop3_self, "greeting");
}

static unsigned int clamp_ms(uint64_t ms)
{
	return ms > 0x7fffffff ? 0x7fffffff : (unsigned int)ms;
}

/* login_overdue - more than login_timeout since the connection began. */
static int login_overdue(struct pop3_session *s)
{
	struct timespec now;
	uint64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (uint64_t)(now.tv_sec - s->started.tv_sec) * 1000 +
		(uint64_t)((now.tv_nsec - s->started.tv_nsec) / 1000000);
	return s->set.login_timeout_ms > 0 && ms > s->set.login_timeout_ms;
}

void pop3_session(pz_module *self, pz_conn *conn, pz_pool *pool)
{
	struct pop3_session *s = pop3_host->pool_alloc(pool, sizeof(*s));

	s->module = self;
	s->conn = conn;
	s->pool = pool;
	s->state = POP3_AUTHORIZATION;
	s->lock_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	read_settings(&s->set);
	pop3_host->conn_set_timeout(conn, clamp_ms(s->set.login_timeout_ms));
	pop3_reply(s, "+OK %s", s->set.greeting);
	pop3_host->conn_flush(conn);
	while (!s->quit) {
		char *line;
		size_t len;
		int r = pop3_host->conn_read_line(conn, POP3_MAX_LINE, &line, &len);

		if (s->state == POP3_AUTHORIZATION && login_overdue(s)) {
			/* login_timeout bounds the whole login, not each read */
			pop3_reply(s, "-ERR Disconnected: no login within %llu seconds.",
				   (unsigned long long)(s->set.login_timeout_ms / 1000));
			break;
		}
		if (r == PZ_IO_TOO_LONG) {
			pop3_reply(s, "-ERR Line too long.");
			s->bad_commands++;
		} else if (r == PZ_IO_SHUTDOWN) {
			pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down.");
			break;
		} else if (r == PZ_IO_TIMEOUT) {
			pop3_reply(s, "-ERR Disconnected for inactivity.");
			break;
		} else if (r != PZ_IO_OK) {
			break;
		} else if (strlen(line) != len) {
			pop3_reply(s, "-ERR NUL byte in command.");
			s->bad_commands++;
		} else {
			enum pop3_state before = s->state;

			pop3_command(s, line);
			if (before != s->state)
				pop3_host->conn_set_timeout(conn, clamp_ms(s->set.idle_timeout_ms));
		}
		if (s->set.max_bad_commands > 0 && s->bad_commands >= s->set.max_bad_commands) {
			pop3_reply(s, "-ERR Too many bad commands.");
			break;
		}
		if (pop3_host->conn_input_pending(conn) == 0 && pop3_host->conn_flush(conn) < 0)
			break;
	}
	pop3_host->conn_flush(conn);
	pop3_maildrop_close(s);
}

static const struct pz_protocol_ops pop3_ops = {
	.size = sizeof(struct pz_protocol_ops),
	.name = "pop3",
	.default_port = 110,
	.default_tls_port = 995,
	.session = pop3_session,
};

/* check_expire - "never" or a number of days. */
static int check_expire(const char *v)
{
	char *end = NULL;
	long long days;

	if (strcmp(v, "never") == 0)
		return 0;
	errno = 0;
	days = strtoll(v, &end, 10);
	return *v == '\0' || *end != '\0' || errno != 0 || days < 0 || days > 100000 ? -1 : 0;
}

/* lock_dir_prepare - the lock folder, owned by the unprivileged user so
 * connection processes can create lock files in it.  The folder is opened
 * without following a symlink and changed through its descriptor, so a
 * link put in its place cannot hand another file to that user. */
static int lock_dir_prepare(const char **error_r)
{
	const char *dir = pop3_host->config_string(pop3_self, "lock_dir");
	char buf[4096];
	struct passwd *pw;
	struct stat st;
	int fd;

	if (dir == NULL) {
		const char *state = pop3_host->config_global("state_dir");

		snprintf(buf, sizeof(buf), "%s/pop3-locks", state);
		dir = buf;
		if (mkdir(state, 0755) < 0 && errno != EEXIST) {
			*error_r = "cannot create state_dir for POP3 locks";
			return -1;
		}
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		pop3_host->log(pop3_self, PZ_LOG_ERROR, "mkdir %s: %s", dir, strerror(errno));
		*error_r = "cannot create the POP3 lock folder";
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		pop3_host->log(pop3_self, PZ_LOG_ERROR, "open %s: %s", dir, strerror(errno));
		*error_r = "cannot open the POP3 lock folder (a symlink is not accepted)";
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (geteuid() == 0 && (pw = getpwnam(pop3_host->config_global("user"))) != NULL &&
	    (st.st_uid != pw->pw_uid || st.st_gid != pw->pw_gid) &&
	    fchown(fd, pw->pw_uid, pw->pw_gid) < 0) {
		close(fd);
		*error_r = "cannot chown the POP3 lock folder";
		return -1;
	}
	close(fd);
	return 0;
}

static int pop3_init(pz_module *self, const struct pz_host *host, const char **error_r)
{
	pop3_host = host;
	pop3_self = self;
	if (check_expire(host->config_string(self, "expire")) < 0) {
		*error_r = "expire must be 'never' or a number of days";
		return -1;
	}
	if (lock_dir_prepare(error_r) < 0)
		return -1;
	return host->register_protocol(self, &pop3_ops, error_r);
}

/* pop3_lock_dir - the folder for maildrop locks (used by pop3-maildrop.c). */
const char *pop3_lock_dir(pz_pool *pool)
{
	const char *dir = pop3_host->config_string(pop3_self, "lock_dir");

	if (dir != NULL)
		return dir;
	return pop3_host->pool_printf(pool, "%s/pop3-locks",
				      pop3_host->config_global("state_dir"));
}

POCZTA_MODULE(pop3,
	.kinds = PZ_KIND_PROTOCOL,
	.name = "pop3",
	.version = "0.1.0",
	.license = "MIT",
	.description = "POP3 server (RFC 1939, 2449, 2595, 5034)",
	.config_keys = pop3_keys,
	.init = pop3_init)
