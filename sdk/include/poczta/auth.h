/* poczta/auth.h - what an auth module (passwd-file, postgres) provides.
 *
 * Protocol modules never call these directly: they use host->auth_* (and the
 * SASL calls), which walk the configured auth backends in order, apply the
 * plaintext policy and the failed-login delay, and hand back a pz_user.
 *
 * User fields are strings the backend sets with host->user_set.  Fields with
 * a meaning to the core and the storage modules:
 *   "home"       the user's home directory
 *   "mail"       storage location, e.g. "maildir:~/Maildir" (overrides the
 *                storage module's default)
 *   "quota"      quota in bytes (PZ_CONF_SIZE syntax), "0" for none
 *   "quota_messages"  quota in messages
 *   "uid", "gid" system ids to run as, where the config allows per-user ids
 * Backends may set other fields; unknown fields are kept and ignored.
 */
#ifndef POCZTA_AUTH_H
#define POCZTA_AUTH_H

#include <poczta/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results of auth provider calls. */
enum pz_auth_result {
	PZ_AUTH_OK = 0,        /* verified / found */
	PZ_AUTH_FAILED = 1,    /* the user exists here and the password is wrong */
	PZ_AUTH_UNKNOWN = 2,   /* no such user in this backend: try the next */
	PZ_AUTH_ERROR = -1,    /* backend failure; *error_r says why (temporary) */
};

struct pz_auth_ops {
	size_t size;        /* sizeof(struct pz_auth_ops) */
	const char *name;   /* what `auth = NAME` in the config names */
	/* Look `user` up by host->user_name(user) and fill its fields with
	 * host->user_set.  Returns PZ_AUTH_OK, PZ_AUTH_UNKNOWN or PZ_AUTH_ERROR. */
	int (*lookup)(pz_module *self, pz_user *user, const char **error_r);
	/* Verify a password for `user` (already looked up by this backend).
	 * Compare in constant time.  Returns PZ_AUTH_OK, PZ_AUTH_FAILED,
	 * PZ_AUTH_UNKNOWN or PZ_AUTH_ERROR. */
	int (*verify_password)(pz_module *self, pz_user *user, const char *password,
			       const char **error_r);
};

#ifdef __cplusplus
}
#endif
#endif
