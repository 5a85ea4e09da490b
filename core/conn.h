/* core/conn.h - buffered, bounded connection I/O over a socket or TLS.
 *
 * Input is read into a buffer that grows only to the line limit a caller
 * asks for; output is queued in a fixed buffer and written out when it
 * fills, so a slow client cannot make the process grow. */
#ifndef POCZTA_CORE_CONN_H
#define POCZTA_CORE_CONN_H

#include <signal.h>
#include <openssl/ssl.h>
#include <poczta/host.h>

#define PZ_CONN_OUTBUF 65536
#define PZ_CONN_INBUF_MIN 16384

/* pz_conn_new - wrap an accepted socket.  `tls_ctx` (may be NULL) serves
 * STARTTLS and implicit TLS; the pool owns the conn, the fd is closed with it. */
pz_conn *pz_conn_new(pz_pool *pool, int fd, const char *listener, SSL_CTX *tls_ctx,
		     unsigned int timeout_ms);
/* pz_conn_tls_accept - the handshake of an implicit TLS listener. */
int pz_conn_tls_accept(pz_conn *c, const char **error_r);
/* pz_conn_is_local - loopback address or unix socket. */
int pz_conn_is_local(pz_conn *c);
/* pz_conn_stop_flag - the flag SIGTERM sets in a child; reads then return
 * PZ_IO_SHUTDOWN. */
extern volatile sig_atomic_t pz_conn_stopping;

int pz_conn_read_line(pz_conn *c, size_t max, char **line_r, size_t *len_r);
int pz_conn_read(pz_conn *c, void *buf, size_t n);
int pz_conn_write(pz_conn *c, const void *data, size_t len);
int pz_conn_printf(pz_conn *c, const char *fmt, ...) PZ_PRINTF(2, 3);
int pz_conn_flush(pz_conn *c);
void pz_conn_set_timeout(pz_conn *c, unsigned int ms);
size_t pz_conn_input_pending(pz_conn *c);
int pz_conn_wait(pz_conn *c, int fd, int timeout_ms);
int pz_conn_tls_available(pz_conn *c);
int pz_conn_is_tls(pz_conn *c);
int pz_conn_starttls(pz_conn *c, const char **error_r);
const char *pz_conn_peer(pz_conn *c);
const char *pz_conn_local(pz_conn *c);
uint16_t pz_conn_local_port(pz_conn *c);
const char *pz_conn_listener(pz_conn *c);
/* pz_conn_close - flush (briefly), shut TLS down and close the socket. */
void pz_conn_close(pz_conn *c);

#endif
