/* modules/lmtp/lmtp-deliver.c - deliver the spooled message: the filters
 * run once, then each recipient's copy is saved and acknowledged only when
 * durable; anything temporary is a 4xx so the MTA keeps the message. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lmtp.h"

#define LMTP_COPY_CHUNK 65536

/* rfc5322_date - "Thu, 26 Nov 2026 04:20:00 +0000". */
static void rfc5322_date(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* trace_headers - Return-Path, Delivered-To and Received for one
 * recipient (as Dovecot's LMTP adds them), then the filters' headers. */
static char *trace_headers(struct lmtp_session *s, pz_filter_msg *fm,
			   const struct lmtp_rcpt *r, pz_pool *pool, const char *id)
{
	const struct pz_host *h = lmtp_host;
	char date[64];
	char *out;
	size_t i, n = h->filter_msg_header_count(fm);

	rfc5322_date(date, sizeof(date));
	out = h->pool_printf(pool, "Return-Path: <%s>\r\nDelivered-To: %s\r\n"
			     "Received: from %s (%s)\r\n\tby %s (Poczta) with LMTP id %s\r\n"
			     "\tfor <%s>; %s\r\n",
			     s->sender, r->address, s->lhlo[0] != '\0' ? s->lhlo : "unknown",
			     h->conn_peer(s->conn), h->config_global("hostname"), id,
			     r->address, date);
	for (i = 0; i < n; i++) {
		const char *name, *value;

		h->filter_msg_header(fm, i, &name, &value);
		out = h->pool_printf(pool, "%s%s: %s\r\n", out, name, value);
	}
	return out;
}

/* open_target - the mailbox to save into: the wanted one, else INBOX;
 * a quarantine folder is created when missing. */
static int open_target(const struct pz_storage_ops *ops, pz_mail_user *mu, const char *want,
		       int create, pz_mailbox **box_r, const char **name_r, pz_error *err)
{
	if (want != NULL) {
		if (ops->mailbox_open(mu, want, PZ_OPEN_SAVEONLY, box_r, err) == 0) {
			*name_r = want;
			return 0;
		}
		if (create) {
			/* quarantine: never INBOX instead */
			if (err->cls != PZ_ERR_NOT_FOUND)
				return -1;
			if (ops->mailbox_create(mu, want, 0, err) < 0 && err->cls != PZ_ERR_EXISTS)
				return -1;
			if (ops->mailbox_open(mu, want, PZ_OPEN_SAVEONLY, box_r, err) < 0)
				return -1;
			*name_r = want;
			return 0;
		}
		/* a detail or -m name that does not exist, or that the storage
		 * does not accept as a name, means INBOX */
		if (err->cls != PZ_ERR_NOT_FOUND && err->cls != PZ_ERR_PARAMS)
			return -1;
	}
	*name_r = "INBOX";
	return ops->mailbox_open(mu, "INBOX", PZ_OPEN_SAVEONLY, box_r, err);
}

/* save_copy - headers, then the spooled message, into one save. */
static int save_copy(struct lmtp_session *s, const struct pz_storage_ops *ops, pz_mailbox *box,
		     const char *headers, pz_stream *msg, uint32_t *uid_r, pz_error *err)
{
	const struct pz_host *h = lmtp_host;
	struct pz_save_args args = { .size = sizeof(args) };
	unsigned char buf[LMTP_COPY_CHUNK];
	pz_save *save = NULL;
	ssize_t r;

	args.expected_size = strlen(headers) + s->spool.size;
	if (ops->save_begin(box, &args, &save, err) < 0)
		return -1;
	if (ops->save_write(save, headers, strlen(headers), err) < 0)
		goto fail;
	h->stream_seek(msg, 0);
	while ((r = h->stream_read(msg, buf, sizeof(buf))) > 0) {
		if (ops->save_write(save, buf, (size_t)r, err) < 0)
			goto fail;
	}
	if (r < 0) {
		err->cls = PZ_ERR_TEMP;
		err->msg = "cannot read the spooled message";
		goto fail;
	}
	return ops->save_commit(&save, uid_r, err);
fail:
	ops->save_abort(&save);
	return -1;
}

/* store_error_reply - the reply for a failed save. */
static void store_error_reply(struct lmtp_session *s, const struct lmtp_rcpt *r,
			      const pz_error *err)
{
	if (err->cls == PZ_ERR_QUOTA) {
		if (s->set.quota_tempfail)
			lmtp_reply(s, "452 4.2.2 <%s> Mailbox is full", r->address);
		else
			lmtp_reply(s, "552 5.2.2 <%s> Mailbox is full", r->address);
		return;
	}
	lmtp_reply(s, "451 4.3.0 <%s> Temporary failure storing the message", r->address);
}

static int same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void target_close(struct lmtp_target *t)
{
	if (t->box != NULL)
		t->ops->mailbox_close(&t->box);
	if (t->mu != NULL)
		t->ops->user_close(&t->mu);
	if (t->pool != NULL)
		lmtp_host->pool_destroy(&t->pool);
	memset(t, 0, sizeof(*t));
}

void lmtp_targets_close(struct lmtp_session *s)
{
	for (size_t i = 0; i < LMTP_TARGETS_MAX; i++)
		target_close(&s->targets[i]);
}

/* target_get - the open mailbox for user + wanted mailbox: kept from an
 * earlier delivery of this session, or opened now in the least recently
 * used slot.  NULL with *err set when it cannot be opened. */
static struct lmtp_target *target_get(struct lmtp_session *s, pz_user *u, const char *want,
				      int create, int *kept_r, pz_error *err)
{
	const struct pz_host *h = lmtp_host;
	const char *name = h->user_name(u);
	struct lmtp_target *t = &s->targets[0];
	size_t i;

	for (i = 0; i < LMTP_TARGETS_MAX; i++) {
		struct lmtp_target *c = &s->targets[i];

		if (c->pool != NULL && c->create == create && strcmp(c->user, name) == 0 &&
		    same(c->want, want)) {
			c->last_used = ++s->target_clock;
			*kept_r = 1;
			return c;
		}
		if (c->pool == NULL || (t->pool != NULL && c->last_used < t->last_used))
			t = c;
	}
	*kept_r = 0;
	target_close(t);
	t->pool = h->pool_create("lmtp target");
	t->user = h->pool_strdup(t->pool, name);
	t->want = want != NULL ? h->pool_strdup(t->pool, want) : NULL;
	t->create = create;
	if (h->storage_open(u, t->pool, &t->ops, &t->mu, err) < 0 ||
	    open_target(t->ops, t->mu, want, create, &t->box, &t->mailbox, err) < 0) {
		/* the message may live in the storage's memory, about to go */
		if (err->msg != NULL)
			err->msg = h->pool_strdup(s->tx_pool, err->msg);
		target_close(t);
		return NULL;
	}
	t->last_used = ++s->target_clock;
	return t;
}

/* deliver_one - save one recipient's copy and reply for it. */
static void deliver_one(struct lmtp_session *s, pz_filter_msg *fm, const struct lmtp_rcpt *r,
			const struct pz_verdict *v, pz_stream *msg, const char *id)
{
	const struct pz_host *h = lmtp_host;
	pz_pool *pool = h->pool_create("lmtp recipient");
	pz_error err = { PZ_ERR_NONE, NULL };
	int quarantine = v->action == PZ_VERDICT_QUARANTINE;
	const char *want = quarantine ? v->folder : r->mailbox;
	const char *headers = trace_headers(s, fm, r, pool, id);
	struct lmtp_target *t;
	uint32_t uid = 0;
	int kept = 0, ret = -1;

	t = target_get(s, r->user, want, quarantine, &kept, &err);
	if (t != NULL)
		ret = save_copy(s, t->ops, t->box, headers, msg, &uid, &err);
	if (ret < 0 && kept) {
		/* a mailbox kept open may have been deleted or renamed since:
		 * once more, opened afresh (err is set anew either way) */
		target_close(t);
		t = target_get(s, r->user, want, quarantine, &kept, &err);
		if (t != NULL)
			ret = save_copy(s, t->ops, t->box, headers, msg, &uid, &err);
	}
	if (ret < 0) {
		h->log(s->module, PZ_LOG_ERROR, "delivery to <%s> failed: %s", r->address,
		       err.msg != NULL ? err.msg : "unknown error");
		store_error_reply(s, r, &err);
		/* the next delivery opens it afresh (it may have gone away) */
		if (t != NULL)
			target_close(t);
	} else {
		h->log(s->module, PZ_LOG_INFO, "saved mail to <%s> in %s, UID %u%s", r->address,
		       t->mailbox, uid, quarantine ? " (quarantined)" : "");
		h->filter_saved(fm, t->mailbox, uid);
		lmtp_reply(s, "250 2.0.0 <%s> %s Saved", r->address, id);
	}
	h->pool_destroy(&pool);
}

void lmtp_deliver(struct lmtp_session *s)
{
	const struct pz_host *h = lmtp_host;
	const char **addrs = h->pool_alloc(s->tx_pool, sizeof(char *) * s->n_rcpts);
	pz_stream *msg = lmtp_spool_stream(s, s->tx_pool);
	struct pz_verdict v;
	pz_filter_msg *fm;
	char *id;
	size_t i;

	for (i = 0; i < s->n_rcpts; i++)
		addrs[i] = s->rcpts[i].address;
	fm = h->filter_msg_new(s->tx_pool, msg, s->n_rcpts == 1 ? s->rcpts[0].user : NULL,
			       s->sender, addrs, s->n_rcpts);
	id = h->pool_printf(s->tx_pool, "%lx%lx%u", (unsigned long)time(NULL),
			    (unsigned long)getpid(), ++s->tx_count);
	h->filter_run(fm, PZ_HOOK_DELIVER, &v);
	for (i = 0; i < s->n_rcpts; i++) {
		const struct lmtp_rcpt *r = &s->rcpts[i];
		const char *text = v.text != NULL ? v.text : "";

		switch (v.action) {
		case PZ_VERDICT_REJECT:
			lmtp_reply(s, "550 5.7.1 <%s> Rejected: %s", r->address, text);
			break;
		case PZ_VERDICT_TEMPFAIL:
			lmtp_reply(s, "451 4.7.1 <%s> Try again later: %s", r->address, text);
			break;
		case PZ_VERDICT_DISCARD:
			h->log(s->module, PZ_LOG_INFO, "discarded mail to <%s>: %s", r->address, text);
			lmtp_reply(s, "250 2.0.0 <%s> %s Discarded", r->address, id);
			break;
		case PZ_VERDICT_QUARANTINE:
			if (v.folder == NULL || v.folder[0] == '\0') {
				lmtp_reply(s, "451 4.3.5 <%s> Quarantine folder not set", r->address);
				break;
			}
			/* fall through */
		case PZ_VERDICT_ACCEPT:
			deliver_one(s, fm, r, &v, msg, id);
			break;
		}
		/* each recipient's reply goes out as soon as it is known */
		h->conn_flush(s->conn);
	}
}
