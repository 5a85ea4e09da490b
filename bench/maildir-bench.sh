#!/bin/sh
# maildir-bench.sh - poczta's maildir storage next to Dovecot on the same
# 100,000-message maildir (a benchmark: it prints figures, it never fails on
# them).  Run from the build tree, as root (Dovecot drops to `nobody`, and
# "cold" drops the page cache), with Dovecot installed:
#     sh bench/maildir-bench.sh [MESSAGES] [SAVES]
# Dovecot's figures come from doveadm (one process per figure, so they
# include its start-up, ~10 ms) and, for saves, from IMAP APPEND over one
# connection (each APPEND is one durable save, as poczta's save_commit).
set -e
N=${1:-100000}
SAVES=${2:-2000}
B=$(cd "${top_builddir:-.}" && pwd)
D=$(mktemp -d /tmp/pzbench.XXXXXX)
chmod 755 "$D"
trap 'doveadm -c "$D/dovecot.conf" stop >/dev/null 2>&1 || true; rm -rf "$D"' EXIT

echo "populating $N messages..."
"$B/bench/maildir-bench" populate "$D/poczta/u/Maildir" "$N"
mkdir -p "$D/dovecot"
cp -a "$D/poczta/u" "$D/dovecot/u"
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

secs() {
	# secs CMD... - wall time of a command, in seconds
	/usr/bin/python3 -c 'import subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print("%.3f" % (time.monotonic() - t))' "$@"
}
drop_caches() {
	sync
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
}

echo
echo "== poczta (storage ops called directly)"
BENCH_MAILDIR="$D/poczta/u/Maildir" "$B/bench/maildir-bench" run "$D/poczta.conf" u "$SAVES"

echo
echo "== Dovecot $(dovecot --version | cut -d' ' -f1) (doveadm; IMAP APPEND for saves)"
DA="doveadm -c $D/dovecot.conf"
dovecot -c "$D/dovecot.conf"   # doveadm looks users up through its auth
sleep 0.5
drop_caches
printf 'dovecot open+sync cold (no index): %8.3f s\n' \
	"$(secs $DA mailbox status -u u 'messages uidnext' INBOX)"
printf 'dovecot open+sync warm:            %8.3f s\n' \
	"$(secs $DA mailbox status -u u 'messages uidnext' INBOX)"
printf 'dovecot fetch flags of all:        %8.3f s\n' \
	"$(secs $DA fetch -u u 'uid flags' mailbox INBOX all)"
F=$(ls "$D/dovecot/u/Maildir/cur" | grep -v 'F' | head -1)
mv "$D/dovecot/u/Maildir/cur/$F" "$D/dovecot/u/Maildir/cur/${F}F"
printf 'dovecot resync after a rename:     %8.3f s  (incl. doveadm start)\n' \
	"$(secs $DA mailbox status -u u 'messages' INBOX)"
/usr/bin/python3 - "$IMAP_PORT" "$SAVES" <<'PY'
import imaplib, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(100):
    try:
        m = imaplib.IMAP4("127.0.0.1", port)
        break
    except OSError:
        time.sleep(0.05)
m.login("u", "secret")
m.create("Saves")
msg = b"From: a@example.org\r\nSubject: save\r\n\r\n"
while len(msg) + 64 < 4096:
    msg += b"a line of a saved message, 4 KiB in all\r\n"
t = time.monotonic()
for i in range(n):
    m.append("Saves", None, None, msg)
t = time.monotonic() - t
print("dovecot saves with fsync:          %8.0f /s  (%d APPENDs in %.3f s)" % (n / t, n, t))
m.logout()
PY
