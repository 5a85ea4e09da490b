/* pgsql-admin-export.c - `poczta-admin export`: a user's mail in
 * PostgreSQL written as a new standard Maildir++ folder that keeps its
 * UIDs, UIDVALIDITY, flags and keywords.
 *
 * PostgreSQL is read through the postgres module's storage ops.  Each
 * mailbox becomes a Maildir++ folder (INBOX the root, others `.A.B`, made
 * by the maildir module so names and special-use are its own), each
 * message a file in cur/ with LF line ends, `,S=<size>,W=<rfc822 size>`
 * and `:2,<flags>`, its mtime the internal date; dovecot-keywords gives
 * the first 26 keywords letters, and dovecot-uidlist (version 3: "3 V<uid
 * validity> N<uidnext> G<guid>", then "<uid> :<file name>") their UIDs, as
 * Dovecot writes them.  So Dovecot and the maildir module (which imports
 * dovecot-uidlist at a mailbox's first open) both keep the UIDs.
 *
 * Then every mailbox is opened through the maildir module and compared
 * with PostgreSQL: UIDVALIDITY, each UID and its flags.  Keywords beyond
 * the 26 letters are set there with STORE (they live in the index only).
 * The folder must be new (or empty): export never merges.
 */
#include "config-core.h"
#include "pgsql-admin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "mail/mail-utf7.h"
#include "pool.h"

#define EXP_LETTERS 26          /* keyword letters a..z */

struct exp {
	struct adm_job *job;
	struct adm_store src, dst;
	pz_pool *pool;          /* per mailbox */
	char host[64];
	const char **kw;        /* the mailbox's keywords: letters first */
	size_t kw_count;
};

/* ---- files */

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* write_file - `data` into `path` through path.tmp, fsynced, renamed */
static int write_file(pz_pool *pool, const char *path, const void *data, size_t len,
		      char **error_r)
{
	char *tmp = pz_pool_printf(pool, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		*error_r = pz_strdup_printf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return -1;
	}
	return 0;
}

/* root_prepare - the maildir root, new or empty, with cur/ new/ tmp/ */
static int root_prepare(const char *root, pz_pool *pool, char **error_r)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	DIR *d = opendir(root);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				closedir(d);
				*error_r = pz_strdup_printf("%s exists and is not empty: export "
							    "writes a new maildir", root);
				return -1;
			}
		}
		closedir(d);
	} else if (errno != ENOENT || mkdir(root, 0700) < 0) {
		*error_r = pz_strdup_printf("%s: %s", root, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *p = pz_pool_printf(pool, "%s/%s", root, subs[i]);
		if (mkdir(p, 0700) < 0) {
			*error_r = pz_strdup_printf("%s: %s", p, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* box_dir - the Maildir++ folder of a mailbox ('/' levels become '.'
 * levels in modified UTF-7), made by the maildir module */
static int box_dir(struct exp *ex, const struct adm_box *b, const char **dir_r,
		   char **error_r)
{
	char *copy, *level, *save = NULL, *dir;
	pz_error err = { 0 };

	if (strcmp(b->name, "INBOX") == 0) {
		*dir_r = ex->job->maildir_root;
		return 0;
	}
	if (ex->dst.ops->mailbox_create(ex->dst.mu, b->name, b->special_use, &err) < 0 &&
	    err.cls != PZ_ERR_EXISTS) {
		*error_r = adm_error(&ex->dst, pz_pool_printf(ex->pool, "creating '%s'",
							      b->name), &err);
		return -1;
	}
	dir = pz_pool_printf(ex->pool, "%s/", ex->job->maildir_root);
	copy = pz_pool_strdup(ex->pool, b->name);
	for (level = strtok_r(copy, "/", &save); level != NULL;
	     level = strtok_r(NULL, "/", &save))
		dir = pz_pool_printf(ex->pool, "%s.%s", dir, pz_utf8_to_mutf7(ex->pool, level));
	*dir_r = dir;
	return 0;
}

/* ---- keywords */

static int kw_index(const struct exp *ex, const char *name)
{
	for (size_t i = 0; i < ex->kw_count; i++) {
		if (strcasecmp(ex->kw[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/* keywords_prepare - the mailbox's keywords in order of first use, and
 * dovecot-keywords for the first EXP_LETTERS of them */
static int keywords_prepare(struct exp *ex, const struct adm_box *b, const char *dir,
			    char **error_r)
{
	char *text = pz_pool_strdup(ex->pool, "");
	size_t alloc = 0;

	ex->kw = NULL;
	ex->kw_count = 0;
	for (size_t i = 0; i < b->count; i++) {
		for (size_t k = 0; k < b->msgs[i].kw_count; k++) {
			if (kw_index(ex, b->msgs[i].kw[k]) >= 0)
				continue;
			ex->kw = adm_grow(ex->pool, ex->kw, ex->kw_count, &alloc,
					  sizeof(*ex->kw));
			ex->kw[ex->kw_count++] = b->msgs[i].kw[k];
		}
	}
	if (ex->kw_count == 0)
		return 0;
	for (size_t i = 0; i < ex->kw_count && i < EXP_LETTERS; i++)
		text = pz_pool_printf(ex->pool, "%s%zu %s\n", text, i, ex->kw[i]);
	return write_file(ex->pool, pz_pool_printf(ex->pool, "%s/dovecot-keywords", dir),
			  text, strlen(text), error_r);
}

/* info - ":2," and the flag letters, in ASCII order as Maildir asks */
static char *info(struct exp *ex, const struct adm_msg *m)
{
	char letters[8 + EXP_LETTERS], *p = letters;
	int have[EXP_LETTERS] = { 0 };

	if (m->flags & PZ_FLAG_DRAFT)
		*p++ = 'D';
	if (m->flags & PZ_FLAG_FLAGGED)
		*p++ = 'F';
	if (m->flags & PZ_FLAG_ANSWERED)
		*p++ = 'R';
	if (m->flags & PZ_FLAG_SEEN)
		*p++ = 'S';
	if (m->flags & PZ_FLAG_DELETED)
		*p++ = 'T';
	for (size_t k = 0; k < m->kw_count; k++) {
		int i = kw_index(ex, m->kw[k]);
		if (i >= 0 && i < EXP_LETTERS)
			have[i] = 1;
	}
	for (int i = 0; i < EXP_LETTERS; i++) {
		if (have[i])
			*p++ = (char)('a' + i);
	}
	*p = '\0';
	return pz_pool_printf(ex->pool, ":2,%s", letters);
}

/* ---- messages */

/* lf - the message with LF line ends, as maildir keeps it */
static size_t lf(unsigned char *data, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
			continue;
		data[o++] = data[i];
	}
	return o;
}

/* export_msg - one file in cur/; its base name (for the uidlist) */
static int export_msg(struct exp *ex, pz_mailbox *view, const char *dir,
		      const struct adm_msg *m, const char **base_r, char **error_r)
{
	pz_pool *mp = pz_pool_create("export message");
	struct timeval times[2] = { { .tv_sec = m->idate }, { .tv_sec = m->idate } };
	unsigned char *data;
	size_t len, crlf_len;
	char *base, *tmp, *path;
	int ret = -1;

	if (adm_msg_read(&ex->src, view, m->uid, mp, &data, &crlf_len, error_r) < 0)
		goto out;
	len = lf(data, crlf_len);
	base = pz_pool_printf(ex->pool, "%" PRId64 ".M%" PRIu32 "P%d.%s,S=%zu,W=%zu",
			      (int64_t)m->idate, m->uid, (int)getpid(), ex->host, len,
			      crlf_len);
	tmp = pz_pool_printf(mp, "%s/tmp/%s", dir, base);
	path = pz_pool_printf(mp, "%s/cur/%s%s", dir, base, info(ex, m));
	if (write_file(mp, tmp, data, len, error_r) < 0)
		goto out;
	if (utimes(tmp, times) < 0 || rename(tmp, path) < 0) {
		*error_r = pz_strdup_printf("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	*base_r = base;
	ret = 0;
out:
	pz_pool_destroy(&mp);
	return ret;
}

/* uidlist - dovecot-uidlist, version 3 */
static int uidlist(struct exp *ex, const struct adm_box *b, const char *dir,
		   const char **bases, char **error_r)
{
	char *text = pz_pool_printf(ex->pool, "3 V%" PRIu32 " N%" PRIu32 " G%08x%08x%08x%08x\n",
				    b->uidvalidity, b->uidnext, (unsigned)random(),
				    (unsigned)random(), (unsigned)random(), (unsigned)random());
	size_t len = strlen(text), alloc = len + 1;

	for (size_t i = 0; i < b->count; i++) {
		char line[512];
		int n = snprintf(line, sizeof(line), "%" PRIu32 " :%s\n", b->msgs[i].uid, bases[i]);

		if (n < 0 || (size_t)n >= sizeof(line)) {
			*error_r = pz_strdup_printf("file name too long: %s", bases[i]);
			return -1;
		}
		if (len + (size_t)n + 1 > alloc) {
			size_t na = alloc * 2 + (size_t)n;
			text = pz_pool_realloc(ex->pool, text, alloc, na);
			alloc = na;
		}
		memcpy(text + len, line, (size_t)n + 1);
		len += (size_t)n;
	}
	return write_file(ex->pool, pz_pool_printf(ex->pool, "%s/dovecot-uidlist", dir),
			  text, len, error_r);
}

static int export_box(struct exp *ex, struct adm_box *b, char **error_r)
{
	pz_mailbox *view = NULL;
	const char *dir, **bases;
	int ret = -1;

	if (adm_box_read(&ex->src, b, PZ_OPEN_READONLY, ex->pool, &view, error_r) < 0)
		return -1;
	bases = pz_pool_alloc(ex->pool, (b->count + 1) * sizeof(*bases));
	if (box_dir(ex, b, &dir, error_r) < 0 || keywords_prepare(ex, b, dir, error_r) < 0)
		goto out;
	for (size_t i = 0; i < b->count; i++) {
		if (export_msg(ex, view, dir, &b->msgs[i], &bases[i], error_r) < 0)
			goto out;
	}
	ret = uidlist(ex, b, dir, bases, error_r);
out:
	ex->src.ops->mailbox_close(&view);
	return ret;
}

/* ---- the check through the maildir module */

static int has_kw(const struct adm_msg *m, const char *name)
{
	for (size_t k = 0; k < m->kw_count; k++) {
		if (strcasecmp(m->kw[k], name) == 0)
			return 1;
	}
	return 0;
}

/* fix_keywords - set what the letters could not carry */
static int fix_keywords(struct exp *ex, pz_mailbox *view, const struct adm_msg *want,
			const struct adm_msg *got, char **error_r)
{
	struct pz_uid_range range = { want->uid, want->uid };
	pz_uidset set = { &range, 1 };
	struct pz_store_args args = {
		.size = sizeof(args), .mode = PZ_STORE_ADD,
		.keywords = want->kw, .keyword_count = want->kw_count,
	};
	pz_error err = { 0 };
	size_t missing = 0;

	for (size_t k = 0; k < want->kw_count; k++)
		missing += !has_kw(got, want->kw[k]);
	if (missing == 0 && got->kw_count == want->kw_count)
		return 0;
	if (got->kw_count > want->kw_count ||
	    ex->dst.ops->store(view, &set, &args, NULL, NULL, &err) < 0) {
		*error_r = err.msg != NULL ? adm_error(&ex->dst, "setting keywords", &err) :
			pz_strdup_printf("UID %" PRIu32 ": keywords differ", want->uid);
		return -1;
	}
	return 0;
}

static int verify_box(struct exp *ex, const struct adm_box *want, char **error_r)
{
	struct adm_box got = { .name = want->name };
	pz_mailbox *view = NULL;
	int ret = 0;

	if (adm_box_read(&ex->dst, &got, PZ_OPEN_NO_RECENT, ex->pool, &view, error_r) < 0)
		return -1;
	if (got.uidvalidity != want->uidvalidity || got.count != want->count ||
	    got.uidnext != want->uidnext) {
		*error_r = pz_strdup_printf("the maildir module sees UIDVALIDITY %" PRIu32
					    ", UIDNEXT %" PRIu32 ", %zu messages where "
					    "PostgreSQL has %" PRIu32 ", %" PRIu32 ", %zu",
					    got.uidvalidity, got.uidnext, got.count,
					    want->uidvalidity, want->uidnext, want->count);
		ret = -1;
	}
	for (size_t i = 0; ret == 0 && i < want->count; i++) {
		const struct adm_msg *w = &want->msgs[i], *g = &got.msgs[i];

		if (g->uid != w->uid || g->flags != w->flags) {
			*error_r = pz_strdup_printf("UID %" PRIu32 " flags %u became UID %"
						    PRIu32 " flags %u", w->uid, w->flags,
						    g->uid, g->flags);
			ret = -1;
		} else {
			ret = fix_keywords(ex, view, w, g, error_r);
		}
	}
	ex->dst.ops->mailbox_close(&view);
	return ret;
}

/* ---- the whole export */

static int account_exists(struct adm_job *job, char **error_r)
{
	const char *v[1] = { job->account };
	PGresult *r = adm_query(job->db, "SELECT 1 FROM pz_account WHERE name = $1", 1, v,
				-1, 0, error_r);
	int found;

	if (r == NULL)
		return -1;
	found = PQntuples(r) > 0;
	PQclear(r);
	if (!found)
		*error_r = pz_strdup_printf("%s has no mail in PostgreSQL (no account '%s')",
					    job->user_name, job->account);
	return found ? 0 : -1;
}

static int subscribe_all(struct exp *ex, const struct adm_box *boxes, size_t count,
			 char **error_r)
{
	for (size_t i = 0; i < count; i++) {
		pz_error err = { 0 };

		if ((boxes[i].attrs & PZ_MBOX_SUBSCRIBED) != 0 &&
		    ex->dst.ops->mailbox_subscribe(ex->dst.mu, boxes[i].name, 1, &err) < 0) {
			*error_r = adm_error(&ex->dst, "subscribing", &err);
			return -1;
		}
	}
	return 0;
}

static int export_all(struct exp *ex, struct adm_box *boxes, size_t count,
		      char **error_r)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct adm_box *b = &boxes[i];
		pz_pool *keep = ex->pool;

		if ((b->attrs & (PZ_MBOX_NOSELECT | PZ_MBOX_NONEXISTENT)) != 0)
			continue;
		/* the messages stay for the check; the rest is per mailbox */
		ex->pool = pz_pool_create("export mailbox");
		if (export_box(ex, b, error_r) < 0 || verify_box(ex, b, error_r) < 0) {
			char *e = pz_strdup_printf("mailbox '%s': %s", b->name, *error_r);
			free(*error_r);
			*error_r = e;
			pz_pool_destroy(&ex->pool);
			ex->pool = keep;
			return -1;
		}
		printf("%s: %zu message%s, UIDVALIDITY %" PRIu32 ", UIDNEXT %" PRIu32 "\n",
		       b->name, b->count, b->count == 1 ? "" : "s", b->uidvalidity, b->uidnext);
		pz_pool_destroy(&ex->pool);
		ex->pool = keep;
	}
	return subscribe_all(ex, boxes, count, error_r);
}

int adm_export(struct adm_job *job)
{
	struct exp ex = { .job = job, .pool = job->pool };
	struct adm_box *boxes;
	size_t count;
	char *error = NULL;
	int ret = -1;

	if (gethostname(ex.host, sizeof(ex.host) - 1) < 0 || ex.host[0] == '\0')
		snprintf(ex.host, sizeof(ex.host), "localhost");
	for (char *p = ex.host; *p != '\0'; p++) {
		if (*p == '/' || *p == ':' || *p == ',')
			*p = '_';
	}
	srandom((unsigned)(time(NULL) ^ getpid()));
	if (pgsql_schema_check(job->db, &error) == 0 && account_exists(job, &error) == 0 &&
	    root_prepare(job->maildir_root, job->pool, &error) == 0 &&
	    adm_store_open(&ex.src, "postgres", job->user, job->pool, &error) == 0 &&
	    adm_store_open(&ex.dst, "maildir", job->maildir_user, job->pool, &error) == 0 &&
	    adm_store_list(&ex.src, job->pool, &boxes, &count, &error) == 0)
		ret = export_all(&ex, boxes, count, &error);
	if (ex.dst.mu != NULL)
		ex.dst.ops->user_close(&ex.dst.mu);
	if (ex.src.mu != NULL)
		ex.src.ops->user_close(&ex.src.mu);
	if (ret == 0)
		printf("%s exported to %s\n", job->user_name, job->maildir_root);
	return adm_job_end(job, "export", ret, error);
}
