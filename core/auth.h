/* core/auth.h - logins through the configured auth backends: the plaintext
 * policy, the failed-login delay, and SASL PLAIN and LOGIN. */
#ifndef POCZTA_CORE_AUTH_H
#define POCZTA_CORE_AUTH_H

#include <poczta/host.h>

#define PZ_AUTH_MAX_INPUT 8192  /* longest SASL response accepted */

int pz_auth_plaintext_allowed(pz_conn *c);
const char *pz_auth_mechanisms(pz_conn *c);
int pz_auth_login(pz_conn *c, const char *user, const char *password, pz_pool *pool,
		  pz_user **user_r, pz_error *err);
pz_sasl *pz_sasl_begin(pz_conn *c, const char *mechanism, pz_pool *pool, pz_error *err);
int pz_sasl_step(pz_sasl *s, const char *response_b64, const char **challenge_r,
		 pz_user **user_r, pz_error *err);
int pz_auth_user_lookup(const char *name, pz_pool *pool, pz_user **user_r, pz_error *err);

#endif
