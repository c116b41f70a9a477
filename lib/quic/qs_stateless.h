/* The server side that is not a connection: what to answer for a QUIC
 * packet no connection claims (stateless reset today; Version Negotiation
 * and Retry with the QUIC stack). Secrets are shared by all lcores so any
 * lcore computes the same token, but only the owner ever sends. */
#ifndef QS_ENDPOINT_H
#define QS_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ngtcp2/ngtcp2.h>

#include "base/qs_config.h"

/* RFC 9000 10.3: 5 unpredictable bytes and a 16-byte token at least */
#define QS_RESET_MIN_LEN 21
/* a reset this long looks like any short-header packet */
#define QS_RESET_MAX_LEN 43

/* Installs the shared secret (from the configuration, or random). */
int qs_stateless_init(const struct qs_config *cfg);

/* Length of the reset to send for a trigger of trigger_len bytes, or 0 when
 * the trigger is too short to answer (21 bytes or fewer). */
size_t qs_stateless_reset_len(size_t trigger_len);

/* Writes a stateless reset of len bytes for dcid at out (out may overlap
 * the trigger: dcid is read first). Returns 0, or -1. */
int qs_stateless_write_reset(uint8_t *out, size_t len, const uint8_t *dcid,
			    size_t dcid_len);

/* The stateless reset token of a CID: the first 16 bytes of
 * HMAC-SHA256(reset_secret, QS_RESET_TOKEN_LABEL || CID), the same on every
 * lcore and, with a configured reset_secret, on every node of the same
 * version. 0, or -1 for a CID over 20 bytes. */
#define QS_RESET_TOKEN_LABEL "quicsteer stateless reset"
int qs_stateless_reset_token(uint8_t *token, const uint8_t *cid, size_t cid_len);

/* Version Negotiation in answer to a long header of a version we do not
 * speak (dcid/scid as the client sent them). Returns its length or -1. */
ssize_t qs_stateless_write_vn(uint8_t *out, size_t outlen, const uint8_t *dcid,
			     size_t dcid_len, const uint8_t *scid,
			     size_t scid_len);

/* Retry for Initial hd from remote, moving the client to retry_scid. */
ssize_t qs_stateless_write_retry(uint8_t *out, size_t outlen,
				const ngtcp2_pkt_hd *hd,
				const struct sockaddr *remote, socklen_t addrlen,
				const ngtcp2_cid *retry_scid);

/* Stateless CONNECTION_CLOSE in an Initial, e.g. CONNECTION_REFUSED. */
ssize_t qs_stateless_write_close(uint8_t *out, size_t outlen,
				const ngtcp2_pkt_hd *hd, uint64_t error_code);

/* Checks a Retry token; on success *odcid is the client's first DCID. */
int qs_stateless_verify_retry_token(ngtcp2_cid *odcid, const ngtcp2_pkt_hd *hd,
				   const struct sockaddr *remote,
				   socklen_t addrlen);
/* Checks a NEW_TOKEN token from an earlier connection. */
int qs_stateless_verify_regular_token(const ngtcp2_pkt_hd *hd,
				     const struct sockaddr *remote,
				     socklen_t addrlen);
/* Makes a NEW_TOKEN token for the peer at remote. */
ssize_t qs_stateless_regular_token(uint8_t *out, const struct sockaddr *remote,
				  socklen_t addrlen);

#endif
