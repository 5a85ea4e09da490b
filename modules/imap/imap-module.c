/* modules/imap/imap-module.c - the module descriptor, its configuration
 * keys and the settings a session reads from them. */
#include <stdlib.h>
#include <string.h>
#include "imap.h"

const struct pz_host *imap_host;
static pz_module *imap_self;

static const struct pz_config_key imap_keys[] = {
	{ "login_timeout", PZ_CONF_DURATION, "1m", "time to log in after connecting" },
	{ "idle_timeout", PZ_CONF_DURATION, "30m",
	  "inactivity before a logged-in client is disconnected (RFC 9051: at least 30m)" },
	{ "max_bad_commands", PZ_CONF_INT, "20", "bad commands before disconnecting" },
	{ "append_limit", PZ_CONF_SIZE, "50M",
	  "largest message APPEND accepts (APPENDLIMIT); 0: no limit" },
	{ "hierarchy_separator", PZ_CONF_STRING, "/",
	  "the mailbox hierarchy separator clients see: / or ." },
	{ "greeting", PZ_CONF_STRING, "Poczta ready.", "text of the greeting" },
	{ "spool_dir", PZ_CONF_PATH, NULL,
	  "where APPEND keeps a message while filters look at it; default $TMPDIR or /tmp" },
	{ "spool_memory", PZ_CONF_SIZE, "1M",
	  "messages up to this size are held in memory during APPEND" },
	{ NULL, 0, NULL, NULL }
};

void imap_settings_read(pz_module *self, struct imap_settings *set)
{
	const struct pz_host *h = imap_host;
	const char *sep = h->config_string(self, "hierarchy_separator");
	const char *spool = h->config_string(self, "spool_dir");

	set->login_timeout_ms = h->config_duration_ms(self, "login_timeout");
	set->idle_timeout_ms = h->config_duration_ms(self, "idle_timeout");
	if (set->idle_timeout_ms < IMAP_IDLE_MIN_MS)
		set->idle_timeout_ms = IMAP_IDLE_MIN_MS;
	set->max_bad_commands = h->config_int(self, "max_bad_commands");
	set->append_limit = h->config_size(self, "append_limit");
	if (set->append_limit == 0 || set->append_limit > UINT32_MAX)
		set->append_limit = UINT32_MAX;
	set->separator = sep != NULL && sep[0] == '.' ? '.' : '/';
	set->greeting = h->config_string(self, "greeting");
	if (spool == NULL)
		spool = getenv("TMPDIR");
	set->spool_dir = spool != NULL && spool[0] != '\0' ? spool : "/tmp";
	set->spool_memory = h->config_size(self, "spool_memory");
}

static const struct pz_protocol_ops imap_ops = {
	.size = sizeof(struct pz_protocol_ops),
	.name = "imap",
	.default_port = 143,
	.default_tls_port = 993,
	.session = imap_session,
};

static int imap_init(pz_module *self, const struct pz_host *host, const char **error_r)
{
	const char *sep;

	imap_host = host;
	imap_self = self;
	sep = host->config_string(self, "hierarchy_separator");
	if (sep == NULL || (strcmp(sep, "/") != 0 && strcmp(sep, ".") != 0)) {
		*error_r = "hierarchy_separator must be / or .";
		return -1;
	}
	return host->register_protocol(self, &imap_ops, error_r);
}

POCZTA_MODULE(imap,
	.kinds = PZ_KIND_PROTOCOL,
	.name = "imap",
	.version = "0.1.0",
	.license = "MIT",
	.description = "IMAP server (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1)",
	.config_keys = imap_keys,
	.init = imap_init)
