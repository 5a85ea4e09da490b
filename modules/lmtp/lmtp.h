/* modules/lmtp/lmtp.h - LMTP delivery (RFC 2033) with the ESMTP extensions
 * MTAs use: PIPELINING, ENHANCEDSTATUSCODES, 8BITMIME, SIZE, CHUNKING,
 * SMTPUTF8 and STARTTLS.
 *
 * A transaction is MAIL, one or more RCPT, then DATA or BDAT ... LAST; the
 * message is spooled once, the filters run once, and each recipient gets
 * its own reply only after its copy is durable in the store. */
#ifndef POCZTA_LMTP_H
#define POCZTA_LMTP_H

#include <poczta/poczta.h>

#define LMTP_MAX_LINE 4096          /* command lines */
#define LMTP_MAX_DATA_LINE 1048576  /* one line of message text */
#define LMTP_MAX_ADDRESS 512

extern const struct pz_host *lmtp_host;

enum lmtp_state {
	LMTP_GREETED,   /* before LHLO */
	LMTP_READY,     /* after LHLO, no transaction */
	LMTP_MAIL,      /* MAIL given, collecting RCPT */
	LMTP_BDAT,      /* BDAT chunks arriving */
};

struct lmtp_settings {
	uint64_t max_message_size;
	int64_t max_recipients;
	uint64_t spool_memory;
	const char *spool_dir;
	const char *recipient_delimiter;
	int detail_mailbox;
	const char *local_domains;
	int quota_tempfail;
	uint64_t timeout_ms;
};

struct lmtp_rcpt {
	char *address;    /* as given, without <> */
	pz_user *user;
	char *mailbox;    /* target mailbox; NULL: INBOX */
};

/* The spool: memory up to spool_memory, then an unlinked temp file. */
struct lmtp_spool {
	unsigned char *mem;
	size_t mem_len, mem_alloc;
	int fd;
	uint64_t size;
	int failed;       /* a write to the spool failed: tempfail */
	int too_big;
};

/* A mailbox kept open between the deliveries of one session: a client
 * (Postfix keeps its LMTP connections for a while) that sends mail after
 * mail to the same users does not pay the mailbox open for each. */
#define LMTP_TARGETS_MAX 16

struct lmtp_target {
	pz_pool *pool;           /* NULL: slot unused */
	char *user, *want;       /* the key: user name, requested mailbox */
	int create;
	const char *mailbox;     /* the mailbox it opened */
	const struct pz_storage_ops *ops;
	pz_mail_user *mu;
	pz_mailbox *box;
	unsigned long last_used;
};

struct lmtp_session {
	pz_module *module;
	pz_conn *conn;
	pz_pool *pool;      /* session */
	pz_pool *tx_pool;   /* transaction: cleared at RSET/MAIL/end of data */
	enum lmtp_state state;
	struct lmtp_settings set;
	char lhlo[256];          /* the client's LHLO name, "" before it */
	char *sender;
	uint64_t declared_size;
	struct lmtp_rcpt *rcpts;
	size_t n_rcpts, rcpts_alloc;
	struct lmtp_spool spool;
	int quit;
	unsigned int tx_count;
	struct lmtp_target targets[LMTP_TARGETS_MAX];
	unsigned long target_clock;
};

/* lmtp-session.c */
void lmtp_reply(struct lmtp_session *s, const char *fmt, ...) PZ_PRINTF(2, 3);
const struct lmtp_settings *lmtp_settings_get(void);
void lmtp_tx_reset(struct lmtp_session *s);

/* lmtp-commands.c */
void lmtp_command(struct lmtp_session *s, char *line);

/* lmtp-spool.c */
void lmtp_spool_init(struct lmtp_spool *sp);
int lmtp_spool_write(struct lmtp_session *s, const void *data, size_t len);
pz_stream *lmtp_spool_stream(struct lmtp_session *s, pz_pool *pool);
void lmtp_spool_free(struct lmtp_spool *sp);

/* lmtp-deliver.c: deliver the spooled message, one reply per recipient. */
void lmtp_deliver(struct lmtp_session *s);
/* lmtp_targets_close - the mailboxes kept open, at the end of a session. */
void lmtp_targets_close(struct lmtp_session *s);

#endif
