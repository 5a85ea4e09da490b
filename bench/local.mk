# bench/local.mk - POP3, LMTP and IMAP figures next to Dovecot (benchmarks:
# they print numbers and never gate `make check`).  bench/mailload is built
# with the check programs; run the drivers from the build tree, as root:
#     /usr/bin/python3 $(srcdir)/bench/run-pop3-lmtp.py
#     /usr/bin/python3 $(srcdir)/bench/run-imap.py
check_PROGRAMS += bench/mailload
bench_mailload_SOURCES = bench/mailload.c bench/mailload-session.c bench/mailload-imap.c \
	bench/mailload.h
dist_check_SCRIPTS += bench/run-pop3-lmtp.py bench/run-imap.py
EXTRA_DIST += bench/benchlib.py
