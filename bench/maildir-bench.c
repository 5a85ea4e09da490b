/* maildir-bench.c - poczta's side of the maildir benchmark (a benchmark,
 * not a test: it never fails on a slow number).  bench/maildir-bench.sh
 * runs it next to Dovecot on a copy of the same maildir; bench/README.md
 * says what each figure measures on both sides.
 *
 *   maildir-bench populate MAILDIR N
 *       write N messages into MAILDIR/cur, one by one in delivery order, as
 *       Dovecot's LDA and a mail client would have left them: names
 *       "<time>.M<usec>P<pid>.mx.example.org,S=<size>,W=<rfc822 size>:2,
 *       <flags>" (a third seen, some flagged), mtime = <time>; the same
 *       names every time
 *   maildir-bench run CONFIG USER MAILDIR SAVES
 *       time the storage ops on the user's INBOX (MAILDIR is its folder,
 *       whose index is removed for the cold figures) and print one
 *       "poczta KEY SECONDS" line per figure (saves: "poczta saves RATE")
 *   maildir-bench status CONFIG USER
 *       one mailbox_status of INBOX, for timing a whole process (start,
 *       config, module, user, status) against a doveadm command
 *
 * Only the storage calls are timed: the process, the config and the user
 * are set up before the clock starts, as Dovecot's figures are taken on an
 * IMAP session that has already logged in.  "Cold" figures start with no
 * index and, as root, with the page cache dropped.  Warm figures are the
 * median of WARM_ROUNDS runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

#define WARM_ROUNDS 5
#define OUT_BUF_SIZE 65536
#define SAVE_MSG_SIZE 4096
/* Deliveries start at this time, one every POPULATE_STEP seconds or so;
 * with a fixed seed every populated maildir has the same file names. */
#define POPULATE_T0 1700000000L
#define POPULATE_STEP 30
#define POPULATE_SEED 42u

static const struct pz_host *H;
static const struct pz_storage_ops *S;
static pz_mail_user *mu;
static pz_pool *user_pool;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const pz_error *err)
{
	fprintf(stderr, "maildir-bench: %s: %s\n", what,
		err != NULL && err->msg != NULL ? err->msg : strerror(errno));
	exit(1);
}

/* ---- populate */

static void mkdirs(const char *maildir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s", maildir);
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0700);
			*p = '/';
		}
	}
	mkdir(path, 0700);
	for (const char *sub = "cur\0new\0tmp\0"; *sub != '\0'; sub += 4) {
		snprintf(path, sizeof(path), "%s/%s", maildir, sub);
		mkdir(path, 0700);
	}
}

/* next_random - a fixed sequence (xorshift32), the same on every run */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static int populate(const char *maildir, long n)
{
	char path[4096], body[2048];
	uint32_t rnd = POPULATE_SEED;
	long t = POPULATE_T0;

	mkdirs(maildir);
	for (long i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body),
				   "From: sender%ld@example.org\nTo: user@example.org\n"
				   "Subject: message %ld\nMessage-ID: <%ld@bench>\n\n",
				   i % 97, i, i);
		size_t lines = 5;
		const char *flags = i % 3 == 0 ? "S" : i % 17 == 0 ? "FS" : "";
		long usec = (long)(next_random(&rnd) % 1000000);
		long pid = 1000 + (long)(next_random(&rnd) % 60000);
		struct timespec ts[2];
		int fd;

		t += 1 + (long)(next_random(&rnd) % (2 * POPULATE_STEP));
		ts[0].tv_sec = ts[1].tv_sec = t;
		ts[0].tv_nsec = ts[1].tv_nsec = usec * 1000;

		while (len < 1500) {
			len += snprintf(body + len, sizeof(body) - (size_t)len,
					"line %ld of the body of a benchmark message\n", (long)lines);
			lines++;
		}
		snprintf(path, sizeof(path),
			 "%s/cur/%ld.M%ldP%ld.mx.example.org,S=%d,W=%zu:2,%s",
			 maildir, t, usec, pid, len, (size_t)len + lines, flags);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, body, (size_t)len) != len ||
		    futimens(fd, ts) < 0 || close(fd) < 0) {
			perror(path);
			return 1;
		}
	}
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

static void remove_index(const char *maildir)
{
	static const char *const files[] = {
		"poczta-index.db", "poczta-index.db-wal", "poczta-index.db-shm",
	};
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", maildir, files[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			die(path, NULL);
	}
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
	printf("poczta %s %.4f\n", key, value);
	fflush(stdout);
}

/* ---- status: mailbox_status by name, no view */

static double status_once(void)
{
	struct pz_mailbox_status st = { .size = sizeof(st) };
	pz_error err = { 0 };
	double t = now();

	if (S->mailbox_status(mu, "INBOX", PZ_STATUS_MESSAGES | PZ_STATUS_RECENT |
			      PZ_STATUS_UIDNEXT | PZ_STATUS_UIDVALIDITY |
			      PZ_STATUS_UNSEEN, &st, &err) < 0)
		die("mailbox_status", &err);
	t = now() - t;
	if (st.messages == 0)
		die("mailbox_status: no messages", NULL);
	return t;
}

/* ---- select and fetch: a view and what an IMAP server sends of it */

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

/* out_fetch_flags - "* SEQ FETCH (UID n FLAGS (...))", as IMAP answers
 * UID FETCH 1:* (FLAGS) */
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

/* select_once - open and sync INBOX as IMAP's SELECT does (the view
 * learns every UID, flags and size; dates only when asked, as IMAP opens
 * views with PZ_OPEN_DATES_LATER); the view stays open in *box_r */
static double select_once(pz_mailbox **box_r, pz_uid_array *uids)
{
	struct pz_sync_handler h = { .size = sizeof(h), .appended = on_appended };
	pz_error err = { 0 };
	double t = now();

	uids->count = 0;
	if (S->mailbox_open(mu, "INBOX", PZ_OPEN_NO_RECENT | PZ_OPEN_DATES_LATER, box_r, &err) < 0 ||
	    S->mailbox_sync(*box_r, &h, uids, &err) < 0)
		die("open/sync", &err);
	return now() - t;
}

/* fetch_once - msg_info of every message, formatted as IMAP sends it */
static double fetch_once(pz_mailbox *box, const pz_uid_array *uids, struct out *o)
{
	pz_pool *cmd = H->pool_create("bench fetch");
	pz_error err = { 0 };
	double t = now();

	for (size_t i = 0; i < uids->count; i++) {
		struct pz_msg_info info = { .size = sizeof(info) };

		if (S->msg_info(box, uids->uids[i], cmd, &info, &err) != 0)
			die("msg_info", &err);
		out_fetch_flags(o, i + 1, &info);
		if ((i & 4095) == 4095)
			H->pool_clear(cmd);
	}
	out_flush(o);
	t = now() - t;
	H->pool_destroy(&cmd);
	return t;
}

/* resync - flag one message the way mutt would (a rename), then sync the
 * open view as a NOOP would */
static double resync(pz_mailbox *box, const char *maildir)
{
	struct pz_sync_handler h = { .size = sizeof(h) };
	char dir[4096], from[8192], to[8192];
	pz_error err = { 0 };
	struct dirent *de;
	double t;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	d = opendir(dir);
	if (d == NULL)
		die(dir, NULL);
	from[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		const char *info = strstr(de->d_name, ":2,");

		if (info != NULL && strchr(info, 'F') == NULL) {
			snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
			snprintf(to, sizeof(to), "%s/%sF", dir, de->d_name);
			break;
		}
	}
	closedir(d);
	if (from[0] == '\0' || rename(from, to) < 0)
		die("rename", NULL);
	t = now();
	if (S->mailbox_sync(box, &h, NULL, &err) < 0)
		die("sync", &err);
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
	if (S->mailbox_open(mu, "Saves", PZ_OPEN_SAVEONLY, &box, &err) < 0)
		die("open Saves", &err);
	len = (size_t)snprintf(msg, sizeof(msg),
			       "From: a@example.org\r\nSubject: save\r\n\r\n");
	while (len + 64 < sizeof(msg))
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s\r\n",
					"a line of a saved message, 4 KiB in all");
	t = now();
	for (long i = 0; i < saves; i++) {
		pz_save *save;
		uint32_t uid;

		if (S->save_begin(box, &a, &save, &err) < 0 ||
		    S->save_write(save, msg, len, &err) < 0 ||
		    S->save_commit(&save, &uid, &err) < 0)
			die("save", &err);
	}
	t = now() - t;
	S->mailbox_close(&box);
	return (double)saves / t;
}

/* ---- the commands */

static void setup(const char *conf, const char *user_name)
{
	pz_error err = { 0 };
	char *error = NULL;
	pz_user *user;

	if (pz_core_load(conf, &error) < 0 || pz_core_process_init(&error) < 0) {
		fprintf(stderr, "maildir-bench: %s\n", error);
		exit(1);
	}
	H = pz_host_table();
	S = pz_storage_by_name("maildir");
	user_pool = H->pool_create("bench");
	user = pz_user_new(user_pool, user_name);
	if (S == NULL || S->user_open(NULL, user, user_pool, &mu, &err) < 0)
		die("user_open", &err);
}

static void teardown(void)
{
	S->user_close(&mu);
	H->pool_destroy(&user_pool);
	pz_core_unload();
}

static void run_select(const char *maildir, struct out *o)
{
	double sel[WARM_ROUNDS], fetch[WARM_ROUNDS];
	pz_uid_array uids;
	pz_mailbox *box;

	H->uid_array_init(&uids, user_pool);
	remove_index(maildir);
	drop_caches();
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
	figure("resync", resync(box, maildir));
	S->mailbox_close(&box);
}

static int run(const char *conf, const char *user_name, const char *maildir,
	       long saves)
{
	static struct out o;
	double warm[WARM_ROUNDS];

	o.fd = open("/dev/null", O_WRONLY);
	setup(conf, user_name);
	remove_index(maildir);
	printf("poczta caches_dropped %d\n", drop_caches());
	figure("status_cold", status_once());
	for (int i = 0; i < WARM_ROUNDS; i++)
		warm[i] = status_once();
	figure("status_warm", median(warm, WARM_ROUNDS));
	run_select(maildir, &o);
	if (saves > 0)
		printf("poczta saves %.0f\n", saves_per_sec(saves));
	teardown();
	close(o.fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "run") == 0)
		return run(argv[2], argv[3], argv[4], strtol(argv[5], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "status") == 0) {
		setup(argv[2], argv[3]);
		status_once();
		teardown();
		return 0;
	}
	fprintf(stderr, "usage: maildir-bench populate MAILDIR N\n"
		"       maildir-bench run CONFIG USER MAILDIR SAVES\n"
		"       maildir-bench status CONFIG USER\n");
	return 2;
}
