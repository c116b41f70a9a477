#include <string.h>
#include <sys/random.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_cycles.h>
#include <rte_log.h>

#include "qs_log.h"
#include "qs_cid.h"
#include "qs_endpoint.h"


static uint8_t reset_secret[QS_RESET_SECRET_LEN];

void
qs_ratelimit_init(struct qs_ratelimit *rl, uint32_t per_second, uint32_t burst)
{
	uint64_t hz = rte_get_tsc_hz();

	rl->per_second = per_second;
	rl->max_tokens = (uint64_t)burst * hz;
	rl->tokens = rl->max_tokens;
	rl->last_tsc = rte_rdtsc();
}

bool
qs_ratelimit_take(struct qs_ratelimit *rl, uint64_t now_tsc)
{
	uint64_t hz = rte_get_tsc_hz();

	if (rl->per_second == 0)
		return false;
	/* tokens are counted in tsc ticks so refill needs no division */
	uint64_t elapsed = RTE_MIN(now_tsc - rl->last_tsc, 10 * hz); /* no overflow */

	rl->tokens += elapsed * rl->per_second;
	rl->last_tsc = now_tsc;
	if (rl->tokens > rl->max_tokens)
		rl->tokens = rl->max_tokens;
	if (rl->tokens < hz)
		return false;
	rl->tokens -= hz;
	return true;
}

int
qs_endpoint_init(const struct qs_config *cfg)
{
	if (cfg->reset_secret_set) {
		memcpy(reset_secret, cfg->reset_secret, sizeof(reset_secret));
		return 0;
	}
	if (getrandom(reset_secret, sizeof(reset_secret), 0) !=
	    (ssize_t)sizeof(reset_secret)) {
		RTE_LOG(ERR, QS_EP, "getrandom failed for the reset secret\n");
		return -1;
	}
	RTE_LOG(INFO, QS_EP,
		"stateless reset secret is random; set [quic] reset_secret to "
		"keep tokens valid across restarts and nodes\n");
	return 0;
}

size_t
qs_endpoint_reset_len(size_t trigger_len)
{
	/* shorter than the trigger so two endpoints cannot loop (10.3.3) */
	if (trigger_len <= QS_RESET_MIN_LEN)
		return 0;
	return RTE_MIN(trigger_len - 1, (size_t)QS_RESET_MAX_LEN);
}

int
qs_endpoint_write_reset(uint8_t *out, size_t len, const uint8_t *dcid,
			size_t dcid_len)
{
	uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
	uint8_t rand[QS_RESET_MAX_LEN];
	ngtcp2_cid cid;

	if (len < QS_RESET_MIN_LEN || len > QS_RESET_MAX_LEN ||
	    dcid_len > NGTCP2_MAX_CIDLEN)
		return -1;
	ngtcp2_cid_init(&cid, dcid, dcid_len);
	if (ngtcp2_crypto_generate_stateless_reset_token(
		    token, reset_secret, sizeof(reset_secret), &cid) != 0)
		return -1;
	/* the first random byte becomes the header byte */
	qs_random_bytes(rand, sizeof(rand));
	if (ngtcp2_pkt_write_stateless_reset(out, len, token, rand,
					     len - sizeof(token)) !=
	    (ngtcp2_ssize)len)
		return -1;
	return 0;
}
