/* modules/imap/imap-search.c - SEARCH criteria (RFC 9051 6.4.4, with
 * WITHIN's OLDER/YOUNGER RFC 5032, CONDSTORE's MODSEQ RFC 7162, ESEARCH's
 * RETURN RFC 4731 and SEARCHRES's $ RFC 5182) into the pz_search_key tree
 * of search.h: sequence numbers become UID sets, strings become UTF-8,
 * FROM/TO/CC/BCC/SUBJECT become HEADER nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "imap-search.h"

#define SEARCH_MAX_DEPTH 64

struct sparse {
	struct imap_cmd *cmd;
	struct imap_search *srch;
	const char *error;
	int badcharset;
};

static const struct {
	const char *name;
	unsigned int flag;
	int negate;
} flag_keys[] = {
	{ "ANSWERED", PZ_FLAG_ANSWERED, 0 }, { "DELETED", PZ_FLAG_DELETED, 0 },
	{ "DRAFT", PZ_FLAG_DRAFT, 0 }, { "FLAGGED", PZ_FLAG_FLAGGED, 0 },
	{ "SEEN", PZ_FLAG_SEEN, 0 }, { "RECENT", PZ_FLAG_RECENT, 0 },
	{ "OLD", PZ_FLAG_RECENT, 1 },
	{ "UNANSWERED", PZ_FLAG_ANSWERED, 1 }, { "UNDELETED", PZ_FLAG_DELETED, 1 },
	{ "UNDRAFT", PZ_FLAG_DRAFT, 1 }, { "UNFLAGGED", PZ_FLAG_FLAGGED, 1 },
	{ "UNSEEN", PZ_FLAG_SEEN, 1 },
};

static const struct {
	const char *name;
	enum pz_search_type type;
	const char *field;       /* HEADER nodes */
} string_keys[] = {
	{ "BCC", PZ_SEARCH_HEADER, "BCC" }, { "CC", PZ_SEARCH_HEADER, "CC" },
	{ "FROM", PZ_SEARCH_HEADER, "FROM" }, { "TO", PZ_SEARCH_HEADER, "TO" },
	{ "SUBJECT", PZ_SEARCH_HEADER, "SUBJECT" },
	{ "BODY", PZ_SEARCH_BODY, NULL }, { "TEXT", PZ_SEARCH_TEXT, NULL },
};

static const struct {
	const char *name;
	enum pz_search_type type;
} date_keys[] = {
	{ "BEFORE", PZ_SEARCH_BEFORE }, { "ON", PZ_SEARCH_ON }, { "SINCE", PZ_SEARCH_SINCE },
	{ "SENTBEFORE", PZ_SEARCH_SENTBEFORE }, { "SENTON", PZ_SEARCH_SENTON },
	{ "SENTSINCE", PZ_SEARCH_SENTSINCE },
};

static const struct {
	const char *name;
	enum pz_search_type type;
} number_keys[] = {
	{ "LARGER", PZ_SEARCH_LARGER }, { "SMALLER", PZ_SEARCH_SMALLER },
	{ "OLDER", PZ_SEARCH_OLDER }, { "YOUNGER", PZ_SEARCH_YOUNGER },
};

static struct pz_search_key *new_key(struct sparse *sp, enum pz_search_type type)
{
	struct pz_search_key *k = imap_host->pool_alloc(sp->cmd->pool, sizeof(*k));

	k->type = type;
	return k;
}

static const struct imap_arg *next_arg(struct sparse *sp, const struct imap_arg *args,
				       unsigned int count, unsigned int *pos)
{
	if (*pos >= count) {
		sp->error = "Missing argument in SEARCH.";
		return NULL;
	}
	return &args[(*pos)++];
}

/* search_string - an astring in the command's charset, as UTF-8. */
static const char *search_string(struct sparse *sp, const struct imap_arg *a)
{
	char *utf8;

	if (!imap_arg_is_astring(a) || strlen(a->str) != a->len) {
		sp->error = "Invalid string in SEARCH.";
		return NULL;
	}
	if (sp->srch->charset == NULL)
		return a->str;
	utf8 = imap_host->charset_to_utf8(sp->cmd->pool, sp->srch->charset, a->str, a->len);
	if (utf8 == NULL) {
		sp->error = "Text is not valid in the given charset.";
		sp->badcharset = 1;
	}
	return utf8;
}

/* parse_date - date-text "d-Mon-yyyy", as 00:00 UTC of that day. */
static int parse_date(const struct imap_arg *a, time_t *t_r)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *s = a->str;
	struct tm tm = { 0 };
	char mon[4];
	int day, year, n = 0, i;

	if (!imap_arg_is_astring(a) ||
	    sscanf(s, "%2d-%3c-%4d%n", &day, mon, &year, &n) != 3 || s[n] != '\0' ||
	    day < 1 || day > 31 || year < 1900 || s[0] < '0' || s[0] > '9')
		return -1;
	mon[3] = '\0';
	for (i = 0; i < 12 && strcasecmp(months[i], mon) != 0; i++)
		;
	if (i == 12)
		return -1;
	tm.tm_mday = day;
	tm.tm_mon = i;
	tm.tm_year = year - 1900;
	*t_r = timegm(&tm);
	return 0;
}

static int parse_number(const struct imap_arg *a, uint64_t *n_r)
{
	char *end = NULL;

	if (!imap_arg_is_atom(a) || a->str[0] < '0' || a->str[0] > '9')
		return -1;
	*n_r = strtoull(a->str, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* set_key - a sequence set or UID set, resolved to UIDs now. */
static struct pz_search_key *set_key(struct sparse *sp, const struct imap_arg *a, int uid)
{
	struct pz_search_key *k = new_key(sp, PZ_SEARCH_UIDSET);
	struct imap_msgset set;
	const char *error = NULL;

	if (uid && strcmp(a->str, "$") != 0) {
		if (imap_uidset_get(sp->cmd, a->str, &k->u.uids) < 0) {
			sp->error = "Invalid UID set in SEARCH.";
			return NULL;
		}
		return k;
	}
	if (imap_msgset_get(sp->cmd, a, uid, &set, &error) < 0) {
		sp->error = error;
		return NULL;
	}
	k->u.uids = imap_msgset_uids(sp->cmd->s, &set, sp->cmd->pool);
	return k;
}

/* modseq_key - MODSEQ [entry-name entry-type] n. */
static struct pz_search_key *modseq_key(struct sparse *sp, const struct imap_arg *args,
					unsigned int count, unsigned int *pos)
{
	struct pz_search_key *k = new_key(sp, PZ_SEARCH_MODSEQ);
	const struct imap_arg *a = next_arg(sp, args, count, pos);

	if (a != NULL && imap_arg_is_string(a)) {
		if (next_arg(sp, args, count, pos) == NULL)
			return NULL;
		a = next_arg(sp, args, count, pos);
	}
	if (a == NULL || parse_number(a, &k->u.number) < 0) {
		sp->error = "Invalid MODSEQ in SEARCH.";
		return NULL;
	}
	sp->srch->has_modseq = 1;
	sp->cmd->s->enabled |= IMAP_ENABLED_CONDSTORE;
	return k;
}

static struct pz_search_key *parse_key(struct sparse *sp, const struct imap_arg *args,
				       unsigned int count, unsigned int *pos, int depth);

/* parse_and - keys until the end of a list, as one AND node. */
static struct pz_search_key *parse_and(struct sparse *sp, const struct imap_arg *args,
				       unsigned int count, int depth)
{
	struct pz_search_key *and = new_key(sp, PZ_SEARCH_AND), **tail = &and->children;
	unsigned int pos = 0;

	if (count == 0) {
		sp->error = "Empty list in SEARCH.";
		return NULL;
	}
	while (pos < count) {
		struct pz_search_key *k = parse_key(sp, args, count, &pos, depth + 1);

		if (k == NULL)
			return NULL;
		*tail = k;
		tail = &k->next;
	}
	return and;
}

static struct pz_search_key *keyword_key(struct sparse *sp, const struct imap_arg *a,
					 int negate)
{
	struct pz_search_key *k;

	if (a == NULL || !imap_arg_is_atom(a)) {
		sp->error = "Invalid keyword in SEARCH.";
		return NULL;
	}
	k = new_key(sp, PZ_SEARCH_KEYWORD);
	k->u.str = a->str;
	k->negate = negate;
	return k;
}

/* simple_key - keys that take a fixed kind of argument, or none. */
static struct pz_search_key *simple_key(struct sparse *sp, const struct imap_arg *a,
					const struct imap_arg *args, unsigned int count,
					unsigned int *pos, int *found_r)
{
	struct pz_search_key *k;
	size_t i;

	*found_r = 1;
	for (i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
		if (imap_arg_atom_equals(a, flag_keys[i].name)) {
			k = new_key(sp, PZ_SEARCH_FLAGS);
			k->u.flags = flag_keys[i].flag;
			k->negate = flag_keys[i].negate;
			return k;
		}
	}
	for (i = 0; i < sizeof(string_keys) / sizeof(string_keys[0]); i++) {
		if (imap_arg_atom_equals(a, string_keys[i].name)) {
			const struct imap_arg *v = next_arg(sp, args, count, pos);

			k = new_key(sp, string_keys[i].type);
			k->field = string_keys[i].field;
			return v == NULL || (k->u.str = search_string(sp, v)) == NULL ? NULL : k;
		}
	}
	for (i = 0; i < sizeof(date_keys) / sizeof(date_keys[0]); i++) {
		if (imap_arg_atom_equals(a, date_keys[i].name)) {
			const struct imap_arg *v = next_arg(sp, args, count, pos);

			k = new_key(sp, date_keys[i].type);
			if (v == NULL || parse_date(v, &k->u.date) < 0) {
				sp->error = "Invalid date in SEARCH.";
				return NULL;
			}
			return k;
		}
	}
	for (i = 0; i < sizeof(number_keys) / sizeof(number_keys[0]); i++) {
		if (imap_arg_atom_equals(a, number_keys[i].name)) {
			const struct imap_arg *v = next_arg(sp, args, count, pos);

			k = new_key(sp, number_keys[i].type);
			if (v == NULL || parse_number(v, &k->u.number) < 0) {
				sp->error = "Invalid number in SEARCH.";
				return NULL;
			}
			return k;
		}
	}
	*found_r = 0;
	return NULL;
}

/* new_key_and - NEW is RECENT and UNSEEN. */
static struct pz_search_key *new_messages_key(struct sparse *sp)
{
	struct pz_search_key *and = new_key(sp, PZ_SEARCH_AND);
	struct pz_search_key *recent = new_key(sp, PZ_SEARCH_FLAGS);
	struct pz_search_key *unseen = new_key(sp, PZ_SEARCH_FLAGS);

	recent->u.flags = PZ_FLAG_RECENT;
	unseen->u.flags = PZ_FLAG_SEEN;
	unseen->negate = 1;
	recent->next = unseen;
	and->children = recent;
	return and;
}

static struct pz_search_key *parse_key(struct sparse *sp, const struct imap_arg *args,
				       unsigned int count, unsigned int *pos, int depth)
{
	const struct imap_arg *a = next_arg(sp, args, count, pos), *v;
	struct pz_search_key *k;
	int found;

	if (a == NULL)
		return NULL;
	if (depth > SEARCH_MAX_DEPTH) {
		sp->error = "SEARCH nested too deeply.";
		return NULL;
	}
	if (imap_arg_is_list(a))
		return parse_and(sp, a->list, a->count, depth);
	if (!imap_arg_is_atom(a)) {
		sp->error = "Unknown SEARCH key.";
		return NULL;
	}
	k = simple_key(sp, a, args, count, pos, &found);
	if (found)
		return k;
	if (imap_arg_atom_equals(a, "ALL"))
		return new_key(sp, PZ_SEARCH_ALL);
	if (imap_arg_atom_equals(a, "NEW"))
		return new_messages_key(sp);
	if (imap_arg_atom_equals(a, "KEYWORD") || imap_arg_atom_equals(a, "UNKEYWORD"))
		return keyword_key(sp, next_arg(sp, args, count, pos), a->str[0] == 'U' ||
				   a->str[0] == 'u');
	if (imap_arg_atom_equals(a, "HEADER")) {
		const struct imap_arg *f = next_arg(sp, args, count, pos);

		k = new_key(sp, PZ_SEARCH_HEADER);
		if (f == NULL || !imap_astring(f, &k->field) ||
		    (v = next_arg(sp, args, count, pos)) == NULL)
			return NULL;
		return (k->u.str = search_string(sp, v)) == NULL ? NULL : k;
	}
	if (imap_arg_atom_equals(a, "UID")) {
		v = next_arg(sp, args, count, pos);
		return v == NULL || !imap_arg_is_atom(v) ? NULL : set_key(sp, v, 1);
	}
	if (imap_arg_atom_equals(a, "MODSEQ"))
		return modseq_key(sp, args, count, pos);
	if (imap_arg_atom_equals(a, "NOT")) {
		k = parse_key(sp, args, count, pos, depth + 1);
		if (k != NULL)
			k->negate = !k->negate;
		return k;
	}
	if (imap_arg_atom_equals(a, "OR")) {
		struct pz_search_key *or = new_key(sp, PZ_SEARCH_OR), *l, *r;

		if ((l = parse_key(sp, args, count, pos, depth + 1)) == NULL ||
		    (r = parse_key(sp, args, count, pos, depth + 1)) == NULL)
			return NULL;
		l->next = r;
		or->children = l;
		return or;
	}
	if ((a->str[0] >= '0' && a->str[0] <= '9') || a->str[0] == '*' || a->str[0] == '$')
		return set_key(sp, a, 0);
	sp->error = "Unknown SEARCH key.";
	return NULL;
}

/* parse_return - RETURN (MIN MAX ALL COUNT SAVE); () means ALL. */
static int parse_return(struct sparse *sp, const struct imap_arg *list)
{
	static const struct { const char *name; unsigned int bit; } opts[] = {
		{ "MIN", SEARCH_RET_MIN }, { "MAX", SEARCH_RET_MAX }, { "ALL", SEARCH_RET_ALL },
		{ "COUNT", SEARCH_RET_COUNT }, { "SAVE", SEARCH_RET_SAVE },
	};
	unsigned int i;
	size_t k;

	if (!imap_arg_is_list(list))
		return -1;
	for (i = 0; i < list->count; i++) {
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			if (imap_arg_atom_equals(&list->list[i], opts[k].name))
				break;
		}
		if (k == sizeof(opts) / sizeof(opts[0]))
			return -1;
		sp->srch->ret |= opts[k].bit;
	}
	if (sp->srch->ret == 0)
		sp->srch->ret = SEARCH_RET_ALL;
	sp->srch->esearch = 1;
	return 0;
}

/* parse_charset - UTF-8 and US-ASCII natively; others if the core can
 * convert them. */
static int parse_charset(struct sparse *sp, const struct imap_arg *a)
{
	const char *cs;

	if (!imap_astring(a, &cs)) {
		sp->error = "Invalid CHARSET.";
		return -1;
	}
	if (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "US-ASCII") == 0)
		return 0;
	if (!PZ_HOST_HAS(imap_host, charset_to_utf8) ||
	    imap_host->charset_to_utf8(sp->cmd->pool, cs, "", 0) == NULL) {
		sp->badcharset = 1;
		sp->error = "Unsupported charset.";
		return -1;
	}
	sp->srch->charset = cs;
	return 0;
}

int imap_search_parse(struct imap_cmd *cmd, struct imap_search *srch, const char **error_r)
{
	struct sparse sp = { .cmd = cmd, .srch = srch };
	unsigned int pos = 0;

	if (cmd->count >= 2 && imap_arg_atom_equals(&cmd->args[0], "RETURN")) {
		if (parse_return(&sp, &cmd->args[1]) < 0) {
			*error_r = "Invalid SEARCH RETURN options.";
			return -1;
		}
		pos = 2;
	}
	if (pos + 1 < cmd->count && imap_arg_atom_equals(&cmd->args[pos], "CHARSET")) {
		if (parse_charset(&sp, &cmd->args[pos + 1]) < 0)
			goto fail;
		pos += 2;
	}
	if (pos >= cmd->count) {
		*error_r = "Missing SEARCH criteria.";
		return -1;
	}
	srch->key = parse_and(&sp, cmd->args + pos, cmd->count - pos, 0);
	if (srch->key != NULL)
		return 0;
fail:
	*error_r = sp.error != NULL ? sp.error : "Invalid SEARCH criteria.";
	return sp.badcharset ? -2 : -1;
}
