"""pzpostgres - a throwaway PostgreSQL cluster for the tests, and the postgres
storage in place of pzfixture's Maildir.

Cluster: initdb into a short temporary folder (as the `postgres` user when
the tests run as root: PostgreSQL refuses root), a unix socket in that
folder, TCP on 127.0.0.1 with scram passwords, fsync off.  create_db() makes
the role `poczta` (password `secret`) and its database `poczta`, and installs
the schema with `poczta-admin db migrate`.  admin() runs poczta-admin with
the build's postgres-admin helper (POCZTA_LIBEXECDIR).  Cluster.replica() makes a streaming standby
of a running cluster (pg_basebackup -R) for failover tests.

PgStore(cluster, root) has the Maildir fixture's interface (root, conf(),
deliver(user, raw)) plus storage-neutral checks (message_count,
seen_count, create_mailbox, break_user/repair_user, break_mailbox/
repair_mailbox), so the POP3 and LMTP
suites run with postgres storage unchanged (test-postgres-suites.py).

Run as a program, it is the unit tests' fixture:
    pzpostgres.py start             prints "DIR CONNINFO" of a new cluster
    pzpostgres.py start-durable     the same with fsync on and without the
                                    tests' helpers (benchmarks)
    pzpostgres.py stop|start-again|restart DIR
    pzpostgres.py sql DIR SQL       runs SQL in the poczta database
    pzpostgres.py destroy DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import free_port  # noqa: E402

BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
ADMIN = os.path.join(BUILD, "core", "poczta-admin")
HELPER_DIR = os.path.join(BUILD, "modules", "postgres")
AS_ROOT = os.geteuid() == 0


def pg_bindir():
    return subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                          check=True).stdout.strip()


PGBIN = pg_bindir()



def admin(*args, timeout=120):
    """Run `poczta-admin ARGS` with this build's postgres-admin helper."""
    env = dict(os.environ, POCZTA_LIBEXECDIR=HELPER_DIR)
    return subprocess.run([ADMIN] + list(args), capture_output=True, text=True,
                          env=env, timeout=timeout)


def as_postgres(args, **kw):
    """Run a PostgreSQL server program as the postgres user."""
    if AS_ROOT:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, **kw)


class Cluster:
    """One throwaway PostgreSQL server."""

    def __init__(self, folder=None, port=None):
        self.dir = folder or tempfile.mkdtemp(prefix="pg.", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        portfile = os.path.join(self.dir, "port")
        if port is None and os.path.exists(portfile):
            with open(portfile) as f:
                port = int(f.read())
        self.port = port or free_port()
        with open(portfile, "w") as f:
            f.write(str(self.port))
        self.durable = os.path.exists(os.path.join(self.dir, "durable"))
        # sessions run unprivileged: the socket folder must be reachable
        os.chmod(self.dir, 0o755)
        if AS_ROOT:
            shutil.chown(self.dir, "postgres", "postgres")

    def initdb(self, extra_conf=""):
        as_postgres([os.path.join(PGBIN, "initdb"), "-D", self.data, "-U", "postgres",
                     "-E", "UTF8", "--locale=C", "--auth-local=trust",
                     "--auth-host=scram-sha-256", "--no-sync"],
                    check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.append_conf(extra_conf)
        return self

    def append_conf(self, text):
        if text:
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                f.write(text)

    def start(self, durable=None):
        """Start the server; fsync is off unless it was made `durable`
        (benchmarks: saves are then on disk when COMMIT returns)."""
        if durable is not None:
            self.durable = durable
        opts = "-k %s -p %d -c listen_addresses=127.0.0.1 -c max_connections=200" % (
            self.dir, self.port)
        if not getattr(self, "durable", False):
            opts += " -c fsync=off -c full_page_writes=off"
        as_postgres([os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                     "-w", "-t", "60", "-o", opts, "start"],
                    check=True, stdout=subprocess.DEVNULL)
        return self

    def stop(self, mode="fast"):
        as_postgres([os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w",
                     "-t", "60", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart(self, mode="fast"):
        self.stop(mode)
        self.start()

    def promote(self):
        as_postgres([os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-w", "promote"],
                    check=True, stdout=subprocess.DEVNULL)

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def destroy(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def conninfo(self, db="poczta", user="poczta"):
        return "host=%s port=%d dbname=%s user=%s" % (self.dir, self.port, db, user)

    def tcp_conninfo(self, db="poczta", user="poczta", password="secret"):
        return "host=127.0.0.1 port=%d dbname=%s user=%s password=%s" % (
            self.port, db, user, password)

    def psql(self, sql, db="poczta", user="postgres", check=True):
        """Run SQL; rows come back as lists of strings ('|' separated).
        Long SQL (a big message to deliver) goes through standard input:
        an argument is limited in size."""
        args = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                "-p", str(self.port), "-U", user, "-d", db]
        long_sql = len(sql) > 65536
        r = subprocess.run(args + ["-f", "-"] if long_sql else args + ["-c", sql],
                           input=sql if long_sql else None, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql[:200], r.stderr))
        return [line.split("|") for line in r.stdout.splitlines() if line != ""]

    def create_db(self, test_functions=True):
        """The role, the database and the schema; with `test_functions`
        also the tests' helpers (pz_test_deliver, and a trigger on every
        insert into pz_message that benchmarks must not pay for)."""
        self.psql("CREATE ROLE poczta LOGIN PASSWORD 'secret'", db="postgres")
        self.psql("CREATE DATABASE poczta OWNER poczta", db="postgres")
        r = admin("db", "migrate", "-d", self.conninfo())
        if r.returncode != 0:
            raise RuntimeError("poczta-admin db migrate: " + r.stdout + r.stderr)
        if test_functions:
            self.psql(TEST_FUNCTIONS, user="poczta")
        return self

    def replica(self):
        """A streaming standby of this (running) cluster, started."""
        # initdb's defaults (wal_level replica, local replication trusted)
        r = Cluster()
        as_postgres([os.path.join(PGBIN, "pg_basebackup"), "-h", self.dir, "-p",
                     str(self.port), "-U", "postgres", "-D", r.data, "-R", "-X", "stream",
                     "-c", "fast", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
        return r.start()


class ClusterTestCase(unittest.TestCase):
    """Tests that share one cluster (self.cluster, with the schema), made
    once per class."""

    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().initdb().start().create_db()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.destroy()


# A delivery done straight in SQL, as an outside delivery agent would: what
# the Maildir fixture's deliver() is for maildir.  Test databases only.
TEST_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION pz_test_deliver(p_user text, p_raw bytea,
                                           p_mailbox text DEFAULT 'INBOX')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE a bigint; mb bigint; u bigint; ms bigint; b bigint;
BEGIN
  INSERT INTO pz_account (name) VALUES (p_user) ON CONFLICT (name) DO NOTHING;
  SELECT id INTO a FROM pz_account WHERE name = p_user;
  INSERT INTO pz_mailbox (account_id, name) VALUES (a, 'INBOX') ON CONFLICT DO NOTHING;
  INSERT INTO pz_mailbox (account_id, name) VALUES (a, p_mailbox) ON CONFLICT DO NOTHING;
  UPDATE pz_mailbox SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1
    WHERE account_id = a AND name = p_mailbox
    RETURNING id, uidnext - 1, highestmodseq INTO mb, u, ms;
  INSERT INTO pz_body (sha256, size, data) VALUES (sha256(p_raw), length(p_raw), p_raw)
    ON CONFLICT (sha256) DO NOTHING;
  SELECT id INTO b FROM pz_body WHERE sha256 = sha256(p_raw);
  INSERT INTO pz_message (mailbox_id, uid, body_id, flags, modseq, size, internal_date)
    VALUES (mb, u, b, 0, ms, length(p_raw), extract(epoch FROM now())::bigint);
  UPDATE pz_account SET bytes_used = bytes_used + length(p_raw),
    messages_used = messages_used + 1 WHERE id = a;
  PERFORM pg_notify('pz_mb_' || mb, '');
  RETURN u;
END $$;
CREATE TABLE IF NOT EXISTS pz_test_broken (name text PRIMARY KEY);
CREATE OR REPLACE FUNCTION pz_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pz_mailbox m JOIN pz_account a ON a.id = m.account_id
             JOIN pz_test_broken t ON t.name = a.name WHERE m.id = NEW.mailbox_id) THEN
    RAISE EXCEPTION 'test: storage of this user is broken';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS pz_test_fail ON pz_message;
CREATE TRIGGER pz_test_fail BEFORE INSERT ON pz_message
  FOR EACH ROW EXECUTE FUNCTION pz_test_fail();
CREATE TABLE IF NOT EXISTS pz_test_broken_mailbox (id bigint PRIMARY KEY);
CREATE OR REPLACE FUNCTION pz_test_readable(p_mailbox bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pz_test_broken_mailbox WHERE id = p_mailbox) THEN
    RAISE EXCEPTION 'test: this mailbox is broken';
  END IF;
  RETURN true;
END $$;
DROP POLICY IF EXISTS pz_test_readable ON pz_mailbox;
CREATE POLICY pz_test_readable ON pz_mailbox USING (pz_test_readable(id));
"""


def crlf(raw):
    """What the module stores: a CR before every LF that lacks one."""
    out = bytearray()
    prev = None
    for c in raw:
        if c == 0x0A and prev != 0x0D:
            out.append(0x0D)
        out.append(c)
        prev = c
    return bytes(out)


def sql_text(s):
    """A string literal for psql (test data only, never client input)."""
    return "'" + s.replace("'", "''") + "'"


def parse_size(s):
    mult = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    s = s.strip().lower()
    if s and s[-1] in mult:
        return int(s[:-1]) * mult[s[-1]]
    return int(s)


def crypt_hash(password):
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                          capture_output=True, text=True, check=True).stdout.strip()


class PgStore:
    """The postgres storage behind a test's Poczta, with Maildir's interface.

    `root` is a real folder (tests make folders below it); the users of the
    test's passwd file (next to it) are copied into pz_users at conf()."""

    def __init__(self, cluster, root, reset=True):
        self.cluster = cluster
        self.root = root
        os.makedirs(root, exist_ok=True)
        if reset:
            cluster.psql("TRUNCATE pz_account, pz_body, pz_users, pz_test_broken, "
                         "pz_test_broken_mailbox CASCADE; "
                         "ALTER TABLE pz_mailbox DISABLE ROW LEVEL SECURITY")

    def module_conf(self, extra=""):
        return "module postgres {\n conninfo = %s\n%s}\n" % (self.cluster.conninfo(), extra)

    def conf(self, extra=""):
        """The storage's config; `extra` goes into its module section."""
        self.load_users(os.path.join(os.path.dirname(self.root), "users"))
        return "storage = postgres\nauth = postgres\n" + self.module_conf(extra)

    def load_users(self, path):
        """Copy a Dovecot-style passwd file ({PLAIN} passwords) into pz_users."""
        if not os.path.exists(path):
            return
        rows = []
        with open(path) as f:
            lines = f.read().splitlines()
        for line in lines:
            parts = line.split(":")
            if len(parts) < 2 or not parts[0]:
                continue
            name, password = parts[0], parts[1]
            if password.startswith("{PLAIN}"):
                password = crypt_hash(password[len("{PLAIN}"):])
            fields = dict(f.split("=", 1) for f in (parts[7] if len(parts) > 7 else "").split()
                          if "=" in f)
            quota = parse_size(fields["quota"]) if "quota" in fields else None
            rows.append("(%s, %s, %s)" % (sql_text(name), sql_text(password),
                                          "NULL" if quota is None else str(quota)))
        if rows:
            self.cluster.psql("INSERT INTO pz_users (name, password, quota) VALUES %s "
                              "ON CONFLICT (name) DO UPDATE SET password = EXCLUDED.password, "
                              "quota = EXCLUDED.quota" % ", ".join(rows))

    def add_user(self, name, password, **fields):
        cols = ["name", "password"] + list(fields)
        vals = [sql_text(name), sql_text(crypt_hash(password))] + [
            "NULL" if v is None else sql_text(str(v)) for v in fields.values()]
        self.cluster.psql("INSERT INTO pz_users (%s) VALUES (%s)" % (", ".join(cols),
                                                                    ", ".join(vals)))

    def deliver(self, user, raw, mailbox="INBOX", date=None):
        """Store a message for USER straight in SQL (an outside MDA); `date`
        (seconds since the epoch) is its internal date, else now."""
        data = crlf(raw)
        uid = int(self.cluster.psql("SELECT pz_test_deliver(%s, decode('%s', 'hex'), %s)"
                                    % (sql_text(user), data.hex(), sql_text(mailbox)))[0][0])
        if date is not None:
            self.cluster.psql(
                "UPDATE pz_message SET internal_date = %d, internal_date_tz = 0 WHERE uid = %d "
                "AND mailbox_id = (SELECT b.id FROM pz_mailbox b JOIN pz_account a ON "
                "a.id = b.account_id WHERE a.name = %s AND b.name = %s)"
                % (int(date), uid, sql_text(user), sql_text(mailbox)))
        return uid

    # ---- storage-neutral checks (the same methods exist for Maildir)

    def messages(self, user, mailbox="INBOX"):
        """(uid, flags) of every message, in UID order."""
        rows = self.cluster.psql(
            "SELECT m.uid, m.flags FROM pz_message m JOIN pz_mailbox b ON b.id = m.mailbox_id "
            "JOIN pz_account a ON a.id = b.account_id WHERE a.name = %s AND b.name = %s "
            "ORDER BY m.uid" % (sql_text(user), sql_text(mailbox)))
        return [(int(u), int(f)) for u, f in rows]

    def message_count(self, user, mailbox="INBOX"):
        return len(self.messages(user, mailbox))

    def seen_count(self, user, mailbox="INBOX"):
        return sum(1 for _, f in self.messages(user, mailbox) if f & 1)

    def create_mailbox(self, user, name):
        self.cluster.psql(
            "INSERT INTO pz_account (name) VALUES (%s) ON CONFLICT DO NOTHING; "
            "INSERT INTO pz_mailbox (account_id, name) SELECT id, %s FROM pz_account "
            "WHERE name = %s ON CONFLICT DO NOTHING" % (sql_text(user), sql_text(name),
                                                       sql_text(user)))

    def delete_mailbox(self, user, name):
        self.cluster.psql(
            "DELETE FROM pz_mailbox WHERE name = %s AND account_id = "
            "(SELECT id FROM pz_account WHERE name = %s)" % (sql_text(name), sql_text(user)))

    def break_user(self, user):
        """Make saving for USER fail as a broken storage would."""
        self.cluster.psql("INSERT INTO pz_test_broken VALUES (%s) ON CONFLICT DO NOTHING"
                          % sql_text(user))

    def repair_user(self, user):
        self.cluster.psql("DELETE FROM pz_test_broken WHERE name = %s" % sql_text(user))

    def break_mailbox(self, user, name):
        """Make opening one mailbox of USER fail (a row-level security
        policy that raises an error, enabled while a mailbox is broken)."""
        self.cluster.psql(
            "INSERT INTO pz_test_broken_mailbox SELECT b.id FROM pz_mailbox b JOIN pz_account a "
            "ON a.id = b.account_id WHERE a.name = %s AND b.name = %s ON CONFLICT DO NOTHING; "
            "ALTER TABLE pz_mailbox ENABLE ROW LEVEL SECURITY; "
            "ALTER TABLE pz_mailbox FORCE ROW LEVEL SECURITY" % (sql_text(user), sql_text(name)))

    def repair_mailbox(self, user, name):
        self.cluster.psql(
            "DELETE FROM pz_test_broken_mailbox WHERE id IN (SELECT b.id FROM pz_mailbox b "
            "JOIN pz_account a ON a.id = b.account_id WHERE a.name = %s AND b.name = %s)"
            % (sql_text(user), sql_text(name)))
        if not self.cluster.psql("SELECT 1 FROM pz_test_broken_mailbox LIMIT 1"):
            self.cluster.psql("ALTER TABLE pz_mailbox NO FORCE ROW LEVEL SECURITY; "
                              "ALTER TABLE pz_mailbox DISABLE ROW LEVEL SECURITY")


def main(argv):
    if len(argv) == 2 and argv[1] in ("start", "start-durable"):
        c = Cluster()
        if argv[1] == "start-durable":
            open(os.path.join(c.dir, "durable"), "w").close()
        durable = argv[1] == "start-durable"
        c.initdb().start(durable=durable).create_db(test_functions=not durable)
        print(c.dir, c.conninfo())
        return 0
    if len(argv) == 3 and argv[1] in ("stop", "start-again", "restart", "destroy"):
        c = Cluster(argv[2])
        {"stop": c.stop, "start-again": c.start, "restart": c.restart,
         "destroy": c.destroy}[argv[1]]()
        return 0
    if len(argv) == 4 and argv[1] == "sql":
        for row in Cluster(argv[2]).psql(argv[3]):
            print("|".join(row))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
