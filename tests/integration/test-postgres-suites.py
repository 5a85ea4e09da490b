"""The POP3, LMTP and IMAP suites again, with postgres storage and postgres
users, against a PostgreSQL this module starts.

test-pop3.py, test-lmtp.py, test-imap.py, test-imap-messages.py,
test-imap-concurrency.py and test-imap-clients.py are loaded as they are,
and every TestCase class in them runs again here (as Pg<Name>) with their
Maildir fixture replaced by pzpostgres.PgStore: the mail store and the users
(copied from the test's passwd file, with crypt(3) hashes) are in the
database; the config says `storage = postgres` and `auth = postgres`, and
the IMAP suites' `autocreate` goes into the postgres module's section
(pzfixture.imap_config).  No test is left out.  The IMAP suites need no
shim: they only reach the store through deliver() and the IMAP protocol.

A few tests look at maildir files on disk.  Until they use the
storage-neutral checks at the end of pzfixture.py (message_count,
seen_count, create_mailbox, break_user/repair_user, break_mailbox/
repair_mailbox; PgStore has the same), two shims show them the database as
a maildir, for paths below the store's root only:
  glob.glob   ROOT/USER[/.Folder]/cur/* lists the mailbox's messages as
              "UID:2,FLAGS" names, and new/* is empty: test-pop3's
              test_uidl_stable_and_dele_at_quit and test_retr_sets_seen_at_quit,
              and test-lmtp's files() helper (test_bad_input, test_verdicts,
              test_size_and_recipient_limits, test_failing_filter_fails_open,
              test_detail_delivers_into_existing_folder, test_poczta_deliver);
  os          os.makedirs(ROOT/USER/.Folder/...) creates the mailbox
              (test_poczta_deliver, test_detail_delivers_into_existing_folder,
              test_relogin_after_failed_maildrop_open); os.chmod(ROOT/USER, 0)
              makes saving for the user fail until it is chmod'ed back
              (test_storage_failure_is_temporary), os.chmod(ROOT/USER/.Folder,
              0) makes opening that mailbox fail
              (test_relogin_after_failed_maildrop_open).
"""
import glob as real_glob
import importlib.util
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pzpostgres  # noqa: E402

CLUSTER = None
STORES = {}   # root folder -> PgStore of the running test


def load(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, filename))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_store(root):
    """What the suites call as Maildir(root)."""
    STORES.clear()
    store = pzpostgres.PgStore(CLUSTER, root)
    STORES[root] = store
    return store


def store_of(path):
    """(store, [path parts below its root]) or (None, None)."""
    for root, store in STORES.items():
        if path.startswith(root + "/"):
            return store, [p for p in path[len(root) + 1:].split("/") if p]
    return None, None


FLAG_LETTERS = ((16, "D"), (4, "F"), (2, "R"), (1, "S"), (8, "T"))


class GlobShim:
    """glob.glob that lists a PgStore mailbox as a maildir's cur/."""

    def glob(self, pattern, **kw):
        store, parts = store_of(pattern)
        if store is None or len(parts) < 3 or parts[-1] != "*" or \
                parts[-2] not in ("cur", "new"):
            return real_glob.glob(pattern, **kw)
        user, folder, sub = parts[0], parts[1:-2], parts[-2]
        if sub == "new":
            return []
        mailbox = folder[0][1:].replace(".", "/") if folder else "INBOX"
        return [os.path.join(store.root, user, *folder, "cur", "%d:2,%s" % (
            uid, "".join(letter for bit, letter in FLAG_LETTERS if flags & bit)))
            for uid, flags in store.messages(user, mailbox)]


class OsShim:
    """os, except folders made and permissions changed below a PgStore."""

    def __getattr__(self, name):
        return getattr(os, name)

    def makedirs(self, path, *args, **kw):
        store, parts = store_of(path)
        if store is not None and len(parts) >= 2 and parts[1].startswith("."):
            store.create_mailbox(parts[0], parts[1][1:].replace(".", "/"))
        return os.makedirs(path, *args, **kw)

    def chmod(self, path, mode, *args, **kw):
        store, parts = store_of(path)
        if store is not None and len(parts) == 1:
            (store.break_user if mode == 0 else store.repair_user)(parts[0])
            return None
        if store is not None and len(parts) == 2 and parts[1].startswith("."):
            name = parts[1][1:].replace(".", "/")
            (store.break_mailbox if mode == 0 else store.repair_mailbox)(parts[0], name)
            return None
        return os.chmod(path, mode, *args, **kw)


def adopt(filename):
    """Load a suite over postgres storage; its TestCase classes become
    Pg<Name> classes of this module (only those are run here)."""
    suite = load("pz_suite_" + filename[:-3].replace("-", "_"), filename)
    suite.Maildir = make_store
    suite.glob = GlobShim()
    suite.os = OsShim()
    for name, cls in list(vars(suite).items()):
        if isinstance(cls, type) and issubclass(cls, unittest.TestCase) and \
                cls.__module__ == suite.__name__:
            globals()["Pg" + name] = type("Pg" + name, (cls,), {})


adopt("test-pop3.py")
adopt("test-lmtp.py")
adopt("test-imap.py")
adopt("test-imap-messages.py")
adopt("test-imap-concurrency.py")
adopt("test-imap-clients.py")


def setUpModule():
    global CLUSTER
    CLUSTER = pzpostgres.Cluster().initdb().start().create_db()


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.destroy()


if __name__ == "__main__":
    unittest.main(verbosity=2)
