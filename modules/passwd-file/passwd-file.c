/* passwd-file.c - the passwd-file auth module: users and their crypt(3)
 * hashes from a Dovecot-compatible passwd-file (the format is in pwfile.h).
 *
 * The file is parsed once in the master at init, so every child starts with
 * it; each lookup and verify stat()s the path and reparses the file when its
 * device, inode, size or mtime changed, so `poczta-admin user add` (which
 * renames a new file into place) takes effect without a restart.  A bad
 * line fails init (and so `poczta -t`); once running, a bad line is logged
 * once per process and version of the file, and skipped.  Lookups run in
 * the connection's child, so after a change each new child rereads the
 * file until the master reloads (SIGHUP) and forks children with the new
 * copy.
 *
 * Fields handed to the core: "uid", "gid", "home" from the positional
 * fields, then every extra field (overriding them), then "home" from
 * default_home and "mail" from default_mail when the line set neither.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <poczta/poczta.h>

#include "pwfile.h"

#ifdef PZ_SYSCONFDIR
#  define PWF_DEFAULT_PATH PZ_SYSCONFDIR "/users"
#else
#  define PWF_DEFAULT_PATH "/etc/poczta/users"
#endif

#define PWF_ERROR_MAX 1024

static const struct pz_config_key pwf_config_keys[] = {
	{ "path", PZ_CONF_PATH, PWF_DEFAULT_PATH,
	  "the passwd-file: name:password:uid:gid:gecos:home:shell:extra_fields" },
	{ "allow_plaintext", PZ_CONF_BOOL, "no",
	  "accept {PLAIN} passwords in the file" },
	{ "default_home", PZ_CONF_STRING, NULL,
	  "home of users whose line sets none, e.g. /var/mail/%u" },
	{ "default_mail", PZ_CONF_STRING, NULL,
	  "mail location of users whose line sets none, e.g. maildir:~/Maildir" },
	{ NULL, 0, NULL, NULL }
};

/* The module's state: one instance per process. */
static struct {
	const struct pz_host *host;
	pz_module *self;
	pz_pool *pool;           /* config copies; lives from init to deinit */
	const char *path;
	unsigned int flags;      /* PWFILE_ALLOW_PLAINTEXT */
	const char *default_home;
	const char *default_mail;
	struct pwfile *db;       /* NULL until the file was read */
	int running;             /* init succeeded: bad lines are skipped */
	/* The last error handed to the core through error_r: valid until the
	 * next call into this module, which is past the end of the command. */
	char error[PWF_ERROR_MAX];
} pwf;

/* pwf_error - format an error into pwf.error and return it. */
static const char *pwf_error(const char *fmt, ...) PZ_PRINTF(1, 2);
static const char *pwf_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(pwf.error, sizeof(pwf.error), fmt, args);
	va_end(args);
	return pwf.error;
}

/* pwf_load - (re)read the file.  Bad lines are logged once and skipped
 * (at init the caller fails instead).  Returns 0, or -1 with *error_r and
 * no users cached. */
static int pwf_load(const char **error_r)
{
	struct pwfile *db;
	char *err;

	if (pwfile_load(pwf.path, pwf.flags, &db, &err) < 0) {
		*error_r = pwf_error("%s", err != NULL ? err : "out of memory");
		free(err);
		pwfile_free(&pwf.db);
		return -1;
	}
	for (size_t i = 0; i < db->error_count; i++)
		pwf.host->log(pwf.self, PZ_LOG_ERROR, "%s%s", db->errors[i].msg,
			      pwf.running ? " (line skipped)" : "");
	pwfile_free(&pwf.db);
	pwf.db = db;
	if (pwf.running)
		pwf.host->log(pwf.self, PZ_LOG_DEBUG, "%s read: %zu users",
			      pwf.path, db->count);
	return 0;
}

/* pwf_refresh - make pwf.db match the file at pwf.path now.  A missing or
 * unreadable file is an error and drops the cached users, so a removed
 * file never keeps old passwords working. */
static int pwf_refresh(const char **error_r)
{
	struct stat st;

	if (stat(pwf.path, &st) < 0) {
		*error_r = pwf_error("stat(%s): %s", pwf.path, strerror(errno));
		pwfile_free(&pwf.db);
		return -1;
	}
	if (pwf.db != NULL && !pwfile_changed(pwf.db, &st))
		return 0;
	return pwf_load(error_r);
}

static void pwf_set_fields(pz_user *user, const struct pwfile_entry *e)
{
	const struct pz_host *host = pwf.host;

	if (e->uid != NULL)
		host->user_set(user, "uid", e->uid);
	if (e->gid != NULL)
		host->user_set(user, "gid", e->gid);
	if (e->home != NULL)
		host->user_set(user, "home", e->home);
	for (size_t i = 0; i < e->field_count; i++)
		host->user_set(user, e->fields[i].key, e->fields[i].value);
	if (e->home == NULL && pwfile_field_get(e, "home") == NULL &&
	    pwf.default_home != NULL)
		host->user_set(user, "home", pwf.default_home);
	if (pwfile_field_get(e, "mail") == NULL && pwf.default_mail != NULL)
		host->user_set(user, "mail", pwf.default_mail);
}

/* pwf_find - the entry of `user` in a fresh copy of the file.  Returns
 * PZ_AUTH_OK with *entry_r, PZ_AUTH_UNKNOWN or PZ_AUTH_ERROR. */
static int pwf_find(pz_user *user, const struct pwfile_entry **entry_r,
		    const char **error_r)
{
	if (pwf_refresh(error_r) < 0)
		return PZ_AUTH_ERROR;
	*entry_r = pwfile_find(pwf.db, pwf.host->user_name(user));
	return *entry_r != NULL ? PZ_AUTH_OK : PZ_AUTH_UNKNOWN;
}

static int pwf_lookup(pz_module *self, pz_user *user, const char **error_r)
{
	const struct pwfile_entry *e;
	int ret = pwf_find(user, &e, error_r);

	if (ret == PZ_AUTH_OK)
		pwf_set_fields(user, e);
	return ret;
}

static int pwf_verify_password(pz_module *self, pz_user *user,
			       const char *password, const char **error_r)
{
	const struct pwfile_entry *e;
	char *err;
	int ret = pwf_find(user, &e, error_r);

	if (ret != PZ_AUTH_OK)
		return ret;
	if (e->pw_kind == PWFILE_PW_LOCKED) {
		pwf.host->log(self, PZ_LOG_DEBUG, "user %s (%s:%u) cannot log in: "
			      "the account is locked", e->name, pwf.path, e->line);
		return PZ_AUTH_FAILED;
	}
	ret = pwfile_verify(e, password, &err);
	if (ret < 0) {
		*error_r = pwf_error("%s: %s", pwf.path,
				     err != NULL ? err : "out of memory");
		free(err);
		return PZ_AUTH_ERROR;
	}
	return ret == 1 ? PZ_AUTH_OK : PZ_AUTH_FAILED;
}

static const struct pz_auth_ops pwf_auth_ops = {
	.size = sizeof(struct pz_auth_ops),
	.name = "passwd-file",
	.lookup = pwf_lookup,
	.verify_password = pwf_verify_password,
};

/* pwf_config_copy - the key's value copied into the module pool, or NULL
 * when it is unset or empty. */
static const char *pwf_config_copy(const char *key)
{
	const char *value = pwf.host->config_string(pwf.self, key);

	if (value == NULL || value[0] == '\0')
		return NULL;
	return pwf.host->pool_strdup(pwf.pool, value);
}

static void pwf_deinit(pz_module *self)
{
	pwfile_free(&pwf.db);
	if (pwf.pool != NULL)
		pwf.host->pool_destroy(&pwf.pool);
	pwf.running = 0;
	pwf.host = NULL;
	pwf.self = NULL;
	pwf.path = NULL;
	pwf.default_home = NULL;
	pwf.default_mail = NULL;
}

/* pwf_check_file - read the file at init.  A missing file is only a
 * warning (it may be created later); an unreadable file or a bad line
 * fails init.  Returns 0, or -1 with *error_r. */
static int pwf_check_file(const char **error_r)
{
	struct stat st;

	if (stat(pwf.path, &st) < 0 && errno == ENOENT) {
		pwf.host->log(pwf.self, PZ_LOG_WARNING, "%s does not exist yet: "
			      "no users until it is created", pwf.path);
		return 0;
	}
	if (pwf_load(error_r) < 0)
		return -1;
	if (pwf.db->error_count == 1) {
		*error_r = pwf_error("%s", pwf.db->errors[0].msg);
		return -1;
	}
	if (pwf.db->error_count > 1) {
		*error_r = pwf_error("%s (and %zu more bad line%s)",
				     pwf.db->errors[0].msg, pwf.db->error_count - 1,
				     pwf.db->error_count > 2 ? "s" : "");
		return -1;
	}
	return 0;
}

static int pwf_init(pz_module *self, const struct pz_host *host,
		    const char **error_r)
{
	pwf.host = host;
	pwf.self = self;
	pwf.pool = host->pool_create("passwd-file");
	pwf.path = pwf_config_copy("path");
	if (pwf.path == NULL)
		pwf.path = PWF_DEFAULT_PATH;
	pwf.flags = host->config_bool(self, "allow_plaintext") ?
		    PWFILE_ALLOW_PLAINTEXT : 0;
	pwf.default_home = pwf_config_copy("default_home");
	pwf.default_mail = pwf_config_copy("default_mail");

	if (pwf_check_file(error_r) < 0 ||
	    host->register_auth(self, &pwf_auth_ops, error_r) < 0) {
		pwf_deinit(self);
		return -1;
	}
	if ((pwf.flags & PWFILE_ALLOW_PLAINTEXT) != 0)
		host->log(self, PZ_LOG_WARNING, "allow_plaintext = yes: "
			  "{PLAIN} passwords in %s are accepted", pwf.path);
	pwf.running = 1;
	return 0;
}

POCZTA_MODULE(passwd_file,
	.kinds = PZ_KIND_AUTH,
	.name = "passwd-file",
	.version = "0.1.0",
	.license = "MIT",
	.description = "users and crypt(3) password hashes from a passwd-file",
	.config_keys = pwf_config_keys,
	.init = pwf_init,
	.deinit = pwf_deinit)
