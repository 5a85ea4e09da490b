/* core/deliver.c - poczta-deliver, the local delivery agent for MTAs that
 * pipe a message into a command (as dovecot-lda).
 *
 *   poczta-deliver [-c FILE] -d USER [-m MAILBOX] [-f SENDER]
 *
 * It delivers through the lmtp module itself: the module's session runs in
 * a child process on one end of a socketpair and this program speaks LMTP
 * on the other, so every delivery rule (recipient lookup, filters, trace
 * headers, durable save before success) is the one LMTP uses.  Exit codes
 * follow sysexits.h; anything temporary is EX_TEMPFAIL so the MTA retries. */
#include "config-core.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>
#include "conn.h"
#include "core.h"
#include "log.h"
#include "pool.h"
#include "privdrop.h"
#include "registry.h"
#include "settings.h"

#define DELIVER_LINE 4096
#define DELIVER_TIMEOUT_MS (10 * 60 * 1000)

static void usage(FILE *out)
{
	fprintf(out, "Usage: poczta-deliver [-c FILE] -d USER [-m MAILBOX] [-f SENDER]\n"
		"Reads a message on standard input and delivers it to USER.\n\n"
		"  -c FILE     configuration file (default %s/poczta.conf)\n"
		"  -d USER     the recipient\n"
		"  -m MAILBOX  deliver into MAILBOX instead of INBOX (INBOX if it does not exist)\n"
		"  -f SENDER   envelope sender (default: none, <>)\n", PZ_SYSCONFDIR);
}

/* run_session - the child: the lmtp module serves the socket. */
static void __attribute__((noreturn)) run_session(int fd)
{
	struct pz_module *mod = NULL;
	const struct pz_protocol_ops *proto = pz_protocol_by_name("lmtp", &mod);
	pz_pool *pool = pz_pool_create("deliver");
	pz_conn *conn = pz_conn_new(pool, fd, PZ_DELIVER_LISTENER, NULL, DELIVER_TIMEOUT_MS);

	proto->session(mod, conn, pool);
	pz_conn_close(conn);
	pz_core_process_deinit();
	_exit(0);
}

struct lmtp_peer {
	FILE *in;
	FILE *out;
	char reply[DELIVER_LINE]; /* the last line of the last reply */
};

/* read_reply - a (multi-line) reply: its code, or -1 when the session died. */
static int read_reply(struct lmtp_peer *p)
{
	char line[DELIVER_LINE];

	fflush(p->out);
	while (fgets(line, sizeof(line), p->in) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) < 3)
			continue;
		snprintf(p->reply, sizeof(p->reply), "%s", line);
		if (line[3] != '-')
			return atoi(line);
	}
	snprintf(p->reply, sizeof(p->reply), "delivery process ended unexpectedly");
	return -1;
}

/* exit_code - sysexits.h value for a failed reply. */
static int exit_code(int code, const char *reply)
{
	if (code >= 500 && strstr(reply, "5.1.1") != NULL)
		return EX_NOUSER;
	if (code >= 500)
		return EX_UNAVAILABLE;
	return EX_TEMPFAIL;
}

/* xtext - RFC 3461 xtext of `s`, for the mailbox parameter. */
static void xtext(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s != '\0' && o + 4 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 33 || c > 126 || c == '+' || c == '=')
			o += (size_t)snprintf(out + o, size - o, "+%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* send_message - stdin as DATA: CRLF line endings, dot-stuffed, without a
 * leading mbox "From " line. */
static int send_message(struct lmtp_peer *p)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int first = 1;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (first && strncmp(line, "From ", 5) == 0) {
			first = 0;
			continue;
		}
		first = 0;
		if (line[0] == '.')
			fputc('.', p->out);
		fwrite(line, 1, (size_t)len, p->out);
		fputs("\r\n", p->out);
	}
	free(line);
	if (ferror(stdin))
		return -1;
	fputs(".\r\n", p->out);
	return ferror(p->out) ? -1 : 0;
}

/* converse - the LMTP transaction; returns the exit code. */
static int converse(struct lmtp_peer *p, const char *user, const char *mailbox,
		    const char *sender)
{
	char param[1024] = "";
	int code;

	if (read_reply(p) != 220)
		goto fail;
	fprintf(p->out, "LHLO localhost\r\n");
	if (read_reply(p) != 250)
		goto fail;
	fprintf(p->out, "MAIL FROM:<%s>\r\n", sender);
	if ((code = read_reply(p)) != 250)
		goto fail_code;
	if (mailbox != NULL) {
		char x[900];

		xtext(mailbox, x, sizeof(x));
		snprintf(param, sizeof(param), " " PZ_DELIVER_MAILBOX_PARAM "=%s", x);
	}
	fprintf(p->out, "RCPT TO:<%s>%s\r\n", user, param);
	if ((code = read_reply(p)) != 250)
		goto fail_code;
	fprintf(p->out, "DATA\r\n");
	if ((code = read_reply(p)) != 354)
		goto fail_code;
	if (send_message(p) < 0) {
		fprintf(stderr, "poczta-deliver: cannot read the message\n");
		return EX_TEMPFAIL;
	}
	if ((code = read_reply(p)) != 250)
		goto fail_code;
	fprintf(p->out, "QUIT\r\n");
	(void)read_reply(p);
	return EX_OK;
fail_code:
	fprintf(stderr, "poczta-deliver: %s\n", p->reply);
	return exit_code(code, p->reply);
fail:
	fprintf(stderr, "poczta-deliver: %s\n", p->reply);
	return EX_TEMPFAIL;
}

int main(int argc, char **argv)
{
	const char *config = PZ_SYSCONFDIR "/poczta.conf", *user = NULL, *mailbox = NULL;
	const char *sender = "", *err = NULL;
	char *perr = NULL;
	struct lmtp_peer peer;
	int sv[2], c, rc, status;
	uid_t uid;
	gid_t gid;
	pid_t pid;

	while ((c = getopt(argc, argv, "c:d:m:f:h")) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd': user = optarg; break;
		case 'm': mailbox = optarg; break;
		case 'f': sender = optarg; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (user == NULL || optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	pz_log_open(0, LOG_MAIL);
	if (pz_core_load(config, &perr) < 0) {
		fprintf(stderr, "poczta-deliver: %s\n", perr);
		free(perr);
		return EX_CONFIG;
	}
	if (pz_protocol_by_name("lmtp", NULL) == NULL) {
		fprintf(stderr, "poczta-deliver: %s has no 'module lmtp { }' section\n", config);
		return EX_CONFIG;
	}
	if (geteuid() == 0 &&
	    (pz_privdrop_lookup(pz_setting("user"), &uid, &gid, &err) < 0 ||
	     pz_privdrop(uid, gid, &err) < 0)) {
		fprintf(stderr, "poczta-deliver: user '%s': %s\n", pz_setting("user"), err);
		return EX_TEMPFAIL;
	}
	if (pz_core_process_init(&perr) < 0) {
		fprintf(stderr, "poczta-deliver: %s\n", perr);
		free(perr);
		return EX_TEMPFAIL;
	}
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || (pid = fork()) < 0) {
		fprintf(stderr, "poczta-deliver: %s\n", strerror(errno));
		return EX_TEMPFAIL;
	}
	if (pid == 0) {
		close(sv[1]);
		run_session(sv[0]);
	}
	close(sv[0]);
	peer.in = fdopen(sv[1], "r");
	peer.out = fdopen(dup(sv[1]), "w");
	if (peer.in == NULL || peer.out == NULL) {
		fprintf(stderr, "poczta-deliver: %s\n", strerror(errno));
		return EX_TEMPFAIL;
	}
	rc = converse(&peer, user, mailbox, sender);
	fclose(peer.out);
	fclose(peer.in);
	/* after the 250 the message is durable, whatever the child does next */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}
