/* The server side that is not a connection: what to answer for a QUIC
 * packet no connection claims (stateless reset today; Version Negotiation
 * and Retry with the QUIC stack). Secrets are shared by all lcores so any
 * lcore computes the same token, but only the owner ever sends. */
#ifndef QS_ENDPOINT_H
#define QS_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "qs_config.h"

/* RFC 9000 10.3: 5 unpredictable bytes and a 16-byte token at least */
#define QS_RESET_MIN_LEN 21
/* a reset this long looks like any short-header packet */
#define QS_RESET_MAX_LEN 43

/* Token bucket; one per lcore, touched only by that lcore. */
struct qs_ratelimit {
	uint64_t tokens;        /* scaled by tsc_hz */
	uint64_t max_tokens;
	uint64_t per_second;
	uint64_t last_tsc;
};

void qs_ratelimit_init(struct qs_ratelimit *rl, uint32_t per_second,
		       uint32_t burst);
/* Takes one token; false when the bucket is empty. */
bool qs_ratelimit_take(struct qs_ratelimit *rl, uint64_t now_tsc);

/* Installs the shared secret (from the configuration, or random). */
int qs_endpoint_init(const struct qs_config *cfg);

/* Length of the reset to send for a trigger of trigger_len bytes, or 0 when
 * the trigger is too short to answer (21 bytes or fewer). */
size_t qs_endpoint_reset_len(size_t trigger_len);

/* Writes a stateless reset of len bytes for dcid at out (out may overlap
 * the trigger: dcid is read first). Returns 0, or -1. */
int qs_endpoint_write_reset(uint8_t *out, size_t len, const uint8_t *dcid,
			    size_t dcid_len);

#endif
