/* QUIC-LB connection IDs (lib/steer/qs_quic_lb.c) against
 * draft-ietf-quic-load-balancers-21: every test vector of its appendix and
 * its encryption example, both ways; round trips over every config id and
 * every valid server ID and nonce length, keyed or not, with or without
 * length self-description; CIDs of other configs, of the unroutable 0b111
 * or of the wrong length decode to none; bad configurations are refused
 * with a message naming the problem; threads share a config through their
 * own slots. Prints the cost of encode and decode per mode (not asserted).
 * Needs no EAL. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/qs_random.h"
#include "steer/qs_quic_lb.h"
#include "qs_test.h"

#define ROUND_TRIPS 3         /* random server IDs and nonces per config */
#define SEED 0x9e3779b97f4a7c15ull
#define THREADS 2
#define THREAD_CIDS 2000
#define BENCH_ITERS 40000
#define BENCH_ROUNDS 5
#define PRODUCTION_CIDS 1000

/* the key of the draft's appendix B, and of its encryption example */
static const char *const vector_key = "8f95f09245765f80256934e50c66207f";
static const char *const example_key = "fdf726a9893ec05c0632d3956680baf0";

/* ---- helpers ---- */

static uint64_t prng_state = SEED;

/* splitmix64: reproducible test inputs (production nonces come from the
 * CSPRNG, see test_production_nonces) */
static uint64_t
prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
prng_bytes(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)prng();
}

/* hex digits (an even number of them) to bytes; returns the byte count */
static size_t
hex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		char two[3] = { s[2 * i], s[2 * i + 1], '\0' };

		out[i] = (uint8_t)strtoul(two, NULL, 16);
	}
	return n;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
config(struct qs_quic_lb_config *cfg, unsigned int config_id,
       unsigned int sid_len, unsigned int nonce_len, const uint8_t *key,
       bool encode_len, unsigned int n_slots)
{
	struct qs_quic_lb_params p = {
		.config_id = (uint8_t)config_id,
		.server_id_len = (uint8_t)sid_len,
		.nonce_len = (uint8_t)nonce_len,
		.encode_len = encode_len,
		.key = key,
		.key_len = key != NULL ? QS_QUIC_LB_KEY_LEN : 0,
		.n_slots = n_slots,
	};
	char err[256] = "";
	int rc = qs_quic_lb_config_init(cfg, &p, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "config refused: %s\n", err);
	return rc;
}

/* ---- the draft's vectors ---- */

/* One row: a config of config_id with the row's lengths and key (hex, or
 * NULL), length self-description on ("In all cases, the server is
 * configured to encode the CID length"). Encoding the nonce gives the CID;
 * decoding the CID gives the server ID and the nonce, and the server ID
 * alone (the load balancer's shorter path). */
static void
vector(unsigned int config_id, const char *sid_hex, const char *nonce_hex,
       const char *key_hex, const char *cid_hex, const char *mode)
{
	struct qs_quic_lb_config cfg;
	uint8_t sid[32], nonce[32], key[32], want[32];
	uint8_t cid[QS_QUIC_LB_CID_MAX], got_sid[32], got_nonce[32];
	size_t sid_len = hex(sid_hex, sid), nonce_len = hex(nonce_hex, nonce);
	size_t cid_len = hex(cid_hex, want);

	TEST_CONTEXT("vector config %u sid %s nonce %s cid %s", config_id,
		     sid_hex, nonce_hex, cid_hex);
	if (key_hex != NULL)
		CHECK_EQ(hex(key_hex, key), QS_QUIC_LB_KEY_LEN);
	CHECK_EQ(config(&cfg, config_id, (unsigned int)sid_len,
			(unsigned int)nonce_len, key_hex != NULL ? key : NULL,
			true, 1), 0);
	CHECK(strcmp(cfg.mode_name, mode) == 0);
	CHECK_EQ(cfg.cid_len, cid_len);

	memset(cid, 0, sizeof(cid));
	CHECK_EQ(qs_quic_lb_encode(&cfg, 0, sid, nonce, 0x1f, cid), 0);
	CHECK_MEM_EQ(cid, want, cid_len);

	memset(got_sid, 0, sizeof(got_sid));
	memset(got_nonce, 0, sizeof(got_nonce));
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, want, cid_len, got_sid, got_nonce), 0);
	CHECK_MEM_EQ(got_sid, sid, sid_len);
	CHECK_MEM_EQ(got_nonce, nonce, nonce_len);
	memset(got_sid, 0, sizeof(got_sid));
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, want, cid_len, got_sid, NULL), 0);
	CHECK_MEM_EQ(got_sid, sid, sid_len);
	qs_quic_lb_config_free(&cfg);
	TEST_CONTEXT_CLEAR();
}

/* Appendix B, "Unencrypted CIDs". */
static void
test_vectors_plaintext(void)
{
	struct qs_quic_lb_config cfg;
	uint8_t literal[32], sid[8], nonce[8];
	char printed[64];
	size_t n;

	vector(0, "c4605e", "4504cc4f", NULL, "07c4605e4504cc4f", "plaintext");

	/* Erratum: the second row reads "1 350d28b420 3487d970b
	 * 20a350d28b4203487d970b". Its nonce has 9 hex digits (4.5 bytes)
	 * and its CID, read as 11 bytes, starts 0x20: config 1 with
	 * self-described length 0, where the row's 10 bytes of server ID and
	 * nonce would make it 0x2a. Both columns are what printing each
	 * number in hex without zero padding gives: the nonce is the 5-byte
	 * 0x03487d970b, and the CID is 0x2a 350d28b420 03487d970b printed as
	 * "20" (config bits) "a" (length) "350d28b420" (server ID)
	 * "3487d970b" (nonce). So the row is tested as that. */
	vector(1, "350d28b420", "03487d970b", NULL, "2a350d28b42003487d970b",
	       "plaintext");
	snprintf(printed, sizeof(printed), "%x%x%s%llx", 1u << 5, 10u,
		 "350d28b420", 0x03487d970bull);
	CHECK(strcmp(printed, "20a350d28b4203487d970b") == 0);
	/* the row's CID taken literally is not a CID of that config: its
	 * first octet says 0 bytes follow */
	CHECK_EQ(config(&cfg, 1, 5, 5, NULL, true, 1), 0);
	n = hex("20a350d28b4203487d970b", literal);
	CHECK_EQ(n, 11);
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, literal, n, sid, nonce),
		 QS_QUIC_LB_NONE);
	qs_quic_lb_config_free(&cfg);
}

/* Appendix B, "Encrypted CIDs", and the example of section 5.4.2. */
static void
test_vectors_encrypted(void)
{
	struct qs_quic_lb_config cfg;
	uint8_t key[QS_QUIC_LB_KEY_LEN], cid[32], sid[16];

	/* four-pass, odd length 7, server ID no longer than nonce: the
	 * decode without nonce takes 3 passes */
	vector(0, "ed793a", "ee080dbf", vector_key, "0720b1d07b359d3c",
	       "four-pass");
	/* four-pass, even length 15, server ID longer than nonce: 4 passes */
	vector(1, "ed793a51d49b8f5fab65", "ee080dbf48", vector_key,
	       "2fcc381bc74cb4fbad2823a3d1f8fed2", "four-pass");
	/* 16 bytes: single-pass */
	vector(2, "ed793a51d49b8f5f", "ee080dbf48c0d1e5", vector_key,
	       "504dd2d05a7b0de9b2b9907afb5ecf8cc3", "single-pass");
	/* Erratum: the fourth row is labelled cr_bits 3, but its CID's first
	 * octet 0x12 is config 0 (0b000) with length 18 (0b10010), which
	 * agrees with its 9 + 9 bytes. The first octet is outside the
	 * cipher, so the row is config 0 as printed; under config 3 the same
	 * server ID and nonce give 0x72 and the same 18 bytes. */
	vector(0, "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d", vector_key,
	       "125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc", "four-pass");
	vector(3, "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d", vector_key,
	       "725779c9cc86beb3a3a4a3ca96fce4bfe0cdbc", "four-pass");
	/* and the row taken literally does not decode under config 3 */
	hex(vector_key, key);
	CHECK_EQ(config(&cfg, 3, 9, 9, key, true, 1), 0);
	hex("125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc", cid);
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 19, sid, NULL),
		 QS_QUIC_LB_NONE);
	qs_quic_lb_config_free(&cfg);

	/* Section 5.4.2's worked example. (Its step 10 prints the AES output
	 * as 0xb334357c... and then XORs 0xb3e4357c; the first is right:
	 * 0xd4a04850 ^ 0xb334357c = 0x67947d2c, the left_2 it goes on with.) */
	vector(0, "31441a", "9c69c275", example_key, "0767947d29be054a",
	       "four-pass");
}

/* ---- round trips over every configuration ---- */

/* What must hold for one CID of cfg made from sid and nonce. */
static void
check_cid(const struct qs_quic_lb_config *cfg, const uint8_t *sid,
	  const uint8_t *nonce, uint8_t random_bits, const uint8_t *cid)
{
	uint8_t bad[QS_QUIC_LB_CID_MAX + 1];
	uint8_t got_sid[QS_QUIC_LB_SERVER_ID_MAX];
	uint8_t got_nonce[QS_QUIC_LB_NONCE_MAX];
	uint8_t plain[QS_QUIC_LB_PLAINTEXT_MAX];
	size_t len = cfg->cid_len;

	/* the first octet */
	CHECK_EQ(qs_quic_lb_cid_config_id(cid), cfg->config_id);
	CHECK_EQ(cid[0] & 0x1f, cfg->encode_len ? (unsigned int)len - 1
						: (random_bits & 0x1fu));

	/* plaintext shows server ID and nonce as they are; a key hides them */
	memcpy(plain, sid, cfg->server_id_len);
	memcpy(plain + cfg->server_id_len, nonce, cfg->nonce_len);
	if (cfg->mode == QS_QUIC_LB_PLAINTEXT)
		CHECK_MEM_EQ(cid + 1, plain, cfg->plaintext_len);
	else
		CHECK(memcmp(cid + 1, plain, cfg->plaintext_len) != 0);

	/* back again, with and without the nonce */
	CHECK_EQ(qs_quic_lb_decode(cfg, 0, cid, len, got_sid, got_nonce), 0);
	CHECK_MEM_EQ(got_sid, sid, cfg->server_id_len);
	CHECK_MEM_EQ(got_nonce, nonce, cfg->nonce_len);
	memset(got_sid, 0, sizeof(got_sid));
	CHECK_EQ(qs_quic_lb_decode(cfg, 0, cid, len, got_sid, NULL), 0);
	CHECK_MEM_EQ(got_sid, sid, cfg->server_id_len);

	/* another config id, or the unroutable 0b111: none */
	memcpy(bad, cid, len);
	for (unsigned int id = 0; id <= QS_QUIC_LB_CONFIG_ID_UNROUTABLE; id++) {
		if (id == cfg->config_id)
			continue;
		bad[0] = (uint8_t)(id << 5 | (cid[0] & 0x1f));
		CHECK_EQ(qs_quic_lb_decode(cfg, 0, bad, len, got_sid, NULL),
			 QS_QUIC_LB_NONE);
	}
	/* the wrong length: none */
	memcpy(bad, cid, len);
	bad[len] = 0;
	CHECK_EQ(qs_quic_lb_decode(cfg, 0, bad, len - 1, got_sid, NULL),
		 QS_QUIC_LB_NONE);
	CHECK_EQ(qs_quic_lb_decode(cfg, 0, bad, len + 1, got_sid, NULL),
		 QS_QUIC_LB_NONE);
	CHECK_EQ(qs_quic_lb_decode(cfg, 0, bad, 0, got_sid, NULL),
		 QS_QUIC_LB_NONE);
	/* the low 5 bits: a self-described length that disagrees is none;
	 * random bits are ignored */
	bad[0] = (uint8_t)(cid[0] ^ 0x01);
	if (cfg->encode_len) {
		CHECK_EQ(qs_quic_lb_decode(cfg, 0, bad, len, got_sid, NULL),
			 QS_QUIC_LB_NONE);
	} else {
		memset(got_sid, 0, sizeof(got_sid));
		CHECK_EQ(qs_quic_lb_decode(cfg, 0, bad, len, got_sid, NULL), 0);
		CHECK_MEM_EQ(got_sid, sid, cfg->server_id_len);
	}
}

static void
test_round_trips(void)
{
	uint8_t key[QS_QUIC_LB_KEY_LEN];
	unsigned int configs[3] = {0}, three_pass = 0;

	for (unsigned int id = 0; id <= QS_QUIC_LB_CONFIG_ID_MAX; id++)
	for (unsigned int sl = QS_QUIC_LB_SERVER_ID_MIN;
	     sl <= QS_QUIC_LB_SERVER_ID_MAX; sl++)
	for (unsigned int nl = QS_QUIC_LB_NONCE_MIN;
	     sl + nl <= QS_QUIC_LB_PLAINTEXT_MAX; nl++)
	for (int keyed = 0; keyed <= 1; keyed++)
	for (int encode_len = 0; encode_len <= 1; encode_len++) {
		struct qs_quic_lb_config cfg;

		TEST_CONTEXT("config %u, server ID %u, nonce %u, %s, %s", id,
			     sl, nl, keyed ? "keyed" : "no key",
			     encode_len ? "length encoded" : "random bits");
		prng_bytes(key, sizeof(key));
		if (config(&cfg, id, sl, nl, keyed ? key : NULL, encode_len,
			   1) != 0) {
			CHECK(0);
			continue;
		}
		configs[cfg.mode]++;
		three_pass += cfg.three_pass_decode;
		CHECK_EQ(cfg.cid_len, 1 + sl + nl);
		CHECK_EQ(cfg.mode, !keyed ? QS_QUIC_LB_PLAINTEXT :
				   sl + nl == 16 ? QS_QUIC_LB_SINGLE_PASS :
				   QS_QUIC_LB_FOUR_PASS);
		for (int i = 0; i < ROUND_TRIPS; i++) {
			uint8_t sid[QS_QUIC_LB_SERVER_ID_MAX];
			uint8_t nonce[QS_QUIC_LB_NONCE_MAX];
			uint8_t cid[QS_QUIC_LB_CID_MAX], again[QS_QUIC_LB_CID_MAX];
			uint8_t random_bits = (uint8_t)prng();

			prng_bytes(sid, sl);
			prng_bytes(nonce, nl);
			CHECK_EQ(qs_quic_lb_encode(&cfg, 0, sid, nonce,
						   random_bits, cid), 0);
			check_cid(&cfg, sid, nonce, random_bits, cid);
			/* a function of its inputs */
			CHECK_EQ(qs_quic_lb_encode(&cfg, 0, sid, nonce,
						   random_bits, again), 0);
			CHECK_MEM_EQ(again, cid, cfg.cid_len);
		}
		qs_quic_lb_config_free(&cfg);
	}
	TEST_CONTEXT_CLEAR();
	/* 7 config ids x 120 length pairs x 2 (length bits): 12 of the pairs
	 * make 16 bytes; 76 four-pass pairs have a server ID <= nonce */
	CHECK_EQ(configs[QS_QUIC_LB_PLAINTEXT], 7 * 120 * 2);
	CHECK_EQ(configs[QS_QUIC_LB_SINGLE_PASS], 7 * 12 * 2);
	CHECK_EQ(configs[QS_QUIC_LB_FOUR_PASS], 7 * 108 * 2);
	CHECK_EQ(three_pass, 7 * 76 * 2);
}

/* The production path: nonces and first-octet bits from the CSPRNG give
 * distinct CIDs that all decode to their server ID. */
static void
test_production_nonces(void)
{
	static uint8_t cids[PRODUCTION_CIDS][QS_QUIC_LB_CID_MAX];
	struct qs_quic_lb_config cfg;
	uint8_t key[QS_QUIC_LB_KEY_LEN], sid[2] = { 0x01, 0x07 }, got[2];
	int same = 0;

	qs_random_bytes(key, sizeof(key));
	CHECK_EQ(config(&cfg, 2, sizeof(sid), 6, key, false, 1), 0);
	for (int i = 0; i < PRODUCTION_CIDS; i++) {
		uint8_t nonce[6], bits;

		qs_random_bytes(nonce, sizeof(nonce));
		qs_random_bytes(&bits, 1);
		CHECK_EQ(qs_quic_lb_encode(&cfg, 0, sid, nonce, bits, cids[i]), 0);
		CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cids[i], cfg.cid_len, got,
					   NULL), 0);
		CHECK_MEM_EQ(got, sid, sizeof(sid));
		for (int j = 0; j < i; j++)
			same += memcmp(cids[j], cids[i], cfg.cid_len) == 0;
	}
	CHECK_EQ(same, 0);
	qs_quic_lb_config_free(&cfg);
}

/* ---- refusals ---- */

static void
refused(struct qs_quic_lb_params p, const char *needle)
{
	struct qs_quic_lb_config cfg;
	char err[256] = "";

	TEST_CONTEXT("refusal '%s'", needle);
	memset(&cfg, 0xa5, sizeof(cfg));
	CHECK_EQ(qs_quic_lb_config_init(&cfg, &p, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, needle);
	CHECK(cfg.slots == NULL);       /* nothing to free */
	CHECK(cfg.decode == NULL);
	printf("  refused: %s\n", err);
	TEST_CONTEXT_CLEAR();
}

static void
test_config_rejects(void)
{
	static const uint8_t key[QS_QUIC_LB_KEY_LEN + 1];
	const struct qs_quic_lb_params ok = {
		.config_id = 0, .server_id_len = 3, .nonce_len = 4,
		.encode_len = true, .key = key, .key_len = QS_QUIC_LB_KEY_LEN,
		.n_slots = 1,
	};
	struct qs_quic_lb_params p;
	struct qs_quic_lb_config cfg;
	char err[256];

	CHECK_EQ(qs_quic_lb_config_init(&cfg, &ok, err, sizeof(err)), 0);
	qs_quic_lb_config_free(&cfg);
	qs_quic_lb_config_free(&cfg);   /* twice is harmless */

	p = ok; p.config_id = 7;
	refused(p, "config_id 7 (0b111) is reserved for unroutable CIDs");
	p = ok; p.config_id = 8;
	refused(p, "config_id 8 does not fit");
	p = ok; p.nonce_len = 3;
	refused(p, "nonce_len 3 is shorter than the minimum of 4");
	p = ok; p.server_id_len = 5; p.nonce_len = 15;
	refused(p, "server_id_len 5 + nonce_len 15 = 20 bytes is over 19");
	p = ok; p.server_id_len = 1; p.nonce_len = 19;
	refused(p, "= 20 bytes is over 19");
	p = ok; p.server_id_len = 16;
	refused(p, "server_id_len 16 is longer than allowed: at most 15");
	p = ok; p.server_id_len = 0;
	refused(p, "server_id_len 0");
	p = ok; p.key_len = 15;
	refused(p, "key of 15 bytes");
	p = ok; p.key_len = 17;
	refused(p, "key of 17 bytes");
	p = ok; p.key = NULL;
	refused(p, "key_len 16 but no key");
	p = ok; p.n_slots = 0;
	refused(p, "n_slots 0");
	p = ok; p.n_slots = QS_QUIC_LB_SLOTS_MAX + 1;
	refused(p, "n_slots 1025");

	/* the edges that are allowed */
	p = ok; p.server_id_len = 15; p.nonce_len = 4;
	CHECK_EQ(qs_quic_lb_config_init(&cfg, &p, err, sizeof(err)), 0);
	CHECK_EQ(cfg.cid_len, 20);
	qs_quic_lb_config_free(&cfg);
	p = ok; p.server_id_len = 1; p.nonce_len = 18; p.config_id = 6;
	CHECK_EQ(qs_quic_lb_config_init(&cfg, &p, err, sizeof(err)), 0);
	CHECK_EQ(cfg.cid_len, 20);
	qs_quic_lb_config_free(&cfg);
	p = ok; p.key = NULL; p.key_len = 0; p.n_slots = 0;  /* plaintext */
	CHECK_EQ(qs_quic_lb_config_init(&cfg, &p, err, sizeof(err)), 0);
	CHECK_EQ(cfg.mode, QS_QUIC_LB_PLAINTEXT);
	qs_quic_lb_config_free(&cfg);
}

/* ---- none ---- */

/* A few CIDs by hand that name no server of config 0 (keyed, 3 + 4). */
static void
test_decode_none(void)
{
	struct qs_quic_lb_config cfg;
	uint8_t key[QS_QUIC_LB_KEY_LEN], cid[32], sid[3];

	hex(vector_key, key);
	CHECK_EQ(config(&cfg, 0, 3, 4, key, true, 1), 0);
	hex("0720b1d07b359d3c", cid);
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 8, sid, NULL), 0);
	cid[0] = 0xe7;                          /* 0b111: unroutable */
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 8, sid, NULL), QS_QUIC_LB_NONE);
	cid[0] = 0x27;                          /* config 1 */
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 8, sid, NULL), QS_QUIC_LB_NONE);
	cid[0] = 0x08;                          /* length 8, not 7 */
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 8, sid, NULL), QS_QUIC_LB_NONE);
	cid[0] = 0x07;
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 7, sid, NULL), QS_QUIC_LB_NONE);
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 9, sid, NULL), QS_QUIC_LB_NONE);
	CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, 20, sid, NULL), QS_QUIC_LB_NONE);
	qs_quic_lb_config_free(&cfg);
}

/* ---- slots and threads ---- */

static void
test_slot_range(void)
{
	struct qs_quic_lb_config cfg;
	uint8_t key[QS_QUIC_LB_KEY_LEN] = {1}, sid[4] = {1, 2, 3, 4};
	uint8_t nonce[12] = {0}, cid[QS_QUIC_LB_CID_MAX], got[4];
	const unsigned int nonce_lens[] = { 5, 12 };  /* four-pass, single */

	for (unsigned int i = 0; i < 2; i++) {
		TEST_CONTEXT("nonce %u", nonce_lens[i]);
		CHECK_EQ(config(&cfg, 0, 4, nonce_lens[i], key, true, 2), 0);
		CHECK_EQ(qs_quic_lb_encode(&cfg, 1, sid, nonce, 0, cid), 0);
		CHECK_EQ(qs_quic_lb_decode(&cfg, 0, cid, cfg.cid_len, got, NULL), 0);
		CHECK_MEM_EQ(got, sid, sizeof(sid));
		CHECK_EQ(qs_quic_lb_encode(&cfg, 2, sid, nonce, 0, cid), -1);
		CHECK_EQ(qs_quic_lb_decode(&cfg, 2, cid, cfg.cid_len, got, NULL),
			 QS_QUIC_LB_NONE);
		qs_quic_lb_config_free(&cfg);
	}
	TEST_CONTEXT_CLEAR();
	/* plaintext has no slots and needs none */
	CHECK_EQ(config(&cfg, 0, 4, 5, NULL, true, 0), 0);
	CHECK_EQ(qs_quic_lb_encode(&cfg, 7, sid, nonce, 0, cid), 0);
	CHECK_EQ(qs_quic_lb_decode(&cfg, 9, cid, cfg.cid_len, got, NULL), 0);
	CHECK_MEM_EQ(got, sid, sizeof(sid));
	qs_quic_lb_config_free(&cfg);
}

struct thread_arg {
	const struct qs_quic_lb_config *cfg;
	unsigned int slot;
	const uint8_t (*cids)[QS_QUIC_LB_CID_MAX];
	const uint8_t (*sids)[QS_QUIC_LB_SERVER_ID_MAX];
	unsigned int wrong;
};

static void *
thread_decode(void *p)
{
	struct thread_arg *a = p;

	for (int round = 0; round < 4; round++)
		for (int i = 0; i < THREAD_CIDS; i++) {
			uint8_t sid[QS_QUIC_LB_SERVER_ID_MAX];
			uint8_t cid[QS_QUIC_LB_CID_MAX];

			if (qs_quic_lb_decode(a->cfg, a->slot, a->cids[i],
					      a->cfg->cid_len, sid, NULL) != 0 ||
			    memcmp(sid, a->sids[i], a->cfg->server_id_len) != 0)
				a->wrong++;
			/* and mint one, as an owner would */
			if (qs_quic_lb_encode(a->cfg, a->slot, a->sids[i],
					      a->cids[i] + 1, 0, cid) != 0)
				a->wrong++;
		}
	return NULL;
}

/* Threads share one config, each through its own slot, at the same time. */
static void
test_threads(void)
{
	static uint8_t cids[THREAD_CIDS][QS_QUIC_LB_CID_MAX];
	static uint8_t sids[THREAD_CIDS][QS_QUIC_LB_SERVER_ID_MAX];
	struct thread_arg args[THREADS];
	pthread_t tids[THREADS];
	struct qs_quic_lb_config cfg;
	uint8_t key[QS_QUIC_LB_KEY_LEN];

	prng_bytes(key, sizeof(key));
	CHECK_EQ(config(&cfg, 5, 10, 5, key, true, THREADS), 0);
	for (int i = 0; i < THREAD_CIDS; i++) {
		uint8_t nonce[5];

		prng_bytes(sids[i], cfg.server_id_len);
		prng_bytes(nonce, sizeof(nonce));
		CHECK_EQ(qs_quic_lb_encode(&cfg, 0, sids[i], nonce, 0, cids[i]), 0);
	}
	for (unsigned int t = 0; t < THREADS; t++) {
		args[t] = (struct thread_arg){ .cfg = &cfg, .slot = t,
			.cids = (const uint8_t (*)[QS_QUIC_LB_CID_MAX])cids,
			.sids = (const uint8_t (*)[QS_QUIC_LB_SERVER_ID_MAX])sids };
		CHECK_EQ(pthread_create(&tids[t], NULL, thread_decode, &args[t]), 0);
	}
	for (unsigned int t = 0; t < THREADS; t++) {
		CHECK_EQ(pthread_join(tids[t], NULL), 0);
		CHECK_EQ(args[t].wrong, 0);
	}
	qs_quic_lb_config_free(&cfg);
}

/* ---- cost ---- */

enum bench_op { BENCH_ENCODE, BENCH_DECODE_SID, BENCH_DECODE_ALL };

/* ns per call of op: the fastest of BENCH_ROUNDS rounds, as the machine
 * is shared (other lcores, other builds) and only the floor is the code's */
static double
bench_op(const struct qs_quic_lb_config *cfg, enum bench_op op,
	 uint8_t *sid, uint8_t *nonce, uint8_t *cid, int *fails)
{
	double best = 0;

	for (int r = 0; r < BENCH_ROUNDS; r++) {
		double t = now_ns(), ns;

		for (int i = 0; i < BENCH_ITERS; i++) {
			switch (op) {
			case BENCH_ENCODE:
				nonce[0] = (uint8_t)i;
				*fails += qs_quic_lb_encode(cfg, 0, sid, nonce,
							    0, cid) != 0;
				break;
			case BENCH_DECODE_SID:
			case BENCH_DECODE_ALL:
				cid[cfg->cid_len - 1] = (uint8_t)i;
				*fails += qs_quic_lb_decode(cfg, 0, cid,
					cfg->cid_len, sid,
					op == BENCH_DECODE_ALL ? nonce : NULL) != 0;
				break;
			}
		}
		ns = (now_ns() - t) / BENCH_ITERS;
		if (r == 0 || ns < best)
			best = ns;
	}
	return best;
}

static void
bench(const char *what, unsigned int sid_len, unsigned int nonce_len,
      bool keyed)
{
	struct qs_quic_lb_config cfg;
	uint8_t key[QS_QUIC_LB_KEY_LEN], sid[QS_QUIC_LB_SERVER_ID_MAX];
	uint8_t nonce[QS_QUIC_LB_NONCE_MAX], cid[QS_QUIC_LB_CID_MAX];
	double enc, dec_sid, dec_all;
	int fails = 0;

	prng_bytes(key, sizeof(key));
	prng_bytes(sid, sid_len);
	prng_bytes(nonce, nonce_len);
	if (config(&cfg, 1, sid_len, nonce_len, keyed ? key : NULL, true,
		   1) != 0) {
		CHECK(0);
		return;
	}
	enc = bench_op(&cfg, BENCH_ENCODE, sid, nonce, cid, &fails);
	dec_sid = bench_op(&cfg, BENCH_DECODE_SID, sid, nonce, cid, &fails);
	dec_all = bench_op(&cfg, BENCH_DECODE_ALL, sid, nonce, cid, &fails);
	CHECK_EQ(fails, 0);
	printf("  %-34s cid %2u: encode %6.1f ns, decode %6.1f ns "
	       "(server ID), %6.1f ns (with nonce)\n", what, cfg.cid_len,
	       enc, dec_sid, dec_all);
	qs_quic_lb_config_free(&cfg);
}

static void
test_bench(void)
{
	printf("cost per call (not asserted; best of %d rounds of %d calls):\n",
	       BENCH_ROUNDS, BENCH_ITERS);
	bench("plaintext, sid 3 + nonce 5", 3, 5, false);
	bench("single-pass, sid 4 + nonce 12", 4, 12, true);
	bench("four-pass, sid 3 + nonce 5", 3, 5, true);
	bench("four-pass, sid 3 + nonce 4 (odd)", 3, 4, true);
	bench("four-pass, sid 10 + nonce 5", 10, 5, true);
}

int
main(void)
{
	printf("test inputs from splitmix64 seed 0x%llx\n",
	       (unsigned long long)SEED);
	test_vectors_plaintext();
	test_vectors_encrypted();
	test_round_trips();
	test_production_nonces();
	test_config_rejects();
	test_decode_none();
	test_slot_range();
	test_threads();
	test_bench();
	return test_done("test_quic_lb");
}
