/* QUIC-LB connection IDs (draft-ietf-quic-load-balancers-21, sections 3
 * and 5): a CID that names a server ID, readable by whoever holds the
 * configuration (an L4 load balancer, our own steer stage).
 *
 *   first octet: config id (3 bits, 0..6; 0b111 means unroutable and is
 *                never minted) | CID length - 1 (5 bits, when length
 *                self-description is on; random bits otherwise)
 *   then:        server ID (1..15 bytes) | nonce (4.. bytes), together at
 *                most 19 bytes, so a CID is at most 20
 *
 * Three ways to write server ID | nonce, fixed by the configuration:
 *   plaintext    no key: as is, the server ID readable by anyone;
 *   single-pass  key, server ID + nonce = 16 bytes: one AES-128-ECB block;
 *   four-pass    key, any other length: a four-round Feistel network whose
 *                round function is AES-128-ECB of the draft's expand();
 *                a decode that wants no nonce stops after three rounds
 *                when the server ID is no longer than the nonce.
 *
 * A configuration is set up once (qs_quic_lb_config_init) and then only
 * read. Encode and decode allocate nothing and take no lock; AES runs on
 * OpenSSL EVP contexts (AES-NI where the CPU has it), which are mutable, so
 * each thread that calls encode or decode concurrently with others passes
 * its own slot, 0..n_slots-1 (a worker index, an lcore index): no two
 * threads may use one slot at the same time. Plaintext configurations
 * ignore the slot. */
#ifndef QS_QUIC_LB_H
#define QS_QUIC_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QS_QUIC_LB_NONE (-1)             /* decode: not a CID of this config */

#define QS_QUIC_LB_CONFIG_ID_MAX 6       /* 3 bits; 7 is the unroutable one */
#define QS_QUIC_LB_CONFIG_ID_UNROUTABLE 7
#define QS_QUIC_LB_KEY_LEN 16            /* AES-128 */
#define QS_QUIC_LB_SERVER_ID_MIN 1
#define QS_QUIC_LB_NONCE_MIN 4
#define QS_QUIC_LB_PLAINTEXT_MAX 19      /* server ID + nonce; QUIC v1 CIDs <= 20 */
#define QS_QUIC_LB_SERVER_ID_MAX (QS_QUIC_LB_PLAINTEXT_MAX - QS_QUIC_LB_NONCE_MIN)
#define QS_QUIC_LB_NONCE_MAX (QS_QUIC_LB_PLAINTEXT_MAX - QS_QUIC_LB_SERVER_ID_MIN)
#define QS_QUIC_LB_CID_MAX (1 + QS_QUIC_LB_PLAINTEXT_MAX)
#define QS_QUIC_LB_SLOTS_MAX 1024        /* a sanity bound, not a design limit */

/* What a configuration agent hands out (draft section 5.3). */
struct qs_quic_lb_params {
	uint8_t config_id;       /* 0..6 */
	uint8_t server_id_len;   /* 1..15 bytes */
	uint8_t nonce_len;       /* at least 4; server_id_len + nonce_len <= 19 */
	bool encode_len;         /* length self-description in the first octet */
	const uint8_t *key;      /* key_len bytes; key_len 0: no key (plaintext) */
	size_t key_len;          /* 0 or 16 */
	unsigned int n_slots;    /* threads using it at once; keyed configs only */
};

enum qs_quic_lb_mode {
	QS_QUIC_LB_PLAINTEXT,
	QS_QUIC_LB_SINGLE_PASS,
	QS_QUIC_LB_FOUR_PASS,
};

struct qs_quic_lb_config;

/* server ID and nonce (plaintext_len bytes) <-> what follows the first
 * octet; chosen by mode at init, so encode and decode have no mode test */
typedef int (*qs_quic_lb_encode_fn)(const struct qs_quic_lb_config *cfg,
				    unsigned int slot, const uint8_t *server_id,
				    const uint8_t *nonce, uint8_t *out);
typedef int (*qs_quic_lb_decode_fn)(const struct qs_quic_lb_config *cfg,
				    unsigned int slot, const uint8_t *in,
				    uint8_t *server_id, uint8_t *nonce);

struct qs_quic_lb_slot;  /* one thread's cipher contexts (qs_quic_lb.c) */

/* Read-only after qs_quic_lb_config_init, shared by every thread. It owns
 * its slots: pass it by pointer, never copy it, free it once. */
struct qs_quic_lb_config {
	enum qs_quic_lb_mode mode;
	const char *mode_name;       /* "plaintext", "single-pass", "four-pass" */
	uint8_t config_id;
	uint8_t server_id_len;
	uint8_t nonce_len;
	uint8_t plaintext_len;       /* server_id_len + nonce_len */
	uint8_t half_len;            /* four-pass: plaintext_len / 2, rounded up */
	uint8_t cid_len;             /* 1 + plaintext_len: every CID it mints */
	bool encode_len;
	bool three_pass_decode;      /* four-pass, server ID <= nonce */
	/* the first octet of every CID of this config, under the mask (all of
	 * it with length self-description, the config id bits otherwise) */
	uint8_t first_octet;
	uint8_t first_octet_mask;
	/* four-pass: the bytes of a 16-byte block that belong to the left
	 * and the right half (0xff; the split nibble with an odd length) */
	uint8_t left_mask[16];
	uint8_t right_mask[16];
	unsigned int n_slots;        /* 0 for plaintext */
	struct qs_quic_lb_slot *slots;
	qs_quic_lb_encode_fn encode;
	qs_quic_lb_decode_fn decode;
};

/* Validates p and sets up cfg (cipher contexts for every slot when keyed).
 * Returns 0, or -1 with err naming the problem (and cfg holding nothing to
 * free). The key is copied into the contexts; p->key may go afterwards. */
int qs_quic_lb_config_init(struct qs_quic_lb_config *cfg,
			   const struct qs_quic_lb_params *p,
			   char *err, size_t errlen);

/* Frees what init allocated; cfg is then zeroed (a second call is harmless). */
void qs_quic_lb_config_free(struct qs_quic_lb_config *cfg);

/* The config id a CID names (0..7), for picking among configurations in
 * rotation; 7 (QS_QUIC_LB_CONFIG_ID_UNROUTABLE) names none. */
static inline unsigned int
qs_quic_lb_cid_config_id(const uint8_t *cid)
{
	return cid[0] >> 5;
}

/* Writes cfg->cid_len bytes at cid naming server_id (server_id_len bytes),
 * made unique by nonce (nonce_len bytes; the caller's, in production from
 * qs_random_bytes). random_bits gives the first octet's 5 low bits when
 * length self-description is off (random too, in production), and is
 * ignored when it is on. Returns 0, or -1 (nothing usable at cid) when slot
 * is out of range or the cipher failed. */
static inline int
qs_quic_lb_encode(const struct qs_quic_lb_config *cfg, unsigned int slot,
		  const uint8_t *server_id, const uint8_t *nonce,
		  uint8_t random_bits, uint8_t *cid)
{
	cid[0] = (uint8_t)(cfg->first_octet |
			   (random_bits & (uint8_t)~cfg->first_octet_mask));
	return cfg->encode(cfg, slot, server_id, nonce, cid + 1);
}

/* Reads the server ID (server_id_len bytes) from cid into server_id, and
 * the nonce (nonce_len bytes) into nonce unless it is NULL (a decode that
 * skips the nonce may do one AES pass less). Returns 0, or QS_QUIC_LB_NONE
 * when the CID is not one of this config's: len is not cfg->cid_len, the
 * first octet names another config id or the unroutable 0b111, its
 * self-described length is wrong, slot is out of range, or the cipher
 * failed. Whether the server ID names a live server is the caller's
 * question. */
static inline int
qs_quic_lb_decode(const struct qs_quic_lb_config *cfg, unsigned int slot,
		  const uint8_t *cid, size_t len, uint8_t *server_id,
		  uint8_t *nonce)
{
	if (len != cfg->cid_len ||
	    (cid[0] & cfg->first_octet_mask) != cfg->first_octet)
		return QS_QUIC_LB_NONE;
	return cfg->decode(cfg, slot, cid + 1, server_id, nonce);
}

#endif
