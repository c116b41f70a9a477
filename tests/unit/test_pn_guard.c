/* The packet-number guard (quic/qs_pn_guard.h), no DPDK:
 * - packet numbers come out of the nonces exactly, for every key: the
 *   Initial IV learnt from the first Initial, handshake, 0-RTT and three
 *   generations of 1-RTT keys; a nonce of an unknown key, or one whose
 *   number does not end in the header's bits, is refused; QUIC v2's long
 *   header types; a Retry's new Initial keys are learnt again, and refused
 *   when Initials were already received;
 * - the refusals, case by case: the exact sequence of the ngtcp2 0.12.1
 *   abort (5, our ACK, 3, then 4), an honest reordering inside one read
 *   burst (admitted), a gap of two (admitted), far below the window
 *   (refused), spaces kept apart;
 * - against a model of ngtcp2's ACK tracker (received numbers, forgotten up
 *   to the largest of each ACK the peer acknowledged; some decrypted
 *   packets dropped before they count): over many random runs of
 *   receptions, transmissions and acknowledged ACKs, no admitted
 *   packet ever leaves the tracker's largest number one below the largest
 *   received, the state in which ngtcp2 0.12 aborts; the same runs without
 *   the guard reach that state (the model can fail). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic/qs_pn_guard.h"
#include "qs_test.h"

#define IVLEN 12
#define DCID_LEN 8
#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu

#define MODEL_RUNS 2000
#define MODEL_STEPS 400
#define MODEL_PN_MAX 4096

static void
make_iv(uint8_t *iv, uint8_t seed)
{
	for (int i = 0; i < IVLEN; i++)
		iv[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* RFC 9001 5.3: the IV XOR the number, left-padded */
static void
make_nonce(uint8_t *nonce, const uint8_t *iv, int64_t pn)
{
	memcpy(nonce, iv, IVLEN);
	for (int i = 0; i < 8; i++)
		nonce[IVLEN - 1 - i] ^= (uint8_t)((uint64_t)pn >> (8 * i));
}

/* An unprotected header ending in the low pnlen bytes of pn: short, or
 * long of a v1 type (0 Initial, 1 0-RTT, 2 Handshake) in version. */
static size_t
make_aad(uint8_t *aad, int long_type, uint32_t version, int64_t pn,
	 size_t pnlen)
{
	size_t n = 0;

	if (long_type < 0) {
		aad[n++] = (uint8_t)(0x40 | (pnlen - 1));
	} else {
		unsigned type = (unsigned)long_type;

		if (version == QUIC_V2)
			type = (type + 1) & 0x03;
		aad[n++] = (uint8_t)(0xc0 | type << 4 | (pnlen - 1));
		aad[n++] = (uint8_t)(version >> 24);
		aad[n++] = (uint8_t)(version >> 16);
		aad[n++] = (uint8_t)(version >> 8);
		aad[n++] = (uint8_t)version;
	}
	memset(aad + n, 0xab, DCID_LEN);
	n += DCID_LEN;
	for (size_t i = 0; i < pnlen; i++)
		aad[n++] = (uint8_t)((uint64_t)pn >> (8 * (pnlen - 1 - i)));
	return n;
}

/* Admits (and on admission records) one packet: the guard as the decrypt
 * callback drives it. *got is the number it decoded. */
static bool
packet(struct qs_pn_guard *g, int long_type, uint32_t version,
       const uint8_t *iv, int64_t pn, size_t pnlen, int64_t *got)
{
	uint8_t aad[64], nonce[IVLEN];
	size_t aadlen = make_aad(aad, long_type, version, pn, pnlen);
	enum qs_pn_space_id space;
	int64_t decoded = -1;
	bool ok;

	make_nonce(nonce, iv, pn);
	ok = qs_pn_guard_admit(g, aad, aadlen, nonce, IVLEN, &space, &decoded);
	if (ok)
		qs_pn_guard_received(g, space, decoded);
	if (got != NULL)
		*got = ok ? decoded : -1;
	return ok;
}

static bool
app(struct qs_pn_guard *g, const uint8_t *iv, int64_t pn)
{
	return packet(g, -1, QUIC_V1, iv, pn, 2, NULL);
}

static void
test_keys(void)
{
	struct qs_pn_guard g;
	uint8_t iv_init[IVLEN], iv_hs[IVLEN], iv_early[IVLEN], iv_app[5][IVLEN];
	int64_t got;

	TEST_CONTEXT("keys");
	make_iv(iv_init, 1);
	make_iv(iv_hs, 2);
	make_iv(iv_early, 3);
	for (int i = 0; i < 5; i++)
		make_iv(iv_app[i], (uint8_t)(10 + i));
	qs_pn_guard_init(&g);

	/* nothing installed: nothing matches */
	CHECK(!app(&g, iv_app[0], 0));
	CHECK(!packet(&g, 2, QUIC_V1, iv_hs, 0, 1, NULL));

	/* the first Initial teaches its IV; the number comes out exactly */
	CHECK(packet(&g, 0, QUIC_V1, iv_init, 3, 1, &got));
	CHECK_EQ(got, 3);
	CHECK(packet(&g, 0, QUIC_V1, iv_init, 4, 4, &got));
	CHECK_EQ(got, 4);
	CHECK(!packet(&g, 0, QUIC_V1, iv_hs, 5, 1, NULL));

	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, iv_hs, IVLEN);
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_EARLY, iv_early, IVLEN);
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_APPLICATION, iv_app[0], IVLEN);
	CHECK(packet(&g, 2, QUIC_V1, iv_hs, 0, 1, &got));
	CHECK_EQ(got, 0);
	CHECK(packet(&g, 1, QUIC_V1, iv_early, 1, 2, &got));
	CHECK_EQ(got, 1);
	CHECK(packet(&g, -1, QUIC_V1, iv_app[0], 300, 2, &got));
	CHECK_EQ(got, 300);
	/* a 0-RTT nonce in a 1-RTT packet, a handshake one in an Initial */
	CHECK(!packet(&g, -1, QUIC_V1, iv_early, 301, 2, NULL));
	CHECK(!packet(&g, 0, QUIC_V1, iv_hs, 6, 1, NULL));
	/* a number that does not end in the header's bits */
	{
		uint8_t aad[64], nonce[IVLEN];
		size_t aadlen = make_aad(aad, -1, QUIC_V1, 302, 2);
		enum qs_pn_space_id space;
		int64_t pn;

		make_nonce(nonce, iv_app[0], 302 + 0x10000);
		CHECK(qs_pn_guard_admit(&g, aad, aadlen, nonce, IVLEN, &space, &pn));
		make_nonce(nonce, iv_app[0], 303);
		CHECK(!qs_pn_guard_admit(&g, aad, aadlen, nonce, IVLEN, &space, &pn));
		/* a number past 2^62 - 1 */
		make_nonce(nonce, iv_app[0], (int64_t)((1ull << 62) | 302));
		CHECK(!qs_pn_guard_admit(&g, aad, aadlen, nonce, IVLEN, &space, &pn));
		/* no room for the number the first byte announces */
		CHECK(!qs_pn_guard_admit(&g, aad, 2, nonce, IVLEN, &space, &pn));
		CHECK(!qs_pn_guard_admit(&g, aad, 0, nonce, IVLEN, &space, &pn));
		/* a nonce shorter than a number */
		CHECK(!qs_pn_guard_admit(&g, aad, aadlen, nonce, 7, &space, &pn));
	}

	/* key updates: the last three 1-RTT keys are known */
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_APPLICATION, iv_app[1], IVLEN);
	CHECK(app(&g, iv_app[0], 310));
	CHECK(app(&g, iv_app[1], 311));
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_APPLICATION, iv_app[2], IVLEN);
	CHECK(app(&g, iv_app[0], 312));
	CHECK(app(&g, iv_app[2], 313));
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_APPLICATION, iv_app[3], IVLEN);
	CHECK(!app(&g, iv_app[0], 314));
	CHECK(app(&g, iv_app[1], 315));
	CHECK(app(&g, iv_app[3], 316));

	/* an IV length no QUIC AEAD has: nothing matches */
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, iv_hs, 4);
	CHECK(!packet(&g, 2, QUIC_V1, iv_hs, 1, 1, NULL));
	TEST_CONTEXT_CLEAR();
}

static void
test_initial_rekey(void)
{
	struct qs_pn_guard g;
	uint8_t iv_a[IVLEN], iv_b[IVLEN];
	int64_t got;

	TEST_CONTEXT("Initial keys again");
	make_iv(iv_a, 40);
	make_iv(iv_b, 41);
	qs_pn_guard_init(&g);
	/* a client's Retry: no Initial received yet, the new IV is learnt */
	qs_pn_guard_initial_rekeyed(&g);
	CHECK(packet(&g, 0, QUIC_V1, iv_b, 0, 1, &got));
	CHECK(packet(&g, 0, QUIC_V1, iv_b, 1, 1, &got));
	CHECK_EQ(got, 1);
	/* new keys after Initials arrived: the first nonce no longer gives
	 * the IV, the space is refused */
	qs_pn_guard_initial_rekeyed(&g);
	CHECK(!packet(&g, 0, QUIC_V1, iv_a, 2, 1, NULL));
	CHECK(!packet(&g, 0, QUIC_V1, iv_b, 2, 1, NULL));

	TEST_CONTEXT("QUIC v2 long header types");
	qs_pn_guard_init(&g);
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, iv_b, IVLEN);
	CHECK(packet(&g, 0, QUIC_V2, iv_a, 0, 1, &got));
	CHECK(packet(&g, 0, QUIC_V2, iv_a, 1, 1, &got));
	CHECK_EQ(got, 1);
	CHECK(packet(&g, 2, QUIC_V2, iv_b, 0, 1, &got));
	CHECK_EQ(got, 0);
	TEST_CONTEXT_CLEAR();
}

static void
test_refusals(void)
{
	struct qs_pn_guard g;
	uint8_t iv[IVLEN], iv_hs[IVLEN];

	make_iv(iv, 50);
	make_iv(iv_hs, 51);

	TEST_CONTEXT("the ngtcp2 0.12.1 abort sequence");
	qs_pn_guard_init(&g);
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_APPLICATION, iv, IVLEN);
	CHECK(app(&g, iv, 5));
	qs_pn_guard_sent(&g);          /* our ACK of 5 */
	CHECK(app(&g, iv, 3));         /* acknowledges it: 5 forgotten */
	CHECK(!app(&g, iv, 4));        /* would leave 4 on top, 5 largest */

	TEST_CONTEXT("reordered inside one burst");
	qs_pn_guard_init(&g);
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_APPLICATION, iv, IVLEN);
	CHECK(app(&g, iv, 10));
	CHECK(app(&g, iv, 12));
	CHECK(app(&g, iv, 11));        /* nothing sent since 12 */
	qs_pn_guard_sent(&g);
	CHECK(app(&g, iv, 13));

	TEST_CONTEXT("a gap of two");
	CHECK(app(&g, iv, 16));
	qs_pn_guard_sent(&g);
	CHECK(app(&g, iv, 14));        /* 15 never came: no abort possible */
	CHECK(!app(&g, iv, 15));       /* 16 did, before we sent */

	TEST_CONTEXT("far below the window");
	CHECK(app(&g, iv, 200));
	qs_pn_guard_sent(&g);
	CHECK(!app(&g, iv, 100));
	CHECK(app(&g, iv, 198));       /* 199 never came */

	TEST_CONTEXT("spaces apart");
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, iv_hs, IVLEN);
	CHECK(packet(&g, 2, QUIC_V1, iv_hs, 0, 1, NULL));
	CHECK(packet(&g, 2, QUIC_V1, iv_hs, 1, 1, NULL));
	TEST_CONTEXT_CLEAR();
}

/* ngtcp2's ACK tracker as far as the abort goes: what it tracks, the
 * largest it received, and for each packet we sent the largest it could
 * acknowledge; an acknowledged one forgets everything up to that. */
struct model {
	uint8_t tracked[MODEL_PN_MAX], received[MODEL_PN_MAX];
	int64_t largest;
	int64_t acks[MODEL_STEPS];
	int n_acks;
};

static bool
model_aborts(const struct model *m)
{
	for (int64_t p = m->largest; p >= 0; p--)
		if (m->tracked[p])
			return p + 1 == m->largest;
	return false;
}

/* One random run; true when it reached the abort state. */
static bool
model_run(bool guarded)
{
	static struct model m;
	struct qs_pn_guard g;
	uint8_t iv[IVLEN];

	memset(&m, 0, sizeof(m));
	m.largest = -1;
	make_iv(iv, 60);
	qs_pn_guard_init(&g);
	qs_pn_guard_key(&g, NGTCP2_CRYPTO_LEVEL_APPLICATION, iv, IVLEN);
	for (int step = 0; step < MODEL_STEPS; step++) {
		uint64_t r = test_rng() % 100;

		if (r < 60) {
			/* a packet around the largest: ahead, duplicate, late */
			int64_t lo = m.largest > 70 ? m.largest - 70 : 0;
			int64_t pn = lo + (int64_t)(test_rng() % (uint64_t)(m.largest + 5 - lo));

			if (pn >= MODEL_PN_MAX)
				break;
			if (guarded && !app(&g, iv, pn))
				continue;
			if (m.received[pn])
				continue;         /* ngtcp2 drops duplicates */
			if (test_rng() % 10 == 0)
				continue;         /* and, now and then, what it
						   * decrypted (a DCID it no
						   * longer knows) */
			m.received[pn] = m.tracked[pn] = 1;
			if (pn > m.largest)
				m.largest = pn;
			if (model_aborts(&m))
				return true;
		} else if (r < 85) {
			qs_pn_guard_sent(&g);
			if (m.largest >= 0)
				m.acks[m.n_acks++] = m.largest;
		} else if (m.n_acks > 0) {
			int i = (int)(test_rng() % (uint64_t)m.n_acks);

			for (int64_t p = 0; p <= m.acks[i]; p++)
				m.tracked[p] = 0;
		}
	}
	return false;
}

static void
test_model(void)
{
	int guarded_aborts = 0, unguarded_aborts = 0;

	TEST_CONTEXT("against ngtcp2's ACK tracker");
	for (int i = 0; i < MODEL_RUNS; i++) {
		uint64_t seed = test_rng_state;

		guarded_aborts += model_run(true);
		test_rng_state = seed;
		unguarded_aborts += model_run(false);
	}
	CHECK_EQ(guarded_aborts, 0);
	CHECK(unguarded_aborts > MODEL_RUNS / 10);
	TEST_CONTEXT_CLEAR();
}

int
main(void)
{
	test_keys();
	test_initial_rekey();
	test_refusals();
	test_model();
	return test_done("test_pn_guard");
}
