/* core/host.c - the host API table: the only door from modules to the core. */
#include "config-core.h"
#include <string.h>
#include "auth.h"
#include "conn.h"
#include "core.h"
#include "filter.h"
#include "log.h"
#include "mail/mail-charset.h"
#include "mail/mail-date.h"
#include "mail/mail-decode.h"
#include "mail/mail-imap.h"
#include "mail/mail-parse.h"
#include "mail/mail-search.h"
#include "mail/mail-search-eval.h"
#include "mail/mail-utf7.h"
#include "mail/mail-words.h"
#include "pool.h"
#include "registry.h"
#include "settings.h"
#include "stream.h"
#include "user.h"

static void host_vlog(pz_module *self, enum pz_log_level level, const char *fmt,
		      va_list args)
{
	pz_logv(self != NULL ? self->name : NULL, level, fmt, args);
}

static void host_log(pz_module *self, enum pz_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	host_vlog(self, level, fmt, args);
	va_end(args);
}

/* module_value - the effective value of a declared key, else NULL. */
static const char *module_value(pz_module *self, const char *key)
{
	const struct pz_config_key *k = self->desc->config_keys;

	for (; k != NULL && k->name != NULL; k++) {
		if (strcmp(k->name, key) == 0)
			break;
	}
	if (k == NULL || k->name == NULL)
		return NULL;
	if (self->section == NULL)
		return k->def;
	return pz_config_value(self->section->entries, self->section->n_entries,
			       self->desc->config_keys, key);
}

static const char *host_config_string(pz_module *self, const char *key)
{
	return module_value(self, key);
}

static int64_t host_config_int(pz_module *self, const char *key)
{
	const char *v = module_value(self, key);
	int64_t n = 0;

	if (v != NULL)
		(void)pz_conf_parse_int(v, &n);
	return n;
}

static int host_config_bool(pz_module *self, const char *key)
{
	const char *v = module_value(self, key);
	int b = 0;

	if (v != NULL)
		(void)pz_conf_parse_bool(v, &b);
	return b;
}

static uint64_t host_config_size(pz_module *self, const char *key)
{
	const char *v = module_value(self, key);
	uint64_t n = 0;

	if (v != NULL)
		(void)pz_conf_parse_size(v, &n);
	return n;
}

static uint64_t host_config_duration_ms(pz_module *self, const char *key)
{
	const char *v = module_value(self, key);
	uint64_t n = 0;

	if (v != NULL)
		(void)pz_conf_parse_duration_ms(v, &n);
	return n;
}

/* register_check - registration is for init() and for the declared kind. */
static int register_check(pz_module *self, unsigned int kind, const void *ops,
			  const void *existing, const char **error_r)
{
	if ((self->desc->kinds & kind) == 0) {
		*error_r = "module registers a provider of a kind its descriptor does not declare";
		return -1;
	}
	if (self->initialised) {
		*error_r = "providers can only be registered from init";
		return -1;
	}
	if (ops == NULL || *(const size_t *)ops < sizeof(size_t) + sizeof(char *)) {
		*error_r = "bad ops struct (size)";
		return -1;
	}
	if (existing != NULL) {
		*error_r = "module registered this kind of provider twice";
		return -1;
	}
	return 0;
}

static int host_register_protocol(pz_module *self, const struct pz_protocol_ops *ops,
				  const char **error_r)
{
	if (register_check(self, PZ_KIND_PROTOCOL, ops, self->protocol, error_r) < 0)
		return -1;
	if (!PZ_OPS_HAS(ops, session) || ops->name == NULL) {
		*error_r = "protocol ops need a name and session()";
		return -1;
	}
	self->protocol = ops;
	return 0;
}

static int host_register_storage(pz_module *self, const struct pz_storage_ops *ops,
				 const char **error_r)
{
	if (register_check(self, PZ_KIND_STORAGE, ops, self->storage, error_r) < 0)
		return -1;
	if (ops->name == NULL || !PZ_OPS_HAS(ops, user_open) || !PZ_OPS_HAS(ops, mailbox_open)) {
		*error_r = "storage ops need a name, user_open and mailbox_open";
		return -1;
	}
	self->storage = ops;
	return 0;
}

static int host_register_auth(pz_module *self, const struct pz_auth_ops *ops,
			      const char **error_r)
{
	if (register_check(self, PZ_KIND_AUTH, ops, self->auth, error_r) < 0)
		return -1;
	if (ops->name == NULL || !PZ_OPS_HAS(ops, lookup) || !PZ_OPS_HAS(ops, verify_password)) {
		*error_r = "auth ops need a name, lookup and verify_password";
		return -1;
	}
	self->auth = ops;
	return 0;
}

static int host_register_filter(pz_module *self, const struct pz_filter_ops *ops,
				const char **error_r)
{
	if (register_check(self, PZ_KIND_FILTER, ops, self->filter, error_r) < 0)
		return -1;
	if (ops->name == NULL) {
		*error_r = "filter ops need a name";
		return -1;
	}
	self->filter = ops;
	return 0;
}

/* host_storage_open - the storage named by the user's "mail" field prefix
 * ("maildir:..."), else by the global `storage` setting. */
static int host_storage_open(pz_user *u, pz_pool *pool, const struct pz_storage_ops **ops_r,
			     pz_mail_user **mu_r, pz_error *err)
{
	const char *mail = pz_user_get(u, "mail");
	const char *name = pz_setting("storage");
	char prefix[64];
	const struct pz_storage_ops *ops = NULL;
	size_t i;

	if (mail != NULL) {
		const char *colon = strchr(mail, ':');

		if (colon != NULL && (size_t)(colon - mail) < sizeof(prefix)) {
			memcpy(prefix, mail, (size_t)(colon - mail));
			prefix[colon - mail] = '\0';
			if (pz_storage_by_name(prefix) != NULL)
				name = prefix;
		}
	}
	ops = pz_storage_by_name(name);
	if (ops == NULL) {
		pz_log(PZ_LOG_ERROR, "no storage module '%s' is loaded", name);
		err->cls = PZ_ERR_TEMP;
		err->msg = "Mail storage is not available";
		return -1;
	}
	for (i = 0; i < pz_module_count && pz_modules[i]->storage != ops; i++)
		;
	*ops_r = ops;
	return ops->user_open(pz_modules[i], u, pool, mu_r, err);
}

static const struct pz_host host_table = {
	.size = sizeof(struct pz_host),
	.abi_major = PZ_ABI_MAJOR,
	.abi_minor = PZ_ABI_MINOR,
	.log = host_log,
	.vlog = host_vlog,
	.config_string = host_config_string,
	.config_int = host_config_int,
	.config_bool = host_config_bool,
	.config_size = host_config_size,
	.config_duration_ms = host_config_duration_ms,
	.config_global = pz_setting,
	.pool_create = pz_pool_create,
	.pool_destroy = pz_pool_destroy,
	.pool_clear = pz_pool_clear,
	.pool_alloc = pz_pool_alloc,
	.pool_realloc = pz_pool_realloc,
	.pool_strdup = pz_pool_strdup,
	.pool_strndup = pz_pool_strndup,
	.pool_printf = pz_pool_printf,
	.pool_cleanup = pz_pool_cleanup,
	.uid_array_init = pz_uid_array_init,
	.uid_array_add = pz_uid_array_add,
	.conn_read_line = pz_conn_read_line,
	.conn_read = pz_conn_read,
	.conn_write = pz_conn_write,
	.conn_printf = pz_conn_printf,
	.conn_flush = pz_conn_flush,
	.conn_set_timeout = pz_conn_set_timeout,
	.conn_input_pending = pz_conn_input_pending,
	.conn_wait = pz_conn_wait,
	.conn_tls_available = pz_conn_tls_available,
	.conn_is_tls = pz_conn_is_tls,
	.conn_starttls = pz_conn_starttls,
	.conn_peer = pz_conn_peer,
	.conn_local = pz_conn_local,
	.conn_local_port = pz_conn_local_port,
	.conn_listener = pz_conn_listener,
	.auth_plaintext_allowed = pz_auth_plaintext_allowed,
	.auth_mechanisms = pz_auth_mechanisms,
	.auth_login = pz_auth_login,
	.sasl_begin = pz_sasl_begin,
	.sasl_step = pz_sasl_step,
	.user_lookup = pz_auth_user_lookup,
	.user_name = pz_user_name,
	.user_get = pz_user_get,
	.user_set = pz_user_set,
	.user_expand = pz_user_expand,
	.storage_open = host_storage_open,
	.stream_from_fd = pz_stream_from_fd,
	.stream_from_memory = pz_stream_from_memory,
	.stream_new = pz_stream_new,
	.stream_read = pz_stream_read,
	.stream_seek = pz_stream_seek,
	.stream_size = pz_stream_size,
	.filter_msg_new = pz_filter_msg_new,
	.filter_run = pz_filter_run,
	.filter_saved = pz_filter_saved,
	.filter_expunged = pz_filter_expunged,
	.filter_search = pz_filter_search,
	.filter_msg_header_count = pz_filter_msg_header_count,
	.filter_msg_header = pz_filter_msg_header,
	.filter_msg_stream = pz_filter_msg_stream,
	.filter_msg_sender = pz_filter_msg_sender,
	.filter_msg_rcpt_count = pz_filter_msg_rcpt_count,
	.filter_msg_rcpt = pz_filter_msg_rcpt,
	.filter_msg_user = pz_filter_msg_user,
	.filter_msg_pool = pz_filter_msg_pool,
	.filter_msg_add_header = pz_filter_msg_add_header,
	.register_protocol = host_register_protocol,
	.register_storage = host_register_storage,
	.register_auth = host_register_auth,
	.register_filter = host_register_filter,
	.mail_parse = pz_mail_parse,
	.mail_part_find = pz_mail_part_find,
	.mail_part_child = pz_mail_part_child,
	.mail_part_info = pz_mail_part_info,
	.mail_bodystructure = pz_mail_bodystructure,
	.mail_envelope = pz_mail_envelope,
	.mail_header_get = pz_mail_header_get,
	.mail_part_decoded = pz_mail_part_decoded,
	.mail_decode_words = pz_mail_decode_words,
	.charset_to_utf8 = pz_charset_to_utf8,
	.imap_date_parse = pz_imap_date_parse,
	.imap_date_format = pz_imap_date_format,
	.mail_date_parse = pz_mail_date_parse,
	.mutf7_to_utf8 = pz_mutf7_to_utf8,
	.utf8_to_mutf7 = pz_utf8_to_mutf7,
	.mail_search_text = pz_mail_search_text,
	.search_evaluate = pz_search_evaluate,
	.mail_search_fields = pz_mail_search_fields,
	.mail_search_fold = pz_mail_search_fold,
};

const struct pz_host *pz_host_table(void)
{
	return &host_table;
}
