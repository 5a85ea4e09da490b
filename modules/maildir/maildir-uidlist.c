/* maildir-uidlist.c - keep the UIDs of a maildir that another server used.
 *
 * When a mailbox is opened for the first time (no index yet), its UIDs come
 * from Dovecot's dovecot-uidlist, or else Courier's courierimapuiddb, so
 * that clients keep their caches after a migration.  Formats (Dovecot's
 * "Maildir mailbox format" page):
 *   version 3:  "3 V<uidvalidity> N<uidnext> G<guid> ..." then lines
 *               "<uid> [<field>...] :<file name>"
 *   version 1 (and Courier):  "1 <uidvalidity> <uidnext>" then lines
 *               "<uid> <file name>"
 * Only the base of each file name (up to ':') identifies the message.
 *
 * Also here: poczta-uidvalidity in the maildir root, which makes sure a
 * rebuilt index never gets the UIDVALIDITY its predecessor had.
 */
#include "maildir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UIDLIST_MAX_SIZE (256u * 1024 * 1024)

struct maildir_uidmap {
	uint32_t uidvalidity;
	uint32_t uidnext;
	struct maildir_hash *hash;
	char *data; /* the file; keys point into it */
};

static void uidmap_free(void *ctx)
{
	struct maildir_uidmap *m = ctx;
	maildir_hash_free(&m->hash);
}

static int parse_u32(const char *s, char **end, uint32_t *out)
{
	unsigned long v;

	errno = 0;
	v = strtoul(s, end, 10);
	if (*end == s || errno != 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* parse_header - fill uidvalidity/uidnext; the file's version or -1 */
static int parse_header(char *line, struct maildir_uidmap *m)
{
	char *end, *tok, *save;
	uint32_t version;

	if (parse_u32(line, &end, &version) < 0)
		return -1;
	if (version == 1) {
		if (parse_u32(end, &end, &m->uidvalidity) < 0 ||
		    parse_u32(end, &end, &m->uidnext) < 0)
			return -1;
		return 1;
	}
	if (version != 2 && version != 3)
		return -1;
	for (tok = strtok_r(end, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (tok[0] == 'V')
			parse_u32(tok + 1, &end, &m->uidvalidity);
		else if (tok[0] == 'N')
			parse_u32(tok + 1, &end, &m->uidnext);
	}
	return (int)version;
}

/* parse_line - "<uid> ... :<fname>" (v3) or "<uid> <fname>" (v1) */
static int parse_line(char *line, int version, uint32_t *uid_r,
		      char **fname_r)
{
	char *p;

	if (parse_u32(line, &p, uid_r) < 0 || *uid_r == 0 || *p != ' ')
		return -1;
	while (*p == ' ')
		p++;
	if (version == 1) {
		*fname_r = p;
		return *p != '\0' ? 0 : -1;
	}
	for (;;) {
		if (*p == ':') {
			*fname_r = p + 1;
			return p[1] != '\0' ? 0 : -1;
		}
		p = strchr(p, ' ');
		if (p == NULL)
			return -1;
		while (*p == ' ')
			p++;
	}
}

static int uidlist_parse(pz_pool *pool, const char *path, char *data,
			 struct maildir_uidmap *m)
{
	char *line, *save, *nl = strchr(data, '\n');
	size_t lines = 1;
	int version;

	for (const char *p = data; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	if (nl != NULL)
		*nl = '\0';
	version = parse_header(data, m);
	if (version < 0 || m->uidvalidity == 0) {
		maildir_log(PZ_LOG_WARNING, "%s: unknown header, not imported", path);
		return -1;
	}
	m->hash = maildir_hash_new(lines);
	if (m->hash == NULL)
		return -1;
	HOST->pool_cleanup(pool, uidmap_free, m);
	if (nl == NULL)
		return 0;
	for (line = strtok_r(nl + 1, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		uint32_t uid;
		char *fname;

		if (parse_line(line, version, &uid, &fname) < 0) {
			maildir_log(PZ_LOG_WARNING, "%s: skipping bad line", path);
			continue;
		}
		if (uid >= m->uidnext)
			m->uidnext = uid + 1;
		if (maildir_hash_put(m->hash, fname, maildir_fname_base_len(fname),
				     uid) < 0)
			return -1;
	}
	return 0;
}

int maildir_uidlist_read(struct maildir_mbox *mb, pz_pool *pool,
			 struct maildir_uidmap **map_r)
{
	static const char *const names[] = {
		MAILDIR_UIDLIST_NAME, MAILDIR_COURIER_UIDDB_NAME
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = maildir_path(pool, mb->paths.dir, names[i], NULL);
		struct maildir_uidmap *m;
		size_t len;
		char *data;
		int ret = maildir_read_file(pool, path, UIDLIST_MAX_SIZE, &data,
					    &len, NULL);

		if (ret == 1)
			continue;
		if (ret < 0) {
			maildir_log(PZ_LOG_WARNING, "%s: %s, not imported", path,
				    strerror(errno));
			continue;
		}
		m = HOST->pool_alloc(pool, sizeof(*m));
		m->data = data;
		if (memchr(data, '\0', len) != NULL ||
		    uidlist_parse(pool, path, data, m) < 0)
			continue;
		maildir_log(PZ_LOG_INFO, "%s: imported UIDVALIDITY %u UIDNEXT %u",
			    path, m->uidvalidity, m->uidnext);
		*map_r = m;
		return 0;
	}
	return 1;
}

uint32_t maildir_uidmap_uidvalidity(const struct maildir_uidmap *m)
{
	return m->uidvalidity;
}

uint32_t maildir_uidmap_uidnext(const struct maildir_uidmap *m)
{
	return m->uidnext;
}

uint32_t maildir_uidmap_lookup(const struct maildir_uidmap *m, const char *base,
			       size_t len)
{
	uint32_t uid;

	return maildir_hash_get(m->hash, base, len, &uid) ? uid : 0;
}

uint32_t maildir_uidvalidity_next(struct pz_mail_user *mu)
{
	char *path = maildir_path(mu->pool, mu->root, MAILDIR_UIDVALIDITY_NAME, NULL);
	uint32_t last = 0, next = (uint32_t)time(NULL);
	char *data, buf[32];
	size_t len;

	if (maildir_read_file(mu->pool, path, 64, &data, &len, NULL) == 0)
		last = (uint32_t)strtoul(data, NULL, 10);
	if (next <= last)
		next = last + 1;
	if (next == 0)
		next = 1;
	snprintf(buf, sizeof(buf), "%u\n", next);
	if (maildir_write_file(path, buf, strlen(buf)) < 0)
		maildir_log(PZ_LOG_WARNING, "%s: %s", path, strerror(errno));
	return next;
}
