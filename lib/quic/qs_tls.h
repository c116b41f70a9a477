/* TLS 1.3 for QUIC through GnuTLS and ngtcp2's GnuTLS crypto helper:
 * session-ticket key and priority set once at start, certificate
 * credentials loaded at start and again on each reload, all shared
 * read-only by the lcores; one gnutls session per connection. A session
 * holds the credentials it was made with (base/qs_holds.h) until it is
 * freed, so a reload frees old credentials after their last handshake. */
#ifndef QS_TLS_H
#define QS_TLS_H

#include <stdbool.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "base/qs_config.h"
#include "base/qs_holds.h"

/* A certificate chain and its key. */
struct qs_tls_creds {
	struct qs_holds holds;           /* sessions made with them, per worker */
	gnutls_certificate_credentials_t cert;
	gnutls_privkey_t key;            /* cert's, borrowed: NULL when GnuTLS
					  * signs with its own copy */
	const char *signer;              /* "OpenSSL" or "GnuTLS" */
};

/* Priority and session-ticket key, when cfg names a certificate (else TLS
 * stays off: qs_tls_enabled is false); err says what is wrong. */
int qs_tls_init(const struct qs_config *cfg, char *err, size_t errlen);
void qs_tls_fini(void);
bool qs_tls_enabled(void);

/* Reads cfg's cert and key, with holds for n_workers; NULL with err naming
 * the files and what is wrong. With [tls] signer = openssl (the
 * default), an ECDSA key (P-256, P-384, P-521) signs the handshakes
 * through OpenSSL's libcrypto: a P-256 signature takes 18 us there
 * against 42 in GnuTLS's nettle, and each full handshake makes one.
 * Other keys, or one OpenSSL cannot read, stay with GnuTLS. */
struct qs_tls_creds *qs_tls_creds_load(const struct qs_config *cfg,
				       uint16_t n_workers, char *err,
				       size_t errlen);
/* NULL is harmless. */
void qs_tls_creds_free(struct qs_tls_creds *creds);

/* Per-lcore 0-RTT anti-replay window (GnuTLS needs one per thread). */
int qs_tls_anti_replay_new(gnutls_anti_replay_t *ar);

/* A server session with creds, bound to conn_ref (ngtcp2's crypto helper
 * finds the connection through it); the caller holds creds while the
 * session lives. */
int qs_tls_session_new(gnutls_session_t *session, ngtcp2_crypto_conn_ref *ref,
		       gnutls_anti_replay_t ar,
		       const struct qs_tls_creds *creds);
/* After the handshake: a session ticket for resumption and 0-RTT. */
void qs_tls_send_ticket(gnutls_session_t session);

#endif
