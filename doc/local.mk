# doc/local.mk - the manual pages.
dist_man_MANS += doc/poczta.8 doc/poczta.conf.5 doc/poczta-admin.8 doc/poczta-deliver.8
