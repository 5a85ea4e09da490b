# modules/maildir/local.mk - Maildir++ storage with a SQLite index.
module_LTLIBRARIES += modules/maildir/maildir.la
modules_maildir_maildir_la_SOURCES = \
	modules/maildir/maildir.h \
	modules/maildir/maildir-module.c \
	modules/maildir/maildir-names.c \
	modules/maildir/maildir-file.c \
	modules/maildir/maildir-hash.c \
	modules/maildir/maildir-index.h \
	modules/maildir/maildir-index.c \
	modules/maildir/maildir-index-msgs.c \
	modules/maildir/maildir-index-idle.c \
	modules/maildir/maildir-keywords.c \
	modules/maildir/maildir-scan.c \
	modules/maildir/maildir-sync.h \
	modules/maildir/maildir-sync.c \
	modules/maildir/maildir-sync-new.c \
	modules/maildir/maildir-uidlist.c \
	modules/maildir/maildir-view.c \
	modules/maildir/maildir-message.c \
	modules/maildir/maildir-save.c \
	modules/maildir/maildir-mailbox.c \
	modules/maildir/maildir-quota.c
modules_maildir_maildir_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) -pthread
modules_maildir_maildir_la_LIBADD = $(SQLITE_LIBS)
modules_maildir_maildir_la_LDFLAGS = $(PZ_MODULE_LDFLAGS) -pthread
EXTRA_DIST += modules/maildir/ABI-REQUESTS.txt modules/maildir/README.md

if HAVE_CMOCKA
# Unit tests drive the storage ops through the core, as a protocol would;
# each #includes the shared fixture test-maildir-util.c.
EXTRA_DIST += tests/unit/test-maildir-util.c
check_PROGRAMS += tests/unit/test-maildir tests/unit/test-maildir-names \
	tests/unit/test-maildir-concurrency tests/unit/test-maildir-index
TESTS += tests/unit/test-maildir tests/unit/test-maildir-names \
	tests/unit/test-maildir-concurrency tests/unit/test-maildir-index
tests_unit_test_maildir_SOURCES = tests/unit/test-maildir.c
tests_unit_test_maildir_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildir_LDADD = $(UNIT_LDADD)
tests_unit_test_maildir_names_SOURCES = tests/unit/test-maildir-names.c
tests_unit_test_maildir_names_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildir_names_LDADD = $(UNIT_LDADD)
tests_unit_test_maildir_concurrency_SOURCES = \
	tests/unit/test-maildir-concurrency.c
tests_unit_test_maildir_concurrency_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_maildir_concurrency_LDADD = $(UNIT_LDADD)
# writes a version 1 index itself to test the upgrade
tests_unit_test_maildir_index_SOURCES = tests/unit/test-maildir-index.c
tests_unit_test_maildir_index_CFLAGS = $(UNIT_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_maildir_index_LDADD = $(UNIT_LDADD) $(SQLITE_LIBS)
endif

# A command-line driver of the storage ops for the integration tests and
# the benchmark (never installed).
check_PROGRAMS += tests/integration/maildir-tool bench/maildir-bench
tests_integration_maildir_tool_SOURCES = tests/integration/maildir-tool.c
tests_integration_maildir_tool_LDADD = core/libpzcore.la
bench_maildir_bench_SOURCES = bench/maildir-bench.c
bench_maildir_bench_LDADD = core/libpzcore.la
TESTS += tests/integration/maildir-dovecot.py
dist_check_SCRIPTS += tests/integration/maildir-dovecot.py \
	bench/maildir-bench.sh bench/maildir-bench.py
EXTRA_DIST += bench/README.md
