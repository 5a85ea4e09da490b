#!/usr/bin/python3
"""run-pop3-lmtp.py - POP3 sessions/s and LMTP deliveries/s of poczta next
to Debian's Dovecot, in one run on one machine (a benchmark: it prints
figures and never fails on them).

Three servers run side by side, each with its own fresh maildir store in a
temporary folder, the same passwd-file users and free ports on 127.0.0.1:

  poczta           core/poczta from the build tree (process per connection,
                   connection processes as `nobody`)
  dovecot-hp       Dovecot in its high-performance mode (service_count = 0,
                   process_min_avail, ...): the figure to beat
  dovecot-default  Dovecot's process model as installed (a login process and
                   a pop3 process per connection)

The load comes from bench/mailload (C, forked workers, blocking sessions)
on the same cores.  Cases, each run after a warm-up:

  POP3 N clients   every client loops whole sessions as its own user
                   (connect, USER/PASS, STAT, LIST, UIDL, RETR of each of
                   the 20 messages, QUIT; no DELE); maildrops are filled over
                   LMTP to each server first
  LMTP N clients   every client keeps one connection and loops MAIL, RCPT
                   (one recipient, rotating over 16 users), DATA (~5 KB).
                   Both keep their default durability: Dovecot (mail_fsync =
                   optimized) fsyncs the message in tmp/, renames it into
                   new/, fdatasyncs new/ and dovecot-uidlist; poczta (maildir
                   fsync = yes) fsyncs the message, links it into new/,
                   fsyncs new/ and commits the UID to its SQLite index (WAL,
                   synchronous = FULL)

  parts            the POP3 session taken apart, for profiling: server CPU
                   per connect+QUIT (no login), per session on an empty
                   maildrop, and per RETR (from the full sessions)

and, last, the memory (PSS) of one idle logged-in POP3 connection.

Columns: the rate and MB/s the clients saw; latency per session (per
delivery for LMTP); "srv CPU ms/op", the CPU time of the server's whole
process tree (exited children included) per operation, which depends far
less on the machine's other load than the rates do; "load CPU ms/op", the
load generator's own; "other%", the share of all CPUs busy with anything
else during the run (above a few percent, trust the CPU figures more than
the rates).

With --poczta-storage postgres or both, poczta-pg (the same poczta with
the postgres storage, on its own durable PostgreSQL cluster in the same
file system; issue 7, bench/README.md) runs too.

The stores live on a fresh journaled ext4 made for the run on a loop device
(--fs tmp: in /tmp instead).  Run from the build tree, as root, after
`make check TESTS=` (it builds bench/mailload and the tests/moddir module
folder):

    /usr/bin/python3 bench/run-pop3-lmtp.py [--seconds 10] [--clients 4,16]
        [--poczta-storage maildir|postgres|both]
"""
import argparse
import socket
import sys

from benchlib import (BenchRun, PASSWORD, add_common_args, check_environment, fnum,
                      idle_memory, mailload, measured, ratio, ratio_columns, rotated)

IDLE_CONNECTIONS = 16


# ---- load

def fill(server, users, messages, sizes):
    """`messages` per POP3 user, delivered over the server's own LMTP (one
    connection: the same messages in the same order on every server)."""
    total = users * messages
    fig = mailload("lmtp", server.ports["lmtp"], 1, 300, "p", users,
                   ["-n", str(total), "-s", sizes])
    if int(fig["sessions"]) != total or int(fig["errors"]) != 0:
        raise RuntimeError("%s: filling the maildrops: %s" % (server.name, fig))


# ---- memory of idle POP3 connections

def pop3_login(port, user):
    s = socket.create_connection(("127.0.0.1", port), 10)
    f = s.makefile("rb")
    for line in (None, "USER %s" % user, "PASS %s" % PASSWORD, "STAT"):
        if line is not None:
            s.sendall(line.encode() + b"\r\n")
        reply = f.readline()
        if not reply.startswith(b"+OK"):
            raise RuntimeError("POP3 %s: %r" % (line, reply))
    return s, f


def pop3_memory(server, users):
    port = server.ports["pop3"]
    return idle_memory(server, lambda user: pop3_login(port, user),
                       ["p%02d" % i for i in range(users)], IDLE_CONNECTIONS)


# ---- the POP3 session taken apart

def parts(servers, n, args, full):
    """Server CPU per connect+QUIT, per session on an empty maildrop and
    per RETR, with n clients."""
    rows = {"connect": [], "empty": [], "full": []}
    for s in servers:
        mailload("pop3", s.ports["pop3"], n, args.warmup, "p", n, ["-g"])
        rows["connect"].append((s.name, measured(s, "pop3", n, args.seconds, "p", n, ["-g"])))
        mailload("pop3", s.ports["pop3"], n, args.warmup, "e", n, ["-e", "0"])
        rows["empty"].append((s.name, measured(s, "pop3", n, args.seconds, "e", n,
                                               ["-e", "0"])))
        if full is None or s.name not in full:
            extra = ["-e", str(args.messages)]
            mailload("pop3", s.ports["pop3"], n, args.warmup, "p", n, extra)
            rows["full"].append((s.name, measured(s, "pop3", n, args.seconds, "p", n, extra)))
        else:
            rows["full"].append((s.name, full[s.name]))
    print_case("POP3 parts, %d clients: connect, greeting, QUIT (no login)" % n,
               "sess/s", rows["connect"])
    print_case("POP3 parts, %d clients: USER PASS STAT LIST UIDL QUIT on an empty maildrop"
               % n, "sess/s", rows["empty"])

    def ms(f):
        return 1000.0 * f["server_cpu_s"] / max(1, int(f["sessions"]))

    print("\n== POP3 session cost, server CPU ms (all server processes, %d clients)" % n)
    print("%-16s %12s %14s %12s %12s %12s" %
          ("server", "connection", "login+listing", "per RETR", "20 RETR",
           "full session"))
    for i, s in enumerate(servers):
        c, e, f = (ms(rows[k][i][1]) for k in ("connect", "empty", "full"))
        print("%-16s %12.3f %14.3f %12.3f %12.3f %12.3f" %
              (s.name, c, e - c, (f - e) / args.messages, f - e, f))


# ---- output

def print_case(title, unit, rows):
    print("\n== %s" % title)
    print("%-16s %9s %7s %6s %7s %7s %8s %13s %14s %7s" %
          ("server", unit, "MB/s", "errors", "p50 ms", "p99 ms", "max ms",
           "srv CPU ms/op", "load CPU ms/op", "other%"))
    for name, f in rows:
        ops = max(1, int(f["sessions"]))
        print("%-16s %9s %7s %6s %7s %7s %8s %13s %14s %7s" %
              (name, fnum(f["rate"]), fnum(f["mb_per_s"], "%.2f"), f["errors"],
               fnum(f["lat_p50_ms"], "%.2f"), fnum(f["lat_p99_ms"], "%.2f"),
               fnum(f["lat_max_ms"], "%.1f"),
               fnum(1000.0 * f["server_cpu_s"] / ops, "%.3f"),
               fnum(1000.0 * float(f["client_cpu_s"]) / ops, "%.3f"),
               fnum(f["other_pct"], "%.0f")))
        if f.get("stderr"):
            for line in f["stderr"].splitlines()[:3]:
                print("    %s: %s" % (name, line))


def print_summary(summary, names):
    print("\n== Summary (rates; ratio = poczta / Dovecot; the product's target is "
          ">= 1.5x dovecot-hp for POP3)")
    cols = ratio_columns(names)
    head = "%-14s" % "case" + "".join("%17s" % n for n in names)
    head += "".join("%18s" % c[0] for c in cols)
    print(head)
    for case, rates in summary:
        line = "%-14s" % case + "".join("%17.1f" % rates[n] for n in names)
        line += "".join("%17.2fx" % ratio(rates, num, den) for _, num, den in cols)
        print(line)


def print_memory(mem):
    print("\n== Memory: idle, logged-in POP3 connections (after STAT; 20 messages each)")
    print("%-16s %-18s %9s %9s %12s %20s" %
          ("server", "process of one", "PSS KiB", "RSS KiB", "Private KiB",
           "all processes PSS KiB"))
    for name, m in mem:
        one = m["one"] or {"pss": 0, "rss": 0, "private": 0}
        print("%-16s %-18s %9d %9d %12d %13d (%d conn)" %
              (name, "%s[%s]" % (m["comm"], m["pid"]), one["pss"], one["rss"],
               one["private"], m["tree"], m["n"]))


# ---- main

def write_users(path, clients, lmtp_users):
    """p00.. full POP3 maildrops, e00.. empty ones, m<N>_00.. LMTP
    recipients of the N-connection case; all with the same password."""
    with open(path, "w") as f:
        for prefix in ("p", "e"):
            for i in range(max(clients)):
                f.write("%s%02d:{PLAIN}%s::::::\n" % (prefix, i, PASSWORD))
        for n in clients:
            for i in range(lmtp_users):
                f.write("m%d_%02d:{PLAIN}%s::::::\n" % (n, i, PASSWORD))


def run_pop3(servers, clients, args, summary, full):
    for i, n in enumerate(clients):
        extra = ["-e", str(args.messages)]
        figures = {}
        for s in rotated(servers, i):
            mailload("pop3", s.ports["pop3"], n, args.warmup, "p", n, extra)
            figures[s.name] = measured(s, "pop3", n, args.seconds, "p", n, extra)
        rows = [(s.name, figures[s.name]) for s in servers]
        print_case("POP3, %d clients, %d s: sessions of USER PASS STAT LIST UIDL RETR x%d "
                   "QUIT (%s B messages)" % (n, args.seconds, args.messages, args.sizes),
                   "sess/s", rows)
        full[n] = figures
        summary.append(("pop3 c=%d" % n, {k: float(f["rate"]) for k, f in rows}))


def run_lmtp(servers, clients, args, summary):
    for i, n in enumerate(clients):
        extra = ["-s", args.lmtp_size]
        figures = {}
        for s in rotated(servers, i + 1):
            mailload("lmtp", s.ports["lmtp"], n, args.warmup, "m%d_" % n, args.lmtp_users, extra)
            figures[s.name] = measured(s, "lmtp", n, args.seconds, "m%d_" % n,
                                       args.lmtp_users, extra)
        rows = [(s.name, figures[s.name]) for s in servers]
        print_case("LMTP, %d connections, %d s: MAIL RCPT DATA (%s B), %d users rotated" %
                   (n, args.seconds, args.lmtp_size, args.lmtp_users), "deliv/s", rows)
        summary.append(("lmtp c=%d" % n, {k: float(f["rate"]) for k, f in rows}))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--clients", default="4,16", help="parallel clients per case")
    ap.add_argument("--messages", type=int, default=20, help="messages per POP3 maildrop")
    ap.add_argument("--sizes", default="4096-20480", help="POP3 message sizes, bytes")
    ap.add_argument("--lmtp-size", default="5120", help="LMTP message size, bytes")
    ap.add_argument("--lmtp-users", type=int, default=16, help="recipients rotated over")
    ap.add_argument("--cases", default="pop3,lmtp,parts,memory")
    return ap.parse_args()


def main():
    args = parse_args()
    check_environment(args, ("pop3", "lmtp"), "dovecot-pop3d dovecot-lmtpd")
    clients = [int(x) for x in args.clients.split(",")]
    cases = args.cases.split(",")
    with BenchRun(args, ("pop3", "lmtp"),
                  lambda path: write_users(path, clients, args.lmtp_users)) as servers:
        summary, full = [], {}
        if "pop3" in cases or "parts" in cases or "memory" in cases:
            for s in servers:
                fill(s, max(clients), args.messages, args.sizes)
        if "pop3" in cases:
            run_pop3(servers, clients, args, summary, full)
        if "lmtp" in cases:
            run_lmtp(servers, clients, args, summary)
        if "parts" in cases:
            parts(servers, min(clients), args, full.get(min(clients)))
        if summary:
            print_summary(summary, [s.name for s in servers])
        if "memory" in cases:
            print_memory([(s.name, pop3_memory(s, max(clients))) for s in servers])
        sys.stdout.flush()


if __name__ == "__main__":
    main()
