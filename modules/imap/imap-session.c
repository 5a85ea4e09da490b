/* modules/imap/imap-session.c - the session loop: greet, read a command
 * (lines and literals, through the resumable parser), run it, flush when
 * the client has no more pipelined input waiting, until LOGOUT, a timeout,
 * too many bad commands or the server stopping. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "imap.h"

#define RAW_CHUNK 16384
#define READ_IO_FAILED -1

static const char *const state_names[] = {
	"not authenticated", "authenticated", "selected", "logout",
};

static void *cmd_alloc(void *ctx, size_t size)
{
	return imap_host->pool_alloc(ctx, size);
}

static unsigned int clamp_ms(uint64_t ms)
{
	return ms > 0x7fffffff ? 0x7fffffff : (unsigned int)ms;
}

int imap_rev2(const struct imap_session *s)
{
	return (s->enabled & IMAP_ENABLED_REV2) != 0;
}

/* imap_session_set_state - enter a state; logging in changes the timeout
 * from the login one to the (at least 30 minute) idle one. */
void imap_session_set_state(struct imap_session *s, enum imap_state state)
{
	if (s->state == state)
		return;
	imap_host->log(s->module, PZ_LOG_DEBUG, "state %s -> %s", state_names[s->state],
		       state_names[state]);
	if (s->state == IMAP_STATE_NOT_AUTH && state != IMAP_STATE_LOGOUT)
		imap_host->conn_set_timeout(s->conn, clamp_ms(s->set.idle_timeout_ms));
	s->state = state;
}

int imap_read_raw(struct imap_session *s, void *buf, size_t n)
{
	return imap_host->conn_read(s->conn, buf, n);
}

/* io_goodbye - the last word when reading failed; 0 ends the session. */
static void io_goodbye(struct imap_session *s, int r)
{
	if (r == PZ_IO_TIMEOUT)
		imap_untagged(s, "BYE Disconnected for inactivity.");
	else if (r == PZ_IO_SHUTDOWN)
		imap_untagged(s, "BYE [UNAVAILABLE] Server shutting down.");
}

/* literal_header - the parser stopped at a literal header: APPEND takes
 * its message literals itself; any other literal is read by the parser,
 * after a continuation request when the client waits for one. */
static void literal_header(struct imap_session *s)
{
	struct imap_parser *p = &s->parser;

	if (s->state != IMAP_STATE_NOT_AUTH && strcasecmp(p->name, "APPEND") == 0) {
		imap_append_literal(s);
		return;
	}
	if (imap_parser_literal_accept(p) == 0 && p->literal_sync) {
		imap_line(s, "+ Ready for literal data");
		imap_host->conn_flush(s->conn);
	}
}

/* read_raw_wanted - literal bytes the parser reads itself. */
static int read_raw_wanted(struct imap_session *s, uint64_t want, int *io_r)
{
	char buf[RAW_CHUNK];
	size_t n = want < sizeof(buf) ? (size_t)want : sizeof(buf), used;
	int r = imap_read_raw(s, buf, n);

	if (r != PZ_IO_OK) {
		*io_r = r;
		return READ_IO_FAILED;
	}
	return imap_parser_feed(&s->parser, buf, n, &used);
}

/* read_command - until the parser has a whole command (DONE), a bad one
 * (ERROR), one refused by APPEND (SKIPPED), or reading failed. */
static int read_command(struct imap_session *s, int *io_r)
{
	struct imap_parser *p = &s->parser;

	for (;;) {
		uint64_t want = imap_parser_raw_wanted(p);
		size_t len, used = 0;
		char *line;
		int r;

		if (want > 0) {
			r = read_raw_wanted(s, want, io_r);
		} else {
			r = imap_host->conn_read_line(s->conn, IMAP_MAX_LINE, &line, &len);
			if (r == PZ_IO_TOO_LONG) {
				if (p->tag_ok)
					imap_line(s, "%s BAD [TOOBIG] Command line too long.", p->tag);
				else
					imap_untagged(s, "BAD [TOOBIG] Command line too long.");
				s->bad_commands++;
				if (s->append != NULL)
					imap_append_abort(s);
				return IMAP_PARSE_SKIPPED;
			}
			if (r != PZ_IO_OK) {
				*io_r = r;
				return READ_IO_FAILED;
			}
			(void)imap_parser_feed(p, line, len, &used);
			r = imap_parser_feed(p, "\n", 1, &used);
		}
		if (r == IMAP_PARSE_LITERAL) {
			/* a refused literal may have ended the command */
			literal_header(s);
			r = imap_parser_feed(p, "", 0, &used);
		}
		if (r != IMAP_PARSE_MORE)
			return r;
	}
}

static void bad_syntax(struct imap_session *s)
{
	const struct imap_parser *p = &s->parser;

	if (p->tag_ok)
		imap_line(s, "%s BAD %s", p->tag, p->error);
	else
		imap_untagged(s, "BAD %s", p->error);
	s->bad_commands++;
}

static void session_init(struct imap_session *s, pz_module *self, pz_conn *conn,
			 pz_pool *pool)
{
	static const struct imap_parser_limits limits = {
		.max_token = IMAP_MAX_LINE,
		.max_literal = IMAP_MAX_LITERAL,
		.max_total = IMAP_MAX_COMMAND,
		.max_depth = IMAP_MAX_DEPTH,
		.max_args = IMAP_MAX_ARGS,
	};

	s->module = self;
	s->conn = conn;
	s->pool = pool;
	s->cmd_pool = imap_host->pool_create("imap command");
	s->state = IMAP_STATE_NOT_AUTH;
	imap_settings_read(self, &s->set);
	imap_parser_init(&s->parser, &limits,
			 imap_host->pool_alloc(pool, IMAP_MAX_LINE + 1), cmd_alloc, s->cmd_pool);
}

/* session_end - close what the session holds, before its pool goes. */
static void session_end(struct imap_session *s)
{
	if (s->append != NULL)
		imap_append_abort(s);
	if (s->view != NULL)
		imap_view_close(s);
	if (s->mu != NULL && s->storage->user_close != NULL)
		s->storage->user_close(&s->mu);
	imap_host->pool_destroy(&s->cmd_pool);
}

void imap_session(pz_module *self, pz_conn *conn, pz_pool *pool)
{
	struct imap_session *s = imap_host->pool_alloc(pool, sizeof(*s));
	int io = PZ_IO_OK;

	session_init(s, self, conn, pool);
	imap_host->conn_set_timeout(conn, clamp_ms(s->set.login_timeout_ms));
	imap_untagged(s, "OK [CAPABILITY %s] %s", imap_capabilities(s, s->cmd_pool),
		      s->set.greeting);
	imap_host->conn_flush(conn);
	while (s->state != IMAP_STATE_LOGOUT && !s->disconnect) {
		int r = read_command(s, &io);

		if (r == READ_IO_FAILED) {
			io_goodbye(s, io);
			break;
		}
		if (r == IMAP_PARSE_DONE)
			imap_command_run(s);
		else if (r == IMAP_PARSE_ERROR)
			bad_syntax(s);
		if (s->append != NULL)
			imap_append_abort(s);
		imap_parser_reset(&s->parser);
		imap_host->pool_clear(s->cmd_pool);
		if (s->set.max_bad_commands > 0 && s->bad_commands >= s->set.max_bad_commands) {
			imap_untagged(s, "BYE Too many invalid IMAP commands.");
			break;
		}
		if (imap_host->conn_input_pending(conn) == 0 &&
		    imap_host->conn_flush(conn) < 0)
			break;
	}
	imap_host->conn_flush(conn);
	session_end(s);
}
