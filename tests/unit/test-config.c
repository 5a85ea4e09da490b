/* tests/unit/test-config.c - tests of the configuration parser
 * (core/config.c): files, includes and every parse error with its
 * file:line, the value parsers, key checks, value lookup and dump.
 *
 * Each parse case is written to a fresh mkdtemp folder.  In expected
 * strings '@' stands for that folder; renderings name files relative to it.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

#define X2(s) s s
#define X4(s) X2(X2(s))
#define X32(s) X4(X4(X2(s)))

struct test_file {
	const char *path; /* relative to the case's folder */
	const char *text;
};

struct parse_case {
	const char *name;
	const char *main;      /* text of main.conf; NULL: no main.conf */
	size_t main_len;       /* 0: strlen(main) */
	struct test_file extra[10];
	const char *want;      /* render() of the config when it parses */
	const char *want_error;
};

static const struct parse_case parse_cases[] = {
	{ "globals", "a = 1\nb=2\n  c   =   three  words \t\n", 0, { { 0 } },
	  "main.conf:1 a=[1]\nmain.conf:2 b=[2]\nmain.conf:3 c=[three  words]\n",
	  NULL },
	{ "comments and blank lines",
	  "# top\n\n   # indented\n\t\na = x # not a comment\n#\n", 0,
	  { { 0 } }, "main.conf:5 a=[x # not a comment]\n", NULL },
	{ "empty file", "", 0, { { 0 } }, "", NULL },
	{ "quotes",
	  "a = \"  keep  \"\nb = \"say \\\"hi\\\" \\\\ done\"\nc = \"\"\n"
	  "d =\ne = \"#x\"  \nf = un\"quoted\\n\n", 0, { { 0 } },
	  "main.conf:1 a=[  keep  ]\nmain.conf:2 b=[say \"hi\" \\ done]\n"
	  "main.conf:3 c=[]\nmain.conf:4 d=[]\nmain.conf:5 e=[#x]\n"
	  "main.conf:6 f=[un\"quoted\\n]\n", NULL },
	{ "sections",
	  "x = 1\nmodule imap {\n  port = 143\n\n}\nlistener imaps {\n}\n"
	  "y = 2\nmodule  pop3{\n\tport=110\n  }\n", 0, { { 0 } },
	  "main.conf:1 x=[1]\nmain.conf:8 y=[2]\n"
	  "main.conf:2 module imap {\nmain.conf:3   port=[143]\n}\n"
	  "main.conf:6 listener imaps {\n}\n"
	  "main.conf:9 module pop3 {\nmain.conf:10   port=[110]\n}\n", NULL },
	{ "names", "A-b_c.9 = 1\na.b c-d_1 {\n}\nv = b = c {\n", 0, { { 0 } },
	  "main.conf:1 A-b_c.9=[1]\nmain.conf:4 v=[b = c {]\n"
	  "main.conf:2 a.b c-d_1 {\n}\n", NULL },
	{ "crlf", "a = 1\r\nmodule m {\r\n k = \"v \"\r\n}\r\nb = 2\r\n", 0,
	  { { 0 } },
	  "main.conf:1 a=[1]\nmain.conf:5 b=[2]\n"
	  "main.conf:2 module m {\nmain.conf:3   k=[v ]\n}\n", NULL },
	{ "no newline at end", "a = 1\nb = 2", 0, { { 0 } },
	  "main.conf:1 a=[1]\nmain.conf:2 b=[2]\n", NULL },
	{ "a lone cr stays", "a = x\ry\nb = z\r\r\n", 0, { { 0 } },
	  "main.conf:1 a=[x\ry]\nmain.conf:2 b=[z\r]\n", NULL },
	{ "key named include", "include = yes\ninclude=no\ninclude\t= x\n", 0,
	  { { 0 } },
	  "main.conf:1 include=[yes]\nmain.conf:2 include=[no]\n"
	  "main.conf:3 include=[x]\n", NULL },
	{ "include glob in sorted order",
	  "a = 0\ninclude conf.d/*.conf\nz = 9\n", 0,
	  { { "conf.d/20-b.conf", "b = 2\nmodule b {\n}\n" },
	    { "conf.d/10-a.conf", "\na = 1\n" },
	    { "conf.d/README", "not a config" } },
	  "main.conf:1 a=[0]\nconf.d/10-a.conf:2 a=[1]\nconf.d/20-b.conf:1 b=[2]\n"
	  "main.conf:3 z=[9]\nconf.d/20-b.conf:2 module b {\n}\n", NULL },
	{ "include of an empty glob",
	  "include nothing/*.conf\ninclude *.none\ninclude \"x?\"\na = 1\n", 0,
	  { { 0 } }, "main.conf:4 a=[1]\n", NULL },
	{ "include relative to the including file",
	  "include \"sub dir/x.conf\"\n", 0,
	  { { "sub dir/x.conf", "include y.conf\nmodule m {\nk = v\n}\n" },
	    { "sub dir/y.conf", "y = 1\n" } },
	  "sub dir/y.conf:1 y=[1]\n"
	  "sub dir/x.conf:2 module m {\nsub dir/x.conf:3   k=[v]\n}\n", NULL },
	{ "include folder with glob characters",
	  "include we\\[ird]/in.conf\n", 0,
	  { { "we[ird]/in.conf", "include s*.conf\n" },
	    { "we[ird]/s2.conf", "b = 2\n" },
	    { "we[ird]/s1.conf", "a = 1\n" } },
	  "we[ird]/s1.conf:1 a=[1]\nwe[ird]/s2.conf:1 b=[2]\n", NULL },
	{ "include 8 deep", "include d1.conf\n", 0,
	  { { "d1.conf", "include d2.conf\n" }, { "d2.conf", "include d3.conf\n" },
	    { "d3.conf", "include d4.conf\n" }, { "d4.conf", "include d5.conf\n" },
	    { "d5.conf", "include d6.conf\n" }, { "d6.conf", "include d7.conf\n" },
	    { "d7.conf", "include d8.conf\n" }, { "d8.conf", "a = 8\n" } },
	  "d8.conf:1 a=[8]\n", NULL },

	{ "missing main file", NULL, 0, { { 0 } }, NULL,
	  "@/main.conf: cannot open: No such file or directory" },
	{ "main file is a folder", NULL, 0, { { "main.conf/x", "" } }, NULL,
	  "@/main.conf: cannot open: not a regular file" },
	{ "unterminated quote", "a = 1\nb = \"abc\n", 0, { { 0 } }, NULL,
	  "@/main.conf:2: unterminated quote" },
	{ "unterminated after escape", "b = \"abc\\\"\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: unterminated quote" },
	{ "escape at end", "b = \"abc\\", 0, { { 0 } }, NULL,
	  "@/main.conf:1: unterminated quote" },
	{ "invalid escape", "\n\nb = \"a\\nb\"\n", 0, { { 0 } }, NULL,
	  "@/main.conf:3: invalid escape in quoted value (only \\\" and \\\\ "
	  "are allowed)" },
	{ "text after quote", "a = \"x\" y\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: unexpected text after closing quote" },
	{ "close without section", "a = 1\n}\n", 0, { { 0 } }, NULL,
	  "@/main.conf:2: '}' without a section" },
	{ "text after close", "m n {\n} x\n", 0, { { 0 } }, NULL,
	  "@/main.conf:2: unexpected text after '}'" },
	{ "section not closed", "a = 1\nmodule imap {\nk = v\n", 0, { { 0 } },
	  NULL, "@/main.conf:2: section 'module imap' is not closed at end of "
	  "file" },
	{ "section not closed in include", "include inc.conf\n}\n", 0,
	  { { "inc.conf", "\nmodule m {\n" } }, NULL,
	  "@/inc.conf:2: section 'module m' is not closed at end of file" },
	{ "nested section", "module a {\n  listener b {\n}\n}\n", 0, { { 0 } },
	  NULL, "@/main.conf:2: section 'listener b' inside section 'module a' "
	  "(opened at line 1): sections do not nest" },
	{ "missing =", "a = 1\njunk\n", 0, { { 0 } }, NULL,
	  "@/main.conf:2: missing '=' (expected 'key = value')" },
	{ "empty key", " = v\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: empty key before '='" },
	{ "key with a blank", "a b = 1\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: invalid key 'a b' (keys are letters, digits, '_', "
	  "'.' and '-')" },
	{ "key with utf-8", "k\xc3\xa9 = 1\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: invalid key 'k\xc3\xa9' (keys are letters, digits, "
	  "'_', '.' and '-')" },
	{ "section without name", "module {\n}\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: section header must be 'TYPE NAME {' (letters, "
	  "digits, '_', '.' and '-')" },
	{ "section with three words", "module a b {\n}\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: section header must be 'TYPE NAME {' (letters, "
	  "digits, '_', '.' and '-')" },
	{ "section name with a slash", "module a/b {\n}\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: section header must be 'TYPE NAME {' (letters, "
	  "digits, '_', '.' and '-')" },
	{ "open brace alone", "{\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: section header must be 'TYPE NAME {' (letters, "
	  "digits, '_', '.' and '-')" },
	{ "include of a missing file", "a = 1\ninclude missing.conf\n", 0,
	  { { 0 } }, NULL,
	  "@/main.conf:2: include: cannot open '@/missing.conf': No such file "
	  "or directory" },
	{ "include of a folder", "include sub\n", 0, { { "sub/x", "" } }, NULL,
	  "@/main.conf:1: include: cannot open '@/sub': not a regular file" },
	{ "include inside a section", "module m {\ninclude x.conf\n}\n", 0,
	  { { "x.conf", "" } }, NULL,
	  "@/main.conf:2: include inside section 'module m': includes are "
	  "allowed only at the top level" },
	{ "include without a name", "include\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: include: missing file name" },
	{ "include of an empty string", "include \"\"\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: include: missing file name" },
	{ "include loop", "a = 1\ninclude main.conf\n", 0, { { 0 } }, NULL,
	  "@/main.conf:2: include nested more than 8 deep (include loop?)" },
	{ "include loop through a glob", "include *.conf\n", 0, { { 0 } }, NULL,
	  "@/main.conf:1: include nested more than 8 deep (include loop?)" },
	{ "include 9 deep", "include d1.conf\n", 0,
	  { { "d1.conf", "include d2.conf\n" }, { "d2.conf", "include d3.conf\n" },
	    { "d3.conf", "include d4.conf\n" }, { "d4.conf", "include d5.conf\n" },
	    { "d5.conf", "include d6.conf\n" }, { "d6.conf", "include d7.conf\n" },
	    { "d7.conf", "include d8.conf\n" },
	    { "d8.conf", "\ninclude d9.conf\n" }, { "d9.conf", "a = 9\n" } },
	  NULL, "@/d8.conf:2: include nested more than 8 deep (include loop?)" },
	{ "too many files read", X32("include b.conf\n"), 0,
	  { { "b.conf", X32("include c.conf\n") }, { "c.conf", "" } }, NULL,
	  "@/main.conf:32: include: more than 1024 files read (include loop?)" },
	{ "error in an included file", "include inc.conf\n", 0,
	  { { "inc.conf", "a = 1\nbad line\n" } }, NULL,
	  "@/inc.conf:2: missing '=' (expected 'key = value')" },
	{ "duplicate section", "module a {\n}\n\nmodule a {\n}\n", 0, { { 0 } },
	  NULL, "@/main.conf:4: duplicate section 'module a' (first at "
	  "@/main.conf:1)" },
	{ "duplicate section across files", "module a {\n}\ninclude x.conf\n", 0,
	  { { "x.conf", "listener a {\n}\nmodule a {\n}\n" } }, NULL,
	  "@/x.conf:3: duplicate section 'module a' (first at @/main.conf:1)" },
	{ "nul byte", "a = 1\nb = \0\n", 7 + 4, { { 0 } }, NULL,
	  "@/main.conf:2: NUL byte in line" },
	{ "nul byte in a comment", "# \0\n", 4, { { 0 } }, NULL,
	  "@/main.conf:1: NUL byte in line" },
};

/* subst - tmpl with each '@' replaced by dir (malloc'd) */
static char *subst(const char *tmpl, const char *dir)
{
	size_t n = 0, dlen = strlen(dir);
	const char *s;
	char *out, *o;

	for (s = tmpl; *s != '\0'; s++)
		n += *s == '@' ? dlen : 1;
	out = o = malloc(n + 1);
	assert_non_null(out);
	for (s = tmpl; *s != '\0'; s++) {
		if (*s == '@') {
			memcpy(o, dir, dlen);
			o += dlen;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* write_file - write len bytes of text to dir/rel, creating folders */
static void write_file(const char *dir, const char *rel, const char *text,
		       size_t len)
{
	char path[4096];
	char *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')) != NULL;
	     slash++) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* remove_entry - nftw callback of remove_tree */
static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

/* remove_tree - delete dir and everything in it */
static void remove_tree(const char *dir)
{
	assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* make_dir - a fresh temporary folder */
static void make_dir(char dir[static 64])
{
	snprintf(dir, 64, "/tmp/test-config.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

/* rel_path - path relative to dir when it is inside it */
static const char *rel_path(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strncmp(path, dir, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

/* render - every entry and section with its file:line (malloc'd) */
static char *render(const struct pz_config *cfg, const char *dir)
{
	const struct pz_conf_section *sec;
	char *buf = NULL;
	size_t len = 0, i, j;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	for (i = 0; i < cfg->n_globals; i++) {
		fprintf(out, "%s:%u %s=[%s]\n", rel_path(cfg->globals[i].file, dir),
			cfg->globals[i].line, cfg->globals[i].key,
			cfg->globals[i].value);
	}
	for (i = 0; i < cfg->n_sections; i++) {
		sec = &cfg->sections[i];
		fprintf(out, "%s:%u %s %s {\n", rel_path(sec->file, dir),
			sec->line, sec->type, sec->name);
		for (j = 0; j < sec->n_entries; j++) {
			fprintf(out, "%s:%u   %s=[%s]\n",
				rel_path(sec->entries[j].file, dir),
				sec->entries[j].line, sec->entries[j].key,
				sec->entries[j].value);
		}
		fputs("}\n", out);
	}
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* same_str - whether got equals want; prints both when not */
static int same_str(const char *row, const char *what, const char *got,
		    const char *want)
{
	if (got != NULL && want != NULL && strcmp(got, want) == 0)
		return 1;
	if (got == NULL && want == NULL)
		return 1;
	print_message("FAIL %s: %s\n got: %s\nwant: %s\n", row, what,
		      got == NULL ? "(null)" : got, want == NULL ? "(null)" : want);
	return 0;
}

/* same_entries - whether two entry arrays hold the same keys and values */
static int same_entries(const struct pz_conf_entry *a, size_t na,
			const struct pz_conf_entry *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i].key, b[i].key) != 0 ||
		    strcmp(a[i].value, b[i].value) != 0)
			return 0;
	}
	return 1;
}

/* same_config - whether two configs hold the same entries and sections */
static int same_config(const struct pz_config *a, const struct pz_config *b)
{
	size_t i;

	if (!same_entries(a->globals, a->n_globals, b->globals, b->n_globals) ||
	    a->n_sections != b->n_sections)
		return 0;
	for (i = 0; i < a->n_sections; i++) {
		if (strcmp(a->sections[i].type, b->sections[i].type) != 0 ||
		    strcmp(a->sections[i].name, b->sections[i].name) != 0 ||
		    !same_entries(a->sections[i].entries,
				  a->sections[i].n_entries,
				  b->sections[i].entries,
				  b->sections[i].n_entries))
			return 0;
	}
	return 1;
}

/* dump_round_trip - whether cfg dumped to dir and parsed back is equal */
static int dump_round_trip(const char *row, const struct pz_config *cfg,
			   const char *dir)
{
	struct pz_config *back = NULL;
	char path[128], *error = NULL;
	FILE *fp;
	int ok;

	snprintf(path, sizeof(path), "%s/dump.out", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	pz_config_dump(cfg, fp);
	assert_int_equal(ferror(fp), 0);
	assert_int_equal(fclose(fp), 0);
	if (pz_config_parse(path, &back, &error) < 0) {
		print_message("FAIL %s: dump does not parse: %s\n", row, error);
		free(error);
		return 0;
	}
	ok = same_config(cfg, back);
	if (!ok)
		print_message("FAIL %s: dump parses to another config\n", row);
	pz_config_free(&back);
	assert_null(back);
	return ok;
}

/* run_parse - parse dir/main.conf and compare with want_error, or with
 * want (unless NULL); a config that parses must survive a dump round trip */
static int run_parse(const char *row, const char *dir, const char *want,
		     const char *want_error)
{
	struct pz_config *cfg = NULL;
	char path[128], *error = NULL, *got, *wanted;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/main.conf", dir);
	if (pz_config_parse(path, &cfg, &error) < 0) {
		assert_null(cfg);
		wanted = want_error == NULL ? NULL : subst(want_error, dir);
		ok = same_str(row, "error", error,
			      wanted == NULL ? "(no error)" : wanted);
		free(wanted);
		free(error);
		return ok;
	}
	assert_null(error);
	assert_string_equal(cfg->path, path);
	if (want_error != NULL || want != NULL) {
		got = render(cfg, dir);
		ok = same_str(row, "config", got, want_error == NULL ? want :
			      "(an error)");
		free(got);
	}
	if (ok)
		ok = dump_round_trip(row, cfg, dir);
	pz_config_free(&cfg);
	assert_null(cfg);
	return ok;
}

static void test_parse(void **state)
{
	const struct parse_case *c;
	int failures = 0;
	char dir[64];
	size_t i, j;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		c = &parse_cases[i];
		make_dir(dir);
		if (c->main != NULL) {
			write_file(dir, "main.conf", c->main, c->main_len != 0 ?
				   c->main_len : strlen(c->main));
		}
		for (j = 0; j < 10 && c->extra[j].path != NULL; j++) {
			write_file(dir, c->extra[j].path, c->extra[j].text,
				   strlen(c->extra[j].text));
		}
		failures += !run_parse(c->name, dir, c->want, c->want_error);
		remove_tree(dir);
	}
	assert_int_equal(failures, 0);
}

/* A line of `head`, `fill` times 'x', then `tail`. */
struct line_case {
	const char *name;
	const char *head;
	size_t fill;
	const char *tail;
	const char *want_error;
};

static const struct line_case line_cases[] = {
	{ "longest line", "k=", PZ_CONF_MAX_LINE - 2, "\n", NULL },
	{ "longest line with crlf", "k=", PZ_CONF_MAX_LINE - 2, "\r\n", NULL },
	{ "longest line at end of file", "k=", PZ_CONF_MAX_LINE - 2, "", NULL },
	{ "longest value ending in cr", "k=", PZ_CONF_MAX_LINE - 3, "\r\r\n",
	  NULL },
	{ "longest quoted line in a section", "m n {\nk=\"",
	  PZ_CONF_MAX_LINE - 4, "\"\n}\n", NULL },
	{ "longest quoted value with a blank", "k=\" ", PZ_CONF_MAX_LINE - 5,
	  "\"\n", NULL },
	{ "longest key with an empty value", "", PZ_CONF_MAX_LINE - 1, "=\n",
	  NULL },
	{ "longest section header", "m ", PZ_CONF_MAX_LINE - 3, "{\n}\n", NULL },
	{ "line too long", "a = 1\nk=", PZ_CONF_MAX_LINE - 1, "\n",
	  "@/main.conf:2: line too long (more than 8192 bytes)" },
	{ "line too long at end of file", "k=", PZ_CONF_MAX_LINE - 1, "",
	  "@/main.conf:1: line too long (more than 8192 bytes)" },
	{ "line too long with cr", "k=", PZ_CONF_MAX_LINE - 2, "\r\r\n",
	  "@/main.conf:1: line too long (more than 8192 bytes)" },
	{ "comment too long", "# ", PZ_CONF_MAX_LINE - 1, "\n",
	  "@/main.conf:1: line too long (more than 8192 bytes)" },
};

static void test_parse_line_limit(void **state)
{
	const struct line_case *c;
	size_t i, hlen, tlen, len;
	int failures = 0;
	char dir[64], *text;

	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		c = &line_cases[i];
		hlen = strlen(c->head);
		tlen = strlen(c->tail);
		len = hlen + c->fill + tlen;
		text = malloc(len);
		assert_non_null(text);
		memcpy(text, c->head, hlen);
		memset(text + hlen, 'x', c->fill);
		memcpy(text + hlen + c->fill, c->tail, tlen);
		make_dir(dir);
		write_file(dir, "main.conf", text, len);
		failures += !run_parse(c->name, dir, NULL, c->want_error);
		free(text);
		remove_tree(dir);
	}
	assert_int_equal(failures, 0);
}

/* The rows of test_parse_line_limit are too long to render; this one
 * checks that only one '\r' of "\r\r\n" is taken as the line end. */
static void test_parse_line_limit_values(void **state)
{
	struct pz_config *cfg = NULL;
	char dir[64], path[128], *text, *error = NULL;
	const size_t n = PZ_CONF_MAX_LINE - 3;

	make_dir(dir);
	text = malloc(n + 5);
	assert_non_null(text);
	memcpy(text, "k=", 2);
	memset(text + 2, 'x', n);
	memcpy(text + 2 + n, "\r\r\n", 3);
	write_file(dir, "main.conf", text, n + 5);
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	assert_int_equal(pz_config_parse(path, &cfg, &error), 0);
	assert_int_equal(cfg->n_globals, 1);
	assert_int_equal(strlen(cfg->globals[0].value), n + 1);
	assert_int_equal(cfg->globals[0].value[n], '\r');
	pz_config_free(&cfg);
	free(text);
	remove_tree(dir);
}

/* Dump text, for a config read from `text`. */
struct dump_case {
	const char *name;
	const char *text;
	const char *want;
};

static const struct dump_case dump_cases[] = {
	{ "empty", "", "" },
	{ "globals only", "a = 1\nb =  \" x\"\n", "a = 1\nb = \" x\"\n" },
	{ "everything",
	  "b = 2\nmodule imap {\n  port = 143\n  greeting = \" hi \"\n"
	  "  empty =\n}\na = \"x\\\"y\"\nlistener imaps {\n}\n"
	  "q = \"\\\"\\\\\"\nc = a\\b\n",
	  "b = 2\na = x\"y\nq = \"\\\"\\\\\"\nc = a\\b\n\n"
	  "module imap {\n\tport = 143\n\tgreeting = \" hi \"\n\tempty =\n}\n\n"
	  "listener imaps {\n}\n" },
	{ "sections only", "m a {\nk = v\n}\n", "m a {\n\tk = v\n}\n" },
	{ "value ending in cr", "k = v\r\r\n", "k = v\r\r\n" },
};

static void test_dump(void **state)
{
	struct pz_config *cfg = NULL;
	char dir[64], path[128], *error = NULL, *got;
	const struct dump_case *c;
	int failures = 0;
	size_t i, len;
	FILE *out;

	for (i = 0; i < sizeof(dump_cases) / sizeof(dump_cases[0]); i++) {
		c = &dump_cases[i];
		make_dir(dir);
		write_file(dir, "main.conf", c->text, strlen(c->text));
		snprintf(path, sizeof(path), "%s/main.conf", dir);
		if (pz_config_parse(path, &cfg, &error) < 0) {
			failures += !same_str(c->name, "parse", error, NULL);
			free(error);
			error = NULL;
			remove_tree(dir);
			continue;
		}
		got = NULL;
		out = open_memstream(&got, &len);
		assert_non_null(out);
		pz_config_dump(cfg, out);
		assert_int_equal(fclose(out), 0);
		failures += !same_str(c->name, "dump", got, c->want);
		failures += !dump_round_trip(c->name, cfg, dir);
		free(got);
		pz_config_free(&cfg);
		remove_tree(dir);
	}
	assert_int_equal(failures, 0);
}

struct bool_case {
	const char *in;
	int ret;
	int want;
};

static const struct bool_case bool_cases[] = {
	{ "yes", 0, 1 }, { "YES", 0, 1 }, { "true", 0, 1 }, { "True", 0, 1 },
	{ "on", 0, 1 }, { "1", 0, 1 }, { "no", 0, 0 }, { "No", 0, 0 },
	{ "false", 0, 0 }, { "FALSE", 0, 0 }, { "off", 0, 0 }, { "OFF", 0, 0 },
	{ "0", 0, 0 },
	{ "", -1, 0 }, { "y", -1, 0 }, { "2", -1, 0 }, { "yes ", -1, 0 },
	{ " no", -1, 0 }, { "enable", -1, 0 }, { "00", -1, 0 },
};

static void test_parse_bool(void **state)
{
	int failures = 0, ret, got;
	size_t i;

	for (i = 0; i < sizeof(bool_cases) / sizeof(bool_cases[0]); i++) {
		got = -7;
		ret = pz_conf_parse_bool(bool_cases[i].in, &got);
		if (ret != bool_cases[i].ret ||
		    (ret == 0 && got != bool_cases[i].want)) {
			print_message("FAIL bool '%s': got %d/%d, want %d/%d\n",
				      bool_cases[i].in, ret, got,
				      bool_cases[i].ret, bool_cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

struct int_case {
	const char *in;
	int ret;
	int64_t want;
};

static const struct int_case int_cases[] = {
	{ "0", 0, 0 }, { "42", 0, 42 }, { "-1", 0, -1 }, { "+7", 0, 7 },
	{ "007", 0, 7 },
	{ "9223372036854775807", 0, INT64_MAX },
	{ "-9223372036854775808", 0, INT64_MIN },
	{ "9223372036854775808", -1, 0 }, { "-9223372036854775809", -1, 0 },
	{ "99999999999999999999999", -1, 0 },
	{ "", -1, 0 }, { "-", -1, 0 }, { "+", -1, 0 }, { "1x", -1, 0 },
	{ " 1", -1, 0 }, { "1 ", -1, 0 }, { "0x10", -1, 0 }, { "1e3", -1, 0 },
	{ "--1", -1, 0 }, { "- 1", -1, 0 },
};

static void test_parse_int(void **state)
{
	int failures = 0, ret;
	int64_t got;
	size_t i;

	for (i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
		got = -7;
		ret = pz_conf_parse_int(int_cases[i].in, &got);
		if (ret != int_cases[i].ret ||
		    (ret == 0 && got != int_cases[i].want)) {
			print_message("FAIL int '%s': got %d/%lld, want %d/%lld\n",
				      int_cases[i].in, ret, (long long)got,
				      int_cases[i].ret,
				      (long long)int_cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A row for the size and duration parsers. */
struct u64_case {
	int (*parse)(const char *s, uint64_t *out);
	const char *in;
	int ret;
	uint64_t want;
};

#define SZ pz_conf_parse_size
#define DUR pz_conf_parse_duration_ms

static const struct u64_case u64_cases[] = {
	{ SZ, "0", 0, 0 }, { SZ, "10", 0, 10 }, { SZ, "10B", 0, 10 },
	{ SZ, "4k", 0, 4096 }, { SZ, "4K", 0, 4096 }, { SZ, "4kB", 0, 4096 },
	{ SZ, "4KB", 0, 4096 }, { SZ, "4kb", 0, 4096 },
	{ SZ, "25M", 0, 25ULL << 20 }, { SZ, "25mb", 0, 25ULL << 20 },
	{ SZ, "1G", 0, 1ULL << 30 }, { SZ, "1g", 0, 1ULL << 30 },
	{ SZ, "1GB", 0, 1ULL << 30 }, { SZ, "0k", 0, 0 },
	{ SZ, "18446744073709551615", 0, UINT64_MAX },
	{ SZ, "18446744073709551616", -1, 0 },
	{ SZ, "99999999999999999999999", -1, 0 },
	{ SZ, "17179869183G", 0, 17179869183ULL << 30 },
	{ SZ, "17179869184G", -1, 0 },
	{ SZ, "17592186044415M", 0, 17592186044415ULL << 20 },
	{ SZ, "17592186044416M", -1, 0 },
	{ SZ, "18014398509481984k", -1, 0 },
	{ SZ, "", -1, 0 }, { SZ, "k", -1, 0 }, { SZ, "-1", -1, 0 },
	{ SZ, "+1", -1, 0 }, { SZ, " 1", -1, 0 }, { SZ, "1 ", -1, 0 },
	{ SZ, "1 M", -1, 0 }, { SZ, "1T", -1, 0 }, { SZ, "1.5M", -1, 0 },
	{ SZ, "1kk", -1, 0 }, { SZ, "1Bk", -1, 0 }, { SZ, "0x10", -1, 0 },
	{ SZ, "1MiB", -1, 0 },

	{ DUR, "30", 0, 30000 }, { DUR, "0", 0, 0 }, { DUR, "500ms", 0, 500 },
	{ DUR, "5s", 0, 5000 }, { DUR, "2m", 0, 120000 },
	{ DUR, "1h", 0, 3600000 }, { DUR, "1d", 0, 86400000 },
	{ DUR, "18446744073709551", 0, 18446744073709551000ULL },
	{ DUR, "18446744073709552", -1, 0 },
	{ DUR, "18446744073709551615ms", 0, UINT64_MAX },
	{ DUR, "18446744073709551616ms", -1, 0 },
	{ DUR, "213503982334d", 0, 213503982334ULL * 86400000 },
	{ DUR, "213503982335d", -1, 0 },
	{ DUR, "5124095576030h", 0, 5124095576030ULL * 3600000 },
	{ DUR, "5124095576031h", -1, 0 },
	{ DUR, "", -1, 0 }, { DUR, "ms", -1, 0 }, { DUR, "5S", -1, 0 },
	{ DUR, "5M", -1, 0 }, { DUR, "1w", -1, 0 }, { DUR, "-1", -1, 0 },
	{ DUR, "1.5s", -1, 0 }, { DUR, "5 s", -1, 0 }, { DUR, "5sec", -1, 0 },
	{ DUR, "5mss", -1, 0 }, { DUR, "5sm", -1, 0 },
};

static void test_parse_size_duration(void **state)
{
	const struct u64_case *c;
	int failures = 0, ret;
	uint64_t got;
	size_t i;

	for (i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		c = &u64_cases[i];
		got = 7;
		ret = c->parse(c->in, &got);
		if (ret != c->ret || (ret == 0 && got != c->want)) {
			print_message("FAIL %s '%s': got %d/%llu, want %d/%llu\n",
				      c->parse == SZ ? "size" : "duration",
				      c->in, ret, (unsigned long long)got,
				      c->ret, (unsigned long long)c->want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static const struct pz_config_key test_schema[] = {
	{ "name", PZ_CONF_STRING, "def", "a string" },
	{ "count", PZ_CONF_INT, NULL, "an integer" },
	{ "tls", PZ_CONF_BOOL, "no", "a boolean" },
	{ "max_size", PZ_CONF_SIZE, "10M", "a size" },
	{ "timeout", PZ_CONF_DURATION, "30s", "a duration" },
	{ "dir", PZ_CONF_PATH, NULL, "a path" },
	{ "users", PZ_CONF_LIST, "a b", "a list" },
	{ "broken", (enum pz_conf_type)99, NULL, "a type the core lacks" },
	{ NULL, 0, NULL, NULL }
};

/* One entry (at f.conf:7) checked against test_schema, or no schema. */
struct check_case {
	const char *key;
	const char *value;
	int no_schema;
	const char *want_error;
};

static const struct check_case check_cases[] = {
	{ "name", "anything at all", 0, NULL },
	{ "name", "", 0, NULL },
	{ "count", "-5", 0, NULL },
	{ "tls", "on", 0, NULL },
	{ "max_size", "25M", 0, NULL },
	{ "timeout", "500ms", 0, NULL },
	{ "dir", "../x", 0, NULL },
	{ "users", " a  b ", 0, NULL },
	{ "nope", "1", 0, "f.conf:7: unknown key 'nope' in module test" },
	{ "Name", "1", 0, "f.conf:7: unknown key 'Name' in module test" },
	{ "name", "1", 1, "f.conf:7: unknown key 'name' in module test" },
	{ "count", "five", 0, "f.conf:7: bad value 'five' for 'count' in "
	  "module test: expected an integer such as 10 or -1" },
	{ "tls", "maybe", 0, "f.conf:7: bad value 'maybe' for 'tls' in "
	  "module test: expected yes/no, true/false, on/off or 1/0" },
	{ "max_size", "10Q", 0, "f.conf:7: bad value '10Q' for 'max_size' in "
	  "module test: expected a size such as 10M" },
	{ "max_size", "", 0, "f.conf:7: bad value '' for 'max_size' in "
	  "module test: expected a size such as 10M" },
	{ "timeout", "soon", 0, "f.conf:7: bad value 'soon' for 'timeout' in "
	  "module test: expected a duration such as 30s, 500ms or 5m" },
	{ "broken", "x", 0, "f.conf:7: bad value 'x' for 'broken' in "
	  "module test: the module declares this key with an unknown type" },
};

/* entry - an entry of key = value at file:line */
static struct pz_conf_entry entry(const char *key, const char *value,
				  const char *file, unsigned int line)
{
	struct pz_conf_entry e = { (char *)key, (char *)value, file, line };

	return e;
}

static void test_check_keys(void **state)
{
	const struct check_case *c;
	struct pz_conf_entry e;
	char *error;
	int failures = 0, ret;
	size_t i;

	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		c = &check_cases[i];
		e = entry(c->key, c->value, "f.conf", 7);
		error = (char *)"unset";
		ret = pz_config_check_keys(&e, 1, c->no_schema ? NULL :
					   test_schema, "module test", &error);
		if (ret != (c->want_error == NULL ? 0 : -1) ||
		    !same_str(c->key, "check", error, c->want_error)) {
			print_message("FAIL check '%s = %s': returned %d\n",
				      c->key, c->value, ret);
			failures++;
		}
		if (ret < 0)
			free(error);
	}
	assert_int_equal(failures, 0);
}

static void test_check_keys_first_error(void **state)
{
	struct pz_conf_entry e[3];
	char *error = NULL;

	e[0] = entry("count", "1", "a.conf", 1);
	e[1] = entry("tls", "x", "a.conf", 2);
	e[2] = entry("nope", "1", "b.conf", 3);
	assert_int_equal(pz_config_check_keys(e, 3, test_schema, "the top level",
					      &error), -1);
	assert_string_equal(error, "a.conf:2: bad value 'x' for 'tls' in the "
			    "top level: expected yes/no, true/false, on/off or 1/0");
	free(error);
	assert_int_equal(pz_config_check_keys(e, 0, NULL, "x", &error), 0);
	assert_null(error);
}

/* A lookup in lookup_entries, with test_schema or no schema. */
struct lookup_case {
	const char *key;
	int no_schema;
	const char *want;
	unsigned int want_line; /* of pz_config_find; 0: not found */
};

static const struct lookup_case lookup_cases[] = {
	{ "name", 0, "3", 3 },
	{ "name", 1, "3", 3 },
	{ "count", 0, "2", 2 },
	{ "tls", 0, "no", 0 },
	{ "tls", 1, NULL, 0 },
	{ "users", 0, "a b", 0 },
	{ "dir", 0, NULL, 0 },
	{ "zzz", 0, NULL, 0 },
	{ "nam", 0, NULL, 0 },
};

static void test_value(void **state)
{
	const struct pz_conf_entry *found;
	const struct lookup_case *c;
	struct pz_conf_entry e[3];
	int failures = 0;
	const char *got;
	size_t i;

	e[0] = entry("name", "1", "f.conf", 1);
	e[1] = entry("count", "2", "f.conf", 2);
	e[2] = entry("name", "3", "f.conf", 3);
	for (i = 0; i < sizeof(lookup_cases) / sizeof(lookup_cases[0]); i++) {
		c = &lookup_cases[i];
		got = pz_config_value(e, 3, c->no_schema ? NULL : test_schema,
				      c->key);
		failures += !same_str(c->key, "value", got, c->want);
		found = pz_config_find(e, 3, c->key);
		if ((found == NULL ? 0 : found->line) != c->want_line) {
			print_message("FAIL find '%s': got line %u, want %u\n",
				      c->key, found == NULL ? 0 : found->line,
				      c->want_line);
			failures++;
		}
	}
	assert_null(pz_config_find(NULL, 0, "name"));
	assert_null(pz_config_value(NULL, 0, NULL, "name"));
	assert_int_equal(failures, 0);
}

/* A section lookup in section_text. */
struct section_case {
	const char *type;
	const char *name;
	unsigned int want_line; /* 0: not found */
};

static const char section_text[] =
	"module imap {\n}\nlistener imap {\n}\nmodule pop3 {\n}\n";

static const struct section_case section_cases[] = {
	{ "module", "imap", 1 }, { "listener", "imap", 3 },
	{ "module", "pop3", 5 }, { "listener", "pop3", 0 },
	{ "module", "IMAP", 0 }, { "modul", "imap", 0 },
};

static void test_section(void **state)
{
	const struct pz_conf_section *sec;
	struct pz_config *cfg = NULL;
	char dir[64], path[128], *error = NULL;
	int failures = 0;
	size_t i;

	make_dir(dir);
	write_file(dir, "main.conf", section_text, strlen(section_text));
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	assert_int_equal(pz_config_parse(path, &cfg, &error), 0);
	for (i = 0; i < sizeof(section_cases) / sizeof(section_cases[0]); i++) {
		sec = pz_config_section(cfg, section_cases[i].type,
					section_cases[i].name);
		if ((sec == NULL ? 0 : sec->line) != section_cases[i].want_line) {
			print_message("FAIL section '%s %s': got line %u, want "
				      "%u\n", section_cases[i].type,
				      section_cases[i].name,
				      sec == NULL ? 0 : sec->line,
				      section_cases[i].want_line);
			failures++;
		}
	}
	pz_config_free(&cfg);
	pz_config_free(&cfg);
	remove_tree(dir);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_line_limit),
		cmocka_unit_test(test_parse_line_limit_values),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_parse_size_duration),
		cmocka_unit_test(test_check_keys),
		cmocka_unit_test(test_check_keys_first_error),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
