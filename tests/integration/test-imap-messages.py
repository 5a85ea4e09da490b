"""IMAP message commands against a running poczta with maildir storage:
FETCH (items, sections, partial, MIME parts, BINARY), STORE, SEARCH and
ESEARCH, APPEND and MULTIAPPEND, COPY, MOVE, EXPUNGE, CONDSTORE and
IMAP4rev2 behaviour, each as a scripted conversation."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import ImapClient, Maildir, Poczta, free_port, imap_config  # noqa: E402

MSG1 = (b"From: Alice <alice@example.org>\r\nTo: demo@example.org\r\n"
        b"Subject: first message\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
        b"Message-ID: <1@example.org>\r\nX-Extra: one\r\n  folded\r\n\r\n"
        b"Hello demo.\r\nSecond line.\r\n")
MSG2 = (b"From: bob@example.org\r\nTo: demo@example.org\r\nSubject: second\r\n"
        b"Date: Tue, 8 Feb 1994 10:00:00 +0000\r\n\r\n" + b"x" * 2000 + b"\r\n")
MIME_HEAD = (b"From: Carol <carol@example.org>\r\nTo: demo@example.org\r\n"
             b"Subject: =?UTF-8?Q?Za=C5=BC=C3=B3=C5=82=C4=87?= report\r\n"
             b"Date: Wed, 9 Feb 1994 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n")
PART1_HEAD = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
PART1_BODY = b"Hello =C5=BC world"
PART2_HEAD = (b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
              b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n")
PART2_BODY = b"AAECAwQFBgcICQ=="
INNER_HEAD = b"From: inner@example.org\r\nSubject: inner\r\n\r\n"
INNER_BODY = b"inner body"
MSG3 = (MIME_HEAD + b"preamble\r\n--XX\r\n" + PART1_HEAD + PART1_BODY + b"\r\n--XX\r\n" +
        PART2_HEAD + PART2_BODY + b"\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\n" +
        INNER_HEAD + INNER_BODY + b"\r\n--XX--\r\n")


def literal(data):
    return "{%d}\r\n%s" % (len(data), data.decode("utf-8", "replace"))


class Base(unittest.TestCase):
    imap_extra = ""

    def setUp(self):
        self.port = free_port()
        self.pz = Poczta(users={"demo": "demo", "other": "pw"})
        self.maildir = Maildir(os.path.join(self.pz.dir, "mail"))
        for raw in (MSG1, MSG2, MSG3):
            self.maildir.deliver("demo", raw)
        modules, listeners = imap_config(self.maildir, self.port, imap=self.imap_extra)
        self.pz.write_config(modules, listeners)
        self.pz.start([self.port])
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.pz.cleanup()

    def login(self, select="INBOX", user="demo", password="demo"):
        c = ImapClient.connect(self.port)
        self.clients.append(c)
        c.ok("LOGIN %s %s" % (user, password))
        if select:
            c.ok("SELECT %s" % select)
        return c

    def reply(self, c, command, want):
        untagged, tagged = c.run(command)
        self.assertTrue(tagged.startswith(want), "%s -> %r, want %r" % (command, tagged, want))
        return untagged


class FetchTest(Base):
    def test_simple_items(self):
        c = self.login()
        lines = c.ok("FETCH 1:2 (FLAGS UID RFC822.SIZE)")
        self.assertEqual(lines, ["* 1 FETCH (FLAGS (\\Recent) UID 1 RFC822.SIZE %d)" % len(MSG1),
                                 "* 2 FETCH (FLAGS (\\Recent) UID 2 RFC822.SIZE %d)" % len(MSG2)])
        lines = c.ok("FETCH 1 INTERNALDATE")
        self.assertRegex(lines[0], r'^\* 1 FETCH \(INTERNALDATE "[ \d]\d-[A-Z][a-z]{2}-\d{4} '
                         r'\d\d:\d\d:\d\d [+-]\d{4}"\)$')
        lines = c.ok("FETCH 1 ENVELOPE")
        self.assertEqual(lines[0], '* 1 FETCH (ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" '
                         '"first message" (("Alice" NIL "alice" "example.org")) '
                         '(("Alice" NIL "alice" "example.org")) '
                         '(("Alice" NIL "alice" "example.org")) '
                         '((NIL NIL "demo" "example.org")) NIL NIL NIL "<1@example.org>"))')
        lines = c.ok("FETCH 2 FAST")
        self.assertRegex(lines[0], r'^\* 2 FETCH \(FLAGS \(\\Recent\) INTERNALDATE "[^"]+" '
                         r'RFC822.SIZE %d\)$' % len(MSG2))
        self.assertIn("ENVELOPE", c.ok("FETCH 2 ALL")[0])
        self.assertIn(" BODY (", c.ok("FETCH 2 FULL")[0])
        self.assertEqual(c.ok("UID FETCH 2 FLAGS"), ["* 2 FETCH (UID 2 FLAGS (\\Recent))"])
        self.assertEqual(c.ok("UID FETCH 7:* UID"), ["* 3 FETCH (UID 3)"])
        self.assertEqual(c.ok("UID FETCH 10 UID"), [])

    def test_sections(self):
        c = self.login()
        head, text = MSG1.split(b"\r\n\r\n", 1)
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[]"),
                         ["* 1 FETCH (BODY[] %s)" % literal(MSG1)])
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[HEADER]"),
                         ["* 1 FETCH (BODY[HEADER] %s)" % literal(head + b"\r\n\r\n")])
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[TEXT]"),
                         ["* 1 FETCH (BODY[TEXT] %s)" % literal(text)])
        fields = (b"From: Alice <alice@example.org>\r\nSubject: first message\r\n"
                  b"X-Extra: one\r\n  folded\r\n\r\n")
        self.assertEqual(c.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject x-extra FROM)])"),
                         ["* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT X-EXTRA FROM)] %s)" %
                          literal(fields)])
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (X-Extra Date From "
                              "Message-ID To)]"),
                         ["* 1 FETCH (BODY[HEADER.FIELDS.NOT (X-EXTRA DATE FROM MESSAGE-ID TO)] "
                          "%s)" % literal(b"Subject: first message\r\n\r\n")])
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[]<6.5>"),
                         ["* 1 FETCH (BODY[]<6> %s)" % literal(MSG1[6:11])])
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[TEXT]<1000.5>"),
                         ["* 1 FETCH (BODY[TEXT]<1000> {0}\r\n)"])
        self.assertEqual(c.ok("FETCH 1 RFC822.HEADER"),
                         ["* 1 FETCH (RFC822.HEADER %s)" % literal(head + b"\r\n\r\n")])
        self.assertEqual(c.ok("FETCH 1 FLAGS"), ["* 1 FETCH (FLAGS (\\Recent))"])
        # reading without PEEK sets \Seen and reports it
        self.assertEqual(c.ok("FETCH 1 RFC822.TEXT"),
                         ["* 1 FETCH (RFC822.TEXT %s FLAGS (\\Seen \\Recent))" % literal(text)])
        self.assertEqual(c.ok("FETCH 2 (FLAGS BODY[TEXT]<0.3>)"),
                         ["* 2 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT]<0> {3}\r\nxxx)"])
        self.assertEqual(c.ok("FETCH 1 RFC822"),
                         ["* 1 FETCH (RFC822 %s)" % literal(MSG1)])

    def test_mime_parts(self):
        c = self.login()
        bs = c.ok("FETCH 3 BODYSTRUCTURE")[0]
        self.assertIn('("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" %d 0'
                      % len(PART1_BODY), bs.upper())
        self.assertIn('"APPLICATION" "OCTET-STREAM"', bs.upper())
        self.assertIn('"MESSAGE" "RFC822"', bs.upper())
        self.assertIn('"MIXED" ("BOUNDARY" "XX")', bs.upper())
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[1]"),
                         ["* 3 FETCH (BODY[1] %s)" % literal(PART1_BODY)])
        self.assertEqual(c.ok("FETCH 3 BINARY.PEEK[1]"),
                         ["* 3 FETCH (BINARY[1] %s)" % literal("Hello \u017c world".encode())])
        self.assertEqual(c.ok("FETCH 3 (BINARY.SIZE[2] BINARY.PEEK[2])"),
                         ["* 3 FETCH (BINARY.SIZE[2] 10 BINARY[2] ~{10}\r\n%s)" %
                          bytes(range(10)).decode()])
        self.assertEqual(c.ok("FETCH 3 BINARY.PEEK[2]<2.3>"),
                         ["* 3 FETCH (BINARY[2]<2> ~{3}\r\n\x02\x03\x04)"])
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[2.MIME]"),
                         ["* 3 FETCH (BODY[2.MIME] %s)" % literal(PART2_HEAD)])
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[3.HEADER]"),
                         ["* 3 FETCH (BODY[3.HEADER] %s)" % literal(INNER_HEAD)])
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[3.TEXT]"),
                         ["* 3 FETCH (BODY[3.TEXT] %s)" % literal(INNER_BODY)])
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[3]"),
                         ["* 3 FETCH (BODY[3] %s)" % literal(INNER_HEAD + INNER_BODY)])
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[3.HEADER.FIELDS (SUBJECT)]"),
                         ["* 3 FETCH (BODY[3.HEADER.FIELDS (SUBJECT)] %s)" %
                          literal(b"Subject: inner\r\n\r\n")])
        self.assertEqual(c.ok("FETCH 3 BODY.PEEK[9]"), ["* 3 FETCH (BODY[9] NIL)"])
        # the structure is cached by the storage: the same answer again
        self.assertEqual(c.ok("FETCH 3 BODYSTRUCTURE")[0], bs)
        self.assertEqual(c.ok("FETCH 3 FLAGS"), ["* 3 FETCH (FLAGS (\\Recent))"])

    def test_errors(self):
        c = self.login()
        rows = [
            ("FETCH 4 UID", "BAD Invalid message sequence number."),
            ("FETCH 0 UID", "BAD Invalid message sequence set."),
            ("FETCH 1 (BOGUS)", "BAD Invalid FETCH item."),
            ("FETCH 1 BODY[HEADER.FIELDS]", "BAD Invalid header field list in FETCH item."),
            ("FETCH 1 BODY[MIME]", "BAD Invalid section in FETCH item."),
            ("FETCH 1 BINARY[TEXT]", "BAD Invalid section in FETCH item."),
            ("FETCH 1 BODY[]<1>", "BAD Invalid partial range in FETCH item."),
            ("FETCH 1 (FLAGS ALL)", "BAD Invalid FETCH item."),
            ("FETCH 1", "BAD FETCH needs a message set and items."),
            ("FETCH 1 UID (CHANGEDSINCE x)", "BAD Invalid FETCH modifiers."),
        ]
        for command, want in rows:
            self.reply(c, command, want)


class StoreTest(Base):
    def test_store(self):
        c = self.login()
        self.assertEqual(c.ok("STORE 1 +FLAGS (\\Flagged $Forwarded)"), [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded "
            "\\*)] Flags permitted.",
            "* 1 FETCH (FLAGS (\\Flagged \\Recent $Forwarded))"])
        self.assertEqual(c.ok("STORE 1:2 +FLAGS \\Seen"), [
            "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent $Forwarded))",
            "* 2 FETCH (FLAGS (\\Seen \\Recent))"])
        self.assertEqual(c.ok("STORE 1 -FLAGS ($Forwarded)"),
                         ["* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))"])
        self.assertEqual(c.ok("STORE 2 FLAGS.SILENT (\\Answered $Junk)")[-1:], [
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded "
            "$Junk \\*)] Flags permitted."])
        self.assertEqual(c.ok("UID STORE 2 +FLAGS ($NotJunk)"),
                         ["* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded "
                          "$Junk $NotJunk)",
                          "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
                          "$Forwarded $Junk $NotJunk \\*)] Flags permitted.",
                          "* 2 FETCH (UID 2 FLAGS (\\Answered \\Recent $Junk $NotJunk))"])
        rows = [
            ("STORE 1 +FLAGS (\\Recent)", "BAD \\Recent can't be set or cleared."),
            ("STORE 1 +FLAGS (\\Bogus)", "BAD Invalid system flag."),
            ("STORE 1 +FLAGS (a]b)", "BAD Invalid keyword."),
            ("STORE 1 XFLAGS (\\Seen)", "BAD STORE needs"),
            ("STORE 9 +FLAGS (\\Seen)", "BAD Invalid message sequence number."),
        ]
        for command, want in rows:
            self.reply(c, command, want)
        # flags are stored on the server: a new session sees them
        d = self.login()
        self.assertEqual(d.ok("FETCH 1:2 FLAGS"), ["* 1 FETCH (FLAGS (\\Flagged \\Seen))",
                                                   "* 2 FETCH (FLAGS (\\Answered $Junk $NotJunk))"])


class SearchTest(Base):
    def test_search_criteria(self):
        c = self.login()
        c.ok("STORE 1 +FLAGS.SILENT (\\Seen \\Flagged $Work)")
        c.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
        rows = [
            ("ALL", "1 2 3"), ("SEEN", "1"), ("UNSEEN", "2 3"), ("FLAGGED", "1"),
            ("UNFLAGGED DELETED", "3"), ("KEYWORD $Work", "1"), ("UNKEYWORD $Work", "2 3"),
            ("LARGER 1000", "2"), ("SMALLER 1000", "1 3"), ("UID 2:*", "2 3"), ("2:3", "2 3"),
            ("NOT 2", "1 3"), ("OR 1 3", "1 3"), ("(1 SEEN) ANSWERED", ""),
            ("FROM alice", "1"), ("FROM ALICE@EXAMPLE", "1"), ("TO demo", "1 2 3"),
            ("SUBJECT \"first\"", "1"), ("SUBJECT za\u017c\u00f3\u0142\u0107", "3"),
            ("HEADER Message-ID <1@example.org>", "1"), ("HEADER X-Extra \"\"", "1"),
            ("BODY \"second line\"", "1"), ("TEXT carol", "3"), ("BODY carol", ""),
            ("SENTBEFORE 8-Feb-1994", "1"), ("SENTON 8-Feb-1994", "2"),
            ("SENTSINCE 8-Feb-1994", "2 3"), ("SINCE 1-Jan-2000", "1 2 3"),
            ("BEFORE 1-Jan-2000", ""), ("RECENT", "1 2 3"), ("NEW", "2 3"), ("OLD", ""),
            ("YOUNGER 3600", "1 2 3"), ("OLDER 3600", ""), ("CHARSET UTF-8 ALL", "1 2 3"),
            ("CHARSET US-ASCII BODY hello", "1 3"),
        ]
        for criteria, want in rows:
            self.assertEqual(c.ok("SEARCH " + criteria),
                             ["* SEARCH" + (" " + want if want else "")], criteria)
        self.assertEqual(c.ok("UID SEARCH 2:3 UNSEEN"), ["* SEARCH 2 3"])
        self.reply(c, "SEARCH CHARSET X-UNKNOWN ALL", "NO [BADCHARSET (UTF-8 US-ASCII)]")
        self.reply(c, "SEARCH BOGUS", "BAD Unknown SEARCH key.")
        self.reply(c, "SEARCH SINCE 31-Foo-2000", "BAD Invalid date in SEARCH.")
        self.reply(c, "SEARCH 7", "BAD Invalid message sequence number.")
        self.reply(c, "SEARCH", "BAD Missing SEARCH criteria.")

    def test_dates_of_mail_never_indexed(self):
        # delivered by another tool, with dates of their own, before any
        # session opened the mailbox: the first SELECT learns no dates, and
        # SEARCH and FETCH find them when they need them
        self.maildir.deliver("demo", MSG1, date=947592000)   # 11-Jan-2000 12:00 UTC
        self.maildir.deliver("demo", MSG2, date=1262347200)  # 1-Jan-2010 12:00 UTC
        c = self.login()
        rows = [("BEFORE 1-Jan-2001", "4"), ("ON 11-Jan-2000", "4"), ("SINCE 1-Jan-2010", "1 2 3 5"),
                ("SINCE 1-Jan-2000 BEFORE 1-Jan-2011", "4 5"), ("OLDER 600000000", "4"),
                ("YOUNGER 600000000", "1 2 3 5")]
        for criteria, want in rows:
            self.assertEqual(c.ok("SEARCH " + criteria), ["* SEARCH " + want], criteria)
        d = self.login()
        self.assertEqual(d.ok("FETCH 4:5 INTERNALDATE"),
                         ['* 4 FETCH (INTERNALDATE "11-Jan-2000 12:00:00 +0000")',
                          '* 5 FETCH (INTERNALDATE "01-Jan-2010 12:00:00 +0000")'])

    def test_esearch_and_searchres(self):
        c = self.login()
        tag = "es1"
        untagged, tagged = c.run("SEARCH RETURN (MIN MAX COUNT ALL) ALL", tag)
        self.assertEqual(untagged, ['* ESEARCH (TAG "es1") MIN 1 MAX 3 COUNT 3 ALL 1:3'])
        untagged, _ = c.run("UID SEARCH RETURN () 2:3", "es2")
        self.assertEqual(untagged, ['* ESEARCH (TAG "es2") UID ALL 2:3'])
        untagged, _ = c.run("SEARCH RETURN (COUNT) BEFORE 1-Jan-1990", "es3")
        self.assertEqual(untagged, ['* ESEARCH (TAG "es3") COUNT 0'])
        self.assertEqual(c.ok("SEARCH RETURN (SAVE) LARGER 1000"), [])
        self.assertEqual(c.ok("FETCH $ UID"), ["* 2 FETCH (UID 2)"])
        self.assertEqual(c.ok("SEARCH NOT $"), ["* SEARCH 1 3"])
        c.ok("SEARCH RETURN (SAVE MAX) ALL")
        self.assertEqual(c.ok("UID FETCH $ UID"), ["* 3 FETCH (UID 3)"])
        self.assertEqual(c.ok("STORE $ +FLAGS.SILENT (\\Seen)"), [])
        self.assertEqual(c.ok("SEARCH SEEN"), ["* SEARCH 3"])

    def test_modseq(self):
        c = self.login()
        c.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
        modseq = int(re.search(r"MODSEQ \((\d+)\)", c.ok("FETCH 2 MODSEQ")[0]).group(1))
        self.assertEqual(c.ok("SEARCH MODSEQ %d" % modseq), ["* SEARCH 2 (MODSEQ %d)" % modseq])
        self.assertEqual(c.ok('SEARCH MODSEQ "/flags/\\\\seen" all %d' % modseq),
                         ["* SEARCH 2 (MODSEQ %d)" % modseq])


class AppendTest(Base):
    imap_extra = " append_limit = 4k\n"

    def append(self, c, command, data, tag="ap"):
        c.send("%s %s {%d}" % (tag, command, len(data)))
        self.assertEqual(c.response(), "+ Ready for literal data")
        c.sock.sendall(data + b"\r\n")
        return c.collect(tag)

    def test_append(self):
        c = self.login(select=None)
        msg = b"From: me@example.org\r\nSubject: appended\r\n\r\nbody\r\n"
        untagged, tagged = self.append(c, 'APPEND INBOX (\\Seen $Sent) '
                                          '"07-Feb-1994 21:52:25 -0800"', msg)
        m = re.match(r"^OK \[APPENDUID (\d+) 4\] Append completed.$", tagged)
        self.assertTrue(m, tagged)
        c.ok("SELECT INBOX")
        self.assertEqual(c.ok("UID FETCH 4 (FLAGS INTERNALDATE BODY.PEEK[])"),
                         ['* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent $Sent) INTERNALDATE '
                          '"07-Feb-1994 21:52:25 -0800" BODY[] %s)' % literal(msg)])
        # LITERAL+, into the selected mailbox: EXISTS comes before the tag
        c.sock.sendall(b"ap2 APPEND inbox {%d+}\r\n%s\r\n" % (len(msg), msg))
        untagged, tagged = c.collect("ap2")
        self.assertIn("* 5 EXISTS", untagged)
        self.assertRegex(tagged, r"^OK \[APPENDUID \d+ 5\]")
        # MULTIAPPEND: all or nothing
        c.ok("CREATE Sent")
        c.sock.sendall(b"ap3 APPEND Sent {%d+}\r\n%s (\\Draft) {%d+}\r\n%s\r\n" %
                       (len(msg), msg, len(msg), msg))
        self.assertRegex(c.collect("ap3")[1], r"^OK \[APPENDUID \d+ 1:2\] Append completed.$")
        # refused before the client is asked for the message
        c.send("ap8 APPEND nosuch {%d}" % len(msg))
        self.assertEqual(c.response(), "ap8 NO [TRYCREATE] Mailbox does not exist: nosuch")
        c.send("ap4 APPEND INBOX {5000}")
        self.assertEqual(c.response(), "ap4 NO [TOOBIG] Message is larger than APPENDLIMIT.")
        c.sock.sendall(b"ap5 APPEND INBOX {5000+}\r\n" + b"y" * 5000 + b"\r\n")
        self.assertEqual(c.response(), "ap5 NO [TOOBIG] Message is larger than APPENDLIMIT.")
        c.send("ap6 APPEND INBOX \"bad date\" {4}")
        self.assertEqual(c.response(), "ap6 BAD Invalid internal date.")
        c.send("ap7 APPEND INBOX (\\Recent) {4}")
        self.assertEqual(c.response(), "ap7 BAD \\Recent can't be set or cleared.")
        self.assertEqual(c.run("APPEND INBOX")[1],
                         "BAD APPEND needs a mailbox, optional flags and date, and a message.")
        self.assertIn("* STATUS \"Sent\" (MESSAGES 2)", c.ok("STATUS Sent (MESSAGES)"))
        c.ok("NOOP")


class FilterTest(unittest.TestCase):
    """The APPEND hook of the filters decides; saved and expunged are told."""

    def setUp(self):
        self.port = free_port()
        self.pz = Poczta(users={"demo": "demo", "small": ("pw", "quota=1k")})
        self.log = os.path.join(self.pz.dir, "filter.log")
        open(self.log, "w").close()
        os.chmod(self.log, 0o666)  # written by connection processes
        maildir = Maildir(os.path.join(self.pz.dir, "mail"))
        modules, listeners = imap_config(maildir, self.port)
        self.pz.write_config(modules + "module testfilter {\n log = %s\n}\n" % self.log,
                             listeners)
        self.pz.start([self.port])
        self.c = ImapClient.connect(self.port)
        self.c.ok("LOGIN demo demo")

    def tearDown(self):
        self.c.close()
        self.pz.cleanup()

    def append(self, verdict, box="INBOX"):
        msg = b"Subject: f\r\nX-Test-Verdict: %s\r\n\r\nbody\r\n" % verdict
        self.c.sock.sendall(b"ap APPEND %s {%d+}\r\n%s\r\n" % (box.encode(), len(msg), msg))
        return self.c.collect("ap")[1]

    def test_append_verdicts(self):
        c = self.c
        self.assertRegex(self.append(b"accept"), r"^OK \[APPENDUID \d+ 1\] Append completed.$")
        self.assertEqual(self.append(b"reject"), "NO [CANNOT] test filter says no")
        self.assertEqual(self.append(b"tempfail"), "NO [UNAVAILABLE] test filter says later")
        self.assertEqual(self.append(b"quarantine Quarantine"), "OK Append completed.")
        self.assertEqual(self.append(b"discard"), "OK Append completed.")
        self.assertEqual(c.ok("STATUS INBOX (MESSAGES)"), ['* STATUS "INBOX" (MESSAGES 1)'])
        self.assertEqual(c.ok("STATUS Quarantine (MESSAGES)"),
                         ['* STATUS "Quarantine" (MESSAGES 1)'])
        c.ok("SELECT INBOX")
        self.assertEqual(c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (X-Test-Filter)]"),
                         ["* 1 FETCH (BODY[HEADER.FIELDS (X-TEST-FILTER)] %s)" %
                          literal(b"X-Test-Filter: checked\r\n\r\n")])
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(c.ok("EXPUNGE"), ["* 1 EXPUNGE"])
        with open(self.log) as f:
            self.assertEqual(f.read().split("\n"), ["saved INBOX 1", "saved Quarantine 1",
                                                     "expunged INBOX 1", ""])

    def test_search_filter_answers_text_criteria(self):
        c = self.c
        for i in range(4):
            self.assertIn("Append completed", self.append(b"accept"))
        c.ok("SELECT INBOX")
        c.ok("STORE 3 +FLAGS.SILENT (\\Seen)")
        # the filter's answer (no message contains "uids:...")
        self.assertEqual(c.ok('UID SEARCH BODY "uids:1,3,4"'), ["* SEARCH 1 3 4"])
        # with what it does not answer: combined with the storage's answer
        self.assertEqual(c.ok('UID SEARCH SEEN BODY "uids:1,3,4"'), ["* SEARCH 3"])
        self.assertEqual(c.ok('UID SEARCH BODY "uids:1,3,4" TEXT "uids:3,2"'),
                         ["* SEARCH 3"])
        self.assertEqual(c.ok('UID SEARCH OR BODY "uids:1" UNSEEN'), ["* SEARCH 1 2 4"])
        # declined: the core searches the text itself
        self.assertEqual(c.ok('UID SEARCH BODY "body"'), ["* SEARCH 1 2 3 4"])
        self.assertEqual(c.ok('UID SEARCH BODY "nowhere"'),
                         ["* SEARCH"])
        # a failing filter: logged, and the core answers
        self.assertEqual(c.ok('UID SEARCH BODY "fail"'), ["* SEARCH"])
        self.assertTrue(self.pz.wait_log("search filter failed: test search failed on purpose"))
        with open(self.log) as f:
            self.assertIn("search INBOX 3\nsearch INBOX 3\nsearch INBOX 1\n", f.read())

    def test_over_quota_refused_before_the_message_is_sent(self):
        c = ImapClient.connect(self.port)
        c.ok("LOGIN small pw")
        c.send("q APPEND INBOX {2048}")
        self.assertEqual(c.response(), "q NO [OVERQUOTA] Quota exceeded.")
        c.close()


class CopyMoveExpungeTest(Base):
    def test_copy_move(self):
        c = self.login()
        c.ok("CREATE Trash")
        untagged, tagged = c.run("COPY 1:2 Trash")
        self.assertRegex(tagged, r"^OK \[COPYUID \d+ 1:2 1:2\] Copy completed.$")
        self.reply(c, "COPY 1 Nowhere", "NO [TRYCREATE] Mailbox doesn't exist: Nowhere")
        untagged, tagged = c.run("MOVE 2 Trash")
        self.assertEqual(len(untagged), 2)
        self.assertRegex(untagged[0], r"^\* OK \[COPYUID \d+ 2 3\] Moved.$")
        self.assertEqual(untagged[1], "* 2 EXPUNGE")
        self.assertEqual(tagged, "OK Move completed.")
        untagged, tagged = c.run("UID MOVE 3 Trash")
        self.assertEqual(untagged[1], "* 2 EXPUNGE")
        self.assertIn("* STATUS \"Trash\" (MESSAGES 4)", c.ok("STATUS Trash (MESSAGES)"))
        self.assertEqual(c.ok("FETCH 1:* UID"), ["* 1 FETCH (UID 1)"])

    def test_expunge(self):
        c = self.login()
        c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(c.ok("UID EXPUNGE 2"), ["* 2 EXPUNGE"])
        c.ok("STORE 1 -FLAGS.SILENT (\\Deleted)")
        self.assertEqual(c.ok("EXPUNGE"), ["* 2 EXPUNGE"])
        self.assertEqual(c.ok("FETCH 1:* UID"), ["* 1 FETCH (UID 1)"])
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(c.ok("CLOSE"), [])
        self.assertIn("* 0 EXISTS", c.ok("SELECT INBOX"))


class CondstoreTest(Base):
    def test_condstore(self):
        c = self.login(select=None)
        untagged = c.ok("SELECT INBOX (CONDSTORE)")
        highest = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(untagged)).group(1))
        lines = c.ok("FETCH 1:3 (MODSEQ)")
        seqs = [int(re.search(r"MODSEQ \((\d+)\)", x).group(1)) for x in lines]
        self.assertEqual(max(seqs), highest)
        self.assertEqual(c.ok("FETCH 1:* FLAGS (CHANGEDSINCE %d)" % highest), [])
        lines = c.ok("STORE 2 +FLAGS (\\Seen)")
        m = re.match(r"^\* 2 FETCH \(FLAGS \(\\Seen \\Recent\) MODSEQ \((\d+)\)\)$", lines[0])
        self.assertTrue(m, lines)
        new = int(m.group(1))
        self.assertGreater(new, highest)
        self.assertEqual(c.ok("FETCH 1:* FLAGS (CHANGEDSINCE %d)" % highest),
                         ["* 2 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (%d))" % new])
        untagged, tagged = c.run("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Flagged)"
                                 % highest)
        self.assertEqual(tagged, "OK [MODIFIED 2] Conditional STORE failed.")
        self.assertEqual(len(untagged), 1)
        self.assertRegex(untagged[0], r"^\* 1 FETCH \(MODSEQ \(\d+\)\)$")
        untagged = c.ok("STATUS INBOX (HIGHESTMODSEQ)")
        self.assertRegex(untagged[0], r'^\* STATUS "INBOX" \(HIGHESTMODSEQ \d+\)$')


class Rev2Test(Base):
    def test_imap4rev2(self):
        c = self.login(select=None)
        self.assertEqual(c.ok("ENABLE IMAP4rev2"), ["* ENABLED IMAP4rev2"])
        untagged = c.ok("SELECT INBOX")
        self.assertNotIn("RECENT", " ".join(untagged))
        self.assertNotIn("UNSEEN", " ".join(untagged))
        self.assertEqual(untagged[-1], '* LIST () "/" "INBOX"')
        self.assertEqual(c.ok("FETCH 1 FLAGS"), ["* 1 FETCH (FLAGS ())"])
        untagged, _ = c.run("SEARCH 2:3", "r2")
        self.assertEqual(untagged, ['* ESEARCH (TAG "r2") ALL 2:3'])
        untagged, _ = c.run("UID SEARCH BEFORE 1-Jan-1990", "r3")
        self.assertEqual(untagged, ['* ESEARCH (TAG "r3") UID'])


if __name__ == "__main__":
    unittest.main()
