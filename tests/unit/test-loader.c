/* tests/unit/test-loader.c - the module loader: a good module loads, each
 * kind of bad module is refused with a message naming file, module and the
 * expected and found values. */
#include "config-core.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "core.h"
#include "registry.h"

static char moddir[4096];

static int setup(void **state)
{
	const char *b = getenv("top_builddir");

	snprintf(moddir, sizeof(moddir), "%s/tests/moddir", b != NULL ? b : ".");
	return access(moddir, R_OK) == 0 ? 0 : -1;
}

struct open_row {
	const char *name;
	const char *want; /* substring of the error; NULL: loads */
};

static void test_open_table(void **state)
{
	static const struct open_row rows[] = {
		{ "testproto", NULL },
		/* the ABI rows are written from module.h's version below */
		{ "badmajor", NULL },
		{ "badminor", NULL },
		{ "badsig", "module 'badsig': build signature differs: expected pointer/long/off_t/time_t sizes 8/8/8/8, found 8/8/8/9" },
		{ "badmagic", "module 'badmagic': bad descriptor magic: expected 0x707a6d64, found 0xdeadbeef" },
		{ "nodesc", "module 'nodesc': no module descriptor (symbol nodesc_LTX_poczta_module): not a poczta module" },
		{ "missing", "module 'missing': No such file or directory" },
	};
	char want_major[256], want_minor[256];
	size_t i;

	snprintf(want_major, sizeof(want_major), "module 'badmajor': built for ABI %d.%d, this "
		 "core has ABI %d.%d (the major version must be %d)", PZ_ABI_MAJOR + 1,
		 PZ_ABI_MINOR, PZ_ABI_MAJOR, PZ_ABI_MINOR, PZ_ABI_MAJOR);
	snprintf(want_minor, sizeof(want_minor), "module 'badminor': built for ABI %d.%d, newer "
		 "than this core's ABI %d.%d (the minor version must be at most %d)", PZ_ABI_MAJOR,
		 PZ_ABI_MINOR + 1, PZ_ABI_MAJOR, PZ_ABI_MINOR, PZ_ABI_MINOR);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char path[4200], *err = NULL;
		struct pz_module *m;
		const char *want = strcmp(rows[i].name, "badmajor") == 0 ? want_major :
			strcmp(rows[i].name, "badminor") == 0 ? want_minor : rows[i].want;

		snprintf(path, sizeof(path), "%s/%s.so", moddir, rows[i].name);
		m = pz_module_open(path, rows[i].name, &err);
		if (want == NULL) {
			if (m == NULL)
				print_error("%s: got error '%s', want success\n", rows[i].name, err);
			assert_non_null(m);
			assert_string_equal(m->desc->name, rows[i].name);
			pz_module_close(&m);
			assert_null(m);
			continue;
		}
		assert_null(m);
		assert_non_null(err);
		if (strstr(err, want) == NULL || strncmp(err, path, strlen(path)) != 0)
			print_error("%s: got '%s', want '%s: ...%s'\n", rows[i].name, err, path, want);
		assert_non_null(strstr(err, want));
		assert_int_equal(strncmp(err, path, strlen(path)), 0);
		free(err);
	}
}

static int dummy_init(pz_module *self, const struct pz_host *h, const char **error_r)
{
	return 0;
}

/* Rows: one field broken in an otherwise good descriptor. */
static void test_desc_check_table(void **state)
{
	struct pz_module_desc good = {
		.magic = PZ_MODULE_MAGIC, .size = sizeof(struct pz_module_desc),
		.abi_major = PZ_ABI_MAJOR, .abi_minor = PZ_ABI_MINOR,
		.sizeof_pointer = sizeof(void *), .sizeof_long = sizeof(long),
		.sizeof_off_t = sizeof(off_t), .sizeof_time_t = sizeof(time_t),
		.kinds = PZ_KIND_AUTH, .name = "x", .init = dummy_init,
	};
	struct { const char *what; struct pz_module_desc d; const char *want; } rows[8];
	size_t n = 0, i;

	rows[n].what = "good"; rows[n].d = good; rows[n++].want = NULL;
	rows[n].what = "size"; rows[n].d = good; rows[n].d.size = 16;
	rows[n++].want = "descriptor size 16, expected at least";
	rows[n].what = "kinds"; rows[n].d = good; rows[n].d.kinds = 0;
	rows[n++].want = "bad kinds 0x0";
	rows[n].what = "kinds2"; rows[n].d = good; rows[n].d.kinds = 0x100;
	rows[n++].want = "bad kinds 0x100";
	rows[n].what = "name"; rows[n].d = good; rows[n].d.name = "y";
	rows[n++].want = "descriptor names itself 'y'";
	rows[n].what = "init"; rows[n].d = good; rows[n].d.init = NULL;
	rows[n++].want = "descriptor has no init";
	rows[n].what = "long"; rows[n].d = good; rows[n].d.sizeof_long = 4;
	rows[n++].want = "found 8/4/8/8";
	rows[n].what = "older minor"; rows[n].d = good; rows[n].d.abi_minor = 0;
	rows[n++].want = NULL;
	for (i = 0; i < n; i++) {
		char *err = NULL;
		int r = pz_desc_check(&rows[i].d, "/p/x.so", "x", &err);

		if (rows[i].want == NULL) {
			assert_int_equal(r, 0);
			continue;
		}
		if (r == 0 || strstr(err, rows[i].want) == NULL)
			print_error("%s: got '%s', want '%s'\n", rows[i].what,
				    err != NULL ? err : "success", rows[i].want);
		assert_int_equal(r, -1);
		assert_non_null(strstr(err, rows[i].want));
		free(err);
	}
	{
		char *err = NULL;

		assert_int_equal(pz_desc_check(NULL, "/p/x.so", "x", &err), -1);
		free(err);
	}
}

/* write_config - a config file in a temp folder; returns its path. */
static char *write_config(const char *body)
{
	static char path[4096];
	char dir[] = "/tmp/pzloader.XXXXXX";
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/poczta.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "module_dir = %s\n%s", moddir, body);
	fclose(f);
	return path;
}

struct load_row {
	const char *body;
	const char *want; /* substring; NULL: loads */
};

static void test_load_config_table(void **state)
{
	static const struct load_row rows[] = {
		{ "auth = \"\"\nmodule testproto {\n}\nlistener t {\n protocol = testproto\n address = 127.0.0.1:0\n}\n", NULL },
		{ "module testproto {\n}\n",
		  "poczta.conf: auth backend 'passwd-file' (the default) is not provided by any loaded module" },
		{ "auth = passwd-file sql\nmodule testproto {\n}\nmodule passwd-file {\n}\n",
		  "poczta.conf:2: auth backend 'sql' is not provided by any loaded module" },
		{ "log_facility = mial\n", "poczta.conf:2: bad value 'mial' for 'log_facility'" },

		{ "module needsdep {\n}\n",
		  "poczta.conf:2: module 'needsdep' depends on module 'nosuchmodule', which is not configured" },
		{ "module testproto {\n  colour = blue\n}\n",
		  "poczta.conf:3: unknown key 'colour' in module testproto" },
		{ "module badmajor {\n}\n", "poczta.conf:2: " },
		{ "frobnicate = 1\n", "poczta.conf:2: unknown key 'frobnicate' in the global settings" },
		{ "max_connections = many\n", "poczta.conf:2: bad value 'many' for 'max_connections'" },
		{ "auth_allow_plaintext = sometimes\n",
		  "poczta.conf:2: bad value 'sometimes' for 'auth_allow_plaintext'" },
		{ "listener x {\n protocol = testproto\n}\n",
		  "poczta.conf:2: listener x needs 'protocol' and 'address'" },
		{ "pool p {\n}\n", "poczta.conf:2: unknown section type 'pool'" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *err = NULL;
		int r = pz_core_load(write_config(rows[i].body), &err);

		if (rows[i].want == NULL) {
			if (r != 0)
				print_error("row %zu: got '%s', want success\n", i, err);
			assert_int_equal(r, 0);
			assert_non_null(pz_protocol_by_name("testproto", NULL));
			pz_core_unload();
			assert_null(pz_protocol_by_name("testproto", NULL));
			continue;
		}
		if (r == 0 || strstr(err, rows[i].want) == NULL)
			print_error("row %zu: got '%s', want '...%s'\n", i, r == 0 ? "success" : err,
				    rows[i].want);
		assert_int_equal(r, -1);
		assert_non_null(strstr(err, rows[i].want));
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_table),
		cmocka_unit_test(test_desc_check_table),
		cmocka_unit_test(test_load_config_table),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
