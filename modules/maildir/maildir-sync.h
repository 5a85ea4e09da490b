/* maildir-sync.h - what maildir-sync.c (reconciling the index with the
 * directories) and maildir-sync-new.c (records for new files, dates left
 * unknown) share.  Nothing else includes it. */
#ifndef MAILDIR_SYNC_H
#define MAILDIR_SYNC_H

#include "maildir.h"

/* One sync: the index records loaded for it and the directory entries. */
struct sync_ctx {
	struct maildir_mbox *mb;
	pz_pool *pool;
	struct maildir_hdr hdr;
	unsigned int flags;
	int scan_new, scan_cur;
	int64_t start_ns;
	struct stat st_new, st_cur;
	int new_fd, cur_fd;

	struct maildir_rec *recs;
	unsigned char *seen;
	size_t nrecs, recs_alloc, seen_alloc;
	struct maildir_hash *map;

	struct maildir_dirlist dl;
	struct maildir_dirent *fresh;   /* copies of entries without a record */
	size_t nfresh, fresh_alloc;
	struct maildir_uidmap *uidmap;
	int importing;      /* the first sync of a new index */
	int full;           /* reading new/ alone was not enough */
	int oom;
};

/* sync_grow - make *arr hold `need` elements (doubling); -1 on overflow
 * or out of memory */
int sync_grow(void **arr, size_t *alloc, size_t need, size_t elem);
/* sync_nomem - log and set a TEMP error */
int sync_nomem(struct sync_ctx *ctx, pz_error *err);
/* sync_dir_fd - new/ or cur/ */
int sync_dir_fd(struct sync_ctx *ctx, int in_new);
/* sync_move_to_cur - rename a file of new/ into cur/ with an info part:
 * its new name, or NULL with errno */
char *sync_move_to_cur(struct sync_ctx *ctx, const char *name);

/* sync_index_new - give the files without a record (ctx->fresh) UIDs and
 * records (maildir-sync-new.c) */
int sync_index_new(struct sync_ctx *ctx, pz_error *err);
/* sync_date_undated - for a view: the internal dates that syncs serving
 * no view left unknown, from the files' mtimes */
int sync_date_undated(struct sync_ctx *ctx, pz_error *err);

#endif
