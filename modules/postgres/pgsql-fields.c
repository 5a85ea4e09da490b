/* pgsql-fields.c - the header fields of a body as SEARCH reads them, kept
 * in SQL so that HEADER (FROM, TO, CC, BCC, SUBJECT) and SENTBEFORE/SENTON/
 * SENTSINCE are evaluated by the database.
 *
 * For each body: a row per field of its top-level header in pz_body_field
 * (name in ASCII lower case, value decoded and case-folded by the core's
 * host->mail_search_fields, so a byte substring test there is the core's
 * HEADER match), and pz_body.sent_date, the day of its first Date: field
 * in the zone it was written in (NULL when there is none or it cannot be
 * read, as the core's search sees it).  pz_body.fields_state says whether
 * the rows are there: 0 not yet, 1 yes, -1 never (a header this cannot
 * describe exactly: a field name with 8-bit bytes, too many fields).
 * Bodies are indexed when they are stored, and those stored without (by
 * an older node, or before schema version 2) by the first search that
 * needs them.  A mailbox with a body not in state 1 is searched by the
 * core.
 */
#include "pgsql.h"

#include <string.h>

#define FIELDS_MAX 1000                  /* fields of one header */
#define FIELDS_BYTES_MAX (1024 * 1024)   /* folded bytes of one header */
#define SENT_DAY_MAX 2000000             /* days from 1970 PostgreSQL's date holds */
#define BACKFILL_BATCH 200               /* bodies indexed by one search */

struct fields_ctx {
	struct pgsql_fields *f;
	struct pgsql_array names, values;
	size_t count, bytes;
};

static const char hexdigits[] = "0123456789abcdef";

char *pgsql_hex(pz_pool *pool, const char *data, size_t len)
{
	char *out = HOST->pool_alloc(pool, len * 2 + 1);

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdigits[(unsigned char)data[i] >> 4];
		out[2 * i + 1] = hexdigits[(unsigned char)data[i] & 0xf];
	}
	out[len * 2] = '\0';
	return out;
}

/* sent_day - the day of a Date: value in its own zone; 0 when unreadable */
static int sent_day(const char *value, int64_t *day_r)
{
	time_t t;
	int tz;
	int64_t local;

	if (HOST->mail_date_parse(value, &t, &tz) < 0)
		return 0;
	local = (int64_t)t + (int64_t)tz * 60;
	*day_r = (local >= 0 ? local : local - 86399) / 86400;
	return 1;
}

static void field_cb(void *ctx, const char *name, const char *value, size_t value_len,
		     const char *folded, size_t folded_len)
{
	struct fields_ctx *c = ctx;
	struct pgsql_fields *f = c->f;
	char *lower;

	(void)value_len;
	if (f->state != 1)
		return;
	if (++c->count > FIELDS_MAX || (c->bytes += folded_len) > FIELDS_BYTES_MAX) {
		f->state = -1;
		return;
	}
	lower = HOST->pool_strdup(f->pool, name);
	for (char *p = lower; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80) {
			f->state = -1;
			return;
		}
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	if (!f->date_seen && strcmp(lower, "date") == 0) {
		f->date_seen = 1;
		f->has_sent_day = sent_day(value, &f->sent_day) &&
			f->sent_day > -SENT_DAY_MAX && f->sent_day < SENT_DAY_MAX;
	}
	pga_str(&c->names, lower);
	pga_str(&c->values, pgsql_hex(f->pool, folded, folded_len));
}

int pgsql_fields_read(pz_stream *msg, pz_pool *pool, struct pgsql_fields *f_r)
{
	struct fields_ctx c = { .f = f_r };

	memset(f_r, 0, sizeof(*f_r));
	f_r->pool = pool;
	if (!PZ_HOST_HAS(HOST, mail_search_fields) || !PZ_HOST_HAS(HOST, mail_date_parse))
		return 0;
	f_r->state = 1;
	pga_init(&c.names, pool);
	pga_init(&c.values, pool);
	if (HOST->mail_search_fields(msg, field_cb, &c) < 0) {
		f_r->state = -1;
		return -1;
	}
	f_r->names = pga_done(&c.names);
	f_r->values = pga_done(&c.values);
	return 0;
}

void pgsql_fields_params(const struct pgsql_fields *f, struct pgsql_params *p)
{
	pgp_int(p, f->state);
	if (f->state == 1 && f->has_sent_day)
		pgp_int(p, f->sent_day);
	else
		pgp_str(p, NULL);
}

int pgsql_fields_insert(struct pz_mail_user *mu, int64_t body_id,
			const struct pgsql_fields *f, pz_error *err)
{
	struct pgsql_params p;

	if (f->state != 1)
		return 0;
	pgp_init(&p);
	pgp_int(&p, body_id);
	pgp_str(&p, f->names);
	pgp_str(&p, f->values);
	return pgsql_exec_cmd(mu, ST_BODY_FIELDS_INSERT, &p, err);
}

/* ---- indexing the bodies stored without their fields */

struct backfill {
	struct pz_mail_user *mu;
	int64_t body_id;
	struct pgsql_fields f;
};

static int backfill_txn(void *ctx, pz_error *err)
{
	struct backfill *b = ctx;
	struct pgsql_params p;
	PGresult *r;
	int claimed;

	pgp_init(&p);
	pgp_int(&p, b->body_id);
	pgsql_fields_params(&b->f, &p);
	r = pgsql_exec(b->mu, ST_BODY_FIELDS_MARK, &p, NULL, err);
	if (r == NULL)
		return -1;
	/* none: another session indexed it, or it was removed */
	claimed = PQntuples(r) > 0;
	PQclear(r);
	return claimed ? pgsql_fields_insert(b->mu, b->body_id, &b->f, err) : 0;
}

static int backfill_one(struct pz_mail_user *mu, int64_t body_id, uint64_t size,
			pz_error *err)
{
	struct backfill b = { .mu = mu, .body_id = body_id };
	pz_pool *pool = HOST->pool_create("pgsql fields");
	int ret;

	if (pgsql_fields_read(pgsql_body_stream(body_id, size, pool), pool, &b.f) < 0)
		ret = pgsql_error(mu, err, PZ_ERR_TEMP, "Failed to read a message");
	else
		ret = pgsql_txn(mu, PGSQL_TXN_WRITE, backfill_txn, &b, err);
	HOST->pool_destroy(&pool);
	return ret;
}

int pgsql_fields_complete(struct pz_mailbox *box, pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;
	int n;

	if (!PZ_HOST_HAS(HOST, mail_search_fields))
		return 0;
	pgp_init(&p);
	pgp_int(&p, box->id);
	pgp_int(&p, BACKFILL_BATCH);
	r = pgsql_exec(box->mu, ST_BODY_FIELDS_MISSING, &p, NULL, err);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		if (backfill_one(box->mu, pgsql_int(r, i, 0), (uint64_t)pgsql_int(r, i, 1),
				 err) < 0) {
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	pgp_init(&p);
	pgp_int(&p, box->id);
	r = pgsql_exec(box->mu, ST_BODY_FIELDS_COMPLETE, &p, NULL, err);
	if (r == NULL)
		return -1;
	n = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return n;
}
