/* maildir-file.c - message file names and small file-system helpers.
 *
 * A message file name is "<base>[:2,<info>]" (cr.yp.to/proto/maildir.html,
 * Courier's Maildir++).  The base never changes once delivered and is the
 * message's identity; Dovecot adds ",S=<size>" and ",W=<rfc822 size>" to
 * it.  The info holds flags as letters in ASCII order: D(raft) F(lagged)
 * P(assed) R(eplied) S(een) T(rashed), then a..z for keywords (Dovecot's
 * dovecot-keywords).  Letters we do not know are kept as they are, and so
 * is anything after a ',' in the info (Dovecot's extension fields).
 */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const struct {
	char letter;
	uint32_t flag;
} flag_letters[] = {
	{ 'D', PZ_FLAG_DRAFT },
	{ 'F', PZ_FLAG_FLAGGED },
	{ 'P', MAILDIR_FLAG_PASSED },
	{ 'R', PZ_FLAG_ANSWERED },
	{ 'S', PZ_FLAG_SEEN },
	{ 'T', PZ_FLAG_DELETED },
};

size_t maildir_fname_base_len(const char *fname)
{
	const char *colon = strchr(fname, ':');
	return colon != NULL ? (size_t)(colon - fname) : strlen(fname);
}

/* parse_u64 - digits at p into *out; 0 when there were none */
static int parse_u64(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *start = p;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == start || (p < end && *p != ','))
		return 0;
	*out = v;
	return 1;
}

void maildir_fname_parse(const char *fname, struct maildir_fname *f)
{
	size_t blen = maildir_fname_base_len(fname);
	const char *end = fname + blen, *p, *info;
	size_t nunknown = 0;

	memset(f, 0, sizeof(*f));
	f->base = fname;
	f->base_len = blen;
	for (p = memchr(fname, ',', blen); p != NULL && p < end;
	     p = memchr(p + 1, ',', (size_t)(end - p - 1))) {
		if (p[1] == 'S' && p[2] == '=')
			f->has_psize = parse_u64(p + 3, end, &f->psize);
		else if (p[1] == 'W' && p[2] == '=')
			f->has_vsize = parse_u64(p + 3, end, &f->vsize);
	}
	if (fname[blen] != ':' || strncmp(fname + blen + 1, "2,", 2) != 0)
		return;
	f->has_info = 1;
	for (info = fname + blen + 3; *info != '\0' && *info != ','; info++) {
		char c = *info;
		size_t i;

		if (c >= 'a' && c <= 'z') {
			f->kw_letters |= 1u << (c - 'a');
			continue;
		}
		for (i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++) {
			if (flag_letters[i].letter == c) {
				f->flags |= flag_letters[i].flag;
				break;
			}
		}
		if (i == sizeof(flag_letters) / sizeof(flag_letters[0]) &&
		    c > ' ' && c < 0x7f && nunknown + 1 < sizeof(f->unknown) &&
		    strchr(f->unknown, c) == NULL)
			f->unknown[nunknown++] = c;
	}
	f->tail = *info == ',' ? info : NULL;
}

char *maildir_fname_build(pz_pool *pool, const char *base, size_t base_len,
			  uint32_t flags, uint32_t kw_letters,
			  const char *unknown, const char *tail)
{
	char present[128] = { 0 }, letters[128];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++) {
		if ((flags & flag_letters[i].flag) != 0)
			present[(unsigned char)flag_letters[i].letter] = 1;
	}
	for (int i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
		if ((kw_letters & (1u << i)) != 0)
			present['a' + i] = 1;
	}
	for (const char *u = unknown; u != NULL && *u != '\0'; u++) {
		if ((unsigned char)*u < 128)
			present[(unsigned char)*u] = 1;
	}
	for (int c = '!'; c < 127; c++) {
		if (present[c])
			letters[n++] = (char)c;
	}
	letters[n] = '\0';
	return HOST->pool_printf(pool, "%.*s:2,%s%s", (int)base_len, base, letters,
				 tail != NULL ? tail : "");
}

/* hostname_part - this host's name made safe for a file name (Dovecot
 * escapes '/' and ':'; ',' is escaped too so S= and W= parse cleanly). */
static const char *hostname_part(void)
{
	static char safe[256];
	char host[128];
	size_t o = 0;

	if (safe[0] != '\0')
		return safe;
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	for (const char *p = host; *p != '\0' && o + 5 < sizeof(safe); p++) {
		if (*p == '/' || *p == ':' || *p == ',') {
			o += (size_t)snprintf(safe + o, sizeof(safe) - o, "\\%03o",
					      (unsigned char)*p);
		} else {
			safe[o++] = *p;
		}
	}
	safe[o] = '\0';
	return safe;
}

char *maildir_unique_base(pz_pool *pool)
{
	static unsigned int counter;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return HOST->pool_printf(pool, "%lld.M%06ldP%ldQ%u.%s", (long long)tv.tv_sec,
				 (long)tv.tv_usec, (long)getpid(), ++counter,
				 hostname_part());
}

char *maildir_path(pz_pool *pool, const char *dir, const char *sub,
		   const char *fname)
{
	if (fname == NULL)
		return HOST->pool_printf(pool, "%s/%s", dir, sub);
	return HOST->pool_printf(pool, "%s/%s/%s", dir, sub, fname);
}

int maildir_fsync_dir(const char *dir)
{
	int fd, ret;

	if (!maildir_set.fsync)
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

static void *dir_sync_run(void *arg)
{
	struct maildir_dir_sync *ds = arg;

	ds->ret = maildir_fsync_dir(ds->dir);
	ds->error = errno;
	return NULL;
}

void maildir_dir_sync_start(struct maildir_dir_sync *ds, const char *dir)
{
	pthread_attr_t attr;

	ds->dir = dir;
	ds->ret = 0;
	ds->started = 0;
	if (maildir_set.fsync && pthread_attr_init(&attr) == 0) {
		/* an fsync needs little stack; a small one keeps the process
		 * far from its memory limit */
		pthread_attr_setstacksize(&attr, MAILDIR_DIR_SYNC_STACK);
		ds->started = pthread_create(&ds->thread, &attr, dir_sync_run, ds) == 0;
		pthread_attr_destroy(&attr);
	}
	if (!ds->started)
		dir_sync_run(ds); /* no thread: here and now */
}

int maildir_dir_sync_finish(struct maildir_dir_sync *ds)
{
	if (ds->started)
		pthread_join(ds->thread, NULL);
	ds->started = 0;
	errno = ds->error;
	return ds->ret;
}

/* maildir_mkdir_maildir - create dir with cur/ new/ tmp/ (existing parts
 * are fine); a sub-folder also gets the Maildir++ "maildirfolder" mark. */
int maildir_mkdir_maildir(const char *dir, int folder_marker)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	char path[4096];

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, subs[i]) >=
		    sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	if (folder_marker) {
		int fd;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     MAILDIR_FOLDER_MARKER) >= sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

int maildir_read_file(pz_pool *pool, const char *path, size_t max,
		      char **data_r, size_t *len_r, struct stat *st_r)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	buf = HOST->pool_alloc(pool, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*data_r = buf;
	*len_r = got;
	if (st_r != NULL)
		*st_r = st;
	return 0;
fail:
	{
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

int maildir_write_file(const char *path, const char *data, size_t len)
{
	char tmp[4200];
	size_t off = 0;
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
			     (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (maildir_set.fsync && fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

int maildir_file_vsize(int fd, uint64_t *psize_r, uint64_t *vsize_r)
{
	unsigned char buf[65536];
	uint64_t psize = 0, bare_lf = 0;
	unsigned char prev = 0;
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && prev != '\r')
				bare_lf++;
			prev = buf[i];
		}
		psize += (uint64_t)n;
		off += n;
	}
	*psize_r = psize;
	*vsize_r = psize + bare_lf;
	return 0;
}

/* rm_at - remove everything below dirfd, then the entry itself */
static int rm_at(int parent, const char *name, int depth)
{
	DIR *d;
	struct dirent *de;
	int fd, ret = 0;

	if (depth > 64) {
		errno = ELOOP;
		return -1;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -1 : 0;
		return errno == ENOENT ? 0 : -1;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			if (rm_at(dirfd(d), de->d_name, depth + 1) < 0)
				ret = -1;
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			ret = -1;
		}
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

int maildir_rmdir_recursive(const char *path)
{
	return rm_at(AT_FDCWD, path, 0);
}

uint64_t maildir_fname_order(const char *fname)
{
	uint64_t sec = 0, usec = 0;
	const char *p = fname;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (sec >= (UINT64_MAX >> 20) / 10)
			return 0;
		sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (p == fname || *p != '.')
		return 0;
	/* "M<usec>" in the part up to the next '.' (Dovecot's names) */
	for (p++; *p != '\0' && *p != '.' && *p != ':'; p++) {
		if (*p != 'M')
			continue;
		for (p++; *p >= '0' && *p <= '9' && usec < 1000000; p++)
			usec = usec * 10 + (uint64_t)(*p - '0');
		break;
	}
	return sec << 20 | (usec < 1000000 ? usec : 0);
}

int64_t maildir_fname_time(const char *fname)
{
	int64_t t = 0;
	const char *p = fname;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (t > (INT64_MAX - 9) / 10)
			return -1;
		t = t * 10 + (*p - '0');
	}
	return p > fname && *p == '.' ? t : -1;
}

int64_t maildir_st_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int64_t maildir_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
