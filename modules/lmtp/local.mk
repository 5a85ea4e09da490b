# modules/lmtp/local.mk - LMTP delivery.
module_LTLIBRARIES += modules/lmtp/lmtp.la
modules_lmtp_lmtp_la_SOURCES = \
	modules/lmtp/lmtp.h \
	modules/lmtp/lmtp-session.c \
	modules/lmtp/lmtp-commands.c \
	modules/lmtp/lmtp-spool.c \
	modules/lmtp/lmtp-deliver.c
modules_lmtp_lmtp_la_LDFLAGS = $(PZ_MODULE_LDFLAGS)

TESTS += tests/integration/test-lmtp.py
TESTS += tests/integration/test-postfix.py
