/* core/core.c - bring the core up from a config file: parse, check, load
 * and init modules.  Shared by the daemon, poczta-admin and the tests. */
#include "config-core.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "settings.h"

/* check_providers - when protocols are loaded, every name in `auth` must
 * be a loaded auth backend; when storage modules are loaded, `storage` must
 * name one of them. */
static int check_providers(const struct pz_config *cfg, char **error_r)
{
	const struct pz_conf_entry *e;
	char list[1024], *save = NULL, *name;
	int protocols = 0, storages = 0;
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		protocols += pz_modules[i]->protocol != NULL;
		storages += pz_modules[i]->storage != NULL;
	}
	if (storages > 0 && pz_storage_by_name(pz_setting("storage")) == NULL) {
		e = pz_config_find(cfg->globals, cfg->n_globals, "storage");
		*error_r = e != NULL ?
			pz_strdup_printf("%s:%u: storage '%s' is not provided by any loaded module",
					 e->file, e->line, e->value) :
			pz_strdup_printf("%s: storage '%s' (the default) is not provided by any "
					 "loaded module", cfg->path, pz_setting("storage"));
		return -1;
	}
	if (protocols == 0)
		return 0;
	snprintf(list, sizeof(list), "%s", pz_setting("auth"));
	for (name = strtok_r(list, " \t,", &save); name != NULL; name = strtok_r(NULL, " \t,", &save)) {
		if (pz_auth_by_name(name) != NULL)
			continue;
		e = pz_config_find(cfg->globals, cfg->n_globals, "auth");
		*error_r = e != NULL ?
			pz_strdup_printf("%s:%u: auth backend '%s' is not provided by any loaded "
					 "module (add a 'module %s { }' section)",
					 e->file, e->line, name, name) :
			pz_strdup_printf("%s: auth backend '%s' (the default) is not provided by any "
					 "loaded module (add a 'module %s { }' section)",
					 cfg->path, name, name);
		return -1;
	}
	return 0;
}

int pz_core_load(const char *config_path, char **error_r)
{
	struct pz_config *cfg = NULL;

	if (pz_config_parse(config_path, &cfg, error_r) < 0)
		return -1;
	if (pz_settings_check(cfg, error_r) < 0) {
		pz_config_free(&cfg);
		return -1;
	}
	pz_settings_set(cfg);
	if (pz_modules_load_config(cfg, error_r) < 0) {
		pz_settings_set(NULL);
		pz_config_free(&cfg);
		return -1;
	}
	if (check_providers(cfg, error_r) < 0) {
		pz_core_unload();
		return -1;
	}
	return 0;
}

void pz_core_unload(void)
{
	struct pz_config *cfg = (struct pz_config *)pz_settings_config();

	pz_modules_unload_all();
	pz_settings_set(NULL);
	pz_config_free(&cfg);
}

int pz_core_process_init(char **error_r)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		struct pz_module *mod = pz_modules[i];
		const char *err = NULL;

		if (mod->desc->process_init != NULL && mod->desc->process_init(mod, &err) < 0) {
			char buf[1024];

			snprintf(buf, sizeof(buf), "module '%s': process init failed: %s",
				 mod->name, err != NULL ? err : "(no reason given)");
			*error_r = strdup(buf);
			return -1;
		}
	}
	return 0;
}

/* pz_core_process_deinit - in reverse order, before a child exits. */
void pz_core_process_deinit(void)
{
	size_t i = pz_module_count;

	while (i-- > 0) {
		if (pz_modules[i]->desc->process_deinit != NULL)
			pz_modules[i]->desc->process_deinit(pz_modules[i]);
	}
}
