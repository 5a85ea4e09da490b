/* test-maildir-concurrency.c - many processes on one maildir:
 *   - two processes append and expunge on one mailbox at once: no UID is
 *     lost, repeated or reused, and every message has the content saved;
 *   - a process is killed (SIGKILL) at random points of its saves, many
 *     times: afterwards the mailbox holds only whole messages, each once,
 *     every save that returned a UID is there under that UID, and UIDs
 *     given before never change;
 *   - another delivery agent drops files into new/ while a session saves
 *     and syncs (moving its own files out of new/): each file gets one
 *     UID, which stays its own. */
#include "test-maildir-util.c"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define APPENDS_PER_CHILD 150
#define KILL_ROUNDS 40
#define BIG_BODY (96 * 1024)
#define EXTERNAL_FILES 400

/* A failed assert in a forked child longjmps into cmocka's runner in the
 * child: it must end there, not run further tests or the teardown. */
static pid_t parent_pid;

static void only_in_parent(void)
{
	if (getpid() != parent_pid)
		_exit(1);
}

/* ---- two writers */

static void writer(const char *user, int id, const char *log)
{
	struct md_user u;
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box;
	FILE *f = fopen(log, "w");
	uint32_t mine[APPENDS_PER_CHILD];
	size_t n = 0, next_expunge = 0;
	char msg[256];

	md_user_open(&u, user, NULL);
	box = md_open(&u, "INBOX", 0);
	for (int i = 0; i < APPENDS_PER_CHILD; i++) {
		snprintf(msg, sizeof(msg), "Subject: w%d-%d\r\n\r\nwriter %d message %d\r\n",
			 id, i, id, i);
		mine[n] = md_save(box, msg, i % 2 ? PZ_FLAG_SEEN : 0, NULL);
		fprintf(f, "A %u w%d-%d\n", mine[n], id, i);
		n++;
		if (i % 3 == 2) {
			pz_uidset one = md_set(mine[next_expunge], mine[next_expunge]);
			pz_uid_array gone;
			pz_error err;

			md_sync(box, ev);
			H->uid_array_init(&gone, u.pool);
			if (S->expunge(box, &one, &gone, &err) < 0)
				_exit(3);
			if (gone.count == 1)
				fprintf(f, "X %u\n", mine[next_expunge]);
			next_expunge++;
		}
	}
	fclose(f);
	S->mailbox_close(&box);
	md_user_close(&u);
	_exit(0);
}

struct logged {
	uint32_t uid;
	char tag[32];
	int expunged;
};

static size_t read_log(const char *path, struct logged *out, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[128];
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		uint32_t uid;
		char tag[32];

		if (sscanf(line, "A %u %31s", &uid, tag) == 2 && n < max) {
			out[n].uid = uid;
			snprintf(out[n].tag, sizeof(out[n].tag), "%s", tag);
			out[n++].expunged = 0;
		} else if (sscanf(line, "X %u", &uid) == 1) {
			for (size_t i = 0; i < n; i++) {
				if (out[i].uid == uid)
					out[i].expunged = 1;
			}
		}
	}
	fclose(f);
	return n;
}

static void test_two_writers(void **state)
{
	struct logged *all = calloc(2 * APPENDS_PER_CHILD, sizeof(*all));
	struct md_events *ev = calloc(1, sizeof(*ev));
	char logs[2][512];
	size_t n = 0, live = 0;
	struct md_user u;
	pz_mailbox *box;
	pid_t pids[2];

	only_in_parent();
	md_user_open(&u, "writers", NULL);
	md_user_close(&u);
	for (int i = 0; i < 2; i++) {
		snprintf(logs[i], sizeof(logs[i]), "%s/writer%d.log", md_root, i);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			writer("writers", i, logs[i]);
	}
	for (int i = 0; i < 2; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			print_error("writer %d: status %d\n", i, status);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 0; i < 2; i++)
		n += read_log(logs[i], all + n, 2 * APPENDS_PER_CHILD - n);
	assert_int_equal(n, 2 * APPENDS_PER_CHILD);
	/* no UID given twice */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			if (all[i].uid == all[j].uid)
				print_error("UID %u given to %s and %s\n", all[i].uid,
					    all[i].tag, all[j].tag);
			assert_true(all[i].uid != all[j].uid);
		}
		live += !all[i].expunged;
	}
	/* what is left is exactly what was saved and not expunged */
	md_user_open(&u, "writers", NULL);
	box = md_open(&u, "INBOX", 0);
	md_sync(box, ev);
	assert_int_equal(ev->n_appended, live);
	for (size_t i = 0; i < ev->n_appended; i++) {
		uint32_t uid = ev->appended[i].uid;
		size_t j;
		char *body, want[64];

		for (j = 0; j < n && all[j].uid != uid; j++)
			;
		if (j == n || all[j].expunged)
			print_error("UID %u in the mailbox was %s\n", uid,
				    j == n ? "never saved" : "expunged");
		assert_true(j < n && !all[j].expunged);
		body = md_read(box, uid, NULL);
		snprintf(want, sizeof(want), "Subject: %s\r\n", all[j].tag);
		assert_memory_equal(body, want, strlen(want));
		free(body);
	}
	assert_int_equal(md_count_files(u.dir, "cur", NULL, 0) +
			 md_count_files(u.dir, "new", NULL, 0), live);
	{
		struct pz_mailbox_status st = { .size = sizeof(st) };
		uint32_t max = 0;
		for (size_t i = 0; i < n; i++)
			max = all[i].uid > max ? all[i].uid : max;
		assert_int_equal(S->mailbox_view_status(box, &st), 0);
		assert_int_equal(st.uidnext, max + 1);
		assert_int_equal(max, n);
	}
	S->mailbox_close(&box);
	md_user_close(&u);
	free(all);
	free(ev);
}

/* ---- kill -9 in the middle of saves */

static char big[BIG_BODY + 128];

static void killed_saver(const char *user, int round, const char *log)
{
	struct md_user u;
	pz_mailbox *box;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

	md_user_open(&u, user, NULL);
	box = md_open(&u, "INBOX", PZ_OPEN_SAVEONLY);
	for (int i = 0;; i++) {
		char line[64];
		int n, len;
		uint32_t uid;

		/* head and tail carry the same tag: a cut message shows */
		len = snprintf(big, 64, "Subject: r%d-%d\n\n", round, i);
		memset(big + len, 'x', BIG_BODY);
		snprintf(big + len + BIG_BODY, 64, "\nEND r%d-%d\n", round, i);
		uid = md_save(box, big, i % 2 ? PZ_FLAG_FLAGGED : 0, NULL);
		n = snprintf(line, sizeof(line), "%u r%d-%d\n", uid, round, i);
		if (write(fd, line, (size_t)n) != n)
			_exit(2);
	}
}

struct known {
	uint32_t uid;
	char tag[32];
};

/* check_whole - every message is complete and tagged once; returns the
 * messages (uid order) */
static size_t check_mailbox(struct md_user *u, struct known *out, size_t max)
{
	struct md_events *ev = calloc(1, sizeof(*ev));
	pz_mailbox *box = md_open(u, "INBOX", 0);
	size_t n = 0;

	md_sync(box, ev);
	for (size_t i = 0; i < ev->n_appended; i++) {
		size_t len;
		char *body = md_read(box, ev->appended[i].uid, &len);
		char tag[32], tail[64];

		assert_int_equal(sscanf(body, "Subject: %31s", tag), 1);
		snprintf(tail, sizeof(tail), "\r\nEND %s\r\n", tag);
		if (len < strlen(tail) ||
		    strcmp(body + len - strlen(tail), tail) != 0 ||
		    len != ev->appended[i].size)
			print_error("UID %u (%s): cut message of %zu bytes\n",
				    ev->appended[i].uid, tag, len);
		assert_string_equal(body + len - strlen(tail), tail);
		assert_int_equal(len, ev->appended[i].size);
		for (size_t j = 0; j < n; j++) {
			if (strcmp(out[j].tag, tag) == 0)
				print_error("%s twice: UIDs %u and %u\n", tag,
					    out[j].uid, ev->appended[i].uid);
			assert_string_not_equal(out[j].tag, tag);
		}
		assert_true(n < max);
		out[n].uid = ev->appended[i].uid;
		snprintf(out[n].tag, sizeof(out[n].tag), "%s", tag);
		n++;
		free(body);
	}
	assert_int_equal(md_count_files(u->dir, "cur", NULL, 0) +
			 md_count_files(u->dir, "new", NULL, 0), n);
	S->mailbox_close(&box);
	free(ev);
	return n;
}

static void test_kill_during_save(void **state)
{
	size_t max = 4096, nprev = 0, total_logged = 0;
	struct known *prev = calloc(max, sizeof(*prev));
	struct known *now = calloc(max, sizeof(*now));
	char log[512];
	struct md_user u;

	only_in_parent();
	srand((unsigned int)time(NULL));
	snprintf(log, sizeof(log), "%s/saver.log", md_root);
	md_user_open(&u, "killed", NULL);
	md_user_close(&u);
	for (int round = 0; round < KILL_ROUNDS; round++) {
		pid_t pid = fork();
		struct timespec ts = { 0, (long)(rand() % 40000) * 1000L };
		size_t n;
		FILE *f;
		char line[128];

		assert_true(pid >= 0);
		if (pid == 0)
			killed_saver("killed", round, log);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, NULL, 0), pid);

		md_user_open(&u, "killed", NULL);
		n = check_mailbox(&u, now, max);
		/* UIDs seen before are kept, with the same message */
		for (size_t i = 0; i < nprev; i++) {
			size_t j;
			for (j = 0; j < n && now[j].uid != prev[i].uid; j++)
				;
			if (j == n || strcmp(now[j].tag, prev[i].tag) != 0)
				print_error("round %d: UID %u (%s) lost\n", round,
					    prev[i].uid, prev[i].tag);
			assert_true(j < n);
			assert_string_equal(now[j].tag, prev[i].tag);
		}
		/* every save that returned its UID is there under it */
		f = fopen(log, "r");
		total_logged = 0;
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			uint32_t uid;
			char tag[32];
			size_t j;

			if (sscanf(line, "%u %31s", &uid, tag) != 2)
				continue; /* the line being written when killed */
			total_logged++;
			for (j = 0; j < n && now[j].uid != uid; j++)
				;
			if (j == n || strcmp(now[j].tag, tag) != 0)
				print_error("round %d: committed %s UID %u missing\n",
					    round, tag, uid);
			assert_true(j < n);
			assert_string_equal(now[j].tag, tag);
		}
		if (f != NULL)
			fclose(f);
		md_user_close(&u);
		memcpy(prev, now, n * sizeof(*now));
		nprev = n;
	}
	print_message("%d kills, %zu messages, %zu saves confirmed\n",
		      KILL_ROUNDS, nprev, total_logged);
	assert_true(nprev > 0);
	free(prev);
	free(now);
}

/* ---- files of another delivery agent while a session moves its own */

static void external_agent(const char *dir)
{
	char tmp[1024], dest[1024], body[128];

	srand((unsigned int)getpid());
	for (int i = 0; i < EXTERNAL_FILES; i++) {
		struct timespec ts = { 0, (long)(rand() % 2000) * 1000L };
		int fd, n;

		snprintf(tmp, sizeof(tmp), "%s/tmp/ext%d.agent", dir, i);
		snprintf(dest, sizeof(dest), "%s/new/ext%d.agent", dir, i);
		n = snprintf(body, sizeof(body), "Subject: e%d\n\nexternal\nEND e%d\n", i, i);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, body, (size_t)n) != n || close(fd) < 0 ||
		    rename(tmp, dest) < 0)
			_exit(2);
		nanosleep(&ts, NULL);
	}
	_exit(0);
}

static void test_external_during_moves(void **state)
{
	struct md_events *ev = calloc(1, sizeof(*ev));
	size_t max = 4096, nseen = 0, own = 0, n;
	struct known *seen = calloc(max, sizeof(*seen));
	struct known *now = calloc(max, sizeof(*now));
	struct md_user u;
	pz_mailbox *box;
	pid_t pid;
	int status;

	only_in_parent();
	md_user_open(&u, "agent", NULL);
	box = md_open(&u, "INBOX", 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		external_agent(u.dir);
	while (waitpid(pid, &status, WNOHANG) == 0 || own < 20) {
		char msg[96], tag[32];

		/* a save leaves its file in new/: the next sync moves it */
		snprintf(msg, sizeof(msg), "Subject: o%zu\r\n\r\nown\r\nEND o%zu\r\n",
			 own, own);
		own++;
		md_save(box, msg, 0, NULL);
		md_sync(box, ev);
		for (size_t i = 0; i < ev->n_appended; i++) {
			char *body = md_read(box, ev->appended[i].uid, NULL);

			assert_int_equal(sscanf(body, "Subject: %31s", tag), 1);
			assert_true(nseen < max);
			seen[nseen].uid = ev->appended[i].uid;
			snprintf(seen[nseen++].tag, sizeof(seen[0].tag), "%s", tag);
			free(body);
		}
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	S->mailbox_close(&box);
	/* every file once, under the UID the session saw */
	n = check_mailbox(&u, now, max);
	assert_int_equal(n, EXTERNAL_FILES + own);
	for (size_t i = 0; i < nseen; i++) {
		size_t j;

		for (j = 0; j < n && now[j].uid != seen[i].uid; j++)
			;
		if (j == n || strcmp(now[j].tag, seen[i].tag) != 0)
			print_error("UID %u (%s) changed\n", seen[i].uid, seen[i].tag);
		assert_true(j < n);
		assert_string_equal(now[j].tag, seen[i].tag);
	}
	assert_int_equal(md_count_files(u.dir, "new", NULL, 0), 0);
	md_user_close(&u);
	free(seen);
	free(now);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_kill_during_save),
		cmocka_unit_test(test_external_during_moves),
	};
	int ret;

	parent_pid = getpid();
	if (md_setup(NULL) < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	only_in_parent();
	md_teardown();
	return ret;
}
