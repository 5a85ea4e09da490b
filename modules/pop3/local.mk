# modules/pop3/local.mk - the POP3 server module.
module_LTLIBRARIES += modules/pop3/pop3.la
modules_pop3_pop3_la_SOURCES = \
	modules/pop3/pop3.h \
	modules/pop3/pop3-session.c \
	modules/pop3/pop3-commands.c \
	modules/pop3/pop3-maildrop.c
modules_pop3_pop3_la_LDFLAGS = $(PZ_MODULE_LDFLAGS)

TESTS += tests/integration/test-pop3.py
