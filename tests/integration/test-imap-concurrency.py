"""IMAP sessions sharing a mailbox, against a running poczta with maildir
storage: untagged EXISTS, EXPUNGE, FETCH and RECENT at the moments RFC 9051
allows, IDLE pushing changes within a second, \\Recent given to exactly one
session, limits (timeouts, a slow reader, shutdown)."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import (POCZTA, ImapClient, Maildir, Poczta, serving_pid, free_port,  # noqa: E402
                       imap_config)


def message(n, size=0):
    return (b"From: sender%d@example.org\r\nTo: demo@example.org\r\nSubject: message %d\r\n"
            b"\r\nbody %d\r\n" % (n, n, n)) + b"z" * size


class Base(unittest.TestCase):
    imap_extra = ""
    initial = 3

    def setUp(self):
        self.port = free_port()
        self.pz = Poczta(users={"demo": "demo"})
        self.maildir = Maildir(os.path.join(self.pz.dir, "mail"))
        for i in range(1, self.initial + 1):
            self.maildir.deliver("demo", message(i))
        modules, listeners = imap_config(self.maildir, self.port, imap=self.imap_extra)
        self.pz.write_config(modules, listeners)
        self.pz.start([self.port])
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        self.pz.cleanup()

    def login(self, select="INBOX"):
        c = ImapClient.connect(self.port)
        self.clients.append(c)
        c.ok("LOGIN demo demo")
        if select:
            c.ok("SELECT %s" % select)
        return c

    def wait_response(self, c, pattern, timeout=1.0):
        """The next untagged response matching pattern, within timeout
        seconds (what IDLE must push)."""
        deadline = time.time() + timeout
        seen = []
        while True:
            c.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                r = c.response()
            except (socket.timeout, TimeoutError):
                self.fail("no %r within %.1fs; got %r" % (pattern, timeout, seen))
            finally:
                c.sock.settimeout(10)
            seen.append(r)
            if re.search(pattern, r):
                return r


class SharedMailboxTest(Base):
    def test_flag_changes_and_new_mail_reach_other_sessions(self):
        a, b = self.login(), self.login()
        a.ok("STORE 1 +FLAGS.SILENT (\\Flagged $Important)")
        untagged = b.ok("NOOP")
        self.assertIn("* 1 FETCH (UID 1 FLAGS (\\Flagged $Important))", untagged)
        self.maildir.deliver("demo", message(4))
        untagged = b.ok("NOOP")
        self.assertIn("* 4 EXISTS", untagged)
        self.assertIn("* 4 EXISTS", a.ok("CHECK"))

    def test_expunge_is_held_back_during_fetch_store_search(self):
        a, b = self.login(), self.login()
        a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(a.ok("EXPUNGE"), ["* 2 EXPUNGE"])
        # b still numbers the expunged message: no EXPUNGE while these run
        untagged = b.ok("FETCH 1:3 UID")
        self.assertEqual([x for x in untagged if "EXPUNGE" in x], [])
        self.assertIn("* 3 FETCH (UID 3)", untagged)
        untagged, tagged = b.run("FETCH 2 BODY.PEEK[]")
        self.assertEqual(tagged, "NO [EXPUNGEISSUED] Some of the requested messages no "
                         "longer exist.")
        self.assertEqual(b.ok("SEARCH ALL"), ["* SEARCH 1 3"])
        self.assertEqual(b.ok("STORE 3 +FLAGS (\\Seen)"), ["* 3 FETCH (FLAGS (\\Seen))"])
        # and is told at the next command that may carry it
        self.assertEqual(b.ok("NOOP"), ["* 2 EXPUNGE"])
        self.assertEqual(b.ok("FETCH 1:* UID"), ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"])

    def test_uid_commands_may_carry_expunge(self):
        a, b = self.login(), self.login()
        a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.ok("EXPUNGE")
        self.assertEqual(b.ok("UID FETCH 2 UID"), ["* 2 FETCH (UID 2)", "* 1 EXPUNGE"])

    def test_recent_goes_to_exactly_one_session(self):
        a, b = self.login(), self.login()
        self.maildir.deliver("demo", message(4))
        ua, ub = a.ok("NOOP"), b.ok("NOOP")
        self.assertIn("* 4 EXISTS", ua)
        self.assertIn("* 4 EXISTS", ub)
        self.assertEqual(a.ok("FETCH 4 FLAGS"), ["* 4 FETCH (FLAGS (\\Recent))"])
        self.assertEqual(b.ok("FETCH 4 FLAGS"), ["* 4 FETCH (FLAGS ())"])
        # a took the first three at SELECT and now the new one; b has none
        self.assertIn("* 4 RECENT", ua)
        self.assertEqual([u for u in ub if u.endswith("RECENT")], [])

    def test_selected_mailbox_deleted_elsewhere(self):
        a, b = self.login(select=None), self.login(select=None)
        a.ok("CREATE Work")
        a.ok("SELECT Work")
        b.ok("DELETE Work")
        a.send("n NOOP")
        self.assertEqual(a.response(), "* BYE [UNAVAILABLE] The selected mailbox was deleted "
                         "or is unavailable; please reconnect.")
        with self.assertRaises((EOFError, ConnectionResetError)):
            a.response()

    def test_many_sessions(self):
        clients = [self.login() for _ in range(8)]
        errors = []

        def work(i, c):
            try:
                c.ok("STORE %d +FLAGS.SILENT ($K%d)" % (i % 3 + 1, i))
                c.sock.sendall(b"ap APPEND INBOX {%d+}\r\n%s\r\n" %
                               (len(message(100 + i)), message(100 + i)))
                if not c.collect("ap")[1].startswith("OK [APPENDUID"):
                    errors.append("append %d" % i)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        for c in clients:
            c.ok("NOOP")
            lines = c.ok("FETCH 1:* (UID FLAGS)")
            self.assertEqual(len(lines), 11)
            uids = [int(re.search(r"UID (\d+)", x).group(1)) for x in lines]
            self.assertEqual(uids, sorted(uids))
            self.assertEqual(len(re.findall(r"\$K\d", " ".join(lines))), 8)


class IdleTest(Base):
    def test_idle_pushes_changes(self):
        a, b = self.login(), self.login()
        b.send("i1 IDLE")
        self.assertEqual(b.response(), "+ idling")
        self.maildir.deliver("demo", message(4))
        self.wait_response(b, r"^\* 4 EXISTS$")
        a.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
        self.wait_response(b, r"^\* 2 FETCH \(UID 2 FLAGS \(\\Answered")
        a.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
        a.ok("EXPUNGE")
        self.wait_response(b, r"^\* 3 EXPUNGE$")
        b.send("DONE")
        self.assertEqual(b.collect("i1")[1], "OK Idle completed.")
        self.assertEqual(b.ok("FETCH 1:* UID")[-1], "* 3 FETCH (UID 4)")

    def test_idle_without_mailbox_and_bad_done(self):
        c = self.login(select=None)
        c.send("i2 IDLE")
        self.assertEqual(c.response(), "+ idling")
        c.send("NOPE")
        self.assertEqual(c.response(), "i2 BAD Expected DONE.")
        c.ok("NOOP")

    def test_shutdown_says_bye(self):
        c = self.login()
        c.send("i3 IDLE")
        self.assertEqual(c.response(), "+ idling")
        self.pz.signal(signal.SIGTERM)
        self.assertEqual(c.response(), "* BYE [UNAVAILABLE] Server shutting down.")


class LimitsTest(Base):
    imap_extra = " login_timeout = 1s\n"
    initial = 1

    def test_autologout_before_login(self):
        c = ImapClient.connect(self.port)
        self.clients.append(c)
        t = time.time()
        self.assertEqual(c.response(), "* BYE Disconnected for inactivity.")
        self.assertLess(time.time() - t, 5)
        d = self.login()
        time.sleep(1.5)  # logged in: the idle timeout (30 minutes) applies
        d.ok("NOOP")

    def test_slow_reader_does_not_grow_the_process(self):
        if b"libasan" in subprocess.run(["ldd", POCZTA], capture_output=True).stdout:
            # AddressSanitizer keeps freed memory resident (its quarantine):
            # for this measure of live memory, the server runs without it
            self.pz.stop()
            os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                          ":quarantine_size_mb=0")
            try:
                self.pz.start([self.port])
            finally:
                os.environ["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"].replace(
                    ":quarantine_size_mb=0", "")
        self.maildir.deliver("demo", message(2, 24 * 1024 * 1024))
        c = self.login()
        child = [serving_pid(self.pz.proc.pid, c.sock)]

        def rss():
            with open("/proc/%d/status" % child[0]) as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        before = rss()
        c.send("f FETCH 2 BODY.PEEK[]")
        time.sleep(1.0)  # the server is blocked writing; it must not buffer it all
        self.assertLess(rss() - before, 4096, "the process grew while the client read nothing")
        untagged, tagged = c.collect("f")
        self.assertEqual(tagged, "OK Fetch completed.")
        self.assertEqual(len(untagged[0]), len("* 2 FETCH (BODY[] {%d}\r\n" %
                                               len(message(2, 24 * 1024 * 1024)))
                         + len(message(2, 24 * 1024 * 1024)) + 1)


if __name__ == "__main__":
    unittest.main()
