"""Real IMAP clients against a running poczta with maildir storage:
Python's imaplib (whole flows, STARTTLS and IMAPS), curl (imap:// and
imaps://, APPEND, sections), mbsync and offlineimap3 syncing both ways,
and mutt reading over IMAPS through a pty and saving its Fcc by APPEND."""
import email
import glob
import imaplib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import ImapClient, Maildir, Poczta, free_port, imap_config  # noqa: E402

MSG1 = (b"From: Alice <alice@example.org>\r\nTo: demo@example.org\r\nSubject: first\r\n"
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <1@example.org>\r\n\r\n"
        b"Hello demo.\r\n")
MSG2 = (b"From: bob@example.org\r\nTo: demo@example.org\r\nSubject: with attachment\r\n"
        b"Message-ID: <2@example.org>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
        b"Content-Type: text/plain\r\n\r\nSee the attachment.\r\n--b1\r\n"
        b"Content-Type: application/pdf; name=doc.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfs\r\n--b1--\r\n")
MSG3 = (b"From: carol@example.org\r\nTo: demo@example.org\r\nSubject: third\r\n"
        b"Message-ID: <3@example.org>\r\n\r\nshort\r\n")
NEW = (b"From: demo@example.org\r\nTo: someone@example.org\r\nSubject: written locally\r\n"
       b"Message-ID: <local@example.org>\r\n\r\nfrom the client\r\n")


def run(args, **kw):
    env = dict(os.environ, HOME=kw.pop("home", os.environ.get("HOME", "/tmp")))
    r = subprocess.run(args, capture_output=True, timeout=kw.pop("timeout", 60), env=env, **kw)
    if r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s\n%s" % (args[0], r.returncode,
                                                         r.stdout.decode(errors="replace"),
                                                         r.stderr.decode(errors="replace")))
    return r.stdout


class Base(unittest.TestCase):
    def setUp(self):
        self.port, self.tls_port = free_port(), free_port()
        self.pz = Poczta(users={"demo": "demo"})
        self.maildir = Maildir(os.path.join(self.pz.dir, "mail"))
        modules, listeners = imap_config(self.maildir, self.port, self.tls_port)
        self.pz.write_config(modules, listeners)
        self.pz.start([self.port, self.tls_port])
        # the first login creates the mailboxes, Trash and the rest included
        m = self.imap()
        for raw in (MSG1, MSG2, MSG3):
            self.assertEqual(m.append("INBOX", None, None, raw)[0], "OK")
        m.logout()
        self.work = tempfile.mkdtemp(prefix="imapc.", dir="/tmp")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)
        self.pz.cleanup()

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        m.login("demo", "demo")
        return m

    def server_messages(self, box="INBOX"):
        m = self.imap()
        typ, _ = m.select(box, readonly=True)
        self.assertEqual(typ, "OK")
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])")
        out = []
        for item in data:
            if isinstance(item, tuple):
                out.append((item[0].decode(), item[1]))
        m.logout()
        return out


class ImaplibTest(Base):
    def test_whole_flow(self):
        m = self.imap()
        typ, data = m.list()
        self.assertEqual(typ, "OK")
        self.assertIn(b'(\\HasNoChildren \\Trash) "/" "Trash"', data)
        typ, data = m.select("INBOX")
        self.assertEqual(data, [b"3"])
        typ, data = m.search(None, "UNSEEN")
        self.assertEqual(data, [b"1 2 3"])
        typ, data = m.fetch("2", "(BODYSTRUCTURE)")
        self.assertIn(b'"APPLICATION" "PDF"', data[0].upper())
        typ, data = m.fetch("2", "(BODY.PEEK[1])")
        self.assertEqual(data[0][1], b"See the attachment.")
        typ, data = m.fetch("2", "(BINARY.PEEK[2])")
        self.assertEqual(data[0][1], b"%PDF-1.4\n%\xc7\xec")
        typ, data = m.fetch("1", "(RFC822)")
        self.assertEqual(data[0][1], MSG1)
        typ, data = m.store("1", "+FLAGS", "(\\Answered $Forwarded)")
        self.assertIn(b"\\Answered", data[0])
        typ, data = m.uid("SEARCH", None, "SEEN")
        self.assertEqual(data, [b"1"])
        typ, data = m.append("INBOX", "(\\Draft)", imaplib.Time2Internaldate(0), NEW)
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"^\[APPENDUID \d+ 4\]")
        typ, data = m.copy("1:2", "Archive")
        self.assertRegex(data[0], rb"^\[COPYUID \d+ 1:2 1:2\]")
        typ, data = m.uid("MOVE", "3", "Trash")
        self.assertEqual(typ, "OK")
        m.store("1", "+FLAGS", "\\Deleted")
        typ, data = m.expunge()
        self.assertEqual(data, [b"3", b"1"])  # the MOVE's EXPUNGE, then this one
        typ, data = m.status("Archive", "(MESSAGES UNSEEN)")
        self.assertEqual(data, [b'"Archive" (MESSAGES 2 UNSEEN 1)'])
        m.close()
        m.logout()
        self.assertEqual(len(self.server_messages("Trash")), 1)

    def test_tls(self):
        m = imaplib.IMAP4("localhost", self.port, timeout=10)
        m.starttls(self.pz.tls_context())
        m.login("demo", "demo")
        self.assertEqual(m.select()[1], [b"3"])
        m.logout()
        s = imaplib.IMAP4_SSL("localhost", self.tls_port, ssl_context=self.pz.tls_context(),
                              timeout=10)
        s.login("demo", "demo")
        self.assertEqual(s.select("INBOX", readonly=True)[0], "OK")
        self.assertEqual(s.fetch("3", "(BODY.PEEK[TEXT])")[1][0][1], b"short\r\n")
        s.logout()


class ClientPatternsTest(Base):
    """The command sequences Thunderbird, K-9, Apple Mail and Outlook send
    (from their protocol logs), replayed: each step must succeed."""

    def conversation(self, commands):
        c = ImapClient.connect(self.port)
        self.addCleanup(c.close)
        replies = []
        for command in commands:
            untagged, tagged = c.run(command)
            self.assertTrue(tagged.startswith("OK"), "%s -> %s" % (command, tagged))
            replies.append(untagged)
        return c, replies

    def test_thunderbird(self):
        hdrs = ("From To Cc Bcc Subject Date Message-ID Priority X-Priority References "
                "Newsgroups In-Reply-To Content-Type Reply-To")
        c, r = self.conversation([
            "capability", 'ID ("name" "Thunderbird" "version" "115.0")',
            "authenticate PLAIN AGRlbW8AZGVtbw==", "namespace",
            'list (subscribed) "" "*" return (special-use)', 'lsub "" "*"',
            'select "INBOX" (CONDSTORE)', "UID fetch 1:* (FLAGS)",
            "UID fetch 1:3 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (%s)])" % hdrs,
            "UID fetch 2 (UID RFC822.SIZE BODY.PEEK[])", "UID store 1 +Flags (\\Seen)",
            'UID move 3 "Trash"', "noop"])
        self.assertIn('* LIST (\\HasNoChildren \\Subscribed \\Trash) "/" "Trash"', r[4])
        self.assertEqual(len(r[8]), 3)
        self.assertIn("BODY[HEADER.FIELDS (FROM TO CC BCC SUBJECT DATE MESSAGE-ID",
                      r[8][0])
        c.send("i IDLE")
        self.assertEqual(c.response(), "+ idling")
        c.send("DONE")
        self.assertEqual(c.collect("i")[1], "OK Idle completed.")

    def test_k9(self):
        hdrs = ("date subject from content-type to cc reply-to message-id references "
                "in-reply-to X-K9mail-Identity Chat-Version")
        c, r = self.conversation([
            "CAPABILITY", "LOGIN \"demo\" \"demo\"", "CAPABILITY", 'LIST "" ""',
            'LIST "" "*"', 'SELECT "INBOX"', "UID SEARCH 1:* NOT DELETED",
            "UID FETCH 1:3 (UID INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (%s)])"
            % hdrs, "UID FETCH 2 (UID BODYSTRUCTURE)",
            "UID FETCH 2 (UID BODY.PEEK[1]<0.32768>)", "UID STORE 2 +FLAGS.SILENT (\\Seen)",
            'UID COPY 1 "Trash"', "UID STORE 1 +FLAGS.SILENT (\\Deleted)", "UID EXPUNGE 1"])
        self.assertEqual(r[6], ["* SEARCH 1 2 3"])
        self.assertIn("BODY[1]<0> {19}\r\nSee the attachment.", r[9][0])

    def test_apple_mail_and_outlook(self):
        self.conversation([
            "CAPABILITY", "ID NIL", "LOGIN demo demo", "ENABLE CONDSTORE",
            'LIST "" "*" RETURN (CHILDREN SPECIAL-USE)', "SELECT INBOX (CONDSTORE)",
            "UID FETCH 1:* (FLAGS UID) (CHANGEDSINCE 1)", "UID SEARCH UNDELETED",
            "UID FETCH 1 (BODYSTRUCTURE BODY.PEEK[HEADER])", "UID FETCH 2 BODY.PEEK[2]<0.1024>",
            'STATUS "Sent" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ)', "CHECK",
            "UNSELECT", "LOGOUT"])
        c = ImapClient.connect(self.port)
        self.addCleanup(c.close)
        c.ok("LOGIN demo demo")
        # Outlook probes XLIST and falls back to LIST when it is refused
        self.assertEqual(c.run('XLIST "" "*"')[1], "BAD Unknown command.")
        self.assertEqual(len(c.ok('LIST "" "*"')), 6)


class CurlTest(Base):
    def curl(self, *args):
        return run(["curl", "-sS", "--cacert", self.pz.cert, "-u", "demo:demo"] + list(args))

    def test_curl(self):
        plain = "imap://127.0.0.1:%d" % self.port
        tls = "imaps://localhost:%d" % self.tls_port
        out = self.curl(plain + "/")
        self.assertIn(b'"/" INBOX', out.replace(b'"INBOX"', b"INBOX"))
        self.assertEqual(self.curl(plain + "/INBOX;UID=1"), MSG1)
        self.assertEqual(self.curl(tls + "/INBOX;UID=2;SECTION=1"), b"See the attachment.")
        self.assertEqual(self.curl(tls + "/INBOX;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)"),
                         b"Subject: first\r\n\r\n")
        self.assertIn(b"SEARCH 3", self.curl(tls + "/INBOX?SUBJECT%20third"))
        upload = os.path.join(self.work, "upload.eml")
        with open(upload, "wb") as f:
            f.write(NEW)
        self.curl("-T", upload, tls + "/Sent")
        self.curl("--ssl-reqd", "-T", upload, plain + "/Sent")
        sent = self.server_messages("Sent")
        self.assertEqual([body for _, body in sent], [NEW, NEW])


class SyncClientsTest(Base):
    def test_mbsync_both_ways(self):
        local = os.path.join(self.work, "mbsync")
        os.makedirs(local)
        rc = os.path.join(self.work, "mbsyncrc")
        with open(rc, "w") as f:
            f.write("IMAPAccount test\nHost localhost\nPort %d\nUser demo\nPass demo\n"
                    "SSLType IMAPS\nCertificateFile %s\n\n"
                    "IMAPStore remote\nAccount test\n\n"
                    "MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
                    "Channel test\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\n"
                    "Sync All\nExpunge Both\nSyncState *\n"
                    % (self.tls_port, self.pz.cert, local, local))
        run(["mbsync", "-c", rc, "-a"], home=self.work)
        pulled = glob.glob(os.path.join(local, "INBOX", "cur", "*")) + \
            glob.glob(os.path.join(local, "INBOX", "new", "*"))
        self.assertEqual(len(pulled), 3)
        self.assertTrue(os.path.isdir(os.path.join(local, "Trash")))
        # a local message and a flag go up; a server-side change comes down
        with open(os.path.join(local, "INBOX", "cur", "1.local.test:2,S"), "wb") as f:
            f.write(NEW)
        first = [p for p in pulled if b"<1@example.org>" in open(p, "rb").read()]
        self.assertEqual(len(first), 1, [open(p, "rb").read() for p in pulled])
        first = first[0]
        os.rename(first, first.split(":2,")[0] + ":2,F")
        m = self.imap()
        m.select("INBOX")
        m.store("3", "+FLAGS", "\\Seen")
        m.logout()
        run(["mbsync", "-c", rc, "-a"], home=self.work)
        server = self.server_messages()
        # mbsync marks what it uploads with an X-TUID header
        uploaded = [b for _, b in server if b"<local@example.org>" in b]
        self.assertEqual(len(uploaded), 1)
        self.assertIn(b"\r\n\r\nfrom the client\r\n", uploaded[0])
        flags = dict((b, f) for f, b in server)
        self.assertIn("\\Flagged", flags[MSG1])
        local_flags = [(os.path.basename(p) + ":2,").split(":2,")[1] for p in
                       glob.glob(os.path.join(local, "INBOX", "*", "*"))]
        self.assertEqual(sorted(local_flags), ["", "F", "S", "S"])

    def test_offlineimap_both_ways(self):
        rc = os.path.join(self.work, "oirc")
        local = os.path.join(self.work, "oi")
        with open(rc, "w") as f:
            f.write("[general]\naccounts = t\nmetadata = %s/meta\n\n"
                    "[Account t]\nlocalrepository = l\nremoterepository = r\n\n"
                    "[Repository l]\ntype = Maildir\nlocalfolders = %s\n\n"
                    "[Repository r]\ntype = IMAP\nremotehost = localhost\nremoteport = %d\n"
                    "remoteuser = demo\nremotepass = demo\nssl = yes\nsslcacertfile = %s\n"
                    % (self.work, local, self.tls_port, self.pz.cert))
        run(["offlineimap", "-c", rc, "-o", "-u", "basic"], home=self.work, timeout=120)
        pulled = glob.glob(os.path.join(local, "INBOX", "*", "*"))
        self.assertEqual(len(pulled), 3)
        with open(os.path.join(local, "INBOX", "new", "42.local.test"), "wb") as f:
            f.write(NEW)
        run(["offlineimap", "-c", rc, "-o", "-u", "basic"], home=self.work, timeout=120)
        subjects = [email.message_from_bytes(b)["Subject"] for _, b in self.server_messages()]
        self.assertIn("written locally", subjects)
        self.assertEqual(len(subjects), 4)


class MuttTest(Base):
    def muttrc(self, tls):
        rc = os.path.join(self.work, "muttrc")
        url = ("imaps://localhost:%d/" % self.tls_port if tls else
               "imap://localhost:%d/" % self.port)
        with open(rc, "w") as f:
            f.write('set imap_user = demo\nset imap_pass = demo\nset folder = "%s"\n'
                    'set spoolfile = +INBOX\nset certificate_file = %s\n'
                    'set ssl_starttls = yes\nset ssl_force_tls = yes\n'
                    'set header_cache = ""\nset message_cachedir = ""\n'
                    'set sendmail = "/bin/true"\nset from = demo@example.org\n'
                    'set record = "%sSent"\nset copy = yes\nset confirmcreate = no\n'
                    'set confirmappend = no\nset quit = yes\nset move = no\n'
                    'set delete = no\nset wait_key = no\n' % (url, self.pz.cert, url))
        # mutt asks before trusting a new certificate unless it knows it
        shutil.copy(self.pz.cert, os.path.join(self.work, "cert.pem"))
        return rc, url

    def test_mutt_reads_over_imaps_and_appends_fcc(self):
        rc, url = self.muttrc(tls=True)
        out = os.path.join(self.work, "out.mbox")
        cmd = ("mutt -n -F %s -f %sINBOX -e 'push \"<tag-pattern>~A<enter>"
               "<tag-prefix><copy-message>%s<enter><quit>\"'" % (rc, url, out))
        subprocess.run(["script", "-qec", cmd, "/dev/null"], env=dict(os.environ, TERM="xterm",
                       HOME=self.work), capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        with open(out, "rb") as f:
            mbox = f.read()
        self.assertEqual(mbox.count(b"\nMessage-ID: <"), 3, mbox[:2000])
        self.assertIn(b"See the attachment.", mbox)
        run(["mutt", "-n", "-F", rc, "-s", "from mutt", "someone@example.org"],
            home=self.work, input=b"written in mutt\n")
        sent = self.server_messages("Sent")
        self.assertEqual(len(sent), 1)
        self.assertIn(b"Subject: from mutt", sent[0][1])
        self.assertIn("\\Seen", sent[0][0])


if __name__ == "__main__":
    unittest.main()
