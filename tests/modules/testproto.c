/* tests/modules/testproto.c - a line protocol for the core's integration
 * tests: it exercises connection I/O, STARTTLS, authentication, filters and
 * shutdown through the host API exactly as a real protocol module would.
 *
 *   greeting  "* testproto ready"
 *   ECHO text        -> "OK text"
 *   STARTTLS         -> "OK begin TLS" then the handshake
 *   TLS              -> "OK yes" / "OK no"
 *   LOGIN user pass  -> "OK logged in" / "NO reason"
 *   AUTH mech [ir]   -> SASL with "+ challenge" lines
 *   WHOAMI           -> "OK user" / "NO not logged in"
 *   PEER             -> "OK address"
 *   SCAN text        -> runs the deliver filters over "text": "OK verdict N text"
 *   SLEEP ms         -> waits, then "OK slept" (for shutdown tests)
 *   PID              -> "OK pid"
 *   UID              -> "OK uid gid"
 *   CRASH            -> the process kills itself with SIGSEGV
 *   QUIT             -> "OK bye"
 * Lines over 1000 bytes get "BAD line too long"; SIGTERM gives "BYE". */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <poczta/poczta.h>

#define TESTPROTO_MAX_LINE 1000

static const struct pz_host *host;

static void reply(pz_conn *c, const char *fmt, ...) PZ_PRINTF(2, 3);
static void reply(pz_conn *c, const char *fmt, ...)
{
	char buf[2048];
	va_list args;

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	host->conn_printf(c, "%s\r\n", buf);
	host->conn_flush(c);
}

static void cmd_auth(pz_conn *c, pz_pool *pool, char *args, pz_user **user)
{
	char *mech = strtok(args, " "), *ir = strtok(NULL, " ");
	pz_error err = { 0, NULL };
	pz_sasl *s = mech != NULL ? host->sasl_begin(c, mech, pool, &err) : NULL;
	const char *challenge = NULL;
	const char *resp = ir != NULL && strcmp(ir, "=") == 0 ? "" : ir;

	if (s == NULL) {
		reply(c, "NO %s", mech == NULL ? "missing mechanism" : err.msg);
		return;
	}
	for (;;) {
		char *line;
		size_t len;
		int r = host->sasl_step(s, resp, &challenge, user, &err);

		if (r == PZ_SASL_DONE) {
			reply(c, "OK logged in as %s", host->user_name(*user));
			return;
		}
		if (r == PZ_SASL_FAILED) {
			reply(c, "NO %s", err.msg);
			return;
		}
		reply(c, "+ %s", challenge);
		if (host->conn_read_line(c, 8192, &line, &len) != PZ_IO_OK)
			return;
		resp = line;
	}
}

static void cmd_scan(pz_conn *c, pz_pool *pool, const char *text, pz_user *user)
{
	char *body = host->pool_printf(pool, "Subject: scan\r\n\r\n%s\r\n", text);
	pz_stream *st = host->stream_from_memory(pool, body, strlen(body));
	static const char *const rcpt[] = { "test@example.org" };
	pz_filter_msg *m = host->filter_msg_new(pool, st, user, "sender@example.org", rcpt, 1);
	struct pz_verdict v;
	char buf[512];

	host->filter_run(m, PZ_HOOK_DELIVER, &v);
	snprintf(buf, sizeof(buf), "verdict %d %s headers=%zu", (int)v.action,
		 v.text != NULL ? v.text : "-", host->filter_msg_header_count(m));
	reply(c, "OK %s", buf);
}

static void session(pz_module *self, pz_conn *c, pz_pool *pool)
{
	pz_user *user = NULL;

	reply(c, "* testproto ready");
	for (;;) {
		char *line, *args;
		size_t len;
		int r = host->conn_read_line(c, TESTPROTO_MAX_LINE, &line, &len);

		if (r == PZ_IO_TOO_LONG) {
			reply(c, "BAD line too long");
			continue;
		}
		if (r == PZ_IO_SHUTDOWN) {
			reply(c, "BYE server shutting down");
			return;
		}
		if (r != PZ_IO_OK)
			return;
		args = strchr(line, ' ');
		if (args != NULL)
			*args++ = '\0';
		else
			args = line + len;
		if (strcasecmp(line, "ECHO") == 0) {
			reply(c, "OK %s", args);
		} else if (strcasecmp(line, "STARTTLS") == 0) {
			const char *err = NULL;

			if (!host->conn_tls_available(c)) {
				reply(c, "NO TLS not available");
				continue;
			}
			reply(c, "OK begin TLS");
			if (host->conn_starttls(c, &err) < 0) {
				host->log(self, PZ_LOG_INFO, "STARTTLS failed: %s", err);
				return;
			}
		} else if (strcasecmp(line, "TLS") == 0) {
			reply(c, "OK %s", host->conn_is_tls(c) ? "yes" : "no");
		} else if (strcasecmp(line, "LOGIN") == 0) {
			char *name = strtok(args, " "), *pass = strtok(NULL, " ");
			pz_error err = { 0, NULL };

			if (name == NULL || pass == NULL)
				reply(c, "NO usage: LOGIN user pass");
			else if (host->auth_login(c, name, pass, pool, &user, &err) < 0)
				reply(c, "NO %s", err.msg);
			else
				reply(c, "OK logged in as %s", host->user_name(user));
		} else if (strcasecmp(line, "AUTH") == 0) {
			cmd_auth(c, pool, args, &user);
		} else if (strcasecmp(line, "WHOAMI") == 0) {
			if (user == NULL)
				reply(c, "NO not logged in");
			else
				reply(c, "OK %s", host->user_name(user));
		} else if (strcasecmp(line, "PEER") == 0) {
			reply(c, "OK %s", host->conn_peer(c));
		} else if (strcasecmp(line, "SCAN") == 0) {
			cmd_scan(c, pool, args, user);
		} else if (strcasecmp(line, "SLEEP") == 0) {
			int r2 = host->conn_wait(c, -1, atoi(args));

			(void)r2;
			reply(c, "OK slept");
		} else if (strcasecmp(line, "PID") == 0) {
			char buf[32];

			snprintf(buf, sizeof(buf), "%ld", (long)getpid());
			reply(c, "OK %s", buf);
		} else if (strcasecmp(line, "UID") == 0) {
			char buf[64];

			snprintf(buf, sizeof(buf), "%ld %ld", (long)getuid(), (long)getgid());
			reply(c, "OK %s", buf);
		} else if (strcasecmp(line, "CRASH") == 0) {
			raise(SIGSEGV);
		} else if (strcasecmp(line, "QUIT") == 0) {
			reply(c, "OK bye");
			return;
		} else {
			reply(c, "BAD unknown command");
		}
	}
}

static const struct pz_protocol_ops testproto_ops = {
	.size = sizeof(struct pz_protocol_ops),
	.name = "testproto",
	.default_port = 0,
	.default_tls_port = 0,
	.session = session,
};

static int testproto_init(pz_module *self, const struct pz_host *h, const char **error_r)
{
	host = h;
	return host->register_protocol(self, &testproto_ops, error_r);
}

POCZTA_MODULE(testproto,
	.kinds = PZ_KIND_PROTOCOL,
	.name = "testproto",
	.version = "1.0",
	.license = "MIT",
	.description = "line protocol for the core's tests",
	.init = testproto_init)
