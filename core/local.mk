# core/local.mk - the core library, the daemon and the admin tool.
noinst_LTLIBRARIES += core/libpzcore.la
core_libpzcore_la_SOURCES = \
	core/auth.c core/auth.h \
	core/base64.c core/base64.h \
	core/config.c core/config.h core/config-private.h core/config-value.c \
	core/config-core.h \
	core/conn.c core/conn.h \
	core/core.c core/core.h \
	core/filter.c core/filter.h \
	core/host.c \
	core/listener.c core/listener.h \
	core/loader.c core/registry.h \
	core/log.c core/log.h \
	$(CORE_MAIL_SOURCES) \
	core/master.c core/master.h \
	core/penalty.c core/penalty.h \
	core/pool.c core/pool.h \
	core/privdrop.c core/privdrop.h \
	core/settings.c core/settings.h \
	core/stream.c core/stream.h \
	core/tls.c core/tls.h \
	core/user.c core/user.h
# core/mail: the mail primitives behind the host API's mail_* calls
CORE_MAIL_SOURCES = \
	core/mail/mail-address.c core/mail/mail-address.h \
	core/mail/mail-buf.c core/mail/mail-buf.h \
	core/mail/mail-charset.c core/mail/mail-charset.h \
	core/mail/mail-content.c core/mail/mail-content.h \
	core/mail/mail-date.c core/mail/mail-date.h \
	core/mail/mail-decode.c core/mail/mail-decode.h \
	core/mail/mail-fold.c core/mail/mail-fold.h \
	core/mail/mail-header.c core/mail/mail-header.h \
	core/mail/mail-imap.c core/mail/mail-imap.h \
	core/mail/mail-parse.c core/mail/mail-parse.h \
	core/mail/mail-part.c core/mail/mail-part.h \
	core/mail/mail-reader.c core/mail/mail-reader.h \
	core/mail/mail-rfc822.c core/mail/mail-rfc822.h \
	core/mail/mail-search.c core/mail/mail-search.h \
	core/mail/mail-search-eval.c core/mail/mail-search-eval.h \
	core/mail/mail-utf7.c core/mail/mail-utf7.h \
	core/mail/mail-words.c core/mail/mail-words.h
core_libpzcore_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
core_libpzcore_la_LIBADD = $(OPENSSL_LIBS) $(LTDL_LIBS) $(CRYPT_LIBS)

sbin_PROGRAMS += core/poczta
core_poczta_SOURCES = core/main.c
core_poczta_LDADD = core/libpzcore.la

bin_PROGRAMS += core/poczta-admin
core_poczta_admin_SOURCES = core/admin.c \
	modules/passwd-file/pwfile.c modules/passwd-file/pwfile.h
core_poczta_admin_CFLAGS = $(AM_CFLAGS)
core_poczta_admin_LDADD = $(CRYPT_LIBS)

bin_PROGRAMS += core/poczta-deliver
core_poczta_deliver_SOURCES = core/deliver.c
core_poczta_deliver_LDADD = core/libpzcore.la
