/* test-postgres-util.c - the fixture shared by the postgres tests: a
 * throwaway PostgreSQL (tests/integration/pzpostgres.py starts it), a core
 * loaded with the postgres module, and helpers that drive the storage ops
 * the way a protocol module would.  Each test program #includes this file.
 * PG_KEEP=1 keeps the cluster (its folder is printed) for a post-mortem. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static const struct pz_host *H;
static const struct pz_storage_ops *S;
static const struct pz_auth_ops *A;
static char pg_dir[256];        /* the cluster's folder */
static char pg_conninfo[512];
static char pg_conf[512];       /* the poczta config */
static PGconn *pg_admin;        /* the test's own connection */
static unsigned int pg_user_seq;

static __attribute__((unused)) int pg_setup(const char *extra);
static __attribute__((unused)) void pg_teardown(void);
/* pg_cluster - run "pzpostgres.py CMD DIR" (stop, start-again, restart) */
static __attribute__((unused)) void pg_cluster(const char *cmd);
/* pg_sql - run SQL on the test's own connection; the first value of the
 * first row (static buffer) or "" */
static __attribute__((unused)) const char *pg_sql(const char *fmt, ...) PZ_PRINTF(1, 2);

struct pg_user {
	pz_pool *pool;
	pz_user *user;
	pz_mail_user *mu;
	char name[64];
};
/* pg_user_open - a new user named after `prefix` ("k=v" fields may
 * follow, NULL-ended) */
static __attribute__((unused)) void pg_user_open(struct pg_user *u, const char *prefix, ...);
static __attribute__((unused)) void pg_user_close(struct pg_user *u);
static __attribute__((unused)) pz_mailbox *pg_open(struct pg_user *u, const char *box,
						   unsigned int flags);
/* pg_save - save `msg` with flags and keywords (NULL-ended); returns UID. */
static __attribute__((unused)) uint32_t pg_save(pz_mailbox *box, const char *msg,
						unsigned int flags, ...);
static __attribute__((unused)) int pg_save_err(pz_mailbox *box, const char *msg, pz_error *err);

struct pg_events {
	uint32_t expunged[4096];
	size_t n_expunged;
	struct {
		uint32_t uid;
		unsigned int flags;
		uint64_t modseq;
		uint64_t size;
		char keywords[256];
	} appended[4096], changed[4096];
	size_t n_appended, n_changed;
};
static __attribute__((unused)) void pg_sync(pz_mailbox *box, struct pg_events *ev);
static __attribute__((unused)) char *pg_read(pz_mailbox *box, uint32_t uid, size_t *len_r);
static __attribute__((unused)) pz_uidset pg_set(uint32_t first, uint32_t last);

static void pg_cluster(const char *cmd)
{
	const char *src = getenv("top_srcdir");
	char line[1024];

	snprintf(line, sizeof(line), "/usr/bin/python3 %s/tests/integration/pzpostgres.py "
		 "%s %s >/dev/null", src != NULL ? src : ".", cmd, pg_dir);
	if (system(line) != 0)
		fail_msg("%s failed", line);
}

static const char *pg_sql(const char *fmt, ...)
{
	static char value[4096];
	char sql[8192];
	va_list ap;
	PGresult *r;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (pg_admin == NULL || PQstatus(pg_admin) != CONNECTION_OK) {
		PQfinish(pg_admin);
		pg_admin = PQconnectdb(pg_conninfo);
	}
	r = PQexec(pg_admin, sql);
	if (PQstatus(pg_admin) != CONNECTION_OK) {
		/* the server was restarted under this connection */
		PQclear(r);
		PQreset(pg_admin);
		r = PQexec(pg_admin, sql);
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg_admin));
	snprintf(value, sizeof(value), "%s",
		 PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return value;
}

static int pg_start_cluster(void)
{
	const char *src = getenv("top_srcdir");
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/integration/pzpostgres.py start",
		 src != NULL ? src : ".");
	p = popen(cmd, "r");
	if (p == NULL || fscanf(p, "%255s %511[^\n]", pg_dir, pg_conninfo) != 2) {
		fprintf(stderr, "could not start PostgreSQL: %s\n", cmd);
		if (p != NULL)
			pclose(p);
		return -1;
	}
	return pclose(p) == 0 ? 0 : -1;
}

static int pg_setup(const char *extra)
{
	const char *b = getenv("top_builddir");
	char *err = NULL;
	FILE *f;

	if (pg_start_cluster() < 0)
		return -1;
	snprintf(pg_conf, sizeof(pg_conf), "%s/poczta.conf", pg_dir);
	f = fopen(pg_conf, "w");
	if (f == NULL) {
		pg_cluster("destroy");
		return -1;
	}
	fprintf(f, "module_dir = %s/tests/moddir\nstorage = postgres\nauth = postgres\n"
		"module postgres {\n  conninfo = %s\n  auto_migrate = yes\n%s}\n",
		b != NULL ? b : ".", pg_conninfo, extra != NULL ? extra : "");
	fclose(f);
	if (pz_core_load(pg_conf, &err) < 0 || pz_core_process_init(&err) < 0) {
		fprintf(stderr, "pz_core_load: %s\n", err);
		free(err);
		pg_cluster("destroy");
		return -1;
	}
	H = pz_host_table();
	S = pz_storage_by_name("postgres");
	A = pz_auth_by_name("postgres");
	pg_admin = PQconnectdb(pg_conninfo);
	return S != NULL && A != NULL && PQstatus(pg_admin) == CONNECTION_OK ? 0 : -1;
}

static void pg_teardown(void)
{
	pz_core_process_deinit();
	pz_core_unload();
	PQfinish(pg_admin);
	pg_admin = NULL;
	if (getenv("PG_KEEP") == NULL)
		pg_cluster("destroy");
	else
		fprintf(stderr, "PostgreSQL kept in %s (%s)\n", pg_dir, pg_conninfo);
}

static void pg_user_open(struct pg_user *u, const char *prefix, ...)
{
	pz_error err = { 0 };
	const char *kv;
	va_list ap;

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s%u", prefix, ++pg_user_seq);
	u->pool = H->pool_create("test user");
	u->user = pz_user_new(u->pool, u->name);
	va_start(ap, prefix);
	while ((kv = va_arg(ap, const char *)) != NULL) {
		const char *eq = strchr(kv, '=');
		char key[64];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		H->user_set(u->user, key, eq + 1);
	}
	va_end(ap);
	if (S->user_open(NULL, u->user, u->pool, &u->mu, &err) < 0)
		print_error("user_open: %s\n", err.msg);
	assert_non_null(u->mu);
}

static void pg_user_close(struct pg_user *u)
{
	S->user_close(&u->mu);
	H->pool_destroy(&u->pool);
}

static pz_mailbox *pg_open(struct pg_user *u, const char *name, unsigned int flags)
{
	pz_mailbox *box = NULL;
	pz_error err = { 0 };

	if (S->mailbox_open(u->mu, name, flags, &box, &err) < 0)
		print_error("mailbox_open %s: %s\n", name, err.msg);
	assert_non_null(box);
	return box;
}

static int save_v(pz_mailbox *box, const char *msg, size_t len, unsigned int flags,
		  const char *const *kws, size_t nkw, uint32_t *uid_r, pz_error *err)
{
	struct pz_save_args a = { .size = sizeof(a), .flags = flags,
				  .keywords = kws, .keyword_count = nkw };
	pz_save *save = NULL;
	size_t half = len / 2;

	if (S->save_begin(box, &a, &save, err) < 0)
		return -1;
	/* two pieces: CRLF conversion must work across calls */
	if (S->save_write(save, msg, half, err) < 0 ||
	    S->save_write(save, msg + half, len - half, err) < 0) {
		S->save_abort(&save);
		return -1;
	}
	return S->save_commit(&save, uid_r, err);
}

static uint32_t pg_save(pz_mailbox *box, const char *msg, unsigned int flags, ...)
{
	const char *kws[16];
	size_t n = 0;
	uint32_t uid = 0;
	pz_error err = { 0 };
	va_list ap;

	va_start(ap, flags);
	while (n < 16 && (kws[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	if (save_v(box, msg, strlen(msg), flags, kws, n, &uid, &err) < 0)
		print_error("save: %s\n", err.msg);
	assert_true(uid > 0);
	return uid;
}

static int pg_save_err(pz_mailbox *box, const char *msg, pz_error *err)
{
	uint32_t uid;
	return save_v(box, msg, strlen(msg), 0, NULL, 0, &uid, err);
}

static void ev_expunged(void *ctx, uint32_t uid)
{
	struct pg_events *ev = ctx;
	if (ev->n_expunged < 4096)
		ev->expunged[ev->n_expunged++] = uid;
}

static void ev_fill(void *slot, const struct pz_msg_info *info)
{
	struct pg_events *dummy = NULL;
	__typeof__(&dummy->appended[0]) e = slot;

	e->uid = info->uid;
	e->flags = info->flags;
	e->modseq = info->modseq;
	e->size = info->rfc822_size;
	e->keywords[0] = '\0';
	for (size_t i = 0; i < info->keyword_count; i++) {
		size_t l = strlen(e->keywords);
		snprintf(e->keywords + l, sizeof(e->keywords) - l, "%s%s",
			 i > 0 ? " " : "", info->keywords[i]);
	}
}

static void ev_appended(void *ctx, const struct pz_msg_info *info)
{
	struct pg_events *ev = ctx;
	if (ev->n_appended < 4096)
		ev_fill(&ev->appended[ev->n_appended++], info);
}

static void ev_changed(void *ctx, const struct pz_msg_info *info)
{
	struct pg_events *ev = ctx;
	if (ev->n_changed < 4096)
		ev_fill(&ev->changed[ev->n_changed++], info);
}

static void pg_sync(pz_mailbox *box, struct pg_events *ev)
{
	static const struct pz_sync_handler h = {
		.size = sizeof(h), .expunged = ev_expunged,
		.appended = ev_appended, .changed = ev_changed,
	};
	pz_error err = { 0 };

	ev->n_expunged = ev->n_appended = ev->n_changed = 0;
	if (S->mailbox_sync(box, &h, ev, &err) < 0)
		print_error("sync: %s\n", err.msg);
	assert_int_equal(err.cls, PZ_ERR_NONE);
}

static char *pg_read(pz_mailbox *box, uint32_t uid, size_t *len_r)
{
	pz_pool *pool = H->pool_create("test read");
	pz_stream *s = NULL;
	pz_error err = { 0 };
	size_t len = 0, cap = 1024;
	char *buf = malloc(cap);
	ssize_t n;

	assert_int_equal(S->msg_stream(box, uid, pool, &s, &err), 0);
	while ((n = H->stream_read(s, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	assert_true(n == 0);
	buf[len] = '\0';
	H->pool_destroy(&pool);
	if (len_r != NULL)
		*len_r = len;
	return buf;
}

static pz_uidset pg_set(uint32_t first, uint32_t last)
{
	static struct pz_uid_range r[8];
	static unsigned int next;
	struct pz_uid_range *p = &r[next++ % 8];

	p->first = first;
	p->last = last;
	return (pz_uidset){ p, 1 };
}
