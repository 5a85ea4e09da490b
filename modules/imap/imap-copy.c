/* modules/imap/imap-copy.c - COPY, MOVE (RFC 6851) and their UID forms,
 * with UIDPLUS's COPYUID (RFC 4315) and [TRYCREATE] for a missing
 * target.  MOVE reports COPYUID untagged before the EXPUNGEs of what it
 * moved (RFC 6851 4.3). */
#include <string.h>
#include "imap.h"

/* str_uid_pairs - source and destination UIDs as two sets in the same
 * order; a range only where both run on together. */
static void str_uid_pairs(struct imap_str *b, const pz_uid_array *src,
			  const pz_uid_array *dst)
{
	size_t i, start, side;

	for (side = 0; side < 2; side++) {
		const uint32_t *u = side == 0 ? src->uids : dst->uids;

		imap_str_adds(b, " ");
		for (i = 0; i < src->count; i = start + 1) {
			start = i;
			while (i + 1 < src->count && src->uids[i + 1] == src->uids[i] + 1 &&
			       dst->uids[i + 1] == dst->uids[i] + 1)
				i++;
			if (start > 0)
				imap_str_adds(b, ",");
			if (i == start)
				imap_str_printf(b, "%u", u[start]);
			else
				imap_str_printf(b, "%u:%u", u[start], u[i]);
			start = i;
		}
	}
}

static void copy_or_move(struct imap_cmd *cmd, int move)
{
	struct imap_session *s = cmd->s;
	struct pz_mailbox_status st = { .size = sizeof(st) };
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_uid_array src, dst;
	struct imap_msgset set;
	const char *name, *error = NULL;
	pz_mailbox *dest = NULL;
	pz_uidset uids;
	struct imap_str b;
	size_t i;
	int r;

	if (cmd->count != 2 || imap_msgset_get(cmd, &cmd->args[0], cmd->uid, &set, &error) < 0) {
		imap_bad(cmd, "%s", error != NULL ? error : "Needs a message set and a mailbox.");
		return;
	}
	if ((name = imap_name_from_client(s, &cmd->args[1], cmd->pool, &error)) == NULL) {
		imap_no(cmd, "[CANNOT] %s", error);
		return;
	}
	if (move && s->view->readonly) {
		imap_no(cmd, "[CANNOT] Mailbox is read-only.");
		return;
	}
	if (s->storage->mailbox_open(s->mu, name, PZ_OPEN_SAVEONLY, &dest, &err) < 0) {
		if (err.cls == PZ_ERR_NOT_FOUND)
			imap_no(cmd, "[TRYCREATE] Mailbox doesn't exist: %s",
				imap_name_to_client(s, name, cmd->pool));
		else
			imap_no_error(cmd, &err, "Cannot open the target mailbox.");
		return;
	}
	uids = imap_msgset_uids(s, &set, cmd->pool);
	imap_host->uid_array_init(&src, cmd->pool);
	imap_host->uid_array_init(&dst, cmd->pool);
	r = uids.count == 0 ? 0 : move ?
		s->storage->move(s->view->box, &uids, dest, &src, &dst, &err) :
		s->storage->copy(s->view->box, &uids, dest, &src, &dst, &err);
	s->storage->mailbox_close(&dest);
	if (r < 0) {
		imap_no_error(cmd, &err, move ? "Move failed." : "Copy failed.");
		return;
	}
	if (move) {
		for (i = 0; i < src.count; i++)
			imap_host->filter_expunged(s->user, s->view->name, s->view->uidvalidity,
						   src.uids[i]);
	}
	imap_str_init(&b, cmd->pool, 64);
	if (src.count > 0 && src.count == dst.count &&
	    s->storage->mailbox_status(s->mu, name, PZ_STATUS_UIDVALIDITY, &st, &err) == 0) {
		imap_str_printf(&b, "[COPYUID %u", st.uidvalidity);
		str_uid_pairs(&b, &src, &dst);
		imap_str_adds(&b, "] ");
	}
	if (!move) {
		imap_ok(cmd, "%sCopy completed.", b.data);
		return;
	}
	if (b.len > 0)
		imap_untagged(s, "OK %sMoved.", b.data);
	imap_ok(cmd, "Move completed.");
}

void imap_cmd_copy(struct imap_cmd *cmd)
{
	copy_or_move(cmd, 0);
}

void imap_cmd_move(struct imap_cmd *cmd)
{
	copy_or_move(cmd, 1);
}
