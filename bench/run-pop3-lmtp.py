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

The stores live on a fresh journaled ext4 made for the run on a loop device
(--fs tmp: in /tmp instead).  Run from the build tree, as root, after
`make check TESTS=` (it builds bench/mailload and the tests/moddir module
folder):

    /usr/bin/python3 bench/run-pop3-lmtp.py [--seconds 10] [--clients 4,16]
"""
import argparse
import grp
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
POCZTA = os.path.join(BUILD, "core", "poczta")
MODDIR = os.path.join(BUILD, "tests", "moddir")
MAILLOAD = os.path.join(BUILD, "bench", "mailload")
RUN_USER = "nobody"
PASSWORD = "secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 15
STOP_TIMEOUT = 20
IDLE_CONNECTIONS = 16
ports_taken = set()


def free_port():
    """A free port below Linux's ephemeral range (32768-60999), so that
    no client connection of the load generator can take it first; never
    one handed out before in this run."""
    while True:
        port = random.randint(10000, 32000)
        if port in ports_taken:
            continue
        ports_taken.add(port)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()


def wait_port(port, proc_alive, timeout=START_TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not proc_alive():
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def chown_tree(path, user):
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)
    os.chown(path, pw.pw_uid, pw.pw_gid)


# ---- /proc: process trees, CPU time, memory

def proc_stat(pid):
    """(ppid, utime+stime, cutime+cstime) in clock ticks, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def proc_tree(root):
    """root and all its live descendants."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_cpu_seconds(root):
    """CPU time of a process tree, including its exited (reaped) children:
    every server here reaps its own connection processes."""
    ticks = 0
    for pid in proc_tree(root):
        st = proc_stat(pid)
        if st is not None:
            ticks += st[1] + st[2]
    return ticks / CLK_TCK


def smaps_rollup(pid):
    """Rss, Pss and Private (clean + dirty) of a process, in KiB."""
    vals = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0].endswith(":"):
                    vals[parts[0][:-1]] = int(parts[1])
    except OSError:
        return None
    return {"rss": vals.get("Rss", 0), "pss": vals.get("Pss", 0),
            "private": vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0)}


def tree_pss(root):
    return sum((smaps_rollup(pid) or {"pss": 0})["pss"] for pid in proc_tree(root))


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def socket_owner(root, server_port, client_port):
    """The process of the tree that holds the server side of the TCP
    connection 127.0.0.1:client_port -> 127.0.0.1:server_port."""
    local = "0100007F:%04X" % server_port
    remote = "0100007F:%04X" % client_port
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == local and parts[2] == remote:
                inode = parts[9]
    if inode is None:
        return None
    want = "socket:[%s]" % inode
    owners = []
    for pid in proc_tree(root):
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == want:
                    owners.append(pid)
                    break
        except OSError:
            continue
    # Dovecot: a login process may still hold it a moment after handing off
    owners.sort(key=lambda p: comm(p).endswith("-login"))
    return owners[0] if owners else None


# ---- the servers

class Server:
    name = "?"

    def __init__(self, base, users_file, fsync):
        self.fsync = fsync
        self.dir = os.path.join(base, self.name)
        self.mail = os.path.join(self.dir, "mail")
        self.users_file = users_file
        self.pop3_port = free_port()
        self.lmtp_port = free_port()
        os.makedirs(self.mail)
        os.chmod(self.dir, 0o755)
        chown_tree(self.mail, RUN_USER)
        self.log = os.path.join(self.dir, "server.log")

    def alive(self):
        """False once the master has gone (True while it writes its pid)."""
        pid = self.master_pid()
        return pid is None or proc_stat(pid) is not None

    def wait_ready(self):
        for port in (self.pop3_port, self.lmtp_port):
            if not wait_port(port, self.alive):
                raise RuntimeError("%s: port %d never opened; log %s:\n%s" %
                                   (self.name, port, self.log, tail(self.log)))

    def cpu(self):
        pid = self.master_pid()
        return tree_cpu_seconds(pid) if pid else 0.0

    def stop(self):
        pid = self.master_pid()
        if pid is None or proc_stat(pid) is None:
            return
        tree = proc_tree(pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + STOP_TIMEOUT
        while time.time() < deadline and any(proc_stat(p) is not None for p in tree):
            self.reap()
            time.sleep(0.05)
        for p in tree:
            if proc_stat(p) is not None:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        self.reap()

    def reap(self):
        pass


class Poczta(Server):
    name = "poczta"

    def __init__(self, base, users_file, fsync):
        super().__init__(base, users_file, fsync)
        self.proc = None
        self.conf = os.path.join(self.dir, "poczta.conf")
        with open(self.conf, "w") as f:
            f.write(
                "module_dir = %(moddir)s\n"
                "state_dir = %(dir)s/state\n"
                "pid_file = %(dir)s/poczta.pid\n"
                "user = %(user)s\n"
                "module passwd-file {\n path = %(users)s\n allow_plaintext = yes\n}\n"
                "module maildir {\n location = maildir:%(mail)s/%%u\n%(fsync)s}\n"
                "module pop3 {\n}\n"
                "module lmtp {\n}\n"
                "listener pop3 {\n protocol = pop3\n address = 127.0.0.1:%(pop3)d\n}\n"
                "listener lmtp {\n protocol = lmtp\n address = 127.0.0.1:%(lmtp)d\n}\n"
                % {"moddir": MODDIR, "dir": self.dir, "user": RUN_USER,
                   "users": users_file, "mail": self.mail,
                   "fsync": "" if fsync else " fsync = no\n",
                   "pop3": self.pop3_port, "lmtp": self.lmtp_port})

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([POCZTA, "-F", "-c", self.conf],
                                     stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.wait_ready()

    def master_pid(self):
        return self.proc.pid if self.proc is not None else None

    def reap(self):
        if self.proc is not None:
            self.proc.poll()

    def describe(self):
        out = subprocess.run([POCZTA, "-V"], capture_output=True, text=True)
        return "%s; maildir fsync = %s" % (out.stdout.strip(),
                                          "yes (default)" if self.fsync else "no")


DOVECOT_BASE = """\
instance_name = pzbench-%(name)s-%(pop3)d
base_dir = %(dir)s/run
state_dir = %(dir)s/state
log_path = %(log)s
info_log_path = %(log)s
protocols = pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %%Ln
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(users)s
}
userdb {
  driver = passwd-file
  args = username_format=%%u %(users)s
  default_fields = uid=%(user)s gid=%(group)s home=%(mail)s/%%u
}
mail_location = maildir:~
protocol lmtp {
  postmaster_address = postmaster@example.org
}
"""

# RECIPES.md "Dovecot as the benchmark peer": the documented
# high-performance mode, no TLS on the benchmark ports.
DOVECOT_HP = """\
default_process_limit = 500
default_client_limit = 4000
protocol pop3 {
  mail_max_userip_connections = 1000
}
service pop3-login {
  service_count = 0
  process_min_avail = 2
  client_limit = 4000
  inet_listener pop3 {
    port = %(pop3)d
  }
  inet_listener pop3s {
    port = 0
  }
}
service pop3 {
  service_count = 0
  process_min_avail = 4
}
service lmtp {
  process_min_avail = 2
  inet_listener lmtp {
    port = %(lmtp)d
  }
}
service auth {
  client_limit = 5000
}
"""

DOVECOT_DEFAULT = """\
service pop3-login {
  inet_listener pop3 {
    port = %(pop3)d
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    port = %(lmtp)d
  }
}
"""


class Dovecot(Server):
    def __init__(self, base, users_file, fsync, hp):
        self.name = "dovecot-hp" if hp else "dovecot-default"
        super().__init__(base, users_file, fsync)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        pw = pwd.getpwnam(RUN_USER)
        values = {"name": self.name, "dir": self.dir, "log": self.log,
                  "users": users_file, "user": RUN_USER,
                  "group": grp.getgrgid(pw.pw_gid).gr_name, "mail": self.mail,
                  "pop3": self.pop3_port, "lmtp": self.lmtp_port}
        with open(self.conf, "w") as f:
            f.write(DOVECOT_BASE % values)
            f.write((DOVECOT_HP if hp else DOVECOT_DEFAULT) % values)
            if not fsync:
                f.write("mail_fsync = never\n")

    def start(self):
        # the daemon keeps the inherited stdout: a pipe here would never end
        with open(self.log, "ab") as logf:
            rc = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            raise RuntimeError("%s: dovecot exited %d:\n%s" % (self.name, rc, tail(self.log)))
        self.wait_ready()

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "run", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def describe(self):
        out = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
        return "Dovecot %s; mail_fsync = %s" % (out.stdout.strip(),
                                                "optimized (default)" if self.fsync else "never")


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# ---- load

def mailload(mode, port, clients, seconds, prefix, users, extra=()):
    cmd = [MAILLOAD, mode, "-p", str(port), "-c", str(clients), "-t", str(seconds),
           "-u", prefix, "-k", str(users), "-w", PASSWORD] + list(extra)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), out.returncode, out.stderr))
    figures = dict(kv.split("=", 1) for kv in out.stdout.split())
    figures["stderr"] = out.stderr.strip()
    return figures


def machine_busy_seconds():
    """CPU time all CPUs spent busy (user, system, interrupts, steal)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLK_TCK


def measured(server, mode, clients, seconds, prefix, users, extra=()):
    """One measured run: the load figures, the server's CPU time, and the
    share of the CPUs that neither took (other work on the machine: noise)."""
    os.sync()  # earlier runs' dirty pages must not land in this run's fsyncs
    time.sleep(0.5)
    cpu0, busy0 = server.cpu(), machine_busy_seconds()
    fig = mailload(mode, server.pop3_port if mode == "pop3" else server.lmtp_port,
                   clients, seconds, prefix, users, extra)
    fig["server_cpu_s"] = server.cpu() - cpu0
    other = machine_busy_seconds() - busy0 - fig["server_cpu_s"] - float(fig["client_cpu_s"])
    fig["other_pct"] = 100.0 * max(0.0, other) / (float(fig["seconds"]) * os.cpu_count())
    return fig


def fill(server, users, messages, sizes):
    """`messages` per POP3 user, delivered over the server's own LMTP (one
    connection: the same messages in the same order on every server)."""
    total = users * messages
    fig = mailload("lmtp", server.lmtp_port, 1, 300, "p", users,
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


def idle_memory(server, users):
    """PSS of the process serving one idle logged-in POP3 connection, and
    the PSS of the server's whole process tree while IDLE_CONNECTIONS idle
    connections are open (Dovecot's shared auth, login, log and anvil
    processes included; in the high-performance mode, idle pop3 processes
    left from the runs above too)."""
    root = server.master_pid()
    conns = []
    pid, name, one = None, "?", None
    try:
        for i in range(min(IDLE_CONNECTIONS, users)):
            conns.append(pop3_login(server.pop3_port, "p%02d" % i))
        time.sleep(1.0)
        pid = socket_owner(root, server.pop3_port, conns[0][0].getsockname()[1])
        if pid is not None:
            name, one = comm(pid), smaps_rollup(pid)
        tree = tree_pss(root)
    finally:
        for s, f in conns:
            try:
                s.sendall(b"QUIT\r\n")
                f.readline()
            except OSError:
                pass
            s.close()
    return {"pid": pid, "comm": name, "one": one, "tree": tree, "n": len(conns)}


# ---- the POP3 session taken apart

def parts(servers, n, args, full):
    """Server CPU per connect+QUIT, per session on an empty maildrop and
    per RETR, with n clients."""
    rows = {"connect": [], "empty": [], "full": []}
    for s in servers:
        mailload("pop3", s.pop3_port, n, args.warmup, "p", n, ["-g"])
        rows["connect"].append((s.name, measured(s, "pop3", n, args.seconds, "p", n, ["-g"])))
        mailload("pop3", s.pop3_port, n, args.warmup, "e", n, ["-e", "0"])
        rows["empty"].append((s.name, measured(s, "pop3", n, args.seconds, "e", n,
                                               ["-e", "0"])))
        if full is None or s.name not in full:
            extra = ["-e", str(args.messages)]
            mailload("pop3", s.pop3_port, n, args.warmup, "p", n, extra)
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

def fnum(v, fmt="%.1f"):
    return fmt % float(v)


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
    head = "%-14s" % "case" + "".join("%17s" % n for n in names)
    others = [n for n in names if n != "poczta"]
    if "poczta" in names:
        head += "".join("%18s" % ("poczta/" + n.replace("dovecot-", "")) for n in others)
    print(head)
    for case, rates in summary:
        line = "%-14s" % case + "".join("%17.1f" % rates[n] for n in names)
        if "poczta" in names:
            line += "".join("%17.2fx" % (rates["poczta"] / rates[n] if rates[n] else 0)
                            for n in others)
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


# ---- the store's file system

class LoopFs:
    """A fresh journaled ext4 on a loop device, mounted at base/fs: every
    run starts from the same empty file system, whatever else the machine
    did to its disk.  (This machine's root is ext4 without a journal, where
    each file creation scans past every inode deleted in the last minutes,
    so create+unlink churn slows every later creation by 10-250 us; --fs tmp
    measures on it anyway.)"""

    def __init__(self, base, size_mb):
        self.img = os.path.join(base, "fs.img")
        self.mnt = os.path.join(base, "fs")
        self.dev = None
        os.makedirs(self.mnt)
        with open(self.img, "wb") as f:
            f.truncate(size_mb * 1024 * 1024)
        # no lazy init: no background inode-table zeroing during the runs
        run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
             self.img])
        self.dev = run(["losetup", "-f", "--show", self.img]).strip()
        run(["mount", self.dev, self.mnt])
        os.chmod(self.mnt, 0o755)

    def destroy(self):
        if self.dev is None:
            return
        if subprocess.run(["umount", self.mnt]).returncode != 0:
            subprocess.run(["umount", "-l", self.mnt])
        subprocess.run(["losetup", "-d", self.dev])
        self.dev = None


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), out.stderr.strip()))
    return out.stdout


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
    os.chmod(path, 0o644)


def rotated(servers, i):
    """Each case starts with another server, so drift on the machine does
    not always fall on the same one."""
    k = i % len(servers)
    return servers[k:] + servers[:k]


def run_pop3(servers, clients, args, summary, full):
    for i, n in enumerate(clients):
        extra = ["-e", str(args.messages)]
        figures = {}
        for s in rotated(servers, i):
            mailload("pop3", s.pop3_port, n, args.warmup, "p", n, extra)
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
            mailload("lmtp", s.lmtp_port, n, args.warmup, "m%d_" % n, args.lmtp_users, extra)
            figures[s.name] = measured(s, "lmtp", n, args.seconds, "m%d_" % n,
                                       args.lmtp_users, extra)
        rows = [(s.name, figures[s.name]) for s in servers]
        print_case("LMTP, %d connections, %d s: MAIL RCPT DATA (%s B), %d users rotated" %
                   (n, args.seconds, args.lmtp_size, args.lmtp_users), "deliv/s", rows)
        summary.append(("lmtp c=%d" % n, {k: float(f["rate"]) for k, f in rows}))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=10, help="each measured run")
    ap.add_argument("--warmup", type=int, default=2, help="each warm-up run")
    ap.add_argument("--clients", default="4,16", help="parallel clients per case")
    ap.add_argument("--messages", type=int, default=20, help="messages per POP3 maildrop")
    ap.add_argument("--sizes", default="4096-20480", help="POP3 message sizes, bytes")
    ap.add_argument("--lmtp-size", default="5120", help="LMTP message size, bytes")
    ap.add_argument("--lmtp-users", type=int, default=16, help="recipients rotated over")
    ap.add_argument("--servers", default="poczta,dovecot-hp,dovecot-default")
    ap.add_argument("--cases", default="pop3,lmtp,parts,memory")
    ap.add_argument("--fs", choices=("loop-ext4", "tmp"), default="loop-ext4",
                    help="stores on a fresh journaled ext4 (loop device) or in /tmp")
    ap.add_argument("--fs-size", type=int, default=2048, help="loop-ext4 size, MiB")
    ap.add_argument("--no-fsync", action="store_true",
                    help="poczta maildir fsync = no, Dovecot mail_fsync = never")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return ap.parse_args()


def check_environment():
    if os.geteuid() != 0:
        sys.exit("run as root: Dovecot and poczta drop to '%s' for the mail" % RUN_USER)
    for path in (POCZTA, MAILLOAD, os.path.join(MODDIR, "pop3.so")):
        if not os.path.exists(path):
            sys.exit("%s is missing: run `make check TESTS=` in the build tree "
                     "(or set top_builddir)" % path)
    if shutil.which("dovecot") is None:
        sys.exit("dovecot is not installed (apt-get install dovecot-pop3d dovecot-lmtpd)")


def main():
    args = parse_args()
    check_environment()
    clients = [int(x) for x in args.clients.split(",")]
    cases = args.cases.split(",")
    base = tempfile.mkdtemp(prefix="pzb.", dir="/tmp")
    os.chmod(base, 0o755)
    users_file = os.path.join(base, "users")
    write_users(users_file, clients, args.lmtp_users)
    # SIGTERM unwinds like Ctrl-C, so the servers are always stopped
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    servers, loop = [], None
    try:
        if args.fs == "loop-ext4":
            loop = LoopFs(base, args.fs_size)
        store = loop.mnt if loop else base
        for name in args.servers.split(","):
            if name == "poczta":
                servers.append(Poczta(store, users_file, not args.no_fsync))
            elif name in ("dovecot-hp", "dovecot-default"):
                servers.append(Dovecot(store, users_file, not args.no_fsync,
                                       name == "dovecot-hp"))
            else:
                sys.exit("unknown server %s" % name)
        for s in servers:
            s.start()
        print("poczta vs Dovecot, %s; %d CPUs shared with the load generator; stores on %s" %
              (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(),
               "a fresh journaled ext4 (loop device)" if loop else base))
        for s in servers:
            print("  %-16s %s" % (s.name, s.describe()))
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
            print_memory([(s.name, idle_memory(s, max(clients))) for s in servers])
        sys.stdout.flush()
    finally:
        for s in servers:
            s.stop()
        if loop is not None and not args.keep:
            loop.destroy()
        if args.keep:
            print("kept %s%s" % (base, " (still mounted)" if loop else ""))
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
