/* core/tls.c - TLS server contexts: TLS 1.2 minimum, system cipher policy. */
#include "config-core.h"
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include "tls.h"

/* tls_error - "what: file: openssl's reason", malloc'd. */
static char *tls_error(const char *what, const char *file)
{
	char buf[1024], reason[256];
	unsigned long e = ERR_peek_last_error();

	ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(buf, sizeof(buf), "%s %s: %s", what, file != NULL ? file : "", reason);
	return strdup(buf);
}

SSL_CTX *pz_tls_context(const char *cert, const char *key, const char *min_protocol,
			const char *ciphers, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int min = min_protocol != NULL && strcmp(min_protocol, "TLSv1.3") == 0 ?
		TLS1_3_VERSION : TLS1_2_VERSION;

	if (ctx == NULL) {
		*error_r = tls_error("SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		*error_r = tls_error("ssl_ciphers", ciphers);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*error_r = tls_error("ssl_cert: cannot load certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			goto mismatch;
		*error_r = tls_error("ssl_key: cannot load private key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto mismatch;
	return ctx;
mismatch:
	{
		char buf[1024];

		ERR_clear_error();
		snprintf(buf, sizeof(buf), "ssl_key %s does not match the certificate in ssl_cert %s",
			 key, cert);
		*error_r = strdup(buf);
	}
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
