/* modules/imap/imap-mailbox.c - commands on mailboxes by name: CREATE
 * (with CREATE-SPECIAL-USE, RFC 6154), DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, STATUS (with SIZE, DELETED, HIGHESTMODSEQ and APPENDLIMIT)
 * and NAMESPACE (RFC 2342). */
#include <string.h>
#include "imap.h"

static const struct {
	const char *name;
	unsigned int item;
} status_items[] = {
	{ "MESSAGES", PZ_STATUS_MESSAGES },
	{ "RECENT", PZ_STATUS_RECENT },
	{ "UIDNEXT", PZ_STATUS_UIDNEXT },
	{ "UIDVALIDITY", PZ_STATUS_UIDVALIDITY },
	{ "UNSEEN", PZ_STATUS_UNSEEN },
	{ "DELETED", PZ_STATUS_DELETED },
	{ "SIZE", PZ_STATUS_SIZE },
	{ "HIGHESTMODSEQ", PZ_STATUS_HIGHESTMODSEQ },
};

/* mailbox_arg - the storage name of argument i, or NULL after a reply. */
static const char *mailbox_arg(struct imap_cmd *cmd, unsigned int i)
{
	const char *error = NULL, *name;

	if (i >= cmd->count || !imap_arg_is_astring(&cmd->args[i])) {
		imap_bad(cmd, "Missing mailbox name.");
		return NULL;
	}
	name = imap_name_from_client(cmd->s, &cmd->args[i], cmd->pool, &error);
	if (name == NULL)
		imap_no(cmd, "[CANNOT] %s", error);
	return name;
}

/* mailbox_error - NO for a failed call on a named mailbox. */
static void mailbox_error(struct imap_cmd *cmd, const pz_error *err)
{
	switch (err->cls) {
	case PZ_ERR_NOT_FOUND:
		imap_no(cmd, "[NONEXISTENT] %s", err->msg != NULL ? err->msg :
			"Mailbox doesn't exist.");
		break;
	case PZ_ERR_EXISTS:
		imap_no(cmd, "[ALREADYEXISTS] %s", err->msg != NULL ? err->msg :
			"Mailbox already exists.");
		break;
	default:
		imap_no_error(cmd, err, "Operation failed.");
		break;
	}
}

/* create_special_use - RFC 6154 3: (USE (\Trash ...)). */
static int create_special_use(struct imap_cmd *cmd, unsigned int *bits_r)
{
	const struct imap_arg *params = &cmd->args[1], *use;
	unsigned int i;

	*bits_r = 0;
	if (!imap_arg_is_list(params) || params->count != 2 ||
	    !imap_arg_atom_equals(&params->list[0], "USE") ||
	    !imap_arg_is_list(&params->list[1])) {
		imap_bad(cmd, "Invalid CREATE parameters.");
		return -1;
	}
	use = &params->list[1];
	for (i = 0; i < use->count; i++) {
		unsigned int bit = imap_arg_is_atom(&use->list[i]) ?
			imap_special_use_bit(use->list[i].str) : 0;

		if (bit == 0) {
			imap_no(cmd, "[USEATTR] Unsupported special-use attribute.");
			return -1;
		}
		*bits_r |= bit;
	}
	return 0;
}

void imap_cmd_create(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	unsigned int special = 0;
	const char *name;
	size_t len;

	if (cmd->count < 1 || cmd->count > 2) {
		imap_bad(cmd, "CREATE needs a mailbox name.");
		return;
	}
	if ((name = mailbox_arg(cmd, 0)) == NULL)
		return;
	if (cmd->count == 2 && create_special_use(cmd, &special) < 0)
		return;
	/* RFC 9051 6.3.4: a trailing separator only says children will come */
	len = strlen(name);
	if (len > 1 && name[len - 1] == '/')
		name = imap_host->pool_strndup(cmd->pool, name, len - 1);
	if (strcmp(name, "INBOX") == 0) {
		imap_no(cmd, "[ALREADYEXISTS] Mailbox already exists.");
		return;
	}
	if (strpbrk(name, "*%") != NULL) {
		imap_no(cmd, "[CANNOT] Mailbox names may not contain '*' or '%%'.");
		return;
	}
	if (s->storage->mailbox_create(s->mu, name, special, &err) < 0) {
		mailbox_error(cmd, &err);
		return;
	}
	imap_ok(cmd, "Create completed.");
}

void imap_cmd_delete(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	const char *name;

	if (cmd->count != 1) {
		imap_bad(cmd, "DELETE needs a mailbox name.");
		return;
	}
	if ((name = mailbox_arg(cmd, 0)) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		imap_no(cmd, "[CANNOT] INBOX can't be deleted.");
		return;
	}
	if (s->view != NULL && strcmp(s->view->name, name) == 0) {
		imap_view_close(s);
		imap_session_set_state(s, IMAP_STATE_AUTH);
		imap_untagged(s, "OK [CLOSED] Selected mailbox is being deleted.");
	}
	if (s->storage->mailbox_delete(s->mu, name, &err) < 0) {
		mailbox_error(cmd, &err);
		return;
	}
	imap_ok(cmd, "Delete completed.");
}

void imap_cmd_rename(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	const char *from, *to;

	if (cmd->count != 2) {
		imap_bad(cmd, "RENAME needs two mailbox names.");
		return;
	}
	if ((from = mailbox_arg(cmd, 0)) == NULL || (to = mailbox_arg(cmd, 1)) == NULL)
		return;
	if (strcmp(to, "INBOX") == 0) {
		imap_no(cmd, "[ALREADYEXISTS] INBOX already exists.");
		return;
	}
	if (strpbrk(to, "*%") != NULL) {
		imap_no(cmd, "[CANNOT] Mailbox names may not contain '*' or '%%'.");
		return;
	}
	if (s->storage->mailbox_rename(s->mu, from, to, &err) < 0) {
		mailbox_error(cmd, &err);
		return;
	}
	imap_ok(cmd, "Rename completed.");
}

static void subscribe(struct imap_cmd *cmd, int on)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	const char *name;

	if (cmd->count != 1) {
		imap_bad(cmd, "Missing mailbox name.");
		return;
	}
	if ((name = mailbox_arg(cmd, 0)) == NULL)
		return;
	if (s->storage->mailbox_subscribe(s->mu, name, on, &err) < 0) {
		mailbox_error(cmd, &err);
		return;
	}
	imap_ok(cmd, on ? "Subscribe completed." : "Unsubscribe completed.");
}

void imap_cmd_subscribe(struct imap_cmd *cmd)
{
	subscribe(cmd, 1);
}

void imap_cmd_unsubscribe(struct imap_cmd *cmd)
{
	subscribe(cmd, 0);
}

int imap_status_items_parse(struct imap_cmd *cmd, const struct imap_arg *list,
			    unsigned int *items_r, int *appendlimit_r)
{
	unsigned int i, items = 0;
	size_t k;

	*appendlimit_r = 0;
	if (!imap_arg_is_list(list) || list->count == 0)
		return -1;
	for (i = 0; i < list->count; i++) {
		for (k = 0; k < sizeof(status_items) / sizeof(status_items[0]); k++) {
			if (imap_arg_atom_equals(&list->list[i], status_items[k].name))
				break;
		}
		if (k < sizeof(status_items) / sizeof(status_items[0])) {
			items |= status_items[k].item;
		} else if (imap_arg_atom_equals(&list->list[i], "APPENDLIMIT")) {
			*appendlimit_r = 1;
		} else {
			return -1;
		}
	}
	if ((items & PZ_STATUS_HIGHESTMODSEQ) != 0)
		cmd->s->enabled |= IMAP_ENABLED_CONDSTORE;
	*items_r = items;
	return 0;
}

static uint64_t status_value(const struct pz_mailbox_status *st, unsigned int item)
{
	switch (item) {
	case PZ_STATUS_MESSAGES: return st->messages;
	case PZ_STATUS_RECENT: return st->recent;
	case PZ_STATUS_UIDNEXT: return st->uidnext;
	case PZ_STATUS_UIDVALIDITY: return st->uidvalidity;
	case PZ_STATUS_UNSEEN: return st->unseen;
	case PZ_STATUS_DELETED: return st->deleted;
	case PZ_STATUS_SIZE: return st->bytes;
	default: return st->highestmodseq;
	}
}

int imap_status_send(struct imap_cmd *cmd, const char *name, unsigned int items,
		     int appendlimit, pz_error *err)
{
	struct imap_session *s = cmd->s;
	struct pz_mailbox_status st = { .size = sizeof(st) };
	struct imap_str b;
	size_t k;
	int first = 1;

	if (items != 0 && s->storage->mailbox_status(s->mu, name, items, &st, err) < 0)
		return -1;
	imap_str_init(&b, cmd->pool, 128);
	imap_str_adds(&b, "STATUS ");
	imap_str_mailbox(s, &b, name);
	imap_str_adds(&b, " (");
	for (k = 0; k < sizeof(status_items) / sizeof(status_items[0]); k++) {
		if ((items & status_items[k].item) == 0)
			continue;
		imap_str_printf(&b, "%s%s %llu", first ? "" : " ", status_items[k].name,
				(unsigned long long)status_value(&st, status_items[k].item));
		first = 0;
	}
	if (appendlimit)
		imap_str_printf(&b, "%sAPPENDLIMIT %llu", first ? "" : " ",
				(unsigned long long)s->set.append_limit);
	imap_untagged(s, "%s)", b.data);
	return 0;
}

void imap_cmd_status(struct imap_cmd *cmd)
{
	pz_error err = { PZ_ERR_NONE, NULL };
	unsigned int items;
	int appendlimit;
	const char *name;

	if (cmd->count != 2 ||
	    imap_status_items_parse(cmd, &cmd->args[1], &items, &appendlimit) < 0) {
		imap_bad(cmd, "STATUS needs a mailbox name and a list of known items.");
		return;
	}
	if ((name = mailbox_arg(cmd, 0)) == NULL)
		return;
	if (imap_status_send(cmd, name, items, appendlimit, &err) < 0) {
		mailbox_error(cmd, &err);
		return;
	}
	imap_ok(cmd, "Status completed.");
}

void imap_cmd_namespace(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_bad(cmd, "NAMESPACE takes no arguments.");
		return;
	}
	imap_untagged(cmd->s, "NAMESPACE ((\"\" \"%c\")) NIL NIL", cmd->s->set.separator);
	imap_ok(cmd, "Namespace completed.");
}
