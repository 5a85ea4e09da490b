/* maildir-mailbox.c - operations on mailboxes by name: list, create,
 * delete, rename, subscribe, status, special-use and autocreate.
 *
 * Maildir++ is flat: every mailbox is a folder ".A.B" directly in the root,
 * so a parent need not exist for its child (it is then listed \Noselect),
 * deleting a mailbox leaves its children alone, and renaming one renames
 * every folder whose name starts with its own.  Subscriptions are kept in
 * the root's "subscriptions" file, one storage name per line with '.'
 * between levels, as Dovecot (and Courier) write it; Dovecot's version 2
 * format (tab-separated levels) is read too.
 */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define FIELD_FITS(st, field) \
	(offsetof(__typeof__(*(st)), field) + sizeof((st)->field) <= (st)->size)
#define SET_FIELD(st, field, v) \
	do { if (FIELD_FITS(st, field)) (st)->field = (v); } while (0)

#define SUBS_MAX_SIZE (4u * 1024 * 1024)
#define LOCK_STALE_SECS 30
#define LOCK_WAIT_MS 10000

static const struct {
	const char *name;
	unsigned int use;
	const char *attr;
} special_uses[] = {
	{ "All", PZ_SPECIAL_ALL, "\\All" },
	{ "Archive", PZ_SPECIAL_ARCHIVE, "\\Archive" },
	{ "Drafts", PZ_SPECIAL_DRAFTS, "\\Drafts" },
	{ "Flagged", PZ_SPECIAL_FLAGGED, "\\Flagged" },
	{ "Junk", PZ_SPECIAL_JUNK, "\\Junk" },
	{ "Sent", PZ_SPECIAL_SENT, "\\Sent" },
	{ "Trash", PZ_SPECIAL_TRASH, "\\Trash" },
};
#define N_SPECIAL (sizeof(special_uses) / sizeof(special_uses[0]))
/* Names that carry their special-use without a stored attribute. */
static const char *const name_mapped[] = {
	"Drafts", "Sent", "Trash", "Junk", "Archive"
};

unsigned int maildir_special_use_get(struct pz_mail_user *mu, pz_pool *pool,
				     const struct maildir_paths *p)
{
	char *path, *data;
	unsigned int use = 0;
	size_t len;

	if (p->dirname[0] == '\0')
		return 0;
	path = maildir_path(pool, p->dir, MAILDIR_SPECIAL_USE_NAME, NULL);
	if (maildir_read_file(pool, path, 4096, &data, &len, NULL) == 0) {
		for (size_t i = 0; i < N_SPECIAL; i++) {
			if (strstr(data, special_uses[i].attr) != NULL)
				use |= special_uses[i].use;
		}
		return use;
	}
	for (size_t i = 0; i < sizeof(name_mapped) / sizeof(name_mapped[0]); i++) {
		if (strcmp(p->name, name_mapped[i]) == 0) {
			for (size_t j = 0; j < N_SPECIAL; j++) {
				if (strcmp(special_uses[j].name, name_mapped[i]) == 0)
					return special_uses[j].use;
			}
		}
	}
	return 0;
}

static int special_use_set(struct pz_mail_user *mu, const struct maildir_paths *p,
			   unsigned int use, pz_error *err)
{
	char buf[256], *path;
	size_t len = 0;

	for (size_t i = 0; i < N_SPECIAL; i++) {
		if ((use & special_uses[i].use) != 0)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n",
						special_uses[i].attr);
	}
	path = maildir_path(mu->pool, p->dir, MAILDIR_SPECIAL_USE_NAME, NULL);
	if (maildir_write_file(path, buf, len) < 0)
		return maildir_syserror(mu, err, "write", path);
	return 0;
}

/* ---- subscriptions */

/* sub_to_name - a line of the subscriptions file as a storage name */
static char *sub_to_name(pz_pool *pool, const char *line, int v2)
{
	char *dirname;

	if (strcmp(line, "INBOX") == 0 || strcasecmp(line, "INBOX") == 0)
		return HOST->pool_strdup(pool, "INBOX");
	if (!v2) {
		dirname = HOST->pool_printf(pool, ".%s", line);
	} else {
		/* levels split by TAB; \001 escapes (Dovecot's tabescape) */
		size_t n = strlen(line), o = 1;
		dirname = HOST->pool_alloc(pool, n + 2);
		dirname[0] = '.';
		for (size_t i = 0; i < n; i++) {
			char c = line[i];
			if (c == '\t')
				c = '.';
			else if (c == '\001' && i + 1 < n) {
				c = line[++i];
				c = c == 't' ? '\t' : c == 'r' ? '\r' : c == 'n' ? '\n' :
					c == '1' ? '\001' : c;
			}
			dirname[o++] = c;
		}
		dirname[o] = '\0';
	}
	return maildir_dir_to_name(pool, dirname);
}

/* name_to_sub - the subscriptions line of a canonical storage name */
static char *name_to_sub(struct pz_mail_user *mu, pz_pool *pool,
			 const char *name, pz_error *err)
{
	char *canon, *dirname;

	if (maildir_name_to_dir(mu, pool, name, &canon, &dirname, err) < 0)
		return NULL;
	if (dirname[0] == '\0')
		return HOST->pool_strdup(pool, "INBOX");
	return dirname + 1;
}

struct subs {
	char **names;   /* storage names */
	char **lines;   /* as in the file (v1 form) */
	size_t count;
};

static int subs_read(struct pz_mail_user *mu, pz_pool *pool, struct subs *s,
		     pz_error *err)
{
	char *path = maildir_path(pool, mu->root, MAILDIR_SUBSCRIPTIONS_NAME, NULL);
	char *data, *line, *save;
	size_t len, n = 1;
	int ret, v2 = 0;

	memset(s, 0, sizeof(*s));
	ret = maildir_read_file(pool, path, SUBS_MAX_SIZE, &data, &len, NULL);
	if (ret > 0)
		return 0;
	if (ret < 0)
		return maildir_syserror(mu, err, "read", path);
	if (strncmp(data, "V\t2\n\n", 5) == 0) {
		v2 = 1;
		data += 5;
	}
	for (const char *p = data; *p != '\0'; p++)
		n += *p == '\n';
	s->names = HOST->pool_alloc(pool, n * sizeof(char *));
	s->lines = HOST->pool_alloc(pool, n * sizeof(char *));
	for (line = strtok_r(data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *name = sub_to_name(pool, line, v2);
		pz_error e;

		if (name == NULL)
			continue;
		s->names[s->count] = name;
		s->lines[s->count] = v2 ? name_to_sub(mu, pool, name, &e) : line;
		if (s->lines[s->count] != NULL)
			s->count++;
	}
	return 0;
}

/* dotlock - Dovecot's protocol: create FILE.lock exclusively, write the
 * new content into it, rename it over FILE */
static int dotlock_take(const char *lock)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	for (int waited = 0; waited < LOCK_WAIT_MS; waited += 10) {
		struct stat st;
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0 || errno != EEXIST)
			return fd;
		if (stat(lock, &st) == 0 && st.st_mtime < time(NULL) - LOCK_STALE_SECS)
			unlink(lock);
		nanosleep(&pause, NULL);
	}
	errno = EAGAIN;
	return -1;
}

int maildir_mailbox_subscribe(pz_mail_user *mu, const char *name, int subscribe,
			      pz_error *err)
{
	pz_pool *pool = HOST->pool_create("maildir subscribe");
	char *path = maildir_path(pool, mu->root, MAILDIR_SUBSCRIPTIONS_NAME, NULL);
	char *lock = HOST->pool_printf(pool, "%s.lock", path);
	char *line = name_to_sub(mu, pool, name, err);
	struct subs s;
	int fd = -1, found = 0, ret = -1;
	FILE *out;

	if (line == NULL)
		goto done;
	fd = dotlock_take(lock);
	if (fd < 0) {
		if (errno == EAGAIN)
			maildir_error(mu, err, PZ_ERR_TEMP,
				      "Timeout waiting for the subscriptions lock");
		else
			maildir_syserror(mu, err, "create", lock);
		goto done;
	}
	if (subs_read(mu, pool, &s, err) < 0)
		goto unlock;
	out = fdopen(fd, "w");
	if (out == NULL) {
		maildir_syserror(mu, err, "fdopen", lock);
		goto unlock;
	}
	fd = -1;
	for (size_t i = 0; i < s.count; i++) {
		if (strcmp(s.lines[i], line) == 0) {
			if (found++ > 0 || !subscribe)
				continue;
		}
		fprintf(out, "%s\n", s.lines[i]);
	}
	if (subscribe && !found)
		fprintf(out, "%s\n", line);
	if (fflush(out) != 0 || (maildir_set.fsync && fsync(fileno(out)) < 0)) {
		maildir_syserror(mu, err, "write", lock);
		fclose(out);
		goto unlock;
	}
	if (fclose(out) != 0) {
		maildir_syserror(mu, err, "write", lock);
		goto unlock;
	}
	if (rename(lock, path) < 0) {
		maildir_syserror(mu, err, "rename", path);
		goto unlock;
	}
	ret = 0;
	goto done;
unlock:
	if (fd >= 0)
		close(fd);
	unlink(lock);
done:
	HOST->pool_destroy(&pool);
	return ret;
}

/* ---- list */

struct lentry {
	char *name;
	unsigned int attrs;
	int exists;
	struct maildir_paths paths;
};

struct lctx {
	struct lentry *e;
	size_t count, alloc;
	pz_pool *pool;
};

static void lctx_add(struct lctx *l, char *name, int exists)
{
	if (l->count == l->alloc) {
		size_t na = l->alloc != 0 ? l->alloc * 2 : 64;
		l->e = HOST->pool_realloc(l->pool, l->e, l->alloc * sizeof(*l->e),
					  na * sizeof(*l->e));
		l->alloc = na;
	}
	memset(&l->e[l->count], 0, sizeof(l->e[0]));
	l->e[l->count].name = name;
	l->e[l->count].exists = exists;
	l->count++;
}

static int cmp_lentry(const void *a, const void *b)
{
	const struct lentry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* duplicates: the existing one first */
	return c != 0 ? c : y->exists - x->exists;
}

static int is_dir_at(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_DIR)
		return 1;
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
		return 0;
	return fstatat(dfd, de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static int list_read(struct pz_mail_user *mu, struct lctx *l, pz_error *err)
{
	DIR *d = opendir(mu->root);
	struct dirent *de;

	if (d == NULL)
		return maildir_syserror(mu, err, "opendir", mu->root);
	lctx_add(l, "INBOX", 1);
	while ((de = readdir(d)) != NULL) {
		char *name;

		if (de->d_name[0] != '.' || !is_dir_at(dirfd(d), de))
			continue;
		if (strcasecmp(de->d_name, MAILDIR_TRASHED_NAME) == 0) {
			char *p = maildir_path(l->pool, mu->root, de->d_name, NULL);
			maildir_rmdir_recursive(p); /* left by a crashed delete */
			continue;
		}
		name = maildir_dir_to_name(l->pool, de->d_name);
		if (name != NULL)
			lctx_add(l, name, 1);
	}
	closedir(d);
	return 0;
}

static void list_add_parents(struct lctx *l)
{
	size_t n = l->count;

	for (size_t i = 0; i < n; i++) {
		char *name = l->e[i].name;
		for (char *p = strchr(name, '/'); p != NULL; p = strchr(p + 1, '/'))
			lctx_add(l, HOST->pool_strndup(l->pool, name,
						       (size_t)(p - name)), 0);
	}
}

static void list_add_subscriptions(struct lctx *l, const struct subs *s)
{
	size_t sorted = l->count;

	for (size_t i = 0; i < s->count; i++) {
		size_t lo = 0, hi = sorted;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(l->e[mid].name, s->names[i]) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < sorted && strcmp(l->e[lo].name, s->names[i]) == 0)
			l->e[lo].attrs |= PZ_MBOX_SUBSCRIBED;
		else
			lctx_add(l, s->names[i], -1);
	}
}

int maildir_mailbox_list(pz_mail_user *mu,
			 void (*cb)(void *ctx, const struct pz_mailbox_info *info),
			 void *ctx, pz_error *err)
{
	struct lctx l = { .pool = HOST->pool_create("maildir list") };
	struct subs s;
	size_t out = 0;

	if (list_read(mu, &l, err) < 0 || subs_read(mu, l.pool, &s, err) < 0) {
		HOST->pool_destroy(&l.pool);
		return -1;
	}
	list_add_parents(&l);
	qsort(l.e, l.count, sizeof(*l.e), cmp_lentry);
	for (size_t i = 0; i < l.count; i++) {
		if (out > 0 && strcmp(l.e[out - 1].name, l.e[i].name) == 0)
			continue;
		l.e[out++] = l.e[i];
	}
	l.count = out;
	list_add_subscriptions(&l, &s);
	for (size_t i = 0; i < l.count; i++) {
		struct lentry *e = &l.e[i];
		struct pz_mailbox_info info = { .size = sizeof(info) };
		size_t len = strlen(e->name);
		int children = 0;

		if (e->exists < 0) {
			info.name = e->name;
			info.attrs = PZ_MBOX_NONEXISTENT | PZ_MBOX_SUBSCRIBED;
			cb(ctx, &info);
			continue;
		}
		for (size_t j = i + 1; j < l.count && !children; j++) {
			if (strncmp(l.e[j].name, e->name, len) == 0 &&
			    l.e[j].name[len] == '/' && l.e[j].exists >= 0)
				children = 1;
			else if (strncmp(l.e[j].name, e->name, len) != 0)
				break;
		}
		info.name = e->name;
		info.attrs = e->attrs |
			(children ? PZ_MBOX_HASCHILDREN : PZ_MBOX_HASNOCHILDREN);
		if (!e->exists) {
			info.attrs |= PZ_MBOX_NOSELECT;
		} else if (strcmp(e->name, "INBOX") != 0) {
			char *canon, *dirname;
			pz_error e2;
			if (maildir_name_to_dir(mu, l.pool, e->name, &canon, &dirname,
						&e2) == 0) {
				maildir_paths_init(mu, l.pool, canon, dirname, &e->paths);
				info.special_use = maildir_special_use_get(mu, l.pool,
									   &e->paths);
			}
		}
		cb(ctx, &info);
	}
	HOST->pool_destroy(&l.pool);
	return 0;
}

/* ---- create, delete, rename */

int maildir_mailbox_create(pz_mail_user *mu, const char *name,
			   unsigned int special_use, pz_error *err)
{
	pz_pool *pool = HOST->pool_create("maildir create");
	struct maildir_paths p;
	int ret = -1;

	if (maildir_paths_lookup(mu, pool, name, &p, err) < 0)
		goto out;
	if (p.dirname[0] == '\0') {
		maildir_error(mu, err, PZ_ERR_EXISTS, "Mailbox already exists");
		goto out;
	}
	if (mkdir(p.dir, 0700) < 0) {
		if (errno == EEXIST)
			maildir_error(mu, err, PZ_ERR_EXISTS, "Mailbox already exists");
		else
			maildir_syserror(mu, err, "mkdir", p.dir);
		goto out;
	}
	if (maildir_mkdir_maildir(p.dir, 1) < 0) {
		maildir_syserror(mu, err, "mkdir", p.dir);
		maildir_rmdir_recursive(p.dir);
		goto out;
	}
	if (special_use != 0 && special_use_set(mu, &p, special_use, err) < 0)
		goto out;
	ret = 0;
out:
	HOST->pool_destroy(&pool);
	return ret;
}

/* trash_dir - rename a folder aside and remove it (Dovecot's way: the
 * mailbox disappears at once even if removing its files takes long) */
static int trash_dir(struct pz_mail_user *mu, pz_pool *pool, const char *dir,
		     pz_error *err)
{
	char *trash = maildir_path(pool, mu->root, MAILDIR_TRASHED_NAME, NULL);

	for (int attempt = 0; attempt < 3; attempt++) {
		if (rename(dir, trash) == 0)
			break;
		if (errno == ENOENT)
			return maildir_error(mu, err, PZ_ERR_NOT_FOUND,
					     "Mailbox does not exist");
		if (errno != ENOTEMPTY && errno != EEXIST)
			return maildir_syserror(mu, err, "rename", dir);
		maildir_rmdir_recursive(trash);
	}
	if (maildir_rmdir_recursive(trash) < 0)
		maildir_log(PZ_LOG_WARNING, "could not remove all of %s: %s", trash,
			    strerror(errno));
	return 0;
}

int maildir_mailbox_delete(pz_mail_user *mu, const char *name, pz_error *err)
{
	pz_pool *pool = HOST->pool_create("maildir delete");
	struct maildir_paths p;
	struct stat st;
	int ret = -1;

	maildir_index_idle_close(mu);
	if (maildir_paths_lookup(mu, pool, name, &p, err) < 0)
		goto out;
	if (p.dirname[0] == '\0') {
		maildir_error(mu, err, PZ_ERR_PERM, "INBOX cannot be deleted");
		goto out;
	}
	if (stat(p.dir, &st) < 0) {
		if (errno == ENOENT)
			maildir_error(mu, err, PZ_ERR_NOT_FOUND,
				      "Mailbox does not exist: %s", p.name);
		else
			maildir_syserror(mu, err, "stat", p.dir);
		goto out;
	}
	if (trash_dir(mu, pool, p.dir, err) < 0)
		goto out;
	if (strcmp(p.index_dir, p.dir) != 0)
		maildir_rmdir_recursive(p.index_dir);
	maildir_quota_invalidate(mu);
	ret = 0;
out:
	HOST->pool_destroy(&pool);
	return ret;
}

/* rename_inbox - move INBOX's messages into a new mailbox (RFC 9051
 * 6.3.6); INBOX stays, empty, and its next sync expunges them */
static int rename_inbox(struct pz_mail_user *mu, pz_pool *pool,
			const struct maildir_paths *to, pz_error *err)
{
	struct maildir_mbox mb;
	int ret = 0;

	if (maildir_mailbox_create(mu, to->name, 0, err) < 0)
		return -1;
	if (maildir_mbox_open(mu, "INBOX", pool, 0, &mb, err) < 0)
		return -1;
	if (maildir_index_begin(&mb, 1, err) < 0) {
		maildir_mbox_close(&mb);
		return -1;
	}
	for (int in_new = 0; in_new <= 1 && ret == 0; in_new++) {
		const char *sub = in_new ? "new" : "cur";
		char *dir = maildir_path(pool, mb.paths.dir, sub, NULL);
		DIR *d = opendir(dir);
		struct dirent *de;

		if (d == NULL) {
			ret = maildir_syserror(mu, err, "opendir", dir);
			break;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (rename(maildir_path(pool, dir, de->d_name, NULL),
				   maildir_path(pool, to->dir, sub, de->d_name)) < 0 &&
			    errno != ENOENT) {
				ret = maildir_syserror(mu, err, "rename", de->d_name);
				break;
			}
		}
		closedir(d);
	}
	if (ret == 0)
		ret = maildir_sync_disk(&mb, MAILDIR_SYNC_LOCKED | MAILDIR_SYNC_FORCE,
					err);
	if (ret == 0)
		ret = maildir_index_commit(&mb, err);
	maildir_mbox_close(&mb);
	return ret;
}

struct rename_pair {
	char *from, *to; /* folder names in the root */
};

/* rename_collect - the folder and its children, with their new names */
static int rename_collect(struct pz_mail_user *mu, pz_pool *pool,
			  const struct maildir_paths *from,
			  const struct maildir_paths *to,
			  struct rename_pair **pairs_r, size_t *n_r, pz_error *err)
{
	size_t flen = strlen(from->dirname), n = 0, alloc = 16;
	struct rename_pair *pairs = HOST->pool_alloc(pool, alloc * sizeof(*pairs));
	DIR *d = opendir(mu->root);
	struct dirent *de;

	if (d == NULL)
		return maildir_syserror(mu, err, "opendir", mu->root);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, from->dirname, flen) != 0 ||
		    (de->d_name[flen] != '\0' && de->d_name[flen] != '.'))
			continue;
		if (n == alloc) {
			pairs = HOST->pool_realloc(pool, pairs, alloc * sizeof(*pairs),
						   alloc * 2 * sizeof(*pairs));
			alloc *= 2;
		}
		pairs[n].from = HOST->pool_strdup(pool, de->d_name);
		pairs[n].to = HOST->pool_printf(pool, "%s%s", to->dirname,
						de->d_name + flen);
		if (strlen(pairs[n].to) > MAILDIR_DIRNAME_MAX) {
			closedir(d);
			return maildir_error(mu, err, PZ_ERR_PARAMS,
					     "Mailbox name too long");
		}
		n++;
	}
	closedir(d);
	*pairs_r = pairs;
	*n_r = n;
	return 0;
}

static int rename_dirs(struct pz_mail_user *mu, pz_pool *pool,
		       const struct maildir_paths *from,
		       const struct maildir_paths *to, pz_error *err)
{
	struct rename_pair *pairs = NULL;
	size_t n = 0;
	struct stat st;
	int separate_index = strcmp(mu->index_root, mu->root) != 0;

	if (rename_collect(mu, pool, from, to, &pairs, &n, err) < 0)
		return -1;
	if (n == 0)
		return maildir_error(mu, err, PZ_ERR_NOT_FOUND,
				     "Mailbox does not exist: %s", from->name);
	for (size_t i = 0; i < n; i++) {
		if (lstat(maildir_path(pool, mu->root, pairs[i].to, NULL), &st) == 0)
			return maildir_error(mu, err, PZ_ERR_EXISTS,
					     "Mailbox already exists");
	}
	for (size_t i = 0; i < n; i++) {
		char *src = maildir_path(pool, mu->root, pairs[i].from, NULL);
		char *dst = maildir_path(pool, mu->root, pairs[i].to, NULL);

		if (rename(src, dst) < 0)
			return maildir_syserror(mu, err, "rename", src);
		if (separate_index)
			rename(maildir_path(pool, mu->index_root, pairs[i].from, NULL),
			       maildir_path(pool, mu->index_root, pairs[i].to, NULL));
	}
	return 0;
}

int maildir_mailbox_rename(pz_mail_user *mu, const char *from, const char *to,
			   pz_error *err)
{
	pz_pool *pool = HOST->pool_create("maildir rename");
	struct maildir_paths pf, pt;
	int ret = -1;

	maildir_index_idle_close(mu);
	if (maildir_paths_lookup(mu, pool, from, &pf, err) < 0 ||
	    maildir_paths_lookup(mu, pool, to, &pt, err) < 0)
		goto out;
	if (pt.dirname[0] == '\0') {
		maildir_error(mu, err, PZ_ERR_EXISTS, "Mailbox already exists");
		goto out;
	}
	if (strcmp(pf.name, pt.name) == 0) {
		maildir_error(mu, err, PZ_ERR_EXISTS, "Mailbox already exists");
		goto out;
	}
	if (pf.dirname[0] == '\0')
		ret = rename_inbox(mu, pool, &pt, err);
	else
		ret = rename_dirs(mu, pool, &pf, &pt, err);
out:
	HOST->pool_destroy(&pool);
	return ret;
}

/* ---- status */

int maildir_mailbox_status(pz_mail_user *mu, const char *name,
			   unsigned int items, struct pz_mailbox_status *st,
			   pz_error *err)
{
	pz_pool *pool = HOST->pool_create("maildir status");
	struct maildir_mbox mb;
	struct maildir_hdr h;
	struct maildir_counts c = { 0 };
	int ret = -1;

	/* no view: the sync leaves internal dates for one to learn */
	if (maildir_mbox_open(mu, name, pool, 0, &mb, err) < 0)
		goto out;
	if (maildir_sync_disk(&mb, 0, err) < 0 ||
	    maildir_index_hdr_get(&mb, &h, err) < 0)
		goto close;
	maildir_index_counts(&h, &c);
	SET_FIELD(st, messages, c.messages);
	SET_FIELD(st, recent, c.recent);
	SET_FIELD(st, uidnext, h.uidnext);
	SET_FIELD(st, uidvalidity, h.uidvalidity);
	SET_FIELD(st, unseen, c.unseen);
	SET_FIELD(st, deleted, c.deleted);
	SET_FIELD(st, bytes, c.bytes);
	SET_FIELD(st, highestmodseq, h.highestmodseq);
	SET_FIELD(st, special_use, maildir_special_use_get(mu, pool, &mb.paths));
	ret = 0;
close:
	maildir_mbox_close(&mb);
out:
	HOST->pool_destroy(&pool);
	return ret;
}

/* ---- autocreate */

static unsigned int special_use_by_name(const char *name)
{
	for (size_t i = 0; i < N_SPECIAL; i++) {
		if (strcasecmp(special_uses[i].name, name) == 0)
			return special_uses[i].use;
	}
	return 0;
}

int maildir_autocreate(struct pz_mail_user *mu, pz_error *err)
{
	char *names, *name, *save;

	if (maildir_set.autocreate == NULL || *maildir_set.autocreate == '\0')
		return 0;
	if (maildir_set.autosubscribe &&
	    maildir_mailbox_subscribe(mu, "INBOX", 1, err) < 0)
		return -1;
	names = HOST->pool_strdup(mu->pool, maildir_set.autocreate);
	for (name = strtok_r(names, " \t", &save); name != NULL;
	     name = strtok_r(NULL, " \t", &save)) {
		if (maildir_mailbox_create(mu, name, special_use_by_name(name), err) < 0 &&
		    err->cls != PZ_ERR_EXISTS)
			return -1;
		if (maildir_set.autosubscribe &&
		    maildir_mailbox_subscribe(mu, name, 1, err) < 0)
			return -1;
	}
	return 0;
}
