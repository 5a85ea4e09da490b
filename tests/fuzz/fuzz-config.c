/* tests/fuzz/fuzz-config.c - libFuzzer target for the configuration parser.
 *
 * Each input is written to a file in a private folder and parsed.  A config
 * that parses is dumped, the dump parsed again, and the two must hold the
 * same entries and sections.  Every value also goes through the value
 * parsers and the key check, for the sanitizers.
 *
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -I sdk/include \
 *         -I core core/config.c tests/fuzz/fuzz-config.c -o fuzz-config
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];
static char fuzz_input[128];
static char fuzz_dump[128];

static const struct pz_config_key fuzz_schema[] = {
	{ "s", PZ_CONF_STRING, "x", NULL },
	{ "i", PZ_CONF_INT, NULL, NULL },
	{ "b", PZ_CONF_BOOL, "no", NULL },
	{ "z", PZ_CONF_SIZE, "1M", NULL },
	{ "d", PZ_CONF_DURATION, "1s", NULL },
	{ "p", PZ_CONF_PATH, NULL, NULL },
	{ "l", PZ_CONF_LIST, NULL, NULL },
	{ NULL, 0, NULL, NULL }
};

/* fuzz_write - write size bytes of data to path */
static void fuzz_write(const char *path, const void *data, size_t size)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
		perror(path);
		abort();
	}
}

/* fuzz_same_entries - whether two entry arrays hold the same keys/values */
static int fuzz_same_entries(const struct pz_conf_entry *a, size_t na,
			     const struct pz_conf_entry *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i].key, b[i].key) != 0 ||
		    strcmp(a[i].value, b[i].value) != 0)
			return 0;
	}
	return 1;
}

/* fuzz_same_config - whether two configs hold the same entries/sections */
static int fuzz_same_config(const struct pz_config *a, const struct pz_config *b)
{
	size_t i;

	if (!fuzz_same_entries(a->globals, a->n_globals, b->globals,
			       b->n_globals) || a->n_sections != b->n_sections)
		return 0;
	for (i = 0; i < a->n_sections; i++) {
		if (strcmp(a->sections[i].type, b->sections[i].type) != 0 ||
		    strcmp(a->sections[i].name, b->sections[i].name) != 0 ||
		    !fuzz_same_entries(a->sections[i].entries,
				       a->sections[i].n_entries,
				       b->sections[i].entries,
				       b->sections[i].n_entries))
			return 0;
	}
	return 1;
}

/* fuzz_values - run every value through the parsers and the key check */
static void fuzz_values(const struct pz_conf_entry *e, size_t n)
{
	const struct pz_conf_entry *found;
	char *error = NULL;
	uint64_t u;
	int64_t i;
	size_t k;
	int b;

	for (k = 0; k < n; k++) {
		(void)pz_conf_parse_bool(e[k].value, &b);
		(void)pz_conf_parse_int(e[k].value, &i);
		(void)pz_conf_parse_size(e[k].value, &u);
		(void)pz_conf_parse_duration_ms(e[k].value, &u);
		found = pz_config_find(e, n, e[k].key);
		if (found == NULL || strcmp(found->key, e[k].key) != 0)
			abort();
		(void)pz_config_value(e, n, fuzz_schema, e[k].key);
	}
	if (pz_config_check_keys(e, n, fuzz_schema, "fuzz", &error) < 0)
		free(error);
}

/* fuzz_round_trip - dump cfg, parse the dump; abort when it differs */
static void fuzz_round_trip(const struct pz_config *cfg)
{
	struct pz_config *back = NULL;
	char *text = NULL, *error = NULL;
	size_t len = 0;
	FILE *out;

	out = open_memstream(&text, &len);
	if (out == NULL)
		abort();
	pz_config_dump(cfg, out);
	if (fclose(out) != 0)
		abort();
	fuzz_write(fuzz_dump, text, len);
	if (pz_config_parse(fuzz_dump, &back, &error) < 0) {
		fprintf(stderr, "dump does not parse: %s\n--- dump:\n%s---\n",
			error, text);
		abort();
	}
	if (!fuzz_same_config(cfg, back)) {
		fprintf(stderr, "dump parses to another config\n--- dump:\n"
			"%s---\n", text);
		abort();
	}
	/* Gone before the next input is parsed: it must not see the dump. */
	unlink(fuzz_dump);
	pz_config_free(&back);
	free(text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* An include of /dev/stdin must not wait for a terminal. */
	if (freopen("/dev/null", "r", stdin) == NULL)
		abort();
	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/fuzz-config.XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(fuzz_input, sizeof(fuzz_input), "%s/in.conf", fuzz_dir);
	snprintf(fuzz_dump, sizeof(fuzz_dump), "%s/dump.conf", fuzz_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pz_config *cfg = NULL;
	char *error = NULL;
	size_t i;

	fuzz_write(fuzz_input, data, size);
	if (pz_config_parse(fuzz_input, &cfg, &error) < 0) {
		if (error == NULL || cfg != NULL)
			abort();
		free(error);
		return 0;
	}
	fuzz_values(cfg->globals, cfg->n_globals);
	for (i = 0; i < cfg->n_sections; i++)
		fuzz_values(cfg->sections[i].entries, cfg->sections[i].n_entries);
	fuzz_round_trip(cfg);
	pz_config_free(&cfg);
	return 0;
}
