# modules/passwd-file/local.mk - the embedded default user database.
module_LTLIBRARIES += modules/passwd-file/passwd-file.la
modules_passwd_file_passwd_file_la_SOURCES = \
	modules/passwd-file/passwd-file.c \
	modules/passwd-file/pwfile.c modules/passwd-file/pwfile.h
modules_passwd_file_passwd_file_la_LIBADD = $(CRYPT_LIBS)
modules_passwd_file_passwd_file_la_LDFLAGS = $(PZ_MODULE_LDFLAGS)
