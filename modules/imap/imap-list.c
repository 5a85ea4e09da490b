/* modules/imap/imap-list.c - LIST (RFC 9051 6.3.9) with LIST-EXTENDED
 * (RFC 5258: selection SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE;
 * return SUBSCRIBED, CHILDREN, SPECIAL-USE), LIST-STATUS (RFC 5819) and
 * SPECIAL-USE attributes (RFC 6154), and LSUB (RFC 3501 6.3.9).
 *
 * The storage reports every mailbox (parents of deeper mailboxes marked
 * \Noselect, subscribed names that do not exist marked NONEXISTENT); the
 * patterns are matched here, on storage names, '%' stopping at '/'. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap.h"

#define LIST_MAX_PATTERN 1024

struct list_entry {
	const char *name;
	unsigned int attrs;
	unsigned int special;
};

struct list_opts {
	int sel_subscribed, sel_recursive, sel_special_use;
	int ret_subscribed, ret_children, ret_special_use;
	unsigned int status_items;
	int status_appendlimit, want_status;
	int extended;
	int lsub;
};

struct list_ctx {
	struct imap_cmd *cmd;
	struct list_entry *e;
	size_t count, alloc;
};

static void collect(void *ctx, const struct pz_mailbox_info *info)
{
	struct list_ctx *lc = ctx;
	pz_pool *pool = lc->cmd->pool;

	if (lc->count == lc->alloc) {
		size_t n = lc->alloc == 0 ? 64 : lc->alloc * 2;

		lc->e = imap_host->pool_realloc(pool, lc->e, lc->alloc * sizeof(*lc->e),
						n * sizeof(*lc->e));
		lc->alloc = n;
	}
	lc->e[lc->count].name = imap_host->pool_strdup(pool, info->name);
	lc->e[lc->count].attrs = info->attrs;
	lc->e[lc->count].special = info->special_use;
	lc->count++;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	int xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;

	if (xi != yi)
		return yi - xi;
	return strcmp(x->name, y->name);
}

/* match - the LIST pattern over a storage name: '*' matches anything,
 * '%' anything but '/'; INBOX matches in any case.  Dynamic programming
 * over (pattern, name) keeps it linear in each. */
static int match(const char *pat, const char *name, pz_pool *pool)
{
	size_t plen = strlen(pat), nlen = strlen(name), i, j;
	unsigned char *row = imap_host->pool_alloc(pool, nlen + 1);
	unsigned char *next = imap_host->pool_alloc(pool, nlen + 1);
	size_t ci = strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/') ? 5 : 0;

	row[0] = 1;
	for (i = 0; i < plen; i++) {
		char pc = pat[i];

		memset(next, 0, nlen + 1);
		for (j = 0; j <= nlen; j++) {
			if (pc == '*' || pc == '%') {
				/* skip the wildcard, or extend its match by one byte */
				next[j] = row[j] || (j > 0 && next[j - 1] &&
						     (pc == '*' || name[j - 1] != '/'));
			} else if (j > 0 && row[j - 1]) {
				char nc = name[j - 1];

				next[j] = j - 1 < ci ? (pc | 0x20) == (nc | 0x20) : pc == nc;
			}
		}
		memcpy(row, next, nlen + 1);
	}
	return row[nlen];
}

static int has_subscribed_child(const struct list_ctx *lc, size_t i)
{
	size_t len = strlen(lc->e[i].name), j;

	for (j = 0; j < lc->count; j++) {
		if ((lc->e[j].attrs & PZ_MBOX_SUBSCRIBED) != 0 &&
		    strncmp(lc->e[j].name, lc->e[i].name, len) == 0 && lc->e[j].name[len] == '/')
			return 1;
	}
	return 0;
}

static void add_attr(struct imap_str *b, const char *attr)
{
	if (b->data[b->len - 1] != '(')
		imap_str_adds(b, " ");
	imap_str_adds(b, attr);
}

static void attributes(struct imap_str *b, const struct list_entry *e,
		       const struct list_opts *o, int forced_noselect)
{
	static const struct { unsigned int bit; const char *name; } flags[] = {
		{ PZ_MBOX_NOSELECT, "\\Noselect" }, { PZ_MBOX_NONEXISTENT, "\\NonExistent" },
		{ PZ_MBOX_NOINFERIORS, "\\NoInferiors" }, { PZ_MBOX_MARKED, "\\Marked" },
		{ PZ_MBOX_UNMARKED, "\\Unmarked" }, { PZ_MBOX_HASCHILDREN, "\\HasChildren" },
		{ PZ_MBOX_HASNOCHILDREN, "\\HasNoChildren" },
	};
	unsigned int attrs = e->attrs, bit;
	size_t i;

	imap_str_adds(b, "(");
	if (forced_noselect || (o->lsub && (attrs & PZ_MBOX_NONEXISTENT) != 0))
		attrs = (attrs | PZ_MBOX_NOSELECT) & ~PZ_MBOX_NONEXISTENT;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if ((attrs & flags[i].bit) == 0)
			continue;
		if (o->lsub && (flags[i].bit & (PZ_MBOX_HASCHILDREN | PZ_MBOX_HASNOCHILDREN)))
			continue;
		add_attr(b, flags[i].name);
	}
	if ((attrs & PZ_MBOX_SUBSCRIBED) != 0 && !o->lsub &&
	    (o->ret_subscribed || o->sel_subscribed))
		add_attr(b, "\\Subscribed");
	for (bit = 1; bit <= PZ_SPECIAL_TRASH; bit <<= 1) {
		if ((e->special & bit) != 0 && imap_special_use_name(bit) != NULL)
			add_attr(b, imap_special_use_name(bit));
	}
	imap_str_adds(b, ")");
}

static void send_entry(struct list_ctx *lc, const struct list_entry *e,
		       const struct list_opts *o, int childinfo, int forced_noselect)
{
	struct imap_cmd *cmd = lc->cmd;
	struct imap_session *s = cmd->s;
	struct imap_str b;

	imap_str_init(&b, cmd->pool, 128);
	imap_str_adds(&b, o->lsub ? "LSUB " : "LIST ");
	attributes(&b, e, o, forced_noselect);
	imap_str_printf(&b, " \"%c\" ", s->set.separator);
	imap_str_mailbox(s, &b, e->name);
	if (childinfo)
		imap_str_adds(&b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	imap_untagged(s, "%s", b.data);
	if (o->want_status && (e->attrs & (PZ_MBOX_NOSELECT | PZ_MBOX_NONEXISTENT)) == 0) {
		pz_error err = { PZ_ERR_NONE, NULL };

		(void)imap_status_send(cmd, e->name, o->status_items, o->status_appendlimit, &err);
	}
}

/* list_one - decide whether an entry that matched is shown, and how. */
static void list_one(struct list_ctx *lc, size_t i, const struct list_opts *o,
		     const char *pattern)
{
	const struct list_entry *e = &lc->e[i];
	int subscribed = (e->attrs & PZ_MBOX_SUBSCRIBED) != 0, child;
	size_t plen = strlen(pattern);

	if (o->lsub) {
		if (subscribed)
			send_entry(lc, e, o, 0, 0);
		else if (plen > 0 && pattern[plen - 1] == '%' && has_subscribed_child(lc, i))
			send_entry(lc, e, o, 0, 1);
		return;
	}
	if (o->sel_special_use && e->special == 0)
		return;
	if (!o->sel_subscribed) {
		if ((e->attrs & PZ_MBOX_NONEXISTENT) == 0)
			send_entry(lc, e, o, 0, 0);
		return;
	}
	child = o->sel_recursive && has_subscribed_child(lc, i);
	if (subscribed || child)
		send_entry(lc, e, o, child, 0);
}

static int parse_selection(const struct imap_arg *list, struct list_opts *o)
{
	unsigned int i;

	for (i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];

		if (imap_arg_atom_equals(a, "SUBSCRIBED"))
			o->sel_subscribed = 1;
		else if (imap_arg_atom_equals(a, "RECURSIVEMATCH"))
			o->sel_recursive = 1;
		else if (imap_arg_atom_equals(a, "SPECIAL-USE"))
			o->sel_special_use = 1;
		else if (!imap_arg_atom_equals(a, "REMOTE"))
			return -1;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH alone is an error */
	return o->sel_recursive && !o->sel_subscribed && !o->sel_special_use ? -1 : 0;
}

static int parse_return(struct imap_cmd *cmd, const struct imap_arg *list,
			struct list_opts *o)
{
	unsigned int i;

	for (i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];

		if (imap_arg_atom_equals(a, "SUBSCRIBED")) {
			o->ret_subscribed = 1;
		} else if (imap_arg_atom_equals(a, "CHILDREN")) {
			o->ret_children = 1;
		} else if (imap_arg_atom_equals(a, "SPECIAL-USE")) {
			o->ret_special_use = 1;
		} else if (imap_arg_atom_equals(a, "STATUS") && i + 1 < list->count) {
			if (imap_status_items_parse(cmd, &list->list[++i], &o->status_items,
						    &o->status_appendlimit) < 0)
				return -1;
			o->want_status = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* full_pattern - reference and pattern as one storage-form pattern. */
static const char *full_pattern(struct imap_cmd *cmd, const char *ref, const char *pat,
				const char **error_r)
{
	const char *both = imap_host->pool_printf(cmd->pool, "%s%s", ref, pat);

	if (strlen(both) > LIST_MAX_PATTERN) {
		*error_r = "Pattern too long.";
		return NULL;
	}
	return imap_name_decode(cmd->s, both, cmd->pool, error_r);
}

static void run_list(struct imap_cmd *cmd, const char *ref, const struct imap_arg *pats,
		     unsigned int npats, const struct list_opts *o)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	struct list_ctx lc = { .cmd = cmd };
	const char **patterns = imap_host->pool_alloc(cmd->pool, npats * sizeof(char *));
	unsigned int p, k;
	size_t i;

	for (p = 0; p < npats; p++) {
		const char *pat, *error = NULL;

		if (!imap_astring(&pats[p], &pat)) {
			imap_bad(cmd, "Invalid mailbox pattern.");
			return;
		}
		if (pat[0] == '\0' && npats == 1 && !o->lsub) {
			/* RFC 9051 6.3.9: the delimiter and the root name */
			imap_untagged(s, "LIST (\\Noselect) \"%c\" \"\"", s->set.separator);
			imap_ok(cmd, "List completed.");
			return;
		}
		patterns[p] = full_pattern(cmd, ref, pat, &error);
		if (patterns[p] == NULL) {
			imap_no(cmd, "[CANNOT] %s", error);
			return;
		}
	}
	if (s->storage->mailbox_list(s->mu, collect, &lc, &err) < 0) {
		imap_no_error(cmd, &err, "Cannot list mailboxes.");
		return;
	}
	qsort(lc.e, lc.count, sizeof(*lc.e), cmp_entry);
	for (i = 0; i < lc.count; i++) {
		for (k = 0; k < npats; k++) {
			if (match(patterns[k], lc.e[i].name, cmd->pool)) {
				list_one(&lc, i, o, patterns[k]);
				break;
			}
		}
	}
	imap_ok(cmd, o->lsub ? "Lsub completed." : "List completed.");
}

void imap_cmd_list(struct imap_cmd *cmd)
{
	struct list_opts o = { 0 };
	const struct imap_arg *a = cmd->args;
	unsigned int n = cmd->count;
	const char *ref;

	if (n > 0 && imap_arg_is_list(&a[0])) {
		o.extended = 1;
		if (parse_selection(&a[0], &o) < 0) {
			imap_bad(cmd, "Invalid LIST selection options.");
			return;
		}
		a++;
		n--;
	}
	if (n == 4 && imap_arg_atom_equals(&a[2], "RETURN") && imap_arg_is_list(&a[3])) {
		o.extended = 1;
		if (parse_return(cmd, &a[3], &o) < 0) {
			imap_bad(cmd, "Invalid LIST return options.");
			return;
		}
		n = 2;
	}
	if (n != 2 || !imap_astring(&a[0], &ref)) {
		imap_bad(cmd, "LIST needs a reference and a pattern.");
		return;
	}
	if (imap_arg_is_list(&a[1])) {
		if (a[1].count == 0) {
			imap_bad(cmd, "Empty pattern list.");
			return;
		}
		run_list(cmd, ref, a[1].list, a[1].count, &o);
		return;
	}
	run_list(cmd, ref, &a[1], 1, &o);
}

void imap_cmd_lsub(struct imap_cmd *cmd)
{
	struct list_opts o = { .lsub = 1 };
	const char *ref;

	if (cmd->count != 2 || !imap_astring(&cmd->args[0], &ref)) {
		imap_bad(cmd, "LSUB needs a reference and a pattern.");
		return;
	}
	run_list(cmd, ref, &cmd->args[1], 1, &o);
}
