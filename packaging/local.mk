# packaging/local.mk - files for distributions: the systemd unit.
#
# The unit names $(sbindir) and $(sysconfdir), which depend on
# ${exec_prefix}, so it is made at make time from its .in.  It installs to
# $(prefix)/lib/systemd/system (/usr/lib/systemd/system for prefix /usr);
# a package may override the folder: make install systemdsystemunitdir=DIR.
systemdsystemunitdir = $(prefix)/lib/systemd/system
nodist_systemdsystemunit_DATA = packaging/systemd/poczta.service
EXTRA_DIST += packaging/systemd/poczta.service.in
CLEANFILES += packaging/systemd/poczta.service

packaging_edit = sed \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g'

packaging/systemd/poczta.service: packaging/systemd/poczta.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging/systemd && \
	$(packaging_edit) $(srcdir)/packaging/systemd/poczta.service.in > $@.tmp && \
	mv $@.tmp $@
