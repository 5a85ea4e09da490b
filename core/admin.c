/* admin.c - poczta-admin, the administrator's tool: hash passwords and
 * manage the users of a passwd-file; the PostgreSQL commands (db, import,
 * export) are run by the postgres module's helper.
 *
 * Subcommands are rows of admin_cmds[]: a name of one or more words, the
 * function, and its usage.  Exit status: 0 done, 1 failed (the reason on
 * stderr), 2 bad usage; a helper's own codes pass through (db status: 3
 * when this poczta cannot use the database). */
#include "config-core.h"

#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../modules/passwd-file/pwfile.h"

#ifndef CRYPT_GENSALT_IMPLEMENTS_AUTO_ENTROPY
#  error "libxcrypt with automatic salt entropy (crypt_gensalt_rn with NULL) is needed"
#endif

#ifdef PACKAGE_VERSION
#  define ADMIN_VERSION "poczta-admin " PACKAGE_VERSION
#else
#  define ADMIN_VERSION "poczta-admin"
#endif

#define ADMIN_OK 0
#define ADMIN_FAILED 1
#define ADMIN_USAGE 2

#define ADMIN_MAX_PASSWORD 1024   /* bytes of a password read */
#define ADMIN_MAX_WORDS 4         /* words in a command name */
#define ADMIN_BCRYPT_MAX 72       /* bcrypt ignores bytes past this */
#define ADMIN_MAX_ARGS 256        /* arguments passed on to a helper */

/* The postgres module's helper (it links libpq; this program must not, as
 * the module is packaged and installed apart).  POCZTA_LIBEXECDIR points
 * at another folder, e.g. a build tree, as GIT_EXEC_PATH does for git. */
#define ADMIN_PGSQL_HELPER "postgres-admin"
#define ADMIN_LIBEXECDIR_ENV "POCZTA_LIBEXECDIR"

struct admin_cmd {
	const char *name;     /* "passwd", "user add" */
	int (*fn)(const struct admin_cmd *cmd, int argc, char **argv);
	const char *usage;    /* the arguments after the name */
	const char *summary;
};

static const struct admin_scheme {
	const char *name;
	const char *prefix;   /* for crypt_gensalt */
} admin_schemes[] = {
	{ "yescrypt", "$y$" },
	{ "sha512", "$6$" },
	{ "bcrypt", "$2b$" },
};

/* ---- messages */

static void admin_error(const struct admin_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void admin_error(const struct admin_cmd *cmd, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "poczta-admin: %s%s", cmd != NULL ? cmd->name : "",
		cmd != NULL ? ": " : "");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

static void admin_cmd_usage(FILE *out, const struct admin_cmd *cmd)
{
	fprintf(out, "  poczta-admin %s %s\n      %s\n", cmd->name, cmd->usage,
		cmd->summary);
}

/* admin_bad_usage - report a usage error and return ADMIN_USAGE. */
static int admin_bad_usage(const struct admin_cmd *cmd, const char *what,
			   const char *arg)
{
	admin_error(cmd, "%s%s%s", what, arg != NULL ? " " : "",
		    arg != NULL ? arg : "");
	fprintf(stderr, "Usage:\n");
	admin_cmd_usage(stderr, cmd);
	return ADMIN_USAGE;
}

/* admin_getopt_error - the usage error for getopt's '?' or ':'. */
static int admin_getopt_error(const struct admin_cmd *cmd, int c, char **argv)
{
	char shown[8];
	const char *opt = argv[optind - 1];

	/* optopt names a short option; a long one is the argument itself. */
	if (optopt > 0 && optopt < 256) {
		snprintf(shown, sizeof(shown), "-%c", optopt);
		opt = shown;
	}
	if (c == ':')
		return admin_bad_usage(cmd, "option needs an argument:", opt);
	return admin_bad_usage(cmd, "unknown option:", opt);
}

/* ---- reading and hashing passwords */

static struct termios admin_tty_saved;
static volatile sig_atomic_t admin_tty_changed;

/* Put the terminal back before a signal ends the process. */
static void admin_tty_signal(int sig)
{
	if (admin_tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &admin_tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int admin_tty_echo(int on)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct termios t;
	size_t i;

	if (on) {
		admin_tty_changed = 0;
		return tcsetattr(STDIN_FILENO, TCSAFLUSH, &admin_tty_saved);
	}
	if (tcgetattr(STDIN_FILENO, &admin_tty_saved) < 0)
		return -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], admin_tty_signal);
	t = admin_tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	admin_tty_changed = 1;
	return tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
}

/* admin_read_line - one line from stdin into buf, without its newline.
 * Returns 0, or -1 with a message printed. */
static int admin_read_line(const struct admin_cmd *cmd, char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, stdin) == NULL) {
		admin_error(cmd, "no password given on stdin");
		return -1;
	}
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(stdin)) {
		admin_error(cmd, "password longer than %d bytes", ADMIN_MAX_PASSWORD);
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len != strlen(buf)) {
		admin_error(cmd, "NUL byte in the password");
		return -1;
	}
	return 0;
}

/* admin_prompt - prompt on stderr and read a line without echo. */
static int admin_prompt(const struct admin_cmd *cmd, const char *prompt,
			char *buf, size_t size)
{
	int ret;

	fputs(prompt, stderr);
	fflush(stderr);
	if (admin_tty_echo(0) < 0) {
		admin_error(cmd, "cannot turn off echo: %s", strerror(errno));
		return -1;
	}
	ret = admin_read_line(cmd, buf, size);
	admin_tty_echo(1);
	return ret;
}

/* admin_read_password - from the terminal (asked twice, not echoed), or
 * one line of stdin when it is not a terminal.  buf has room for
 * ADMIN_MAX_PASSWORD + 2 bytes.  Returns 0, or -1 with a message printed. */
static int admin_read_password(const struct admin_cmd *cmd, char *buf,
			       size_t size)
{
	char again[ADMIN_MAX_PASSWORD + 2];
	int ret = 0;

	if (!isatty(STDIN_FILENO))
		ret = admin_read_line(cmd, buf, size);
	else if (admin_prompt(cmd, "Password: ", buf, size) < 0 ||
		 admin_prompt(cmd, "Retype password: ", again, sizeof(again)) < 0)
		ret = -1;
	else if (strcmp(buf, again) != 0) {
		admin_error(cmd, "the passwords do not match");
		ret = -1;
	}
	explicit_bzero(again, sizeof(again));
	if (ret == 0 && buf[0] == '\0') {
		admin_error(cmd, "empty password");
		ret = -1;
	}
	return ret;
}

static const struct admin_scheme *admin_scheme(const char *name)
{
	for (size_t i = 0; i < sizeof(admin_schemes) / sizeof(admin_schemes[0]); i++) {
		if (strcmp(admin_schemes[i].name, name) == 0)
			return &admin_schemes[i];
	}
	return NULL;
}

/* admin_hash - hash `password` with a fresh random salt into out.
 * Returns 0, or -1 with a message printed. */
static int admin_hash(const struct admin_cmd *cmd, const struct admin_scheme *scheme,
		      const char *password, char *out, size_t size)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	const char *hash;
	int ret = -1;

	if (strcmp(scheme->name, "bcrypt") == 0 && strlen(password) > ADMIN_BCRYPT_MAX)
		fprintf(stderr, "poczta-admin: warning: bcrypt uses only the first "
			"%d bytes of a password\n", ADMIN_BCRYPT_MAX);
	if (crypt_gensalt_rn(scheme->prefix, 0, NULL, 0, setting, sizeof(setting)) == NULL) {
		admin_error(cmd, "crypt_gensalt(%s): %s", scheme->name, strerror(errno));
		return -1;
	}
	data = calloc(1, sizeof(*data));
	if (data == NULL) {
		admin_error(cmd, "out of memory");
		return -1;
	}
	hash = crypt_r(password, setting, data);
	if (hash == NULL || hash[0] == '*')
		admin_error(cmd, "crypt(%s) failed: %s", scheme->name, strerror(errno));
	else if (strlen(hash) >= size)
		admin_error(cmd, "crypt(%s) returned a hash too long", scheme->name);
	else {
		strcpy(out, hash);
		ret = 0;
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ret;
}

/* admin_new_hash - read or take the password and hash it. */
static int admin_new_hash(const struct admin_cmd *cmd, const struct admin_scheme *scheme,
			  const char *given, char *out, size_t size)
{
	char password[ADMIN_MAX_PASSWORD + 2];
	int ret;

	if (given != NULL) {
		if (strlen(given) > ADMIN_MAX_PASSWORD) {
			admin_error(cmd, "password longer than %d bytes", ADMIN_MAX_PASSWORD);
			return -1;
		}
		strcpy(password, given);
	} else if (admin_read_password(cmd, password, sizeof(password)) < 0) {
		explicit_bzero(password, sizeof(password));
		return -1;
	}
	if (password[0] == '\0') {
		admin_error(cmd, "empty password");
		ret = -1;
	} else {
		ret = admin_hash(cmd, scheme, password, out, size);
	}
	explicit_bzero(password, sizeof(password));
	return ret;
}

/* ---- commands */

static int admin_scheme_arg(const struct admin_cmd *cmd, const char *arg,
			    const struct admin_scheme **scheme_r)
{
	*scheme_r = admin_scheme(arg);
	if (*scheme_r != NULL)
		return 0;
	admin_bad_usage(cmd, "unknown scheme (yescrypt, sha512 or bcrypt):", arg);
	return -1;
}

static int cmd_passwd(const struct admin_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scheme", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct admin_scheme *scheme = &admin_schemes[0];
	char hash[CRYPT_OUTPUT_SIZE];
	int c;

	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (admin_scheme_arg(cmd, optarg, &scheme) < 0)
				return ADMIN_USAGE;
			break;
		case 'h':
			admin_cmd_usage(stdout, cmd);
			return ADMIN_OK;
		default:
			return admin_getopt_error(cmd, c, argv);
		}
	}
	if (optind != argc)
		return admin_bad_usage(cmd, "unexpected argument:", argv[optind]);
	if (admin_new_hash(cmd, scheme, NULL, hash, sizeof(hash)) < 0)
		return ADMIN_FAILED;
	printf("%s\n", hash);
	return fflush(stdout) == 0 ? ADMIN_OK : ADMIN_FAILED;
}

struct admin_user_args {
	const char *file;
	const char *password;
	const char *hash;
	const char *home;
	const char *mail;
	const char *quota;
	const struct admin_scheme *scheme;
	int replace;
	const char *name;
};

enum {
	ADMIN_OPT_HOME = 256,
	ADMIN_OPT_MAIL,
	ADMIN_OPT_QUOTA,
	ADMIN_OPT_REPLACE,
};

/* admin_user_options - parse the options of `user add`, `del`, `list`:
 * `allowed` holds the short options the command takes, and '+' when it
 * takes the long-only ones.  Returns -1 when the command should go on, or
 * the exit code after a usage error or --help. */
static int admin_user_options(const struct admin_cmd *cmd, int argc, char **argv,
			      const char *allowed, int want_name,
			      struct admin_user_args *a)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "password", required_argument, NULL, 'p' },
		{ "hash", required_argument, NULL, 'H' },
		{ "scheme", required_argument, NULL, 's' },
		{ "home", required_argument, NULL, ADMIN_OPT_HOME },
		{ "mail", required_argument, NULL, ADMIN_OPT_MAIL },
		{ "quota", required_argument, NULL, ADMIN_OPT_QUOTA },
		{ "replace", no_argument, NULL, ADMIN_OPT_REPLACE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, index = -1;

	memset(a, 0, sizeof(*a));
	a->scheme = &admin_schemes[0];
	while ((c = getopt_long(argc, argv, ":f:p:H:s:h", opts, &index)) != -1) {
		if (c == 'h') {
			admin_cmd_usage(stdout, cmd);
			return ADMIN_OK;
		}
		if (c == '?' || c == ':')
			return admin_getopt_error(cmd, c, argv);
		if (c < 256 ? strchr(allowed, c) == NULL : strchr(allowed, '+') == NULL) {
			char shown[64];
			if (c < 256)
				snprintf(shown, sizeof(shown), "-%c", c);
			else
				snprintf(shown, sizeof(shown), "--%s", opts[index].name);
			return admin_bad_usage(cmd, "option not used here:", shown);
		}
		switch (c) {
		case 'f': a->file = optarg; break;
		case 'p': a->password = optarg; break;
		case 'H': a->hash = optarg; break;
		case 's':
			if (admin_scheme_arg(cmd, optarg, &a->scheme) < 0)
				return ADMIN_USAGE;
			break;
		case ADMIN_OPT_HOME: a->home = optarg; break;
		case ADMIN_OPT_MAIL: a->mail = optarg; break;
		case ADMIN_OPT_QUOTA: a->quota = optarg; break;
		case ADMIN_OPT_REPLACE: a->replace = 1; break;
		}
	}
	if (a->file == NULL)
		return admin_bad_usage(cmd, "-f FILE is required", NULL);
	if (want_name) {
		if (optind == argc)
			return admin_bad_usage(cmd, "a user NAME is required", NULL);
		a->name = argv[optind++];
	}
	if (optind != argc)
		return admin_bad_usage(cmd, "unexpected argument:", argv[optind]);
	return -1;
}

/* admin_user_line - the passwd-file line for `user add`, checked by the
 * same parser the server uses.  Returns it (malloc'd), or NULL with a
 * message printed. */
static char *admin_user_line(const struct admin_cmd *cmd,
			     const struct admin_user_args *a, const char *hash)
{
	struct pwfile_field fields[2];
	struct pwfile_entry e = {
		.name = a->name, .password = hash, .pw_kind = PWFILE_PW_CRYPT,
		.home = a->home, .fields = fields,
	};
	struct pwfile_entry check;
	char *line, *err;

	if (a->mail != NULL)
		fields[e.field_count++] = (struct pwfile_field){ "mail", a->mail };
	if (a->quota != NULL)
		fields[e.field_count++] = (struct pwfile_field){ "quota", a->quota };
	line = pwfile_format_line(&e, &err);
	if (line == NULL) {
		admin_error(cmd, "%s", err != NULL ? err : "out of memory");
		free(err);
		return NULL;
	}
	switch (pwfile_parse_line(NULL, 0, line, strlen(line), 0, &check, &err)) {
	case 1:
		pwfile_entry_clear(&check);
		return line;
	case 0:
		admin_error(cmd, "invalid user name");
		break;
	default:
		admin_error(cmd, "%s", err != NULL ? err : "out of memory");
	}
	free(err);
	free(line);
	return NULL;
}

static int cmd_user_add(const struct admin_cmd *cmd, int argc, char **argv)
{
	struct admin_user_args a;
	char hash[CRYPT_OUTPUT_SIZE];
	char *line, *err;
	int ret = admin_user_options(cmd, argc, argv, "fpHs+", 1, &a);

	if (ret >= 0)
		return ret;
	if (a.password != NULL && a.hash != NULL)
		return admin_bad_usage(cmd, "give -p or -H, not both", NULL);
	if (a.hash != NULL) {
		if (strlen(a.hash) >= sizeof(hash))
			return admin_bad_usage(cmd, "hash too long", NULL);
		strcpy(hash, a.hash);
	} else if (admin_new_hash(cmd, a.scheme, a.password, hash, sizeof(hash)) < 0) {
		return ADMIN_FAILED;
	}
	line = admin_user_line(cmd, &a, hash);
	if (line == NULL)
		return ADMIN_USAGE;
	ret = ADMIN_OK;
	if (pwfile_update(a.file, a.name, line, a.replace ? PWFILE_UPDATE_SET :
			  PWFILE_UPDATE_ADD, &err) < 0) {
		admin_error(cmd, "%s%s", err != NULL ? err : "out of memory",
			    a.replace || err == NULL || strstr(err, "already exists") == NULL ?
			    "" : " (use --replace to change it)");
		ret = ADMIN_FAILED;
	}
	free(err);
	free(line);
	return ret;
}

static int cmd_user_del(const struct admin_cmd *cmd, int argc, char **argv)
{
	struct admin_user_args a;
	char *err;
	int ret = admin_user_options(cmd, argc, argv, "f", 1, &a);

	if (ret >= 0)
		return ret;
	if (pwfile_update(a.file, a.name, NULL, PWFILE_UPDATE_DELETE, &err) < 0) {
		admin_error(cmd, "%s", err != NULL ? err : "out of memory");
		free(err);
		return ADMIN_FAILED;
	}
	return ADMIN_OK;
}

/* admin_pw_method - what kind of password an entry has, never the hash. */
static const char *admin_pw_method(const struct pwfile_entry *e)
{
	static const struct { const char *prefix, *name; } methods[] = {
		{ "$y$", "yescrypt" }, { "$gy$", "gost-yescrypt" },
		{ "$7$", "scrypt" }, { "$6$", "sha512" }, { "$5$", "sha256" },
		{ "$2", "bcrypt" }, { "$1$", "md5" },
	};

	if (e->pw_kind == PWFILE_PW_LOCKED)
		return "locked";
	if (e->pw_kind == PWFILE_PW_PLAIN)
		return "plain";
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strncmp(e->password, methods[i].prefix, strlen(methods[i].prefix)) == 0)
			return methods[i].name;
	}
	return "crypt";
}

static void admin_list_entry(const struct pwfile_entry *e)
{
	printf("%s password=%s", e->name, admin_pw_method(e));
	if (e->uid != NULL)
		printf(" uid=%s", e->uid);
	if (e->gid != NULL)
		printf(" gid=%s", e->gid);
	if (e->home != NULL)
		printf(" home=%s", e->home);
	for (size_t i = 0; i < e->field_count; i++)
		printf(" %s=%s", e->fields[i].key, e->fields[i].value);
	putchar('\n');
}

static int cmd_user_list(const struct admin_cmd *cmd, int argc, char **argv)
{
	struct admin_user_args a;
	struct pwfile *db;
	char *err;
	int ret = admin_user_options(cmd, argc, argv, "f", 0, &a);

	if (ret >= 0)
		return ret;
	/* The server may or may not allow {PLAIN}: list such users, marked. */
	if (pwfile_load(a.file, PWFILE_ALLOW_PLAINTEXT, &db, &err) < 0) {
		admin_error(cmd, "%s", err != NULL ? err : "out of memory");
		free(err);
		return ADMIN_FAILED;
	}
	for (size_t i = 0; i < db->count; i++)
		admin_list_entry(&db->entries[i]);
	ret = fflush(stdout) == 0 ? ADMIN_OK : ADMIN_FAILED;
	for (size_t i = 0; i < db->error_count; i++) {
		fprintf(stderr, "poczta-admin: %s\n", db->errors[i].msg);
		ret = ADMIN_FAILED;
	}
	pwfile_free(&db);
	return ret;
}

/* cmd_pgsql - run the postgres module's helper with the command's name
 * words and arguments; returns only when it cannot be run. */
static int cmd_pgsql(const struct admin_cmd *cmd, int argc, char **argv)
{
	const char *dir = getenv(ADMIN_LIBEXECDIR_ENV);
	char *args[ADMIN_MAX_ARGS + ADMIN_MAX_WORDS + 2];
	char name[64], path[4096], *save = NULL, *w;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			admin_cmd_usage(stdout, cmd);
			return ADMIN_OK;
		}
	}
	if (argc - 1 > ADMIN_MAX_ARGS)
		return admin_bad_usage(cmd, "too many arguments", NULL);
	if (dir == NULL || *dir == '\0')
		dir = PZ_PKGLIBEXECDIR;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, ADMIN_PGSQL_HELPER) >=
	    sizeof(path)) {
		admin_error(cmd, "%s is too long", ADMIN_LIBEXECDIR_ENV);
		return ADMIN_FAILED;
	}
	snprintf(name, sizeof(name), "%s", cmd->name);
	args[n++] = path;
	for (w = strtok_r(name, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		args[n++] = w;
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execv(path, args);
	if (errno == ENOENT)
		admin_error(cmd, "%s is not installed: this command needs the postgres "
			    "module (the poczta-pgsql package, or poczta built with "
			    "PostgreSQL support)", path);
	else
		admin_error(cmd, "cannot run %s: %s", path, strerror(errno));
	return ADMIN_FAILED;
}

#define ADMIN_DB_USAGE "[-c FILE | -d CONNINFO]"
#define ADMIN_PGSQL_NOTE "\n      (run by the postgres module's helper)"

static const struct admin_cmd admin_cmds[] = {
	{ "passwd", cmd_passwd, "[-s yescrypt|sha512|bcrypt]",
	  "print the crypt(3) hash of a password read from the terminal (asked\n"
	  "      twice) or from one line of stdin; the default scheme is yescrypt" },
	{ "user add", cmd_user_add,
	  "-f FILE [-p PASSWORD | -H HASH] [-s SCHEME]\n"
	  "      [--home DIR] [--mail LOCATION] [--quota SIZE] [--replace] NAME",
	  "add a user to a passwd-file; without -p or -H the password is read as\n"
	  "      `passwd` reads it (avoid -p: other users see it in ps); --replace\n"
	  "      replaces an existing user's whole line, in place" },
	{ "user del", cmd_user_del, "-f FILE NAME", "remove a user from a passwd-file" },
	{ "user list", cmd_user_list, "-f FILE",
	  "list the users of a passwd-file with their fields (never the hashes)" },
	{ "db status", cmd_pgsql, ADMIN_DB_USAGE,
	  "show the PostgreSQL schema version and whether this poczta can use it\n"
	  "      (exit 3 when it cannot)" ADMIN_PGSQL_NOTE },
	{ "db migrate", cmd_pgsql, ADMIN_DB_USAGE,
	  "create or upgrade the PostgreSQL schema, one transaction per migration"
	  ADMIN_PGSQL_NOTE },
	{ "db gc", cmd_pgsql, ADMIN_DB_USAGE,
	  "remove message bodies that no message references any more"
	  ADMIN_PGSQL_NOTE },
	{ "import", cmd_pgsql, "[-c FILE] [-d CONNINFO] [--force] USER [MAILDIR]",
	  "copy USER's maildir (MAILDIR, else the user's maildir location) into\n"
	  "      PostgreSQL with its UIDs, UIDVALIDITY, flags, keywords and dates;\n"
	  "      refused when USER already has mail there, unless --force (which\n"
	  "      replaces the mailboxes imported)" ADMIN_PGSQL_NOTE },
	{ "export", cmd_pgsql, "[-c FILE] USER MAILDIR",
	  "write USER's mail in PostgreSQL as a new Maildir++ folder MAILDIR with\n"
	  "      its UIDs (dovecot-uidlist), UIDVALIDITY, flags and keywords"
	  ADMIN_PGSQL_NOTE },
};
static const size_t admin_cmd_count = sizeof(admin_cmds) / sizeof(admin_cmds[0]);

/* admin_usage - the commands whose name starts with `prefix` (all when
 * NULL). */
static void admin_usage(FILE *out, const char *prefix)
{
	size_t n = prefix != NULL ? strlen(prefix) : 0;

	fprintf(out, "Usage: poczta-admin COMMAND [OPTIONS] [ARGS]\n"
		     "       poczta-admin --help | --version\n\nCommands:\n");
	for (size_t i = 0; i < admin_cmd_count; i++) {
		const char *name = admin_cmds[i].name;
		if (prefix == NULL || (strncmp(name, prefix, n) == 0 &&
				       (name[n] == '\0' || name[n] == ' ')))
			admin_cmd_usage(out, &admin_cmds[i]);
	}
}

/* admin_cmd_match - how many argv words `name` takes, or 0 if it does not
 * match the start of argv. */
static int admin_cmd_match(const char *name, int argc, char **argv)
{
	int words = 0;

	while (*name != '\0') {
		size_t n = strcspn(name, " ");
		if (words >= argc || strlen(argv[words]) != n ||
		    strncmp(argv[words], name, n) != 0)
			return 0;
		words++;
		name += n;
		name += strspn(name, " ");
	}
	return words;
}

/* admin_find - the command with the longest name that argv starts with. */
static const struct admin_cmd *admin_find(int argc, char **argv, int *words_r)
{
	const struct admin_cmd *best = NULL;

	*words_r = 0;
	for (size_t i = 0; i < admin_cmd_count; i++) {
		int words = admin_cmd_match(admin_cmds[i].name, argc, argv);
		if (words > *words_r) {
			best = &admin_cmds[i];
			*words_r = words;
		}
	}
	return best;
}

/* admin_is_group - whether `word` starts some command's name ("user"). */
static int admin_is_group(const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i < admin_cmd_count; i++) {
		if (strncmp(admin_cmds[i].name, word, n) == 0 &&
		    admin_cmds[i].name[n] == ' ')
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct admin_cmd *cmd;
	int words;

	if (argc < 2) {
		admin_usage(stderr, NULL);
		return ADMIN_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		admin_usage(stdout, NULL);
		return ADMIN_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("%s\n", ADMIN_VERSION);
		return ADMIN_OK;
	}
	cmd = admin_find(argc - 1, argv + 1, &words);
	if (cmd == NULL) {
		if (admin_is_group(argv[1]))
			admin_error(NULL, "'%s' needs a subcommand", argv[1]);
		else
			admin_error(NULL, "unknown command '%s'", argv[1]);
		admin_usage(stderr, admin_is_group(argv[1]) ? argv[1] : NULL);
		return ADMIN_USAGE;
	}
	/* The command sees its last name word as argv[0], as getopt wants. */
	opterr = 0;
	optind = 1;
	return cmd->fn(cmd, argc - words, argv + words);
}
