/* modules/pop3/pop3.h - the POP3 server module (RFC 1939, 2449, 2595, 5034).
 *
 * A session is a state (AUTHORIZATION, TRANSACTION) plus a command table;
 * UPDATE happens only inside QUIT, so a dropped connection changes nothing. */
#ifndef POCZTA_POP3_H
#define POCZTA_POP3_H

#include <time.h>
#include <poczta/poczta.h>

#define POP3_MAX_LINE 8192      /* a command line, AUTH responses included */
#define POP3_MAX_ARGS 4
#define POP3_MAX_MAILBOXES 16
#define POP3_CAPA_MAX 512
/* cache field: when POP3 last retrieved a message (seconds since the epoch) */
#define POP3_RETRIEVED_FIELD "pop3.retrieved"

extern const struct pz_host *pop3_host;

enum pop3_state {
	POP3_AUTHORIZATION,
	POP3_TRANSACTION,
};

struct pop3_msg {
	uint32_t uid;
	uint64_t size;          /* octets as sent: CRLF line endings */
	unsigned int box;       /* index into session boxes */
	unsigned int flags;
	int deleted;            /* DELE in this session */
	int retrieved;          /* RETR in this session */
};

struct pop3_box {
	const char *name;
	pz_mailbox *box;
	uint32_t uidvalidity;
};

/* Settings read once per session from the module section. */
struct pop3_settings {
	uint64_t login_timeout_ms;
	uint64_t idle_timeout_ms;
	int64_t max_bad_commands;
	int mark_seen;
	int64_t expire_days;     /* -1: NEVER */
	uint64_t login_delay_ms; /* 0: no delay enforced */
	const char *uidl_format;
	const char *mailboxes;
	const char *greeting;
};

struct pop3_session {
	pz_module *module;
	pz_conn *conn;
	pz_pool *pool;
	enum pop3_state state;
	struct pop3_settings set;
	int bad_commands;
	char user_name[POP3_MAX_LINE + 1]; /* after USER; "" when none */
	struct timespec started; /* for the login deadline */
	pz_user *user;
	const struct pz_storage_ops *storage;
	pz_mail_user *mu;
	struct pop3_box boxes[POP3_MAX_MAILBOXES];
	unsigned int n_boxes;
	struct pop3_msg *msgs;
	uint32_t n_msgs;
	size_t msgs_alloc;
	int lock_fd;
	int quit;
};

/* pop3-session.c */
void pop3_reply(struct pop3_session *s, const char *fmt, ...) PZ_PRINTF(2, 3);
void pop3_session(pz_module *self, pz_conn *conn, pz_pool *pool);
const char *pop3_lock_dir(pz_pool *pool);

/* pop3-commands.c: run one command line; the table knows the states. */
void pop3_command(struct pop3_session *s, char *line);
void pop3_capabilities(struct pop3_session *s, char *buf, size_t size);

/* pop3-maildrop.c */
int pop3_maildrop_open(struct pop3_session *s, const char **resp_r);
int pop3_maildrop_update(struct pop3_session *s, const char **error_r);
void pop3_maildrop_close(struct pop3_session *s);
int pop3_send_message(struct pop3_session *s, struct pop3_msg *m, int64_t body_lines);
char *pop3_uidl(struct pop3_session *s, const struct pop3_msg *m);

#endif
