#!/bin/sh
# autogen.sh - generate configure and Makefile.in.  Set ACLOCAL_PATH to
# PREFIX/share/aclocal when the Poczta SDK is not installed under /usr.
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf -fi
