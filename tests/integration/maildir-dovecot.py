"""maildir-dovecot.py - poczta's maildir storage next to a real Dovecot.

Debian's Dovecot (dovecot-imapd, dovecot-lmtpd) runs privately on free
ports of 127.0.0.1 (RECIPES "Reference IMAP/POP3/LMTP server"), gets mail
over LMTP and IMAP APPEND, flags and keywords over IMAP and an expunge, so
that it writes its own maildir, dovecot-uidlist and dovecot-keywords.  Then
poczta opens that maildir (tests/integration/maildir-tool) and must see:
  - the same UIDVALIDITY and UIDs (imported from dovecot-uidlist),
  - the same flags and keywords (from the file names and dovecot-keywords);
and after that, in both directions, flags one side changes are seen by the
other, and a message poczta saves is seen by Dovecot.

Needs root (Dovecot drops to the mail user) and Dovecot installed; under
CI a missing Dovecot fails, elsewhere the test is skipped (exit 77).
"""
import imaplib
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pzfixture import free_port  # noqa: E402

BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
TOOL = os.path.join(BUILD, "tests", "integration", "maildir-tool")
MODDIR = os.path.join(BUILD, "tests", "moddir")
SKIP = 77
# the tool writes as the mail user, as the daemon's children would
os.environ["MAILDIR_TOOL_USER"] = "nobody"

IMAP_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R",
                "\\Seen": "S", "\\Deleted": "T"}


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
    def __init__(self, folder):
        self.dir = folder
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.conf = os.path.join(folder, "dovecot.conf")
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
        shutil.chown(os.path.join(folder, "mail"), "nobody", "nogroup")
        with open(os.path.join(folder, "users"), "w") as f:
            f.write("alice:{PLAIN}secret::::::\n")
        with open(self.conf, "w") as f:
            f.write("""instance_name = pzdovecot%(port)d
base_dir = %(d)s/run
state_dir = %(d)s/state
log_path = %(d)s/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %%Ln
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
service imap-login {
  inet_listener imap {
    port = %(port)d
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    port = %(lmtp)d
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.org
}
""" % {"d": folder, "port": self.imap_port, "lmtp": self.lmtp_port})

    def start(self):
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        wait_port(self.imap_port)
        wait_port(self.lmtp_port)

    def stop(self):
        subprocess.run(["doveadm", "-c", self.conf, "stop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.dir, "run", "master.pid")
        for _ in range(100):
            if not os.path.exists(pidfile):
                break
            time.sleep(0.05)

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.imap_port)
        m.login("alice", "secret")
        return m


def deliver(port, n):
    lmtp = smtplib.LMTP("127.0.0.1", port)
    for i in range(n):
        msg = ("From: sender@example.org\r\nTo: alice@example.org\r\n"
               "Subject: lmtp %d\r\n\r\nbody %d\r\n" % (i, i))
        lmtp.sendmail("sender@example.org", ["alice@example.org"], msg)
    lmtp.quit()


def imap_state(m, mailbox):
    """(uidvalidity, {uid: (letters, keywords)}) as Dovecot reports it."""
    typ, _ = m.select('"%s"' % mailbox)
    assert typ == "OK"
    uidvalidity = int(m.untagged_responses["UIDVALIDITY"][-1])
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    msgs = {}
    for item in data:
        if item is None:
            continue
        text = item.decode() if isinstance(item, bytes) else item[0].decode()
        uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
        flags = text.split("FLAGS (")[1].split(")")[0].split()
        letters = "".join(sorted(IMAP_LETTERS[f] for f in flags
                                 if f in IMAP_LETTERS)) or "-"
        kws = ",".join(sorted(f for f in flags if not f.startswith("\\"))) or "-"
        msgs[uid] = (letters, kws)
    return uidvalidity, msgs


def poczta_state(conf, mailbox):
    out = subprocess.run([TOOL, conf, "alice", "uids", mailbox], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    uidvalidity = int(out[0].split()[1])
    msgs = {}
    for line in out[1:]:
        uid, letters, kws = line.split()
        kws = ",".join(sorted(kws.split(","))) if kws != "-" else "-"
        msgs[int(uid)] = (letters, kws)
    return uidvalidity, msgs


def compare(what, got, want):
    if got != want:
        print("FAIL %s:\n  poczta: %r\n  dovecot: %r" % (what, got, want))
        sys.exit(1)
    print("ok %s" % what)


def main():
    need(os.geteuid() == 0, "needs root (Dovecot drops privileges)")
    need(shutil.which("dovecot") is not None,
         "dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
    need(os.path.exists(TOOL), "maildir-tool is not built")
    folder = tempfile.mkdtemp(prefix="pzdv.", dir="/tmp")
    os.chmod(folder, 0o755)
    dv = Dovecot(folder)
    conf = os.path.join(folder, "poczta.conf")
    with open(conf, "w") as f:
        f.write("module_dir = %s\nmodule maildir {\n"
                "  location = maildir:%s/mail/%%u/Maildir\n}\n" % (MODDIR, folder))
    try:
        dv.start()
        deliver(dv.lmtp_port, 6)
        m = dv.imap()
        m.create("Archive")
        m.create("Lists.Pocztą".encode("utf-7").decode().replace("+", "&"))
        m.subscribe("Archive")
        m.subscribe("Lists.Pocztą".encode("utf-7").decode().replace("+", "&"))
        for i in range(3):
            m.append("Archive", "(\\Seen)", None,
                     b"Subject: archived %d\r\n\r\nold\r\n" % i)
        m.select("INBOX")
        m.uid("STORE", "1", "+FLAGS", "(\\Seen $Label1)")
        m.uid("STORE", "3", "+FLAGS", "(\\Flagged \\Answered NonJunk)")
        m.uid("STORE", "4", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.uid("STORE", "5", "+FLAGS", "(\\Draft $Label1)")
        want_inbox = imap_state(m, "INBOX")
        want_archive = imap_state(m, "Archive")
        m.logout()
        dv.stop()

        compare("INBOX UIDs and flags after import",
                poczta_state(conf, "INBOX"), want_inbox)
        compare("Archive UIDs and flags after import",
                poczta_state(conf, "Archive"), want_archive)
        listed = {}
        for line in subprocess.run([TOOL, conf, "alice", "list"], check=True,
                                   capture_output=True,
                                   text=True).stdout.splitlines():
            name, attrs, _ = line.rsplit(" ", 2)
            listed[name] = int(attrs, 16)
        subscribed = sorted(n for n, a in listed.items() if a & 0x8)
        compare("mailboxes and subscriptions Dovecot made",
                (sorted(listed), subscribed),
                (["Archive", "INBOX", "Lists", "Lists/Pocztą"],
                 ["Archive", "Lists/Pocztą"]))

        # poczta changes flags and saves a message; Dovecot must see both
        subprocess.run([TOOL, conf, "alice", "store", "INBOX", "2", "+", "RF"],
                       check=True)
        msgfile = os.path.join(folder, "new.eml")
        with open(msgfile, "wb") as f:
            f.write(b"Subject: from poczta\n\nhello dovecot\n")
        subprocess.run([TOOL, conf, "alice", "append", "INBOX", msgfile, "S"],
                       check=True, capture_output=True)
        dv.start()
        m = dv.imap()
        _, msgs = imap_state(m, "INBOX")
        compare("flags poczta stored, seen by Dovecot", msgs[2][0], "FR")
        typ, data = m.uid("SEARCH", 'SUBJECT "from poczta"')
        compare("message poczta saved, seen by Dovecot", len(data[0].split()), 1)
        # Dovecot renames a file with new flags; poczta sees them
        m.uid("STORE", "1", "-FLAGS", "(\\Seen)")
        m.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
        m.logout()
        dv.stop()
        _, msgs = poczta_state(conf, "INBOX")
        compare("flags Dovecot changed, seen by poczta", msgs[1], ("F", "$Label1"))
    finally:
        dv.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(folder, ignore_errors=True)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
