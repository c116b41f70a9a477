/* The CID codecs.
 * nibble: every owner survives a round trip for every worker count, the
 * bits around the owner are random, and CIDs naming no worker decode to
 * QS_CID_NONE; more than 16 workers are refused.
 * quic-lb (plaintext, single-pass and four-pass): every worker of 1, 32
 * and 256 survives a round trip; the CID's length and first octet are the
 * configuration's, the server ID is node then worker (readable in the
 * plaintext mode), two CIDs differ; a CID of another node of the same
 * configuration decodes to QS_CID_OTHER_NODE, one of another config id or
 * naming a worker beyond ours to QS_CID_NONE; bad [quic_lb] settings are
 * refused naming the key; the server ID helpers the codec shares with
 * app/quicsteer-cid build and split server IDs as the codec does. Needs no
 * EAL (rte_rand seeds itself; without an lcore the codec uses its spare AES
 * context). */
#include <string.h>

#include "base/qs_config.h"
#include "steer/qs_cid.h"
#include "steer/qs_quic_lb.h"
#include "qs_frames.h"
#include "qs_test.h"

#define ROUND_TRIPS 64
#define NIBBLE_MAX 16
#define RANDOM_SAMPLES 512

static void
test_round_trip_every_owner(void)
{
	char err[256];

	for (uint16_t n = 1; n <= NIBBLE_MAX; n++) {
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

	for (uint16_t n = 1; n <= NIBBLE_MAX; n++) {
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
	CHECK_EQ(qs_cid_codec_init(&c, "nibble", NIBBLE_MAX + 1, err,
				   sizeof(err)), -1);
	CHECK_CONTAINS(err, "not 17");
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init(&c, "quic-lb", 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb]");
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init(&c, "cubic", 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "unknown cid format 'cubic'");
	CHECK_CONTAINS(err, "nibble, quic-lb");
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init(&c, "", 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "unknown cid format");
}

/* ---- quic-lb ---- */

static const uint8_t lb_key[QS_QUIC_LB_KEY_BYTES] = {
	0x8f, 0x95, 0xf0, 0x92, 0x45, 0x76, 0x5f, 0x80,
	0x25, 0x69, 0x34, 0xe5, 0x0c, 0x66, 0x20, 0x7f,
};

static struct qs_quic_lb_settings
lb_settings(unsigned int sid, unsigned int nonce, bool key, uint64_t node)
{
	struct qs_quic_lb_settings s = {
		.config_id = 3, .server_id_len = sid, .nonce_len = nonce,
		.node_id = node, .key_set = key, .self_describing_length = 1,
	};

	memcpy(s.key, lb_key, sizeof(s.key));
	return s;
}

static void
test_quic_lb_round_trips(void)
{
	static const struct { unsigned int sid, nonce; bool key; } modes[] = {
		{2, 8, false},          /* plaintext */
		{2, 14, true},          /* single-pass: 16 bytes */
		{3, 6, true},           /* four-pass */
	};
	static const uint16_t workers[] = {1, 32, 256};
	char err[256];

	for (size_t m = 0; m < RTE_DIM(modes); m++) {
		for (size_t w = 0; w < RTE_DIM(workers); w++) {
			struct qs_quic_lb_settings s =
				lb_settings(modes[m].sid, modes[m].nonce,
					    modes[m].key, 0x0102);
			struct qs_cid_codec c;
			uint8_t prev[20] = {0};

			TEST_CONTEXT("sid %u nonce %u key %d, %u workers",
				     modes[m].sid, modes[m].nonce, modes[m].key,
				     workers[w]);
			if (modes[m].sid == 2)
				s.node_id = 0x02;
			CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, workers[w], err,
							   sizeof(err)), 0);
			CHECK(strcmp(c.name, "quic-lb") == 0);
			CHECK_EQ(c.format, QS_CID_FORMAT_QUIC_LB);
			CHECK_EQ(c.cid_len, 1 + modes[m].sid + modes[m].nonce);
			for (uint16_t owner = 0; owner < workers[w]; owner++) {
				uint8_t cid[20];

				qs_cid_encode(&c, owner, cid);
				/* config 3, self-described length */
				CHECK_EQ(cid[0], (3 << 5) | (c.cid_len - 1));
				CHECK_EQ(qs_cid_decode(&c, cid, c.cid_len), owner);
				CHECK_EQ(qs_cid_decode(&c, cid, c.cid_len - 1),
					 QS_CID_NONE);
				if (!modes[m].key) {
					/* the node, then the worker, readable */
					CHECK_EQ(cid[1], 0x02);
					CHECK_EQ(cid[2], owner & 0xff);
				}
				CHECK(memcmp(cid, prev, c.cid_len) != 0);
				memcpy(prev, cid, c.cid_len);
			}
			qs_cid_codec_fini(&c);
			CHECK(c.lb == NULL);
		}
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_quic_lb_other_node(void)
{
	struct qs_quic_lb_settings s1 = lb_settings(3, 6, true, 0x0101);
	struct qs_quic_lb_settings s2 = lb_settings(3, 6, true, 0x0102);
	struct qs_quic_lb_settings s3 = lb_settings(3, 6, true, 0x0101);
	struct qs_cid_codec a, b, other_config, few;
	uint8_t cid[20];
	char err[256];

	TEST_CONTEXT("quic-lb: other nodes, other configs, other workers");
	s3.config_id = 4;
	CHECK_EQ(qs_cid_codec_init_quic_lb(&a, &s1, 32, err, sizeof(err)), 0);
	CHECK_EQ(qs_cid_codec_init_quic_lb(&b, &s2, 32, err, sizeof(err)), 0);
	CHECK_EQ(qs_cid_codec_init_quic_lb(&other_config, &s3, 32, err,
					   sizeof(err)), 0);
	CHECK_EQ(qs_cid_codec_init_quic_lb(&few, &s1, 4, err, sizeof(err)), 0);
	for (uint16_t w = 0; w < 32; w++) {
		qs_cid_encode(&a, w, cid);
		CHECK_EQ(qs_cid_decode(&a, cid, a.cid_len), w);
		CHECK_EQ(qs_cid_decode(&b, cid, b.cid_len), QS_CID_OTHER_NODE);
		CHECK_EQ(qs_cid_decode(&other_config, cid, a.cid_len), QS_CID_NONE);
		CHECK_EQ(qs_cid_decode(&few, cid, a.cid_len),
			 w < 4 ? w : QS_CID_NONE);
	}
	/* 0b111: unroutable, never ours */
	cid[0] = 0xe0 | (uint8_t)(a.cid_len - 1);
	CHECK_EQ(qs_cid_decode(&a, cid, a.cid_len), QS_CID_NONE);
	qs_cid_codec_fini(&a);
	qs_cid_codec_fini(&b);
	qs_cid_codec_fini(&other_config);
	qs_cid_codec_fini(&few);
	TEST_CONTEXT_CLEAR();
}

static void
test_quic_lb_rejects(void)
{
	struct qs_quic_lb_settings s;
	struct qs_cid_codec c;
	char err[256];

	TEST_CONTEXT("quic-lb: bad settings");
	s = lb_settings(2, 8, false, 256);      /* one byte of node */
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb] node_id");
	s = lb_settings(1, 8, false, 1);        /* no byte of node at all */
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb] node_id");
	s = lb_settings(1, 8, false, 0);        /* one node: only the worker */
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 4, err, sizeof(err)), 0);
	qs_cid_codec_fini(&c);
	s = lb_settings(8, 12, true, 1);        /* 20 bytes: over 19 */
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb]");
	s = lb_settings(2, 8, false, 1);
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 0, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "not 0");
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 257, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "not 257");
	s.config_id = 7;
	err[0] = '\0';
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 4, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb]");
	TEST_CONTEXT_CLEAR();
}

/* The server ID helpers the codec and app/quicsteer-cid share: node_id
 * big-endian in the node bytes (zero above 8 bytes), the worker after it;
 * what fits; a configuration from settings for one thread, whose CIDs the
 * codec of the same settings reads. */
static void
test_quic_lb_server_id_helpers(void)
{
	static const uint8_t node2[] = {0x01, 0x02};
	static const uint8_t node9[] = {0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6,
					0xf7, 0xf8};
	struct qs_quic_lb_settings s = lb_settings(3, 6, true, 0x0102);
	struct qs_quic_lb_config lb;
	struct qs_cid_codec c;
	uint8_t node[16], sid[16], nonce[16] = {0}, cid[20];
	char err[256];

	TEST_CONTEXT("quic-lb server ID helpers");
	CHECK_EQ(qs_cid_quic_lb_node_len(1), 0);
	CHECK_EQ(qs_cid_quic_lb_node_len(15), 14);
	CHECK(qs_cid_quic_lb_node_fits(0, 0));
	CHECK(!qs_cid_quic_lb_node_fits(1, 0));
	CHECK(qs_cid_quic_lb_node_fits(255, 1));
	CHECK(!qs_cid_quic_lb_node_fits(256, 1));
	CHECK(qs_cid_quic_lb_node_fits(0xffffffffffffffull, 7));
	CHECK(!qs_cid_quic_lb_node_fits(0x100000000000000ull, 7));
	CHECK(qs_cid_quic_lb_node_fits(UINT64_MAX, 8));
	CHECK(qs_cid_quic_lb_node_fits(UINT64_MAX, 14));
	qs_cid_quic_lb_node(0x0102, 2, node);
	CHECK_MEM_EQ(node, node2, sizeof(node2));
	qs_cid_quic_lb_node(0xf1f2f3f4f5f6f7f8ull, 9, node);
	CHECK_MEM_EQ(node, node9, sizeof(node9));
	qs_cid_quic_lb_server_id(node9, 9, 0xab, sid);
	CHECK_MEM_EQ(sid, node9, sizeof(node9));
	CHECK_EQ(sid[9], 0xab);
	CHECK_EQ(qs_cid_quic_lb_worker(sid, 9), 0xab);

	/* one slot (a tool's one thread): what it mints, the codec reads */
	CHECK_EQ(qs_cid_quic_lb_config_from_settings(&lb, &s, 1, err,
						     sizeof(err)), 0);
	CHECK_EQ(qs_cid_codec_init_quic_lb(&c, &s, 32, err, sizeof(err)), 0);
	CHECK_EQ(lb.cid_len, c.cid_len);
	qs_cid_quic_lb_node(s.node_id, 2, node);
	qs_cid_quic_lb_server_id(node, 2, 31, sid);
	CHECK_EQ(qs_quic_lb_encode(&lb, 0, sid, nonce, 0, cid), 0);
	CHECK_EQ(qs_cid_decode(&c, cid, c.cid_len), 31);
	CHECK_EQ(qs_quic_lb_encode(&lb, 1, sid, nonce, 0, cid), -1);
	qs_quic_lb_config_free(&lb);
	qs_cid_codec_fini(&c);

	/* the server's checks and words */
	s = lb_settings(2, 8, false, 256);
	err[0] = '\0';
	CHECK_EQ(qs_cid_quic_lb_config_from_settings(&lb, &s, 1, err,
						     sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb] node_id: 256 does not fit");
	s = lb_settings(16, 4, false, 0);
	err[0] = '\0';
	CHECK_EQ(qs_cid_quic_lb_config_from_settings(&lb, &s, 1, err,
						     sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb] server_id_len: 16 bytes");
	s = lb_settings(2, 3, true, 0);
	err[0] = '\0';
	CHECK_EQ(qs_cid_quic_lb_config_from_settings(&lb, &s, 1, err,
						     sizeof(err)), -1);
	CHECK_CONTAINS(err, "[quic_lb]: quic-lb nonce_len 3");
	TEST_CONTEXT_CLEAR();
}

int
main(void)
{
	test_round_trip_every_owner();
	test_random_bits_vary();
	test_decode_names_no_worker();
	test_init_rejects();
	test_quic_lb_round_trips();
	test_quic_lb_other_node();
	test_quic_lb_rejects();
	test_quic_lb_server_id_helpers();
	return test_done("test_cid");
}
