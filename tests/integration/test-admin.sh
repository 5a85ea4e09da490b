#!/bin/sh
# test-admin.sh - run the built poczta-admin: hash passwords, add, list,
# replace and delete users in a passwd-file, and check the results.
# Hashes are checked with perl's crypt(), which is libc's crypt(3), so the
# test does not trust poczta-admin to judge its own output.
#
# Usage: test-admin.sh [PATH-TO-poczta-admin]
#        (default: ${top_builddir:-.}/core/poczta-admin)
# Exit status: 0 when every check passed, 1 otherwise.

set -u

ADMIN=${1:-${top_builddir:-.}/core/poczta-admin}
failures=0
checks=0

pass() { checks=$((checks + 1)); echo "ok   - $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL - $1"; }

# check WHAT COMMAND...: the command must succeed.
check() {
	what=$1; shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_status WANT WHAT COMMAND...: run, compare the exit status.
expect_status() {
	want=$1 what=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass "$what (exit $got)"
	else
		fail "$what: exit $got, want $want; stderr: $(cat "$T/err")"
	fi
}

# crypt_ok PASSWORD HASH: whether crypt(3) of PASSWORD with HASH is HASH.
crypt_ok() {
	perl -e 'exit(crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? 0 : 1)' "$1" "$2"
}

contains() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qF -- "$2" "$1"; }

if [ ! -x "$ADMIN" ]; then
	echo "FAIL - poczta-admin not found at $ADMIN"
	exit 1
fi
if ! command -v perl >/dev/null 2>&1; then
	echo "FAIL - perl is needed to check hashes with crypt(3)"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/test-admin.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
umask 022
echo "# poczta-admin: $ADMIN, work folder: $T"

# ---- program and usage
expect_status 0 "--version" "$ADMIN" --version
check "--version names the program" contains "$T/out" "poczta-admin"
expect_status 0 "--help" "$ADMIN" --help
check "--help lists user add" contains "$T/out" "poczta-admin user add -f FILE"
expect_status 2 "no command" "$ADMIN"
expect_status 2 "unknown command" "$ADMIN" frobnicate
check "unknown command is named" contains "$T/err" "unknown command 'frobnicate'"
expect_status 2 "user without subcommand" "$ADMIN" user
expect_status 2 "unknown scheme" "$ADMIN" passwd -s md5
expect_status 2 "unknown option" "$ADMIN" passwd --frob
expect_status 2 "user add without -f" "$ADMIN" user add -p x bob
expect_status 2 "user add without NAME" "$ADMIN" user add -f "$T/users" -p x
expect_status 2 "user add with -p and -H" "$ADMIN" user add -f "$T/users" -p x -H y bob
expect_status 2 "user del with an add option" "$ADMIN" user del -f "$T/users" --home /x bob

# ---- the postgres commands without the postgres module's helper
expect_status 0 "--help" "$ADMIN" --help
check "--help lists db migrate" contains "$T/out" "poczta-admin db migrate"
for cmd in "db status" "db migrate" "db gc" "import demo" "export demo /x"; do
	# shellcheck disable=SC2086
	expect_status 1 "$cmd without the helper" env POCZTA_LIBEXECDIR="$T/none" "$ADMIN" $cmd
	check "$cmd says what is missing" contains "$T/err" "$T/none/postgres-admin is not installed: this command needs the postgres module"
done
expect_status 0 "db migrate --help without the helper" env POCZTA_LIBEXECDIR="$T/none" "$ADMIN" db migrate --help
expect_status 2 "db without subcommand" "$ADMIN" db

# ---- passwd: one line from stdin (not a terminal)
for scheme in yescrypt sha512 bcrypt; do
	case $scheme in
	yescrypt) prefix='$y$' ;;
	sha512) prefix='$6$' ;;
	bcrypt) prefix='$2b$' ;;
	esac
	hash=$(printf 'pa ss:w0rd\n' | "$ADMIN" passwd -s $scheme)
	status=$?
	if [ $status -eq 0 ]; then pass "passwd -s $scheme"; else fail "passwd -s $scheme: exit $status"; fi
	case $hash in
	"$prefix"*) pass "$scheme hash starts with $prefix" ;;
	*) fail "$scheme hash '$hash' does not start with $prefix" ;;
	esac
	check "$scheme hash verifies with crypt(3)" crypt_ok 'pa ss:w0rd' "$hash"
	if crypt_ok 'pa ss:w0rd!' "$hash"; then
		fail "$scheme hash accepts a wrong password"
	else
		pass "$scheme hash refuses a wrong password"
	fi
done
h1=$(echo same | "$ADMIN" passwd)
h2=$(echo same | "$ADMIN" passwd)
case $h1 in '$y$'*) pass "default scheme is yescrypt" ;; *) fail "default scheme: $h1" ;; esac
if [ "$h1" != "$h2" ]; then pass "each hash has a fresh salt"; else fail "two hashes are equal"; fi
hash=$(printf 'no-newline' | "$ADMIN" passwd)
check "a last line without newline is read" crypt_ok 'no-newline' "$hash"
hash=$(printf 'crlf\r\n' | "$ADMIN" passwd)
check "a CR before the newline is dropped" crypt_ok 'crlf' "$hash"
expect_status 1 "empty password" sh -c "printf '\n' | '$ADMIN' passwd"
check "empty password is named" contains "$T/err" "empty password"
expect_status 1 "no password on stdin" sh -c "'$ADMIN' passwd </dev/null"

# ---- user add / list / del
F=$T/users
printf '# Poczta users\n\n# keep this comment\nalice:*\n' >"$F"
chmod 0600 "$F"

expect_status 0 "user add with -p and fields" "$ADMIN" user add -f "$F" -p 'b0b pass' \
	--home /home/bob --mail 'maildir:~/Maildir' --quota 1G bob
line=$(grep '^bob:' "$F")
hash=$(echo "$line" | cut -d: -f2)
check "bob's hash verifies" crypt_ok 'b0b pass' "$hash"
case $line in
*'::::/home/bob::mail=maildir:~/Maildir quota=1G') pass "bob's line has home, mail and quota" ;;
*) fail "bob's line: $line" ;;
esac
check "comments kept" contains "$F" "# keep this comment"
check "mode of the file kept" test "$(stat -c %a "$F")" = 600

expect_status 0 "user add reading the password from stdin" \
	sh -c "echo 'carol pw' | '$ADMIN' user add -f '$F' -s sha512 carol"
hash=$(grep '^carol:' "$F" | cut -d: -f2)
case $hash in '$6$'*) pass "-s sha512 used" ;; *) fail "carol's hash: $hash" ;; esac
check "carol's hash verifies" crypt_ok 'carol pw' "$hash"

dave_hash=$(echo 'dave pw' | "$ADMIN" passwd -s bcrypt)
expect_status 0 "user add with -H" "$ADMIN" user add -f "$F" -H "$dave_hash" dave
check "dave's line is the given hash" contains "$F" "dave:$dave_hash"
expect_status 2 "user add with a malformed hash" "$ADMIN" user add -f "$F" -H '$6$short' erin
check "malformed hash is explained" contains "$T/err" "truncated or malformed"
expect_status 2 "user add with {PLAIN}" "$ADMIN" user add -f "$F" -H '{PLAIN}x' erin
expect_status 2 "user add with a relative home" "$ADMIN" user add -f "$F" -p x --home rel erin
expect_status 2 "user add with a bad quota" "$ADMIN" user add -f "$F" -p x --quota lots erin
expect_status 2 "user add with a bad name" "$ADMIN" user add -f "$F" -p x 'e rin'
lacks "$F" "erin" && pass "refused users were not written" || fail "a refused user was written"

expect_status 1 "user add of an existing user" "$ADMIN" user add -f "$F" -p x bob
check "existing user is named" contains "$T/err" "user 'bob' already exists"
expect_status 0 "user add --replace" "$ADMIN" user add -f "$F" -p 'new pw' --replace bob
hash=$(grep '^bob:' "$F" | cut -d: -f2)
check "bob's new hash verifies" crypt_ok 'new pw' "$hash"
order=$(grep -v '^#' "$F" | grep -v '^$' | cut -d: -f1 | tr '\n' ' ')
check "replace keeps the line in place ($order)" test "$order" = "alice bob carol dave "

expect_status 0 "user list" "$ADMIN" user list -f "$F"
check "list shows alice as locked" contains "$T/out" "alice password=locked"
check "list shows bob" contains "$T/out" "bob password=yescrypt"
check "list shows carol with sha512" contains "$T/out" "carol password=sha512"
check "list shows dave with bcrypt" contains "$T/out" "dave password=bcrypt"
lacks "$T/out" '$' && pass "list shows no hash" || fail "list shows a hash: $(cat "$T/out")"

expect_status 0 "user del" "$ADMIN" user del -f "$F" carol
lacks "$F" "carol" && pass "carol is gone" || fail "carol is still there"
check "other users kept" contains "$F" "dave:$dave_hash"
check "comments kept after del" contains "$F" "# keep this comment"
expect_status 1 "user del of a missing user" "$ADMIN" user del -f "$F" carol
check "missing user is named" contains "$T/err" "no user 'carol'"
expect_status 1 "user del in a missing file" "$ADMIN" user del -f "$T/nofile" bob
expect_status 1 "user list of a missing file" "$ADMIN" user list -f "$T/nofile"

expect_status 0 "user add creates a missing file" "$ADMIN" user add -f "$T/new" -p x zoe
check "a new file is mode 640" test "$(stat -c %a "$T/new")" = 640

printf 'ok:*\nbroken line\n' >"$T/bad"
expect_status 1 "user list of a file with a bad line" "$ADMIN" user list -f "$T/bad"
check "the bad line is named FILE:LINE" contains "$T/err" "$T/bad:2: missing ':' after the user name"
check "the good users are still listed" contains "$T/out" "ok password=locked"

leftover=$(ls -A "$T" | grep -v -e '^users$' -e '^new$' -e '^bad$' -e '^out$' -e '^err$')
if [ -z "$leftover" ]; then pass "no temporary files left"; else fail "left over: $leftover"; fi

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
