# tests/local.mk - unit tests (cmocka), test modules, integration tests.

# ---- modules used only by the tests (never installed)
TEST_MODULE_LDFLAGS = $(PZ_MODULE_LDFLAGS) -rpath /nowhere
check_LTLIBRARIES += tests/modules/testproto.la tests/modules/testfilter.la tests/modules/nodesc.la \
	tests/modules/badmajor.la tests/modules/badminor.la tests/modules/badsig.la \
	tests/modules/badmagic.la tests/modules/needsdep.la
tests_modules_testproto_la_SOURCES = tests/modules/testproto.c
tests_modules_testproto_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_testfilter_la_SOURCES = tests/modules/testfilter.c
tests_modules_testfilter_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_nodesc_la_SOURCES = tests/modules/nodesc.c
tests_modules_nodesc_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_modules_badmajor_la_SOURCES = tests/modules/badabi.c
tests_modules_badmajor_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=1
tests_modules_badmajor_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_badminor_la_SOURCES = tests/modules/badabi.c
tests_modules_badminor_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=2
tests_modules_badminor_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_badsig_la_SOURCES = tests/modules/badabi.c
tests_modules_badsig_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=3
tests_modules_badsig_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_badmagic_la_SOURCES = tests/modules/badabi.c
tests_modules_badmagic_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=4
tests_modules_badmagic_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_modules_needsdep_la_SOURCES = tests/modules/badabi.c
tests_modules_needsdep_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_KIND=5
tests_modules_needsdep_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)

# Every built module, real and test, linked into one folder that test
# configs name as module_dir.
check_DATA = tests/moddir.stamp
tests/moddir.stamp: $(module_LTLIBRARIES) $(check_LTLIBRARIES)
	$(AM_V_GEN)rm -rf tests/moddir && $(MKDIR_P) tests/moddir && \
	for la in $(module_LTLIBRARIES) $(check_LTLIBRARIES); do \
		n=`basename $$la .la`; d=`dirname $$la`; \
		ln -s "$(abs_top_builddir)/$$d/.libs/$$n.so" "tests/moddir/$$n.so" || exit 1; \
	done && touch $@
CLEANFILES += tests/moddir.stamp
clean-local: clean-moddir
clean-moddir:
	rm -rf tests/moddir
.PHONY: clean-moddir

# ---- unit tests
if HAVE_CMOCKA
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS)
UNIT_LDADD = core/libpzcore.la $(CMOCKA_LIBS)
UNIT_TESTS = tests/unit/test-config tests/unit/test-pool tests/unit/test-conn \
	tests/unit/test-loader tests/unit/test-privdrop tests/unit/test-auth \
	tests/unit/test-passwd-file tests/unit/test-user
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
tests_unit_test_pool_SOURCES = tests/unit/test-pool.c
tests_unit_test_pool_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pool_LDADD = $(UNIT_LDADD)
tests_unit_test_conn_SOURCES = tests/unit/test-conn.c
tests_unit_test_conn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conn_LDADD = $(UNIT_LDADD) $(OPENSSL_LIBS)
tests_unit_test_loader_SOURCES = tests/unit/test-loader.c
tests_unit_test_loader_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_loader_LDADD = $(UNIT_LDADD)
tests_unit_test_privdrop_SOURCES = tests/unit/test-privdrop.c
tests_unit_test_privdrop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_privdrop_LDADD = $(UNIT_LDADD)
tests_unit_test_passwd_file_SOURCES = tests/unit/test-passwd-file.c \
	modules/passwd-file/pwfile.c modules/passwd-file/pwfile.h
tests_unit_test_passwd_file_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_passwd_file_LDADD = $(CMOCKA_LIBS) $(CRYPT_LIBS)
tests_unit_test_user_SOURCES = tests/unit/test-user.c
tests_unit_test_user_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_user_LDADD = $(UNIT_LDADD)
tests_unit_test_auth_SOURCES = tests/unit/test-auth.c
tests_unit_test_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_LDADD = $(UNIT_LDADD) $(CRYPT_LIBS)
endif

# ---- integration tests: real poczta processes, real clients
TEST_EXTENSIONS += .py
PY_LOG_COMPILER = /usr/bin/python3
EXTRA_DIST += tests/integration/pzfixture.py
TESTS += tests/integration/test-admin.sh tests/integration/test-daemon.py
EXTRA_DIST += $(TESTS)

# ---- fuzz targets: tests/fuzz/run.sh builds and runs them with clang
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/fuzz-config.c tests/fuzz/fuzz-passwd-file.c

# ---- mail primitives (core/mail): unit tests, the comparison with a real
# Dovecot (test-mime-dovecot.py runs mime-tool over test corpora), fuzzing
if HAVE_CMOCKA
MAIL_UNIT_TESTS = tests/unit/test-mail-parse tests/unit/test-mail-imap \
	tests/unit/test-mail-decode tests/unit/test-mail-date tests/unit/test-mail-search
check_PROGRAMS += $(MAIL_UNIT_TESTS)
TESTS += $(MAIL_UNIT_TESTS)
tests_unit_test_mail_parse_SOURCES = tests/unit/test-mail-parse.c
tests_unit_test_mail_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_parse_LDADD = $(UNIT_LDADD)
tests_unit_test_mail_imap_SOURCES = tests/unit/test-mail-imap.c
tests_unit_test_mail_imap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_imap_LDADD = $(UNIT_LDADD)
tests_unit_test_mail_decode_SOURCES = tests/unit/test-mail-decode.c
tests_unit_test_mail_decode_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_decode_LDADD = $(UNIT_LDADD)
tests_unit_test_mail_date_SOURCES = tests/unit/test-mail-date.c
tests_unit_test_mail_date_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_date_LDADD = $(UNIT_LDADD)
tests_unit_test_mail_search_SOURCES = tests/unit/test-mail-search.c
tests_unit_test_mail_search_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mail_search_LDADD = $(UNIT_LDADD)
endif
check_PROGRAMS += tests/integration/mime-tool
tests_integration_mime_tool_SOURCES = tests/integration/mime-tool.c
tests_integration_mime_tool_LDADD = core/libpzcore.la
TESTS += tests/integration/test-mime-dovecot.py
EXTRA_DIST += tests/integration/mime-known-differences.txt \
	tests/integration/mime-cases tests/fuzz/fuzz-mime.c
