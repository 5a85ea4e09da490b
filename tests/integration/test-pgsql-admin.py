"""`poczta-admin import` and `export` between maildir and PostgreSQL, with a
real PostgreSQL and real poczta processes: mail made through IMAP on
maildir storage, imported into PostgreSQL, exported to a new maildir; an
IMAP client (imaplib) sees the same mailboxes, UIDVALIDITY, UIDNEXT, UIDs,
flags, keywords, internal dates and bytes with each storage.  Also: import
refuses a user who has mail unless --force, export refuses a folder that is
not empty and a user without mail, and the maildir files round-trip."""
import imaplib
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import Poczta, chown_run_user, free_port  # noqa: E402
import pzpostgres  # noqa: E402
from pzpostgres import PgStore  # noqa: E402

SPECIAL_USE = {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}
KEYWORDS = ["k%02d" % i for i in range(1, 29)]   # more than the 26 maildir letters

# (mailbox, flags, date or None, body); UIDs follow from the order
MESSAGES = [
    ("INBOX", "", None, "plain one"),
    ("INBOX", "(\\Seen)", None, "expunged later"),
    ("INBOX", "(\\Seen \\Flagged $Forwarded)", "01-Feb-2021 10:11:12 +0100", "seen flagged"),
    ("INBOX", "(\\Answered \\Draft Custom1)", None, "answered draft \u00fc utf-8"),
    ("INBOX", "(\\Deleted)", None, "deleted, not expunged"),
    ("Sent", "(\\Seen)", "02-Mar-2022 03:04:05 -0500", "sent mail"),
    ("Work", "(%s)" % " ".join(KEYWORDS), None, "many keywords"),
    ("Work/Projekt &APw-", "(\\Flagged)", None, "in a folder with a non-ASCII name"),
    ("Work/Projekt &APw-", "", None, "second one"),
]


def message(subject, body):
    return ("From: a@example.org\r\nTo: demo@example.org\r\nSubject: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\nline two\r\n\r\n.\r\n"
            % (subject, body)).encode("utf-8")


def imap_names(c):
    """(name, attributes) of every mailbox LIST shows."""
    typ, data = c.list('""', "*")
    assert typ == "OK", data
    out = []
    for line in data:
        m = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', line)
        name = m.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1]
        out.append((name, set(m.group(1).decode().split())))
    return out


def snapshot(port):
    """What an IMAP client sees: per mailbox its special-use, UIDVALIDITY,
    UIDNEXT and (UID, flags, internal date, bytes) of every message; and the
    subscriptions."""
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login("demo", "demo")
    boxes = {}
    for name, attrs in imap_names(c):
        if "\\Noselect" in attrs or "\\NonExistent" in attrs:
            continue
        q = '"%s"' % name
        typ, data = c.status(q, "(UIDVALIDITY UIDNEXT MESSAGES)")
        assert typ == "OK", data
        st = dict(re.findall(rb"(UIDVALIDITY|UIDNEXT|MESSAGES) (\d+)", data[0]))
        typ, _ = c.select(q, readonly=True)
        assert typ == "OK"
        msgs = {}
        if int(st[b"MESSAGES"]) > 0:
            typ, data = c.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
            assert typ == "OK", data
            for item in data:
                if not isinstance(item, tuple):
                    continue
                head = item[0]
                uid = int(re.search(rb"UID (\d+)", head).group(1))
                flags = set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
                flags.discard("\\Recent")
                idate = time.mktime(imaplib.Internaldate2tuple(head))
                msgs[uid] = (frozenset(f.lower() for f in flags), idate, item[1])
        c.close()
        boxes[name] = (attrs & SPECIAL_USE, int(st[b"UIDVALIDITY"]), int(st[b"UIDNEXT"]),
                       msgs)
    typ, data = c.lsub('""', "*")
    subs = sorted(re.match(rb'\([^)]*\) (?:"[^"]*"|NIL) "?([^"]*)"?$', d).group(1).decode()
                  for d in data if d)
    c.logout()
    return boxes, subs


class ImportExportTest(pzpostgres.ClusterTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pza.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.store = PgStore(self.cluster, os.path.join(self.dir, "pg"))
        for sub in ("src", "exp"):
            os.makedirs(os.path.join(self.dir, sub))
        chown_run_user(self.dir)
        self.instances = []

    def tearDown(self):
        for pz in self.instances:
            pz.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def poczta(self, storage, root):
        """A running poczta with IMAP over `storage`; both modules loaded,
        so its config also serves poczta-admin."""
        port = free_port()
        pz = Poczta(users={"demo": "demo"})
        modules = ("storage = %s\nmodule maildir {\n location = maildir:%s/%%u\n}\n"
                   "module postgres {\n conninfo = %s\n}\nmodule imap {\n}\n"
                   % (storage, root, self.cluster.conninfo()))
        listeners = "listener imap {\n protocol = imap\n address = 127.0.0.1:%d\n}\n" % port
        pz.write_config(modules, listeners)
        pz.start([port])
        self.instances.append(pz)
        return pz, port

    def fill(self, port):
        c = imaplib.IMAP4("127.0.0.1", port)
        c.login("demo", "demo")
        for name in ("Sent", "Work", "Work/Projekt &APw-"):
            self.assertEqual(c.create('"%s"' % name)[0], "OK")
        # a special-use the name does not imply (RFC 6154 CREATE-SPECIAL-USE)
        typ, data = c._simple_command("CREATE", '"Spam" (USE (\\Junk))')
        self.assertEqual(typ, "OK", data)
        for name in ("INBOX", "Work", "Work/Projekt &APw-", "Gone"):
            self.assertEqual(c.subscribe('"%s"' % name)[0], "OK")
        for i, (box, flags, date, body) in enumerate(MESSAGES):
            typ, data = c.append('"%s"' % box, flags or None, '"%s"' % date if date else None,
                                 message("m%d" % i, body))
            self.assertEqual(typ, "OK", data)
        c.select("INBOX")
        c.uid("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")
        c.uid("EXPUNGE", "2")
        c.logout()

    def admin(self, conf, *args):
        return pzpostgres.admin(*args[:1], "-c", conf, *args[1:])

    def maildir_files(self, root):
        """Per folder, the sorted contents of the message files."""
        out = {}
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if folder not in (".",) and not folder.startswith("."):
                continue
            files = []
            for sub in ("cur", "new"):
                d = os.path.join(path, sub)
                for name in os.listdir(d) if os.path.isdir(d) else []:
                    with open(os.path.join(d, name), "rb") as f:
                        files.append(f.read())
            out[folder] = sorted(files)
        files = []
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(root, sub)):
                with open(os.path.join(root, sub, name), "rb") as f:
                    files.append(f.read())
        out["INBOX"] = sorted(files)
        return out

    def test_round_trip(self):
        src = os.path.join(self.dir, "src")
        pz, port = self.poczta("maildir", src)
        self.fill(port)
        before, subs = snapshot(port)
        self.assertEqual(sorted(before), ["INBOX", "Sent", "Spam", "Work",
                                          "Work/Projekt &APw-"])
        self.assertEqual(sorted(before["INBOX"][3]), [1, 3, 4, 5])
        self.assertEqual(before["Sent"][0], {"\\Sent"})
        self.assertEqual(before["Spam"][0], {"\\Junk"})
        self.assertEqual(subs, ["Gone", "INBOX", "Work", "Work/Projekt &APw-"])
        pz.stop()

        # maildir -> postgres, with the location from the config
        r = self.admin(pz.conf, "import", "demo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("INBOX: 4 messages", r.stdout)
        r = self.admin(pz.conf, "import", "demo", src + "/demo")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("demo already has 8 messages in PostgreSQL (account 'demo'): "
                      "not imported; --force replaces", r.stderr)
        r = self.admin(pz.conf, "import", "--force", "demo", src + "/demo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        used = self.cluster.psql(
            "SELECT a.bytes_used = sum(m.size), a.messages_used = count(*), count(*) "
            "FROM pz_account a JOIN pz_mailbox b ON b.account_id = a.id "
            "JOIN pz_message m ON m.mailbox_id = b.id WHERE a.name = 'demo' "
            "GROUP BY a.id")
        self.assertEqual(used, [["t", "t", "8"]])

        pg, pg_port = self.poczta("postgres", src)
        self.assertEqual(snapshot(pg_port), (before, subs))
        # new mail continues after the imported UIDNEXT
        c = imaplib.IMAP4("127.0.0.1", pg_port)
        c.login("demo", "demo")
        typ, data = c.append("INBOX", "(\\Seen)", None, message("new", "after the import"))
        self.assertEqual(typ, "OK")
        self.assertIn(b"[APPENDUID %d %d]" % (before["INBOX"][1], before["INBOX"][2]),
                      data[0])
        c.logout()
        in_pg, subs = snapshot(pg_port)
        pg.stop()

        # postgres -> a new maildir
        exp = os.path.join(self.dir, "exp")
        r = self.admin(pz.conf, "export", "demo", exp + "/demo")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(os.path.join(exp, "demo", "dovecot-uidlist")))
        with open(os.path.join(exp, "demo", ".Work", "dovecot-keywords")) as f:
            self.assertEqual(len(f.read().splitlines()), 26)
        r = self.admin(pz.conf, "export", "demo", exp + "/demo")
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists and is not empty", r.stderr)
        r = self.admin(pz.conf, "export", "nobody-here", exp + "/x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nobody-here has no mail in PostgreSQL", r.stderr)

        md, md_port = self.poczta("maildir", exp)
        self.assertEqual(snapshot(md_port), (in_pg, subs))
        md.stop()
        # the files: the same bytes, plus the message appended in postgres
        old, new = self.maildir_files(src + "/demo"), self.maildir_files(exp + "/demo")
        self.assertEqual(sorted(old), sorted(new))
        added = in_pg["INBOX"][3][before["INBOX"][2]][2].replace(b"\r\n", b"\n")
        self.assertEqual(new.pop("INBOX"), sorted(old.pop("INBOX") + [added]))
        self.assertEqual(old, new)


if __name__ == "__main__":
    unittest.main(verbosity=2)
