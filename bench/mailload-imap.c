/* bench/mailload-imap.c - the load generator's IMAP client: rounds of the
 * mixed workload (mailload.h, load_imap_round, lists its commands), one
 * command at a time as most clients send them.  Responses are read by
 * their syntax: a line that ends in a literal ({n}) is followed by exactly
 * n bytes, which are counted off and never scanned, so no message body can
 * pass for a tagged reply.  Every command's time, from sending it to its
 * tagged OK, is recorded by kind.  The mailboxes are filled by
 * bench/run-imap.py; the SEARCH criteria below match its messages. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "mailload.h"

#define IMAP_CMD_MAX 512
#define IMAP_TAG_MAX 16
#define IMAP_APPEND_PREFIX 64       /* room for "tag APPEND INBOX {n+}\r\n" */
#define IMAP_FETCH_BODIES 3         /* messages per UID FETCH of bodies */
#define IMAP_STORE_SPAN 3           /* messages per STORE (\Seen) */
#define IMAP_SENDERS 20             /* run-imap.py: From: senderNN, NN below this */
#define IMAP_FILL_START 1704067200  /* run-imap.py: internal dates from 2024-01-01 */
#define IMAP_FILL_DAYS 100          /* over this many days */
#define IMAP_SEARCHES 3             /* UNSEEN, FROM, SINCE in turn */

const char *const load_imap_kind_names[IMAP_KINDS] = {
	"login", "select", "fetch_flags", "fetch_body", "store_seen",
	"search", "append", "store_deleted", "expunge", "logout"
};

struct load_imap {
	char user[LOAD_MAX_NAME + 16];
	char tag[IMAP_TAG_MAX];
	unsigned int idx, tag_n;
	uint64_t rng;
	int literal_plus;           /* the server's last CAPABILITY had LITERAL+ */
	uint32_t exists;            /* messages in the selected mailbox */
	uint32_t appended_uid;      /* APPENDUID of this round's APPEND */
	uint32_t *uids;             /* UIDs from this round's UID FETCH 1:* */
	size_t n_uids, uids_alloc;
	char *body;                 /* load_body_make(o->size_min) */
	char *append;               /* the APPEND command: prefix room, message, CRLF */
};

/* imap_rand - xorshift64*, below n (n > 0): the same sequence for a worker
 * on every server. */
static uint32_t imap_rand(struct load_imap *st, uint32_t n)
{
	st->rng ^= st->rng >> 12;
	st->rng ^= st->rng << 25;
	st->rng ^= st->rng >> 27;
	return (uint32_t)((st->rng * 2685821657736338717ULL) >> 32) % n;
}

struct load_imap *load_imap_new(const struct load_opts *o, unsigned int idx)
{
	struct load_imap *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	snprintf(st->user, sizeof(st->user), "%s%02u", o->prefix, idx % o->users);
	st->idx = idx;
	st->rng = 0x9E3779B97F4A7C15ULL * (idx + 1);
	st->body = load_body_make(o->size_min);
	st->append = malloc(IMAP_APPEND_PREFIX + LOAD_HEADER_MAX + o->size_min + 2);
	if (st->body == NULL || st->append == NULL)
		load_imap_free(&st);
	return st;
}

void load_imap_free(struct load_imap **st)
{
	if (*st == NULL)
		return;
	free((*st)->uids);
	free((*st)->body);
	free((*st)->append);
	free(*st);
	*st = NULL;
}

/* imap_note_uid - keep the UID of a "* n FETCH (... UID u ...)" line. */
static void imap_note_uid(struct load_imap *st, const char *fetch)
{
	const char *p = strstr(fetch, "UID ");
	unsigned long uid;
	char *end;

	while (p != NULL && p[-1] != '(' && p[-1] != ' ')
		p = strstr(p + 4, "UID ");
	if (p == NULL)
		return;
	uid = strtoul(p + 4, &end, 10);
	if (end == p + 4 || uid == 0 || uid > UINT32_MAX || st->n_uids >= LOAD_IMAP_MAX_UIDS)
		return;
	if (st->n_uids == st->uids_alloc) {
		size_t n = st->uids_alloc == 0 ? 256 : st->uids_alloc * 2;
		uint32_t *u = realloc(st->uids, n * sizeof(*u));

		if (u == NULL)
			return;
		st->uids = u;
		st->uids_alloc = n;
	}
	st->uids[st->n_uids++] = (uint32_t)uid;
}

/* imap_caps - note LITERAL+ from a CAPABILITY list (untagged or a code). */
static void imap_caps(struct load_imap *st, const char *text)
{
	const char *p = strstr(text, "CAPABILITY ");

	if (p != NULL)
		st->literal_plus = strstr(p, " LITERAL+") != NULL;
}

/* imap_literal - 1 and its size when the line ends in a literal {n};
 * 0 when it does not; -1 (counted) when n is too large. */
static int imap_literal(struct load_conn *c, const char *line, size_t len, size_t *n_r)
{
	size_t i = len;
	unsigned long long n;

	if (len < 3 || line[len - 1] != '}')
		return 0;
	for (i = len - 1; i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9'; i--)
		;
	if (i == 0 || i == len - 1 || line[i - 1] != '{')
		return 0;
	n = strtoull(line + i, NULL, 10);
	if (n > LOAD_IMAP_MAX_LITERAL) {
		load_fail(c->res, "literal of %llu bytes", n);
		return -1;
	}
	*n_r = (size_t)n;
	return 1;
}

/* imap_untagged - take what the client needs from an untagged response
 * and read the rest of it: each literal, then the line that goes on after
 * it.  BYE fails every command but LOGOUT; untagged NO and BAD count as
 * errors. */
static int imap_untagged(struct load_conn *c, struct load_imap *st, enum load_imap_kind kind,
			 char *line, size_t len)
{
	unsigned long n;
	char *end;
	size_t lit;
	int r;

	if (strncmp(line, "* BYE", 5) == 0 && kind != IMAP_LOGOUT) {
		load_fail(c->res, "%s %s: %.100s", st->user, load_imap_kind_names[kind], line);
		return -1;
	}
	if (strncmp(line, "* NO", 4) == 0 || strncmp(line, "* BAD", 5) == 0)
		load_fail(c->res, "%s %s: %.100s", st->user, load_imap_kind_names[kind], line);
	imap_caps(st, line);
	n = strtoul(line + 2, &end, 10);
	if (end != line + 2) {
		if (strcmp(end, " EXISTS") == 0)
			st->exists = (uint32_t)n;
		else if (strcmp(end, " EXPUNGE") == 0 && st->exists > 0)
			st->exists--;
		else if (kind == IMAP_FETCH_FLAGS && strncmp(end, " FETCH (", 8) == 0)
			imap_note_uid(st, end);
	}
	while ((r = imap_literal(c, line, len, &lit)) == 1) {
		if (load_conn_skip(c, lit) < 0 || load_conn_line(c, &line, &len) < 0)
			return -1;
	}
	return r;
}

/* imap_wait - read responses up to the tagged one of the current tag:
 * 0 when it is OK (*tagged_r is its line), 1 at a continuation request
 * when `want_cont`, else -1 (counted). */
static int imap_wait(struct load_conn *c, struct load_imap *st, enum load_imap_kind kind,
		     int want_cont, char **tagged_r)
{
	size_t tlen = strlen(st->tag), len;
	char *line;

	for (;;) {
		if (load_conn_line(c, &line, &len) < 0)
			return -1;
		if (line[0] == '*' && line[1] == ' ') {
			if (imap_untagged(c, st, kind, line, len) < 0)
				return -1;
			continue;
		}
		if (line[0] == '+' && want_cont)
			return 1;
		if (strncmp(line, st->tag, tlen) == 0 && line[tlen] == ' ' &&
		    strncmp(line + tlen + 1, "OK", 2) == 0) {
			*tagged_r = line;
			return 0;
		}
		load_fail(c->res, "%s %s: %.120s", st->user, load_imap_kind_names[kind], line);
		return -1;
	}
}

/* imap_next_tag - the tag of the next command. */
static void imap_next_tag(struct load_imap *st)
{
	snprintf(st->tag, sizeof(st->tag), "a%u", ++st->tag_n);
}

/* imap_done - count a tagged OK and its time; keep what its code says. */
static void imap_done(struct load_conn *c, struct load_imap *st, enum load_imap_kind kind,
		      uint64_t t0, const char *tagged)
{
	uint64_t ns = load_now_ns() - t0;
	const char *code = strstr(tagged, "[APPENDUID ");

	c->res->commands++;
	c->res->kind_n[kind]++;
	c->res->kind_ns[kind] += ns;
	load_record_latency(c->res, ns);
	imap_caps(st, tagged);
	if (kind == IMAP_APPEND && (code == NULL ||
				    sscanf(code, "[APPENDUID %*u %u]", &st->appended_uid) != 1))
		st->appended_uid = 0;
}

/* imap_cmd - send one command line, wait for its tagged OK. */
static int __attribute__((format(printf, 4, 5)))
imap_cmd(struct load_conn *c, struct load_imap *st, enum load_imap_kind kind, const char *fmt, ...)
{
	char cmd[IMAP_CMD_MAX], *tagged;
	uint64_t t0;
	va_list ap;
	int n, m;

	imap_next_tag(st);
	n = snprintf(cmd, sizeof(cmd), "%s ", st->tag);
	va_start(ap, fmt);
	m = vsnprintf(cmd + n, sizeof(cmd) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= sizeof(cmd) - 2) {
		load_fail(c->res, "command too long");
		return -1;
	}
	memcpy(cmd + n + m, "\r\n", 2);
	t0 = load_now_ns();
	if (load_conn_send(c, cmd, (size_t)(n + m) + 2) < 0 || imap_wait(c, st, kind, 0, &tagged) < 0)
		return -1;
	imap_done(c, st, kind, t0, tagged);
	return 0;
}

/* imap_open - connect, read the greeting (and its capabilities), LOGIN. */
static int imap_open(struct load_conn *c, const struct load_opts *o, struct load_imap *st)
{
	int one = 1;
	size_t len;
	char *line;

	if (load_conn_open(c, o->port) < 0)
		return -1;
	/* an APPEND goes out in one write; NODELAY so no write waits for an ACK */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	st->literal_plus = 0;
	st->tag_n = 0;
	if (load_conn_line(c, &line, &len) < 0)
		goto fail;
	if (strncmp(line, "* OK", 4) != 0) {
		load_fail(c->res, "%s: greeting: %.100s", st->user, line);
		goto fail;
	}
	imap_caps(st, line);
	if (imap_cmd(c, st, IMAP_LOGIN, "LOGIN \"%s\" \"%s\"", st->user, o->password) < 0)
		goto fail;
	return 0;
fail:
	load_conn_close(c);
	return -1;
}

/* imap_append_message - this round's message, at st->append + prefix room:
 * generated headers, then body lines up to about o->size_min bytes. */
static size_t imap_append_message(const struct load_opts *o, struct load_imap *st, uint64_t k)
{
	char *msg = st->append + IMAP_APPEND_PREFIX;
	size_t hlen, blen;
	int n;

	n = snprintf(msg, LOAD_HEADER_MAX,
		     "From: Load %u <load%02u@mailload.example.net>\r\nTo: %s@example.org\r\n"
		     "Subject: mailload append %llu\r\nDate: Mon, 1 Apr 2024 12:00:00 +0000\r\n"
		     "Message-ID: <mailload.%u.%llu.%ld@mailload.example.net>\r\n\r\n",
		     st->idx, st->idx % 100, st->user, (unsigned long long)k, st->idx,
		     (unsigned long long)k, (long)getppid());
	hlen = n > 0 && n < LOAD_HEADER_MAX ? (size_t)n : 0;
	blen = o->size_min > hlen ? (o->size_min - hlen) / LOAD_BODY_LINE * LOAD_BODY_LINE : 0;
	memcpy(msg + hlen, st->body, blen);
	return hlen + blen;
}

/* imap_append - APPEND INBOX of a new message: LITERAL+ in one write where
 * the server offers it, else wait for the continuation request. */
static int imap_append(struct load_conn *c, const struct load_opts *o, struct load_imap *st,
		       uint64_t k)
{
	size_t mlen = imap_append_message(o, st, k), plen;
	char prefix[IMAP_APPEND_PREFIX], *start, *tagged;
	uint64_t t0;
	int r;

	imap_next_tag(st);
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s APPEND INBOX {%zu%s}\r\n", st->tag,
				mlen, st->literal_plus ? "+" : "");
	start = st->append + IMAP_APPEND_PREFIX - plen;
	memcpy(start, prefix, plen);
	memcpy(st->append + IMAP_APPEND_PREFIX + mlen, "\r\n", 2);
	t0 = load_now_ns();
	if (st->literal_plus) {
		r = load_conn_send(c, start, plen + mlen + 2);
	} else {
		r = load_conn_send(c, start, plen);
		if (r == 0 && (r = imap_wait(c, st, IMAP_APPEND, 1, &tagged)) == 1)
			r = load_conn_send(c, start + plen, mlen + 2);
		else if (r == 0)
			r = -1;  /* a tagged OK before the message was sent */
	}
	if (r < 0 || imap_wait(c, st, IMAP_APPEND, 0, &tagged) < 0)
		return -1;
	imap_done(c, st, IMAP_APPEND, t0, tagged);
	if (st->appended_uid == 0) {
		load_fail(c->res, "%s APPEND: no APPENDUID: %.100s", st->user, tagged);
		return -1;
	}
	return 0;
}

/* imap_fetch_bodies - UID FETCH of a few known messages, whole. */
static int imap_fetch_bodies(struct load_conn *c, struct load_imap *st)
{
	char set[IMAP_FETCH_BODIES * 12];
	size_t off = 0;
	unsigned int i;

	for (i = 0; i < IMAP_FETCH_BODIES; i++)
		off += (size_t)snprintf(set + off, sizeof(set) - off, "%s%u", i ? "," : "",
					st->uids[imap_rand(st, (uint32_t)st->n_uids)]);
	return imap_cmd(c, st, IMAP_FETCH_BODY, "UID FETCH %s (BODY.PEEK[] BODYSTRUCTURE)", set);
}

/* imap_store_seen - set or clear \Seen on a few messages by number, so the
 * mailbox stays about half seen. */
static int imap_store_seen(struct load_conn *c, struct load_imap *st)
{
	uint32_t first = 1 + imap_rand(st, st->exists - IMAP_STORE_SPAN + 1);

	return imap_cmd(c, st, IMAP_STORE_SEEN, "STORE %u:%u %cFLAGS (\\Seen)", first,
			first + IMAP_STORE_SPAN - 1, imap_rand(st, 2) ? '+' : '-');
}

/* imap_search - round k's UID SEARCH: UNSEEN, FROM one of the senders, or
 * SINCE a day of the filled messages' internal dates. */
static int imap_search(struct load_conn *c, struct load_imap *st, uint64_t k)
{
	time_t t = IMAP_FILL_START + (time_t)imap_rand(st, IMAP_FILL_DAYS) * 86400;
	char day[32];
	struct tm tm;

	switch (k % IMAP_SEARCHES) {
	case 0:
		return imap_cmd(c, st, IMAP_SEARCH, "UID SEARCH UNSEEN");
	case 1:
		return imap_cmd(c, st, IMAP_SEARCH, "UID SEARCH FROM sender%02u",
				imap_rand(st, IMAP_SENDERS));
	default:
		gmtime_r(&t, &tm);
		strftime(day, sizeof(day), "%d-%b-%Y", &tm);
		return imap_cmd(c, st, IMAP_SEARCH, "UID SEARCH SINCE %s", day);
	}
}

/* imap_mix - the round's commands between LOGIN and LOGOUT. */
static int imap_mix(struct load_conn *c, const struct load_opts *o, struct load_imap *st,
		    uint64_t k)
{
	if (imap_cmd(c, st, IMAP_SELECT, "SELECT INBOX") < 0)
		return -1;
	st->n_uids = 0;
	if (imap_cmd(c, st, IMAP_FETCH_FLAGS, "UID FETCH 1:* (FLAGS)") < 0 ||
	    (st->n_uids > 0 && imap_fetch_bodies(c, st) < 0) ||
	    (st->exists >= IMAP_STORE_SPAN && imap_store_seen(c, st) < 0) ||
	    imap_search(c, st, k) < 0 || imap_append(c, o, st, k) < 0)
		return -1;
	if (imap_cmd(c, st, IMAP_STORE_DELETED, "UID STORE %u +FLAGS.SILENT (\\Deleted)",
		     st->appended_uid) < 0 ||
	    imap_cmd(c, st, IMAP_EXPUNGE, "EXPUNGE") < 0)
		return -1;
	return 0;
}

int load_imap_round(struct load_conn *c, const struct load_opts *o, struct load_imap *st,
		    uint64_t k)
{
	if (c->fd < 0 && imap_open(c, o, st) < 0)
		return -1;
	if (imap_mix(c, o, st, k) < 0 ||
	    (!o->imap_long && imap_cmd(c, st, IMAP_LOGOUT, "LOGOUT") < 0)) {
		load_conn_close(c);
		return -1;
	}
	if (!o->imap_long)
		load_conn_close(c);
	return 0;
}

void load_imap_quit(struct load_conn *c, struct load_imap *st)
{
	if (c->fd < 0 || st == NULL)
		return;
	if (send(c->fd, "z LOGOUT\r\n", 10, MSG_NOSIGNAL) == 10)
		(void)!read(c->fd, c->buf, sizeof(c->buf));
	load_conn_close(c);
}
