/* poczta/host.h - the host API: everything the core offers to modules.
 *
 * The core hands init() one `const struct pz_host *`.  Keep it for the life of
 * the module; it stays valid in every child process.  The table starts with
 * its size and ABI version and only ever grows at the end, so a module built
 * for an older minor keeps working.  A module that wants a function added in
 * a later minor tests for it first:
 *
 *     if (PZ_HOST_HAS(host, some_new_call)) host->some_new_call(...);
 *
 * Conventions for every call below:
 * - Memory: a returned pointer is owned by the pool passed in, or by the
 *   object it came from, and is valid as long as that pool or object.  A
 *   string passed in is copied if the core keeps it, except where a call
 *   says otherwise (pool_create, stream_from_memory, filter_msg_new).
 * - Errors: 0 on success, -1 with *error_r or *err set, unless stated.
 * - Nothing here exits the process or writes to stdout/stderr.
 */
#ifndef POCZTA_HOST_H
#define POCZTA_HOST_H

#include <stdarg.h>
#include <poczta/types.h>
#include <poczta/protocol.h>
#include <poczta/storage.h>
#include <poczta/auth.h>
#include <poczta/filter.h>
#include <poczta/mail.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results of the conn_read calls. */
enum pz_io_result {
	PZ_IO_OK = 0,
	PZ_IO_EOF = 1,      /* the client closed the connection */
	PZ_IO_TIMEOUT = 2,  /* nothing arrived within the timeout */
	PZ_IO_TOO_LONG = 3, /* line over the limit: it was read and dropped */
	PZ_IO_SHUTDOWN = 4, /* the server is stopping: say goodbye and return */
	PZ_IO_ERROR = -1,   /* read error or TLS failure */
};

/* Results of sasl_step. */
enum pz_sasl_result {
	PZ_SASL_DONE = 0,     /* authenticated: *user_r is set */
	PZ_SASL_CONTINUE = 1, /* send *challenge_r to the client, then step again */
	PZ_SASL_FAILED = -1,  /* *err says why (PZ_ERR_AUTH, _PARAMS or _TEMP) */
};

/* A stream a module implements itself (e.g. a message in a database).
 * read_at reads up to `n` bytes at `offset`; returns the count, 0 at the
 * end, -1 on error. */
struct pz_stream_ops {
	size_t size;
	ssize_t (*read_at)(void *ctx, void *buf, size_t n, uint64_t offset);
	int64_t (*length)(void *ctx);       /* -1 when unknown */
	void (*close)(void *ctx);           /* may be NULL */
};

/* A field of a message header as host->mail_search_fields gives it (ABI
 * 1.2): the name and raw value are NUL-terminated; `folded` may hold NULs
 * and is `folded_len` bytes long. */
typedef void pz_search_field_cb(void *ctx, const char *name, const char *value,
				size_t value_len, const char *folded, size_t folded_len);

struct pz_host {
	size_t size;          /* sizeof(struct pz_host) of the running core */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* ---- logging: one line, prefixed with the module name, the client's
	 * address and the user when there is one.  Never log a password. */
	void (*log)(pz_module *self, enum pz_log_level level, const char *fmt, ...)
		PZ_PRINTF(3, 4);
	void (*vlog)(pz_module *self, enum pz_log_level level, const char *fmt,
		     va_list args);

	/* ---- configuration of the module's own `module NAME { }` section.
	 * Values are checked against the descriptor's config_keys before init;
	 * an unset key yields its default.  Asking for a key the module did not
	 * declare returns NULL / 0. */
	const char *(*config_string)(pz_module *self, const char *key);
	int64_t (*config_int)(pz_module *self, const char *key);
	int (*config_bool)(pz_module *self, const char *key);
	uint64_t (*config_size)(pz_module *self, const char *key);
	uint64_t (*config_duration_ms)(pz_module *self, const char *key);
	/* A global setting (e.g. "hostname", "state_dir"), or NULL. */
	const char *(*config_global)(const char *key);

	/* ---- memory pools.  Allocation never fails (the core logs and ends
	 * the process when memory runs out).  Memory is zeroed.  The name
	 * given to pool_create is kept, not copied: use a string constant. */
	pz_pool *(*pool_create)(const char *name);
	void (*pool_destroy)(pz_pool **pool);   /* sets *pool to NULL */
	void (*pool_clear)(pz_pool *pool);      /* frees everything, keeps the pool */
	void *(*pool_alloc)(pz_pool *pool, size_t size);
	void *(*pool_realloc)(pz_pool *pool, void *old, size_t old_size, size_t new_size);
	char *(*pool_strdup)(pz_pool *pool, const char *s);
	char *(*pool_strndup)(pz_pool *pool, const char *s, size_t n);
	char *(*pool_printf)(pz_pool *pool, const char *fmt, ...) PZ_PRINTF(2, 3);
	/* Run fn(ctx) when the pool is cleared or destroyed (close fds etc.). */
	void (*pool_cleanup)(pz_pool *pool, void (*fn)(void *ctx), void *ctx);
	void (*uid_array_init)(pz_uid_array *arr, pz_pool *pool);
	void (*uid_array_add)(pz_uid_array *arr, uint32_t uid);

	/* ---- buffered connection I/O.  Reads wait at most the connection's
	 * timeout (conn_set_timeout; the listener's default otherwise). */
	/* Read one line without its CRLF or LF; *line_r is NUL-terminated and
	 * valid until the next read.  A line longer than `max` bytes is
	 * consumed up to its end and reported as PZ_IO_TOO_LONG. */
	int (*conn_read_line)(pz_conn *c, size_t max, char **line_r, size_t *len_r);
	/* Read exactly `n` bytes. */
	int (*conn_read)(pz_conn *c, void *buf, size_t n);
	/* Queue output; output is flushed when the buffer is full, so memory
	 * stays bounded however slow the client. */
	int (*conn_write)(pz_conn *c, const void *data, size_t len);
	int (*conn_printf)(pz_conn *c, const char *fmt, ...) PZ_PRINTF(2, 3);
	int (*conn_flush)(pz_conn *c);
	void (*conn_set_timeout)(pz_conn *c, unsigned int ms);
	/* Bytes received and not yet read by the module. */
	size_t (*conn_input_pending)(pz_conn *c);
	/* Wait until the client sent something (returns 1), `fd` (if >= 0)
	 * is readable (2), or `timeout_ms` passed (0); -1 on error.  When the
	 * server is stopping it returns 1, and reads return PZ_IO_SHUTDOWN once
	 * the complete lines already received have been read. */
	int (*conn_wait)(pz_conn *c, int fd, int timeout_ms);
	/* Whether the listener has a certificate for STARTTLS. */
	int (*conn_tls_available)(pz_conn *c);
	int (*conn_is_tls)(pz_conn *c);
	/* Upgrade to TLS now (after the protocol's "go ahead" reply has been
	 * flushed).  Refused when unread client input is pending, since it
	 * would have been sent before the handshake. */
	int (*conn_starttls)(pz_conn *c, const char **error_r);
	const char *(*conn_peer)(pz_conn *c);       /* "192.0.2.1", "::1", "unix" */
	const char *(*conn_local)(pz_conn *c);      /* local address */
	uint16_t (*conn_local_port)(pz_conn *c);
	/* Name of the listener that accepted the connection. */
	const char *(*conn_listener)(pz_conn *c);

	/* ---- authentication, through every configured auth backend in order,
	 * with the plaintext policy and growing delays after failures. */
	/* Whether a plaintext password may be sent on this connection now
	 * (TLS, or an allowed network such as loopback). */
	int (*auth_plaintext_allowed)(pz_conn *c);
	/* Space-separated SASL mechanisms usable on this connection now. */
	const char *(*auth_mechanisms)(pz_conn *c);
	int (*auth_login)(pz_conn *c, const char *user, const char *password,
			  pz_pool *pool, pz_user **user_r, pz_error *err);
	/* Start a SASL exchange; NULL with *err when the mechanism is unknown
	 * or not allowed now. */
	pz_sasl *(*sasl_begin)(pz_conn *c, const char *mechanism, pz_pool *pool,
			       pz_error *err);
	/* Feed the client's base64 response (NULL: no initial response; "":
	 * empty response "=").  On CONTINUE *challenge_r is base64 to send. */
	int (*sasl_step)(pz_sasl *s, const char *response_b64,
			 const char **challenge_r, pz_user **user_r, pz_error *err);
	/* Look a user up without a password (LMTP, admin tools).  Returns 1
	 * when no backend knows the name. */
	int (*user_lookup)(const char *name, pz_pool *pool, pz_user **user_r,
			   pz_error *err);
	const char *(*user_name)(pz_user *u);
	const char *(*user_get)(pz_user *u, const char *field);
	void (*user_set)(pz_user *u, const char *field, const char *value);
	/* Expand %u (user), %n (local part), %d (domain), %h and a leading ~
	 * (home) in `tmpl`. */
	char *(*user_expand)(pz_user *u, pz_pool *pool, const char *tmpl);

	/* ---- storage: open the user's mail store with the storage the user's
	 * "mail" field or the global `storage` setting names. */
	int (*storage_open)(pz_user *u, pz_pool *pool,
			    const struct pz_storage_ops **ops_r, pz_mail_user **mu_r,
			    pz_error *err);

	/* ---- streams.  Reads are sequential from the current offset.
	 * stream_from_memory keeps `data` (no copy): it must outlive the
	 * stream. */
	pz_stream *(*stream_from_fd)(pz_pool *pool, int fd, int close_on_free);
	pz_stream *(*stream_from_memory)(pz_pool *pool, const void *data, size_t len);
	pz_stream *(*stream_new)(pz_pool *pool, const struct pz_stream_ops *ops,
				 void *ctx);
	ssize_t (*stream_read)(pz_stream *s, void *buf, size_t n);
	int (*stream_seek)(pz_stream *s, uint64_t offset);
	int64_t (*stream_size)(pz_stream *s);

	/* ---- filters, for protocol modules: build a message handle, run the
	 * hook over every filter, notify.  filter_msg_new keeps `message`,
	 * `user` and the `recipients` array (not copied): they must outlive
	 * the handle, which lives in `pool`. */
	pz_filter_msg *(*filter_msg_new)(pz_pool *pool, pz_stream *message,
					 pz_user *user, const char *sender,
					 const char *const *recipients, size_t count);
	/* Run `hook` (DELIVER, APPEND or SCAN) over every filter; *v gets the
	 * first non-accept verdict.  A failing filter gives TEMPFAIL unless it
	 * is configured to fail open. */
	int (*filter_run)(pz_filter_msg *msg, enum pz_filter_hook hook,
			  struct pz_verdict *v);
	void (*filter_saved)(pz_filter_msg *msg, const char *mailbox, uint32_t uid);
	void (*filter_expunged)(pz_user *u, const char *mailbox,
				uint32_t uidvalidity, uint32_t uid);
	/* Ask the search filters; 1 when none answered. */
	int (*filter_search)(pz_user *u, pz_mailbox *box, const char *mailbox,
			     const struct pz_search_key *key,
			     pz_uid_array *result_r, const char **error_r);
	/* Headers filters asked to add, in order (i < count). */
	size_t (*filter_msg_header_count)(pz_filter_msg *msg);
	void (*filter_msg_header)(pz_filter_msg *msg, size_t i,
				  const char **name_r, const char **value_r);

	/* ---- filters, for filter modules: read the message handle. */
	pz_stream *(*filter_msg_stream)(pz_filter_msg *msg); /* rewound */
	const char *(*filter_msg_sender)(pz_filter_msg *msg);
	size_t (*filter_msg_rcpt_count)(pz_filter_msg *msg);
	const char *(*filter_msg_rcpt)(pz_filter_msg *msg, size_t i);
	pz_user *(*filter_msg_user)(pz_filter_msg *msg); /* NULL if several */
	pz_pool *(*filter_msg_pool)(pz_filter_msg *msg);
	int (*filter_msg_add_header)(pz_filter_msg *msg, const char *name,
				     const char *value);

	/* ---- provider registration, from init() only.  The ops struct must
	 * stay valid while the module is loaded (make it static const). */
	int (*register_protocol)(pz_module *self, const struct pz_protocol_ops *ops,
				 const char **error_r);
	int (*register_storage)(pz_module *self, const struct pz_storage_ops *ops,
				const char **error_r);
	int (*register_auth)(pz_module *self, const struct pz_auth_ops *ops,
			     const char **error_r);
	int (*register_filter)(pz_module *self, const struct pz_filter_ops *ops,
			       const char **error_r);

	/* ---- ABI 1.1: mail primitives (poczta/mail.h).  Test with
	 * PZ_HOST_HAS(host, mail_parse). */
	/* Parse the MIME structure of `msg` (bounded in depth and part count,
	 * tolerant of damage: it never fails on content, only on I/O). */
	int (*mail_parse)(pz_stream *msg, pz_pool *pool, pz_mail_part **root_r,
			  pz_error *err);
	/* The part an IMAP section number names ("" the root, "1", "2.1"; in
	 * a message/rfc822 part, numbers go on into the encapsulated message,
	 * as RFC 9051 6.4.5 says), or NULL. */
	pz_mail_part *(*mail_part_find)(pz_mail_part *root, const char *section);
	/* The i-th child (0-based) of a multipart or message part, or NULL. */
	pz_mail_part *(*mail_part_child)(pz_mail_part *p, unsigned int i);
	void (*mail_part_info)(pz_mail_part *p, struct pz_mail_part_info *info);
	/* IMAP BODY (extended = 0) or BODYSTRUCTURE (1) of a part, as sent. */
	char *(*mail_bodystructure)(pz_mail_part *p, pz_pool *pool, int extended);
	/* IMAP ENVELOPE of the root or of a message/rfc822 part, as sent. */
	char *(*mail_envelope)(pz_mail_part *p, pz_pool *pool);
	/* Values of header field `name` (case-insensitive) in the part's own
	 * header, unfolded, in order; returns the count. */
	size_t (*mail_header_get)(pz_mail_part *p, pz_pool *pool, const char *name,
				  const char ***values_r);
	/* The part's body decoded from its Content-Transfer-Encoding (IMAP
	 * BINARY); -1 with PZ_ERR_NOT_SUPPORTED for an unknown encoding. */
	int (*mail_part_decoded)(pz_stream *msg, pz_mail_part *p, pz_pool *pool,
				 pz_stream **decoded_r, pz_error *err);
	/* RFC 2047 encoded-words of a header value, decoded to UTF-8. */
	char *(*mail_decode_words)(pz_pool *pool, const char *value);
	/* Text in `charset` as UTF-8; NULL for a charset the core lacks. */
	char *(*charset_to_utf8)(pz_pool *pool, const char *charset, const void *data,
				 size_t len);
	/* IMAP date-time to time_t and zone (minutes east of UTC); -1 if bad. */
	int (*imap_date_parse)(const char *s, time_t *t_r, int *tz_r);
	void (*imap_date_format)(time_t t, int tz, char buf[PZ_IMAP_DATE_MAX]);
	/* RFC 5322 Date: value (obsolete forms too); -1 if it cannot be read. */
	int (*mail_date_parse)(const char *s, time_t *t_r, int *tz_r);
	/* Modified UTF-7 mailbox names (RFC 3501 5.1.3) and UTF-8; NULL when
	 * the input is not valid. */
	char *(*mutf7_to_utf8)(pz_pool *pool, const char *s);
	char *(*utf8_to_mutf7)(pz_pool *pool, const char *s);
	/* Whether the message's decoded header (where & 1) or body text
	 * (where & 2) contains `needle` (UTF-8), case-insensitively: 1 yes,
	 * 0 no, -1 on a read error. */
	int (*mail_search_text)(pz_stream *msg, pz_mail_part *root, unsigned int where,
				const char *needle, pz_pool *pool);
	/* Evaluate `key` over `candidates` (UIDs of the view) message by
	 * message, using the storage's cached structure where it has it; the
	 * fallback when the storage's own search declines. */
	int (*search_evaluate)(const struct pz_storage_ops *ops, pz_mailbox *box,
			       const struct pz_search_key *key,
			       const pz_uid_array *candidates, pz_uid_array *result_r,
			       pz_error *err);

	/* ---- ABI 1.2: header search in the storage.  Test with
	 * PZ_HOST_HAS(host, mail_search_fields). */
	/* Each field of the message's top-level header, in order, as a SEARCH
	 * HEADER key sees it in search_evaluate: `cb` gets its name, its raw
	 * value (continuation lines joined with "\n"; what mail_date_parse
	 * reads for SENT*) and its decoded value in folded form (may hold
	 * NULs).  A HEADER key matches when some field of that name (ASCII
	 * case-insensitive) has a folded value that contains the key's string
	 * folded by mail_search_fold, byte for byte; the empty string matches
	 * any such field.  Pointers are valid during the call only.  0, or -1
	 * on a read error. */
	int (*mail_search_fields)(pz_stream *msg, pz_search_field_cb *cb, void *ctx);
	/* A search string folded as mail_search_fields folds values; its
	 * length in *len_r. */
	char *(*mail_search_fold)(pz_pool *pool, const char *s, size_t *len_r);

	/* New calls are added here, at the end, with a minor bump. */
};

/* True when the running core's table has `field` (added in some minor). */
#define PZ_HOST_HAS(host, field)                                         \
	(offsetof(struct pz_host, field) + sizeof((host)->field) <= (host)->size \
	 && (host)->field != NULL)

/* True when a provider's ops struct `ops` (starting with size_t size) has
 * `field` and it is set.  The core uses this on every optional hook. */
#define PZ_OPS_HAS(ops, field)                                           \
	(offsetof(__typeof__(*(ops)), field) + sizeof((ops)->field) <= (ops)->size \
	 && (ops)->field != NULL)

#ifdef __cplusplus
}
#endif
#endif
