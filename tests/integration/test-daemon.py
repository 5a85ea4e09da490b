"""Integration tests of the poczta daemon: listeners, TLS, authentication,
privilege drop, limits, crashes, reload, graceful stop, -t and -n.

Every test starts a real poczta master with the testproto module and talks
to it over real sockets."""
import collections
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import (ADMIN, MODDIR, POCZTA, RUN_USER, LineClient, Poczta,  # noqa: E402
                       child_pids, free_port)

TESTPROTO = "module testproto {\n}\n"


def abi_version():
    """PZ_ABI_MAJOR and PZ_ABI_MINOR as module.h defines them."""
    src = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(src, "sdk", "include", "poczta", "module.h")) as f:
        text = f.read()
    import re
    return tuple(int(re.search(r"#define PZ_ABI_%s (\d+)" % k, text).group(1))
                 for k in ("MAJOR", "MINOR"))


def listener(name, port, tls="no", extra=""):
    return ("listener %s {\n protocol = testproto\n address = 127.0.0.1:%d\n tls = %s\n%s}\n"
            % (name, port, tls, extra))


def crash_session(test, port):
    """A session that crashes its process: the master logs it.  Returns
    the pid (a string) of the process that crashed."""
    c = LineClient.tcp(port)
    c.line()
    pid = c.cmd("PID").split()[1]
    c.send("CRASH")
    with test.assertRaises((EOFError, ConnectionResetError)):
        c.line()
    test.assertTrue(test.pz.wait_log("connection process %s (listener plain, client "
                                     "127.0.0.1) killed by signal" % pid),
                    test.pz.read_log())
    return pid


def stop_during_sleep(test, port):
    """SIGTERM while a session sleeps: it finishes its command, says BYE,
    and the master exits 0 within the shutdown timeout."""
    c = LineClient.tcp(port)
    c.line()
    c.send("SLEEP 20000")
    time.sleep(0.2)
    t0 = time.time()
    test.pz.signal(signal.SIGTERM)
    test.assertEqual(c.line(), "OK slept")
    test.assertEqual(c.line(), "BYE server shutting down")
    test.assertEqual(test.pz.proc.wait(10), 0)
    test.assertLess(time.time() - t0, 5)


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.plain = free_port()
        self.tls = free_port()
        self.pz = Poczta(TESTPROTO, listener("plain", self.plain) +
                         listener("tls", self.tls, "implicit"))
        self.pz.start([self.plain, self.tls])
        self.allow_crash = False

    def tearDown(self):
        self.pz.cleanup(self.allow_crash)

    def test_plain_listener_echo(self):
        c = LineClient.tcp(self.plain)
        self.assertEqual(c.line(), "* testproto ready")
        self.assertEqual(c.cmd("ECHO hello world"), "OK hello world")
        self.assertEqual(c.cmd("TLS"), "OK no")
        self.assertEqual(c.cmd("PEER"), "OK 127.0.0.1")
        self.assertEqual(c.cmd("QUIT"), "OK bye")
        c.close()

    def test_implicit_tls(self):
        ctx = self.pz.tls_context()
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.tls), 10),
                            server_hostname="localhost")
        self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))
        c = LineClient(s)
        self.assertEqual(c.line(), "* testproto ready")
        self.assertEqual(c.cmd("TLS"), "OK yes")
        c.close()

    def test_tls_below_1_2_refused(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.tls), 10))

    def test_starttls(self):
        c = LineClient.tcp(self.plain)
        c.line()
        self.assertEqual(c.cmd("STARTTLS"), "OK begin TLS")
        c.starttls(self.pz.tls_context())
        self.assertEqual(c.cmd("TLS"), "OK yes")
        self.assertEqual(c.cmd("ECHO secret"), "OK secret")
        c.close()

    def test_starttls_with_pipelined_data_refused(self):
        # Data sent before the handshake would be injected into the TLS
        # session: the server must refuse and close (CVE-2011-0411 class).
        c = LineClient.tcp(self.plain)
        c.line()
        c.sock.sendall(b"STARTTLS\r\nECHO injected\r\n")
        self.assertEqual(c.line(), "OK begin TLS")
        with self.assertRaises((EOFError, ssl.SSLError, OSError)):
            c.starttls(self.pz.tls_context())
            c.cmd("ECHO after")
        c.close()

    def test_login_and_sasl(self):
        rows = [
            ("LOGIN demo demo", "OK logged in as demo"),
            ("LOGIN demo wrong", "NO Authentication failed"),
            ("LOGIN nobody-x demo", "NO Authentication failed"),
            ("AUTH PLAIN AGRlbW8AZGVtbw==", "OK logged in as demo"),
            ("AUTH PLAIN AGRlbW8AeA==", "NO Authentication failed"),
            ("AUTH DIGEST-MD5", "NO Unsupported authentication mechanism"),
        ]
        c = LineClient.tcp(self.plain)
        c.line()
        for command, want in rows:
            self.assertEqual(c.cmd(command), want, command)
        self.assertEqual(c.cmd("AUTH LOGIN"), "+ VXNlcm5hbWU6")
        self.assertEqual(c.cmd("ZGVtbw=="), "+ UGFzc3dvcmQ6")
        self.assertEqual(c.cmd("ZGVtbw=="), "OK logged in as demo")
        c.close()
        log = self.pz.read_log()
        self.assertIn("login failed for 'demo': wrong password", log)
        self.assertIn("logged in", log)
        self.assertNotIn("wrong", log.replace("wrong password", ""))  # no password logged

    @unittest.skipUnless(os.geteuid() == 0, "privilege drop needs root")
    def test_child_runs_unprivileged(self):
        import pwd
        pw = pwd.getpwnam(RUN_USER)
        c = LineClient.tcp(self.plain)
        c.line()
        self.assertEqual(c.cmd("UID"), "OK %d %d" % (pw.pw_uid, pw.pw_gid))
        pid = int(c.cmd("PID").split()[1])
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        self.assertIn("NoNewPrivs:\t1", status)
        self.assertIn("Uid:\t%d\t%d\t%d\t%d" % ((pw.pw_uid,) * 4), status)
        c.close()

    def test_long_line_refused_session_goes_on(self):
        c = LineClient.tcp(self.plain)
        c.line()
        self.assertEqual(c.cmd("ECHO " + "x" * 5000), "BAD line too long")
        self.assertEqual(c.cmd("ECHO ok"), "OK ok")
        c.close()

    def test_crash_is_logged_and_isolated(self):
        self.allow_crash = True
        other = LineClient.tcp(self.plain)
        other.line()
        pid = crash_session(self, self.plain)
        # SIGSEGV, or SIGABRT when AddressSanitizer catches the SIGSEGV first
        self.assertRegex(self.pz.read_log(), r"process %s .* killed by signal (11 \(Segmentation "
                         r"fault\)|6 \(Aborted\))" % pid)
        self.assertEqual(other.cmd("ECHO still here"), "OK still here")
        fresh = LineClient.tcp(self.plain)
        self.assertEqual(fresh.line(), "* testproto ready")
        other.close()
        fresh.close()

    def test_graceful_stop_says_bye(self):
        stop_during_sleep(self, self.plain)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.plain), 1)
        self.assertIn("stopped", self.pz.read_log())
        self.assertFalse(os.path.exists(os.path.join(self.pz.dir, "poczta.pid")))

    def test_reload_adds_listener_keeps_sessions(self):
        c = LineClient.tcp(self.plain)
        c.line()
        new = free_port()
        self.pz.write_config(TESTPROTO, listener("plain", self.plain) +
                             listener("tls", self.tls, "implicit") + listener("new", new))
        self.pz.signal(signal.SIGHUP)
        self.assertTrue(self.pz.wait_log("reloaded"), self.pz.read_log())
        n = LineClient.tcp(new)
        self.assertEqual(n.line(), "* testproto ready")
        self.assertEqual(c.cmd("ECHO old session"), "OK old session")
        p = LineClient.tcp(self.plain)
        self.assertEqual(p.line(), "* testproto ready")
        for x in (c, n, p):
            x.close()

    def test_reload_with_taken_port_keeps_running(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        self.pz.write_config(TESTPROTO, listener("plain", self.plain) +
                             listener("tls", self.tls, "implicit") + listener("new", port))
        self.pz.signal(signal.SIGHUP)
        self.assertTrue(self.pz.wait_log("keeping the running configuration"),
                        self.pz.read_log())
        self.assertIsNone(self.pz.proc.poll())
        c = LineClient.tcp(self.plain)
        self.assertEqual(c.line(), "* testproto ready")
        c.close()
        taken.close()

    def test_reload_with_bad_config_keeps_running(self):
        with open(self.pz.conf, "a") as f:
            f.write("no_such_key = 1\n")
        self.pz.signal(signal.SIGHUP)
        self.assertTrue(self.pz.wait_log("keeping the running configuration"),
                        self.pz.read_log())
        self.assertIn("unknown key 'no_such_key'", self.pz.read_log())
        c = LineClient.tcp(self.plain)
        self.assertEqual(c.line(), "* testproto ready")
        c.close()


class ListenerKindsTest(unittest.TestCase):
    def tearDown(self):
        self.pz.cleanup()

    def test_unix_and_ipv6(self):
        port = free_port()
        self.pz = Poczta(TESTPROTO, "")
        sock_path = os.path.join(self.pz.dir, "t.sock")
        self.pz.write_config(TESTPROTO, (
            "listener u {\n protocol = testproto\n address = unix:%s\n mode = 0600\n}\n"
            "listener v6 {\n protocol = testproto\n address = [::1]:%d\n}\n")
            % (sock_path, port))
        self.pz.start()
        deadline = time.time() + 5
        while not os.path.exists(sock_path) and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(os.stat(sock_path).st_mode & 0o777, 0o600)
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock_path)
        c = LineClient(s)
        self.assertEqual(c.line(), "* testproto ready")
        self.assertEqual(c.cmd("PEER"), "OK unix")
        c.close()
        while time.time() < deadline:
            try:
                s6 = socket.create_connection(("::1", port), 2)
                break
            except OSError:
                time.sleep(0.05)
        c6 = LineClient(s6)
        self.assertEqual(c6.line(), "* testproto ready")
        self.assertEqual(c6.cmd("PEER"), "OK ::1")
        c6.close()

    def test_connection_limit_per_ip(self):
        port = free_port()
        self.pz = Poczta(TESTPROTO, listener("plain", port), "max_connections_per_ip = 2\n")
        self.pz.start([port])
        time.sleep(0.3)  # the readiness probes above must be gone
        a, b = LineClient.tcp(port), LineClient.tcp(port)
        a.line()
        b.line()
        c = LineClient.tcp(port)
        with self.assertRaises((EOFError, ConnectionResetError)):
            c.line()
        self.assertTrue(self.pz.wait_log("max_connections_per_ip (2) reached"))
        a.close()
        time.sleep(0.3)
        d = LineClient.tcp(port)
        self.assertEqual(d.line(), "* testproto ready")
        for x in (b, c, d):
            x.close()

    def test_process_memory_limit(self):
        port = free_port()
        self.pz = Poczta(TESTPROTO, listener("plain", port), "process_memory_limit = 64M\n")
        self.pz.start([port])
        c = LineClient.tcp(port)
        c.line()
        pid = int(c.cmd("PID").split()[1])
        with open("/proc/%d/limits" % pid) as f:
            line = [x for x in f if x.startswith("Max data size")][0].split()
        asan = b"libasan" in subprocess.run(["ldd", POCZTA], capture_output=True).stdout
        # a sanitizer build leaves the limit off: its shadow memory would hit it
        self.assertEqual(line[3], "unlimited" if asan else "67108864")
        c.close()

    def test_plaintext_refused_without_tls(self):
        port = free_port()
        self.pz = Poczta(TESTPROTO, listener("plain", port), "auth_allow_plaintext = no\n")
        self.pz.start([port])
        c = LineClient.tcp(port)
        c.line()
        self.assertEqual(c.cmd("LOGIN demo demo"),
                         "NO Plaintext authentication is not allowed without TLS")
        self.assertEqual(c.cmd("AUTH PLAIN AGRlbW8AZGVtbw=="),
                         "NO Plaintext authentication is not allowed without TLS")
        c.cmd("STARTTLS")
        c.starttls(self.pz.tls_context())
        self.assertEqual(c.cmd("LOGIN demo demo"), "OK logged in as demo")
        c.close()


def wait_for(cond, timeout=5.0):
    """Polls cond() until it is true; returns its last value."""
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() > deadline:
            return v
        time.sleep(0.02)


def session_pid(port):
    """The pid of the process that serves a fresh connection, which ends."""
    c = LineClient.tcp(port)
    c.line()
    pid = int(c.cmd("PID").split()[1])
    c.cmd("QUIT")
    c.close()
    return pid


class ReuseTest(unittest.TestCase):
    """Listeners with connections_per_process != 1 or process_min_avail:
    worker processes that are started before a connection arrives and may
    serve several connections in turn."""

    def start(self, extra, globals_=""):
        self.port = free_port()
        self.pz = Poczta(TESTPROTO, listener("plain", self.port, extra=extra), globals_)
        self.pz.start([self.port])
        self.allow_crash = False
        time.sleep(0.3)  # the readiness probes' sessions must be over

    def tearDown(self):
        self.pz.cleanup(self.allow_crash)

    def idle_workers(self, n):
        return wait_for(lambda: len(child_pids(self.pz.proc.pid)) >= n)

    def test_prefork_and_reuse(self):
        self.start(" connections_per_process = 0\n process_min_avail = 2\n")
        self.assertTrue(self.idle_workers(2), child_pids(self.pz.proc.pid))
        workers = set(child_pids(self.pz.proc.pid))
        first = session_pid(self.port)
        self.assertIn(first, workers)
        # back to waiting, it gets the next connection (the warmest first)
        time.sleep(0.2)
        self.assertEqual(session_pid(self.port), first)
        self.assertEqual(set(child_pids(self.pz.proc.pid)), workers)

    def test_worker_is_unprivileged_and_sessions_do_not_leak(self):
        import pwd
        pw = pwd.getpwnam(RUN_USER)
        self.start(" connections_per_process = 0\n")
        c = LineClient.tcp(self.port)
        c.line()
        self.assertEqual(c.cmd("LOGIN demo demo"), "OK logged in as demo")
        pid = int(c.cmd("PID").split()[1])
        c.cmd("QUIT")
        c.close()
        time.sleep(0.2)
        c = LineClient.tcp(self.port)
        c.line()
        self.assertEqual(int(c.cmd("PID").split()[1]), pid)
        self.assertEqual(c.cmd("WHOAMI"), "NO not logged in")
        self.assertEqual(c.cmd("UID"), "OK %d %d" % (pw.pw_uid, pw.pw_gid))
        with open("/proc/%d/status" % pid) as f:
            self.assertIn("NoNewPrivs:\t1", f.read())
        c.close()

    def test_server_close_reaches_the_client(self):
        # connections that arrive while the others are busy get workers
        # forked for them: the client still sees the end of the connection
        # when its session ends (no other process keeps a copy of it)
        self.start(" connections_per_process = 0\n")
        clients = [LineClient.tcp(self.port) for _ in range(3)]
        for c in clients:
            self.assertEqual(c.line(), "* testproto ready")
        for c in clients:
            self.assertEqual(c.cmd("QUIT"), "OK bye")
            c.sock.settimeout(5)
            self.assertEqual(c.sock.recv(100), b"")
            c.close()

    def test_connections_per_process_limit(self):
        self.start(" connections_per_process = 2\n")
        pids = []
        for _ in range(6):
            pids.append(session_pid(self.port))
            time.sleep(0.1)
        served = collections.Counter(pids)
        self.assertLessEqual(max(served.values()), 2, pids)
        twice = [pid for pid, n in served.items() if n == 2]
        self.assertTrue(twice, pids)
        # two served: it exits
        self.assertTrue(wait_for(lambda: not set(twice) & set(child_pids(self.pz.proc.pid))))

    def test_busy_workers_count_for_limits(self):
        self.start(" connections_per_process = 0\n process_min_avail = 3\n",
                   "max_connections_per_ip = 2\n")
        a, b = LineClient.tcp(self.port), LineClient.tcp(self.port)
        a.line()
        b.line()
        c = LineClient.tcp(self.port)
        with self.assertRaises((EOFError, ConnectionResetError)):
            c.line()
        self.assertTrue(self.pz.wait_log("max_connections_per_ip (2) reached"))
        a.close()
        time.sleep(0.3)
        d = LineClient.tcp(self.port)
        self.assertEqual(d.line(), "* testproto ready")
        for x in (b, c, d):
            x.close()

    def test_implicit_tls_twice_in_one_process(self):
        self.port = free_port()
        self.pz = Poczta(TESTPROTO, listener("tls", self.port, "implicit",
                                             " connections_per_process = 0\n"))
        self.pz.start([self.port])
        self.allow_crash = False
        pids = []
        for _ in range(2):
            s = self.pz.tls_context().wrap_socket(
                socket.create_connection(("127.0.0.1", self.port), 10),
                server_hostname="localhost")
            c = LineClient(s)
            self.assertEqual(c.line(), "* testproto ready")
            self.assertEqual(c.cmd("TLS"), "OK yes")
            pids.append(c.cmd("PID"))
            c.cmd("QUIT")
            c.close()
            time.sleep(0.2)
        self.assertEqual(pids[0], pids[1])

    def test_reload_replaces_idle_workers_busy_ones_finish(self):
        extra = " connections_per_process = 0\n process_min_avail = 2\n"
        self.start(extra)
        self.assertTrue(self.idle_workers(2))
        busy = LineClient.tcp(self.port)
        busy.line()
        busy_pid = int(busy.cmd("PID").split()[1])
        self.assertTrue(self.idle_workers(3))
        old = set(child_pids(self.pz.proc.pid)) - {busy_pid}
        self.pz.write_config(TESTPROTO, listener("plain", self.port, extra=extra))
        self.pz.signal(signal.SIGHUP)
        self.assertTrue(self.pz.wait_log("reloaded"), self.pz.read_log())
        self.assertTrue(wait_for(lambda: not old & set(child_pids(self.pz.proc.pid))))
        self.assertEqual(busy.cmd("ECHO still here"), "OK still here")
        busy.cmd("QUIT")
        busy.close()
        # the old config's worker leaves when its connection is done
        self.assertTrue(wait_for(lambda: busy_pid not in child_pids(self.pz.proc.pid)))
        self.assertNotIn(session_pid(self.port), old | {busy_pid})

    def test_crash_in_worker_is_logged_and_replaced(self):
        self.start(" connections_per_process = 0\n process_min_avail = 1\n")
        self.allow_crash = True
        pid = crash_session(self, self.port)
        self.assertNotEqual(session_pid(self.port), int(pid))

    def test_graceful_stop_with_idle_and_busy_workers(self):
        self.start(" connections_per_process = 0\n process_min_avail = 2\n")
        self.assertTrue(self.idle_workers(2))
        stop_during_sleep(self, self.port)
        self.assertEqual(child_pids(self.pz.proc.pid), [])

    def test_bad_values_name_file_and_line(self):
        self.start(" connections_per_process = 0\n")
        for extra in (" connections_per_process = -1\n", " process_min_avail = lots\n"):
            self.pz.write_config(TESTPROTO, listener("plain", self.port, extra=extra))
            r = run_poczta("-t", "-c", self.pz.conf)
            self.assertNotEqual(r.returncode, 0)
            key = extra.split()[0]
            self.assertRegex(r.stderr, r"poczta\.conf:\d+: .*%s" % key)


def run_poczta(*args):
    return subprocess.run([POCZTA] + list(args), capture_output=True, text=True, timeout=30)


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        self.pz = Poczta(TESTPROTO, listener("plain", free_port()))

    def tearDown(self):
        self.pz.cleanup()

    def test_version_and_help(self):
        r = run_poczta("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^poczta \S+ \(module ABI %d\.%d\)\n$" % abi_version())
        self.assertIn("--foreground", run_poczta("--help").stdout)
        self.assertEqual(run_poczta("--bogus").returncode, 2)

    def test_check_good(self):
        r = run_poczta("-t", "-c", self.pz.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("is valid; 2 modules loaded", r.stdout)

    def check_fails(self, extra_conf, want):
        with open(self.pz.conf, "a") as f:
            f.write(extra_conf)
        r = run_poczta("-t", "-c", self.pz.conf)
        self.assertEqual(r.returncode, 1)
        self.assertIn(want, r.stderr)
        return r.stderr

    def test_check_refuses_other_abi_major(self):
        err = self.check_fails("module badmajor {\n}\n",
                               "%s/badmajor.so: module 'badmajor': built for ABI %d.%d, "
                               "this core has ABI %d.%d" % ((MODDIR, abi_version()[0] + 1,
                                                            abi_version()[1]) + abi_version()))
        self.assertRegex(err, r"poczta\.conf:\d+: ")

    def test_check_refuses_missing_cert(self):
        self.check_fails("ssl_cert = /nonexistent/cert.pem\n",
                         "ssl_cert: cannot load certificate /nonexistent/cert.pem")

    def test_check_refuses_mismatched_key(self):
        from pzfixture import make_cert
        _, other_key = make_cert(self.pz.dir, "other")
        self.check_fails("ssl_key = %s\n" % other_key, "does not match the certificate")

    def test_check_refuses_unknown_protocol(self):
        self.check_fails("listener x {\n protocol = gopher\n address = 127.0.0.1:1\n}\n",
                         "no loaded module provides protocol 'gopher'")

    def test_check_bad_address(self):
        self.check_fails("listener x {\n protocol = testproto\n address = 127.0.0.1\n}\n",
                         "listener x: bad address '127.0.0.1' (expected HOST:PORT")
        self.check_fails("", "listener x: bad address")

    def test_relative_paths_are_relative_to_the_config_file(self):
        with open(self.pz.conf) as f:
            text = f.read()
        text = text.replace(self.pz.cert, "cert.pem").replace(self.pz.key, "cert.key")
        with open(self.pz.conf, "w") as f:
            f.write(text)
        r = subprocess.run([POCZTA, "-n", "-c", self.pz.conf], capture_output=True, text=True,
                           timeout=30, cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ssl_cert = %s" % self.pz.cert, r.stdout)
        r = subprocess.run([POCZTA, "-t", "-c", self.pz.conf], capture_output=True, text=True,
                           timeout=30, cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "the user check applies when started as root")
    def test_check_refuses_root_user(self):
        self.check_fails("user = root\n", "user 'root': is root or in group root")

    def test_check_missing_include(self):
        self.check_fails("include /nonexistent/file.conf\n",
                         "include: cannot open '/nonexistent/file.conf'")

    def test_print_effective_config(self):
        r = run_poczta("-n", "-c", self.pz.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        for want in ("max_connections = 1000", "auth_allow_plaintext = loopback",
                     "module testproto {", "listener plain {", "protocol = testproto",
                     "timeout = 30m", "module passwd-file {"):
            self.assertIn(want, r.stdout)

    def test_admin_hash_is_accepted_by_daemon(self):
        h = subprocess.run([ADMIN, "passwd"], input="s3cret\n", capture_output=True,
                           text=True, check=True).stdout.strip()
        self.assertTrue(h.startswith("$y$"), h)
        with open(self.pz.users, "w") as f:
            f.write("carol:%s\n" % h)
        port = free_port()
        self.pz.write_config(TESTPROTO, listener("plain", port))
        self.pz.start([port])
        c = LineClient.tcp(port)
        c.line()
        self.assertEqual(c.cmd("LOGIN carol s3cret"), "OK logged in as carol")
        c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
