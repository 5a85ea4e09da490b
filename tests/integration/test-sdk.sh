#!/bin/sh
# test-sdk.sh - the SDK check (DESIGN "The module ABI", rule 10): install
# Poczta into a temporary DESTDIR, build the example module
# sdk/examples/scanner out of tree against that installed SDK only
# (poczta-sdk.pc, poczta.m4, the headers), then load it into core/poczta
# next to the testproto module and send it a clean and an infected message.
#
# Needs autoconf, automake, libtool, pkg-config and /usr/bin/python3 (the
# client).  Run by make check with top_srcdir and top_builddir set.
# Exit status: 0 when every check passed, 1 otherwise, 77 (skipped) when a
# tool above is missing.

set -u

top_srcdir=$(cd "${top_srcdir:-.}" && pwd) || exit 1
top_builddir=$(cd "${top_builddir:-.}" && pwd) || exit 1
POCZTA=$top_builddir/core/poczta
TESTPROTO=$top_builddir/tests/moddir/testproto.so
PYTHON=/usr/bin/python3
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
failures=0
checks=0
pid=

pass() { checks=$((checks + 1)); echo "ok   - $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL - $1"; }
# give_up WHAT [LOG]: a failure the rest of the test depends on.
give_up() {
	fail "$1"
	[ -n "${2:-}" ] && tail -n 40 "$2" | sed 's/^/#   /'
	echo "# $checks checks, $failures failed"
	exit 1
}
# check WHAT COMMAND...: the command must succeed.
check() {
	what=$1; shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$T"
}

for tool in autoreconf automake libtoolize pkg-config "$PYTHON"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP - $tool is needed to build and test the example module"
		exit 77
	fi
done
[ -x "$POCZTA" ] || give_up "poczta not found at $POCZTA"
[ -e "$TESTPROTO" ] || give_up "testproto.so not found at $TESTPROTO (built by make check)"

T=$(mktemp -d "${TMPDIR:-/tmp}/test-sdk.XXXXXX") || exit 1
trap cleanup EXIT
trap 'exit 1' INT TERM
# This runs under make check: the make below must not inherit its flags.
unset MAKEFLAGS MFLAGS MAKELEVEL
echo "# work folder: $T"

# ---- 1. install into a temporary DESTDIR
echo "# make install DESTDIR=$T/root"
if make -C "$top_builddir" install DESTDIR="$T/root" >"$T/install.log" 2>&1; then
	pass "make install DESTDIR=..."
else
	give_up "make install DESTDIR=... failed" "$T/install.log"
fi
pc=$(find "$T/root" -name poczta-sdk.pc -path '*/pkgconfig/*' | head -n 1)
m4=$(find "$T/root" -name poczta.m4 -path '*/aclocal/*' | head -n 1)
[ -n "$pc" ] || give_up "poczta-sdk.pc was not installed into a pkgconfig folder"
[ -n "$m4" ] || give_up "poczta.m4 was not installed into an aclocal folder"
pass "installed ${pc#"$T/root"} and ${m4#"$T/root"}"
PCDIR=${pc%/*}
M4DIR=${m4%/*}

# pkg-config as the example's configure will run it: only the installed
# SDK is visible, and its paths are inside the DESTDIR.
sdk_pkgconfig() {
	PKG_CONFIG_LIBDIR=$PCDIR PKG_CONFIG_PATH=$PCDIR PKG_CONFIG_SYSROOT_DIR=$T/root \
		pkg-config "$@"
}
major=$(sed -n 's/^#define PZ_ABI_MAJOR \([0-9]*\).*/\1/p' "$top_srcdir/sdk/include/poczta/module.h")
minor=$(sed -n 's/^#define PZ_ABI_MINOR \([0-9]*\).*/\1/p' "$top_srcdir/sdk/include/poczta/module.h")
echo "# pkg-config reads the installed poczta-sdk.pc"
got=$(sdk_pkgconfig --variable=abi_major poczta-sdk).$(sdk_pkgconfig --variable=abi_minor poczta-sdk)
if [ "$got" = "$major.$minor" ]; then
	pass "poczta-sdk.pc says ABI $got, as module.h"
else
	fail "poczta-sdk.pc says ABI '$got', module.h says $major.$minor"
fi
incdir=$(sdk_pkgconfig --cflags-only-I poczta-sdk | sed 's/^ *-I//; s/ *$//')
case $incdir in
"$T/root"/*) pass "pkg-config --cflags points into the DESTDIR ($incdir)" ;;
*) fail "pkg-config --cflags gives '$incdir', not a folder in $T/root" ;;
esac
differ=
for h in "$top_srcdir"/sdk/include/poczta/*.h; do
	cmp -s "$h" "$incdir/poczta/${h##*/}" || differ="$differ ${h##*/}"
done
if [ -z "$differ" ]; then
	pass "every header of sdk/include/poczta is installed unchanged"
else
	fail "headers missing or different after install:$differ"
fi

# ---- 2. build the example out of tree against the installed SDK only
echo "# copy sdk/examples/scanner and build it: autogen.sh (autoreconf -fi), configure, make"
if ! cp -R "$top_srcdir/sdk/examples/scanner" "$T/scanner" || ! chmod -R u+w "$T/scanner"; then
	give_up "cannot copy the example"
fi
if (
	cd "$T/scanner" &&
	unset top_srcdir top_builddir CPPFLAGS CFLAGS LDFLAGS POCZTA_CFLAGS POCZTA_LIBS &&
	export PKG_CONFIG_LIBDIR="$PCDIR" PKG_CONFIG_PATH="$PCDIR" \
		PKG_CONFIG_SYSROOT_DIR="$T/root" ACLOCAL_PATH="$M4DIR" &&
	sh ./autogen.sh && ./configure && make V=1
) >"$T/build.log" 2>&1; then
	pass "the example builds against the installed SDK"
else
	give_up "building the example failed" "$T/build.log"
fi
grep 'Poczta module ABI' "$T/build.log" | sed 's/^/# configure: /'
SO=$T/scanner/.libs/example-scanner.so
[ -f "$SO" ] || give_up "no $SO after the build"
pass "built example-scanner.so"

# Every -I of the build is the example's own folder or the DESTDIR.
bad_inc=
for flag in $(tr ' ' '\n' <"$T/build.log" | sed -n 's/^-I//p' | sort -u); do
	case $flag in
	. | .. | "$T/root"/*) ;;
	*) bad_inc="$bad_inc -I$flag" ;;
	esac
done
if [ -z "$bad_inc" ]; then
	pass "no -I outside the example and the DESTDIR"
else
	fail "include paths outside the installed SDK:$bad_inc"
fi
case $(cat "$T/build.log") in
*"-I$top_srcdir"* | *"-I$top_builddir"*) fail "the build used -I into the Poczta tree" ;;
*) pass "no -I into the Poczta source or build tree" ;;
esac
# The compiler's dependency file names the headers it really read.
used=$(cat "$T/scanner"/.deps/*.Plo 2>/dev/null | tr ' \\' '\n\n' | grep '/poczta/[a-z]*\.h$' | sort -u)
outside=$(echo "$used" | grep -v "^$T/root/" | grep -v '^$')
if [ -z "$used" ]; then
	echo "# no dependency files: cannot list the headers the compiler read"
elif [ -z "$outside" ]; then
	pass "the compiler read poczta/*.h from the DESTDIR only"
else
	fail "the compiler read headers outside the DESTDIR: $outside"
fi
if command -v nm >/dev/null 2>&1; then
	exports=$(nm -D --defined-only "$SO" | awk '$2 == "T" || $2 == "D" || $2 == "B" { print $3 }')
	if [ "$exports" = example_scanner_LTX_poczta_module ]; then
		pass "the module exports only example_scanner_LTX_poczta_module"
	else
		fail "the module exports: $(echo "$exports" | tr '\n' ' ')"
	fi
fi

# ---- 3. load it into poczta
mkdir "$T/mods" "$T/state" &&
ln -s "$(cd "${TESTPROTO%/*}" && pwd)/testproto.so" "$T/mods/testproto.so" &&
ln -s "$SO" "$T/mods/example-scanner.so" || give_up "cannot make the module folder"
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# As root the connection processes drop to `user`, which must exist.
run_as=
[ "$(id -u)" -eq 0 ] && run_as="user = nobody"

# write_conf FILE [EXAMPLE-SCANNER-LINES] - no auth backend: nobody logs in.
write_conf() {
	cat >"$1" <<EOF
module_dir = $T/mods
state_dir = $T/state
auth = ""
shutdown_timeout = 2s
$run_as
listener t {
	protocol = testproto
	address = 127.0.0.1:$port
}
module testproto {
}
module example-scanner {
${2:-}
}
EOF
}
write_conf "$T/poczta.conf"

echo "# poczta -t with the module configured"
if "$POCZTA" -t -c "$T/poczta.conf" >"$T/t.log" 2>&1; then
	pass "poczta -t exits 0"
else
	fail "poczta -t exits $?: $(cat "$T/t.log")"
fi
write_conf "$T/bad.conf" "	action = shred"
if "$POCZTA" -t -c "$T/bad.conf" >"$T/bad.log" 2>&1; then
	fail "poczta -t accepts action = shred"
elif grep -q "action must be reject, quarantine or tempfail" "$T/bad.log"; then
	pass "poczta -t refuses action = shred with the module's reason"
else
	fail "poczta -t refuses action = shred, but says: $(cat "$T/bad.log")"
fi

echo "# start poczta -F on 127.0.0.1:$port"
# timeout(1) passes our SIGTERM on, and kills a poczta that hangs.
timeout=
command -v timeout >/dev/null 2>&1 && timeout="timeout -s KILL 120"
$timeout "$POCZTA" -F -c "$T/poczta.conf" >"$T/poczta.log" 2>&1 &
pid=$!

# talk LINE... - connect (retrying while poczta starts), read the greeting,
# send each line and print its one-line reply.
talk() {
	"$PYTHON" - "$port" "$@" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
for attempt in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("cannot connect to 127.0.0.1:%d" % port)
f = s.makefile("rwb")
print("greeting: " + f.readline().decode().rstrip("\r\n"))
for line in sys.argv[2:]:
    f.write(line.encode() + b"\r\n")
    f.flush()
    print(f.readline().decode().rstrip("\r\n"))
EOF
}

talk "SCAN hello" "SCAN $EICAR" QUIT >"$T/replies" 2>&1
sed 's/^/# reply: /' "$T/replies"
# reply N - the reply to the Nth command.
reply() { sed -n "$(($1 + 1))p" "$T/replies"; }
check "greeting from testproto" grep -q '^greeting: \* testproto ready' "$T/replies"
got=$(reply 1)
if [ "$got" = "OK verdict 0 - headers=1" ]; then
	pass "SCAN hello: accepted with one header (X-Example-Scanner: clean)"
else
	fail "SCAN hello: got '$got', want 'OK verdict 0 - headers=1'"
fi
got=$(reply 2)
case $got in
"OK verdict 1 "*EICAR-STANDARD-ANTIVIRUS-TEST-FILE*" headers=0")
	pass "SCAN of the EICAR string: rejected (verdict 1) naming the signature" ;;
*) fail "SCAN of the EICAR string: got '$got', want 'OK verdict 1 ...EICAR-STANDARD-ANTIVIRUS-TEST-FILE... headers=0'" ;;
esac
got=$(reply 3)
if [ "$got" = "OK bye" ]; then pass "QUIT"; else fail "QUIT: got '$got'"; fi

echo "# stop poczta with SIGTERM"
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
pid=
if [ "$status" -eq 0 ]; then
	pass "poczta stopped on SIGTERM (exit 0)"
else
	fail "poczta exited $status after SIGTERM"
fi
check "the module logged its settings" grep -q 'example-scanner: looking for "EICAR-STANDARD-ANTIVIRUS-TEST-FILE", action reject' "$T/poczta.log"
check "the core logged the verdict" grep -q 'example-scanner.*verdict 1' "$T/poczta.log"
if [ "$failures" -ne 0 ]; then
	echo "# poczta's log:"
	sed 's/^/#   /' "$T/poczta.log"
fi

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
