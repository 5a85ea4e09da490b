/* test-passwd-file.c - the passwd-file format (modules/passwd-file/pwfile.c):
 * line parsing, loading a file, verifying passwords with real crypt(3)
 * hashes, formatting lines and rewriting the file.  Table-driven: a row per
 * case, and a failing row prints its line, what it got and what it wanted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../modules/passwd-file/pwfile.h"

/* Real hashes of "hunter2". */
#define H_Y "$y$j9T$YsSs00/UZJIaprvMmZOR61$0tIYhSnt4lMkMIhywuKck00FjTiqk.IF7NUTau67pq5"
#define H_6 "$6$Br8hdy6SzBBn4dEu$HV11ags85zckmE2xn50U4oPBr43g7iquJpp9VuSV4f994HZNp2oa7Kdipqh0Qn0kzpcvuR7D52qjKtDejqPHh."
#define H_5 "$5$4Kwl2oU0CrV7SlZm$D24eZMTFFDbv8r6QOjqecaLA5rbBaP/FD5kY2A5wcpD"
#define H_2B "$2b$05$ECjQ/Yt2yCg.756Cwtz4je2k5FytDRG9FfuBDXR99D4enVZu8hEfi"
#define H_2Y "$2y$05$4/7RkdObv1rhRYl74dj8CuDj0aDVUmFfyHvgTMmBb6noTqwCUiW0u"
#define H_1 "$1$h2CZqSnV$Va5ScGE5f5Pc1hP7XsaJ/0"
#define H_DES "ab0ozUNIgzCZ."

#define ALLOW PWFILE_ALLOW_PLAINTEXT

static char tmpdir[256];

/* ---- helpers */

static const char *show(const char *s)
{
	return s != NULL ? s : "(null)";
}

/* check_str - fail the test naming the row when got != want (NULL-aware). */
static void check_str(size_t row, const char *line, const char *what,
		      const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) ||
	    (got != NULL && strcmp(got, want) != 0)) {
		print_error("row %zu (%s): %s: got '%s', want '%s'\n", row,
			    show(line), what, show(got), show(want));
		fail();
	}
}

static void check_int(size_t row, const char *line, const char *what,
		      long long got, long long want)
{
	if (got != want) {
		print_error("row %zu (%s): %s: got %lld, want %lld\n", row,
			    show(line), what, got, want);
		fail();
	}
}

/* fields_str - the extra fields as "k=v k=v" (static buffer). */
static const char *fields_str(const struct pwfile_entry *e)
{
	static char buf[PWFILE_MAX_LINE * 2];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->field_count; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s=%s",
					i > 0 ? " " : "", e->fields[i].key,
					e->fields[i].value);
	return e->field_count > 0 ? buf : NULL;
}

static char *path_in_tmp(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void write_file(const char *path, const char *content, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[65536];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* count_files - entries in tmpdir, to see that no temporary file is left. */
static int count_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ---- good lines */

static const struct good_case {
	const char *line;
	unsigned int flags;
	const char *name;
	enum pwfile_pw kind;
	const char *password;
	const char *uid, *gid, *gecos, *home, *shell;
	const char *fields;
} good_cases[] = {
	{ "alice:" H_Y, 0, "alice", PWFILE_PW_CRYPT, H_Y,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "alice:" H_6 ":1000", 0, "alice", PWFILE_PW_CRYPT, H_6,
	  "1000", NULL, NULL, NULL, NULL, NULL },
	{ "alice:" H_6 ":1000:100", 0, "alice", PWFILE_PW_CRYPT, H_6,
	  "1000", "100", NULL, NULL, NULL, NULL },
	{ "alice:" H_6 ":1000:100:Alice Smith", 0, "alice", PWFILE_PW_CRYPT, H_6,
	  "1000", "100", "Alice Smith", NULL, NULL, NULL },
	{ "alice:" H_6 ":1000:100::/home/alice", 0, "alice", PWFILE_PW_CRYPT, H_6,
	  "1000", "100", NULL, "/home/alice", NULL, NULL },
	{ "alice:" H_6 ":::::/bin/false", 0, "alice", PWFILE_PW_CRYPT, H_6,
	  NULL, NULL, NULL, NULL, "/bin/false", NULL },
	{ "alice:" H_6 ":0:0:A:/var/mail/%u:/bin/sh:mail=maildir:~/Maildir quota=1G",
	  0, "alice", PWFILE_PW_CRYPT, H_6, "0", "0", "A", "/var/mail/%u", "/bin/sh",
	  "mail=maildir:~/Maildir quota=1G" },
	{ "alice:" H_6 "::::::userdb_mail=maildir:~/M userdb_quota=2M nologin",
	  0, "alice", PWFILE_PW_CRYPT, H_6, NULL, NULL, NULL, NULL, NULL,
	  "mail=maildir:~/M quota=2M nologin=" },
	{ "alice:" H_6 "::::::\t mail=a   \tquota_messages=5000 home=/h uid=7 gid=8 ",
	  0, "alice", PWFILE_PW_CRYPT, H_6, NULL, NULL, NULL, NULL, NULL,
	  "mail=a quota_messages=5000 home=/h uid=7 gid=8" },
	{ "alice:" H_6 ":4294967294:4294967294", 0, "alice", PWFILE_PW_CRYPT, H_6,
	  "4294967294", "4294967294", NULL, NULL, NULL, NULL },
	{ "alice:" H_6 "::::::", 0, "alice", PWFILE_PW_CRYPT, H_6,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	/* schemes */
	{ "a:{CRYPT}" H_Y, 0, "a", PWFILE_PW_CRYPT, H_Y,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{SHA512-CRYPT}" H_6, 0, "a", PWFILE_PW_CRYPT, H_6,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{sha512-crypt}" H_6, 0, "a", PWFILE_PW_CRYPT, H_6,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{SHA256-CRYPT}" H_5, 0, "a", PWFILE_PW_CRYPT, H_5,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{BLF-CRYPT}" H_2B, 0, "a", PWFILE_PW_CRYPT, H_2B,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{BLF-CRYPT}" H_2Y, 0, "a", PWFILE_PW_CRYPT, H_2Y,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{YESCRYPT}" H_Y, 0, "a", PWFILE_PW_CRYPT, H_Y,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:" H_1, 0, "a", PWFILE_PW_CRYPT, H_1,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:" H_DES, 0, "a", PWFILE_PW_CRYPT, H_DES,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{PLAIN}secret", ALLOW, "a", PWFILE_PW_PLAIN, "secret",
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "a:{CLEARTEXT}se cret", ALLOW, "a", PWFILE_PW_PLAIN, "se cret",
	  NULL, NULL, NULL, NULL, NULL, NULL },
	/* locked accounts */
	{ "bob:", 0, "bob", PWFILE_PW_LOCKED, "", NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bob::1:1", 0, "bob", PWFILE_PW_LOCKED, "", "1", "1", NULL, NULL, NULL, NULL },
	{ "bob:*", 0, "bob", PWFILE_PW_LOCKED, "*", NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bob:!", 0, "bob", PWFILE_PW_LOCKED, "!", NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bob:!" H_6, 0, "bob", PWFILE_PW_LOCKED, "!" H_6,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bob:{SHA512-CRYPT}!", 0, "bob", PWFILE_PW_LOCKED, "!",
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "bob:{PLAIN}", ALLOW, "bob", PWFILE_PW_LOCKED, "",
	  NULL, NULL, NULL, NULL, NULL, NULL },
	/* names, line ends */
	{ "alice:" H_Y "\r", 0, "alice", PWFILE_PW_CRYPT, H_Y,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "alice@example.org:" H_Y, 0, "alice@example.org", PWFILE_PW_CRYPT, H_Y,
	  NULL, NULL, NULL, NULL, NULL, NULL },
	{ "\xc5\xbc" "aneta:" H_Y, 0, "\xc5\xbc" "aneta", PWFILE_PW_CRYPT, H_Y,
	  NULL, NULL, NULL, NULL, NULL, NULL },
};

static void test_good_lines(void **state)
{
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *c = &good_cases[i];
		struct pwfile_entry e;
		char *err = NULL;
		int ret = pwfile_parse_line("users", 3, c->line, strlen(c->line),
					    c->flags, &e, &err);

		check_str(i, c->line, "error", err, NULL);
		check_int(i, c->line, "return", ret, 1);
		check_str(i, c->line, "name", e.name, c->name);
		check_int(i, c->line, "kind", e.pw_kind, c->kind);
		check_str(i, c->line, "password", e.password, c->password);
		check_str(i, c->line, "uid", e.uid, c->uid);
		check_str(i, c->line, "gid", e.gid, c->gid);
		check_str(i, c->line, "gecos", e.gecos, c->gecos);
		check_str(i, c->line, "home", e.home, c->home);
		check_str(i, c->line, "shell", e.shell, c->shell);
		check_str(i, c->line, "fields", fields_str(&e), c->fields);
		check_int(i, c->line, "line", e.line, 3);
		pwfile_entry_clear(&e);
	}
}

static void test_skipped_lines(void **state)
{
	static const char *const lines[] = {
		"", "   ", "\t", "\r", "# a comment", "   # indented: comment",
		("#alice:" H_Y), "# {PLAIN}x \x01 control bytes in comments are fine",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct pwfile_entry e;
		char *err = NULL;
		int ret = pwfile_parse_line("users", 1, lines[i], strlen(lines[i]), 0,
					    &e, &err);
		check_int(i, lines[i], "return", ret, 0);
		check_str(i, lines[i], "error", err, NULL);
	}
}

static void test_field_get(void **state)
{
	static const char line[] = "a:" H_Y "::::::mail=x userdb_mail=y quota=1k";
	struct pwfile_entry e;
	char *err;

	assert_int_equal(pwfile_parse_line("f", 1, line, strlen(line), 0, &e, &err), 1);
	assert_string_equal(pwfile_field_get(&e, "mail"), "y");
	assert_string_equal(pwfile_field_get(&e, "quota"), "1k");
	assert_null(pwfile_field_get(&e, "home"));
	pwfile_entry_clear(&e);
}

/* ---- bad lines */

static char long_line[PWFILE_MAX_LINE + 2];
static char long_name[PWFILE_MAX_NAME + 2 + sizeof(H_Y)];
static char many_fields[512];
static char max_line_crlf[PWFILE_MAX_LINE + 2];

static const struct bad_case {
	const char *line;
	size_t len;           /* 0: strlen(line) */
	unsigned int flags;
	const char *want;
	const char *secret;   /* must not appear in the message */
} bad_cases[] = {
	{ "alice", 0, 0, "users:7: missing ':' after the user name", NULL },
	{ ":" H_Y, 0, 0, "users:7: empty user name", NULL },
	{ "al ice:" H_Y, 0, 0, "users:7: invalid character in user name", NULL },
	{ "al\tice:" H_Y, 0, 0, "users:7: invalid character in user name", NULL },
	{ " alice:" H_Y, 0, 0, "users:7: invalid character in user name", NULL },
	{ "al\x01ice:" H_Y, 0, 0, "users:7: control character in line", NULL },
	{ "alice:" H_Y "\x7f", 0, 0, "users:7: control character in line", NULL },
	{ "alice:x\0y", 9, 0, "users:7: control character in line", NULL },
	{ "alice:hunter2secrets", 0, 0, "users:7: password is not a crypt(3) hash "
	  "(a plaintext password needs {PLAIN})", "hunter2secrets" },
	{ "alice:hunter 2", 0, 0, "users:7: password is not a crypt(3) hash "
	  "(a plaintext password needs {PLAIN})", "hunter" },
	{ "alice:{PLAIN}hunter2secret", 0, 0,
	  "users:7: plaintext password {PLAIN} not allowed", "hunter2secret" },
	{ "alice:{CLEARTEXT}hunter2secret", 0, 0,
	  "users:7: plaintext password {CLEARTEXT} not allowed", "hunter2secret" },
	{ "alice:{PLAIN}", 0, 0, "users:7: plaintext password {PLAIN} not allowed", NULL },
	{ "alice:{MD5}abcdef", 0, 0, "users:7: unknown password scheme {MD5}", "abcdef" },
	{ "alice:{hunter2secret}x", 0, 0, "users:7: unknown password scheme",
	  "hunter2secret" },
	{ "alice:{}x", 0, 0, "users:7: unknown password scheme", NULL },
	{ "alice:{CRYPThunter2secret", 0, 0,
	  "users:7: unterminated {SCHEME} in the password field", "hunter2secret" },
	{ "alice:{SHA512-CRYPT}" H_Y, 0, 0,
	  "users:7: {SHA512-CRYPT} password is not a $6$ hash", NULL },
	{ "alice:{SHA256-CRYPT}" H_6, 0, 0,
	  "users:7: {SHA256-CRYPT} password is not a $5$ hash", NULL },
	{ "alice:{BLF-CRYPT}" H_6, 0, 0,
	  "users:7: {BLF-CRYPT} password is not a $2b$ or $2y$ hash", NULL },
	{ "alice:{YESCRYPT}" H_6, 0, 0,
	  "users:7: {YESCRYPT} password is not a $y$ hash", NULL },
	{ "alice:$6$abc$def", 0, 0, "users:7: password hash is truncated or malformed", NULL },
	{ "alice:$6$", 0, 0, "users:7: password hash is truncated or malformed", NULL },
	{ "alice:$2b$05$abc", 0, 0, "users:7: password hash is truncated or malformed", NULL },
	{ "alice:$gy$abc", 0, 0, "users:7: password hash is truncated or malformed", NULL },
	{ "alice:$9$abc$def", 0, 0, "users:7: password is not a crypt(3) hash "
	  "(a plaintext password needs {PLAIN})", NULL },
	{ "alice:" H_Y ":abc", 0, 0, "users:7: uid 'abc' is not a number", NULL },
	{ "alice:" H_Y ":4294967295", 0, 0, "users:7: uid '4294967295' is not a number", NULL },
	{ "alice:" H_Y ":12345678901", 0, 0, "users:7: uid '12345678901' is not a number", NULL },
	{ "alice:" H_Y ":1:-1", 0, 0, "users:7: gid '-1' is not a number", NULL },
	{ "alice:" H_Y ":1:1: :home", 0, 0, "users:7: home 'home' is not an absolute path", NULL },
	{ "alice:" H_Y ":::::::", 0, 0, "users:7: invalid extra field name ':'", NULL },
	{ "alice:" H_Y "::::::=x", 0, 0, "users:7: empty extra field name", NULL },
	{ "alice:" H_Y "::::::userdb_=x", 0, 0, "users:7: empty extra field name", NULL },
	{ "alice:" H_Y "::::::a/b=1", 0, 0, "users:7: invalid extra field name 'a/b'", NULL },
	{ "alice:" H_Y "::::::quota=lots", 0, 0, "users:7: quota 'lots' is not a size", NULL },
	{ "alice:" H_Y "::::::quota=1GB", 0, 0, "users:7: quota '1GB' is not a size", NULL },
	{ "alice:" H_Y "::::::userdb_uid=x", 0, 0, "users:7: uid 'x' is not a number", NULL },
	{ "alice:" H_Y "::::::home=rel", 0, 0, "users:7: home 'rel' is not an absolute path", NULL },
	{ "alice:" H_Y "::::::home", 0, 0, "users:7: home '' is not an absolute path", NULL },
	{ "alice:" H_Y "::::::quota_messages=1k", 0, 0,
	  "users:7: quota_messages '1k' is not a number", NULL },
	{ many_fields, 0, 0, "users:7: too many extra fields (max 32)", NULL },
	{ long_name, 0, 0, "users:7: user name longer than 255 bytes", NULL },
	{ long_line, 0, 0, "users:7: line too long (max 4096 bytes)", NULL },
};

static void fill_long_lines(void)
{
	size_t n;

	memset(long_line, 'a', PWFILE_MAX_LINE + 1);
	long_line[PWFILE_MAX_LINE + 1] = '\0';
	memset(long_name, 'n', PWFILE_MAX_NAME + 1);
	strcpy(long_name + PWFILE_MAX_NAME + 1, ":" H_Y);
	n = (size_t)snprintf(many_fields, sizeof(many_fields), "alice:%s::::::", H_Y);
	for (int i = 0; i <= PWFILE_MAX_FIELDS; i++)
		n += (size_t)snprintf(many_fields + n, sizeof(many_fields) - n, "k%d=v ", i);
	/* Exactly PWFILE_MAX_LINE bytes, then a CR: valid. */
	n = (size_t)snprintf(max_line_crlf, sizeof(max_line_crlf), "alice:%s::::/", H_Y);
	memset(max_line_crlf + n, 'h', PWFILE_MAX_LINE - n);
	max_line_crlf[PWFILE_MAX_LINE] = '\r';
	max_line_crlf[PWFILE_MAX_LINE + 1] = '\0';
}

static void test_bad_lines(void **state)
{
	fill_long_lines();
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->line);
		struct pwfile_entry e;
		char *err = NULL;
		int ret = pwfile_parse_line("users", 7, c->line, len, c->flags, &e, &err);

		check_int(i, c->line, "return", ret, -1);
		check_str(i, c->line, "error", err, c->want);
		if (c->secret != NULL && err != NULL && strstr(err, c->secret) != NULL) {
			print_error("row %zu: the error shows the password: %s\n", i, err);
			fail();
		}
		assert_null(e.buf_);
		free(err);
	}
}

static void test_bad_line_without_file(void **state)
{
	struct pwfile_entry e;
	char *err;

	assert_int_equal(pwfile_parse_line(NULL, 0, "a b:x", 5, 0, &e, &err), -1);
	assert_string_equal(err, "invalid character in user name");
	free(err);
}

static void test_max_line(void **state)
{
	struct pwfile_entry e;
	char *err;

	fill_long_lines();
	assert_int_equal(pwfile_parse_line("users", 1, max_line_crlf,
					   strlen(max_line_crlf), 0, &e, &err), 1);
	assert_int_equal(strlen(e.home), PWFILE_MAX_LINE - strlen("alice:" H_Y "::::"));
	pwfile_entry_clear(&e);
	/* The same without the CR, plus one byte: too long. */
	max_line_crlf[PWFILE_MAX_LINE] = 'h';
	assert_int_equal(pwfile_parse_line("users", 1, max_line_crlf,
					   strlen(max_line_crlf), 0, &e, &err), -1);
	assert_string_equal(err, "users:1: line too long (max 4096 bytes)");
	free(err);
}

/* ---- verifying */

static struct pwfile_entry parse_ok(const char *line, unsigned int flags)
{
	struct pwfile_entry e;
	char *err = NULL;
	int ret = pwfile_parse_line("users", 1, line, strlen(line), flags, &e, &err);

	if (ret != 1) {
		print_error("%s: %s\n", line, show(err));
		fail();
	}
	return e;
}

static int verify(const struct pwfile_entry *e, const char *password)
{
	char *err = NULL;
	int ret = pwfile_verify(e, password, &err);

	if (err != NULL) {
		print_error("verify: %s\n", err);
		free(err);
	}
	return ret;
}

static void test_verify_generated(void **state)
{
	static const struct {
		const char *prefix;
		const char *scheme;
	} methods[] = {
		{ "$y$", "{YESCRYPT}" }, { "$6$", "{SHA512-CRYPT}" },
		{ "$5$", "{SHA256-CRYPT}" }, { "$2b$", "{BLF-CRYPT}" },
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char setting[CRYPT_GENSALT_OUTPUT_SIZE], line[512];
		struct crypt_data data;
		const char *hash;

		memset(&data, 0, sizeof(data));
		assert_non_null(crypt_gensalt_rn(methods[i].prefix, 0, NULL, 0,
						 setting, sizeof(setting)));
		hash = crypt_r("correct horse", setting, &data);
		assert_true(hash != NULL && hash[0] == '$');
		for (int with_scheme = 0; with_scheme < 2; with_scheme++) {
			snprintf(line, sizeof(line), "u:%s%s:1000:1000",
				 with_scheme ? methods[i].scheme : "", hash);
			struct pwfile_entry e = parse_ok(line, 0);
			check_int(i, line, "right password", verify(&e, "correct horse"), 1);
			check_int(i, line, "wrong password", verify(&e, "correct horsE"), 0);
			check_int(i, line, "prefix", verify(&e, "correct hors"), 0);
			check_int(i, line, "empty", verify(&e, ""), 0);
			check_int(i, line, "NULL", verify(&e, NULL), 0);
			pwfile_entry_clear(&e);
		}
	}
}

static void test_verify_fixed(void **state)
{
	static const char *const lines[] = {
		"u:" H_Y, "u:" H_6, "u:" H_5, "u:" H_2B, "u:" H_2Y, "u:" H_1, "u:" H_DES,
		"u:{CRYPT}" H_6,
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct pwfile_entry e = parse_ok(lines[i], 0);
		check_int(i, lines[i], "right", verify(&e, "hunter2"), 1);
		check_int(i, lines[i], "wrong", verify(&e, "hunter3"), 0);
		pwfile_entry_clear(&e);
	}
}

static void test_verify_locked(void **state)
{
	static const char *const lines[] = {
		"u:", "u:*", "u:!", "u:!" H_6, "u:*" H_6, "u:{CRYPT}!" H_6, "u:{PLAIN}",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct pwfile_entry e = parse_ok(lines[i], ALLOW);
		check_int(i, lines[i], "kind", e.pw_kind, PWFILE_PW_LOCKED);
		check_int(i, lines[i], "empty", verify(&e, ""), 0);
		check_int(i, lines[i], "hunter2", verify(&e, "hunter2"), 0);
		check_int(i, lines[i], "the field", verify(&e, e.password), 0);
		check_int(i, lines[i], "!", verify(&e, "!"), 0);
		pwfile_entry_clear(&e);
	}
}

static void test_verify_plain(void **state)
{
	struct pwfile_entry e = parse_ok("u:{PLAIN}s3cret", ALLOW);

	assert_int_equal(verify(&e, "s3cret"), 1);
	assert_int_equal(verify(&e, "s3cre"), 0);
	assert_int_equal(verify(&e, "s3cret!"), 0);
	assert_int_equal(verify(&e, "S3cret"), 0);
	assert_int_equal(verify(&e, ""), 0);
	pwfile_entry_clear(&e);
}

static void test_verify_unusable_hash(void **state)
{
	struct pwfile_entry e = {
		.name = "u", .password = "x!", .pw_kind = PWFILE_PW_CRYPT, .line = 4,
	};
	char *err = NULL;

	assert_int_equal(pwfile_verify(&e, "pw", &err), -1);
	assert_string_equal(err, "crypt(3) cannot use the password hash of user 'u' (line 4)");
	free(err);
}

/* ---- whole files */

static void test_load(void **state)
{
	char *path = strdup(path_in_tmp("load"));
	struct pwfile *db;
	char *err = NULL, want[1024];
	size_t len = 0;
	static char content[PWFILE_MAX_LINE * 3];

	/* 1 comment, 2 alice, 3 blank, 4 bad, 5 bob, 6 dup alice, 7 too long,
	 * 8 NUL, 9 plain (refused), 10 alice again, 11 carol (no newline) */
	len += (size_t)sprintf(content + len, "# users\nalice:%s:1000\n\nbad line\n", H_Y);
	len += (size_t)sprintf(content + len, "bob:%s::::/home/bob::mail=m\n", H_6);
	len += (size_t)sprintf(content + len, "alice:%s\n", H_6);
	memset(content + len, 'x', PWFILE_MAX_LINE + 10);
	len += PWFILE_MAX_LINE + 10;
	content[len++] = '\n';
	memcpy(content + len, "nul:\0x\n", 7);
	len += 7;
	len += (size_t)sprintf(content + len, "dave:{PLAIN}pw\nalice:*\ncarol:%s", H_2B);
	write_file(path, content, len);

	assert_int_equal(pwfile_load(path, 0, &db, &err), 0);
	assert_null(err);
	assert_int_equal(db->count, 3);
	assert_string_equal(db->entries[0].name, "alice");
	assert_int_equal(db->entries[0].line, 2);
	assert_string_equal(db->entries[1].name, "bob");
	assert_string_equal(db->entries[2].name, "carol");
	assert_int_equal(db->entries[2].line, 11);
	assert_string_equal(pwfile_find(db, "alice")->uid, "1000");
	assert_string_equal(pwfile_find(db, "bob")->home, "/home/bob");
	assert_non_null(pwfile_find(db, "carol"));
	assert_null(pwfile_find(db, "dave"));
	assert_null(pwfile_find(db, "alic"));
	assert_null(pwfile_find(db, ""));

	static const struct { unsigned int line; const char *text; } errors[] = {
		{ 4, "missing ':' after the user name" },
		{ 6, "duplicate user 'alice' (first on line 2)" },
		{ 7, "line too long (max 4096 bytes)" },
		{ 8, "control character in line" },
		{ 9, "plaintext password {PLAIN} not allowed" },
		{ 10, "duplicate user 'alice' (first on line 2)" },
	};
	assert_int_equal(db->error_count, sizeof(errors) / sizeof(errors[0]));
	for (size_t i = 0; i < db->error_count; i++) {
		snprintf(want, sizeof(want), "%s:%u: %s", path, errors[i].line,
			 errors[i].text);
		check_int(i, want, "line", db->errors[i].line, errors[i].line);
		check_str(i, want, "message", db->errors[i].msg, want);
	}
	pwfile_free(&db);
	assert_null(db);

	/* With plaintext allowed, dave is a user. */
	assert_int_equal(pwfile_load(path, ALLOW, &db, &err), 0);
	assert_int_equal(db->count, 4);
	assert_int_equal(pwfile_find(db, "dave")->pw_kind, PWFILE_PW_PLAIN);
	assert_int_equal(db->error_count, 5);
	pwfile_free(&db);
	unlink(path);
	free(path);
}

static void test_load_empty_and_missing(void **state)
{
	char *path = path_in_tmp("empty");
	struct pwfile *db;
	char *err = NULL, want[600];

	write_file(path, "", 0);
	assert_int_equal(pwfile_load(path, 0, &db, &err), 0);
	assert_int_equal(db->count, 0);
	assert_int_equal(db->error_count, 0);
	assert_null(pwfile_find(db, "x"));
	pwfile_free(&db);
	unlink(path);

	assert_int_equal(pwfile_load(path, 0, &db, &err), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "open(%s): No such file or directory", path);
	assert_string_equal(err, want);
	assert_null(db);
	free(err);

	assert_int_equal(pwfile_load(tmpdir, 0, &db, &err), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);
	free(err);
}

static void test_changed(void **state)
{
	char *path = path_in_tmp("changed");
	struct pwfile *db;
	struct stat st;
	char *err;

	write_file(path, "a:" H_Y "\n", strlen("a:" H_Y "\n"));
	assert_int_equal(pwfile_load(path, 0, &db, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_false(pwfile_changed(db, &st));
	assert_int_equal(pwfile_update(path, "b", "b:" H_6, PWFILE_UPDATE_ADD, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(pwfile_changed(db, &st));
	pwfile_free(&db);
	unlink(path);
}

/* ---- formatting */

static void test_format_line(void **state)
{
	struct pwfile_field f2[2] = { { "mail", "maildir:~/Maildir" }, { "quota", "1G" } };
	static const struct {
		struct pwfile_entry e;
		const char *want;
	} cases[] = {
		{ { .name = "a", .password = H_Y, .pw_kind = PWFILE_PW_CRYPT }, "a:" H_Y },
		{ { .name = "a", .password = "", .pw_kind = PWFILE_PW_LOCKED }, "a:" },
		{ { .name = "a", .password = "pw", .pw_kind = PWFILE_PW_PLAIN }, "a:{PLAIN}pw" },
		{ { .name = "a", .password = "!", .uid = "1", .gid = "2" }, "a:!:1:2" },
		{ { .name = "a", .password = "!", .home = "/h" }, "a:!::::/h" },
		{ { .name = "a", .password = "!", .gecos = "A B", .shell = "/bin/sh" },
		  "a:!:::A B::/bin/sh" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		char *line = pwfile_format_line(&cases[i].e, &err);
		check_str(i, cases[i].want, "error", err, NULL);
		check_str(i, cases[i].want, "line", line, cases[i].want);
		free(line);
	}

	struct pwfile_entry e = { .name = "a", .password = H_6, .home = "/h",
				  .fields = f2, .field_count = 2 };
	char *err = NULL, *line = pwfile_format_line(&e, &err);
	assert_string_equal(line, "a:" H_6 "::::/h::mail=maildir:~/Maildir quota=1G");
	free(line);

	/* a key that starts with "userdb_" (parsed from "userdb_userdb_x")
	 * keeps it when the line is parsed again (a fuzzer's round trip) */
	struct pwfile_field f1[1] = { { "userdb_x", "1" } };
	struct pwfile_entry u = { .name = "a", .password = H_6, .fields = f1, .field_count = 1 };
	struct pwfile_entry again;
	line = pwfile_format_line(&u, &err);
	assert_string_equal(line, "a:" H_6 "::::::userdb_userdb_x=1");
	assert_int_equal(pwfile_parse_line("t", 1, line, strlen(line), 0, &again, &err), 1);
	assert_int_equal(again.field_count, 1);
	assert_string_equal(again.fields[0].key, "userdb_x");
	pwfile_entry_clear(&again);
	free(line);
}

static void test_format_line_refused(void **state)
{
	struct pwfile_field blank[1] = { { "mail", "my mail" } };
	struct pwfile_field eq[1] = { { "a=b", "c" } };
	static const struct {
		struct pwfile_entry e;
		const char *want;
	} cases[] = {
		{ { .name = "a:b", .password = "" }, "invalid user name" },
		{ { .name = "a b", .password = "" }, "invalid user name" },
		{ { .name = "#a", .password = "" }, "invalid user name" },
		{ { .name = NULL, .password = "" }, "invalid user name" },
		{ { .name = "a", .password = "x:y" }, "password contains ':' or a control character" },
		{ { .name = "a", .password = "", .home = "/a\nb" },
		  "home contains ':' or a control character" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		char *line = pwfile_format_line(&cases[i].e, &err);
		check_str(i, cases[i].want, "line", line, NULL);
		check_str(i, cases[i].want, "error", err, cases[i].want);
		free(err);
	}

	struct pwfile_entry e = { .name = "a", .password = "", .fields = blank,
				  .field_count = 1 };
	char *err = NULL;
	assert_null(pwfile_format_line(&e, &err));
	assert_string_equal(err, "extra field 'mail' contains a blank or a control character");
	free(err);
	e.fields = eq;
	assert_null(pwfile_format_line(&e, &err));
	free(err);
}

/* ---- rewriting */

#define BASE "# Poczta users\n" \
	"alice:" H_Y ":1000:1000::/home/alice\n" \
	"\n" \
	"  # bob:old comment that names bob\n" \
	"bob:" H_6 "\n" \
	"this line is bad but kept\n" \
	"carol:*\n"

static const struct update_case {
	const char *before;
	const char *name;
	const char *line;
	enum pwfile_update_mode mode;
	const char *after;   /* NULL: the file is unchanged */
	const char *error;   /* with "PATH" where the path goes */
} update_cases[] = {
	{ BASE, "dave", "dave:" H_2B, PWFILE_UPDATE_ADD, BASE "dave:" H_2B "\n", NULL },
	{ BASE, "bob", "bob:!", PWFILE_UPDATE_ADD, NULL, "PATH: user 'bob' already exists" },
	{ BASE, "bob", "bob:!::::/b", PWFILE_UPDATE_SET,
	  "# Poczta users\n"
	  "alice:" H_Y ":1000:1000::/home/alice\n"
	  "\n"
	  "  # bob:old comment that names bob\n"
	  "bob:!::::/b\n"
	  "this line is bad but kept\n"
	  "carol:*\n", NULL },
	{ BASE, "erin", "erin:!", PWFILE_UPDATE_SET, BASE "erin:!\n", NULL },
	{ BASE, "alice", NULL, PWFILE_UPDATE_DELETE,
	  "# Poczta users\n"
	  "\n"
	  "  # bob:old comment that names bob\n"
	  "bob:" H_6 "\n"
	  "this line is bad but kept\n"
	  "carol:*\n", NULL },
	{ BASE, "carol", NULL, PWFILE_UPDATE_DELETE,
	  "# Poczta users\n"
	  "alice:" H_Y ":1000:1000::/home/alice\n"
	  "\n"
	  "  # bob:old comment that names bob\n"
	  "bob:" H_6 "\n"
	  "this line is bad but kept\n", NULL },
	{ BASE, "zed", NULL, PWFILE_UPDATE_DELETE, NULL, "PATH: no user 'zed'" },
	{ BASE, "bo", NULL, PWFILE_UPDATE_DELETE, NULL, "PATH: no user 'bo'" },
	/* A bad line is still the user's line when its name matches. */
	{ "x:{PLAIN}a\ny:!\n", "x", "x:!", PWFILE_UPDATE_SET, "x:!\ny:!\n", NULL },
	/* Duplicates: SET keeps one line in the first place, DELETE removes all. */
	{ "a:1\nb:!\na:2\na:3\n", "a", "a:!", PWFILE_UPDATE_SET, "a:!\nb:!\n", NULL },
	{ "a:1\nb:!\na:2\n", "a", NULL, PWFILE_UPDATE_DELETE, "b:!\n", NULL },
	/* No newline at the end, CRLF lines, an empty file. */
	{ "a:!", "b", "b:!", PWFILE_UPDATE_ADD, "a:!\nb:!\n", NULL },
	{ "a:!\r\nb:!\r\n", "a", "a:*", PWFILE_UPDATE_SET, "a:*\nb:!\r\n", NULL },
	{ "a:!\r\nb:!", "b", NULL, PWFILE_UPDATE_DELETE, "a:!\r\n", NULL },
	{ "", "a", "a:!", PWFILE_UPDATE_ADD, "a:!\n", NULL },
	{ "a:!\n", "a", NULL, PWFILE_UPDATE_DELETE, "", NULL },
	/* Bad arguments. */
	{ "a:!\n", "", "x", PWFILE_UPDATE_ADD, NULL, "invalid user name" },
	{ "a:!\n", "#a", "x", PWFILE_UPDATE_ADD, NULL, "invalid user name" },
	{ "a:!\n", "b", "b:!\nc:!", PWFILE_UPDATE_ADD, NULL, "invalid line for user 'b'" },
	{ "a:!\n", "b", NULL, PWFILE_UPDATE_SET, NULL, "invalid line for user 'b'" },
};

static void test_update(void **state)
{
	char *path = strdup(path_in_tmp("update"));
	int files = count_files();

	for (size_t i = 0; i < sizeof(update_cases) / sizeof(update_cases[0]); i++) {
		const struct update_case *c = &update_cases[i];
		char *err = NULL, want_err[600];
		int ret;

		write_file(path, c->before, strlen(c->before));
		ret = pwfile_update(path, c->name, c->line, c->mode, &err);
		check_int(i, c->name, "return", ret, c->error != NULL ? -1 : 0);
		if (c->error != NULL && strncmp(c->error, "PATH", 4) == 0) {
			snprintf(want_err, sizeof(want_err), "%s%s", path, c->error + 4);
			check_str(i, c->name, "error", err, want_err);
		} else {
			check_str(i, c->name, "error", err, c->error);
		}
		check_str(i, c->name, "content", read_file(path),
			  c->after != NULL ? c->after : c->before);
		check_int(i, c->name, "files in the folder", count_files(), files + 1);
		free(err);
	}
	unlink(path);
	free(path);
}

static void test_update_keeps_mode(void **state)
{
	char *path = path_in_tmp("mode");
	struct stat st;
	char *err;

	write_file(path, "a:!\n", 4);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(pwfile_update(path, "b", "b:!", PWFILE_UPDATE_ADD, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	unlink(path);
}

static void test_update_missing_file(void **state)
{
	char *path = strdup(path_in_tmp("created"));
	struct stat st;
	char *err = NULL, want[600];
	mode_t old = umask(022);

	assert_int_equal(pwfile_update(path, "a", NULL, PWFILE_UPDATE_DELETE, &err), -1);
	snprintf(want, sizeof(want), "open(%s): No such file or directory", path);
	assert_string_equal(err, want);
	free(err);
	assert_int_equal(stat(path, &st), -1);

	assert_int_equal(pwfile_update(path, "a", "a:!", PWFILE_UPDATE_ADD, &err), 0);
	assert_string_equal(read_file(path), "a:!\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	umask(old);
	unlink(path);
	free(path);

	assert_int_equal(pwfile_update("/nonexistent-dir/users", "a", "a:!",
				       PWFILE_UPDATE_ADD, &err), -1);
	assert_string_equal(err, "open(/nonexistent-dir/users): No such file or directory");
	free(err);
}

/* A user written by format_line and update reads back the same. */
static void test_round_trip(void **state)
{
	char *path = strdup(path_in_tmp("round"));
	struct pwfile_field f[2] = { { "mail", "maildir:~/Maildir" }, { "quota", "25M" } };
	struct pwfile_entry e = { .name = "erin", .password = H_Y,
				  .pw_kind = PWFILE_PW_CRYPT, .home = "/var/mail/erin",
				  .fields = f, .field_count = 2 };
	struct pwfile *db;
	char *err, *line = pwfile_format_line(&e, &err);

	assert_non_null(line);
	write_file(path, "# x\n", 4);
	assert_int_equal(pwfile_update(path, "erin", line, PWFILE_UPDATE_ADD, &err), 0);
	assert_int_equal(pwfile_load(path, 0, &db, &err), 0);
	assert_int_equal(db->error_count, 0);
	const struct pwfile_entry *got = pwfile_find(db, "erin");
	assert_non_null(got);
	assert_string_equal(got->password, H_Y);
	assert_string_equal(got->home, "/var/mail/erin");
	assert_string_equal(fields_str(got), "mail=maildir:~/Maildir quota=25M");
	assert_int_equal(verify(got, "hunter2"), 1);
	pwfile_free(&db);
	free(line);
	unlink(path);
	free(path);
}

static int setup(void **state)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test-passwd-file-XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_lines),
		cmocka_unit_test(test_skipped_lines),
		cmocka_unit_test(test_field_get),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_bad_line_without_file),
		cmocka_unit_test(test_max_line),
		cmocka_unit_test(test_verify_generated),
		cmocka_unit_test(test_verify_fixed),
		cmocka_unit_test(test_verify_locked),
		cmocka_unit_test(test_verify_plain),
		cmocka_unit_test(test_verify_unusable_hash),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_empty_and_missing),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_format_line),
		cmocka_unit_test(test_format_line_refused),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_update_keeps_mode),
		cmocka_unit_test(test_update_missing_file),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
