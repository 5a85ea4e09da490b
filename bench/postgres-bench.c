/* postgres-bench.c - the maildir benchmark's figures for the postgres
 * storage (a benchmark, not a test: it never fails on a slow number).
 * bench/postgres-bench.sh starts a PostgreSQL, runs this and prints the
 * table; bench/README.md says what each figure of the maildir benchmark
 * measures, and these are the same storage calls.
 *
 *   postgres-bench populate CONNINFO USER N
 *       N messages in the user's INBOX, made in SQL as a delivery agent
 *       would have left them: about 1.5 KB each, distinct bodies, a third
 *       \Seen, some \Flagged, one delivery every minute or so
 *   postgres-bench run CONFIG USER SAVES
 *       time the storage ops on the user's INBOX and print one
 *       "postgres KEY SECONDS" line per figure ("postgres saves RATE")
 *   postgres-bench status CONFIG USER
 *       one mailbox_status of INBOX, for timing a whole process
 *
 * Cold figures: the environment's PG_COLD_COMMAND (bench/postgres-bench.sh
 * restarts the server with it) runs first, then the page cache is dropped
 * (as root) and the process's connection is made again, so the data is
 * read from disk but the time to connect is not counted.  The "resync"
 * figure is the sync of an open view after another node flagged one
 * message (an UPDATE and a NOTIFY on a connection of its own), which is
 * what a rename by another tool is for maildir.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core.h"

#define WARM_ROUNDS 5
#define OUT_BUF_SIZE 65536
#define SAVE_MSG_SIZE 4096

static const struct pz_host *H;
static const struct pz_storage_ops *S;
static pz_mail_user *mu;
static pz_pool *user_pool;
static const char *user_name;
static char conninfo[1024];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "postgres-bench: %s: %s\n", what, why != NULL ? why : "failed");
	exit(1);
}

static PGconn *connect_db(const char *info)
{
	PGconn *c = PQconnectdb(info);

	if (PQstatus(c) != CONNECTION_OK)
		die("connect", PQerrorMessage(c));
	return c;
}

static void exec_ok(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql, PQerrorMessage(c));
	PQclear(r);
}

/* ---- populate: one statement, the shapes of maildir-bench populate */

static int populate(const char *info, const char *user, long n)
{
	PGconn *c = connect_db(info);
	char count[32];
	const char *params[2] = { user, count };

	snprintf(count, sizeof(count), "%ld", n);
	exec_ok(c, "INSERT INTO pz_account (name) VALUES ($1) ON CONFLICT DO NOTHING", 1,
		params);
	exec_ok(c, "INSERT INTO pz_mailbox (account_id, name) SELECT id, 'INBOX' "
		"FROM pz_account WHERE name = $1 ON CONFLICT DO NOTHING", 1, params);
	exec_ok(c, "BEGIN", 0, NULL);
	exec_ok(c, "CREATE TEMP TABLE src ON COMMIT DROP AS SELECT i, convert_to("
		"'From: sender' || i % 97 || '@example.org' || E'\\r\\n' || "
		"'To: user@example.org' || E'\\r\\n' || 'Subject: message ' || i || E'\\r\\n' || "
		"'Message-ID: <' || i || '@bench>' || E'\\r\\n\\r\\n' || "
		"(SELECT string_agg('line ' || l || ' of the body of a benchmark message', "
		"E'\\r\\n') FROM generate_series(5, 35) l) || E'\\r\\n', 'UTF8') AS data "
		"FROM generate_series(0, $1::bigint - 1) i", 1, params + 1);
	exec_ok(c, "INSERT INTO pz_body (sha256, size, data) "
		"SELECT sha256(data), length(data), data FROM src ORDER BY i", 0, NULL);
	exec_ok(c, "INSERT INTO pz_message (mailbox_id, uid, body_id, flags, modseq, size, "
		"internal_date) SELECT b.id, s.i + 1, o.id, CASE WHEN s.i % 3 = 0 THEN 1 "
		"WHEN s.i % 17 = 0 THEN 5 ELSE 0 END, s.i + 2, length(s.data), "
		"1700000000 + s.i * 60 FROM src s JOIN pz_body o ON o.sha256 = sha256(s.data) "
		"CROSS JOIN (SELECT m.id FROM pz_mailbox m JOIN pz_account a ON a.id = m.account_id "
		"WHERE a.name = $1 AND m.name = 'INBOX') b", 1, params);
	exec_ok(c, "UPDATE pz_mailbox m SET uidnext = $2::bigint + 1, "
		"highestmodseq = $2::bigint + 2, first_recent_uid = $2::bigint + 1 "
		"FROM pz_account a WHERE a.id = m.account_id AND a.name = $1 "
		"AND m.name = 'INBOX'", 2, params);
	exec_ok(c, "UPDATE pz_account SET messages_used = $2::bigint, bytes_used = "
		"(SELECT sum(length(data)) FROM src) WHERE name = $1", 2, params);
	exec_ok(c, "COMMIT", 0, NULL);
	exec_ok(c, "VACUUM ANALYZE pz_body, pz_message, pz_mailbox, pz_account", 0, NULL);
	PQfinish(c);
	return 0;
}

/* ---- helpers of `run` */

static int drop_caches(void)
{
	int fd, ok;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return 0;
	ok = write(fd, "3\n", 2) == 2;
	close(fd);
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void figure(const char *key, double value)
{
	printf("postgres %s %.4f\n", key, value);
	fflush(stdout);
}

static void check(int ret, const char *what, const pz_error *err)
{
	if (ret < 0)
		die(what, err->msg);
}

/* go_cold - the server restarted (empty shared buffers), the page cache
 * dropped, and this process connected again before the clock starts */
static void go_cold(void)
{
	struct pz_quota q = { .size = sizeof(q) };
	const char *cmd = getenv("PG_COLD_COMMAND");
	pz_error err = { 0 };

	if (cmd != NULL && system(cmd) != 0)
		die("PG_COLD_COMMAND", cmd);
	drop_caches();
	/* the first call after a restart connects again; not timed */
	for (int i = 0; i < 3 && S->quota_get(mu, &q, &err) < 0; i++)
		;
}

static double status_once(void)
{
	struct pz_mailbox_status st = { .size = sizeof(st) };
	pz_error err = { 0 };
	double t = now();

	check(S->mailbox_status(mu, "INBOX", PZ_STATUS_MESSAGES | PZ_STATUS_RECENT |
				PZ_STATUS_UIDNEXT | PZ_STATUS_UIDVALIDITY |
				PZ_STATUS_UNSEEN, &st, &err), "mailbox_status", &err);
	t = now() - t;
	if (st.messages == 0)
		die("mailbox_status", "no messages: populate first");
	return t;
}

struct out {
	int fd;
	size_t len;
	char buf[OUT_BUF_SIZE];
};

static void out_flush(struct out *o)
{
	if (o->len > 0 && write(o->fd, o->buf, o->len) < 0)
		die("write", NULL);
	o->len = 0;
}

/* out_fetch_flags - "* SEQ FETCH (UID n FLAGS (...))", as in maildir-bench */
static void out_fetch_flags(struct out *o, size_t seq, const struct pz_msg_info *info)
{
	static const struct { unsigned int flag; const char *name; } names[] = {
		{ PZ_FLAG_ANSWERED, "\\Answered" }, { PZ_FLAG_FLAGGED, "\\Flagged" },
		{ PZ_FLAG_DELETED, "\\Deleted" }, { PZ_FLAG_SEEN, "\\Seen" },
		{ PZ_FLAG_DRAFT, "\\Draft" }, { PZ_FLAG_RECENT, "\\Recent" },
	};
	const char *sep = "";

	if (OUT_BUF_SIZE - o->len < 1024)
		out_flush(o);
	o->len += (size_t)snprintf(o->buf + o->len, OUT_BUF_SIZE - o->len,
				   "* %zu FETCH (UID %u FLAGS (", seq, info->uid);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((info->flags & names[i].flag) == 0)
			continue;
		o->len += (size_t)snprintf(o->buf + o->len, OUT_BUF_SIZE - o->len,
					   "%s%s", sep, names[i].name);
		sep = " ";
	}
	for (size_t i = 0; i < info->keyword_count && OUT_BUF_SIZE - o->len > 300; i++) {
		o->len += (size_t)snprintf(o->buf + o->len, OUT_BUF_SIZE - o->len,
					   "%s%s", sep, info->keywords[i]);
		sep = " ";
	}
	o->len += (size_t)snprintf(o->buf + o->len, OUT_BUF_SIZE - o->len, "))\r\n");
}

static void on_appended(void *ctx, const struct pz_msg_info *info)
{
	H->uid_array_add(ctx, info->uid);
}

static double select_once(pz_mailbox **box_r, pz_uid_array *uids)
{
	struct pz_sync_handler h = { .size = sizeof(h), .appended = on_appended };
	pz_error err = { 0 };
	double t = now();

	uids->count = 0;
	check(S->mailbox_open(mu, "INBOX", PZ_OPEN_NO_RECENT | PZ_OPEN_DATES_LATER, box_r, &err),
	      "open", &err);
	check(S->mailbox_sync(*box_r, &h, uids, &err), "sync", &err);
	return now() - t;
}

static double fetch_once(pz_mailbox *box, const pz_uid_array *uids, struct out *o)
{
	pz_pool *cmd = H->pool_create("bench fetch");
	pz_error err = { 0 };
	double t = now();

	for (size_t i = 0; i < uids->count; i++) {
		struct pz_msg_info info = { .size = sizeof(info) };

		if (S->msg_info(box, uids->uids[i], cmd, &info, &err) != 0)
			die("msg_info", err.msg);
		out_fetch_flags(o, i + 1, &info);
		if ((i & 4095) == 4095)
			H->pool_clear(cmd);
	}
	out_flush(o);
	t = now() - t;
	H->pool_destroy(&cmd);
	return t;
}

/* resync - another node flags one message (its own connection, the
 * module's statements' effect: new flags, new modseq, NOTIFY); then the
 * open view syncs as a NOOP would */
static double resync(pz_mailbox *box)
{
	struct pz_sync_handler h = { .size = sizeof(h) };
	const char *params[1] = { user_name };
	PGconn *other = connect_db(conninfo);
	pz_error err = { 0 };
	double t;

	exec_ok(other, "WITH b AS (UPDATE pz_mailbox m SET highestmodseq = highestmodseq + 1 "
		"FROM pz_account a WHERE a.id = m.account_id AND a.name = $1 "
		"AND m.name = 'INBOX' RETURNING m.id, m.highestmodseq), "
		"x AS (UPDATE pz_message SET flags = flags | 4, modseq = b.highestmodseq "
		"FROM b WHERE mailbox_id = b.id AND uid = (SELECT min(uid) FROM pz_message "
		"WHERE mailbox_id = b.id AND flags & 4 = 0) RETURNING 1) "
		"SELECT pg_notify('pz_mb_' || id, '') FROM b", 1, params);
	PQfinish(other);
	t = now();
	check(S->mailbox_sync(box, &h, NULL, &err), "sync", &err);
	return now() - t;
}

static double saves_per_sec(long saves)
{
	struct pz_save_args a = { .size = sizeof(a) };
	pz_error err = { 0 }, e2 = { 0 };
	char msg[SAVE_MSG_SIZE];
	pz_mailbox *box;
	size_t len;
	double t;

	S->mailbox_create(mu, "Saves", 0, &e2);
	check(S->mailbox_open(mu, "Saves", PZ_OPEN_SAVEONLY, &box, &err), "open Saves", &err);
	len = (size_t)snprintf(msg, sizeof(msg), "From: a@example.org\r\nSubject: save\r\n\r\n");
	while (len + 64 < sizeof(msg))
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s\r\n",
					"a line of a saved message, 4 KiB in all");
	t = now();
	for (long i = 0; i < saves; i++) {
		pz_save *save;
		uint32_t uid;
		char stamp[32];

		/* each message distinct, as real mail is (no shared body) */
		snprintf(stamp, sizeof(stamp), "%08ld\r\n", i);
		check(S->save_begin(box, &a, &save, &err), "save_begin", &err);
		if (S->save_write(save, stamp, strlen(stamp), &err) < 0 ||
		    S->save_write(save, msg, len, &err) < 0)
			die("save_write", err.msg);
		check(S->save_commit(&save, &uid, &err), "save_commit", &err);
	}
	t = now() - t;
	S->mailbox_close(&box);
	return (double)saves / t;
}

/* ---- the commands */

static void setup(const char *conf, const char *name)
{
	pz_error err = { 0 };
	char *error = NULL;
	pz_user *user;
	const char *info;

	if (pz_core_load(conf, &error) < 0 || pz_core_process_init(&error) < 0)
		die("config", error);
	H = pz_host_table();
	S = pz_storage_by_name("postgres");
	if (S == NULL)
		die(conf, "no postgres storage loaded");
	info = getenv("PG_CONNINFO");
	snprintf(conninfo, sizeof(conninfo), "%s", info != NULL ? info : "");
	user_name = name;
	user_pool = H->pool_create("bench");
	user = pz_user_new(user_pool, name);
	check(S->user_open(NULL, user, user_pool, &mu, &err), "user_open", &err);
}

static void teardown(void)
{
	S->user_close(&mu);
	H->pool_destroy(&user_pool);
	pz_core_process_deinit();
	pz_core_unload();
}

static void run_select(struct out *o)
{
	double sel[WARM_ROUNDS], fetch[WARM_ROUNDS];
	pz_uid_array uids;
	pz_mailbox *box;

	H->uid_array_init(&uids, user_pool);
	go_cold();
	figure("select_cold", select_once(&box, &uids));
	figure("fetch_cold", fetch_once(box, &uids, o));
	S->mailbox_close(&box);
	for (int i = 0; i < WARM_ROUNDS; i++) {
		sel[i] = select_once(&box, &uids);
		fetch[i] = fetch_once(box, &uids, o);
		if (i + 1 < WARM_ROUNDS)
			S->mailbox_close(&box);
	}
	figure("select_warm", median(sel, WARM_ROUNDS));
	figure("fetch_warm", median(fetch, WARM_ROUNDS));
	figure("resync", resync(box));
	S->mailbox_close(&box);
}

static int run(const char *conf, const char *name, long saves)
{
	static struct out o;
	double warm[WARM_ROUNDS];

	o.fd = open("/dev/null", O_WRONLY);
	setup(conf, name);
	go_cold();
	printf("postgres caches_dropped %d\n", drop_caches());
	figure("status_cold", status_once());
	for (int i = 0; i < WARM_ROUNDS; i++)
		warm[i] = status_once();
	figure("status_warm", median(warm, WARM_ROUNDS));
	run_select(&o);
	if (saves > 0)
		printf("postgres saves %.0f\n", saves_per_sec(saves));
	teardown();
	close(o.fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], argv[3], strtol(argv[4], NULL, 10));
	if (argc == 5 && strcmp(argv[1], "run") == 0)
		return run(argv[2], argv[3], strtol(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "status") == 0) {
		setup(argv[2], argv[3]);
		status_once();
		teardown();
		return 0;
	}
	fprintf(stderr, "usage: postgres-bench populate CONNINFO USER N\n"
		"       postgres-bench run CONFIG USER SAVES\n"
		"       postgres-bench status CONFIG USER\n");
	return 2;
}
