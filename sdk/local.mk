# sdk/local.mk - the installed headers (the module ABI), the files module
# authors build with (poczta-sdk.pc, poczta.m4), the SDK guide with its
# example module, and the checks that keep the ABI honest.
pzinclude_HEADERS = \
	sdk/include/poczta/auth.h \
	sdk/include/poczta/filter.h \
	sdk/include/poczta/host.h \
	sdk/include/poczta/mail.h \
	sdk/include/poczta/module.h \
	sdk/include/poczta/poczta.h \
	sdk/include/poczta/protocol.h \
	sdk/include/poczta/search.h \
	sdk/include/poczta/storage.h \
	sdk/include/poczta/types.h
pkgconfig_DATA = sdk/poczta-sdk.pc
EXTRA_DIST += sdk/poczta-sdk.pc.in

# POCZTA_SDK() for the configure.ac of an out-of-tree module.
aclocaldir = $(datadir)/aclocal
dist_aclocal_DATA = sdk/poczta.m4

# The guide, and the example module as the template to copy.
sdkdocdir = $(docdir)/sdk
dist_sdkdoc_DATA = sdk/README.md
sdkexampledir = $(docdir)/sdk/examples/scanner
SDK_EXAMPLE_FILES = \
	sdk/examples/scanner/Makefile.am \
	sdk/examples/scanner/README.md \
	sdk/examples/scanner/configure.ac \
	sdk/examples/scanner/example-scanner.c
dist_sdkexample_DATA = $(SDK_EXAMPLE_FILES)
dist_sdkexample_SCRIPTS = sdk/examples/scanner/autogen.sh

# test-sdk.sh: install to a DESTDIR, build the example against that SDK
# only, load it into poczta and send it mail.
# test-abi.sh: compare the public ABI with the committed baseline of the
# version in module.h (abidw/abidiff from abigail-tools).
TESTS += tests/integration/test-sdk.sh tests/integration/test-abi.sh
EXTRA_DIST += tests/integration/test-sdk.sh tests/integration/test-abi.sh
# Both compile C outside make: give them the configured compiler.
AM_TESTS_ENVIRONMENT += CC='$(CC)'; export CC;

# The ABI probe, the suppression rules for "additions at the end" and one
# baseline per released ABI version: sdk/abi/poczta-abi-MAJOR.MINOR.xml.
EXTRA_DIST += sdk/abi

# Write the baseline for the PZ_ABI_MAJOR.PZ_ABI_MINOR in module.h.  Refuses
# to overwrite an existing baseline with a different ABI (bump the version)
# and to write a minor whose changes are not additions at the end (bump the
# major).  ABI_FORCE=1 overwrites anyway, e.g. after an abigail upgrade.
abi-baseline:
	$(AM_V_GEN)top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	CC='$(CC)' ABI_FORCE='$(ABI_FORCE)' \
	$(SHELL) $(srcdir)/tests/integration/test-abi.sh --write-baseline
.PHONY: abi-baseline
