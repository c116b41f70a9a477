/* TLS 1.3 for QUIC through GnuTLS and ngtcp2's GnuTLS crypto helper:
 * credentials, session-ticket key and priority shared (read-only) by all
 * lcores; one gnutls session per connection. */
#ifndef QS_TLS_H
#define QS_TLS_H

#include <stdbool.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "base/qs_config.h"

/* Loads cert and key; err names the file and what is wrong. */
int qs_tls_init(const struct qs_config *cfg, char *err, size_t errlen);
void qs_tls_fini(void);
bool qs_tls_enabled(void);

/* Per-lcore 0-RTT anti-replay window (GnuTLS needs one per thread). */
int qs_tls_anti_replay_new(gnutls_anti_replay_t *ar);

/* A server session bound to conn_ref (ngtcp2's crypto helper finds the
 * connection through it). */
int qs_tls_session_new(gnutls_session_t *session, ngtcp2_crypto_conn_ref *ref,
		       gnutls_anti_replay_t ar);
/* After the handshake: a session ticket for resumption and 0-RTT. */
void qs_tls_send_ticket(gnutls_session_t session);

#endif
