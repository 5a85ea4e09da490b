/* maildir-module.c - the maildir storage module: descriptor, settings,
 * opening a user's mail store, and error reporting.
 *
 * Where a user's mail lives: the user's "mail" field from the auth backend
 * when it has one ("maildir:~/Maildir"), else the `location` setting.  The
 * location is "[maildir:]PATH[:INDEX=PATH]" with %u %n %d %h and ~
 * expanded by the core; INDEX= puts the SQLite indexes elsewhere (a local
 * disk when the mail is on a slow one).
 */
#include "maildir.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct pz_host *maildir_host;
pz_module *maildir_module;
struct maildir_settings maildir_set;

static const struct pz_config_key maildir_keys[] = {
	{ "location", PZ_CONF_STRING, "maildir:~/Maildir",
	  "mail location when the user has no \"mail\" field: "
	  "[maildir:]PATH[:INDEX=PATH], with %u %n %d %h and ~" },
	{ "autocreate", PZ_CONF_LIST, NULL,
	  "mailboxes created (and subscribed) for a new user, e.g. "
	  "\"Drafts Sent Trash Junk Archive\"; these names get their special-use" },
	{ "autosubscribe", PZ_CONF_BOOL, "yes",
	  "subscribe to the mailboxes autocreate makes" },
	{ "fsync", PZ_CONF_BOOL, "yes",
	  "fsync messages, folders and index commits (no: faster, unsafe on "
	  "power loss)" },
	{ "lock_timeout", PZ_CONF_DURATION, "30s",
	  "how long to wait for another process's mailbox lock" },
	{ "quota", PZ_CONF_SIZE, "0",
	  "storage limit when the user has no \"quota\" field (0: none)" },
	{ "quota_messages", PZ_CONF_INT, "0",
	  "message limit when the user has no \"quota_messages\" field (0: none)" },
	{ NULL, 0, NULL, NULL }
};

static const struct pz_storage_ops maildir_ops = {
	.size = sizeof(struct pz_storage_ops),
	.name = "maildir",
	.user_open = maildir_user_open,
	.user_close = maildir_user_close,
	.mailbox_list = maildir_mailbox_list,
	.mailbox_create = maildir_mailbox_create,
	.mailbox_delete = maildir_mailbox_delete,
	.mailbox_rename = maildir_mailbox_rename,
	.mailbox_subscribe = maildir_mailbox_subscribe,
	.mailbox_status = maildir_mailbox_status,
	.mailbox_open = maildir_mailbox_open,
	.mailbox_close = maildir_mailbox_close,
	.mailbox_sync = maildir_mailbox_sync,
	.mailbox_view_status = maildir_mailbox_view_status,
	.mailbox_notify_fd = maildir_mailbox_notify_fd,
	.mailbox_notify_ack = maildir_mailbox_notify_ack,
	.msg_info = maildir_msg_info,
	.msg_stream = maildir_msg_stream,
	.msg_cache_get = maildir_msg_cache_get,
	.msg_cache_set = maildir_msg_cache_set,
	.save_begin = maildir_save_begin,
	.save_write = maildir_save_write,
	.save_commit = maildir_save_commit,
	.save_abort = maildir_save_abort,
	.copy = maildir_copy,
	.move = maildir_move,
	.store = maildir_store,
	.expunge = maildir_expunge,
	.search = maildir_search,
	.quota_get = maildir_quota_get,
	.msg_internal_date = maildir_msg_internal_date,
};

void maildir_log(enum pz_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	HOST->vlog(maildir_module, level, fmt, args);
	va_end(args);
}

int maildir_error(struct pz_mail_user *mu, pz_error *err,
		  enum pz_error_class cls, const char *fmt, ...)
{
	static char fallback[256];
	char *buf = fallback;
	size_t size = sizeof(fallback);
	va_list args;

	if (mu != NULL) {
		buf = mu->errbuf[mu->errnext++ % 4];
		size = sizeof(mu->errbuf[0]);
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

int maildir_syserror(struct pz_mail_user *mu, pz_error *err, const char *what,
		     const char *path)
{
	int e = errno;

	switch (e) {
	case EACCES:
	case EPERM:
	case EROFS:
		maildir_log(PZ_LOG_ERROR, "%s %s: %s", what, path, strerror(e));
		return maildir_error(mu, err, PZ_ERR_PERM, "Permission denied");
	case EDQUOT:
		return maildir_error(mu, err, PZ_ERR_QUOTA,
				     "Quota exceeded (file system quota)");
	case ENOSPC:
		maildir_log(PZ_LOG_ERROR, "%s %s: %s", what, path, strerror(e));
		return maildir_error(mu, err, PZ_ERR_TEMP, "Not enough disk space");
	default:
		maildir_log(PZ_LOG_ERROR, "%s %s: %s", what, path, strerror(e));
		return maildir_error(mu, err, PZ_ERR_TEMP,
				     "Internal error occurred; see the server log");
	}
}

/* location_parse - split "[maildir:]PATH[:INDEX=PATH]" and expand it */
static int location_parse(struct pz_mail_user *mu, const char *loc,
			  pz_error *err)
{
	char *copy, *part, *save;
	size_t scheme = strspn(loc, "abcdefghijklmnopqrstuvwxyz0123456789");

	/* "postgres:..." is not ours; a bare path is */
	if (scheme > 0 && loc[scheme] == ':') {
		if (scheme != 7 || strncmp(loc, "maildir", 7) != 0)
			return maildir_error(mu, err, PZ_ERR_PERM,
					     "Mail location is not a maildir");
		loc += 8;
	}
	copy = HOST->pool_strdup(mu->pool, loc);
	for (part = strtok_r(copy, ":", &save); part != NULL;
	     part = strtok_r(NULL, ":", &save)) {
		char *expanded;

		if (strncmp(part, "INDEX=", 6) == 0) {
			expanded = HOST->user_expand(mu->user, mu->pool, part + 6);
			mu->index_root = expanded;
		} else if (mu->root == NULL) {
			mu->root = HOST->user_expand(mu->user, mu->pool, part);
		} else {
			maildir_log(PZ_LOG_WARNING,
				    "mail location: ignoring unknown part '%s'", part);
		}
	}
	if (mu->root == NULL || mu->root[0] != '/' ||
	    (mu->index_root != NULL && mu->index_root[0] != '/')) {
		maildir_log(PZ_LOG_ERROR, "mail location '%s' of user %s is not "
			    "an absolute path", loc, HOST->user_name(mu->user));
		return maildir_error(mu, err, PZ_ERR_TEMP,
				     "Mail storage is not configured properly");
	}
	/* a user name with "/../" in it must not lead elsewhere */
	if (strstr(mu->root, "/../") != NULL || strstr(mu->index_root != NULL ?
		    mu->index_root : "", "/../") != NULL ||
	    (strlen(mu->root) >= 3 && strcmp(mu->root + strlen(mu->root) - 3,
					    "/..") == 0)) {
		maildir_log(PZ_LOG_ERROR, "mail location of user %s contains '..'",
			    HOST->user_name(mu->user));
		return maildir_error(mu, err, PZ_ERR_PERM,
				     "Mail storage is not configured properly");
	}
	for (size_t n = strlen(mu->root); n > 1 && mu->root[n - 1] == '/'; n--)
		mu->root[n - 1] = '\0';
	if (mu->index_root == NULL)
		mu->index_root = mu->root;
	return 0;
}

/* mkdir_parents - create the folders leading to `path` */
static int mkdir_parents(char *path)
{
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static uint64_t user_limit(struct pz_mail_user *mu, const char *field,
			   uint64_t def)
{
	const char *v = HOST->user_get(mu->user, field);
	uint64_t n;

	if (v == NULL || *v == '\0')
		return def;
	if (maildir_parse_size(v, &n) < 0) {
		maildir_log(PZ_LOG_WARNING, "user %s: bad %s value '%s' ignored",
			    HOST->user_name(mu->user), field, v);
		return def;
	}
	return n;
}

/* user_cleanup - the user's pool goes: so do the index connections it
 * kept (when user_close did not close them first) */
static void user_cleanup(void *ctx)
{
	maildir_index_idle_close(ctx);
}

int maildir_user_open(pz_module *self, pz_user *user, pz_pool *pool,
		      pz_mail_user **mu_r, pz_error *err)
{
	struct pz_mail_user *mu = HOST->pool_alloc(pool, sizeof(*mu));
	const char *loc = HOST->user_get(user, "mail");
	struct stat st;
	int created = 0;

	mu->user = user;
	mu->pool = pool;
	HOST->pool_cleanup(pool, user_cleanup, mu);
	if (loc == NULL || *loc == '\0')
		loc = maildir_set.location;
	if (location_parse(mu, loc, err) < 0)
		return -1;
	mu->quota_bytes = user_limit(mu, "quota", maildir_set.quota_bytes);
	mu->quota_messages = user_limit(mu, "quota_messages",
					maildir_set.quota_messages);
	if (stat(mu->root, &st) < 0) {
		if (errno != ENOENT)
			return maildir_syserror(mu, err, "stat", mu->root);
		if (mkdir_parents(mu->root) < 0)
			return maildir_syserror(mu, err, "mkdir", mu->root);
		created = 1;
	}
	if (maildir_mkdir_maildir(mu->root, 0) < 0)
		return maildir_syserror(mu, err, "mkdir", mu->root);
	if (created && maildir_autocreate(mu, err) < 0)
		return -1;
	*mu_r = mu;
	return 0;
}

void maildir_user_close(pz_mail_user **mu)
{
	if (*mu != NULL)
		maildir_index_idle_close(*mu);
	*mu = NULL;
}

int maildir_uidset_has(const pz_uidset *set, uint32_t uid)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uid < set->ranges[mid].first)
			hi = mid;
		else if (uid > set->ranges[mid].last)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static int maildir_init(pz_module *self, const struct pz_host *host,
			const char **error_r)
{
	maildir_host = host;
	maildir_module = self;
	maildir_set.location = host->config_string(self, "location");
	maildir_set.autocreate = host->config_string(self, "autocreate");
	maildir_set.autosubscribe = host->config_bool(self, "autosubscribe");
	maildir_set.fsync = host->config_bool(self, "fsync");
	maildir_set.lock_timeout_ms = host->config_duration_ms(self, "lock_timeout");
	maildir_set.quota_bytes = host->config_size(self, "quota");
	maildir_set.quota_messages = (uint64_t)(host->config_int(self,
							"quota_messages") > 0 ?
		host->config_int(self, "quota_messages") : 0);
	if (maildir_set.location == NULL)
		maildir_set.location = "maildir:~/Maildir";
	if (sqlite3_threadsafe() == 0 && sqlite3_libversion_number() < 3007000) {
		*error_r = "SQLite 3.7 or newer is needed (WAL)";
		return -1;
	}
	return host->register_storage(self, &maildir_ops, error_r);
}

static int maildir_process_init(pz_module *self, const char **error_r)
{
	if (sqlite3_initialize() != SQLITE_OK) {
		*error_r = "SQLite initialisation failed";
		return -1;
	}
	return 0;
}

POCZTA_MODULE(maildir,
	.kinds = PZ_KIND_STORAGE,
	.name = "maildir",
	.version = "0.1.0",
	.license = "MIT",
	.description = "Maildir++ storage with a SQLite index per mailbox",
	.config_keys = maildir_keys,
	.init = maildir_init,
	.process_init = maildir_process_init);
