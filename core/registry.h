/* core/registry.h - loaded modules and the providers they registered. */
#ifndef POCZTA_CORE_REGISTRY_H
#define POCZTA_CORE_REGISTRY_H

#include <ltdl.h>
#include <poczta/poczta.h>
#include "config.h"

#define PZ_MAX_MODULES 64

/* The opaque pz_module of the ABI. */
struct pz_module {
	char *name;
	char *path;
	lt_dlhandle handle;
	const struct pz_module_desc *desc;
	const struct pz_conf_section *section;
	int initialised;
	const struct pz_protocol_ops *protocol;
	const struct pz_storage_ops *storage;
	const struct pz_auth_ops *auth;
	const struct pz_filter_ops *filter;
};

/* Modules in load (dependency) order. */
extern struct pz_module *pz_modules[PZ_MAX_MODULES];
extern size_t pz_module_count;

struct pz_module *pz_module_by_name(const char *name);
const struct pz_protocol_ops *pz_protocol_by_name(const char *name,
						  struct pz_module **mod_r);

/* pz_module_open - open `path` and check its descriptor without running any
 * module code beyond the descriptor function.  Returns the module, or NULL
 * with *error_r (malloc'd) naming the file, the module and what differs. */
struct pz_module *pz_module_open(const char *path, const char *name, char **error_r);
void pz_module_close(struct pz_module **mod);

/* pz_desc_check - the descriptor rules (magic, size, ABI, signature, name);
 * 0 or -1 with *error_r (malloc'd).  Exposed for the unit tests. */
int pz_desc_check(const struct pz_module_desc *d, const char *path,
		  const char *name, char **error_r);

/* pz_modules_load_config - open, order by dependencies, check sections and
 * init every module of `cfg`. */
int pz_modules_load_config(const struct pz_config *cfg, char **error_r);
void pz_modules_unload_all(void);
/* pz_modules_forget - empty the table without deinit or dlclose (for a
 * forked throwaway process). */
void pz_modules_forget(void);

#endif
