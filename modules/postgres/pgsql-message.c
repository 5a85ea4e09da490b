/* pgsql-message.c - message access and changes in an opened view: the
 * message stream, the parsed-data cache, flag stores and expunges.
 *
 * Messages are stored with CRLF line ends (a bare LF got its CR when it
 * was saved), so the stream is the stored bytes and RFC822.SIZE is their
 * length.  The stream reads a large body in slices on demand; the cache of
 * parsed data belongs to the body, so every copy of a message shares it.
 *
 * STORE and EXPUNGE take the mailbox row lock, give the change one new
 * modseq (RFC 7162 3.1: one per command is enough), and touch only the
 * UIDs the view knows (below its UIDNEXT).
 */
#include "pgsql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the body stream */

struct body_stream {
	int64_t body_id;
	uint64_t size;
	unsigned char *buf;     /* malloc'd slice */
	uint64_t buf_off;
	size_t buf_len;
};

static int body_fetch(struct body_stream *s, uint64_t offset)
{
	struct pgsql_params p;
	pz_error err;
	PGresult *r;
	size_t len;

	pgp_init(&p);
	pgp_int(&p, s->body_id);
	if (s->size <= PGSQL_STREAM_CHUNK) {
		offset = 0;
		r = pgsql_exec(NULL, ST_BODY_READ_ALL, &p, NULL, &err);
	} else {
		pgp_int(&p, (int64_t)offset + 1);
		pgp_int(&p, PGSQL_STREAM_CHUNK);
		r = pgsql_exec(NULL, ST_BODY_READ, &p, NULL, &err);
	}
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		pgsql_log(PZ_LOG_WARNING, "body %lld vanished while it was read",
			  (long long)s->body_id);
		return -1;
	}
	len = (size_t)PQgetlength(r, 0, 0);
	free(s->buf);
	s->buf = malloc(len > 0 ? len : 1);
	if (s->buf == NULL) {
		PQclear(r);
		s->buf_len = 0;
		return -1;
	}
	memcpy(s->buf, PQgetvalue(r, 0, 0), len);
	s->buf_off = offset;
	s->buf_len = len;
	PQclear(r);
	return 0;
}

static ssize_t body_read_at(void *ctx, void *buf, size_t n, uint64_t offset)
{
	struct body_stream *s = ctx;
	size_t avail;

	if (offset >= s->size)
		return 0;
	if (s->buf == NULL || offset < s->buf_off || offset >= s->buf_off + s->buf_len) {
		if (body_fetch(s, offset) < 0)
			return -1;
		if (offset < s->buf_off || offset >= s->buf_off + s->buf_len)
			return 0; /* shorter than its recorded size */
	}
	avail = s->buf_len - (size_t)(offset - s->buf_off);
	if (n > avail)
		n = avail;
	memcpy(buf, s->buf + (offset - s->buf_off), n);
	return (ssize_t)n;
}

static int64_t body_length(void *ctx)
{
	struct body_stream *s = ctx;

	return (int64_t)s->size;
}

static void body_close(void *ctx)
{
	struct body_stream *s = ctx;

	free(s->buf);
	s->buf = NULL;
}

static const struct pz_stream_ops body_ops = {
	.size = sizeof(struct pz_stream_ops),
	.read_at = body_read_at,
	.length = body_length,
	.close = body_close,
};

int pgsql_msg_stream(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		     pz_stream **stream_r, pz_error *err)
{
	int i = pgsql_view_find(box, uid);
	struct pgsql_params p;
	PGresult *r;

	if (i < 0)
		return 1;
	pgp_init(&p);
	pgp_int(&p, box->msgs[i].body_id);
	r = pgsql_exec(box->mu, ST_BODY_SIZE, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1; /* expunged meanwhile, and its body gone */
	}
	*stream_r = pgsql_body_stream(box->msgs[i].body_id, (uint64_t)pgsql_int(r, 0, 0), pool);
	PQclear(r);
	return 0;
}

pz_stream *pgsql_body_stream(int64_t body_id, uint64_t size, pz_pool *pool)
{
	struct body_stream *s = HOST->pool_alloc(pool, sizeof(*s));

	s->body_id = body_id;
	s->size = size;
	return HOST->stream_new(pool, &body_ops, s);
}

/* ---- cache */

int pgsql_msg_cache_get(pz_mailbox *box, uint32_t uid, const char *field,
			pz_pool *pool, const char **value_r, size_t *len_r,
			pz_error *err)
{
	int i = pgsql_view_find(box, uid);
	struct pgsql_params p;
	PGresult *r;
	size_t len;
	char *v;

	if (i < 0)
		return 1;
	pgp_init(&p);
	pgp_int(&p, box->msgs[i].body_id);
	pgp_str(&p, field);
	r = pgsql_exec(box->mu, ST_CACHE_GET, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	len = (size_t)PQgetlength(r, 0, 0);
	v = HOST->pool_alloc(pool, len + 1);
	memcpy(v, PQgetvalue(r, 0, 0), len);
	v[len] = '\0';
	PQclear(r);
	*value_r = v;
	*len_r = len;
	return 0;
}

int pgsql_msg_cache_set(pz_mailbox *box, uint32_t uid, const char *field,
			const char *value, size_t len, pz_error *err)
{
	int i = pgsql_view_find(box, uid);
	struct pgsql_params p;

	if (i < 0)
		return 0; /* expunged meanwhile: nothing to keep */
	pgp_init(&p);
	pgp_int(&p, box->msgs[i].body_id);
	pgp_str(&p, field);
	pgp_bin(&p, value, len);
	return pgsql_exec_cmd(box->mu, ST_CACHE_SET, &p, err);
}

/* ---- helpers of every change */

int pgsql_notify_mailbox(struct pz_mail_user *mu, int64_t mailbox_id, pz_error *err)
{
	struct pgsql_params p;
	char channel[48];

	snprintf(channel, sizeof(channel), "pz_mb_%lld", (long long)mailbox_id);
	pgp_init(&p);
	pgp_str(&p, channel);
	return pgsql_exec_cmd(mu, ST_NOTIFY, &p, err);
}

int pgsql_expunged_add(struct pz_mail_user *mu, int64_t mailbox_id,
		       const char *uids, uint64_t modseq, pz_error *err)
{
	struct pgsql_params p;

	pgp_init(&p);
	pgp_int(&p, mailbox_id);
	pgp_str(&p, uids);
	pgp_int(&p, (int64_t)modseq);
	return pgsql_exec_cmd(mu, ST_EXPUNGED_ADD, &p, err);
}

int pgsql_body_gc(struct pz_mail_user *mu, const char *ids, pz_error *err)
{
	struct pgsql_params p;

	if (strcmp(ids, "{}") == 0)
		return 0;
	pgp_init(&p);
	pgp_str(&p, ids);
	/* lock first, then decide in a statement of its own (see pgsql-sql.c) */
	if (pgsql_exec_cmd(mu, ST_BODY_LOCK, &p, err) < 0)
		return -1;
	return pgsql_exec_cmd(mu, ST_BODY_GC, &p, err);
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_sorted(pz_pool *pool, char **w, size_t n)
{
	size_t len = 1, o = 0;
	char *s;

	qsort(w, n, sizeof(*w), cmp_str);
	for (size_t i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	s = HOST->pool_alloc(pool, len);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(w[i], w[i - 1]) == 0)
			continue;
		if (o > 0)
			s[o++] = ' ';
		memcpy(s + o, w[i], strlen(w[i]));
		o += strlen(w[i]);
	}
	s[o] = '\0';
	return s;
}

int pgsql_keywords_canon(struct pz_mail_user *mu, int64_t mailbox_id,
			 const char *mailbox_kw, const char *const *names,
			 size_t n, pz_pool *pool, char **kw_r, pz_error *err)
{
	char *copy = HOST->pool_strdup(pool, mailbox_kw != NULL ? mailbox_kw : "");
	size_t have = 0, known, cap;
	char **list, **out, *save, *w;

	for (const char *c = copy; *c != '\0'; c++)
		have += *c == ' ';
	cap = have + 1 + n;
	list = HOST->pool_alloc(pool, cap * sizeof(*list));
	out = HOST->pool_alloc(pool, (n + 1) * sizeof(*out));
	have = 0;
	for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		list[have++] = w;
	known = have;
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < have && strcasecmp(list[k], names[i]) != 0; k++)
			;
		if (k == have)
			list[have++] = HOST->pool_strdup(pool, names[i]);
		out[i] = list[k];
	}
	if (have > known) {
		struct pgsql_params p;

		if (have > PGSQL_KEYWORDS_MAX)
			return pgsql_error(mu, err, PZ_ERR_PARAMS,
					   "Too many keywords in this mailbox");
		pgp_init(&p);
		pgp_int(&p, mailbox_id);
		pgp_str(&p, join_sorted(pool, list, have));
		if (pgsql_exec_cmd(mu, ST_MAILBOX_SET_KEYWORDS, &p, err) < 0)
			return -1;
	}
	*kw_r = join_sorted(pool, out, n);
	return 0;
}

static int check_writable(pz_mailbox *box, pz_error *err)
{
	if ((box->open_flags & PZ_OPEN_READONLY) != 0)
		return pgsql_error(box->mu, err, PZ_ERR_PERM, "Mailbox is read-only");
	return 0;
}

int pgsql_mailbox_lock(struct pz_mailbox *box, uint64_t *modseq_r, char **kw_r,
		       pz_pool *pool, pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;

	pgp_init(&p);
	pgp_int(&p, box->id);
	r = pgsql_exec(box->mu, ST_MAILBOX_LOCK, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0 || (uint32_t)pgsql_int(r, 0, 0) != box->uidvalidity) {
		PQclear(r);
		return pgsql_error(box->mu, err, PZ_ERR_NOT_FOUND, "Mailbox was deleted: %s",
				   box->name);
	}
	*modseq_r = (uint64_t)pgsql_int(r, 0, 2);
	if (kw_r != NULL)
		*kw_r = HOST->pool_strdup(pool, PQgetvalue(r, 0, 3));
	PQclear(r);
	return 0;
}

/* ---- store */

struct store_ctx {
	struct pz_mailbox *box;
	const struct pz_store_args *args;
	const char *firsts, *lasts;
	pz_pool *pool;
	uint64_t modseq;
	PGresult *changed, *refused;
};

static void set_params(struct pgsql_params *p, const struct store_ctx *c,
		       uint64_t since)
{
	pgp_init(p);
	pgp_int(p, c->box->id);
	pgp_str(p, c->firsts);
	pgp_str(p, c->lasts);
	pgp_int(p, c->box->view_uidnext);
	pgp_int(p, (int64_t)since);
}

static int store_txn(void *_ctx, pz_error *err)
{
	static const enum pgsql_stmt stmts[] = {
		[PZ_STORE_ADD] = ST_MESSAGE_STORE_ADD,
		[PZ_STORE_REMOVE] = ST_MESSAGE_STORE_REMOVE,
		[PZ_STORE_REPLACE] = ST_MESSAGE_STORE_REPLACE,
	};
	struct store_ctx *c = _ctx;
	const struct pz_store_args *a = c->args;
	struct pz_mail_user *mu = c->box->mu;
	uint64_t since = a->unchanged_since;
	struct pgsql_params p;
	uint64_t hms;
	char *mbkw, *kw = "";

	PQclear(c->changed);
	PQclear(c->refused);
	c->changed = c->refused = NULL;
	if (pgsql_mailbox_lock(c->box, &hms, &mbkw, c->pool, err) < 0)
		return -1;
	if (a->mode == PZ_STORE_REMOVE) {
		char **w = HOST->pool_alloc(c->pool, (a->keyword_count + 1) * sizeof(*w));

		for (size_t i = 0; i < a->keyword_count; i++)
			w[i] = HOST->pool_strdup(c->pool, a->keywords[i]);
		kw = join_sorted(c->pool, w, a->keyword_count);
	} else if (pgsql_keywords_canon(mu, c->box->id, mbkw, a->keywords,
					a->keyword_count, c->pool, &kw, err) < 0) {
		return -1;
	}
	c->modseq = hms + 1;
	if (since != 0) {
		set_params(&p, c, since);
		c->refused = pgsql_exec(mu, ST_MESSAGE_REFUSED, &p, NULL, err);
		if (c->refused == NULL)
			return -1;
	}
	set_params(&p, c, since);
	pgp_int(&p, a->flags & (PZ_FLAG_SEEN | PZ_FLAG_ANSWERED | PZ_FLAG_FLAGGED |
				PZ_FLAG_DELETED | PZ_FLAG_DRAFT));
	pgp_str(&p, kw);
	pgp_int(&p, (int64_t)c->modseq);
	c->changed = pgsql_exec(mu, stmts[a->mode], &p, NULL, err);
	if (c->changed == NULL)
		return -1;
	if (PQntuples(c->changed) == 0)
		return 0;
	pgp_init(&p);
	pgp_int(&p, c->box->id);
	pgp_int(&p, (int64_t)c->modseq);
	if (pgsql_exec_cmd(mu, ST_MAILBOX_SET_MODSEQ, &p, err) < 0)
		return -1;
	return pgsql_notify_mailbox(mu, c->box->id, err);
}

int pgsql_store(pz_mailbox *box, const pz_uidset *set,
		const struct pz_store_args *args, pz_uid_array *changed_r,
		pz_uid_array *refused_r, pz_error *err)
{
	struct store_ctx c = { .box = box, .args = args };
	int ret;

	if (check_writable(box, err) < 0)
		return -1;
	if (args->mode < PZ_STORE_ADD || args->mode > PZ_STORE_REPLACE)
		return pgsql_error(box->mu, err, PZ_ERR_PARAMS, "Bad store mode");
	if (args->keyword_count > PGSQL_KEYWORDS_MAX)
		return pgsql_error(box->mu, err, PZ_ERR_PARAMS, "Too many keywords");
	for (size_t i = 0; i < args->keyword_count; i++) {
		if (!pgsql_keyword_valid(args->keywords[i]))
			return pgsql_error(box->mu, err, PZ_ERR_PARAMS, "Invalid keyword");
	}
	if (set->count == 0 || box->count == 0)
		return 0;
	c.pool = HOST->pool_create("pgsql store");
	pgsql_uidset_arrays(c.pool, set, &c.firsts, &c.lasts);
	ret = pgsql_txn(box->mu, PGSQL_TXN_WRITE, store_txn, &c, err);
	if (ret == 0) {
		for (int i = 0; c.refused != NULL && i < PQntuples(c.refused); i++) {
			if (refused_r != NULL)
				HOST->uid_array_add(refused_r, (uint32_t)pgsql_int(c.refused, i, 0));
		}
		for (int i = 0; i < PQntuples(c.changed); i++) {
			uint32_t uid = (uint32_t)pgsql_int(c.changed, i, 0);

			pgsql_view_update(box, uid, (uint32_t)pgsql_int(c.changed, i, 1),
					  PQgetvalue(c.changed, i, 2), c.modseq);
			if (changed_r != NULL)
				HOST->uid_array_add(changed_r, uid);
		}
	}
	PQclear(c.changed);
	PQclear(c.refused);
	HOST->pool_destroy(&c.pool);
	return ret;
}

/* ---- expunge */

struct expunge_ctx {
	struct pz_mailbox *box;
	const char *firsts, *lasts;
	pz_pool *pool;
	PGresult *gone;
};

static int expunge_txn(void *_ctx, pz_error *err)
{
	struct expunge_ctx *c = _ctx;
	struct pz_mail_user *mu = c->box->mu;
	struct pgsql_array uids, bodies;
	struct pgsql_params p;
	uint64_t hms;
	int64_t bytes = 0;
	int n;

	PQclear(c->gone);
	c->gone = NULL;
	if (pgsql_mailbox_lock(c->box, &hms, NULL, c->pool, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, c->box->id);
	pgp_str(&p, c->firsts);
	pgp_str(&p, c->lasts);
	pgp_int(&p, c->box->view_uidnext);
	c->gone = pgsql_exec(mu, ST_MESSAGE_EXPUNGE, &p, NULL, err);
	if (c->gone == NULL)
		return -1;
	n = PQntuples(c->gone);
	if (n == 0)
		return 0;
	pga_init(&uids, c->pool);
	pga_init(&bodies, c->pool);
	for (int i = 0; i < n; i++) {
		pga_int(&uids, pgsql_int(c->gone, i, 0));
		pga_int(&bodies, pgsql_int(c->gone, i, 1));
		bytes += pgsql_int(c->gone, i, 2);
	}
	if (pgsql_expunged_add(mu, c->box->id, pga_done(&uids), hms + 1, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, c->box->id);
	pgp_int(&p, (int64_t)hms + 1);
	if (pgsql_exec_cmd(mu, ST_MAILBOX_SET_MODSEQ, &p, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_int(&p, -bytes);
	pgp_int(&p, -(int64_t)n);
	if (pgsql_exec_cmd(mu, ST_ACCOUNT_ADD, &p, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, c->box->id);
	pgp_int(&p, PGSQL_EXPUNGE_KEEP_DAYS);
	if (pgsql_exec_cmd(mu, ST_MAILBOX_PRUNE_EXPUNGED, &p, err) < 0 ||
	    pgsql_body_gc(mu, pga_done(&bodies), err) < 0)
		return -1;
	return pgsql_notify_mailbox(mu, c->box->id, err);
}

int pgsql_expunge(pz_mailbox *box, const pz_uidset *set,
		  pz_uid_array *expunged_r, pz_error *err)
{
	struct expunge_ctx c = { .box = box };
	int ret;

	if (check_writable(box, err) < 0)
		return -1;
	if (set->count == 0 || box->count == 0)
		return 0;
	c.pool = HOST->pool_create("pgsql expunge");
	pgsql_uidset_arrays(c.pool, set, &c.firsts, &c.lasts);
	ret = pgsql_txn(box->mu, PGSQL_TXN_WRITE, expunge_txn, &c, err);
	if (ret == 0 && expunged_r != NULL && PQntuples(c.gone) > 0) {
		size_t n = (size_t)PQntuples(c.gone);
		uint32_t *uids = HOST->pool_alloc(c.pool, n * sizeof(*uids));

		/* DELETE ... RETURNING has no order: report in UID order */
		for (size_t i = 0; i < n; i++)
			uids[i] = (uint32_t)pgsql_int(c.gone, (int)i, 0);
		qsort(uids, n, sizeof(*uids), cmp_uid);
		for (size_t i = 0; i < n; i++)
			HOST->uid_array_add(expunged_r, uids[i]);
	}
	PQclear(c.gone);
	HOST->pool_destroy(&c.pool);
	return ret;
}
