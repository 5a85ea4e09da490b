/* modules/imap/imap-select.c - selecting a mailbox and leaving it:
 * SELECT, EXAMINE (RFC 9051 6.3.2-3, CONDSTORE parameter RFC 7162),
 * CLOSE, UNSELECT (RFC 3691), CHECK, EXPUNGE and UID EXPUNGE (RFC 4315). */
#include <string.h>
#include "imap.h"

/* select_params - the optional (CONDSTORE) after the name. */
static int select_params(struct imap_cmd *cmd, const char **error_r)
{
	const struct imap_arg *params;
	unsigned int i;

	if (cmd->count == 1)
		return 0;
	params = &cmd->args[1];
	if (cmd->count != 2 || !imap_arg_is_list(params)) {
		*error_r = "Invalid SELECT parameters.";
		return -1;
	}
	for (i = 0; i < params->count; i++) {
		if (!imap_arg_atom_equals(&params->list[i], "CONDSTORE")) {
			*error_r = "Unknown SELECT parameter.";
			return -1;
		}
		cmd->s->enabled |= IMAP_ENABLED_CONDSTORE;
	}
	return 0;
}

/* select_responses - what a client learns about the mailbox it opened. */
static void select_responses(struct imap_cmd *cmd, const char *name)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = s->view;
	struct pz_mailbox_status st = { .size = sizeof(st) };
	struct imap_str b;
	uint32_t i;

	s->storage->mailbox_view_status(v->box, &st);
	v->uidvalidity = st.uidvalidity;
	imap_str_init(&b, cmd->pool, 256);
	imap_str_all_flags(s, &b, 0);
	imap_untagged(s, "FLAGS %s", b.data);
	imap_str_init(&b, cmd->pool, 256);
	if (v->readonly)
		imap_str_adds(&b, "()");
	else
		imap_str_all_flags(s, &b, 1);
	imap_untagged(s, "OK [PERMANENTFLAGS %s] Flags permitted.", b.data);
	imap_untagged(s, "%u EXISTS", v->count);
	v->exists_sent = v->count;
	if (!imap_rev2(s)) {
		imap_untagged(s, "%u RECENT", v->recent);
		v->recent_sent = v->recent;
		for (i = 0; i < v->count && (v->flags[i] & PZ_FLAG_SEEN) != 0; i++)
			;
		if (i < v->count)
			imap_untagged(s, "OK [UNSEEN %u] First unseen.", i + 1);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", st.uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", st.uidnext);
	if (st.highestmodseq > 0)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)st.highestmodseq);
	else
		imap_untagged(s, "OK [NOMODSEQ] No permanent modsequences");
	if (imap_rev2(s)) {
		imap_str_init(&b, cmd->pool, 128);
		imap_str_printf(&b, "LIST () \"%c\" ", s->set.separator);
		imap_str_mailbox(s, &b, name);
		imap_untagged(s, "%s", b.data);
	}
}

static void select_mailbox(struct imap_cmd *cmd, int readonly)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	const char *name, *error = NULL;

	if (cmd->count < 1 || cmd->count > 2 || select_params(cmd, &error) < 0) {
		imap_bad(cmd, "%s", error != NULL ? error : "Missing mailbox name.");
		return;
	}
	name = imap_name_from_client(s, &cmd->args[0], cmd->pool, &error);
	if (name == NULL) {
		imap_no(cmd, "[CANNOT] %s", error);
		return;
	}
	if (s->view != NULL) {
		imap_view_close(s);
		imap_session_set_state(s, IMAP_STATE_AUTH);
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed.");
	}
	if (imap_view_open(s, name, readonly, &err) < 0) {
		if (err.cls == PZ_ERR_NOT_FOUND || err.cls == PZ_ERR_PARAMS)
			imap_no(cmd, "[NONEXISTENT] Mailbox doesn't exist: %s",
				imap_name_to_client(s, name, cmd->pool));
		else
			imap_no_error(cmd, &err, "Cannot open the mailbox.");
		return;
	}
	select_responses(cmd, name);
	imap_session_set_state(s, IMAP_STATE_SELECTED);
	if (readonly)
		imap_ok(cmd, "[READ-ONLY] Examine completed.");
	else
		imap_ok(cmd, "[READ-WRITE] Select completed.");
}

void imap_cmd_select(struct imap_cmd *cmd)
{
	select_mailbox(cmd, 0);
}

void imap_cmd_examine(struct imap_cmd *cmd)
{
	select_mailbox(cmd, 1);
}

/* deleted_uids - the view's \Deleted messages (within `only`, if set). */
static pz_uidset deleted_uids(struct imap_session *s, const pz_uidset *only, pz_pool *pool)
{
	struct imap_view *v = s->view;
	uint32_t *uids = imap_host->pool_alloc(pool, (v->count + 1) * sizeof(uint32_t));
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < v->count; i++) {
		if ((v->flags[i] & (PZ_FLAG_DELETED | IMAP_MSG_EXPUNGED)) != PZ_FLAG_DELETED)
			continue;
		if (only == NULL || imap_uidset_has(only, v->uids[i]))
			uids[n++] = v->uids[i];
	}
	return imap_uids_to_set(uids, n, pool);
}

int imap_expunge_uids(struct imap_session *s, const pz_uidset *set, pz_pool *pool,
		      pz_error *err)
{
	struct imap_view *v = s->view;
	pz_uid_array gone;
	size_t i;

	if (set->count == 0)
		return 0;
	imap_host->uid_array_init(&gone, pool);
	if (s->storage->expunge(v->box, set, &gone, err) < 0)
		return -1;
	for (i = 0; i < gone.count; i++)
		imap_host->filter_expunged(s->user, v->name, v->uidvalidity, gone.uids[i]);
	return 0;
}

void imap_cmd_close(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };

	if (cmd->count != 0) {
		imap_bad(cmd, "CLOSE takes no arguments.");
		return;
	}
	/* RFC 9051 6.4.1: expunge silently, no EXPUNGE responses */
	if (!s->view->readonly) {
		pz_uidset set = deleted_uids(s, NULL, cmd->pool);

		if (imap_expunge_uids(s, &set, cmd->pool, &err) < 0)
			imap_host->log(s->module, PZ_LOG_WARNING, "CLOSE: expunge failed: %s",
				       err.msg != NULL ? err.msg : "unknown error");
	}
	imap_view_close(s);
	imap_session_set_state(s, IMAP_STATE_AUTH);
	imap_ok(cmd, "Close completed.");
}

void imap_cmd_unselect(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_bad(cmd, "UNSELECT takes no arguments.");
		return;
	}
	imap_view_close(cmd->s);
	imap_session_set_state(cmd->s, IMAP_STATE_AUTH);
	imap_ok(cmd, "Unselect completed.");
}

void imap_cmd_check(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_bad(cmd, "CHECK takes no arguments.");
		return;
	}
	imap_ok(cmd, "Check completed.");
}

void imap_cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	pz_uidset only, set;

	if (cmd->count != (cmd->uid ? 1u : 0u) ||
	    (cmd->uid && (!imap_arg_is_atom(&cmd->args[0]) ||
			  imap_uidset_get(cmd, cmd->args[0].str, &only) < 0))) {
		imap_bad(cmd, cmd->uid ? "UID EXPUNGE needs a UID set." :
			 "EXPUNGE takes no arguments.");
		return;
	}
	if (s->view->readonly) {
		imap_no(cmd, "[CANNOT] Mailbox is read-only.");
		return;
	}
	/* see \Deleted set by other sessions before choosing */
	if (imap_view_sync(s, 1, &err) < 0) {
		cmd->replied = 1; /* said BYE */
		return;
	}
	set = deleted_uids(s, cmd->uid ? &only : NULL, cmd->pool);
	if (imap_expunge_uids(s, &set, cmd->pool, &err) < 0) {
		imap_no_error(cmd, &err, "Expunge failed.");
		return;
	}
	imap_ok(cmd, "Expunge completed.");
}
