/* maildir-scan.c - reading new/ and cur/, and stat()ing their files.
 *
 * A mailbox of 100,000 messages is 100,000 directory entries.  They are
 * read with getdents64 in large batches; each batch becomes one block that
 * holds its entries and their names (no allocation per entry) and never
 * moves, so other threads may write into it.
 *
 * stat() of every file is what makes the first scan of a maildir slow when
 * its inodes are not cached: each call waits for the disk.  File names
 * carry the sizes (S=, W=) and the flags; only internal dates need the
 * mtime, and only when a view asks for them (see MAILDIR_IDATE_UNKNOWN).
 * When many files need it, a few worker threads do it so that the waits
 * overlap; during the first scan of a maildir they start on each batch
 * while the next one is read.  The threads only call fstatat() and write
 * the result into the entries handed to them; they block every signal and
 * are joined before the sync goes on, so the rest of the module stays
 * single-threaded.
 */
#define _GNU_SOURCE
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Entries a worker takes from the queue at a time. */
#define STATQ_CHUNK 64

struct maildir_dirblock {
	struct maildir_dirblock *next;
	size_t n;
	struct maildir_dirent ents[];   /* then the names */
};

/* ---- stat() on worker threads */

struct statq_job {
	struct maildir_dirent *ents;
	size_t n;
};

struct maildir_statq {
	int new_fd, cur_fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct statq_job *jobs;
	size_t njobs, jobs_alloc;
	size_t job, pos;            /* the next entry to take */
	int closing;                /* no more jobs: workers leave when done */
	unsigned int nthreads;
	pthread_t threads[MAILDIR_STAT_THREADS_MAX];
};

/* stat_one - the mtime and size of an entry not stat()ed yet */
static void stat_one(int new_fd, int cur_fd, struct maildir_dirent *e)
{
	struct stat st;

	if (e->st_state != MAILDIR_ST_NONE)
		return;
	if (fstatat(e->in_new ? new_fd : cur_fd, e->name, &st, 0) < 0) {
		e->st_errno = errno;
		e->st_state = errno == ENOENT ? MAILDIR_ST_GONE : MAILDIR_ST_ERROR;
	} else if (!S_ISREG(st.st_mode)) {
		e->st_state = MAILDIR_ST_GONE;
	} else {
		e->mtime = st.st_mtim.tv_sec;
		e->size = (uint64_t)st.st_size;
		e->st_state = MAILDIR_ST_FILE;
	}
}

/* statq_take - the next entries to stat (lock held); 0 when none now */
static size_t statq_take(struct maildir_statq *q, struct maildir_dirent **ents_r)
{
	while (q->job < q->njobs && q->pos >= q->jobs[q->job].n) {
		q->job++;
		q->pos = 0;
	}
	if (q->job == q->njobs)
		return 0;
	size_t n = q->jobs[q->job].n - q->pos;
	if (n > STATQ_CHUNK)
		n = STATQ_CHUNK;
	*ents_r = q->jobs[q->job].ents + q->pos;
	q->pos += n;
	return n;
}

/* statq_work - stat what the queue offers until it is closed and empty */
static void *statq_work(void *_q)
{
	struct maildir_statq *q = _q;
	struct maildir_dirent *ents;
	size_t n;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		n = statq_take(q, &ents);
		if (n > 0) {
			pthread_mutex_unlock(&q->lock);
			for (size_t i = 0; i < n; i++)
				stat_one(q->new_fd, q->cur_fd, &ents[i]);
			pthread_mutex_lock(&q->lock);
		} else if (q->closing) {
			break;
		} else {
			pthread_cond_wait(&q->cond, &q->lock);
		}
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* statq_threads - as many as CPUs, at least 2 (the disk waits overlap),
 * at most MAILDIR_STAT_THREADS_MAX */
static unsigned int statq_threads(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 2)
		return 2;
	return cpus > MAILDIR_STAT_THREADS_MAX ? MAILDIR_STAT_THREADS_MAX :
		(unsigned int)cpus;
}

struct maildir_statq *maildir_statq_start(int new_fd, int cur_fd)
{
	struct maildir_statq *q = calloc(1, sizeof(*q));
	unsigned int want = statq_threads();
	sigset_t all, old;

	if (q == NULL)
		return NULL;
	q->new_fd = new_fd;
	q->cur_fd = cur_fd;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	/* signals stay with the process's own thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (q->nthreads < want &&
	       pthread_create(&q->threads[q->nthreads], NULL, statq_work, q) == 0)
		q->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return q;
}

void maildir_statq_add(struct maildir_statq *q, struct maildir_dirent *ents,
		       size_t n)
{
	if (q == NULL || n == 0)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->njobs == q->jobs_alloc) {
		size_t na = q->jobs_alloc != 0 ? q->jobs_alloc * 2 : 64;
		void *p = na < SIZE_MAX / sizeof(*q->jobs) ?
			realloc(q->jobs, na * sizeof(*q->jobs)) : NULL;

		if (p == NULL) {
			/* no room to queue them: stat them here and now */
			pthread_mutex_unlock(&q->lock);
			for (size_t i = 0; i < n; i++)
				stat_one(q->new_fd, q->cur_fd, &ents[i]);
			return;
		}
		q->jobs = p;
		q->jobs_alloc = na;
	}
	q->jobs[q->njobs].ents = ents;
	q->jobs[q->njobs].n = n;
	q->njobs++;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void maildir_statq_finish(struct maildir_statq **_q)
{
	struct maildir_statq *q = *_q;

	if (q == NULL)
		return;
	*_q = NULL;
	pthread_mutex_lock(&q->lock);
	q->closing = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	/* this thread helps (and does it all when no thread started) */
	statq_work(q);
	for (unsigned int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->jobs);
	free(q);
}

void maildir_stat_ents(int new_fd, int cur_fd, struct maildir_dirent *ents,
		       size_t n)
{
	struct maildir_statq *q;
	size_t todo = 0;

	for (size_t i = 0; i < n; i++)
		todo += ents[i].st_state == MAILDIR_ST_NONE;
	if (todo < MAILDIR_STAT_PARALLEL_MIN ||
	    (q = maildir_statq_start(new_fd, cur_fd)) == NULL) {
		for (size_t i = 0; i < n; i++)
			stat_one(new_fd, cur_fd, &ents[i]);
		return;
	}
	maildir_statq_add(q, ents, n);
	maildir_statq_finish(&q);
}

/* ---- reading a directory */

/* skip_entry - dot files (".", "..", hidden) and directories */
static int skip_entry(const struct dirent64 *d)
{
	return d->d_name[0] == '.' || d->d_type == DT_DIR;
}

/* block_new - the entries of one getdents64 batch as a block */
static struct maildir_dirblock *block_new(const char *buf, size_t len, int in_new)
{
	struct maildir_dirblock *b;
	size_t n = 0, names = 0, off;
	char *p;

	for (off = 0; off < len; off += ((const struct dirent64 *)(buf + off))->d_reclen) {
		const struct dirent64 *d = (const void *)(buf + off);

		if (!skip_entry(d)) {
			n++;
			names += strlen(d->d_name) + 1;
		}
	}
	/* n and names are below MAILDIR_GETDENTS_BUF_SIZE: no overflow */
	b = malloc(sizeof(*b) + n * sizeof(b->ents[0]) + names);
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->n = 0;
	p = (char *)&b->ents[n];
	for (off = 0; off < len; off += ((const struct dirent64 *)(buf + off))->d_reclen) {
		const struct dirent64 *d = (const void *)(buf + off);
		struct maildir_dirent *e;
		size_t l;

		if (skip_entry(d))
			continue;
		e = &b->ents[b->n++];
		memset(e, 0, sizeof(*e));
		l = strlen(d->d_name) + 1;
		memcpy(p, d->d_name, l);
		e->name = p;
		e->base_len = maildir_fname_base_len(p);
		e->in_new = (unsigned char)in_new;
		e->d_type = d->d_type;
		p += l;
	}
	return b;
}

/* dirlist_add - keep a block, and its entries in directory order */
static int dirlist_add(struct maildir_dirlist *l, struct maildir_dirblock *b)
{
	b->next = l->blocks;
	l->blocks = b;
	if (l->count + b->n > l->alloc) {
		size_t na = l->alloc != 0 ? l->alloc : 1024;
		void *p;

		while (na < l->count + b->n) {
			if (na > SIZE_MAX / 2 / sizeof(*l->ents))
				return -1;
			na *= 2;
		}
		p = realloc(l->ents, na * sizeof(*l->ents));
		if (p == NULL)
			return -1;
		l->ents = p;
		l->alloc = na;
	}
	for (size_t i = 0; i < b->n; i++)
		l->ents[l->count++] = &b->ents[i];
	return 0;
}

int maildir_dirlist_read(struct maildir_dirlist *l, int dirfd, int in_new,
			 struct maildir_statq *q)
{
	ssize_t len;

	if (l->buf == NULL && (l->buf = malloc(MAILDIR_GETDENTS_BUF_SIZE)) == NULL)
		return -1;
	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return -1;
	while ((len = getdents64(dirfd, l->buf, MAILDIR_GETDENTS_BUF_SIZE)) > 0) {
		struct maildir_dirblock *b = block_new(l->buf, (size_t)len, in_new);

		if (b == NULL) {
			errno = ENOMEM;
			return -1;
		}
		if (dirlist_add(l, b) < 0) {
			errno = ENOMEM;
			return -1;
		}
		maildir_statq_add(q, b->ents, b->n);
	}
	return len < 0 ? -1 : 0;
}

void maildir_dirlist_clear(struct maildir_dirlist *l)
{
	while (l->blocks != NULL) {
		struct maildir_dirblock *b = l->blocks;

		l->blocks = b->next;
		free(b);
	}
	l->count = 0;
}

void maildir_dirlist_free(struct maildir_dirlist *l)
{
	maildir_dirlist_clear(l);
	free(l->ents);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}
