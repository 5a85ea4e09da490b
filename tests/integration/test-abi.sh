#!/bin/sh
# test-abi.sh - the module ABI check (DESIGN "The module ABI", rule 10): the
# public headers must describe the same ABI as the committed baseline of the
# version module.h declares, so the ABI cannot change without a deliberate
# version bump and baseline update.
#
# sdk/abi/abi-probe.c, which names every public type, is compiled with -g
# into a shared object; abidw (abigail-tools) describes it, and abidiff
# compares that with sdk/abi/poczta-abi-MAJOR.MINOR.xml, MAJOR.MINOR being
# PZ_ABI_MAJOR.PZ_ABI_MINOR from module.h.  A newer minor must moreover be
# each older minor of its major plus additions only (sdk/abi/minor-additions.supp).
#
# Usage: test-abi.sh                   check (make check)
#        test-abi.sh --write-baseline  write the baseline of the current
#                                      version (make abi-baseline)
# Environment:
#   top_srcdir       the source tree (default: .)
#   CC               the C compiler (default: cc)
#   PZ_ABI_INCLUDE   a folder with poczta/*.h to check instead of
#                    $top_srcdir/sdk/include (try a header change on a copy)
#   PZ_ABI_DIR       the folder of baselines (default: $top_srcdir/sdk/abi)
#   ABI_FORCE=1      with --write-baseline: overwrite a baseline that differs
# Exit status: 0 passed, 1 failed, 77 skipped (no abigail-tools, or the
# baselines were made on another architecture).

set -u

top_srcdir=${top_srcdir:-.}
INC=${PZ_ABI_INCLUDE:-$top_srcdir/sdk/include}
ABIDIR=${PZ_ABI_DIR:-$top_srcdir/sdk/abi}
PROBE=$top_srcdir/sdk/abi/abi-probe.c
SUPP=$top_srcdir/sdk/abi/minor-additions.supp
CC=${CC:-cc}
mode=check
failures=0

case ${1:-} in
--write-baseline) mode='write' ;;
"") ;;
*) echo "usage: test-abi.sh [--write-baseline]" >&2; exit 2 ;;
esac

pass() { echo "ok   - $1"; }
fail() { failures=$((failures + 1)); echo "FAIL - $1"; }

RULE='The ABI rules (sdk/include/poczta/module.h, sdk/README.md):
  - additions at the END of a size-prefixed struct (descriptor, host table,
    ops tables, *_info/*_args/*_status/quota), new enum values at the end, new
    types: bump PZ_ABI_MINOR, then run `make abi-baseline` and commit the new
    sdk/abi/poczta-abi-MAJOR.MINOR.xml;
  - anything else (a field inserted, removed, retyped or reordered, a
    changed signature or enum value, any change to a FROZEN struct): bump
    PZ_ABI_MAJOR, set PZ_ABI_MINOR to 0, then `make abi-baseline`.'

# abi_version - "MAJOR.MINOR" from module.h, as configure reads it.
abi_version() {
	major=$(sed -n 's/^#define PZ_ABI_MAJOR \([0-9]*\).*/\1/p' "$INC/poczta/module.h")
	minor=$(sed -n 's/^#define PZ_ABI_MINOR \([0-9]*\).*/\1/p' "$INC/poczta/module.h")
	[ -n "$major" ] && [ -n "$minor" ]
}

# arch_of XML - the architecture abidw recorded.
arch_of() {
	sed -n "s/^<abi-corpus .*architecture='\([^']*\)'.*/\1/p" "$1" | head -n 1
}

# probe_covers_headers - every struct, enum and typedef of the headers is
# named in the probe; a type the probe does not reach is not checked.
probe_covers_headers() {
	missing=
	for name in $(sed -n -e 's/^struct \(pz_[a-z0-9_]*\) {.*/\1/p' \
			-e 's/^enum \(pz_[a-z0-9_]*\) {.*/\1/p' \
			-e 's/^typedef struct \(pz_[a-z0-9_]*\) .*/\1/p' \
			-e 's/^typedef .*[ *]\(pz_[a-z0-9_]*\)(void);$/\1/p' \
			"$INC"/poczta/*.h | sort -u); do
		grep -qw "$name" "$PROBE" || missing="$missing $name"
	done
	if [ -n "$missing" ]; then
		echo "# types the probe does not name:$missing"
		return 1
	fi
}

# build_probe OUT - compile the probe against $INC and describe it.
build_probe() {
	cp "$PROBE" "$T/abi-probe.c" &&
	(cd "$T" && $CC -g -O0 -fPIC -shared -fvisibility=hidden -I"$INC" \
		-o abi-probe.so abi-probe.c) >"$T/cc.log" 2>&1 &&
	abidw --no-corpus-path --no-comp-dir-path --no-show-locs "$T/abi-probe.so" >"$1" 2>"$T/abidw.log"
}

# older_minors - baselines of the same major with a lower minor.
older_minors() {
	for f in "$ABIDIR"/poczta-abi-"$major".*.xml; do
		[ -f "$f" ] || continue
		m=${f##*/poczta-abi-"$major".}
		m=${m%.xml}
		case $m in '' | *[!0-9]*) continue ;; esac
		[ "$m" -lt "$minor" ] && echo "$f"
	done
}

# compatible_with_older XML - XML only adds to each older minor; 1 if not.
compatible_with_older() {
	ok=0
	for old in $(older_minors); do
		if abidiff --no-added-syms --suppressions "$SUPP" "$old" "$1" >"$T/compat.txt" 2>&1; then
			pass "ABI $major.$minor only adds to ${old##*/}"
		else
			fail "ABI $major.$minor is not ${old##*/} plus additions at the end"
			sed 's/^/#   /' "$T/compat.txt"
			ok=1
		fi
	done
	return $ok
}

for tool in abidw abidiff; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP - $tool not found: install abigail-tools to check the ABI"
		[ $mode = write ] && exit 1
		exit 77
	fi
done
if ! abi_version; then
	echo "FAIL - no PZ_ABI_MAJOR/PZ_ABI_MINOR in $INC/poczta/module.h"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/test-abi.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
BASELINE=$ABIDIR/poczta-abi-$major.$minor.xml
echo "# headers: $INC, ABI $major.$minor, baseline: $BASELINE"

echo "# check that the probe names every public type of the headers"
if probe_covers_headers; then
	pass "sdk/abi/abi-probe.c names every public type"
else
	fail "add the missing types to sdk/abi/abi-probe.c"
fi

echo "# compile the probe with -g and describe it with abidw"
if build_probe "$T/current.xml"; then
	pass "abidw described the probe ($(grep -c '<elf-symbol ' "$T/current.xml") symbols)"
else
	fail "building or describing the probe failed:"
	cat "$T/cc.log" "$T/abidw.log" 2>/dev/null | sed 's/^/#   /'
	exit 1
fi

if [ $mode = write ]; then
	if [ "$failures" -ne 0 ]; then
		echo "# no baseline written: fix the failures above first"
		exit 1
	fi
	if [ -f "$BASELINE" ]; then
		if abidiff --harmless "$BASELINE" "$T/current.xml" >"$T/diff.txt" 2>&1; then
			echo "# $BASELINE is up to date"
			exit 0
		fi
		if [ "${ABI_FORCE:-}" != 1 ]; then
			echo "FAIL - the ABI differs from $BASELINE, but module.h still says $major.$minor:"
			sed 's/^/#   /' "$T/diff.txt"
			echo "$RULE"
			echo "(ABI_FORCE=1 overwrites the baseline, e.g. after an abigail-tools upgrade.)"
			exit 1
		fi
	fi
	if ! compatible_with_older "$T/current.xml"; then
		echo "$RULE"
		exit 1
	fi
	cp "$T/current.xml" "$BASELINE" || exit 1
	echo "# wrote $BASELINE: commit it with the header change"
	exit 0
fi

echo "# compare with the baseline of ABI $major.$minor"
if [ ! -f "$BASELINE" ]; then
	fail "no baseline for ABI $major.$minor (from module.h): $BASELINE"
	echo "If the version was bumped deliberately, create the baseline with"
	echo "\`make abi-baseline\` and commit it."
	echo "$RULE"
	exit 1
fi
base_arch=$(arch_of "$BASELINE")
cur_arch=$(arch_of "$T/current.xml")
if [ "$base_arch" != "$cur_arch" ]; then
	echo "SKIP - the baseline describes $base_arch, this build is $cur_arch"
	exit 77
fi
if abidiff --harmless "$BASELINE" "$T/current.xml" >"$T/diff.txt" 2>&1; then
	pass "the public ABI equals the baseline of $major.$minor"
else
	fail "the public ABI differs from the baseline of $major.$minor, but module.h still says $major.$minor:"
	sed 's/^/#   /' "$T/diff.txt"
	echo "$RULE"
fi
compatible_with_older "$BASELINE" || echo "$RULE"

[ "$failures" -eq 0 ]
