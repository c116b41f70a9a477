#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <openssl/sha.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_random.h>
#include <rte_log.h>

#include "base/qs_log.h"
#include "steer/qs_cid.h"
#include "base/qs_random.h"
#include "quic/qs_stateless.h"


#define RETRY_TOKEN_LIFETIME (10 * NGTCP2_SECONDS)
#define REGULAR_TOKEN_LIFETIME (3600 * NGTCP2_SECONDS)

/* read-only after qs_stateless_init */
static uint8_t reset_secret[QS_RESET_SECRET_LEN];
static uint8_t token_secret[QS_RESET_SECRET_LEN];

/* Tokens carry wall-clock time so that other nodes and restarts agree. */
static ngtcp2_tstamp
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

static int
secret_init(uint8_t *dst, const uint8_t *configured, bool set, const char *key)
{
	if (set) {
		memcpy(dst, configured, QS_RESET_SECRET_LEN);
		return 0;
	}
	if (getrandom(dst, QS_RESET_SECRET_LEN, 0) != QS_RESET_SECRET_LEN) {
		RTE_LOG(ERR, QS_EP, "getrandom failed for [quic] %s\n", key);
		return -1;
	}
	RTE_LOG(INFO, QS_EP,
		"[quic] %s is random; set it to keep tokens valid across "
		"restarts and nodes\n", key);
	return 0;
}

/* HMAC-SHA256 keyed with reset_secret, its ipad and opad blocks absorbed
 * once: a token then costs two SHA-256 blocks (about 1,500 instructions)
 * where ngtcp2's HKDF through GnuTLS cost 39,000, eight times a
 * connection. The low-level SHA256_* calls are deprecated in OpenSSL 3;
 * EVP_MAC allocates per call, which a per-packet path must not. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static SHA256_CTX reset_inner, reset_outer;

static void
reset_hmac_init(void)
{
	uint8_t ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];

	memset(ipad, 0x36, sizeof(ipad));
	memset(opad, 0x5c, sizeof(opad));
	for (size_t i = 0; i < sizeof(reset_secret); i++) {
		ipad[i] ^= reset_secret[i];
		opad[i] ^= reset_secret[i];
	}
	SHA256_Init(&reset_inner);
	SHA256_Update(&reset_inner, ipad, sizeof(ipad));
	SHA256_Init(&reset_outer);
	SHA256_Update(&reset_outer, opad, sizeof(opad));
}

int
qs_stateless_reset_token(uint8_t *token, const uint8_t *cid, size_t cid_len)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;

	if (cid_len > NGTCP2_MAX_CIDLEN)
		return -1;
	c = reset_inner;
	SHA256_Update(&c, QS_RESET_TOKEN_LABEL, sizeof(QS_RESET_TOKEN_LABEL) - 1);
	SHA256_Update(&c, cid, cid_len);
	SHA256_Final(digest, &c);
	c = reset_outer;
	SHA256_Update(&c, digest, sizeof(digest));
	SHA256_Final(digest, &c);
	memcpy(token, digest, NGTCP2_STATELESS_RESET_TOKENLEN);
	return 0;
}
#pragma GCC diagnostic pop

int
qs_stateless_init(const struct qs_config *cfg)
{
	if (secret_init(reset_secret, cfg->reset_secret, cfg->reset_secret_set,
			"reset_secret") != 0 ||
	    secret_init(token_secret, cfg->token_secret, cfg->token_secret_set,
			"token_secret") != 0)
		return -1;
	reset_hmac_init();
	return 0;
}


size_t
qs_stateless_reset_len(size_t trigger_len)
{
	/* shorter than the trigger so two endpoints cannot loop (10.3.3) */
	if (trigger_len <= QS_RESET_MIN_LEN)
		return 0;
	return RTE_MIN(trigger_len - 1, (size_t)QS_RESET_MAX_LEN);
}

int
qs_stateless_write_reset(uint8_t *out, size_t len, const uint8_t *dcid,
			size_t dcid_len)
{
	uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
	uint8_t rand[QS_RESET_MAX_LEN];

	if (len < QS_RESET_MIN_LEN || len > QS_RESET_MAX_LEN ||
	    qs_stateless_reset_token(token, dcid, dcid_len) != 0)
		return -1;
	/* the first random byte becomes the header byte */
	qs_random_bytes(rand, sizeof(rand));
	if (ngtcp2_pkt_write_stateless_reset(out, len, token, rand,
					     len - sizeof(token)) !=
	    (ngtcp2_ssize)len)
		return -1;
	return 0;
}

ssize_t
qs_stateless_write_vn(uint8_t *out, size_t outlen, const uint8_t *dcid,
		     size_t dcid_len, const uint8_t *scid, size_t scid_len)
{
	/* a reserved version too, so clients see negotiation is alive (6.3) */
	uint32_t versions[2] = {NGTCP2_PROTO_VER_V1,
				((uint32_t)rte_rand() & 0xf0f0f0f0u) | 0x0a0a0a0au};

	/* the reply's DCID is the client's SCID and vice versa */
	return ngtcp2_pkt_write_version_negotiation(
		out, outlen, (uint8_t)rte_rand(), scid, scid_len, dcid, dcid_len,
		versions, RTE_DIM(versions));
}

ssize_t
qs_stateless_write_retry(uint8_t *out, size_t outlen, const ngtcp2_pkt_hd *hd,
			const struct sockaddr *remote, socklen_t addrlen,
			const ngtcp2_cid *retry_scid)
{
	uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
	ngtcp2_ssize tokenlen;

	tokenlen = ngtcp2_crypto_generate_retry_token(
		token, token_secret, sizeof(token_secret), hd->version, remote,
		addrlen, retry_scid, &hd->dcid, wall_ns());
	if (tokenlen < 0)
		return -1;
	return ngtcp2_crypto_write_retry(out, outlen, hd->version, &hd->scid,
					 retry_scid, &hd->dcid, token,
					 (size_t)tokenlen);
}

ssize_t
qs_stateless_write_close(uint8_t *out, size_t outlen, const ngtcp2_pkt_hd *hd,
			uint64_t error_code)
{
	return ngtcp2_crypto_write_connection_close(out, outlen, hd->version,
						    &hd->scid, &hd->dcid,
						    error_code, NULL, 0);
}

int
qs_stateless_verify_retry_token(ngtcp2_cid *odcid, const ngtcp2_pkt_hd *hd,
			       const struct sockaddr *remote, socklen_t addrlen)
{
	return ngtcp2_crypto_verify_retry_token(
		odcid, hd->token.base, hd->token.len, token_secret,
		sizeof(token_secret), hd->version, remote, addrlen, &hd->dcid,
		RETRY_TOKEN_LIFETIME, wall_ns());
}

int
qs_stateless_verify_regular_token(const ngtcp2_pkt_hd *hd,
				 const struct sockaddr *remote,
				 socklen_t addrlen)
{
	return ngtcp2_crypto_verify_regular_token(
		hd->token.base, hd->token.len, token_secret, sizeof(token_secret),
		remote, addrlen, REGULAR_TOKEN_LIFETIME, wall_ns());
}

ssize_t
qs_stateless_regular_token(uint8_t *out, const struct sockaddr *remote,
			  socklen_t addrlen)
{
	return ngtcp2_crypto_generate_regular_token(
		out, token_secret, sizeof(token_secret), remote, addrlen,
		wall_ns());
}
