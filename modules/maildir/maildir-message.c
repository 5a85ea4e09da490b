/* maildir-message.c - message access and changes in an opened view:
 * info, the message stream with CRLF line ends, the parsed-data cache,
 * flag stores and expunges.
 *
 * Mail on disk has LF line ends (as every maildir tool writes it); IMAP
 * needs CRLF.  The stream inserts a CR before every LF that lacks one, and
 * the size it reports is the W= size (RFC822.SIZE), as Dovecot's is.
 */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIELD_FITS(st, field) \
	(offsetof(__typeof__(*(st)), field) + sizeof((st)->field) <= (st)->size)
#define SET_FIELD(st, field, v) \
	do { if (FIELD_FITS(st, field)) (st)->field = (v); } while (0)

#define CRLF_BUF_SIZE 32768

int maildir_msg_info(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		     struct pz_msg_info *info, pz_error *err)
{
	int i = maildir_view_find(box, uid);
	const struct maildir_vmsg *v;
	size_t n = 0;
	const char **names;
	int64_t idate;

	if (i < 0)
		return 1;
	v = &box->msgs[i];
	/* a view opened with PZ_OPEN_DATES_LATER may not know it yet */
	idate = v->idate != MAILDIR_IDATE_UNKNOWN ? v->idate : 0;
	names = maildir_kw_names(pool, &box->mb.kw, v->kw, &n, 1);
	SET_FIELD(info, uid, v->uid);
	SET_FIELD(info, flags, v->flags & (MAILDIR_PZ_FLAGS | PZ_FLAG_RECENT));
	SET_FIELD(info, keywords, names);
	SET_FIELD(info, keyword_count, n);
	SET_FIELD(info, modseq, v->modseq);
	SET_FIELD(info, rfc822_size, v->vsize);
	SET_FIELD(info, internal_date, (time_t)idate);
	SET_FIELD(info, internal_date_tz, v->idate_tz);
	return 0;
}

int maildir_msg_internal_date(pz_mailbox *box, uint32_t uid, time_t *date_r, int *tz_r,
			      pz_error *err)
{
	int i = maildir_view_find(box, uid);
	pz_pool *pool;

	(void)err;
	if (i < 0)
		return 1;
	pool = HOST->pool_create("maildir date");
	*date_r = (time_t)maildir_vmsg_idate(box, &box->msgs[i], pool);
	*tz_r = box->msgs[i].idate_tz;
	HOST->pool_destroy(&pool);
	return 0;
}

/* ---- the CRLF stream */

struct crlf_stream {
	int fd;
	uint64_t vsize;
	uint64_t vpos;      /* offset in the CRLF view */
	uint64_t fpos;      /* offset in the file */
	int prev_cr;        /* the byte before fpos was CR */
	int owe_lf;         /* emitted the CR of an inserted CRLF */
	uint64_t buf_off;
	size_t buf_len;
	unsigned char buf[CRLF_BUF_SIZE];
};

/* crlf_run - how many bytes from p (avail of them) go out as they are:
 * up to the first LF that has no CR before it (0 when p[0] is one) */
static size_t crlf_run(const unsigned char *p, size_t avail, int prev_cr)
{
	size_t len = 0;

	while (len < avail) {
		const unsigned char *nl = memchr(p + len, '\n', avail - len);
		size_t i;

		if (nl == NULL)
			return avail;
		i = (size_t)(nl - p);
		if (!(i > 0 ? p[i - 1] == '\r' : prev_cr))
			return i;
		len = i + 1;
	}
	return len;
}

/* crlf_produce - emit up to n bytes from the cursor (into out, or nowhere
 * when out is NULL); returns the count, -1 on read errors.  Runs of bytes
 * without a bare LF are copied whole; a bare LF goes out as CR, then LF. */
static ssize_t crlf_produce(struct crlf_stream *s, unsigned char *out, size_t n)
{
	size_t done = 0;

	while (done < n) {
		const unsigned char *p;
		size_t avail, len;

		if (s->owe_lf) {
			if (out != NULL)
				out[done] = '\n';
			done++;
			s->owe_lf = 0;
			s->vpos++;
			continue;
		}
		if (s->fpos < s->buf_off || s->fpos >= s->buf_off + s->buf_len) {
			ssize_t r = pread(s->fd, s->buf, sizeof(s->buf), (off_t)s->fpos);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0)
				break;
			s->buf_off = s->fpos;
			s->buf_len = (size_t)r;
		}
		p = s->buf + (s->fpos - s->buf_off);
		avail = s->buf_len - (size_t)(s->fpos - s->buf_off);
		if (avail > n - done)
			avail = n - done;
		len = crlf_run(p, avail, s->prev_cr);
		if (len == 0) {
			/* a bare LF: its CR now, the LF it owes next */
			if (out != NULL)
				out[done] = '\r';
			done++;
			s->fpos++;
			s->vpos++;
			s->owe_lf = 1;
			s->prev_cr = 0;
			continue;
		}
		if (out != NULL)
			memcpy(out + done, p, len);
		done += len;
		s->fpos += len;
		s->vpos += len;
		s->prev_cr = p[len - 1] == '\r';
	}
	return (ssize_t)done;
}

static ssize_t crlf_read_at(void *ctx, void *buf, size_t n, uint64_t offset)
{
	struct crlf_stream *s = ctx;

	if (offset < s->vpos) {
		s->vpos = s->fpos = 0;
		s->prev_cr = s->owe_lf = 0;
	}
	while (s->vpos < offset) {
		uint64_t skip = offset - s->vpos;
		ssize_t r = crlf_produce(s, NULL, skip > SIZE_MAX ? SIZE_MAX : (size_t)skip);
		if (r <= 0)
			return r;
	}
	return crlf_produce(s, buf, n);
}

static int64_t crlf_length(void *ctx)
{
	struct crlf_stream *s = ctx;
	return (int64_t)s->vsize;
}

static void crlf_close(void *ctx)
{
	struct crlf_stream *s = ctx;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static const struct pz_stream_ops crlf_ops = {
	.size = sizeof(struct pz_stream_ops),
	.read_at = crlf_read_at,
	.length = crlf_length,
	.close = crlf_close,
};

int maildir_msg_stream(pz_mailbox *box, uint32_t uid, pz_pool *pool,
		       pz_stream **stream_r, pz_error *err)
{
	struct maildir_mbox *mb = &box->mb;
	struct maildir_rec r;
	struct crlf_stream *s;
	struct stat st;
	uint64_t psize, vsize;
	int fd, ret;

	if (maildir_view_find(box, uid) < 0)
		return 1;
	ret = maildir_index_get(mb, uid, pool, &r, err);
	if (ret != 0)
		return ret;
	fd = maildir_open_rec(mb, &r, pool, err);
	if (fd < 0)
		return err->cls == PZ_ERR_NOT_FOUND ? 1 : -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return maildir_syserror(mb->mu, err, "fstat", r.fname);
	}
	psize = (uint64_t)st.st_size;
	vsize = r.vsize;
	if (psize != r.psize && maildir_file_vsize(fd, &psize, &vsize) < 0) {
		close(fd);
		return maildir_syserror(mb->mu, err, "read", r.fname);
	}
	if (vsize == psize) {
		/* already CRLF throughout */
		*stream_r = HOST->stream_from_fd(pool, fd, 1);
		return 0;
	}
	s = HOST->pool_alloc(pool, sizeof(*s));
	s->fd = fd;
	s->vsize = vsize;
	*stream_r = HOST->stream_new(pool, &crlf_ops, s);
	return 0;
}

/* ---- a field's cached values for a whole view (MAILDIR_MEMO_FIELDS) */

struct memo_entry {
	uint32_t uid;
	size_t len;
	const char *value;   /* NUL-terminated copy */
};

struct maildir_memo {
	char *field;         /* malloc'd, as the memo */
	unsigned int asked;  /* lookups before the values were read */
	int loaded;
	int too_big;         /* past MAILDIR_MEMO_BYTES: each value alone */
	pz_pool *pool;       /* the values, once read */
	struct memo_entry *e; /* ascending uid */
	size_t n, alloc, bytes;
};

static int memo_add(void *ctx, uint32_t uid, const void *value, size_t len)
{
	struct maildir_memo *m = ctx;
	char *copy;

	if (m->bytes + len > MAILDIR_MEMO_BYTES) {
		m->too_big = 1;
		return 1;
	}
	if (m->n == m->alloc) {
		size_t alloc = m->alloc == 0 ? 256 : m->alloc * 2;
		struct memo_entry *e = HOST->pool_alloc(m->pool, alloc * sizeof(*e));

		if (m->n > 0)
			memcpy(e, m->e, m->n * sizeof(*e));
		m->e = e;
		m->alloc = alloc;
		m->bytes += alloc * sizeof(*e);
	}
	copy = HOST->pool_alloc(m->pool, len + 1);
	m->bytes += len + 1;
	if (len > 0)
		memcpy(copy, value, len);
	copy[len] = '\0';
	m->e[m->n].uid = uid;
	m->e[m->n].len = len;
	m->e[m->n++].value = copy;
	return 0;
}

static void memo_free(struct maildir_memo **_m)
{
	struct maildir_memo *m = *_m;

	if (m == NULL)
		return;
	*_m = NULL;
	if (m->pool != NULL)
		HOST->pool_destroy(&m->pool);
	free(m->field);
	free(m);
}

void maildir_memo_clear(struct pz_mailbox *box)
{
	for (size_t i = 0; i < MAILDIR_MEMO_FIELDS; i++)
		memo_free(&box->memo[i]);
}

/* memo_slot - where the view keeps `field`, or -1 */
static int memo_slot(const struct pz_mailbox *box, const char *field)
{
	for (int i = 0; i < MAILDIR_MEMO_FIELDS; i++) {
		if (box->memo[i] != NULL && strcmp(box->memo[i]->field, field) == 0)
			return i;
	}
	return -1;
}

/* memo_for - the view's values of `field` once MAILDIR_MEMO_AFTER
 * lookups of it asked for them (a FETCH of a few messages reads no more
 * than those), else NULL; a field new to the view takes the place of the
 * one kept longest */
static struct maildir_memo *memo_for(struct pz_mailbox *box, const char *field)
{
	size_t last = MAILDIR_MEMO_FIELDS - 1;
	int slot = memo_slot(box, field);
	struct maildir_memo *m;
	pz_error err;

	if (slot >= 0) {
		m = box->memo[slot];
	} else {
		m = calloc(1, sizeof(*m));
		if (m == NULL || (m->field = strdup(field)) == NULL) {
			free(m);
			return NULL;
		}
		memo_free(&box->memo[last]);
		memmove(&box->memo[1], &box->memo[0], last * sizeof(box->memo[0]));
		box->memo[0] = m;
	}
	if (m->loaded)
		return m->too_big ? NULL : m;
	if (++m->asked < MAILDIR_MEMO_AFTER)
		return NULL;
	m->loaded = 1;
	m->pool = HOST->pool_create("maildir memo");
	if (maildir_index_cache_range(&box->mb, field, box->msgs[0].uid,
				      box->msgs[box->count - 1].uid, memo_add, m,
				      &err) < 0 || m->too_big) {
		/* each value found alone */
		HOST->pool_destroy(&m->pool);
		m->too_big = 1;
		m->n = 0;
		return NULL;
	}
	return m;
}

static int memo_cmp(const void *key, const void *elem)
{
	uint32_t uid = *(const uint32_t *)key;
	const struct memo_entry *e = elem;

	return uid < e->uid ? -1 : uid > e->uid;
}

int maildir_msg_cache_get(pz_mailbox *box, uint32_t uid, const char *field,
			  pz_pool *pool, const char **value_r, size_t *len_r,
			  pz_error *err)
{
	struct maildir_memo *m;
	const struct memo_entry *e;
	char *copy;

	/* not in the memo: cached since it was read, or not at all */
	if (box->count == 0 || box->count > MAILDIR_DATES_BATCH_MAX ||
	    maildir_view_find(box, uid) < 0 || (m = memo_for(box, field)) == NULL ||
	    m->n == 0 ||
	    (e = bsearch(&uid, m->e, m->n, sizeof(*m->e), memo_cmp)) == NULL)
		return maildir_index_cache_get(&box->mb, uid, field, pool, value_r,
					       len_r, err);
	copy = HOST->pool_alloc(pool, e->len + 1);
	memcpy(copy, e->value, e->len + 1);
	*value_r = copy;
	*len_r = e->len;
	return 0;
}

int maildir_msg_cache_set(pz_mailbox *box, uint32_t uid, const char *field,
			  const char *value, size_t len, pz_error *err)
{
	int slot = memo_slot(box, field);

	/* a memo of the field may hold the value this replaces: it goes */
	if (slot >= 0) {
		memo_free(&box->memo[slot]);
		memmove(&box->memo[slot], &box->memo[slot + 1],
			(size_t)(MAILDIR_MEMO_FIELDS - 1 - slot) * sizeof(box->memo[0]));
		box->memo[MAILDIR_MEMO_FIELDS - 1] = NULL;
	}
	return maildir_index_cache_set(&box->mb, uid, field, value, len, err);
}

/* ---- store and expunge */

static int check_writable(pz_mailbox *box, pz_error *err)
{
	if ((box->open_flags & PZ_OPEN_READONLY) != 0)
		return maildir_error(box->mb.mu, err, PZ_ERR_PERM,
				     "Mailbox is read-only");
	return 0;
}

/* lock_and_sync - take the mailbox lock with the index up to date */
static int lock_and_sync(struct maildir_mbox *mb, pz_error *err)
{
	if (maildir_index_begin(mb, 0, err) < 0)
		return -1;
	if (maildir_sync_disk(mb, MAILDIR_SYNC_LOCKED, err) < 0) {
		maildir_index_rollback(mb);
		return -1;
	}
	return 0;
}

/* rename_rec - give a record's file the name of its new flags */
static int rename_rec(struct maildir_mbox *mb, struct maildir_rec *r,
		      uint32_t flags, const char *kw, pz_pool *pool, pz_error *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct maildir_fname f;
		char *src, *dest, *destpath;

		maildir_fname_parse(r->fname, &f);
		/* letters with no keyword name stay as other tools set them */
		uint32_t keep = 0;
		for (uint32_t i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
			if ((f.kw_letters & (1u << i)) != 0 &&
			    (i >= mb->kw.count || mb->kw.names[i] == NULL))
				keep |= 1u << i;
		}
		dest = maildir_fname_build(pool, r->base, strlen(r->base), flags,
					   maildir_kw_letters(kw) | keep, f.unknown,
					   f.tail);
		src = maildir_path(pool, mb->paths.dir, r->in_new ? "new" : "cur",
				   r->fname);
		destpath = maildir_path(pool, mb->paths.dir, "cur", dest);
		if (strcmp(src, destpath) == 0)
			return 0;
		if (rename(src, destpath) == 0) {
			if (r->in_new)
				maildir_index_dir_touched(mb, MAILDIR_NEW);
			maildir_index_dir_touched(mb, MAILDIR_CUR);
			r->fname = dest;
			r->in_new = 0;
			return 0;
		}
		if (errno != ENOENT)
			return maildir_syserror(mb->mu, err, "rename", src);
		int ret = maildir_sync_find_file(mb, r->base, pool, &r->fname,
						 &r->in_new, err);
		if (ret != 0)
			return ret;
	}
	return 1;
}

static int resolve_keywords(struct maildir_mbox *mb,
			    const struct pz_store_args *args, uint32_t *ids,
			    size_t *n_r, pz_error *err)
{
	size_t n = 0;

	for (size_t i = 0; i < args->keyword_count; i++) {
		uint32_t id;
		int known = maildir_keyword_lookup(&mb->kw, args->keywords[i]);

		if (args->mode == PZ_STORE_REMOVE) {
			if (known >= 0)
				ids[n++] = (uint32_t)known;
			continue;
		}
		if (maildir_keyword_get(mb, args->keywords[i], &id, err) < 0)
			return -1;
		ids[n++] = id;
	}
	*n_r = n;
	return 0;
}

static uint32_t new_flags(uint32_t old, const struct pz_store_args *args)
{
	uint32_t f = args->flags & MAILDIR_PZ_FLAGS;

	switch (args->mode) {
	case PZ_STORE_ADD:
		return old | f;
	case PZ_STORE_REMOVE:
		return old & ~f;
	default:
		return (old & MAILDIR_FLAG_PASSED) | f;
	}
}

static int store_one(pz_mailbox *box, struct maildir_vmsg *v,
		     const struct pz_store_args *args, const uint32_t *ids,
		     size_t nids, struct maildir_hdr *h, pz_pool *pool,
		     pz_uid_array *changed_r, pz_uid_array *refused_r, pz_error *err)
{
	struct maildir_mbox *mb = &box->mb;
	struct maildir_rec r;
	uint32_t flags, old_flags;
	char *kw;
	int ret = maildir_index_get(mb, v->uid, pool, &r, err);

	if (ret != 0)
		return ret < 0 ? -1 : 0;
	if (FIELD_FITS(args, unchanged_since) && args->unchanged_since != 0 &&
	    r.modseq > args->unchanged_since) {
		if (refused_r != NULL)
			HOST->uid_array_add(refused_r, v->uid);
		return 0;
	}
	flags = new_flags(r.flags, args);
	kw = args->keyword_count > 0 || args->mode == PZ_STORE_REPLACE ?
		maildir_kw_apply(pool, r.kw, ids, nids, args->mode) : r.kw;
	if (flags == r.flags && maildir_kw_equal(kw, r.kw))
		return 0;
	ret = rename_rec(mb, &r, flags, kw, pool, err);
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	old_flags = r.flags;
	r.flags = flags;
	r.kw = kw;
	r.modseq = ++h->highestmodseq;
	if (maildir_index_update(mb, &r, old_flags, err) < 0)
		return -1;
	v->flags = (v->flags & PZ_FLAG_RECENT) | flags;
	v->modseq = r.modseq;
	free(v->kw);
	v->kw = kw != NULL ? strdup(kw) : NULL;
	if (changed_r != NULL)
		HOST->uid_array_add(changed_r, v->uid);
	return 0;
}

int maildir_store(pz_mailbox *box, const pz_uidset *set,
		  const struct pz_store_args *args, pz_uid_array *changed_r,
		  pz_uid_array *refused_r, pz_error *err)
{
	struct maildir_mbox *mb = &box->mb;
	uint32_t ids[MAILDIR_KEYWORDS_MAX];
	struct maildir_hdr h;
	size_t nids = 0;
	pz_pool *pool;
	int ret = 0;

	if (check_writable(box, err) < 0)
		return -1;
	if (args->keyword_count > MAILDIR_KEYWORDS_MAX)
		return maildir_error(mb->mu, err, PZ_ERR_PARAMS, "Too many keywords");
	if (lock_and_sync(mb, err) < 0)
		return -1;
	pool = HOST->pool_create("maildir store");
	if (resolve_keywords(mb, args, ids, &nids, err) < 0 ||
	    maildir_index_hdr_get(mb, &h, err) < 0) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < box->count && ret == 0; i++) {
		if (!maildir_uidset_has(set, box->msgs[i].uid))
			continue;
		ret = store_one(box, &box->msgs[i], args, ids, nids, &h, pool,
				changed_r, refused_r, err);
		if ((i & 1023) == 1023)
			HOST->pool_clear(pool);
	}
	if (ret == 0)
		ret = maildir_index_hdr_set(mb, &h, err);
out:
	if (ret == 0)
		ret = maildir_index_commit(mb, err);
	else
		maildir_index_rollback(mb);
	HOST->pool_destroy(&pool);
	return ret;
}

static int expunge_one(struct maildir_mbox *mb, uint32_t uid,
		       struct maildir_hdr *h, pz_pool *pool, uint64_t *bytes,
		       uint64_t *count, pz_error *err)
{
	struct maildir_rec r;
	int ret = maildir_index_get(mb, uid, pool, &r, err);

	if (ret != 0)
		return ret < 0 ? -1 : 1;
	for (int attempt = 0; attempt < 2; attempt++) {
		char *path = maildir_path(pool, mb->paths.dir, r.in_new ? "new" : "cur",
					  r.fname);
		if (unlink(path) == 0) {
			maildir_index_dir_touched(mb, r.in_new ? MAILDIR_NEW :
						  MAILDIR_CUR);
			break;
		}
		if (errno != ENOENT)
			return maildir_syserror(mb->mu, err, "unlink", path);
		ret = maildir_sync_find_file(mb, r.base, pool, &r.fname, &r.in_new, err);
		if (ret < 0)
			return -1;
		if (ret > 0)
			break; /* gone already */
	}
	if (maildir_index_expunge(mb, &r, ++h->highestmodseq, err) < 0)
		return -1;
	*bytes += r.psize;
	*count += 1;
	return 0;
}

int maildir_expunge(pz_mailbox *box, const pz_uidset *set,
		    pz_uid_array *expunged_r, pz_error *err)
{
	struct maildir_mbox *mb = &box->mb;
	struct maildir_hdr h;
	uint64_t bytes = 0, count = 0;
	pz_pool *pool;
	int ret = 0;

	if (check_writable(box, err) < 0 || lock_and_sync(mb, err) < 0)
		return -1;
	pool = HOST->pool_create("maildir expunge");
	if (maildir_index_hdr_get(mb, &h, err) < 0)
		ret = -1;
	for (size_t i = 0; i < box->count && ret == 0; i++) {
		uint32_t uid = box->msgs[i].uid;

		if (!maildir_uidset_has(set, uid))
			continue;
		ret = expunge_one(mb, uid, &h, pool, &bytes, &count, err);
		if (ret == 0 && expunged_r != NULL)
			HOST->uid_array_add(expunged_r, uid);
		if (ret > 0)
			ret = 0;
		if ((i & 1023) == 1023)
			HOST->pool_clear(pool);
	}
	if (ret == 0)
		ret = maildir_index_hdr_set(mb, &h, err);
	if (ret == 0)
		ret = maildir_index_commit(mb, err);
	else
		maildir_index_rollback(mb);
	HOST->pool_destroy(&pool);
	if (ret == 0 && count > 0)
		maildir_quota_update(mb->mu, -(int64_t)bytes, -(int64_t)count);
	return ret;
}

int maildir_search(pz_mailbox *box, const struct pz_search_key *key,
		   pz_uid_array *result_r, pz_error *err)
{
	return 1;
}
