/* core/settings.c - the core's configuration keys and their defaults. */
#include "config-core.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "pool.h"
#include "settings.h"

/* Every global key; documented in poczta.conf(5). */
const struct pz_config_key pz_global_keys[] = {
	{ "module_dir", PZ_CONF_PATH, PZ_MODULEDIR, "where module .so files are" },
	{ "user", PZ_CONF_STRING, "poczta", "unprivileged user for connection processes" },
	{ "state_dir", PZ_CONF_PATH, PZ_LOCALSTATEDIR "/lib/poczta", "runtime state" },
	{ "pid_file", PZ_CONF_PATH, NULL, "write the master's pid here" },
	{ "hostname", PZ_CONF_STRING, NULL, "name in greetings; default: gethostname()" },
	{ "storage", PZ_CONF_STRING, "maildir", "storage for users without a mail field" },
	{ "auth", PZ_CONF_LIST, "passwd-file", "auth backends, tried in order" },
	{ "ssl_cert", PZ_CONF_PATH, NULL, "PEM certificate chain" },
	{ "ssl_key", PZ_CONF_PATH, NULL, "PEM private key" },
	{ "ssl_min_protocol", PZ_CONF_STRING, "TLSv1.2", "TLSv1.2 or TLSv1.3" },
	{ "ssl_ciphers", PZ_CONF_STRING, NULL, "TLS 1.2 cipher list; default: system policy" },
	{ "max_connections", PZ_CONF_INT, "1000", "connections served at once" },
	{ "max_connections_per_ip", PZ_CONF_INT, "50", "connections at once from one address" },
	{ "shutdown_timeout", PZ_CONF_DURATION, "10s", "how long SIGTERM waits for sessions" },
	{ "process_memory_limit", PZ_CONF_SIZE, "1G",
	  "data memory one connection process may use (RLIMIT_DATA); 0: no limit" },
	{ "auth_allow_plaintext", PZ_CONF_STRING, "loopback",
	  "plaintext passwords without TLS: yes, no, loopback" },
	{ "auth_fail_delay", PZ_CONF_DURATION, "2s", "delay after the first failed login" },
	{ "auth_fail_delay_max", PZ_CONF_DURATION, "15s", "longest delay after failures" },
	{ "log_facility", PZ_CONF_STRING, "mail", "syslog facility" },
	{ "log_debug", PZ_CONF_BOOL, "no", "log debug lines" },
	{ "filter_timeout", PZ_CONF_DURATION, "30s", "longest time one filter call may take" },
	{ NULL, 0, NULL, NULL }
};

const struct pz_config_key pz_listener_keys[] = {
	{ "protocol", PZ_CONF_STRING, NULL, "protocol module that serves it (required)" },
	{ "address", PZ_CONF_LIST, NULL,
	  "addresses: 127.0.0.1:143 [::1]:143 *:143 unix:/path (required)" },
	{ "tls", PZ_CONF_STRING, "no", "implicit: TLS from the first byte; no: plain (STARTTLS if a certificate is set)" },
	{ "ssl_cert", PZ_CONF_PATH, NULL, "certificate for this listener" },
	{ "ssl_key", PZ_CONF_PATH, NULL, "key for this listener" },
	{ "mode", PZ_CONF_STRING, "0666", "permissions of a unix socket" },
	{ "timeout", PZ_CONF_DURATION, "30m", "default read timeout of a connection" },
	{ "connections_per_process", PZ_CONF_INT, "1",
	  "connections one process serves before it exits; 0: no limit" },
	{ "process_min_avail", PZ_CONF_INT, "0",
	  "processes kept started and waiting for a connection" },
	{ NULL, 0, NULL, NULL }
};

const struct pz_config_key pz_filter_keys[] = {
	{ "fail_open", PZ_CONF_BOOL, "no", "accept mail when this filter fails" },
	{ NULL, 0, NULL, NULL }
};

static struct pz_config *settings;

const struct pz_config *pz_settings_config(void)
{
	return settings;
}

void pz_settings_set(struct pz_config *cfg)
{
	settings = cfg;
}

const char *pz_setting(const char *key)
{
	static char hostname[256];

	if (settings != NULL) {
		const char *v = pz_config_value(settings->globals, settings->n_globals,
						 pz_global_keys, key);
		if (v != NULL)
			return v;
	} else {
		const struct pz_config_key *k;

		for (k = pz_global_keys; k->name != NULL; k++) {
			if (strcmp(k->name, key) == 0 && k->def != NULL)
				return k->def;
		}
	}
	if (strcmp(key, "hostname") == 0) {
		if (hostname[0] == '\0' && gethostname(hostname, sizeof(hostname) - 1) < 0)
			strcpy(hostname, "localhost");
		return hostname;
	}
	return NULL;
}

int64_t pz_setting_int(const char *key)
{
	int64_t v = 0;
	const char *s = pz_setting(key);

	if (s != NULL)
		(void)pz_conf_parse_int(s, &v);
	return v;
}

int pz_setting_bool(const char *key)
{
	int v = 0;
	const char *s = pz_setting(key);

	if (s != NULL)
		(void)pz_conf_parse_bool(s, &v);
	return v;
}

uint64_t pz_setting_duration_ms(const char *key)
{
	uint64_t v = 0;
	const char *s = pz_setting(key);

	if (s != NULL)
		(void)pz_conf_parse_duration_ms(s, &v);
	return v;
}

/* check_one_of - the value of `key` must be one of `allowed`. */
static int check_one_of(const struct pz_conf_entry *e, size_t n, const char *key,
			const char *const *allowed, char **error_r)
{
	const struct pz_conf_entry *ent = pz_config_find(e, n, key);
	char list[256] = "";
	size_t i;

	if (ent == NULL)
		return 0;
	for (i = 0; allowed[i] != NULL; i++) {
		if (strcmp(ent->value, allowed[i]) == 0)
			return 0;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i > 0 ? ", " : "", allowed[i]);
	}
	*error_r = pz_strdup_printf("%s:%u: bad value '%s' for '%s': expected one of %s",
				    ent->file, ent->line, ent->value, key, list);
	return -1;
}

/* check_listener - core keys, and protocol and address present. */
static int check_listener(const struct pz_conf_section *s, char **error_r)
{
	static const char *const tls_values[] = { "implicit", "no", NULL };
	char where[256];

	snprintf(where, sizeof(where), "listener %s", s->name);
	if (pz_config_check_keys(s->entries, s->n_entries, pz_listener_keys, where,
				 error_r) < 0)
		return -1;
	if (check_one_of(s->entries, s->n_entries, "tls", tls_values, error_r) < 0)
		return -1;
	if (pz_config_find(s->entries, s->n_entries, "protocol") == NULL ||
	    pz_config_find(s->entries, s->n_entries, "address") == NULL) {
		*error_r = pz_strdup_printf("%s:%u: listener %s needs 'protocol' and 'address'",
					    s->file, s->line, s->name);
		return -1;
	}
	return 0;
}

int pz_settings_check(struct pz_config *cfg, char **error_r)
{
	static const char *const plaintext_values[] = { "yes", "no", "loopback", NULL };
	static const char *const tls_min_values[] = { "TLSv1.2", "TLSv1.3", NULL };
	size_t i;

	if (pz_config_check_keys(cfg->globals, cfg->n_globals, pz_global_keys,
				 "the global settings", error_r) < 0)
		return -1;
	if (pz_config_resolve_paths(cfg->globals, cfg->n_globals, pz_global_keys) < 0)
		pz_fatal("out of memory");
	{
		const struct pz_conf_entry *f = pz_config_find(cfg->globals, cfg->n_globals,
							       "log_facility");

		if (f != NULL && pz_log_facility(f->value) < 0) {
			*error_r = pz_strdup_printf("%s:%u: bad value '%s' for 'log_facility': "
						    "expected mail, daemon, user or local0 to local7",
						    f->file, f->line, f->value);
			return -1;
		}
	}
	if (check_one_of(cfg->globals, cfg->n_globals, "auth_allow_plaintext",
			 plaintext_values, error_r) < 0 ||
	    check_one_of(cfg->globals, cfg->n_globals, "ssl_min_protocol",
			 tls_min_values, error_r) < 0)
		return -1;
	for (i = 0; i < cfg->n_sections; i++) {
		struct pz_conf_section *s = &cfg->sections[i];

		if (strcmp(s->type, "listener") == 0) {
			if (check_listener(s, error_r) < 0)
				return -1;
			if (pz_config_resolve_paths(s->entries, s->n_entries, pz_listener_keys) < 0)
				pz_fatal("out of memory");
		} else if (strcmp(s->type, "module") != 0) {
			*error_r = pz_strdup_printf(
				"%s:%u: unknown section type '%s' (expected module or listener)",
				s->file, s->line, s->type);
			return -1;
		}
	}
	return 0;
}
