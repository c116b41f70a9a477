/* Random bytes for CIDs (lib/base/qs_random.c): they come from a CSPRNG,
 * not from DPDK's rte_rand (re-seeding rte_rand with the same seed must not
 * repeat them), requests of every length and across refills are filled,
 * the bytes are uniform (chi-square), and nibble CIDs of many connections
 * share nothing but the owner: no two equal, every other byte uniform. */
#include <stdlib.h>
#include <string.h>

#include <rte_random.h>

#include "base/qs_random.h"
#include "steer/qs_cid.h"
#include "qs_test.h"

#define CIDS 200000
#define CHI_BYTES (1 << 20)
/* chi-square bounds a uniform source exceeds about once in a million runs
 * (Wilson-Hilferty): 255 degrees of freedom (a byte), 15 (a nibble) */
#define CHI255_MAX 377.0
#define CHI15_MAX 57.0

static double
chi_square(const uint64_t *counts, int bins, uint64_t total)
{
	double expect = (double)total / bins, x = 0;

	for (int i = 0; i < bins; i++)
		x += ((double)counts[i] - expect) * ((double)counts[i] - expect) / expect;
	return x;
}

/* rte_srand makes rte_rand repeat itself; CIDs must not. */
static void
test_not_rte_rand(void)
{
	uint8_t a[64], b[64];

	rte_srand(12345);
	qs_random_bytes(a, sizeof(a));
	rte_srand(12345);
	qs_random_bytes(b, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

/* Every length, across batch refills: all bytes written, none beyond. */
static void
test_lengths(void)
{
	static uint8_t buf[5000 + 2];

	for (size_t len = 0; len <= 5000; len += len < 40 ? 1 : 997) {
		int zeros = 0;

		TEST_CONTEXT("length %zu", len);
		memset(buf, 0, sizeof(buf));
		buf[len + 1] = 0xa5;
		qs_random_bytes(buf + 1, len);
		CHECK_EQ(buf[0], 0);
		CHECK_EQ(buf[len + 1], 0xa5);
		for (size_t i = 1; i <= len; i++)
			zeros += buf[i] == 0;
		/* 1/256 of the bytes are 0 on average; all-zero means unwritten */
		if (len >= 64)
			CHECK(zeros < (int)len / 16);
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_uniform_bytes(void)
{
	static uint8_t buf[CHI_BYTES];
	uint64_t counts[256] = {0};
	double x;

	/* odd sizes, so batch boundaries fall everywhere */
	for (size_t off = 0; off < sizeof(buf);) {
		size_t n = 1 + (off * 7919) % 113;

		if (n > sizeof(buf) - off)
			n = sizeof(buf) - off;
		qs_random_bytes(buf + off, n);
		off += n;
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		counts[buf[i]]++;
	x = chi_square(counts, 256, sizeof(buf));
	printf("test_random: chi-square of %d bytes: %.1f (bound %.1f)\n",
	       CHI_BYTES, x, CHI255_MAX);
	CHECK(x < CHI255_MAX);
}

static int
cmp_cid(const void *a, const void *b)
{
	return memcmp(a, b, 8);
}

/* CIDs of many connections: unique, and every bit but the owner's carries
 * no structure. */
static void
test_cids_unlinkable(void)
{
	static uint8_t cids[CIDS][8];
	static uint64_t counts[8][256];
	uint64_t low_nibble[16] = {0};
	struct qs_cid_codec c;
	char err[256];
	int dups = 0;

	CHECK_EQ(qs_cid_codec_init(&c, "nibble", 16, err, sizeof(err)), 0);
	for (int i = 0; i < CIDS; i++) {
		qs_cid_encode(&c, (uint16_t)(i % 16), cids[i]);
		CHECK_EQ(cids[i][0] >> 4, i % 16);
		low_nibble[cids[i][0] & 0xf]++;
		for (int b = 1; b < 8; b++)
			counts[b][cids[i][b]]++;
	}
	for (int b = 1; b < 8; b++) {
		double x = chi_square(counts[b], 256, CIDS);

		TEST_CONTEXT("CID byte %d: chi-square %.1f", b, x);
		CHECK(x < CHI255_MAX);
	}
	TEST_CONTEXT("low nibble of byte 0");
	CHECK(chi_square(low_nibble, 16, CIDS) < CHI15_MAX);
	TEST_CONTEXT_CLEAR();
	qsort(cids, CIDS, 8, cmp_cid);
	for (int i = 1; i < CIDS; i++)
		dups += memcmp(cids[i - 1], cids[i], 8) == 0;
	/* 60 random bits: a repeat among 200,000 has odds of about 2e-8 */
	CHECK_EQ(dups, 0);
}

int
main(void)
{
	test_not_rte_rand();
	test_lengths();
	test_uniform_bytes();
	test_cids_unlinkable();
	return test_done("test_random");
}
