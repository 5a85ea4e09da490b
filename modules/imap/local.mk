# modules/imap/local.mk - the IMAP server module.
module_LTLIBRARIES += modules/imap/imap.la
modules_imap_imap_la_SOURCES = \
	modules/imap/imap.h \
	modules/imap/imap-parser.h \
	modules/imap/imap-parser.c \
	modules/imap/imap-module.c \
	modules/imap/imap-session.c \
	modules/imap/imap-commands.c \
	modules/imap/imap-reply.c \
	modules/imap/imap-auth.c \
	modules/imap/imap-names.c \
	modules/imap/imap-mailbox.c \
	modules/imap/imap-list.c \
	modules/imap/imap-select.c \
	modules/imap/imap-view.c \
	modules/imap/imap-seqset.c \
	modules/imap/imap-fetch.h \
	modules/imap/imap-fetch.c \
	modules/imap/imap-fetch-body.c \
	modules/imap/imap-store.c \
	modules/imap/imap-search.h \
	modules/imap/imap-search.c \
	modules/imap/imap-search-run.c \
	modules/imap/imap-append.c \
	modules/imap/imap-copy.c \
	modules/imap/imap-idle.c
modules_imap_imap_la_LDFLAGS = $(PZ_MODULE_LDFLAGS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-imap-parser
TESTS += tests/unit/test-imap-parser
tests_unit_test_imap_parser_SOURCES = tests/unit/test-imap-parser.c \
	modules/imap/imap-parser.c modules/imap/imap-parser.h
tests_unit_test_imap_parser_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules/imap
tests_unit_test_imap_parser_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_imap_parser_LDADD = $(CMOCKA_LIBS)
endif

TESTS += tests/integration/test-imap.py tests/integration/test-imap-messages.py \
	tests/integration/test-imap-concurrency.py tests/integration/test-imap-clients.py
EXTRA_DIST += tests/fuzz/fuzz-imap-parser.c modules/imap/README.md

# The POP3, LMTP and IMAP suites again with reused connection processes.
if BUILD_POP3
if BUILD_LMTP
TESTS += tests/integration/test-reuse-suites.py
endif
endif
EXTRA_DIST += tests/integration/test-reuse-suites.py
