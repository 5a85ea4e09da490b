/* tests/unit/test-conn.c - buffered connection I/O over a socketpair. */
#include "config-core.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "conn.h"
#include "pool.h"

struct pair {
	pz_pool *pool;
	pz_conn *conn;
	int connfd;
	int peer;
};

static void pair_open(struct pair *p, unsigned int timeout_ms)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->pool = pz_pool_create("test");
	p->conn = pz_conn_new(p->pool, sv[0], "test", NULL, timeout_ms);
	p->connfd = sv[0];
	p->peer = sv[1];
}

static void pair_close(struct pair *p)
{
	close(p->peer);
	pz_pool_destroy(&p->pool);
}

static void send_all(int fd, const char *s, size_t n)
{
	assert_int_equal(write(fd, s, n), (ssize_t)n);
}

/* Each row: bytes the peer sends (all at once), then the lines and results
 * expected from successive reads with the row's limit. */
struct line_row {
	const char *input;
	size_t max;
	int results[4];
	const char *lines[4];
};

static void test_read_line_table(void **state)
{
	static const struct line_row rows[] = {
		{ "a\r\nbb\ncc\r\n", 100, { PZ_IO_OK, PZ_IO_OK, PZ_IO_OK, PZ_IO_EOF },
		  { "a", "bb", "cc", NULL } },
		{ "\r\n\n", 100, { PZ_IO_OK, PZ_IO_OK, PZ_IO_EOF }, { "", "", NULL } },
		{ "12345\r\nabc\r\n", 4, { PZ_IO_TOO_LONG, PZ_IO_OK, PZ_IO_EOF }, { NULL, "abc", NULL } },
		{ "1234\r\n", 4, { PZ_IO_OK, PZ_IO_EOF }, { "1234", NULL } },
		{ "no newline at end", 100, { PZ_IO_EOF }, { NULL } },
		{ "with\0nul\r\n", 100, { PZ_IO_OK, PZ_IO_EOF }, { "with", NULL } },
	};
	size_t i, j;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pair p;
		size_t inlen = strlen(rows[i].input);

		if (i == 5)
			inlen = 10; /* the row with an embedded NUL */
		pair_open(&p, 2000);
		send_all(p.peer, rows[i].input, inlen);
		shutdown(p.peer, SHUT_WR);
		for (j = 0; j < 4 && (j == 0 || rows[i].results[j - 1] != PZ_IO_EOF); j++) {
			char *line = NULL;
			size_t len = 0;
			int r = pz_conn_read_line(p.conn, rows[i].max, &line, &len);

			if (r != rows[i].results[j])
				print_error("row %zu read %zu: got %d, want %d\n", i, j, r,
					    rows[i].results[j]);
			assert_int_equal(r, rows[i].results[j]);
			if (rows[i].lines[j] != NULL)
				assert_string_equal(line, rows[i].lines[j]);
		}
		pair_close(&p);
	}
}

static void test_very_long_line_dropped(void **state)
{
	struct pair p;
	char *big = malloc(300000), *line;
	size_t len;
	pid_t pid;
	int status;

	memset(big, 'x', 300000);
	pair_open(&p, 5000);
	pid = fork();
	if (pid == 0) {
		(void)!write(p.peer, big, 300000);
		(void)!write(p.peer, "\r\nnext\r\n", 8);
		_exit(0);
	}
	assert_int_equal(pz_conn_read_line(p.conn, 1000, &line, &len), PZ_IO_TOO_LONG);
	assert_int_equal(pz_conn_read_line(p.conn, 1000, &line, &len), PZ_IO_OK);
	assert_string_equal(line, "next");
	waitpid(pid, &status, 0);
	free(big);
	pair_close(&p);
}

static void test_split_across_writes(void **state)
{
	struct pair p;
	char *line;
	size_t len;
	pid_t pid;
	int status;

	pair_open(&p, 5000);
	pid = fork();
	if (pid == 0) {
		(void)!write(p.peer, "hel", 3);
		usleep(50000);
		(void)!write(p.peer, "lo\r", 3);
		usleep(50000);
		(void)!write(p.peer, "\nlit:", 5);
		usleep(50000);
		(void)!write(p.peer, "ABCDEFGH", 8);
		_exit(0);
	}
	assert_int_equal(pz_conn_read_line(p.conn, 100, &line, &len), PZ_IO_OK);
	assert_string_equal(line, "hello");
	{
		char buf[12];

		assert_int_equal(pz_conn_read(p.conn, buf, 12), PZ_IO_OK);
		assert_memory_equal(buf, "lit:ABCDEFGH", 12);
	}
	waitpid(pid, &status, 0);
	pair_close(&p);
}

static void test_timeout(void **state)
{
	struct pair p;
	char *line;
	size_t len;

	pair_open(&p, 100);
	assert_int_equal(pz_conn_read_line(p.conn, 100, &line, &len), PZ_IO_TIMEOUT);
	pair_close(&p);
}

static void test_write_bounded_and_complete(void **state)
{
	struct pair p;
	size_t total = 4096000, sent = 0;
	pid_t pid;
	int status;
	char chunk[1000];

	pair_open(&p, 10000);
	memset(chunk, 'z', sizeof(chunk));
	pid = fork();
	if (pid == 0) {
		/* a slow reader that counts everything until EOF */
		size_t got = 0;

		close(p.connfd);
		for (;;) {
			char buf[65536];
			ssize_t r = read(p.peer, buf, sizeof(buf));

			if (r <= 0)
				break;
			got += (size_t)r;
			if (got % (512 * 1024) < (size_t)r)
				usleep(10000);
		}
		_exit(got == total ? 0 : 1);
	}
	close(p.peer);
	while (sent < total) {
		assert_int_equal(pz_conn_write(p.conn, chunk, sizeof(chunk)), 0);
		sent += sizeof(chunk);
	}
	assert_int_equal(pz_conn_flush(p.conn), 0);
	pz_pool_destroy(&p.pool); /* closes the socket: the reader sees EOF */
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_write_to_closed_peer_fails(void **state)
{
	struct pair p;
	char chunk[100000];
	int r = 0, i;

	pair_open(&p, 1000);
	close(p.peer);
	memset(chunk, 'a', sizeof(chunk));
	for (i = 0; i < 10 && r == 0; i++)
		r = pz_conn_write(p.conn, chunk, sizeof(chunk));
	if (r == 0)
		r = pz_conn_flush(p.conn);
	assert_int_equal(r, -1);
	p.peer = -1;
	pz_pool_destroy(&p.pool);
}

static void test_printf_and_pending(void **state)
{
	struct pair p;
	char buf[64];
	ssize_t n;
	char *line;
	size_t len;

	pair_open(&p, 1000);
	assert_int_equal(pz_conn_printf(p.conn, "* %d %s\r\n", 7, "EXISTS"), 0);
	assert_int_equal(pz_conn_flush(p.conn), 0);
	n = read(p.peer, buf, sizeof(buf));
	assert_int_equal(n, 12);
	assert_memory_equal(buf, "* 7 EXISTS\r\n", 12);
	send_all(p.peer, "one\r\ntwo\r\n", 10);
	assert_int_equal(pz_conn_read_line(p.conn, 100, &line, &len), PZ_IO_OK);
	assert_int_equal(pz_conn_input_pending(p.conn), 5);
	assert_int_equal(pz_conn_wait(p.conn, -1, 0), 1);
	pair_close(&p);
}

static void test_starttls_refused(void **state)
{
	struct pair p;
	const char *err = NULL;

	pair_open(&p, 1000);
	assert_int_equal(pz_conn_tls_available(p.conn), 0);
	assert_int_equal(pz_conn_starttls(p.conn, &err), -1);
	assert_string_equal(err, "TLS is not available");
	assert_string_equal(pz_conn_peer(p.conn), "unix");
	assert_int_equal(pz_conn_is_local(p.conn), 1);
	pair_close(&p);
}

static void test_wait_on_fd(void **state)
{
	struct pair p;
	int fds[2];

	pair_open(&p, 1000);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pz_conn_wait(p.conn, fds[0], 50), 0);
	send_all(fds[1], "x", 1);
	assert_int_equal(pz_conn_wait(p.conn, fds[0], 1000), 2);
	send_all(p.peer, "y\n", 2);
	assert_int_equal(pz_conn_wait(p.conn, -1, 1000), 1);
	close(fds[0]);
	close(fds[1]);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_line_table),
		cmocka_unit_test(test_very_long_line_dropped),
		cmocka_unit_test(test_split_across_writes),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_write_bounded_and_complete),
		cmocka_unit_test(test_write_to_closed_peer_fails),
		cmocka_unit_test(test_printf_and_pending),
		cmocka_unit_test(test_starttls_refused),
		cmocka_unit_test(test_wait_on_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
