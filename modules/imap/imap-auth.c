/* modules/imap/imap-auth.c - the commands around the session itself:
 * CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE (SASL-IR), ENABLE
 * and ID (RFC 2971).  Plaintext passwords go only where the core allows
 * them (TLS or an allowed network); elsewhere LOGINDISABLED is advertised
 * and LOGIN answers [PRIVACYREQUIRED]. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "imap.h"

#define ID_MAX_PAIRS 30

/* Extensions offered after login; RFC 9051 includes most of them. */
static const char caps_logged_in[] =
	" NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE"
	" CREATE-SPECIAL-USE CONDSTORE ESEARCH SEARCHRES WITHIN BINARY MULTIAPPEND"
	" STATUS=SIZE";

const char *imap_capabilities(struct imap_session *s, pz_pool *pool)
{
	const struct pz_host *h = imap_host;
	struct imap_str b;

	imap_str_init(&b, pool, 512);
	imap_str_adds(&b, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE");
	if (s->state == IMAP_STATE_NOT_AUTH) {
		char *mechs = h->pool_strdup(pool, h->auth_mechanisms(s->conn)), *m, *save = NULL;

		if (h->conn_tls_available(s->conn))
			imap_str_adds(&b, " STARTTLS");
		if (!h->auth_plaintext_allowed(s->conn))
			imap_str_adds(&b, " LOGINDISABLED");
		for (m = strtok_r(mechs, " ", &save); m != NULL; m = strtok_r(NULL, " ", &save))
			imap_str_printf(&b, " AUTH=%s", m);
	} else {
		imap_str_adds(&b, caps_logged_in);
		imap_str_printf(&b, " APPENDLIMIT=%llu", (unsigned long long)s->set.append_limit);
	}
	return b.data;
}

void imap_cmd_capability(struct imap_cmd *cmd)
{
	if (cmd->count != 0) {
		imap_bad(cmd, "CAPABILITY takes no arguments.");
		return;
	}
	imap_untagged(cmd->s, "CAPABILITY %s", imap_capabilities(cmd->s, cmd->pool));
	imap_ok(cmd, "Capability completed.");
}

void imap_cmd_noop(struct imap_cmd *cmd)
{
	imap_ok(cmd, "NOOP completed.");
}

void imap_cmd_logout(struct imap_cmd *cmd)
{
	imap_untagged(cmd->s, "BYE Logging out.");
	imap_ok(cmd, "Logout completed.");
	imap_session_set_state(cmd->s, IMAP_STATE_LOGOUT);
}

void imap_cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *error = NULL;

	if (imap_host->conn_is_tls(s->conn)) {
		imap_bad(cmd, "TLS is already active.");
		return;
	}
	if (!imap_host->conn_tls_available(s->conn)) {
		imap_bad(cmd, "TLS is not available.");
		return;
	}
	imap_ok(cmd, "Begin TLS negotiation now.");
	/* anything pipelined after STARTTLS was sent in the clear: refused
	 * by conn_starttls, and the connection ends (RFC 9051 6.2.1) */
	if (imap_host->conn_flush(s->conn) < 0 ||
	    imap_host->conn_starttls(s->conn, &error) < 0) {
		imap_host->log(s->module, PZ_LOG_INFO, "STARTTLS failed: %s",
			       error != NULL ? error : "write failed");
		s->disconnect = 1;
	}
}

/* logged_in - open the user's mail store and enter the AUTH state. */
static void logged_in(struct imap_cmd *cmd, pz_user *user)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };

	if (imap_host->storage_open(user, s->pool, &s->storage, &s->mu, &err) < 0) {
		imap_host->log(s->module, PZ_LOG_ERROR, "cannot open mail storage: %s",
			       err.msg != NULL ? err.msg : "unknown error");
		imap_no(cmd, "[UNAVAILABLE] Mail storage is temporarily unavailable.");
		return;
	}
	s->user = user;
	s->user_name = imap_host->user_name(user);
	imap_session_set_state(s, IMAP_STATE_AUTH);
	imap_ok(cmd, "[CAPABILITY %s] Logged in", imap_capabilities(s, cmd->pool));
}

static void auth_failed(struct imap_cmd *cmd, const pz_error *err)
{
	if (err->cls == PZ_ERR_TEMP)
		imap_no(cmd, "[UNAVAILABLE] %s",
			err->msg != NULL ? err->msg : "Authentication is temporarily unavailable.");
	else
		imap_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed.");
}

void imap_cmd_login(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	const char *user, *password;
	pz_user *u = NULL;

	if (cmd->count != 2 || !imap_astring(&cmd->args[0], &user) ||
	    !imap_astring(&cmd->args[1], &password)) {
		imap_bad(cmd, "LOGIN needs a user name and a password.");
		return;
	}
	if (!imap_host->auth_plaintext_allowed(s->conn)) {
		imap_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication disallowed on "
			"non-secure (SSL/TLS) connections.");
		return;
	}
	if (imap_host->auth_login(s->conn, user, password, s->pool, &u, &err) < 0) {
		auth_failed(cmd, &err);
		return;
	}
	logged_in(cmd, u);
}

/* sasl_exchange - continuation rounds until the mechanism is done. */
static void sasl_exchange(struct imap_cmd *cmd, pz_sasl *sasl, const char *response)
{
	const struct pz_host *h = imap_host;
	struct imap_session *s = cmd->s;

	for (;;) {
		pz_error err = { PZ_ERR_NONE, NULL };
		const char *challenge = NULL;
		pz_user *user = NULL;
		char *line;
		size_t len;
		int r = h->sasl_step(sasl, response, &challenge, &user, &err);

		if (r == PZ_SASL_DONE) {
			logged_in(cmd, user);
			return;
		}
		if (r == PZ_SASL_FAILED) {
			if (err.cls == PZ_ERR_PARAMS)
				imap_bad(cmd, "%s.", err.msg != NULL ? err.msg : "Invalid response");
			else
				auth_failed(cmd, &err);
			return;
		}
		imap_line(s, "+ %s", challenge != NULL ? challenge : "");
		if (h->conn_flush(s->conn) < 0)
			r = PZ_IO_ERROR;
		else
			r = h->conn_read_line(s->conn, IMAP_MAX_LINE, &line, &len);
		if (r == PZ_IO_TOO_LONG) {
			imap_bad(cmd, "[TOOBIG] Authentication response too long.");
			return;
		}
		if (r != PZ_IO_OK) {
			cmd->replied = 1;
			s->disconnect = 1;
			return;
		}
		if (strcmp(line, "*") == 0) {
			imap_bad(cmd, "Authentication cancelled.");
			return;
		}
		response = line;
	}
}

void imap_cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	pz_error err = { PZ_ERR_NONE, NULL };
	const char *response = NULL;
	pz_sasl *sasl;

	if (cmd->count < 1 || cmd->count > 2 || !imap_arg_is_atom(&cmd->args[0]) ||
	    (cmd->count == 2 && !imap_arg_is_atom(&cmd->args[1]))) {
		imap_bad(cmd, "AUTHENTICATE needs a mechanism name.");
		return;
	}
	if (cmd->count == 2) /* SASL-IR; "=" is an empty initial response */
		response = strcmp(cmd->args[1].str, "=") == 0 ? "" : cmd->args[1].str;
	sasl = imap_host->sasl_begin(s->conn, cmd->args[0].str, s->pool, &err);
	if (sasl == NULL) {
		if (err.cls == PZ_ERR_NOT_SUPPORTED)
			imap_no(cmd, "Unsupported authentication mechanism.");
		else if (!imap_host->auth_plaintext_allowed(s->conn))
			imap_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication disallowed on "
				"non-secure (SSL/TLS) connections.");
		else
			auth_failed(cmd, &err);
		return;
	}
	sasl_exchange(cmd, sasl, response);
}

void imap_cmd_enable(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_str b;
	unsigned int i;

	if (cmd->count == 0) {
		imap_bad(cmd, "ENABLE needs capability names.");
		return;
	}
	imap_str_init(&b, cmd->pool, 64);
	imap_str_adds(&b, "ENABLED");
	for (i = 0; i < cmd->count; i++) {
		unsigned int bit = 0;

		if (!imap_arg_is_atom(&cmd->args[i])) {
			imap_bad(cmd, "ENABLE takes capability names.");
			return;
		}
		if (imap_arg_atom_equals(&cmd->args[i], "IMAP4REV2"))
			bit = IMAP_ENABLED_REV2;
		else if (imap_arg_atom_equals(&cmd->args[i], "CONDSTORE"))
			bit = IMAP_ENABLED_CONDSTORE;
		if (bit == 0 || (s->enabled & bit) != 0)
			continue;
		s->enabled |= bit;
		imap_str_printf(&b, " %s", bit == IMAP_ENABLED_REV2 ? "IMAP4rev2" : "CONDSTORE");
	}
	imap_untagged(s, "%s", b.data);
	imap_ok(cmd, "Enabled.");
}

/* imap_cmd_id - RFC 2971: log what the client says it is, say who we are. */
void imap_cmd_id(struct imap_cmd *cmd)
{
	const struct imap_arg *list = cmd->count == 1 ? &cmd->args[0] : NULL;
	struct imap_str b;
	unsigned int i;

	if (list == NULL || (!imap_arg_is_nil(list) && !imap_arg_is_list(list))) {
		imap_bad(cmd, "ID needs a parameter list or NIL.");
		return;
	}
	if (imap_arg_is_list(list)) {
		if (list->count % 2 != 0 || list->count > ID_MAX_PAIRS * 2) {
			imap_bad(cmd, "ID needs pairs of field and value (at most 30).");
			return;
		}
		imap_str_init(&b, cmd->pool, 128);
		for (i = 0; i < list->count; i += 2) {
			const char *key, *value;

			if (!imap_astring(&list->list[i], &key) ||
			    (!imap_astring(&list->list[i + 1], &value) &&
			     !imap_arg_is_nil(&list->list[i + 1]))) {
				imap_bad(cmd, "ID fields and values must be strings.");
				return;
			}
			if (imap_arg_is_nil(&list->list[i + 1]))
				value = "NIL";
			imap_str_printf(&b, "%s%.64s=%.128s", i > 0 ? ", " : "", key, value);
		}
		imap_host->log(cmd->s->module, PZ_LOG_INFO, "client ID: %s", b.data);
	}
	imap_untagged(cmd->s, "ID (\"name\" \"Poczta\" \"version\" \"0.1.0\")");
	imap_ok(cmd, "ID completed.");
}
