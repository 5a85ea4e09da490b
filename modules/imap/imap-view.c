/* modules/imap/imap-view.c - the selected mailbox as this session sees
 * it: UIDs by sequence number with their flags, kept in step with the
 * storage's view by mailbox_sync, whose reports become untagged responses:
 *   expunged -> "* n EXPUNGE", only where RFC 9051 7.5.1 allows (never
 *               while a FETCH, STORE or SEARCH by sequence number runs);
 *               until then the message keeps its number, marked expunged
 *   appended -> "* n EXISTS" (and "* n RECENT" for IMAP4rev1 clients)
 *   changed  -> "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])"
 * New keywords are announced with FLAGS and PERMANENTFLAGS first. */
#include <string.h>
#include "imap.h"

#define SYSTEM_FLAGS (PZ_FLAG_SEEN | PZ_FLAG_ANSWERED | PZ_FLAG_FLAGGED | \
		      PZ_FLAG_DELETED | PZ_FLAG_DRAFT)

struct sync_ctx {
	struct imap_session *s;
	int quiet;
};

long imap_view_find(const struct imap_view *v, uint32_t uid)
{
	uint32_t i = imap_view_lower(v, uid);

	return i < v->count && v->uids[i] == uid ? (long)i : -1;
}

uint32_t imap_view_lower(const struct imap_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void imap_view_keyword_seen(struct imap_view *v, const char *kw)
{
	size_t i;

	for (i = 0; i < v->keyword_count; i++) {
		if (strcmp(v->keywords[i], kw) == 0)
			return;
	}
	if (v->keyword_count == v->keyword_alloc) {
		size_t n = v->keyword_alloc == 0 ? 16 : v->keyword_alloc * 2;

		v->keywords = imap_host->pool_realloc(v->pool, v->keywords,
						      v->keyword_alloc * sizeof(char *),
						      n * sizeof(char *));
		v->keyword_alloc = n;
	}
	v->keywords[v->keyword_count++] = imap_host->pool_strdup(v->pool, kw);
	v->keywords_changed = 1;
}

static void keywords_seen(struct imap_view *v, const struct pz_msg_info *info)
{
	size_t i;

	for (i = 0; i < info->keyword_count; i++)
		imap_view_keyword_seen(v, info->keywords[i]);
}

static void on_expunged(void *ctx, uint32_t uid)
{
	struct imap_view *v = ((struct sync_ctx *)ctx)->s->view;
	long i = imap_view_find(v, uid);

	if (i < 0 || (v->flags[i] & IMAP_MSG_EXPUNGED) != 0)
		return;
	if ((v->flags[i] & PZ_FLAG_RECENT) != 0)
		v->recent--;
	v->flags[i] |= IMAP_MSG_EXPUNGED;
	v->expunged++;
}

static void on_appended(void *ctx, const struct pz_msg_info *info)
{
	struct imap_view *v = ((struct sync_ctx *)ctx)->s->view;

	if (v->count > 0 && info->uid <= v->uids[v->count - 1])
		return; /* the storage broke its promise of growing UIDs */
	if (v->count == v->alloc) {
		uint32_t n = v->alloc == 0 ? 256 : v->alloc * 2;

		v->uids = imap_host->pool_realloc(v->pool, v->uids, v->alloc * sizeof(uint32_t),
						  n * sizeof(uint32_t));
		v->flags = imap_host->pool_realloc(v->pool, v->flags, v->alloc, n);
		v->alloc = n;
	}
	v->uids[v->count] = info->uid;
	v->flags[v->count] = (uint8_t)(info->flags & (SYSTEM_FLAGS | PZ_FLAG_RECENT));
	if ((info->flags & PZ_FLAG_RECENT) != 0)
		v->recent++;
	v->count++;
	keywords_seen(v, info);
}

static void on_changed(void *ctx, const struct pz_msg_info *info)
{
	struct sync_ctx *sc = ctx;
	struct imap_view *v = sc->s->view;
	long i = imap_view_find(v, info->uid);

	if (i < 0 || (v->flags[i] & IMAP_MSG_EXPUNGED) != 0)
		return;
	v->flags[i] = (uint8_t)((v->flags[i] & PZ_FLAG_RECENT) | (info->flags & SYSTEM_FLAGS));
	keywords_seen(v, info);
	if (sc->quiet || (v->quiet != NULL && imap_uidset_has(v->quiet, info->uid)))
		return;
	imap_host->uid_array_add(&v->changed, info->uid);
}

static const struct pz_sync_handler sync_handler = {
	.size = sizeof(struct pz_sync_handler),
	.expunged = on_expunged,
	.appended = on_appended,
	.changed = on_changed,
};

void imap_str_flags(struct imap_session *s, struct imap_str *b, unsigned int flags,
		    const char *const *keywords, size_t keyword_count)
{
	static const struct { unsigned int bit; const char *name; } names[] = {
		{ PZ_FLAG_ANSWERED, "\\Answered" }, { PZ_FLAG_FLAGGED, "\\Flagged" },
		{ PZ_FLAG_DELETED, "\\Deleted" }, { PZ_FLAG_SEEN, "\\Seen" },
		{ PZ_FLAG_DRAFT, "\\Draft" }, { PZ_FLAG_RECENT, "\\Recent" },
	};
	size_t i, start = b->len;

	imap_str_adds(b, "(");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((flags & names[i].bit) == 0)
			continue;
		if (names[i].bit == PZ_FLAG_RECENT && imap_rev2(s))
			continue; /* RFC 9051 has no \Recent */
		if (b->len > start + 1)
			imap_str_add(b, " ", 1);
		imap_str_adds(b, names[i].name);
	}
	for (i = 0; i < keyword_count; i++) {
		if (b->len > start + 1)
			imap_str_add(b, " ", 1);
		imap_str_adds(b, keywords[i]);
	}
	imap_str_adds(b, ")");
}

void imap_str_all_flags(struct imap_session *s, struct imap_str *b, int permanent)
{
	struct imap_view *v = s->view;
	size_t i;

	imap_str_adds(b, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (i = 0; v != NULL && i < v->keyword_count; i++)
		imap_str_printf(b, " %s", v->keywords[i]);
	imap_str_adds(b, permanent ? " \\*)" : ")");
}

/* send_expunges - "* n EXPUNGE" for held-back expunges, highest first so
 * no number shifts before it is used. */
static void send_expunges(struct imap_session *s)
{
	struct imap_view *v = s->view;
	uint32_t i, out = 0;

	for (i = v->count; i > 0; i--) {
		if ((v->flags[i - 1] & IMAP_MSG_EXPUNGED) != 0)
			imap_untagged(s, "%u EXPUNGE", i);
	}
	for (i = 0; i < v->count; i++) {
		if ((v->flags[i] & IMAP_MSG_EXPUNGED) != 0)
			continue;
		v->uids[out] = v->uids[i];
		v->flags[out] = v->flags[i];
		out++;
	}
	v->exists_sent -= v->count - out;
	v->count = out;
	v->expunged = 0;
}

static void send_flag_changes(struct imap_session *s)
{
	struct imap_view *v = s->view;
	size_t i;

	for (i = 0; i < v->changed.count; i++) {
		struct pz_msg_info info = { .size = sizeof(info) };
		pz_error err = { PZ_ERR_NONE, NULL };
		long seq = imap_view_find(v, v->changed.uids[i]);
		struct imap_str b;

		if (seq < 0 || (v->flags[seq] & IMAP_MSG_EXPUNGED) != 0 ||
		    s->storage->msg_info(v->box, v->changed.uids[i], v->sync_pool, &info,
					 &err) != 0)
			continue;
		imap_str_init(&b, v->sync_pool, 128);
		imap_str_printf(&b, "%ld FETCH (UID %u FLAGS ", seq + 1, info.uid);
		imap_str_flags(s, &b, (info.flags & SYSTEM_FLAGS) | (v->flags[seq] & PZ_FLAG_RECENT),
			       info.keywords, info.keyword_count);
		if ((s->enabled & IMAP_ENABLED_CONDSTORE) != 0)
			imap_str_printf(&b, " MODSEQ (%llu)", (unsigned long long)info.modseq);
		imap_untagged(s, "%s)", b.data);
	}
	v->changed.count = 0;
}

static int view_sync(struct imap_session *s, int expunge_ok, int quiet, pz_error *err)
{
	struct imap_view *v = s->view;
	struct sync_ctx sc = { s, quiet };
	struct imap_str b;

	/* a long IDLE syncs many times within one command */
	imap_host->pool_clear(v->sync_pool);
	imap_host->uid_array_init(&v->changed, v->sync_pool);
	if (s->storage->mailbox_sync(v->box, &sync_handler, &sc, err) < 0)
		return -1;
	if (quiet)
		return 0;
	if (expunge_ok && v->expunged > 0)
		send_expunges(s);
	if (v->keywords_changed) {
		v->keywords_changed = 0;
		imap_str_init(&b, v->sync_pool, 128);
		imap_str_all_flags(s, &b, 0);
		imap_untagged(s, "FLAGS %s", b.data);
		if (!v->readonly) {
			imap_str_init(&b, v->sync_pool, 128);
			imap_str_all_flags(s, &b, 1);
			imap_untagged(s, "OK [PERMANENTFLAGS %s] Flags permitted.", b.data);
		}
	}
	send_flag_changes(s);
	/* RECENT goes with new mail (RFC 3501 7.3.2); an expunge lowers it
	 * silently, as the client's own count does */
	if (v->count != v->exists_sent) {
		v->exists_sent = v->count;
		imap_untagged(s, "%u EXISTS", v->count);
		if (!imap_rev2(s) && v->recent != v->recent_sent)
			imap_untagged(s, "%u RECENT", v->recent);
	}
	v->recent_sent = v->recent;
	return 0;
}

/* imap_view_sync - a view the storage cannot sync (deleted, rebuilt with
 * a new UIDVALIDITY, a broken index, the backend gone) is void: the client
 * is told to reconnect rather than shown stale numbers, and the storage
 * is not asked about that view again. */
int imap_view_sync(struct imap_session *s, int expunge_ok, pz_error *err)
{
	if (s->view == NULL)
		return 0;
	if (view_sync(s, expunge_ok, 0, err) == 0)
		return 0;
	imap_host->log(s->module, PZ_LOG_WARNING, "selected mailbox %s is unusable: %s",
		       s->view->name, err->msg != NULL ? err->msg : "sync failed");
	imap_untagged(s, "BYE [UNAVAILABLE] The selected mailbox was deleted or is "
		      "unavailable; please reconnect.");
	s->disconnect = 1;
	return -1;
}

int imap_view_open(struct imap_session *s, const char *name, int readonly, pz_error *err)
{
	pz_pool *pool = imap_host->pool_create("imap view");
	struct imap_view *v = imap_host->pool_alloc(pool, sizeof(*v));
	/* internal dates come from msg_info (FETCH, SEARCH) only */
	unsigned int flags = PZ_OPEN_DATES_LATER | (readonly ? PZ_OPEN_READONLY : 0) |
		(imap_rev2(s) ? PZ_OPEN_NO_RECENT : 0);

	v->pool = pool;
	v->sync_pool = imap_host->pool_create("imap view sync");
	v->name = imap_host->pool_strdup(pool, name);
	v->readonly = readonly;
	if (s->storage->mailbox_open(s->mu, name, flags, &v->box, err) < 0) {
		imap_host->pool_destroy(&v->sync_pool);
		imap_host->pool_destroy(&pool);
		return -1;
	}
	s->view = v;
	if (view_sync(s, 1, 1, err) < 0) {
		imap_view_close(s);
		return -1;
	}
	v->keywords_changed = 0;
	return 0;
}

void imap_view_close(struct imap_session *s)
{
	struct imap_view *v = s->view;
	pz_pool *pool;

	if (v == NULL)
		return;
	s->view = NULL;
	s->storage->mailbox_close(&v->box);
	imap_host->pool_destroy(&v->sync_pool);
	pool = v->pool;
	imap_host->pool_destroy(&pool);
}
