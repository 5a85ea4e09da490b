/* core/privdrop.h - giving up root in connection processes. */
#ifndef POCZTA_CORE_PRIVDROP_H
#define POCZTA_CORE_PRIVDROP_H

#include <sys/types.h>

/* pz_privdrop_lookup - uid and gid of `user`; -1 with *error_r (static
 * text) when there is no such user. */
int pz_privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, const char **error_r);
/* pz_privdrop - when running as root, become uid/gid for good (setgroups,
 * setresgid, setresuid) and verify root cannot be regained; in every case
 * set PR_SET_NO_NEW_PRIVS.  -1 with *error_r on any failure. */
int pz_privdrop(uid_t uid, gid_t gid, const char **error_r);

#endif
