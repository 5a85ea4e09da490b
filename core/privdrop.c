/* core/privdrop.c - drop root for good before reading a client's byte. */
#include "config-core.h"
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "privdrop.h"

int pz_privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, const char **error_r)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		*error_r = "no such system user";
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		*error_r = "is root or in group root: connection processes must not run as root";
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

int pz_privdrop(uid_t uid, gid_t gid, const char **error_r)
{
	if (geteuid() == 0 && uid != 0) {
		if (setgroups(1, &gid) < 0) {
			*error_r = "setgroups failed";
			return -1;
		}
		if (setresgid(gid, gid, gid) < 0) {
			*error_r = "setresgid failed";
			return -1;
		}
		if (setresuid(uid, uid, uid) < 0) {
			*error_r = "setresuid failed";
			return -1;
		}
		/* the drop must be permanent */
		if (setuid(0) == 0 || seteuid(0) == 0) {
			*error_r = "root privileges could be regained after the drop";
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*error_r = "prctl(PR_SET_NO_NEW_PRIVS) failed";
		return -1;
	}
	return 0;
}
