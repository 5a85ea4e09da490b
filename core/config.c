/* core/config.c - the configuration file parser: reads poczta.conf and its
 * includes into a struct pz_config, parses typed values, checks entries
 * against a module's key schema and prints a config back as text.
 *
 * The grammar is in config.h.  Lines are read one at a time into a fixed
 * buffer; a line longer than PZ_CONF_MAX_LINE is refused before the rest of
 * it is read.  A comment is a whole line whose first non-blank byte is '#'; in
 * a value '#' is an ordinary byte ("value runs to the end of the line").
 * Only regular files are read, so an include can never block on a FIFO or
 * read a device.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config-private.h"

/* Files opened by one pz_config_parse, counting a file again each time it
 * is included: without it a few files that each include the next one many
 * times would be read an exponential number of times within the depth. */
#define CONF_MAX_FILES_READ 1024

struct conf_parser {
	struct pz_config *cfg;
	size_t globals_alloc;
	size_t sections_alloc;
	size_t files_alloc;
	size_t section_entries_alloc; /* of the section being read */
	unsigned int files_read;
	char **error_r;
};

/* One file being read.  Sections never span files, so the open section is
 * kept here. */
struct conf_file {
	const char *path; /* owned by the pz_config */
	FILE *fp;
	unsigned int line;
	unsigned int depth; /* 0 for the main file */
	bool in_section;
	size_t section; /* index in cfg->sections while in_section */
};

static char *conf_vprintf(const char *fmt, va_list args) PZ_PRINTF(1, 0);
static int conf_file_error(const struct conf_parser *p,
			   const struct conf_file *cf, const char *fmt, ...)
	PZ_PRINTF(3, 4);
static int conf_parse_file(struct conf_parser *p, const char *path,
			   const struct conf_file *parent);

/* conf_vprintf - a malloc'd formatted string, or NULL without memory */
static char *conf_vprintf(const char *fmt, va_list args)
{
	va_list copy;
	char *s;
	int len;

	va_copy(copy, args);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0 || (size_t)len == SIZE_MAX)
		return NULL;
	s = malloc((size_t)len + 1);
	if (s != NULL)
		vsnprintf(s, (size_t)len + 1, fmt, args);
	return s;
}

/* pz_conf_error - set *error_r to a formatted message (NULL without memory) */
void pz_conf_error(char **error_r, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	*error_r = conf_vprintf(fmt, args);
	va_end(args);
}

/* conf_file_error - set the parser's error to "FILE:LINE: message"; -1 */
static int conf_file_error(const struct conf_parser *p,
			   const struct conf_file *cf, const char *fmt, ...)
{
	va_list args;
	char *msg;

	va_start(args, fmt);
	msg = conf_vprintf(fmt, args);
	va_end(args);
	if (msg == NULL) {
		*p->error_r = NULL;
		return -1;
	}
	pz_conf_error(p->error_r, "%s:%u: %s", cf->path, cf->line, msg);
	free(msg);
	return -1;
}

/* conf_grow - `arr` with room for element n (of `size` bytes) when *alloc
 * holds n; NULL without memory (arr is then left as it was) */
static void *conf_grow(void *arr, size_t *alloc, size_t n, size_t size)
{
	size_t new_alloc;
	void *p;

	if (n < *alloc)
		return arr;
	new_alloc = *alloc == 0 ? 4 : *alloc;
	if (new_alloc > SIZE_MAX / 2 / size)
		return NULL;
	new_alloc *= 2;
	p = realloc(arr, new_alloc * size);
	if (p != NULL)
		*alloc = new_alloc;
	return p;
}

/* conf_is_blank - a blank between tokens and around values */
bool pz_conf_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* conf_is_name_char - a byte allowed in keys, section types and names */
static bool conf_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* conf_name_len - the length of the name at the start of s */
static size_t conf_name_len(const char *s)
{
	size_t n = 0;

	while (conf_is_name_char(s[n]))
		n++;
	return n;
}

/* conf_skip_blanks - the first non-blank byte of s */
static char *conf_skip_blanks(char *s)
{
	while (pz_conf_is_blank(*s))
		s++;
	return s;
}

/* conf_strndup - a malloc'd copy of the first n bytes of s */
static char *conf_strndup(const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = malloc(n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* conf_open - open a regular file for reading, or NULL with *why_r */
static FILE *conf_open(const char *path, const char **why_r)
{
	struct stat st;
	FILE *fp;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		*why_r = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		*why_r = strerror(errno);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*why_r = "not a regular file";
		close(fd);
		return NULL;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		*why_r = strerror(errno);
		close(fd);
	}
	return fp;
}

/* conf_intern_path - the config's copy of path (one per distinct path) */
static const char *conf_intern_path(struct conf_parser *p, const char *path)
{
	struct pz_config *cfg = p->cfg;
	char **files, *copy;
	size_t i;

	for (i = 0; i < cfg->n_files; i++) {
		if (strcmp(cfg->files[i], path) == 0)
			return cfg->files[i];
	}
	files = conf_grow(cfg->files, &p->files_alloc, cfg->n_files,
			  sizeof(*cfg->files));
	if (files == NULL)
		return NULL;
	cfg->files = files;
	copy = strdup(path);
	if (copy == NULL)
		return NULL;
	cfg->files[cfg->n_files++] = copy;
	return copy;
}

/* conf_line_too_long - the error for a line over PZ_CONF_MAX_LINE; -1 */
static int conf_line_too_long(struct conf_parser *p, struct conf_file *cf)
{
	return conf_file_error(p, cf, "line too long (more than %d bytes)",
			       PZ_CONF_MAX_LINE);
}

/* conf_read_line - read the next line of cf into buf (PZ_CONF_MAX_LINE + 2
 * bytes) without its "\n" or "\r\n": 1, 0 at end of file, or -1 */
static int conf_read_line(struct conf_parser *p, struct conf_file *cf,
			  char *buf)
{
	size_t len = 0;
	int c;

	if (cf->line == UINT_MAX)
		return conf_file_error(p, cf, "too many lines");
	cf->line++;
	/* One byte beyond the limit may be the '\r' of "\r\n". */
	while ((c = getc(cf->fp)) != EOF && c != '\n') {
		if (c == '\0')
			return conf_file_error(p, cf, "NUL byte in line");
		if (len > PZ_CONF_MAX_LINE)
			return conf_line_too_long(p, cf);
		buf[len++] = (char)c;
	}
	if (c == EOF && ferror(cf->fp))
		return conf_file_error(p, cf, "read error: %s", strerror(errno));
	if (c == EOF && len == 0)
		return 0;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > PZ_CONF_MAX_LINE)
		return conf_line_too_long(p, cf);
	buf[len] = '\0';
	return 1;
}

/* conf_unquote - the value of a "quoted string" starting at s: \" and \\ are
 * the only escapes and only blanks may follow the closing quote */
static int conf_unquote(struct conf_parser *p, const struct conf_file *cf,
			const char *s, char **value_r)
{
	size_t n = 0;
	char *v;

	/* The value is shorter than s, which holds at least both quotes. */
	v = malloc(strlen(s));
	if (v == NULL)
		return conf_file_error(p, cf, "out of memory");
	for (s++; *s != '"'; s++) {
		if (*s == '\\') {
			s++;
			if (*s != '"' && *s != '\\' && *s != '\0') {
				free(v);
				return conf_file_error(p, cf,
					"invalid escape in quoted value "
					"(only \\\" and \\\\ are allowed)");
			}
		}
		if (*s == '\0') {
			free(v);
			return conf_file_error(p, cf, "unterminated quote");
		}
		v[n++] = *s;
	}
	v[n] = '\0';
	s++;
	while (pz_conf_is_blank(*s))
		s++;
	if (*s != '\0') {
		free(v);
		return conf_file_error(p, cf, "unexpected text after closing quote");
	}
	*value_r = v;
	return 0;
}

/* conf_value - the value that starts at s (blanks already trimmed) */
static int conf_value(struct conf_parser *p, const struct conf_file *cf,
		      const char *s, char **value_r)
{
	if (*s == '"')
		return conf_unquote(p, cf, s, value_r);
	*value_r = strdup(s);
	if (*value_r == NULL)
		return conf_file_error(p, cf, "out of memory");
	return 0;
}

/* conf_glob_error - glob(3) callback: a missing folder matches nothing,
 * any other error while reading a folder stops the glob */
static int conf_glob_error(const char *epath, int eerrno)
{
	return eerrno != ENOENT && eerrno != ENOTDIR;
}

/* conf_include_prefix - the folder of `file` with its '/', "" when it has
 * none; with `escape` glob's special bytes are escaped */
static char *conf_include_prefix(const char *file, bool escape)
{
	const char *slash = strrchr(file, '/');
	size_t i, n, len;
	char *prefix;

	len = slash == NULL ? 0 : (size_t)(slash - file) + 1;
	/* Each byte takes at most two. */
	if (len > (SIZE_MAX - 1) / 2)
		return NULL;
	prefix = malloc(len * 2 + 1);
	if (prefix == NULL)
		return NULL;
	for (i = n = 0; i < len; i++) {
		if (escape && strchr("\\*?[]", file[i]) != NULL)
			prefix[n++] = '\\';
		prefix[n++] = file[i];
	}
	prefix[n] = '\0';
	return prefix;
}

/* conf_include_path - `pattern` resolved against the folder of cf */
static char *conf_include_path(const struct conf_file *cf, const char *pattern,
			       bool wildcard)
{
	char *prefix, *path;
	size_t plen, len;

	if (pattern[0] == '/')
		return strdup(pattern);
	prefix = conf_include_prefix(cf->path, wildcard);
	if (prefix == NULL)
		return NULL;
	plen = strlen(prefix);
	len = strlen(pattern);
	if (len > SIZE_MAX - 1 - plen) {
		free(prefix);
		return NULL;
	}
	path = malloc(plen + len + 1);
	if (path != NULL) {
		memcpy(path, prefix, plen);
		memcpy(path + plen, pattern, len + 1);
	}
	free(prefix);
	return path;
}

/* conf_include_glob - read every file that matches `pattern` in order */
static int conf_include_glob(struct conf_parser *p, const struct conf_file *cf,
			     const char *pattern)
{
	glob_t g;
	size_t i;
	int ret;

	memset(&g, 0, sizeof(g));
	ret = glob(pattern, 0, conf_glob_error, &g);
	if (ret == GLOB_NOMATCH)
		ret = 0;
	else if (ret == GLOB_NOSPACE)
		ret = conf_file_error(p, cf, "include: out of memory");
	else if (ret != 0)
		ret = conf_file_error(p, cf, "include: cannot read a folder "
				      "of '%s'", pattern);
	for (i = 0; ret == 0 && i < g.gl_pathc; i++)
		ret = conf_parse_file(p, g.gl_pathv[i], cf);
	globfree(&g);
	return ret;
}

/* conf_include - `include PATTERN` at the top level of cf */
static int conf_include(struct conf_parser *p, const struct conf_file *cf,
			const char *arg)
{
	char *pattern, *path;
	bool wildcard;
	int ret;

	if (cf->in_section) {
		const struct pz_conf_section *sec = &p->cfg->sections[cf->section];

		return conf_file_error(p, cf,
			"include inside section '%s %s': includes are allowed "
			"only at the top level", sec->type, sec->name);
	}
	if (*arg == '\0')
		return conf_file_error(p, cf, "include: missing file name");
	if (cf->depth >= PZ_CONF_MAX_INCLUDE_DEPTH) {
		return conf_file_error(p, cf,
			"include nested more than %d deep (include loop?)",
			PZ_CONF_MAX_INCLUDE_DEPTH);
	}
	if (conf_value(p, cf, arg, &pattern) < 0)
		return -1;
	if (*pattern == '\0') {
		free(pattern);
		return conf_file_error(p, cf, "include: missing file name");
	}
	wildcard = strpbrk(pattern, "*?[") != NULL;
	path = conf_include_path(cf, pattern, wildcard);
	free(pattern);
	if (path == NULL)
		return conf_file_error(p, cf, "out of memory");
	ret = wildcard ? conf_include_glob(p, cf, path) :
		conf_parse_file(p, path, cf);
	free(path);
	return ret;
}

/* conf_add_entry - append key = value (both malloc'd, taken over) to the
 * open section of cf or to the globals */
static int conf_add_entry(struct conf_parser *p, const struct conf_file *cf,
			  char *key, char *value)
{
	struct pz_config *cfg = p->cfg;
	struct pz_conf_entry **entries = &cfg->globals, *grown, *e;
	size_t *n = &cfg->n_globals, *alloc = &p->globals_alloc;

	if (cf->in_section) {
		entries = &cfg->sections[cf->section].entries;
		n = &cfg->sections[cf->section].n_entries;
		alloc = &p->section_entries_alloc;
	}
	grown = conf_grow(*entries, alloc, *n, sizeof(**entries));
	if (grown == NULL) {
		free(key);
		free(value);
		return conf_file_error(p, cf, "out of memory");
	}
	*entries = grown;
	e = &grown[(*n)++];
	e->key = key;
	e->value = value;
	e->file = cf->path;
	e->line = cf->line;
	return 0;
}

/* conf_key_value - a `key = value` line; eq points at its '=' */
static int conf_key_value(struct conf_parser *p, const struct conf_file *cf,
			  char *line, char *eq)
{
	char *end = eq, *key, *value;
	size_t len;

	while (end > line && pz_conf_is_blank(end[-1]))
		end--;
	len = (size_t)(end - line);
	if (len == 0)
		return conf_file_error(p, cf, "empty key before '='");
	if (conf_name_len(line) != len) {
		*end = '\0';
		return conf_file_error(p, cf,
			"invalid key '%s' (keys are letters, digits, '_', '.' "
			"and '-')", line);
	}
	if (conf_value(p, cf, conf_skip_blanks(eq + 1), &value) < 0)
		return -1;
	key = conf_strndup(line, len);
	if (key == NULL) {
		free(value);
		return conf_file_error(p, cf, "out of memory");
	}
	return conf_add_entry(p, cf, key, value);
}

/* conf_section_open - a `TYPE NAME {` line */
static int conf_section_open(struct conf_parser *p, struct conf_file *cf,
			     const char *line)
{
	struct pz_config *cfg = p->cfg;
	struct pz_conf_section *sec, *sections;
	size_t type_len, name_len, i;
	const char *name, *s;
	char *type_copy, *name_copy;

	type_len = conf_name_len(line);
	name = line + type_len;
	while (pz_conf_is_blank(*name))
		name++;
	name_len = conf_name_len(name);
	s = name + name_len;
	while (pz_conf_is_blank(*s))
		s++;
	if (type_len == 0 || name == line + type_len || name_len == 0 ||
	    strcmp(s, "{") != 0) {
		return conf_file_error(p, cf,
			"section header must be 'TYPE NAME {' (letters, "
			"digits, '_', '.' and '-')");
	}
	if (cf->in_section) {
		sec = &cfg->sections[cf->section];
		return conf_file_error(p, cf,
			"section '%.*s %.*s' inside section '%s %s' (opened "
			"at line %u): sections do not nest", (int)type_len,
			line, (int)name_len, name, sec->type, sec->name,
			sec->line);
	}
	for (i = 0; i < cfg->n_sections; i++) {
		sec = &cfg->sections[i];
		if (strlen(sec->type) == type_len &&
		    strncmp(sec->type, line, type_len) == 0 &&
		    strlen(sec->name) == name_len &&
		    strncmp(sec->name, name, name_len) == 0) {
			return conf_file_error(p, cf,
				"duplicate section '%s %s' (first at %s:%u)",
				sec->type, sec->name, sec->file, sec->line);
		}
	}
	sections = conf_grow(cfg->sections, &p->sections_alloc,
			     cfg->n_sections, sizeof(*cfg->sections));
	if (sections == NULL)
		return conf_file_error(p, cf, "out of memory");
	cfg->sections = sections;
	type_copy = conf_strndup(line, type_len);
	name_copy = conf_strndup(name, name_len);
	if (type_copy == NULL || name_copy == NULL) {
		free(type_copy);
		free(name_copy);
		return conf_file_error(p, cf, "out of memory");
	}
	sec = &cfg->sections[cfg->n_sections];
	memset(sec, 0, sizeof(*sec));
	sec->type = type_copy;
	sec->name = name_copy;
	sec->file = cf->path;
	sec->line = cf->line;
	cf->in_section = true;
	cf->section = cfg->n_sections++;
	p->section_entries_alloc = 0;
	return 0;
}

/* conf_is_include - whether line is `include PATTERN` (not `include = v`);
 * *arg_r is then the pattern */
static bool conf_is_include(char *line, char **arg_r)
{
	char *arg;

	if (strncmp(line, "include", 7) != 0 ||
	    (line[7] != '\0' && !pz_conf_is_blank(line[7])))
		return false;
	arg = conf_skip_blanks(line + 7);
	if (*arg == '=')
		return false;
	*arg_r = arg;
	return true;
}

/* conf_parse_line - one line of cf, without its line end */
static int conf_parse_line(struct conf_parser *p, struct conf_file *cf,
			   char *line)
{
	char *end, *eq, *arg;

	line = conf_skip_blanks(line);
	if (*line == '\0' || *line == '#')
		return 0;
	end = line + strlen(line);
	while (pz_conf_is_blank(end[-1]))
		end--;
	*end = '\0';

	if (*line == '}') {
		if (line[1] != '\0')
			return conf_file_error(p, cf, "unexpected text after '}'");
		if (!cf->in_section)
			return conf_file_error(p, cf, "'}' without a section");
		cf->in_section = false;
		return 0;
	}
	if (conf_is_include(line, &arg))
		return conf_include(p, cf, arg);
	eq = strchr(line, '=');
	if (eq != NULL)
		return conf_key_value(p, cf, line, eq);
	if (end[-1] == '{')
		return conf_section_open(p, cf, line);
	return conf_file_error(p, cf, "missing '=' (expected 'key = value')");
}

/* conf_read_file - every line of cf */
static int conf_read_file(struct conf_parser *p, struct conf_file *cf)
{
	const struct pz_conf_section *sec;
	char *buf;
	int ret;

	buf = malloc(PZ_CONF_MAX_LINE + 2);
	if (buf == NULL)
		return conf_file_error(p, cf, "out of memory");
	while ((ret = conf_read_line(p, cf, buf)) > 0) {
		if (conf_parse_line(p, cf, buf) < 0) {
			ret = -1;
			break;
		}
	}
	free(buf);
	if (ret == 0 && cf->in_section) {
		sec = &p->cfg->sections[cf->section];
		pz_conf_error(p->error_r, "%s:%u: section '%s %s' is not closed "
			   "at end of file", sec->file, sec->line, sec->type,
			   sec->name);
		ret = -1;
	}
	return ret;
}

/* conf_parse_file - read `path`, the main file or one included by the
 * current line of `parent` */
static int conf_parse_file(struct conf_parser *p, const char *path,
			   const struct conf_file *parent)
{
	struct conf_file cf;
	const char *why;
	int ret;

	memset(&cf, 0, sizeof(cf));
	if (parent != NULL && p->files_read >= CONF_MAX_FILES_READ) {
		return conf_file_error(p, parent,
			"include: more than %d files read (include loop?)",
			CONF_MAX_FILES_READ);
	}
	p->files_read++;
	cf.fp = conf_open(path, &why);
	if (cf.fp == NULL) {
		if (parent == NULL) {
			pz_conf_error(p->error_r, "%s: cannot open: %s", path, why);
			return -1;
		}
		return conf_file_error(p, parent,
				       "include: cannot open '%s': %s", path, why);
	}
	cf.depth = parent == NULL ? 0 : parent->depth + 1;
	cf.path = conf_intern_path(p, path);
	if (cf.path == NULL) {
		fclose(cf.fp);
		pz_conf_error(p->error_r, "%s: out of memory", path);
		return -1;
	}
	ret = conf_read_file(p, &cf);
	fclose(cf.fp);
	return ret;
}

int pz_config_parse(const char *path, struct pz_config **cfg_r, char **error_r)
{
	struct conf_parser p;
	struct pz_config *cfg;

	*cfg_r = NULL;
	*error_r = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL || (cfg->path = strdup(path)) == NULL) {
		free(cfg);
		pz_conf_error(error_r, "%s: out of memory", path);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.error_r = error_r;
	if (conf_parse_file(&p, path, NULL) < 0) {
		pz_config_free(&cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

/* conf_free_entries - free n entries and the array */
static void conf_free_entries(struct pz_conf_entry *entries, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(entries[i].key);
		free(entries[i].value);
	}
	free(entries);
}

void pz_config_free(struct pz_config **cfgp)
{
	struct pz_config *cfg = *cfgp;
	size_t i;

	if (cfg == NULL)
		return;
	*cfgp = NULL;
	conf_free_entries(cfg->globals, cfg->n_globals);
	for (i = 0; i < cfg->n_sections; i++) {
		free(cfg->sections[i].type);
		free(cfg->sections[i].name);
		conf_free_entries(cfg->sections[i].entries,
				  cfg->sections[i].n_entries);
	}
	free(cfg->sections);
	for (i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->path);
	free(cfg);
}

const struct pz_conf_entry *pz_config_find(const struct pz_conf_entry *entries,
					   size_t n, const char *key)
{
	while (n > 0) {
		n--;
		if (strcmp(entries[n].key, key) == 0)
			return &entries[n];
	}
	return NULL;
}

const struct pz_conf_section *pz_config_section(const struct pz_config *cfg,
						const char *type, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_sections; i++) {
		if (strcmp(cfg->sections[i].type, type) == 0 &&
		    strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	}
	return NULL;
}
