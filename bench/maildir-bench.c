/* maildir-bench.c - figures for the maildir storage (a benchmark, not a
 * test: it never fails on a slow number).
 *
 *   maildir-bench populate MAILDIR N
 *       write N messages into MAILDIR/cur as an MDA and a mail client would
 *       have left them (names with S= and W=, a third seen, some flagged)
 *   maildir-bench run CONFIG USER [SAVES]
 *       time, for the user's INBOX (the location comes from CONFIG):
 *         open+sync cold  - no index yet (page cache dropped when root)
 *         open+sync warm  - the index exists
 *         fetch flags     - msg_info of every message of the view
 *         resync          - a sync of an open view after another tool
 *                           renamed one file (what an IDLE session pays)
 *         saves/s         - SAVES messages of 4 KiB saved one by one into
 *                           the mailbox "Saves", each durable (fsync) on
 *                           return
 * bench/maildir-bench.sh runs both and puts Dovecot's figures next to them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

static const struct pz_host *H;
static const struct pz_storage_ops *S;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int populate(const char *maildir, long n)
{
	char path[4096], body[2048];
	long t0 = (long)time(NULL) - n;

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
	for (long i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body),
				   "From: sender%ld@example.org\nTo: user@example.org\n"
				   "Subject: message %ld\nMessage-ID: <%ld@bench>\n\n",
				   i % 97, i, i);
		size_t lines = 5;
		const char *flags = i % 3 == 0 ? "S" : i % 17 == 0 ? "FS" : "";
		FILE *f;

		while (len < 1500) {
			len += snprintf(body + len, sizeof(body) - (size_t)len,
					"line %ld of the body of a benchmark message\n", (long)lines);
			lines++;
		}
		snprintf(path, sizeof(path), "%s/cur/%ld.M%ldP1.bench,S=%d,W=%zu:2,%s",
			 maildir, t0 + i, i, len, (size_t)len + lines, flags);
		f = fopen(path, "w");
		if (f == NULL || fwrite(body, 1, (size_t)len, f) != (size_t)len ||
		    fclose(f) != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, "3\n", 2) != 2)
		fprintf(stderr, "drop_caches: %s\n", strerror(errno));
	close(fd);
}

static size_t counted;

static void on_appended(void *ctx, const struct pz_msg_info *info)
{
	counted++;
}

static double open_sync(pz_mail_user *mu, pz_mailbox **box_r)
{
	struct pz_sync_handler h = { .size = sizeof(h), .appended = on_appended };
	pz_error err = { 0 };
	double t = now();

	counted = 0;
	if (S->mailbox_open(mu, "INBOX", PZ_OPEN_NO_RECENT, box_r, &err) < 0 ||
	    S->mailbox_sync(*box_r, &h, NULL, &err) < 0) {
		fprintf(stderr, "open/sync: %s\n", err.msg);
		exit(1);
	}
	return now() - t;
}

/* resync - flag one message the way mutt would (rename), then sync */
static void resync(const char *conf, const char *user, pz_mailbox *box)
{
	struct pz_sync_handler h = { .size = sizeof(h), .changed = on_appended };
	char dir[4096], from[8192], to[8192];
	const char *loc = getenv("BENCH_MAILDIR");
	pz_error err = { 0 };
	struct dirent *de;
	DIR *d;
	double t;

	if (loc == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s/cur", loc);
	d = opendir(dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ":2,") != NULL &&
		    strchr(strstr(de->d_name, ":2,"), 'F') == NULL) {
			snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
			snprintf(to, sizeof(to), "%s/%sF", dir, de->d_name);
			break;
		}
	}
	if (d != NULL)
		closedir(d);
	if (rename(from, to) < 0)
		return;
	counted = 0;
	t = now();
	if (S->mailbox_sync(box, &h, NULL, &err) < 0)
		exit(1);
	printf("poczta resync after a rename:     %8.3f s  %zu changed\n",
	       now() - t, counted);
}

static void on_appended_uid(void *ctx, const struct pz_msg_info *info)
{
	pz_uid_array *uids = ctx;
	H->uid_array_add(uids, info->uid);
}

static int run(const char *conf, const char *user_name, long saves)
{
	char *error = NULL;
	pz_pool *pool;
	pz_user *user;
	pz_mail_user *mu;
	pz_mailbox *box;
	pz_error err = { 0 };
	pz_uid_array uids;
	double t, cold, warm, flags_t, save_t;
	char msg[4096];
	unsigned long seen = 0;

	if (pz_core_load(conf, &error) < 0 || pz_core_process_init(&error) < 0) {
		fprintf(stderr, "maildir-bench: %s\n", error);
		return 1;
	}
	H = pz_host_table();
	S = pz_storage_by_name("maildir");
	pool = H->pool_create("bench");
	user = pz_user_new(pool, user_name);
	if (S == NULL || S->user_open(NULL, user, pool, &mu, &err) < 0) {
		fprintf(stderr, "maildir-bench: cannot open the user\n");
		return 1;
	}
	drop_caches();
	cold = open_sync(mu, &box);
	S->mailbox_close(&box);
	printf("poczta open+sync cold (no index): %8.3f s  %zu messages\n", cold,
	       counted);
	warm = open_sync(mu, &box);
	printf("poczta open+sync warm:            %8.3f s  %zu messages\n", warm,
	       counted);
	resync(conf, user_name, box);
	S->mailbox_close(&box);

	/* fetch flags: a view after its first sync, msg_info of each */
	{
		struct pz_sync_handler h = { .size = sizeof(h),
					     .appended = on_appended_uid };
		pz_pool *cmd = H->pool_create("bench fetch");

		H->uid_array_init(&uids, pool);
		if (S->mailbox_open(mu, "INBOX", PZ_OPEN_NO_RECENT, &box, &err) < 0 ||
		    S->mailbox_sync(box, &h, &uids, &err) < 0)
			return 1;
		t = now();
		for (size_t i = 0; i < uids.count; i++) {
			struct pz_msg_info info = { .size = sizeof(info) };
			if (S->msg_info(box, uids.uids[i], cmd, &info, &err) != 0)
				return 1;
			seen += (info.flags & PZ_FLAG_SEEN) != 0;
			if ((i & 4095) == 4095)
				H->pool_clear(cmd);
		}
		flags_t = now() - t;
		printf("poczta fetch flags of all:        %8.3f s  %zu messages, %lu seen\n",
		       flags_t, uids.count, seen);
		H->pool_destroy(&cmd);
		S->mailbox_close(&box);
	}

	if (saves > 0) {
		pz_error e2;
		struct pz_save_args a = { .size = sizeof(a) };
		size_t len;

		S->mailbox_create(mu, "Saves", 0, &e2);
		if (S->mailbox_open(mu, "Saves", PZ_OPEN_SAVEONLY, &box, &err) < 0)
			return 1;
		len = (size_t)snprintf(msg, sizeof(msg),
				       "From: a@example.org\r\nSubject: save\r\n\r\n");
		while (len + 64 < sizeof(msg))
			len += (size_t)snprintf(msg + len, sizeof(msg) - len,
						"%s\r\n", "a line of a saved message, 4 KiB in all");
		t = now();
		for (long i = 0; i < saves; i++) {
			pz_save *save;
			uint32_t uid;

			if (S->save_begin(box, &a, &save, &err) < 0 ||
			    S->save_write(save, msg, len, &err) < 0 ||
			    S->save_commit(&save, &uid, &err) < 0) {
				fprintf(stderr, "save: %s\n", err.msg);
				return 1;
			}
		}
		save_t = now() - t;
		printf("poczta saves with fsync:          %8.0f /s  (%ld saves in %.3f s)\n",
		       (double)saves / save_t, saves, save_t);
		S->mailbox_close(&box);
	}
	S->user_close(&mu);
	H->pool_destroy(&pool);
	pz_core_unload();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], strtol(argv[3], NULL, 10));
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "run") == 0)
		return run(argv[2], argv[3], argc == 5 ? strtol(argv[4], NULL, 10) : 0);
	fprintf(stderr, "usage: maildir-bench populate MAILDIR N\n"
		"       maildir-bench run CONFIG USER [SAVES]\n");
	return 2;
}
