/* The frame guard (quic/qs_frame_guard.h), no DPDK: in payloads of every
 * frame type a 1-RTT packet may carry,
 * - NEW_CONNECTION_ID frames seen for the first time pass untouched, and
 *   so does everything else;
 * - one whose sequence number came before, in this payload or an earlier
 *   one, becomes PADDING byte for byte, and only it (the frames around it
 *   unchanged);
 * - sequence numbers far below the largest count as seen;
 * - the walk follows every length: ACK ranges and ECN counts, STREAM with
 *   and without offset and length, CRYPTO, NEW_TOKEN, CONNECTION_CLOSE,
 *   DATAGRAM; a truncated frame, or a type it does not know, ends the walk
 *   without a change after it; random payloads never make it write
 *   anything but zeros over whole NEW_CONNECTION_ID frames;
 * - runs of PADDING of every length and alignment (a padded datagram's
 *   tail, a PMTU probe) are walked through to the frames after them. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic/qs_frame_guard.h"
#include "qs_test.h"

#define RANDOM_RUNS 20000

static uint8_t buf[4096];
static size_t len;

static void
put(const void *p, size_t n)
{
	memcpy(buf + len, p, n);
	len += n;
}

static void
put_varint(uint64_t v)
{
	uint8_t b[8];

	if (v < 64) {
		b[0] = (uint8_t)v;
		put(b, 1);
	} else if (v < 16384) {
		b[0] = (uint8_t)(0x40 | v >> 8);
		b[1] = (uint8_t)v;
		put(b, 2);
	} else {
		for (int i = 0; i < 4; i++)
			b[i] = (uint8_t)(v >> (24 - 8 * i));
		b[0] |= 0x80;
		put(b, 4);
	}
}

/* where the frame starts */
static size_t
ncid(uint64_t seq, uint64_t retire_prior_to)
{
	size_t at = len;
	uint8_t cid[8], token[16];

	memset(cid, (int)(0xa0 + seq), sizeof(cid));
	memset(token, (int)(0x50 + seq), sizeof(token));
	put_varint(0x18);
	put_varint(seq);
	put_varint(retire_prior_to);
	put((uint8_t[]){sizeof(cid)}, 1);
	put(cid, sizeof(cid));
	put(token, sizeof(token));
	return at;
}

/* one of each other frame type, lengths and all */
static void
other_frames(void)
{
	static const uint8_t data[40] = "stream data, crypto data, tokens";

	put_varint(0x01);                                  /* PING */
	put_varint(0x03);                                  /* ACK_ECN */
	put_varint(1000); put_varint(25); put_varint(2); put_varint(3);
	put_varint(1); put_varint(4); put_varint(2); put_varint(7);
	put_varint(1); put_varint(2); put_varint(3);
	put_varint(0x02);                                  /* ACK */
	put_varint(10); put_varint(0); put_varint(0); put_varint(10);
	put_varint(0x04); put_varint(4); put_varint(0x10c); put_varint(100);
	put_varint(0x05); put_varint(8); put_varint(0x10c);
	put_varint(0x06); put_varint(0); put_varint(sizeof(data)); put(data, sizeof(data));
	put_varint(0x07); put_varint(12); put(data, 12);
	put_varint(0x0e); put_varint(4); put_varint(100);  /* STREAM off+len */
	put_varint(sizeof(data)); put(data, sizeof(data));
	put_varint(0x0a); put_varint(8); put_varint(5); put(data, 5);
	put_varint(0x10); put_varint(1 << 20);
	put_varint(0x11); put_varint(4); put_varint(1 << 16);
	put_varint(0x12); put_varint(100);
	put_varint(0x14); put_varint(5);
	put_varint(0x15); put_varint(4); put_varint(5);
	put_varint(0x17); put_varint(3);
	put_varint(0x19); put_varint(0);
	put_varint(0x1a); put(data, 8);
	put_varint(0x1b); put(data, 8);
	put_varint(0x31); put_varint(6); put(data, 6);
	put_varint(0x00); put_varint(0x00);                /* PADDING */
}

static void
test_repeats(void)
{
	struct qs_frame_guard g = {0};
	uint8_t copy[sizeof(buf)];
	size_t a, b, c;

	TEST_CONTEXT("first sight and repeats");
	len = 0;
	other_frames();
	a = ncid(1, 0);
	other_frames();
	b = ncid(2, 0);
	c = ncid(3, 1);
	memcpy(copy, buf, len);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 0);
	CHECK(memcmp(copy, buf, len) == 0);

	/* the same payload again (a retransmission): all three turned */
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 3);
	for (size_t i = 0; i < len; i++) {
		bool in_ncid = (i >= a && i < a + 28) || (i >= b && i < b + 28) ||
			       (i >= c && i < c + 28);

		if (in_ncid)
			CHECK_EQ(buf[i], 0);
		else
			CHECK_EQ(buf[i], copy[i]);
	}

	/* a repeat inside one payload; a new one beside it passes */
	len = 0;
	a = ncid(4, 3);
	b = ncid(4, 3);
	c = ncid(5, 3);
	memcpy(copy, buf, len);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 1);
	CHECK(memcmp(buf + a, copy + a, 28) == 0);
	CHECK_EQ(buf[b], 0);
	CHECK(memcmp(buf + c, copy + c, 28) == 0);

	/* far below the largest: seen */
	len = 0;
	ncid(1000, 900);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 0);
	len = 0;
	ncid(900, 900);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 1);
	/* below the largest but in the window and new: passes, once */
	len = 0;
	ncid(990, 900);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 0);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 1);
	TEST_CONTEXT_CLEAR();
}

static void
test_walk_stops(void)
{
	struct qs_frame_guard g = {0};
	uint8_t copy[sizeof(buf)];
	size_t full;

	TEST_CONTEXT("truncated and unknown");
	len = 0;
	ncid(7, 0);
	other_frames();
	full = len;
	CHECK_EQ(qs_frame_guard_filter(&g, buf, full), 0);
	/* every truncation of a payload whose NEW_CONNECTION_ID repeats */
	for (size_t cut = 0; cut < full; cut++) {
		struct qs_frame_guard h = g;

		len = 0;
		ncid(7, 0);
		other_frames();
		memcpy(copy, buf, full);
		qs_frame_guard_filter(&h, buf, cut);
		for (size_t i = cut; i < full; i++)
			CHECK_EQ(buf[i], copy[i]);
		CHECK_EQ(buf[0], cut >= 28 ? 0 : copy[0]);
	}
	/* an unknown frame type ends the walk: what follows stays */
	len = 0;
	put_varint(0x21);
	ncid(7, 0);
	memcpy(copy, buf, len);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 0);
	CHECK(memcmp(copy, buf, len) == 0);
	/* STREAM without a length runs to the end: nothing after it is read */
	len = 0;
	put_varint(0x08);
	put_varint(0);
	ncid(7, 0);
	CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 0);
	TEST_CONTEXT_CLEAR();
}

/* PADDING runs of 0 to 40 bytes at 8 alignments, before a repeated
 * NEW_CONNECTION_ID and a first one: the repeat is turned, the first is
 * not, and a run that ends the payload ends the walk */
static void
test_padding_runs(void)
{
	TEST_CONTEXT("PADDING runs");
	for (size_t off = 0; off < 8; off++) {
		for (size_t run = 0; run <= 40; run++) {
			struct qs_frame_guard g = {0};
			uint8_t *payload = buf + off;
			size_t a, b, base;

			len = off;
			base = len;
			ncid(1, 0);
			memset(buf + len, 0, run);
			len += run;
			a = ncid(1, 0);
			memset(buf + len, 0, run);
			len += run;
			b = ncid(2, 0);
			memset(buf + len, 0, run);
			len += run;
			CHECK_EQ(qs_frame_guard_filter(&g, payload, len - base), 1);
			for (size_t i = a; i < b - run; i++)
				CHECK_EQ(buf[i], 0);
			CHECK_EQ(buf[b], 0x18);
			CHECK_EQ(buf[base], 0x18);
		}
	}
	/* a 1,400-byte probe: PING, then PADDING to the end */
	{
		struct qs_frame_guard g = {0};

		len = 0;
		put_varint(0x01);
		memset(buf + len, 0, 1399);
		len += 1399;
		CHECK_EQ(qs_frame_guard_filter(&g, buf, len), 0);
		CHECK_EQ(buf[0], 0x01);
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_random(void)
{
	TEST_CONTEXT("random payloads");
	srand(1);
	for (int r = 0; r < RANDOM_RUNS; r++) {
		struct qs_frame_guard g = {0};
		uint8_t copy[256];
		size_t n = (size_t)(rand() % 256);

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(rand() % 4 ? rand() % 0x20 : rand());
		memcpy(copy, buf, n);
		qs_frame_guard_filter(&g, buf, n);
		qs_frame_guard_filter(&g, buf, n);
		for (size_t i = 0; i < n; i++)
			if (buf[i] != copy[i])
				CHECK_EQ(buf[i], 0);
		/* nothing past the payload */
		buf[n] = 0x5a;
		qs_frame_guard_filter(&g, buf, n);
		CHECK_EQ(buf[n], 0x5a);
	}
	TEST_CONTEXT_CLEAR();
}

int
main(void)
{
	test_repeats();
	test_walk_stops();
	test_padding_runs();
	test_random();
	return test_done("test_frame_guard");
}
