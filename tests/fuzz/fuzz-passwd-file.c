/* fuzz-passwd-file.c - libFuzzer target for the passwd-file parser
 * (modules/passwd-file/pwfile.c).
 *
 * The first input byte picks the mode, the rest is the data:
 *   bit 0  allow {PLAIN} passwords
 *   bit 1  parse the data as a whole file through pwfile_load (a memfd),
 *          else as one line through pwfile_parse_line
 * Invariants checked: an error is "FILE:LINE: ..."; a parsed line written
 * back with pwfile_format_line parses to the same entry; every entry of a
 * loaded file is found by its name and names are unique.
 *
 * Build (pwfile.c reads in small chunks so lines cross chunk boundaries):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DPWFILE_READ_CHUNK=7 \
 *       tests/fuzz/fuzz-passwd-file.c modules/passwd-file/pwfile.c -lcrypt
 *   ./a.out -max_len=10000 -max_total_time=60
 */
#ifndef _GNU_SOURCE
#  define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../modules/passwd-file/pwfile.h"

#define FUZZ_PLAIN 0x1u
#define FUZZ_FILE 0x2u

static void fuzz_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* fuzz_round_trip - format `e`, parse it again, compare. */
static void fuzz_round_trip(const struct pwfile_entry *e, unsigned int flags)
{
	struct pwfile_entry again;
	char *err = NULL;
	char *line = pwfile_format_line(e, &err);

	fuzz_check(line != NULL, "a parsed entry can be formatted");
	/* Bare keys gain a '=', so a full line may grow past the limit. */
	if (strlen(line) <= PWFILE_MAX_LINE) {
		int ret = pwfile_parse_line("fuzz", 1, line, strlen(line), flags,
					    &again, &err);
		fuzz_check(ret == 1, "a formatted line parses");
		fuzz_check(same(e->name, again.name), "name");
		fuzz_check(e->pw_kind == again.pw_kind, "pw_kind");
		fuzz_check(same(e->password, again.password), "password");
		fuzz_check(same(e->uid, again.uid), "uid");
		fuzz_check(same(e->gid, again.gid), "gid");
		fuzz_check(same(e->gecos, again.gecos), "gecos");
		fuzz_check(same(e->home, again.home), "home");
		fuzz_check(same(e->shell, again.shell), "shell");
		fuzz_check(e->field_count == again.field_count, "field_count");
		for (size_t i = 0; i < e->field_count; i++) {
			fuzz_check(same(e->fields[i].key, again.fields[i].key), "key");
			fuzz_check(same(e->fields[i].value, again.fields[i].value), "value");
		}
		pwfile_entry_clear(&again);
	}
	free(line);
}

static void fuzz_line(const uint8_t *data, size_t size, unsigned int flags)
{
	struct pwfile_entry e;
	char *err = NULL;
	int ret = pwfile_parse_line("fuzz", 1, (const char *)data, size, flags,
				    &e, &err);

	if (ret < 0) {
		fuzz_check(err != NULL && strncmp(err, "fuzz:1: ", 8) == 0,
			   "an error names FILE:LINE");
		free(err);
		return;
	}
	fuzz_check(err == NULL, "no error on success");
	if (ret == 0)
		return;
	fuzz_check(e.name != NULL && e.name[0] != '\0', "a name");
	fuzz_check(e.password != NULL, "a password");
	fuzz_check(e.field_count <= PWFILE_MAX_FIELDS, "bounded fields");
	if (e.pw_kind == PWFILE_PW_PLAIN) {
		char *verr = NULL;
		fuzz_check(pwfile_verify(&e, e.password, &verr) == 1, "plain verifies");
		fuzz_check(pwfile_verify(&e, "", &verr) == 0, "empty does not");
	}
	fuzz_round_trip(&e, flags);
	pwfile_entry_clear(&e);
}

static void fuzz_file(const uint8_t *data, size_t size, unsigned int flags)
{
	char path[64];
	struct pwfile *db;
	char *err = NULL;
	int fd = memfd_create("fuzz-passwd-file", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (pwfile_load(path, flags, &db, &err) == 0) {
		for (size_t i = 0; i < db->count; i++) {
			const struct pwfile_entry *e = &db->entries[i];
			fuzz_check(pwfile_find(db, e->name) == e, "found by name");
			fuzz_check(i == 0 || e->line > db->entries[i - 1].line,
				   "entries in line order");
		}
		for (size_t i = 0; i < db->error_count; i++) {
			fuzz_check(strncmp(db->errors[i].msg, path, strlen(path)) == 0,
				   "a file error names the file");
			fuzz_check(i == 0 || db->errors[i].line > db->errors[i - 1].line,
				   "errors in line order");
		}
		pwfile_free(&db);
	} else {
		free(err);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int mode;

	if (size == 0)
		return 0;
	mode = data[0];
	data++;
	size--;
	if ((mode & FUZZ_FILE) != 0)
		fuzz_file(data, size, (mode & FUZZ_PLAIN) ? PWFILE_ALLOW_PLAINTEXT : 0);
	else
		fuzz_line(data, size, (mode & FUZZ_PLAIN) ? PWFILE_ALLOW_PLAINTEXT : 0);
	return 0;
}
