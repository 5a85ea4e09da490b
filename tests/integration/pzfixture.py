"""pzfixture - start real poczta processes for integration tests.

A Poczta instance gets its own short temporary folder (unix socket paths are
limited to 107 bytes), a self-signed certificate, a passwd file, a config on
free ports of 127.0.0.1, and logs to a file the tests can read.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
POCZTA = os.path.join(BUILD, "core", "poczta")
ADMIN = os.path.join(BUILD, "core", "poczta-admin")
MODDIR = os.path.join(BUILD, "tests", "moddir")
RUN_USER = "nobody" if os.geteuid() == 0 else None


def chown_run_user(path):
    """Give a folder tree to the user connection processes run as."""
    if RUN_USER:
        import pwd
        pw = pwd.getpwnam(RUN_USER)
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)
        os.chown(path, pw.pw_uid, pw.pw_gid)


class Maildir:
    """A mail root for the maildir module: one Maildir++ folder per user
    under `root`, filled the way an external delivery agent would."""

    counter = 0

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        chown_run_user(root)

    def conf(self, extra=""):
        """The storage's config; `extra` goes into its module section."""
        return "module maildir {\n location = maildir:%s/%%u\n%s}\n" % (self.root, extra)

    def deliver(self, user, raw, date=None):
        """Drop a message into USER's new/ (tmp/ then rename, as maildir
        delivery does); `date` (seconds since the epoch) becomes the file's
        mtime, its internal date."""
        base = os.path.join(self.root, user)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        Maildir.counter += 1
        name = "%d.M%dP%d.test" % (int(time.time()), Maildir.counter, os.getpid())
        tmp = os.path.join(base, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        if date is not None:
            os.utime(tmp, (date, date))
        os.rename(tmp, os.path.join(base, "new", name))
        chown_run_user(base)


def free_port():
    """A port that is free now, picked below Linux's ephemeral range
    (32768-60999): a port the kernel hands out for an outgoing connection
    (a client of another test) can then never take it before poczta binds."""
    import random
    while True:
        port = random.randint(10000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()


def make_cert(folder, name="cert"):
    """A self-signed certificate for localhost and 127.0.0.1."""
    cert = os.path.join(folder, name + ".pem")
    key = os.path.join(folder, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return cert, key


class Poczta:
    """One running poczta master."""

    def __init__(self, modules="", listeners="", globals_="", users=None):
        self.dir = tempfile.mkdtemp(prefix="pz.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.cert, self.key = make_cert(self.dir)
        self.users = os.path.join(self.dir, "users")
        with open(self.users, "w") as f:
            for name, password in (users or {"demo": "demo"}).items():
                # "password", or ("password", "key=value ...") for extra fields
                extra = ""
                if isinstance(password, tuple):
                    password, extra = password
                f.write("%s:{PLAIN}%s::::::%s\n" % (name, password, extra))
        os.chmod(self.users, 0o644)
        self.conf = os.path.join(self.dir, "poczta.conf")
        self.log = os.path.join(self.dir, "poczta.log")
        self.proc = None
        self.write_config(modules, listeners, globals_)

    def write_config(self, modules, listeners, globals_=""):
        with open(self.conf, "w") as f:
            f.write("module_dir = %s\n" % MODDIR)
            f.write("ssl_cert = %s\nssl_key = %s\n" % (self.cert, self.key))
            f.write("state_dir = %s\n" % self.dir)
            f.write("pid_file = %s/poczta.pid\n" % self.dir)
            if RUN_USER:
                f.write("user = %s\n" % RUN_USER)
            f.write("auth_fail_delay = 10ms\nauth_fail_delay_max = 40ms\n")
            f.write(globals_)
            f.write("module passwd-file {\n path = %s\n allow_plaintext = yes\n}\n"
                    % self.users)
            f.write(modules)
            f.write(with_listener_settings(listeners))

    def start(self, wait_ports=()):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([POCZTA, "-F", "-c", self.conf],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        for port in wait_ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("poczta exited %d:\n%s" % (self.proc.returncode,
                                                                  self.read_log()))
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("port %d never opened:\n%s" % (port, self.read_log()))
                    time.sleep(0.05)
        return self

    def read_log(self):
        if not os.path.exists(self.log):
            return ""
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.read_log():
                return True
            time.sleep(0.05)
        return False

    def sanitizer_reports(self):
        """Lines where ASan, LSan or UBSan reported a bug in any poczta
        process of this instance (a sanitizer build logs them to stderr)."""
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
        return [line for line in self.read_log().splitlines()
                if any(m in line for m in marks)]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode if self.proc else None

    def cleanup(self, allow_crash=False):
        """Stop, then fail when a sanitizer reported anything (unless the
        test crashed a process on purpose); remove the folder either way."""
        try:
            self.stop()
            reports = [] if allow_crash else self.sanitizer_reports()
            if reports:
                raise AssertionError("sanitizer reports:\n" + self.read_log())
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx


def with_listener_settings(listeners):
    """Config text of listener sections, with POCZTA_TEST_LISTENER_SETTINGS
    (lines of settings) added to each: test-reuse-suites.py runs whole
    suites with reused connection processes this way."""
    extra = os.environ.get("POCZTA_TEST_LISTENER_SETTINGS", "")
    if not extra:
        return listeners
    return re.sub(r"(listener [^{\n]*\{\n)", lambda m: m.group(1) + extra, listeners)


def serving_pid(master_pid, sock, timeout=5.0):
    """The connection process of a poczta master that holds the server end
    of the TCP connection `sock` (found through /proc/net/tcp and the
    processes' fds; with reused processes, which one serves it is not
    known in advance)."""
    local = sock.getsockname()
    want = "%08X:%04X" % (socket.htonl(int.from_bytes(socket.inet_aton(local[0]), "big")),
                          local[1])
    deadline = time.time() + timeout
    while True:
        inodes = set()
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[2] == want:  # the server end: its remote is our local
                    inodes.add("socket:[%s]" % fields[9])
        for pid in child_pids(master_pid):
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
                if any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes for fd in fds):
                    return pid
            except OSError:
                continue  # it ended meanwhile
        if time.time() > deadline:
            raise RuntimeError("no connection process of %d holds %r" % (master_pid, local))
        time.sleep(0.02)


def child_pids(master_pid):
    """The connection processes of a poczta master."""
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


class LineClient:
    """A CRLF line client over a plain or TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    @classmethod
    def tcp(cls, port, host="127.0.0.1", timeout=10):
        return cls(socket.create_connection((host, port), timeout))

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def cmd(self, line):
        self.send(line)
        return self.line()

    def starttls(self, ctx, server_hostname="localhost"):
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)

    def close(self):
        self.sock.close()


# ---- IMAP helpers (tests/integration/test-imap*.py)

IMAP_AUTOCREATE = " autocreate = Drafts Sent Trash Junk Archive\n"


def imap_config(store, port, tls_port=None, imap=""):
    """Module sections and listeners for an IMAP server over `store` (a
    Maildir, or any store with its interface: pzpostgres.PgStore), the
    storage creating the special-use folders at a user's first login."""
    modules = store.conf(IMAP_AUTOCREATE)
    modules += "module imap {\n%s}\n" % imap
    listeners = "listener imap {\n protocol = imap\n address = 127.0.0.1:%d\n}\n" % port
    if tls_port:
        listeners += ("listener imaps {\n protocol = imap\n address = 127.0.0.1:%d\n"
                      " tls = implicit\n}\n") % tls_port
    return modules, listeners


class ImapClient(LineClient):
    """A raw IMAP conversation.  run() sends one tagged command and returns
    (untagged, tagged): the untagged responses as text (a literal is kept
    inline as "{n}\\r\\n<data>") and the tagged reply without its tag."""

    def __init__(self, sock):
        LineClient.__init__(self, sock)
        self.n = 0

    @classmethod
    def connect(cls, port, host="127.0.0.1", timeout=10, ctx=None):
        sock = socket.create_connection((host, port), timeout)
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
        c = cls(sock)
        c.greeting = c.response()
        return c

    def raw_line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def read_bytes(self, n):
        chunks, have = [self.buf], len(self.buf)
        while have < n:
            data = self.sock.recv(min(1 << 20, max(65536, n - have)))
            if not data:
                raise EOFError("connection closed in a literal")
            chunks.append(data)
            have += len(data)
        data = b"".join(chunks)
        data, self.buf = data[:n], data[n:]
        return data

    def response(self):
        """One whole response line, literals included, as str."""
        import re
        out = b""
        while True:
            line = self.raw_line()
            out += line
            m = re.search(rb"~?\{(\d+)\}\r?\n$", line)
            if not m:
                return out.rstrip(b"\r\n").decode("utf-8", "replace")
            out += self.read_bytes(int(m.group(1)))

    def next_tag(self):
        self.n += 1
        return "t%d" % self.n

    def run(self, command, tag=None):
        tag = tag or self.next_tag()
        self.sock.sendall(("%s %s\r\n" % (tag, command)).encode())
        return self.collect(tag)

    def collect(self, tag):
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + " "):
                return untagged, r[len(tag) + 1:]
            untagged.append(r)

    def ok(self, command):
        """run() that must end in OK; returns the untagged responses."""
        untagged, tagged = self.run(command)
        if not tagged.startswith("OK"):
            raise AssertionError("%s -> %s (untagged %r)" % (command, tagged, untagged))
        return untagged


# ---- storage-neutral checks.  Tests written with these run unchanged on
# any storage: pzpostgres.PgStore has the same methods.  Mailbox names are
# storage names ("INBOX", "Work", "Lists/2024").

def _maildir_folder(store, user, mailbox):
    if mailbox == "INBOX":
        return os.path.join(store.root, user)
    return os.path.join(store.root, user, "." + mailbox.replace("/", "."))


def _maildir_files(store, user, mailbox):
    import glob
    base = _maildir_folder(store, user, mailbox)
    return glob.glob(base + "/new/*") + glob.glob(base + "/cur/*")


def _maildir_message_count(self, user, mailbox="INBOX"):
    """How many messages MAILBOX of USER holds."""
    return len(_maildir_files(self, user, mailbox))


def _maildir_seen_count(self, user, mailbox="INBOX"):
    """How many of them have \\Seen."""
    return sum(1 for f in _maildir_files(self, user, mailbox)
               if ":2," in f and "S" in f.split(":2,")[-1])


def _maildir_create_mailbox(self, user, name):
    """Create a mailbox as another tool would, behind the server's back."""
    base = _maildir_folder(self, user, name)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    chown_run_user(self.root)


def _maildir_delete_mailbox(self, user, name):
    """Delete a mailbox and its mail as another tool would."""
    shutil.rmtree(_maildir_folder(self, user, name))


def _maildir_break_user(self, user):
    """Make saving for USER fail as a broken storage would."""
    os.chmod(os.path.join(self.root, user), 0)


def _maildir_repair_user(self, user):
    os.chmod(os.path.join(self.root, user), 0o700)


def _maildir_break_mailbox(self, user, name):
    """Make reading one mailbox of USER fail."""
    os.chmod(_maildir_folder(self, user, name), 0)


def _maildir_repair_mailbox(self, user, name):
    os.chmod(_maildir_folder(self, user, name), 0o700)


Maildir.message_count = _maildir_message_count
Maildir.seen_count = _maildir_seen_count
Maildir.create_mailbox = _maildir_create_mailbox
Maildir.delete_mailbox = _maildir_delete_mailbox
Maildir.break_user = _maildir_break_user
Maildir.repair_user = _maildir_repair_user
Maildir.break_mailbox = _maildir_break_mailbox
Maildir.repair_mailbox = _maildir_repair_mailbox
