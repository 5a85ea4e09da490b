/* pgsql-admin.c - postgres-admin, the helper poczta-admin runs for the
 * postgres module's commands (see pgsql-admin.h):
 *
 *   db status  [-c FILE | -d CONNINFO]   schema versions; exit 3 when this
 *                                        build cannot use the database
 *   db migrate [-c FILE | -d CONNINFO]   apply the missing migrations (one
 *                                        transaction each, advisory lock)
 *   db gc      [-c FILE | -d CONNINFO]   remove unreferenced bodies
 *   import [-c FILE] [-d CONNINFO] [--force] USER [MAILDIR]
 *   export [-c FILE] USER MAILDIR
 *
 * The connection string comes from -d, else from `conninfo` in the
 * `module postgres { }` section of the config (default
 * PZ_SYSCONFDIR/poczta.conf).  Export reads the mail through the module,
 * so with the config's conninfo only.  Exit status: 0 done, 1 failed, 2 bad usage,
 * 3 (db status) the schema needs attention.
 */
#include "config-core.h"
#include "pgsql-admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "pool.h"
#include "privdrop.h"
#include "settings.h"
#include "user.h"

#define ADM_OK 0
#define ADM_FAILED 1
#define ADM_USAGE 2
#define ADM_UNUSABLE 3

struct adm_opts {
	const char *config;
	char *conninfo;
	int force;
	int want_args;               /* positional arguments: min */
	int max_args;
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: poczta-admin db status|migrate|gc [-c FILE | -d CONNINFO]\n"
		"       poczta-admin import [-c FILE] [-d CONNINFO] [--force] USER [MAILDIR]\n"
		"       poczta-admin export [-c FILE] USER MAILDIR\n"
		"  -c FILE      poczta.conf (default %s/poczta.conf)\n"
		"  -d CONNINFO  libpq connection string (default: `conninfo` of the\n"
		"               config's `module postgres { }` section)\n"
		"(postgres-admin is run by poczta-admin; see poczta-admin(8))\n",
		PZ_SYSCONFDIR);
}

static void adm_fail(const char *msg)
{
	fprintf(stderr, "poczta-admin: %s\n", msg != NULL ? msg : "out of memory");
}

/* conninfo_from_config - conninfo of `module postgres { }` (malloc'd) */
static char *conninfo_from_config(const char *path)
{
	struct pz_config *cfg;
	const struct pz_conf_section *sec;
	const struct pz_conf_entry *e;
	char *error = NULL, *out;

	if (pz_config_parse(path, &cfg, &error) < 0) {
		adm_fail(error);
		free(error);
		return NULL;
	}
	sec = pz_config_section(cfg, "module", "postgres");
	e = sec != NULL ? pz_config_find(sec->entries, sec->n_entries, "conninfo") : NULL;
	out = strdup(e != NULL ? e->value : "");
	if (sec == NULL)
		fprintf(stderr, "poczta-admin: %s has no `module postgres { }` section; "
			"using libpq's defaults\n", path);
	pz_config_free(&cfg);
	return out;
}

static PGconn *adm_connect(struct adm_opts *o)
{
	PGconn *c;

	if (o->conninfo == NULL && (o->conninfo = conninfo_from_config(o->config)) == NULL)
		return NULL;
	c = PQconnectdb(o->conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "poczta-admin: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

PGresult *adm_query(PGconn *c, const char *sql, int n, const char *const *values,
		    int binary, int bin_len, char **error_r)
{
	int lengths[PGSQL_MAX_PARAMS] = { 0 }, formats[PGSQL_MAX_PARAMS] = { 0 };
	PGresult *r;
	ExecStatusType st;

	if (binary >= 0) {
		lengths[binary] = bin_len;
		formats[binary] = 1;
	}
	r = PQexecParams(c, sql, n, NULL, values, lengths, formats, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	*error_r = pz_strdup_printf("%s", PQresultErrorMessage(r));
	(*error_r)[strcspn(*error_r, "\n")] = '\0';
	PQclear(r);
	return NULL;
}

int adm_job_end(const struct adm_job *job, const char *what, int ret, char *error)
{
	if (ret == 0)
		return ADM_OK;
	fprintf(stderr, "poczta-admin: %s %s: %s\n", what, job->user_name,
		error != NULL ? error : "out of memory");
	free(error);
	return ADM_FAILED;
}

/* ---- db status | migrate | gc */

static int cmd_status(PGconn *c)
{
	char *error = NULL;
	int min_compatible, version = pgsql_schema_version(c, &min_compatible, &error);

	if (version < 0) {
		adm_fail(error);
		free(error);
		return ADM_FAILED;
	}
	printf("database schema version: %d (oldest compatible: %d)\n", version,
	       min_compatible);
	printf("this build's version:    %d\n", PGSQL_SCHEMA_VERSION);
	if (pgsql_schema_check(c, &error) < 0) {
		printf("not usable: %s\n", error);
		free(error);
		return ADM_UNUSABLE;
	}
	printf("usable\n");
	return ADM_OK;
}

static int cmd_migrate(PGconn *c)
{
	char *error = NULL;
	int applied = 0;

	if (pgsql_schema_migrate(c, &applied, &error) < 0) {
		adm_fail(error);
		free(error);
		return ADM_FAILED;
	}
	printf("schema at version %d (%d migration%s applied)\n", PGSQL_SCHEMA_VERSION,
	       applied, applied == 1 ? "" : "s");
	return ADM_OK;
}

static int cmd_gc(PGconn *c)
{
	char *error = NULL;
	long removed = 0;

	if (pgsql_schema_gc(c, &removed, &error) < 0) {
		adm_fail(error);
		free(error);
		return ADM_FAILED;
	}
	printf("%ld unreferenced bod%s removed\n", removed, removed == 1 ? "y" : "ies");
	return ADM_OK;
}

static const struct adm_db_cmd {
	const char *name;
	int (*fn)(PGconn *c);
} adm_db_cmds[] = {
	{ "status", cmd_status },
	{ "migrate", cmd_migrate },
	{ "gc", cmd_gc },
};

/* ---- import and export: the core, the user, the account */

/* core_up - load the config's modules, drop to its `user` when root, run
 * the per-process init, as a connection process does */
static int core_up(const char *config)
{
	const char *err = NULL;
	char *perr = NULL;
	uid_t uid;
	gid_t gid;

	pz_log_open(1, LOG_MAIL);
	if (pz_core_load(config, &perr) < 0) {
		adm_fail(perr);
		free(perr);
		return -1;
	}
	if (geteuid() == 0 &&
	    (pz_privdrop_lookup(pz_setting("user"), &uid, &gid, &err) < 0 ||
	     pz_privdrop(uid, gid, &err) < 0)) {
		fprintf(stderr, "poczta-admin: user '%s': %s\n", pz_setting("user"), err);
		return -1;
	}
	if (pz_core_process_init(&perr) < 0) {
		adm_fail(perr);
		free(perr);
		return -1;
	}
	return 0;
}

/* job_user - the user as the auth backends know it (a bare name when
 * none does), and a copy whose mail location is the maildir */
static int job_user(struct adm_job *job, const char *maildir)
{
	const char *loc;
	pz_error err = { 0 };
	int ret = pz_auth_user_lookup(job->user_name, job->pool, &job->user, &err);

	if (ret < 0 && err.cls == PZ_ERR_TEMP) {
		fprintf(stderr, "poczta-admin: looking up %s: %s\n", job->user_name,
			err.msg != NULL ? err.msg : "temporary failure");
		return -1;
	}
	if (ret != 0 || job->user == NULL)
		job->user = pz_user_new(job->pool, job->user_name);
	/* the account: "postgres:NAME" as the module reads it */
	loc = pz_user_get(job->user, "mail");
	job->account = loc != NULL && strncmp(loc, "postgres:", 9) == 0 && loc[9] != '\0' ?
		pz_user_expand(job->user, job->pool, loc + 9) : job->user_name;
	job->maildir_user = pz_user_copy(job->pool, job->user);
	if (maildir != NULL) {
		loc = strncmp(maildir, "maildir:", 8) == 0 ? maildir + 8 : maildir;
		job->maildir_root = pz_user_expand(job->user, job->pool, loc);
		pz_user_set(job->maildir_user, "mail",
			    pz_pool_printf(job->pool, "maildir:%s", job->maildir_root));
		((char *)job->maildir_root)[strcspn(job->maildir_root, ":")] = '\0';
	} else if (loc != NULL && strncmp(loc, "maildir:", 8) != 0) {
		/* not a maildir location: the maildir module's own default */
		pz_user_set(job->maildir_user, "mail", NULL);
	}
	return 0;
}

static int run_job(const char *what, struct adm_opts *o, const char *user,
		   const char *maildir)
{
	struct adm_job job = { .user_name = user, .force = o->force };
	int ret = ADM_FAILED;

	if (core_up(o->config) < 0)
		return ADM_FAILED;
	job.pool = pz_pool_create("postgres-admin");
	job.db = adm_connect(o);
	if (job.db != NULL && job_user(&job, maildir) == 0)
		ret = strcmp(what, "import") == 0 ? adm_import(&job) : adm_export(&job);
	if (job.db != NULL)
		PQfinish(job.db);
	free(o->conninfo);
	o->conninfo = NULL;
	pz_pool_destroy(&job.pool);
	pz_core_process_deinit();
	return ret;
}

/* ---- main */

/* parse_opts - the options of a command: `allowed` holds the short
 * options it takes ('f' for --force); -1 when the command should go on,
 * else the exit code */
static int parse_opts(int argc, char **argv, const char *allowed, struct adm_opts *o)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
		if (c != 'h' && (c == '?' || c == ':' || strchr(allowed, c) == NULL))
			goto bad;
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'd':
			free(o->conninfo);
			o->conninfo = strdup(optarg);
			break;
		case 'f':
			o->force = 1;
			break;
		case 'h':
			usage(stdout);
			free(o->conninfo);
			return ADM_OK;
		default:
			goto bad;
		}
	}
	if (argc - optind >= o->want_args && argc - optind <= o->max_args)
		return -1;
bad:
	usage(stderr);
	free(o->conninfo);
	return ADM_USAGE;
}

int main(int argc, char **argv)
{
	struct adm_opts o = { .config = PZ_SYSCONFDIR "/poczta.conf" };
	int ret;

	if (argc >= 3 && strcmp(argv[1], "db") == 0) {
		for (size_t i = 0; i < sizeof(adm_db_cmds) / sizeof(adm_db_cmds[0]); i++) {
			PGconn *c;

			if (strcmp(argv[2], adm_db_cmds[i].name) != 0)
				continue;
			if ((ret = parse_opts(argc - 2, argv + 2, "cd", &o)) >= 0)
				return ret;
			c = adm_connect(&o);
			free(o.conninfo);
			if (c == NULL)
				return ADM_FAILED;
			ret = adm_db_cmds[i].fn(c);
			PQfinish(c);
			return ret;
		}
	} else if (argc >= 2 && strcmp(argv[1], "import") == 0) {
		o.want_args = 1;
		o.max_args = 2;
		if ((ret = parse_opts(argc - 1, argv + 1, "cdf", &o)) >= 0)
			return ret;
		return run_job("import", &o, argv[optind + 1],
			       optind + 2 < argc ? argv[optind + 2] : NULL);
	} else if (argc >= 2 && strcmp(argv[1], "export") == 0) {
		o.want_args = o.max_args = 2;
		if ((ret = parse_opts(argc - 1, argv + 1, "c", &o)) >= 0)
			return ret;
		return run_job("export", &o, argv[optind + 1], argv[optind + 2]);
	}
	usage(stderr);
	return ADM_USAGE;
}
