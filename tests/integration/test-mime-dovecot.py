"""test-mime-dovecot.py - poczta's MIME structure next to Dovecot's.

Real-world MIME test corpora shipped by Debian packages (RECIPES section 6:
libpython3.11-testsuite, golang-github-jhillyerd-enmime-dev,
python3-flufl.bounce) and the hand-written cases in mime-cases/ are
APPENDed to a private Dovecot 2.3 (RECIPES section 3), which is asked for
BODYSTRUCTURE, BODY, ENVELOPE and BODY[n] of every part number; mime-tool
prints the same items from poczta's primitives for the same bytes (line
breaks made CRLF, as stored messages are).  Every difference fails the
test unless mime-known-differences.txt lists it with its reason.

Needs root (Dovecot drops to the mail user) and Dovecot; under CI a missing
Dovecot or corpus fails, elsewhere the test is skipped (exit 77).
"""
import fnmatch
import glob
import imaplib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("top_srcdir", os.path.join(HERE, "..", "..")))
BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
TOOL = os.path.join(BUILD, "tests", "integration", "mime-tool")
ALLOW = os.path.join(SRC, "tests", "integration", "mime-known-differences.txt")
CASES = os.path.join(SRC, "tests", "integration", "mime-cases")
SKIP = 77

# name, glob of the corpus files (RECIPES section 6)
CORPORA = [
    ("cpython", "/usr/lib/python3.11/test/test_email/data/msg_*.txt"),
    ("enmime", "/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata/*/*.raw"),
    ("flufl", "/usr/lib/python3/dist-packages/flufl/bounce/tests/data/*.txt"),
]

# sections fetched per FETCH command
SECTION_BATCH = 50


def need(cond, why):
    if cond:
        return
    if os.environ.get("CI"):
        print("FAIL: " + why)
        sys.exit(1)
    print("SKIP: " + why)
    sys.exit(SKIP)


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d did not open" % port)


class Dovecot:
    """A private Dovecot with one user and IMAP only."""

    def __init__(self, folder):
        self.dir = folder
        self.port = free_port()
        self.conf = os.path.join(folder, "dovecot.conf")
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
        shutil.chown(os.path.join(folder, "mail"), "nobody", "nogroup")
        with open(os.path.join(folder, "users"), "w") as f:
            f.write("alice:{PLAIN}secret::::::\n")
        with open(self.conf, "w") as f:
            f.write("""instance_name = pzmime%(port)d
base_dir = %(d)s/run
state_dir = %(d)s/state
log_path = %(d)s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(d)s/users
}
userdb {
  driver = passwd-file
  args = username_format=%%u %(d)s/users
  default_fields = uid=nobody gid=nogroup home=%(d)s/mail/%%u
}
mail_location = maildir:~/Maildir
first_valid_uid = 1
first_valid_gid = 1
imap_max_line_length = 1M
service imap-login {
  inet_listener imap {
    port = %(port)d
  }
  inet_listener imaps {
    port = 0
  }
}
""" % {"d": folder, "port": self.port})

    def start(self):
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        wait_port(self.port)

    def stop(self):
        subprocess.run(["doveadm", "-c", self.conf, "stop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.dir, "run", "master.pid")
        for _ in range(100):
            if not os.path.exists(pidfile):
                break
            time.sleep(0.05)


# ---- reading IMAP responses

def read_response(m, tag):
    """The untagged lines of one command as they came (literals inline),
    and the tagged status line."""
    data = b""
    while True:
        line = m._get_line()
        if line.startswith(tag + b" "):
            return data, line
        data += line + b"\r\n"
        lit = re.search(rb"\{(\d+)\}$", line)
        if lit:
            data += m.read(int(lit.group(1)))


def command(m, *args):
    tag = m._command(*args)
    return read_response(m, tag)


class Value:
    """One IMAP value: its raw bytes as sent, and for strings the bytes."""

    def __init__(self, raw, data=None):
        self.raw = raw
        self.data = data


def parse_value(buf, i):
    """The value at buf[i:], and the index after it."""
    start = i
    c = buf[i:i + 1]
    if c == b"(":
        i += 1
        while buf[i:i + 1] != b")":
            if buf[i:i + 1] == b" ":
                i += 1
                continue
            _, i = parse_value(buf, i)
        return Value(buf[start:i + 1]), i + 1
    if c == b'"':
        i += 1
        out = b""
        while buf[i:i + 1] != b'"':
            if buf[i:i + 1] == b"\\":
                i += 1
            out += buf[i:i + 1]
            i += 1
        return Value(buf[start:i + 1], out), i + 1
    if c == b"{":
        end = buf.index(b"}", i)
        n = int(buf[i + 1:end])
        data = buf[end + 3:end + 3 + n]
        return Value(buf[start:end + 3 + n], data), end + 3 + n
    j = i
    while j < len(buf) and buf[j:j + 1] not in (b" ", b")", b"("):
        if buf[j:j + 1] == b"[":
            j = buf.index(b"]", j)
        j += 1
    atom = buf[i:j]
    return Value(atom, None if atom.upper() == b"NIL" else atom), j


def fetch_items(data):
    """{item name: Value} of the FETCH responses in data."""
    items = {}
    pos = 0
    while True:
        m = re.compile(rb"\* \d+ FETCH \(").search(data, pos)
        if not m:
            return items
        i = m.end()
        while data[i:i + 1] != b")":
            if data[i:i + 1] == b" ":
                i += 1
                continue
            name, i = parse_value(data, i)
            i += 1
            value, i = parse_value(data, i)
            items[name.raw.decode("latin-1").upper()] = value
        pos = i


# ---- the messages

def crlf(raw):
    """Line breaks as CRLF, as a stored message has them."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def messages():
    """(key, bytes) of every corpus message; mbox files are split."""
    out = []
    for name, pattern in CORPORA:
        files = sorted(glob.glob(pattern))
        need(files, "corpus %s not found (%s): apt-get install -y "
             "libpython3.11-testsuite golang-github-jhillyerd-enmime-dev "
             "python3-flufl.bounce" % (name, pattern))
        base = os.path.commonpath([os.path.dirname(f) for f in files])
        for path in files:
            with open(path, "rb") as f:
                raw = f.read()
            key = "%s/%s" % (name, os.path.relpath(path, base))
            if raw.startswith(b"From "):
                # an mbox: one message per "From " line
                parts = re.split(rb"(?:^|\n)From [^\n]*\n", raw)
                parts = [p for p in parts if p.strip()]
                for n, p in enumerate(parts):
                    out.append(("%s#%d" % (key, n + 1), crlf(p)))
            else:
                out.append((key, crlf(raw)))
    for path in sorted(glob.glob(os.path.join(CASES, "*.eml"))):
        with open(path, "rb") as f:
            out.append(("cases/" + os.path.basename(path), crlf(f.read())))
    return out


def tool_items(tmp, raw):
    """What mime-tool prints for raw: [(name, bytes)] in order."""
    path = os.path.join(tmp, "msg.eml")
    with open(path, "wb") as f:
        f.write(raw)
    out = subprocess.run([TOOL, path], check=True, stdout=subprocess.PIPE).stdout
    items, i = [], 0
    while i < len(out):
        nl = out.index(b"\n", i)
        name, n = out[i:nl].decode().rsplit(" ", 1)
        items.append((name, out[nl + 1:nl + 1 + int(n)]))
        i = nl + 1 + int(n) + 1
    return items


def load_allowed():
    """[(key glob, item glob)] of the documented differences."""
    allowed = []
    with open(ALLOW) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                key, item, _reason = line.split(None, 2)
                allowed.append((key, item))
    return allowed


def is_allowed(allowed, key, item):
    return any(fnmatch.fnmatchcase(key, k) and fnmatch.fnmatchcase(item, i)
               for k, i in allowed)


def show(b):
    s = b.decode("utf-8", "backslashreplace")
    return s if len(s) < 600 else s[:600] + "...(%d bytes)" % len(b)


def main():
    need(os.geteuid() == 0, "needs root to run Dovecot")
    need(shutil.which("dovecot") is not None,
         "dovecot is not installed (apt-get install dovecot-imapd)")
    need(os.path.exists(TOOL), "mime-tool is not built")
    msgs = messages()
    allowed = load_allowed()
    tmp = tempfile.mkdtemp(prefix="pzmime.", dir="/tmp")
    os.chmod(tmp, 0o755)
    dc = Dovecot(tmp)
    stats = {}
    failures = []
    used_allowances = set()
    try:
        dc.start()
        m = imaplib.IMAP4("127.0.0.1", dc.port)
        m.login("alice", "secret")
        m.select("INBOX")
        for key, raw in msgs:
            corpus = key.split("/", 1)[0]
            st = stats.setdefault(corpus, {"messages": 0, "items": 0, "match": 0,
                                           "allowed": 0, "differ": 0, "skipped": 0})
            typ, dat = m.append("INBOX", None, None, raw)
            found = re.search(rb"APPENDUID \d+ (\d+)", dat[0] or b"")
            if typ != "OK" or not found:
                st["skipped"] += 1
                print("skip %s: Dovecot refused the APPEND: %r" % (key, dat))
                continue
            uid = found.group(1).decode()
            st["messages"] += 1
            mine = tool_items(tmp, raw)
            sections = [n.split(" ", 1)[1] for n, _ in mine if n.startswith("SECTION ")]
            data, status = command(m, "UID", "FETCH", uid, "(BODYSTRUCTURE BODY ENVELOPE)")
            theirs = fetch_items(data)
            for i in range(0, len(sections), SECTION_BATCH):
                batch = sections[i:i + SECTION_BATCH]
                data, status = command(m, "UID", "FETCH", uid, "(%s)" % " ".join(
                    "BODY.PEEK[%s]" % s for s in batch))
                theirs.update(fetch_items(data))
            # Dovecot's next part number after the last one must not exist
            for name, value in mine:
                if name.startswith("SECTION "):
                    sec = name.split(" ", 1)[1]
                    got = theirs.get("BODY[%s]" % sec)
                    want = value.replace(b"\0", b"\x80")
                    their = got.data if got is not None and got.data is not None else None
                    if their is None:
                        their = b""
                else:
                    got = theirs.get(name)
                    want = value
                    their = got.raw if got is not None else b"(missing)"
                st["items"] += 1
                if their == want:
                    st["match"] += 1
                elif is_allowed(allowed, key, name):
                    st["allowed"] += 1
                    used_allowances.add((key, name))
                else:
                    st["differ"] += 1
                    failures.append((key, name, want, their))
        m.logout()
    finally:
        dc.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    for key, name, want, their in failures:
        print("DIFF %s %s\n  poczta:  %s\n  dovecot: %s" % (key, name, show(want), show(their)))
    print("\n%-8s %8s %8s %8s %8s %8s %8s" % ("corpus", "messages", "items", "match",
                                              "allowed", "differ", "skipped"))
    total = {}
    for corpus, st in sorted(stats.items()):
        print("%-8s %8d %8d %8d %8d %8d %8d" % (corpus, st["messages"], st["items"],
                                                st["match"], st["allowed"], st["differ"],
                                                st["skipped"]))
        for k, v in st.items():
            total[k] = total.get(k, 0) + v
    print("%-8s %8d %8d %8d %8d %8d %8d" % ("total", total["messages"], total["items"],
                                            total["match"], total["allowed"],
                                            total["differ"], total["skipped"]))
    if failures:
        print("FAIL: %d differences not in %s" % (len(failures), os.path.basename(ALLOW)))
        return 1
    print("ok: every difference is documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
