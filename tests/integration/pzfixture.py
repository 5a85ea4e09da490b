"""pzfixture - start real poczta processes for integration tests.

A Poczta instance gets its own short temporary folder (unix socket paths are
limited to 107 bytes), a self-signed certificate, a passwd file, a config on
free ports of 127.0.0.1, and logs to a file the tests can read.
"""
import os
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

    def conf(self):
        return "module maildir {\n location = maildir:%s/%%u\n}\n" % self.root

    def deliver(self, user, raw):
        """Drop a message into USER's new/ (tmp/ then rename, as maildir
        delivery does)."""
        base = os.path.join(self.root, user)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        Maildir.counter += 1
        name = "%d.M%dP%d.test" % (int(time.time()), Maildir.counter, os.getpid())
        tmp = os.path.join(base, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
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
            f.write(listeners)

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
