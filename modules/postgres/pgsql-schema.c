/* pgsql-schema.c - the database schema: versioned migrations, the check a
 * node makes before it uses a database, and the sweep of orphaned bodies.
 *
 * Plain libpq and no host API: the module (auto_migrate, and the check on
 * every new connection) and its admin helper (pgsql-admin.c) share this
 * file.
 *
 * pz_schema_version has one row per migration applied: its version, the
 * oldest version a node must know to keep using the schema
 * (min_compatible), a description and when it was applied.  A migration
 * that only adds (a column with a default, an index) keeps min_compatible
 * where it was, so old nodes keep running during a rolling upgrade; one
 * that changes meaning raises it to its own version.  A node refuses a
 * schema that is older than it needs, or newer than it understands.
 *
 * Migrations run one per transaction under an advisory lock, so two nodes
 * started at once with auto_migrate never apply one twice.
 */
#include "pgsql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock key: "pzmigrat" folded into 63 bits */
#define MIGRATE_LOCK_KEY "7067617077617273"
#define ORPHAN_BATCH "1000"

struct migration {
	int version;
	int min_compatible;
	const char *description;
	const char *sql;
};

static const struct migration migrations[] = {
	{ 1, 1, "mail storage and users",
	  /* UIDVALIDITY values never repeat: one sequence for every mailbox,
	   * starting at the time the schema was made (as Dovecot's do) */
	  "DO $$ BEGIN EXECUTE format('CREATE SEQUENCE pz_uidvalidity_seq "
	  "MINVALUE 1 MAXVALUE 4294967295 START %s CYCLE', "
	  "extract(epoch FROM now())::bigint); END $$;\n"
	  "CREATE TABLE pz_account (\n"
	  "  id bigserial PRIMARY KEY,\n"
	  "  name text NOT NULL UNIQUE,\n"
	  "  bytes_used bigint NOT NULL DEFAULT 0,\n"
	  "  messages_used bigint NOT NULL DEFAULT 0,\n"
	  "  created_at timestamptz NOT NULL DEFAULT now());\n"
	  "CREATE TABLE pz_mailbox (\n"
	  "  id bigserial PRIMARY KEY,\n"
	  "  account_id bigint NOT NULL REFERENCES pz_account (id) ON DELETE CASCADE,\n"
	  "  name text NOT NULL,\n"
	  "  uidvalidity bigint NOT NULL DEFAULT nextval('pz_uidvalidity_seq'),\n"
	  "  uidnext bigint NOT NULL DEFAULT 1,\n"
	  "  highestmodseq bigint NOT NULL DEFAULT 1,\n"
	  "  first_recent_uid bigint NOT NULL DEFAULT 1,\n"
	  "  expunge_floor bigint NOT NULL DEFAULT 0,\n"
	  "  special_use integer NOT NULL DEFAULT 0,\n"
	  "  keywords text[] NOT NULL DEFAULT '{}',\n"
	  "  UNIQUE (account_id, name));\n"
	  "CREATE TABLE pz_subscription (\n"
	  "  account_id bigint NOT NULL REFERENCES pz_account (id) ON DELETE CASCADE,\n"
	  "  name text NOT NULL,\n"
	  "  PRIMARY KEY (account_id, name));\n"
	  /* message content, once per distinct SHA-256 of the CRLF bytes */
	  "CREATE TABLE pz_body (\n"
	  "  id bigserial PRIMARY KEY,\n"
	  "  sha256 bytea NOT NULL UNIQUE,\n"
	  "  size bigint NOT NULL,\n"
	  "  data bytea NOT NULL,\n"
	  "  tsv tsvector,\n"
	  "  created_at timestamptz NOT NULL DEFAULT now());\n"
	  "CREATE INDEX pz_body_tsv ON pz_body USING gin (tsv);\n"
	  "CREATE TABLE pz_body_cache (\n"
	  "  body_id bigint NOT NULL REFERENCES pz_body (id) ON DELETE CASCADE,\n"
	  "  field text NOT NULL,\n"
	  "  value bytea NOT NULL,\n"
	  "  PRIMARY KEY (body_id, field));\n"
	  "CREATE TABLE pz_message (\n"
	  "  mailbox_id bigint NOT NULL REFERENCES pz_mailbox (id) ON DELETE CASCADE,\n"
	  "  uid bigint NOT NULL,\n"
	  "  body_id bigint NOT NULL REFERENCES pz_body (id),\n"
	  "  flags integer NOT NULL DEFAULT 0,\n"
	  "  keywords text[] NOT NULL DEFAULT '{}',\n"
	  "  modseq bigint NOT NULL,\n"
	  "  size bigint NOT NULL,\n"
	  "  internal_date bigint NOT NULL,\n"
	  "  internal_date_tz integer NOT NULL DEFAULT 0,\n"
	  "  saved_at timestamptz NOT NULL DEFAULT now(),\n"
	  "  PRIMARY KEY (mailbox_id, uid));\n"
	  "CREATE INDEX pz_message_modseq ON pz_message (mailbox_id, modseq);\n"
	  "CREATE INDEX pz_message_body ON pz_message (body_id);\n"
	  "CREATE TABLE pz_expunged (\n"
	  "  mailbox_id bigint NOT NULL REFERENCES pz_mailbox (id) ON DELETE CASCADE,\n"
	  "  uid bigint NOT NULL,\n"
	  "  modseq bigint NOT NULL,\n"
	  "  expunged_at timestamptz NOT NULL DEFAULT now(),\n"
	  "  PRIMARY KEY (mailbox_id, uid));\n"
	  "CREATE INDEX pz_expunged_modseq ON pz_expunged (mailbox_id, modseq);\n"
	  /* the auth backend's users; the module's queries can be replaced */
	  "CREATE TABLE pz_users (\n"
	  "  name text PRIMARY KEY,\n"
	  "  password text NOT NULL DEFAULT '',\n"
	  "  home text,\n"
	  "  mail text,\n"
	  "  quota bigint,\n"
	  "  quota_messages bigint,\n"
	  "  uid text,\n"
	  "  gid text,\n"
	  "  enabled boolean NOT NULL DEFAULT true);\n" },
	{ 2, 1, "header fields and sent dates for SEARCH",
	  /* fields_state: 0 not indexed yet, 1 indexed, -1 cannot be (the
	   * module indexes old bodies when a search needs them) */
	  "ALTER TABLE pz_body ADD COLUMN fields_state smallint NOT NULL DEFAULT 0;\n"
	  "ALTER TABLE pz_body ADD COLUMN sent_date date;\n"
	  "CREATE TABLE pz_body_field (\n"
	  "  body_id bigint NOT NULL REFERENCES pz_body (id) ON DELETE CASCADE,\n"
	  "  n integer NOT NULL,\n"
	  "  name text NOT NULL,\n"
	  "  value bytea NOT NULL,\n"
	  "  PRIMARY KEY (body_id, n));\n"
	  "CREATE INDEX pz_body_field_name ON pz_body_field (body_id, name);\n" },
};
#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static char *fmtdup(const char *fmt, ...) PZ_PRINTF(1, 2);
static char *fmtdup(const char *fmt, ...)
{
	va_list args;
	char *s = NULL;

	va_start(args, fmt);
	if (vasprintf(&s, fmt, args) < 0)
		s = NULL;
	va_end(args);
	return s;
}

/* server_error - "what: the server's message" (malloc'd) */
static char *server_error(PGconn *c, const char *what)
{
	char *msg = fmtdup("%s: %s", what, PQerrorMessage(c));
	size_t n = msg != NULL ? strlen(msg) : 0;

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	return msg;
}

static int exec_ok(PGconn *c, const char *sql, const char *what, char **error_r)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	*error_r = server_error(c, what);
	PQexec(c, "ROLLBACK");
	return -1;
}

int pgsql_schema_version(PGconn *c, int *min_compatible_r, char **error_r)
{
	PGresult *r = PQexec(c, "SELECT version, min_compatible FROM pz_schema_version "
			     "ORDER BY version DESC LIMIT 1");
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int version = 0;

	*min_compatible_r = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		/* 42P01: no such table, i.e. no schema yet */
		if (state != NULL && strcmp(state, "42P01") == 0) {
			PQclear(r);
			return 0;
		}
		*error_r = server_error(c, "reading the schema version");
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) > 0) {
		version = atoi(PQgetvalue(r, 0, 0));
		*min_compatible_r = atoi(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return version;
}

int pgsql_schema_check(PGconn *c, char **error_r)
{
	int min_compatible, version = pgsql_schema_version(c, &min_compatible, error_r);

	if (version < 0)
		return -1;
	if (version == 0) {
		*error_r = fmtdup("the database has no poczta schema: run poczta-admin "
				  "db migrate (or set auto_migrate = yes)");
		return -1;
	}
	if (version < PGSQL_SCHEMA_VERSION) {
		*error_r = fmtdup("the database schema is version %d, this poczta needs "
				  "version %d: run poczta-admin db migrate", version,
				  PGSQL_SCHEMA_VERSION);
		return -1;
	}
	if (min_compatible > PGSQL_SCHEMA_VERSION) {
		*error_r = fmtdup("the database schema is version %d, newer than this "
				  "poczta understands (version %d; it needs a poczta that "
				  "knows version %d or later): upgrade poczta on this node",
				  version, PGSQL_SCHEMA_VERSION, min_compatible);
		return -1;
	}
	return 0;
}

/* migrate_one - apply the first migration above the current version in
 * its own transaction; 1 when there was none left */
static int migrate_one(PGconn *c, char **error_r)
{
	int min_compatible, version;
	const char *params[3];
	char vbuf[16], mbuf[16];
	PGresult *r;

	if (exec_ok(c, "BEGIN", "BEGIN", error_r) < 0 ||
	    exec_ok(c, "SET LOCAL client_min_messages = warning", "SET", error_r) < 0 ||
	    exec_ok(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
		    "taking the migration lock", error_r) < 0 ||
	    exec_ok(c, "CREATE TABLE IF NOT EXISTS pz_schema_version (\n"
		    "  version integer PRIMARY KEY,\n"
		    "  min_compatible integer NOT NULL,\n"
		    "  description text NOT NULL,\n"
		    "  applied_at timestamptz NOT NULL DEFAULT now())",
		    "creating pz_schema_version", error_r) < 0)
		return -1;
	version = pgsql_schema_version(c, &min_compatible, error_r);
	if (version < 0) {
		PQexec(c, "ROLLBACK");
		return -1;
	}
	for (size_t i = 0; i < N_MIGRATIONS; i++) {
		const struct migration *m = &migrations[i];

		if (m->version <= version)
			continue;
		if (exec_ok(c, m->sql, m->description, error_r) < 0)
			return -1;
		snprintf(vbuf, sizeof(vbuf), "%d", m->version);
		snprintf(mbuf, sizeof(mbuf), "%d", m->min_compatible);
		params[0] = vbuf;
		params[1] = mbuf;
		params[2] = m->description;
		r = PQexecParams(c, "INSERT INTO pz_schema_version (version, min_compatible, "
				 "description) VALUES ($1, $2, $3)", 3, NULL, params, NULL,
				 NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			PQclear(r);
			*error_r = server_error(c, "recording the schema version");
			PQexec(c, "ROLLBACK");
			return -1;
		}
		PQclear(r);
		return exec_ok(c, "COMMIT", "COMMIT", error_r);
	}
	if (exec_ok(c, "COMMIT", "COMMIT", error_r) < 0)
		return -1;
	return 1;
}

int pgsql_schema_migrate(PGconn *c, int *applied_r, char **error_r)
{
	int ret;

	*applied_r = 0;
	while ((ret = migrate_one(c, error_r)) == 0)
		(*applied_r)++;
	if (ret < 0)
		return -1;
	return pgsql_schema_check(c, error_r);
}

/* pgsql_schema_gc - remove bodies no message references (left by an
 * account removed with DELETE, say), in batches; the saves that reuse a
 * body hold KEY SHARE on it and are skipped until they commit */
int pgsql_schema_gc(PGconn *c, long *removed_r, char **error_r)
{
	*removed_r = 0;
	for (;;) {
		PGresult *r;
		const char *ids;
		char *copy;
		long n;

		if (exec_ok(c, "BEGIN", "BEGIN", error_r) < 0)
			return -1;
		r = PQexec(c, "SELECT coalesce(array_agg(id), '{}') FROM (SELECT id FROM pz_body b "
			   "WHERE NOT EXISTS (SELECT 1 FROM pz_message m WHERE m.body_id = b.id) "
			   "ORDER BY id LIMIT " ORPHAN_BATCH " FOR UPDATE SKIP LOCKED) s");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			PQclear(r);
			*error_r = server_error(c, "finding unreferenced bodies");
			PQexec(c, "ROLLBACK");
			return -1;
		}
		copy = strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (copy == NULL || strcmp(copy, "{}") == 0) {
			free(copy);
			return exec_ok(c, "COMMIT", "COMMIT", error_r);
		}
		ids = copy;
		r = PQexecParams(c, "DELETE FROM pz_body b WHERE b.id = ANY($1::bigint[]) "
				 "AND NOT EXISTS (SELECT 1 FROM pz_message m WHERE m.body_id = b.id)",
				 1, NULL, &ids, NULL, NULL, 0);
		free(copy);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			PQclear(r);
			*error_r = server_error(c, "removing unreferenced bodies");
			PQexec(c, "ROLLBACK");
			return -1;
		}
		n = atol(PQcmdTuples(r));
		PQclear(r);
		if (exec_ok(c, "COMMIT", "COMMIT", error_r) < 0)
			return -1;
		*removed_r += n;
		if (n == 0)
			return 0;
	}
}
