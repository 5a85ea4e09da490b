/* core/loader.c - load modules with libltdl and check them before they run.
 *
 * The ABI rules (DESIGN "The module ABI"): the descriptor's magic, size, ABI
 * major (equal) and minor (not above ours) and build signature are checked
 * before init runs; a refusal names the file, the module and the expected
 * and found values.  Modules load in dependency order. */
#include "config-core.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "settings.h"

struct pz_module *pz_modules[PZ_MAX_MODULES];
size_t pz_module_count;

/* The descriptor as it was in ABI 1.0: a module's `size` may not be less. */
#define PZ_DESC_MIN_SIZE \
	(offsetof(struct pz_module_desc, process_deinit) + sizeof(void (*)(void)))

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		pz_fatal("out of memory");
	return p;
}

static int ltdl_ready;

static void ltdl_init_once(void)
{
	if (!ltdl_ready) {
		if (lt_dlinit() != 0)
			pz_fatal("lt_dlinit: %s", lt_dlerror());
		ltdl_ready = 1;
	}
}

/* pz_desc_check - every rule a descriptor must pass before the core uses it. */
int pz_desc_check(const struct pz_module_desc *d, const char *path,
		  const char *name, char **error_r)
{
	if (d == NULL) {
		*error_r = pz_strdup_printf("%s: module '%s': descriptor function returned NULL", path, name);
		return -1;
	}
	if (d->magic != PZ_MODULE_MAGIC) {
		*error_r = pz_strdup_printf("%s: module '%s': bad descriptor magic: expected 0x%08x, found 0x%08x",
				  path, name, PZ_MODULE_MAGIC, d->magic);
		return -1;
	}
	if (d->abi_major != PZ_ABI_MAJOR) {
		*error_r = pz_strdup_printf("%s: module '%s': built for ABI %u.%u, this core has ABI %u.%u "
				  "(the major version must be %u)", path, name,
				  d->abi_major, d->abi_minor, PZ_ABI_MAJOR, PZ_ABI_MINOR, PZ_ABI_MAJOR);
		return -1;
	}
	if (d->abi_minor > PZ_ABI_MINOR) {
		*error_r = pz_strdup_printf("%s: module '%s': built for ABI %u.%u, newer than this core's ABI %u.%u "
				  "(the minor version must be at most %u)", path, name,
				  d->abi_major, d->abi_minor, PZ_ABI_MAJOR, PZ_ABI_MINOR, PZ_ABI_MINOR);
		return -1;
	}
	if (d->size < PZ_DESC_MIN_SIZE) {
		*error_r = pz_strdup_printf("%s: module '%s': descriptor size %u, expected at least %zu",
				  path, name, d->size, (size_t)PZ_DESC_MIN_SIZE);
		return -1;
	}
	if (d->sizeof_pointer != sizeof(void *) || d->sizeof_long != sizeof(long) ||
	    d->sizeof_off_t != sizeof(off_t) || d->sizeof_time_t != sizeof(time_t)) {
		*error_r = pz_strdup_printf("%s: module '%s': build signature differs: expected "
				  "pointer/long/off_t/time_t sizes %zu/%zu/%zu/%zu, found %u/%u/%u/%u",
				  path, name, sizeof(void *), sizeof(long), sizeof(off_t),
				  sizeof(time_t), d->sizeof_pointer, d->sizeof_long,
				  d->sizeof_off_t, d->sizeof_time_t);
		return -1;
	}
	if (d->name == NULL || strcmp(d->name, name) != 0) {
		*error_r = pz_strdup_printf("%s: module '%s': descriptor names itself '%s'", path, name,
				  d->name != NULL ? d->name : "(null)");
		return -1;
	}
	if (d->kinds == 0 || (d->kinds & ~(unsigned)(PZ_KIND_PROTOCOL | PZ_KIND_STORAGE |
						   PZ_KIND_AUTH | PZ_KIND_FILTER)) != 0) {
		*error_r = pz_strdup_printf("%s: module '%s': bad kinds 0x%x", path, name, d->kinds);
		return -1;
	}
	if (d->init == NULL) {
		*error_r = pz_strdup_printf("%s: module '%s': descriptor has no init", path, name);
		return -1;
	}
	return 0;
}

/* pz_module_open - dlopen with local symbols and read the descriptor. */
struct pz_module *pz_module_open(const char *path, const char *name, char **error_r)
{
	lt_dladvise advise;
	lt_dlhandle h;
	pz_module_desc_fn *fn;
	struct pz_module *mod;
	const struct pz_module_desc *d;
	struct stat st;

	ltdl_init_once();
	if (stat(path, &st) < 0) {
		*error_r = pz_strdup_printf("%s: module '%s': %s", path, name, strerror(errno));
		return NULL;
	}
	if (lt_dladvise_init(&advise) != 0 || lt_dladvise_local(&advise) != 0)
		pz_fatal("lt_dladvise: %s", lt_dlerror());
	h = lt_dlopenadvise(path, advise);
	lt_dladvise_destroy(&advise);
	if (h == NULL) {
		*error_r = pz_strdup_printf("%s: module '%s': cannot load: %s", path, name, lt_dlerror());
		return NULL;
	}
	fn = (pz_module_desc_fn *)(void (*)(void))lt_dlsym(h, PZ_MODULE_SYMBOL);
	if (fn == NULL) {
		*error_r = pz_strdup_printf("%s: module '%s': no module descriptor (symbol %s_LTX_%s): "
				  "not a poczta module", path, name, name, PZ_MODULE_SYMBOL);
		lt_dlclose(h);
		return NULL;
	}
	d = fn();
	if (pz_desc_check(d, path, name, error_r) < 0) {
		lt_dlclose(h);
		return NULL;
	}
	mod = calloc(1, sizeof(*mod));
	if (mod == NULL)
		pz_fatal("out of memory");
	mod->name = xstrdup(name);
	mod->path = xstrdup(path);
	mod->handle = h;
	mod->desc = d;
	return mod;
}

void pz_module_close(struct pz_module **modp)
{
	struct pz_module *mod = *modp;

	if (mod == NULL)
		return;
	if (mod->initialised && mod->desc->deinit != NULL)
		mod->desc->deinit(mod);
	lt_dlclose(mod->handle);
	free(mod->name);
	free(mod->path);
	free(mod);
	*modp = NULL;
}

struct pz_module *pz_module_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		if (strcmp(pz_modules[i]->name, name) == 0)
			return pz_modules[i];
	}
	return NULL;
}

const struct pz_protocol_ops *pz_protocol_by_name(const char *name,
						  struct pz_module **mod_r)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		const struct pz_protocol_ops *p = pz_modules[i]->protocol;

		if (p != NULL && strcmp(p->name, name) == 0) {
			if (mod_r != NULL)
				*mod_r = pz_modules[i];
			return p;
		}
	}
	return NULL;
}

const struct pz_storage_ops *pz_storage_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		if (pz_modules[i]->storage != NULL &&
		    strcmp(pz_modules[i]->storage->name, name) == 0)
			return pz_modules[i]->storage;
	}
	return NULL;
}

const struct pz_auth_ops *pz_auth_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		if (pz_modules[i]->auth != NULL && strcmp(pz_modules[i]->auth->name, name) == 0)
			return pz_modules[i]->auth;
	}
	return NULL;
}

/* check_module_section - the module's keys, plus the core's filter keys. */
static int check_module_section(struct pz_module *mod, char **error_r)
{
	const struct pz_conf_section *s = mod->section;
	const struct pz_config_key *schema = mod->desc->config_keys;
	char where[256];
	size_t i;

	snprintf(where, sizeof(where), "module %s", mod->name);
	for (i = 0; i < s->n_entries; i++) {
		const struct pz_conf_entry *e = &s->entries[i];
		const struct pz_config_key *k;

		if ((mod->desc->kinds & PZ_KIND_FILTER) != 0) {
			for (k = pz_filter_keys; k->name != NULL; k++) {
				if (strcmp(k->name, e->key) == 0)
					break;
			}
			if (k->name != NULL) {
				if (pz_config_check_keys(e, 1, pz_filter_keys, where, error_r) < 0)
					return -1;
				continue;
			}
		}
		if (pz_config_check_keys(e, 1, schema, where, error_r) < 0)
			return -1;
	}
	/* the section belongs to the config this process owns */
	if (pz_config_resolve_paths(((struct pz_conf_section *)s)->entries, s->n_entries,
				    schema) < 0)
		pz_fatal("out of memory");
	return 0;
}

/* order_modules - topological order by `depends`; error on a missing or
 * circular dependency. */
static int order_modules(struct pz_module **mods, size_t n, char **error_r)
{
	struct pz_module *ordered[PZ_MAX_MODULES];
	int placed[PZ_MAX_MODULES] = { 0 };
	size_t count = 0, i, j;

	for (i = 0; i < n; i++) {
		const char *const *dep = mods[i]->desc->depends;

		for (; dep != NULL && *dep != NULL; dep++) {
			for (j = 0; j < n && strcmp(mods[j]->name, *dep) != 0; j++)
				;
			if (j == n) {
				*error_r = pz_strdup_printf("%s:%u: module '%s' depends on module '%s', "
						  "which is not configured (add a 'module %s { }' section)",
						  mods[i]->section->file, mods[i]->section->line,
						  mods[i]->name, *dep, *dep);
				return -1;
			}
		}
	}
	while (count < n) {
		size_t before = count;

		for (i = 0; i < n; i++) {
			const char *const *dep = mods[i]->desc->depends;
			int ready = 1;

			if (placed[i])
				continue;
			for (; dep != NULL && *dep != NULL && ready; dep++) {
				for (j = 0; j < n; j++) {
					if (strcmp(mods[j]->name, *dep) == 0 && !placed[j])
						ready = 0;
				}
			}
			if (ready) {
				placed[i] = 1;
				ordered[count++] = mods[i];
			}
		}
		if (count == before) {
			for (i = 0; placed[i]; i++)
				;
			*error_r = pz_strdup_printf("module '%s': circular dependency", mods[i]->name);
			return -1;
		}
	}
	memcpy(mods, ordered, n * sizeof(*mods));
	return 0;
}

/* open_all - open every `module NAME` section's file. */
static int open_all(const struct pz_config *cfg, struct pz_module **mods, size_t *n_r,
		    char **error_r)
{
	const char *dir = pz_setting("module_dir");
	size_t i, n = 0;

	for (i = 0; i < cfg->n_sections; i++) {
		const struct pz_conf_section *s = &cfg->sections[i];
		char path[4096], *err = NULL;

		if (strcmp(s->type, "module") != 0)
			continue;
		if (n == PZ_MAX_MODULES) {
			*error_r = pz_strdup_printf("%s:%u: more than %d modules", s->file, s->line,
					  PZ_MAX_MODULES);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s.so", dir, s->name);
		mods[n] = pz_module_open(path, s->name, &err);
		if (mods[n] == NULL) {
			*error_r = pz_strdup_printf("%s:%u: %s", s->file, s->line, err);
			free(err);
			return -1;
		}
		mods[n]->section = s;
		*n_r = ++n;
		if (check_module_section(mods[n - 1], error_r) < 0)
			return -1;
	}
	return 0;
}

/* pz_modules_load_config - load, order, check and init every module. */
int pz_modules_load_config(const struct pz_config *cfg, char **error_r)
{
	struct pz_module *mods[PZ_MAX_MODULES];
	size_t n = 0, i;

	if (open_all(cfg, mods, &n, error_r) < 0 || order_modules(mods, n, error_r) < 0) {
		for (i = 0; i < n; i++)
			pz_module_close(&mods[i]);
		return -1;
	}
	for (i = 0; i < n; i++)
		pz_modules[i] = mods[i];
	pz_module_count = n;
	for (i = 0; i < n; i++) {
		const char *err = NULL;
		struct pz_module *mod = pz_modules[i];

		if (mod->desc->init(mod, pz_host_table(), &err) < 0) {
			*error_r = pz_strdup_printf("%s:%u: module '%s': init failed: %s",
					  mod->section->file, mod->section->line, mod->name,
					  err != NULL ? err : "(no reason given)");
			pz_modules_unload_all();
			return -1;
		}
		mod->initialised = 1;
	}
	return 0;
}

/* pz_modules_unload_all - deinit and close in reverse load order. */
void pz_modules_unload_all(void)
{
	while (pz_module_count > 0) {
		pz_module_count--;
		pz_module_close(&pz_modules[pz_module_count]);
	}
}

/* pz_modules_forget - drop the module table without deinit or unloading;
 * for a throwaway process that must not disturb what the modules share
 * with its parent. */
void pz_modules_forget(void)
{
	pz_module_count = 0;
}
