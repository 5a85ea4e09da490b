#!/bin/sh
# maildir-bench.sh - poczta's maildir storage next to Dovecot on copies of
# the same maildir (a benchmark: it prints figures and never fails on
# them).  Run from the build tree, as root (Dovecot drops to `nobody`, and
# cold figures drop the page cache), with Dovecot installed:
#     make bench/maildir-bench tests/moddir.stamp
#     sh bench/maildir-bench.sh [MESSAGES [SAVES [ROUNDS]]]
# Each round times both sides (in turns, which goes first); the table
# shows each figure's best round and its median.
# What each figure measures, on each side: bench/README.md.  In short:
# poczta's figures time the storage ops in one process that has loaded its
# config and opened the user before the clock starts; Dovecot's time IMAP
# commands on a connection that has logged in before the clock starts,
# from sending the command to reading its tagged OK.
set -e
N=${1:-100000}
SAVES=${2:-2000}
ROUNDS=${3:-3}
B=$(cd "${top_builddir:-.}" && pwd)
SRC=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d /tmp/pzbench.XXXXXX)
chmod 755 "$D"
trap 'doveadm -c "$D/dovecot.conf" stop >/dev/null 2>&1 || true; rm -rf "$D"' EXIT

# Both maildirs are written the same way, file by file in delivery order:
# a copy (cp -a) would lay its directory out in hash order, which reads
# faster cold than a directory that grew as mail arrived.
echo "populating 2 x $N messages..."
"$B/bench/maildir-bench" populate "$D/poczta/u/Maildir" "$N"
"$B/bench/maildir-bench" populate "$D/dovecot/u/Maildir" "$N"
chown -R nobody:nogroup "$D/dovecot"

cat > "$D/poczta.conf" <<CONF
module_dir = $B/tests/moddir
module maildir {
  location = maildir:$D/poczta/%u/Maildir
}
CONF
IMAP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$D/run" "$D/state"
cat > "$D/dovecot.conf" <<CONF
instance_name = pzbench$IMAP_PORT
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/dovecot/%u
}
mail_location = maildir:~/Maildir
first_valid_uid = 1
first_valid_gid = 1
service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
dovecot -c "$D/dovecot.conf"
sleep 0.5

R="$D/results"
run_poczta() {
	echo "  poczta: storage ops"
	"$B/bench/maildir-bench" run "$D/poczta.conf" u "$D/poczta/u/Maildir" \
		"$SAVES" >> "$R"
}
run_dovecot() {
	echo "  Dovecot $(dovecot --version | cut -d' ' -f1): IMAP"
	/usr/bin/python3 "$SRC/maildir-bench.py" imap "$IMAP_PORT" \
		"$D/dovecot/u/Maildir" "$SAVES" >> "$R"
}
i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "round $i of $ROUNDS"
	if [ $((i % 2)) -eq 1 ]; then run_poczta; run_dovecot; else run_dovecot; run_poczta; fi
	echo "  both: whole processes"
	/usr/bin/python3 "$SRC/maildir-bench.py" process "$B/bench/maildir-bench" \
		"$D/poczta.conf" "$D/poczta/u/Maildir" "$D/dovecot.conf" \
		"$D/dovecot/u/Maildir" >> "$R"
	i=$((i + 1))
done
/usr/bin/python3 "$SRC/maildir-bench.py" table "$R" "$N"
