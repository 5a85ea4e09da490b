#!/bin/sh
# tests/fuzz/run.sh - build every fuzz target with libFuzzer, ASan and UBSan
# and run each for a bounded time.  Exits non-zero on the first finding.
#
#   tests/fuzz/run.sh [SECONDS]        (default 30 per target)
#
# Each row of TARGETS: name, then the sources it links (relative to the top).
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:-30}
OUT=${FUZZ_OUT:-$TOP/build-fuzz}
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
 -I$TOP/sdk/include -I$TOP/core"

TARGETS="
fuzz-config core/config.c|core/config-value.c
fuzz-passwd-file modules/passwd-file/pwfile.c|-DPWFILE_READ_CHUNK=7|-lcrypt
fuzz-imap-parser modules/imap/imap-parser.c
fuzz-mime core/mail/mail-address.c|core/mail/mail-buf.c|core/mail/mail-charset.c|core/mail/mail-content.c|core/mail/mail-date.c|core/mail/mail-decode.c|core/mail/mail-fold.c|core/mail/mail-header.c|core/mail/mail-imap.c|core/mail/mail-parse.c|core/mail/mail-part.c|core/mail/mail-reader.c|core/mail/mail-rfc822.c|core/mail/mail-search.c|core/mail/mail-utf7.c|core/mail/mail-words.c|core/pool.c|core/stream.c|core/base64.c|core/log.c|-D_GNU_SOURCE
"

mkdir -p "$OUT"
echo "$TARGETS" | while read -r name srcs; do
	[ -n "$name" ] || continue
	files="" extra=""
	for part in $(echo "$srcs" | tr '|' ' '); do
		case "$part" in
		-*) extra="$extra $part" ;;
		*) files="$files $TOP/$part" ;;
		esac
	done
	echo "== $name: build"
	# shellcheck disable=SC2086
	$CC $CFLAGS "$TOP/tests/fuzz/$name.c" $files $extra -o "$OUT/$name"
	mkdir -p "$OUT/$name.corpus"
	echo "== $name: fuzz for ${SECONDS_EACH}s"
	(cd "$OUT" && "./$name" -max_total_time="$SECONDS_EACH" -max_len=16384 \
		-print_final_stats=1 "$name.corpus" 2>"$name.log") || {
		tail -50 "$OUT/$name.log"
		echo "FAIL: $name found a crash (inputs in $OUT)"
		exit 1
	}
	grep -E "stat::number_of_executed_units" "$OUT/$name.log" || true
done
