/* core/listener.h - listening sockets from `listener NAME { }` sections. */
#ifndef POCZTA_CORE_LISTENER_H
#define POCZTA_CORE_LISTENER_H

#include <openssl/ssl.h>
#include "registry.h"

#define PZ_LISTEN_BACKLOG 128

struct pz_listener {
	char *name;        /* section name */
	char *address;     /* one address of the section, as written */
	int fd;
	int implicit_tls;
	SSL_CTX *tls_ctx;  /* NULL when no certificate applies */
	unsigned int timeout_ms;
	mode_t unix_mode;
	struct pz_module *module;
	const struct pz_protocol_ops *protocol;
};

/* pz_listeners_build - one pz_listener per address of every listener
 * section, with protocol and TLS resolved, sockets not yet open. */
int pz_listeners_build(const struct pz_config *cfg, struct pz_listener **ls_r,
		       size_t *n_r, char **error_r);
/* pz_listeners_open - bind every listener without an fd; an fd of `old`
 * with the same address is taken over instead of binding again. */
int pz_listeners_open(struct pz_listener *ls, size_t n, struct pz_listener *old,
		      size_t n_old, char **error_r);
/* pz_listeners_free - close the fds that are still >= 0 and free. */
void pz_listeners_free(struct pz_listener **ls, size_t *n);

#endif
