/* modules/imap/imap-seqset.c - sequence sets (RFC 9051 9: sequence-set):
 * "1,3:5,7:*" by sequence number or by UID, and "$", the saved search
 * result (RFC 5182).  Sequence numbers beyond the mailbox are an error;
 * UIDs that are not there are ignored; "n:*" by UID always includes the
 * highest UID (RFC 9051 6.4.8). */
#include <stdlib.h>
#include <string.h>
#include "imap.h"

#define STAR UINT32_MAX

/* parse_number - nz-number or '*'; returns the end or NULL. */
static const char *parse_number(const char *p, uint32_t *n_r)
{
	uint64_t n = 0;

	if (*p == '*') {
		*n_r = STAR;
		return p + 1;
	}
	if (*p < '1' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n >= STAR)
			return NULL;
		p++;
	}
	*n_r = (uint32_t)n;
	return p;
}

int imap_seqset_parse(const char *s, pz_pool *pool, struct pz_uid_range **r_r,
		      size_t *count_r)
{
	size_t max = strlen(s) / 2 + 1, n = 0;
	struct pz_uid_range *r = imap_host->pool_alloc(pool, max * sizeof(*r));
	const char *p = s;

	for (;;) {
		uint32_t a, b;

		p = parse_number(p, &a);
		if (p == NULL)
			return -1;
		b = a;
		if (*p == ':') {
			p = parse_number(p + 1, &b);
			if (p == NULL)
				return -1;
		}
		if (n == max)
			return -1;
		r[n].first = a < b ? a : b;
		r[n].last = a < b ? b : a;
		n++;
		if (*p == '\0')
			break;
		if (*p != ',')
			return -1;
		p++;
	}
	*r_r = r;
	*count_r = n;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct pz_uid_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* normalize - sort and merge overlapping or touching ranges. */
static size_t normalize(struct pz_uid_range *r, size_t n)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), cmp_range);
	for (i = 1; i < n; i++) {
		if (r[i].first <= r[out].last || r[i].first - 1 == r[out].last) {
			if (r[i].last > r[out].last)
				r[out].last = r[i].last;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

static uint32_t view_max_uid(const struct imap_view *v)
{
	return v != NULL && v->count > 0 ? v->uids[v->count - 1] : 0;
}

int imap_uidset_get(struct imap_cmd *cmd, const char *s, pz_uidset *set_r)
{
	struct pz_uid_range *r;
	uint32_t star = view_max_uid(cmd->s->view);
	size_t i, n;

	if (imap_seqset_parse(s, cmd->pool, &r, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t a = r[i].first == STAR ? star : r[i].first;
		uint32_t b = r[i].last == STAR ? star : r[i].last;

		r[i].first = a < b ? a : b;
		r[i].last = a < b ? b : a;
	}
	set_r->ranges = r;
	set_r->count = normalize(r, n);
	return 0;
}

int imap_uidset_has(const pz_uidset *set, uint32_t uid)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->ranges[mid].last < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->count && set->ranges[lo].first <= uid;
}

/* index_ranges - view indices of UIDs in set (sorted and merged). */
static void index_ranges(const struct imap_view *v, const pz_uidset *set,
			 struct pz_uid_range *out, size_t *n_r)
{
	size_t i, n = 0;

	for (i = 0; i < set->count; i++) {
		uint32_t lo = imap_view_lower(v, set->ranges[i].first);
		uint32_t hi = set->ranges[i].last == STAR ? v->count :
			imap_view_lower(v, set->ranges[i].last + 1);

		if (lo < hi) {
			out[n].first = lo;
			out[n].last = hi - 1;
			n++;
		}
	}
	*n_r = n;
}

static void msgset_from_ranges(struct imap_msgset *set, pz_pool *pool,
			       struct pz_uid_range *r, size_t n)
{
	size_t i;

	n = normalize(r, n);
	set->r = imap_host->pool_alloc(pool, (n + 1) * sizeof(*set->r));
	for (i = 0; i < n; i++) {
		set->r[i].first = r[i].first;
		set->r[i].last = r[i].last;
	}
	set->count = n;
}

static int saved_set(struct imap_cmd *cmd, struct imap_msgset *set_r)
{
	struct imap_view *v = cmd->s->view;
	pz_uidset uids = imap_uids_to_set(v->saved, v->saved_count, cmd->pool);
	struct pz_uid_range *r = imap_host->pool_alloc(cmd->pool,
						       (uids.count + 1) * sizeof(*r));
	size_t n;

	index_ranges(v, &uids, r, &n);
	msgset_from_ranges(set_r, cmd->pool, r, n);
	return 0;
}

int imap_msgset_get(struct imap_cmd *cmd, const struct imap_arg *arg, int uid,
		    struct imap_msgset *set_r, const char **error_r)
{
	struct imap_view *v = cmd->s->view;
	struct pz_uid_range *r;
	size_t i, n;

	if (!imap_arg_is_atom(arg)) {
		*error_r = "Invalid message set.";
		return -1;
	}
	if (strcmp(arg->str, "$") == 0)
		return saved_set(cmd, set_r);
	if (uid) {
		pz_uidset uids;

		if (imap_uidset_get(cmd, arg->str, &uids) < 0) {
			*error_r = "Invalid UID set.";
			return -1;
		}
		r = imap_host->pool_alloc(cmd->pool, (uids.count + 1) * sizeof(*r));
		index_ranges(v, &uids, r, &n);
		msgset_from_ranges(set_r, cmd->pool, r, n);
		return 0;
	}
	if (imap_seqset_parse(arg->str, cmd->pool, &r, &n) < 0) {
		*error_r = "Invalid message sequence set.";
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint32_t a = r[i].first == STAR ? v->count : r[i].first;
		uint32_t b = r[i].last == STAR ? v->count : r[i].last;

		if (v->count == 0 && r[i].last == STAR) {
			r[i--] = r[--n]; /* "1:*" in an empty mailbox: nothing */
			continue;
		}
		if (a > v->count || b > v->count) {
			*error_r = "Invalid message sequence number.";
			return -1;
		}
		r[i].first = (a < b ? a : b) - 1;
		r[i].last = (a < b ? b : a) - 1;
	}
	msgset_from_ranges(set_r, cmd->pool, r, n);
	return 0;
}

pz_uidset imap_msgset_uids(struct imap_session *s, const struct imap_msgset *set,
			   pz_pool *pool)
{
	struct pz_uid_range *r = imap_host->pool_alloc(pool, (set->count + 1) * sizeof(*r));
	pz_uidset out = { r, set->count };
	size_t i;

	for (i = 0; i < set->count; i++) {
		r[i].first = s->view->uids[set->r[i].first];
		r[i].last = s->view->uids[set->r[i].last];
	}
	return out;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void imap_uids_sort(uint32_t *uids, size_t count)
{
	if (count > 1)
		qsort(uids, count, sizeof(*uids), cmp_u32);
}

pz_uidset imap_uids_to_set(const uint32_t *uids, size_t count, pz_pool *pool)
{
	struct pz_uid_range *r = imap_host->pool_alloc(pool, (count + 1) * sizeof(*r));
	pz_uidset out = { r, 0 };
	size_t i, n = 0;

	for (i = 0; i < count; i++) {
		if (n > 0 && (uids[i] <= r[n - 1].last || uids[i] == r[n - 1].last + 1)) {
			if (uids[i] > r[n - 1].last)
				r[n - 1].last = uids[i];
			continue;
		}
		r[n].first = r[n].last = uids[i];
		n++;
	}
	out.count = n;
	return out;
}
