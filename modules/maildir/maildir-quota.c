/* maildir-quota.c - Maildir++ quota (Courier's README.maildirquota).
 *
 * The limits come from the user ("quota" bytes, "quota_messages"), or the
 * module's defaults.  Usage is kept in the root's "maildirsize": a first
 * line with the limits ("<bytes>S,<count>C"), then lines "<bytes> <count>"
 * that every writer appends (negative for removals).  The sum is the usage.
 * The file is recalculated from the folders when it is missing, its limits
 * line no longer matches, it grew past 5120 bytes, or it is over quota and
 * older than 15 minutes, exactly as Courier and Dovecot do; so all three
 * agree on a user's usage.  Sizes are the S= (on disk) sizes.
 */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define QUOTA_FILE_MAX 5120
#define QUOTA_RECALC_SECS (15 * 60)

struct usage {
	int64_t bytes;
	int64_t count;
};

int maildir_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (strcasecmp(s, "none") == 0 || strcasecmp(s, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno != 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': mult = 1024ULL; end++; break;
	case 'm': case 'M': mult = 1024ULL * 1024; end++; break;
	case 'g': case 'G': mult = 1024ULL * 1024 * 1024; end++; break;
	case 't': case 'T': mult = 1024ULL * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static char *quota_path(struct pz_mail_user *mu)
{
	if (mu->quota_file == NULL)
		mu->quota_file = maildir_path(mu->pool, mu->root, MAILDIR_QUOTA_NAME,
					      NULL);
	return mu->quota_file;
}

static void limits_line(struct pz_mail_user *mu, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (mu->quota_bytes > 0)
		n += (size_t)snprintf(buf, size, "%lluS",
				      (unsigned long long)mu->quota_bytes);
	if (mu->quota_messages > 0)
		snprintf(buf + n, size - n, "%s%lluC", n > 0 ? "," : "",
			 (unsigned long long)mu->quota_messages);
	if (buf[0] == '\0')
		snprintf(buf, size, "0S");
}

/* sum_folder - add the messages of one maildir's cur/ and new/ */
static void sum_folder(const char *dir, struct usage *u)
{
	static const char *const subs[] = { "cur", "new" };
	char path[4200];

	for (size_t i = 0; i < 2; i++) {
		DIR *d;
		struct dirent *de;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, subs[i]) >=
		    sizeof(path) || (d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			struct maildir_fname f;
			struct stat st;

			if (de->d_name[0] == '.')
				continue;
			maildir_fname_parse(de->d_name, &f);
			if (!f.has_psize) {
				if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
				    !S_ISREG(st.st_mode))
					continue;
				f.psize = (uint64_t)st.st_size;
			}
			u->bytes += (int64_t)f.psize;
			u->count++;
		}
		closedir(d);
	}
}

static int recalc(struct pz_mail_user *mu, struct usage *u, int write)
{
	DIR *d = opendir(mu->root);
	struct dirent *de;
	char limits[64], buf[160], path[4200];

	u->bytes = u->count = 0;
	if (d == NULL)
		return -1;
	sum_folder(mu->root, u);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcasecmp(de->d_name, MAILDIR_TRASHED_NAME) == 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", mu->root,
				     de->d_name) < sizeof(path))
			sum_folder(path, u);
	}
	closedir(d);
	if (!write)
		return 0;
	limits_line(mu, limits, sizeof(limits));
	snprintf(buf, sizeof(buf), "%s\n%lld %lld\n", limits, (long long)u->bytes,
		 (long long)u->count);
	if (maildir_write_file(quota_path(mu), buf, strlen(buf)) < 0)
		maildir_log(PZ_LOG_WARNING, "%s: %s", quota_path(mu), strerror(errno));
	return 0;
}

static int over(const struct pz_mail_user *mu, const struct usage *u)
{
	return (mu->quota_bytes > 0 && (uint64_t)u->bytes > mu->quota_bytes) ||
		(mu->quota_messages > 0 && (uint64_t)u->count > mu->quota_messages);
}

/* usage_get - the user's usage, recalculating maildirsize when stale */
static int usage_get(struct pz_mail_user *mu, struct usage *u)
{
	int limited = mu->quota_bytes > 0 || mu->quota_messages > 0;
	char *data, *line, *save, limits[64];
	struct stat st;
	size_t len;
	int ret = maildir_read_file(mu->pool, quota_path(mu), QUOTA_FILE_MAX * 4,
				    &data, &len, &st);

	if (ret != 0 || len > QUOTA_FILE_MAX)
		return recalc(mu, u, limited || ret == 0);
	limits_line(mu, limits, sizeof(limits));
	line = strtok_r(data, "\n", &save);
	if (line == NULL || (limited && strcmp(line, limits) != 0))
		return recalc(mu, u, 1);
	u->bytes = u->count = 0;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		long long b, c;
		if (sscanf(line, "%lld %lld", &b, &c) == 2) {
			u->bytes += b;
			u->count += c;
		}
	}
	if (u->bytes < 0 || u->count < 0 ||
	    (over(mu, u) && st.st_mtime < time(NULL) - QUOTA_RECALC_SECS))
		return recalc(mu, u, 1);
	return 0;
}

int maildir_quota_get(pz_mail_user *mu, struct pz_quota *quota, pz_error *err)
{
	struct usage u = { 0 };

	/* no limit: nothing to count for (storage.h allows usage 0) */
	if ((mu->quota_bytes > 0 || mu->quota_messages > 0) && usage_get(mu, &u) < 0)
		return maildir_syserror(mu, err, "quota", mu->root);
	quota->bytes_used = (uint64_t)u.bytes;
	quota->bytes_limit = mu->quota_bytes;
	quota->messages_used = (uint64_t)u.count;
	quota->messages_limit = mu->quota_messages;
	return 0;
}

int maildir_quota_check(struct pz_mail_user *mu, uint64_t bytes, uint64_t count,
			pz_error *err)
{
	struct usage u;

	if (mu->quota_bytes == 0 && mu->quota_messages == 0)
		return 0;
	if (usage_get(mu, &u) < 0)
		return maildir_syserror(mu, err, "quota", mu->root);
	if ((mu->quota_bytes > 0 &&
	     (uint64_t)u.bytes + bytes > mu->quota_bytes) ||
	    (mu->quota_messages > 0 &&
	     (uint64_t)u.count + count > mu->quota_messages))
		return maildir_error(mu, err, PZ_ERR_QUOTA, "Quota exceeded");
	return 0;
}

void maildir_quota_update(struct pz_mail_user *mu, int64_t bytes, int64_t count)
{
	char line[64];
	int fd, n;

	/* appended only to an existing file: a missing one is recalculated */
	fd = open(quota_path(mu), O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%lld %lld\n", (long long)bytes,
		     (long long)count);
	if (write(fd, line, (size_t)n) != n)
		maildir_log(PZ_LOG_WARNING, "%s: %s", quota_path(mu), strerror(errno));
	close(fd);
}

void maildir_quota_invalidate(struct pz_mail_user *mu)
{
	unlink(quota_path(mu));
}
