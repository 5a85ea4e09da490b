/* bench/mailload.h - what the parts of the load generator share:
 * mailload.c (options, worker processes, figures), mailload-session.c
 * (connections, the blocking POP3 and LMTP client sessions) and
 * mailload-imap.c (the IMAP client and its mixed workload). */
#ifndef MAILLOAD_H
#define MAILLOAD_H

#include <stddef.h>
#include <stdint.h>

#define LOAD_MAX_CLIENTS 256
#define LOAD_MAX_SECONDS 3600
#define LOAD_MAX_SESSIONS 100000000ULL  /* default and largest -n */
#define LOAD_MAX_USERS 10000
#define LOAD_MAX_NAME 64                /* user prefix and password */
#define LOAD_IO_TIMEOUT_S 10            /* one read or write */
#define LOAD_BUF_SIZE 65536             /* input buffer; the longest reply line */
#define LOAD_MAX_POP3_MSGS 100000       /* a STAT above this is refused */
#define LOAD_MIN_MESSAGE 512
#define LOAD_MAX_MESSAGE (4 * 1024 * 1024)
#define LOAD_BODY_LINE 76               /* bytes per generated body line, CRLF included */
#define LOAD_HEADER_MAX 512             /* generated header block of an LMTP message */
#define LOAD_RETRY_PAUSE_NS 10000000L   /* after a refused connection */
#define LOAD_ERROR_TEXT 160
#define LOAD_IMAP_MAX_UIDS 100000       /* UIDs one UID FETCH 1:* may list */
#define LOAD_IMAP_MAX_LITERAL (64 * 1024 * 1024)
#define LOAD_IMAP_APPEND_SIZE 4096      /* default -s of the imap mode */
/* latency histogram: below 16 us one bucket per us, then 16 buckets per
 * power of two (6% wide) up to 2^40 us */
#define HIST_SUB 16
#define HIST_BUCKETS (HIST_SUB * 40)

enum load_mode { LOAD_POP3, LOAD_LMTP, LOAD_IMAP };

/* The IMAP commands of the mixed workload, each timed on its own. */
enum load_imap_kind {
	IMAP_LOGIN, IMAP_SELECT, IMAP_FETCH_FLAGS, IMAP_FETCH_BODY, IMAP_STORE_SEEN,
	IMAP_SEARCH, IMAP_APPEND, IMAP_STORE_DELETED, IMAP_EXPUNGE, IMAP_LOGOUT,
	IMAP_KINDS
};
extern const char *const load_imap_kind_names[IMAP_KINDS];

struct load_opts {
	enum load_mode mode;
	uint16_t port;
	unsigned int clients;
	unsigned int seconds;
	uint64_t max_sessions;
	char prefix[LOAD_MAX_NAME];
	char password[LOAD_MAX_NAME];
	unsigned int users;
	long expect_msgs;           /* -1: any */
	int greeting_only;
	int imap_long;              /* IMAP: one session per client, no LOGIN/LOGOUT per round */
	size_t size_min, size_max;
};

/* What one worker sends back; the parent adds them up. */
struct load_result {
	uint64_t sessions, errors;
	uint64_t bytes_in, bytes_out;
	uint64_t messages;          /* POP3: messages retrieved; LMTP: delivered */
	uint64_t commands;          /* IMAP: commands answered with a tagged OK */
	uint64_t kind_n[IMAP_KINDS], kind_ns[IMAP_KINDS];
	uint64_t elapsed_ns;        /* start signal to the end of the last session */
	uint64_t lat_sum_ns, lat_max_ns;  /* per session, delivery or IMAP command */
	uint64_t hist[HIST_BUCKETS];
	char first_error[LOAD_ERROR_TEXT];
};

struct load_imap;

struct load_conn {
	int fd;
	size_t start, end;
	struct load_result *res;
	char buf[LOAD_BUF_SIZE];
};

/* load_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t load_now_ns(void);

/* load_record_latency - one operation's time into res's sum, maximum and
 * histogram. */
void load_record_latency(struct load_result *res, uint64_t ns);

/* load_fail - count an error in `res` and keep the first one's text. */
void load_fail(struct load_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* load_conn_open - a blocking TCP connection to 127.0.0.1:port with read
 * and write timeouts into c->fd: 0, or -1 counted in c->res. */
int load_conn_open(struct load_conn *c, uint16_t port);

/* load_conn_close - close c->fd if open; c->fd is -1 after. */
void load_conn_close(struct load_conn *c);

/* load_conn_send - all `len` bytes, or -1 counted in c->res. */
int load_conn_send(struct load_conn *c, const void *data, size_t len);

/* load_conn_line - the next line without its CRLF, NUL-terminated inside
 * c->buf and valid until the next read; -1 (counted) on EOF, timeout or a
 * line longer than the buffer. */
int load_conn_line(struct load_conn *c, char **line_r, size_t *len_r);

/* load_conn_skip - read and drop `len` bytes (a literal): 0, or -1 counted. */
int load_conn_skip(struct load_conn *c, size_t len);

/* load_pop3_session - one whole POP3 session as `user` (USER, PASS, STAT,
 * LIST, UIDL, RETR of each message, QUIT; with o->greeting_only just the
 * greeting and QUIT) over a new connection that is closed before the
 * return: 0 when every reply was +OK, -1 after a failure counted in c->res. */
int load_pop3_session(struct load_conn *c, const struct load_opts *o, const char *user);

/* load_body_make - LOAD_BODY_LINE-byte CRLF lines, none starting with a
 * dot, as many as fit in `size` bytes; malloc'd, NULL when out of memory. */
char *load_body_make(size_t size);

/* load_lmtp_step - the k-th delivery of worker `idx` over c's connection,
 * which it opens (LHLO) when there is none: 0 delivered, 1 refused (RSET
 * sent, connection kept), -1 failed (connection closed).  `body` comes from
 * load_body_make(o->size_max); `msg` has o->size_max + LOAD_HEADER_MAX + 3
 * bytes of room. */
int load_lmtp_step(struct load_conn *c, const struct load_opts *o, unsigned int idx,
		   uint64_t k, const char *body, char *msg);

/* load_lmtp_quit - QUIT and close c's connection, if any; its errors are
 * not counted. */
void load_lmtp_quit(struct load_conn *c);

/* load_imap_new - the IMAP client state of worker `idx` (its user, its
 * random sequence, the APPEND message); NULL when out of memory. */
struct load_imap *load_imap_new(const struct load_opts *o, unsigned int idx);

/* load_imap_free - free *st and set it to NULL. */
void load_imap_free(struct load_imap **st);

/* load_imap_round - round k of the mixed workload over c's connection:
 * LOGIN (when not logged in), SELECT INBOX, UID FETCH 1:* (FLAGS), UID
 * FETCH of 3 messages' BODY.PEEK[] and BODYSTRUCTURE, STORE +/-FLAGS
 * (\Seen) on 3, UID SEARCH (UNSEEN, FROM or SINCE in turn), APPEND of an
 * o->size_min message, UID STORE +FLAGS.SILENT (\Deleted) of it,
 * EXPUNGE, and LOGOUT unless o->imap_long.  Each tagged OK counts in
 * c->res->commands; 0 when the whole round went through, -1 after a
 * failure (counted; the connection is closed). */
int load_imap_round(struct load_conn *c, const struct load_opts *o, struct load_imap *st,
		    uint64_t k);

/* load_imap_quit - LOGOUT and close c's connection, if any, outside the
 * figures. */
void load_imap_quit(struct load_conn *c, struct load_imap *st);

#endif
