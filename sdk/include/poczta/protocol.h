/* poczta/protocol.h - what a protocol module (imap, pop3, lmtp) provides.
 *
 * The core accepts a connection on a listener bound to the protocol, forks,
 * drops privileges, runs every module's process_init, then calls session()
 * with the connection.  session() owns the conversation with plain blocking
 * I/O through host->conn_* and returns when the client is gone or said
 * goodbye; the process then exits.  The connection is already TLS when the
 * listener has `tls = implicit`.
 */
#ifndef POCZTA_PROTOCOL_H
#define POCZTA_PROTOCOL_H

#include <poczta/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pz_protocol_ops {
	size_t size;               /* sizeof(struct pz_protocol_ops) */
	const char *name;          /* what `protocol = NAME` in a listener names */
	uint16_t default_port;     /* plain (or STARTTLS) port, 0 for none */
	uint16_t default_tls_port; /* implicit TLS port, 0 for none */
	/* Serve one connection.  `pool` lives as long as the session.
	 * Must not exit or abort; returns when done. */
	void (*session)(pz_module *self, pz_conn *conn, pz_pool *pool);
};

/* poczta-deliver hands a message to the LMTP module over an internal
 * connection whose listener (host->conn_listener) is PZ_DELIVER_LISTENER.
 * Only there may RCPT carry PZ_DELIVER_MAILBOX_PARAM=<xtext mailbox>
 * (RFC 3461 xtext): deliver into that mailbox if it exists, else INBOX. */
#define PZ_DELIVER_LISTENER "poczta-deliver"
#define PZ_DELIVER_MAILBOX_PARAM "X-POCZTA-MAILBOX"

#ifdef __cplusplus
}
#endif
#endif
