"""LMTP delivery against a running poczta with maildir storage: smtplib,
a hand-rolled multi-recipient client, swaks over TCP and the unix socket,
CHUNKING, limits, every filter verdict, kill -9 during DATA, and
poczta-deliver.  Delivered mail is read back over POP3."""
import glob
import os
import poplib
import signal
import smtplib
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import (BUILD, LineClient, Maildir, Poczta, serving_pid,  # noqa: E402
                       free_port)

DELIVER = os.path.join(BUILD, "core", "poczta-deliver")
MSG = (b"From: sender@example.net\r\nTo: demo@example.org\r\nSubject: hello\r\n"
       b"Message-ID: <lmtp-1@example.net>\r\n\r\nHello over LMTP.\r\n.leading dot\r\n")


class LmtpBase(unittest.TestCase):
    lmtp_conf = ""
    globals_conf = ""
    filter_conf = ""
    users = {"demo": "demo", "other": "pw", "small": ("pw", "quota=1k")}

    def setUp(self):
        self.port, self.pop_port = free_port(), free_port()
        self.pz = Poczta(users=self.users)
        self.sock = os.path.join(self.pz.dir, "lmtp.sock")
        self.maildir = Maildir(os.path.join(self.pz.dir, "mail"))
        self.filter_log = os.path.join(self.pz.dir, "filter.log")
        with open(self.filter_log, "w"):
            pass
        os.chmod(self.filter_log, 0o666)  # written by unprivileged sessions
        listeners = ("listener lmtp {\n protocol = lmtp\n address = 127.0.0.1:%d\n}\n"
                     "listener lmtpsock {\n protocol = lmtp\n address = unix:%s\n}\n"
                     "listener pop3 {\n protocol = pop3\n address = 127.0.0.1:%d\n}\n"
                     % (self.port, self.sock, self.pop_port))
        modules = (self.maildir.conf() + "module pop3 {\n}\n" +
                   "module lmtp {\n%s}\n" % self.lmtp_conf +
                   self.filter_conf.replace("FILTERLOG", self.filter_log))
        self.pz.write_config(modules, listeners, self.globals_conf)
        self.pz.start([self.port, self.pop_port])

    def tearDown(self):
        self.pz.cleanup(getattr(self, "allow_crash", False))

    def fetch_all(self, user="demo", password="demo"):
        p = poplib.POP3("127.0.0.1", self.pop_port, timeout=10)
        p.user(user)
        p.pass_(password)
        msgs = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(p.stat()[0])]
        p.quit()
        return msgs

    def files(self, user, folder=""):
        base = os.path.join(self.maildir.root, user, folder)
        return glob.glob(base + "/new/*") + glob.glob(base + "/cur/*")

    def lmtp(self):
        c = LineClient.tcp(self.port)
        self.assertTrue(c.line().startswith("220 "))
        return c

    def lhlo(self, c):
        c.send("LHLO mx.example.net")
        lines = []
        while True:
            line = c.line()
            lines.append(line)
            if line[3] == " ":
                return lines

    def transaction(self, rcpts, body=MSG, sender="sender@example.net", c=None):
        """MAIL, RCPT each, DATA: the RCPT replies and the per-recipient
        replies after the dot."""
        own = c is None
        if own:
            c = self.lmtp()
            self.lhlo(c)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender), "250 2.1.0 Ok")
        rcpt_replies = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
        accepted = sum(1 for r in rcpt_replies if r.startswith("250"))
        if accepted == 0:
            return rcpt_replies, []
        self.assertTrue(c.cmd("DATA").startswith("354"))
        data = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                        for line in body.split(b"\r\n")[:-1])
        c.sock.sendall(data + b".\r\n")
        replies = [c.line() for _ in range(accepted)]
        if own:
            c.cmd("QUIT")
            c.close()
        return rcpt_replies, replies


class LmtpTest(LmtpBase):
    def test_smtplib_single_recipient_then_pop3(self):
        with smtplib.LMTP("127.0.0.1", self.port) as l:
            self.assertEqual(l.sendmail("sender@example.net", ["demo@example.org"], MSG), {})
        msgs = self.fetch_all()
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertTrue(m.startswith(b"Return-Path: <sender@example.net>\r\n"
                                     b"Delivered-To: demo@example.org\r\nReceived: from "), m)
        self.assertIn(b"with LMTP id", m)
        self.assertTrue(m.endswith(MSG), m)

    def test_lhlo_capabilities(self):
        c = self.lmtp()
        caps = self.lhlo(c)
        for want in ("250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250-PIPELINING",
                     "250-CHUNKING", "250-SMTPUTF8", "250-STARTTLS", "250 SIZE 52428800"):
            self.assertIn(want, caps)
        c.close()

    def test_multiple_recipients_one_unknown_unix_socket(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.sock)
        c = LineClient(s)
        self.assertTrue(c.line().startswith("220 "))
        caps = self.lhlo(c)
        self.assertNotIn("250-STARTTLS", caps)  # no TLS on a unix socket
        rcpt, replies = self.transaction(["demo@example.org", "nobody@example.org",
                                          "other@example.org"], c=c)
        self.assertEqual(rcpt, ["250 2.1.5 Ok",
                                "550 5.1.1 <nobody@example.org> User doesn't exist",
                                "250 2.1.5 Ok"])
        self.assertEqual(len(replies), 2)
        self.assertRegex(replies[0], r"^250 2\.0\.0 <demo@example\.org> \S+ Saved$")
        self.assertRegex(replies[1], r"^250 2\.0\.0 <other@example\.org> \S+ Saved$")
        c.close()
        self.assertEqual(len(self.fetch_all()), 1)
        self.assertEqual(len(self.fetch_all("other", "pw")), 1)
        self.assertIn(b"Delivered-To: other@example.org", self.fetch_all("other", "pw")[0])

    def test_swaks_tcp_unix_and_starttls(self):
        def swaks(*args):
            return subprocess.run(["swaks", "--protocol", "LMTP", "--from", "s@example.net",
                                   "--header", "Subject: via swaks", "--body", "swaks body"]
                                  + list(args), capture_output=True, text=True, timeout=60)
        r = swaks("--server", "127.0.0.1:%d" % self.port, "--to",
                  "demo@example.org,nobody@example.org,other@example.org")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("550 5.1.1 <nobody@example.org>", r.stdout)
        r = swaks("--socket", self.sock, "--to", "demo@example.org")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = swaks("--server", "127.0.0.1:%d" % self.port, "--tls", "--to", "demo@example.org")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("TLS started", r.stdout)
        self.assertEqual(len(self.fetch_all()), 3)
        self.assertEqual(len(self.fetch_all("other", "pw")), 1)

    def test_bdat_chunking(self):
        c = self.lmtp()
        self.lhlo(c)
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<demo@example.org>")
        part1, part2 = MSG[:40], MSG[40:]
        c.sock.sendall(b"BDAT %d\r\n" % len(part1) + part1)
        self.assertEqual(c.line(), "250 2.0.0 %d octets received" % len(part1))
        c.sock.sendall(b"BDAT %d LAST\r\n" % len(part2) + part2)
        self.assertRegex(c.line(), r"^250 2\.0\.0 <demo@example\.org> \S+ Saved$")
        c.close()
        # BDAT is binary-clean: the dot line arrives as sent, unstuffed
        self.assertTrue(self.fetch_all()[0].endswith(MSG))

    def test_pipelining(self):
        c = self.lmtp()
        c.sock.sendall(b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<demo@example.org>\r\n"
                       b"RCPT TO:<other@example.org>\r\nDATA\r\n")
        while not c.line().startswith("250 SIZE"):
            pass
        self.assertEqual([c.line() for _ in range(3)],
                         ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok"])
        self.assertTrue(c.line().startswith("354"))
        c.sock.sendall(b"Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertTrue(c.line().startswith("250 2.0.0 <demo@"))
        self.assertTrue(c.line().startswith("250 2.0.0 <other@"))
        self.assertEqual(c.line(), "221 2.0.0 Bye")

    def test_bad_input(self):
        c = self.lmtp()
        rows = [
            ("MAIL FROM:<a@b>", "503 5.5.1 Send LHLO first"),
            ("EHLO x", "500 5.5.1 This is LMTP: use LHLO"),
            ("HELO x", "500 5.5.1 This is LMTP: use LHLO"),
            ("FROB", "500 5.5.2 Unknown command"),
            ("VRFY demo", "502 5.5.1 VRFY is disabled"),
            ("LHLO", "501 5.5.4 LHLO needs a domain"),
        ]
        for cmd, want in rows:
            self.assertEqual(c.cmd(cmd), want, cmd)
        self.lhlo(c)
        rows = [
            ("RCPT TO:<demo@example.org>", "503 5.5.1 MAIL needed first"),
            ("DATA", "503 5.5.1 MAIL needed first"),
            ("MAIL FROM:a@b", "501 5.5.4 Syntax: MAIL FROM:<address>"),
            ("MAIL FROM:<a@b> FOO=1", "555 5.5.4 Unsupported parameter FOO=1"),
            ("MAIL FROM:<a@b> SIZE=999999999999", "552 5.3.4 Message size exceeds the "
             "limit of 52428800 bytes"),
            ("MAIL FROM:<\u00e9@b>", "553 5.6.7 Non-ASCII address needs SMTPUTF8"),
            ("MAIL FROM:<\u00e9@b> SMTPUTF8 BODY=8BITMIME", "250 2.1.0 Ok"),
            ("MAIL FROM:<a@b>", "503 5.5.1 Nested MAIL command"),
            ("RCPT TO:demo", "501 5.5.4 Syntax: RCPT TO:<address>"),
            ("RCPT TO:<demo@example.org> NOTIFY=NEVER", "555 5.5.4 Unsupported parameter "
             "NOTIFY=NEVER"),
            ("RCPT TO:<demo@example.org> X-POCZTA-MAILBOX=Junk", "555 5.5.4 Unsupported "
             "parameter X-POCZTA-MAILBOX=Junk"),
            ("DATA", "554 5.5.1 No valid recipients"),
            ("RSET", "250 2.0.0 Ok"),
            ("NOOP", "250 2.0.0 Ok"),
            ("X" * 5000, "500 5.5.2 Line too long"),
        ]
        for cmd, want in rows:
            self.assertEqual(c.cmd(cmd), want, cmd)
        self.assertEqual(c.cmd("QUIT"), "221 2.0.0 Bye")
        self.assertEqual(self.files("demo"), [])

    def test_kill_during_data_loses_nothing_acknowledged(self):
        self.allow_crash = True
        acked = 0
        for i in range(5):
            rcpt, replies = self.transaction(["demo@example.org"],
                                             body=b"Subject: %d\r\n\r\nbody\r\n" % i)
            acked += replies[0].startswith("250")
            c = self.lmtp()
            pid = serving_pid(self.pz.proc.pid, c.sock)
            self.lhlo(c)
            c.cmd("MAIL FROM:<a@b>")
            c.cmd("RCPT TO:<demo@example.org>")
            c.cmd("DATA")
            c.sock.sendall(b"Subject: never finished\r\n\r\n" + b"x" * 100000 + b"\r\n")
            os.kill(pid, signal.SIGKILL)
            with self.assertRaises((EOFError, ConnectionResetError)):
                c.line()
            c.close()
        msgs = self.fetch_all()
        self.assertEqual(len(msgs), acked)
        self.assertEqual(acked, 5)
        self.assertFalse(any(b"never finished" in m for m in msgs))

    def test_control_bytes_in_envelope_refused(self):
        c = self.lmtp()
        self.lhlo(c)
        rows = [
            ("MAIL FROM:<a@b\rX-Injected: yes>", "501 5.5.4 Syntax: MAIL FROM:<address>"),
            ("MAIL FROM:<a b@c>", "501 5.5.4 Syntax: MAIL FROM:<address>"),
            ("MAIL FROM:<\"a b\"@c>", "250 2.1.0 Ok"),
            ("RCPT TO:<demo@example.org\rX-Injected: yes>", "501 5.5.4 Syntax: RCPT TO:<address>"),
            ("LHLO bad\rname", "501 5.5.4 Invalid LHLO domain"),
        ]
        for cmd, want in rows:
            self.assertEqual(c.cmd(cmd), want, cmd)
        c.close()

    def test_detail_that_is_no_valid_name_goes_to_inbox(self):
        rcpt, replies = self.transaction(["demo+lists.debian@example.org"])
        self.assertTrue(replies[0].startswith("250 2.0.0"), replies)
        self.assertEqual(len(self.files("demo")), 1)

    def test_poczta_deliver(self):
        def deliver(*args, stdin=b"From: lda@example.net\nSubject: via lda\n\nbody\n.dot\n"):
            return subprocess.run([DELIVER, "-c", self.pz.conf] + list(args), input=stdin,
                                  capture_output=True, timeout=30)
        r = deliver("-d", "demo", "-f", "lda@example.net")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.fetch_all()
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Return-Path: <lda@example.net>\r\n", msgs[0])
        self.assertTrue(msgs[0].endswith(b"\r\nbody\r\n.dot\r\n"), msgs[0])
        os.makedirs(os.path.join(self.maildir.root, "demo", ".Work", "cur"))
        for sub in ("new", "tmp"):
            os.makedirs(os.path.join(self.maildir.root, "demo", ".Work", sub))
        from pzfixture import chown_run_user
        chown_run_user(self.maildir.root)
        r = deliver("-d", "demo", "-m", "Work")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.files("demo", ".Work")), 1)
        r = deliver("-d", "demo", "-m", "No Such Folder")
        self.assertEqual(r.returncode, 0, r.stderr)  # into INBOX
        self.assertEqual(len(self.fetch_all()), 2)
        r = deliver("-d", "nobody")
        self.assertEqual(r.returncode, 67, r.stderr)  # EX_NOUSER
        self.assertIn(b"5.1.1", r.stderr)
        self.assertEqual(deliver().returncode, 64)  # EX_USAGE
        r = subprocess.run([DELIVER, "-c", "/nonexistent.conf", "-d", "demo"], input=b"x\n",
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 78)  # EX_CONFIG: the MTA retries

    def test_quota(self):
        big = b"Subject: big\r\n\r\n" + b"y" * 4000 + b"\r\n"
        rcpt, replies = self.transaction(["small@example.org", "demo@example.org"], body=big)
        self.assertEqual(replies[0], "552 5.2.2 <small@example.org> Mailbox is full")
        self.assertTrue(replies[1].startswith("250 2.0.0 <demo@example.org>"))

    def test_storage_failure_is_temporary(self):
        self.transaction(["demo@example.org"])  # creates the maildir
        home = os.path.join(self.maildir.root, "demo")
        os.chmod(home, 0)
        try:
            # sessions never run as root, so the folder is closed to them
            rcpt, replies = self.transaction(["demo@example.org"])
            self.assertEqual(replies, ["451 4.3.0 <demo@example.org> Temporary failure "
                                       "storing the message"])
        finally:
            os.chmod(home, 0o700)
        self.assertEqual(len(self.fetch_all()), 1)


class LmtpLimitsTest(LmtpBase):
    lmtp_conf = " max_message_size = 2k\n max_recipients = 2\n detail_mailbox = yes\n"

    def test_size_and_recipient_limits(self):
        rcpt, replies = self.transaction(["demo@example.org"],
                                         body=b"Subject: x\r\n\r\n" + b"z" * 3000 + b"\r\n")
        self.assertEqual(replies, ["552 5.3.4 <demo@example.org> Message too big"])
        c = self.lmtp()
        self.lhlo(c)
        c.cmd("MAIL FROM:<a@b>")
        self.assertEqual(c.cmd("RCPT TO:<demo@example.org>"), "250 2.1.5 Ok")
        self.assertEqual(c.cmd("RCPT TO:<other@example.org>"), "250 2.1.5 Ok")
        self.assertEqual(c.cmd("RCPT TO:<demo@example.org>"), "452 4.5.3 Too many recipients")
        c.close()
        self.assertEqual(self.files("demo"), [])

    def test_detail_delivers_into_existing_folder(self):
        base = os.path.join(self.maildir.root, "demo", ".Lists")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(base, sub))
        from pzfixture import chown_run_user
        chown_run_user(self.maildir.root)
        rcpt, replies = self.transaction(["demo+Lists@example.org"])
        self.assertTrue(replies[0].startswith("250"), replies)
        rcpt, replies = self.transaction(["demo+Nothing@example.org"])
        self.assertTrue(replies[0].startswith("250"), replies)
        self.assertEqual(len(self.files("demo", ".Lists")), 1)
        self.assertEqual(len(self.files("demo")), 1)


class LmtpSessionTest(LmtpBase):
    """One LMTP session keeps the mailboxes it delivered to open (up to 16)
    for its next deliveries."""
    lmtp_conf = " detail_mailbox = yes\n"
    users = dict([("demo", "demo")] + [("u%d" % i, "pw") for i in range(19)])

    def test_one_session_many_users_and_a_folder_that_goes_away(self):
        # more users than a session keeps mailboxes open for (16)
        c = self.lmtp()
        self.lhlo(c)
        users = ["demo"] + ["u%d" % i for i in range(19)]
        for rnd in range(2):
            for u in users:
                rcpt, replies = self.transaction(["%s@example.org" % u], c=c)
                self.assertTrue(replies[0].startswith("250"), (u, replies))
        for u in users:
            self.assertEqual(self.maildir.message_count(u), 2, u)
        # a folder the session keeps open is deleted behind its back: the
        # next delivery for it goes to INBOX, with no temporary failure
        self.maildir.create_mailbox("demo", "Lists")
        rcpt, replies = self.transaction(["demo+Lists@example.org"], c=c)
        self.assertTrue(replies[0].startswith("250"), replies)
        self.assertEqual(self.maildir.message_count("demo", "Lists"), 1)
        self.maildir.delete_mailbox("demo", "Lists")
        rcpt, replies = self.transaction(["demo+Lists@example.org"], c=c)
        self.assertTrue(replies[0].startswith("250"), replies)
        self.assertEqual(self.maildir.message_count("demo"), 3)
        c.cmd("QUIT")
        c.close()


class LmtpFilterTest(LmtpBase):
    filter_conf = "module testfilter {\n log = FILTERLOG\n}\n"
    globals_conf = "filter_timeout = 1s\n"

    def msg(self, verdict):
        return (b"Subject: filter\r\nX-Test-Verdict: %s\r\n\r\nbody\r\n" % verdict)

    def test_verdicts(self):
        rows = [
            (b"accept", "250 2.0.0 <demo@example.org> ", "INBOX"),
            (b"reject", "550 5.7.1 <demo@example.org> Rejected: test filter says no", None),
            (b"tempfail", "451 4.7.1 <demo@example.org> Try again later: test filter says "
             "later", None),
            (b"quarantine Quarantine", "250 2.0.0 <demo@example.org> ", ".Quarantine"),
            (b"discard", "250 2.0.0 <demo@example.org> ", None),
            (b"fail", "451 4.7.1 <demo@example.org> Try again later: Message filter "
             "temporarily unavailable", None),
        ]
        for verdict, want, folder in rows:
            before_inbox = len(self.files("demo"))
            before_q = len(self.files("demo", ".Quarantine"))
            rcpt, replies = self.transaction(["demo@example.org"], body=self.msg(verdict))
            self.assertTrue(replies[0].startswith(want), (verdict, replies))
            self.assertEqual(len(self.files("demo")), before_inbox + (folder == "INBOX"),
                             verdict)
            self.assertEqual(len(self.files("demo", ".Quarantine")),
                             before_q + (folder == ".Quarantine"), verdict)
        inbox = self.fetch_all()
        self.assertEqual(len(inbox), 1)
        self.assertIn(b"X-Test-Filter: checked\r\n", inbox[0])
        with open(self.filter_log) as f:
            log = f.read()
        self.assertIn("saved INBOX 1\n", log)
        self.assertIn("saved Quarantine 1\n", log)
        p = poplib.POP3("127.0.0.1", self.pop_port, timeout=10)
        p.user("demo")
        p.pass_("demo")
        p.dele(1)
        p.quit()
        with open(self.filter_log) as f:
            self.assertIn("expunged INBOX 1\n", f.read())  # POP3's expunge notifies filters
        self.assertIn("filter failed: test filter failed on purpose", self.pz.read_log())

    def test_filter_timeout_ends_the_session_unacknowledged(self):
        # a hook past filter_timeout cannot be abandoned safely: the process
        # ends, nothing is acknowledged, and the MTA retries
        with self.assertRaises((EOFError, ConnectionResetError)):
            self.transaction(["demo@example.org"], body=self.msg(b"slow"))
        self.assertTrue(self.pz.wait_log("filter hook 'deliver' exceeded filter_timeout"))
        self.assertEqual(self.files("demo"), [])
        rcpt, replies = self.transaction(["demo@example.org"], body=self.msg(b"accept"))
        self.assertTrue(replies[0].startswith("250 2.0.0"), replies)


class LmtpFailOpenTest(LmtpBase):
    filter_conf = "module testfilter {\n fail_open = yes\n}\n"

    def test_failing_filter_fails_open(self):
        rcpt, replies = self.transaction(
            ["demo@example.org"], body=b"Subject: x\r\nX-Test-Verdict: fail\r\n\r\nb\r\n")
        self.assertTrue(replies[0].startswith("250 2.0.0"), replies)
        self.assertEqual(len(self.files("demo")), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
