#!/usr/bin/python3
"""maildir-bench.py - Dovecot's side of the maildir benchmark, the whole-
process figures of both, and the table (bench/maildir-bench.sh runs it;
bench/README.md says what each figure measures).

  maildir-bench.py imap PORT MAILDIR SAVES
      Dovecot's figures over IMAP, "dovecot KEY VALUE" lines
  maildir-bench.py process BENCH PCONF PMAILDIR DCONF DMAILDIR
      poczta's `maildir-bench status` next to `doveadm mailbox status`,
      each timed as a whole process
  maildir-bench.py table RESULTS MESSAGES
      the side-by-side table of a RESULTS file of "SIDE KEY VALUE" lines;
      a key given more than once (several rounds) shows its best value and
      its median

The IMAP client is a plain socket reader: it looks for the tagged reply in
large reads and parses nothing else, so it adds little to Dovecot's time.
"""
import os
import socket
import statistics
import subprocess
import sys
import time

WARM_ROUNDS = 5
STATUS_ITEMS = "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"
DOVECOT_INDEX_PREFIXES = ("dovecot.index", "dovecot.list.index",
                          "dovecot-uidlist", "dovecot-keywords")
POCZTA_INDEX = ("poczta-index.db", "poczta-index.db-wal", "poczta-index.db-shm")


def drop_caches():
    """True when the page cache could be dropped (root only)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def remove_files(maildir, match):
    for name in os.listdir(maildir):
        if match(name):
            os.unlink(os.path.join(maildir, name))


def remove_dovecot_index(maildir):
    remove_files(maildir, lambda n: n.startswith(DOVECOT_INDEX_PREFIXES))


def remove_poczta_index(maildir):
    remove_files(maildir, lambda n: n in POCZTA_INDEX)


class Imap:
    """One logged-in IMAP connection; cmd() returns the seconds from
    sending a command to reading its tagged OK."""

    def __init__(self, port):
        for _ in range(100):
            try:
                self.sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        self.n = 0
        buf = b""
        while b"\r\n" not in buf:
            buf += self.sock.recv(65536)
        self.cmd(b"LOGIN u secret")

    def cmd(self, line):
        self.n += 1
        tag = b"T%d " % self.n
        t = time.monotonic()
        self.sock.sendall(tag + line + b"\r\n")
        buf, pos = b"\r\n", 0
        while True:
            i = buf.find(b"\r\n" + tag, pos)
            if i >= 0:
                j = buf.find(b"\r\n", i + 2)
                if j >= 0:
                    break
            else:
                pos = max(0, len(buf) - len(tag) - 2)
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("connection closed")
            buf += data
        elapsed = time.monotonic() - t
        result = buf[i + 2 + len(tag):j]
        if not result.startswith(b"OK"):
            raise RuntimeError(line[:40] + b": " + result)
        return elapsed

    def close(self):
        self.cmd(b"LOGOUT")
        self.sock.close()


def out(key, value):
    print("dovecot %s %.4f" % (key, value), flush=True)


def flag_one(maildir):
    """Flag one message the way mutt would: rename it with an F."""
    cur = os.path.join(maildir, "cur")
    for name in os.listdir(cur):
        info = name.find(":2,")
        if info >= 0 and "F" not in name[info:]:
            os.rename(os.path.join(cur, name), os.path.join(cur, name + "F"))
            return
    raise RuntimeError("no message to flag")


def imap(port, maildir, saves):
    status = b"STATUS INBOX " + STATUS_ITEMS.encode()
    remove_dovecot_index(maildir)
    c = Imap(port)
    print("dovecot caches_dropped %d" % drop_caches())
    out("status_cold", c.cmd(status))
    c.close()
    warm = []
    for _ in range(WARM_ROUNDS):
        c = Imap(port)
        warm.append(c.cmd(status))
        c.close()
    out("status_warm", statistics.median(warm))

    remove_dovecot_index(maildir)
    c = Imap(port)
    drop_caches()
    out("select_cold", c.cmd(b"SELECT INBOX"))
    out("fetch_cold", c.cmd(b"UID FETCH 1:* (FLAGS)"))
    c.close()
    sel, fetch = [], []
    for i in range(WARM_ROUNDS):
        c = Imap(port)
        sel.append(c.cmd(b"SELECT INBOX"))
        fetch.append(c.cmd(b"UID FETCH 1:* (FLAGS)"))
        if i + 1 < WARM_ROUNDS:
            c.close()
    out("select_warm", statistics.median(sel))
    out("fetch_warm", statistics.median(fetch))
    flag_one(maildir)
    out("resync", c.cmd(b"NOOP"))
    c.close()

    if saves > 0:
        c = Imap(port)
        try:
            c.cmd(b"CREATE Saves")
        except RuntimeError:
            pass  # made by an earlier round
        msg = b"From: a@example.org\r\nSubject: save\r\n\r\n"
        while len(msg) + 64 < 4096:
            msg += b"a line of a saved message, 4 KiB in all\r\n"
        # LITERAL+: one round trip per APPEND, as poczta's one call
        append = b"APPEND Saves {%d+}\r\n%s" % (len(msg), msg)
        t = time.monotonic()
        for _ in range(saves):
            c.cmd(append)
        print("dovecot saves %.0f" % (saves / (time.monotonic() - t)))
        c.close()


def secs(argv):
    t = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - t


def process(bench, pconf, pmaildir, dconf, dmaildir):
    sides = {
        "poczta": ([bench, "status", pconf, "u"],
                   lambda: remove_poczta_index(pmaildir)),
        "dovecot": (["doveadm", "-c", dconf, "mailbox", "status", "-u", "u",
                     "messages recent uidnext uidvalidity unseen", "INBOX"],
                    lambda: remove_dovecot_index(dmaildir)),
    }
    for side, (argv, remove) in sides.items():
        remove()
        drop_caches()
        print("%s proc_status_cold %.4f" % (side, secs(argv)))
        warm = [secs(argv) for _ in range(WARM_ROUNDS)]
        print("%s proc_status_warm %.4f" % (side, statistics.median(warm)),
              flush=True)


# (key, label, kind): kind "t" is seconds (lower is better), "r" a rate
# (higher is better), "part" a component that is not like for like alone
ROWS = [
    ("status_cold", "STATUS, cold: no index yet", "t"),
    ("status_warm", "STATUS, warm: index exists", "t"),
    ("view_cold", "open a view + flags of all, cold", "t"),
    ("select_cold", "  of which SELECT (open+sync)", "part"),
    ("fetch_cold", "  of which UID FETCH 1:* (FLAGS)", "part"),
    ("view_warm", "open a view + flags of all, warm", "t"),
    ("select_warm", "  of which SELECT (open+sync)", "part"),
    ("fetch_warm", "  of which UID FETCH 1:* (FLAGS)", "t"),
    ("resync", "NOOP after a rename by another tool", "t"),
    ("saves", "saves with fsync, per second", "r"),
    ("proc_status_cold", "whole process: status, cold", "t"),
    ("proc_status_warm", "whole process: status, warm", "t"),
]


def best(values, kind):
    return max(values) if kind == "r" else min(values)


def table(results, messages):
    v = {"poczta": {}, "dovecot": {}}
    with open(results) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] in v:
                v[parts[0]].setdefault(parts[1], []).append(float(parts[2]))
    for side in v.values():
        for temp in ("cold", "warm"):
            sel, fetch = side.get("select_" + temp), side.get("fetch_" + temp)
            if sel and fetch:
                side["view_" + temp] = [a + b for a, b in zip(sel, fetch)]
    dropped = all(min(v[s].get("caches_dropped", [0])) == 1 for s in v)
    rounds = len(v["poczta"].get("status_cold", []))
    print("\n%d messages, %d round(s); cold figures %s" %
          (messages, rounds, "with the page cache dropped" if dropped
           else "with a WARM page cache (not root)"))
    print("best of the rounds (noise only ever adds), median in brackets")
    print("%-38s %21s %21s  %s" % ("figure", "poczta", "dovecot",
                                   "poczta/dovecot (best)"))
    for key, label, kind in ROWS:
        p, d = v["poczta"].get(key), v["dovecot"].get(key)
        if not p or not d:
            continue
        bp, bd = best(p, kind), best(d, kind)
        mp, md = statistics.median(p), statistics.median(d)
        if kind == "r":
            verdict = "%.2fx the rate%s" % (bp / bd, "" if bp >= bd else "  SLOWER")
            print("%-38s %9.0f [%9.0f] %9.0f [%9.0f]  %s" %
                  (label, bp, mp, bd, md, verdict))
            continue
        verdict = "%.2fx the time" % (bp / bd) if bd > 0 else ""
        if kind == "t" and bp > bd:
            verdict += "  SLOWER"
        elif kind == "part":
            verdict += "  (part)"
        print("%-38s %8.4fs [%8.4fs] %8.4fs [%8.4fs]  %s" %
              (label, bp, mp, bd, md, verdict))


def main(argv):
    if len(argv) == 5 and argv[1] == "imap":
        imap(int(argv[2]), argv[3], int(argv[4]))
    elif len(argv) == 7 and argv[1] == "process":
        process(*argv[2:])
    elif len(argv) == 4 and argv[1] == "table":
        table(argv[2], int(argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
