/* QUIC-LB connection IDs: draft-ietf-quic-load-balancers-21, section 5
 * (server ID encoding), with the first octet of section 3.
 *
 * AES-128-ECB comes from OpenSSL's EVP interface, one pre-keyed context per
 * slot (per thread). EVP runs AES-NI: about 27 ns a block at best on our
 * 2-CPU EPYC guests (30 to 45 under load), some 220 instructions of which
 * the cipher is a fifth, the rest EVP's dispatch. The low-level AES_encrypt, whose key schedule could be
 * shared read-only, is a table implementation there: 180 to 290 ns a block,
 * and its timing depends on the key and data. An EVP context is mutable
 * while it encrypts, hence one per thread rather than one per config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <rte_common.h>

#include "steer/qs_quic_lb.h"

#define AES_BLOCK 16
#define EXPAND_LEN_OCTET 14   /* expand(): byte 15 of 16 is the length */
#define EXPAND_PASS_OCTET 15  /* and byte 16 the pass */

/* One thread's contexts, on cache lines of their own so that two lcores'
 * slots never share one (the EVP contexts they point to are OpenSSL's
 * allocations). */
struct qs_quic_lb_slot {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;    /* single-pass only: its decode is AES decryption */
} __rte_cache_aligned;

static inline int
aes_encrypt(EVP_CIPHER_CTX *ctx, const uint8_t *in, uint8_t *out)
{
	int outl = 0;

	if (EVP_EncryptUpdate(ctx, out, &outl, in, AES_BLOCK) != 1 ||
	    outl != AES_BLOCK)
		return -1;
	return 0;
}

static inline int
aes_decrypt(EVP_CIPHER_CTX *ctx, const uint8_t *in, uint8_t *out)
{
	int outl = 0;

	if (EVP_DecryptUpdate(ctx, out, &outl, in, AES_BLOCK) != 1 ||
	    outl != AES_BLOCK)
		return -1;
	return 0;
}

/* ---- plaintext: no key ---- */

static int
plain_encode(const struct qs_quic_lb_config *cfg, unsigned int slot,
	     const uint8_t *server_id, const uint8_t *nonce, uint8_t *out)
{
	RTE_SET_USED(slot);
	memcpy(out, server_id, cfg->server_id_len);
	memcpy(out + cfg->server_id_len, nonce, cfg->nonce_len);
	return 0;
}

static int
plain_decode(const struct qs_quic_lb_config *cfg, unsigned int slot,
	     const uint8_t *in, uint8_t *server_id, uint8_t *nonce)
{
	RTE_SET_USED(slot);
	memcpy(server_id, in, cfg->server_id_len);
	if (nonce != NULL)
		memcpy(nonce, in + cfg->server_id_len, cfg->nonce_len);
	return 0;
}

/* ---- single pass: server ID + nonce is exactly one AES block ---- */

static int
single_encode(const struct qs_quic_lb_config *cfg, unsigned int slot,
	      const uint8_t *server_id, const uint8_t *nonce, uint8_t *out)
{
	uint8_t block[AES_BLOCK];

	if (slot >= cfg->n_slots)
		return -1;
	memcpy(block, server_id, cfg->server_id_len);
	memcpy(block + cfg->server_id_len, nonce, cfg->nonce_len);
	return aes_encrypt(cfg->slots[slot].enc, block, out);
}

static int
single_decode(const struct qs_quic_lb_config *cfg, unsigned int slot,
	      const uint8_t *in, uint8_t *server_id, uint8_t *nonce)
{
	uint8_t block[AES_BLOCK];

	if (slot >= cfg->n_slots ||
	    aes_decrypt(cfg->slots[slot].dec, in, block) != 0)
		return QS_QUIC_LB_NONE;
	memcpy(server_id, block, cfg->server_id_len);
	if (nonce != NULL)
		memcpy(nonce, block + cfg->server_id_len, cfg->nonce_len);
	return 0;
}

/* ---- four passes: a Feistel network over two halves ----
 *
 * The halves are half_len bytes each. With an odd plaintext_len the middle
 * byte is split: its high nibble ends the left half (whose last low nibble
 * is kept zero), its low nibble starts the right half (whose first high
 * nibble is kept zero). Each half lives in a 16-byte block, zero beyond
 * half_len (cfg->left_mask, cfg->right_mask), so that a pass is fixed-size
 * copies and XORs the compiler vectorizes, not calls to memcpy. */

#define WHOLE_BUF 32   /* plaintext_len + room for 16-byte reads at any half */

static inline void
mask_xor(uint8_t *half, const uint8_t *x, const uint8_t *mask)
{
	for (unsigned int i = 0; i < AES_BLOCK; i++)
		half[i] = (uint8_t)((half[i] ^ x[i]) & mask[i]);
}

static inline void
mask_and(uint8_t *half, const uint8_t *mask)
{
	for (unsigned int i = 0; i < AES_BLOCK; i++)
		half[i] &= mask[i];
}

/* whole (plaintext_len bytes, then zeros) -> left, right */
static inline void
split(const struct qs_quic_lb_config *cfg, const uint8_t *whole,
      uint8_t *left, uint8_t *right)
{
	memcpy(left, whole, AES_BLOCK);
	mask_and(left, cfg->left_mask);
	memcpy(right, whole + cfg->plaintext_len - cfg->half_len, AES_BLOCK);
	mask_and(right, cfg->right_mask);
}

/* left, right -> whole (plaintext_len bytes; whole was zeroed) */
static inline void
join(const struct qs_quic_lb_config *cfg, const uint8_t *left,
     const uint8_t *right, uint8_t *whole)
{
	uint8_t *r = whole + cfg->plaintext_len - cfg->half_len;

	memcpy(whole, left, AES_BLOCK);
	for (unsigned int i = 0; i < AES_BLOCK; i++)
		r[i] |= right[i];   /* odd: the shared byte's two nibbles */
}

/* One pass: other ^= truncate(AES(expand(plaintext_len, pass, in)),
 * half_len), then other's split nibble cleared. expand() is in, zeros,
 * plaintext_len, pass: in's block with its last two bytes set (a half is
 * at most 10 bytes, so they are zero). */
static inline int
pass_xor(const struct qs_quic_lb_config *cfg, EVP_CIPHER_CTX *ctx,
	 uint8_t pass, const uint8_t *in, uint8_t *other,
	 const uint8_t *other_mask)
{
	uint8_t block[AES_BLOCK], x[AES_BLOCK];

	memcpy(block, in, AES_BLOCK);
	block[EXPAND_LEN_OCTET] = cfg->plaintext_len;
	block[EXPAND_PASS_OCTET] = pass;
	if (aes_encrypt(ctx, block, x) != 0)
		return -1;
	mask_xor(other, x, other_mask);
	return 0;
}

static int
four_encode(const struct qs_quic_lb_config *cfg, unsigned int slot,
	    const uint8_t *server_id, const uint8_t *nonce, uint8_t *out)
{
	uint8_t whole[WHOLE_BUF] = {0}, left[AES_BLOCK], right[AES_BLOCK];
	const uint8_t *lm = cfg->left_mask, *rm = cfg->right_mask;
	EVP_CIPHER_CTX *ctx;

	if (slot >= cfg->n_slots)
		return -1;
	ctx = cfg->slots[slot].enc;
	memcpy(whole, server_id, cfg->server_id_len);
	memcpy(whole + cfg->server_id_len, nonce, cfg->nonce_len);
	split(cfg, whole, left, right);                     /* left_0, right_0 */

	if (pass_xor(cfg, ctx, 1, left, right, rm) != 0 ||  /* right_1 */
	    pass_xor(cfg, ctx, 2, right, left, lm) != 0 ||  /* left_1 */
	    pass_xor(cfg, ctx, 3, left, right, rm) != 0 ||  /* right_2 */
	    pass_xor(cfg, ctx, 4, right, left, lm) != 0)    /* left_2 */
		return -1;

	memset(whole, 0, sizeof(whole));
	join(cfg, left, right, whole);
	memcpy(out, whole, cfg->plaintext_len);
	return 0;
}

static int
four_decode(const struct qs_quic_lb_config *cfg, unsigned int slot,
	    const uint8_t *in, uint8_t *server_id, uint8_t *nonce)
{
	uint8_t whole[WHOLE_BUF] = {0}, left[AES_BLOCK], right[AES_BLOCK];
	const uint8_t *lm = cfg->left_mask, *rm = cfg->right_mask;
	EVP_CIPHER_CTX *ctx;

	if (slot >= cfg->n_slots)
		return QS_QUIC_LB_NONE;
	ctx = cfg->slots[slot].enc;     /* a Feistel network only encrypts */
	memcpy(whole, in, cfg->plaintext_len);
	split(cfg, whole, left, right);                     /* left_2, right_2 */

	if (pass_xor(cfg, ctx, 4, right, left, lm) != 0 ||  /* left_1 */
	    pass_xor(cfg, ctx, 3, left, right, rm) != 0 ||  /* right_1 */
	    pass_xor(cfg, ctx, 2, right, left, lm) != 0)    /* left_0 */
		return QS_QUIC_LB_NONE;

	/* the load balancer's early exit: the whole server ID is in left_0 */
	if (nonce == NULL && cfg->three_pass_decode) {
		memcpy(server_id, left, cfg->server_id_len);
		return 0;
	}

	if (pass_xor(cfg, ctx, 1, left, right, rm) != 0)    /* right_0 */
		return QS_QUIC_LB_NONE;

	memset(whole, 0, sizeof(whole));
	join(cfg, left, right, whole);
	memcpy(server_id, whole, cfg->server_id_len);
	if (nonce != NULL)
		memcpy(nonce, whole + cfg->server_id_len, cfg->nonce_len);
	return 0;
}

/* ---- configuration ---- */

static void
slots_free(struct qs_quic_lb_config *cfg)
{
	if (cfg->slots == NULL)
		return;
	for (unsigned int i = 0; i < cfg->n_slots; i++) {
		EVP_CIPHER_CTX_free(cfg->slots[i].enc);
		EVP_CIPHER_CTX_free(cfg->slots[i].dec);
	}
	free(cfg->slots);
	cfg->slots = NULL;
}

static EVP_CIPHER_CTX *
aes_ctx_new(EVP_CIPHER *aes, const uint8_t *key, int encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL)
		return NULL;
	if (EVP_CipherInit_ex2(ctx, aes, key, NULL, encrypt, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* A pre-keyed AES-128-ECB context (two for single-pass) in every slot. */
static int
slots_init(struct qs_quic_lb_config *cfg, const uint8_t *key,
	   unsigned int n_slots, char *err, size_t errlen)
{
	bool need_dec = cfg->mode == QS_QUIC_LB_SINGLE_PASS;
	EVP_CIPHER *aes;
	void *mem;

	aes = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	if (aes == NULL) {
		snprintf(err, errlen, "quic-lb: OpenSSL has no AES-128-ECB");
		return -1;
	}
	if (posix_memalign(&mem, RTE_CACHE_LINE_SIZE,
			   n_slots * sizeof(struct qs_quic_lb_slot)) != 0) {
		EVP_CIPHER_free(aes);
		snprintf(err, errlen, "quic-lb: out of memory for %u slots",
			 n_slots);
		return -1;
	}
	memset(mem, 0, n_slots * sizeof(struct qs_quic_lb_slot));
	cfg->slots = mem;
	cfg->n_slots = n_slots;
	for (unsigned int i = 0; i < n_slots; i++) {
		struct qs_quic_lb_slot *s = &cfg->slots[i];

		s->enc = aes_ctx_new(aes, key, 1);
		if (need_dec)
			s->dec = aes_ctx_new(aes, key, 0);
		if (s->enc == NULL || (need_dec && s->dec == NULL)) {
			EVP_CIPHER_free(aes);
			slots_free(cfg);
			snprintf(err, errlen, "quic-lb: OpenSSL could not set "
				 "up an AES-128-ECB context");
			return -1;
		}
	}
	EVP_CIPHER_free(aes);   /* the contexts hold their own reference */
	return 0;
}

/* The draft's limits (sections 3.1, 5.2, 5.3); 0, or -1 with err. */
static int
params_check(const struct qs_quic_lb_params *p, char *err, size_t errlen)
{
	unsigned int sum = (unsigned int)p->server_id_len + p->nonce_len;

	if (p->config_id == QS_QUIC_LB_CONFIG_ID_UNROUTABLE) {
		snprintf(err, errlen, "quic-lb config_id 7 (0b111) is reserved "
			 "for unroutable CIDs; a config uses 0 to %d",
			 QS_QUIC_LB_CONFIG_ID_MAX);
		return -1;
	}
	if (p->config_id > QS_QUIC_LB_CONFIG_ID_MAX) {
		snprintf(err, errlen, "quic-lb config_id %u does not fit in the "
			 "3 config rotation bits; a config uses 0 to %d",
			 p->config_id, QS_QUIC_LB_CONFIG_ID_MAX);
		return -1;
	}
	if (p->server_id_len < QS_QUIC_LB_SERVER_ID_MIN) {
		snprintf(err, errlen, "quic-lb server_id_len 0: a server ID is "
			 "at least %d byte", QS_QUIC_LB_SERVER_ID_MIN);
		return -1;
	}
	if (p->server_id_len > QS_QUIC_LB_SERVER_ID_MAX) {
		snprintf(err, errlen, "quic-lb server_id_len %u is longer than "
			 "allowed: at most %d bytes (a nonce of at least %d, "
			 "server ID + nonce at most %d)", p->server_id_len,
			 QS_QUIC_LB_SERVER_ID_MAX, QS_QUIC_LB_NONCE_MIN,
			 QS_QUIC_LB_PLAINTEXT_MAX);
		return -1;
	}
	if (p->nonce_len < QS_QUIC_LB_NONCE_MIN) {
		snprintf(err, errlen, "quic-lb nonce_len %u is shorter than the "
			 "minimum of %d bytes", p->nonce_len,
			 QS_QUIC_LB_NONCE_MIN);
		return -1;
	}
	if (sum > QS_QUIC_LB_PLAINTEXT_MAX) {
		snprintf(err, errlen, "quic-lb server_id_len %u + nonce_len %u "
			 "= %u bytes is over %d (a QUIC v1 CID is at most %d "
			 "bytes with its first octet)", p->server_id_len,
			 p->nonce_len, sum, QS_QUIC_LB_PLAINTEXT_MAX,
			 QS_QUIC_LB_CID_MAX);
		return -1;
	}
	if (p->key_len != 0 && p->key_len != QS_QUIC_LB_KEY_LEN) {
		snprintf(err, errlen, "quic-lb key of %zu bytes: AES-128 takes "
			 "a key of %d bytes (or none, for plaintext CIDs)",
			 p->key_len, QS_QUIC_LB_KEY_LEN);
		return -1;
	}
	if (p->key_len != 0 && p->key == NULL) {
		snprintf(err, errlen, "quic-lb key_len %zu but no key",
			 p->key_len);
		return -1;
	}
	if (p->key_len != 0 &&
	    (p->n_slots == 0 || p->n_slots > QS_QUIC_LB_SLOTS_MAX)) {
		snprintf(err, errlen, "quic-lb n_slots %u: a keyed config needs "
			 "1 to %d slots, one per thread that encodes or decodes",
			 p->n_slots, QS_QUIC_LB_SLOTS_MAX);
		return -1;
	}
	return 0;
}

int
qs_quic_lb_config_init(struct qs_quic_lb_config *cfg,
		       const struct qs_quic_lb_params *p,
		       char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	if (params_check(p, err, errlen) != 0)
		return -1;

	cfg->config_id = p->config_id;
	cfg->server_id_len = p->server_id_len;
	cfg->nonce_len = p->nonce_len;
	cfg->plaintext_len = (uint8_t)(p->server_id_len + p->nonce_len);
	cfg->half_len = (uint8_t)((cfg->plaintext_len + 1) / 2);
	cfg->cid_len = (uint8_t)(1 + cfg->plaintext_len);
	cfg->encode_len = p->encode_len;
	/* the length bits are cid_len - 1, the bytes after the first octet */
	cfg->first_octet = (uint8_t)(p->config_id << 5 |
				     (p->encode_len ? cfg->plaintext_len : 0));
	cfg->first_octet_mask = p->encode_len ? 0xff : 0xe0;

	if (p->key_len == 0) {
		cfg->mode = QS_QUIC_LB_PLAINTEXT;
		cfg->mode_name = "plaintext";
		cfg->encode = plain_encode;
		cfg->decode = plain_decode;
		return 0;
	}
	if (cfg->plaintext_len == AES_BLOCK) {
		cfg->mode = QS_QUIC_LB_SINGLE_PASS;
		cfg->mode_name = "single-pass";
		cfg->encode = single_encode;
		cfg->decode = single_decode;
	} else {
		cfg->mode = QS_QUIC_LB_FOUR_PASS;
		cfg->mode_name = "four-pass";
		cfg->three_pass_decode = p->server_id_len <= p->nonce_len;
		memset(cfg->left_mask, 0xff, cfg->half_len);
		memset(cfg->right_mask, 0xff, cfg->half_len);
		if (cfg->plaintext_len & 1) {
			cfg->left_mask[cfg->half_len - 1] = 0xf0;
			cfg->right_mask[0] = 0x0f;
		}
		cfg->encode = four_encode;
		cfg->decode = four_decode;
	}
	if (slots_init(cfg, p->key, p->n_slots, err, errlen) != 0) {
		memset(cfg, 0, sizeof(*cfg));
		return -1;
	}
	return 0;
}

void
qs_quic_lb_config_free(struct qs_quic_lb_config *cfg)
{
	slots_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
}
