/* core/config-value.c - typed configuration values: parsing sizes,
 * durations, booleans and integers, checking entries against a schema,
 * effective values with defaults, and dumping a config back to text. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config-private.h"

/* A value with a unit suffix, e.g. "25M" or "500ms". */
struct conf_unit {
	const char *suffix;
	uint64_t scale;
};

static const struct conf_unit conf_size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1ULL << 10 }, { "kb", 1ULL << 10 },
	{ "m", 1ULL << 20 }, { "mb", 1ULL << 20 },
	{ "g", 1ULL << 30 }, { "gb", 1ULL << 30 },
	{ NULL, 0 }
};

static const struct conf_unit conf_duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 }, { "d", 24 * 60 * 60 * 1000 },
	{ NULL, 0 }
};

int pz_conf_parse_bool(const char *s, int *out)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {
		{ "yes", 1 }, { "true", 1 }, { "on", 1 }, { "1", 1 },
		{ "no", 0 }, { "false", 0 }, { "off", 0 }, { "0", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasecmp(s, words[i].word) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -1;
}

int pz_conf_parse_int(const char *s, int64_t *out)
{
	const char *digits = s;
	long long v;
	char *end;

	if (*digits == '-' || *digits == '+')
		digits++;
	/* strtoll would also take leading blanks and an empty string. */
	if (*digits < '0' || *digits > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
#if LLONG_MAX > INT64_MAX
	if (v < INT64_MIN || v > INT64_MAX)
		return -1;
#endif
	*out = (int64_t)v;
	return 0;
}

/* conf_parse_scaled - digits followed by a suffix from `units` (compared
 * without case when `nocase`), times the suffix's scale */
static int conf_parse_scaled(const char *s, const struct conf_unit *units,
			     bool nocase, uint64_t *out)
{
	uint64_t n = 0;
	unsigned int digit;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		digit = (unsigned int)(*s - '0');
		if (n > (UINT64_MAX - digit) / 10)
			return -1;
		n = n * 10 + digit;
	}
	for (i = 0; units[i].suffix != NULL; i++) {
		if ((nocase ? strcasecmp(s, units[i].suffix) :
		     strcmp(s, units[i].suffix)) != 0)
			continue;
		if (n > UINT64_MAX / units[i].scale)
			return -1;
		*out = n * units[i].scale;
		return 0;
	}
	return -1;
}

int pz_conf_parse_size(const char *s, uint64_t *out)
{
	return conf_parse_scaled(s, conf_size_units, true, out);
}

int pz_conf_parse_duration_ms(const char *s, uint64_t *out)
{
	return conf_parse_scaled(s, conf_duration_units, false, out);
}

/* conf_check_value - NULL when value is valid for type, else what was
 * expected */
static const char *conf_check_value(enum pz_conf_type type, const char *value)
{
	uint64_t u;
	int64_t i;
	int b;

	switch (type) {
	case PZ_CONF_STRING:
	case PZ_CONF_PATH:
	case PZ_CONF_LIST:
		return NULL;
	case PZ_CONF_INT:
		return pz_conf_parse_int(value, &i) == 0 ? NULL :
			"expected an integer such as 10 or -1";
	case PZ_CONF_BOOL:
		return pz_conf_parse_bool(value, &b) == 0 ? NULL :
			"expected yes/no, true/false, on/off or 1/0";
	case PZ_CONF_SIZE:
		return pz_conf_parse_size(value, &u) == 0 ? NULL :
			"expected a size such as 10M";
	case PZ_CONF_DURATION:
		return pz_conf_parse_duration_ms(value, &u) == 0 ? NULL :
			"expected a duration such as 30s, 500ms or 5m";
	}
	return "the module declares this key with an unknown type";
}

int pz_config_check_keys(const struct pz_conf_entry *entries, size_t n,
			 const struct pz_config_key *schema, const char *where,
			 char **error_r)
{
	const struct pz_config_key *k;
	const char *why;
	size_t i;

	*error_r = NULL;
	for (i = 0; i < n; i++) {
		const struct pz_conf_entry *e = &entries[i];

		for (k = schema; k != NULL && k->name != NULL; k++) {
			if (strcmp(k->name, e->key) == 0)
				break;
		}
		if (k == NULL || k->name == NULL) {
			pz_conf_error(error_r, "%s:%u: unknown key '%s' in %s",
				   e->file, e->line, e->key, where);
			return -1;
		}
		why = conf_check_value(k->type, e->value);
		if (why != NULL) {
			pz_conf_error(error_r, "%s:%u: bad value '%s' for '%s' "
				   "in %s: %s", e->file, e->line, e->value,
				   e->key, where, why);
			return -1;
		}
	}
	return 0;
}

const char *pz_config_value(const struct pz_conf_entry *entries, size_t n,
			    const struct pz_config_key *schema, const char *key)
{
	const struct pz_conf_entry *e = pz_config_find(entries, n, key);
	const struct pz_config_key *k;

	if (e != NULL)
		return e->value;
	for (k = schema; k != NULL && k->name != NULL; k++) {
		if (strcmp(k->name, key) == 0)
			return k->def;
	}
	return NULL;
}

/* conf_needs_quotes - whether value would not read back unquoted: it
 * starts with a quote or starts or ends with a blank */
static bool conf_needs_quotes(const char *value)
{
	size_t len = strlen(value);

	return len > 0 && (value[0] == '"' || pz_conf_is_blank(value[0]) ||
			   pz_conf_is_blank(value[len - 1]));
}

/* conf_dump_value - print value, quoted when needed, and the line end */
static void conf_dump_value(FILE *out, const char *value, bool quote)
{
	size_t len = strlen(value);
	const char *v;

	if (!quote) {
		/* The reader strips one '\r' before '\n' (CRLF files), so a
		 * value that ends in '\r' ends its line with "\r\n". */
		fputs(value, out);
		fputs(len > 0 && value[len - 1] == '\r' ? "\r\n" : "\n", out);
		return;
	}
	putc('"', out);
	for (v = value; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			putc('\\', out);
		putc(*v, out);
	}
	fputs("\"\n", out);
}

/* conf_dump_entry - print one entry: indented and with blanks around '='
 * when that fits in a line, else in the shortest form, which is never
 * longer than the line the entry was read from */
static void conf_dump_entry(FILE *out, const struct pz_conf_entry *e,
			    bool indent)
{
	bool quote = conf_needs_quotes(e->value);
	size_t klen = strlen(e->key), vlen = strlen(e->value), width;
	const char *v;

	width = vlen;
	if (vlen <= PZ_CONF_MAX_LINE && quote) {
		width += 2;
		for (v = e->value; *v != '\0'; v++)
			width += *v == '"' || *v == '\\';
	}
	if (vlen == 0 && klen + (indent ? 3 : 2) <= PZ_CONF_MAX_LINE)
		fprintf(out, "%s%s =", indent ? "\t" : "", e->key);
	else if (vlen > 0 && vlen <= PZ_CONF_MAX_LINE &&
		 klen <= PZ_CONF_MAX_LINE &&
		 klen + 3 + width + (indent ? 1 : 0) <= PZ_CONF_MAX_LINE)
		fprintf(out, "%s%s = ", indent ? "\t" : "", e->key);
	else
		fprintf(out, "%s=", e->key);
	conf_dump_value(out, e->value, quote);
}

void pz_config_dump(const struct pz_config *cfg, FILE *out)
{
	const struct pz_conf_section *sec;
	size_t i, j;

	for (i = 0; i < cfg->n_globals; i++)
		conf_dump_entry(out, &cfg->globals[i], false);
	for (i = 0; i < cfg->n_sections; i++) {
		sec = &cfg->sections[i];
		if (i > 0 || cfg->n_globals > 0)
			putc('\n', out);
		if (strlen(sec->type) + strlen(sec->name) + 3 <= PZ_CONF_MAX_LINE)
			fprintf(out, "%s %s {\n", sec->type, sec->name);
		else
			fprintf(out, "%s %s{\n", sec->type, sec->name);
		for (j = 0; j < sec->n_entries; j++)
			conf_dump_entry(out, &sec->entries[j], true);
		fputs("}\n", out);
	}
}

/* pz_config_resolve_paths - make relative PZ_CONF_PATH values absolute,
 * relative to the folder of the file they were written in. */
int pz_config_resolve_paths(struct pz_conf_entry *entries, size_t n,
			    const struct pz_config_key *schema)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct pz_conf_entry *e = &entries[i];
		const struct pz_config_key *k = schema;
		const char *slash;
		char *abs;

		for (; k != NULL && k->name != NULL && strcmp(k->name, e->key) != 0; k++)
			;
		if (k == NULL || k->name == NULL || k->type != PZ_CONF_PATH ||
		    e->value[0] == '/' || e->value[0] == '\0' || e->file == NULL)
			continue;
		slash = strrchr(e->file, '/');
		if (slash == NULL)
			continue; /* a file in the working folder: already right */
		abs = malloc((size_t)(slash - e->file) + 1 + strlen(e->value) + 1);
		if (abs == NULL)
			return -1;
		memcpy(abs, e->file, (size_t)(slash - e->file) + 1);
		strcpy(abs + (slash - e->file) + 1, e->value);
		free(e->value);
		e->value = abs;
	}
	return 0;
}
