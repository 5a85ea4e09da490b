/* pgsql-module.c - the postgres module: descriptor, settings, start-up
 * check of the schema, errors, a user's mail store and quota.
 *
 * One module, two providers: the storage "postgres" (mail in PostgreSQL;
 * nodes keep no state, so any number of them serve the same users) and
 * the auth backend "postgres" (users from a table).
 *
 * A user's mail store is the account row named by the user's "mail" field
 * ("postgres:NAME", NAME expanded like a path: %u %n %d) or, without one,
 * by the user name.  The account, its INBOX and the autocreate mailboxes
 * are made at the first open, in one transaction.
 */
#include "pgsql.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* pgsql-sql.c writes these bits as numbers */
_Static_assert(PZ_FLAG_SEEN == 1 && PZ_FLAG_DELETED == 8, "flag bits in SQL");

#define FIELD_FITS(st, field) \
	(offsetof(__typeof__(*(st)), field) + sizeof((st)->field) <= (st)->size)
#define SET_FIELD(st, field, v) \
	do { if (FIELD_FITS(st, field)) (st)->field = (v); } while (0)

const struct pz_host *pgsql_host;
pz_module *pgsql_module;
struct pgsql_settings pgsql_set;

#define DEFAULT_USER_QUERY \
	"SELECT home, mail, quota, quota_messages, uid, gid FROM pz_users " \
	"WHERE name = $1 AND enabled"
#define DEFAULT_PASSWORD_QUERY \
	"SELECT password FROM pz_users WHERE name = $1 AND enabled"

static const struct pz_config_key pgsql_keys[] = {
	{ "conninfo", PZ_CONF_STRING, "",
	  "libpq connection string, e.g. \"host=db1,db2 dbname=mail user=poczta "
	  "target_session_attrs=read-write\"" },
	{ "connect_timeout", PZ_CONF_DURATION, "5s",
	  "how long one connection attempt may take (per host)" },
	{ "auto_migrate", PZ_CONF_BOOL, "no",
	  "create or upgrade the schema at start-up (else run poczta-admin db migrate)" },
	{ "autocreate", PZ_CONF_LIST, NULL,
	  "mailboxes created (and subscribed) for a new user, e.g. "
	  "\"Drafts Sent Trash Junk Archive\"; these names get their special-use" },
	{ "autosubscribe", PZ_CONF_BOOL, "yes",
	  "subscribe to the mailboxes autocreate makes" },
	{ "quota", PZ_CONF_SIZE, "0",
	  "storage limit when the user has no \"quota\" field (0: none)" },
	{ "quota_messages", PZ_CONF_INT, "0",
	  "message limit when the user has no \"quota_messages\" field (0: none)" },
	{ "fts", PZ_CONF_BOOL, "no",
	  "index the decoded text of new messages (tsvector, GIN) and answer "
	  "SEARCH BODY/TEXT with it" },
	{ "fts_config", PZ_CONF_STRING, "simple",
	  "PostgreSQL text search configuration for fts (simple, english, ...)" },
	{ "user_query", PZ_CONF_STRING, DEFAULT_USER_QUERY,
	  "auth: the user's fields by name ($1); every column that is not NULL "
	  "becomes a field of that name" },
	{ "password_query", PZ_CONF_STRING, DEFAULT_PASSWORD_QUERY,
	  "auth: the crypt(3) hash of user $1 in the first column" },
	{ "allow_plaintext", PZ_CONF_BOOL, "no",
	  "auth: accept {PLAIN} passwords in the table" },
	{ NULL, 0, NULL, NULL }
};

static const struct pz_storage_ops pgsql_ops = {
	.size = sizeof(struct pz_storage_ops),
	.name = "postgres",
	.user_open = pgsql_user_open,
	.user_close = pgsql_user_close,
	.mailbox_list = pgsql_mailbox_list,
	.mailbox_create = pgsql_mailbox_create,
	.mailbox_delete = pgsql_mailbox_delete,
	.mailbox_rename = pgsql_mailbox_rename,
	.mailbox_subscribe = pgsql_mailbox_subscribe,
	.mailbox_status = pgsql_mailbox_status,
	.mailbox_open = pgsql_mailbox_open,
	.mailbox_close = pgsql_mailbox_close,
	.mailbox_sync = pgsql_mailbox_sync,
	.mailbox_view_status = pgsql_mailbox_view_status,
	.mailbox_notify_fd = pgsql_mailbox_notify_fd,
	.mailbox_notify_ack = pgsql_mailbox_notify_ack,
	.msg_info = pgsql_msg_info,
	.msg_stream = pgsql_msg_stream,
	.msg_cache_get = pgsql_msg_cache_get,
	.msg_cache_set = pgsql_msg_cache_set,
	.save_begin = pgsql_save_begin,
	.save_write = pgsql_save_write,
	.save_commit = pgsql_save_commit,
	.save_abort = pgsql_save_abort,
	.copy = pgsql_copy,
	.move = pgsql_move,
	.store = pgsql_store,
	.expunge = pgsql_expunge,
	.search = pgsql_search,
	.quota_get = pgsql_quota_get,
};

void pgsql_log(enum pz_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	HOST->vlog(pgsql_module, level, fmt, args);
	va_end(args);
}

int pgsql_error(struct pz_mail_user *mu, pz_error *err, enum pz_error_class cls,
		const char *fmt, ...)
{
	static char fallback[4][256];
	static unsigned int fallback_next;
	char *buf;
	size_t size;
	va_list args;

	if (mu != NULL) {
		buf = mu->errbuf[mu->errnext++ % 4];
		size = sizeof(mu->errbuf[0]);
	} else {
		buf = fallback[fallback_next++ % 4];
		size = sizeof(fallback[0]);
	}
	va_start(args, fmt);
	vsnprintf(buf, size, fmt, args);
	va_end(args);
	if (err != NULL) {
		err->cls = cls;
		err->msg = buf;
	}
	return -1;
}

int pgsql_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (strcasecmp(s, "none") == 0 || strcasecmp(s, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno != 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': mult = 1024ULL; end++; break;
	case 'm': case 'M': mult = 1024ULL * 1024; end++; break;
	case 'g': case 'G': mult = 1024ULL * 1024 * 1024; end++; break;
	case 't': case 'T': mult = 1024ULL * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static uint64_t user_limit(struct pz_mail_user *mu, const char *field, uint64_t def)
{
	const char *v = HOST->user_get(mu->user, field);
	uint64_t n;

	if (v == NULL || *v == '\0')
		return def;
	if (pgsql_parse_size(v, &n) < 0) {
		pgsql_log(PZ_LOG_WARNING, "user %s: bad %s value '%s' ignored",
			  HOST->user_name(mu->user), field, v);
		return def;
	}
	return n;
}

/* account_name - "postgres:NAME" from the user's mail field, expanded */
static const char *account_name(struct pz_mail_user *mu)
{
	const char *loc = HOST->user_get(mu->user, "mail");

	if (loc != NULL && strncmp(loc, "postgres:", 9) == 0 && loc[9] != '\0')
		return HOST->user_expand(mu->user, mu->pool, loc + 9);
	return HOST->user_name(mu->user);
}

static int account_get(struct pz_mail_user *mu, pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;
	int found;

	pgp_init(&p);
	pgp_str(&p, mu->account);
	r = pgsql_exec(mu, ST_ACCOUNT_GET, &p, NULL, err);
	if (r == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found)
		mu->account_id = pgsql_int(r, 0, 0);
	PQclear(r);
	return found ? 0 : 1;
}

/* account_create_txn - the account, INBOX and autocreate, or nothing */
static int account_create_txn(void *ctx, pz_error *err)
{
	struct pz_mail_user *mu = ctx;
	struct pgsql_params p;
	PGresult *r;
	int created;

	pgp_init(&p);
	pgp_str(&p, mu->account);
	r = pgsql_exec(mu, ST_ACCOUNT_CREATE, &p, NULL, err);
	if (r == NULL)
		return -1;
	created = PQntuples(r) > 0;
	if (created)
		mu->account_id = pgsql_int(r, 0, 0);
	PQclear(r);
	if (!created)
		return account_get(mu, err) < 0 ? -1 : 0; /* another node made it */
	return pgsql_autocreate(mu, err);
}

int pgsql_user_open(pz_module *self, pz_user *user, pz_pool *pool,
		    pz_mail_user **mu_r, pz_error *err)
{
	struct pz_mail_user *mu = HOST->pool_alloc(pool, sizeof(*mu));
	int ret;

	mu->user = user;
	mu->pool = pool;
	mu->account = HOST->pool_strdup(pool, account_name(mu));
	if (mu->account == NULL || *mu->account == '\0')
		return pgsql_error(mu, err, PZ_ERR_PERM, "User has no name");
	mu->quota_bytes = user_limit(mu, "quota", pgsql_set.quota_bytes);
	mu->quota_messages = user_limit(mu, "quota_messages", pgsql_set.quota_messages);
	ret = account_get(mu, err);
	if (ret < 0)
		return -1;
	if (ret > 0 && pgsql_txn(mu, PGSQL_TXN_WRITE, account_create_txn, mu, err) < 0)
		return -1;
	*mu_r = mu;
	return 0;
}

void pgsql_user_close(pz_mail_user **mu)
{
	*mu = NULL;
}

int pgsql_quota_check(struct pz_mail_user *mu, int64_t bytes_used,
		      int64_t messages_used, pz_error *err)
{
	if ((mu->quota_bytes > 0 && bytes_used > 0 &&
	     (uint64_t)bytes_used > mu->quota_bytes) ||
	    (mu->quota_messages > 0 && messages_used > 0 &&
	     (uint64_t)messages_used > mu->quota_messages))
		return pgsql_error(mu, err, PZ_ERR_QUOTA, "Quota exceeded");
	return 0;
}

int pgsql_quota_get(pz_mail_user *mu, struct pz_quota *quota, pz_error *err)
{
	struct pgsql_params p;
	PGresult *r;

	pgp_init(&p);
	pgp_int(&p, mu->account_id);
	r = pgsql_exec(mu, ST_ACCOUNT_USAGE, &p, NULL, err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return pgsql_error(mu, err, PZ_ERR_NOT_FOUND, "Account does not exist");
	}
	SET_FIELD(quota, bytes_used, (uint64_t)pgsql_int(r, 0, 0));
	SET_FIELD(quota, messages_used, (uint64_t)pgsql_int(r, 0, 1));
	SET_FIELD(quota, bytes_limit, mu->quota_bytes);
	SET_FIELD(quota, messages_limit, mu->quota_messages);
	PQclear(r);
	return 0;
}

static const char *config_copy(pz_module *self, const struct pz_host *host,
			       const char *key)
{
	const char *v = host->config_string(self, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* fts_possible - whether the core offers the MIME primitives (ABI 1.1) */
static int fts_possible(const struct pz_host *host)
{
#if PZ_ABI_MINOR >= 1
	return PZ_HOST_HAS(host, mail_parse);
#else
	return 0;
#endif
}

static int pgsql_init(pz_module *self, const struct pz_host *host,
		      const char **error_r)
{
	int64_t qm;

	pgsql_host = host;
	pgsql_module = self;
	pgsql_set.conninfo = host->config_string(self, "conninfo");
	pgsql_set.connect_timeout_ms = host->config_duration_ms(self, "connect_timeout");
	pgsql_set.auto_migrate = host->config_bool(self, "auto_migrate");
	pgsql_set.autocreate = config_copy(self, host, "autocreate");
	pgsql_set.autosubscribe = host->config_bool(self, "autosubscribe");
	pgsql_set.quota_bytes = host->config_size(self, "quota");
	qm = host->config_int(self, "quota_messages");
	pgsql_set.quota_messages = qm > 0 ? (uint64_t)qm : 0;
	pgsql_set.fts = host->config_bool(self, "fts");
	pgsql_set.fts_config = config_copy(self, host, "fts_config");
	pgsql_set.user_query = config_copy(self, host, "user_query");
	pgsql_set.password_query = config_copy(self, host, "password_query");
	pgsql_set.allow_plaintext = host->config_bool(self, "allow_plaintext");
	if (pgsql_set.fts_config == NULL)
		pgsql_set.fts_config = "simple";
	if (pgsql_set.connect_timeout_ms == 0)
		pgsql_set.connect_timeout_ms = 1000;
	if (pgsql_set.fts && !fts_possible(host))
		host->log(self, PZ_LOG_WARNING, "fts = yes needs the core's MIME parser "
			  "(module ABI 1.1): new messages are not indexed, and SEARCH "
			  "BODY/TEXT is left to the core");
	/* the master's own connection: check (or migrate) the schema, then
	 * close it, so no child inherits it */
	if (pgsql_db_init_check(error_r) < 0)
		return -1;
	if (host->register_storage(self, &pgsql_ops, error_r) < 0)
		return -1;
	return host->register_auth(self, &pgsql_auth_ops, error_r);
}

static void pgsql_deinit(pz_module *self)
{
	pgsql_db_close();
}

static void pgsql_process_deinit(pz_module *self)
{
	pgsql_db_close();
}

POCZTA_MODULE(postgres,
	.kinds = PZ_KIND_STORAGE | PZ_KIND_AUTH,
	.name = "postgres",
	.version = "0.1.0",
	.license = "MIT",
	.description = "mail storage and users in PostgreSQL (stateless nodes, "
		       "LISTEN/NOTIFY push, failover through libpq)",
	.config_keys = pgsql_keys,
	.init = pgsql_init,
	.deinit = pgsql_deinit,
	.process_deinit = pgsql_process_deinit);
