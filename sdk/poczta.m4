# poczta.m4 - autoconf support for Poczta modules built outside the Poczta tree.
#
# Installed into $(datadir)/aclocal with the SDK headers and poczta-sdk.pc.
# In a module's configure.ac:
#
#     LT_INIT([disable-static])
#     POCZTA_SDK([1.0])
#
# and in its Makefile.am:
#
#     module_LTLIBRARIES = mymod.la
#     moduledir = $(POCZTA_MODULEDIR)
#     mymod_la_CFLAGS = $(POCZTA_CFLAGS)
#     mymod_la_LDFLAGS = -module $(POCZTA_MODULE_LDFLAGS)
#
# (automake accepts a library name without "lib" only when it sees -module.)

# POCZTA_SDK([MIN-ABI])
# ---------------------
# Find the Poczta SDK with pkg-config (poczta-sdk.pc) and check that its
# module ABI suits a module written for MIN-ABI ("MAJOR.MINOR", default 1.0):
# the major must be equal and the minor at least MINOR.  Note that a module
# records the minor of the SDK it is compiled against, so building against a
# newer SDK raises the oldest core the module loads in.
#
# Sets and substitutes:
#   POCZTA_CFLAGS, POCZTA_LIBS  from PKG_CHECK_MODULES (POCZTA_LIBS is empty:
#                               modules link against nothing of the core)
#   POCZTA_ABI_MAJOR, POCZTA_ABI_MINOR   the SDK's module ABI
#   POCZTA_MODULEDIR            where the core looks for modules (the SDK's
#                               moduledir; override with --with-poczta-moduledir)
#   POCZTA_MODULE_LDFLAGS       libtool flags for a module: a shared libtool
#                               module without version suffix that exports only
#                               its descriptor function
AC_DEFUN([POCZTA_SDK], [
AC_REQUIRE([PKG_PROG_PKG_CONFIG])dnl
pz_sdk_want=m4_default([$1], [1.0])
pz_sdk_want_major=`echo "$pz_sdk_want" | sed -n 's/^\([[0-9]][[0-9]]*\)\.[[0-9]][[0-9]]*$/\1/p'`
pz_sdk_want_minor=`echo "$pz_sdk_want" | sed -n 's/^[[0-9]][[0-9]]*\.\([[0-9]][[0-9]]*\)$/\1/p'`
AS_IF([test -z "$pz_sdk_want_major" || test -z "$pz_sdk_want_minor"],
	[AC_MSG_ERROR([poczta.m4: '$pz_sdk_want' is not an ABI version MAJOR.MINOR])])

PKG_CHECK_MODULES([POCZTA], [poczta-sdk], [],
	[AC_MSG_ERROR([the Poczta SDK (poczta-sdk.pc) was not found: $POCZTA_PKG_ERRORS
Install Poczta (or its -dev package), or set PKG_CONFIG_PATH to the folder
that holds poczta-sdk.pc.])])

AC_MSG_CHECKING([for the Poczta module ABI])
POCZTA_ABI_MAJOR=`$PKG_CONFIG --variable=abi_major poczta-sdk`
POCZTA_ABI_MINOR=`$PKG_CONFIG --variable=abi_minor poczta-sdk`
AC_MSG_RESULT([$POCZTA_ABI_MAJOR.$POCZTA_ABI_MINOR])
AS_CASE([$POCZTA_ABI_MAJOR.$POCZTA_ABI_MINOR],
	[*[[!0-9.]]*|.*|*.], [AC_MSG_ERROR([poczta-sdk.pc has no valid abi_major/abi_minor])])
AS_IF([test "$POCZTA_ABI_MAJOR" -ne "$pz_sdk_want_major"],
	[AC_MSG_ERROR([this module is written for Poczta module ABI $pz_sdk_want, but the
installed SDK provides ABI $POCZTA_ABI_MAJOR.$POCZTA_ABI_MINOR: the major versions differ.
Port the module to ABI $POCZTA_ABI_MAJOR, or build it against an SDK of ABI $pz_sdk_want_major.x.])])
AS_IF([test "$POCZTA_ABI_MINOR" -lt "$pz_sdk_want_minor"],
	[AC_MSG_ERROR([this module needs Poczta module ABI $pz_sdk_want or a later minor, but
the installed SDK provides ABI $POCZTA_ABI_MAJOR.$POCZTA_ABI_MINOR.  Install a newer SDK.])])

AC_ARG_WITH([poczta-moduledir],
	[AS_HELP_STRING([--with-poczta-moduledir=DIR],
		[install the module into DIR (default: the moduledir of poczta-sdk.pc)])],
	[POCZTA_MODULEDIR=$withval],
	[POCZTA_MODULEDIR=`$PKG_CONFIG --variable=moduledir poczta-sdk`])
AS_IF([test -z "$POCZTA_MODULEDIR"],
	[AC_MSG_ERROR([poczta-sdk.pc has no moduledir; use --with-poczta-moduledir=DIR])])

dnl $$ becomes one $ in the Makefile: the regex is anchored at the end.
POCZTA_MODULE_LDFLAGS="-module -avoid-version -shared -no-undefined -export-symbols-regex '_LTX_poczta_module\$\$'"

AC_SUBST([POCZTA_ABI_MAJOR])
AC_SUBST([POCZTA_ABI_MINOR])
AC_SUBST([POCZTA_MODULEDIR])
AC_SUBST([POCZTA_MODULE_LDFLAGS])
])
