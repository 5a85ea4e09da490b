/* pgsql-db.c - the process's connection to PostgreSQL.
 *
 * A connection process serves one client, so it holds one connection,
 * opened at the first use (never in the master, which forks the children:
 * init checks the schema on a connection of its own and closes it).  The
 * settings are a libpq connection string, so multi-host failover
 * ("host=a,b target_session_attrs=read-write") is libpq's own.
 *
 * When the server goes away (connection lost, shutdown, or a failover
 * that left us on a read-only standby), the call that noticed gets
 * PZ_ERR_TEMP and the next call connects again.  A transaction that failed
 * before its COMMIT was sent is run again on the new connection; one whose
 * COMMIT got no answer is reported as failed (PZ_ERR_TEMP), so a client
 * retries and nothing it was told was saved is lost.
 *
 * Push: views that want a notify descriptor LISTEN on "pz_mb_<id>" and
 * get a descriptor number of their own that stays the same for the life
 * of the view: a dup of the libpq socket, re-pointed (dup3) at the new
 * socket after a reconnect, or at a timerfd while the server is away, so
 * an idle session wakes up to try again.  A notification can be read by
 * libpq while it waits for a query's result, which leaves the socket
 * quiet; then a "poke" (an asynchronous SELECT 1) makes it readable.
 */
#include "pgsql.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static struct {
	PGconn *conn;
	pid_t pid;                /* the process that opened it */
	uint64_t gen;             /* connection generation */
	int broken;               /* lost: drop it before the next call */
	int in_txn;
	int retryable;            /* the last failure may succeed if retried */
	int poke;                 /* an asynchronous SELECT 1 is in flight */
	int timer_fd;
	uint64_t backoff_ms;
	time_t last_warning;
	unsigned char prepared[PGSQL_STMT_COUNT];
	struct pz_mailbox *listeners;
	PGconn *inherited;        /* the parent's, after a fork: never used */
} db = { .timer_fd = -1 };

/* ---- parameters */

void pgp_init(struct pgsql_params *p)
{
	p->n = 0;
}

static void pgp_add(struct pgsql_params *p, const char *v, int len, int fmt)
{
	if (p->n >= PGSQL_MAX_PARAMS) {
		pgsql_log(PZ_LOG_FATAL, "too many statement parameters");
		return;
	}
	p->values[p->n] = v;
	p->lengths[p->n] = len;
	p->formats[p->n] = fmt;
	p->n++;
}

void pgp_int(struct pgsql_params *p, int64_t v)
{
	if (p->n >= PGSQL_MAX_PARAMS) {
		pgp_add(p, NULL, 0, 0);
		return;
	}
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	pgp_add(p, p->num[p->n], 0, 0);
}

void pgp_str(struct pgsql_params *p, const char *s)
{
	pgp_add(p, s, 0, 0);
}

void pgp_bin(struct pgsql_params *p, const void *data, size_t len)
{
	/* bodies are bounded far below INT_MAX by the protocols' size limits */
	pgp_add(p, data != NULL ? data : "", (int)len, 1);
}

/* ---- array literals */

static void pga_add(struct pgsql_array *a, const char *s, size_t n)
{
	if (a->len + n + 2 > a->alloc) {
		size_t na = a->alloc != 0 ? a->alloc : 64;
		while (na < a->len + n + 2)
			na *= 2;
		a->s = HOST->pool_realloc(a->pool, a->s, a->alloc, na);
		a->alloc = na;
	}
	memcpy(a->s + a->len, s, n);
	a->len += n;
	a->s[a->len] = '\0';
}

void pga_init(struct pgsql_array *a, pz_pool *pool)
{
	memset(a, 0, sizeof(*a));
	a->pool = pool;
	pga_add(a, "{", 1);
}

void pga_int(struct pgsql_array *a, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%s%lld", a->count > 0 ? "," : "", (long long)v);

	pga_add(a, buf, (size_t)n);
	a->count++;
}

void pga_str(struct pgsql_array *a, const char *s)
{
	if (a->count > 0)
		pga_add(a, ",", 1);
	pga_add(a, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			pga_add(a, "\\", 1);
		pga_add(a, s, 1);
	}
	pga_add(a, "\"", 1);
	a->count++;
}

const char *pga_done(struct pgsql_array *a)
{
	pga_add(a, "}", 1);
	return a->s;
}

void pgsql_uidset_arrays(pz_pool *pool, const pz_uidset *set,
			 const char **firsts_r, const char **lasts_r)
{
	struct pgsql_array f, l;

	pga_init(&f, pool);
	pga_init(&l, pool);
	for (size_t i = 0; i < set->count; i++) {
		pga_int(&f, set->ranges[i].first);
		pga_int(&l, set->ranges[i].last);
	}
	*firsts_r = pga_done(&f);
	*lasts_r = pga_done(&l);
}

int64_t pgsql_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *pgsql_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* ---- errors */

/* classify - the class of a failed statement: whether the connection is
 * gone, and whether running the transaction again may succeed */
static void classify(const char *state)
{
	static const char *const retry[] = {
		"40001", /* serialization_failure */
		"40P01", /* deadlock_detected */
		"23503", /* a body removed by a concurrent expunge: take it again */
		"55P03", /* lock_not_available */
	};
	static const char *const gone[] = {
		"57P01", "57P02", "57P03", /* shutdown, crash, cannot connect now */
		"25006", /* read-only transaction: we reached a standby (failover) */
		"53300", /* too many connections */
	};

	if (db.conn == NULL || PQstatus(db.conn) != CONNECTION_OK ||
	    strncmp(state, "08", 2) == 0) {
		db.broken = 1;
		db.retryable = 1;
		return;
	}
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		if (strcmp(state, gone[i]) == 0) {
			db.broken = 1;
			db.retryable = 1;
			return;
		}
	}
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		if (strcmp(state, retry[i]) == 0)
			db.retryable = 1;
	}
}

static void trim_log(enum pz_log_level level, const char *what, const char *msg)
{
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	pgsql_log(level, "%s: %.*s", what, (int)n, msg);
}

static int temp_error(struct pz_mail_user *mu, pz_error *err)
{
	if (db.broken)
		return pgsql_error(mu, err, PZ_ERR_TEMP,
				   "Mail storage is temporarily unavailable");
	return pgsql_error(mu, err, PZ_ERR_TEMP,
			   "Internal error occurred; see the server log");
}

/* ---- the notify descriptors */

static int timer_arm(uint64_t ms)
{
	struct itimerspec it = { { 0, 0 }, { (time_t)(ms / 1000),
					     (long)(ms % 1000) * 1000000L } };

	if (db.timer_fd < 0) {
		db.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (db.timer_fd < 0) {
			pgsql_log(PZ_LOG_WARNING, "timerfd_create: %s", strerror(errno));
			return -1;
		}
	}
	return timerfd_settime(db.timer_fd, 0, &it, NULL);
}

/* point_listeners - make every view's descriptor refer to `fd` */
static void point_listeners(int fd)
{
	for (struct pz_mailbox *b = db.listeners; b != NULL; b = b->next_listener) {
		if (b->notify_fd >= 0 && fd >= 0 && dup3(fd, b->notify_fd, O_CLOEXEC) < 0)
			pgsql_log(PZ_LOG_WARNING, "dup3: %s", strerror(errno));
	}
}

static int listen_on(struct pz_mailbox *box)
{
	char sql[64];
	PGresult *r;
	int ok;

	/* LISTEN takes no parameter: the channel is made of a number */
	snprintf(sql, sizeof(sql), "LISTEN pz_mb_%lld", (long long)box->id);
	r = PQexec(db.conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return -1;
	box->listen_gen = db.gen;
	box->pending = 1;
	return 0;
}

static void poke_finish(int block)
{
	PGresult *r;

	if (!db.poke || db.conn == NULL)
		return;
	if (!block && (!PQconsumeInput(db.conn) || PQisBusy(db.conn))) {
		if (PQstatus(db.conn) != CONNECTION_OK)
			db.broken = 1;
		if (!db.broken)
			return;
	}
	while ((r = PQgetResult(db.conn)) != NULL)
		PQclear(r);
	db.poke = 0;
}

void pgsql_notify_poke(void)
{
	int pending = 0;

	for (struct pz_mailbox *b = db.listeners; b != NULL; b = b->next_listener)
		pending |= b->pending;
	if (!pending || db.poke || db.conn == NULL || db.broken || db.in_txn)
		return;
	if (PQsendQuery(db.conn, "SELECT 1"))
		db.poke = 1;
}

static void drain_notifies(void)
{
	PGnotify *n;

	if (db.conn == NULL)
		return;
	while ((n = PQnotifies(db.conn)) != NULL) {
		long long id;

		if (sscanf(n->relname, "pz_mb_%lld", &id) == 1) {
			for (struct pz_mailbox *b = db.listeners; b != NULL; b = b->next_listener) {
				if (b->id == id)
					b->pending = 1;
			}
		}
		PQfreemem(n);
	}
}

/* ---- connecting */

/* listeners_wait - while the server is away, the views' descriptors are
 * the retry timer: an idle session wakes up to try again */
static void listeners_wait(int restart)
{
	struct itimerspec cur;

	if (db.listeners == NULL)
		return;
	if (db.backoff_ms == 0)
		db.backoff_ms = PGSQL_RECONNECT_MIN_MS;
	if (!restart && db.timer_fd >= 0 && timerfd_gettime(db.timer_fd, &cur) == 0 &&
	    (cur.it_value.tv_sec != 0 || cur.it_value.tv_nsec != 0))
		return; /* armed already: a session's own attempts do not delay it */
	if (timer_arm(db.backoff_ms) == 0)
		point_listeners(db.timer_fd);
}

static void db_drop(void)
{
	if (db.conn == NULL)
		return;
	if (db.pid == getpid()) {
		listeners_wait(1);
		PQfinish(db.conn);
	} else {
		/* inherited across fork(): the parent's session, not ours */
		db.inherited = db.conn;
	}
	db.conn = NULL;
	db.poke = 0;
	db.in_txn = 0;
}

static void notice_quiet(void *arg, const char *message)
{
	trim_log(PZ_LOG_DEBUG, "server notice", message);
}

/* db_open_plain - a connection with the configured settings, or NULL */
static PGconn *db_open_plain(char **error_r)
{
	const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
	char timeout[24];
	const char *values[4];
	PGconn *c;

	snprintf(timeout, sizeof(timeout), "%llu", (unsigned long long)
		 (pgsql_set.connect_timeout_ms + 999) / 1000);
	values[0] = timeout;
	values[1] = "poczta";
	/* the admin's string is expanded last, so its settings win */
	values[2] = pgsql_set.conninfo != NULL ? pgsql_set.conninfo : "";
	values[3] = NULL;
	c = PQconnectdbParams(keys, values, 1);
	if (c == NULL) {
		*error_r = strdup("out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		*error_r = strdup(PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_quiet, NULL);
	return c;
}

/* db_open - a connection to a database whose schema this build can use */
static PGconn *db_open(char **error_r)
{
	PGconn *c = db_open_plain(error_r);

	if (c != NULL && pgsql_schema_check(c, error_r) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int db_connect(struct pz_mail_user *mu, pz_error *err)
{
	char *error = NULL;
	PGconn *c = db_open(&error);
	time_t now = time(NULL);

	if (c == NULL) {
		/* one warning a minute is enough while the server is away */
		if (now - db.last_warning >= 60) {
			trim_log(PZ_LOG_WARNING, "cannot use PostgreSQL",
				 error != NULL ? error : "out of memory");
			db.last_warning = now;
		}
		free(error);
		listeners_wait(0);
		return pgsql_error(mu, err, PZ_ERR_TEMP,
				   "Mail storage is temporarily unavailable");
	}
	if (db.last_warning != 0) {
		pgsql_log(PZ_LOG_INFO, "connected to PostgreSQL again");
		db.last_warning = 0;
	}
	db.conn = c;
	db.pid = getpid();
	db.gen++;
	db.broken = 0;
	db.poke = 0;
	db.backoff_ms = 0;
	memset(db.prepared, 0, sizeof(db.prepared));
	/* views listening before the server went away listen again, and sync
	 * once: they may have missed changes meanwhile */
	for (struct pz_mailbox *b = db.listeners; b != NULL; b = b->next_listener) {
		if (listen_on(b) < 0)
			pgsql_log(PZ_LOG_WARNING, "LISTEN: %s", PQerrorMessage(c));
	}
	point_listeners(PQsocket(c));
	return 0;
}

static int db_ensure(struct pz_mail_user *mu, pz_error *err)
{
	if (db.conn != NULL && db.pid != getpid())
		db_drop();
	if (db.conn != NULL && (db.broken || PQstatus(db.conn) != CONNECTION_OK))
		db_drop();
	if (db.conn == NULL)
		return db_connect(mu, err);
	poke_finish(1);
	if (db.broken) {
		db_drop();
		return db_connect(mu, err);
	}
	return 0;
}

void pgsql_db_close(void)
{
	db_drop();
	if (db.timer_fd >= 0)
		close(db.timer_fd);
	db.timer_fd = -1;
}

int pgsql_db_init_check(const char **error_r)
{
	static char msg[512];
	char *error = NULL;
	PGconn *c;
	int applied = 0;

	c = db_open_plain(&error);
	if (c == NULL) {
		trim_log(PZ_LOG_WARNING, "PostgreSQL is not reachable at start-up (sessions "
			 "will retry)", error != NULL ? error : "out of memory");
		free(error);
		return 0;
	}
	if (pgsql_set.auto_migrate) {
		if (pgsql_schema_migrate(c, &applied, &error) < 0)
			goto fail;
		if (applied > 0)
			pgsql_log(PZ_LOG_INFO, "database schema migrated to version %d "
				  "(%d migration%s)", PGSQL_SCHEMA_VERSION, applied,
				  applied == 1 ? "" : "s");
	}
	if (pgsql_schema_check(c, &error) < 0)
		goto fail;
	PQfinish(c);
	return 0;
fail:
	snprintf(msg, sizeof(msg), "%s", error != NULL ? error : "out of memory");
	free(error);
	PQfinish(c);
	*error_r = msg;
	return -1;
}

/* ---- running statements */

static const char *stmt_sql(enum pgsql_stmt id)
{
	if (id == ST_AUTH_USER)
		return pgsql_set.user_query;
	if (id == ST_AUTH_PASSWORD)
		return pgsql_set.password_query;
	return pgsql_stmts[id].sql;
}

static PGresult *result_check(PGresult *r, const char *what, char sqlstate_r[6])
{
	ExecStatusType st = PQresultStatus(r);
	const char *state;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		drain_notifies();
		return r;
	}
	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (state == NULL)
		state = "";
	if (sqlstate_r != NULL)
		snprintf(sqlstate_r, 6, "%s", state);
	classify(state);
	/* unique violations are expected answers (EXISTS); log the rest */
	if (strcmp(state, "23505") != 0)
		trim_log(db.broken ? PZ_LOG_WARNING : PZ_LOG_ERROR, what,
			 PQerrorMessage(db.conn));
	PQclear(r);
	return NULL;
}

static PGresult *exec_once(enum pgsql_stmt id, const struct pgsql_params *p,
			   char sqlstate_r[6])
{
	const struct pgsql_stmt_def *d = &pgsql_stmts[id];
	PGresult *r;

	if (!db.prepared[id]) {
		const char *sql = stmt_sql(id);

		if (sql == NULL || *sql == '\0') {
			pgsql_log(PZ_LOG_ERROR, "statement %s is not configured", d->name);
			return NULL;
		}
		r = result_check(PQprepare(db.conn, d->name, sql, 0, NULL), d->name,
				 sqlstate_r);
		if (r == NULL)
			return NULL;
		PQclear(r);
		db.prepared[id] = 1;
	}
	r = PQexecPrepared(db.conn, d->name, p != NULL ? p->n : 0,
			   p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
			   p != NULL ? p->formats : NULL, d->binary_result);
	return result_check(r, d->name, sqlstate_r);
}

PGresult *pgsql_exec(struct pz_mail_user *mu, enum pgsql_stmt id,
		     const struct pgsql_params *p, char sqlstate_r[6], pz_error *err)
{
	if (sqlstate_r != NULL)
		sqlstate_r[0] = '\0';
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r;

		if (!db.in_txn && db_ensure(mu, err) < 0)
			return NULL;
		if (db.in_txn && db.broken)
			break;
		r = exec_once(id, p, sqlstate_r);
		if (r != NULL)
			return r;
		/* a statement of its own on a connection that was gone (the
		 * server restarted, or failed over): once more on a new one.
		 * Every such statement here may run twice. */
		if (db.in_txn || !db.broken)
			break;
	}
	if (sqlstate_r != NULL && strcmp(sqlstate_r, "23505") == 0)
		return NULL; /* the caller reports it */
	temp_error(mu, err);
	return NULL;
}

int pgsql_exec_cmd(struct pz_mail_user *mu, enum pgsql_stmt id,
		   const struct pgsql_params *p, pz_error *err)
{
	PGresult *r = pgsql_exec(mu, id, p, NULL, err);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

PGresult *pgsql_exec_params(struct pz_mail_user *mu, const char *sql, int n,
			    const char *const *values, pz_error *err)
{
	PGresult *r;

	if (!db.in_txn && db_ensure(mu, err) < 0)
		return NULL;
	r = result_check(PQexecParams(db.conn, sql, n, NULL, values, NULL, NULL, 0),
			 "search", NULL);
	if (r == NULL)
		temp_error(mu, err);
	return r;
}

/* ---- transactions */

static int simple(const char *sql, pz_error *err, struct pz_mail_user *mu)
{
	PGresult *r = result_check(PQexec(db.conn, sql), sql, NULL);

	if (r == NULL)
		return temp_error(mu, err);
	PQclear(r);
	return 0;
}

static void backoff_sleep(int attempt)
{
	struct timespec ts = { 0, (long)(1 + rand() % (5 << attempt)) * 1000000L };

	nanosleep(&ts, NULL);
}

int pgsql_txn(struct pz_mail_user *mu, enum pgsql_txn_mode mode,
	      int (*fn)(void *ctx, pz_error *err), void *ctx, pz_error *err)
{
	static const char *const begin[] = {
		[PGSQL_TXN_WRITE] = "BEGIN",
		[PGSQL_TXN_SNAPSHOT] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	};

	for (int attempt = 0;; attempt++) {
		int ret;

		db.retryable = 0;
		if (db_ensure(mu, err) < 0)
			return -1;
		if (simple(begin[mode], err, mu) < 0) {
			if (db.retryable && attempt + 1 < PGSQL_TXN_ATTEMPTS)
				continue;
			return -1;
		}
		db.in_txn = 1;
		ret = fn(ctx, err);
		if (ret >= 0 && !db.broken) {
			db.in_txn = 0;
			if (simple("COMMIT", err, mu) == 0) {
				/* our own NOTIFY may have come back to a view of ours */
				pgsql_notify_poke();
				return ret;
			}
			if (db.broken) {
				pgsql_log(PZ_LOG_WARNING, "connection lost during COMMIT: "
					  "the transaction may or may not have been saved");
				return pgsql_error(mu, err, PZ_ERR_TEMP,
						   "Mail storage is temporarily unavailable");
			}
		} else {
			db.in_txn = 0;
			if (!db.broken) {
				PGresult *r = PQexec(db.conn, "ROLLBACK");
				PQclear(r);
			}
			if (ret >= 0)
				temp_error(mu, err);
		}
		if (!db.retryable || attempt + 1 >= PGSQL_TXN_ATTEMPTS)
			return -1;
		pgsql_log(PZ_LOG_DEBUG, "transaction failed (%s); running it again",
			  err->msg != NULL ? err->msg : "retryable error");
		backoff_sleep(attempt);
	}
}

/* ---- listeners */

int pgsql_listen(struct pz_mailbox *box)
{
	pz_error err = { PZ_ERR_NONE, NULL };

	if (box->notify_fd >= 0)
		return box->notify_fd;
	box->next_listener = db.listeners;
	db.listeners = box;
	if (db_ensure(box->mu, &err) == 0 && listen_on(box) < 0) {
		pgsql_log(PZ_LOG_WARNING, "LISTEN: %s", PQerrorMessage(db.conn));
		db.broken = 1; /* the timer below makes us try again */
	}
	if (db.conn != NULL && !db.broken && box->listen_gen == db.gen) {
		box->notify_fd = fcntl(PQsocket(db.conn), F_DUPFD_CLOEXEC, 0);
		/* one sync now: a change committed between the view's last sync
		 * and the LISTEN sent no notification we could see */
		pgsql_notify_poke();
	} else {
		listeners_wait(0);
		if (db.timer_fd >= 0)
			box->notify_fd = fcntl(db.timer_fd, F_DUPFD_CLOEXEC, 0);
	}
	if (box->notify_fd < 0)
		pgsql_unlisten(box);
	return box->notify_fd;
}

void pgsql_unlisten(struct pz_mailbox *box)
{
	struct pz_mailbox **p;
	int others = 0;

	for (p = &db.listeners; *p != NULL; p = &(*p)->next_listener) {
		if (*p == box) {
			*p = box->next_listener;
			break;
		}
	}
	for (struct pz_mailbox *b = db.listeners; b != NULL; b = b->next_listener)
		others |= b->id == box->id;
	if (!others && box->listen_gen == db.gen && db.conn != NULL && !db.broken &&
	    db.pid == getpid() && !db.in_txn) {
		char sql[64];
		PGresult *r;

		poke_finish(1);
		snprintf(sql, sizeof(sql), "UNLISTEN pz_mb_%lld", (long long)box->id);
		r = PQexec(db.conn, sql);
		PQclear(r);
	}
	if (box->notify_fd >= 0)
		close(box->notify_fd);
	box->notify_fd = -1;
	box->next_listener = NULL;
}

void pgsql_notify_ack(struct pz_mailbox *box)
{
	uint64_t ticks;

	if (db.conn == NULL || db.broken) {
		pz_error err = { PZ_ERR_NONE, NULL };

		/* the timer fired: try the server again, then wait longer */
		while (db.timer_fd >= 0 && read(db.timer_fd, &ticks, sizeof(ticks)) > 0)
			;
		if (db_ensure(box->mu, &err) == 0) {
			pgsql_notify_poke();
			return;
		}
		db.backoff_ms = db.backoff_ms * 2 > PGSQL_RECONNECT_MAX_MS ?
			PGSQL_RECONNECT_MAX_MS : db.backoff_ms * 2;
		listeners_wait(1);
		return;
	}
	if (!PQconsumeInput(db.conn)) {
		db.broken = 1;
		db_drop();
		return;
	}
	drain_notifies();
	poke_finish(0);
	box->pending = 0;
}
