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

struct child {
	pid_t pid;
	char peer[64];
	char listener[64];
};

static struct pz_listener *listeners;
static size_t n_listeners;
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

/* serve - the child: privileges down, modules' process init, the session. */
static void __attribute__((noreturn)) serve(struct pz_listener *l, int fd,
					     const sigset_t *mask)
{
	pz_pool *pool;
	pz_conn *conn;
	const char *err = NULL;
	char *perr = NULL;
	size_t i;

	for (i = 0; i < n_listeners; i++) {
		if (listeners[i].fd >= 0)
			close(listeners[i].fd);
	}
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	set_handler(SIGHUP, SIG_IGN);
	set_handler(SIGCHLD, SIG_DFL);
	set_handler(SIGINT, SIG_IGN);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = child_stop; /* no SA_RESTART: poll must wake up */
		sigaction(SIGTERM, &sa, NULL);
		sigprocmask(SIG_SETMASK, mask, NULL);
	}
	limit_memory();
	pool = pz_pool_create("session");
	conn = pz_conn_new(pool, fd, l->name, l->tls_ctx, l->timeout_ms);
	pz_log_set_client(pz_conn_peer(conn));
	if (drop_privileges(&err) < 0) {
		pz_log(PZ_LOG_ERROR, "cannot drop privileges to '%s': %s", pz_setting("user"), err);
		_exit(1);
	}
	if (pz_core_process_init(&perr) < 0) {
		pz_log(PZ_LOG_ERROR, "%s", perr);
		_exit(1);
	}
	if (l->implicit_tls) {
		/* the handshake is pre-auth: give it a short time of its own */
		pz_conn_set_timeout(conn, l->timeout_ms < PZ_TLS_HANDSHAKE_TIMEOUT_MS ?
				    l->timeout_ms : PZ_TLS_HANDSHAKE_TIMEOUT_MS);
		if (pz_conn_tls_accept(conn, &err) < 0) {
			pz_log(PZ_LOG_INFO, "TLS handshake failed: %s", err);
			_exit(0);
		}
		pz_conn_set_timeout(conn, l->timeout_ms);
	}
	l->protocol->session(l->module, conn, pool);
	pz_conn_close(conn);
	pz_core_process_deinit();
	pz_pool_destroy(&pool);
	_exit(0);
}

static size_t count_peer(const char *peer)
{
	size_t i, n = 0;

	for (i = 0; i < n_children; i++)
		n += strcmp(children[i].peer, peer) == 0;
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

/* accept_one - accept, apply the limits, fork. */
static void accept_one(struct pz_listener *l)
{
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	sigset_t block, old;
	char peer[64];
	pid_t pid;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			pz_log(PZ_LOG_ERROR, "accept on %s: %s", l->address, strerror(errno));
		return;
	}
	peer_of(fd, peer, sizeof(peer));
	if ((int64_t)n_children >= pz_setting_int("max_connections")) {
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
	/* a SIGTERM between fork and the child's own handler must not be
	 * lost: it stays pending until the child unblocks it */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0)
		serve(l, fd, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		pz_log(PZ_LOG_ERROR, "fork: %s", strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	if (n_children == children_alloc) {
		children_alloc = children_alloc == 0 ? 64 : children_alloc * 2;
		children = realloc(children, children_alloc * sizeof(*children));
		if (children == NULL)
			pz_fatal("out of memory");
	}
	children[n_children].pid = pid;
	snprintf(children[n_children].peer, sizeof(children[n_children].peer), "%s", peer);
	snprintf(children[n_children].listener, sizeof(children[n_children].listener), "%s",
		 l->name);
	n_children++;
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
			       children[i].peer, WTERMSIG(status), strsignal(WTERMSIG(status)));
		else if (WEXITSTATUS(status) != 0)
			pz_log(PZ_LOG_WARNING, "connection process %ld (listener %s, client %s) "
			       "exited with status %d", (long)pid, children[i].listener,
			       children[i].peer, WEXITSTATUS(status));
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
	size_t nn = 0;
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
	pz_log(PZ_LOG_INFO, "reloaded: %zu listening sockets", n_listeners);
}

/* shutdown_children - SIGTERM to each, wait up to shutdown_timeout, then
 * SIGKILL what is left. */
static void shutdown_children(void)
{
	uint64_t ms = pz_setting_duration_ms("shutdown_timeout");
	struct timespec start, now;
	size_t i;

	for (i = 0; i < n_children; i++)
		kill(children[i].pid, SIGTERM);
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
		int r;

		pfds = realloc(pfds, (n_listeners + 1) * sizeof(*pfds));
		if (pfds == NULL)
			pz_fatal("out of memory");
		pfds[0] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		for (i = 0; i < n_listeners; i++)
			pfds[i + 1] = (struct pollfd){ .fd = listeners[i].fd, .events = POLLIN };
		r = poll(pfds, n_listeners + 1, -1);
		if (r < 0 && errno != EINTR)
			pz_fatal("poll: %s", strerror(errno));
		while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
			;
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
				accept_one(&listeners[i]);
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
