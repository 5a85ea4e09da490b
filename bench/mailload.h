/* bench/mailload.h - what the two halves of the load generator share:
 * mailload.c (options, worker processes, figures) and mailload-session.c
 * (the blocking POP3 and LMTP client sessions). */
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
/* latency histogram: below 16 us one bucket per us, then 16 buckets per
 * power of two (6% wide) up to 2^40 us */
#define HIST_SUB 16
#define HIST_BUCKETS (HIST_SUB * 40)

enum load_mode { LOAD_POP3, LOAD_LMTP };

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
	size_t size_min, size_max;
};

/* What one worker sends back; the parent adds them up. */
struct load_result {
	uint64_t sessions, errors;
	uint64_t bytes_in, bytes_out;
	uint64_t messages;          /* POP3: messages retrieved; LMTP: delivered */
	uint64_t elapsed_ns;        /* start signal to the end of the last session */
	uint64_t lat_sum_ns, lat_max_ns;
	uint64_t hist[HIST_BUCKETS];
	char first_error[LOAD_ERROR_TEXT];
};

struct load_conn {
	int fd;
	size_t start, end;
	struct load_result *res;
	char buf[LOAD_BUF_SIZE];
};

/* load_fail - count an error in `res` and keep the first one's text. */
void load_fail(struct load_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

#endif
