/* Stateless packets: stateless reset length and contents (the token is the one
 * ngtcp2 derives from the configured secret, whichever lcore writes it),
 * Version Negotiation, Retry and NEW_TOKEN tokens, and the per-lcore token
 * bucket that limits resets (driven by TSC values
 * passed in, never by sleeping). */
#include <arpa/inet.h>
#include <string.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "base/qs_ratelimit.h"
#include "quic/qs_stateless.h"
#include "steer/qs_quic_hdr.h"
#include "qs_frames.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define TOKEN_LEN NGTCP2_STATELESS_RESET_TOKENLEN
#define CANARY 0xcd

static struct qs_config cfg;
static const uint8_t dcid[8] = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};

static void
expected_token(const uint8_t *cid, size_t cid_len, uint8_t *token)
{
	qs_frames_reset_token(cfg.reset_secret, sizeof(cfg.reset_secret), cid,
			      cid_len, token);
}

static void
test_reset_len(void)
{
	static const struct {
		size_t trigger, reset;
	} cases[] = {
		{0, 0}, {1, 0}, {20, 0}, {21, 0}, {22, 21}, {23, 22}, {43, 42},
		{44, 43}, {45, 43}, {1200, 43}, {1500, 43}, {65535, 43},
	};

	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		TEST_CONTEXT("trigger of %zu bytes", cases[i].trigger);
		CHECK_EQ(qs_stateless_reset_len(cases[i].trigger), cases[i].reset);
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_write_reset(void)
{
	uint8_t token[TOKEN_LEN], other_token[TOKEN_LEN];
	uint8_t other_dcid[8];

	expected_token(dcid, sizeof(dcid), token);
	for (size_t len = QS_RESET_MIN_LEN; len <= QS_RESET_MAX_LEN; len++) {
		uint8_t out[QS_RESET_MAX_LEN + 8];

		TEST_CONTEXT("reset of %zu bytes", len);
		memset(out, CANARY, sizeof(out));
		CHECK_EQ(qs_stateless_write_reset(out, len, dcid, sizeof(dcid)), 0);
		/* RFC 9000 10.3: looks like a short header: 0b01xxxxxx */
		CHECK_EQ(out[0] & 0xc0, 0x40);
		CHECK_MEM_EQ(out + len - TOKEN_LEN, token, TOKEN_LEN);
		for (size_t i = len; i < sizeof(out); i++)
			CHECK_EQ(out[i], CANARY);
	}
	TEST_CONTEXT_CLEAR();

	/* another CID, another token */
	memcpy(other_dcid, dcid, sizeof(dcid));
	other_dcid[7] ^= 1;
	expected_token(other_dcid, sizeof(other_dcid), other_token);
	CHECK(memcmp(token, other_token, TOKEN_LEN) != 0);
	{
		uint8_t out[QS_RESET_MAX_LEN];

		CHECK_EQ(qs_stateless_write_reset(out, sizeof(out), other_dcid,
						 sizeof(other_dcid)), 0);
		CHECK_MEM_EQ(out + sizeof(out) - TOKEN_LEN, other_token, TOKEN_LEN);
	}
}

/* The bytes before the token are unpredictable: two resets for one CID
 * differ there (27 random bytes at the longest). */
static void
test_reset_random_part_varies(void)
{
	uint8_t a[QS_RESET_MAX_LEN], b[QS_RESET_MAX_LEN];

	CHECK_EQ(qs_stateless_write_reset(a, sizeof(a), dcid, sizeof(dcid)), 0);
	CHECK_EQ(qs_stateless_write_reset(b, sizeof(b), dcid, sizeof(dcid)), 0);
	CHECK(memcmp(a + 1, b + 1, sizeof(a) - 1 - TOKEN_LEN) != 0);
	CHECK_MEM_EQ(a + sizeof(a) - TOKEN_LEN, b + sizeof(b) - TOKEN_LEN,
		     TOKEN_LEN);
}

/* The reset is written over the trigger that carries the DCID. */
static void
test_reset_overwrites_trigger(void)
{
	uint8_t pkt[64], token[TOKEN_LEN];

	expected_token(dcid, sizeof(dcid), token);
	memset(pkt, 0x77, sizeof(pkt));
	pkt[0] = 0x40;
	memcpy(pkt + 1, dcid, sizeof(dcid));
	CHECK_EQ(qs_stateless_write_reset(pkt, 30, pkt + 1, sizeof(dcid)), 0);
	CHECK_MEM_EQ(pkt + 30 - TOKEN_LEN, token, TOKEN_LEN);
}

static void
test_write_reset_refuses(void)
{
	uint8_t out[64], long_cid[NGTCP2_MAX_CIDLEN + 1] = {0};

	CHECK_EQ(qs_stateless_write_reset(out, QS_RESET_MIN_LEN - 1, dcid, 8), -1);
	CHECK_EQ(qs_stateless_write_reset(out, QS_RESET_MAX_LEN + 1, dcid, 8), -1);
	CHECK_EQ(qs_stateless_write_reset(out, 30, long_cid, sizeof(long_cid)), -1);
}

struct lcore_reset {
	uint8_t out[QS_RESET_MAX_LEN];
	int rc;
};

static int
write_reset_on_lcore(void *arg)
{
	struct lcore_reset *r = arg;

	r->rc = qs_stateless_write_reset(r->out, sizeof(r->out), dcid, sizeof(dcid));
	return 0;
}

/* Any lcore computes the same token for a CID (docs/architecture.md "Connection IDs": the secret is
 * shared, only the owner sends). */
static void
test_same_token_on_other_lcore(void)
{
	struct lcore_reset r = {.rc = -2};
	uint8_t token[TOKEN_LEN];
	unsigned int worker = rte_get_next_lcore(-1, 1, 0);

	CHECK(worker < RTE_MAX_LCORE);
	if (worker >= RTE_MAX_LCORE)
		return;
	expected_token(dcid, sizeof(dcid), token);
	CHECK_EQ(rte_eal_remote_launch(write_reset_on_lcore, &r, worker), 0);
	CHECK_EQ(rte_eal_wait_lcore(worker), 0);
	CHECK_EQ(r.rc, 0);
	CHECK_MEM_EQ(r.out + sizeof(r.out) - TOKEN_LEN, token, TOKEN_LEN);
}

/* Without a configured secret each start draws its own. */
static void
test_random_secret(void)
{
	struct qs_config random_cfg;
	uint8_t out[QS_RESET_MAX_LEN], token[TOKEN_LEN];

	expected_token(dcid, sizeof(dcid), token);
	qs_config_defaults(&random_cfg);
	CHECK_EQ(qs_stateless_init(&random_cfg), 0);
	CHECK_EQ(qs_stateless_write_reset(out, sizeof(out), dcid, sizeof(dcid)), 0);
	CHECK(memcmp(out + sizeof(out) - TOKEN_LEN, token, TOKEN_LEN) != 0);
	CHECK_EQ(qs_stateless_init(&cfg), 0);
	CHECK_EQ(qs_stateless_write_reset(out, sizeof(out), dcid, sizeof(dcid)), 0);
	CHECK_MEM_EQ(out + sizeof(out) - TOKEN_LEN, token, TOKEN_LEN);
}

/* qs_stateless_reset_token is the token every reset ends with. */
static void
test_reset_token(void)
{
	uint8_t token[TOKEN_LEN], want[TOKEN_LEN], long_cid[NGTCP2_MAX_CIDLEN + 1];

	expected_token(dcid, sizeof(dcid), want);
	CHECK_EQ(qs_stateless_reset_token(token, dcid, sizeof(dcid)), 0);
	CHECK_MEM_EQ(token, want, TOKEN_LEN);
	memset(long_cid, 1, sizeof(long_cid));
	CHECK_EQ(qs_stateless_reset_token(token, long_cid, sizeof(long_cid)), -1);
}

/* Version Negotiation for a long header of an unknown version: the
 * client's CIDs swapped, version 0, and a list with v1 and a reserved
 * version (RFC 9000 6.3: 0x?a?a?a?a). */
static void
test_version_negotiation(void)
{
	static const uint8_t client_dcid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	static const uint8_t client_scid[5] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5};
	uint8_t out[128];
	struct qs_quic_hdr h;
	ssize_t n = qs_stateless_write_vn(out, sizeof(out), client_dcid,
					 sizeof(client_dcid), client_scid,
					 sizeof(client_scid));
	size_t list;

	CHECK_EQ(n, 7 + sizeof(client_dcid) + sizeof(client_scid) + 8);
	if (n <= 0)
		return;
	CHECK(out[0] & 0x80);
	CHECK_EQ(qs_quic_parse(out, (size_t)n, 8, &h), QS_QUIC_OK);
	CHECK_EQ(h.type, QS_QUIC_VERSION_NEGOTIATION);
	CHECK_EQ(h.dcid_len, sizeof(client_scid));
	CHECK_MEM_EQ(h.dcid, client_scid, sizeof(client_scid));
	CHECK_EQ(h.scid_len, sizeof(client_dcid));
	CHECK_MEM_EQ(h.scid, client_dcid, sizeof(client_dcid));
	list = (size_t)(h.scid + h.scid_len - out);
	CHECK_EQ((size_t)n - list, 8);
	CHECK_EQ(out[list] << 24 | out[list + 1] << 16 | out[list + 2] << 8 |
		 out[list + 3], QS_QUIC_V1);
	CHECK_EQ(out[list + 4] & 0x0f, 0x0a);
	CHECK_EQ(out[list + 5] & 0x0f, 0x0a);
	CHECK_EQ(out[list + 6] & 0x0f, 0x0a);
	CHECK_EQ(out[list + 7] & 0x0f, 0x0a);
	CHECK_EQ(qs_stateless_write_vn(out, 10, client_dcid, sizeof(client_dcid),
				      client_scid, sizeof(client_scid)) < 0, true);
}

/* A Retry's token, carried back in the next Initial, validates the client
 * address and returns the DCID of its first Initial; from another address
 * or for another DCID it does not. */
static void
test_retry_token_round_trip(void)
{
	static const uint8_t first_dcid[8] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
	static const uint8_t client_scid[4] = {0xc1, 0xc2, 0xc3, 0xc4};
	static const uint8_t retry_cid[8] = {0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38};
	struct sockaddr_in client = {.sin_family = AF_INET, .sin_port = htons(50000)};
	struct sockaddr_in other = client;
	ngtcp2_pkt_hd hd, next;
	ngtcp2_cid retry_scid, odcid;
	uint8_t out[256];
	ssize_t n;
	size_t token_off;

	client.sin_addr.s_addr = htonl(0xc6120002);
	other.sin_addr.s_addr = htonl(0xc6120003);
	memset(&hd, 0, sizeof(hd));
	hd.version = NGTCP2_PROTO_VER_V1;
	ngtcp2_cid_init(&hd.dcid, first_dcid, sizeof(first_dcid));
	ngtcp2_cid_init(&hd.scid, client_scid, sizeof(client_scid));
	ngtcp2_cid_init(&retry_scid, retry_cid, sizeof(retry_cid));

	n = qs_stateless_write_retry(out, sizeof(out), &hd,
				    (const struct sockaddr *)&client, sizeof(client),
				    &retry_scid);
	/* header, then the token, then a 16-byte integrity tag */
	token_off = 7 + sizeof(client_scid) + sizeof(retry_cid);
	CHECK(n > (ssize_t)(token_off + 16));
	if (n <= (ssize_t)(token_off + 16))
		return;
	CHECK_EQ((out[0] >> 4) & 3, 3); /* Retry */
	CHECK_MEM_EQ(out + 6, client_scid, sizeof(client_scid));
	CHECK_MEM_EQ(out + 7 + sizeof(client_scid), retry_cid, sizeof(retry_cid));

	memset(&next, 0, sizeof(next));
	next.version = NGTCP2_PROTO_VER_V1;
	next.dcid = retry_scid;
	next.scid = hd.scid;
	next.token.base = out + token_off;
	next.token.len = (size_t)n - token_off - 16;
	memset(&odcid, 0, sizeof(odcid));
	CHECK_EQ(qs_stateless_verify_retry_token(&odcid, &next,
						(const struct sockaddr *)&client,
						sizeof(client)), 0);
	CHECK_EQ(odcid.datalen, sizeof(first_dcid));
	CHECK_MEM_EQ(odcid.data, first_dcid, sizeof(first_dcid));
	CHECK(qs_stateless_verify_retry_token(&odcid, &next,
					     (const struct sockaddr *)&other,
					     sizeof(other)) != 0);
	next.dcid = hd.dcid;
	CHECK(qs_stateless_verify_retry_token(&odcid, &next,
					     (const struct sockaddr *)&client,
					     sizeof(client)) != 0);
}

/* A NEW_TOKEN token validates the address it was made for only. */
static void
test_regular_token_round_trip(void)
{
	struct sockaddr_in6 client = {.sin6_family = AF_INET6, .sin6_port = htons(50000)};
	struct sockaddr_in6 other;
	uint8_t token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
	ngtcp2_pkt_hd hd;
	ssize_t n;

	client.sin6_addr.s6_addr[0] = 0x20;
	client.sin6_addr.s6_addr[15] = 2;
	other = client;
	other.sin6_addr.s6_addr[15] = 3;
	n = qs_stateless_regular_token(token, (const struct sockaddr *)&client,
				      sizeof(client));
	CHECK(n > 0);
	if (n <= 0)
		return;
	memset(&hd, 0, sizeof(hd));
	hd.version = NGTCP2_PROTO_VER_V1;
	hd.token.base = token;
	hd.token.len = (size_t)n;
	CHECK_EQ(qs_stateless_verify_regular_token(&hd, (const struct sockaddr *)&client,
						  sizeof(client)), 0);
	CHECK(qs_stateless_verify_regular_token(&hd, (const struct sockaddr *)&other,
					       sizeof(other)) != 0);
	token[n / 2] ^= 1;
	CHECK(qs_stateless_verify_regular_token(&hd, (const struct sockaddr *)&client,
					       sizeof(client)) != 0);
}

/* t0 plus num/den seconds, rounded up to a whole TSC tick. */
static uint64_t
after(uint64_t t0, uint64_t num, uint64_t den)
{
	uint64_t hz = rte_get_tsc_hz();

	return t0 + (hz * num + den - 1) / den;
}

/* Takes tokens at time now until refused; returns how many it got. */
static unsigned int
take_all(struct qs_ratelimit *rl, uint64_t now, unsigned int most)
{
	unsigned int n = 0;

	while (n < most && qs_ratelimit_take(rl, now))
		n++;
	return n;
}

static void
test_ratelimit(void)
{
	const uint64_t hz = rte_get_tsc_hz();
	struct qs_ratelimit rl;
	uint64_t t0;

	CHECK(hz > 0);
	/* 10 per second, bursts of 5 */
	qs_ratelimit_init(&rl, 10, 5);
	t0 = rl.last_tsc;
	CHECK_EQ(take_all(&rl, t0, 100), 5);        /* the burst */
	CHECK_EQ(qs_ratelimit_take(&rl, t0), false); /* then refusal */
	CHECK_EQ(qs_ratelimit_take(&rl, after(t0, 1, 20)), false); /* half a token */
	CHECK_EQ(qs_ratelimit_take(&rl, after(t0, 1, 10)), true);  /* one refilled */
	CHECK_EQ(qs_ratelimit_take(&rl, after(t0, 1, 10)), false);
	CHECK_EQ(take_all(&rl, after(t0, 6, 10), 100), 5); /* 5 more in 0.5 s */
	/* a long pause refills the burst, not more */
	CHECK_EQ(take_all(&rl, after(t0, 2, 1), 100), 5);
	CHECK_EQ(take_all(&rl, after(t0, 100, 1), 100), 5);
	/* a steady second at the rate: 10, not more */
	{
		unsigned int sent = 0;

		for (uint64_t ms = 1; ms <= 1000; ms++)
			sent += qs_ratelimit_take(&rl, after(t0, 100000 + ms, 1000));
		CHECK_EQ(sent, 10);
	}

	/* rate 0: never, not even the first */
	qs_ratelimit_init(&rl, 0, 1000);
	t0 = rl.last_tsc;
	CHECK_EQ(qs_ratelimit_take(&rl, t0), false);
	CHECK_EQ(qs_ratelimit_take(&rl, after(t0, 1000, 1)), false);

	/* a burst of 1 */
	qs_ratelimit_init(&rl, 1000, 1);
	t0 = rl.last_tsc;
	CHECK_EQ(take_all(&rl, t0, 10), 1);
	CHECK_EQ(take_all(&rl, after(t0, 1, 1), 10), 1);

	/* the largest values the configuration allows: no overflow */
	qs_ratelimit_init(&rl, 10000000, 10000000);
	t0 = rl.last_tsc;
	CHECK_EQ(take_all(&rl, t0, 20000000), 10000000);
	CHECK_EQ(take_all(&rl, after(t0, 3600, 1), 20000000), 10000000);

	/* an idle bucket fills up to its burst however slow the rate:
	 * 1 per second, bursts of 100, idle for 200 s */
	qs_ratelimit_init(&rl, 1, 100);
	t0 = rl.last_tsc;
	CHECK_EQ(take_all(&rl, t0, 1000), 100);
	CHECK_EQ(take_all(&rl, after(t0, 200, 1), 1000), 100);
}

int
main(void)
{
	test_eal_init("stateless", "0-1");

	qs_config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(cfg.reset_secret); i++)
		cfg.reset_secret[i] = (uint8_t)(0x80 + i);
	cfg.reset_secret_set = true;
	CHECK_EQ(qs_stateless_init(&cfg), 0);

	test_reset_len();
	test_write_reset();
	test_reset_random_part_varies();
	test_reset_overwrites_trigger();
	test_write_reset_refuses();
	test_same_token_on_other_lcore();
	test_reset_token();
	test_version_negotiation();
	test_retry_token_round_trip();
	test_regular_token_round_trip();
	test_random_secret();
	test_ratelimit();

	test_eal_cleanup();
	return test_done("test_stateless");
}
