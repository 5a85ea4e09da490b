/* core/config.h - the configuration file parser.
 *
 * Syntax (poczta.conf(5)):
 *     # comment                    a line of its own; elsewhere '#' is text
 *     key = value                  value runs to the end of the line, blanks
 *                                  trimmed; "double quotes" keep blanks and
 *                                  allow \" and \\ escapes
 *     include conf.d/??-*.conf     glob, relative to the including file's
 *                                  folder; files in sorted order; a pattern
 *                                  with a wildcard may match nothing, a plain
 *                                  path must exist; nesting at most 8 deep
 *     TYPE NAME {                  a section, e.g. `module imap {` or
 *         key = value              `listener imaps {`; sections do not nest
 *     }
 * Every error names the file and line: "FILE:LINE: what is wrong".
 */
#ifndef POCZTA_CORE_CONFIG_H
#define POCZTA_CORE_CONFIG_H

#include <stdio.h>
#include <stdint.h>
#include <poczta/module.h>

/* Bounds of the parser. */
#define PZ_CONF_MAX_LINE 8192
#define PZ_CONF_MAX_INCLUDE_DEPTH 8

struct pz_conf_entry {
	char *key;
	char *value;
	const char *file;   /* owned by the pz_config */
	unsigned int line;
};

struct pz_conf_section {
	char *type;         /* "module", "listener" */
	char *name;
	const char *file;
	unsigned int line;
	struct pz_conf_entry *entries;
	size_t n_entries;
};

struct pz_config {
	char *path;                       /* the main file */
	struct pz_conf_entry *globals;    /* top-level key = value, in file order */
	size_t n_globals;
	struct pz_conf_section *sections; /* in file order */
	size_t n_sections;
	char **files;                     /* every file read (entries point here) */
	size_t n_files;
};

/* pz_config_parse - read `path` and its includes.  Returns 0 with *cfg_r
 * (free with pz_config_free), or -1 with *error_r (malloc'd, caller frees). */
int pz_config_parse(const char *path, struct pz_config **cfg_r, char **error_r);
void pz_config_free(struct pz_config **cfg);

/* pz_config_find - the last entry with `key` (later lines override), or NULL. */
const struct pz_conf_entry *pz_config_find(const struct pz_conf_entry *entries,
					   size_t n, const char *key);

/* pz_config_section - the section of `type` and `name`, or NULL. */
const struct pz_conf_section *pz_config_section(const struct pz_config *cfg,
						const char *type, const char *name);

/* Value parsers: 0 and *out, or -1 when `s` is not valid for the type. */
int pz_conf_parse_bool(const char *s, int *out);
int pz_conf_parse_int(const char *s, int64_t *out);
int pz_conf_parse_size(const char *s, uint64_t *out);        /* 10, 4k, 25M, 1G */
int pz_conf_parse_duration_ms(const char *s, uint64_t *out); /* 30 (=s), 500ms, 5s, 2m, 1h, 1d */

/* pz_config_check_keys - check every entry against `schema` (ended by a
 * {NULL} row; NULL means no key is allowed): unknown keys and values that do
 * not parse as their type are errors "FILE:LINE: unknown key 'k' in WHERE"
 * / "FILE:LINE: bad value 'v' for 'k' in WHERE: expected ...".  Returns 0
 * or -1 with *error_r (malloc'd). */
int pz_config_check_keys(const struct pz_conf_entry *entries, size_t n,
			 const struct pz_config_key *schema, const char *where,
			 char **error_r);

/* pz_config_value - the effective value of `key`: the last entry's value,
 * else the schema default, else NULL. */
const char *pz_config_value(const struct pz_conf_entry *entries, size_t n,
			    const struct pz_config_key *schema, const char *key);

/* pz_config_dump - print cfg as text that parses back to the same entries. */
void pz_config_dump(const struct pz_config *cfg, FILE *out);

/* pz_config_resolve_paths - relative PZ_CONF_PATH values of `entries`
 * become absolute, relative to the folder of the file that holds them.
 * -1 without memory. */
int pz_config_resolve_paths(struct pz_conf_entry *entries, size_t n,
			    const struct pz_config_key *schema);

#endif
