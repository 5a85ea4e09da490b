"""POP3 against a running poczta with maildir storage: Python's poplib
(plain, STLS, POP3S), curl, fetchmail and getmail6, plus raw conversations
for the protocol's edges."""
import glob
import os
import poplib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import LineClient, Maildir, Poczta, chown_run_user, free_port  # noqa: E402

MSG1 = (b"From: alice@example.org\r\nTo: demo@example.org\r\nSubject: first\r\n"
        b"Message-ID: <1@example.org>\r\n\r\nHello demo.\r\n.hidden line\r\n..two dots\r\n"
        b".\r\nlast line\r\n")
MSG2_LF = (b"From: bob@example.org\nTo: demo@example.org\nSubject: bare LF\n\n"
           b"line one\n.dot\nline three\n")
MSG3 = (b"From: carol@example.org\r\nSubject: third\r\n\r\n" +
        b"".join(b"body line %d\r\n" % i for i in range(1, 21)))


def crlf(raw):
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Pop3Base(unittest.TestCase):
    extra_pop3 = ""
    extra_globals = ""

    def setUp(self):
        self.port, self.tls_port = free_port(), free_port()
        self.pz = Poczta(users={"demo": "demo", "other": "pw"})
        self.maildir = Maildir(os.path.join(self.pz.dir, "mail"))
        for raw in (MSG1, MSG2_LF, MSG3):
            self.maildir.deliver("demo", raw)
        listeners = ("listener pop3 {\n protocol = pop3\n address = 127.0.0.1:%d\n}\n"
                     "listener pop3s {\n protocol = pop3\n address = 127.0.0.1:%d\n"
                     " tls = implicit\n}\n") % (self.port, self.tls_port)
        self.pz.write_config(self.maildir.conf() + "module pop3 {\n%s}\n" % self.extra_pop3,
                             listeners, self.extra_globals)
        self.pz.start([self.port, self.tls_port])

    def tearDown(self):
        self.pz.cleanup()

    def pop(self, user="demo", password="demo"):
        p = poplib.POP3("127.0.0.1", self.port, timeout=10)
        p.user(user)
        p.pass_(password)
        return p

    def pop_after_drop(self):
        """Log in after a connection was dropped: its process may take a
        moment to notice and give up the maildrop lock ([IN-USE] meanwhile)."""
        deadline = time.time() + 5
        while True:
            try:
                return self.pop()
            except poplib.error_proto as e:
                if b"[IN-USE]" not in e.args[0] or time.time() > deadline:
                    raise
                time.sleep(0.1)

    def raw(self):
        c = LineClient.tcp(self.port)
        self.assertTrue(c.line().startswith("+OK"))
        return c

    def multiline(self, c):
        lines = []
        while True:
            line = c.line()
            if line == ".":
                return lines
            lines.append(line)


class Pop3Test(Pop3Base):
    def test_stat_list_uidl_retr(self):
        p = self.pop()
        sizes = [len(crlf(m)) for m in (MSG1, MSG2_LF, MSG3)]
        self.assertEqual(p.stat(), (3, sum(sizes)))
        resp, lines, _ = p.list()
        self.assertEqual([int(x.split()[1]) for x in lines], sizes)
        self.assertEqual(p.list(2), b"+OK 2 %d" % sizes[1])
        uidls = [x.split()[1] for x in p.uidl()[1]]
        self.assertEqual(len(set(uidls)), 3)
        for u in uidls:
            self.assertRegex(u, rb"^[0-9A-F]{16}$")
        resp, lines, octets = p.retr(1)
        self.assertEqual(resp, b"+OK %d octets" % sizes[0])
        # poplib removes the dot-stuffing: what remains is the message itself
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", MSG1)
        resp, lines, _ = p.retr(2)
        self.assertEqual(b"\n".join(lines) + b"\n", MSG2_LF)
        p.quit()

    def test_dot_stuffing_on_the_wire(self):
        c = self.raw()
        c.cmd("USER demo")
        self.assertTrue(c.cmd("PASS demo").startswith("+OK"))
        self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
        body = self.multiline(c)
        self.assertIn("..hidden line", body)
        self.assertIn("...two dots", body)
        self.assertIn("..", body)  # a line holding a single dot
        c.close()

    def test_dot_stuffing_across_read_chunks(self):
        # lines that start with '.' exactly where the server's 16 KiB reads
        # of the message end, and one whose CR and LF are split by them
        head = b"Subject: chunks\r\n\r\n"

        def fill_to(data, offset):
            """100-byte lines, then one shorter line, so len(data) == offset."""
            while offset - len(data) > 200:
                data += b"x" * 98 + b"\r\n"
            return data + b"y" * (offset - len(data) - 2) + b"\r\n"
        raw = fill_to(head, 16384) + b".first\r\n"
        # the CR of the next line ends a read, its LF starts the next one
        raw = fill_to(raw, 32769) + b".second\r\n" + b"c" * 500 + b"\r\n..\r\n.\r\nend\r\n"
        assert raw[16384:16385] == b"." and raw[32767:32769] == b"\r\n"
        self.maildir.deliver("demo", raw)
        p = self.pop()
        resp, lines, _ = p.retr(4)
        self.assertEqual(resp, b"+OK %d octets" % len(raw))
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", raw)
        p.quit()

    def test_top(self):
        p = self.pop()
        resp, lines, _ = p.top(3, 2)
        self.assertEqual(lines, [b"From: carol@example.org", b"Subject: third", b"",
                                 b"body line 1", b"body line 2"])
        resp, lines, _ = p.top(3, 0)
        self.assertEqual(lines, [b"From: carol@example.org", b"Subject: third", b""])
        resp, lines, _ = p.top(3, 1000)
        self.assertEqual(len(lines), 23)
        p.quit()

    def test_uidl_stable_and_dele_at_quit(self):
        p = self.pop()
        before = p.uidl()[1]
        p.dele(2)
        self.assertEqual(p.stat()[0], 2)
        with self.assertRaises(poplib.error_proto):
            p.retr(2)
        p.rset()
        self.assertEqual(p.stat()[0], 3)
        p.dele(2)
        p.quit()
        p = self.pop()
        after = p.uidl()[1]
        self.assertEqual([x.split()[1] for x in after],
                         [before[0].split()[1], before[2].split()[1]])
        p.quit()
        files = glob.glob(os.path.join(self.maildir.root, "demo", "cur", "*")) + \
            glob.glob(os.path.join(self.maildir.root, "demo", "new", "*"))
        self.assertEqual(len(files), 2)

    def test_retr_sets_seen_at_quit(self):
        p = self.pop()
        p.retr(1)
        p.quit()
        seen = [f for f in glob.glob(os.path.join(self.maildir.root, "demo", "cur", "*"))
                if f.split(":2,")[-1].find("S") >= 0]
        self.assertEqual(len(seen), 1)

    def test_dropped_connection_deletes_nothing(self):
        c = self.raw()
        c.cmd("USER demo")
        c.cmd("PASS demo")
        self.assertEqual(c.cmd("DELE 1"), "+OK Marked to be deleted.")
        self.assertEqual(c.cmd("DELE 2"), "+OK Marked to be deleted.")
        c.close()
        p = self.pop_after_drop()
        self.assertEqual(p.stat()[0], 3)
        p.quit()

    def test_in_use(self):
        p = self.pop()
        q = poplib.POP3("127.0.0.1", self.port, timeout=10)
        q.user("demo")
        with self.assertRaises(poplib.error_proto) as cm:
            q.pass_("demo")
        self.assertIn(b"[IN-USE]", cm.exception.args[0])
        other = self.pop("other", "pw")  # other users are not affected
        other.quit()
        p.quit()
        q.close()
        time.sleep(0.2)
        self.pop().quit()

    def test_capa(self):
        c = self.raw()
        self.assertEqual(c.cmd("CAPA"), "+OK Capability list follows")
        caps = self.multiline(c)
        for want in ("TOP", "UIDL", "USER", "SASL PLAIN LOGIN", "RESP-CODES",
                     "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "LOGIN-DELAY 0",
                     "IMPLEMENTATION Poczta", "STLS"):
            self.assertIn(want, caps)
        c.close()

    def test_sasl(self):
        rows = [
            (["AUTH PLAIN AGRlbW8AZGVtbw=="], "+OK Logged in."),
            (["AUTH PLAIN", "AGRlbW8AZGVtbw=="], "+OK Logged in."),
            (["AUTH LOGIN", "ZGVtbw==", "ZGVtbw=="], "+OK Logged in."),
            (["AUTH PLAIN AGRlbW8AeA=="], "-ERR [AUTH] Authentication failed"),
            (["AUTH PLAIN", "*"], "-ERR [AUTH] Authentication cancelled"),
            (["AUTH KERBEROS_V4"], "-ERR Unsupported authentication mechanism."),
        ]
        for commands, want in rows:
            c = self.raw()
            reply = None
            for cmd in commands:
                reply = c.cmd(cmd)
            self.assertEqual(reply, want, commands)
            c.cmd("QUIT")
            c.close()
        c = self.raw()
        self.assertEqual(c.cmd("AUTH"), "+OK")
        self.assertEqual(self.multiline(c), ["PLAIN", "LOGIN"])
        c.close()

    def test_bad_input(self):
        c = self.raw()
        rows = [
            ("STAT", "-ERR Log in first."),
            ("FROB", "-ERR Unknown command: FROB"),
            ("PASS demo", "-ERR No username given."),
            ("USER", "-ERR Wrong number of arguments for USER."),
            ("X" * 10000, "-ERR Line too long."),
        ]
        for cmd, want in rows:
            self.assertEqual(c.cmd(cmd), want)
        c.cmd("USER demo")
        self.assertEqual(c.cmd("PASS demo"), "+OK Logged in.")
        rows = [
            ("RETR 0", "-ERR There's no message 0."),
            ("RETR 4", "-ERR There's no message 4."),
            ("RETR abc", "-ERR Invalid message number: abc"),
            ("RETR -1", "-ERR Invalid message number: -1"),
            ("TOP 1 x", "-ERR Invalid number of lines: x"),
            ("LIST 1 2", "-ERR Wrong number of arguments for LIST."),
            ("USER demo", "-ERR Command not valid after login."),
            ("STLS", "-ERR Command not valid after login."),
            ("DELE 1", "+OK Marked to be deleted."),
            ("DELE 1", "-ERR Message is deleted."),
            ("NOOP", "+OK"),
        ]
        for cmd, want in rows:
            self.assertEqual(c.cmd(cmd), want, cmd)
        c.close()
        p = self.pop_after_drop()  # the session above dropped: nothing was deleted
        self.assertEqual(p.stat()[0], 3)
        p.quit()

    def test_too_many_bad_commands(self):
        c = self.raw()
        for _ in range(19):
            self.assertTrue(c.cmd("BOGUS").startswith("-ERR Unknown"))
        self.assertTrue(c.cmd("BOGUS").startswith("-ERR Unknown"))
        self.assertEqual(c.line(), "-ERR Too many bad commands.")
        with self.assertRaises((EOFError, ConnectionResetError)):
            c.line()

    def test_pipelining(self):
        c = self.raw()
        c.sock.sendall(b"USER demo\r\nPASS demo\r\nSTAT\r\nLIST 1\r\nNOOP\r\nQUIT\r\n")
        replies = [c.line() for _ in range(6)]
        self.assertEqual(replies[0], "+OK")
        self.assertEqual(replies[1], "+OK Logged in.")
        self.assertTrue(replies[2].startswith("+OK 3 "))
        self.assertEqual(replies[3], "+OK 1 %d" % len(MSG1))
        self.assertEqual(replies[4], "+OK")
        self.assertEqual(replies[5], "+OK Logging out, messages deleted.")

    def test_stls_and_pop3s(self):
        p = poplib.POP3("127.0.0.1", self.port, timeout=10)
        p.stls(self.pz.tls_context())
        p.user("demo")
        p.pass_("demo")
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        s = poplib.POP3_SSL("127.0.0.1", self.tls_port, context=self.pz.tls_context(),
                            timeout=10)
        s.user("demo")
        s.pass_("demo")
        self.assertEqual(s.retr(3)[1][-1], b"body line 20")
        s.quit()

    def test_curl(self):
        out = subprocess.run(["curl", "-sS", "-u", "demo:demo",
                              "pop3://127.0.0.1:%d/" % self.port],
                             capture_output=True, check=True, timeout=30).stdout
        self.assertEqual(out.split(b"\r\n")[0], b"1 %d" % len(MSG1))
        out = subprocess.run(["curl", "-sS", "--cacert", self.pz.cert, "-u", "demo:demo",
                              "pop3s://localhost:%d/3" % self.tls_port],
                             capture_output=True, check=True, timeout=30).stdout
        self.assertEqual(out, crlf(MSG3))
        out = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", self.pz.cert,
                              "-u", "demo:demo", "pop3://localhost:%d/2" % self.port],
                             capture_output=True, check=True, timeout=30).stdout
        self.assertEqual(out, crlf(MSG2_LF))


class Pop3HardeningTest(Pop3Base):
    extra_pop3 = " mailboxes = INBOX Broken\n login_timeout = 2s\n"

    def child_rss_kb(self, c):
        c.send("NOOP")  # any reply: the process is there
        c.line()
        from pzfixture import child_pids
        pid = max(child_pids(self.pz.proc.pid))
        with open("/proc/%d/status" % pid) as f:
            return int([x for x in f if x.startswith("VmRSS")][0].split()[1])

    def test_relogin_after_failed_maildrop_open(self):
        for i in range(150):
            self.maildir.deliver("demo", b"Subject: %d\n\nx\n" % i)
        broken = os.path.join(self.maildir.root, "demo", ".Broken")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(broken, sub))
        chown_run_user(self.maildir.root)
        os.chmod(broken, 0)
        try:
            c = self.raw()
            for _ in range(3):
                c.cmd("USER demo")
                self.assertTrue(c.cmd("PASS demo").startswith("-ERR [SYS/"))
            self.assertEqual(c.cmd("CAPA"), "+OK Capability list follows")
            self.multiline(c)
            c.close()
        finally:
            os.chmod(broken, 0o700)
        p = self.pop()
        self.assertEqual(p.stat()[0], 153)
        p.quit()

    def test_memory_stays_bounded_before_login(self):
        c = self.raw()
        before = None
        for rnd in range(4):
            c.sock.sendall(("USER " + "u" * 4000 + "\r\nCAPA\r\n").encode() * 1000)
            for _ in range(1000):
                self.assertEqual(c.line(), "+OK")
                self.assertEqual(c.line(), "+OK Capability list follows")
                self.multiline(c)
            rss = self.child_rss_kb(c)
            if before is None:
                before = rss
        self.assertLess(rss - before, 1024, "grew from %d to %d kB" % (before, rss))
        c.close()

    def test_login_deadline_is_absolute(self):
        c = self.raw()
        t0 = time.time()
        with self.assertRaises((EOFError, ConnectionResetError)):
            while time.time() - t0 < 10:
                line = c.cmd("CAPA")
                if line.startswith("-ERR Disconnected"):
                    c.line()
                self.multiline(c)
                time.sleep(0.5)
        self.assertLess(time.time() - t0, 5)


class Pop3ClientsTest(Pop3Base):
    def fetchmail(self, *extra, tls=False):
        work = tempfile.mkdtemp(dir=self.pz.dir)
        out = os.path.join(work, "out")
        os.mkdir(out)
        rc = os.path.join(work, "rc")
        with open(rc, "w") as f:
            if tls:
                f.write("poll localhost protocol pop3 port %d uidl\n"
                        "  user demo password demo sslcertck sslcertfile %s\n"
                        % (self.port, self.pz.cert))
            else:
                f.write("poll 127.0.0.1 protocol pop3 port %d uidl\n"
                        "  user demo password demo sslproto ''\n" % self.port)
        os.chmod(rc, 0o600)
        r = subprocess.run(["fetchmail", "-f", rc, "--idfile", os.path.join(self.pz.dir, "ids"),
                            "--pidfile", os.path.join(work, "pid"), "--nosyslog", "-N",
                            "-d0", "--mda", "/bin/sh -c 'cat > %s/msg.$$'" % out] + list(extra),
                           capture_output=True, text=True, timeout=60)
        msgs = sorted(open(p, "rb").read() for p in glob.glob(out + "/msg.*"))
        return r.returncode, msgs, r.stdout + r.stderr

    def test_fetchmail_keep_uidl_only_new_then_delete(self):
        rc, msgs, log = self.fetchmail("-k")
        self.assertEqual(rc, 0, log)
        self.assertEqual(len(msgs), 3, log)
        self.assertTrue(any(b"Subject: bare LF" in m for m in msgs))
        rc, msgs, log = self.fetchmail("-k")  # --uidl: nothing new
        self.assertEqual(rc, 1, log)  # 1: no mail
        self.assertEqual(msgs, [])
        self.maildir.deliver("demo", b"Subject: fourth\n\nnew one\n")
        rc, msgs, log = self.fetchmail("-k")
        self.assertEqual(rc, 0, log)
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Subject: fourth", msgs[0])
        rc, msgs, log = self.fetchmail("-a", tls=True)  # all, over STLS, and delete
        self.assertEqual(rc, 0, log)
        self.assertEqual(len(msgs), 4, log)
        p = self.pop()
        self.assertEqual(p.stat(), (0, 0))
        p.quit()

    def test_getmail6(self):
        work = tempfile.mkdtemp(dir=self.pz.dir)
        md = os.path.join(work, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        chown_run_user(work)
        with open(os.path.join(work, "getmailrc"), "w") as f:
            f.write("[retriever]\ntype = SimplePOP3SSLRetriever\nserver = localhost\n"
                    "port = %d\nca_certs = %s\nusername = demo\npassword = demo\n\n"
                    "[destination]\ntype = Maildir\npath = %s/\n%s\n"
                    "[options]\nread_all = true\ndelete = false\n"
                    % (self.tls_port, self.pz.cert, md,
                       "user = nobody" if os.geteuid() == 0 else ""))
        r = subprocess.run(["getmail", "--getmaildir", work, "--rcfile", "getmailrc"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = [open(p, "rb").read() for p in glob.glob(md + "/new/*")]
        self.assertEqual(len(got), 3, r.stdout + r.stderr)
        self.assertTrue(any(b"Subject: third" in m for m in got))


class Pop3PlaintextPolicyTest(Pop3Base):
    extra_globals = "auth_allow_plaintext = no\n"

    def test_user_refused_before_tls(self):
        c = self.raw()
        self.assertEqual(c.cmd("USER demo"), "-ERR [AUTH] Plaintext authentication "
                         "disallowed on non-secure (SSL/TLS) connections.")
        c.cmd("CAPA")
        caps = self.multiline(c)
        self.assertNotIn("USER", caps)
        self.assertNotIn("SASL PLAIN LOGIN", caps)
        self.assertIn("STLS", caps)
        c.close()
        p = poplib.POP3("127.0.0.1", self.port, timeout=10)
        p.stls(self.pz.tls_context())
        self.assertIn("USER", p.capa())
        p.user("demo")
        p.pass_("demo")
        p.quit()


class Pop3ExpireTest(Pop3Base):
    extra_pop3 = " expire = 0\n"

    def test_retrieved_mail_expires_at_next_login(self):
        p = self.pop()
        self.assertEqual(p.capa()["EXPIRE"], ["0"])
        p.retr(1)
        p.quit()  # \Seen is set
        p = self.pop()
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        self.assertTrue(self.pz.wait_log("expired 1 messages"))


class Pop3LoginDelayTest(Pop3Base):
    extra_pop3 = " login_delay = 1h\n"

    def test_second_login_too_soon(self):
        p = self.pop()
        self.assertEqual(p.capa()["LOGIN-DELAY"], ["3600"])
        p.quit()
        q = poplib.POP3("127.0.0.1", self.port, timeout=10)
        q.user("demo")
        with self.assertRaises(poplib.error_proto) as cm:
            q.pass_("demo")
        self.assertIn(b"[LOGIN-DELAY]", cm.exception.args[0])
        q.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
