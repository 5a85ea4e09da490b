/* pgsql-sql.c - every SQL statement the module runs, in one table.
 *
 * Each is prepared once per connection (PQprepare, named "pz_N") and run
 * with PQexecPrepared; every value, and above all every string that came
 * from a client (mailbox names, keywords, user names), is a parameter.
 * Only the search (pgsql-search.c) composes its text, from the constant
 * fragments listed there, and it too passes every value as a parameter.
 *
 * Conventions: $1 is the account or mailbox id; UID sets arrive as two
 * bigint arrays of range starts and ends ("{1,7}", "{5,4294967295}") and
 * keywords as one string separated by blanks (keywords are atoms and can
 * hold no blank).  Flag bits are those of enum pz_flag: \Seen is 1 and
 * \Deleted is 8 (checked at compile time in pgsql-module.c).
 */
#include "pgsql.h"

/* the UIDs of the set ($2, $3) that the view knows (below $4) */
#define IN_SET "m.uid < $4 AND EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) " \
	"r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi)"
#define MSG_COLUMNS "m.uid, m.flags, array_to_string(m.keywords, ' '), m.modseq, " \
	"m.size, m.internal_date, m.internal_date_tz, m.body_id"
#define SORTED_KW(expr) "ARRAY(SELECT k FROM (" expr ") s(k) ORDER BY k COLLATE \"C\")"

const struct pgsql_stmt_def pgsql_stmts[PGSQL_STMT_COUNT] = {
	[ST_ACCOUNT_GET] = { "pz_account_get",
		"SELECT id FROM pz_account WHERE name = $1", 0 },
	[ST_ACCOUNT_CREATE] = { "pz_account_create",
		"INSERT INTO pz_account (name) VALUES ($1) "
		"ON CONFLICT (name) DO NOTHING RETURNING id", 0 },
	[ST_ACCOUNT_USAGE] = { "pz_account_usage",
		"SELECT bytes_used, messages_used FROM pz_account WHERE id = $1", 0 },
	/* takes the account row lock: after the mailbox locks */
	[ST_ACCOUNT_ADD] = { "pz_account_add",
		"UPDATE pz_account SET bytes_used = bytes_used + $2, "
		"messages_used = messages_used + $3 WHERE id = $1 "
		"RETURNING bytes_used, messages_used", 0 },

	[ST_MAILBOX_GET] = { "pz_mailbox_get",
		"SELECT id, uidvalidity, special_use FROM pz_mailbox "
		"WHERE account_id = $1 AND name = $2", 0 },
	[ST_MAILBOX_LOCK] = { "pz_mailbox_lock",
		"SELECT uidvalidity, uidnext, highestmodseq, array_to_string(keywords, ' ') "
		"FROM pz_mailbox WHERE id = $1 FOR UPDATE", 0 },
	[ST_MAILBOX_CREATE] = { "pz_mailbox_create",
		"INSERT INTO pz_mailbox (account_id, name, special_use) VALUES ($1, $2, $3) "
		"ON CONFLICT (account_id, name) DO NOTHING RETURNING id", 0 },
	[ST_MAILBOX_LIST] = { "pz_mailbox_list",
		"SELECT name, special_use FROM pz_mailbox WHERE account_id = $1", 0 },
	[ST_MAILBOX_DELETE] = { "pz_mailbox_delete",
		"DELETE FROM pz_mailbox WHERE id = $1", 0 },
	[ST_MAILBOX_DELETE_MSGS] = { "pz_mailbox_delete_msgs",
		"WITH d AS (DELETE FROM pz_message WHERE mailbox_id = $1 "
		"RETURNING body_id, size) "
		"SELECT coalesce(sum(size), 0), count(*), "
		"coalesce(array_agg(DISTINCT body_id), '{}') FROM d", 0 },
	/* the mailbox and its children: "A" and "A/..." become "B" and "B/..." */
	[ST_MAILBOX_RENAME] = { "pz_mailbox_rename",
		"UPDATE pz_mailbox SET name = $3 || substr(name, length($2) + 1) "
		"WHERE account_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/') "
		"RETURNING id", 0 },
	[ST_MAILBOX_CHILD_EXISTS] = { "pz_mailbox_child_exists",
		"SELECT 1 FROM pz_mailbox WHERE account_id = $1 "
		"AND left(name, length($2) + 1) = $2 || '/' LIMIT 1", 0 },
	[ST_MAILBOX_STATUS] = { "pz_mailbox_status",
		"SELECT b.uidvalidity, b.uidnext, b.highestmodseq, b.special_use, "
		"c.messages, c.recent, c.unseen, c.deleted, c.bytes "
		"FROM pz_mailbox b CROSS JOIN LATERAL (SELECT count(*) AS messages, "
		"count(*) FILTER (WHERE m.uid >= b.first_recent_uid) AS recent, "
		"count(*) FILTER (WHERE m.flags & 1 = 0) AS unseen, "
		"count(*) FILTER (WHERE m.flags & 8 <> 0) AS deleted, "
		"coalesce(sum(m.size), 0) AS bytes "
		"FROM pz_message m WHERE m.mailbox_id = b.id) c "
		"WHERE b.account_id = $1 AND b.name = $2", 0 },
	[ST_MAILBOX_SET_MODSEQ] = { "pz_mailbox_set_modseq",
		"UPDATE pz_mailbox SET highestmodseq = $2 WHERE id = $1", 0 },
	/* $2 new UIDs: returns the first, the new HIGHESTMODSEQ, UIDVALIDITY */
	[ST_MAILBOX_TAKE_UIDS] = { "pz_mailbox_take_uids",
		"UPDATE pz_mailbox SET uidnext = uidnext + $2, "
		"highestmodseq = highestmodseq + 1 WHERE id = $1 "
		"RETURNING uidnext - $2, highestmodseq, uidvalidity", 0 },
	[ST_MAILBOX_SET_KEYWORDS] = { "pz_mailbox_set_keywords",
		"UPDATE pz_mailbox SET keywords = string_to_array($2, ' ') WHERE id = $1", 0 },
	/* \Recent: the first view to sync takes [first_recent_uid, uidnext) */
	[ST_MAILBOX_TAKE_RECENT] = { "pz_mailbox_take_recent",
		"UPDATE pz_mailbox b SET first_recent_uid = b.uidnext "
		"FROM (SELECT id, first_recent_uid FROM pz_mailbox WHERE id = $1 FOR UPDATE) o "
		"WHERE b.id = o.id AND b.first_recent_uid < b.uidnext "
		"RETURNING o.first_recent_uid, b.uidnext", 0 },
	[ST_MAILBOX_PRUNE_EXPUNGED] = { "pz_mailbox_prune_expunged",
		"WITH d AS (DELETE FROM pz_expunged WHERE mailbox_id = $1 "
		"AND expunged_at < now() - make_interval(days => $2::int) RETURNING modseq) "
		"UPDATE pz_mailbox SET expunge_floor = "
		"greatest(expunge_floor, (SELECT max(modseq) FROM d)) "
		"WHERE id = $1 AND EXISTS (SELECT 1 FROM d)", 0 },
	/* the new mailbox of RENAME INBOX continues INBOX's counters */
	[ST_MAILBOX_SET_NEXT] = { "pz_mailbox_set_next",
		"UPDATE pz_mailbox SET uidnext = $2, highestmodseq = $3, "
		"first_recent_uid = $2, keywords = string_to_array($4, ' ') WHERE id = $1", 0 },

	[ST_SUBSCRIBE] = { "pz_subscribe",
		"INSERT INTO pz_subscription (account_id, name) VALUES ($1, $2) "
		"ON CONFLICT DO NOTHING", 0 },
	[ST_UNSUBSCRIBE] = { "pz_unsubscribe",
		"DELETE FROM pz_subscription WHERE account_id = $1 AND name = $2", 0 },
	[ST_SUBSCRIPTIONS] = { "pz_subscriptions",
		"SELECT name FROM pz_subscription WHERE account_id = $1", 0 },

	[ST_SYNC_HEADER] = { "pz_sync_header",
		"SELECT uidvalidity, uidnext, highestmodseq, expunge_floor "
		"FROM pz_mailbox WHERE id = $1", 0 },
	[ST_SYNC_EXPUNGED] = { "pz_sync_expunged",
		"SELECT uid FROM pz_expunged WHERE mailbox_id = $1 AND modseq > $2", 0 },
	[ST_SYNC_NEW] = { "pz_sync_new",
		"SELECT " MSG_COLUMNS " FROM pz_message m "
		"WHERE m.mailbox_id = $1 AND m.uid >= $2 ORDER BY m.uid", 0 },
	[ST_SYNC_CHANGED] = { "pz_sync_changed",
		"SELECT " MSG_COLUMNS " FROM pz_message m "
		"WHERE m.mailbox_id = $1 AND m.uid < $2 AND m.modseq > $3 ORDER BY m.uid", 0 },
	[ST_SYNC_ALL_UIDS] = { "pz_sync_all_uids",
		"SELECT uid FROM pz_message WHERE mailbox_id = $1 AND uid < $2", 0 },

	/* bodies: KEY SHARE keeps a concurrent garbage collection (FOR
	 * UPDATE) from removing the row until this transaction ends */
	[ST_BODY_FIND] = { "pz_body_find",
		"SELECT id FROM pz_body WHERE sha256 = $1 FOR KEY SHARE", 0 },
	[ST_BODY_INSERT] = { "pz_body_insert",
		"INSERT INTO pz_body (sha256, size, data, tsv, fields_state, sent_date) "
		"VALUES ($1, $2, $3, "
		"CASE WHEN $4::text IS NULL AND $6::text IS NULL THEN NULL ELSE "
		"setweight(to_tsvector($5::regconfig, coalesce($4::text, '')), 'A') || "
		"to_tsvector($5::regconfig, coalesce($6::text, '')) END, "
		"$7::smallint, date '1970-01-01' + $8::integer) "
		"ON CONFLICT (sha256) DO NOTHING RETURNING id", 0 },
	[ST_BODY_SIZE] = { "pz_body_size",
		"SELECT size FROM pz_body WHERE id = $1", 0 },
	[ST_BODY_READ] = { "pz_body_read",
		"SELECT substring(data FROM $2::int FOR $3::int) FROM pz_body WHERE id = $1", 1 },
	[ST_BODY_READ_ALL] = { "pz_body_read_all",
		"SELECT data FROM pz_body WHERE id = $1", 1 },
	[ST_BODY_LOCK] = { "pz_body_lock",
		"SELECT id FROM pz_body WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", 0 },
	/* a new statement: its snapshot sees every message committed by a
	 * transaction that held one of the locks taken above */
	[ST_BODY_GC] = { "pz_body_gc",
		"DELETE FROM pz_body b WHERE b.id = ANY($1::bigint[]) "
		"AND NOT EXISTS (SELECT 1 FROM pz_message m WHERE m.body_id = b.id)", 0 },

	[ST_MESSAGE_INSERT] = { "pz_message_insert",
		"INSERT INTO pz_message (mailbox_id, uid, body_id, flags, keywords, modseq, "
		"size, internal_date, internal_date_tz) "
		"VALUES ($1, $2, $3, $4, string_to_array($5, ' '), $6, $7, $8, $9)", 0 },
	/* source rows of COPY/MOVE, share-locked against a concurrent expunge */
	[ST_MESSAGE_SOURCE] = { "pz_message_source",
		"SELECT m.uid, m.body_id, m.flags, array_to_string(m.keywords, ' '), m.size, "
		"m.internal_date, m.internal_date_tz FROM pz_message m "
		"WHERE m.mailbox_id = $1 AND " IN_SET " ORDER BY m.uid FOR SHARE", 0 },
	[ST_MESSAGE_INSERT_MANY] = { "pz_message_insert_many",
		"INSERT INTO pz_message (mailbox_id, uid, body_id, flags, keywords, modseq, "
		"size, internal_date, internal_date_tz) "
		"SELECT $1, t.uid, t.body_id, t.flags, string_to_array(t.kw, ' '), $2, "
		"t.size, t.idate, t.tz FROM unnest($3::bigint[], $4::bigint[], $5::int[], "
		"$6::text[], $7::bigint[], $8::bigint[], $9::int[]) "
		"AS t(uid, body_id, flags, kw, size, idate, tz)", 0 },
	/* STORE: $5 UNCHANGEDSINCE (0: none), $6 flags, $7 keywords, $8 the
	 * new modseq; only rows that really change are touched */
	[ST_MESSAGE_STORE_ADD] = { "pz_message_store_add",
		"WITH n AS (SELECT m.uid, m.flags | $6::int AS f, " SORTED_KW(
		"SELECT unnest(m.keywords) UNION SELECT unnest(string_to_array($7, ' '))")
		" AS kw FROM pz_message m WHERE m.mailbox_id = $1 AND " IN_SET
		" AND ($5::bigint = 0 OR m.modseq <= $5::bigint)) "
		"UPDATE pz_message m SET flags = n.f, keywords = n.kw, modseq = $8 FROM n "
		"WHERE m.mailbox_id = $1 AND m.uid = n.uid "
		"AND (m.flags <> n.f OR m.keywords <> n.kw) "
		"RETURNING m.uid, m.flags, array_to_string(m.keywords, ' ')", 0 },
	[ST_MESSAGE_STORE_REMOVE] = { "pz_message_store_remove",
		"WITH n AS (SELECT m.uid, m.flags & ~$6::int AS f, " SORTED_KW(
		"SELECT k FROM unnest(m.keywords) k "
		"WHERE lower(k) <> ALL (string_to_array(lower($7), ' '))")
		" AS kw FROM pz_message m WHERE m.mailbox_id = $1 AND " IN_SET
		" AND ($5::bigint = 0 OR m.modseq <= $5::bigint)) "
		"UPDATE pz_message m SET flags = n.f, keywords = n.kw, modseq = $8 FROM n "
		"WHERE m.mailbox_id = $1 AND m.uid = n.uid "
		"AND (m.flags <> n.f OR m.keywords <> n.kw) "
		"RETURNING m.uid, m.flags, array_to_string(m.keywords, ' ')", 0 },
	[ST_MESSAGE_STORE_REPLACE] = { "pz_message_store_replace",
		"WITH n AS (SELECT m.uid, $6::int AS f, string_to_array($7, ' ') AS kw "
		"FROM pz_message m WHERE m.mailbox_id = $1 AND " IN_SET
		" AND ($5::bigint = 0 OR m.modseq <= $5::bigint)) "
		"UPDATE pz_message m SET flags = n.f, keywords = n.kw, modseq = $8 FROM n "
		"WHERE m.mailbox_id = $1 AND m.uid = n.uid "
		"AND (m.flags <> n.f OR m.keywords <> n.kw) "
		"RETURNING m.uid, m.flags, array_to_string(m.keywords, ' ')", 0 },
	[ST_MESSAGE_REFUSED] = { "pz_message_refused",
		"SELECT m.uid FROM pz_message m WHERE m.mailbox_id = $1 AND " IN_SET
		" AND m.modseq > $5 ORDER BY m.uid", 0 },
	[ST_MESSAGE_EXPUNGE] = { "pz_message_expunge",
		"DELETE FROM pz_message m WHERE m.mailbox_id = $1 AND " IN_SET
		" RETURNING m.uid, m.body_id, m.size", 0 },
	/* RENAME INBOX: the messages keep their UIDs in the new mailbox */
	[ST_MESSAGE_MOVE_ALL] = { "pz_message_move_all",
		"UPDATE pz_message SET mailbox_id = $2 WHERE mailbox_id = $1 RETURNING uid", 0 },
	[ST_EXPUNGED_ADD] = { "pz_expunged_add",
		"INSERT INTO pz_expunged (mailbox_id, uid, modseq) "
		"SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT DO NOTHING", 0 },

	[ST_CACHE_GET] = { "pz_cache_get",
		"SELECT value FROM pz_body_cache WHERE body_id = $1 AND field = $2", 1 },
	[ST_CACHE_SET] = { "pz_cache_set",
		"INSERT INTO pz_body_cache (body_id, field, value) VALUES ($1, $2, $3) "
		"ON CONFLICT (body_id, field) DO UPDATE SET value = EXCLUDED.value", 0 },
	/* header fields of a body for SEARCH (pgsql-fields.c) */
	[ST_BODY_FIELDS_INSERT] = { "pz_body_fields_insert",
		"INSERT INTO pz_body_field (body_id, n, name, value) "
		"SELECT $1, t.n, t.name, decode(t.v, 'hex') "
		"FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(name, v, n)", 0 },
	[ST_BODY_FIELDS_MARK] = { "pz_body_fields_mark",
		"UPDATE pz_body SET fields_state = $2::smallint, "
		"sent_date = date '1970-01-01' + $3::integer "
		"WHERE id = $1 AND fields_state = 0 RETURNING id", 0 },
	[ST_BODY_FIELDS_MISSING] = { "pz_body_fields_missing",
		"SELECT DISTINCT b.id, b.size FROM pz_message m JOIN pz_body b ON b.id = m.body_id "
		"WHERE m.mailbox_id = $1 AND b.fields_state = 0 LIMIT $2", 0 },
	[ST_BODY_FIELDS_COMPLETE] = { "pz_body_fields_complete",
		"SELECT NOT EXISTS (SELECT 1 FROM pz_message m JOIN pz_body b ON b.id = m.body_id "
		"WHERE m.mailbox_id = $1 AND b.fields_state <> 1)", 0 },
	/* channel names are built from mailbox ids, never from client text */
	[ST_NOTIFY] = { "pz_notify", "SELECT pg_notify($1, '')", 0 },

	/* the auth queries come from the settings (user_query, password_query) */
	[ST_AUTH_USER] = { "pz_auth_user", NULL, 0 },
	[ST_AUTH_PASSWORD] = { "pz_auth_password", NULL, 0 },
};
