# conf/local.mk - the configuration as installed: poczta.conf in
# $(sysconfdir)/poczta and one conf.d snippet per module that is built.
# Files that name build directories are made from their .in at make time,
# so they hold this build's paths (configure would leave ${prefix} in them).
pzconfdir = $(sysconfdir)/poczta
pzconfddir = $(pzconfdir)/conf.d
nodist_pzconf_DATA = conf/poczta.conf
nodist_pzconfd_DATA =
dist_pzconfd_DATA =
if BUILD_PASSWD_FILE
nodist_pzconfd_DATA += conf/conf.d/10-passwd-file.conf
endif
if BUILD_MAILDIR
dist_pzconfd_DATA += conf/conf.d/20-maildir.conf
endif
if BUILD_POP3
dist_pzconfd_DATA += conf/conf.d/30-pop3.conf
endif
if BUILD_LMTP
dist_pzconfd_DATA += conf/conf.d/30-lmtp.conf
endif
if BUILD_IMAP
dist_pzconfd_DATA += conf/conf.d/30-imap.conf
endif
# inactive as installed (all commented out): it needs a database first
if HAVE_PGSQL
dist_pzconfd_DATA += conf/conf.d/30-postgres.conf
endif
EXTRA_DIST += conf/poczta.conf.in conf/conf.d/10-passwd-file.conf.in
CLEANFILES += conf/poczta.conf conf/conf.d/10-passwd-file.conf

conf_edit = sed \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@moduledir[@]|$(moduledir)|g'

conf/poczta.conf: conf/poczta.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && \
	$(conf_edit) $(srcdir)/conf/poczta.conf.in > $@.tmp && mv $@.tmp $@

conf/conf.d/10-passwd-file.conf: conf/conf.d/10-passwd-file.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/conf.d && \
	$(conf_edit) $(srcdir)/conf/conf.d/10-passwd-file.conf.in > $@.tmp && \
	mv $@.tmp $@
