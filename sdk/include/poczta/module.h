/* poczta/module.h - the module descriptor: what a module tells the core
 * about itself before any of its code runs.
 *
 * A module exports exactly one symbol: a function that returns a pointer to
 * its const descriptor.  Write it with POCZTA_MODULE():
 *
 *     static const struct pz_config_key my_keys[] = {
 *         { "socket", PZ_CONF_STRING, "/run/clamav/clamd.ctl", "clamd socket" },
 *         { NULL, 0, NULL, NULL }
 *     };
 *     POCZTA_MODULE(myscan,
 *         .kinds = PZ_KIND_FILTER,
 *         .name = "myscan",
 *         .version = "1.0",
 *         .license = "MIT",
 *         .description = "scans mail with my scanner",
 *         .config_keys = my_keys,
 *         .init = myscan_init);
 *
 * The first argument is the module's file name with every character that is
 * not a letter or digit replaced by '_' (passwd-file.so -> passwd_file).  The
 * macro fills in magic, size, ABI version and build signature.
 *
 * Versioning rules (the core checks them before it calls init):
 * - PZ_ABI_MAJOR changes only when an existing struct layout, function
 *   signature or meaning changes.  A module built for another major is refused.
 * - PZ_ABI_MINOR grows when something is added at the end of a struct or of
 *   the host table.  A module built for minor N loads in any core with minor
 *   >= N of the same major; a newer module in an older core is refused.
 * - The build signature (pointer, long, off_t and time_t sizes) must match.
 */
#ifndef POCZTA_MODULE_H
#define POCZTA_MODULE_H

#include <poczta/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PZ_ABI_MAJOR 1
#define PZ_ABI_MINOR 2

#define PZ_MODULE_MAGIC 0x707a6d64u /* "pzmd" */

/* The symbol the core looks up (after libltdl's NAME_LTX_ prefix). */
#define PZ_MODULE_SYMBOL "poczta_module"

/* What a module provides; a module may be several kinds at once. */
enum pz_module_kind {
	PZ_KIND_PROTOCOL = 1u << 0,
	PZ_KIND_STORAGE  = 1u << 1,
	PZ_KIND_AUTH     = 1u << 2,
	PZ_KIND_FILTER   = 1u << 3,
};

/* Types of configuration values.  The core parses and checks the value
 * against the type before the module sees it, and reports a bad value with
 * the file and line. */
enum pz_conf_type {
	PZ_CONF_STRING = 1,
	PZ_CONF_INT,      /* decimal, may be negative */
	PZ_CONF_BOOL,     /* yes/no, true/false, on/off, 1/0 */
	PZ_CONF_SIZE,     /* bytes, with optional k, M, G suffix (powers of 1024) */
	PZ_CONF_DURATION, /* milliseconds; suffixes ms, s, m, h, d; bare = seconds */
	PZ_CONF_PATH,     /* a string; relative paths are relative to the config file */
	PZ_CONF_LIST,     /* a string of words separated by blanks */
};

/* One key a module accepts in its `module NAME { ... }` section.  A key that
 * is not listed is a configuration error.  `def` is the default in the same
 * syntax the config file uses, or NULL for "unset". */
struct pz_config_key {
	const char *name;
	enum pz_conf_type type;
	const char *def;
	const char *description;
};

struct pz_host;

/* The descriptor.  The core reads a field only if it lies inside `size`,
 * so fields are only ever added at the end. */
struct pz_module_desc {
	uint32_t magic;          /* PZ_MODULE_MAGIC */
	uint32_t size;           /* sizeof(struct pz_module_desc) at build time */
	uint16_t abi_major;      /* PZ_ABI_MAJOR at build time */
	uint16_t abi_minor;      /* PZ_ABI_MINOR at build time */
	uint8_t sizeof_pointer;  /* build signature */
	uint8_t sizeof_long;
	uint8_t sizeof_off_t;
	uint8_t sizeof_time_t;

	unsigned int kinds;      /* PZ_KIND_* bits */
	const char *name;        /* short name; equals the file name without .so */
	const char *version;
	const char *license;
	const char *description;
	/* NULL-terminated names of modules that must be loaded (and initialised)
	 * before this one, or NULL. */
	const char *const *depends;
	/* Keys accepted in the module's section, ended by a {NULL} row, or NULL. */
	const struct pz_config_key *config_keys;

	/* Called once in the master after every dependency is initialised.
	 * Register providers here (host->register_*).  Return 0, or -1 with
	 * *error_r set (a static string or one from host->pool_*). */
	int (*init)(pz_module *self, const struct pz_host *host, const char **error_r);
	/* Called in the master at shutdown or reload, in reverse load order. */
	void (*deinit)(pz_module *self);
	/* Called in every connection process after privileges are dropped and
	 * before the first byte is read from a client: open per-process
	 * resources (database connections, sockets) here.  A process may serve
	 * several connections one after another (the listener setting
	 * connections_per_process), so state of one connection belongs in its
	 * session's pool, never in process-wide variables. */
	int (*process_init)(pz_module *self, const char **error_r);
	/* Called in a child process before it exits normally. */
	void (*process_deinit)(pz_module *self);
};

typedef const struct pz_module_desc *pz_module_desc_fn(void);

#define PZ_MODULE_DESC_FIELDS_                                  \
	.magic = PZ_MODULE_MAGIC,                               \
	.size = sizeof(struct pz_module_desc),                  \
	.abi_major = PZ_ABI_MAJOR,                              \
	.abi_minor = PZ_ABI_MINOR,                              \
	.sizeof_pointer = sizeof(void *),                       \
	.sizeof_long = sizeof(long),                            \
	.sizeof_off_t = sizeof(off_t),                          \
	.sizeof_time_t = sizeof(time_t)

#define PZ_LTX_(mod, sym) mod##_LTX_##sym

/* Defines the module's one exported function.  See the top of this file. */
#define POCZTA_MODULE(mod, ...)                                          \
	PZ_EXPORT const struct pz_module_desc *PZ_LTX_(mod, poczta_module)(void); \
	PZ_EXPORT const struct pz_module_desc *PZ_LTX_(mod, poczta_module)(void) \
	{                                                                 \
		static const struct pz_module_desc desc = {              \
			PZ_MODULE_DESC_FIELDS_, __VA_ARGS__ };           \
		return &desc;                                            \
	}

#ifdef __cplusplus
}
#endif
#endif
