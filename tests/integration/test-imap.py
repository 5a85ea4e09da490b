"""IMAP against a running poczta with maildir storage: a scripted
conversation per command family, checking the tagged and untagged
responses RFC 9051 (and RFC 3501 for IMAP4rev1 clients) prescribe."""
import base64
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import ImapClient, Maildir, Poczta, free_port, imap_config  # noqa: E402

MSG1 = (b"From: Alice <alice@example.org>\r\nTo: demo@example.org\r\n"
        b"Cc: carol@example.org\r\nSubject: first message\r\n"
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <1@example.org>\r\n"
        b"X-Extra: one\r\n  folded\r\n\r\nHello demo.\r\nSecond line.\r\n")
MSG2 = (b"From: bob@example.org\r\nTo: demo@example.org\r\nSubject: second\r\n"
        b"Date: Tue, 8 Feb 1994 10:00:00 +0000\r\n\r\n" + b"x" * 2000 + b"\r\n")
MSG3 = (b"From: carol@example.org\r\nTo: demo@example.org\r\nSubject: third\r\n"
        b"Date: Wed, 9 Feb 1994 10:00:00 +0000\r\n\r\nshort\r\n")


class ImapBase(unittest.TestCase):
    imap_extra = ""
    globals_extra = ""
    messages = (MSG1, MSG2, MSG3)

    def setUp(self):
        self.port, self.tls_port = free_port(), free_port()
        self.pz = Poczta(users={"demo": "demo", "other": "pw"})
        self.maildir = Maildir(os.path.join(self.pz.dir, "mail"))
        for raw in self.messages:
            self.maildir.deliver("demo", raw)
        modules, listeners = imap_config(self.maildir, self.port, self.tls_port,
                                         self.imap_extra)
        self.pz.write_config(modules, listeners, self.globals_extra)
        self.pz.start([self.port, self.tls_port])
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        self.pz.cleanup()

    def connect(self, tls=False):
        c = ImapClient.connect(self.tls_port if tls else self.port,
                               ctx=self.pz.tls_context() if tls else None)
        self.clients.append(c)
        return c

    def login(self, user="demo", password="demo", select=None):
        c = self.connect()
        c.ok("LOGIN %s %s" % (user, password))
        if select:
            c.ok("SELECT %s" % select)
        return c

    def assertReply(self, c, command, want, untagged=None):
        got_untagged, tagged = c.run(command)
        self.assertTrue(tagged.startswith(want), "%s -> %r, want %r" % (command, tagged, want))
        if untagged is not None:
            self.assertEqual(got_untagged, untagged, command)
        return got_untagged


class ParserTest(ImapBase):
    def test_malformed_commands_get_bad_and_the_session_goes_on(self):
        c = self.connect()
        rows = [
            ("a1 FROB", "a1 BAD Unknown command."),
            ("a2 NOOP (", "a2 BAD Missing ')'"),
            ("a3 LOGIN a  b", "a3 BAD Double space between arguments"),
            ("a4 LOGIN \"abc", "a4 BAD Missing '\"' at end of quoted string"),
            ("a5 LOGIN {x}", "a5 BAD Invalid literal size"),
            ("a6", "a6 BAD Missing command"),
            ("+x NOOP", "* BAD Invalid tag"),
            ("a7 SELECT INBOX", "a7 BAD Log in first."),
            ("a8 LOGIN a) b", "a8 BAD Unexpected ')'"),
            ("a9 CAPABILITY x", "a9 BAD CAPABILITY takes no arguments."),
            ("b1 UID", "b1 BAD Missing command after UID."),
            ("b2 LOGIN {999999}", "b2 BAD [TOOBIG] Literal too large"),
        ]
        for line, want in rows:
            c.send(line)
            self.assertEqual(c.response(), want, line)
        c.send("z" * 70000)
        self.assertEqual(c.response(), "* BAD [TOOBIG] Command line too long.")
        self.assertTrue(c.run("NOOP")[1].startswith("OK"))

    def test_literals(self):
        c = self.connect()
        c.send("s1 LOGIN {4}")
        self.assertEqual(c.response(), "+ Ready for literal data")
        c.sock.sendall(b"demo {4+}\r\ndemo\r\n")
        self.assertTrue(c.collect("s1")[1].startswith("OK [CAPABILITY"))
        # a non-synchronizing literal with a bad command is skipped whole
        c.sock.sendall(b"s2 FROB {5+}\r\nNOOP\n\r\ns3 NOOP\r\n")
        self.assertEqual(c.response(), "s2 BAD Unknown command.")
        self.assertEqual(c.collect("s3")[1], "OK NOOP completed.")

    def test_pipelined_commands(self):
        c = self.connect()
        c.sock.sendall(b"p1 LOGIN demo demo\r\np2 SELECT INBOX\r\np3 FETCH 1 UID\r\n"
                       b"p4 NOOP\r\n")
        self.assertTrue(c.collect("p1")[1].startswith("OK"))
        self.assertTrue(c.collect("p2")[1].startswith("OK [READ-WRITE]"))
        self.assertIn("* 1 FETCH (UID 1)", c.collect("p3")[0])
        self.assertEqual(c.collect("p4")[1], "OK NOOP completed.")

    def test_too_many_bad_commands(self):
        c = self.connect()
        for i in range(19):
            c.send("x%d FROB" % i)
            self.assertTrue(c.response().endswith("BAD Unknown command."))
        c.send("last FROB")
        self.assertEqual(c.response(), "last BAD Unknown command.")
        self.assertEqual(c.response(), "* BYE Too many invalid IMAP commands.")
        with self.assertRaises((EOFError, ConnectionResetError)):
            c.response()


class AuthTest(ImapBase):
    def test_capability(self):
        c = self.connect()
        for cap in ("IMAP4rev1", "IMAP4rev2", "STARTTLS", "AUTH=PLAIN", "SASL-IR",
                    "LITERAL+", "ID", "ENABLE", "IDLE"):
            self.assertIn(cap, c.greeting.split())
        untagged, tagged = c.run("LOGIN demo demo")
        caps = tagged.split("]")[0].split()
        for cap in ("IMAP4rev1", "IMAP4rev2", "UIDPLUS", "MOVE", "CONDSTORE", "ESEARCH",
                    "SEARCHRES", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
                    "CREATE-SPECIAL-USE", "NAMESPACE", "UNSELECT", "BINARY",
                    "MULTIAPPEND", "STATUS=SIZE", "APPENDLIMIT=52428800"):
            self.assertIn(cap, caps)
        self.assertNotIn("STARTTLS", caps)

    def test_login(self):
        c = self.connect()
        self.assertReply(c, "LOGIN demo wrong", "NO [AUTHENTICATIONFAILED] Authentication failed.")
        self.assertReply(c, "LOGIN nobody x", "NO [AUTHENTICATIONFAILED]")
        self.assertReply(c, "LOGIN demo", "BAD LOGIN needs a user name and a password.")
        self.assertReply(c, "LOGIN \"demo\" \"demo\"", "OK [CAPABILITY")
        self.assertReply(c, "LOGIN demo demo", "BAD Already logged in.")
        self.assertReply(c, "LOGOUT", "OK Logout completed.", ["* BYE Logging out."])

    def test_authenticate(self):
        plain = base64.b64encode(b"\0demo\0demo").decode()
        c = self.connect()
        self.assertReply(c, "AUTHENTICATE PLAIN " + plain, "OK [CAPABILITY")
        c = self.connect()
        c.send("a AUTHENTICATE PLAIN")
        self.assertEqual(c.response(), "+ ")
        c.send(plain)
        self.assertTrue(c.response().startswith("a OK [CAPABILITY"))
        c = self.connect()
        c.send("b AUTHENTICATE LOGIN")
        self.assertEqual(c.response(), "+ VXNlcm5hbWU6")
        c.send(base64.b64encode(b"demo").decode())
        self.assertEqual(c.response(), "+ UGFzc3dvcmQ6")
        c.send(base64.b64encode(b"bad").decode())
        self.assertEqual(c.response(), "b NO [AUTHENTICATIONFAILED] Authentication failed.")
        c.send("c AUTHENTICATE PLAIN")
        c.response()
        c.send("*")
        self.assertEqual(c.response(), "c BAD Authentication cancelled.")
        self.assertReply(c, "AUTHENTICATE PLAIN !!!", "BAD Invalid base64 data.")
        self.assertReply(c, "AUTHENTICATE CRAM-MD5", "NO Unsupported authentication mechanism.")
        self.assertReply(c, "AUTHENTICATE PLAIN =", "BAD Invalid PLAIN response.")

    def test_starttls(self):
        c = self.connect()
        self.assertReply(c, "STARTTLS", "OK Begin TLS negotiation now.")
        c.starttls(self.pz.tls_context())
        untagged = c.ok("CAPABILITY")
        self.assertNotIn("STARTTLS", untagged[0])
        self.assertReply(c, "STARTTLS", "BAD TLS is already active.")
        c.ok("LOGIN demo demo")

    def test_imaps(self):
        c = self.connect(tls=True)
        self.assertNotIn("STARTTLS", c.greeting)
        c.ok("LOGIN demo demo")
        self.assertIn("* 3 EXISTS", c.ok("SELECT INBOX"))

    def test_enable_and_id(self):
        c = self.login()
        self.assertEqual(c.ok("ENABLE CONDSTORE X-UNKNOWN"), ["* ENABLED CONDSTORE"])
        self.assertEqual(c.ok("ENABLE CONDSTORE IMAP4rev2"), ["* ENABLED IMAP4rev2"])
        self.assertEqual(c.ok('ID ("name" "test" "version" "1")'),
                         ['* ID ("name" "Poczta" "version" "0.1.0")'])
        self.assertReply(c, "ID", "BAD ID needs a parameter list or NIL.")
        c.ok("ID NIL")


class PlaintextRefusedTest(ImapBase):
    globals_extra = "auth_allow_plaintext = no\n"

    def test_logindisabled(self):
        c = self.connect()
        self.assertIn("LOGINDISABLED", c.greeting.split("]")[0].split())
        self.assertNotIn("AUTH=PLAIN", c.greeting)
        self.assertReply(c, "LOGIN demo demo", "NO [PRIVACYREQUIRED]")
        self.assertReply(c, "AUTHENTICATE PLAIN AGRlbW8AZGVtbw==", "NO [PRIVACYREQUIRED]")
        c.ok("STARTTLS")
        c.starttls(self.pz.tls_context())
        self.assertNotIn("LOGINDISABLED", c.ok("CAPABILITY")[0])
        c.ok("LOGIN demo demo")


class MailboxTest(ImapBase):
    def test_autocreated_special_use_folders(self):
        c = self.login("other", "pw")  # a new user: the maildir is made at login
        lines = c.ok('LIST "" "*"')
        for name, use in (("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"),
                          ("Junk", "\\Junk"), ("Archive", "\\Archive")):
            self.assertIn('* LIST (\\HasNoChildren %s) "/" "%s"' % (use, name), lines)
        self.assertEqual(lines[0], '* LIST (\\HasNoChildren) "/" "INBOX"')
        self.assertEqual(c.ok('LIST "" ""'), ['* LIST (\\Noselect) "/" ""'])
        lines = c.ok('LIST (SPECIAL-USE) "" "*"')
        self.assertEqual(len(lines), 5)

    def test_create_delete_rename(self):
        c = self.login("other", "pw")
        c.ok("CREATE work/2024/")
        self.assertReply(c, "CREATE work/2024", "NO [ALREADYEXISTS]")
        self.assertReply(c, "CREATE inbox", "NO [ALREADYEXISTS]")
        self.assertEqual(c.ok('LIST "" "work*"'),
                         ['* LIST (\\Noselect \\HasChildren) "/" "work"',
                          '* LIST (\\HasNoChildren) "/" "work/2024"'])
        self.assertEqual(c.ok('LIST "work/" "%"'),
                         ['* LIST (\\HasNoChildren) "/" "work/2024"'])
        c.ok("RENAME work/2024 work/2025")
        self.assertReply(c, "RENAME work/2024 x", "NO [NONEXISTENT]")
        self.assertReply(c, "RENAME work/2025 Trash", "NO [ALREADYEXISTS]")
        c.ok("DELETE work/2025")
        self.assertReply(c, "DELETE work/2025", "NO [NONEXISTENT]")
        self.assertReply(c, "DELETE INBOX", "NO [CANNOT]")
        self.assertReply(c, "CREATE a/../b", "NO")
        c.ok("CREATE Receipts (USE (\\Flagged))")
        self.assertIn('* LIST (\\HasNoChildren \\Flagged) "/" "Receipts"',
                      c.ok('LIST "" Receipts'))
        self.assertReply(c, "CREATE Bad (USE (\\Bogus))", "NO [USEATTR]")

    def test_modified_utf7_names(self):
        c = self.login()
        c.ok('CREATE "Wa&AXw-ne"')
        self.assertIn('* LIST (\\HasNoChildren) "/" "Wa&AXw-ne"', c.ok('LIST "" "Wa*"'))
        self.assertReply(c, 'CREATE "Wa\xc5\xbcne"', "NO [CANNOT] Mailbox name is not valid "
                         "modified UTF-7.")
        c.ok('CREATE "A&-B"')
        self.assertIn('* LIST (\\HasNoChildren) "/" "A&-B"', c.ok('LIST "" "A*"'))
        c.ok("ENABLE IMAP4rev2")
        self.assertIn('* LIST (\\HasNoChildren) "/" "Wa\u017cne"', c.ok('LIST "" "Wa*"'))
        c.ok("SELECT \"Wa\u017cne\"")

    def test_subscriptions(self):
        c = self.login()
        c.ok("CREATE lists/a")
        c.ok("CREATE lists/b")
        c.ok("SUBSCRIBE lists/a")
        c.ok("SUBSCRIBE gone")
        self.assertEqual(c.ok('LSUB "" "lists/*"'), ['* LSUB () "/" "lists/a"'])
        self.assertEqual(c.ok('LSUB "" "lists/%"'), ['* LSUB () "/" "lists/a"'])
        self.assertEqual(c.ok('LSUB "" "%"')[-1], '* LSUB (\\Noselect) "/" "lists"')
        self.assertIn('* LIST (\\NonExistent \\Subscribed) "/" "gone"',
                      c.ok('LIST (SUBSCRIBED) "" "*"'))
        self.assertEqual(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "lists"'),
                         ['* LIST (\\Noselect \\HasChildren) "/" "lists" '
                          '("CHILDINFO" ("SUBSCRIBED"))'])
        self.assertIn('* LIST (\\HasNoChildren \\Subscribed) "/" "lists/a"',
                      c.ok('LIST "" "lists/*" RETURN (SUBSCRIBED CHILDREN)'))
        c.ok("UNSUBSCRIBE lists/a")
        self.assertEqual(c.ok('LSUB "" "lists/*"'), [])

    def test_status_and_list_status(self):
        c = self.login()
        self.assertEqual(c.ok("STATUS INBOX (MESSAGES UNSEEN UIDNEXT DELETED SIZE)"),
                         ["* STATUS \"INBOX\" (MESSAGES 3 UIDNEXT 4 UNSEEN 3 DELETED 0 "
                          "SIZE %d)" % sum(len(m) for m in self.messages)])
        untagged = c.ok("STATUS inbox (UIDVALIDITY HIGHESTMODSEQ RECENT APPENDLIMIT)")
        self.assertRegex(untagged[0], r'^\* STATUS "INBOX" \(RECENT 3 UIDVALIDITY \d+ '
                         r'HIGHESTMODSEQ \d+ APPENDLIMIT 52428800\)$')
        self.assertReply(c, "STATUS nosuch (MESSAGES)", "NO [NONEXISTENT]")
        self.assertReply(c, "STATUS INBOX (BOGUS)", "BAD")
        lines = c.ok('LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN))')
        i = lines.index('* LIST (\\HasNoChildren) "/" "INBOX"')
        self.assertEqual(lines[i + 1], '* STATUS "INBOX" (MESSAGES 3 UNSEEN 3)')

    def test_namespace(self):
        c = self.login()
        self.assertEqual(c.ok("NAMESPACE"), ['* NAMESPACE (("" "/")) NIL NIL'])


class DotSeparatorTest(ImapBase):
    imap_extra = " hierarchy_separator = .\n"

    def test_dot_separator(self):
        c = self.login()
        c.ok("CREATE a.b")
        self.assertEqual(c.ok('LIST "" "a*"'), ['* LIST (\\Noselect \\HasChildren) "." "a"',
                                                '* LIST (\\HasNoChildren) "." "a.b"'])
        self.assertReply(c, "CREATE x/y", "NO [CANNOT] Mailbox name may not contain '/'.")
        self.assertEqual(c.ok("NAMESPACE"), ['* NAMESPACE (("" ".")) NIL NIL'])


class SelectTest(ImapBase):
    def test_select(self):
        c = self.login()
        untagged, tagged = c.run("SELECT inbox")
        self.assertEqual(tagged, "OK [READ-WRITE] Select completed.")
        self.assertEqual(untagged[0], "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        self.assertEqual(untagged[1], "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
                         "\\Seen \\Draft \\*)] Flags permitted.")
        self.assertEqual(untagged[2:5], ["* 3 EXISTS", "* 3 RECENT",
                                         "* OK [UNSEEN 1] First unseen."])
        self.assertRegex(untagged[5], r"^\* OK \[UIDVALIDITY \d+\] UIDs valid$")
        self.assertEqual(untagged[6], "* OK [UIDNEXT 4] Predicted next UID")
        self.assertRegex(untagged[7], r"^\* OK \[HIGHESTMODSEQ \d+\] Highest$")
        # \Recent went to the first session only
        d = self.login()
        untagged = d.ok("EXAMINE INBOX")
        self.assertIn("* 0 RECENT", untagged)
        self.assertIn("* OK [PERMANENTFLAGS ()] Flags permitted.", untagged)
        self.assertReply(d, "STORE 1 +FLAGS (\\Seen)", "NO [CANNOT] Mailbox is read-only.")
        c.ok("CREATE Empty")
        untagged, tagged = c.run("SELECT Empty")
        self.assertEqual(tagged, "OK [READ-WRITE] Select completed.")
        self.assertEqual(untagged[:5], [
            "* OK [CLOSED] Previous mailbox closed.",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
            "Flags permitted.", "* 0 EXISTS", "* 0 RECENT"])
        self.assertReply(c, "SELECT nosuch", "NO [NONEXISTENT]")
        self.assertReply(c, "FETCH 1 UID", "BAD No mailbox selected.")

    def test_close_unselect_check(self):
        c = self.login(select="INBOX")
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        c.ok("CHECK")
        c.ok("UNSELECT")
        self.assertReply(c, "CHECK", "BAD No mailbox selected.")
        c.ok("SELECT INBOX")
        self.assertEqual(c.ok("CLOSE"), [])
        self.assertIn("* 2 EXISTS", c.ok("SELECT INBOX"))


if __name__ == "__main__":
    unittest.main()
