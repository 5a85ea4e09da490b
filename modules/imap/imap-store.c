/* modules/imap/imap-store.c - STORE and UID STORE (RFC 9051 6.4.6) with
 * FLAGS, +FLAGS, -FLAGS, .SILENT, keywords, and CONDSTORE's UNCHANGEDSINCE
 * modifier and [MODIFIED] response code (RFC 7162 3.1.3). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap.h"

#define STORE_MAX_KEYWORDS 128

static const struct {
	const char *name;
	unsigned int flag;
} system_flags[] = {
	{ "\\Seen", PZ_FLAG_SEEN },
	{ "\\Answered", PZ_FLAG_ANSWERED },
	{ "\\Flagged", PZ_FLAG_FLAGGED },
	{ "\\Deleted", PZ_FLAG_DELETED },
	{ "\\Draft", PZ_FLAG_DRAFT },
};

/* keyword_valid - flag-keyword is an atom: no atom-specials. */
static int keyword_valid(const char *k)
{
	if (*k == '\0')
		return 0;
	for (; *k != '\0'; k++) {
		unsigned char c = (unsigned char)*k;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return 0;
	}
	return 1;
}

static int add_keyword(const char **kws, size_t *n, const char *k)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcasecmp(kws[i], k) == 0)
			return 0;
	}
	if (*n == STORE_MAX_KEYWORDS)
		return -1;
	kws[(*n)++] = k;
	return 0;
}

int imap_flags_parse(struct imap_cmd *cmd, const struct imap_arg *args, unsigned int count,
		     unsigned int *flags_r, const char ***keywords_r, size_t *kw_count_r,
		     const char **error_r)
{
	const char **kws = imap_host->pool_alloc(cmd->pool, STORE_MAX_KEYWORDS * sizeof(char *));
	unsigned int i, flags = 0;
	size_t n = 0, k;

	for (i = 0; i < count; i++) {
		const char *f = args[i].str;

		if (!imap_arg_is_atom(&args[i])) {
			*error_r = "Flags must be atoms.";
			return -1;
		}
		if (f[0] != '\\') {
			if (!keyword_valid(f)) {
				*error_r = "Invalid keyword.";
				return -1;
			}
			if (add_keyword(kws, &n, f) < 0) {
				*error_r = "[LIMIT] Too many keywords.";
				return -1;
			}
			continue;
		}
		for (k = 0; k < sizeof(system_flags) / sizeof(system_flags[0]); k++) {
			if (strcasecmp(system_flags[k].name, f) == 0)
				break;
		}
		if (k == sizeof(system_flags) / sizeof(system_flags[0])) {
			*error_r = strcasecmp(f, "\\Recent") == 0 ?
				"\\Recent can't be set or cleared." : "Invalid system flag.";
			return -1;
		}
		flags |= system_flags[k].flag;
	}
	*flags_r = flags;
	*keywords_r = kws;
	*kw_count_r = n;
	return 0;
}

/* store_op - "+FLAGS.SILENT" and friends. */
static int store_op(const struct imap_arg *a, enum pz_store_mode *mode_r, int *silent_r)
{
	const char *s = a->str;

	if (!imap_arg_is_atom(a))
		return -1;
	*mode_r = PZ_STORE_REPLACE;
	if (*s == '+' || *s == '-') {
		*mode_r = *s == '+' ? PZ_STORE_ADD : PZ_STORE_REMOVE;
		s++;
	}
	if (strcasecmp(s, "FLAGS") == 0)
		*silent_r = 0;
	else if (strcasecmp(s, "FLAGS.SILENT") == 0)
		*silent_r = 1;
	else
		return -1;
	return 0;
}

static int parse_unchangedsince(const struct imap_arg *list, uint64_t *v_r)
{
	char *end = NULL;

	if (!imap_arg_is_list(list) || list->count != 2 ||
	    !imap_arg_atom_equals(&list->list[0], "UNCHANGEDSINCE") ||
	    !imap_arg_is_atom(&list->list[1]) || list->list[1].str[0] < '0' ||
	    list->list[1].str[0] > '9')
		return -1;
	*v_r = strtoull(list->list[1].str, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* refresh_flags - the view learns the flags this STORE set (the
 * storage does not report a view's own changes back to it). */
static void refresh_flags(struct imap_cmd *cmd, const pz_uid_array *changed)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	pz_pool *tmp = imap_host->pool_create("imap store flags");
	size_t i;

	for (i = 0; i < changed->count; i++) {
		struct pz_msg_info info = { .size = sizeof(info) };
		pz_error err = { PZ_ERR_NONE, NULL };
		long idx = imap_view_find(v, changed->uids[i]);

		imap_host->pool_clear(tmp);
		if (idx < 0 || s->storage->msg_info(v->box, changed->uids[i], tmp, &info,
						    &err) != 0)
			continue;
		v->flags[idx] = (uint8_t)((v->flags[idx] & (PZ_FLAG_RECENT | IMAP_MSG_EXPUNGED)) |
					  (info.flags & ~PZ_FLAG_RECENT & 0x1f));
	}
	imap_host->pool_destroy(&tmp);
}

/* send_results - FETCH responses for the stored messages (all of them
 * unless .SILENT; with CONDSTORE the changed ones get their MODSEQ even
 * when silent, RFC 7162 3.2), and the [MODIFIED] set. */
static void send_results(struct imap_cmd *cmd, const struct imap_msgset *set, int silent,
			 const pz_uidset *changed, const pz_uidset *refused)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	int condstore = (s->enabled & IMAP_ENABLED_CONDSTORE) != 0;
	uint32_t *mod = imap_host->pool_alloc(cmd->pool, sizeof(uint32_t) *
					      (refused->count > 0 ? v->count + 1 : 1));
	pz_pool *tmp = imap_host->pool_create("imap store reply");
	size_t r, nmod = 0;
	uint32_t idx;

	for (r = 0; r < set->count; r++) {
		for (idx = set->r[r].first; idx <= set->r[r].last; idx++) {
			struct pz_msg_info info = { .size = sizeof(info) };
			pz_error err = { PZ_ERR_NONE, NULL };
			struct imap_str b;
			uint32_t uid = v->uids[idx];

			if ((v->flags[idx] & IMAP_MSG_EXPUNGED) != 0)
				continue;
			if (imap_uidset_has(refused, uid)) {
				mod[nmod++] = cmd->uid ? uid : idx + 1;
				continue;
			}
			if (silent && !(condstore && imap_uidset_has(changed, uid)))
				continue;
			imap_host->pool_clear(tmp);
			if (s->storage->msg_info(v->box, uid, tmp, &info, &err) != 0)
				continue;
			imap_str_init(&b, tmp, 128);
			imap_str_printf(&b, "%u FETCH (", idx + 1);
			if (cmd->uid)
				imap_str_printf(&b, "UID %u ", uid);
			if (!silent) {
				imap_str_adds(&b, "FLAGS ");
				imap_str_flags(s, &b, info.flags | (v->flags[idx] & PZ_FLAG_RECENT),
					       info.keywords, info.keyword_count);
			}
			if (condstore)
				imap_str_printf(&b, "%sMODSEQ (%llu)", silent ? "" : " ",
						(unsigned long long)info.modseq);
			imap_untagged(s, "%s)", b.data);
		}
	}
	imap_host->pool_destroy(&tmp);
	if (nmod > 0) {
		struct imap_str b;

		imap_uids_sort(mod, nmod);
		imap_str_init(&b, cmd->pool, 64);
		imap_str_uidset(&b, mod, nmod);
		imap_ok(cmd, "[MODIFIED %s] Conditional STORE failed.", b.data);
	}
}

void imap_cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct pz_store_args args = { .size = sizeof(args) };
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_uid_array changed, refused;
	pz_uidset uids, changed_set, refused_set;
	struct imap_msgset set;
	const char *error = NULL, **kws;
	unsigned int at = 1, flags;
	size_t i;
	int silent, r;

	if (cmd->count >= 2 && imap_arg_is_list(&cmd->args[1])) {
		if (parse_unchangedsince(&cmd->args[1], &args.unchanged_since) < 0) {
			imap_bad(cmd, "Invalid STORE modifiers.");
			return;
		}
		s->enabled |= IMAP_ENABLED_CONDSTORE;
		at = 2;
	}
	if (cmd->count < at + 2 || store_op(&cmd->args[at], &args.mode, &silent) < 0) {
		imap_bad(cmd, "STORE needs a message set, FLAGS, +FLAGS or -FLAGS, and flags.");
		return;
	}
	if (imap_msgset_get(cmd, &cmd->args[0], cmd->uid, &set, &error) < 0 ||
	    (imap_arg_is_list(&cmd->args[at + 1]) && cmd->count == at + 2 ?
	     imap_flags_parse(cmd, cmd->args[at + 1].list, cmd->args[at + 1].count, &flags,
			      &kws, &args.keyword_count, &error) :
	     imap_flags_parse(cmd, &cmd->args[at + 1], cmd->count - at - 1, &flags, &kws,
			      &args.keyword_count, &error)) < 0) {
		imap_bad(cmd, "%s", error);
		return;
	}
	if (s->view->readonly) {
		imap_no(cmd, "[CANNOT] Mailbox is read-only.");
		return;
	}
	args.flags = flags;
	args.keywords = kws;
	uids = imap_msgset_uids(s, &set, cmd->pool);
	imap_host->uid_array_init(&changed, cmd->pool);
	imap_host->uid_array_init(&refused, cmd->pool);
	if (uids.count > 0 &&
	    s->storage->store(s->view->box, &uids, &args, &changed, &refused, &err) < 0) {
		imap_no_error(cmd, &err, "Store failed.");
		return;
	}
	for (i = 0; i < args.keyword_count; i++)
		imap_view_keyword_seen(s->view, kws[i]);
	refresh_flags(cmd, &changed);
	/* what others changed meanwhile first, without our own changes */
	s->view->quiet = &uids;
	r = imap_view_sync(s, cmd->uid, &err);
	s->view->quiet = NULL;
	if (r < 0) {
		cmd->replied = 1; /* said BYE */
		return;
	}
	imap_uids_sort(changed.uids, changed.count);
	imap_uids_sort(refused.uids, refused.count);
	changed_set = imap_uids_to_set(changed.uids, changed.count, cmd->pool);
	refused_set = imap_uids_to_set(refused.uids, refused.count, cmd->pool);
	send_results(cmd, &set, silent, &changed_set, &refused_set);
	imap_ok(cmd, "Store completed.");
}
