/* core/user.h - users: a name and string fields set by auth backends. */
#ifndef POCZTA_CORE_USER_H
#define POCZTA_CORE_USER_H

#include <poczta/types.h>

pz_user *pz_user_new(pz_pool *pool, const char *name);
/* pz_user_copy - the user and its fields, copied into `pool`. */
pz_user *pz_user_copy(pz_pool *pool, pz_user *src);
const char *pz_user_name(pz_user *u);
const char *pz_user_get(pz_user *u, const char *field);
/* pz_user_set - set or replace a field; NULL value removes it. */
void pz_user_set(pz_user *u, const char *field, const char *value);
/* pz_user_expand - %u %n %d %h %% and a leading ~ expanded. */
char *pz_user_expand(pz_user *u, pz_pool *pool, const char *tmpl);

#endif
