/* modules/pop3/pop3-maildrop.c - the maildrop: locked for the session
 * (RFC 1939 section 8), listed once at login, changed only in UPDATE. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "pop3.h"

#define POP3_SEND_CHUNK 16384

struct list_ctx {
	struct pop3_session *s;
	unsigned int box;
};

/* lock_maildrop - flock a per-user file; a second session gets IN-USE.
 * The lock file's mtime is the last login, for LOGIN-DELAY. */
static int lock_maildrop(struct pop3_session *s, const char **resp_r)
{
	const char *name = pop3_host->user_name(s->user);
	char hex[512], path[4096];
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; name[i] != '\0' && i < sizeof(hex) / 2 - 1; i++)
		snprintf(hex + i * 2, 3, "%02x", (unsigned char)name[i]);
	hex[i * 2] = '\0';
	snprintf(path, sizeof(path), "%s/%s.lock", pop3_lock_dir(s->pool), hex);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		pop3_host->log(s->module, PZ_LOG_ERROR, "open %s: %s", path, strerror(errno));
		*resp_r = "-ERR [SYS/TEMP] Cannot lock the maildrop.";
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		*resp_r = "-ERR [IN-USE] Mailbox is locked by another POP3 session.";
		return -1;
	}
	if (s->set.login_delay_ms > 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		struct timespec now;
		int64_t since_ms;

		clock_gettime(CLOCK_REALTIME, &now);
		since_ms = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
			(now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
		if (since_ms >= 0 && (uint64_t)since_ms < s->set.login_delay_ms) {
			close(fd);
			*resp_r = "-ERR [LOGIN-DELAY] Logged in too recently; try again later.";
			return -1;
		}
	}
	if (pwrite(fd, "1", 1, 0) != 1 || futimens(fd, NULL) < 0)
		pop3_host->log(s->module, PZ_LOG_WARNING, "cannot mark login time in %s", path);
	s->lock_fd = fd;
	return 0;
}

static void list_appended(void *ctx, const struct pz_msg_info *info)
{
	struct list_ctx *lc = ctx;
	struct pop3_session *s = lc->s;
	struct pop3_msg *m;

	if (s->n_msgs == s->msgs_alloc) {
		size_t n = s->msgs_alloc == 0 ? 64 : s->msgs_alloc * 2;

		s->msgs = pop3_host->pool_realloc(s->pool, s->msgs, s->msgs_alloc * sizeof(*m),
						  n * sizeof(*m));
		s->msgs_alloc = n;
	}
	m = &s->msgs[s->n_msgs++];
	memset(m, 0, sizeof(*m));
	m->uid = info->uid;
	m->size = info->rfc822_size;
	m->box = lc->box;
	m->flags = info->flags;
}

/* mark_expired - RFC 2449 EXPIRE counts days since a message was
 * retrieved: POP3 records that time in the storage's cache at UPDATE, and
 * messages retrieved longer ago than the policy are marked for removal.
 * Mail never downloaded over POP3 (read over IMAP only) is kept. */
static void mark_expired(struct pop3_session *s)
{
	pz_pool *pool = pop3_host->pool_create("pop3 expire");
	time_t limit = time(NULL) - (time_t)s->set.expire_days * 86400;
	uint32_t i;

	for (i = 0; i < s->n_msgs; i++) {
		struct pop3_msg *m = &s->msgs[i];
		pz_error err = { PZ_ERR_NONE, NULL };
		const char *value = NULL;
		size_t len = 0;

		if (s->storage->msg_cache_get(s->boxes[m->box].box, m->uid, POP3_RETRIEVED_FIELD,
					      pool, &value, &len, &err) == 0 && value != NULL &&
		    strtoll(value, NULL, 10) <= limit)
			m->deleted = 1;
		pop3_host->pool_clear(pool);
	}
	pop3_host->pool_destroy(&pool);
}

/* uidset_of - the UIDs of box `box` whose flag field (deleted or retrieved)
 * is set, as ranges of consecutive UIDs. */
static pz_uidset uidset_of(struct pop3_session *s, unsigned int box, int which)
{
	struct pz_uid_range *r = pop3_host->pool_alloc(s->pool, sizeof(*r) * (s->n_msgs + 1));
	pz_uidset set = { r, 0 };
	uint32_t i;

	for (i = 0; i < s->n_msgs; i++) {
		const struct pop3_msg *m = &s->msgs[i];
		int on = which == 0 ? m->deleted : (m->retrieved && !m->deleted);

		if (m->box != box || !on)
			continue;
		if (set.count > 0 && r[set.count - 1].last + 1 == m->uid)
			r[set.count - 1].last = m->uid;
		else
			r[set.count++] = (struct pz_uid_range){ m->uid, m->uid };
	}
	return set;
}

/* expunge_box - expunge the deleted messages of one mailbox and tell the
 * indexers. */
static int expunge_box(struct pop3_session *s, unsigned int b, pz_error *err)
{
	pz_uidset set = uidset_of(s, b, 0);
	pz_uid_array gone;
	size_t i;

	if (set.count == 0)
		return 0;
	pop3_host->uid_array_init(&gone, s->pool);
	if (s->storage->expunge(s->boxes[b].box, &set, &gone, err) < 0)
		return -1;
	for (i = 0; i < gone.count; i++)
		pop3_host->filter_expunged(s->user, s->boxes[b].name, s->boxes[b].uidvalidity,
					   gone.uids[i]);
	return 0;
}

/* expire_at_login - messages past the EXPIRE policy are removed now. */
static int expire_at_login(struct pop3_session *s, pz_error *err)
{
	unsigned int b;
	uint32_t i, kept = 0;

	if (s->set.expire_days < 0)
		return 0;
	mark_expired(s);
	for (b = 0; b < s->n_boxes; b++) {
		if (expunge_box(s, b, err) < 0)
			return -1;
	}
	for (i = 0; i < s->n_msgs; i++) {
		if (!s->msgs[i].deleted)
			s->msgs[kept++] = s->msgs[i];
	}
	if (kept != s->n_msgs)
		pop3_host->log(s->module, PZ_LOG_INFO, "expired %u messages",
			       (unsigned int)(s->n_msgs - kept));
	s->n_msgs = kept;
	return 0;
}

/* open_boxes - open and list every configured mailbox. */
static int open_boxes(struct pop3_session *s, pz_error *err)
{
	static const struct pz_sync_handler handler = {
		.size = sizeof(struct pz_sync_handler),
		.appended = list_appended,
	};
	char *names = pop3_host->pool_strdup(s->pool, s->set.mailboxes), *name, *save = NULL;
	struct list_ctx lc = { s, 0 };

	for (name = strtok_r(names, " \t,", &save); name != NULL && s->n_boxes < POP3_MAX_MAILBOXES;
	     name = strtok_r(NULL, " \t,", &save)) {
		struct pop3_box *pb = &s->boxes[s->n_boxes];
		struct pz_mailbox_status st = { .size = sizeof(st) };

		if (s->storage->mailbox_open(s->mu, name, PZ_OPEN_NO_RECENT | PZ_OPEN_DATES_LATER,
					     &pb->box, err) < 0) {
			if (err->cls == PZ_ERR_NOT_FOUND && strcmp(name, "INBOX") != 0)
				continue; /* an optional folder that this user lacks */
			return -1;
		}
		pb->name = name;
		lc.box = s->n_boxes++;
		if (s->storage->mailbox_sync(pb->box, &handler, &lc, err) < 0)
			return -1;
		if (s->storage->mailbox_view_status(pb->box, &st) == 0)
			pb->uidvalidity = st.uidvalidity;
	}
	return 0;
}

int pop3_maildrop_open(struct pop3_session *s, const char **resp_r)
{
	pz_error err = { PZ_ERR_NONE, NULL };

	if (lock_maildrop(s, resp_r) < 0)
		return -1;
	if (pop3_host->storage_open(s->user, s->pool, &s->storage, &s->mu, &err) < 0 ||
	    open_boxes(s, &err) < 0 || expire_at_login(s, &err) < 0) {
		pop3_host->log(s->module, PZ_LOG_ERROR, "cannot open the maildrop: %s",
			       err.msg != NULL ? err.msg : "unknown error");
		*resp_r = err.cls == PZ_ERR_TEMP || err.cls == PZ_ERR_BUG ?
			"-ERR [SYS/TEMP] Mail storage is temporarily unavailable." :
			"-ERR [SYS/PERM] Cannot open the maildrop.";
		pop3_maildrop_close(s);
		return -1;
	}
	pop3_host->log(s->module, PZ_LOG_INFO, "maildrop has %u messages", (unsigned int)s->n_msgs);
	return 0;
}

/* mark_retrieved - when messages kept on the server were downloaded, for
 * the EXPIRE policy (a cache field: losing it only keeps mail longer). */
static void mark_retrieved(struct pop3_session *s)
{
	char now[32];
	uint32_t i;

	if (s->set.expire_days < 0)
		return;
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	for (i = 0; i < s->n_msgs; i++) {
		pz_error err = { PZ_ERR_NONE, NULL };
		const struct pop3_msg *m = &s->msgs[i];

		if (m->retrieved && !m->deleted &&
		    s->storage->msg_cache_set(s->boxes[m->box].box, m->uid, POP3_RETRIEVED_FIELD,
					      now, strlen(now), &err) < 0)
			pop3_host->log(s->module, PZ_LOG_WARNING, "cannot record retrieval: %s",
				       err.msg);
	}
}

int pop3_maildrop_update(struct pop3_session *s, const char **error_r)
{
	pz_error err = { PZ_ERR_NONE, NULL };
	unsigned int b;
	uint32_t i, deleted = 0;

	mark_retrieved(s);
	for (b = 0; b < s->n_boxes; b++) {
		pz_uidset seen = uidset_of(s, b, 1);

		if (s->set.mark_seen && seen.count > 0) {
			struct pz_store_args args = { .size = sizeof(args), .mode = PZ_STORE_ADD,
						      .flags = PZ_FLAG_SEEN };

			if (s->storage->store(s->boxes[b].box, &seen, &args, NULL, NULL, &err) < 0)
				pop3_host->log(s->module, PZ_LOG_WARNING,
					       "cannot set \\Seen: %s", err.msg);
		}
		if (expunge_box(s, b, &err) < 0) {
			pop3_host->log(s->module, PZ_LOG_ERROR, "expunge failed: %s", err.msg);
			*error_r = "Some deleted messages were not removed.";
			return -1;
		}
	}
	for (i = 0; i < s->n_msgs; i++)
		deleted += s->msgs[i].deleted;
	pop3_host->log(s->module, PZ_LOG_INFO, "logout: %u deleted, %u kept", deleted,
		       s->n_msgs - deleted);
	return 0;
}

void pop3_maildrop_close(struct pop3_session *s)
{
	unsigned int b;

	for (b = 0; b < s->n_boxes; b++) {
		if (s->boxes[b].box != NULL)
			s->storage->mailbox_close(&s->boxes[b].box);
	}
	s->n_boxes = 0;
	s->n_msgs = 0; /* a later login lists the maildrop anew into msgs */
	if (s->mu != NULL)
		s->storage->user_close(&s->mu);
	if (s->lock_fd >= 0) {
		close(s->lock_fd);
		s->lock_fd = -1;
	}
}

/* struct sender - the byte-stuffing state of one RETR or TOP. */
struct sender {
	unsigned char out[POP3_SEND_CHUNK * 2 + 8];
	size_t out_len;
	int bol;            /* at the beginning of a line */
	int prev_cr;        /* the last byte written was CR */
	int in_headers;
	size_t line_bytes;  /* bytes of the current line so far, CR included */
	int64_t body_lines; /* lines of body still to send, -1: all */
	int done;
};

/* end_line - a LF arrived: CRLF out, and the TOP bookkeeping. */
static void end_line(struct sender *x)
{
	int blank = x->line_bytes == 0 || (x->line_bytes == 1 && x->prev_cr);

	if (!x->prev_cr)
		x->out[x->out_len++] = '\r';
	x->out[x->out_len++] = '\n';
	x->bol = 1;
	x->prev_cr = 0;
	x->line_bytes = 0;
	if (x->in_headers) {
		if (blank)
			x->in_headers = 0;
	} else if (x->body_lines > 0) {
		x->body_lines--;
	}
	if (!x->in_headers && x->body_lines == 0)
		x->done = 1;
}

/* send_bytes - CRLF line endings, dot-stuffing (RFC 1939 section 3), and
 * the TOP cut after the header and `body_lines` lines of body.  Whole runs
 * between newlines are copied at once. */
static void send_bytes(struct sender *x, const unsigned char *p, size_t n)
{
	while (n > 0 && !x->done) {
		const unsigned char *lf;
		size_t run;

		if (x->bol && p[0] == '.')
			x->out[x->out_len++] = '.';
		lf = memchr(p, '\n', n);
		run = lf != NULL ? (size_t)(lf - p) : n;
		if (run > 0) {
			memcpy(x->out + x->out_len, p, run);
			x->out_len += run;
			x->line_bytes += run;
			x->prev_cr = p[run - 1] == '\r';
			x->bol = 0;
		}
		p += run;
		n -= run;
		if (lf != NULL) {
			end_line(x);
			p++;
			n--;
		}
	}
}

int pop3_send_message(struct pop3_session *s, struct pop3_msg *m, int64_t body_lines)
{
	pz_pool *pool = pop3_host->pool_create("pop3 message");
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_stream *stream = NULL;
	struct sender *x = pop3_host->pool_alloc(pool, sizeof(*x));
	unsigned char buf[POP3_SEND_CHUNK];
	ssize_t r = 0;
	int ret = 0;

	if (s->storage->msg_stream(s->boxes[m->box].box, m->uid, pool, &stream, &err) != 0) {
		pop3_reply(s, err.cls == PZ_ERR_TEMP ?
			   "-ERR [SYS/TEMP] Message temporarily unavailable." :
			   "-ERR Message is no longer available.");
		pop3_host->pool_destroy(&pool);
		return -1;
	}
	if (body_lines < 0)
		pop3_reply(s, "+OK %llu octets", (unsigned long long)m->size);
	else
		pop3_reply(s, "+OK");
	x->bol = 1;
	x->in_headers = body_lines >= 0;
	x->body_lines = body_lines;
	while (!x->done && (r = pop3_host->stream_read(stream, buf, sizeof(buf))) > 0) {
		send_bytes(x, buf, (size_t)r);
		if (pop3_host->conn_write(s->conn, x->out, x->out_len) < 0) {
			ret = -1;
			break;
		}
		x->out_len = 0;
	}
	if (r < 0) {
		/* the +OK is out: the only honest end is to drop the connection */
		pop3_host->log(s->module, PZ_LOG_ERROR, "reading message UID %u failed", m->uid);
		s->quit = 1;
		ret = -1;
	} else if (ret == 0) {
		if (!x->bol)
			pop3_host->conn_write(s->conn, "\r\n", 2);
		pop3_reply(s, ".");
	}
	pop3_host->pool_destroy(&pool);
	return ret;
}

/* put_number - v in base 10 or 16, padded to `width` with '0' or ' '. */
static size_t put_number(char *out, size_t room, unsigned long long v, char conv,
			 int width, int zero)
{
	const char *digits = conv == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
	unsigned int base = conv == 'x' || conv == 'X' ? 16 : 10;
	char tmp[64];
	int n = 0;
	size_t o = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v > 0 && n < (int)sizeof(tmp));
	while (width > n && o < room) {
		out[o++] = zero ? '0' : ' ';
		width--;
	}
	while (n > 0 && o < room)
		out[o++] = tmp[--n];
	return o;
}

/* pop3_uidl - the UIDL of a message from uidl_format (Dovecot's syntax:
 * %08Xu%08Xv); static buffer, valid until the next call. */
char *pop3_uidl(struct pop3_session *s, const struct pop3_msg *m)
{
	static char out[128];
	const char *f = s->set.uidl_format;
	size_t o = 0;

	while (*f != '\0' && o < sizeof(out) - 1) {
		char conv = 'd';
		int width = 0, zero = 0;

		if (*f != '%') {
			out[o++] = *f++;
			continue;
		}
		f++;
		if (*f == '0')
			zero = 1, f++;
		while (*f >= '0' && *f <= '9' && width < 40)
			width = width * 10 + (*f++ - '0');
		if (*f == 'X' || *f == 'x' || *f == 'd')
			conv = *f++;
		if (*f != 'u' && *f != 'v') {
			out[o++] = '%';
			continue;
		}
		o += put_number(out + o, sizeof(out) - 1 - o,
				*f++ == 'u' ? m->uid : s->boxes[m->box].uidvalidity,
				conv, width, zero);
	}
	out[o] = '\0';
	return out;
}
