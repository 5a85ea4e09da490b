/* pgsql-mailbox.c - operations on mailboxes by name: list, create, delete,
 * rename, subscribe, status, special-use and autocreate.
 *
 * The hierarchy is only in the names, as in Maildir++: a parent need not
 * exist for its child (LIST shows it \Noselect), deleting a mailbox leaves
 * its children, and renaming one renames every name below it.  Deleting
 * removes the messages in the same transaction, gives the bytes back to
 * the quota and drops the bodies nothing else references.
 */
#include "pgsql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD_FITS(st, field) \
	(offsetof(__typeof__(*(st)), field) + sizeof((st)->field) <= (st)->size)
#define SET_FIELD(st, field, v) \
	do { if (FIELD_FITS(st, field)) (st)->field = (v); } while (0)

static const struct {
	const char *name;
	unsigned int use;
} special_names[] = {
	/* names that carry their special-use (RFC 6154) without asking */
	{ "Drafts", PZ_SPECIAL_DRAFTS },
	{ "Sent", PZ_SPECIAL_SENT },
	{ "Trash", PZ_SPECIAL_TRASH },
	{ "Junk", PZ_SPECIAL_JUNK },
	{ "Archive", PZ_SPECIAL_ARCHIVE },
};

unsigned int pgsql_special_use_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(special_names) / sizeof(special_names[0]); i++) {
		if (strcmp(special_names[i].name, name) == 0)
			return special_names[i].use;
	}
	return 0;
}

/* ---- create and autocreate */

/* create_one - 0 created, 1 already there */
static int create_one(struct pz_mail_user *mu, const char *canon,
		      unsigned int special_use, pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;
	int created;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_str(&p, canon);
	pgp_int(&p, special_use != 0 ? special_use : pgsql_special_use_by_name(canon));
	r = pgsql_exec(mu, ST_MAILBOX_CREATE, &p, NULL, err);
	if (r == NULL)
		return -1;
	created = PQntuples(r) > 0;
	PQclear(r);
	return created ? 0 : 1;
}

static int subscribe_one(struct pz_mail_user *mu, const char *canon, int on,
			 pz_error *err)
{
	struct pgsql_params p;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_str(&p, canon);
	return pgsql_exec_cmd(mu, on ? ST_SUBSCRIBE : ST_UNSUBSCRIBE, &p, err);
}

int pgsql_autocreate(struct pz_mail_user *mu, pz_error *err)
{
	pz_pool *pool;
	char *names, *name, *save;
	int ret = 0;

	if (create_one(mu, "INBOX", 0, err) < 0)
		return -1;
	if (pgsql_set.autocreate == NULL)
		return 0;
	if (pgsql_set.autosubscribe && subscribe_one(mu, "INBOX", 1, err) < 0)
		return -1;
	pool = HOST->pool_create("pgsql autocreate");
	names = HOST->pool_strdup(pool, pgsql_set.autocreate);
	for (name = strtok_r(names, " \t", &save); name != NULL && ret == 0;
	     name = strtok_r(NULL, " \t", &save)) {
		char *canon;

		if (pgsql_name_canon(mu, pool, name, &canon, err) < 0) {
			pgsql_log(PZ_LOG_WARNING, "autocreate: bad mailbox name '%s'", name);
			continue;
		}
		ret = create_one(mu, canon, 0, err) < 0 ? -1 : 0;
		if (ret == 0 && pgsql_set.autosubscribe)
			ret = subscribe_one(mu, canon, 1, err);
	}
	HOST->pool_destroy(&pool);
	return ret;
}

int pgsql_mailbox_create(pz_mail_user *mu, const char *name,
			 unsigned int special_use, pz_error *err)
{
	pz_pool *pool = HOST->pool_create("pgsql create");
	char *canon;
	int ret = -1;

	if (pgsql_name_canon(mu, pool, name, &canon, err) == 0) {
		ret = create_one(mu, canon, special_use, err);
		if (ret > 0)
			ret = pgsql_error(mu, err, PZ_ERR_EXISTS, "Mailbox already exists");
	}
	HOST->pool_destroy(&pool);
	return ret;
}

int pgsql_mailbox_subscribe(pz_mail_user *mu, const char *name, int subscribe,
			    pz_error *err)
{
	pz_pool *pool = HOST->pool_create("pgsql subscribe");
	char *canon;
	int ret = -1;

	if (pgsql_name_canon(mu, pool, name, &canon, err) == 0)
		ret = subscribe_one(mu, canon, subscribe, err);
	HOST->pool_destroy(&pool);
	return ret;
}

/* ---- delete */

struct delete_ctx {
	struct pz_mail_user *mu;
	const char *name;
};

static int delete_txn(void *_ctx, pz_error *err)
{
	struct delete_ctx *ctx = _ctx;
	struct pz_mail_user *mu = ctx->mu;
	struct pgsql_params p;
	PGresult *r;
	int64_t id, bytes, count;
	char *bodies;
	int ret;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_str(&p, ctx->name);
	r = pgsql_exec(mu, ST_MAILBOX_GET, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return pgsql_error(mu, err, PZ_ERR_NOT_FOUND, "Mailbox does not exist: %s",
				   ctx->name);
	}
	id = pgsql_int(r, 0, 0);
	PQclear(r);
	pgp_init(&p);
	pgp_int(&p, id);
	if (pgsql_exec_cmd(mu, ST_MAILBOX_LOCK, &p, err) < 0 ||
	    pgsql_notify_mailbox(mu, id, err) < 0)
		return -1;
	r = pgsql_exec(mu, ST_MAILBOX_DELETE_MSGS, &p, NULL, err);
	if (r == NULL)
		return -1;
	bytes = pgsql_int(r, 0, 0);
	count = pgsql_int(r, 0, 1);
	bodies = strdup(PQgetvalue(r, 0, 2));
	PQclear(r);
	if (bodies == NULL)
		return pgsql_error(mu, err, PZ_ERR_TEMP, "Out of memory");
	ret = pgsql_exec_cmd(mu, ST_MAILBOX_DELETE, &p, err);
	if (ret == 0 && count > 0) {
		pgp_init(&p);
		pgp_int(&p, mu->account_id);
		pgp_int(&p, -bytes);
		pgp_int(&p, -count);
		ret = pgsql_exec_cmd(mu, ST_ACCOUNT_ADD, &p, err);
		if (ret == 0)
			ret = pgsql_body_gc(mu, bodies, err);
	}
	free(bodies);
	return ret;
}

int pgsql_mailbox_delete(pz_mail_user *mu, const char *name, pz_error *err)
{
	pz_pool *pool = HOST->pool_create("pgsql delete");
	struct delete_ctx ctx = { .mu = mu };
	char *canon;
	int ret = -1;

	if (pgsql_name_canon(mu, pool, name, &canon, err) == 0) {
		ctx.name = canon;
		if (strcmp(canon, "INBOX") == 0)
			pgsql_error(mu, err, PZ_ERR_PERM, "INBOX cannot be deleted");
		else
			ret = pgsql_txn(mu, PGSQL_TXN_WRITE, delete_txn, &ctx, err);
	}
	HOST->pool_destroy(&pool);
	return ret;
}

/* ---- rename */

struct rename_ctx {
	struct pz_mail_user *mu;
	const char *from, *to;
	pz_pool *pool;
};

static int rename_txn(void *_ctx, pz_error *err)
{
	struct rename_ctx *ctx = _ctx;
	struct pz_mail_user *mu = ctx->mu;
	struct pgsql_params p;
	char state[6];
	PGresult *r;
	int n;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_str(&p, ctx->from);
	pgp_str(&p, ctx->to);
	r = pgsql_exec(mu, ST_MAILBOX_RENAME, &p, state, err);
	if (r == NULL) {
		if (strcmp(state, "23505") == 0)
			return pgsql_error(mu, err, PZ_ERR_EXISTS, "Mailbox already exists");
		return -1;
	}
	n = PQntuples(r);
	PQclear(r);
	if (n == 0)
		return pgsql_error(mu, err, PZ_ERR_NOT_FOUND, "Mailbox does not exist: %s",
				   ctx->from);
	return 0;
}

/* rename_inbox_txn - RFC 9051 6.3.6: the messages move to a new mailbox
 * (keeping their UIDs under its own UIDVALIDITY), INBOX stays, empty */
static int rename_inbox_txn(void *_ctx, pz_error *err)
{
	struct rename_ctx *ctx = _ctx;
	struct pz_mail_user *mu = ctx->mu;
	struct pgsql_params p;
	struct pgsql_array uids;
	PGresult *r;
	int64_t inbox, to, uidnext, modseq;
	char *kw;
	int ret;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_str(&p, "INBOX");
	r = pgsql_exec(mu, ST_MAILBOX_GET, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return pgsql_error(mu, err, PZ_ERR_NOT_FOUND, "Mailbox does not exist: INBOX");
	}
	inbox = pgsql_int(r, 0, 0);
	PQclear(r);
	pgp_init(&p);
	pgp_int(&p, inbox);
	r = pgsql_exec(mu, ST_MAILBOX_LOCK, &p, NULL, err);
	if (r == NULL)
		return -1;
	uidnext = pgsql_int(r, 0, 1);
	modseq = pgsql_int(r, 0, 2);
	kw = HOST->pool_strdup(ctx->pool, PQgetvalue(r, 0, 3));
	PQclear(r);
	ret = create_one(mu, ctx->to, 0, err);
	if (ret != 0)
		return ret < 0 ? -1 : pgsql_error(mu, err, PZ_ERR_EXISTS,
						  "Mailbox already exists");
	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_str(&p, ctx->to);
	r = pgsql_exec(mu, ST_MAILBOX_GET, &p, NULL, err);
	if (r == NULL)
		return -1;
	to = pgsql_int(r, 0, 0);
	PQclear(r);
	pgp_init(&p);
	pgp_int(&p, to);
	pgp_int(&p, uidnext);
	pgp_int(&p, modseq);
	pgp_str(&p, kw);
	if (pgsql_exec_cmd(mu, ST_MAILBOX_SET_NEXT, &p, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, inbox);
	pgp_int(&p, to);
	r = pgsql_exec(mu, ST_MESSAGE_MOVE_ALL, &p, NULL, err);
	if (r == NULL)
		return -1;
	pga_init(&uids, ctx->pool);
	for (int i = 0; i < PQntuples(r); i++)
		pga_int(&uids, pgsql_int(r, i, 0));
	PQclear(r);
	if (uids.count == 0)
		return 0;
	modseq++;
	if (pgsql_expunged_add(mu, inbox, pga_done(&uids), (uint64_t)modseq, err) < 0)
		return -1;
	pgp_init(&p);
	pgp_int(&p, inbox);
	pgp_int(&p, modseq);
	if (pgsql_exec_cmd(mu, ST_MAILBOX_SET_MODSEQ, &p, err) < 0)
		return -1;
	return pgsql_notify_mailbox(mu, inbox, err);
}

int pgsql_mailbox_rename(pz_mail_user *mu, const char *from, const char *to,
			 pz_error *err)
{
	pz_pool *pool = HOST->pool_create("pgsql rename");
	struct rename_ctx ctx = { .mu = mu, .pool = pool };
	char *cfrom, *cto;
	size_t flen;
	int ret = -1;

	if (pgsql_name_canon(mu, pool, from, &cfrom, err) < 0 ||
	    pgsql_name_canon(mu, pool, to, &cto, err) < 0)
		goto out;
	flen = strlen(cfrom);
	ctx.from = cfrom;
	ctx.to = cto;
	if (strcmp(cto, "INBOX") == 0 || strcmp(cfrom, cto) == 0)
		pgsql_error(mu, err, PZ_ERR_EXISTS, "Mailbox already exists");
	else if (strncmp(cto, cfrom, flen) == 0 && cto[flen] == '/')
		pgsql_error(mu, err, PZ_ERR_PARAMS, "Cannot rename a mailbox into itself");
	else if (strcmp(cfrom, "INBOX") == 0)
		ret = pgsql_txn(mu, PGSQL_TXN_WRITE, rename_inbox_txn, &ctx, err);
	else
		ret = pgsql_txn(mu, PGSQL_TXN_WRITE, rename_txn, &ctx, err);
out:
	HOST->pool_destroy(&pool);
	return ret;
}

/* ---- status */

int pgsql_mailbox_status(pz_mail_user *mu, const char *name, unsigned int items,
			 struct pz_mailbox_status *st, pz_error *err)
{
	pz_pool *pool = HOST->pool_create("pgsql status");
	struct pgsql_params p;
	PGresult *r = NULL;
	char *canon;
	int ret = -1;

	if (pgsql_name_canon(mu, pool, name, &canon, err) < 0)
		goto out;
	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	pgp_str(&p, canon);
	r = pgsql_exec(mu, ST_MAILBOX_STATUS, &p, NULL, err);
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		pgsql_error(mu, err, PZ_ERR_NOT_FOUND, "Mailbox does not exist: %s", canon);
		goto out;
	}
	SET_FIELD(st, uidvalidity, (uint32_t)pgsql_int(r, 0, 0));
	SET_FIELD(st, uidnext, (uint32_t)pgsql_int(r, 0, 1));
	SET_FIELD(st, highestmodseq, (uint64_t)pgsql_int(r, 0, 2));
	SET_FIELD(st, special_use, (unsigned int)pgsql_int(r, 0, 3));
	SET_FIELD(st, messages, (uint32_t)pgsql_int(r, 0, 4));
	SET_FIELD(st, recent, (uint32_t)pgsql_int(r, 0, 5));
	SET_FIELD(st, unseen, (uint32_t)pgsql_int(r, 0, 6));
	SET_FIELD(st, deleted, (uint32_t)pgsql_int(r, 0, 7));
	SET_FIELD(st, bytes, (uint64_t)pgsql_int(r, 0, 8));
	ret = 0;
out:
	if (r != NULL)
		PQclear(r);
	HOST->pool_destroy(&pool);
	return ret;
}

/* ---- list */

struct lentry {
	const char *name;
	unsigned int attrs;
	unsigned int special_use;
	int exists;            /* 1 a mailbox, 0 a parent only, -1 subscribed only */
};

struct lctx {
	struct lentry *e;
	size_t count, alloc;
	pz_pool *pool;
};

static void lctx_add(struct lctx *l, const char *name, int exists, unsigned int use)
{
	if (l->count == l->alloc) {
		size_t na = l->alloc != 0 ? l->alloc * 2 : 64;
		l->e = HOST->pool_realloc(l->pool, l->e, l->alloc * sizeof(*l->e),
					  na * sizeof(*l->e));
		l->alloc = na;
	}
	l->e[l->count].name = name;
	l->e[l->count].exists = exists;
	l->e[l->count].attrs = 0;
	l->e[l->count].special_use = use;
	l->count++;
}

static int cmp_lentry(const void *a, const void *b)
{
	const struct lentry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* duplicates: the existing one first */
	return c != 0 ? c : y->exists - x->exists;
}

static int list_read(struct pz_mail_user *mu, struct lctx *l, PGresult **subs_r,
		     pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;
	size_t n;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	r = pgsql_exec(mu, ST_MAILBOX_LIST, &p, NULL, err);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		lctx_add(l, HOST->pool_strdup(l->pool, PQgetvalue(r, i, 0)), 1,
			 (unsigned int)pgsql_int(r, i, 1));
	PQclear(r);
	/* parents that exist only as a prefix */
	n = l->count;
	for (size_t i = 0; i < n; i++) {
		const char *name = l->e[i].name;
		for (const char *s = strchr(name, '/'); s != NULL; s = strchr(s + 1, '/'))
			lctx_add(l, HOST->pool_strndup(l->pool, name, (size_t)(s - name)), 0, 0);
	}
	*subs_r = pgsql_exec(mu, ST_SUBSCRIPTIONS, &p, NULL, err);
	return *subs_r != NULL ? 0 : -1;
}

static void list_add_subscriptions(struct lctx *l, PGresult *subs)
{
	size_t sorted = l->count;

	for (int i = 0; i < PQntuples(subs); i++) {
		const char *name = PQgetvalue(subs, i, 0);
		size_t lo = 0, hi = sorted;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(l->e[mid].name, name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < sorted && strcmp(l->e[lo].name, name) == 0)
			l->e[lo].attrs |= PZ_MBOX_SUBSCRIBED;
		else
			lctx_add(l, HOST->pool_strdup(l->pool, name), -1, 0);
	}
}

static int has_children(const struct lctx *l, size_t i)
{
	size_t len = strlen(l->e[i].name);

	for (size_t j = i + 1; j < l->count; j++) {
		if (strncmp(l->e[j].name, l->e[i].name, len) != 0)
			return 0;
		if (l->e[j].name[len] == '/' && l->e[j].exists >= 0)
			return 1;
	}
	return 0;
}

int pgsql_mailbox_list(pz_mail_user *mu,
		       void (*cb)(void *ctx, const struct pz_mailbox_info *info),
		       void *ctx, pz_error *err)
{
	struct lctx l = { .pool = HOST->pool_create("pgsql list") };
	PGresult *subs = NULL;
	size_t out = 0;

	if (list_read(mu, &l, &subs, err) < 0) {
		HOST->pool_destroy(&l.pool);
		return -1;
	}
	qsort(l.e, l.count, sizeof(*l.e), cmp_lentry);
	for (size_t i = 0; i < l.count; i++) {
		if (out > 0 && strcmp(l.e[out - 1].name, l.e[i].name) == 0)
			continue;
		l.e[out++] = l.e[i];
	}
	l.count = out;
	list_add_subscriptions(&l, subs);
	PQclear(subs);
	for (size_t i = 0; i < l.count; i++) {
		struct lentry *e = &l.e[i];
		struct pz_mailbox_info info = { .size = sizeof(info) };

		info.name = e->name;
		if (e->exists < 0) {
			info.attrs = PZ_MBOX_NONEXISTENT | PZ_MBOX_SUBSCRIBED;
		} else {
			info.attrs = e->attrs | (has_children(&l, i) ? PZ_MBOX_HASCHILDREN :
						 PZ_MBOX_HASNOCHILDREN);
			if (!e->exists)
				info.attrs |= PZ_MBOX_NOSELECT;
			info.special_use = e->special_use;
		}
		cb(ctx, &info);
	}
	HOST->pool_destroy(&l.pool);
	return 0;
}
