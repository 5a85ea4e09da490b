/* pwfile.c - the passwd-file format: parse a line or a whole file, look a
 * user up, verify a password with crypt(3), and rewrite the file safely.
 * The format and every contract are in pwfile.h. */
#include "pwfile.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#if defined(__GNUC__)
#  define PWFILE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define PWFILE_PRINTF(fmt, args)
#endif

#define PWFILE_FIELD_COUNT 8          /* name .. extra_fields */
#define PWFILE_MAX_ID 4294967294ull   /* (uid_t)-1 means "no id" */
#ifndef PWFILE_READ_CHUNK
#  define PWFILE_READ_CHUNK 65536     /* smaller in the fuzz build */
#endif
#define PWFILE_MAX_SCHEME 32
#define PWFILE_LOCK_TRIES 100

/* ---- messages */

/* pwfile_vformat - a malloc'd printf result, or NULL when memory ran out. */
static char *pwfile_vformat(const char *fmt, va_list args) PWFILE_PRINTF(1, 0);
static char *pwfile_vformat(const char *fmt, va_list args)
{
	va_list copy;
	va_copy(copy, args);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s != NULL)
		vsnprintf(s, (size_t)n + 1, fmt, args);
	return s;
}

static char *pwfile_format(const char *fmt, ...) PWFILE_PRINTF(1, 2);
static char *pwfile_format(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *s = pwfile_vformat(fmt, args);
	va_end(args);
	return s;
}

/* pwfile_line_error - "FILE:LINE: text", or "text" when file is NULL. */
static char *pwfile_line_error(const char *file, unsigned int lineno,
			       const char *fmt, ...) PWFILE_PRINTF(3, 4);
static char *pwfile_line_error(const char *file, unsigned int lineno,
			       const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *text = pwfile_vformat(fmt, args);
	va_end(args);
	if (text == NULL || file == NULL)
		return text;
	char *msg = pwfile_format("%s:%u: %s", file, lineno, text);
	free(text);
	return msg;
}

/* pwfile_sys_error - "what(FILE): strerror", keeping errno. */
static char *pwfile_sys_error(const char *what, const char *path)
{
	int err = errno;
	char *msg = pwfile_format("%s(%s): %s", what, path, strerror(err));
	errno = err;
	return msg;
}

/* ---- checks of single values */

static int pwfile_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int pwfile_is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* pwfile_is_number - 1..10 decimal digits, at most max. */
static int pwfile_is_number(const char *s, unsigned long long max)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return 0;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	return i > 0 && v <= max;
}

/* pwfile_is_size - digits with an optional k/M/G/T suffix (the core's
 * PZ_CONF_SIZE syntax). */
static int pwfile_is_size(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 20)
		return 0;
	return s[n] == '\0' ||
	       (strchr("kKmMgGtT", s[n]) != NULL && s[n + 1] == '\0');
}

/* pwfile_check_value - check the fields that have a meaning: returns NULL
 * when `value` is fine for `key`, else what is wrong with it (static). */
static const char *pwfile_check_value(const char *key, const char *value)
{
	if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
		if (!pwfile_is_number(value, PWFILE_MAX_ID))
			return "is not a number";
	} else if (strcmp(key, "home") == 0) {
		if (value[0] != '/')
			return "is not an absolute path";
	} else if (strcmp(key, "quota") == 0) {
		if (!pwfile_is_size(value))
			return "is not a size";
	} else if (strcmp(key, "quota_messages") == 0) {
		if (!pwfile_is_number(value, UINT64_MAX))
			return "is not a number";
	}
	return NULL;
}

/* pwfile_bad_value - 0 when `value` is fine for `key`, else -1 with a
 * malloc'd *why_r (NULL when memory ran out). */
static int pwfile_bad_value(const char *key, const char *value, char **why_r)
{
	const char *why = pwfile_check_value(key, value);

	if (why == NULL)
		return 0;
	*why_r = pwfile_format("%s '%s' %s", key, value, why);
	return -1;
}

static int pwfile_valid_name(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == ':' || pwfile_is_blank((char)c) || pwfile_is_control(c))
			return 0;
	}
	return 1;
}

static int pwfile_valid_key(const char *key)
{
	size_t n = strspn(key, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
	return n > 0 && key[n] == '\0';
}

/* ---- password field */

static const struct pwfile_scheme {
	const char *name;
	enum pwfile_pw kind;
	const char *prefixes;  /* blank-separated hash prefixes, or NULL: any */
	const char *shown;     /* how the required prefix is named in errors */
} pwfile_schemes[] = {
	{ "CRYPT",        PWFILE_PW_CRYPT, NULL, NULL },
	{ "SHA512-CRYPT", PWFILE_PW_CRYPT, "$6$", "$6$" },
	{ "SHA256-CRYPT", PWFILE_PW_CRYPT, "$5$", "$5$" },
	{ "BLF-CRYPT",    PWFILE_PW_CRYPT, "$2a$ $2b$ $2x$ $2y$", "$2b$ or $2y$" },
	{ "YESCRYPT",     PWFILE_PW_CRYPT, "$y$", "$y$" },
	{ "PLAIN",        PWFILE_PW_PLAIN, NULL, NULL },
	{ "CLEAR",        PWFILE_PW_PLAIN, NULL, NULL },
	{ "CLEARTEXT",    PWFILE_PW_PLAIN, NULL, NULL },
};

/* Lengths of whole hashes, so a truncated copy is caught at load time and
 * not at the user's first failed login. */
static const struct pwfile_hash_shape {
	const char *prefix;
	size_t total;     /* length of the whole hash, or 0 */
	size_t last;      /* length of the part after the last '$', or 0 */
} pwfile_hash_shapes[] = {
	{ "$y$",  0, 43 },
	{ "$6$",  0, 86 },
	{ "$5$",  0, 43 },
	{ "$1$",  0, 22 },
	{ "$2a$", 60, 0 },
	{ "$2b$", 60, 0 },
	{ "$2x$", 60, 0 },
	{ "$2y$", 60, 0 },
};

static int pwfile_has_prefix_in(const char *s, const char *list)
{
	while (*list != '\0') {
		size_t n = strcspn(list, " ");
		if (strncmp(s, list, n) == 0)
			return 1;
		list += n;
		list += strspn(list, " ");
	}
	return 0;
}

/* pwfile_hash_ok - whether `h` has the shape of a whole crypt(3) hash.
 * Returns NULL, or a static reason. */
static const char *pwfile_hash_ok(const char *h)
{
	size_t len = strlen(h);
	size_t i;

	if (strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789./$=,") != len)
		return "password is not a crypt(3) hash (a plaintext password needs {PLAIN})";
#ifdef CRYPT_CHECKSALT_AVAILABLE
	switch (crypt_checksalt(h)) {
	case CRYPT_SALT_INVALID:
		return "password is not a crypt(3) hash (a plaintext password needs {PLAIN})";
	case CRYPT_SALT_METHOD_DISABLED:
		return "password hash method is disabled in this system's libcrypt";
	default:
		break;
	}
#endif
	for (i = 0; i < sizeof(pwfile_hash_shapes) / sizeof(pwfile_hash_shapes[0]); i++) {
		const struct pwfile_hash_shape *shape = &pwfile_hash_shapes[i];
		if (strncmp(h, shape->prefix, strlen(shape->prefix)) != 0)
			continue;
		if ((shape->total != 0 && len != shape->total) ||
		    (shape->last != 0 && strlen(strrchr(h, '$') + 1) != shape->last))
			return "password hash is truncated or malformed";
		return NULL;
	}
	if (h[0] == '$') {
		/* Other modular hashes: $id$[params$]salt$hash. */
		size_t dollars = 0;
		for (i = 0; i < len; i++)
			dollars += h[i] == '$';
		if (dollars < 3 || h[len - 1] == '$')
			return "password hash is truncated or malformed";
		return NULL;
	}
	/* Traditional DES (13 bytes) and BSDi extended DES (20 bytes). */
	if (len != (h[0] == '_' ? 20u : 13u))
		return "password is not a crypt(3) hash (a plaintext password needs {PLAIN})";
	return NULL;
}

/* pwfile_parse_password - split the scheme off `pw` and check the rest.
 * Returns 0, or -1 with a malloc'd *why_r that never quotes the password. */
static int pwfile_parse_password(char *pw, unsigned int flags,
				 struct pwfile_entry *entry, char **why_r)
{
	const struct pwfile_scheme *scheme = NULL;

	if (pw[0] == '{') {
		char *end = strchr(pw, '}');
		size_t n = end == NULL ? 0 : (size_t)(end - pw - 1);
		size_t i;

		if (end == NULL) {
			*why_r = pwfile_format("unterminated {SCHEME} in the password field");
			return -1;
		}
		for (i = 0; i < sizeof(pwfile_schemes) / sizeof(pwfile_schemes[0]); i++) {
			if (strlen(pwfile_schemes[i].name) == n &&
			    strncasecmp(pwfile_schemes[i].name, pw + 1, n) == 0)
				scheme = &pwfile_schemes[i];
		}
		if (scheme == NULL) {
			*end = '\0';
			/* Name the scheme only when it looks like one, so a
			 * password that happens to start with '{' is not logged. */
			if (n > 0 && n <= PWFILE_MAX_SCHEME &&
			    strspn(pw + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n)
				*why_r = pwfile_format("unknown password scheme {%s}", pw + 1);
			else
				*why_r = pwfile_format("unknown password scheme");
			return -1;
		}
		pw = end + 1;
	}
	entry->password = pw;
	if (scheme != NULL && scheme->kind == PWFILE_PW_PLAIN) {
		if ((flags & PWFILE_ALLOW_PLAINTEXT) == 0) {
			*why_r = pwfile_format("plaintext password {%s} not allowed",
					       scheme->name);
			return -1;
		}
		entry->pw_kind = pw[0] == '\0' ? PWFILE_PW_LOCKED : PWFILE_PW_PLAIN;
		return 0;
	}
	if (pw[0] == '\0' || pw[0] == '*' || pw[0] == '!') {
		entry->pw_kind = PWFILE_PW_LOCKED;
		return 0;
	}
	if (scheme != NULL && scheme->prefixes != NULL &&
	    !pwfile_has_prefix_in(pw, scheme->prefixes)) {
		*why_r = pwfile_format("{%s} password is not a %s hash",
				       scheme->name, scheme->shown);
		return -1;
	}
	const char *why = pwfile_hash_ok(pw);
	if (why != NULL) {
		*why_r = pwfile_format("%s", why);
		return -1;
	}
	entry->pw_kind = PWFILE_PW_CRYPT;
	return 0;
}

/* ---- extra fields */

/* pwfile_parse_extra - split `s` in place into entry->fields.  Returns 0, or
 * -1 with a malloc'd *why_r. */
static int pwfile_parse_extra(char *s, struct pwfile_entry *entry, char **why_r)
{
	size_t words = 0;
	char *p;

	for (p = s; *p != '\0'; ) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		words++;
		p += strcspn(p, " \t");
	}
	if (words == 0)
		return 0;
	if (words > PWFILE_MAX_FIELDS) {
		*why_r = pwfile_format("too many extra fields (max %d)", PWFILE_MAX_FIELDS);
		return -1;
	}
	entry->fields = calloc(words, sizeof(*entry->fields));
	if (entry->fields == NULL) {
		*why_r = NULL;
		return -1;
	}
	for (p = s; entry->field_count < words; ) {
		p += strspn(p, " \t");
		char *word = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';

		char *eq = strchr(word, '=');
		const char *value = "";
		if (eq != NULL) {
			*eq = '\0';
			value = eq + 1;
		}
		const char *key = word;
		if (strncmp(key, "userdb_", 7) == 0)
			key += 7;
		if (!pwfile_valid_key(key)) {
			*why_r = key[0] == '\0' ?
				pwfile_format("empty extra field name") :
				pwfile_format("invalid extra field name '%s'", key);
			return -1;
		}
		if (pwfile_bad_value(key, value, why_r) < 0)
			return -1;
		entry->fields[entry->field_count].key = key;
		entry->fields[entry->field_count].value = value;
		entry->field_count++;
	}
	return 0;
}

/* ---- one line */

/* pwfile_split - split `buf` at the first seven ':' into f[]; the last
 * field keeps any further ':'.  Returns the number of fields. */
static size_t pwfile_split(char *buf, char *f[PWFILE_FIELD_COUNT])
{
	size_t n = 1;

	f[0] = buf;
	while (n < PWFILE_FIELD_COUNT) {
		char *colon = strchr(f[n - 1], ':');
		if (colon == NULL)
			break;
		*colon = '\0';
		f[n++] = colon + 1;
	}
	for (size_t i = n; i < PWFILE_FIELD_COUNT; i++)
		f[i] = NULL;
	return n;
}

static const char *pwfile_nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* pwfile_parse_fields - fill `entry` from the split fields.  Returns 0, or
 * -1 with a malloc'd *why_r. */
static int pwfile_parse_fields(char *f[PWFILE_FIELD_COUNT], unsigned int flags,
			       struct pwfile_entry *entry, char **why_r)
{
	static const char *const id_keys[] = { "uid", "gid" };

	if (f[0][0] == '\0') {
		*why_r = pwfile_format("empty user name");
		return -1;
	}
	if (strlen(f[0]) > PWFILE_MAX_NAME) {
		*why_r = pwfile_format("user name longer than %d bytes", PWFILE_MAX_NAME);
		return -1;
	}
	if (!pwfile_valid_name(f[0])) {
		*why_r = pwfile_format("invalid character in user name");
		return -1;
	}
	entry->name = f[0];
	if (pwfile_parse_password(f[1], flags, entry, why_r) < 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		const char *v = pwfile_nonempty(f[2 + i]);
		if (v != NULL && pwfile_bad_value(id_keys[i], v, why_r) < 0)
			return -1;
	}
	entry->uid = pwfile_nonempty(f[2]);
	entry->gid = pwfile_nonempty(f[3]);
	entry->gecos = pwfile_nonempty(f[4]);
	entry->home = pwfile_nonempty(f[5]);
	if (entry->home != NULL && pwfile_bad_value("home", entry->home, why_r) < 0)
		return -1;
	entry->shell = pwfile_nonempty(f[6]);
	if (f[7] != NULL)
		return pwfile_parse_extra(f[7], entry, why_r);
	return 0;
}

int pwfile_parse_line(const char *file, unsigned int lineno, const char *line,
		      size_t len, unsigned int flags,
		      struct pwfile_entry *entry_r, char **error_r)
{
	char *f[PWFILE_FIELD_COUNT];
	char *why = NULL;
	size_t i;

	memset(entry_r, 0, sizeof(*entry_r));
	*error_r = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > PWFILE_MAX_LINE) {
		*error_r = pwfile_line_error(file, lineno, "line too long (max %d bytes)",
					     PWFILE_MAX_LINE);
		return -1;
	}
	for (i = 0; i < len && pwfile_is_blank(line[i]); i++)
		;
	if (i == len || line[i] == '#')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (pwfile_is_control(c) && c != '\t') {
			*error_r = pwfile_line_error(file, lineno, "control character in line");
			return -1;
		}
	}
	entry_r->buf_ = malloc(len + 1);
	if (entry_r->buf_ == NULL)
		return -1;
	memcpy(entry_r->buf_, line, len);
	entry_r->buf_[len] = '\0';
	entry_r->line = lineno;

	if (pwfile_split(entry_r->buf_, f) < 2)
		why = pwfile_format("missing ':' after the user name");
	else if (pwfile_parse_fields(f, flags, entry_r, &why) == 0)
		return 1;
	if (why != NULL) {
		*error_r = pwfile_line_error(file, lineno, "%s", why);
		free(why);
	}
	pwfile_entry_clear(entry_r);
	return -1;
}

void pwfile_entry_clear(struct pwfile_entry *entry)
{
	free(entry->fields);
	free(entry->buf_);
	memset(entry, 0, sizeof(*entry));
}

const char *pwfile_field_get(const struct pwfile_entry *entry, const char *key)
{
	const char *value = NULL;

	for (size_t i = 0; i < entry->field_count; i++) {
		if (strcmp(entry->fields[i].key, key) == 0)
			value = entry->fields[i].value;
	}
	return value;
}

/* ---- a whole file */

struct pwfile_loader {
	struct pwfile *db;
	unsigned int flags;
	size_t entries_alloc;
	size_t errors_alloc;
};

/* pwfile_grow - make room for one more element; 0 or -1 (out of memory). */
static int pwfile_grow(void **array, size_t *alloc, size_t count, size_t size)
{
	if (count < *alloc)
		return 0;
	size_t n = *alloc == 0 ? 16 : *alloc;
	if (n > SIZE_MAX / 2 / size)
		return -1;
	void *p = realloc(*array, n * 2 * size);
	if (p == NULL)
		return -1;
	*array = p;
	*alloc = n * 2;
	return 0;
}

static int pwfile_add_error(struct pwfile_loader *ld, unsigned int lineno, char *msg)
{
	struct pwfile *db = ld->db;
	void *p = db->errors;

	if (msg == NULL || pwfile_grow(&p, &ld->errors_alloc, db->error_count,
				       sizeof(*db->errors)) < 0) {
		free(msg);
		return -1;
	}
	db->errors = p;
	db->errors[db->error_count].line = lineno;
	db->errors[db->error_count].msg = msg;
	db->error_count++;
	return 0;
}

/* pwfile_load_line - parse one line into the loader.  Returns 0, or -1 when
 * memory ran out. */
static int pwfile_load_line(struct pwfile_loader *ld, unsigned int lineno,
			    const char *line, size_t len, int too_long)
{
	struct pwfile *db = ld->db;
	struct pwfile_entry entry;
	char *error = NULL;
	void *p = db->entries;

	if (too_long)
		return pwfile_add_error(ld, lineno, pwfile_line_error(db->path, lineno,
				"line too long (max %d bytes)", PWFILE_MAX_LINE));
	int ret = pwfile_parse_line(db->path, lineno, line, len, ld->flags,
				    &entry, &error);
	if (ret < 0)
		return pwfile_add_error(ld, lineno, error);
	if (ret == 0)
		return 0;
	if (pwfile_grow(&p, &ld->entries_alloc, db->count, sizeof(*db->entries)) < 0) {
		pwfile_entry_clear(&entry);
		return -1;
	}
	db->entries = p;
	db->entries[db->count++] = entry;
	return 0;
}

/* pwfile_read - read `fd` line by line into the loader.  Returns 0, -1 with
 * errno on a read error, or -2 when memory ran out. */
static int pwfile_read(struct pwfile_loader *ld, int fd)
{
	char *chunk = malloc(PWFILE_READ_CHUNK);
	char *line = malloc(PWFILE_MAX_LINE + 2);
	size_t used = 0;
	unsigned int lineno = 1;
	int too_long = 0, ret = 0;

	if (chunk == NULL || line == NULL)
		ret = -2;
	while (ret == 0) {
		ssize_t n = read(fd, chunk, PWFILE_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0) {
			if ((used > 0 || too_long) &&
			    pwfile_load_line(ld, lineno, line, used, too_long) < 0)
				ret = -2;
			break;
		}
		for (size_t off = 0; off < (size_t)n && ret == 0; ) {
			char *nl = memchr(chunk + off, '\n', (size_t)n - off);
			size_t seg = (nl != NULL ? (size_t)(nl - chunk) : (size_t)n) - off;
			/* Room for PWFILE_MAX_LINE bytes and a CR: a longer line
			 * is dropped here and reported without being parsed. */
			if (too_long || seg > PWFILE_MAX_LINE + 1 - used)
				too_long = 1;
			else {
				memcpy(line + used, chunk + off, seg);
				used += seg;
			}
			off += seg;
			if (nl == NULL)
				break;
			off++;
			if (pwfile_load_line(ld, lineno, line, used, too_long) < 0)
				ret = -2;
			else if (lineno == UINT_MAX)
				ret = -2;
			lineno++;
			used = 0;
			too_long = 0;
		}
	}
	free(chunk);
	free(line);
	return ret;
}

static int pwfile_cmp_name(const void *a, const void *b)
{
	const struct pwfile_entry *x = *(const struct pwfile_entry *const *)a;
	const struct pwfile_entry *y = *(const struct pwfile_entry *const *)b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int pwfile_cmp_error(const void *a, const void *b)
{
	const struct pwfile_error *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

static int pwfile_build_index(struct pwfile *db)
{
	free(db->by_name_);
	db->by_name_ = NULL;
	if (db->count == 0)
		return 0;
	db->by_name_ = malloc(db->count * sizeof(*db->by_name_));
	if (db->by_name_ == NULL)
		return -1;
	for (size_t i = 0; i < db->count; i++)
		db->by_name_[i] = &db->entries[i];
	qsort(db->by_name_, db->count, sizeof(*db->by_name_), pwfile_cmp_name);
	return 0;
}

/* pwfile_drop_duplicates - a name's first line wins; each later line for
 * it becomes an error.  Returns 0, or -1 when memory ran out. */
static int pwfile_drop_duplicates(struct pwfile_loader *ld)
{
	struct pwfile *db = ld->db;
	size_t i, first = 0, kept = 0;

	if (pwfile_build_index(db) < 0)
		return -1;
	for (i = 1; i < db->count; i++) {
		const struct pwfile_entry *head = db->by_name_[first];
		struct pwfile_entry *cur = db->by_name_[i];
		if (strcmp(head->name, cur->name) != 0) {
			first = i;
			continue;
		}
		char *msg = pwfile_line_error(db->path, cur->line,
					      "duplicate user '%s' (first on line %u)",
					      cur->name, head->line);
		if (pwfile_add_error(ld, cur->line, msg) < 0)
			return -1;
		pwfile_entry_clear(cur); /* line 0 marks it dropped */
	}
	for (i = 0; i < db->count; i++) {
		if (db->entries[i].line != 0)
			db->entries[kept++] = db->entries[i];
	}
	if (kept == db->count)
		return 0;
	db->count = kept;
	qsort(db->errors, db->error_count, sizeof(*db->errors), pwfile_cmp_error);
	return pwfile_build_index(db);
}

int pwfile_load(const char *path, unsigned int flags, struct pwfile **db_r,
		char **error_r)
{
	struct pwfile_loader ld = { .flags = flags };
	int fd, ret, err;

	*db_r = NULL;
	*error_r = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*error_r = pwfile_sys_error("open", path);
		return -1;
	}
	ld.db = calloc(1, sizeof(*ld.db));
	if (ld.db == NULL || (ld.db->path = strdup(path)) == NULL) {
		ret = -2;
	} else if (fstat(fd, &ld.db->st) < 0) {
		ret = -1;
		*error_r = pwfile_sys_error("fstat", path);
	} else if (!S_ISREG(ld.db->st.st_mode)) {
		ret = -1;
		errno = EINVAL;
		*error_r = pwfile_format("%s: not a regular file", path);
	} else {
		ret = pwfile_read(&ld, fd);
		if (ret == -1)
			*error_r = pwfile_sys_error("read", path);
	}
	if (ret == 0 && pwfile_drop_duplicates(&ld) < 0)
		ret = -2;
	err = errno;
	close(fd);
	if (ret == -2) {
		err = ENOMEM;
		*error_r = pwfile_format("%s: out of memory", path);
	}
	if (ret < 0) {
		pwfile_free(&ld.db);
		errno = err;
		return -1;
	}
	*db_r = ld.db;
	return 0;
}

void pwfile_free(struct pwfile **db)
{
	struct pwfile *d = *db;

	if (d == NULL)
		return;
	for (size_t i = 0; i < d->count; i++)
		pwfile_entry_clear(&d->entries[i]);
	for (size_t i = 0; i < d->error_count; i++)
		free(d->errors[i].msg);
	free(d->entries);
	free(d->errors);
	free(d->by_name_);
	free(d->path);
	free(d);
	*db = NULL;
}

static int pwfile_cmp_key(const void *key, const void *elem)
{
	const struct pwfile_entry *e = *(const struct pwfile_entry *const *)elem;
	return strcmp(key, e->name);
}

const struct pwfile_entry *pwfile_find(const struct pwfile *db, const char *name)
{
	struct pwfile_entry **found;

	if (db == NULL || db->count == 0)
		return NULL;
	found = bsearch(name, db->by_name_, db->count, sizeof(*db->by_name_),
			pwfile_cmp_key);
	return found != NULL ? *found : NULL;
}

int pwfile_changed(const struct pwfile *db, const struct stat *st)
{
	return db->st.st_dev != st->st_dev || db->st.st_ino != st->st_ino ||
	       db->st.st_size != st->st_size ||
	       db->st.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	       db->st.st_mtim.tv_nsec != st->st_mtim.tv_nsec;
}

/* ---- verifying */

/* pwfile_equal - compare in time that depends only on the stored string's
 * length, never on where the strings first differ. */
static int pwfile_equal(const char *given, const char *stored)
{
	size_t glen = strlen(given), slen = strlen(stored);
	unsigned char diff = glen != slen;

	for (size_t i = 0; i < slen; i++) {
		unsigned char g = i < glen ? (unsigned char)given[i] : 0;
		diff |= g ^ (unsigned char)stored[i];
	}
	return diff == 0;
}

int pwfile_verify(const struct pwfile_entry *entry, const char *password,
		  char **error_r)
{
	struct crypt_data *data;
	const char *out;
	int ret;

	*error_r = NULL;
	if (password == NULL || entry->pw_kind == PWFILE_PW_LOCKED)
		return 0;
	if (entry->pw_kind == PWFILE_PW_PLAIN)
		return pwfile_equal(password, entry->password);
	data = calloc(1, sizeof(*data));
	if (data == NULL) {
		*error_r = pwfile_format("out of memory");
		return -1;
	}
	out = crypt_r(password, entry->password, data);
	if (out == NULL || out[0] == '*') {
		*error_r = pwfile_format("crypt(3) cannot use the password hash of "
					 "user '%s' (line %u)", entry->name, entry->line);
		ret = -1;
	} else {
		ret = pwfile_equal(out, entry->password);
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ret;
}

/* ---- writing */

struct pwfile_buf {
	char *data;
	size_t len;
	size_t alloc;
	int failed;
};

static void pwfile_buf_add(struct pwfile_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (n > SIZE_MAX - b->len - 1) {
		b->failed = 1;
		return;
	}
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc == 0 ? 256 : b->alloc;
		while (want < b->len + n + 1) {
			if (want > SIZE_MAX / 2) {
				want = b->len + n + 1;
				break;
			}
			want *= 2;
		}
		char *p = realloc(b->data, want);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->alloc = want;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void pwfile_buf_str(struct pwfile_buf *b, const char *s)
{
	pwfile_buf_add(b, s, strlen(s));
}

/* pwfile_writable - whether `s` may be written as a field: no control
 * byte but tab (as the parser), and none of the bytes in `bad`. */
static int pwfile_writable(const char *s, const char *bad)
{
	for (; *s != '\0'; s++) {
		if ((pwfile_is_control((unsigned char)*s) && *s != '\t') ||
		    strchr(bad, *s) != NULL)
			return 0;
	}
	return 1;
}

static char *pwfile_check_writable(const struct pwfile_entry *e)
{
	const char *pos[7] = { e->name, e->password, e->uid, e->gid, e->gecos,
			       e->home, e->shell };
	static const char *const what[7] = { "user name", "password", "uid",
					     "gid", "gecos", "home", "shell" };

	if (e->name == NULL || e->name[0] == '#' || !pwfile_writable(e->name, ": \t"))
		return pwfile_format("invalid user name");
	for (size_t i = 1; i < 7; i++) {
		if (pos[i] != NULL && !pwfile_writable(pos[i], ":"))
			return pwfile_format("%s contains ':' or a control character",
					     what[i]);
	}
	for (size_t i = 0; i < e->field_count; i++) {
		if (!pwfile_writable(e->fields[i].key, " \t=") ||
		    !pwfile_writable(e->fields[i].value, " \t"))
			return pwfile_format("extra field '%s' contains a blank or "
					     "a control character", e->fields[i].key);
	}
	return NULL;
}

char *pwfile_format_line(const struct pwfile_entry *e, char **error_r)
{
	struct pwfile_buf b = { 0 };
	const char *pos[7] = { e->name, e->password, e->uid, e->gid, e->gecos,
			       e->home, e->shell };
	size_t last = 1;

	*error_r = pwfile_check_writable(e);
	if (*error_r != NULL)
		return NULL;
	for (size_t i = 2; i < 7; i++) {
		if (pwfile_nonempty(pos[i]) != NULL)
			last = i;
	}
	if (e->field_count > 0)
		last = 7;
	for (size_t i = 0; i <= last; i++) {
		if (i > 0)
			pwfile_buf_add(&b, ":", 1);
		if (i == 1 && e->pw_kind == PWFILE_PW_PLAIN)
			pwfile_buf_str(&b, "{PLAIN}");
		if (i < 7 && pos[i] != NULL)
			pwfile_buf_str(&b, pos[i]);
	}
	for (size_t i = 0; i < e->field_count; i++) {
		if (i > 0)
			pwfile_buf_add(&b, " ", 1);
		/* parsing strips one "userdb_" (Dovecot's prefix): a key that
		 * itself starts with it is written with the prefix once more */
		if (strncmp(e->fields[i].key, "userdb_", 7) == 0)
			pwfile_buf_str(&b, "userdb_");
		pwfile_buf_str(&b, e->fields[i].key);
		pwfile_buf_add(&b, "=", 1);
		pwfile_buf_str(&b, e->fields[i].value);
	}
	if (b.failed) {
		free(b.data);
		*error_r = pwfile_format("out of memory");
		return NULL;
	}
	return b.data;
}

/* pwfile_line_is_user - whether the raw line belongs to `name`. */
static int pwfile_line_is_user(const char *line, size_t len, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < len && pwfile_is_blank(line[i]); i++)
		;
	if (i == len || line[i] == '#' || line[i] == '\r')
		return 0;
	return len > n && line[n] == ':' && memcmp(line, name, n) == 0;
}

/* pwfile_lock - open `path` (creating it if asked) and hold an exclusive
 * flock on the inode that is at `path` now.  Returns the fd, or -1. */
static int pwfile_lock(const char *path, int create, struct stat *st_r,
		       char **error_r)
{
	for (int tries = 0; tries < PWFILE_LOCK_TRIES; tries++) {
		struct stat now;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			      (create ? O_CREAT : 0), 0640);
		if (fd < 0) {
			*error_r = pwfile_sys_error("open", path);
			return -1;
		}
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				*error_r = pwfile_sys_error("flock", path);
				close(fd);
				return -1;
			}
		}
		if (fstat(fd, st_r) < 0) {
			*error_r = pwfile_sys_error("fstat", path);
			close(fd);
			return -1;
		}
		if (!S_ISREG(st_r->st_mode)) {
			*error_r = pwfile_format("%s: not a regular file", path);
			close(fd);
			return -1;
		}
		/* Another writer may have renamed a new file over this one
		 * while we waited: then lock that one instead. */
		if (stat(path, &now) == 0 && now.st_dev == st_r->st_dev &&
		    now.st_ino == st_r->st_ino)
			return fd;
		close(fd);
	}
	*error_r = pwfile_format("%s: the file keeps being replaced; not updated", path);
	return -1;
}

/* pwfile_read_all - the whole content of `fd`.  Returns 0 or -1. */
static int pwfile_read_all(int fd, const char *path, struct pwfile_buf *b,
			   char **error_r)
{
	char chunk[8192];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = pwfile_sys_error("read", path);
			return -1;
		}
		if (n == 0)
			return 0;
		pwfile_buf_add(b, chunk, (size_t)n);
		if (b->failed) {
			*error_r = pwfile_format("%s: out of memory", path);
			return -1;
		}
	}
}

/* pwfile_rewrite - the new content: `old` with `name`'s line handled as
 * `mode` says.  Returns 0, or -1 with *error_r. */
static int pwfile_rewrite(const char *path, const struct pwfile_buf *old,
			  const char *name, const char *line,
			  enum pwfile_update_mode mode, struct pwfile_buf *out,
			  char **error_r)
{
	size_t off = 0, found = 0;

	while (off < old->len) {
		const char *start = old->data + off;
		const char *nl = memchr(start, '\n', old->len - off);
		size_t len = nl != NULL ? (size_t)(nl - start) : old->len - off;
		size_t whole = len + (nl != NULL);

		off += whole;
		if (!pwfile_line_is_user(start, len, name)) {
			pwfile_buf_add(out, start, whole);
			continue;
		}
		if (found++ == 0 && mode == PWFILE_UPDATE_SET) {
			pwfile_buf_str(out, line);
			pwfile_buf_add(out, "\n", 1);
		}
	}
	if (mode == PWFILE_UPDATE_ADD && found > 0) {
		*error_r = pwfile_format("%s: user '%s' already exists", path, name);
		return -1;
	}
	if (mode == PWFILE_UPDATE_DELETE && found == 0) {
		*error_r = pwfile_format("%s: no user '%s'", path, name);
		return -1;
	}
	if (mode != PWFILE_UPDATE_DELETE && found == 0) {
		if (out->len > 0 && out->data[out->len - 1] != '\n')
			pwfile_buf_add(out, "\n", 1);
		pwfile_buf_str(out, line);
		pwfile_buf_add(out, "\n", 1);
	}
	if (out->failed) {
		*error_r = pwfile_format("%s: out of memory", path);
		return -1;
	}
	return 0;
}

static int pwfile_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* pwfile_fill_temp - give the temporary file the old one's owner and
 * mode and the new content, durably.  Returns 0, or -1 with *error_r. */
static int pwfile_fill_temp(int fd, const char *tmp, const struct stat *st,
			    const struct pwfile_buf *out, char **error_r)
{
	struct stat ts;

	if (fstat(fd, &ts) < 0) {
		*error_r = pwfile_sys_error("fstat", tmp);
		return -1;
	}
	if ((ts.st_uid != st->st_uid || ts.st_gid != st->st_gid) &&
	    fchown(fd, st->st_uid, st->st_gid) < 0) {
		*error_r = pwfile_sys_error("fchown", tmp);
		return -1;
	}
	if (fchmod(fd, st->st_mode & 07777) < 0) {
		*error_r = pwfile_sys_error("fchmod", tmp);
		return -1;
	}
	if (pwfile_write_all(fd, out->data != NULL ? out->data : "", out->len) < 0) {
		*error_r = pwfile_sys_error("write", tmp);
		return -1;
	}
	if (fsync(fd) < 0) {
		*error_r = pwfile_sys_error("fsync", tmp);
		return -1;
	}
	return 0;
}

/* pwfile_replace - write `out` to a temporary file beside `path` and
 * rename it over `path`.  Returns 0, or -1 with *error_r. */
static int pwfile_replace(const char *path, const struct stat *st,
			  const struct pwfile_buf *out, char **error_r)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	char *tmp, *dir;
	int dirlen, fd, ret = -1;

	if (slash != NULL && slash - path + 1 > INT_MAX) {
		*error_r = pwfile_format("%s: path too long", path);
		return -1;
	}
	dirlen = slash != NULL ? (int)(slash - path + 1) : 0;
	tmp = pwfile_format("%.*s.%s.XXXXXX", dirlen, path, base);
	dir = slash == path ? pwfile_format("/") :
	      slash != NULL ? pwfile_format("%.*s", dirlen - 1, path) :
	      pwfile_format(".");
	if (tmp == NULL || dir == NULL) {
		*error_r = pwfile_format("%s: out of memory", path);
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		*error_r = pwfile_sys_error("mkstemp", tmp);
		goto out;
	}
	if (pwfile_fill_temp(fd, tmp, st, out, error_r) < 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		*error_r = pwfile_sys_error("close", tmp);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		*error_r = pwfile_sys_error("rename", tmp);
		unlink(tmp);
		goto out;
	}
	/* The rename is durable only once the folder is synced. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		*error_r = pwfile_sys_error("fsync of the folder", dir);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	ret = 0;
out:
	free(tmp);
	free(dir);
	return ret;
}

int pwfile_update(const char *path, const char *name, const char *line,
		  enum pwfile_update_mode mode, char **error_r)
{
	struct pwfile_buf old = { 0 }, out = { 0 };
	struct stat st;
	int fd, ret = -1;

	*error_r = NULL;
	if (name[0] == '\0' || name[0] == '#' || strchr(name, ':') != NULL ||
	    strchr(name, '\n') != NULL) {
		*error_r = pwfile_format("invalid user name");
		return -1;
	}
	if (mode != PWFILE_UPDATE_DELETE &&
	    (line == NULL || strchr(line, '\n') != NULL)) {
		*error_r = pwfile_format("invalid line for user '%s'", name);
		return -1;
	}
	fd = pwfile_lock(path, mode != PWFILE_UPDATE_DELETE, &st, error_r);
	if (fd < 0)
		return -1;
	if (pwfile_read_all(fd, path, &old, error_r) == 0 &&
	    pwfile_rewrite(path, &old, name, line, mode, &out, error_r) == 0)
		ret = pwfile_replace(path, &st, &out, error_r);
	close(fd);
	free(old.data);
	free(out.data);
	return ret;
}
