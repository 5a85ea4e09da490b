"""benchlib.py - what the benchmark drivers that put poczta next to
Debian's Dovecot share (run-pop3-lmtp.py, run-imap.py): the servers, each
with its own store, config and free ports on 127.0.0.1; the load generator
(bench/mailload); CPU time and memory from /proc; the file system the
stores live on; and the options every driver takes.

The servers:

  poczta           core/poczta from the build tree (connection processes as
                   `nobody`) with the maildir storage, its listeners set up
                   as poczta.conf(5) says for many short sessions (POCZTA_TUNED:
                   processes reused and kept waiting, its counterpart of
                   Dovecot's high-performance mode); --poczta-listener-setting
                   replaces those lines, --poczta-process-per-connection
                   drops them
  poczta-pg        the same poczta with the postgres storage, on its own
                   PostgreSQL cluster (tests/integration/pzpostgres.py) in
                   the same file system, fsync and synchronous_commit on
  dovecot-hp       Dovecot in its documented high-performance mode
                   (RECIPES.md "Dovecot as the benchmark peer"): the figure
                   to beat
  dovecot-default  Dovecot's process model as installed
"""
import grp
import os
import pwd
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


ports_taken = set()


def free_port():
    """A free port below Linux's ephemeral range (32768-60999), so that
    no client connection of the load generator can take it first; never
    one handed out before in this run (tests/integration/pzfixture.py
    picks it)."""
    while True:
        port = tests_module("pzfixture").free_port()
        if port not in ports_taken:
            ports_taken.add(port)
            return port


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


def socket_owners(root, server_port, client_port):
    """The processes of the tree that hold the server side of the TCP
    connection 127.0.0.1:client_port -> 127.0.0.1:server_port; a login
    process (Dovecot's, which may hold it a moment after handing it off,
    or keep it as a proxy) comes last."""
    local = "0100007F:%04X" % server_port
    remote = "0100007F:%04X" % client_port
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == local and parts[2] == remote:
                inode = parts[9]
    if inode is None:
        return []
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
    owners.sort(key=lambda p: comm(p).endswith("-login"))
    return owners


# ---- the servers

class Server:
    name = "?"

    def __init__(self, base, users_file, fsync, protocols):
        self.fsync = fsync
        self.dir = os.path.join(base, self.name)
        self.mail = os.path.join(self.dir, "mail")
        self.users_file = users_file
        self.protocols = protocols
        self.ports = {p: free_port() for p in protocols}
        os.makedirs(self.mail)
        os.chmod(self.dir, 0o755)
        chown_tree(self.mail, RUN_USER)
        self.log = os.path.join(self.dir, "server.log")

    def setup(self):
        """Before prefill() and start(): what the store needs first."""

    def prefill(self, users, write):
        """Fill the store before the server starts: `write(path, i, user)`
        writes user i's maildir at path; here straight into the store."""
        for i, user in enumerate(users):
            write(os.path.join(self.mail, user), i, user)
        chown_tree(self.mail, RUN_USER)

    def roots(self):
        """The pids whose process trees do this server's work."""
        pid = self.master_pid()
        return [pid] if pid else []

    def session_helpers(self):
        """Processes outside the master's tree that serve one connection
        each (none: everything is in the tree)."""
        return []

    def alive(self):
        """False once the master has gone (True while it writes its pid)."""
        pid = self.master_pid()
        return pid is None or proc_stat(pid) is not None

    def wait_ready(self):
        for port in self.ports.values():
            if not wait_port(port, self.alive):
                raise RuntimeError("%s: port %d never opened; log %s:\n%s" %
                                   (self.name, port, self.log, tail(self.log)))

    def cpu(self):
        return sum(tree_cpu_seconds(pid) for pid in self.roots())

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

    def __init__(self, base, users_file, fsync, protocols, listener_settings=()):
        super().__init__(base, users_file, fsync, protocols)
        self.proc = None
        self.listener_settings = list(listener_settings)
        self.conf = os.path.join(self.dir, "poczta.conf")
        self.write_conf(self.conf, True)

    def write_conf(self, path, listeners, extra=""):
        """The server's config; without listeners (and with `extra`) for
        poczta-admin."""
        settings = "".join(" %s\n" % s for s in self.listener_settings)
        with open(path, "w") as f:
            # the load comes from one address: no per-IP cap below Dovecot's
            f.write(
                "module_dir = %(moddir)s\n"
                "state_dir = %(dir)s/state\n"
                "pid_file = %(dir)s/poczta.pid\n"
                "user = %(user)s\n"
                "max_connections_per_ip = 1000\n"
                "module passwd-file {\n path = %(users)s\n allow_plaintext = yes\n}\n"
                % {"moddir": MODDIR, "dir": self.dir, "user": RUN_USER,
                   "users": self.users_file})
            f.write(self.storage_conf() + extra)
            for p in self.protocols:
                f.write("module %s {\n}\n" % p)
            for p in self.protocols if listeners else ():
                f.write("listener %s {\n protocol = %s\n address = 127.0.0.1:%d\n%s}\n" %
                        (p, p, self.ports[p], settings))

    def storage_conf(self):
        return "module maildir {\n location = maildir:%s/%%u\n%s}\n" % (
            self.mail, "" if self.fsync else " fsync = no\n")

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
        return "%s; %s; listener settings: %s" % (
            out.stdout.strip(), self.describe_storage(),
            "; ".join(self.listener_settings) or "defaults")

    def describe_storage(self):
        return "maildir fsync = %s" % ("yes (default)" if self.fsync else "no")


def tests_module(name):
    """A module of tests/integration (pzfixture, pzpostgres), imported
    when first needed (pzpostgres needs pg_config)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                        "integration")
    if path not in sys.path:
        sys.path.insert(0, path)
    return __import__(name)


def pg_fixture():
    """tests/integration/pzpostgres.py, the tests' PostgreSQL fixture
    (imported only when a run has poczta-pg)."""
    return tests_module("pzpostgres")


class PocztaPg(Poczta):
    """poczta with the postgres storage.  Its PostgreSQL cluster lives in
    the server's own folder (the same file system as every other store),
    listens on a unix socket there, and keeps PostgreSQL's durability
    defaults (fsync, synchronous_commit and full_page_writes on) unless
    --no-fsync.  Users come from the same passwd-file as poczta's, or with
    auth "postgres" from pz_users with the same {PLAIN} passwords."""
    name = "poczta-pg"

    def __init__(self, base, users_file, fsync, protocols, listener_settings=(),
                 auth="passwd-file"):
        self.pg_dir = os.path.join(base, self.name, "pg")
        self.pg_port = free_port()
        self.auth = auth
        self.pg_up = False
        super().__init__(base, users_file, fsync, protocols, listener_settings)
        os.makedirs(self.pg_dir)
        self.cluster = pg_fixture().Cluster(self.pg_dir, self.pg_port)

    def storage_conf(self):
        return ("storage = postgres\nauth = %s\nmodule postgres {\n conninfo = "
                "host=%s port=%d dbname=poczta user=poczta\n%s}\n" %
                (self.auth, self.pg_dir, self.pg_port,
                 " allow_plaintext = yes\n" if self.auth == "postgres" else ""))

    def setup(self):
        self.cluster.initdb()
        self.cluster.start(durable=self.fsync)
        self.pg_up = True
        self.cluster.create_db(test_functions=False)
        if self.auth == "postgres":
            with open(self.users_file) as f:
                names = [line.split(":", 1)[0] for line in f if ":" in line]
            self.cluster.psql("INSERT INTO pz_users (name, password) VALUES %s" % ", ".join(
                "('%s', '{PLAIN}%s')" % (n, PASSWORD) for n in names))

    def prefill(self, users, write):
        """The same maildirs, written into a folder next to the cluster and
        moved in with `poczta-admin import` (UIDs, flags and internal dates
        kept), then removed; VACUUM ANALYZE and a CHECKPOINT, so that the
        load starts with planner statistics and no dirty buffers."""
        stage = os.path.join(self.dir, "import")
        for i, user in enumerate(users):
            write(os.path.join(stage, user), i, user)
        chown_tree(stage, RUN_USER)
        conf = os.path.join(self.dir, "import.conf")
        self.write_conf(conf, False, "module maildir {\n location = maildir:%s/%%u\n}\n"
                        % stage)
        for user in users:
            r = pg_fixture().admin("import", "-c", conf, user, os.path.join(stage, user))
            if r.returncode != 0:
                raise RuntimeError("%s: poczta-admin import %s: %s" %
                                   (self.name, user, r.stdout + r.stderr))
        shutil.rmtree(stage)
        self.cluster.psql("VACUUM ANALYZE")
        self.cluster.psql("CHECKPOINT")

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.cluster.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def roots(self):
        return super().roots() + [p for p in [self.postmaster_pid()] if p]

    def session_helpers(self):
        rows = self.cluster.psql("SELECT pid FROM pg_stat_activity WHERE datname = 'poczta' "
                                 "AND backend_type = 'client backend' "
                                 "AND pid <> pg_backend_pid()")
        return [int(r[0]) for r in rows]

    def stop(self):
        super().stop()
        if self.pg_up:
            self.cluster.stop()
            self.pg_up = False

    def describe_storage(self):
        rows = dict(self.cluster.psql(
            "SELECT name, setting FROM pg_settings WHERE name IN ('server_version', "
            "'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers')"))
        return ("postgres storage on PostgreSQL %s (fsync = %s, synchronous_commit = %s, "
                "full_page_writes = %s, shared_buffers = %d MiB, unix socket); auth = %s" %
                (rows["server_version"], rows["fsync"], rows["synchronous_commit"],
                 rows["full_page_writes"], int(rows["shared_buffers"]) * 8 // 1024,
                 self.auth))


DOVECOT_BASE = """\
instance_name = pzbench-%(name)s-%(port)d
base_dir = %(dir)s/run
state_dir = %(dir)s/state
log_path = %(log)s
info_log_path = %(log)s
protocols = %(protocols)s
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
"""

# RECIPES.md "Dovecot as the benchmark peer": the documented
# high-performance mode, no TLS on the benchmark ports.
DOVECOT_HP = """\
default_process_limit = 500
default_client_limit = 4000
service auth {
  client_limit = 5000
}
"""

# a protocol with a login process (pop3, imap), high-performance mode
DOVECOT_HP_LOGIN = """\
protocol %(p)s {
  mail_max_userip_connections = 1000
}
service %(p)s-login {
  service_count = 0
  process_min_avail = 2
  client_limit = 4000
  inet_listener %(p)s {
    port = %(port)d
  }
  inet_listener %(p)ss {
    port = 0
  }
}
service %(p)s {
  service_count = 0
  process_min_avail = 4
}
"""

DOVECOT_DEFAULT_LOGIN = """\
service %(p)s-login {
  inet_listener %(p)s {
    port = %(port)d
  }
  inet_listener %(p)ss {
    port = 0
  }
}
"""

DOVECOT_LMTP = """\
protocol lmtp {
  postmaster_address = postmaster@example.org
}
service lmtp {
%(hp)s  inet_listener lmtp {
    port = %(port)d
  }
}
"""


class Dovecot(Server):
    def __init__(self, base, users_file, fsync, protocols, hp):
        self.name = "dovecot-hp" if hp else "dovecot-default"
        super().__init__(base, users_file, fsync, protocols)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        pw = pwd.getpwnam(RUN_USER)
        values = {"name": self.name, "dir": self.dir, "log": self.log,
                  "users": users_file, "user": RUN_USER,
                  "group": grp.getgrgid(pw.pw_gid).gr_name, "mail": self.mail,
                  "protocols": " ".join(protocols), "port": self.ports[protocols[0]]}
        with open(self.conf, "w") as f:
            f.write(DOVECOT_BASE % values)
            if hp:
                f.write(DOVECOT_HP)
            for p in protocols:
                if p == "lmtp":
                    f.write(DOVECOT_LMTP % {"port": self.ports[p],
                                            "hp": "  process_min_avail = 2\n" if hp else ""})
                else:
                    f.write((DOVECOT_HP_LOGIN if hp else DOVECOT_DEFAULT_LOGIN) %
                            {"p": p, "port": self.ports[p]})
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
    fig = mailload(mode, server.ports[mode], clients, seconds, prefix, users, extra)
    fig["server_cpu_s"] = server.cpu() - cpu0
    other = machine_busy_seconds() - busy0 - fig["server_cpu_s"] - float(fig["client_cpu_s"])
    fig["other_pct"] = 100.0 * max(0.0, other) / (float(fig["seconds"]) * os.cpu_count())
    return fig


def rotated(servers, i):
    """Each case starts with another server, so drift on the machine does
    not always fall on the same one."""
    k = i % len(servers)
    return servers[k:] + servers[:k]


# ---- memory of idle connections

def idle_memory(server, login, users, count):
    """PSS of the process serving one idle logged-in connection (`login`
    (port, user) opens it and returns (socket, its file); users u0, u1, ...
    come from `users`), with `count` such connections open: the first
    one's process, the mean over the processes serving each (with
    poczta-pg, each connection's PostgreSQL backend added), whether a
    login process holds the connection too, and the PSS of the server's
    whole process tree (Dovecot's shared auth, login, log and anvil
    processes included; in the high-performance mode also idle processes
    left from earlier runs; poczta-pg's PostgreSQL cluster)."""
    root = server.master_pid()
    conns = []
    pid, name, one, mean, login_held = None, "?", None, 0, False
    try:
        for user in users[:count]:
            conns.append(login(user))
        time.sleep(1.0)
        serving = []
        for s, _ in conns:
            owners = socket_owners(root, s.getpeername()[1], s.getsockname()[1])
            login_held |= any(comm(p).endswith("-login") for p in owners)
            if owners:
                serving.append(owners[0])
        if serving:
            pid = serving[0]
            name, one = comm(pid), smaps_rollup(pid)
            pss = [(smaps_rollup(p) or {"pss": 0})["pss"]
                   for p in set(serving) | set(server.session_helpers())]
            mean = sum(pss) / len(conns)
        tree = sum(tree_pss(r) for r in server.roots())
    finally:
        for s, f in conns:
            s.close()
    return {"pid": pid, "comm": name, "one": one, "mean": mean, "tree": tree,
            "n": len(conns), "login_held": login_held}


# ---- output

def fnum(v, fmt="%.1f"):
    return fmt % float(v)


def ratio_columns(names):
    """(heading, numerator, denominator) of the summaries' ratio columns:
    each poczta server to each Dovecot, and poczta-pg to poczta."""
    short = {"poczta": "poczta", "poczta-pg": "pg", "dovecot-hp": "hp",
             "dovecot-default": "default"}
    ours = [n for n in names if n.startswith("poczta")]
    cols = [("%s/%s" % (short[p], short[d]), p, d) for p in ours for d in names
            if d.startswith("dovecot")]
    if "poczta" in names and "poczta-pg" in names:
        cols.append(("pg/poczta", "poczta-pg", "poczta"))
    return cols


def ratio(rates, num, den):
    return rates[num] / rates[den] if rates[den] else 0.0


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


# ---- options and the run

def add_common_args(ap, seconds=10, warmup=2):
    ap.add_argument("--seconds", type=int, default=seconds, help="each measured run")
    ap.add_argument("--warmup", type=int, default=warmup, help="each warm-up run")
    ap.add_argument("--servers", default="poczta,dovecot-hp,dovecot-default",
                    help="poczta, poczta-pg, dovecot-hp, dovecot-default")
    ap.add_argument("--poczta-storage", choices=("maildir", "postgres", "both"),
                    default="maildir",
                    help="what `poczta` in --servers stands for: poczta (maildir), "
                    "poczta-pg (postgres) or both")
    ap.add_argument("--poczta-pg-auth", choices=("passwd-file", "postgres"),
                    default="passwd-file",
                    help="poczta-pg's users: the passwd-file poczta uses, or the same "
                    "users and {PLAIN} passwords in pz_users")
    ap.add_argument("--fs", choices=("loop-ext4", "tmp"), default="loop-ext4",
                    help="stores on a fresh journaled ext4 (loop device) or in /tmp")
    ap.add_argument("--fs-size", type=int, default=2048, help="loop-ext4 size, MiB")
    ap.add_argument("--no-fsync", action="store_true",
                    help="poczta maildir fsync = no, Dovecot mail_fsync = never")
    ap.add_argument("--poczta-listener-setting", action="append", default=None,
                    metavar="'KEY = VALUE'",
                    help="a line for poczta's listener sections (repeatable); given "
                    "once or more, these replace the default: %s" %
                    "; ".join(POCZTA_TUNED))
    ap.add_argument("--poczta-process-per-connection", action="store_true",
                    help="poczta as installed: no listener settings, a process per "
                    "connection")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")


# poczta's listener settings for the benchmarks: the opt-in process reuse
# of poczta.conf(5), as Dovecot-hp has service_count = 0 and
# process_min_avail
POCZTA_TUNED = ("connections_per_process = 0", "process_min_avail = 4")


def check_environment(args, modules, dovecot_packages):
    if os.geteuid() != 0:
        sys.exit("run as root: Dovecot and poczta drop to '%s' for the mail" % RUN_USER)
    programs = [POCZTA, MAILLOAD]
    if "poczta-pg" in server_names(args):
        modules = tuple(modules) + ("postgres", "maildir")
        programs += [os.path.join(BUILD, "core", "poczta-admin"),
                     os.path.join(BUILD, "modules", "postgres", "postgres-admin")]
        if shutil.which("pg_config") is None:
            sys.exit("poczta-pg needs PostgreSQL (apt-get install postgresql)")
    for path in programs + [os.path.join(MODDIR, m + ".so") for m in modules]:
        if not os.path.exists(path):
            sys.exit("%s is missing: run `make check TESTS=` in the build tree "
                     "(or set top_builddir)" % path)
    if shutil.which("dovecot") is None:
        sys.exit("dovecot is not installed (apt-get install %s)" % dovecot_packages)


def server_names(args):
    """--servers with `poczta` expanded by --poczta-storage."""
    expand = {"maildir": ["poczta"], "postgres": ["poczta-pg"],
              "both": ["poczta", "poczta-pg"]}[args.poczta_storage]
    names = []
    for name in args.servers.split(","):
        for n in expand if name == "poczta" else [name]:
            if n not in names:
                names.append(n)
    return names


class BenchRun:
    """The servers of one run, each on its own store under a temporary
    folder (on a fresh loop-device ext4 unless --fs tmp), with the users
    file `write_users(path)` writes; `prepare(server)` runs on each before
    it starts.  A context manager: the servers are stopped, the file system
    unmounted and the folder removed however the run ends."""

    def __init__(self, args, protocols, write_users, prepare=None):
        self.args, self.protocols = args, protocols
        self.write_users, self.prepare = write_users, prepare
        self.servers, self.loop, self.base = [], None, None

    def __enter__(self):
        args = self.args
        self.base = tempfile.mkdtemp(prefix="pzb.", dir="/tmp")
        os.chmod(self.base, 0o755)
        users_file = os.path.join(self.base, "users")
        self.write_users(users_file)
        os.chmod(users_file, 0o644)
        # SIGTERM unwinds like Ctrl-C, so the servers are always stopped
        signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
        try:
            if args.fs == "loop-ext4":
                self.loop = LoopFs(self.base, args.fs_size)
            store = self.loop.mnt if self.loop else self.base
            for name in server_names(args):
                self.servers.append(self.make_server(name, store, users_file))
            for s in self.servers:
                s.setup()
                if self.prepare is not None:
                    self.prepare(s)
                s.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.describe()
        return self.servers

    def make_server(self, name, store, users_file):
        fsync = not self.args.no_fsync
        if self.args.poczta_process_per_connection:
            self.args.poczta_listener_setting = []
        elif self.args.poczta_listener_setting is None:
            self.args.poczta_listener_setting = list(POCZTA_TUNED)
        if name == "poczta":
            return Poczta(store, users_file, fsync, self.protocols,
                          self.args.poczta_listener_setting)
        if name == "poczta-pg":
            return PocztaPg(store, users_file, fsync, self.protocols,
                            self.args.poczta_listener_setting, self.args.poczta_pg_auth)
        if name in ("dovecot-hp", "dovecot-default"):
            return Dovecot(store, users_file, fsync, self.protocols, name == "dovecot-hp")
        raise SystemExit("unknown server %s" % name)

    def describe(self):
        print("poczta vs Dovecot, %s; %d CPUs shared with the load generator; stores on %s" %
              (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(),
               "a fresh journaled ext4 (loop device)" if self.loop else self.base))
        for s in self.servers:
            print("  %-16s %s" % (s.name, s.describe()))
        sys.stdout.flush()

    def __exit__(self, exc_type, exc, tb):
        for s in self.servers:
            s.stop()
        if self.loop is not None and not self.args.keep:
            self.loop.destroy()
        if self.args.keep:
            print("kept %s%s" % (self.base, " (still mounted)" if self.loop else ""))
        else:
            shutil.rmtree(self.base, ignore_errors=True)
        return False
