/* modules/lmtp/lmtp-session.c - the descriptor, settings, and the session
 * loop: replies are flushed only when no pipelined command is waiting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lmtp.h"

const struct pz_host *lmtp_host;
static pz_module *lmtp_self;
static struct lmtp_settings lmtp_set;

static const struct pz_config_key lmtp_keys[] = {
	{ "max_message_size", PZ_CONF_SIZE, "50M", "largest message accepted (SIZE)" },
	{ "max_recipients", PZ_CONF_INT, "500", "recipients per transaction" },
	{ "spool_memory", PZ_CONF_SIZE, "1M", "message bytes kept in memory before a temp file" },
	{ "spool_dir", PZ_CONF_PATH, "/tmp", "where larger messages are spooled (unlinked files)" },
	{ "recipient_delimiter", PZ_CONF_STRING, "+",
	  "separates user and detail in user+detail@domain; empty: no detail" },
	{ "detail_mailbox", PZ_CONF_BOOL, "no",
	  "deliver user+detail into the mailbox `detail` when it exists" },
	{ "local_domains", PZ_CONF_LIST, NULL,
	  "domains whose users are also looked up without @domain; empty: any domain" },
	{ "quota_tempfail", PZ_CONF_BOOL, "no",
	  "over quota: 452 4.2.2 (retry later) instead of 552 5.2.2" },
	{ "timeout", PZ_CONF_DURATION, "5m", "inactivity before the session is dropped" },
	{ NULL, 0, NULL, NULL }
};

const struct lmtp_settings *lmtp_settings_get(void)
{
	return &lmtp_set;
}

void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
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
	/* a reply is one line whatever text a filter or client put in it */
	for (int i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	}
	memcpy(buf + n, "\r\n", 2);
	lmtp_host->conn_write(s->conn, buf, (size_t)n + 2);
}

/* lmtp_tx_reset - forget the transaction: sender, recipients, spool. */
void lmtp_tx_reset(struct lmtp_session *s)
{
	lmtp_spool_free(&s->spool);
	lmtp_spool_init(&s->spool);
	lmtp_host->pool_clear(s->tx_pool);
	s->sender = NULL;
	s->declared_size = 0;
	s->rcpts = NULL;
	s->n_rcpts = s->rcpts_alloc = 0;
	if (s->state != LMTP_GREETED)
		s->state = LMTP_READY;
}

static void lmtp_session(pz_module *self, pz_conn *conn, pz_pool *pool)
{
	struct lmtp_session *s = lmtp_host->pool_alloc(pool, sizeof(*s));

	s->module = self;
	s->conn = conn;
	s->pool = pool;
	s->tx_pool = lmtp_host->pool_create("lmtp transaction");
	s->state = LMTP_GREETED;
	s->set = lmtp_set;
	lmtp_spool_init(&s->spool);
	lmtp_host->conn_set_timeout(conn, s->set.timeout_ms > 0x7fffffff ? 0x7fffffff :
				    (unsigned int)s->set.timeout_ms);
	lmtp_reply(s, "220 %s Poczta LMTP ready", lmtp_host->config_global("hostname"));
	lmtp_host->conn_flush(conn);
	while (!s->quit) {
		char *line;
		size_t len;
		int r = lmtp_host->conn_read_line(conn, LMTP_MAX_LINE, &line, &len);

		if (r == PZ_IO_TOO_LONG) {
			lmtp_reply(s, "500 5.5.2 Line too long");
		} else if (r == PZ_IO_SHUTDOWN) {
			lmtp_reply(s, "421 4.3.2 Server shutting down");
			break;
		} else if (r == PZ_IO_TIMEOUT) {
			lmtp_reply(s, "421 4.4.2 Timeout, closing connection");
			break;
		} else if (r != PZ_IO_OK) {
			break;
		} else if (strlen(line) != len) {
			lmtp_reply(s, "500 5.5.2 NUL byte in command");
		} else {
			lmtp_command(s, line);
		}
		if (lmtp_host->conn_input_pending(conn) == 0 && lmtp_host->conn_flush(conn) < 0)
			break;
	}
	lmtp_host->conn_flush(conn);
	lmtp_targets_close(s);
	lmtp_spool_free(&s->spool);
	lmtp_host->pool_destroy(&s->tx_pool);
}

static const struct pz_protocol_ops lmtp_ops = {
	.size = sizeof(struct pz_protocol_ops),
	.name = "lmtp",
	.default_port = 24,
	.default_tls_port = 0,
	.session = lmtp_session,
};

static int lmtp_init(pz_module *self, const struct pz_host *host, const char **error_r)
{
	lmtp_host = host;
	lmtp_self = self;
	lmtp_set.max_message_size = host->config_size(self, "max_message_size");
	lmtp_set.max_recipients = host->config_int(self, "max_recipients");
	lmtp_set.spool_memory = host->config_size(self, "spool_memory");
	lmtp_set.spool_dir = host->config_string(self, "spool_dir");
	lmtp_set.recipient_delimiter = host->config_string(self, "recipient_delimiter");
	lmtp_set.detail_mailbox = host->config_bool(self, "detail_mailbox");
	lmtp_set.local_domains = host->config_string(self, "local_domains");
	lmtp_set.quota_tempfail = host->config_bool(self, "quota_tempfail");
	lmtp_set.timeout_ms = host->config_duration_ms(self, "timeout");
	if (lmtp_set.max_recipients < 1) {
		*error_r = "max_recipients must be at least 1";
		return -1;
	}
	if (access(lmtp_set.spool_dir, W_OK | X_OK) < 0) {
		*error_r = "spool_dir is not a writable folder";
		return -1;
	}
	return host->register_protocol(self, &lmtp_ops, error_r);
}

POCZTA_MODULE(lmtp,
	.kinds = PZ_KIND_PROTOCOL,
	.name = "lmtp",
	.version = "0.1.0",
	.license = "MIT",
	.description = "LMTP delivery (RFC 2033) with filters at delivery",
	.config_keys = lmtp_keys,
	.init = lmtp_init)
