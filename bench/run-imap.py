#!/usr/bin/python3
"""run-imap.py - IMAP commands per second of poczta next to Debian's
Dovecot, in one run on one machine (a benchmark: it prints figures and
never fails on them; issue 6).

Three servers run side by side (benchlib.py: poczta, dovecot-hp,
dovecot-default), each with its own maildirs, filled the same way before
it starts: every user i00, i01, ... has MESSAGES messages (200) in INBOX,
written from a fixed seed straight into cur/ as a delivery agent would
have left them (2-12 KB, a quarter multipart with a base64 attachment,
about half \\Seen, From: one of 20 senders, internal dates over 100 days
of 2024).

The load is bench/mailload's IMAP mode: N clients (10 and 50), each its
own user, one command at a time, each round of the mix

  LOGIN, SELECT INBOX, UID FETCH 1:* (FLAGS), UID FETCH of 3 messages
  (BODY.PEEK[] BODYSTRUCTURE), STORE +FLAGS or -FLAGS (\\Seen) on 3,
  UID SEARCH (UNSEEN, FROM senderNN or SINCE a date, in turn), APPEND of a
  4 KB message, UID STORE +FLAGS.SILENT (\\Deleted) of it, EXPUNGE, LOGOUT

  login mode: every round is a new connection (10 commands)
  long mode:  one connection per client, rounds without LOGIN and LOGOUT

The rate is commands answered with a tagged OK per second.  Any NO, BAD
or broken response is an error, printed with the first one's text; a
run with errors says so at the end.

Each cell (mode x clients) runs ROUNDS times for SECONDS each; which
server goes first changes from cell to cell and round to round.  The
table shows each server's best round and, in brackets, the median (other
work on the machine only ever lowers a rate), the latencies, and the CPU
time of the server's whole process tree per command.  Last, the memory
(PSS) of one idle IMAP connection after LOGIN and SELECT INBOX.

With --poczta-storage postgres or both, poczta-pg (the postgres storage,
on its own durable PostgreSQL cluster in the same file system) runs too;
its INBOXes are the same maildirs, moved in with `poczta-admin import`
(issue 7; bench/README.md).

Run from the build tree, as root, after `make check TESTS=`:

    /usr/bin/python3 bench/run-imap.py [--seconds 10] [--rounds 3]
        [--clients 10,50] [--modes login,long]
        [--poczta-storage maildir|postgres|both]
        [--poczta-listener-setting 'KEY = VALUE' ...]
"""
import argparse
import base64
import email.utils
import os
import random
import socket
import statistics
import sys

from benchlib import (BenchRun, PASSWORD, add_common_args, check_environment, fnum,
                      idle_memory, mailload, measured, ratio, ratio_columns, rotated)

# what mailload-imap.c searches for: keep both in step
FILL_START = 1704067200     # 2024-01-01 00:00 UTC, IMAP_FILL_START
FILL_DAYS = 100             # IMAP_FILL_DAYS
SENDERS = 20                # IMAP_SENDERS
MODES = {"login": [], "long": ["-l"]}
TARGET = 1.5                # poczta / dovecot-hp, issue 6
IDLE_CONNECTIONS = 16
KINDS = ("login", "select", "fetch_flags", "fetch_body", "store_seen", "search",
         "append", "store_deleted", "expunge", "logout")
TEXT = ("the quick brown fox jumps over the lazy dog while the benchmark "
        "counts every command the server answers ").split()


# ---- the mailboxes

def text_lines(rng, size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(TEXT) for _ in range(10))
        out.append(line)
        n += len(line) + 1
    return "\n".join(out) + "\n"


def fill_message(rng, user, m, messages):
    """Message m of a user: (bytes with LF line ends, internal date, flags)."""
    t = FILL_START + m * FILL_DAYS * 86400 // messages + rng.randrange(3600)
    size = rng.randrange(2048, 12288)
    head = ("From: Sender %02d <sender%02d@example.net>\nTo: %s@example.org\n"
            "Subject: benchmark message %d\nDate: %s\n"
            "Message-ID: <pzbench.%s.%d@example.net>\nMIME-Version: 1.0\n" %
            ((s := rng.randrange(SENDERS)), s, user, m,
             email.utils.formatdate(t, usegmt=True), user, m))
    if m % 4 == 3:
        b = "pzb%d" % m
        data = base64.encodebytes(rng.randbytes(size // 2)).decode()
        msg = (head + 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\n'
               "Content-Type: text/plain; charset=us-ascii\n\n%s--%s\n"
               'Content-Type: application/octet-stream; name="data.bin"\n'
               "Content-Transfer-Encoding: base64\n"
               'Content-Disposition: attachment; filename="data.bin"\n\n%s--%s--\n' %
               (b, b, text_lines(rng, size // 3), b, data, b))
    else:
        msg = head + "Content-Type: text/plain; charset=us-ascii\n\n" + \
            text_lines(rng, size)
    flags = ("F" if rng.random() < 0.1 else "") + ("S" if rng.random() < 0.5 else "")
    return msg.encode(), t, flags


def fill_maildir(path, index, user, messages):
    """The same messages for user `index` on every server (seed: index)."""
    rng = random.Random(6000 + index)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for m in range(messages):
        data, t, flags = fill_message(rng, user, m, messages)
        name = "%d.M%dP%d.pzbench,S=%d,W=%d:2,%s" % (t, m, 4242 + index, len(data),
                                                    len(data) + data.count(b"\n"), flags)
        full = os.path.join(path, "cur", name)
        with open(full, "wb") as f:
            f.write(data)
        os.utime(full, (t, t))


def users_of(n):
    return ["i%02d" % i for i in range(n)]


def write_users(path, n):
    with open(path, "w") as f:
        for user in users_of(n):
            f.write("%s:{PLAIN}%s::::::\n" % (user, PASSWORD))


def prepare(server, n, messages):
    server.prefill(users_of(n), lambda path, i, user: fill_maildir(path, i, user, messages))


# ---- the runs

def run_cells(servers, args, clients, modes):
    """{(mode, n): {server: [figures of each round]}}."""
    extra = ["-s", str(args.append_size)]
    results = {}
    for s in servers:
        mailload("imap", s.ports["imap"], max(clients), args.warmup, "i", max(clients), extra)
    cells = [(mode, n) for mode in modes for n in clients]
    for r in range(args.rounds):
        for c, (mode, n) in enumerate(cells):
            for s in rotated(servers, r + c):
                fig = measured(s, "imap", n, args.seconds, "i", n, MODES[mode] + extra)
                results.setdefault((mode, n), {}).setdefault(s.name, []).append(fig)
                if int(fig["errors"]) > 0:
                    print("!!! %s, %s mode, %d clients, round %d: %s ERRORS" %
                          (s.name, mode, n, r + 1, fig["errors"]), flush=True)
        print("round %d of %d done" % (r + 1, args.rounds), file=sys.stderr, flush=True)
    return results


def best_median(figs):
    """The best round, the median round (by rate) and the median rate."""
    ranked = sorted(figs, key=lambda f: float(f["rate"]))
    return ranked[-1], ranked[len(ranked) // 2], statistics.median(
        float(f["rate"]) for f in figs)


# ---- output

def print_cell(mode, n, args, per_server):
    print("\n== IMAP, %s mode, %d clients, %d s x %d rounds" %
          (mode, n, args.seconds, args.rounds))
    print("%-16s %10s %10s %7s %7s %7s %8s %14s %15s %7s" %
          ("server", "cmd/s best", "[median]", "errors", "p50 ms", "p99 ms", "max ms",
           "srv CPU ms/cmd", "load CPU ms/cmd", "other%"))
    for name, figs in per_server:
        _, med, med_rate = best_median(figs)
        best = max(float(f["rate"]) for f in figs)
        errors = sum(int(f["errors"]) for f in figs)
        cmds = max(1, int(med["commands"]))
        print("%-16s %10.1f %10s %7d %7s %7s %8s %14s %15s %7s" %
              (name, best, "[%.1f]" % med_rate, errors, fnum(med["lat_p50_ms"], "%.2f"),
               fnum(med["lat_p99_ms"], "%.2f"), fnum(med["lat_max_ms"], "%.1f"),
               fnum(1000.0 * med["server_cpu_s"] / cmds, "%.3f"),
               fnum(1000.0 * float(med["client_cpu_s"]) / cmds, "%.3f"),
               fnum(med["other_pct"], "%.0f")))
        for f in figs:
            for line in f["stderr"].splitlines()[:3] if f.get("stderr") else []:
                print("    %s: %s" % (name, line))


def print_kinds(mode, n, per_server):
    """Mean time of each command kind in the median round."""
    print("   mean ms per command, median round:" +
          "".join("%16s" % name for name, _ in per_server))
    for kind in KINDS:
        vals = [best_median(figs)[1] for _, figs in per_server]
        if all(int(v.get("n_" + kind, 0)) == 0 for v in vals):
            continue
        print("   %-34s" % kind + "".join("%16s" % fnum(v.get("ms_" + kind, 0), "%.3f")
                                         for v in vals))


def print_summary(results, names):
    print("\n== Summary: IMAP commands/s, best round [median]; target: poczta >= %.1fx "
          "dovecot-hp in every case" % TARGET)
    cols = ratio_columns(names)
    head = "%-12s" % "case" + "".join("%22s" % n for n in names)
    head += "".join("%16s" % c[0] for c in cols)
    if "poczta" in names and "dovecot-hp" in names:
        head += "  target"
    print(head)
    errors = 0
    for (mode, n), per in results.items():
        best = {k: max(float(f["rate"]) for f in v) for k, v in per.items()}
        med = {k: best_median(v)[2] for k, v in per.items()}
        errors += sum(int(f["errors"]) for v in per.values() for f in v)
        line = "%-12s" % ("%s c=%d" % (mode, n)) + "".join(
            "%22s" % ("%.1f [%.1f]" % (best[k], med[k])) for k in names)
        line += "".join("%15.2fx" % ratio(best, num, den) for _, num, den in cols)
        if "poczta" in names and "dovecot-hp" in names:
            ok = ratio(best, "poczta", "dovecot-hp") >= TARGET
            line += "  %s" % ("met" if ok else "BELOW")
        print(line)
    if errors:
        print("\n!!! %d ERRORS (NO, BAD or broken responses) in these runs: the figures "
              "above are not clean; see the error lines" % errors)


def imap_login(port, user):
    """A connection after LOGIN and SELECT INBOX (no literals in either)."""
    s = socket.create_connection(("127.0.0.1", port), 10)
    f = s.makefile("rb")
    f.readline()
    for tag, cmd in ((b"m1", b"LOGIN %s %s" % (user.encode(), PASSWORD.encode())),
                     (b"m2", b"SELECT INBOX")):
        s.sendall(tag + b" " + cmd + b"\r\n")
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError("IMAP %s: connection closed" % cmd)
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError("IMAP %s: %r" % (cmd, line))
                break
    return s, f


def print_memory(servers, n, messages):
    print("\n== Memory: idle IMAP connections after LOGIN and SELECT INBOX (%d messages)"
          % messages)
    print("%-16s %-20s %9s %9s %12s %22s %12s %14s" %
          ("server", "process of one", "PSS KiB", "RSS KiB", "Private KiB",
           "PSS/conn, %d conns" % IDLE_CONNECTIONS, "login holds", "all procs PSS"))
    users = users_of(n)
    for s in servers:
        port = s.ports["imap"]
        one = idle_memory(s, lambda u: imap_login(port, u), users, 1)
        many = idle_memory(s, lambda u: imap_login(port, u), users, IDLE_CONNECTIONS)
        o = one["one"] or {"pss": 0, "rss": 0, "private": 0}
        print("%-16s %-20s %9d %9d %12d %22d %12s %14s" %
              (s.name, "%s[%s]" % (one["comm"], one["pid"]), o["pss"], o["rss"],
               o["private"], many["mean"], "yes" if one["login_held"] else "no",
               "%d (%d conns)" % (many["tree"], many["n"])))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap, seconds=10, warmup=3)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every cell")
    ap.add_argument("--clients", default="10,50", help="parallel clients per cell")
    ap.add_argument("--modes", default="login,long", help="login, long or both")
    ap.add_argument("--messages", type=int, default=200, help="messages per INBOX")
    ap.add_argument("--append-size", type=int, default=4096, help="APPENDed message, bytes")
    ap.add_argument("--cases", default="load,memory", help="load, memory or both")
    return ap.parse_args()


def main():
    args = parse_args()
    check_environment(args, ("imap",), "dovecot-imapd")
    clients = [int(x) for x in args.clients.split(",")]
    modes = args.modes.split(",")
    n = max(max(clients), IDLE_CONNECTIONS)
    if any(m not in MODES for m in modes):
        sys.exit("--modes: login, long")
    with BenchRun(args, ("imap",), lambda path: write_users(path, n),
                  lambda s: prepare(s, n, args.messages)) as servers:
        print("%d users, %d messages each; APPEND %d B" % (n, args.messages, args.append_size))
        names = [s.name for s in servers]
        if "load" in args.cases.split(","):
            results = run_cells(servers, args, clients, modes)
            for (mode, c), per in results.items():
                per_server = [(name, per[name]) for name in names]
                print_cell(mode, c, args, per_server)
                print_kinds(mode, c, per_server)
            print_summary(results, names)
        if "memory" in args.cases.split(","):
            print_memory(servers, n, args.messages)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
