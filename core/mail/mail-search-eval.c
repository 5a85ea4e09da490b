/* core/mail/mail-search-eval.c - search criteria over stored messages. */
#include "config-core.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pool.h"
#include "mail-date.h"
#include "mail-fold.h"
#include "mail-header.h"
#include "mail-imap.h"
#include "mail-parse.h"
#include "mail-search.h"
#include "mail-words.h"
#include "mail-search-eval.h"

/* What is known of the message being evaluated; loaded on demand. */
struct msg {
	const struct pz_storage_ops *ops;
	pz_mailbox *box;
	uint32_t uid;
	pz_pool *pool;          /* cleared after each message */
	pz_error *err;
	time_t now;
	struct pz_msg_info info;
	pz_stream *stream;
	pz_mail_part *root;
	int date_state;         /* 0 not looked up, 1 known, -1 none */
	time_t date;
	int tz;
	int gone;               /* expunged meanwhile */
	int date_asked;         /* msg_internal_date was called */
};

/* internal_date - a date msg_info left at 0 (a view opened with
 * PZ_OPEN_DATES_LATER) asked of the storage; -1 on error, and m->gone
 * when the message went meanwhile. */
static int internal_date(struct msg *m)
{
	int r;

	if (m->info.internal_date != 0 || m->date_asked ||
	    !PZ_OPS_HAS(m->ops, msg_internal_date))
		return 0;
	m->date_asked = 1;
	r = m->ops->msg_internal_date(m->box, m->uid, &m->info.internal_date,
				      &m->info.internal_date_tz, m->err);
	if (r == 1)
		m->gone = 1;
	return r < 0 ? -1 : 0;
}

static int load_stream(struct msg *m)
{
	int ret;

	if (m->stream != NULL)
		return 1;
	ret = m->ops->msg_stream(m->box, m->uid, m->pool, &m->stream, m->err);
	if (ret == 1)
		m->gone = 1;
	return ret == 0 ? 1 : ret == 1 ? 0 : -1;
}

/* cache_structure - give the storage what parsing found, once. */
static void cache_structure(struct msg *m)
{
	static const char *const fields[] = { "bodystructure", "body", "envelope" };
	const char *value;
	size_t len;
	pz_error e;
	unsigned int i;

	if (!PZ_OPS_HAS(m->ops, msg_cache_get) || !PZ_OPS_HAS(m->ops, msg_cache_set) ||
	    m->ops->msg_cache_get(m->box, m->uid, fields[0], m->pool, &value, &len, &e) != 1)
		return;
	for (i = 0; i < 3; i++) {
		value = i == 2 ? pz_mail_envelope(m->root, m->pool) :
			pz_mail_bodystructure(m->root, m->pool, i == 0);
		(void)m->ops->msg_cache_set(m->box, m->uid, fields[i], value,
					    strlen(value), &e);
	}
}

static int load_parts(struct msg *m)
{
	int ret;

	if (m->root != NULL)
		return 1;
	if ((ret = load_stream(m)) <= 0)
		return ret;
	if (pz_mail_parse(m->stream, m->pool, &m->root, m->err) < 0)
		return -1;
	cache_structure(m);
	return 1;
}

struct date_ctx {
	int seen;
	time_t t;
	int tz;
	int ok;
};

static void date_field(void *ctx, const char *name, size_t name_len,
		       const char *value, size_t value_len, int truncated)
{
	struct date_ctx *d = ctx;

	(void)name_len, (void)value_len, (void)truncated;
	if (d->seen || strcasecmp(name, "Date") != 0)
		return;
	d->seen = 1;
	d->ok = pz_mail_date_parse(value, &d->t, &d->tz) == 0;
}

/* load_date - the Date: of the message: 1 known, 0 none, -1 error. */
static int load_date(struct msg *m)
{
	const char *value;
	size_t len;
	pz_error e;
	struct date_ctx d = { 0, 0, 0, 0 };
	long long t;
	int tz, ret, cached = PZ_OPS_HAS(m->ops, msg_cache_get);

	if (m->date_state != 0)
		return m->date_state > 0;
	if (cached && m->ops->msg_cache_get(m->box, m->uid, "date.sent", m->pool,
					    &value, &len, &e) == 0) {
		char buf[64];

		m->date_state = -1;
		if (len > 0 && len < sizeof(buf)) {
			memcpy(buf, value, len);
			buf[len] = '\0';
			if (sscanf(buf, "%lld %d", &t, &tz) == 2) {
				m->date = (time_t)t;
				m->tz = tz;
				m->date_state = 1;
			}
		}
		return m->date_state > 0;
	}
	if ((ret = load_stream(m)) <= 0)
		return ret;
	if (mail_header_read(m->stream, 0, date_field, &d) < 0) {
		m->err->cls = PZ_ERR_TEMP;
		m->err->msg = "Failed to read a message";
		return -1;
	}
	m->date_state = d.ok ? 1 : -1;
	m->date = d.t;
	m->tz = d.tz;
	if (cached && PZ_OPS_HAS(m->ops, msg_cache_set)) {
		char *v = d.ok ? pz_pool_printf(m->pool, "%lld %d", (long long)d.t, d.tz) : "";

		(void)m->ops->msg_cache_set(m->box, m->uid, "date.sent", v, strlen(v), &e);
	}
	return m->date_state > 0;
}

/* field_folded - the text a HEADER key looks in: the field's value with
 * its encoded-words decoded, folded (host API mail_search_fields gives
 * storages the same bytes). */
static void field_folded(struct mail_buf *decoded, struct mail_buf *folded,
			 const char *value, size_t value_len)
{
	mail_buf_truncate(decoded, 0);
	mail_buf_truncate(folded, 0);
	mail_decode_words_buf(decoded, value, value_len);
	mail_fold_piece(folded, decoded->data, decoded->len);
}

struct header_ctx {
	const char *name;
	struct mail_buf needle;   /* folded */
	struct mail_buf decoded, folded;
	int found;
};

static void header_field(void *ctx, const char *name, size_t name_len,
			 const char *value, size_t value_len, int truncated)
{
	struct header_ctx *h = ctx;

	(void)name_len, (void)truncated;
	if (h->found || strcasecmp(name, h->name) != 0)
		return;
	field_folded(&h->decoded, &h->folded, value, value_len);
	h->found = h->needle.len == 0 ||
		(h->folded.len >= h->needle.len &&
		 memmem(h->folded.data, h->folded.len, h->needle.data, h->needle.len) != NULL);
}

/* The fields whose raw values a search gives the storage to cache, as
 * Dovecot adds the fields searched to its cache: those of SEARCH FROM,
 * TO, CC, BCC and SUBJECT, which clients search again and again.  Their
 * cache field is "hdr.<name>" (lower case); its value is each value of
 * the field in the header, in order, as "<length>:<bytes>". */
static const char *const cached_fields[] = { "from", "to", "cc", "bcc", "subject" };
#define CACHE_KEY_MAX 16

/* cache_key - the cache field of a header field whose values are cached,
 * or NULL. */
static const char *cache_key(const struct msg *m, const char *field, char *buf)
{
	unsigned int i;

	if (!PZ_OPS_HAS(m->ops, msg_cache_get) || !PZ_OPS_HAS(m->ops, msg_cache_set))
		return NULL;
	for (i = 0; i < sizeof(cached_fields) / sizeof(cached_fields[0]); i++) {
		if (strcasecmp(field, cached_fields[i]) == 0) {
			snprintf(buf, CACHE_KEY_MAX, "hdr.%s", cached_fields[i]);
			return buf;
		}
	}
	return NULL;
}

struct values_ctx {
	const char *name;
	struct mail_buf out;
};

static void values_field(void *ctx, const char *name, size_t name_len,
			 const char *value, size_t value_len, int truncated)
{
	struct values_ctx *v = ctx;

	(void)name_len, (void)truncated;
	if (strcasecmp(name, v->name) != 0)
		return;
	mail_buf_printf(&v->out, "%zu:", value_len);
	mail_buf_append(&v->out, value, value_len);
}

/* field_values - the values of `field` as cache field `key` holds them,
 * from the cache or, when it has none, read from the message and given
 * to it: 1, 0 when the message is gone, -1 on a read error. */
static int field_values(struct msg *m, const char *field, const char *key,
			const char **vals_r, size_t *len_r)
{
	struct values_ctx v;
	pz_error e;
	char *copy;
	int ret;

	if (m->ops->msg_cache_get(m->box, m->uid, key, m->pool, vals_r, len_r, &e) == 0)
		return 1;
	if ((ret = load_stream(m)) <= 0)
		return ret;
	v.name = field;
	mail_buf_init(&v.out, NULL);
	if (mail_header_read(m->stream, 0, values_field, &v) < 0) {
		mail_buf_free(&v.out);
		m->err->cls = PZ_ERR_TEMP;
		m->err->msg = "Failed to read a message";
		return -1;
	}
	copy = pz_pool_alloc(m->pool, v.out.len + 1);
	if (v.out.len > 0)
		memcpy(copy, v.out.data, v.out.len);
	*vals_r = copy;
	*len_r = v.out.len;
	mail_buf_free(&v.out);
	(void)m->ops->msg_cache_set(m->box, m->uid, key, copy, *len_r, &e);
	return 1;
}

/* match_values - a HEADER key over values as field_values gives them:
 * 0 when they are well formed (h->found tells), -1 when not. */
static int match_values(struct header_ctx *h, const char *vals, size_t len)
{
	size_t pos = 0;

	while (pos < len && !h->found) {
		size_t n = 0, digits = 0;

		while (pos < len && vals[pos] >= '0' && vals[pos] <= '9' && digits < 10) {
			n = n * 10 + (size_t)(vals[pos++] - '0');
			digits++;
		}
		if (digits == 0 || pos >= len || vals[pos] != ':' || n > len - pos - 1)
			return -1;
		pos++;
		header_field(h, h->name, 0, vals + pos, n, 0);
		pos += n;
	}
	return 0;
}

/* match_read - a HEADER key over the header read from the message: 1
 * (h->found tells), 0 when the message is gone, -1 on a read error. */
static int match_read(struct msg *m, struct header_ctx *h)
{
	int ret = load_stream(m);

	if (ret > 0 && mail_header_read(m->stream, 0, header_field, h) < 0) {
		m->err->cls = PZ_ERR_TEMP;
		m->err->msg = "Failed to read a message";
		ret = -1;
	}
	return ret;
}

/* match_cached - a HEADER key over the values of a cached field: as
 * match_read; cached values that make no sense are read again. */
static int match_cached(struct msg *m, struct header_ctx *h, const char *key)
{
	const char *vals;
	size_t len;
	int ret = field_values(m, h->name, key, &vals, &len);

	if (ret <= 0 || match_values(h, vals, len) == 0)
		return ret;
	h->found = 0;
	return match_read(m, h);
}

/* match_header - HEADER field string: 1, 0 or -1. */
static int match_header(struct msg *m, const char *field, const char *str)
{
	struct header_ctx h;
	char keybuf[CACHE_KEY_MAX];
	const char *key;
	int ret = 1;

	memset(&h, 0, sizeof(h));
	h.name = field;
	mail_buf_init(&h.needle, NULL);
	mail_buf_init(&h.decoded, NULL);
	mail_buf_init(&h.folded, NULL);
	if (str != NULL)
		mail_fold_utf8(&h.needle, str, strlen(str));
	if (m->root != NULL) {
		unsigned int i;

		for (i = 0; i < m->root->n_fields && !h.found; i++)
			header_field(&h, m->root->fields[i].name, 0, m->root->fields[i].value,
				     m->root->fields[i].value_len, 0);
	} else if ((key = cache_key(m, field, keybuf)) != NULL) {
		ret = match_cached(m, &h, key);
	} else {
		ret = match_read(m, &h);
	}
	mail_buf_free(&h.needle);
	mail_buf_free(&h.decoded);
	mail_buf_free(&h.folded);
	return ret <= 0 ? ret : h.found;
}

static int match_text(struct msg *m, unsigned int where, const char *str)
{
	int ret;

	if ((ret = load_parts(m)) <= 0)
		return ret;
	ret = pz_mail_search_text(m->stream, m->root, where, str == NULL ? "" : str,
				  m->pool);
	if (ret < 0) {
		m->err->cls = PZ_ERR_TEMP;
		m->err->msg = "Failed to read a message";
	}
	return ret;
}

static int in_uidset(const pz_uidset *set, uint32_t uid)
{
	size_t i;

	for (i = 0; i < set->count; i++) {
		if (uid >= set->ranges[i].first && uid <= set->ranges[i].last)
			return 1;
	}
	return 0;
}

static int has_keyword(const struct pz_msg_info *info, const char *kw)
{
	size_t i;

	for (i = 0; i < info->keyword_count; i++) {
		if (strcasecmp(info->keywords[i], kw) == 0)
			return 1;
	}
	return 0;
}

/* compare_day - -1, 0 or 1 as the day of (t, tz) is before, on or after
 * the day of `date` in UTC. */
static int compare_day(time_t t, int tz, time_t date)
{
	int64_t a = mail_date_day(t, tz), b = mail_date_day(date, 0);

	return a < b ? -1 : a > b;
}

static int match_sent(struct msg *m, const struct pz_search_key *k)
{
	int ret = load_date(m), c;

	if (ret <= 0)
		return ret;
	c = compare_day(m->date, m->tz, k->u.date);
	return k->type == PZ_SEARCH_SENTBEFORE ? c < 0 :
		k->type == PZ_SEARCH_SENTON ? c == 0 : c >= 0;
}

static int eval(struct msg *m, const struct pz_search_key *k);

static int eval_children(struct msg *m, const struct pz_search_key *k, int any)
{
	const struct pz_search_key *c;
	int r;

	for (c = k->children; c != NULL; c = c->next) {
		if ((r = eval(m, c)) < 0 || m->gone)
			return -1;
		if (r == any)
			return any;
	}
	return !any;
}

/* eval - 1 when the message matches k, 0 when not, -1 on an error (or
 * when the message is gone, with m->gone set). */
static int eval(struct msg *m, const struct pz_search_key *k)
{
	const struct pz_msg_info *i = &m->info;
	int r, c;

	switch (k->type) {
	case PZ_SEARCH_ALL:
		r = 1;
		break;
	case PZ_SEARCH_AND:
		r = eval_children(m, k, 0);
		break;
	case PZ_SEARCH_OR:
		r = eval_children(m, k, 1);
		break;
	case PZ_SEARCH_UIDSET:
		r = in_uidset(&k->u.uids, m->uid);
		break;
	case PZ_SEARCH_FLAGS:
		r = (i->flags & k->u.flags) == k->u.flags;
		break;
	case PZ_SEARCH_KEYWORD:
		r = k->u.str != NULL && has_keyword(i, k->u.str);
		break;
	case PZ_SEARCH_BEFORE:
	case PZ_SEARCH_ON:
	case PZ_SEARCH_SINCE:
		if (internal_date(m) < 0)
			return -1;
		c = compare_day(i->internal_date, i->internal_date_tz, k->u.date);
		r = k->type == PZ_SEARCH_BEFORE ? c < 0 : k->type == PZ_SEARCH_ON ? c == 0 : c >= 0;
		break;
	case PZ_SEARCH_SENTBEFORE:
	case PZ_SEARCH_SENTON:
	case PZ_SEARCH_SENTSINCE:
		r = match_sent(m, k);
		break;
	case PZ_SEARCH_OLDER:
		if (internal_date(m) < 0)
			return -1;
		r = m->now - i->internal_date > 0 &&
			(uint64_t)(m->now - i->internal_date) > k->u.number;
		break;
	case PZ_SEARCH_YOUNGER:
		if (internal_date(m) < 0)
			return -1;
		r = m->now - i->internal_date <= 0 ||
			(uint64_t)(m->now - i->internal_date) <= k->u.number;
		break;
	case PZ_SEARCH_LARGER:
		r = i->rfc822_size > k->u.number;
		break;
	case PZ_SEARCH_SMALLER:
		r = i->rfc822_size < k->u.number;
		break;
	case PZ_SEARCH_MODSEQ:
		r = i->modseq >= k->u.number;
		break;
	case PZ_SEARCH_HEADER:
		r = k->field == NULL ? 0 : match_header(m, k->field, k->u.str);
		break;
	case PZ_SEARCH_BODY:
		r = match_text(m, MAIL_SEARCH_BODY, k->u.str);
		break;
	case PZ_SEARCH_TEXT:
		r = match_text(m, MAIL_SEARCH_HEADER | MAIL_SEARCH_BODY, k->u.str);
		break;
	default:
		m->err->cls = PZ_ERR_NOT_SUPPORTED;
		m->err->msg = "Unknown search criterion";
		return -1;
	}
	if (r < 0 || m->gone)
		return -1;
	return k->negate ? !r : r;
}

int pz_search_evaluate(const struct pz_storage_ops *ops, pz_mailbox *box,
		       const struct pz_search_key *key,
		       const pz_uid_array *candidates, pz_uid_array *result_r,
		       pz_error *err)
{
	struct msg m;
	size_t n;
	int ret = 0;

	if (result_r->pool == NULL || !PZ_OPS_HAS(ops, msg_info) ||
	    !PZ_OPS_HAS(ops, msg_stream)) {
		err->cls = PZ_ERR_BUG;
		err->msg = "search_evaluate: no result array or no message access";
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.ops = ops;
	m.box = box;
	m.err = err;
	m.now = time(NULL);
	m.pool = pz_pool_create("search");
	for (n = 0; n < candidates->count && ret == 0; n++) {
		int r;

		pz_pool_clear(m.pool);
		m.uid = candidates->uids[n];
		m.stream = NULL;
		m.root = NULL;
		m.date_state = 0;
		m.date_asked = 0;
		m.gone = 0;
		memset(&m.info, 0, sizeof(m.info));
		m.info.size = sizeof(m.info);
		r = ops->msg_info(box, m.uid, m.pool, &m.info, err);
		if (r == 1)
			continue;
		if (r < 0) {
			ret = -1;
			break;
		}
		r = eval(&m, key);
		if (m.gone)
			continue;
		if (r < 0)
			ret = -1;
		else if (r > 0)
			pz_uid_array_add(result_r, m.uid);
	}
	pz_pool_destroy(&m.pool);
	return ret;
}

/* ---- the same text for a storage that searches headers natively */

struct fields_ctx {
	pz_search_field_cb *cb;
	void *ctx;
	struct mail_buf decoded, folded;
};

static void fields_field(void *ctx, const char *name, size_t name_len,
			 const char *value, size_t value_len, int truncated)
{
	struct fields_ctx *f = ctx;

	(void)name_len, (void)truncated;
	field_folded(&f->decoded, &f->folded, value, value_len);
	f->cb(f->ctx, name, value, value_len, (const char *)f->folded.data, f->folded.len);
}

int pz_mail_search_fields(pz_stream *msg, pz_search_field_cb *cb, void *ctx)
{
	struct fields_ctx f;
	int ret;

	f.cb = cb;
	f.ctx = ctx;
	mail_buf_init(&f.decoded, NULL);
	mail_buf_init(&f.folded, NULL);
	ret = mail_header_read(msg, 0, fields_field, &f);
	mail_buf_free(&f.decoded);
	mail_buf_free(&f.folded);
	return ret;
}

char *pz_mail_search_fold(pz_pool *pool, const char *s, size_t *len_r)
{
	struct mail_buf b;
	char *out;

	mail_buf_init(&b, NULL);
	mail_fold_utf8(&b, s, strlen(s));
	out = pz_pool_alloc(pool, b.len + 1);
	if (b.len > 0)
		memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	*len_r = b.len;
	mail_buf_free(&b);
	return out;
}
