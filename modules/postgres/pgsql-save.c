/* pgsql-save.c - delivery, APPEND, COPY and MOVE.
 *
 * A save collects the message in memory (a bare LF gets its CR, so what
 * is stored is what IMAP sends), then commits one transaction: take the
 * next UID (the mailbox row lock: two nodes appending to one mailbox at
 * once take turns, and never hand out the same UID), charge the quota
 * (the account row), find or insert the body by the SHA-256 of its bytes,
 * insert the message, NOTIFY.  COMMIT returns when the server has it on
 * disk: "durable on return".
 *
 * Bodies are stored once: a delivery to many recipients, a copy and a move
 * all point at one pz_body row.  A body found is share-locked (FOR KEY
 * SHARE) so a concurrent expunge of its last other reference waits for us
 * and then sees our message (pgsql_body_gc); a body that the expunge did
 * remove first is inserted again.
 *
 * COPY and MOVE work on the rows: one INSERT ... SELECT FROM unnest() for
 * the whole set, with new UIDs taken in one step; MOVE deletes the source
 * rows in the same transaction (never in both mailboxes, never in none).
 */
#include "pgsql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#define SAVE_MAX ((size_t)1 << 30) /* bytea stops at 1 GB */

struct pz_save {
	struct pz_mailbox *box;
	pz_pool *pool;
	unsigned char *data;    /* malloc'd */
	size_t len, alloc;
	unsigned char last;
	int too_big;
	uint32_t flags;
	const char **keywords;
	size_t keyword_count;
	time_t idate;
	int idate_tz;
};

static int local_tz_minutes(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

static void save_free(struct pz_save **_save)
{
	struct pz_save *save = *_save;
	pz_pool *pool;

	if (save == NULL)
		return;
	*_save = NULL;
	free(save->data);
	pool = save->pool;
	HOST->pool_destroy(&pool);
}

static int check_target(pz_mailbox *box, pz_error *err)
{
	if ((box->open_flags & PZ_OPEN_READONLY) != 0)
		return pgsql_error(box->mu, err, PZ_ERR_PERM, "Mailbox is read-only");
	return 0;
}

/* quota_precheck - refuse early when the announced size cannot fit */
static int quota_precheck(struct pz_mail_user *mu, uint64_t size, pz_error *err)
{
	struct pz_quota q = { .size = sizeof(q) };

	if (size == 0 || (mu->quota_bytes == 0 && mu->quota_messages == 0))
		return 0;
	if (pgsql_quota_get(mu, &q, err) < 0)
		return -1;
	return pgsql_quota_check(mu, (int64_t)(q.bytes_used + size),
				 (int64_t)q.messages_used + 1, err);
}

int pgsql_save_begin(pz_mailbox *box, const struct pz_save_args *args,
		     pz_save **save_r, pz_error *err)
{
	struct pz_save *save;
	pz_pool *pool;

	if (check_target(box, err) < 0 ||
	    quota_precheck(box->mu, args->expected_size, err) < 0)
		return -1;
	if (args->keyword_count > PGSQL_KEYWORDS_MAX)
		return pgsql_error(box->mu, err, PZ_ERR_PARAMS, "Too many keywords");
	for (size_t i = 0; i < args->keyword_count; i++) {
		if (!pgsql_keyword_valid(args->keywords[i]))
			return pgsql_error(box->mu, err, PZ_ERR_PARAMS, "Invalid keyword");
	}
	pool = HOST->pool_create("pgsql save");
	save = HOST->pool_alloc(pool, sizeof(*save));
	save->pool = pool;
	save->box = box;
	save->flags = args->flags & (PZ_FLAG_SEEN | PZ_FLAG_ANSWERED | PZ_FLAG_FLAGGED |
				     PZ_FLAG_DELETED | PZ_FLAG_DRAFT);
	save->keyword_count = args->keyword_count;
	save->keywords = HOST->pool_alloc(pool, (args->keyword_count + 1) *
					  sizeof(*save->keywords));
	for (size_t i = 0; i < args->keyword_count; i++)
		save->keywords[i] = HOST->pool_strdup(pool, args->keywords[i]);
	save->idate = args->internal_date != 0 ? args->internal_date : time(NULL);
	save->idate_tz = args->internal_date != 0 ? args->internal_date_tz :
		local_tz_minutes(save->idate);
	*save_r = save;
	return 0;
}

/* save_reserve - room for `n` more bytes; 0, or -1 when too big */
static int save_reserve(struct pz_save *save, size_t n)
{
	size_t na;
	unsigned char *d;

	if (save->len + n <= save->alloc)
		return 0;
	if (n > SAVE_MAX - save->len)
		return -1;
	na = save->alloc != 0 ? save->alloc : 16384;
	while (na < save->len + n)
		na *= 2;
	d = realloc(save->data, na);
	if (d == NULL)
		return -1;
	save->data = d;
	save->alloc = na;
	return 0;
}

int pgsql_save_write(pz_save *save, const void *data, size_t len, pz_error *err)
{
	const unsigned char *p = data, *end = p + len;

	/* at worst every byte is a bare LF: twice the input */
	if (len > SAVE_MAX / 2 || save_reserve(save, len * 2) < 0) {
		save->too_big = 1;
		return pgsql_error(save->box->mu, err, PZ_ERR_PARAMS, "Message too big");
	}
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		memcpy(save->data + save->len, p, n);
		save->len += n;
		if (n > 0)
			save->last = p[n - 1];
		p += n;
		if (nl == NULL)
			break;
		if (save->last != '\r')
			save->data[save->len++] = '\r';
		save->data[save->len++] = '\n';
		save->last = '\n';
		p++;
	}
	return 0;
}

void pgsql_save_abort(pz_save **save)
{
	save_free(save);
}

/* ---- commit */

struct commit_ctx {
	struct pz_save *save;
	unsigned char sha[32];
	const char *fts_hdr, *fts_body;
	struct pgsql_fields fields;
	uint32_t uid;
};

/* take_uids - `n` new UIDs of a locked mailbox; 0 with the first and the
 * change's modseq */
static int take_uids(struct pz_mailbox *box, size_t n, uint32_t *first_r,
		     uint64_t *modseq_r, pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;
	int64_t first;

	pgp_init(&p);
	pgp_int(&p, box->id);
	pgp_int(&p, (int64_t)n);
	r = pgsql_exec(box->mu, ST_MAILBOX_TAKE_UIDS, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0 || (uint32_t)pgsql_int(r, 0, 2) != box->uidvalidity) {
		PQclear(r);
		return pgsql_error(box->mu, err, PZ_ERR_NOT_FOUND, "Mailbox was deleted: %s",
				   box->name);
	}
	first = pgsql_int(r, 0, 0);
	*modseq_r = (uint64_t)pgsql_int(r, 0, 1);
	PQclear(r);
	if (first + (int64_t)n > (int64_t)UINT32_MAX)
		return pgsql_error(box->mu, err, PZ_ERR_PERM, "Mailbox has run out of UIDs");
	*first_r = (uint32_t)first;
	return 0;
}

/* charge - add to the account's usage and check the limits */
static int charge(struct pz_mail_user *mu, int64_t bytes, int64_t count, pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;
	int ret;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_int(&p, bytes);
	pgp_int(&p, count);
	r = pgsql_exec(mu, ST_ACCOUNT_ADD, &p, NULL, err);
	if (r == NULL)
		return -1;
	ret = PQntuples(r) == 0 ? 0 :
		pgsql_quota_check(mu, pgsql_int(r, 0, 0), pgsql_int(r, 0, 1), err);
	PQclear(r);
	return ret;
}

/* body_id - the body with this content, inserted if there is none */
static int body_id(struct commit_ctx *c, int64_t *id_r, pz_error *err)
{
	struct pz_save *save = c->save;
	struct pz_mail_user *mu = save->box->mu;

	for (int attempt = 0; attempt < 3; attempt++) {
		struct pgsql_params p;
		PGresult *r;

		pgp_init(&p);
		pgp_bin(&p, c->sha, sizeof(c->sha));
		r = pgsql_exec(mu, ST_BODY_FIND, &p, NULL, err);
		if (r == NULL)
			return -1;
		if (PQntuples(r) > 0) {
			*id_r = pgsql_int(r, 0, 0);
			PQclear(r);
			return 0;
		}
		PQclear(r);
		pgp_int(&p, (int64_t)save->len);
		pgp_bin(&p, save->data, save->len);
		pgp_str(&p, c->fts_hdr);
		pgp_str(&p, pgsql_set.fts_config);
		pgp_str(&p, c->fts_body);
		pgsql_fields_params(&c->fields, &p);
		r = pgsql_exec(mu, ST_BODY_INSERT, &p, NULL, err);
		if (r == NULL)
			return -1;
		if (PQntuples(r) > 0) {
			*id_r = pgsql_int(r, 0, 0);
			PQclear(r);
			return pgsql_fields_insert(mu, *id_r, &c->fields, err);
		}
		PQclear(r);
		/* another session inserted it meanwhile: find it again */
	}
	return pgsql_error(mu, err, PZ_ERR_TEMP, "Could not store the message body");
}

static int commit_txn(void *ctx, pz_error *err)
{
	struct commit_ctx *c = ctx;
	struct pz_save *save = c->save;
	struct pz_mailbox *box = save->box;
	struct pz_mail_user *mu = box->mu;
	struct pgsql_params p;
	uint64_t modseq;
	int64_t body = 0;
	char *kw = "", *mbkw;

	if (save->keyword_count > 0 &&
	    (pgsql_mailbox_lock(box, &modseq, &mbkw, save->pool, err) < 0 ||
	     pgsql_keywords_canon(mu, box->id, mbkw, save->keywords, save->keyword_count,
				  save->pool, &kw, err) < 0))
		return -1;
	if (take_uids(box, 1, &c->uid, &modseq, err) < 0 ||
	    charge(mu, (int64_t)save->len, 1, err) < 0 ||
	    body_id(c, &body, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, box->id);
	pgp_int(&p, c->uid);
	pgp_int(&p, body);
	pgp_int(&p, save->flags);
	pgp_str(&p, kw);
	pgp_int(&p, (int64_t)modseq);
	pgp_int(&p, (int64_t)save->len);
	pgp_int(&p, (int64_t)save->idate);
	pgp_int(&p, save->idate_tz);
	if (pgsql_exec_cmd(mu, ST_MESSAGE_INSERT, &p, err) < 0)
		return -1;
	return pgsql_notify_mailbox(mu, box->id, err);
}

int pgsql_save_commit(pz_save **_save, uint32_t *uid_r, pz_error *err)
{
	struct pz_save *save = *_save;
	struct commit_ctx c = { .save = save };
	unsigned int mdlen = 0;
	int ret;

	if (save->too_big) {
		save_free(_save);
		return pgsql_error(NULL, err, PZ_ERR_PARAMS, "Message too big");
	}
	if (EVP_Digest(save->data != NULL ? save->data : (unsigned char *)"", save->len,
		       c.sha, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(c.sha)) {
		ret = pgsql_error(save->box->mu, err, PZ_ERR_TEMP, "SHA-256 failed");
	} else {
		pgsql_fts_text(save->pool, save->data, save->len, &c.fts_hdr, &c.fts_body);
		/* a memory stream cannot fail to read; if it did, the body
		 * would only be left to the core's search */
		(void)pgsql_fields_read(HOST->stream_from_memory(save->pool,
			save->data != NULL ? (const void *)save->data : "", save->len),
			save->pool, &c.fields);
		ret = pgsql_txn(save->box->mu, PGSQL_TXN_WRITE, commit_txn, &c, err);
	}
	if (ret == 0)
		*uid_r = c.uid;
	save_free(_save);
	return ret;
}

/* ---- copy and move */

/* columns of ST_MESSAGE_SOURCE */
enum { S_UID, S_BODY, S_FLAGS, S_KW, S_SIZE, S_IDATE, S_TZ };

struct xfer {
	struct pz_mailbox *src, *dest;
	int move;
	const char *firsts, *lasts;
	pz_pool *pool;
	PGresult *rows;
	uint32_t first_uid;
};

/* lock_both - the mailbox rows in id order (two moves never deadlock) */
static int lock_both(struct xfer *x, uint64_t *src_hms, char **dest_kw, pz_error *err)
{
	struct pz_mailbox *a = x->src, *b = x->dest;
	uint64_t hms;
	char *kw;

	if (!x->move || a->id == b->id)
		return pgsql_mailbox_lock(x->dest, src_hms, dest_kw, x->pool, err);
	if (a->id > b->id) {
		a = x->dest;
		b = x->src;
	}
	if (pgsql_mailbox_lock(a, &hms, &kw, x->pool, err) < 0)
		return -1;
	if (a == x->src)
		*src_hms = hms;
	else
		*dest_kw = kw;
	if (pgsql_mailbox_lock(b, &hms, &kw, x->pool, err) < 0)
		return -1;
	if (b == x->src)
		*src_hms = hms;
	else
		*dest_kw = kw;
	return 0;
}

/* row_keywords - a source row's keywords in the target's spelling */
static const char *row_keywords(struct xfer *x, const char *kw, const char *canon)
{
	char *copy = HOST->pool_strdup(x->pool, kw), *save, *w;
	char *out = HOST->pool_alloc(x->pool, strlen(kw) + 1);
	size_t o = 0;

	for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		size_t n = strlen(w);
		const char *c = canon;

		/* canon holds every name of the rows: take its spelling */
		while (*c != '\0') {
			size_t m = strcspn(c, " ");
			if (m == n && strncasecmp(c, w, n) == 0) {
				w = HOST->pool_strndup(x->pool, c, m);
				break;
			}
			c += m + (c[m] == ' ');
		}
		if (o > 0)
			out[o++] = ' ';
		memcpy(out + o, w, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

static int xfer_keywords(struct xfer *x, const char *dest_kw, const char **kw_r,
			 pz_error *err)
{
	size_t n = 0, alloc = 16;
	const char **names = HOST->pool_alloc(x->pool, alloc * sizeof(*names));
	char *canon;

	for (int i = 0; i < PQntuples(x->rows); i++) {
		char *copy = HOST->pool_strdup(x->pool, PQgetvalue(x->rows, i, S_KW)), *save, *w;

		for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
			if (n == alloc) {
				names = HOST->pool_realloc(x->pool, names, alloc * sizeof(*names),
							   alloc * 2 * sizeof(*names));
				alloc *= 2;
			}
			names[n++] = w;
		}
	}
	if (pgsql_keywords_canon(x->dest->mu, x->dest->id, dest_kw, names, n, x->pool,
				 &canon, err) < 0)
		return -1;
	*kw_r = canon;
	return 0;
}

static int xfer_insert(struct xfer *x, const char *canon, uint64_t modseq,
		       pz_error *err)
{
	struct pgsql_array a[7];
	struct pgsql_params p;

	for (int k = 0; k < 7; k++)
		pga_init(&a[k], x->pool);
	for (int i = 0; i < PQntuples(x->rows); i++) {
		pga_int(&a[0], (int64_t)x->first_uid + i);
		pga_int(&a[1], pgsql_int(x->rows, i, S_BODY));
		pga_int(&a[2], pgsql_int(x->rows, i, S_FLAGS));
		pga_str(&a[3], row_keywords(x, PQgetvalue(x->rows, i, S_KW), canon));
		pga_int(&a[4], pgsql_int(x->rows, i, S_SIZE));
		pga_int(&a[5], pgsql_int(x->rows, i, S_IDATE));
		pga_int(&a[6], pgsql_int(x->rows, i, S_TZ));
	}
	pgp_init(&p);
	pgp_int(&p, x->dest->id);
	pgp_int(&p, (int64_t)modseq);
	for (int k = 0; k < 7; k++)
		pgp_str(&p, pga_done(&a[k]));
	return pgsql_exec_cmd(x->dest->mu, ST_MESSAGE_INSERT_MANY, &p, err);
}

/* xfer_remove - MOVE: the source rows go, with expunge records */
static int xfer_remove(struct xfer *x, uint64_t modseq, pz_error *err)
{
	struct pz_mail_user *mu = x->src->mu;
	struct pgsql_array uids;
	struct pgsql_params p;

	pgp_init(&p);
	pgp_int(&p, x->src->id);
	pgp_str(&p, x->firsts);
	pgp_str(&p, x->lasts);
	pgp_int(&p, x->src->view_uidnext);
	if (pgsql_exec_cmd(mu, ST_MESSAGE_EXPUNGE, &p, err) < 0)
		return -1;
	pga_init(&uids, x->pool);
	for (int i = 0; i < PQntuples(x->rows); i++)
		pga_int(&uids, pgsql_int(x->rows, i, S_UID));
	if (pgsql_expunged_add(mu, x->src->id, pga_done(&uids), modseq, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, x->src->id);
	pgp_int(&p, (int64_t)modseq);
	if (pgsql_exec_cmd(mu, ST_MAILBOX_SET_MODSEQ, &p, err) < 0)
		return -1;
	return pgsql_notify_mailbox(mu, x->src->id, err);
}

static int xfer_txn(void *ctx, pz_error *err)
{
	struct xfer *x = ctx;
	struct pz_mail_user *mu = x->dest->mu;
	struct pgsql_params p;
	uint64_t src_hms = 0, dest_modseq;
	char *dest_kw = NULL;
	const char *canon;
	int64_t bytes = 0;
	size_t n;

	PQclear(x->rows);
	x->rows = NULL;
	if (lock_both(x, &src_hms, &dest_kw, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, x->src->id);
	pgp_str(&p, x->firsts);
	pgp_str(&p, x->lasts);
	pgp_int(&p, x->src->view_uidnext);
	x->rows = pgsql_exec(mu, ST_MESSAGE_SOURCE, &p, NULL, err);
	if (x->rows == NULL)
		return -1;
	n = (size_t)PQntuples(x->rows);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		bytes += pgsql_int(x->rows, (int)i, S_SIZE);
	if (xfer_keywords(x, dest_kw, &canon, err) < 0 ||
	    take_uids(x->dest, n, &x->first_uid, &dest_modseq, err) < 0 ||
	    (!x->move && charge(mu, bytes, (int64_t)n, err) < 0) ||
	    xfer_insert(x, canon, dest_modseq, err) < 0 ||
	    pgsql_notify_mailbox(mu, x->dest->id, err) < 0)
		return -1;
	if (!x->move)
		return 0;
	/* in one mailbox the new rows took a modseq already */
	return xfer_remove(x, (x->src->id == x->dest->id ? dest_modseq : src_hms) + 1, err);
}

static int xfer(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest, int move,
		pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r, pz_error *err)
{
	struct xfer x = { .src = src, .dest = dest, .move = move };
	int ret;

	if (check_target(dest, err) < 0 || (move && check_target(src, err) < 0))
		return -1;
	if (set->count == 0 || src->count == 0)
		return 0;
	if (src->mu->account_id != dest->mu->account_id)
		return pgsql_error(src->mu, err, PZ_ERR_NOT_SUPPORTED,
				   "Copying between users is not supported");
	x.pool = HOST->pool_create("pgsql copy");
	pgsql_uidset_arrays(x.pool, set, &x.firsts, &x.lasts);
	ret = pgsql_txn(dest->mu, PGSQL_TXN_WRITE, xfer_txn, &x, err);
	if (ret == 0 && x.rows != NULL) {
		for (int i = 0; i < PQntuples(x.rows); i++) {
			if (src_uids_r != NULL)
				HOST->uid_array_add(src_uids_r,
						    (uint32_t)pgsql_int(x.rows, i, S_UID));
			if (dest_uids_r != NULL)
				HOST->uid_array_add(dest_uids_r, x.first_uid + (uint32_t)i);
		}
	}
	PQclear(x.rows);
	HOST->pool_destroy(&x.pool);
	return ret;
}

int pgsql_copy(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
	       pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r, pz_error *err)
{
	return xfer(src, set, dest, 0, src_uids_r, dest_uids_r, err);
}

int pgsql_move(pz_mailbox *src, const pz_uidset *set, pz_mailbox *dest,
	       pz_uid_array *src_uids_r, pz_uid_array *dest_uids_r, pz_error *err)
{
	return xfer(src, set, dest, 1, src_uids_r, dest_uids_r, err);
}
