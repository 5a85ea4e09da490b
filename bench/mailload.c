/* bench/mailload.c - a small, cheap load generator for the POP3, LMTP and
 * IMAP benchmarks (bench/run-pop3-lmtp.py, bench/run-imap.py): options,
 * worker processes and the figures; the client sessions are in
 * mailload-session.c and mailload-imap.c.  It is a benchmark tool, not a
 * test: a failed session or command is counted and the next one starts.
 *
 *   mailload pop3 -p PORT -c CLIENTS -t SECONDS [-n MAX] [-u PREFIX]
 *                 [-k USERS] [-w PASSWORD] [-e MESSAGES] [-g]
 *       each session: connect, USER/PASS, STAT, LIST, UIDL, RETR of every
 *       message, QUIT (no DELE).  Worker i logs in as PREFIX<i % USERS>
 *       (two digits), so with USERS >= CLIENTS no two sessions share a
 *       maildrop.  -e: the message count every maildrop must have.
 *       -g: greeting only (connect, greeting, QUIT): the cost of a
 *       connection without login or mail.
 *   mailload lmtp -p PORT -c CLIENTS -t SECONDS [-n MAX] [-u PREFIX]
 *                 [-k USERS] [-s MIN[-MAX]]
 *       each worker keeps one connection (LHLO once) and loops MAIL, RCPT
 *       (one recipient), DATA.  The k-th delivery of worker i goes to
 *       PREFIX<(i + k) % USERS>@example.org, so the workers rotate over
 *       the users and, at each step, write to different ones; its size is
 *       about MIN + (g * 7919) % (MAX - MIN + 1) bytes with g = i + k *
 *       CLIENTS.  With one client and -n USERS * M, every mailbox gets M
 *       messages of the same sizes on every server.
 *   mailload imap -p PORT -c CLIENTS -t SECONDS [-n MAX] [-u PREFIX]
 *                 [-k USERS] [-w PASSWORD] [-s SIZE] [-l]
 *       each worker loops rounds of a mixed workload as PREFIX<i % USERS>
 *       (LOGIN, SELECT, FETCH, STORE, SEARCH, APPEND, STORE \Deleted,
 *       EXPUNGE, LOGOUT; mailload.h says which exactly); the mailbox keeps
 *       its size, as every round expunges the SIZE-byte message (4096) it
 *       appended.  -l: long sessions, one login per worker and rounds
 *       without LOGIN and LOGOUT.  The rate is tagged-OK commands per
 *       second; every NO, BAD or broken response is an error.
 *
 * CLIENTS worker processes are forked; each runs blocking sessions against
 * 127.0.0.1:PORT until SECONDS have passed or its share of MAX sessions is
 * done, then writes a struct load_result through its own pipe.  The parent
 * prints one line of key=value figures on stdout (first errors on stderr)
 * and exits 0 even when sessions failed; it exits 2 on bad usage and 1 when
 * it cannot run at all.  Every socket read and write has a timeout, and the
 * parent SIGKILLs a worker that has not reported shortly after that.
 */
#define _GNU_SOURCE  /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mailload.h"

/* load_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* hist_bucket - the histogram slot of a latency. */
static unsigned int hist_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int octave, idx;

	if (us < HIST_SUB)
		return (unsigned int)us;
	octave = 63U - (unsigned int)__builtin_clzll(us);   /* >= 4 */
	idx = (octave - 3) * HIST_SUB + (unsigned int)((us >> (octave - 4)) & (HIST_SUB - 1));
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* hist_value_us - the lower bound of a histogram slot, in microseconds. */
static uint64_t hist_value_us(unsigned int idx)
{
	unsigned int octave = idx / HIST_SUB + 3;

	if (idx < HIST_SUB)
		return idx;
	return (uint64_t)(HIST_SUB + idx % HIST_SUB) << (octave - 4);
}

void load_record_latency(struct load_result *res, uint64_t ns)
{
	res->lat_sum_ns += ns;
	if (ns > res->lat_max_ns)
		res->lat_max_ns = ns;
	res->hist[hist_bucket(ns)]++;
}

/* worker_loop - sessions until the deadline or the worker's quota. */
static void worker_loop(struct load_conn *c, const struct load_opts *o, unsigned int idx,
			const char *body, char *msg, struct load_imap *imap)
{
	uint64_t quota = (o->max_sessions + o->clients - 1 - idx) / o->clients;
	uint64_t start = load_now_ns(), deadline = start + (uint64_t)o->seconds * 1000000000ULL;
	struct load_result *res = c->res;
	char user[LOAD_MAX_NAME + 16];
	uint64_t k;

	snprintf(user, sizeof(user), "%s%02u", o->prefix, idx % o->users);
	for (k = 0; res->sessions + res->errors < quota && load_now_ns() < deadline; k++) {
		uint64_t t0 = load_now_ns();
		int r;

		if (o->mode == LOAD_IMAP) {
			/* each command's latency is recorded as it completes */
			r = load_imap_round(c, o, imap, k);
			res->sessions += r == 0;
			if (r < 0)
				nanosleep(&(struct timespec){ 0, LOAD_RETRY_PAUSE_NS / 10 }, NULL);
			continue;
		}
		r = o->mode == LOAD_POP3 ? load_pop3_session(c, o, user) :
			load_lmtp_step(c, o, idx, k, body, msg);
		if (r == 0) {
			res->sessions++;
			res->messages += o->mode == LOAD_LMTP;
			load_record_latency(res, load_now_ns() - t0);
		} else if (o->mode == LOAD_POP3) {
			nanosleep(&(struct timespec){ 0, LOAD_RETRY_PAUSE_NS / 10 }, NULL);
		}
	}
	res->elapsed_ns = load_now_ns() - start;
}

/* worker - one client process: buffers, the start signal, the loop. */
static void worker(const struct load_opts *o, unsigned int idx, int go_fd,
		   struct load_result *res)
{
	struct load_conn *c = calloc(1, sizeof(*c));
	struct load_imap *imap = NULL;
	char *body = NULL, *msg = NULL;
	char dummy;

	if (o->mode == LOAD_LMTP) {
		body = load_body_make(o->size_max);
		msg = malloc(o->size_max + LOAD_HEADER_MAX + 3);
	} else if (o->mode == LOAD_IMAP) {
		imap = load_imap_new(o, idx);
	}
	if (c == NULL || (o->mode == LOAD_LMTP && (body == NULL || msg == NULL)) ||
	    (o->mode == LOAD_IMAP && imap == NULL)) {
		load_fail(res, "out of memory");
	} else {
		c->fd = -1;
		c->res = res;
		while (read(go_fd, &dummy, 1) < 0 && errno == EINTR)
			;
		worker_loop(c, o, idx, body, msg, imap);
		if (o->mode == LOAD_IMAP)
			load_imap_quit(c, imap);
		else
			load_lmtp_quit(c);
	}
	load_imap_free(&imap);
	free(body);
	free(msg);
	free(c);
}

/* run_worker - the forked child: work, report through the pipe, exit. */
static void __attribute__((noreturn)) run_worker(const struct load_opts *o, unsigned int idx,
						  int go_fd, int out_fd)
{
	struct load_result *res = calloc(1, sizeof(*res));
	const char *p;
	size_t left;

	if (res == NULL)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	worker(o, idx, go_fd, res);
	p = (const char *)res;
	left = sizeof(*res);
	while (left > 0) {
		ssize_t w = write(out_fd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		p += w;
		left -= (size_t)w;
	}
	_exit(0);
}

/* collect - read every worker's result until the hard deadline; a worker
 * that has not reported by then is killed.  Returns how many reported. */
static unsigned int collect(const struct load_opts *o, const pid_t *pids, int *fds,
			    struct load_result *res, uint64_t hard_deadline)
{
	size_t *got = calloc(o->clients, sizeof(*got));
	unsigned int done = 0, i, reported = 0;

	if (got == NULL)
		return 0;
	while (done < o->clients) {
		struct pollfd pfd[LOAD_MAX_CLIENTS];
		unsigned int map[LOAD_MAX_CLIENTS], n = 0;
		uint64_t now = load_now_ns();
		int r;

		if (now >= hard_deadline)
			break;
		for (i = 0; i < o->clients; i++) {
			if (fds[i] >= 0) {
				pfd[n] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
				map[n++] = i;
			}
		}
		r = poll(pfd, n, (int)((hard_deadline - now) / 1000000 + 1));
		if (r < 0 && errno != EINTR)
			break;
		for (unsigned int k = 0; r > 0 && k < n; k++) {
			ssize_t rd;

			i = map[k];
			if ((pfd[k].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			rd = read(fds[i], (char *)&res[i] + got[i], sizeof(res[i]) - got[i]);
			if (rd > 0)
				got[i] += (size_t)rd;
			if (rd <= 0 || got[i] == sizeof(res[i])) {
				reported += got[i] == sizeof(res[i]);
				close(fds[i]);
				fds[i] = -1;
				done++;
			}
		}
	}
	for (i = 0; i < o->clients; i++) {
		if (got[i] != sizeof(res[i])) {
			kill(pids[i], SIGKILL);
			memset(&res[i], 0, sizeof(res[i]));
			load_fail(&res[i], "worker %u did not report", i);
		}
	}
	free(got);
	return reported;
}

/* percentile_ms - from the merged histogram. */
static double percentile_ms(const uint64_t *hist, uint64_t total, double q)
{
	uint64_t want = (uint64_t)((double)total * q), seen = 0;
	unsigned int i;

	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return (double)hist_value_us(i) / 1000.0;
	}
	return 0.0;
}

/* result_ops - what the rate counts: IMAP commands, else sessions (POP3)
 * or deliveries (LMTP); the latencies are of the same unit. */
static uint64_t result_ops(const struct load_opts *o, const struct load_result *r)
{
	return o->mode == LOAD_IMAP ? r->commands : r->sessions;
}

/* result_add - add one worker's result to `sum`. */
static void result_add(struct load_result *sum, const struct load_result *r)
{
	unsigned int j;

	sum->sessions += r->sessions;
	sum->errors += r->errors;
	sum->bytes_in += r->bytes_in;
	sum->bytes_out += r->bytes_out;
	sum->messages += r->messages;
	sum->commands += r->commands;
	sum->lat_sum_ns += r->lat_sum_ns;
	if (r->lat_max_ns > sum->lat_max_ns)
		sum->lat_max_ns = r->lat_max_ns;
	for (j = 0; j < HIST_BUCKETS; j++)
		sum->hist[j] += r->hist[j];
	for (j = 0; j < IMAP_KINDS; j++) {
		sum->kind_n[j] += r->kind_n[j];
		sum->kind_ns[j] += r->kind_ns[j];
	}
}

/* report_kinds - IMAP: count and mean latency of each command kind. */
static void report_kinds(const struct load_result *sum)
{
	unsigned int j;

	for (j = 0; j < IMAP_KINDS; j++) {
		uint64_t n = sum->kind_n[j];

		printf(" n_%s=%llu ms_%s=%.3f", load_imap_kind_names[j], (unsigned long long)n,
		       load_imap_kind_names[j],
		       n > 0 ? (double)sum->kind_ns[j] / (double)n / 1e6 : 0.0);
	}
}

/* report - add the results up and print one key=value line. */
static void report(const struct load_opts *o, const struct load_result *res, double wall_s)
{
	static const char *const mode_names[] = { "pop3", "lmtp", "imap" };
	struct load_result sum;
	double rate = 0, bytes_rate = 0;
	struct rusage ru;
	double cpu;
	uint64_t ops;
	unsigned int i;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < o->clients; i++) {
		const struct load_result *r = &res[i];
		double secs = (double)r->elapsed_ns / 1e9;

		result_add(&sum, r);
		if (secs > 0) {
			rate += (double)result_ops(o, r) / secs;
			bytes_rate += (double)(o->mode == LOAD_LMTP ? r->bytes_out : r->bytes_in) / secs;
		}
		if (r->first_error[0] != '\0')
			fprintf(stderr, "mailload: worker %u: %llu errors, first: %s\n", i,
				(unsigned long long)r->errors, r->first_error);
	}
	ops = result_ops(o, &sum);
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("mode=%s clients=%u seconds=%.2f sessions=%llu commands=%llu errors=%llu "
	       "rate=%.1f mb_per_s=%.2f messages=%llu bytes_in=%llu bytes_out=%llu "
	       "lat_avg_ms=%.3f lat_p50_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f "
	       "client_cpu_s=%.3f",
	       mode_names[o->mode], o->clients, wall_s, (unsigned long long)sum.sessions,
	       (unsigned long long)sum.commands, (unsigned long long)sum.errors, rate,
	       bytes_rate / 1e6, (unsigned long long)sum.messages,
	       (unsigned long long)sum.bytes_in, (unsigned long long)sum.bytes_out,
	       ops > 0 ? (double)sum.lat_sum_ns / (double)ops / 1e6 : 0.0,
	       percentile_ms(sum.hist, ops, 0.50), percentile_ms(sum.hist, ops, 0.99),
	       (double)sum.lat_max_ns / 1e6, cpu);
	if (o->mode == LOAD_IMAP)
		report_kinds(&sum);
	printf("\n");
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: mailload pop3|lmtp|imap -p PORT -c CLIENTS -t SECONDS [-n MAX]\n"
		"                [-u PREFIX] [-k USERS] [-w PASSWORD] [-e MESSAGES] [-g]\n"
		"                [-s MIN[-MAX]] [-l]\n");
	exit(2);
}

/* parse_uint - a decimal in [lo, hi], or usage. */
static unsigned long long parse_uint(const char *s, unsigned long long lo, unsigned long long hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' || v < lo || v > hi)
		usage();
	return v;
}

/* parse_name - a user prefix or password: short, printable, no spaces. */
static void parse_name(char *dst, const char *s)
{
	size_t n = strlen(s);

	if (n >= LOAD_MAX_NAME)
		usage();
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] > '~')
			usage();
	}
	memcpy(dst, s, n + 1);
}

static void parse_sizes(struct load_opts *o, const char *s)
{
	char buf[64], *dash;

	if (strlen(s) >= sizeof(buf))
		usage();
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash = '\0';
	o->size_min = parse_uint(buf, LOAD_MIN_MESSAGE, LOAD_MAX_MESSAGE);
	o->size_max = dash != NULL ? parse_uint(dash + 1, o->size_min, LOAD_MAX_MESSAGE) : o->size_min;
}

static void parse_args(struct load_opts *o, int argc, char **argv)
{
	int ch;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "pop3") == 0)
		o->mode = LOAD_POP3;
	else if (strcmp(argv[1], "lmtp") == 0)
		o->mode = LOAD_LMTP;
	else if (strcmp(argv[1], "imap") == 0)
		o->mode = LOAD_IMAP;
	else
		usage();
	o->max_sessions = LOAD_MAX_SESSIONS;
	o->expect_msgs = -1;
	o->size_min = o->size_max = o->mode == LOAD_IMAP ? LOAD_IMAP_APPEND_SIZE : 5120;
	strcpy(o->prefix, "user");
	strcpy(o->password, "secret");
	optind = 2;
	while ((ch = getopt(argc, argv, "p:c:t:n:u:k:w:e:gs:l")) != -1) {
		switch (ch) {
		case 'p': o->port = (uint16_t)parse_uint(optarg, 1, 65535); break;
		case 'c': o->clients = (unsigned int)parse_uint(optarg, 1, LOAD_MAX_CLIENTS); break;
		case 't': o->seconds = (unsigned int)parse_uint(optarg, 1, LOAD_MAX_SECONDS); break;
		case 'n': o->max_sessions = parse_uint(optarg, 1, LOAD_MAX_SESSIONS); break;
		case 'u': parse_name(o->prefix, optarg); break;
		case 'k': o->users = (unsigned int)parse_uint(optarg, 1, LOAD_MAX_USERS); break;
		case 'w': parse_name(o->password, optarg); break;
		case 'e': o->expect_msgs = (long)parse_uint(optarg, 0, LOAD_MAX_POP3_MSGS); break;
		case 'g': o->greeting_only = 1; break;
		case 's': parse_sizes(o, optarg); break;
		case 'l': o->imap_long = 1; break;
		default: usage();
		}
	}
	if (optind != argc || o->port == 0 || o->clients == 0 || o->seconds == 0)
		usage();
	if (o->users == 0)
		o->users = o->mode == LOAD_LMTP ? 16 : o->clients;
}

int main(int argc, char **argv)
{
	struct load_opts o;
	pid_t pids[LOAD_MAX_CLIENTS];
	int fds[LOAD_MAX_CLIENTS], go[2];
	struct load_result *res;
	uint64_t t_start;
	unsigned int i;

	memset(&o, 0, sizeof(o));
	parse_args(&o, argc, argv);
	res = calloc(o.clients, sizeof(*res));
	if (res == NULL || pipe2(go, O_CLOEXEC) < 0) {
		perror("mailload");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);
	for (i = 0; i < o.clients; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0 || (pids[i] = fork()) < 0) {
			perror("mailload: fork");
			for (unsigned int k = 0; k < i; k++)
				kill(pids[k], SIGKILL);
			return 1;
		}
		if (pids[i] == 0) {
			close(go[1]);
			close(p[0]);
			run_worker(&o, i, go[0], p[1]);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	close(go[0]);
	t_start = load_now_ns();
	close(go[1]);   /* every worker's read() returns now: go */
	collect(&o, pids, fds, res,
		t_start + ((uint64_t)o.seconds + 3 * LOAD_IO_TIMEOUT_S + 5) * 1000000000ULL);
	for (i = 0; i < o.clients; i++) {
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	report(&o, res, (double)(load_now_ns() - t_start) / 1e9);
	free(res);
	return 0;
}
