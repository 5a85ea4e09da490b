/* maildir-index-idle.c - index connections shared by the open mailboxes
 * of a user, and kept open between opens of a mailbox.
 *
 * Opening an index (SQLite reads its schema, the pragmas run, every
 * statement is prepared again) costs more than most IMAP commands, and a
 * session opens the same mailbox again and again: SELECT of the mailbox
 * it has selected, an APPEND to it (a mailbox handle of its own), STATUS.
 * So the mailboxes a user has open at once share one connection to an
 * index (no two of them are ever in a transaction at once: a process
 * serves a session one command at a time, and a copy within a mailbox
 * locks it once), the last to close hands it to the user, who keeps the
 * last MAILDIR_IDLE_INDEXES of them, and the next open of the same index
 * takes it back.  An idle connection is outside any transaction: it holds
 * no lock and no snapshot, so it keeps no other process waiting.
 *
 * A connection is only taken back while its files are still the ones it
 * opened: the database (same inode) and its WAL index ("-shm"), which a
 * tool that removed the index, or its -wal and -shm, replaced; and while
 * the schema is the one it opened (another version may have upgraded
 * it).  The user's mailbox deletes and renames drop them all.  As at a
 * close, a WAL grown past MAILDIR_INDEX_WAL_KEEP is put back into the
 * database when the connection goes idle.
 */
#include "maildir.h"

#include <stdio.h>
#include <string.h>

static int shm_stat(const struct maildir_index *idx, struct stat *st)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s-shm", idx->path) >= (int)sizeof(path))
		return -1;
	return stat(path, st);
}

/* idle_usable - whether a kept connection may serve again */
static int idle_usable(struct maildir_index *idx)
{
	struct stat st;

	return !maildir_index_replaced(idx) && shm_stat(idx, &st) == 0 &&
		st.st_ino == idx->shm_ino && st.st_dev == idx->shm_dev &&
		maildir_index_schema_version(idx) == idx->schema_version;
}

/* share - a connection another open mailbox of the user holds */
static int share(struct maildir_mbox *mb)
{
	for (struct maildir_index *idx = mb->mu->open; idx != NULL; idx = idx->next_open) {
		if (strcmp(idx->path, mb->paths.index_path) != 0 || idx->in_txn ||
		    maildir_index_replaced(idx))
			continue;
		idx->refs++;
		mb->idx = idx;
		return 1;
	}
	return 0;
}

int maildir_index_reuse(struct maildir_mbox *mb)
{
	struct pz_mail_user *mu = mb->mu;

	if (share(mb))
		return 1;
	for (size_t i = mu->n_idle; i > 0; i--) {
		struct maildir_index *idx = mu->idle[i - 1];

		if (strcmp(idx->path, mb->paths.index_path) != 0)
			continue;
		memmove(&mu->idle[i - 1], &mu->idle[i],
			(mu->n_idle - i) * sizeof(mu->idle[0]));
		mu->n_idle--;
		if (!idle_usable(idx)) {
			maildir_index_close(&idx);
			return 0;
		}
		mb->idx = idx;
		maildir_index_adopt(mb);
		return 1;
	}
	return 0;
}

void maildir_index_adopt(struct maildir_mbox *mb)
{
	mb->idx->refs = 1;
	mb->idx->next_open = mb->mu->open;
	mb->mu->open = mb->idx;
}

void maildir_index_release(struct maildir_mbox *mb)
{
	struct pz_mail_user *mu = mb->mu;
	struct maildir_index *idx = mb->idx;
	struct stat st;

	mb->idx = NULL;
	if (idx == NULL || --idx->refs > 0)
		return;
	for (struct maildir_index **p = &mu->open; *p != NULL; p = &(*p)->next_open) {
		if (*p == idx) {
			*p = idx->next_open;
			break;
		}
	}
	idx->next_open = NULL;
	if (idx->in_txn || idx->db == NULL || shm_stat(idx, &st) < 0) {
		maildir_index_close(&idx);
		return;
	}
	maildir_index_wal_trim(idx);
	idx->shm_dev = st.st_dev;
	idx->shm_ino = st.st_ino;
	if (mu->n_idle == MAILDIR_IDLE_INDEXES) {
		maildir_index_close(&mu->idle[0]);
		memmove(&mu->idle[0], &mu->idle[1],
			(MAILDIR_IDLE_INDEXES - 1) * sizeof(mu->idle[0]));
		mu->n_idle--;
	}
	mu->idle[mu->n_idle++] = idx;
}

void maildir_index_idle_close(struct pz_mail_user *mu)
{
	while (mu->n_idle > 0)
		maildir_index_close(&mu->idle[--mu->n_idle]);
}
