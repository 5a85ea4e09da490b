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
	unsigned int per_process;  /* connections a process serves; 0: no limit */
	unsigned int min_avail;    /* processes kept waiting for a connection */
	struct pz_module *module;
	const struct pz_protocol_ops *protocol;
};

/* pz_listener_reuses - whether its connections go to long-lived worker
 * processes (reused or pre-forked) instead of one fork each. */
static inline int pz_listener_reuses(const struct pz_listener *l)
{
	return l->per_process != 1 || l->min_avail > 0;
}

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
