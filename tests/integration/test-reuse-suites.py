"""The POP3, LMTP and IMAP suites again, with reused connection processes.

Every listener of every test gets `connections_per_process = 0` and
`process_min_avail = 2` (pzfixture reads POCZTA_TEST_LISTENER_SETTINGS),
so one process serves connection after connection, of one user and then
of another: whatever a session leaves behind in its process (a lock, an
open mailbox, a logged-in user, a buffered byte) shows up as a failure of
the next test that lands in the same process.  The suites are loaded as
they are; their TestCase classes run here as Reuse<Name>.
"""
import importlib.util
import os
import sys
import unittest

os.environ["POCZTA_TEST_LISTENER_SETTINGS"] = \
    " connections_per_process = 0\n process_min_avail = 2\n"

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def adopt(filename):
    name = "pz_suite_" + filename[:-3].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, filename))
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    for cname, cls in list(vars(suite).items()):
        if isinstance(cls, type) and issubclass(cls, unittest.TestCase) and \
                cls.__module__ == suite.__name__:
            globals()["Reuse" + cname] = type("Reuse" + cname, (cls,), {})


for f in ("test-pop3.py", "test-lmtp.py", "test-imap.py", "test-imap-messages.py",
          "test-imap-concurrency.py"):
    adopt(f)


if __name__ == "__main__":
    unittest.main(verbosity=2)
