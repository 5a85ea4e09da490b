/* core/filter.c - the filter hooks: run every filter module in load order,
 * first non-accept verdict wins, each call bounded by filter_timeout.
 *
 * A call that overruns its time cannot be abandoned safely: jumping out of
 * module code could leave a libc lock held (syslog, malloc).  So the timer
 * ends the whole connection process instead, with EX_TEMPFAIL.  Nothing of
 * the message in progress has been acknowledged then, so the MTA or client
 * retries.  Filters are expected to bound their own I/O by filter_timeout;
 * this is the last resort. */
#include "config-core.h"
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>
#include "filter.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "settings.h"
#include "stream.h"

#define FILTER_MAX_HEADERS 32
#define FILTER_MAX_HEADER_LEN 998 /* RFC 5322 line limit */

struct added_header {
	const char *name;
	const char *value;
};

struct pz_filter_msg {
	pz_pool *pool;
	pz_stream *stream;
	pz_user *user;
	const char *sender;
	const char *const *rcpts;
	size_t n_rcpts;
	struct added_header headers[FILTER_MAX_HEADERS];
	size_t n_headers;
};

#define FILTER_TIMEOUT_EXIT 75 /* EX_TEMPFAIL */

/* The line the timer writes before the process ends; made before arming. */
static char filter_timeout_line[256];
static size_t filter_timeout_len;

static void filter_alarm(int sig)
{
	(void)sig;
	/* only async-signal-safe calls here */
	if (filter_timeout_len > 0)
		(void)!write(STDERR_FILENO, filter_timeout_line, filter_timeout_len);
	_exit(FILTER_TIMEOUT_EXIT);
}

/* timer_arm - start the limit for one call of `mod`'s `what` hook. */
static void timer_arm(struct pz_module *mod, const char *what)
{
	uint64_t ms = pz_setting_duration_ms("filter_timeout");
	struct itimerval it = { .it_value = { .tv_sec = (time_t)(ms / 1000),
					      .tv_usec = (suseconds_t)(ms % 1000) * 1000 } };
	struct sigaction sa;
	int n;

	if (ms == 0)
		return;
	n = snprintf(filter_timeout_line, sizeof(filter_timeout_line),
		     "poczta[%ld]: error: %s: filter hook '%s' exceeded filter_timeout "
		     "(%llu ms): ending the connection\n", (long)getpid(), mod->name, what,
		     (unsigned long long)ms);
	filter_timeout_len = n > 0 && (size_t)n < sizeof(filter_timeout_line) ? (size_t)n : 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = filter_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void timer_disarm(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	filter_timeout_len = 0;
}

pz_filter_msg *pz_filter_msg_new(pz_pool *pool, pz_stream *message, pz_user *user,
				 const char *sender, const char *const *recipients,
				 size_t count)
{
	pz_filter_msg *m = pz_pool_alloc(pool, sizeof(*m));

	m->pool = pool;
	m->stream = message;
	m->user = user;
	m->sender = pz_pool_strdup(pool, sender != NULL ? sender : "");
	m->rcpts = recipients;
	m->n_rcpts = count;
	return m;
}

typedef int filter_hook_fn(pz_module *self, pz_filter_msg *msg, struct pz_verdict *v,
			   const char **error_r);

/* hook_fn - the module's function for `hook`, or NULL. */
static filter_hook_fn *hook_fn(const struct pz_filter_ops *ops, enum pz_filter_hook hook)
{
	if ((ops->hooks & hook) == 0)
		return NULL;
	switch (hook) {
	case PZ_HOOK_DELIVER: return PZ_OPS_HAS(ops, deliver) ? ops->deliver : NULL;
	case PZ_HOOK_APPEND: return PZ_OPS_HAS(ops, append) ? ops->append : NULL;
	case PZ_HOOK_SCAN: return PZ_OPS_HAS(ops, scan) ? ops->scan : NULL;
	default: return NULL;
	}
}

/* call_bounded - one verdict hook call under the timer. */
static int call_bounded(struct pz_module *mod, filter_hook_fn *fn, const char *what,
			pz_filter_msg *msg, struct pz_verdict *v, const char **error_r)
{
	int r;

	timer_arm(mod, what);
	r = fn(mod, msg, v, error_r);
	timer_disarm();
	return r;
}

/* fail_open - the module's `fail_open` setting. */
static int fail_open(struct pz_module *mod)
{
	const char *v = pz_config_value(mod->section->entries, mod->section->n_entries,
					pz_filter_keys, "fail_open");
	int b = 0;

	return v != NULL && pz_conf_parse_bool(v, &b) == 0 && b;
}

int pz_filter_run(pz_filter_msg *msg, enum pz_filter_hook hook, struct pz_verdict *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < pz_module_count; i++) {
		struct pz_module *mod = pz_modules[i];
		filter_hook_fn *fn = mod->filter != NULL ? hook_fn(mod->filter, hook) : NULL;
		const char *err = NULL;
		int r;

		if (fn == NULL)
			continue;
		memset(v, 0, sizeof(*v));
		pz_stream_seek(msg->stream, 0);
		r = call_bounded(mod, fn, hook == PZ_HOOK_DELIVER ? "deliver" :
				 hook == PZ_HOOK_APPEND ? "append" : "scan", msg, v, &err);
		if (r < 0) {
			pz_log_module(mod->name, PZ_LOG_ERROR, "filter failed: %s",
				      err != NULL ? err : "unknown error");
			if (fail_open(mod)) {
				memset(v, 0, sizeof(*v));
				continue;
			}
			v->action = PZ_VERDICT_TEMPFAIL;
			v->text = "Message filter temporarily unavailable";
			v->folder = NULL;
			return 0;
		}
		if (v->action != PZ_VERDICT_ACCEPT) {
			pz_log_module(mod->name, PZ_LOG_INFO, "verdict %d: %s", (int)v->action,
				      v->text != NULL ? v->text : "");
			return 0;
		}
	}
	memset(v, 0, sizeof(*v));
	return 0;
}

void pz_filter_saved(pz_filter_msg *msg, const char *mailbox, uint32_t uid)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		const struct pz_filter_ops *ops = pz_modules[i]->filter;

		if (ops != NULL && (ops->hooks & PZ_HOOK_SAVED) && PZ_OPS_HAS(ops, saved)) {
			timer_arm(pz_modules[i], "saved");
			ops->saved(pz_modules[i], msg, mailbox, uid);
			timer_disarm();
		}
	}
}

void pz_filter_expunged(pz_user *u, const char *mailbox, uint32_t uidvalidity, uint32_t uid)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		const struct pz_filter_ops *ops = pz_modules[i]->filter;

		if (ops != NULL && (ops->hooks & PZ_HOOK_EXPUNGED) && PZ_OPS_HAS(ops, expunged)) {
			timer_arm(pz_modules[i], "expunged");
			ops->expunged(pz_modules[i], u, mailbox, uidvalidity, uid);
			timer_disarm();
		}
	}
}

int pz_filter_search(pz_user *u, pz_mailbox *box, const char *mailbox,
		     const struct pz_search_key *key, pz_uid_array *result_r,
		     const char **error_r)
{
	size_t i;

	for (i = 0; i < pz_module_count; i++) {
		const struct pz_filter_ops *ops = pz_modules[i]->filter;
		int r;

		if (ops == NULL || !(ops->hooks & PZ_HOOK_SEARCH) || !PZ_OPS_HAS(ops, search))
			continue;
		timer_arm(pz_modules[i], "search");
		r = ops->search(pz_modules[i], u, box, mailbox, key, result_r, error_r);
		timer_disarm();
		if (r != 1)
			return r;
	}
	return 1;
}

size_t pz_filter_msg_header_count(pz_filter_msg *msg)
{
	return msg->n_headers;
}

void pz_filter_msg_header(pz_filter_msg *msg, size_t i, const char **name_r,
			  const char **value_r)
{
	*name_r = i < msg->n_headers ? msg->headers[i].name : NULL;
	*value_r = i < msg->n_headers ? msg->headers[i].value : NULL;
}

pz_stream *pz_filter_msg_stream(pz_filter_msg *msg)
{
	pz_stream_seek(msg->stream, 0);
	return msg->stream;
}

const char *pz_filter_msg_sender(pz_filter_msg *msg)
{
	return msg->sender;
}

size_t pz_filter_msg_rcpt_count(pz_filter_msg *msg)
{
	return msg->n_rcpts;
}

const char *pz_filter_msg_rcpt(pz_filter_msg *msg, size_t i)
{
	return i < msg->n_rcpts ? msg->rcpts[i] : NULL;
}

pz_user *pz_filter_msg_user(pz_filter_msg *msg)
{
	return msg->user;
}

pz_pool *pz_filter_msg_pool(pz_filter_msg *msg)
{
	return msg->pool;
}

/* pz_filter_msg_add_header - a header field to prepend; the name must be a
 * valid field name and the value free of CR/LF (no header injection). */
int pz_filter_msg_add_header(pz_filter_msg *msg, const char *name, const char *value)
{
	const char *p;

	if (msg->n_headers == FILTER_MAX_HEADERS || name[0] == '\0' ||
	    strlen(name) + strlen(value) + 2 > FILTER_MAX_HEADER_LEN)
		return -1;
	for (p = name; *p != '\0'; p++) {
		if (*p <= 32 || *p >= 127 || *p == ':')
			return -1;
	}
	if (strpbrk(value, "\r\n") != NULL)
		return -1;
	msg->headers[msg->n_headers].name = pz_pool_strdup(msg->pool, name);
	msg->headers[msg->n_headers].value = pz_pool_strdup(msg->pool, value);
	msg->n_headers++;
	return 0;
}
