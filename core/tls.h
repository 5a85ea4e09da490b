/* core/tls.h - TLS contexts (OpenSSL 3), loaded in the master as root. */
#ifndef POCZTA_CORE_TLS_H
#define POCZTA_CORE_TLS_H

#include <openssl/ssl.h>

/* pz_tls_context - a server context for cert/key with the configured minimum
 * protocol and ciphers.  NULL with *error_r (malloc'd) naming the file when
 * a file is missing, unreadable, or the key does not match. */
SSL_CTX *pz_tls_context(const char *cert, const char *key, const char *min_protocol,
			const char *ciphers, char **error_r);

#endif
