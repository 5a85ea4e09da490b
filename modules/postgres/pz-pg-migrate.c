/* pz-pg-migrate.c - create, upgrade and look after the PostgreSQL schema of
 * the postgres module (until `poczta-admin db migrate` takes this over).
 *
 *   pz-pg-migrate [-c FILE | -d CONNINFO] [status | migrate | gc]
 *
 *   status   print the schema version of the database and of this build;
 *            exit 0 when this build can use it, 3 when not
 *   migrate  apply the missing migrations (one transaction each, under an
 *            advisory lock, so nodes started at once do not race)
 *   gc       remove message bodies no message references any more (left
 *            when accounts are removed by hand)
 *
 * The connection string comes from -d, else from `conninfo` in the
 * `module postgres { }` section of the config (default
 * PZ_SYSCONFDIR/poczta.conf).  Exit status: 0 done, 1 failed, 2 bad usage,
 * 3 (status) the schema needs attention.
 */
#include "config-core.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "pgsql.h"

static void usage(FILE *out)
{
	fprintf(out, "Usage: pz-pg-migrate [-c FILE | -d CONNINFO] [status|migrate|gc]\n"
		"  -c FILE      poczta.conf to take `conninfo` from (default %s/poczta.conf)\n"
		"  -d CONNINFO  libpq connection string\n", PZ_SYSCONFDIR);
}

/* conninfo_from_config - conninfo of `module postgres { }` (malloc'd) */
static char *conninfo_from_config(const char *path)
{
	struct pz_config *cfg;
	const struct pz_conf_section *sec;
	const struct pz_conf_entry *e;
	char *error = NULL, *out;

	if (pz_config_parse(path, &cfg, &error) < 0) {
		fprintf(stderr, "pz-pg-migrate: %s\n", error != NULL ? error : "out of memory");
		free(error);
		return NULL;
	}
	sec = pz_config_section(cfg, "module", "postgres");
	e = sec != NULL ? pz_config_find(sec->entries, sec->n_entries, "conninfo") : NULL;
	out = strdup(e != NULL ? e->value : "");
	if (sec == NULL)
		fprintf(stderr, "pz-pg-migrate: %s has no `module postgres { }` section; "
			"using libpq's defaults\n", path);
	pz_config_free(&cfg);
	return out;
}

static int cmd_status(PGconn *c)
{
	char *error = NULL;
	int min_compatible, version = pgsql_schema_version(c, &min_compatible, &error);

	if (version < 0) {
		fprintf(stderr, "pz-pg-migrate: %s\n", error);
		free(error);
		return 1;
	}
	printf("database schema version: %d (oldest compatible: %d)\n", version,
	       min_compatible);
	printf("this build's version:    %d\n", PGSQL_SCHEMA_VERSION);
	if (pgsql_schema_check(c, &error) < 0) {
		printf("not usable: %s\n", error);
		free(error);
		return 3;
	}
	printf("usable\n");
	return 0;
}

static int cmd_migrate(PGconn *c)
{
	char *error = NULL;
	int applied = 0;

	if (pgsql_schema_migrate(c, &applied, &error) < 0) {
		fprintf(stderr, "pz-pg-migrate: %s\n", error != NULL ? error : "out of memory");
		free(error);
		return 1;
	}
	printf("schema at version %d (%d migration%s applied)\n", PGSQL_SCHEMA_VERSION,
	       applied, applied == 1 ? "" : "s");
	return 0;
}

static int cmd_gc(PGconn *c)
{
	char *error = NULL;
	long removed = 0;

	if (pgsql_schema_gc(c, &removed, &error) < 0) {
		fprintf(stderr, "pz-pg-migrate: %s\n", error != NULL ? error : "out of memory");
		free(error);
		return 1;
	}
	printf("%ld unreferenced bod%s removed\n", removed, removed == 1 ? "y" : "ies");
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = PZ_SYSCONFDIR "/poczta.conf", *cmd = "status";
	char *conninfo = NULL;
	PGconn *c;
	int opt, ret;

	while ((opt = getopt(argc, argv, "c:d:h")) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			free(conninfo);
			conninfo = strdup(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (optind < argc || (strcmp(cmd, "status") != 0 && strcmp(cmd, "migrate") != 0 &&
			      strcmp(cmd, "gc") != 0)) {
		usage(stderr);
		return 2;
	}
	if (conninfo == NULL && (conninfo = conninfo_from_config(config)) == NULL)
		return 1;
	c = PQconnectdb(conninfo);
	free(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pz-pg-migrate: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	if (strcmp(cmd, "migrate") == 0)
		ret = cmd_migrate(c);
	else if (strcmp(cmd, "gc") == 0)
		ret = cmd_gc(c);
	else
		ret = cmd_status(c);
	PQfinish(c);
	return ret;
}
