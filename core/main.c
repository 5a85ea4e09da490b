/* core/main.c - the poczta daemon's command line. */
#include "config-core.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>
#include "core.h"
#include "log.h"
#include "master.h"
#include "registry.h"
#include "settings.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: poczta [-c FILE] [-F] [-t] [-n]\n"
		"Mail-access server: IMAP, POP3 and LMTP through loadable modules.\n\n"
		"  -c, --config FILE   configuration file (default %s/poczta.conf)\n"
		"  -F, --foreground    stay in the foreground and log to stderr\n"
		"  -t, --test          check the configuration and its modules, then exit\n"
		"  -n, --print         print the effective configuration and exit\n"
		"  -V, --version       print the version and the module ABI version\n"
		"  -h, --help          this text\n", PZ_SYSCONFDIR);
}

/* print_value - one "key = value" line, quoted when needed. */
static void print_value(const char *indent, const char *key, const char *value)
{
	const char *p;

	if (value == NULL) {
		printf("%s# %s is not set\n", indent, key);
		return;
	}
	if (value[0] != '\0' && strpbrk(value, "\"\\#") == NULL && value[0] != ' ' &&
	    value[strlen(value) - 1] != ' ') {
		printf("%s%s = %s\n", indent, key, value);
		return;
	}
	printf("%s%s = \"", indent, key);
	for (p = value; *p != '\0'; p++)
		printf("%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
	printf("\"\n");
}

/* print_keys - every key of a schema with its effective value. */
static void print_keys(const char *indent, const struct pz_conf_entry *e, size_t n,
		       const struct pz_config_key *schema)
{
	for (; schema != NULL && schema->name != NULL; schema++)
		print_value(indent, schema->name, pz_config_value(e, n, schema, schema->name));
}

/* print_config - -n: the effective configuration, defaults included. */
static void print_config(void)
{
	const struct pz_config *cfg = pz_settings_config();
	size_t i;

	printf("# poczta %s, module ABI %d.%d, from %s\n", PACKAGE_VERSION, PZ_ABI_MAJOR,
	       PZ_ABI_MINOR, cfg->path);
	print_keys("", cfg->globals, cfg->n_globals, pz_global_keys);
	for (i = 0; i < cfg->n_sections; i++) {
		const struct pz_conf_section *s = &cfg->sections[i];

		printf("\n%s %s {\n", s->type, s->name);
		if (strcmp(s->type, "listener") == 0) {
			print_keys("    ", s->entries, s->n_entries, pz_listener_keys);
		} else {
			struct pz_module *m = pz_module_by_name(s->name);

			if (m != NULL) {
				print_keys("    ", s->entries, s->n_entries, m->desc->config_keys);
				if (m->desc->kinds & PZ_KIND_FILTER)
					print_keys("    ", s->entries, s->n_entries, pz_filter_keys);
			}
		}
		printf("}\n");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "test", no_argument, NULL, 't' },
		{ "print", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = PZ_SYSCONFDIR "/poczta.conf";
	int foreground = 0, test = 0, print = 0, c;
	char *err = NULL;

	while ((c = getopt_long(argc, argv, "c:Ftn" "Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'F': foreground = 1; break;
		case 't': test = 1; break;
		case 'n': print = 1; break;
		case 'V':
			printf("poczta %s (module ABI %d.%d)\n", PACKAGE_VERSION, PZ_ABI_MAJOR,
			       PZ_ABI_MINOR);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	pz_log_open(1, LOG_MAIL);
	if (pz_core_load(config_path, &err) < 0 ||
	    ((test || !print) && pz_master_check_runtime(&err) < 0)) {
		fprintf(stderr, "poczta: %s\n", err);
		free(err);
		return 1;
	}
	if (print) {
		print_config();
		return 0;
	}
	if (test) {
		printf("poczta: %s is valid; %zu modules loaded\n", config_path, pz_module_count);
		return 0;
	}
	pz_log_set_debug(pz_setting_bool("log_debug"));
	return pz_master_run(config_path, !foreground);
}
