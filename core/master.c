/* core/master.c - the master process.
 *
 * It never reads a byte from a client: it accepts, counts, forks, and the
 * child drops privileges before serving (DESIGN "Process model").  Signals
 * only write a byte to a self-pipe; the loop does the work. */
#include "config-core.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "conn.h"
#include "core.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "penalty.h"
#include "pool.h"
#include "privdrop.h"
#include "registry.h"
#include "settings.h"

#define PZ_TLS_HANDSHAKE_TIMEOUT_MS 30000

/* A connection process.  Without reuse it is forked for one accepted
 * connection and serves it (a "one-shot" child, chan -1).  A listener with
 * connections_per_process != 1 or process_min_avail > 0 has workers: each
 * is forked with a socketpair (chan), drops privileges and runs the
 * modules' process init once, then receives accepted sockets over chan
 * (SCM_RIGHTS) one at a time and answers one byte when it is ready for the
 * next.  The master closes chan to dismiss an idle worker. */
enum child_state { CHILD_BUSY, CHILD_IDLE, CHILD_GONE };

struct child {
	pid_t pid;
	int chan;                /* master's end of a worker's socketpair, or -1 */
	enum child_state state;
	unsigned int generation; /* config generation it was started under */
	size_t listener_ix;      /* its listener in that generation */
	uint64_t idle_since_ms;
	char peer[64];           /* while busy */
	char listener[64];
};

/* an idle worker beyond process_min_avail is dismissed after this long */
#define PZ_WORKER_IDLE_KILL_MS 60000

static struct pz_listener *listeners;
static size_t n_listeners;
static unsigned int generation;
static struct child *children;
static size_t n_children, children_alloc;
static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_hup, got_term, got_chld;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
}

/* child_stop - SIGTERM in a connection process: reads end with SHUTDOWN. */
static void child_stop(int sig)
{
	(void)sig;
	pz_conn_stopping = 1;
}

/* drop_privileges - to the configured user when root. */
static int drop_privileges(const char **error_r)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (geteuid() == 0 &&
	    pz_privdrop_lookup(pz_setting("user"), &uid, &gid, error_r) < 0)
		return -1;
	return pz_privdrop(uid, gid, error_r);
}

/* limit_memory - RLIMIT_DATA for a connection process.  Not in sanitizer
 * builds: their shadow memory is a huge private mapping that counts too. */
static void limit_memory(void)
{
#if !defined(__SANITIZE_ADDRESS__)
	uint64_t bytes = 0;
	const char *v = pz_setting("process_memory_limit");
	struct rlimit rl;

	if (v == NULL || pz_conf_parse_size(v, &bytes) < 0 || bytes == 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)bytes;
	if (setrlimit(RLIMIT_DATA, &rl) < 0)
		pz_log(PZ_LOG_WARNING, "setrlimit(RLIMIT_DATA): %s", strerror(errno));
#endif
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* child_setup - in a new connection process: none of the master's fds,
 * its own signal handling, privileges down, the modules' process init. */
static void child_setup(const sigset_t *mask)
{
	const char *err = NULL;
	char *perr = NULL;
	struct sigaction sa;
	size_t i;

	for (i = 0; i < n_listeners; i++) {
		if (listeners[i].fd >= 0)
			close(listeners[i].fd);
	}
	for (i = 0; i < n_children; i++) {
		if (children[i].chan >= 0)
			close(children[i].chan);
	}
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	set_handler(SIGHUP, SIG_IGN);
	set_handler(SIGCHLD, SIG_DFL);
	set_handler(SIGINT, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_stop; /* no SA_RESTART: poll must wake up */
	sigaction(SIGTERM, &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	limit_memory();
	if (drop_privileges(&err) < 0) {
		pz_log(PZ_LOG_ERROR, "cannot drop privileges to '%s': %s", pz_setting("user"), err);
		_exit(1);
	}
	if (pz_core_process_init(&perr) < 0) {
		pz_log(PZ_LOG_ERROR, "%s", perr);
		_exit(1);
	}
}

/* run_session - one connection, from the TLS handshake to close. */
static void run_session(struct pz_listener *l, int fd)
{
	pz_pool *pool = pz_pool_create("session");
	pz_conn *conn = pz_conn_new(pool, fd, l->name, l->tls_ctx, l->timeout_ms);
	const char *err = NULL;

	pz_log_set_client(pz_conn_peer(conn));
	if (l->implicit_tls) {
		/* the handshake is pre-auth: give it a short time of its own */
		pz_conn_set_timeout(conn, l->timeout_ms < PZ_TLS_HANDSHAKE_TIMEOUT_MS ?
				    l->timeout_ms : PZ_TLS_HANDSHAKE_TIMEOUT_MS);
		if (pz_conn_tls_accept(conn, &err) < 0) {
			pz_log(PZ_LOG_INFO, "TLS handshake failed: %s", err);
			goto done;
		}
		pz_conn_set_timeout(conn, l->timeout_ms);
	}
	l->protocol->session(l->module, conn, pool);
done:
	pz_conn_close(conn);
	pz_pool_destroy(&pool);
	pz_log_set_client(NULL);
	pz_log_set_user(NULL);
}

/* serve - a one-shot child: its connection, then exit. */
static void __attribute__((noreturn)) serve(struct pz_listener *l, int fd,
					     const sigset_t *mask)
{
	child_setup(mask);
	run_session(l, fd);
	pz_core_process_deinit();
	_exit(0);
}

/* receive_fd - the next connection handed over `chan`; -1 when the master
 * closed it (dismissed) or this process is stopping. */
static int receive_fd(int chan)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	do {
		if (pz_conn_stopping)
			return -1;
		n = recvmsg(chan, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/* worker - a reusable connection process: connections from `chan` until
 * the master dismisses it, it has served per_process, or it stops. */
static void __attribute__((noreturn)) worker(struct pz_listener *l, int chan,
					      const sigset_t *mask)
{
	unsigned int served = 0;
	int fd;

	child_setup(mask);
	while ((fd = receive_fd(chan)) >= 0) {
		run_session(l, fd);
		served++;
		if (pz_conn_stopping || (l->per_process > 0 && served >= l->per_process))
			break;
		if (write(chan, "i", 1) != 1)
			break;
	}
	pz_core_process_deinit();
	_exit(0);
}

static size_t count_peer(const char *peer)
{
	size_t i, n = 0;

	for (i = 0; i < n_children; i++)
		n += children[i].state == CHILD_BUSY && strcmp(children[i].peer, peer) == 0;
	return n;
}

static size_t count_busy(void)
{
	size_t i, n = 0;

	for (i = 0; i < n_children; i++)
		n += children[i].state == CHILD_BUSY;
	return n;
}

/* peer_of - the printable address of an accepted socket. */
static void peer_of(int fd, char *buf, size_t size)
{
	pz_pool *p = pz_pool_create("peer");
	pz_conn *c = pz_conn_new(p, dup(fd), "", NULL, 0);

	snprintf(buf, size, "%s", pz_conn_peer(c));
	pz_pool_destroy(&p);
}

/* add_child - a new entry in the table (the caller fills it in). */
static struct child *add_child(pid_t pid, size_t ix)
{
	struct child *c;

	if (n_children == children_alloc) {
		children_alloc = children_alloc == 0 ? 64 : children_alloc * 2;
		children = realloc(children, children_alloc * sizeof(*children));
		if (children == NULL)
			pz_fatal("out of memory");
	}
	c = &children[n_children++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->chan = -1;
	c->generation = generation;
	c->listener_ix = ix;
	snprintf(c->listener, sizeof(c->listener), "%s", listeners[ix].name);
	return c;
}

/* start_child - fork a one-shot child for `fd` (chan < 0) or a worker on
 * `chan`.  A SIGTERM between fork and the child's own handler must not be
 * lost: it stays pending until the child unblocks it. */
static pid_t start_child(size_t ix, int fd, int chan, int master_chan, int other_fd)
{
	sigset_t block, old;
	pid_t pid;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0) {
		if (master_chan >= 0)
			close(master_chan);
		/* a connection the master is about to hand over: the worker gets
		 * it over chan, and a copy kept here would hold it open */
		if (other_fd >= 0)
			close(other_fd);
		if (chan >= 0)
			worker(&listeners[ix], chan, &old);
		serve(&listeners[ix], fd, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		pz_log(PZ_LOG_ERROR, "fork: %s", strerror(errno));
	return pid;
}

/* start_worker - a new idle worker for listener `ix`, or NULL; `open_fd`
 * (or -1) is an accepted socket the new process must not keep. */
static struct child *start_worker(size_t ix, int open_fd)
{
	struct child *c;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		pz_log(PZ_LOG_ERROR, "socketpair: %s", strerror(errno));
		return NULL;
	}
	pid = start_child(ix, -1, sv[1], sv[0], open_fd);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return NULL;
	}
	c = add_child(pid, ix);
	c->chan = sv[0];
	c->state = CHILD_IDLE;
	c->idle_since_ms = now_ms();
	return c;
}

/* dismiss - tell a worker to exit: it reads end-of-file on its chan. */
static void dismiss(struct child *c)
{
	if (c->chan >= 0)
		close(c->chan);
	c->chan = -1;
	c->state = CHILD_GONE;
}

/* hand_over - `fd` to an idle worker of listener `ix`, started if none is
 * waiting.  Returns the worker, or NULL when none could take it. */
static struct child *hand_over(size_t ix, int fd)
{
	char byte = 'c', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	size_t i;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	for (;;) {
		struct child *c = NULL;
		int fresh = 0;

		/* the most recently idle first: its memory is the warmest */
		for (i = 0; i < n_children; i++) {
			struct child *w = &children[i];

			if (w->state == CHILD_IDLE && w->generation == generation &&
			    w->listener_ix == ix && (c == NULL || w->idle_since_ms >= c->idle_since_ms))
				c = w;
		}
		if (c == NULL) {
			if ((c = start_worker(ix, fd)) == NULL)
				return NULL;
			fresh = 1;
		}
		if (sendmsg(c->chan, &msg, MSG_NOSIGNAL) == 1) {
			c->state = CHILD_BUSY;
			return c;
		}
		/* it died meanwhile: SIGCHLD will reap it (and its exit status
		 * says why).  A worker that dies as it starts would die again:
		 * this connection is given up rather than forking on and on. */
		dismiss(c);
		if (fresh) {
			pz_log(PZ_LOG_ERROR, "listener %s: a new connection process ended before "
			       "it took its connection", listeners[ix].name);
			return NULL;
		}
	}
}

/* keep_avail - start workers up to each listener's process_min_avail. */
static void keep_avail(void)
{
	size_t ix, i;

	for (ix = 0; ix < n_listeners; ix++) {
		unsigned int idle = 0;

		if (listeners[ix].min_avail == 0 || listeners[ix].fd < 0)
			continue;
		for (i = 0; i < n_children; i++)
			idle += children[i].state == CHILD_IDLE &&
				children[i].generation == generation && children[i].listener_ix == ix;
		while (idle < listeners[ix].min_avail && start_worker(ix, -1) != NULL)
			idle++;
	}
}

/* expire_idle - dismiss idle workers beyond process_min_avail that waited
 * PZ_WORKER_IDLE_KILL_MS; returns the ms until the next one is due, or -1. */
static int expire_idle(void)
{
	uint64_t now = now_ms(), next = UINT64_MAX;
	size_t ix, i;

	for (ix = 0; ix < n_listeners; ix++) {
		unsigned int idle = 0;

		for (i = 0; i < n_children; i++) {
			struct child *c = &children[i];

			if (c->state != CHILD_IDLE || c->generation != generation ||
			    c->listener_ix != ix)
				continue;
			/* the first min_avail idle ones stay */
			if (++idle <= listeners[ix].min_avail)
				continue;
			if (now - c->idle_since_ms >= PZ_WORKER_IDLE_KILL_MS)
				dismiss(c);
			else if (c->idle_since_ms + PZ_WORKER_IDLE_KILL_MS < next)
				next = c->idle_since_ms + PZ_WORKER_IDLE_KILL_MS;
		}
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

/* worker_said - a worker's chan is readable: ready for more, or leaving. */
static void worker_said(struct child *c)
{
	char byte;
	ssize_t n = read(c->chan, &byte, 1);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n != 1) {
		/* it is exiting (served its share, or stopping) */
		dismiss(c);
		return;
	}
	c->peer[0] = '\0';
	c->state = CHILD_IDLE;
	c->idle_since_ms = now_ms();
	if (c->generation != generation)
		dismiss(c); /* started under the config before a reload */
}

/* accept_one - accept, apply the limits, fork or hand over. */
static void accept_one(size_t ix)
{
	struct pz_listener *l = &listeners[ix];
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	struct child *c;
	char peer[64];
	pid_t pid;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			pz_log(PZ_LOG_ERROR, "accept on %s: %s", l->address, strerror(errno));
		return;
	}
	peer_of(fd, peer, sizeof(peer));
	if ((int64_t)count_busy() >= pz_setting_int("max_connections")) {
		pz_log(PZ_LOG_WARNING, "connection from %s refused: max_connections (%lld) reached",
		       peer, (long long)pz_setting_int("max_connections"));
		close(fd);
		return;
	}
	if (strcmp(peer, "unix") != 0 &&
	    (int64_t)count_peer(peer) >= pz_setting_int("max_connections_per_ip")) {
		pz_log(PZ_LOG_WARNING, "connection from %s refused: max_connections_per_ip (%lld) reached",
		       peer, (long long)pz_setting_int("max_connections_per_ip"));
		close(fd);
		return;
	}
	if (pz_listener_reuses(l)) {
		c = hand_over(ix, fd);
	} else {
		c = NULL;
		pid = start_child(ix, fd, -1, -1, -1);
		if (pid > 0) {
			c = add_child(pid, ix);
			c->state = CHILD_BUSY;
		}
	}
	close(fd);
	if (c != NULL)
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
}

/* reap - collect exited children; log the ones that crashed. */
static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		size_t i;

		for (i = 0; i < n_children && children[i].pid != pid; i++)
			;
		if (i == n_children)
			continue;
		if (WIFSIGNALED(status))
			pz_log(PZ_LOG_ERROR, "connection process %ld (listener %s, client %s) "
			       "killed by signal %d (%s)", (long)pid, children[i].listener,
			       children[i].peer[0] != '\0' ? children[i].peer : "none",
			       WTERMSIG(status), strsignal(WTERMSIG(status)));
		else if (WEXITSTATUS(status) != 0)
			pz_log(PZ_LOG_WARNING, "connection process %ld (listener %s, client %s) "
			       "exited with status %d", (long)pid, children[i].listener,
			       children[i].peer[0] != '\0' ? children[i].peer : "none",
			       WEXITSTATUS(status));
		if (children[i].chan >= 0)
			close(children[i].chan);
		children[i] = children[--n_children];
	}
}

/* validate_in_child - load `path` in a throwaway process, so a bad new
 * config never disturbs the running one. */
static int validate_in_child(const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct pz_listener *nl = NULL;
		size_t nn = 0;
		char *err = NULL;

		/* forget the running modules without their deinit: it could tear
		 * down state they share with the master (sockets, files) */
		pz_modules_forget();
		if (pz_core_load(path, &err) < 0 || pz_master_check_runtime(&err) < 0 ||
		    pz_listeners_build(pz_settings_config(), &nl, &nn, &err) < 0 ||
		    pz_listeners_open(nl, nn, listeners, n_listeners, &err) < 0) {
			/* the new addresses are bound here as a test: one that is
			 * taken fails now, not after the master gave up its config */
			pz_log(PZ_LOG_ERROR, "reload refused: %s", err);
			_exit(1);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* reload - SIGHUP: new config for new connections; sockets with the same
 * address are kept, so no connection attempt is refused meanwhile. */
static void reload(const char *path)
{
	struct pz_listener *nl = NULL;
	size_t nn = 0, i;
	char *err = NULL;

	pz_log(PZ_LOG_INFO, "reloading %s", path);
	if (validate_in_child(path) < 0) {
		pz_log(PZ_LOG_ERROR, "reload failed: keeping the running configuration");
		return;
	}
	pz_core_unload();
	if (pz_core_load(path, &err) < 0 || pz_listeners_build(pz_settings_config(), &nl, &nn, &err) < 0 ||
	    pz_listeners_open(nl, nn, listeners, n_listeners, &err) < 0) {
		/* the file changed between the check and now: nothing sane is left */
		pz_fatal("reload failed after validation: %s", err);
	}
	pz_listeners_free(&listeners, &n_listeners);
	listeners = nl;
	n_listeners = nn;
	/* workers keep the old config: the idle ones go now, the busy ones
	 * when their connection ends */
	generation++;
	for (i = 0; i < n_children; i++) {
		if (children[i].state == CHILD_IDLE)
			dismiss(&children[i]);
	}
	pz_log(PZ_LOG_INFO, "reloaded: %zu listening sockets", n_listeners);
}

/* shutdown_children - SIGTERM to each, wait up to shutdown_timeout, then
 * SIGKILL what is left. */
static void shutdown_children(void)
{
	uint64_t ms = pz_setting_duration_ms("shutdown_timeout");
	struct timespec start, now;
	size_t i;

	for (i = 0; i < n_children; i++) {
		if (children[i].state != CHILD_BUSY)
			dismiss(&children[i]);
		kill(children[i].pid, SIGTERM);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (n_children > 0) {
		uint64_t elapsed;

		reap();
		if (n_children == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (uint64_t)(now.tv_sec - start.tv_sec) * 1000 +
			(uint64_t)((now.tv_nsec - start.tv_nsec) / 1000000);
		if (elapsed >= ms) {
			pz_log(PZ_LOG_WARNING, "%zu sessions still running after %llu ms: killing them",
			       n_children, (unsigned long long)ms);
			for (i = 0; i < n_children; i++)
				kill(children[i].pid, SIGKILL);
			while (n_children > 0 && waitpid(-1, NULL, 0) > 0)
				reap();
			break;
		}
		usleep(20000);
	}
}

int pz_master_check_runtime(char **error_r)
{
	struct pz_listener *ls = NULL;
	size_t n = 0;
	uid_t uid;
	gid_t gid;
	const char *err;

	if (geteuid() == 0 && pz_privdrop_lookup(pz_setting("user"), &uid, &gid, &err) < 0) {
		char buf[512];

		snprintf(buf, sizeof(buf), "user '%s': %s (set 'user' to an unprivileged account)",
			 pz_setting("user"), err);
		*error_r = strdup(buf);
		return -1;
	}
	if (pz_listeners_build(pz_settings_config(), &ls, &n, error_r) < 0)
		return -1;
	pz_listeners_free(&ls, &n);
	return 0;
}

static void write_pid_file(void)
{
	const char *path = pz_setting("pid_file");
	FILE *f;

	if (path == NULL)
		return;
	f = fopen(path, "w");
	if (f == NULL) {
		pz_log(PZ_LOG_WARNING, "pid_file %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/* detach - into the background: the parent exits 0, the child leaves the
 * terminal and logs to syslog. */
static void detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		pz_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	pz_log_open(0, pz_log_facility(pz_setting("log_facility")));
}

int pz_master_run(const char *config_path, int detach_after_bind)
{
	char *err = NULL;
	struct pollfd *pfds = NULL;
	size_t i;
	const char *pid_file;

	if (pz_listeners_build(pz_settings_config(), &listeners, &n_listeners, &err) < 0 ||
	    pz_listeners_open(listeners, n_listeners, NULL, 0, &err) < 0) {
		pz_log(PZ_LOG_FATAL, "%s", err);
		return 1;
	}
	if (detach_after_bind)
		detach();
	if (pz_penalty_init() < 0) {
		pz_log(PZ_LOG_FATAL, "cannot map the failed-login table: %s", strerror(errno));
		return 1;
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		pz_fatal("pipe: %s", strerror(errno));
	set_handler(SIGHUP, on_signal);
	set_handler(SIGTERM, on_signal);
	set_handler(SIGINT, on_signal);
	set_handler(SIGCHLD, on_signal);
	set_handler(SIGPIPE, SIG_IGN);
	write_pid_file();
	for (i = 0; i < n_listeners; i++)
		pz_log(PZ_LOG_INFO, "listening on %s (%s%s)", listeners[i].address,
		       listeners[i].protocol->name, listeners[i].implicit_tls ? ", TLS" : "");
	pz_log(PZ_LOG_INFO, "poczta %s started (module ABI %d.%d)", PACKAGE_VERSION,
	       PZ_ABI_MAJOR, PZ_ABI_MINOR);
	while (!got_term) {
		char drain[64];
		size_t nfds = 1 + n_listeners, nc = n_children;
		int r, timeout;

		keep_avail();
		timeout = expire_idle();
		nc = n_children;
		pfds = realloc(pfds, (1 + n_listeners + nc) * sizeof(*pfds));
		if (pfds == NULL)
			pz_fatal("out of memory");
		pfds[0] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		for (i = 0; i < n_listeners; i++)
			pfds[i + 1] = (struct pollfd){ .fd = listeners[i].fd, .events = POLLIN };
		/* workers' chans (-1 is ignored by poll), in table order */
		for (i = 0; i < nc; i++)
			pfds[nfds + i] = (struct pollfd){ .fd = children[i].chan, .events = POLLIN };
		r = poll(pfds, nfds + nc, timeout);
		if (r < 0 && errno != EINTR)
			pz_fatal("poll: %s", strerror(errno));
		while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
			;
		/* before reap reorders the table */
		for (i = 0; r > 0 && i < nc; i++) {
			if (pfds[nfds + i].revents != 0 && children[i].chan == pfds[nfds + i].fd)
				worker_said(&children[i]);
		}
		if (got_chld) {
			got_chld = 0;
			reap();
		}
		if (got_term)
			break;
		if (got_hup) {
			got_hup = 0;
			reload(config_path);
			continue;
		}
		for (i = 0; r > 0 && i < n_listeners; i++) {
			if (pfds[i + 1].revents & POLLIN)
				accept_one(i);
		}
	}
	free(pfds);
	pz_log(PZ_LOG_INFO, "stopping: %zu sessions to finish", n_children);
	for (i = 0; i < n_listeners; i++) {
		if (strncmp(listeners[i].address, "unix:", 5) == 0)
			unlink(listeners[i].address + 5);
	}
	pz_listeners_free(&listeners, &n_listeners);
	shutdown_children();
	pid_file = pz_setting("pid_file");
	if (pid_file != NULL)
		unlink(pid_file);
	pz_core_unload();
	pz_log(PZ_LOG_INFO, "stopped");
	return 0;
}
