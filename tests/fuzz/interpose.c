/* The server fuzz binaries' replacements for what makes a QUIC server
 * non-deterministic, so that an input always takes the same path (stable
 * coverage, reproducible crashes) and a recorded client flight decrypts
 * when replayed (the server's key share, random and CIDs are those the
 * client answered when make_server_seeds recorded it):
 *
 * - qs_random_bytes (CIDs, reset and ngtcp2's random bytes) is defined
 *   here; lib/base/qs_random.c is not linked into these binaries;
 * - gnutls_rnd is defined here too. The executable's definition precedes
 *   libgnutls's own for every caller that goes through the PLT: all of
 *   GnuTLS's 35 internal call sites (key shares, server random, ECDSA
 *   nonces, session tickets), and ngtcp2_crypto_gnutls (token nonces,
 *   PATH_CHALLENGE data). Both draw from fixed-seed streams, one per role
 *   (interpose.h), reset at the start of every input;
 * - wall clocks: GnuTLS's (ticket ages and lifetimes, the 0-RTT
 *   anti-replay window, session-ticket key rotation) is redirected with
 *   gnutls_global_set_time_function and _gnutls_global_set_gettime_function
 *   (exported for GnuTLS's own tests, GNUTLS_PRIVATE_3_4); the token
 *   code's through wall_clock.h. Both read qs_fuzz_clock_ns. The process
 *   clock_gettime itself is left alone: libFuzzer times runs with it;
 * - packet protection: ngtcp2_crypto_{encrypt,decrypt,hp_mask}_cb, which
 *   lib/quic/qs_quic_glue.c installs on both ends, are defined here and
 *   either call the real ones (found with dlsym(RTLD_NEXT)) or, for an
 *   input that asks for it, protect nothing. With real protection a
 *   mutated byte of a packet almost always fails the AEAD, and the fuzzer
 *   never gets past decryption; with null protection mutations reach
 *   ngtcp2's frame parser, the TLS messages and nghttp3. Anything found
 *   that way is reachable by a real peer, which holds the keys of its
 *   own connection; the AEAD itself is covered by the real-protection
 *   inputs. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "base/qs_random.h"
#include "interpose.h"

/* GnuTLS's hook for its own tests (lib/global.c), not in its headers */
typedef void (*gettime_func)(struct timespec *);
void _gnutls_global_set_gettime_function(gettime_func fn);

uint64_t qs_fuzz_clock_ns;

/* ---- randomness: splitmix64 streams; fast, and good enough for keys
 * that protect nothing ---- */

struct stream {
	uint64_t state;
	uint64_t word;     /* the last output's unused bytes, low first */
	unsigned int left;
};

static const uint64_t stream_seed[QS_FUZZ_N_ROLES + 1] = {
	0x5e4e5e4e00000001ull, 0xc11e470000000002ull, 0xf1c7000000000003ull,
	0x9b1a5e5000000004ull,   /* qs_random_bytes */
};
static struct stream streams[QS_FUZZ_N_ROLES + 1];
static enum qs_fuzz_role role = QS_FUZZ_ROLE_SERVER;

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
stream_bytes(struct stream *s, uint8_t *out, size_t len)
{
	while (len-- > 0) {
		if (s->left == 0) {
			s->word = splitmix64(&s->state);
			s->left = 8;
		}
		*out++ = (uint8_t)s->word;
		s->word >>= 8;
		s->left--;
	}
}

void
qs_fuzz_rnd_reset(void)
{
	for (size_t i = 0; i < QS_FUZZ_N_ROLES + 1; i++)
		streams[i] = (struct stream){.state = stream_seed[i]};
}

enum qs_fuzz_role
qs_fuzz_rnd_role(enum qs_fuzz_role r)
{
	enum qs_fuzz_role prev = role;

	role = r;
	return prev;
}

int
gnutls_rnd(gnutls_rnd_level_t level, void *data, size_t len)
{
	(void)level;
	stream_bytes(&streams[role], data, len);
	return 0;
}

void
qs_random_bytes(uint8_t *buf, size_t len)
{
	stream_bytes(&streams[QS_FUZZ_N_ROLES], buf, len);
}

/* ---- the virtual wall clock ---- */

static void
virtual_gettime(struct timespec *ts)
{
	ts->tv_sec = (time_t)(QS_FUZZ_WALL_EPOCH_S + qs_fuzz_clock_ns / 1000000000u);
	ts->tv_nsec = (long)(qs_fuzz_clock_ns % 1000000000u);
}

static time_t
virtual_time(time_t *t)
{
	struct timespec ts;

	virtual_gettime(&ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int
qs_fuzz_clock_gettime(clockid_t id, struct timespec *ts)
{
	if (id != CLOCK_REALTIME)
		return clock_gettime(id, ts);
	virtual_gettime(ts);
	return 0;
}

/* ---- packet protection ---- */

typedef int (*aead_cb)(uint8_t *dest, const ngtcp2_crypto_aead *aead,
		       const ngtcp2_crypto_aead_ctx *aead_ctx,
		       const uint8_t *in, size_t inlen, const uint8_t *nonce,
		       size_t noncelen, const uint8_t *aad, size_t aadlen);
typedef int (*hp_mask_cb)(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
			  const ngtcp2_crypto_cipher_ctx *hp_ctx,
			  const uint8_t *sample);

static aead_cb real_encrypt, real_decrypt;
static hp_mask_cb real_hp_mask;
static bool null_protection;

static void *
real(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (fn == NULL) {
		fprintf(stderr, "fuzz: %s not found after the executable: %s\n",
			name, dlerror());
		abort();
	}
	return fn;
}

void
qs_fuzz_interpose_init(void)
{
	real_encrypt = (aead_cb)real("ngtcp2_crypto_encrypt_cb");
	real_decrypt = (aead_cb)real("ngtcp2_crypto_decrypt_cb");
	real_hp_mask = (hp_mask_cb)real("ngtcp2_crypto_hp_mask_cb");
	gnutls_global_set_time_function(virtual_time);
	_gnutls_global_set_gettime_function(virtual_gettime);
	qs_fuzz_rnd_reset();
}

void
qs_fuzz_null_protection(bool on)
{
	null_protection = on;
}

int
ngtcp2_crypto_encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
			 const ngtcp2_crypto_aead_ctx *aead_ctx,
			 const uint8_t *plaintext, size_t plaintextlen,
			 const uint8_t *nonce, size_t noncelen,
			 const uint8_t *aad, size_t aadlen)
{
	if (!null_protection)
		return real_encrypt(dest, aead, aead_ctx, plaintext, plaintextlen,
				    nonce, noncelen, aad, aadlen);
	memmove(dest, plaintext, plaintextlen);
	memset(dest + plaintextlen, 0, aead->max_overhead);
	return 0;
}

int
ngtcp2_crypto_decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
			 const ngtcp2_crypto_aead_ctx *aead_ctx,
			 const uint8_t *ciphertext, size_t ciphertextlen,
			 const uint8_t *nonce, size_t noncelen,
			 const uint8_t *aad, size_t aadlen)
{
	size_t tag = aead->max_overhead;

	if (!null_protection)
		return real_decrypt(dest, aead, aead_ctx, ciphertext, ciphertextlen,
				    nonce, noncelen, aad, aadlen);
	/* a tag that is not all zero fails, so inputs still reach the
	 * server's handling of packets it cannot authenticate */
	if (ciphertextlen < tag)
		return NGTCP2_ERR_DECRYPT;
	for (size_t i = ciphertextlen - tag; i < ciphertextlen; i++)
		if (ciphertext[i] != 0)
			return NGTCP2_ERR_DECRYPT;
	memmove(dest, ciphertext, ciphertextlen - tag);
	return 0;
}

int
ngtcp2_crypto_hp_mask_cb(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
			 const ngtcp2_crypto_cipher_ctx *hp_ctx,
			 const uint8_t *sample)
{
	if (!null_protection)
		return real_hp_mask(dest, hp, hp_ctx, sample);
	memset(dest, 0, NGTCP2_HP_MASKLEN);
	return 0;
}
