"""PostgreSQL storage across nodes and through failures, with real poczta
processes and a real PostgreSQL: two instances sharing one database (append
through one, read through the other; concurrent appends never repeat a
UID), PostgreSQL restarted under LMTP load (no acknowledged message lost),
a primary stopped and its streaming replica promoted (service resumes
through the multi-host conninfo), the replies while the database is away,
the schema check, users from the table, and `poczta-admin db`."""
import os
import poplib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import BUILD, POCZTA, LineClient, Poczta, free_port  # noqa: E402
import pzpostgres  # noqa: E402
from pzpostgres import PgStore  # noqa: E402


class Lmtp:
    """One LMTP connection, one recipient per transaction."""

    def __init__(self, port):
        self.c = LineClient.tcp(port, timeout=30)
        assert self.c.line().startswith("220 ")
        self.c.send("LHLO test.example.net")
        while self.c.line()[3] != " ":
            pass

    def deliver(self, rcpt, body):
        """The final reply of one transaction (RCPT's reply if refused)."""
        if not self.c.cmd("MAIL FROM:<sender@example.net>").startswith("250"):
            raise RuntimeError("MAIL refused")
        reply = self.c.cmd("RCPT TO:<%s>" % rcpt)
        if not reply.startswith("250"):
            self.c.cmd("RSET")
            return reply
        assert self.c.cmd("DATA").startswith("354")
        data = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                        for line in body.split(b"\r\n")[:-1])
        self.c.sock.sendall(data + b".\r\n")
        return self.c.line()

    def close(self):
        try:
            self.c.cmd("QUIT")
        except (OSError, EOFError):
            pass
        self.c.close()


def message(tag, extra=b""):
    return (b"From: load@example.net\r\nTo: demo@example.org\r\nSubject: %s\r\n"
            b"Message-ID: <%s@test>\r\n\r\nbody of %s\r\n%s" % (tag, tag, tag, extra))


def fetch_all(port, user="demo", password="demo"):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    p.user(user)
    p.pass_(password)
    msgs = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(p.stat()[0])]
    p.quit()
    return msgs


def message_ids(msgs):
    return [re.search(rb"Message-ID: <([^>]*)@test>", m).group(1) for m in msgs
            if re.search(rb"Message-ID: <([^>]*)@test>", m)]


class Node:
    """A poczta instance with LMTP and POP3 over the given database."""

    def __init__(self, conninfo, auth="postgres", module_extra="", users=None):
        self.lmtp_port, self.pop_port = free_port(), free_port()
        self.pz = Poczta(users=users or {"demo": "demo"})
        conf = "storage = postgres\n"
        if auth:
            conf += "auth = %s\n" % auth
        conf += ("module postgres {\n conninfo = %s\n connect_timeout = 3s\n%s}\n"
                 "module pop3 {\n}\nmodule lmtp {\n}\n" % (conninfo, module_extra))
        listeners = ("listener lmtp {\n protocol = lmtp\n address = 127.0.0.1:%d\n}\n"
                     "listener pop3 {\n protocol = pop3\n address = 127.0.0.1:%d\n}\n"
                     % (self.lmtp_port, self.pop_port))
        self.pz.write_config(conf, listeners)
        self.pz.start([self.lmtp_port, self.pop_port])

    def lmtp(self):
        return Lmtp(self.lmtp_port)

    def fetch_all(self, user="demo", password="demo"):
        return fetch_all(self.pop_port, user, password)

    def cleanup(self):
        self.pz.cleanup()


class PgTestCase(pzpostgres.ClusterTestCase):
    def setUp(self):
        self.store = PgStore(self.cluster, tempfile.mkdtemp(prefix="pzs.", dir="/tmp"))
        self.store.add_user("demo", "demo")
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
        shutil.rmtree(self.store.root, ignore_errors=True)

    def node(self, conninfo=None, **kw):
        n = Node(conninfo or self.cluster.conninfo(), **kw)
        self.nodes.append(n)
        return n

    def uids(self, user="demo", mailbox="INBOX"):
        return [u for u, _ in self.store.messages(user, mailbox)]


class TwoNodesTest(PgTestCase):
    def test_append_through_one_read_through_the_other(self):
        a, b = self.node(), self.node()
        la = a.lmtp()
        for i in range(3):
            self.assertRegex(la.deliver("demo@example.org", message(b"ab%d" % i)),
                             r"^250 2\.0\.0 ")
        la.close()
        msgs = b.fetch_all()
        self.assertEqual(message_ids(msgs), [b"ab0", b"ab1", b"ab2"])
        self.assertTrue(msgs[0].endswith(message(b"ab0")))
        # a deletion through B is seen through A
        p = poplib.POP3("127.0.0.1", b.pop_port, timeout=30)
        p.user("demo")
        p.pass_("demo")
        p.dele(2)
        p.quit()
        self.assertEqual(message_ids(a.fetch_all()), [b"ab0", b"ab2"])

    def test_concurrent_appends_never_repeat_a_uid(self):
        nodes = [self.node(), self.node()]
        per_worker, workers = 20, 6
        replies = []
        lock = threading.Lock()

        def work(w):
            c = nodes[w % 2].lmtp()
            for i in range(per_worker):
                r = c.deliver("demo@example.org", message(b"w%di%d" % (w, i)))
                with lock:
                    replies.append(r)
            c.close()

        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = per_worker * workers
        self.assertEqual(sum(1 for r in replies if r.startswith("250")), total, replies[:5])
        self.assertEqual(self.uids(), list(range(1, total + 1)))
        self.assertEqual(len(nodes[1].fetch_all()), total)


class RestartTest(PgTestCase):
    def test_restart_under_lmtp_load_loses_nothing_acknowledged(self):
        node = self.node()
        acked, failed = set(), []
        lock = threading.Lock()
        stop = threading.Event()

        def work(w):
            c, i = None, 0
            while not stop.is_set():
                tag = b"r%dn%d" % (w, i)
                i += 1
                try:
                    if c is None:
                        c = node.lmtp()
                    r = c.deliver("demo@example.org", message(tag))
                except (OSError, EOFError, AssertionError, RuntimeError):
                    c, r = None, "connection lost"
                with lock:
                    (acked.add(tag) if r.startswith("250") else failed.append(tag))
                if not r.startswith("250"):
                    time.sleep(0.05)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        self.cluster.restart("fast")          # a clean restart
        time.sleep(1.5)
        self.cluster.stop("immediate")        # a crash, then recovery
        time.sleep(0.5)
        self.cluster.start()
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join()
        # an MTA retries what got 4xx; all of it goes through now
        c = node.lmtp()
        for tag in failed:
            self.assertRegex(c.deliver("demo@example.org", message(tag)), r"^250 ")
        c.close()
        stored = message_ids(node.fetch_all())
        self.assertGreater(len(acked), 20)
        self.assertEqual(acked - set(stored), set(), "acknowledged but lost")
        self.assertEqual(set(stored), acked | set(failed))
        # a duplicate needs a COMMIT whose answer was lost: rare, never silent
        self.assertLessEqual(len(stored) - len(set(stored)), len(failed))
        self.assertEqual(self.uids(), list(range(1, len(stored) + 1)))


class FailoverTest(PgTestCase):
    def test_replica_promoted_service_resumes(self):
        primary = self.cluster
        replica = primary.replica()
        try:
            # acknowledged means on the replica too (synchronous replication)
            primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'", db="postgres")
            primary.psql("SELECT pg_reload_conf()", db="postgres")
            deadline = time.time() + 30
            while primary.psql("SELECT sync_state FROM pg_stat_replication",
                               db="postgres") != [["sync"]]:
                self.assertLess(time.time(), deadline, "the replica never caught up")
                time.sleep(0.2)
            conninfo = ("host=%s,%s port=%d,%d dbname=poczta user=poczta "
                        "target_session_attrs=read-write" % (primary.dir, replica.dir,
                                                              primary.port, replica.port))
            node = self.node(conninfo)
            c = node.lmtp()
            for i in range(3):
                self.assertRegex(c.deliver("demo@example.org", message(b"f%d" % i)),
                                 r"^250 ")
            primary.stop("fast")
            replica.promote()
            # the same LMTP connection: its process finds the new primary
            tags, deadline = [b"f3", b"f4", b"f5"], time.time() + 60
            while tags:
                r = c.deliver("demo@example.org", message(tags[0]))
                if r.startswith("250"):
                    tags.pop(0)
                else:
                    self.assertRegex(r, r"^4\d\d ")
                    self.assertLess(time.time(), deadline, "never resumed: " + r)
                    time.sleep(0.2)
            c.close()
            self.assertEqual(message_ids(node.fetch_all()),
                             [b"f0", b"f1", b"f2", b"f3", b"f4", b"f5"])
        finally:
            replica.destroy()
            primary.start()   # the other tests of the class use it
            if primary.psql("SELECT pg_is_in_recovery()", db="postgres") != [["f"]]:
                raise AssertionError("the old primary came back as a standby")
            primary.psql("ALTER SYSTEM RESET synchronous_standby_names", db="postgres")
            primary.psql("SELECT pg_reload_conf()", db="postgres")


class UnavailableTest(PgTestCase):
    def test_replies_while_the_database_is_away(self):
        # users from passwd-file: the storage alone is away
        node = self.node(auth=None)
        c = node.lmtp()
        self.assertRegex(c.deliver("demo@example.org", message(b"u0")), r"^250 ")
        self.cluster.stop("fast")
        try:
            self.assertEqual(c.deliver("demo@example.org", message(b"u1")),
                             "451 4.3.0 <demo@example.org> Temporary failure storing "
                             "the message")
            with self.assertRaises(poplib.error_proto) as cm:
                node.fetch_all()
            self.assertEqual(cm.exception.args[0],
                             b"-ERR [SYS/TEMP] Mail storage is temporarily unavailable.")
        finally:
            self.cluster.start()
        # the same LMTP session carries on once the database is back
        self.assertRegex(c.deliver("demo@example.org", message(b"u2")), r"^250 ")
        c.close()
        self.assertEqual(message_ids(node.fetch_all()), [b"u0", b"u2"])

    def test_user_lookups_while_the_database_is_away(self):
        node = self.node()
        c = node.lmtp()
        self.cluster.stop("fast")
        try:
            self.assertEqual(c.deliver("demo@example.org", message(b"x")),
                             "451 4.3.0 <demo@example.org> Temporary user lookup failure")
            p = poplib.POP3("127.0.0.1", node.pop_port, timeout=30)
            p.user("demo")
            with self.assertRaises(poplib.error_proto) as cm:
                p.pass_("demo")
            self.assertTrue(cm.exception.args[0].startswith(b"-ERR [SYS/TEMP]"),
                            cm.exception.args[0])
            p.close()
        finally:
            self.cluster.start()
        self.assertRegex(c.deliver("demo@example.org", message(b"y")), r"^250 ")
        c.close()


class SchemaTest(PgTestCase):
    def poczta_t(self, conninfo, extra=""):
        conf = os.path.join(self.store.root, "poczta.conf")
        with open(conf, "w") as f:
            f.write("module_dir = %s\nstorage = postgres\nauth = postgres\n%s"
                    "module postgres {\n conninfo = %s\n%s}\n" % (
                        os.path.join(BUILD, "tests", "moddir"),
                        "user = nobody\n" if os.geteuid() == 0 else "", conninfo, extra))
        return subprocess.run([POCZTA, "-t", "-c", conf], capture_output=True, text=True,
                              timeout=60)

    def db(self, command, *args):
        return pzpostgres.admin("db", command, *args)

    def test_newer_schema_is_refused(self):
        self.assertEqual(self.poczta_t(self.cluster.conninfo()).returncode, 0)
        self.cluster.psql("INSERT INTO pz_schema_version VALUES (99, 99, 'future')")
        try:
            r = self.poczta_t(self.cluster.conninfo())
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("the database schema is version 99, newer than this poczta "
                          "understands", r.stderr)
            self.assertIn("upgrade poczta on this node", r.stderr)
            r = self.db("status", "-d", self.cluster.conninfo())
            self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
            # a newer schema that says old nodes may use it: fine
            self.cluster.psql("UPDATE pz_schema_version SET min_compatible = 1 "
                              "WHERE version = 99")
            self.assertEqual(self.poczta_t(self.cluster.conninfo()).returncode, 0)
        finally:
            self.cluster.psql("DELETE FROM pz_schema_version WHERE version = 99")

    def test_empty_database_migrate_and_auto_migrate(self):
        for db in ("fresh1", "fresh2"):
            self.cluster.psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")
            self.cluster.psql("CREATE DATABASE %s OWNER poczta" % db, db="postgres")
        r = self.poczta_t(self.cluster.conninfo(db="fresh1"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("has no poczta schema: run poczta-admin db migrate", r.stderr)
        r = self.db("migrate", "-d", self.cluster.conninfo(db="fresh1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        versions = self.cluster.psql("SELECT count(*) FROM pz_schema_version", db="fresh1")
        self.assertIn("%s migration" % versions[0][0], r.stdout)
        r = self.db("migrate", "-d", self.cluster.conninfo(db="fresh1"))
        self.assertIn("0 migrations applied", r.stdout)
        self.assertEqual(self.poczta_t(self.cluster.conninfo(db="fresh1")).returncode, 0)
        r = self.poczta_t(self.cluster.conninfo(db="fresh2"), " auto_migrate = yes\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.db("status", "-d", self.cluster.conninfo(db="fresh2"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("usable", r.stdout)

    def test_gc_removes_unreferenced_bodies(self):
        self.store.deliver("demo", b"Subject: kept\r\n\r\nx\r\n")
        self.cluster.psql("INSERT INTO pz_body (sha256, size, data) VALUES "
                          "(sha256('orphan'), 6, 'orphan')")
        conf = os.path.join(self.store.root, "c.conf")
        with open(conf, "w") as f:
            f.write("module postgres {\n conninfo = %s\n}\n" % self.cluster.conninfo())
        r = self.db("gc", "-c", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 unreferenced body removed", r.stdout)
        self.assertEqual(self.cluster.psql("SELECT count(*) FROM pz_body"), [["1"]])


class AuthTest(PgTestCase):
    def test_users_from_the_table(self):
        self.store.add_user("sha256", "pw5", quota=None)
        self.cluster.psql("UPDATE pz_users SET password = '%s' WHERE name = 'sha256'" %
                          subprocess.run(["openssl", "passwd", "-5", "pw5"],
                                         capture_output=True, text=True).stdout.strip())
        self.store.add_user("off", "pw", enabled="false")
        node = self.node()
        rows = [("demo", "demo", b"+OK"), ("demo", "wrong", b"-ERR [AUTH]"),
                ("sha256", "pw5", b"+OK"), ("off", "pw", b"-ERR [AUTH]"),
                ("nobody", "x", b"-ERR [AUTH]")]
        for user, password, want in rows:
            p = poplib.POP3("127.0.0.1", node.pop_port, timeout=30)
            p.user(user)
            try:
                got = p.pass_(password)
            except poplib.error_proto as e:
                got = e.args[0]
            self.assertTrue(got.startswith(want), (user, password, got))
            p.close()

    def test_queries_from_the_config(self):
        self.cluster.psql("CREATE TABLE IF NOT EXISTS site_users (login text PRIMARY KEY, "
                          "hash text, maildir text)", user="poczta")
        self.cluster.psql("INSERT INTO site_users VALUES ('carol@example.org', '%s', "
                          "'postgres:carol-store')" % pzpostgres.crypt_hash("c4rol"))
        extra = (' user_query = "SELECT maildir AS mail FROM site_users WHERE login = $1"\n'
                 ' password_query = "SELECT hash FROM site_users WHERE login = $1"\n')
        node = self.node(module_extra=extra)
        c = node.lmtp()
        self.assertRegex(c.deliver("carol@example.org", message(b"c1")), r"^250 ")
        c.close()
        self.assertEqual(message_ids(node.fetch_all("carol@example.org", "c4rol")), [b"c1"])
        self.assertEqual(self.store.message_count("carol-store"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
