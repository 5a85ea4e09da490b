/* pgsql-admin-walk.c - read a user's mail through a loaded storage
 * module's ops: the mailboxes with their special-use and subscriptions,
 * each mailbox's UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, and every
 * message's UID, flags, keywords, modseq, internal date and bytes.  Import
 * reads the maildir this way and export reads PostgreSQL (and checks the
 * maildir it wrote), so neither format is parsed twice.
 */
#include "config-core.h"
#include "pgsql-admin.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pool.h"
#include "registry.h"
#include "stream.h"

#define ADM_READ_CHUNK (64 * 1024)

char *adm_error(const struct adm_store *st, const char *what, const pz_error *err)
{
	return pz_strdup_printf("%s (%s): %s", what, st->what,
				err->msg != NULL ? err->msg : "failed");
}

void *adm_grow(pz_pool *pool, void *array, size_t count, size_t *alloc, size_t elem)
{
	size_t n = *alloc != 0 ? *alloc * 2 : 16;

	if (count < *alloc)
		return array;
	array = pz_pool_realloc(pool, array, *alloc * elem, n * elem);
	*alloc = n;
	return array;
}

int adm_store_open(struct adm_store *st, const char *storage, pz_user *user,
		   pz_pool *pool, char **error_r)
{
	struct pz_module *mod = pz_module_by_name(storage);
	pz_error err = { 0 };

	memset(st, 0, sizeof(*st));
	st->what = storage;
	st->ops = pz_storage_by_name(storage);
	if (st->ops == NULL || mod == NULL) {
		*error_r = pz_strdup_printf("the config loads no '%s' storage module (add a "
					    "'module %s { }' section)", storage, storage);
		return -1;
	}
	if (st->ops->user_open(mod, user, pool, &st->mu, &err) < 0) {
		*error_r = adm_error(st, "opening the user's mail", &err);
		return -1;
	}
	return 0;
}

struct list_ctx {
	pz_pool *pool;
	struct adm_box *boxes;
	size_t count, alloc;
};

static void list_cb(void *ctx, const struct pz_mailbox_info *info)
{
	struct list_ctx *l = ctx;
	struct adm_box *b;

	l->boxes = adm_grow(l->pool, l->boxes, l->count, &l->alloc, sizeof(*b));
	b = &l->boxes[l->count++];
	b->name = pz_pool_strdup(l->pool, info->name);
	b->attrs = info->attrs;
	b->special_use = info->special_use;
}

static int box_cmp(const void *a, const void *b)
{
	const struct adm_box *x = a, *y = b;
	int xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;

	if (xi != yi)
		return yi - xi;
	return strcmp(x->name, y->name);
}

int adm_store_list(struct adm_store *st, pz_pool *pool, struct adm_box **boxes_r,
		   size_t *count_r, char **error_r)
{
	struct list_ctx l = { .pool = pool };
	pz_error err = { 0 };

	if (st->ops->mailbox_list(st->mu, list_cb, &l, &err) < 0) {
		*error_r = adm_error(st, "listing the mailboxes", &err);
		return -1;
	}
	if (l.count > 0)
		qsort(l.boxes, l.count, sizeof(*l.boxes), box_cmp);
	*boxes_r = l.boxes;
	*count_r = l.count;
	return 0;
}

struct sync_ctx {
	struct adm_box *box;
	pz_pool *pool;
};

static void sync_appended(void *ctx, const struct pz_msg_info *info)
{
	struct sync_ctx *s = ctx;
	struct adm_box *b = s->box;
	struct adm_msg *m;

	b->msgs = adm_grow(s->pool, b->msgs, b->count, &b->alloc, sizeof(*m));
	m = &b->msgs[b->count++];
	m->uid = info->uid;
	m->flags = info->flags & ADM_FLAGS_MASK;
	m->modseq = info->modseq;
	m->size = info->rfc822_size;
	m->idate = info->internal_date;
	m->idate_tz = info->internal_date_tz;
	m->kw_count = info->keyword_count;
	m->kw = pz_pool_alloc(s->pool, (m->kw_count + 1) * sizeof(*m->kw));
	for (size_t i = 0; i < m->kw_count; i++)
		m->kw[i] = pz_pool_strdup(s->pool, info->keywords[i]);
}

int adm_box_read(struct adm_store *st, struct adm_box *box, unsigned int open_flags,
		 pz_pool *pool, pz_mailbox **view_r, char **error_r)
{
	struct pz_sync_handler h = { .size = sizeof(h), .appended = sync_appended };
	struct pz_mailbox_status status = { .size = sizeof(status) };
	struct sync_ctx s = { .box = box, .pool = pool };
	pz_error err = { 0 };
	char *what;

	box->msgs = NULL;
	box->count = box->alloc = 0;
	what = pz_pool_printf(pool, "mailbox '%s'", box->name);
	if (st->ops->mailbox_open(st->mu, box->name, open_flags, view_r, &err) < 0) {
		*error_r = adm_error(st, what, &err);
		return -1;
	}
	if (st->ops->mailbox_sync(*view_r, &h, &s, &err) < 0 ||
	    st->ops->mailbox_view_status(*view_r, &status) < 0) {
		*error_r = adm_error(st, what, &err);
		st->ops->mailbox_close(view_r);
		return -1;
	}
	box->uidvalidity = status.uidvalidity;
	box->uidnext = status.uidnext;
	box->highestmodseq = status.highestmodseq;
	return 0;
}

int adm_msg_read(struct adm_store *st, pz_mailbox *view, uint32_t uid, pz_pool *pool,
		 unsigned char **data_r, size_t *len_r, char **error_r)
{
	pz_stream *stream;
	pz_error err = { 0 };
	size_t len = 0, alloc = ADM_READ_CHUNK;
	unsigned char *data;
	ssize_t n;

	if (st->ops->msg_stream(view, uid, pool, &stream, &err) != 0) {
		*error_r = err.msg != NULL ? adm_error(st, "reading a message", &err) :
			pz_strdup_printf("message UID %u (%s) was expunged meanwhile",
					 uid, st->what);
		return -1;
	}
	data = pz_pool_alloc(pool, alloc);
	for (;;) {
		if (len == alloc) {
			if (alloc > SIZE_MAX / 2) {
				*error_r = pz_strdup_printf("message UID %u is too big", uid);
				return -1;
			}
			data = pz_pool_realloc(pool, data, alloc, alloc * 2);
			alloc *= 2;
		}
		n = pz_stream_read(stream, data + len, alloc - len);
		if (n == 0)
			break;
		if (n < 0) {
			*error_r = pz_strdup_printf("message UID %u (%s): read error",
						    uid, st->what);
			return -1;
		}
		len += (size_t)n;
	}
	*data_r = data;
	*len_r = len;
	return 0;
}
