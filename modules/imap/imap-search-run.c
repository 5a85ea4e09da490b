/* modules/imap/imap-search-run.c - evaluating a SEARCH and answering it.
 *
 * Text criteria (BODY, TEXT, HEADER with a value) at the top level go to
 * the search filters first (host->filter_search); their answer replaces
 * them with a UID set.  The rest goes to the storage's own search, and
 * when it declines, to the core's message-by-message evaluation
 * (host->search_evaluate).  Results are answered as "* SEARCH" (IMAP4rev1
 * without RETURN) or "* ESEARCH" (RFC 4731, and always in IMAP4rev2), with
 * MODSEQ when a MODSEQ criterion was used (RFC 7162 3.1.5), and may be
 * saved for "$" (RFC 5182). */
#include <string.h>
#include "imap-search.h"

static int is_text_key(const struct pz_search_key *k)
{
	if (k->negate)
		return 0;
	return k->type == PZ_SEARCH_BODY || k->type == PZ_SEARCH_TEXT ||
		(k->type == PZ_SEARCH_HEADER && k->u.str != NULL && k->u.str[0] != '\0');
}

/* ask_filters - hand the top-level text criteria to the search filters;
 * when one answers, they become one UID set node. */
static void ask_filters(struct imap_cmd *cmd, struct pz_search_key *root)
{
	struct imap_session *s = cmd->s;
	struct pz_search_key *text = NULL, **tail = &text, **link, *k, *uidset;
	const char *error = NULL;
	pz_uid_array res;

	if (!PZ_HOST_HAS(imap_host, filter_search) || root->type != PZ_SEARCH_AND)
		return;
	for (k = root->children; k != NULL; k = k->next) {
		if (is_text_key(k)) {
			struct pz_search_key *copy = imap_host->pool_alloc(cmd->pool, sizeof(*copy));

			*copy = *k;
			copy->next = NULL;
			*tail = copy;
			tail = &copy->next;
		}
	}
	if (text == NULL)
		return;
	if (text->next != NULL) {
		struct pz_search_key *and = imap_host->pool_alloc(cmd->pool, sizeof(*and));

		and->type = PZ_SEARCH_AND;
		and->children = text;
		text = and;
	}
	imap_host->uid_array_init(&res, cmd->pool);
	if (imap_host->filter_search(s->user, s->view->box, s->view->name, text, &res,
				     &error) != 0) {
		if (error != NULL)
			imap_host->log(s->module, PZ_LOG_WARNING, "search filter failed: %s", error);
		return;
	}
	imap_uids_sort(res.uids, res.count);
	uidset = imap_host->pool_alloc(cmd->pool, sizeof(*uidset));
	uidset->type = PZ_SEARCH_UIDSET;
	uidset->u.uids = imap_uids_to_set(res.uids, res.count, cmd->pool);
	for (link = &root->children; *link != NULL;) {
		if (is_text_key(*link))
			*link = (*link)->next;
		else
			link = &(*link)->next;
	}
	uidset->next = root->children;
	root->children = uidset;
}

/* evaluate - the matching UIDs of the view, sorted. */
static int evaluate(struct imap_cmd *cmd, struct pz_search_key *key, pz_uid_array *res,
		    pz_error *err)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	pz_uid_array candidates;
	uint32_t i;
	int r = 1;

	ask_filters(cmd, key);
	imap_host->uid_array_init(res, cmd->pool);
	if (PZ_OPS_HAS(s->storage, search))
		r = s->storage->search(v->box, key, res, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (!PZ_HOST_HAS(imap_host, search_evaluate)) {
			err->cls = PZ_ERR_TEMP;
			err->msg = "Search is not available (the core lacks ABI 1.1).";
			return -1;
		}
		imap_host->uid_array_init(&candidates, cmd->pool);
		for (i = 0; i < v->count; i++) {
			if ((v->flags[i] & IMAP_MSG_EXPUNGED) == 0)
				imap_host->uid_array_add(&candidates, v->uids[i]);
		}
		res->count = 0;
		if (imap_host->search_evaluate(s->storage, v->box, key, &candidates, res, err) < 0)
			return -1;
	}
	imap_uids_sort(res->uids, res->count);
	return 0;
}

/* to_results - keep UIDs still in the view; numbers are sequence
 * numbers, or UIDs for UID SEARCH. */
static size_t to_results(struct imap_cmd *cmd, pz_uid_array *res, uint32_t *nums)
{
	struct imap_view *v = cmd->s->view;
	size_t i, n = 0;

	for (i = 0; i < res->count; i++) {
		long idx;

		if (i > 0 && res->uids[i] == res->uids[i - 1])
			continue;
		idx = imap_view_find(v, res->uids[i]);
		if (idx < 0 || (v->flags[idx] & IMAP_MSG_EXPUNGED) != 0)
			continue;
		res->uids[n] = res->uids[i];
		nums[n] = cmd->uid ? res->uids[i] : (uint32_t)idx + 1;
		n++;
	}
	res->count = n;
	return n;
}

static uint64_t highest_modseq(struct imap_cmd *cmd, const uint32_t *uids, size_t n)
{
	struct imap_session *s = cmd->s;
	pz_pool *tmp = imap_host->pool_create("imap search modseq");
	uint64_t max = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct pz_msg_info info = { .size = sizeof(info) };
		pz_error err;

		imap_host->pool_clear(tmp);
		if (s->storage->msg_info(s->view->box, uids[i], tmp, &info, &err) == 0 &&
		    info.modseq > max)
			max = info.modseq;
	}
	imap_host->pool_destroy(&tmp);
	return max;
}

/* save_result - RFC 5182 2.4: with MIN or MAX only, just those. */
static void save_result(struct imap_cmd *cmd, const struct imap_search *srch,
			const uint32_t *uids, size_t n)
{
	struct imap_view *v = cmd->s->view;
	uint32_t pick[2];
	size_t np = 0;

	if ((srch->ret & (SEARCH_RET_ALL | SEARCH_RET_COUNT)) == 0 &&
	    (srch->ret & (SEARCH_RET_MIN | SEARCH_RET_MAX)) != 0 && n > 0) {
		if (srch->ret & SEARCH_RET_MIN)
			pick[np++] = uids[0];
		if ((srch->ret & SEARCH_RET_MAX) && (np == 0 || uids[n - 1] != pick[0]))
			pick[np++] = uids[n - 1];
		uids = pick;
		n = np;
	}
	if (n > v->saved_alloc) {
		v->saved = imap_host->pool_realloc(v->pool, v->saved,
						   v->saved_alloc * sizeof(uint32_t),
						   n * sizeof(uint32_t));
		v->saved_alloc = n;
	}
	if (n > 0)
		memcpy(v->saved, uids, n * sizeof(uint32_t));
	v->saved_count = n;
}

static void send_search(struct imap_cmd *cmd, const struct imap_search *srch,
			const uint32_t *nums, size_t n, uint64_t modseq)
{
	struct imap_str b;
	size_t i;

	imap_str_init(&b, cmd->pool, 64 + n * 8);
	imap_str_adds(&b, "SEARCH");
	for (i = 0; i < n; i++)
		imap_str_printf(&b, " %u", nums[i]);
	if (srch->has_modseq && n > 0)
		imap_str_printf(&b, " (MODSEQ %llu)", (unsigned long long)modseq);
	imap_untagged(cmd->s, "%s", b.data);
}

static void send_esearch(struct imap_cmd *cmd, const struct imap_search *srch,
			 const uint32_t *nums, size_t n, uint64_t modseq)
{
	struct imap_str b;

	imap_str_init(&b, cmd->pool, 64 + n * 4);
	imap_str_adds(&b, "ESEARCH (TAG ");
	imap_str_string(&b, cmd->tag, strlen(cmd->tag), 0);
	imap_str_adds(&b, ")");
	if (cmd->uid)
		imap_str_adds(&b, " UID");
	if (n > 0 && (srch->ret & SEARCH_RET_MIN))
		imap_str_printf(&b, " MIN %u", nums[0]);
	if (n > 0 && (srch->ret & SEARCH_RET_MAX))
		imap_str_printf(&b, " MAX %u", nums[n - 1]);
	if (srch->ret & SEARCH_RET_COUNT)
		imap_str_printf(&b, " COUNT %zu", n);
	if (n > 0 && (srch->ret & SEARCH_RET_ALL)) {
		imap_str_adds(&b, " ALL ");
		imap_str_uidset(&b, nums, n);
	}
	if (srch->has_modseq && n > 0)
		imap_str_printf(&b, " MODSEQ %llu", (unsigned long long)modseq);
	imap_untagged(cmd->s, "%s", b.data);
}

void imap_search_run(struct imap_cmd *cmd, struct imap_search *srch)
{
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_uid_array res;
	uint32_t *nums;
	uint64_t modseq = 0;
	size_t n;

	if (evaluate(cmd, srch->key, &res, &err) < 0) {
		imap_no_error(cmd, &err, "Search failed.");
		return;
	}
	nums = imap_host->pool_alloc(cmd->pool, (res.count + 1) * sizeof(uint32_t));
	n = to_results(cmd, &res, nums);
	if (srch->has_modseq)
		modseq = highest_modseq(cmd, res.uids, n);
	if (srch->ret & SEARCH_RET_SAVE)
		save_result(cmd, srch, res.uids, n);
	if (!srch->esearch)
		send_search(cmd, srch, nums, n, modseq);
	else if (srch->ret != SEARCH_RET_SAVE)
		send_esearch(cmd, srch, nums, n, modseq);
	imap_ok(cmd, "Search completed.");
}

void imap_cmd_search(struct imap_cmd *cmd)
{
	struct imap_search *srch = imap_host->pool_alloc(cmd->pool, sizeof(*srch));
	const char *error = NULL;
	int r = imap_search_parse(cmd, srch, &error);

	if (r == -2) {
		imap_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] %s", error);
		return;
	}
	if (r < 0) {
		imap_bad(cmd, "%s", error);
		return;
	}
	if (!srch->esearch && imap_rev2(cmd->s)) {
		/* RFC 9051 7.3.4: IMAP4rev2 answers SEARCH with ESEARCH */
		srch->esearch = 1;
		srch->ret = SEARCH_RET_ALL;
	}
	imap_search_run(cmd, srch);
}
