/* maildir-tool.c - drive the maildir storage from the command line, for
 * integration tests that compare it with other maildir software.
 *
 *   maildir-tool CONFIG USER uids MAILBOX
 *       "uidvalidity N" then "UID FLAGS KEYWORDS" per message, where FLAGS
 *       are the maildir letters (DFRST, '-' for none) and KEYWORDS are
 *       comma separated ('-' for none); read-only, takes no \Recent
 *   maildir-tool CONFIG USER append MAILBOX FILE [FLAGS]   prints the UID
 *   maildir-tool CONFIG USER store MAILBOX UID +|-|= FLAGS
 *   maildir-tool CONFIG USER fetch MAILBOX UID     the message, CRLF
 *   maildir-tool CONFIG USER list                  "NAME ATTRS" lines
 *
 * With MAILDIR_TOOL_USER set (and run as root), the tool becomes that user
 * after loading the modules, as the daemon's children do, so the files it
 * writes belong to the mail user.
 *
 * Exit status 0, or 1 with the reason on stderr.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static const struct pz_host *H;
static const struct pz_storage_ops *S;

static const struct {
	char letter;
	unsigned int flag;
} letters[] = {
	{ 'D', PZ_FLAG_DRAFT }, { 'F', PZ_FLAG_FLAGGED },
	{ 'R', PZ_FLAG_ANSWERED }, { 'S', PZ_FLAG_SEEN },
	{ 'T', PZ_FLAG_DELETED },
};

static unsigned int parse_flags(const char *s)
{
	unsigned int f = 0;

	for (; *s != '\0'; s++) {
		for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
			if (letters[i].letter == *s)
				f |= letters[i].flag;
		}
	}
	return f;
}

static void print_info(const struct pz_msg_info *info)
{
	char flags[8];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
		if ((info->flags & letters[i].flag) != 0)
			flags[n++] = letters[i].letter;
	}
	if (n == 0)
		flags[n++] = '-';
	flags[n] = '\0';
	printf("%u %s ", info->uid, flags);
	for (size_t i = 0; i < info->keyword_count; i++)
		printf("%s%s", i > 0 ? "," : "", info->keywords[i]);
	printf("%s\n", info->keyword_count == 0 ? "-" : "");
}

static void on_appended(void *ctx, const struct pz_msg_info *info)
{
	print_info(info);
}

static int die(const char *what, const pz_error *err)
{
	fprintf(stderr, "maildir-tool: %s: %s\n", what,
		err != NULL && err->msg != NULL ? err->msg : "failed");
	return 1;
}

static int cmd_uids(pz_mail_user *mu, const char *name)
{
	struct pz_sync_handler h = { .size = sizeof(h), .appended = on_appended };
	struct pz_mailbox_status st = { .size = sizeof(st) };
	pz_mailbox *box;
	pz_error err = { 0 };

	if (S->mailbox_status(mu, name, PZ_STATUS_ALL, &st, &err) < 0)
		return die("status", &err);
	printf("uidvalidity %u\n", st.uidvalidity);
	if (S->mailbox_open(mu, name, PZ_OPEN_READONLY, &box, &err) < 0)
		return die("open", &err);
	if (S->mailbox_sync(box, &h, NULL, &err) < 0)
		return die("sync", &err);
	S->mailbox_close(&box);
	return 0;
}

static int cmd_append(pz_mail_user *mu, const char *name, const char *file,
		      const char *flags)
{
	struct pz_save_args a = { .size = sizeof(a) };
	pz_mailbox *box;
	pz_save *save;
	pz_error err = { 0 };
	char buf[65536];
	uint32_t uid;
	size_t n;
	FILE *f = fopen(file, "rb");

	if (f == NULL) {
		perror(file);
		return 1;
	}
	a.flags = flags != NULL ? parse_flags(flags) : 0;
	if (S->mailbox_open(mu, name, PZ_OPEN_SAVEONLY, &box, &err) < 0)
		return die("open", &err);
	if (S->save_begin(box, &a, &save, &err) < 0)
		return die("save", &err);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (S->save_write(save, buf, n, &err) < 0)
			return die("save", &err);
	}
	fclose(f);
	if (S->save_commit(&save, &uid, &err) < 0)
		return die("commit", &err);
	printf("%u\n", uid);
	S->mailbox_close(&box);
	return 0;
}

static int cmd_store(pz_mail_user *mu, const char *name, const char *uid,
		     const char *mode, const char *flags)
{
	struct pz_sync_handler h = { .size = sizeof(h) };
	struct pz_uid_range r;
	pz_uidset set = { &r, 1 };
	struct pz_store_args a = { .size = sizeof(a) };
	pz_mailbox *box;
	pz_error err = { 0 };

	r.first = r.last = (uint32_t)strtoul(uid, NULL, 10);
	a.mode = mode[0] == '+' ? PZ_STORE_ADD : mode[0] == '-' ? PZ_STORE_REMOVE
		: PZ_STORE_REPLACE;
	a.flags = parse_flags(flags);
	if (S->mailbox_open(mu, name, PZ_OPEN_NO_RECENT, &box, &err) < 0)
		return die("open", &err);
	if (S->mailbox_sync(box, &h, NULL, &err) < 0 ||
	    S->store(box, &set, &a, NULL, NULL, &err) < 0)
		return die("store", &err);
	S->mailbox_close(&box);
	return 0;
}

static int cmd_fetch(pz_mail_user *mu, const char *name, const char *uid,
		     pz_pool *pool)
{
	struct pz_sync_handler h = { .size = sizeof(h) };
	pz_mailbox *box;
	pz_stream *s;
	pz_error err = { 0 };
	char buf[65536];
	ssize_t n;

	if (S->mailbox_open(mu, name, PZ_OPEN_READONLY, &box, &err) < 0)
		return die("open", &err);
	if (S->mailbox_sync(box, &h, NULL, &err) < 0 ||
	    S->msg_stream(box, (uint32_t)strtoul(uid, NULL, 10), pool, &s, &err) != 0)
		return die("fetch", &err);
	while ((n = H->stream_read(s, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	S->mailbox_close(&box);
	return n < 0;
}

static int become(const char *name)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL || setgroups(0, NULL) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		fprintf(stderr, "maildir-tool: cannot become %s\n", name);
		return -1;
	}
	return 0;
}

static void on_list(void *ctx, const struct pz_mailbox_info *info)
{
	printf("%s %#x %#x\n", info->name, info->attrs, info->special_use);
}

int main(int argc, char **argv)
{
	char *error = NULL;
	pz_pool *pool;
	pz_user *user;
	pz_mail_user *mu;
	pz_error err = { 0 };
	const char *cmd;
	int ret = 2;

	if (argc < 4) {
		fprintf(stderr, "usage: maildir-tool CONFIG USER COMMAND [ARGS]\n");
		return 2;
	}
	if (pz_core_load(argv[1], &error) < 0 || pz_core_process_init(&error) < 0) {
		fprintf(stderr, "maildir-tool: %s\n", error);
		return 1;
	}
	if (getenv("MAILDIR_TOOL_USER") != NULL && geteuid() == 0 &&
	    become(getenv("MAILDIR_TOOL_USER")) < 0)
		return 1;
	H = pz_host_table();
	S = pz_storage_by_name("maildir");
	if (S == NULL) {
		fprintf(stderr, "maildir-tool: the maildir module is not loaded\n");
		return 1;
	}
	pool = H->pool_create("maildir-tool");
	user = pz_user_new(pool, argv[2]);
	if (S->user_open(NULL, user, pool, &mu, &err) < 0)
		return die("user", &err);
	cmd = argv[3];
	if (strcmp(cmd, "uids") == 0 && argc == 5)
		ret = cmd_uids(mu, argv[4]);
	else if (strcmp(cmd, "append") == 0 && (argc == 6 || argc == 7))
		ret = cmd_append(mu, argv[4], argv[5], argc == 7 ? argv[6] : NULL);
	else if (strcmp(cmd, "store") == 0 && argc == 8)
		ret = cmd_store(mu, argv[4], argv[5], argv[6], argv[7]);
	else if (strcmp(cmd, "fetch") == 0 && argc == 6)
		ret = cmd_fetch(mu, argv[4], argv[5], pool);
	else if (strcmp(cmd, "list") == 0 && argc == 4)
		ret = S->mailbox_list(mu, on_list, NULL, &err) < 0 ? die("list", &err) : 0;
	else
		fprintf(stderr, "maildir-tool: unknown command or arguments\n");
	S->user_close(&mu);
	H->pool_destroy(&pool);
	pz_core_process_deinit();
	pz_core_unload();
	return ret;
}
