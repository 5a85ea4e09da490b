/* test-maildir-util.c - the fixture shared by the maildir tests: a core
 * loaded with the maildir module, users in a temporary folder, and helpers
 * that drive the storage ops the way a protocol module would.  Each test
 * program #includes this file (one translation unit per test, no header to
 * install or ignore). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static const struct pz_host *H;
static const struct pz_storage_ops *S;
static char md_root[256];   /* the temporary folder: users are below it */


/* md_setup - write a config (module_dir + `module maildir { extra }`),
 * load the core; 0 or -1. */
static __attribute__((unused)) int md_setup(const char *extra);
static __attribute__((unused)) void md_teardown(void);

/* A user's mail store in its own pool. */
struct md_user {
	pz_pool *pool;
	pz_user *user;
	pz_mail_user *mu;
	char dir[512];      /* its maildir */
};
/* md_user_open - open user `name` ("k=v" fields may follow, NULL-ended). */
static __attribute__((unused)) void md_user_open(struct md_user *u, const char *name, ...);
static __attribute__((unused)) void md_user_close(struct md_user *u);

static __attribute__((unused)) pz_mailbox *md_open(struct md_user *u, const char *box, unsigned int flags);
/* md_save - save `msg` with flags and keywords (NULL-ended); returns UID. */
static __attribute__((unused)) uint32_t md_save(pz_mailbox *box, const char *msg, unsigned int flags, ...);
static __attribute__((unused)) int md_save_err(pz_mailbox *box, const char *msg, pz_error *err);

/* What one sync reported. */
struct md_events {
	uint32_t expunged[4096];
	size_t n_expunged;
	struct {
		uint32_t uid;
		unsigned int flags;
		uint64_t modseq;
		uint64_t size;
		time_t idate;
		char keywords[256]; /* space separated */
	} appended[4096], changed[4096];
	size_t n_appended, n_changed;
};
static __attribute__((unused)) void md_sync(pz_mailbox *box, struct md_events *ev);
/* The message as the stream gives it (malloc'd, NUL-terminated). */
static __attribute__((unused)) char *md_read(pz_mailbox *box, uint32_t uid, size_t *len_r);
/* Count the regular files of `dir`/`sub`; the first name (if any) goes
 * into name_r. */
static __attribute__((unused)) size_t md_count_files(const char *dir, const char *sub, char *name_r, size_t n);
static __attribute__((unused)) pz_uidset md_set(uint32_t first, uint32_t last);


static int md_setup(const char *extra)
{
	const char *b = getenv("top_builddir");
	char conf[512], *err = NULL;
	FILE *f;

	snprintf(md_root, sizeof(md_root), "/tmp/pzmd.XXXXXX");
	if (mkdtemp(md_root) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/poczta.conf", md_root);
	f = fopen(conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "module_dir = %s/tests/moddir\n"
		"module maildir {\n  location = maildir:%s/%%u/Maildir\n%s}\n",
		b != NULL ? b : ".", md_root, extra != NULL ? extra : "");
	fclose(f);
	if (pz_core_load(conf, &err) < 0 || pz_core_process_init(&err) < 0) {
		fprintf(stderr, "pz_core_load: %s\n", err);
		free(err);
		return -1;
	}
	H = pz_host_table();
	S = pz_storage_by_name("maildir");
	return S != NULL ? 0 : -1;
}

static void md_teardown(void)
{
	char cmd[512];

	pz_core_unload();
	if (getenv("MD_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", md_root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", md_root);
	}
}

static void md_user_open(struct md_user *u, const char *name, ...)
{
	pz_error err = { 0 };
	const char *kv;
	va_list ap;

	memset(u, 0, sizeof(*u));
	u->pool = H->pool_create("test user");
	u->user = pz_user_new(u->pool, name);
	va_start(ap, name);
	while ((kv = va_arg(ap, const char *)) != NULL) {
		const char *eq = strchr(kv, '=');
		char key[64];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		H->user_set(u->user, key, eq + 1);
	}
	va_end(ap);
	snprintf(u->dir, sizeof(u->dir), "%s/%s/Maildir", md_root, name);
	if (S->user_open(NULL, u->user, u->pool, &u->mu, &err) < 0)
		print_error("user_open: %s\n", err.msg);
	assert_non_null(u->mu);
}

static void md_user_close(struct md_user *u)
{
	S->user_close(&u->mu);
	H->pool_destroy(&u->pool);
}

static pz_mailbox *md_open(struct md_user *u, const char *name, unsigned int flags)
{
	pz_mailbox *box = NULL;
	pz_error err = { 0 };

	if (S->mailbox_open(u->mu, name, flags, &box, &err) < 0)
		print_error("mailbox_open %s: %s\n", name, err.msg);
	assert_non_null(box);
	return box;
}

static int save_v(pz_mailbox *box, const char *msg, unsigned int flags,
		  const char *const *kws, size_t nkw, uint32_t *uid_r,
		  pz_error *err)
{
	struct pz_save_args a = { .size = sizeof(a), .flags = flags,
				  .keywords = kws, .keyword_count = nkw };
	pz_save *save = NULL;
	size_t len = strlen(msg), half = len / 2;

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

static uint32_t md_save(pz_mailbox *box, const char *msg, unsigned int flags, ...)
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
	if (save_v(box, msg, flags, kws, n, &uid, &err) < 0)
		print_error("save: %s\n", err.msg);
	assert_true(uid > 0);
	return uid;
}

static int md_save_err(pz_mailbox *box, const char *msg, pz_error *err)
{
	uint32_t uid;
	return save_v(box, msg, 0, NULL, 0, &uid, err);
}

static void ev_expunged(void *ctx, uint32_t uid)
{
	struct md_events *ev = ctx;
	if (ev->n_expunged < 4096)
		ev->expunged[ev->n_expunged++] = uid;
}

static void ev_fill(void *slot, const struct pz_msg_info *info)
{
	struct md_events *dummy = NULL;
	__typeof__(&dummy->appended[0]) e = slot;

	e->uid = info->uid;
	e->flags = info->flags;
	e->modseq = info->modseq;
	e->size = info->rfc822_size;
	e->idate = info->internal_date;
	e->keywords[0] = '\0';
	for (size_t i = 0; i < info->keyword_count; i++) {
		size_t l = strlen(e->keywords);
		snprintf(e->keywords + l, sizeof(e->keywords) - l, "%s%s",
			 i > 0 ? " " : "", info->keywords[i]);
	}
}

static void ev_appended(void *ctx, const struct pz_msg_info *info)
{
	struct md_events *ev = ctx;
	if (ev->n_appended < 4096)
		ev_fill(&ev->appended[ev->n_appended++], info);
}

static void ev_changed(void *ctx, const struct pz_msg_info *info)
{
	struct md_events *ev = ctx;
	if (ev->n_changed < 4096)
		ev_fill(&ev->changed[ev->n_changed++], info);
}

static void md_sync(pz_mailbox *box, struct md_events *ev)
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

static char *md_read(pz_mailbox *box, uint32_t uid, size_t *len_r)
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

static size_t md_count_files(const char *dir, const char *sub, char *name_r, size_t n)
{
	char path[1024];
	struct dirent *de;
	size_t count = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	if (name_r != NULL)
		name_r[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (count++ == 0 && name_r != NULL)
			snprintf(name_r, n, "%s", de->d_name);
	}
	closedir(d);
	return count;
}

static pz_uidset md_set(uint32_t first, uint32_t last)
{
	static struct pz_uid_range r[8];
	static unsigned int next;
	struct pz_uid_range *p = &r[next++ % 8];

	p->first = first;
	p->last = last;
	return (pz_uidset){ p, 1 };
}
