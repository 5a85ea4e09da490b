/* core/core.h - what the core's own programs and tests use to bring the
 * core up without the daemon: parse a config, load and init its modules,
 * and reach the providers.  (The daemon uses the same calls.) */
#ifndef POCZTA_CORE_CORE_H
#define POCZTA_CORE_CORE_H

#include <poczta/poczta.h>
#include "config.h"

/* The host table handed to every module. */
const struct pz_host *pz_host_table(void);

/* pz_core_load - parse `config_path`, check it, load and init every module
 * it names (from its `module_dir`, default PZ_MODULEDIR).  Returns 0, or -1
 * with *error_r (malloc'd) naming file, line or module. */
int pz_core_load(const char *config_path, char **error_r);
/* pz_core_unload - deinit and unload every module, free the config. */
void pz_core_unload(void);
/* pz_core_process_init - run every module's process_init (in a child, or
 * in a tool after pz_core_load). */
int pz_core_process_init(char **error_r);
/* pz_core_process_deinit - every module's process_deinit, newest first. */
void pz_core_process_deinit(void);

/* Providers by name; NULL when no loaded module registered one. */
const struct pz_storage_ops *pz_storage_by_name(const char *name);
const struct pz_auth_ops *pz_auth_by_name(const char *name);

/* pz_user_new - a user object with `name` and no fields, in `pool`. */
pz_user *pz_user_new(pz_pool *pool, const char *name);

#endif
