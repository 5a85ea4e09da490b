/* test-postgres-concurrency.c - the postgres storage with more than one
 * process (each process is a node: its own connection), and with the
 * server going away: concurrent appends never repeat a UID, a delivery
 * made by one process wakes another's IDLE within a second, saving and
 * expunging one body at once loses nothing, a server restart is survived
 * (TEMP errors while it is down, then the same views carry on), and a
 * schema newer than this build is refused. */
#include "test-postgres-util.c"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* child_saves - in a forked process: `n` saves of `fixed` (or of numbered
 * messages when NULL) into `mailbox`, then _exit(0), or _exit(1) at the
 * first failure */
static void __attribute__((noreturn)) child_saves(struct pg_user *u, const char *mailbox,
						  int n, int tag, const char *fixed)
{
	pz_mailbox *box = NULL;
	pz_error err = { 0 };

	if (S->mailbox_open(u->mu, mailbox, PZ_OPEN_SAVEONLY, &box, &err) < 0)
		_exit(1);
	for (int i = 0; i < n; i++) {
		char msg[128];
		uint32_t uid;
		struct pz_save_args a = { .size = sizeof(a) };
		pz_save *save;

		if (fixed != NULL)
			snprintf(msg, sizeof(msg), "%s", fixed);
		else
			snprintf(msg, sizeof(msg), "Subject: child %d message %d\r\n\r\nbody\r\n",
				 tag, i);
		if (S->save_begin(box, &a, &save, &err) < 0 ||
		    S->save_write(save, msg, strlen(msg), &err) < 0 ||
		    S->save_commit(&save, &uid, &err) < 0) {
			fprintf(stderr, "child %d: %s\n", tag, err.msg);
			_exit(1);
		}
	}
	S->mailbox_close(&box);
	pz_core_process_deinit();
	_exit(0);
}

static int wait_children(pid_t *pids, int n)
{
	int failed = 0;

	for (int i = 0; i < n; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	return failed;
}

/* Four processes append to one mailbox at once. */
static void test_concurrent_appends(void **state)
{
	enum { PROCS = 4, EACH = 30 };
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	pid_t pids[PROCS];

	pg_user_open(&u, "concurrent", NULL);
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child_saves(&u, "INBOX", EACH, i, NULL);
	}
	assert_int_equal(wait_children(pids, PROCS), 0);
	box = pg_open(&u, "INBOX", 0);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, PROCS * EACH);
	for (size_t i = 0; i < ev->n_appended; i++) {
		if (ev->appended[i].uid != i + 1)
			print_error("message %zu has UID %u\n", i, ev->appended[i].uid);
		assert_int_equal(ev->appended[i].uid, i + 1);
		if (i > 0)
			assert_true(ev->appended[i].modseq > ev->appended[i - 1].modseq);
	}
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

/* A view waiting on its notify descriptor (IMAP IDLE) on "node A" sees a
 * delivery made by another process ("node B") within a second. */
static void test_push_across_processes(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	struct pollfd pfd;
	pz_mailbox *box;
	double t0, woke;
	pid_t pid;

	pg_user_open(&u, "push", NULL);
	box = pg_open(&u, "INBOX", 0);
	pg_sync(box, ev);
	pfd.fd = S->mailbox_notify_fd(box);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	while (poll(&pfd, 1, 300) == 1) {   /* the first wake-up after LISTEN */
		S->mailbox_notify_ack(box);
		pg_sync(box, ev);
	}
	t0 = now_s();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec pause = { 0, 200 * 1000 * 1000 };
		nanosleep(&pause, NULL);
		child_saves(&u, "INBOX", 1, 0, NULL);
	}
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	woke = now_s() - t0;
	S->mailbox_notify_ack(box);
	pg_sync(box, ev);
	assert_int_equal(wait_children(&pid, 1), 0);
	assert_int_equal(ev->n_appended, 1);
	/* 0.2 s of the child's own sleep, then well under a second */
	if (woke > 1.2)
		print_error("woke after %.3f s\n", woke);
	assert_true(woke < 1.2);
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

/* One process saves a message and expunges it, over and over, while
 * another saves the same bytes to another user: the body must survive
 * for the second user every time (FOR KEY SHARE against FOR UPDATE). */
static void test_body_gc_race(void **state)
{
	enum { ROUNDS = 40 };
	static const char msg[] = "Subject: same body\r\n\r\nidentical\r\n";
	struct pg_user a, b;
	pid_t pids[2];

	pg_user_open(&a, "gcrace", NULL);
	pg_user_open(&b, "gcrace", NULL);
	pids[0] = fork();
	assert_true(pids[0] >= 0);
	if (pids[0] == 0) {
		pz_mailbox *box = NULL;
		pz_uidset all = pg_set(1, UINT32_MAX);
		pz_error err;
		struct pg_events *ev = calloc(1, sizeof(*ev));

		if (S->mailbox_open(a.mu, "INBOX", 0, &box, &err) < 0)
			_exit(1);
		for (int i = 0; i < ROUNDS; i++) {
			uint32_t uid;
			struct pz_save_args sa = { .size = sizeof(sa) };
			pz_save *save;
			static const struct pz_sync_handler h = { .size = sizeof(h) };

			if (S->save_begin(box, &sa, &save, &err) < 0 ||
			    S->save_write(save, msg, strlen(msg), &err) < 0 ||
			    S->save_commit(&save, &uid, &err) < 0 ||
			    S->mailbox_sync(box, &h, ev, &err) < 0 ||
			    S->expunge(box, &all, NULL, &err) < 0) {
				fprintf(stderr, "expunger: %s\n", err.msg);
				_exit(1);
			}
		}
		free(ev);
		S->mailbox_close(&box);
		pz_core_process_deinit();
		_exit(0);
	}
	pids[1] = fork();
	assert_true(pids[1] >= 0);
	if (pids[1] == 0)
		child_saves(&b, "INBOX", ROUNDS, 1, msg);
	assert_int_equal(wait_children(pids, 2), 0);
	{
		struct pg_events *ev = calloc(1, sizeof(*ev));
		pz_mailbox *box = pg_open(&b, "INBOX", 0);

		pg_sync(box, ev);
		assert_int_equal(ev->n_appended, ROUNDS);
		for (size_t i = 0; i < ev->n_appended; i++) {
			char *body = pg_read(box, ev->appended[i].uid, NULL);
			assert_non_null(strstr(body, "identical"));
			free(body);
		}
		S->mailbox_close(&box);
		free(ev);
	}
	/* every body left is referenced */
	assert_string_equal(pg_sql("SELECT count(*) FROM pz_body b WHERE NOT EXISTS "
				   "(SELECT 1 FROM pz_message m WHERE m.body_id = b.id)"), "0");
	pg_user_close(&a);
	pg_user_close(&b);
}

/* The server stops and comes back: calls fail with PZ_ERR_TEMP meanwhile,
 * the process connects again by itself, views carry on, and the notify
 * descriptor keeps its number and wakes the idle session. */
static void test_server_restart(void **state)
{
	struct pg_user u;
	struct pg_events *ev = calloc(1, sizeof(*ev));
	struct pz_mailbox_status st = { .size = sizeof(st) };
	struct pollfd pfd;
	pz_mailbox *box;
	pz_error err = { 0 };
	double deadline;
	int fd, synced = 0;

	pg_user_open(&u, "restart", NULL);
	box = pg_open(&u, "INBOX", 0);
	pg_save(box, "Subject: before\r\n\r\nx\r\n", 0, NULL);
	pg_sync(box, ev);
	fd = S->mailbox_notify_fd(box);
	assert_true(fd >= 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 300) == 1) {
		S->mailbox_notify_ack(box);
		pg_sync(box, ev);
	}

	pg_cluster("stop");
	assert_int_equal(pg_save_err(box, "Subject: while down\r\n\r\nx\r\n", &err), -1);
	assert_int_equal(err.cls, PZ_ERR_TEMP);
	assert_int_equal(S->mailbox_status(u.mu, "INBOX", PZ_STATUS_ALL, &st, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_TEMP);
	assert_int_equal(S->mailbox_sync(box, NULL, NULL, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_TEMP);
	/* an idle session is woken to try again (a timer while down) */
	assert_int_equal(S->mailbox_notify_fd(box), fd);
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	S->mailbox_notify_ack(box);

	pg_cluster("start-again");
	/* the idle session: woken, syncs, and sees what changed meanwhile */
	pg_sql("SELECT pz_test_deliver('%s', convert_to('Subject: while away', 'UTF8'))", u.name);
	deadline = now_s() + 40;
	while (!synced && now_s() < deadline) {
		static const struct pz_sync_handler h0 = { .size = sizeof(h0) };

		if (poll(&pfd, 1, 1000) != 1)
			continue;
		S->mailbox_notify_ack(box);
		ev->n_appended = 0;
		if (S->mailbox_sync(box, &h0, NULL, &err) == 0)
			synced = 1;
	}
	assert_true(synced);
	assert_int_equal(S->mailbox_notify_fd(box), fd);
	/* saving works again on the new connection; the view goes on */
	pg_save(box, "Subject: after\r\n\r\nx\r\n", 0, NULL);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	S->mailbox_notify_ack(box);
	pg_sync(box, ev);
	assert_int_equal(ev->n_appended, 1);
	assert_int_equal(ev->appended[0].uid, 3);
	/* and a restart between two calls is not even seen by the caller */
	pg_cluster("restart");
	assert_int_equal(S->mailbox_status(u.mu, "INBOX", PZ_STATUS_ALL, &st, &err), 0);
	assert_int_equal(st.messages, 3);
	pg_cluster("restart");
	pg_save(box, "Subject: after a restart\r\n\r\nx\r\n", 0, NULL);
	S->mailbox_close(&box);
	pg_user_close(&u);
	free(ev);
}

/* A schema newer than this build understands is refused at start-up
 * (with a message saying what to do) and by every new connection. */
static void test_schema_newer(void **state)
{
	struct pz_mailbox_status st = { .size = sizeof(st) };
	struct pg_user u;
	pz_error err = { 0 };
	char *error = NULL;

	pg_user_open(&u, "schema", NULL);
	pg_sql("INSERT INTO pz_schema_version (version, min_compatible, description) "
	       "VALUES (99, 99, 'from the future')");
	pg_cluster("restart"); /* the process's connection is new after this */
	assert_int_equal(S->mailbox_status(u.mu, "INBOX", PZ_STATUS_ALL, &st, &err), -1);
	assert_int_equal(err.cls, PZ_ERR_TEMP);
	pg_user_close(&u);
	pz_core_process_deinit();
	pz_core_unload();
	assert_int_equal(pz_core_load(pg_conf, &error), -1);
	if (strstr(error, "newer than this poczta understands") == NULL)
		print_error("got: %s\n", error);
	assert_non_null(strstr(error, "schema is version 99, newer than this poczta "
				      "understands"));
	free(error);
	/* a newer schema that old nodes may still use is fine */
	pg_sql("UPDATE pz_schema_version SET min_compatible = 1 WHERE version = 99");
	assert_int_equal(pz_core_load(pg_conf, &error), 0);
	assert_int_equal(pz_core_process_init(&error), 0);
	H = pz_host_table();
	S = pz_storage_by_name("postgres");
	pg_user_open(&u, "schema", NULL);
	assert_int_equal(S->mailbox_status(u.mu, "INBOX", PZ_STATUS_ALL, &st, &err), 0);
	pg_user_close(&u);
	pg_sql("DELETE FROM pz_schema_version WHERE version = 99");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_appends),
		cmocka_unit_test(test_push_across_processes),
		cmocka_unit_test(test_body_gc_race),
		cmocka_unit_test(test_server_restart),
		cmocka_unit_test(test_schema_newer),
	};
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (pg_setup(NULL) < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	pg_teardown();
	return ret;
}
