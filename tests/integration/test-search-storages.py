"""SEARCH with postgres storage (criteria evaluated in SQL) gives what the
core's evaluator gives with maildir storage, for the same messages.

One poczta with maildir storage and one with postgres storage (against a
PostgreSQL this test starts) get the same messages by APPEND, with the same
internal dates and flags: RFC 2047 encoded headers (UTF-8 and ISO-8859-2,
Q and B, a character split over two words), raw UTF-8, Greek and Cyrillic
in both cases, folded fields, repeated fields, Date: fields in far zones
near midnight, unreadable and missing Date: fields.  Every row of CRITERIA
is sent as UID SEARCH to both and the answers must be equal (the maildir
module always leaves SEARCH to the core).  Then the postgres bodies lose
their header index, as bodies stored before schema version 2 have none,
and the same searches must index them again and answer the same.  Last, a
probe shows the postgres answers come from SQL: a changed row in
pz_body_field changes the answer.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import ImapClient, Maildir, Poczta, free_port, imap_config  # noqa: E402
import pzpostgres  # noqa: E402


def msg(headers, body=b"body text\r\n"):
    return b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


# (internal date, flags, message)
MESSAGES = [
    ('"07-Feb-1994 21:52:25 -0800"', r"(\Seen)", msg([
        b"From: Alice <alice@example.org>", b"To: demo@example.org",
        b"Subject: first message", b"Date: Mon, 7 Feb 1994 21:52:25 -0800",
        b"Message-ID: <1@example.org>"])),
    ('"08-Feb-1994 00:30:00 +0100"', r"(\Flagged)", msg([
        b"From: =?UTF-8?Q?Pawe=C5=82_Gro=C5=BA?= <pawel@example.pl>",
        b"To: demo@example.org, =?ISO-8859-2?Q?Ma=B3gorzata?= <m@example.pl>",
        b"Cc: carol@example.org", b"Cc: second-cc@example.org",
        b"Subject: =?UTF-8?Q?Za=C5=BC=C3=B3=C5=82=C4=87_g=C4=99=C5=9Bl=C4=85?=",
        b"Date: Tue, 8 Feb 1994 00:30:00 +0100"])),
    ('"09-Feb-1994 23:59:59 +0000"', "()", msg([
        b"From: bob@example.org", b"To: demo@example.org",
        b"Subject: =?UTF-8?B?zprOkc6bzpfOnM6VzqHOkQ==?= and =?UTF-8?B?0J/RgNC40LLQtdGC?=",
        b"Date: Wed, 9 Feb 1994 23:59:59 -1200"])),
    ('"10-Feb-1994 12:00:00 +1400"', r"(\Answered)", msg([
        b"From: carol@example.org", b"To: demo@example.org",
        b"Subject: =?UTF-8?Q?split_=C5?= =?UTF-8?Q?=BC_word?=",
        b"Date: Thu, 10 Feb 1994 00:10:00 +1400",
        b"X-Folded: one", b"  two", b"\tthree"])),
    ('"11-Feb-1994 10:00:00 +0000"', "()", msg([
        b"From: dave@example.org", b"To: demo@example.org",
        b"Subject: no date here"])),
    ('"12-Feb-1994 10:00:00 +0000"', "($Work)", msg([
        b"From: eve@example.org", b"Subject: bad date", b"Date: yesterday, roughly",
        b"Date: Sat, 12 Feb 1994 10:00:00 +0000"])),
    ('"13-Feb-1994 10:00:00 -0500"', "()", msg([
        "From: Zo\u00eb \u0141\u00f3d\u017a <zoe@example.org>".encode(),
        "Subject: raw UTF-8 \u017b\u00d3\u0141W and \u03a3\u03bf\u03c6\u03af\u03b1 "
        "\u03c3\u03bf\u03c6\u03af\u03b1\u03c2".encode(), b"To: demo@example.org",
        b"SUBJECT: second subject field", b"Date: 13 Feb 94 10:00 EST",
        b"X-Empty:"], b"x" * 3000 + b"\r\n")),
    ('"14-Feb-1994 10:00:00 +0000"', "()", msg([
        b"From: =?UTF-8?Q?bad?= =?X-UNKNOWN?Q?word?= <f@example.org>",
        b"Subject: =?UTF-8?Q?=F0=9F=93=A7_mail?= =?UTF-8?B?bm90IGJhc2U2NA=?=",
        b"Bcc: hidden@example.org", b"Date: Mon, 14 Feb 1994 25:99:00 +0000"])),
]

CRITERIA = [
    "ALL", "FROM alice", "FROM ALICE@EXAMPLE", "FROM pawe\u0142", "FROM \"PAWE\u0141 GRO\u0179\"",
    "FROM gro\u017a", "FROM zo\u00cb", "FROM \u0142\u00f3d\u017a", "FROM bad", "FROM unknown",
    "FROM =?X-UNKNOWN?Q?word?=", "TO ma\u0142gorzata", "TO MA\u0141GORZATA", "TO demo",
    "CC carol", "CC second-cc", "CC nobody", "BCC hidden", "BCC \"\"",
    "SUBJECT za\u017c\u00f3\u0142\u0107", "SUBJECT \"ZA\u017b\u00d3\u0141\u0106 G\u0118\u015aL\u0104\"",
    "SUBJECT \u03ba\u03b1\u03bb\u03b7\u03bc\u03b5\u03c1\u03b1",
    "SUBJECT \u041a\u0410\u039b\u0397", "SUBJECT \u043f\u0440\u0438\u0432\u0435\u0442",
    "SUBJECT \u041f\u0420\u0418\u0412\u0415\u0422", "SUBJECT \"split \u017c word\"",
    "SUBJECT \"split \u017b\"", "SUBJECT \u017c\u00f3\u0142w", "SUBJECT \u03c3\u03bf\u03c6\u03af\u03b1\u03c3",
    "SUBJECT \u03a3\u039f\u03a6\u038a\u0391\u03a3", "SUBJECT \"second subject\"",
    "SUBJECT \U0001f4e7", "SUBJECT \"not base64\"", "SUBJECT bm90", "SUBJECT \"\"",
    "SUBJECT message", "NOT SUBJECT message",
    "HEADER X-Folded \"one two\"", "HEADER X-Folded \"two\tthree\"",
    "HEADER x-folded \"one  two\"", "HEADER X-Empty \"\"", "HEADER X-Empty x",
    "HEADER Message-ID <1@example.org>", "HEADER Date 1994", "HEADER Date \"\"",
    "NOT HEADER Date \"\"", "HEADER X-Missing \"\"", "HEADER Subject \"\"",
    "HEADER \u017c \"\"",
    "SENTBEFORE 8-Feb-1994", "SENTON 8-Feb-1994", "SENTSINCE 8-Feb-1994",
    "SENTON 9-Feb-1994", "SENTON 10-Feb-1994", "SENTON 12-Feb-1994",
    "SENTON 13-Feb-1994", "SENTON 14-Feb-1994", "NOT SENTON 9-Feb-1994",
    "NOT SENTBEFORE 1-Jan-2100", "NOT SENTSINCE 1-Jan-1900", "SENTSINCE 1-Jan-1900",
    "BEFORE 8-Feb-1994", "ON 8-Feb-1994", "ON 9-Feb-1994", "ON 10-Feb-1994",
    "SINCE 10-Feb-1994", "NOT ON 13-Feb-1994", "ON 13-Feb-1994",
    "OR SUBJECT message FROM bob", "OR SENTON 8-Feb-1994 HEADER X-Folded three",
    "SEEN SUBJECT first", "UNSEEN NOT FROM carol", "FLAGGED OR TO demo SENTON 12-Feb-1994",
    "KEYWORD $Work SENTSINCE 12-Feb-1994", "LARGER 1000 FROM zoe", "SMALLER 1000 NOT BCC hidden",
    "UID 2:5 SUBJECT \u03ba\u03b1\u03bb", "NOT (FROM alice OR TO demo CC carol)",
]


def uid_search(c, criteria):
    """The SEARCH responses and the tagged reply's status word."""
    untagged, tagged = c.run("UID SEARCH CHARSET UTF-8 " + criteria)
    return [line for line in untagged if line.startswith("* SEARCH")] + [tagged.split()[0]]


class SearchStoragesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = pzpostgres.Cluster().initdb().start().create_db()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.destroy()

    def start(self, make_store):
        port = free_port()
        pz = Poczta(users={"demo": "demo"})
        self.addCleanup(pz.cleanup)
        store = make_store(os.path.join(pz.dir, "mail"))
        modules, listeners = imap_config(store, port)
        pz.write_config(modules, listeners)
        pz.start([port])
        c = ImapClient.connect(port)
        self.addCleanup(c.close)
        c.ok("LOGIN demo demo")
        for date, flags, raw in MESSAGES:
            c.sock.sendall(b"ap APPEND INBOX %s %s {%d+}\r\n%s\r\n" % (
                flags.encode(), date.encode(), len(raw), raw))
            tagged = c.collect("ap")[1]
            self.assertTrue(tagged.startswith("OK"), tagged)
        c.ok("SELECT INBOX")
        return c

    def answers(self, c):
        return dict((k, uid_search(c, k)) for k in CRITERIA)

    def test_postgres_answers_as_the_core(self):
        maildir = self.start(Maildir)
        pg = self.start(lambda root: pzpostgres.PgStore(self.cluster, root))
        want = self.answers(maildir)
        self.assertEqual(want["ALL"], ["* SEARCH 1 2 3 4 5 6 7 8", "OK"])
        self.assertEqual([k for k, v in want.items() if v[-1] != "OK"], [])
        self.assertEqual(self.answers(pg), want)
        # every body indexed at APPEND: the search did not fall back
        self.assertEqual(self.cluster.psql("SELECT fields_state, count(*) FROM pz_body "
                                           "GROUP BY 1"), [["1", str(len(MESSAGES))]])

        # bodies stored without their index are indexed by the search
        self.cluster.psql("DELETE FROM pz_body_field; "
                          "UPDATE pz_body SET fields_state = 0, sent_date = NULL")
        self.assertEqual(self.answers(pg), want)
        self.assertEqual(self.cluster.psql("SELECT count(*) FROM pz_body "
                                           "WHERE fields_state <> 1"), [["0"]])

        # the answer comes from SQL: change what SQL looks at
        self.cluster.psql("UPDATE pz_body_field SET value = 'probe'::bytea "
                          "WHERE name = 'subject' AND value = 'first message'::bytea")
        self.assertEqual(uid_search(pg, "SUBJECT first"), ["* SEARCH", "OK"])
        self.assertEqual(uid_search(pg, "SUBJECT probe"), ["* SEARCH 1", "OK"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
