/* pgsql-admin-import.c - `poczta-admin import`: a user's maildir into
 * PostgreSQL with the same UIDs, UIDVALIDITY, UIDNEXT, flags, keywords,
 * internal dates, special-use and subscriptions, so clients keep their
 * caches.
 *
 * The maildir is read through the maildir module (its index holds the
 * UIDs).  Each mailbox is written in one transaction: the mailbox row with
 * the maildir's counters, the account's usage, then each message with its
 * body stored once by SHA-256 (as saves do, a body already there is
 * shared).  Locks follow the module's order: mailbox row, account row,
 * bodies.  A user who already has mail in PostgreSQL is refused unless
 * --force, which replaces each imported mailbox (its old messages go, and
 * sessions that had it open see it deleted).  Quota is not checked: this
 * is the administrator moving mail that is already there.  Bodies get no
 * full-text vector; SEARCH BODY/TEXT in those mailboxes falls back to the
 * core.
 */
#include "config-core.h"
#include "pgsql-admin.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "pool.h"

#define SHA256_LEN 32

struct imp {
	struct adm_job *job;
	struct adm_store src;
	char account_id[24];
	pz_pool *pool;          /* per mailbox */
};

static const char *num(pz_pool *pool, int64_t v)
{
	return pz_pool_printf(pool, "%" PRId64, v);
}

/* exec - a statement whose rows are not needed */
static int exec(struct imp *im, const char *sql, int n, const char *const *v,
		char **error_r)
{
	PGresult *r = adm_query(im->job->db, sql, n, v, -1, 0, error_r);

	PQclear(r);
	return r != NULL ? 0 : -1;
}

/* query_one - the first column of the first row (from im->pool): 1, 0
 * when there is no row, -1 with *error_r */
static int query_one(struct imp *im, const char *sql, int n, const char *const *v,
		     const char **value_r, char **error_r)
{
	PGresult *r = adm_query(im->job->db, sql, n, v, -1, 0, error_r);
	int found;

	if (r == NULL)
		return -1;
	found = PQntuples(r) > 0;
	*value_r = found ? pz_pool_strdup(im->pool, PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	return found;
}

/* account_prepare - the account's id (made when new); refuse a user with
 * mail unless --force */
static int account_prepare(struct imp *im, char **error_r)
{
	const char *v[1] = { im->job->account }, *id, *count;
	long long msgs;

	if (exec(im, "INSERT INTO pz_account (name) VALUES ($1) "
		 "ON CONFLICT (name) DO NOTHING", 1, v, error_r) < 0 ||
	    query_one(im, "SELECT id FROM pz_account WHERE name = $1", 1, v, &id,
		      error_r) <= 0 ||
	    query_one(im, "SELECT count(*) FROM pz_message m JOIN pz_mailbox b ON "
		      "b.id = m.mailbox_id WHERE b.account_id = $1", 1, &id, &count,
		      error_r) <= 0)
		return -1;
	snprintf(im->account_id, sizeof(im->account_id), "%s", id);
	msgs = atoll(count);
	if (msgs > 0 && !im->job->force) {
		*error_r = pz_strdup_printf("%s already has %lld message%s in PostgreSQL "
					    "(account '%s'): not imported; --force replaces "
					    "the mailboxes the maildir has", im->job->user_name,
					    msgs, msgs == 1 ? "" : "s", im->job->account);
		return -1;
	}
	return 0;
}

/* account_add - change the account's usage; after the mailbox row lock */
static int account_add(struct imp *im, int64_t bytes, int64_t messages, char **error_r)
{
	const char *v[3] = { im->account_id, num(im->pool, bytes), num(im->pool, messages) };

	return exec(im, "UPDATE pz_account SET bytes_used = bytes_used + $2, "
		    "messages_used = messages_used + $3 WHERE id = $1", 3, v, error_r);
}

/* mailbox_keywords - every keyword of the messages, once (case-
 * insensitively), blank separated */
static const char *mailbox_keywords(struct imp *im, const struct adm_box *b)
{
	char *out = pz_pool_strdup(im->pool, "");

	for (size_t i = 0; i < b->count; i++) {
		for (size_t k = 0; k < b->msgs[i].kw_count; k++) {
			const char *kw = b->msgs[i].kw[k];
			size_t n = strlen(kw);
			int found = 0;

			for (const char *p = out; *p != '\0'; p += strcspn(p, " "), p += *p == ' ')
				found |= strcspn(p, " ") == n && strncasecmp(p, kw, n) == 0;
			if (!found)
				out = pz_pool_printf(im->pool, "%s%s%s", out, *out ? " " : "", kw);
		}
	}
	return out;
}

static const char *msg_keywords(struct imp *im, const struct adm_msg *m)
{
	char *out = pz_pool_strdup(im->pool, "");

	for (size_t k = 0; k < m->kw_count; k++)
		out = pz_pool_printf(im->pool, "%s%s%s", out, k > 0 ? " " : "", m->kw[k]);
	return out;
}

/* replace_old - remove a mailbox of the same name (--force), with its
 * messages, their usage and the bodies nothing else references */
static int replace_old(struct imp *im, const char *name, char **error_r)
{
	const char *v[2] = { im->account_id, name }, *id;
	int64_t bytes, messages;
	PGresult *r;
	int found = query_one(im, "SELECT id FROM pz_mailbox WHERE account_id = $1 "
			      "AND name = $2 FOR UPDATE", 2, v, &id, error_r);

	if (found <= 0)
		return found;
	r = adm_query(im->job->db, "WITH d AS (DELETE FROM pz_message WHERE mailbox_id = $1 "
		      "RETURNING body_id, size) SELECT coalesce(sum(size), 0), count(*), "
		      "coalesce(array_agg(DISTINCT body_id), '{}') FROM d", 1, &id, -1, 0,
		      error_r);
	if (r == NULL)
		return -1;
	bytes = atoll(PQgetvalue(r, 0, 0));
	messages = atoll(PQgetvalue(r, 0, 1));
	v[0] = pz_pool_strdup(im->pool, PQgetvalue(r, 0, 2));
	PQclear(r);
	if (exec(im, "SELECT pg_notify('pz_mb_' || $1::text, '')", 1, &id, error_r) < 0 ||
	    exec(im, "DELETE FROM pz_mailbox WHERE id = $1", 1, &id, error_r) < 0 ||
	    account_add(im, -bytes, -messages, error_r) < 0 ||
	    exec(im, "SELECT id FROM pz_body WHERE id = ANY($1::bigint[]) ORDER BY id "
		 "FOR UPDATE", 1, v, error_r) < 0)
		return -1;
	return exec(im, "DELETE FROM pz_body b WHERE b.id = ANY($1::bigint[]) AND NOT "
		    "EXISTS (SELECT 1 FROM pz_message m WHERE m.body_id = b.id)", 1, v,
		    error_r);
}

/* body_id - the id of the body with these bytes, stored when new */
static int body_id(struct imp *im, const unsigned char *data, size_t len,
		   const char **id_r, char **error_r)
{
	unsigned char sha[SHA256_LEN];
	unsigned int mdlen = 0;
	const char *v[3];
	PGresult *r;

	if (len > INT32_MAX) {
		*error_r = pz_strdup_printf("a message of %zu bytes is too big", len);
		return -1;
	}
	if (EVP_Digest(data, len, sha, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != SHA256_LEN) {
		*error_r = pz_strdup_printf("SHA-256 failed");
		return -1;
	}
	v[0] = pz_pool_printf(im->pool, "\\x");
	for (size_t i = 0; i < SHA256_LEN; i++)
		v[0] = pz_pool_printf(im->pool, "%s%02x", v[0], sha[i]);
	v[1] = num(im->pool, (int64_t)len);
	v[2] = (const char *)data;
	r = adm_query(im->job->db, "INSERT INTO pz_body (sha256, size, data) VALUES "
		      "($1, $2, $3) ON CONFLICT (sha256) DO NOTHING RETURNING id",
		      3, v, 2, (int)len, error_r);
	if (r != NULL && PQntuples(r) == 0) {
		PQclear(r);
		r = adm_query(im->job->db, "SELECT id FROM pz_body WHERE sha256 = $1 "
			      "FOR KEY SHARE", 1, v, -1, 0, error_r);
	}
	if (r == NULL)
		return -1;
	*id_r = pz_pool_strdup(im->pool, PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int import_msg(struct imp *im, pz_mailbox *view, const char *mailbox_id,
		      const struct adm_msg *m, uint64_t *bytes_r, char **error_r)
{
	pz_pool *mp = pz_pool_create("import message");
	unsigned char *data;
	size_t len;
	const char *v[9];
	int ret = -1;

	if (adm_msg_read(&im->src, view, m->uid, mp, &data, &len, error_r) == 0 &&
	    body_id(im, data, len, &v[2], error_r) == 0) {
		v[0] = mailbox_id;
		v[1] = num(im->pool, m->uid);
		v[3] = num(im->pool, m->flags);
		v[4] = msg_keywords(im, m);
		v[5] = num(im->pool, (int64_t)(m->modseq > 0 ? m->modseq : 1));
		v[6] = num(im->pool, (int64_t)len);
		v[7] = num(im->pool, (int64_t)m->idate);
		v[8] = num(im->pool, m->idate_tz);
		*bytes_r += len;
		ret = exec(im, "INSERT INTO pz_message (mailbox_id, uid, body_id, flags, "
			   "keywords, modseq, size, internal_date, internal_date_tz) VALUES "
			   "($1, $2, $3, $4, string_to_array($5, ' '), $6, $7, $8, $9)",
			   9, v, error_r);
	}
	pz_pool_destroy(&mp);
	return ret;
}

/* import_box_txn - the body of one mailbox's transaction */
static int import_box_txn(struct imp *im, const struct adm_box *b, pz_mailbox *view,
			  char **error_r)
{
	uint64_t bytes = 0, expected = 0, hms = b->highestmodseq;
	uint32_t uidnext = b->uidnext;
	const char *v[7], *id;

	for (size_t i = 0; i < b->count; i++) {
		expected += b->msgs[i].size;
		if (b->msgs[i].modseq > hms)
			hms = b->msgs[i].modseq;
		if (b->msgs[i].uid >= uidnext)
			uidnext = b->msgs[i].uid + 1;
	}
	if (replace_old(im, b->name, error_r) < 0)
		return -1;
	v[0] = im->account_id;
	v[1] = b->name;
	v[2] = num(im->pool, b->uidvalidity);
	v[3] = num(im->pool, uidnext > 0 ? uidnext : 1);
	v[4] = num(im->pool, (int64_t)(hms > 0 ? hms : 1));
	v[5] = num(im->pool, b->special_use);
	v[6] = mailbox_keywords(im, b);
	if (query_one(im, "INSERT INTO pz_mailbox (account_id, name, uidvalidity, uidnext, "
		      "highestmodseq, first_recent_uid, special_use, keywords) VALUES ($1, $2, "
		      "$3, $4, $5, $4, $6, string_to_array($7, ' ')) RETURNING id", 7, v, &id,
		      error_r) <= 0)
		return -1;
	if (account_add(im, (int64_t)expected, (int64_t)b->count, error_r) < 0)
		return -1;
	for (size_t i = 0; i < b->count; i++) {
		if (import_msg(im, view, id, &b->msgs[i], &bytes, error_r) < 0)
			return -1;
	}
	/* sizes the maildir reported wrongly: charge what was stored */
	return bytes == expected ? 0 :
		account_add(im, (int64_t)bytes - (int64_t)expected, 0, error_r);
}

static int import_box(struct imp *im, struct adm_box *b, char **error_r)
{
	pz_mailbox *view = NULL;
	char *err2 = NULL;
	int ret;

	if (adm_box_read(&im->src, b, PZ_OPEN_READONLY, im->pool, &view, error_r) < 0)
		return -1;
	ret = exec(im, "BEGIN", 0, NULL, error_r);
	if (ret == 0)
		ret = import_box_txn(im, b, view, error_r);
	if (ret == 0)
		ret = exec(im, "COMMIT", 0, NULL, error_r);
	else if (exec(im, "ROLLBACK", 0, NULL, &err2) < 0)
		free(err2);
	im->src.ops->mailbox_close(&view);
	if (ret < 0) {
		char *e = pz_strdup_printf("mailbox '%s': %s (nothing of it imported)",
					   b->name, *error_r);
		free(*error_r);
		*error_r = e;
		return -1;
	}
	printf("%s: %zu message%s, UIDVALIDITY %" PRIu32 ", UIDNEXT %" PRIu32 "\n",
	       b->name, b->count, b->count == 1 ? "" : "s", b->uidvalidity, b->uidnext);
	return 0;
}

static int import_subscriptions(struct imp *im, const struct adm_box *boxes,
				size_t count, char **error_r)
{
	for (size_t i = 0; i < count; i++) {
		const char *v[2] = { im->account_id, boxes[i].name };

		if ((boxes[i].attrs & PZ_MBOX_SUBSCRIBED) != 0 &&
		    exec(im, "INSERT INTO pz_subscription (account_id, name) VALUES ($1, $2) "
			 "ON CONFLICT DO NOTHING", 2, v, error_r) < 0)
			return -1;
	}
	return 0;
}

int adm_import(struct adm_job *job)
{
	struct imp im = { .job = job, .pool = pz_pool_create("import mailbox") };
	struct adm_box *boxes;
	size_t count, done = 0;
	char *error = NULL;
	struct stat st;
	int ret = -1;

	if (job->maildir_root != NULL && stat(job->maildir_root, &st) < 0)
		error = pz_strdup_printf("%s: %s", job->maildir_root, strerror(errno));
	else if (pgsql_schema_check(job->db, &error) == 0 &&
	    adm_store_open(&im.src, "maildir", job->maildir_user, job->pool, &error) == 0 &&
	    adm_store_list(&im.src, job->pool, &boxes, &count, &error) == 0 &&
	    account_prepare(&im, &error) == 0) {
		for (ret = 0; ret == 0 && done < count; done++) {
			if ((boxes[done].attrs & (PZ_MBOX_NOSELECT | PZ_MBOX_NONEXISTENT)) == 0)
				ret = import_box(&im, &boxes[done], &error);
			pz_pool_clear(im.pool);
		}
		if (ret == 0)
			ret = import_subscriptions(&im, boxes, count, &error);
	}
	pz_pool_destroy(&im.pool);
	if (im.src.mu != NULL)
		im.src.ops->user_close(&im.src.mu);
	if (ret == 0)
		printf("%s imported into PostgreSQL account '%s'\n", job->user_name,
		       job->account);
	return adm_job_end(job, "import", ret, error);
}
