/* modules/imap/imap-commands.c - the command table: one row per command
 * with the states it is valid in, whether it has a UID form, its flags
 * (sequence numbers; no sync before the reply) and its function. */
#include <string.h>
#include <strings.h>
#include "imap.h"

#define ST_NA (1u << IMAP_STATE_NOT_AUTH)
#define ST_AU (1u << IMAP_STATE_AUTH)
#define ST_SE (1u << IMAP_STATE_SELECTED)
#define ST_ANY (ST_NA | ST_AU | ST_SE)
#define ST_IN (ST_AU | ST_SE)

struct imap_command_def {
	const char *name;
	unsigned int states;
	unsigned int flags;
	int uid_form;
	void (*fn)(struct imap_cmd *cmd);
};

static const struct imap_command_def commands[] = {
	{ "CAPABILITY", ST_ANY, 0, 0, imap_cmd_capability },
	{ "NOOP", ST_ANY, 0, 0, imap_cmd_noop },
	{ "LOGOUT", ST_ANY, IMAP_CMD_NOSYNC, 0, imap_cmd_logout },
	{ "ID", ST_ANY, 0, 0, imap_cmd_id },
	{ "STARTTLS", ST_NA, 0, 0, imap_cmd_starttls },
	{ "AUTHENTICATE", ST_NA, 0, 0, imap_cmd_authenticate },
	{ "LOGIN", ST_NA, 0, 0, imap_cmd_login },
	{ "ENABLE", ST_IN, 0, 0, imap_cmd_enable },
	{ "SELECT", ST_IN, IMAP_CMD_NOSYNC, 0, imap_cmd_select },
	{ "EXAMINE", ST_IN, IMAP_CMD_NOSYNC, 0, imap_cmd_examine },
	{ "CREATE", ST_IN, 0, 0, imap_cmd_create },
	{ "DELETE", ST_IN, 0, 0, imap_cmd_delete },
	{ "RENAME", ST_IN, 0, 0, imap_cmd_rename },
	{ "SUBSCRIBE", ST_IN, 0, 0, imap_cmd_subscribe },
	{ "UNSUBSCRIBE", ST_IN, 0, 0, imap_cmd_unsubscribe },
	{ "LIST", ST_IN, 0, 0, imap_cmd_list },
	{ "LSUB", ST_IN, 0, 0, imap_cmd_lsub },
	{ "NAMESPACE", ST_IN, 0, 0, imap_cmd_namespace },
	{ "STATUS", ST_IN, 0, 0, imap_cmd_status },
	{ "APPEND", ST_IN, 0, 0, imap_cmd_append },
	{ "IDLE", ST_IN, 0, 0, imap_cmd_idle },
	{ "CHECK", ST_SE, 0, 0, imap_cmd_check },
	{ "CLOSE", ST_SE, IMAP_CMD_NOSYNC, 0, imap_cmd_close },
	{ "UNSELECT", ST_SE, IMAP_CMD_NOSYNC, 0, imap_cmd_unselect },
	{ "EXPUNGE", ST_SE, 0, 1, imap_cmd_expunge },
	{ "SEARCH", ST_SE, IMAP_CMD_SEQ, 1, imap_cmd_search },
	{ "FETCH", ST_SE, IMAP_CMD_SEQ, 1, imap_cmd_fetch },
	{ "STORE", ST_SE, IMAP_CMD_SEQ, 1, imap_cmd_store },
	{ "COPY", ST_SE, IMAP_CMD_SEQ, 1, imap_cmd_copy },
	/* RFC 6851 3.3: MOVE reports the EXPUNGEs of what it moved */
	{ "MOVE", ST_SE, 0, 1, imap_cmd_move },
};

static const struct imap_command_def *find(const char *name, int uid)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcasecmp(commands[i].name, name) == 0 && (!uid || commands[i].uid_form))
			return &commands[i];
	}
	return NULL;
}

/* state_error - the reply for a command in the wrong state. */
static const char *state_error(const struct imap_session *s, const struct imap_command_def *c)
{
	if (s->state == IMAP_STATE_NOT_AUTH)
		return "Log in first.";
	if ((c->states & ST_NA) != 0)
		return "Already logged in.";
	return "No mailbox selected.";
}

void imap_command_run(struct imap_session *s)
{
	struct imap_parser *p = &s->parser;
	struct imap_cmd cmd = { .s = s, .pool = s->cmd_pool, .tag = p->tag,
				.name = p->name, .args = p->args, .count = p->count };
	const struct imap_command_def *c;

	if (strcasecmp(p->name, "UID") == 0) {
		if (p->count == 0 || !imap_arg_is_atom(&p->args[0])) {
			imap_bad(&cmd, "Missing command after UID.");
			return;
		}
		cmd.uid = 1;
		c = find(p->args[0].str, 1);
		cmd.args++;
		cmd.count--;
	} else {
		c = find(p->name, 0);
	}
	if (c == NULL) {
		imap_bad(&cmd, "Unknown command.");
		return;
	}
	cmd.name = cmd.uid ? imap_host->pool_printf(cmd.pool, "UID %s", c->name) : c->name;
	cmd.flags = c->flags;
	if ((c->states & (1u << s->state)) == 0) {
		imap_bad(&cmd, "%s", state_error(s, c));
		return;
	}
	c->fn(&cmd);
	if (!cmd.replied) {
		imap_host->log(s->module, PZ_LOG_ERROR, "%s ended without a reply", cmd.name);
		imap_no(&cmd, "[SERVERBUG] Internal error occurred.");
	}
}
