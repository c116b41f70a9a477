/* The nibble CID codec: every owner survives a round trip for every worker
 * count, the bits around the owner are random, and CIDs naming no worker
 * decode to QS_CID_NONE. Needs no EAL (rte_rand seeds itself). */
#include <string.h>

#include "steer/qs_cid.h"
#include "qs_frames.h"
#include "qs_test.h"

#define ROUND_TRIPS 64
#define RANDOM_SAMPLES 512

static void
test_round_trip_every_owner(void)
{
	char err[256];

	for (uint16_t n = 1; n <= QS_MAX_WORKERS; n++) {
		struct qs_cid_codec c;

		TEST_CONTEXT("n_workers %u", n);
		CHECK_EQ(qs_cid_codec_init(&c, "nibble", n, err, sizeof(err)), 0);
		CHECK_EQ(c.n_workers, n);
		CHECK_EQ(c.cid_len, 8);
		CHECK(strcmp(c.name, "nibble") == 0);
		for (uint16_t owner = 0; owner < n; owner++) {
			for (int i = 0; i < ROUND_TRIPS; i++) {
				uint8_t cid[20];

				qs_cid_encode(&c, owner, cid);
				CHECK_EQ(cid[0] >> 4, owner);
				CHECK_EQ(qs_cid_decode(&c, cid, c.cid_len), owner);
			}
		}
	}
	TEST_CONTEXT_CLEAR();
}

/* Everything but the owner nibble is random: the low nibble of byte 0 takes
 * all 16 values over many CIDs, and so does every nibble of bytes 1..7. */
static void
test_random_bits_vary(void)
{
	struct qs_cid_codec c;
	char err[256];
	uint32_t seen[8][2] = {{0}}; /* per byte: bitmaps of low, high nibbles */
	uint8_t first[8], cid[8];
	int same_as_first = 0;

	CHECK_EQ(qs_cid_codec_init(&c, "nibble", 4, err, sizeof(err)), 0);
	qs_cid_encode(&c, 3, first);
	for (int i = 0; i < RANDOM_SAMPLES; i++) {
		qs_cid_encode(&c, 3, cid);
		same_as_first += memcmp(cid, first, sizeof(cid)) == 0;
		for (int b = 0; b < 8; b++) {
			seen[b][0] |= 1u << (cid[b] & 0xf);
			seen[b][1] |= 1u << (cid[b] >> 4);
		}
	}
	CHECK_EQ(same_as_first, 0);
	CHECK_EQ(seen[0][1], 1u << 3); /* the owner, always */
	CHECK_EQ(seen[0][0], 0xffff);
	for (int b = 1; b < 8; b++) {
		TEST_CONTEXT("byte %d", b);
		CHECK_EQ(seen[b][0], 0xffff);
		CHECK_EQ(seen[b][1], 0xffff);
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_decode_names_no_worker(void)
{
	static const size_t wrong_lens[] = {0, 1, 7, 9, 16, 20};
	char err[256];
	uint8_t cid[20];

	for (uint16_t n = 1; n <= QS_MAX_WORKERS; n++) {
		struct qs_cid_codec c;

		CHECK_EQ(qs_cid_codec_init(&c, "nibble", n, err, sizeof(err)), 0);
		for (unsigned int owner = 0; owner < 16; owner++) {
			TEST_CONTEXT("n_workers %u, nibble %u", n, owner);
			memset(cid, 0, sizeof(cid));
			qs_frames_nibble_cid((uint8_t)owner, cid);
			CHECK_EQ(qs_cid_decode(&c, cid, 8),
				 owner < n ? (int)owner : QS_CID_NONE);
			for (size_t i = 0; i < RTE_DIM(wrong_lens); i++)
				CHECK_EQ(qs_cid_decode(&c, cid, wrong_lens[i]),
					 QS_CID_NONE);
		}
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_init_rejects(void)
{
	struct qs_cid_codec c;
	char err[256];

	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init(&c, "nibble", 0, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "not 0");
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init(&c, "nibble", QS_MAX_WORKERS + 1, err,
				   sizeof(err)), -1);
	CHECK_CONTAINS(err, "not 17");
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init(&c, "quic-lb", 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "unknown cid format 'quic-lb'");
	CHECK_CONTAINS(err, "nibble");
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init(&c, "", 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "unknown cid format");
}

int
main(void)
{
	test_round_trip_every_owner();
	test_random_bits_vary();
	test_decode_names_no_worker();
	test_init_rejects();
	return test_done("test_cid");
}
