/* modules/imap/imap-idle.c - IDLE (RFC 2177, RFC 9051 6.3.13): wait on the
 * client and the storage's notify descriptor together; when the mailbox
 * may have changed, sync and push EXISTS, EXPUNGE and flag FETCHes at
 * once.  A keepalive line every two minutes keeps NAT state alive; the
 * session ends after idle_timeout (at least 30 minutes). */
#include <string.h>
#include <strings.h>
#include <time.h>
#include "imap.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int notify_fd(struct imap_session *s)
{
	if (s->view == NULL || !PZ_OPS_HAS(s->storage, mailbox_notify_fd))
		return -1;
	return s->storage->mailbox_notify_fd(s->view->box);
}

static void idle_sync(struct imap_session *s)
{
	pz_error err = { PZ_ERR_NONE, NULL };

	(void)imap_view_sync(s, 1, &err); /* a failure says BYE */
	imap_host->conn_flush(s->conn);
}

/* read_done - the client's line that ends IDLE; 0 when it was DONE. */
static int read_done(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	char *line;
	size_t len;
	int r = imap_host->conn_read_line(s->conn, IMAP_MAX_LINE, &line, &len);

	if (r == PZ_IO_OK && strcasecmp(line, "DONE") == 0)
		return 0;
	if (r == PZ_IO_OK || r == PZ_IO_TOO_LONG) {
		imap_bad(cmd, "Expected DONE.");
		return -1;
	}
	if (r == PZ_IO_SHUTDOWN)
		imap_untagged(s, "BYE [UNAVAILABLE] Server shutting down.");
	cmd->replied = 1;
	s->disconnect = 1;
	return -1;
}

void imap_cmd_idle(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	int fd = notify_fd(s);
	uint64_t start = now_ms(), keepalive = start;

	if (cmd->count != 0) {
		imap_bad(cmd, "IDLE takes no arguments.");
		return;
	}
	imap_line(s, "+ idling");
	for (;;) {
		uint64_t now = now_ms();
		int slice = fd >= 0 ? (int)IMAP_IDLE_KEEPALIVE_MS : IMAP_IDLE_POLL_MS;
		int r;

		if (now - start >= s->set.idle_timeout_ms) {
			imap_untagged(s, "BYE Disconnected for inactivity.");
			cmd->replied = 1;
			s->disconnect = 1;
			return;
		}
		if (now - keepalive >= IMAP_IDLE_KEEPALIVE_MS) {
			imap_untagged(s, "OK Still here");
			keepalive = now;
		}
		r = imap_host->conn_wait(s->conn, fd, slice);
		if (r < 0) {
			cmd->replied = 1;
			s->disconnect = 1;
			return;
		}
		if (r == 1) {
			if (read_done(cmd) == 0)
				break;
			return;
		}
		if (r == 2)
			s->storage->mailbox_notify_ack(s->view->box);
		if (s->view != NULL && (r == 2 || fd < 0 || r == 0))
			idle_sync(s);
		if (s->disconnect) {
			cmd->replied = 1;
			return;
		}
	}
	imap_ok(cmd, "Idle completed.");
}
