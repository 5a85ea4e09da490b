/* pgsql-search.c - SEARCH evaluated in SQL, and the text full-text search
 * indexes.
 *
 * The search tree becomes one WHERE clause over the view's messages.  Its
 * text is put together from the constant fragments below only; every value
 * (UIDs, flags, dates, sizes, keywords, header names and strings, words to
 * find) is a parameter.  Each criterion gives what the core's evaluator
 * (core/mail/mail-search-eval.c) gives for the same message:
 * - BEFORE/ON/SINCE compare the day of the internal date in its own zone;
 * - HEADER (and FROM, TO, CC, BCC, SUBJECT) looks for the folded string in
 *   the folded values of pz_body_field, SENT* compare pz_body.sent_date,
 *   which a message without a readable Date: lacks (it matches none of
 *   them, and NOT of each); both need every body of the mailbox indexed
 *   (pgsql-fields.c), which the search first completes.
 * What SQL cannot answer exactly (body text without fts, header fields of
 * a body that could not be indexed) makes the whole search decline
 * (return 1), and the core evaluates it message by message.
 *
 * Full-text search (fts = yes): when a new body is stored, its decoded
 * text parts (and a few decoded headers, weighted 'A') go into a tsvector
 * with a GIN index; BODY and TEXT then use it.  This is word search, as
 * Dovecot's fts is, not IMAP's substring match.  It needs the core's MIME
 * primitives (module ABI 1.1); without them nothing is indexed, and a
 * mailbox with messages that have no tsvector declines BODY/TEXT.
 */
#include "pgsql.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEARCH_MAX_DEPTH 32
#define SEARCH_MAX_PARAMS 512
#define STORED_FLAGS (PZ_FLAG_SEEN | PZ_FLAG_ANSWERED | PZ_FLAG_FLAGGED | \
		      PZ_FLAG_DELETED | PZ_FLAG_DRAFT)

struct sbuf {
	char *s;
	size_t len, alloc;
	pz_pool *pool;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > b->alloc) {
		size_t na = b->alloc != 0 ? b->alloc : 256;
		while (na < b->len + n + 1)
			na *= 2;
		b->s = HOST->pool_realloc(b->pool, b->s, b->alloc, na);
		b->alloc = na;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

struct query {
	struct sbuf sql;
	const char **params;
	int n;
	struct pz_mailbox *box;
	pz_pool *pool;
	int fts;          /* uses the tsvectors */
	int fields;       /* uses pz_body_field or pz_body.sent_date */
	time_t now;
};

/* param - add a value; appends "$N" to the text */
static int param(struct query *q, const char *value)
{
	char ref[16];

	if (q->n >= SEARCH_MAX_PARAMS)
		return -1;
	q->params[q->n++] = value;
	snprintf(ref, sizeof(ref), "$%d", q->n);
	sb_add(&q->sql, ref);
	return 0;
}

static int param_int(struct query *q, int64_t v)
{
	return param(q, HOST->pool_printf(q->pool, "%lld", (long long)v));
}

static int compile(struct query *q, const struct pz_search_key *k, int depth);

/* clamp - a number of the tree as a bigint parameter */
static int64_t clamp(uint64_t v)
{
	return v > (uint64_t)INT32_MAX * 1024 ? (int64_t)INT32_MAX * 1024 : (int64_t)v;
}

static int compile_list(struct query *q, const struct pz_search_key *k, int depth)
{
	const char *op = k->type == PZ_SEARCH_AND ? " AND " : " OR ";

	if (k->children == NULL) {
		sb_add(&q->sql, k->type == PZ_SEARCH_AND ? "TRUE" : "FALSE");
		return 0;
	}
	sb_add(&q->sql, "(");
	for (const struct pz_search_key *c = k->children; c != NULL; c = c->next) {
		if (c != k->children)
			sb_add(&q->sql, op);
		if (compile(q, c, depth + 1) != 0)
			return 1;
	}
	sb_add(&q->sql, ")");
	return 0;
}

/* compile_pair - "<pre>$a<mid>$b<post>" */
static int compile_pair(struct query *q, const char *pre, const char *a,
			const char *mid, const char *b, const char *post)
{
	sb_add(&q->sql, pre);
	if (param(q, a) < 0)
		return 1;
	sb_add(&q->sql, mid);
	if (param(q, b) < 0)
		return 1;
	sb_add(&q->sql, post);
	return 0;
}

static int compile_uidset(struct query *q, const pz_uidset *set)
{
	const char *firsts, *lasts;

	pgsql_uidset_arrays(q->pool, set, &firsts, &lasts);
	return compile_pair(q, "EXISTS (SELECT 1 FROM unnest(", firsts, "::bigint[], ", lasts,
			    "::bigint[]) r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi)");
}

/* compile_flags - stored flags from the table; \Recent from the view */
static int compile_flags(struct query *q, unsigned int flags)
{
	unsigned int stored = flags & STORED_FLAGS;
	int ref;

	sb_add(&q->sql, "(TRUE");
	if (stored != 0) {
		sb_add(&q->sql, " AND (m.flags & ");
		if (param_int(q, stored) < 0)
			return 1;
		ref = q->n;
		sb_add(&q->sql, HOST->pool_printf(q->pool, "::int) = $%d::int", ref));
	}
	if ((flags & PZ_FLAG_RECENT) != 0) {
		struct pgsql_array a;

		pga_init(&a, q->pool);
		for (size_t i = 0; i < q->box->count; i++) {
			if ((q->box->msgs[i].flags & PZ_FLAG_RECENT) != 0)
				pga_int(&a, q->box->msgs[i].uid);
		}
		sb_add(&q->sql, " AND m.uid = ANY(");
		if (param(q, pga_done(&a)) < 0)
			return 1;
		sb_add(&q->sql, "::bigint[])");
	}
	sb_add(&q->sql, ")");
	return 0;
}

/* compile_cmp - "m.COLUMN OP $N::bigint" */
static int compile_cmp(struct query *q, const char *column_op, int64_t v)
{
	sb_add(&q->sql, column_op);
	if (param_int(q, v) < 0)
		return 1;
	sb_add(&q->sql, "::bigint");
	return 0;
}

static int compile_text(struct query *q, const struct pz_search_key *k)
{
	if (!pgsql_set.fts)
		return 1;
	if (k->u.str == NULL || *k->u.str == '\0') {
		sb_add(&q->sql, "TRUE");
		return 0;
	}
	q->fts = 1;
	sb_add(&q->sql, "EXISTS (SELECT 1 FROM pz_body b WHERE b.id = m.body_id AND "
	       "b.tsv @@ plainto_tsquery(");
	if (param(q, pgsql_set.fts_config) < 0)
		return 1;
	sb_add(&q->sql, "::regconfig, ");
	if (param(q, k->u.str) < 0)
		return 1;
	sb_add(&q->sql, "::text)");
	if (k->type == PZ_SEARCH_BODY) {
		/* body words only: the headers are weighted 'A' */
		sb_add(&q->sql, HOST->pool_printf(q->pool, " AND ts_filter(b.tsv, '{d}') @@ "
			"plainto_tsquery($%d::regconfig, $%d::text)", q->n - 1, q->n));
	}
	sb_add(&q->sql, ")");
	return 0;
}

/* day - the day (from 1970-01-01) of a criterion's date, within what
 * sent_date can hold: comparisons with stored days stay the same */
static int64_t day(time_t date)
{
	int64_t d = ((int64_t)date >= 0 ? (int64_t)date : (int64_t)date - 86399) / 86400;

	return d < -3000000 ? -3000000 : d > 3000000 ? 3000000 : d;
}

/* compile_day - BEFORE/ON/SINCE on the internal date's day in its own
 * zone, or SENT* on the Date: field's (none: no match) */
static int compile_day(struct query *q, const struct pz_search_key *k)
{
	int sent = k->type == PZ_SEARCH_SENTBEFORE || k->type == PZ_SEARCH_SENTON ||
		k->type == PZ_SEARCH_SENTSINCE;
	const char *op = k->type == PZ_SEARCH_BEFORE || k->type == PZ_SEARCH_SENTBEFORE ? "< " :
		k->type == PZ_SEARCH_ON || k->type == PZ_SEARCH_SENTON ? "= " : ">= ";

	if (sent) {
		q->fields = 1;
		sb_add(&q->sql, "coalesce((SELECT b.sent_date - date '1970-01-01' ");
	} else {
		sb_add(&q->sql, "(floor((m.internal_date + m.internal_date_tz * 60)::numeric "
		       "/ 86400) ");
	}
	sb_add(&q->sql, op);
	if (param_int(q, day(k->u.date)) < 0)
		return 1;
	sb_add(&q->sql, sent ? "::integer FROM pz_body b WHERE b.id = m.body_id), false)" :
	       "::bigint)");
	return 0;
}

/* compile_header - a field of that name whose folded value holds the
 * folded string; names are stored in ASCII lower case */
static int compile_header(struct query *q, const struct pz_search_key *k)
{
	const char *str = k->u.str != NULL ? k->u.str : "";
	char *name, *folded;
	size_t len;

	if (!PZ_HOST_HAS(HOST, mail_search_fold))
		return 1;
	if (k->field == NULL) {
		sb_add(&q->sql, "FALSE");
		return 0;
	}
	name = HOST->pool_strdup(q->pool, k->field);
	for (char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80) {
			/* indexed names are ASCII: none has this one */
			sb_add(&q->sql, "FALSE");
			return 0;
		}
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	folded = HOST->mail_search_fold(q->pool, str, &len);
	q->fields = 1;
	return compile_pair(q, "EXISTS (SELECT 1 FROM pz_body_field f WHERE f.body_id = m.body_id "
			    "AND f.name = ", name, "::text AND position(",
			    HOST->pool_printf(q->pool, "\\x%s", pgsql_hex(q->pool, folded, len)),
			    "::bytea in f.value) > 0)");
}

static int compile_node(struct query *q, const struct pz_search_key *k, int depth)
{
	switch (k->type) {
	case PZ_SEARCH_ALL:
		sb_add(&q->sql, "TRUE");
		return 0;
	case PZ_SEARCH_AND:
	case PZ_SEARCH_OR:
		return compile_list(q, k, depth);
	case PZ_SEARCH_UIDSET:
		return compile_uidset(q, &k->u.uids);
	case PZ_SEARCH_FLAGS:
		return compile_flags(q, k->u.flags);
	case PZ_SEARCH_KEYWORD:
		sb_add(&q->sql, "EXISTS (SELECT 1 FROM unnest(m.keywords) k "
		       "WHERE lower(k) = lower(");
		if (k->u.str == NULL || param(q, k->u.str) < 0)
			return 1;
		sb_add(&q->sql, "::text))");
		return 0;
	case PZ_SEARCH_BEFORE:
	case PZ_SEARCH_ON:
	case PZ_SEARCH_SINCE:
	case PZ_SEARCH_SENTBEFORE:
	case PZ_SEARCH_SENTON:
	case PZ_SEARCH_SENTSINCE:
		return compile_day(q, k);
	case PZ_SEARCH_HEADER:
		return compile_header(q, k);
	case PZ_SEARCH_OLDER:
		return compile_cmp(q, "m.internal_date < ", (int64_t)q->now - clamp(k->u.number));
	case PZ_SEARCH_YOUNGER:
		return compile_cmp(q, "m.internal_date >= ", (int64_t)q->now - clamp(k->u.number));
	case PZ_SEARCH_LARGER:
		return compile_cmp(q, "m.size > ", clamp(k->u.number));
	case PZ_SEARCH_SMALLER:
		return compile_cmp(q, "m.size < ", clamp(k->u.number));
	case PZ_SEARCH_MODSEQ:
		return compile_cmp(q, "m.modseq >= ", clamp(k->u.number));
	case PZ_SEARCH_BODY:
	case PZ_SEARCH_TEXT:
		return compile_text(q, k);
	default:
		return 1;
	}
}

static int compile(struct query *q, const struct pz_search_key *k, int depth)
{
	int ret;

	if (depth > SEARCH_MAX_DEPTH)
		return 1;
	if (k->negate)
		sb_add(&q->sql, "NOT (");
	ret = compile_node(q, k, depth);
	if (k->negate)
		sb_add(&q->sql, ")");
	return ret;
}

/* fts_complete - whether every message of the mailbox has a tsvector */
static int fts_complete(struct query *q, pz_error *err)
{
	const char *params[1];
	PGresult *r;
	int complete;

	params[0] = HOST->pool_printf(q->pool, "%lld", (long long)q->box->id);
	r = pgsql_exec_params(q->box->mu, "SELECT NOT EXISTS (SELECT 1 FROM pz_message m "
			      "JOIN pz_body b ON b.id = m.body_id "
			      "WHERE m.mailbox_id = $1 AND b.tsv IS NULL)", 1, params, err);
	if (r == NULL)
		return -1;
	complete = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return complete;
}

int pgsql_search(pz_mailbox *box, const struct pz_search_key *key,
		 pz_uid_array *result_r, pz_error *err)
{
	struct query q = { .box = box, .now = time(NULL) };
	PGresult *r;
	int ret;

	if ((box->open_flags & PZ_OPEN_SAVEONLY) != 0 || !box->synced)
		return 1;
	q.pool = HOST->pool_create("pgsql search");
	q.sql.pool = q.pool;
	q.params = HOST->pool_alloc(q.pool, SEARCH_MAX_PARAMS * sizeof(*q.params));
	sb_add(&q.sql, "SELECT m.uid FROM pz_message m WHERE m.mailbox_id = ");
	param_int(&q, box->id);
	sb_add(&q.sql, "::bigint AND m.uid < ");
	param_int(&q, box->view_uidnext);
	sb_add(&q.sql, "::bigint AND (");
	ret = compile(&q, key, 0);
	sb_add(&q.sql, ") ORDER BY m.uid");
	if (ret == 0 && q.fts)
		ret = fts_complete(&q, err) == 1 ? 0 : 1;
	if (ret == 0 && q.fields)
		ret = pgsql_fields_complete(box, err) == 1 ? 0 : 1;
	if (ret != 0) {
		HOST->pool_destroy(&q.pool);
		return ret < 0 ? -1 : 1;
	}
	r = pgsql_exec_params(box->mu, q.sql.s, q.n, q.params, err);
	if (r == NULL) {
		HOST->pool_destroy(&q.pool);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		uint32_t uid = (uint32_t)pgsql_int(r, i, 0);

		/* the view's messages only: one expunged elsewhere is gone */
		if (pgsql_view_find(box, uid) >= 0)
			HOST->uid_array_add(result_r, uid);
	}
	PQclear(r);
	HOST->pool_destroy(&q.pool);
	return 0;
}

/* ---- the text of a new message, for its tsvector.  The MIME primitives
 * came with module ABI 1.1; built for 1.0, nothing is indexed. */
#if PZ_ABI_MINOR >= 1

struct text {
	struct sbuf b;
	size_t budget;
};

/* text_add - append valid UTF-8 (other bytes become '?'; NULs blanks) */
static void text_add(struct text *t, const char *s, size_t n)
{
	char buf[512];
	size_t o = 0;

	if (n > t->budget)
		n = t->budget;
	t->budget -= n;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			(c & 0xf8) == 0xf0 ? 4 : 0;
		int ok = len > 0 && i + len <= n && (len == 1 || c >= 0xc2);

		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (o + 5 >= sizeof(buf)) {
			buf[o] = '\0';
			sb_add(&t->b, buf);
			o = 0;
		}
		if (!ok) {
			buf[o++] = '?';
			i++;
		} else if (c == 0) {
			buf[o++] = ' ';
			i++;
		} else {
			memcpy(buf + o, s + i, len);
			o += len;
			i += len;
		}
	}
	buf[o] = '\0';
	sb_add(&t->b, buf);
	sb_add(&t->b, "\n");
}

static void text_part(struct text *t, pz_stream *msg, pz_mail_part *p, pz_pool *pool,
		      int depth)
{
	struct pz_mail_part_info info = { .size = sizeof(info) };
	pz_stream *dec;
	pz_error err;

	if (depth > SEARCH_MAX_DEPTH || t->budget == 0)
		return;
	HOST->mail_part_info(p, &info);
	if ((info.flags & (PZ_PART_MULTIPART | PZ_PART_MESSAGE)) != 0) {
		for (unsigned int i = 0; i < info.child_count; i++) {
			pz_mail_part *c = HOST->mail_part_child(p, i);
			if (c != NULL)
				text_part(t, msg, c, pool, depth + 1);
		}
		return;
	}
	if ((info.flags & PZ_PART_TEXT) == 0 ||
	    HOST->mail_part_decoded(msg, p, pool, &dec, &err) < 0)
		return;
	{
		size_t cap = info.body_size < t->budget ? (size_t)info.body_size : t->budget;
		char *raw = HOST->pool_alloc(pool, cap + 1), *utf8;
		size_t got = 0;
		ssize_t n;

		while (got < cap && (n = HOST->stream_read(dec, raw + got, cap - got)) > 0)
			got += (size_t)n;
		utf8 = info.charset != NULL ?
			HOST->charset_to_utf8(pool, info.charset, raw, got) : NULL;
		if (utf8 != NULL)
			text_add(t, utf8, strlen(utf8));
		else
			text_add(t, raw, got);
	}
}

int pgsql_fts_text(pz_pool *pool, const void *data, size_t len,
		   const char **hdr_r, const char **body_r)
{
	static const char *const headers[] = { "subject", "from", "to", "cc", "bcc" };
	struct text hdr = { .b = { .pool = pool }, .budget = PGSQL_FTS_TEXT_MAX };
	struct text body = { .b = { .pool = pool }, .budget = PGSQL_FTS_TEXT_MAX };
	pz_mail_part *root;
	pz_stream *msg;
	pz_error err;

	*hdr_r = *body_r = NULL;
	if (!pgsql_set.fts || !PZ_HOST_HAS(HOST, mail_parse) ||
	    !PZ_HOST_HAS(HOST, mail_part_decoded) || !PZ_HOST_HAS(HOST, mail_decode_words) ||
	    !PZ_HOST_HAS(HOST, charset_to_utf8))
		return 0;
	msg = HOST->stream_from_memory(pool, data, len);
	if (HOST->mail_parse(msg, pool, &root, &err) < 0)
		return 0;
	sb_add(&hdr.b, "");
	sb_add(&body.b, "");
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		const char **values;
		size_t n = HOST->mail_header_get(root, pool, headers[i], &values);

		for (size_t k = 0; k < n; k++) {
			const char *v = HOST->mail_decode_words(pool, values[k]);
			if (v != NULL)
				text_add(&hdr, v, strlen(v));
		}
	}
	text_part(&body, msg, root, pool, 0);
	*hdr_r = hdr.b.s;
	*body_r = body.b.s;
	return 0;
}
#else
int pgsql_fts_text(pz_pool *pool, const void *data, size_t len,
		   const char **hdr_r, const char **body_r)
{
	*hdr_r = *body_r = NULL;
	return 0;
}
#endif
