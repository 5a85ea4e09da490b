/* modules/imap/imap-append.c - APPEND with flags and internal date, and
 * MULTIAPPEND (RFC 3502), answered with APPENDUID (RFC 4315) and limited
 * by APPENDLIMIT (RFC 7889).
 *
 * Each message literal is taken from the connection here, not by the
 * parser: its header (flags, date, size) is checked before the client is
 * told to send it, the bytes go to a spool (memory, or an unlinked temp
 * file when large), the filters' APPEND hook sees the whole message, and
 * only then is it written into a save transaction.  The transactions are
 * committed together when the command line ends; anything failing before
 * that aborts them all, so a failed MULTIAPPEND appends nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "imap.h"

#define APPEND_MAX_MESSAGES 100

struct append_msg {
	pz_save *save;            /* NULL: discarded by a filter */
	pz_mailbox *quarantine;   /* where a filter sent it instead */
	const char *quarantine_name;
	pz_filter_msg *fm;
	uint32_t uid;
};

struct imap_append {
	const char *name;         /* storage name of the target */
	pz_mailbox *box;          /* opened to save into */
	unsigned int args_done;   /* top-level arguments already used */
	struct append_msg msgs[APPEND_MAX_MESSAGES];
	unsigned int count;
};

/* append_fail - answer the APPEND now ("NO [CODE]" or "BAD" and a text)
 * and let the parser consume the rest of the command (the message bytes
 * too, when they are already coming). */
static void append_fail(struct imap_session *s, const char *status, const char *text)
{
	imap_line(s, "%s %s %s", s->parser.tag, status, text);
	if (strcmp(status, "BAD") == 0)
		s->bad_commands++;
	imap_parser_fail(&s->parser);
	imap_append_abort(s);
}

static void error_reply(struct imap_session *s, const pz_error *err, const char *what)
{
	const char *code = err->cls == PZ_ERR_NOT_FOUND ? "TRYCREATE" :
		imap_error_code(err->cls);

	append_fail(s, imap_host->pool_printf(s->cmd_pool, "NO [%s]", code),
		    err->msg != NULL && err->cls != PZ_ERR_BUG ? err->msg : what);
}

void imap_append_abort(struct imap_session *s)
{
	struct imap_append *a = s->append;
	unsigned int i;

	if (a == NULL)
		return;
	s->append = NULL;
	for (i = 0; i < a->count; i++) {
		if (a->msgs[i].save != NULL)
			s->storage->save_abort(&a->msgs[i].save);
		if (a->msgs[i].quarantine != NULL)
			s->storage->mailbox_close(&a->msgs[i].quarantine);
	}
	if (a->box != NULL)
		s->storage->mailbox_close(&a->box);
}

/* start - the first message literal: the target mailbox. */
static int start(struct imap_session *s, const struct imap_arg *args, unsigned int n)
{
	struct imap_append *a = imap_host->pool_alloc(s->cmd_pool, sizeof(*a));
	pz_error err = { PZ_ERR_NONE, NULL };
	const char *error = NULL;

	s->append = a;
	a->args_done = 1;
	a->name = imap_name_from_client(s, &args[0], s->cmd_pool, &error);
	if (a->name == NULL) {
		append_fail(s, "NO [CANNOT]", error);
		return -1;
	}
	if (s->storage->mailbox_open(s->mu, a->name, PZ_OPEN_SAVEONLY, &a->box, &err) < 0) {
		error_reply(s, &err, "Cannot open the mailbox.");
		return -1;
	}
	return 0;
}

/* message_args - the flag list and date before this literal. */
static int message_args(struct imap_session *s, const struct imap_arg *args, unsigned int n,
			struct pz_save_args *sa)
{
	struct imap_cmd cmd = { .s = s, .pool = s->cmd_pool };
	unsigned int i = s->append->args_done, flags = 0;
	const char *error = NULL, **kws = NULL;

	if (i < n && imap_arg_is_list(&args[i])) {
		if (imap_flags_parse(&cmd, args[i].list, args[i].count, &flags, &kws,
				     &sa->keyword_count, &error) < 0) {
			append_fail(s, "BAD", error);
			return -1;
		}
		sa->flags = flags;
		sa->keywords = kws;
		i++;
	}
	if (i < n && imap_arg_is_string(&args[i])) {
		if (!PZ_HOST_HAS(imap_host, imap_date_parse) ||
		    imap_host->imap_date_parse(args[i].str, &sa->internal_date,
					       &sa->internal_date_tz) < 0) {
			append_fail(s, "BAD", "Invalid internal date.");
			return -1;
		}
		i++;
	}
	if (i != n) {
		append_fail(s, "BAD", "Invalid APPEND arguments.");
		return -1;
	}
	return 0;
}

/* check_quota - refuse before the client sends a message that cannot fit. */
static int check_quota(struct imap_session *s, uint64_t size)
{
	struct pz_quota q = { .size = sizeof(q) };
	pz_error err = { PZ_ERR_NONE, NULL };

	if (!PZ_OPS_HAS(s->storage, quota_get) || s->storage->quota_get(s->mu, &q, &err) < 0)
		return 0;
	if ((q.bytes_limit > 0 && q.bytes_used + size > q.bytes_limit) ||
	    (q.messages_limit > 0 && q.messages_used + s->append->count + 1 > q.messages_limit)) {
		append_fail(s, "NO [OVERQUOTA]", "Quota exceeded.");
		return -1;
	}
	return 0;
}

/* spool_read - the literal into memory or an unlinked temp file.  NULL
 * with *read_r = 0 when nothing was read (the parser skips it), 1 when the
 * bytes were read (and dropped), -1 when the connection failed. */
static pz_stream *spool_read(struct imap_session *s, uint64_t size, int *read_r)
{
	char path[4096];
	char *buf;
	int fd = -1, failed = 0;
	uint64_t done = 0;

	*read_r = 0;
	if (size <= s->set.spool_memory) {
		buf = imap_host->pool_alloc(s->cmd_pool, (size_t)size + 1);
	} else {
		snprintf(path, sizeof(path), "%s/poczta-imap.XXXXXX", s->set.spool_dir);
		fd = mkstemp(path);
		if (fd < 0) {
			imap_host->log(s->module, PZ_LOG_ERROR, "mkstemp %s: %s", path,
				       strerror(errno));
			return NULL;
		}
		unlink(path);
		buf = imap_host->pool_alloc(s->cmd_pool, IMAP_SEND_CHUNK);
	}
	*read_r = 1;
	while (done < size) {
		size_t n = size - done < IMAP_SEND_CHUNK ? (size_t)(size - done) : IMAP_SEND_CHUNK;
		char *to = fd < 0 ? buf + done : buf;

		if (imap_read_raw(s, to, n) != PZ_IO_OK) {
			*read_r = -1;
			failed = 1;
			break;
		}
		if (fd >= 0 && !failed && write(fd, to, n) != (ssize_t)n) {
			imap_host->log(s->module, PZ_LOG_ERROR, "spool write: %s", strerror(errno));
			failed = 1;
		}
		done += n;
	}
	if (failed) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (fd >= 0)
		return imap_host->stream_from_fd(s->cmd_pool, fd, 1);
	return imap_host->stream_from_memory(s->cmd_pool, buf, (size_t)size);
}

/* open_quarantine - the folder a filter named, created if missing. */
static pz_mailbox *open_quarantine(struct imap_session *s, const char *folder, pz_error *err)
{
	pz_mailbox *box = NULL;

	if (s->storage->mailbox_open(s->mu, folder, PZ_OPEN_SAVEONLY, &box, err) == 0)
		return box;
	if (err->cls != PZ_ERR_NOT_FOUND ||
	    (s->storage->mailbox_create(s->mu, folder, 0, err) < 0 && err->cls != PZ_ERR_EXISTS) ||
	    s->storage->mailbox_open(s->mu, folder, PZ_OPEN_SAVEONLY, &box, err) < 0)
		return NULL;
	return box;
}

/* save_message - filter headers then the spooled message into a save. */
static int save_message(struct imap_session *s, struct append_msg *m, pz_mailbox *box,
			const struct pz_save_args *sa, pz_stream *msg, pz_error *err)
{
	const struct pz_host *h = imap_host;
	size_t i, n = h->filter_msg_header_count(m->fm);
	char *buf = h->pool_alloc(s->cmd_pool, IMAP_SEND_CHUNK);
	ssize_t r;

	if (s->storage->save_begin(box, sa, &m->save, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *name, *value, *line;

		h->filter_msg_header(m->fm, i, &name, &value);
		line = h->pool_printf(s->cmd_pool, "%s: %s\r\n", name, value);
		if (s->storage->save_write(m->save, line, strlen(line), err) < 0)
			return -1;
	}
	h->stream_seek(msg, 0);
	while ((r = h->stream_read(msg, buf, IMAP_SEND_CHUNK)) > 0) {
		if (s->storage->save_write(m->save, buf, (size_t)r, err) < 0)
			return -1;
	}
	if (r < 0) {
		err->cls = PZ_ERR_TEMP;
		err->msg = "Cannot read the spooled message";
		return -1;
	}
	return 0;
}

/* filter_and_save - the APPEND hook's verdict decides where it goes. */
static void filter_and_save(struct imap_session *s, pz_stream *msg, struct pz_save_args *sa)
{
	struct imap_append *a = s->append;
	struct append_msg *m = &a->msgs[a->count++];
	struct pz_verdict v = { PZ_VERDICT_ACCEPT, NULL, NULL };
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_mailbox *box = a->box;

	m->fm = imap_host->filter_msg_new(s->cmd_pool, msg, s->user, NULL, NULL, 0);
	if (imap_host->filter_run(m->fm, PZ_HOOK_APPEND, &v) < 0 && v.action == PZ_VERDICT_ACCEPT)
		v.action = PZ_VERDICT_TEMPFAIL;
	switch (v.action) {
	case PZ_VERDICT_REJECT:
		append_fail(s, "NO [CANNOT]", v.text != NULL ? v.text : "Message rejected.");
		return;
	case PZ_VERDICT_TEMPFAIL:
		append_fail(s, "NO [UNAVAILABLE]", v.text != NULL ? v.text :
			    "Message could not be checked; try again later.");
		return;
	case PZ_VERDICT_DISCARD:
		return;
	case PZ_VERDICT_QUARANTINE:
		if (v.folder == NULL || (box = open_quarantine(s, v.folder, &err)) == NULL) {
			error_reply(s, &err, "Cannot store the message.");
			return;
		}
		m->quarantine = box;
		m->quarantine_name = imap_host->pool_strdup(s->cmd_pool, v.folder);
		break;
	default:
		break;
	}
	if (save_message(s, m, box, sa, msg, &err) < 0)
		error_reply(s, &err, "Cannot save the message.");
}

void imap_append_literal(struct imap_session *s)
{
	struct imap_parser *p = &s->parser;
	struct pz_save_args sa = { .size = sizeof(sa) };
	unsigned int n;
	const struct imap_arg *args = imap_parser_top_args(p, &n);
	pz_stream *msg;
	int io = PZ_IO_OK;

	if (args == NULL || n == 0) {
		/* a literal mailbox name (or something inside a list) */
		if (imap_parser_literal_accept(p) == 0 && p->literal_sync) {
			imap_line(s, "+ Ready for literal data");
			imap_host->conn_flush(s->conn);
		}
		return;
	}
	if (s->append == NULL && start(s, args, n) < 0)
		return;
	if (message_args(s, args, n, &sa) < 0)
		return;
	if (p->literal_size > s->set.append_limit) {
		append_fail(s, "NO [TOOBIG]", "Message is larger than APPENDLIMIT.");
		return;
	}
	if (s->append->count == APPEND_MAX_MESSAGES) {
		append_fail(s, "NO [LIMIT]", "Too many messages in one APPEND.");
		return;
	}
	if (check_quota(s, p->literal_size) < 0)
		return;
	sa.expected_size = p->literal_size;
	if (p->literal_sync) {
		imap_line(s, "+ Ready for literal data");
		imap_host->conn_flush(s->conn);
	}
	msg = spool_read(s, p->literal_size, &io);
	if (msg == NULL) {
		if (io < 0) {
			imap_append_abort(s);
			s->disconnect = 1;
			imap_parser_fail(p);
			return;
		}
		if (io > 0)
			imap_parser_literal_taken(p);
		append_fail(s, "NO [UNAVAILABLE]", "Cannot spool the message.");
		return;
	}
	imap_parser_literal_taken(p);
	s->append->args_done = n + 1;
	filter_and_save(s, msg, &sa);
}

/* commit_all - every save, in order; the first failure aborts the rest. */
static int commit_all(struct imap_session *s, struct imap_append *a, pz_error *err)
{
	unsigned int i;

	for (i = 0; i < a->count; i++) {
		struct append_msg *m = &a->msgs[i];

		if (m->save == NULL)
			continue;
		if (s->storage->save_commit(&m->save, &m->uid, err) < 0)
			return -1;
		imap_host->filter_saved(m->fm, m->quarantine_name != NULL ? m->quarantine_name :
					a->name, m->uid);
	}
	return 0;
}

void imap_cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_append *a = s->append;
	struct pz_mailbox_status st = { .size = sizeof(st) };
	pz_error err = { PZ_ERR_NONE, NULL };
	uint32_t uids[APPEND_MAX_MESSAGES];
	struct imap_str b;
	unsigned int i, n = 0;

	if (a == NULL || a->args_done != cmd->count) {
		imap_bad(cmd, "APPEND needs a mailbox, optional flags and date, and a message.");
		return;
	}
	if (commit_all(s, a, &err) < 0) {
		imap_append_abort(s);
		imap_no_error(cmd, &err, "Cannot save the message.");
		return;
	}
	for (i = 0; i < a->count; i++) {
		if (a->msgs[i].save == NULL && a->msgs[i].quarantine == NULL && a->msgs[i].uid != 0)
			uids[n++] = a->msgs[i].uid;
	}
	imap_append_abort(s);
	imap_str_init(&b, cmd->pool, 64);
	if (n == a->count && n > 0 &&
	    s->storage->mailbox_status(s->mu, a->name, PZ_STATUS_UIDVALIDITY, &st, &err) == 0) {
		imap_str_printf(&b, "[APPENDUID %u ", st.uidvalidity);
		imap_str_uidset(&b, uids, n);
		imap_str_adds(&b, "] ");
	}
	imap_ok(cmd, "%sAppend completed.", b.data);
}
