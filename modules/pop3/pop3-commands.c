/* modules/pop3/pop3-commands.c - the POP3 command table.
 *
 * One row per command: the states it is allowed in and its function.
 * Response codes per RFC 2449 (IN-USE, LOGIN-DELAY), RFC 3206 (SYS/TEMP,
 * SYS/PERM, AUTH). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pop3.h"

#define ST_AUTH (1u << POP3_AUTHORIZATION)
#define ST_TRANS (1u << POP3_TRANSACTION)

struct pop3_cmd {
	const char *name;
	unsigned int states;
	int min_args, max_args;
	/* args[0..n-1]; rest is the line after the command word (for PASS) */
	void (*fn)(struct pop3_session *s, char **args, int n, char *rest);
};

/* pop3_capabilities - the CAPA lines for the session's state, into buf. */
void pop3_capabilities(struct pop3_session *s, char *buf, size_t size)
{
	const struct pz_host *h = pop3_host;
	const char *mechs = h->auth_mechanisms(s->conn);
	size_t n;

	n = (size_t)snprintf(buf, size, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
			     "PIPELINING\r\n");
	if (s->state == POP3_AUTHORIZATION) {
		if (h->auth_plaintext_allowed(s->conn) && n < size)
			n += (size_t)snprintf(buf + n, size - n, "USER\r\n");
		if (mechs[0] != '\0' && n < size)
			n += (size_t)snprintf(buf + n, size - n, "SASL %s\r\n", mechs);
		if (h->conn_tls_available(s->conn) && n < size)
			n += (size_t)snprintf(buf + n, size - n, "STLS\r\n");
	}
	if (n < size && s->set.expire_days < 0)
		n += (size_t)snprintf(buf + n, size - n, "EXPIRE NEVER\r\n");
	else if (n < size)
		n += (size_t)snprintf(buf + n, size - n, "EXPIRE %lld\r\n",
				      (long long)s->set.expire_days);
	if (n < size)
		snprintf(buf + n, size - n, "LOGIN-DELAY %llu\r\nIMPLEMENTATION Poczta\r\n",
			 (unsigned long long)(s->set.login_delay_ms / 1000));
}

static void cmd_capa(struct pop3_session *s, char **args, int n, char *rest)
{
	char caps[POP3_CAPA_MAX];

	pop3_capabilities(s, caps, sizeof(caps));
	pop3_reply(s, "+OK Capability list follows");
	pop3_host->conn_write(s->conn, caps, strlen(caps));
	pop3_reply(s, ".");
}

static void cmd_noop(struct pop3_session *s, char **args, int n, char *rest)
{
	pop3_reply(s, "+OK");
}

static void cmd_quit(struct pop3_session *s, char **args, int n, char *rest)
{
	const char *error = NULL;

	s->quit = 1;
	if (s->state != POP3_TRANSACTION) {
		pop3_reply(s, "+OK Logging out.");
		return;
	}
	/* RFC 1939 section 6: the UPDATE state. */
	if (pop3_maildrop_update(s, &error) < 0) {
		pop3_maildrop_close(s);
		pop3_reply(s, "-ERR [SYS/TEMP] %s", error);
		return;
	}
	/* unlock before the reply, so the client may log in again at once */
	pop3_maildrop_close(s);
	pop3_reply(s, "+OK Logging out, messages deleted.");
}

static void cmd_stls(struct pop3_session *s, char **args, int n, char *rest)
{
	const char *err = NULL;

	if (pop3_host->conn_is_tls(s->conn)) {
		pop3_reply(s, "-ERR TLS is already active.");
		return;
	}
	if (!pop3_host->conn_tls_available(s->conn)) {
		pop3_reply(s, "-ERR TLS is not available.");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation now.");
	if (pop3_host->conn_flush(s->conn) < 0 || pop3_host->conn_starttls(s->conn, &err) < 0) {
		pop3_host->log(s->module, PZ_LOG_INFO, "STLS failed: %s", err != NULL ? err : "write");
		s->quit = 1;
		return;
	}
	s->user_name[0] = '\0'; /* RFC 2595: forget what was said before TLS */
}

/* logged_in - the maildrop is opened and locked, or the login undone. */
static void logged_in(struct pop3_session *s, pz_user *user)
{
	const char *resp = NULL;

	s->user = user;
	if (pop3_maildrop_open(s, &resp) < 0) {
		s->user = NULL;
		pop3_reply(s, "%s", resp);
		return;
	}
	s->state = POP3_TRANSACTION;
	pop3_reply(s, "+OK Logged in.");
}

/* auth_failed - the reply for a failed login, with its RFC 3206 code; a
 * failed attempt counts as a bad command, so guessing is bounded too. */
static void auth_failed(struct pop3_session *s, const pz_error *err)
{
	s->bad_commands++;
	if (err->cls == PZ_ERR_TEMP)
		pop3_reply(s, "-ERR [SYS/TEMP] %s", err->msg);
	else
		pop3_reply(s, "-ERR [AUTH] %s", err->msg != NULL ? err->msg : "Authentication failed.");
}

static void cmd_user(struct pop3_session *s, char **args, int n, char *rest)
{
	if (!pop3_host->auth_plaintext_allowed(s->conn)) {
		pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
			   "(SSL/TLS) connections.");
		return;
	}
	snprintf(s->user_name, sizeof(s->user_name), "%s", args[0]);
	pop3_reply(s, "+OK");
}

static void cmd_pass(struct pop3_session *s, char **args, int n, char *rest)
{
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_user *user = NULL;
	char name[sizeof(s->user_name)];

	memcpy(name, s->user_name, sizeof(name));
	s->user_name[0] = '\0';
	if (name[0] == '\0') {
		pop3_reply(s, "-ERR No username given.");
		s->bad_commands++;
		return;
	}
	if (pop3_host->auth_login(s->conn, name, rest, s->pool, &user, &err) < 0) {
		auth_failed(s, &err);
		return;
	}
	logged_in(s, user);
}

/* cmd_auth - RFC 5034: AUTH mechanism [initial-response]; with no
 * argument, list the mechanisms (as many clients expect). */
static void cmd_auth(struct pop3_session *s, char **args, int n, char *rest)
{
	const struct pz_host *h = pop3_host;
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_user *user = NULL;
	const char *response = n > 1 ? (strcmp(args[1], "=") == 0 ? "" : args[1]) : NULL;
	pz_sasl *sasl;

	if (n == 0) {
		char mechs[256], *m, *save = NULL;

		snprintf(mechs, sizeof(mechs), "%s", h->auth_mechanisms(s->conn));
		pop3_reply(s, "+OK");
		for (m = strtok_r(mechs, " ", &save); m != NULL; m = strtok_r(NULL, " ", &save))
			pop3_reply(s, "%s", m);
		pop3_reply(s, ".");
		return;
	}
	sasl = h->sasl_begin(s->conn, args[0], s->pool, &err);
	if (sasl == NULL) {
		if (err.cls == PZ_ERR_NOT_SUPPORTED)
			pop3_reply(s, "-ERR Unsupported authentication mechanism.");
		else
			auth_failed(s, &err);
		return;
	}
	for (;;) {
		const char *challenge = NULL;
		char *line;
		size_t len;
		int r = h->sasl_step(sasl, response, &challenge, &user, &err);

		if (r == PZ_SASL_DONE) {
			logged_in(s, user);
			return;
		}
		if (r == PZ_SASL_FAILED) {
			auth_failed(s, &err);
			return;
		}
		pop3_reply(s, "+ %s", challenge);
		if (h->conn_flush(s->conn) < 0) {
			s->quit = 1;
			return;
		}
		r = h->conn_read_line(s->conn, POP3_MAX_LINE, &line, &len);
		if (r == PZ_IO_TOO_LONG) {
			pop3_reply(s, "-ERR Authentication response too long.");
			s->bad_commands++;
			return;
		}
		if (r != PZ_IO_OK) {
			if (r == PZ_IO_SHUTDOWN)
				pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down.");
			s->quit = 1;
			return;
		}
		response = line;
	}
}

/* msg_arg - the message a sequence number names, or NULL after an -ERR. */
static struct pop3_msg *msg_arg(struct pop3_session *s, const char *arg)
{
	char *end = NULL;
	unsigned long long n = strtoull(arg, &end, 10);

	if (*arg < '0' || *arg > '9' || *end != '\0') {
		pop3_reply(s, "-ERR Invalid message number: %s", arg);
		s->bad_commands++;
		return NULL;
	}
	if (n == 0 || n > s->n_msgs) {
		pop3_reply(s, "-ERR There's no message %llu.", n);
		return NULL;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, "-ERR Message is deleted.");
		return NULL;
	}
	return &s->msgs[n - 1];
}

static void cmd_stat(struct pop3_session *s, char **args, int n, char *rest)
{
	uint64_t count = 0, size = 0;
	uint32_t i;

	for (i = 0; i < s->n_msgs; i++) {
		if (!s->msgs[i].deleted) {
			count++;
			size += s->msgs[i].size;
		}
	}
	pop3_reply(s, "+OK %llu %llu", (unsigned long long)count, (unsigned long long)size);
}

/* list_or_uidl - LIST and UIDL share their shape: one line, or all. */
static void list_or_uidl(struct pop3_session *s, char **args, int n, int uidl)
{
	uint32_t i;

	if (n == 1) {
		struct pop3_msg *m = msg_arg(s, args[0]);

		if (m == NULL)
			return;
		if (uidl)
			pop3_reply(s, "+OK %u %s", (unsigned int)(m - s->msgs) + 1, pop3_uidl(s, m));
		else
			pop3_reply(s, "+OK %u %llu", (unsigned int)(m - s->msgs) + 1,
				   (unsigned long long)m->size);
		return;
	}
	pop3_reply(s, "+OK");
	for (i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (uidl)
			pop3_reply(s, "%u %s", i + 1, pop3_uidl(s, &s->msgs[i]));
		else
			pop3_reply(s, "%u %llu", i + 1, (unsigned long long)s->msgs[i].size);
	}
	pop3_reply(s, ".");
}

static void cmd_list(struct pop3_session *s, char **args, int n, char *rest)
{
	list_or_uidl(s, args, n, 0);
}

static void cmd_uidl(struct pop3_session *s, char **args, int n, char *rest)
{
	list_or_uidl(s, args, n, 1);
}

static void cmd_retr(struct pop3_session *s, char **args, int n, char *rest)
{
	struct pop3_msg *m = msg_arg(s, args[0]);

	if (m == NULL)
		return;
	if (pop3_send_message(s, m, -1) == 0)
		m->retrieved = 1;
}

static void cmd_top(struct pop3_session *s, char **args, int n, char *rest)
{
	struct pop3_msg *m = msg_arg(s, args[0]);
	char *end = NULL;
	unsigned long long lines;

	if (m == NULL)
		return;
	lines = strtoull(args[1], &end, 10);
	if (args[1][0] < '0' || args[1][0] > '9' || *end != '\0' || lines > INT64_MAX) {
		pop3_reply(s, "-ERR Invalid number of lines: %s", args[1]);
		s->bad_commands++;
		return;
	}
	(void)pop3_send_message(s, m, (int64_t)lines);
}

static void cmd_dele(struct pop3_session *s, char **args, int n, char *rest)
{
	struct pop3_msg *m = msg_arg(s, args[0]);

	if (m == NULL)
		return;
	m->deleted = 1;
	pop3_reply(s, "+OK Marked to be deleted.");
}

static void cmd_rset(struct pop3_session *s, char **args, int n, char *rest)
{
	uint32_t i;

	for (i = 0; i < s->n_msgs; i++) {
		s->msgs[i].deleted = 0;
		s->msgs[i].retrieved = 0;
	}
	pop3_reply(s, "+OK");
}

static const struct pop3_cmd commands[] = {
	{ "CAPA", ST_AUTH | ST_TRANS, 0, 0, cmd_capa },
	{ "QUIT", ST_AUTH | ST_TRANS, 0, 0, cmd_quit },
	{ "NOOP", ST_TRANS, 0, 0, cmd_noop },
	{ "STLS", ST_AUTH, 0, 0, cmd_stls },
	{ "USER", ST_AUTH, 1, 1, cmd_user },
	/* PASS takes the rest of the line: a password may hold blanks */
	{ "PASS", ST_AUTH, 1, POP3_MAX_ARGS + 1, cmd_pass },
	{ "AUTH", ST_AUTH, 0, 2, cmd_auth },
	{ "STAT", ST_TRANS, 0, 0, cmd_stat },
	{ "LIST", ST_TRANS, 0, 1, cmd_list },
	{ "UIDL", ST_TRANS, 0, 1, cmd_uidl },
	{ "RETR", ST_TRANS, 1, 1, cmd_retr },
	{ "TOP", ST_TRANS, 2, 2, cmd_top },
	{ "DELE", ST_TRANS, 1, 1, cmd_dele },
	{ "RSET", ST_TRANS, 0, 0, cmd_rset },
};

void pop3_command(struct pop3_session *s, char *line)
{
	char *args[POP3_MAX_ARGS + 1], *word, *sp, *save = NULL;
	char rest[POP3_MAX_LINE + 1];
	int n = 0;
	size_t i;

	/* the raw text after the command word (a password may hold blanks),
	 * copied before strtok_r cuts the line up */
	sp = strchr(line, ' ');
	snprintf(rest, sizeof(rest), "%s", sp != NULL ? sp + 1 : "");
	word = strtok_r(line, " ", &save);
	if (word == NULL) {
		pop3_reply(s, "-ERR Empty command.");
		s->bad_commands++;
		return;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcasecmp(commands[i].name, word) == 0)
			break;
	}
	if (i == sizeof(commands) / sizeof(commands[0])) {
		pop3_reply(s, "-ERR Unknown command: %.40s", word);
		s->bad_commands++;
		return;
	}
	if ((commands[i].states & (1u << s->state)) == 0) {
		pop3_reply(s, s->state == POP3_AUTHORIZATION ? "-ERR Log in first." :
			   "-ERR Command not valid after login.");
		s->bad_commands++;
		return;
	}
	while (n <= POP3_MAX_ARGS && (args[n] = strtok_r(NULL, " ", &save)) != NULL)
		n++;
	if (n < commands[i].min_args || n > commands[i].max_args) {
		pop3_reply(s, "-ERR Wrong number of arguments for %s.", commands[i].name);
		s->bad_commands++;
		return;
	}
	commands[i].fn(s, args, n, rest);
}
