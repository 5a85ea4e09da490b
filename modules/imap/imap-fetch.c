/* modules/imap/imap-fetch.c - FETCH and UID FETCH (RFC 9051 6.4.5): the
 * item list (with the ALL, FAST and FULL macros), CHANGEDSINCE (RFC 7162),
 * \Seen set by reading, and one "* n FETCH (...)" per message, written
 * straight to the connection so a large body never sits in memory.
 * Body sections are in imap-fetch-body.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "imap-fetch.h"

#define FETCH_MAX_ITEMS 128

struct fetch_ctx {
	struct imap_cmd *cmd;
	struct imap_fetch_item items[FETCH_MAX_ITEMS];
	unsigned int count;
	uint64_t changedsince;
	int has_changedsince;
	int sets_seen;
	pz_uid_array seen_now;    /* UIDs this FETCH marked \Seen */
	int expunged;             /* asked for messages already gone */
	int unknown_cte;          /* BINARY of an encoding we cannot decode */
	int failed;
};

static const struct {
	const char *name;
	enum imap_fetch_kind kind;
} simple_items[] = {
	{ "UID", FETCH_UID },
	{ "FLAGS", FETCH_FLAGS },
	{ "INTERNALDATE", FETCH_INTERNALDATE },
	{ "RFC822.SIZE", FETCH_RFC822_SIZE },
	{ "ENVELOPE", FETCH_ENVELOPE },
	{ "BODY", FETCH_BODY },
	{ "BODYSTRUCTURE", FETCH_BODYSTRUCTURE },
	{ "MODSEQ", FETCH_MODSEQ },
};

static struct imap_fetch_item *add_item(struct fetch_ctx *fc, enum imap_fetch_kind kind)
{
	struct imap_fetch_item *it;

	if (fc->count == FETCH_MAX_ITEMS)
		return NULL;
	it = &fc->items[fc->count++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

static int has_item(const struct fetch_ctx *fc, enum imap_fetch_kind kind)
{
	unsigned int i;

	for (i = 0; i < fc->count; i++) {
		if (fc->items[i].kind == kind)
			return 1;
	}
	return 0;
}

/* rfc822_item - RFC822, RFC822.HEADER, RFC822.TEXT as sections. */
static int rfc822_item(struct fetch_ctx *fc, const struct imap_arg *a)
{
	struct imap_fetch_item *it;
	enum imap_section_text text;
	int seen;

	if (imap_arg_atom_equals(a, "RFC822")) {
		text = SECTION_ALL;
		seen = 1;
	} else if (imap_arg_atom_equals(a, "RFC822.HEADER")) {
		text = SECTION_HEADER;
		seen = 0;
	} else if (imap_arg_atom_equals(a, "RFC822.TEXT")) {
		text = SECTION_TEXT;
		seen = 1;
	} else {
		return 0;
	}
	if ((it = add_item(fc, FETCH_SECTION)) == NULL)
		return -1;
	it->part = "";
	it->text = text;
	it->sets_seen = seen;
	it->resp_name = text == SECTION_ALL ? "RFC822" :
		text == SECTION_HEADER ? "RFC822.HEADER" : "RFC822.TEXT";
	return 1;
}

static int add_macro(struct fetch_ctx *fc, const struct imap_arg *a)
{
	static const enum imap_fetch_kind all[] = {
		FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822_SIZE, FETCH_ENVELOPE, FETCH_BODY,
	};
	unsigned int n, i;

	if (imap_arg_atom_equals(a, "FAST"))
		n = 3;
	else if (imap_arg_atom_equals(a, "ALL"))
		n = 4;
	else if (imap_arg_atom_equals(a, "FULL"))
		n = 5;
	else
		return 0;
	for (i = 0; i < n; i++)
		add_item(fc, all[i]);
	return 1;
}

/* parse_items - the items from args[0..count); with `single`, just the
 * first one (a macro allowed), with *used_r telling how many arguments
 * it took (BODY[HEADER.FIELDS (...)] takes three). */
static int parse_items(struct fetch_ctx *fc, const struct imap_arg *args, unsigned int count,
		       int single, unsigned int *used_r, const char **error_r)
{
	unsigned int i = 0;

	*error_r = "Invalid FETCH item.";
	*used_r = 1;
	if (single && add_macro(fc, &args[0]))
		return 0;
	while (i < count && (!single || i == 0)) {
		const struct imap_arg *a = &args[i];
		unsigned int used = 1;
		size_t k;
		int r;

		if (!imap_arg_is_atom(a))
			return -1;
		for (k = 0; k < sizeof(simple_items) / sizeof(simple_items[0]); k++) {
			if (imap_arg_atom_equals(a, simple_items[k].name))
				break;
		}
		if (k < sizeof(simple_items) / sizeof(simple_items[0])) {
			if (add_item(fc, simple_items[k].kind) == NULL)
				return -1;
		} else if ((r = rfc822_item(fc, a)) != 0) {
			if (r < 0)
				return -1;
		} else {
			struct imap_fetch_item *it = add_item(fc, FETCH_SECTION);

			if (it == NULL || imap_fetch_body_parse(fc->cmd, args + i, count - i, &used,
								it, error_r) < 0)
				return -1;
		}
		i += used;
	}
	*used_r = i;
	return fc->count == 0 ? -1 : 0;
}

/* parse_modifiers - RFC 7162 3.1.4: (CHANGEDSINCE modseq). */
static int parse_modifiers(struct fetch_ctx *fc, const struct imap_arg *list)
{
	unsigned long long v;
	char *end = NULL;

	if (!imap_arg_is_list(list) || list->count != 2 ||
	    !imap_arg_atom_equals(&list->list[0], "CHANGEDSINCE") ||
	    !imap_arg_is_atom(&list->list[1]))
		return -1;
	v = strtoull(list->list[1].str, &end, 10);
	if (*end != '\0' || list->list[1].str[0] < '0' || list->list[1].str[0] > '9')
		return -1;
	fc->changedsince = v;
	fc->has_changedsince = 1;
	return 0;
}

/* internal_date - the IMAP date-time of a message. */
static void internal_date(struct imap_str *b, time_t t, int tz)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char buf[PZ_IMAP_DATE_MAX];
	struct tm tm;
	time_t local = t + (time_t)tz * 60;
	int atz = tz < 0 ? -tz : tz;

	if (PZ_HOST_HAS(imap_host, imap_date_format)) {
		imap_host->imap_date_format(t, tz, buf);
		imap_str_printf(b, "\"%s\"", buf);
		return;
	}
	gmtime_r(&local, &tm);
	imap_str_printf(b, "\"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", tm.tm_mday,
			months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
			tz < 0 ? '-' : '+', atz / 60, atz % 60);
}

/* simple_item - everything but body sections, into b. */
static int simple_item(struct fetch_ctx *fc, struct imap_fetch_msg *m,
		       const struct imap_fetch_item *it, struct imap_str *b, pz_error *err)
{
	struct imap_session *s = fc->cmd->s;
	const char *value;

	switch (it->kind) {
	case FETCH_UID:
		imap_str_printf(b, "UID %u", m->uid);
		return 0;
	case FETCH_FLAGS:
		imap_str_adds(b, "FLAGS ");
		imap_str_flags(s, b, m->info.flags, m->info.keywords, m->info.keyword_count);
		return 0;
	case FETCH_INTERNALDATE:
		/* views are opened with PZ_OPEN_DATES_LATER: 0 is not known yet */
		if (m->info.internal_date == 0 && PZ_OPS_HAS(s->storage, msg_internal_date)) {
			int r = s->storage->msg_internal_date(s->view->box, m->uid,
							      &m->info.internal_date,
							      &m->info.internal_date_tz, err);
			if (r < 0)
				return -1; /* 1: gone meanwhile, the next sync says so */
		}
		imap_str_adds(b, "INTERNALDATE ");
		internal_date(b, m->info.internal_date, m->info.internal_date_tz);
		return 0;
	case FETCH_RFC822_SIZE:
		imap_str_printf(b, "RFC822.SIZE %llu", (unsigned long long)m->info.rfc822_size);
		return 0;
	case FETCH_MODSEQ:
		imap_str_printf(b, "MODSEQ (%llu)", (unsigned long long)m->info.modseq);
		return 0;
	default:
		break;
	}
	if (imap_fetch_structure(fc->cmd, m, it->kind == FETCH_ENVELOPE ? "envelope" :
				 it->kind == FETCH_BODY ? "body" : "bodystructure",
				 &value, err) < 0)
		return -1;
	imap_str_printf(b, "%s %s", it->kind == FETCH_ENVELOPE ? "ENVELOPE" :
			it->kind == FETCH_BODY ? "BODY" : "BODYSTRUCTURE", value);
	return 0;
}

/* flush_str - write what was built so far, and start over. */
static int flush_str(struct imap_session *s, struct imap_str *b)
{
	int r = b->len > 0 ? imap_write(s, b->data, b->len) : 0;

	b->len = 0;
	b->data[0] = '\0';
	return r;
}

/* in_seen_now - whether this FETCH set \Seen on uid (seen_now is sorted). */
static int in_seen_now(const struct fetch_ctx *fc, uint32_t uid)
{
	size_t lo = 0, hi = fc->seen_now.count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fc->seen_now.uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < fc->seen_now.count && fc->seen_now.uids[lo] == uid;
}

/* fetch_one - "* seq FETCH (...)" for one message. */
static int fetch_one(struct fetch_ctx *fc, struct imap_fetch_msg *m)
{
	struct imap_session *s = fc->cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	struct imap_str b;
	unsigned int i;
	int flags_done = 0;

	imap_str_init(&b, m->pool, 256);
	imap_str_printf(&b, "* %u FETCH (", m->seq);
	for (i = 0; i < fc->count; i++) {
		const struct imap_fetch_item *it = &fc->items[i];

		if (i > 0)
			imap_str_adds(&b, " ");
		if (it->kind == FETCH_FLAGS)
			flags_done = 1;
		if (it->kind == FETCH_SECTION || it->kind == FETCH_BINARY_SIZE) {
			if (flush_str(s, &b) < 0 || imap_fetch_body_send(fc->cmd, m, it, &err) < 0)
				break;
		} else if (simple_item(fc, m, it, &b, &err) < 0) {
			break;
		}
	}
	if (i < fc->count) {
		/* close the response well-formed, then report the failure */
		imap_str_adds(&b, ")\r\n");
		flush_str(s, &b);
		if (m->unknown_cte) {
			fc->unknown_cte = 1;
			return 0;
		}
		fc->failed = 1;
		imap_host->log(s->module, PZ_LOG_ERROR, "FETCH of UID %u failed: %s", m->uid,
			       err.msg != NULL ? err.msg : "unknown error");
		return 0;
	}
	if (!flags_done && in_seen_now(fc, m->uid)) {
		imap_str_adds(&b, " FLAGS ");
		imap_str_flags(s, &b, m->info.flags, m->info.keywords, m->info.keyword_count);
	}
	imap_str_adds(&b, ")\r\n");
	if (m->failed)
		fc->failed = 1;
	if (m->damaged)
		imap_str_printf(&b, "* OK [PARSE] Message %u has a damaged MIME structure.\r\n",
				m->seq);
	return flush_str(s, &b);
}

/* only_flags - items a message already expunged can still answer. */
static int only_flags(const struct fetch_ctx *fc)
{
	unsigned int i;

	for (i = 0; i < fc->count; i++) {
		if (fc->items[i].kind != FETCH_UID && fc->items[i].kind != FETCH_FLAGS)
			return 0;
	}
	return 1;
}

static void fetch_message(struct fetch_ctx *fc, struct imap_fetch_msg *m, uint32_t idx)
{
	struct imap_session *s = fc->cmd->s;
	struct imap_view *v = s->view;
	pz_error err = { PZ_ERR_NONE, NULL };
	int r;

	memset(&m->info, 0, sizeof(m->info));
	m->info.size = sizeof(m->info);
	m->seq = idx + 1;
	m->uid = v->uids[idx];
	m->stream = NULL;
	m->root = NULL;
	m->failed = 0;
	m->unknown_cte = 0;
	m->damaged = 0;
	if ((v->flags[idx] & IMAP_MSG_EXPUNGED) != 0) {
		if (!only_flags(fc)) {
			fc->expunged = 1;
			return;
		}
		m->info.uid = m->uid;
		m->info.flags = v->flags[idx] & ~IMAP_MSG_EXPUNGED;
		r = 0;
	} else {
		r = s->storage->msg_info(v->box, m->uid, m->pool, &m->info, &err);
	}
	if (r != 0) {
		if (r < 0)
			fc->failed = 1;
		else
			fc->expunged = 1;
		return;
	}
	m->info.flags = (m->info.flags & ~PZ_FLAG_RECENT) | (v->flags[idx] & PZ_FLAG_RECENT);
	if (fc->has_changedsince && m->info.modseq <= fc->changedsince)
		return;
	fetch_one(fc, m);
}

/* mark_seen - RFC 9051 6.4.5: reading a body sets \Seen, all at once. */
static void mark_seen(struct fetch_ctx *fc, const struct imap_msgset *set)
{
	struct imap_session *s = fc->cmd->s;
	struct pz_store_args args = { .size = sizeof(args), .mode = PZ_STORE_ADD,
				      .flags = PZ_FLAG_SEEN };
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_uidset uids = imap_msgset_uids(s, set, fc->cmd->pool);
	size_t i;

	imap_host->uid_array_init(&fc->seen_now, fc->cmd->pool);
	if (!fc->sets_seen || s->view->readonly || uids.count == 0)
		return;
	if (s->storage->store(s->view->box, &uids, &args, &fc->seen_now, NULL, &err) < 0) {
		imap_host->log(s->module, PZ_LOG_WARNING, "cannot set \\Seen: %s",
			       err.msg != NULL ? err.msg : "unknown error");
		return;
	}
	imap_uids_sort(fc->seen_now.uids, fc->seen_now.count);
	for (i = 0; i < fc->seen_now.count; i++) {
		long idx = imap_view_find(s->view, fc->seen_now.uids[i]);

		if (idx >= 0)
			s->view->flags[idx] |= PZ_FLAG_SEEN;
	}
}

/* prepare - items implied by the command: UID for UID FETCH, MODSEQ with
 * CHANGEDSINCE or once CONDSTORE is on and flags are sent. */
static int prepare(struct fetch_ctx *fc)
{
	struct imap_session *s = fc->cmd->s;
	unsigned int i;

	if (fc->cmd->uid && !has_item(fc, FETCH_UID)) {
		if (fc->count == FETCH_MAX_ITEMS)
			return -1;
		memmove(&fc->items[1], &fc->items[0], fc->count * sizeof(fc->items[0]));
		memset(&fc->items[0], 0, sizeof(fc->items[0]));
		fc->items[0].kind = FETCH_UID;
		fc->count++;
	}
	if (has_item(fc, FETCH_MODSEQ) || fc->has_changedsince)
		s->enabled |= IMAP_ENABLED_CONDSTORE;
	if (fc->has_changedsince && !has_item(fc, FETCH_MODSEQ) &&
	    add_item(fc, FETCH_MODSEQ) == NULL)
		return -1;
	for (i = 0; i < fc->count; i++) {
		if (fc->items[i].sets_seen)
			fc->sets_seen = 1;
	}
	return 0;
}

void imap_cmd_fetch(struct imap_cmd *cmd)
{
	struct fetch_ctx *fc = imap_host->pool_alloc(cmd->pool, sizeof(*fc));
	struct imap_fetch_msg m = { 0 };
	struct imap_msgset set;
	const char *error = NULL;
	unsigned int used = 1;
	size_t r;
	uint32_t idx;

	fc->cmd = cmd;
	if (cmd->count < 2) {
		imap_bad(cmd, "FETCH needs a message set and items.");
		return;
	}
	if (imap_msgset_get(cmd, &cmd->args[0], cmd->uid, &set, &error) < 0 ||
	    (imap_arg_is_list(&cmd->args[1]) ?
	     parse_items(fc, cmd->args[1].list, cmd->args[1].count, 0, &used, &error) :
	     parse_items(fc, &cmd->args[1], cmd->count - 1, 1, &used, &error)) < 0) {
		imap_bad(cmd, "%s", error);
		return;
	}
	if (imap_arg_is_list(&cmd->args[1]))
		used = 1;
	if (cmd->count > used + 2 ||
	    (cmd->count == used + 2 && parse_modifiers(fc, &cmd->args[used + 1]) < 0)) {
		imap_bad(cmd, "Invalid FETCH modifiers.");
		return;
	}
	if (prepare(fc) < 0) {
		imap_bad(cmd, "Too many FETCH items.");
		return;
	}
	mark_seen(fc, &set);
	m.pool = imap_host->pool_create("imap fetch message");
	m.buf = imap_host->pool_alloc(cmd->pool, IMAP_SEND_CHUNK);
	for (r = 0; r < set.count; r++) {
		for (idx = set.r[r].first; idx <= set.r[r].last; idx++) {
			fetch_message(fc, &m, idx);
			imap_host->pool_clear(m.pool);
		}
	}
	imap_host->pool_destroy(&m.pool);
	if (fc->unknown_cte)
		imap_no(cmd, "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding in a part.");
	else if (fc->failed)
		imap_no(cmd, "[SERVERBUG] Some messages could not be read. Refer to server log.");
	else if (fc->expunged)
		imap_no(cmd, "[EXPUNGEISSUED] Some of the requested messages no longer exist.");
	else
		imap_ok(cmd, "Fetch completed.");
}
