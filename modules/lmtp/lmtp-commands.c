/* modules/lmtp/lmtp-commands.c - the LMTP command table (RFC 2033, RFC 5321
 * section 4.1, RFC 3030 CHUNKING, RFC 1870 SIZE, RFC 6531 SMTPUTF8). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lmtp.h"

#define LMTP_CHUNK 65536

#define ST(x) (1u << (x))

struct lmtp_cmd {
	const char *name;
	unsigned int states;
	void (*fn)(struct lmtp_session *s, char *args);
};

static void cmd_lhlo(struct lmtp_session *s, char *args)
{
	const struct pz_host *h = lmtp_host;

	size_t len = strcspn(args, " "), i;

	if (len == 0) {
		lmtp_reply(s, "501 5.5.4 LHLO needs a domain");
		return;
	}
	/* the name goes into Received: only printable ASCII, bounded */
	for (i = 0; i < len; i++) {
		if ((unsigned char)args[i] <= 0x20 || (unsigned char)args[i] >= 0x7f)
			break;
	}
	if (i < len || len >= sizeof(s->lhlo)) {
		lmtp_reply(s, "501 5.5.4 Invalid LHLO domain");
		return;
	}
	lmtp_tx_reset(s);
	memcpy(s->lhlo, args, len);
	s->lhlo[len] = '\0';
	s->state = LMTP_READY;
	lmtp_reply(s, "250-%s", h->config_global("hostname"));
	if (strcmp(h->conn_peer(s->conn), "unix") != 0 && h->conn_tls_available(s->conn))
		lmtp_reply(s, "250-STARTTLS");
	lmtp_reply(s, "250-8BITMIME");
	lmtp_reply(s, "250-ENHANCEDSTATUSCODES");
	lmtp_reply(s, "250-PIPELINING");
	lmtp_reply(s, "250-CHUNKING");
	lmtp_reply(s, "250-SMTPUTF8");
	lmtp_reply(s, "250 SIZE %llu", (unsigned long long)s->set.max_message_size);
}

static void cmd_helo(struct lmtp_session *s, char *args)
{
	lmtp_reply(s, "500 5.5.1 This is LMTP: use LHLO");
}

/* parse_path - "<addr>" (after FROM: or TO:) into *addr_r, in place in
 * the command line; the rest (parameters) into *params_r.  Quoted local
 * parts may hold '>'.  Control bytes, and blanks outside quotes, are
 * refused: the address goes into header fields. */
static int parse_path(char *p, char **addr_r, char **params_r)
{
	char *start, *q;
	int quoted = 0;

	while (*p == ' ')
		p++;
	if (*p != '<')
		return -1;
	start = ++p;
	for (q = start; *q != '\0'; q++) {
		if ((unsigned char)*q < 0x20 || *q == 0x7f || (*q == ' ' && !quoted))
			return -1;
		if (*q == '\\' && quoted && q[1] != '\0')
			q++;
		else if (*q == '"')
			quoted = !quoted;
		else if (*q == '>' && !quoted)
			break;
	}
	if (*q != '>' || q - start > LMTP_MAX_ADDRESS)
		return -1;
	*q++ = '\0';
	/* a source route <@a,@b:user@c> (RFC 5321 appendix C) is ignored */
	if (*start == '@' && strchr(start, ':') != NULL)
		start = strchr(start, ':') + 1;
	*addr_r = start;
	while (*q == ' ')
		q++;
	*params_r = q;
	return 0;
}

static int has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return 1;
	}
	return 0;
}

static void cmd_mail(struct lmtp_session *s, char *args)
{
	char *addr, *params, *param, *save = NULL;
	int utf8 = 0;

	if (s->state == LMTP_GREETED) {
		lmtp_reply(s, "503 5.5.1 Send LHLO first");
		return;
	}
	if (s->state != LMTP_READY) {
		lmtp_reply(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (strncasecmp(args, "FROM:", 5) != 0 || parse_path(args + 5, &addr, &params) < 0) {
		lmtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	for (param = strtok_r(params, " ", &save); param != NULL; param = strtok_r(NULL, " ", &save)) {
		if (strncasecmp(param, "SIZE=", 5) == 0) {
			char *end = NULL;
			unsigned long long n = strtoull(param + 5, &end, 10);

			if (param[5] < '0' || param[5] > '9' || *end != '\0') {
				lmtp_reply(s, "501 5.5.4 Bad SIZE parameter");
				return;
			}
			if (n > s->set.max_message_size) {
				lmtp_reply(s, "552 5.3.4 Message size exceeds the limit of %llu bytes",
					   (unsigned long long)s->set.max_message_size);
				return;
			}
			s->declared_size = n;
		} else if (strncasecmp(param, "BODY=", 5) == 0) {
			if (strcasecmp(param + 5, "7BIT") != 0 && strcasecmp(param + 5, "8BITMIME") != 0 &&
			    strcasecmp(param + 5, "BINARYMIME") != 0) {
				lmtp_reply(s, "501 5.5.4 Unknown BODY type");
				return;
			}
		} else if (strcasecmp(param, "SMTPUTF8") == 0) {
			utf8 = 1;
		} else {
			lmtp_reply(s, "555 5.5.4 Unsupported parameter %.40s", param);
			return;
		}
	}
	if (has_8bit(addr) && !utf8) {
		lmtp_reply(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	s->sender = lmtp_host->pool_strdup(s->tx_pool, addr);
	s->state = LMTP_MAIL;
	lmtp_reply(s, "250 2.1.0 Ok");
}

/* in_list - `word` (case-insensitive) in a blank-separated list. */
static int in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (list != NULL && *list != '\0') {
		size_t len = strcspn(list, " \t,");

		if (len == n && strncasecmp(list, word, n) == 0)
			return 1;
		list += len;
		list += strspn(list, " \t,");
	}
	return 0;
}

/* lookup_rcpt - the user for an address: user@domain first, then the bare
 * user for local domains; detail stripped.  0 found, 1 unknown, -1 temp.
 * Only a found user is allocated (in the transaction's pool). */
static int lookup_rcpt(struct lmtp_session *s, struct lmtp_rcpt *r, const char *address,
		       char **detail_r)
{
	const struct pz_host *h = lmtp_host;
	const char *delim = s->set.recipient_delimiter;
	char local[LMTP_MAX_ADDRESS + 1], full[2 * LMTP_MAX_ADDRESS + 2];
	char *domain, *detail = NULL;
	pz_error err = { PZ_ERR_NONE, NULL };
	int rc;

	snprintf(local, sizeof(local), "%s", address);
	domain = strrchr(local, '@');
	if (domain != NULL)
		*domain++ = '\0';
	if (delim[0] != '\0' && (detail = strstr(local, delim)) != NULL) {
		*detail = '\0';
		detail += strlen(delim);
	}
	*detail_r = detail;
	if (local[0] == '\0')
		return 1;
	if (domain != NULL) {
		snprintf(full, sizeof(full), "%s@%s", local, domain);
		rc = h->user_lookup(full, s->tx_pool, &r->user, &err);
		if (rc != 1 || (s->set.local_domains != NULL && !in_list(s->set.local_domains, domain)))
			return rc;
	}
	return h->user_lookup(local, s->tx_pool, &r->user, &err);
}

/* deliver_mailbox_param - PZ_DELIVER_MAILBOX_PARAM=xtext, accepted only on
 * poczta-deliver's internal connection. */
static int deliver_mailbox_param(struct lmtp_session *s, char *param, char **mailbox_r)
{
	const char *name = PZ_DELIVER_MAILBOX_PARAM "=", *p;
	char *out, *o;

	if (strcmp(lmtp_host->conn_listener(s->conn), PZ_DELIVER_LISTENER) != 0 ||
	    strncasecmp(param, name, strlen(name)) != 0 || strchr(param, ' ') != NULL)
		return -1;
	/* decoding only shrinks: decode in place */
	p = param + strlen(name);
	out = o = param;
	for (; *p != '\0'; p++) {
		unsigned int c;

		if (*p == '+') {
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
			    sscanf(p + 1, "%2X", &c) != 1 || c == 0)
				return -1;
			*o++ = (char)c;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	*mailbox_r = out;
	return out[0] == '\0' ? -1 : 0;
}

static void cmd_rcpt(struct lmtp_session *s, char *args)
{
	struct lmtp_rcpt r = { NULL, NULL, NULL };
	char *params, *address, *detail = NULL, *mailbox = NULL;
	int rc;

	if (s->state != LMTP_MAIL) {
		lmtp_reply(s, "503 5.5.1 MAIL needed first");
		return;
	}
	if (strncasecmp(args, "TO:", 3) != 0 || parse_path(args + 3, &address, &params) < 0 ||
	    address[0] == '\0') {
		lmtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (*params != '\0' && deliver_mailbox_param(s, params, &mailbox) < 0) {
		lmtp_reply(s, "555 5.5.4 Unsupported parameter %.40s", params);
		return;
	}
	if ((int64_t)s->n_rcpts >= s->set.max_recipients) {
		lmtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	rc = lookup_rcpt(s, &r, address, &detail);
	if (rc < 0) {
		lmtp_reply(s, "451 4.3.0 <%s> Temporary user lookup failure", address);
		return;
	}
	if (rc > 0) {
		lmtp_reply(s, "550 5.1.1 <%s> User doesn't exist", address);
		return;
	}
	r.address = lmtp_host->pool_strdup(s->tx_pool, address);
	if (mailbox != NULL)
		r.mailbox = lmtp_host->pool_strdup(s->tx_pool, mailbox);
	else if (detail != NULL && detail[0] != '\0' && s->set.detail_mailbox)
		r.mailbox = lmtp_host->pool_strdup(s->tx_pool, detail);
	if (s->n_rcpts == s->rcpts_alloc) {
		size_t n = s->rcpts_alloc == 0 ? 8 : s->rcpts_alloc * 2;

		s->rcpts = lmtp_host->pool_realloc(s->tx_pool, s->rcpts, s->rcpts_alloc * sizeof(r),
						   n * sizeof(r));
		s->rcpts_alloc = n;
	}
	s->rcpts[s->n_rcpts++] = r;
	lmtp_reply(s, "250 2.1.5 Ok");
}

/* reply_all - the same reply for every accepted recipient (RFC 2033 4.2). */
static void reply_all(struct lmtp_session *s, const char *code, const char *text)
{
	size_t i;

	for (i = 0; i < s->n_rcpts; i++)
		lmtp_reply(s, "%s <%s> %s", code, s->rcpts[i].address, text);
}

/* finish_message - after DATA's dot or BDAT LAST: deliver or refuse. */
static void finish_message(struct lmtp_session *s)
{
	if (s->spool.too_big)
		reply_all(s, "552 5.3.4", "Message too big");
	else if (s->spool.failed)
		reply_all(s, "451 4.3.0", "Temporary failure spooling the message");
	else
		lmtp_deliver(s);
	lmtp_tx_reset(s);
}

static void cmd_data(struct lmtp_session *s, char *args)
{
	const struct pz_host *h = lmtp_host;

	if (s->state != LMTP_MAIL) {
		lmtp_reply(s, s->state == LMTP_BDAT ? "503 5.5.1 DATA after BDAT" :
			   "503 5.5.1 MAIL needed first");
		return;
	}
	if (s->n_rcpts == 0) {
		lmtp_reply(s, "554 5.5.1 No valid recipients");
		return;
	}
	lmtp_reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
	if (h->conn_flush(s->conn) < 0) {
		s->quit = 1;
		return;
	}
	for (;;) {
		char *line;
		size_t len;
		int r = h->conn_read_line(s->conn, LMTP_MAX_DATA_LINE, &line, &len);

		if (r == PZ_IO_TOO_LONG) {
			s->spool.too_big = 1;
			continue;
		}
		if (r != PZ_IO_OK) {
			/* nothing was acknowledged: the MTA keeps the message */
			lmtp_reply(s, r == PZ_IO_TIMEOUT ? "421 4.4.2 Timeout during DATA" :
				   "421 4.3.2 Connection closing during DATA");
			s->quit = 1;
			return;
		}
		if (len == 1 && line[0] == '.')
			break;
		if (line[0] == '.') { /* RFC 5321 4.5.2: remove the stuffed dot */
			line++;
			len--;
		}
		lmtp_spool_write(s, line, len);
		lmtp_spool_write(s, "\r\n", 2);
	}
	finish_message(s);
}

static void cmd_bdat(struct lmtp_session *s, char *args)
{
	const struct pz_host *h = lmtp_host;
	char *end = NULL, buf[LMTP_CHUNK];
	unsigned long long size = strtoull(args, &end, 10);
	int last;

	if (args[0] < '0' || args[0] > '9' || (*end != '\0' && *end != ' ')) {
		lmtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	while (*end == ' ')
		end++;
	last = strcasecmp(end, "LAST") == 0;
	if (*end != '\0' && !last) {
		lmtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	/* the chunk follows the command whatever we answer: read it first */
	while (size > 0) {
		size_t n = size > sizeof(buf) ? sizeof(buf) : (size_t)size;

		int r = h->conn_read(s->conn, buf, n);

		if (r != PZ_IO_OK) {
			/* nothing was acknowledged: the MTA keeps the message */
			lmtp_reply(s, r == PZ_IO_TIMEOUT ? "421 4.4.2 Timeout during BDAT" :
				   "421 4.3.2 Connection closing during BDAT");
			s->quit = 1;
			return;
		}
		if (s->state == LMTP_MAIL || s->state == LMTP_BDAT)
			lmtp_spool_write(s, buf, n);
		size -= n;
	}
	if (s->state != LMTP_MAIL && s->state != LMTP_BDAT) {
		lmtp_reply(s, "503 5.5.1 MAIL needed first");
		return;
	}
	if (s->n_rcpts == 0) {
		lmtp_reply(s, "554 5.5.1 No valid recipients");
		lmtp_tx_reset(s);
		return;
	}
	s->state = LMTP_BDAT;
	if (!last) {
		lmtp_reply(s, "250 2.0.0 %llu octets received", (unsigned long long)s->spool.size);
		return;
	}
	finish_message(s);
}

static void cmd_rset(struct lmtp_session *s, char *args)
{
	lmtp_tx_reset(s);
	lmtp_reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct lmtp_session *s, char *args)
{
	lmtp_reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct lmtp_session *s, char *args)
{
	lmtp_reply(s, "221 2.0.0 Bye");
	s->quit = 1;
}

static void cmd_vrfy(struct lmtp_session *s, char *args)
{
	lmtp_reply(s, "502 5.5.1 VRFY is disabled");
}

static void cmd_starttls(struct lmtp_session *s, char *args)
{
	const struct pz_host *h = lmtp_host;
	const char *err = NULL;

	if (strcmp(h->conn_peer(s->conn), "unix") == 0 || !h->conn_tls_available(s->conn)) {
		lmtp_reply(s, "502 5.5.1 TLS not available");
		return;
	}
	if (s->state != LMTP_READY) {
		lmtp_reply(s, "503 5.5.1 STARTTLS only after LHLO and outside a transaction");
		return;
	}
	lmtp_reply(s, "220 2.0.0 Ready to start TLS");
	if (h->conn_flush(s->conn) < 0 || h->conn_starttls(s->conn, &err) < 0) {
		h->log(s->module, PZ_LOG_INFO, "STARTTLS failed: %s", err != NULL ? err : "write");
		s->quit = 1;
		return;
	}
	s->state = LMTP_GREETED; /* RFC 3207: start over with LHLO */
}

static const struct lmtp_cmd commands[] = {
	{ "LHLO", ST(LMTP_GREETED) | ST(LMTP_READY) | ST(LMTP_MAIL) | ST(LMTP_BDAT), cmd_lhlo },
	{ "HELO", ~0u, cmd_helo },
	{ "EHLO", ~0u, cmd_helo },
	{ "MAIL", ~0u, cmd_mail },
	{ "RCPT", ~0u, cmd_rcpt },
	{ "DATA", ~0u, cmd_data },
	{ "BDAT", ~0u, cmd_bdat },
	{ "RSET", ~0u, cmd_rset },
	{ "NOOP", ~0u, cmd_noop },
	{ "QUIT", ~0u, cmd_quit },
	{ "VRFY", ~0u, cmd_vrfy },
	{ "STARTTLS", ~0u, cmd_starttls },
};

void lmtp_command(struct lmtp_session *s, char *line)
{
	size_t wlen = strcspn(line, " "), i;
	char *args = line + wlen;

	while (*args == ' ')
		args++;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].name) == wlen && strncasecmp(commands[i].name, line, wlen) == 0)
			break;
	}
	if (i == sizeof(commands) / sizeof(commands[0])) {
		lmtp_reply(s, "500 5.5.2 Unknown command");
		return;
	}
	if ((commands[i].states & ST(s->state)) == 0) {
		lmtp_reply(s, "503 5.5.1 Bad sequence of commands");
		return;
	}
	commands[i].fn(s, args);
}
