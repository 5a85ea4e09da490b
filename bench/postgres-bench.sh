#!/bin/sh
# postgres-bench.sh - the maildir benchmark's figures (bench/README.md) for
# the postgres storage, next to the maildir storage's own when
# bench/maildir-bench is built (a benchmark: it prints figures and never
# fails on them).  Run from the build tree, as root for cold figures (the
# page cache is dropped):
#     make bench/postgres-bench bench/maildir-bench tests/moddir.stamp
#     sh bench/postgres-bench.sh [MESSAGES [SAVES]]      # 100000 and 2000
# PostgreSQL is a throwaway cluster on this machine (unix socket, fsync on,
# so a save is on disk when COMMIT returns; shared_buffers at its default).
# Cold: the server restarted and the page cache dropped before the timed
# call.  "resync" is a view's sync after another node flagged a message.
set -e
N=${1:-100000}
SAVES=${2:-2000}
B=$(cd "${top_builddir:-.}" && pwd)
SRC=$(cd "$(dirname "$0")" && pwd)
PZPG="/usr/bin/python3 $SRC/../tests/integration/pzpostgres.py"
export top_builddir="$B"
D=$(mktemp -d /tmp/pzpgbench.XXXXXX)
chmod 755 "$D"
START=$($PZPG start-durable)
PGDIR=${START%% *}
CONNINFO=${START#* }
trap '$PZPG destroy "$PGDIR"; rm -rf "$D"' EXIT

echo "populating $N messages in PostgreSQL..."
"$B/bench/postgres-bench" populate "$CONNINFO" u "$N"
cat > "$D/postgres.conf" <<CONF
module_dir = $B/tests/moddir
storage = postgres
module postgres {
  conninfo = $CONNINFO
}
CONF

R="$D/results"
export PG_CONNINFO="$CONNINFO"
export PG_COLD_COMMAND="$PZPG restart $PGDIR"
echo "postgres: storage ops..."
"$B/bench/postgres-bench" run "$D/postgres.conf" u "$SAVES" >> "$R"
echo "postgres: whole processes..."
/usr/bin/python3 - "$B/bench/postgres-bench" "$D/postgres.conf" >> "$R" <<'PY'
import os, statistics, subprocess, sys, time
bench, conf = sys.argv[1:3]
argv = [bench, "status", conf, "u"]
def secs():
    t = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - t
subprocess.run(os.environ["PG_COLD_COMMAND"].split(), check=True)
os.sync()
try:
    open("/proc/sys/vm/drop_caches", "w").write("3\n")
except OSError:
    pass
print("postgres proc_status_cold %.4f" % secs())
print("postgres proc_status_warm %.4f" % statistics.median(secs() for _ in range(5)))
PY

if [ -x "$B/bench/maildir-bench" ]; then
	echo "maildir: storage ops (bench/maildir-bench)..."
	"$B/bench/maildir-bench" populate "$D/maildir/u/Maildir" "$N"
	cat > "$D/maildir.conf" <<CONF
module_dir = $B/tests/moddir
module maildir {
  location = maildir:$D/maildir/%u/Maildir
}
CONF
	"$B/bench/maildir-bench" run "$D/maildir.conf" u "$D/maildir/u/Maildir" "$SAVES" \
		2>/dev/null | sed -n 's/^poczta /maildir /p' >> "$R" ||
		echo "(bench/maildir-bench run failed: postgres figures only)"
fi

/usr/bin/python3 - "$R" "$N" <<'PY'
import sys
# the rows of bench/maildir-bench.py, with "resync" done by another node
ROWS = [
    ("status_cold", "STATUS, cold: server restarted", "t"),
    ("status_warm", "STATUS, warm", "t"),
    ("view_cold", "open a view + flags of all, cold", "t"),
    ("select_cold", "  of which SELECT (open+sync)", "part"),
    ("fetch_cold", "  of which UID FETCH 1:* (FLAGS)", "part"),
    ("view_warm", "open a view + flags of all, warm", "t"),
    ("select_warm", "  of which SELECT (open+sync)", "part"),
    ("fetch_warm", "  of which UID FETCH 1:* (FLAGS)", "t"),
    ("resync", "NOOP after a change by another node", "t"),
    ("saves", "saves, durable, per second", "r"),
    ("proc_status_cold", "whole process: status, cold", "t"),
    ("proc_status_warm", "whole process: status, warm", "t"),
]
v = {"postgres": {}, "maildir": {}}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 3 and parts[0] in v:
        v[parts[0]][parts[1]] = float(parts[2])
for side in v.values():
    for temp in ("cold", "warm"):
        if "select_" + temp in side and "fetch_" + temp in side:
            side["view_" + temp] = side["select_" + temp] + side["fetch_" + temp]
print("\n%s messages; cold figures %s" % (sys.argv[2], "with the page cache dropped"
      if v["postgres"].get("caches_dropped") == 1 else "with a WARM page cache (not root)"))
both = bool(v["maildir"])
print("%-40s %10s %10s" % ("figure", "postgres", "maildir" if both else ""))
for key, label, kind in ROWS:
    p, m = v["postgres"].get(key), v["maildir"].get(key)
    if p is None:
        continue
    fmt = "%10.0f" if kind == "r" else "%9.3fs"
    print("%-40s %s %s" % (label, fmt % p, fmt % m if m is not None else ""))
PY
