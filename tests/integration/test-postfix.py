"""test-postfix.py - a real Postfix relays mail into poczta over LMTP.

A private Postfix instance (RECIPES section 4: own config folder, queue and
log file, smtpd on a free port of 127.0.0.1) relays everything for
example.org to poczta's LMTP listener.  Mail goes in through Postfix's
smtpd (smtplib) and through Postfix's sendmail -C DIR -t; the test waits
for Postfix's log to report each recipient and then checks:
  - status=sent with poczta's "250 2.0.0 <demo@example.org> ... Saved",
  - one message with two recipients arrives once for each of them,
  - an unknown recipient bounces with poczta's 550 5.1.1, and the bounce
    Postfix sends back (null sender, MAIL FROM:<>) is itself delivered,
  - POP3 gives back every message with its Subject and the Return-Path,
    Delivered-To and Received headers poczta adds, on top of Postfix's.

Needs root (Postfix's master drops to the postfix user; non-root
sendmail -C is refused) and Postfix installed:
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
Under CI a missing Postfix (or not being root) fails, elsewhere the test is
skipped (exit 77).
"""
import email
import email.policy
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import Maildir, Poczta, free_port  # noqa: E402

SKIP = 77
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def need(cond, why):
    if cond:
        return
    if os.environ.get("CI"):
        print("FAIL: " + why)
        sys.exit(1)
    print("SKIP: " + why)
    sys.exit(SKIP)


need(os.geteuid() == 0, "needs root (Postfix's master and sendmail -C DIR)")
POSTFIX = shutil.which("postfix", path=SBIN_PATH)
need(POSTFIX is not None, "postfix is not installed (apt-get install postfix)")
SENDMAIL = shutil.which("sendmail", path=SBIN_PATH)
need(SENDMAIL is not None, "Postfix's sendmail is not installed")

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/spool
data_directory  = {d}/data
maillog_file    = {d}/maillog
maillog_file_prefixes = {d}
mail_owner      = postfix
setgid_group    = postdrop
myhostname      = mx.test.local
mydomain        = test.local
myorigin        = test.local
inet_interfaces = 127.0.0.1
inet_protocols  = ipv4
mynetworks      = 127.0.0.0/8
mydestination   =
local_transport = error:no local delivery
alias_maps      =
alias_database  =
relay_domains   = example.org
relay_transport = lmtp:inet:127.0.0.1:{lmtp}
default_transport = error:no outside delivery in tests
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
lmtp_host_lookup = native
smtp_host_lookup = native
biff = no
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
"""

MASTER_CF = """\
127.0.0.1:{smtpd} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def pid_alive(pid):
    """True while PID runs (a zombie nobody reaps counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.05)


class Postfix:
    """A private Postfix instance in its own folder (RECIPES section 4)."""

    def __init__(self, lmtp_port, smtpd_port):
        self.dir = tempfile.mkdtemp(prefix="pzpf.", dir="/tmp")
        os.chmod(self.dir, 0o755)  # the master opens data/master.lock as postfix
        self.etc = os.path.join(self.dir, "etc")
        self.maillog = os.path.join(self.dir, "maillog")
        self.pidfile = os.path.join(self.dir, "spool", "pid", "master.pid")
        self.smtpd_port = smtpd_port
        for sub in ("etc", "spool", "data"):
            os.makedirs(os.path.join(self.dir, sub))
        shutil.chown(os.path.join(self.dir, "data"), "postfix", "postfix")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=self.dir, lmtp=lmtp_port))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtpd=smtpd_port))

    def run(self, *args, **kw):
        return subprocess.run([POSTFIX, "-c", self.etc] + list(args), capture_output=True,
                              text=True, timeout=60, **kw)

    def start(self):
        r = self.run("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start failed (%d): %s%s\n%s"
                               % (r.returncode, r.stdout, r.stderr, self.read_log()))
        try:
            wait_port(self.smtpd_port)
        except OSError:
            raise RuntimeError("Postfix's smtpd never listened:\n" + self.read_log())

    def master_pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        """Stop the master and wait for it to exit (postfix stop leaves the
        pid file behind, so wait on the pid); abort, then kill, if it hangs.
        The folder is removed either way."""
        try:
            pid = self.master_pid()
            if pid is None or not pid_alive(pid):
                return
            self.run("stop")
            for action in ("abort", "kill"):
                end = time.time() + 10
                while pid_alive(pid) and time.time() < end:
                    time.sleep(0.05)
                if not pid_alive(pid):
                    return
                if action == "abort":
                    self.run("abort")
                else:
                    os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def read_log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def deliveries(self):
        """[(recipient, status, text in parentheses)] from the maillog."""
        return re.findall(r" to=<([^>]*)>.*?, status=(\w+) \((.*)\)$", self.read_log(),
                          re.M)

    def sendmail(self, raw):
        return subprocess.run([SENDMAIL, "-C", self.etc, "-t"], input=raw,
                              capture_output=True, timeout=30)


SINGLE = (b"From: sender@example.net\r\nTo: demo@example.org\r\n"
          b"Subject: postfix single\r\nMessage-ID: <pf-single@example.net>\r\n\r\n"
          b"One recipient, through Postfix.\r\n.leading dot\r\n")
DOUBLE = (b"From: sender@example.net\r\nTo: demo@example.org, other@example.org\r\n"
          b"Subject: postfix two recipients\r\nMessage-ID: <pf-double@example.net>\r\n\r\n"
          b"Two RCPTs, one message.\r\n")
UNKNOWN = (b"From: other@example.org\r\nTo: nobody@example.org\r\n"
           b"Subject: postfix unknown\r\nMessage-ID: <pf-unknown@example.org>\r\n\r\n"
           b"Nobody reads this.\r\n")
VIA_SENDMAIL = (b"From: root@test.local\nTo: demo@example.org\n"
                b"Subject: postfix sendmail\nMessage-ID: <pf-sendmail@test.local>\n\n"
                b"Submitted with sendmail -C DIR -t.\n")


class PostfixRelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ports = set()
        while len(ports) < 3:
            ports.add(free_port())
        cls.lmtp_port, cls.pop_port, smtpd_port = ports
        cls.pz = Poczta(users={"demo": "demo", "other": "pw"})
        cls.addClassCleanup(cls.pz.cleanup)
        maildir = Maildir(os.path.join(cls.pz.dir, "mail"))
        listeners = ("listener lmtp {\n protocol = lmtp\n address = 127.0.0.1:%d\n}\n"
                     "listener pop3 {\n protocol = pop3\n address = 127.0.0.1:%d\n}\n"
                     % (cls.lmtp_port, cls.pop_port))
        modules = maildir.conf() + "module pop3 {\n}\nmodule lmtp {\n}\n"
        cls.pz.write_config(modules, listeners, "hostname = pz.test.local\n")
        cls.pz.start([cls.lmtp_port, cls.pop_port])

        cls.pf = Postfix(cls.lmtp_port, smtpd_port)
        cls.addClassCleanup(cls.pf.stop)  # runs before poczta's cleanup
        cls.pf.start()

        # (a) through Postfix's smtpd
        with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=15) as s:
            s.ehlo("client.example.net")
            cls.refused = [
                s.sendmail("sender@example.net", ["demo@example.org"], SINGLE),
                s.sendmail("sender@example.net", ["demo@example.org", "other@example.org"],
                           DOUBLE),
                s.sendmail("other@example.org", ["nobody@example.org"], UNKNOWN),
            ]
        # (c) through Postfix's sendmail, as root
        cls.sendmail_result = cls.pf.sendmail(VIA_SENDMAIL)

        # (b) wait for every recipient to be settled: demo 3 times, other
        # twice (the two-recipient message and the bounce for nobody), and
        # nobody bounced
        want = {("demo@example.org", "sent"): 3, ("other@example.org", "sent"): 2,
                ("nobody@example.org", "bounced"): 1}
        end = time.time() + 30
        while True:
            got = cls.pf.deliveries()
            counts = {k: sum(1 for to, st, _ in got if (to, st) == k) for k in want}
            if counts == want or time.time() > end:
                break
            time.sleep(0.1)
        cls.delivered = got

    def fetch_all(self, user, password):
        p = poplib.POP3("127.0.0.1", self.pop_port, timeout=10)
        p.user(user)
        p.pass_(password)
        raws = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(p.stat()[0])]
        p.quit()
        return raws

    def messages(self, user, password):
        """{Subject: (raw, parsed)} from USER's mailbox over POP3."""
        out = {}
        for raw in self.fetch_all(user, password):
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            self.assertNotIn(msg["Subject"], out, "delivered twice")
            out[msg["Subject"]] = (raw, msg)
        return out

    def assert_trace(self, raw, msg, rcpt, sender, postfix_received):
        """poczta's trace headers on top, then Postfix's Received."""
        self.assertTrue(raw.startswith(b"Return-Path: <%s>\r\nDelivered-To: %s\r\n"
                                       b"Received: from mx.test.local (" %
                                       (sender.encode(), rcpt.encode())), raw[:300])
        self.assertEqual(msg.get_all("Delivered-To"), [rcpt])
        received = [" ".join(r.split()) for r in msg.get_all("Received")]
        self.assertEqual(len(received), 2, received)
        self.assertRegex(received[0], r"^from mx\.test\.local \(\S+\) by pz\.test\.local "
                         r"\(Poczta\) with LMTP id \S+ for <%s>; " % re.escape(rcpt))
        self.assertRegex(received[1], postfix_received)

    def log_lines(self, rcpt, status):
        return [text for to, st, text in self.delivered if to == rcpt and st == status]

    def test_a_submission_accepted(self):
        self.assertEqual(self.refused, [{}, {}, {}])
        r = self.sendmail_result
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_b_maillog_sent_and_bounced(self):
        log = self.pf.read_log()
        self.assertNotIn("status=deferred", log)
        for rcpt, n in (("demo@example.org", 3), ("other@example.org", 2)):
            sent = self.log_lines(rcpt, "sent")
            self.assertEqual(len(sent), n, log)
            for text in sent:
                self.assertRegex(text, r"^250 2\.0\.0 <%s> \S+ Saved$" % re.escape(rcpt))
        self.assertIn("status=sent (250 2.0.0 <demo@example.org> ", log)
        self.assertIn("relay=127.0.0.1[127.0.0.1]:%d" % self.lmtp_port, log)
        bounced = self.log_lines("nobody@example.org", "bounced")
        self.assertEqual(bounced, ["host 127.0.0.1[127.0.0.1] said: 550 5.1.1 "
                                   "<nobody@example.org> User doesn't exist "
                                   "(in reply to RCPT TO command)"], log)

    def test_c_pop3_demo(self):
        msgs = self.messages("demo", "demo")
        self.assertEqual(sorted(msgs), ["postfix sendmail", "postfix single",
                                        "postfix two recipients"])
        via_smtpd = (r"^from client\.example\.net \(localhost \[127\.0\.0\.1\]\) by "
                     r"mx\.test\.local \(Postfix\) with E?SMTP id \S+ for <%s>; ")
        raw, msg = msgs["postfix single"]
        self.assert_trace(raw, msg, "demo@example.org", "sender@example.net",
                          via_smtpd % "demo@example\\.org")
        self.assertEqual(msg["Message-ID"], "<pf-single@example.net>")
        self.assertTrue(raw.endswith(b"\r\n\r\nOne recipient, through Postfix.\r\n"
                                     b".leading dot\r\n"), raw)
        raw, msg = msgs["postfix two recipients"]
        # with two envelope recipients Postfix's Received names neither
        self.assert_trace(raw, msg, "demo@example.org", "sender@example.net",
                          r"^from client\.example\.net \(localhost \[127\.0\.0\.1\]\) by "
                          r"mx\.test\.local \(Postfix\) with E?SMTP id \S+; ")
        raw, msg = msgs["postfix sendmail"]
        self.assert_trace(raw, msg, "demo@example.org", "root@test.local",
                          r"^by mx\.test\.local \(Postfix, from userid 0\) id \S+; ")
        self.assertEqual(msg["Message-ID"], "<pf-sendmail@test.local>")
        self.assertTrue(raw.endswith(b"\r\n\r\nSubmitted with sendmail -C DIR -t.\r\n"), raw)

    def test_d_pop3_other_gets_its_copy_and_the_bounce(self):
        msgs = self.messages("other", "pw")
        self.assertEqual(sorted(msgs), ["Undelivered Mail Returned to Sender",
                                        "postfix two recipients"])
        raw, msg = msgs["postfix two recipients"]
        self.assert_trace(raw, msg, "other@example.org", "sender@example.net",
                          r"^from client\.example\.net .* by mx\.test\.local \(Postfix\) ")
        self.assertEqual(msg["Message-ID"], "<pf-double@example.net>")
        self.assertTrue(raw.endswith(b"\r\n\r\nTwo RCPTs, one message.\r\n"), raw)
        # the bounce comes from the null sender: MAIL FROM:<> over LMTP
        raw, msg = msgs["Undelivered Mail Returned to Sender"]
        self.assert_trace(raw, msg, "other@example.org", "",
                          r"^by mx\.test\.local \(Postfix\) id \S+; ")
        self.assertIn(b"550 5.1.1 <nobody@example.org> User doesn't exist", raw)
        self.assertIn(b"Message-ID: <pf-unknown@example.org>", raw)

    def test_e_nothing_left_in_queue(self):
        r = subprocess.run([shutil.which("postqueue", path=SBIN_PATH), "-c", self.pf.etc,
                            "-p"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Mail queue is empty", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
