/* tests/integration/mime-tool.c - print what poczta's mail primitives make
 * of a message file, for test-mime-dovecot.py to compare with Dovecot.
 *
 *   mime-tool FILE
 *
 * The primitives are reached through the host table, as modules reach
 * them.  Output: items, each "NAME LENGTH\n", LENGTH bytes, "\n":
 *   BODYSTRUCTURE, BODY, ENVELOPE   the IMAP strings as sent;
 *   SECTION <n>                     BODY[<n>] for every part number <n>,
 *                                   in depth-first order.
 * Exit status 0, or 1 when the file cannot be read or parsed. */
#include "config-core.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "core.h"

/* Part numbers deeper than this are not listed (the parser's bound). */
#define SECTION_MAX 1024

static const struct pz_host *host;

static void item(const char *name, const void *data, size_t len)
{
	printf("%s %zu\n", name, len);
	fwrite(data, 1, len, stdout);
	putchar('\n');
}

/* body - print BODY[name] of the part it names. */
static int body(pz_stream *msg, pz_mail_part *p, const char *name, pz_pool *pool)
{
	struct pz_mail_part_info info = { .size = sizeof(info) };
	unsigned char *buf;
	uint64_t done = 0;

	host->mail_part_info(p, &info);
	buf = host->pool_alloc(pool, (size_t)info.body_size + 1);
	if (host->stream_seek(msg, info.body_offset) < 0)
		return -1;
	while (done < info.body_size) {
		ssize_t n = host->stream_read(msg, buf + done,
					      (size_t)(info.body_size - done));

		if (n <= 0)
			return -1;
		done += (uint64_t)n;
	}
	item(host->pool_printf(pool, "SECTION %s", name), buf, (size_t)info.body_size);
	return 0;
}

/* sections - every part number under `prefix` ("" for the message). */
static int sections(pz_stream *msg, pz_mail_part *root, const char *prefix,
		    pz_pool *pool)
{
	unsigned int i;

	if (strlen(prefix) > SECTION_MAX)
		return 0;
	for (i = 1;; i++) {
		const char *name = *prefix == '\0' ? host->pool_printf(pool, "%u", i) :
			host->pool_printf(pool, "%s.%u", prefix, i);
		pz_mail_part *p = host->mail_part_find(root, name);

		if (p == NULL)
			return 0;
		if (body(msg, p, name, pool) < 0 || sections(msg, root, name, pool) < 0)
			return -1;
	}
}

int main(int argc, char **argv)
{
	pz_pool *pool;
	pz_stream *msg;
	pz_mail_part *root;
	pz_error err;
	const char *s;
	int fd, ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mime-tool FILE\n");
		return 2;
	}
	host = pz_host_table();
	if (!PZ_HOST_HAS(host, mail_parse)) {
		fprintf(stderr, "mime-tool: the host table has no mail calls\n");
		return 1;
	}
	if ((fd = open(argv[1], O_RDONLY)) < 0) {
		perror(argv[1]);
		return 1;
	}
	pool = host->pool_create("mime-tool");
	msg = host->stream_from_fd(pool, fd, 1);
	if (host->mail_parse(msg, pool, &root, &err) < 0) {
		fprintf(stderr, "mime-tool: %s: %s\n", argv[1], err.msg);
		host->pool_destroy(&pool);
		return 1;
	}
	s = host->mail_bodystructure(root, pool, 1);
	item("BODYSTRUCTURE", s, strlen(s));
	s = host->mail_bodystructure(root, pool, 0);
	item("BODY", s, strlen(s));
	s = host->mail_envelope(root, pool);
	item("ENVELOPE", s, strlen(s));
	if (sections(msg, root, "", pool) < 0) {
		fprintf(stderr, "mime-tool: %s: read error\n", argv[1]);
		ret = 1;
	}
	host->pool_destroy(&pool);
	return ret;
}
