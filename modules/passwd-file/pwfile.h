/* pwfile.h - the passwd-file format: parse, look up, verify, rewrite.
 *
 * Plain C with no host API, so the passwd-file module and poczta-admin both
 * compile it in, and the unit tests and the fuzz target drive it directly.
 * Link with -lcrypt (libxcrypt).
 *
 * The format is Dovecot's passwd-file, one user per line:
 *
 *     name:password:uid:gid:gecos:home:shell:extra_fields
 *
 * - Trailing fields may be left out: "name:hash" is a whole line.  At least
 *   the ':' after the name is required.
 * - Lines that are empty, blank, or whose first non-blank byte is '#' are
 *   skipped.  A trailing CR (a file edited on Windows) is dropped.
 * - name: 1 to PWFILE_MAX_NAME bytes, no ':', blank or control byte.
 * - password: a crypt(3) hash ($y$ yescrypt, $6$, $5$, $2b$/$2y$ bcrypt and
 *   whatever else libxcrypt accepts), optionally prefixed with a scheme:
 *   {CRYPT}, {SHA512-CRYPT} ($6$), {SHA256-CRYPT} ($5$), {BLF-CRYPT} ($2?$),
 *   {YESCRYPT} ($y$); the scheme names are case-insensitive and a specific
 *   scheme must match the hash.  {PLAIN} (alias {CLEAR}, {CLEARTEXT}) is a
 *   plaintext password, refused unless PWFILE_ALLOW_PLAINTEXT is given.
 *   An empty password, and a hash starting with '*' or '!' (the shadow(5)
 *   convention for locked accounts), mean the account exists but cannot log
 *   in.  Dovecot's "nopassword" extra field is not honoured: an empty
 *   password never lets anyone in.
 * - uid, gid: decimal numbers (not user or group names) or empty.
 * - gecos and shell are kept but mean nothing to Poczta.
 * - home: an absolute path (it may hold %u-style variables) or empty.
 * - extra_fields: the rest of the line (it may contain ':'), blank-separated
 *   "key=value" words; a bare "key" has the value "".  Dovecot's "userdb_"
 *   prefix is dropped (userdb_mail=... is mail=...).  The keys uid, gid,
 *   home, quota and quota_messages are checked like the fields above.
 *   Later fields override earlier ones, and extra fields override the
 *   positional ones.
 *
 * A bad line is reported as "FILE:LINE: what is wrong"; the message never
 * contains the password field.
 */
#ifndef POCZTA_PWFILE_H
#define POCZTA_PWFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Bounds of the parser. */
#define PWFILE_MAX_LINE 4096    /* bytes, without the newline */
#define PWFILE_MAX_NAME 255     /* bytes of a user name */
#define PWFILE_MAX_FIELDS 32    /* extra fields on one line */

/* Flags for the parsers. */
#define PWFILE_ALLOW_PLAINTEXT 0x1u /* accept {PLAIN} passwords */

enum pwfile_pw {
	PWFILE_PW_LOCKED = 0, /* empty, "*..." or "!...": the account cannot log in */
	PWFILE_PW_CRYPT,      /* `password` is a crypt(3) hash */
	PWFILE_PW_PLAIN,      /* `password` is the plaintext password */
};

struct pwfile_field {
	const char *key;   /* without a "userdb_" prefix */
	const char *value; /* "" for a bare key */
};

/* One user.  Every string points into `buf_`, which the entry owns; fields
 * left empty in the file are NULL. */
struct pwfile_entry {
	const char *name;
	const char *password;  /* without its {SCHEME}; never NULL */
	enum pwfile_pw pw_kind;
	const char *uid;
	const char *gid;
	const char *gecos;
	const char *home;
	const char *shell;
	struct pwfile_field *fields; /* extra fields, in line order */
	size_t field_count;
	unsigned int line;     /* line number in the file, from 1 */
	char *buf_;
};

/* A bad line: `msg` is "FILE:LINE: what is wrong". */
struct pwfile_error {
	unsigned int line;
	char *msg;
};

/* A parsed file.  Free it with pwfile_free(). */
struct pwfile {
	char *path;
	struct pwfile_entry *entries;   /* good lines, in file order */
	size_t count;
	struct pwfile_entry **by_name_; /* sorted index for pwfile_find */
	struct pwfile_error *errors;    /* bad lines, in line order */
	size_t error_count;
	struct stat st;                 /* of the file as it was read */
};

/* pwfile_parse_line - parse one line (`len` bytes, no newline; it may hold
 * NUL bytes, which are an error).  Returns 1 with *entry_r filled (free it
 * with pwfile_entry_clear), 0 for a blank or comment line, or -1 with
 * *error_r (malloc'd, the caller frees) "FILE:LINE: what is wrong", or just
 * "what is wrong" when `file` is NULL. */
int pwfile_parse_line(const char *file, unsigned int lineno, const char *line,
		      size_t len, unsigned int flags,
		      struct pwfile_entry *entry_r, char **error_r);

/* pwfile_entry_clear - free what an entry owns and zero it. */
void pwfile_entry_clear(struct pwfile_entry *entry);

/* pwfile_load - read and parse `path`.  Bad lines (syntax errors, lines
 * over PWFILE_MAX_LINE, a second line for a name already seen) are skipped
 * and listed in db->errors; the caller decides whether they are fatal.
 * Returns 0 with *db_r, or -1 with *error_r (malloc'd) when the file cannot
 * be opened or read; errno is then that of the failed call. */
int pwfile_load(const char *path, unsigned int flags, struct pwfile **db_r,
		char **error_r);

/* pwfile_free - free a parsed file and set *db to NULL. */
void pwfile_free(struct pwfile **db);

/* pwfile_find - the entry for `name`, or NULL.  Valid while `db` is. */
const struct pwfile_entry *pwfile_find(const struct pwfile *db,
				       const char *name);

/* pwfile_changed - whether `st` (from stat(2) of the path) describes
 * another file or another version than the one `db` was read from:
 * device, inode, size or mtime differ. */
int pwfile_changed(const struct pwfile *db, const struct stat *st);

/* pwfile_verify - check `password` against the entry, in constant time
 * with respect to the stored hash.  Returns 1 when it matches, 0 when it
 * does not or the account is locked, -1 with *error_r (malloc'd) when
 * crypt(3) cannot use the stored hash (e.g. its method is disabled). */
int pwfile_verify(const struct pwfile_entry *entry, const char *password,
		  char **error_r);

/* pwfile_field_get - the last value of extra field `key`, or NULL. */
const char *pwfile_field_get(const struct pwfile_entry *entry, const char *key);

/* pwfile_format_line - the line (without newline) for `entry`: its
 * password is written as is, with "{PLAIN}" in front for PWFILE_PW_PLAIN;
 * empty trailing fields are left out.  `line` is ignored.  Returns a
 * malloc'd string, or NULL with *error_r (malloc'd) when a field cannot be
 * written (a ':' or blank where it would change the meaning, a control
 * byte).  The result still has to pass pwfile_parse_line. */
char *pwfile_format_line(const struct pwfile_entry *entry, char **error_r);

enum pwfile_update_mode {
	PWFILE_UPDATE_ADD = 1, /* append; fails if the name has a line */
	PWFILE_UPDATE_SET,     /* replace the name's line in place, or append */
	PWFILE_UPDATE_DELETE,  /* remove the name's lines; fails if none */
};

/* pwfile_update - rewrite `path` with the line of user `name` added,
 * replaced or deleted (`line`, without newline, is ignored for DELETE).
 * Every other line, comments and bad lines included, is copied byte for
 * byte.  A line belongs to `name` when it is not blank or a comment and the
 * bytes before its first ':' equal `name`; SET replaces the first such line
 * and drops later ones.  The file is locked (flock) against concurrent
 * updates, written to a temporary file in the same folder with the
 * original's mode and owner, fsynced and renamed over the original, and the
 * folder fsynced.  ADD and SET create a missing file (mode 0640 less the
 * umask).  Returns 0, or -1 with *error_r (malloc'd). */
int pwfile_update(const char *path, const char *name, const char *line,
		  enum pwfile_update_mode mode, char **error_r);

#endif
