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
	core/master.c core/master.h \
	core/penalty.c core/penalty.h \
	core/pool.c core/pool.h \
	core/privdrop.c core/privdrop.h \
	core/settings.c core/settings.h \
	core/stream.c core/stream.h \
	core/tls.c core/tls.h \
	core/user.c core/user.h
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
