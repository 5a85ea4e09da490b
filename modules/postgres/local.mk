# modules/postgres/local.mk - PostgreSQL storage and auth.
module_LTLIBRARIES += modules/postgres/postgres.la
modules_postgres_postgres_la_SOURCES = \
	modules/postgres/pgsql.h \
	modules/postgres/pgsql-module.c \
	modules/postgres/pgsql-db.c \
	modules/postgres/pgsql-sql.c \
	modules/postgres/pgsql-schema.c \
	modules/postgres/pgsql-names.c \
	modules/postgres/pgsql-mailbox.c \
	modules/postgres/pgsql-view.c \
	modules/postgres/pgsql-message.c \
	modules/postgres/pgsql-save.c \
	modules/postgres/pgsql-search.c \
	modules/postgres/pgsql-fields.c \
	modules/postgres/pgsql-auth.c
modules_postgres_postgres_la_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS) $(OPENSSL_CFLAGS)
modules_postgres_postgres_la_LIBADD = $(PQ_LIBS) $(OPENSSL_LIBS) $(CRYPT_LIBS)
modules_postgres_postgres_la_LDFLAGS = $(PZ_MODULE_LDFLAGS)
EXTRA_DIST += modules/postgres/README.md modules/postgres/ABI-REQUESTS.txt

# The admin helper poczta-admin runs for `db status|migrate|gc`, `import`
# and `export` (it links libpq, which the core must not).
pkglibexec_PROGRAMS += modules/postgres/postgres-admin
modules_postgres_postgres_admin_SOURCES = modules/postgres/pgsql-admin.h \
	modules/postgres/pgsql-admin.c modules/postgres/pgsql-admin-walk.c \
	modules/postgres/pgsql-admin-import.c modules/postgres/pgsql-admin-export.c \
	modules/postgres/pgsql-schema.c modules/postgres/pgsql.h
modules_postgres_postgres_admin_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS) $(OPENSSL_CFLAGS)
modules_postgres_postgres_admin_LDADD = core/libpzcore.la $(PQ_LIBS) $(OPENSSL_LIBS)

# Tests start their own PostgreSQL (tests/integration/pzpostgres.py).
EXTRA_DIST += tests/integration/pzpostgres.py tests/unit/test-postgres-util.c
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-postgres tests/unit/test-postgres-concurrency
TESTS += tests/unit/test-postgres tests/unit/test-postgres-concurrency
tests_unit_test_postgres_SOURCES = tests/unit/test-postgres.c
tests_unit_test_postgres_CFLAGS = $(UNIT_CFLAGS) $(PQ_CFLAGS)
tests_unit_test_postgres_LDADD = $(UNIT_LDADD) $(PQ_LIBS)
tests_unit_test_postgres_concurrency_SOURCES = tests/unit/test-postgres-concurrency.c
tests_unit_test_postgres_concurrency_CFLAGS = $(UNIT_CFLAGS) $(PQ_CFLAGS)
tests_unit_test_postgres_concurrency_LDADD = $(UNIT_LDADD) $(PQ_LIBS)
endif

# Integration: the POP3 and LMTP suites again with postgres storage, the
# cluster tests (two nodes, restarts, failover to a replica), and
# poczta-admin import/export between maildir and postgres.
TESTS += tests/integration/test-postgres-suites.py tests/integration/test-postgres.py \
	tests/integration/test-pgsql-admin.py \
	tests/integration/test-search-storages.py
EXTRA_DIST += tests/integration/test-postgres-suites.py tests/integration/test-postgres.py \
	tests/integration/test-pgsql-admin.py \
	tests/integration/test-search-storages.py

# The benchmark: the maildir benchmark's figures, with postgres storage.
check_PROGRAMS += bench/postgres-bench
bench_postgres_bench_SOURCES = bench/postgres-bench.c
bench_postgres_bench_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS)
bench_postgres_bench_LDADD = core/libpzcore.la $(PQ_LIBS)
dist_check_SCRIPTS += bench/postgres-bench.sh
