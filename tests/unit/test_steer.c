/* Steering: the owner decision for every kind of QUIC header, with steering
 * on and off; then the handoff to inbox rings when they fill up: what fits
 * is enqueued in order, the rest is freed back to the pool and counted. */
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "steer/qs_cid.h"
#include "qs_frames.h"
#include "steer/qs_steer.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define N_WORKERS 4
#define SELF 1
#define OTHER 2
#define NO_WORKER 9     /* a nibble >= N_WORKERS */
#define DATAGRAM_LEN 60
#define INBOX_SIZE 64   /* holds INBOX_SIZE - 1 */
#define POOL_SIZE 1024
#define UNKNOWN_VERSION 0xff00001du

static struct qs_cid_codec codec;

struct decide_case {
	const char *name;
	uint8_t payload[DATAGRAM_LEN + 300];
	size_t len;
	enum qs_quic_long_type type;     /* when it parses */
	enum qs_steer_verdict verdict;   /* steering on */
	uint16_t owner;                  /* steering on */
};

static void
check_decide(const struct decide_case *c)
{
	struct qs_quic_hdr hdr;
	uint16_t owner = 0xffff;
	enum qs_steer_verdict v;

	TEST_CONTEXT("%s, steering on", c->name);
	v = qs_steer_decide(&codec, true, SELF, c->payload, c->len, &hdr, &owner);
	CHECK_EQ(v, c->verdict);
	if (v != QS_STEER_DROP) {
		CHECK_EQ(owner, c->owner);
		CHECK_EQ(hdr.type, c->type);
	}

	TEST_CONTEXT("%s, steering off", c->name);
	owner = 0xffff;
	v = qs_steer_decide(&codec, false, SELF, c->payload, c->len, &hdr, &owner);
	if (c->verdict == QS_STEER_DROP) {
		CHECK_EQ(v, QS_STEER_DROP);
	} else {
		CHECK_EQ(v, QS_STEER_LOCAL);
		CHECK_EQ(owner, SELF);
		CHECK_EQ(hdr.type, c->type);
	}
	TEST_CONTEXT_CLEAR();
}

static void
short_case(struct decide_case *c, const char *name, const uint8_t *dcid,
	   enum qs_steer_verdict verdict, uint16_t owner)
{
	c->name = name;
	c->len = qs_quic_short(c->payload, dcid, codec.cid_len, DATAGRAM_LEN);
	c->type = QS_QUIC_SHORT;
	c->verdict = verdict;
	c->owner = owner;
}

static void
long_case(struct decide_case *c, const char *name, unsigned int type_bits,
	  uint32_t version, const uint8_t *dcid, uint8_t dcid_len,
	  enum qs_quic_long_type type, enum qs_steer_verdict verdict,
	  uint16_t owner)
{
	static const uint8_t client_scid[8] = {0xc1, 0xc2, 0xc3, 0xc4};

	c->name = name;
	c->len = qs_quic_long(c->payload, type_bits, version, dcid, dcid_len,
			      client_scid, sizeof(client_scid), DATAGRAM_LEN);
	c->type = type;
	c->verdict = verdict;
	c->owner = owner;
}

static void
test_decide(void)
{
	uint8_t self_cid[8], other_cid[8], none_cid[8], long_cid[21];
	struct decide_case c;

	qs_cid_encode(&codec, SELF, self_cid);
	qs_cid_encode(&codec, OTHER, other_cid);
	qs_frames_nibble_cid(NO_WORKER, none_cid);
	memset(long_cid, 0x20, sizeof(long_cid)); /* would name worker 2 */

	short_case(&c, "short naming self", self_cid, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	short_case(&c, "short naming another", other_cid, QS_STEER_FORWARD, OTHER);
	check_decide(&c);
	for (uint8_t w = 0; w < N_WORKERS; w++) {
		uint8_t cid[8];

		qs_frames_nibble_cid(w, cid);
		short_case(&c, "short naming each worker", cid,
			   w == SELF ? QS_STEER_LOCAL : QS_STEER_FORWARD, w);
		check_decide(&c);
	}
	short_case(&c, "short naming no worker", none_cid, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	short_case(&c, "short shorter than a CID", other_cid, QS_STEER_DROP, 0);
	c.len = codec.cid_len; /* first byte and all but one CID byte */
	check_decide(&c);
	short_case(&c, "empty datagram", other_cid, QS_STEER_DROP, 0);
	c.len = 0;
	check_decide(&c);

	/* client-chosen DCIDs say nothing about the owner */
	long_case(&c, "initial naming another", 0, QS_QUIC_V1, other_cid, 8,
		  QS_QUIC_INITIAL, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	long_case(&c, "0-rtt naming another", 1, QS_QUIC_V1, other_cid, 8,
		  QS_QUIC_0RTT, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	/* server-chosen: the Handshake DCID is a CID we minted */
	long_case(&c, "handshake naming another", 2, QS_QUIC_V1, other_cid, 8,
		  QS_QUIC_HANDSHAKE, QS_STEER_FORWARD, OTHER);
	check_decide(&c);
	long_case(&c, "handshake naming self", 2, QS_QUIC_V1, self_cid, 8,
		  QS_QUIC_HANDSHAKE, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	long_case(&c, "handshake naming no worker", 2, QS_QUIC_V1, none_cid, 8,
		  QS_QUIC_HANDSHAKE, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	long_case(&c, "handshake with a 5-byte dcid", 2, QS_QUIC_V1, other_cid, 5,
		  QS_QUIC_HANDSHAKE, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	long_case(&c, "retry naming another", 3, QS_QUIC_V1, other_cid, 8,
		  QS_QUIC_RETRY, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	long_case(&c, "version negotiation naming another", 2, 0, other_cid, 8,
		  QS_QUIC_VERSION_NEGOTIATION, QS_STEER_LOCAL, SELF);
	check_decide(&c);
	/* the type bits of an unknown version mean nothing */
	long_case(&c, "unknown version, handshake bits, naming another", 2,
		  UNKNOWN_VERSION, other_cid, 8, QS_QUIC_UNKNOWN_VERSION,
		  QS_STEER_LOCAL, SELF);
	check_decide(&c);

	long_case(&c, "v1 dcid of 21 bytes", 2, QS_QUIC_V1, long_cid, 21,
		  QS_QUIC_HANDSHAKE, QS_STEER_DROP, 0);
	check_decide(&c);
	long_case(&c, "truncated long header", 2, QS_QUIC_V1, other_cid, 8,
		  QS_QUIC_HANDSHAKE, QS_STEER_DROP, 0);
	c.len = 10;
	check_decide(&c);
}

/* ---- handoff to full rings ---- */

static struct rte_mempool *pool;
static struct rte_ring *inbox[N_WORKERS];

/* A short-header datagram naming owner, classified as the worker would. */
static struct rte_mbuf *
datagram_for(uint16_t owner)
{
	uint8_t payload[DATAGRAM_LEN], frame[QS_FRAME_MAX], cid[8];
	struct qs_listen listen_set;
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len;

	qs_frames_listen(&listen_set);
	qs_cid_encode(&codec, owner, cid);
	qs_quic_short(payload, cid, sizeof(cid), sizeof(payload));
	len = qs_frame_quic_to_us(frame, false, payload, sizeof(payload));
	if (qs_net_classify(frame, (uint32_t)len, &listen_set,
			    &qs_frames_our_mac, &meta) != QS_PKT_QUIC)
		return NULL;
	m = qs_frames_mbuf(pool, frame, len);
	if (m != NULL)
		qs_net_meta_to_mbuf(m, &meta);
	return m;
}

/* Stages n datagrams for owner through the decision, as rx_one does;
 * records them in order in staged[]. */
static void
stage(struct qs_steer_stage *st, uint16_t owner, unsigned int n,
      struct rte_mbuf **staged)
{
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = datagram_for(owner);
		struct qs_quic_hdr hdr;
		uint16_t dest = 0xffff, len;
		uint8_t *payload;

		CHECK(m != NULL);
		if (m == NULL)
			return;
		payload = qs_net_udp_payload(m, &len);
		CHECK_EQ(qs_steer_decide(&codec, true, 0, payload, len, &hdr, &dest),
			 QS_STEER_FORWARD);
		CHECK_EQ(dest, owner);
		qs_steer_stage_add(st, dest, m);
		staged[i] = m;
	}
}

/* Dequeues everything from w's inbox; checks it is want[0..n) in order. */
static void
check_inbox(uint16_t w, struct rte_mbuf **want, unsigned int n)
{
	struct rte_mbuf *got[INBOX_SIZE];
	unsigned int k;

	TEST_CONTEXT("inbox of worker %u", w);
	k = rte_ring_dequeue_burst(inbox[w], (void **)got, RTE_DIM(got), NULL);
	CHECK_EQ(k, n);
	for (unsigned int i = 0; i < k && i < n; i++)
		CHECK(got[i] == want[i]);
	rte_pktmbuf_free_bulk(got, k);
	TEST_CONTEXT_CLEAR();
}

static void
check_staging_empty(const struct qs_steer_stage *st)
{
	for (uint16_t w = 0; w < QS_MAX_WORKERS; w++)
		CHECK_EQ(st->count[w], 0);
}

static void
test_inbox_rings(void)
{
	for (uint16_t w = 0; w < N_WORKERS; w++) {
		inbox[w] = qs_steer_inbox_create(w, INBOX_SIZE, SOCKET_ID_ANY);
		CHECK(inbox[w] != NULL);
		if (inbox[w] == NULL)
			return;
		CHECK_EQ(rte_ring_get_capacity(inbox[w]), INBOX_SIZE - 1);
		/* producers may be preempted lcores sharing a CPU: RTS */
		CHECK_EQ(rte_ring_get_prod_sync_type(inbox[w]), RTE_RING_SYNC_MT_RTS);
		CHECK_EQ(rte_ring_get_cons_sync_type(inbox[w]), RTE_RING_SYNC_ST);
	}
}

static void
test_flush_to_full_rings(void)
{
	static struct qs_steer_stage st; /* zeroed, as in a fresh qs_lcore */
	static struct rte_mbuf *to1[QS_MAX_BURST], *to2[QS_MAX_BURST],
		*to3[QS_MAX_BURST], *kept2[2 * QS_MAX_BURST];
	struct qs_stats stats;
	unsigned int avail = rte_mempool_avail_count(pool), in2 = 0;

	memset(&stats, 0, sizeof(stats));

	/* round 1: a full burst for worker 1 (one more than its ring holds),
	 * 20 for worker 2, none for 3 */
	stage(&st, 1, QS_MAX_BURST, to1);
	stage(&st, 2, 20, to2);
	memcpy(kept2, to2, 20 * sizeof(*to2));
	in2 = 20;
	qs_steer_flush(&st, inbox, N_WORKERS, &stats);
	CHECK_EQ(stats.quic_forwarded_out, INBOX_SIZE - 1 + 20);
	CHECK_EQ(stats.quic_forward_dropped, QS_MAX_BURST - (INBOX_SIZE - 1));
	CHECK_EQ(stats.forwarded[0], 0);
	CHECK_EQ(stats.forwarded[1], INBOX_SIZE - 1);
	CHECK_EQ(stats.forwarded[2], 20);
	CHECK_EQ(stats.forwarded[3], 0);
	CHECK_EQ(rte_ring_count(inbox[1]), INBOX_SIZE - 1);
	CHECK_EQ(rte_ring_count(inbox[2]), 20);
	check_staging_empty(&st);
	/* the dropped one went back to the pool */
	CHECK_EQ(rte_mempool_avail_count(pool), avail - (INBOX_SIZE - 1) - 20);

	/* round 2: worker 1's ring is full, worker 2's has room for 43 of 50 */
	stage(&st, 1, QS_MAX_BURST, to1);
	stage(&st, 2, 50, to2);
	memcpy(kept2 + in2, to2, (INBOX_SIZE - 1 - in2) * sizeof(*to2));
	stage(&st, 3, 5, to3);
	qs_steer_flush(&st, inbox, N_WORKERS, &stats);
	CHECK_EQ(stats.quic_forwarded_out, INBOX_SIZE - 1 + 20 + 43 + 5);
	CHECK_EQ(stats.quic_forward_dropped, 1 + QS_MAX_BURST + 7);
	CHECK_EQ(stats.forwarded[0], 0);
	CHECK_EQ(stats.forwarded[1], INBOX_SIZE - 1);
	CHECK_EQ(stats.forwarded[2], INBOX_SIZE - 1);
	CHECK_EQ(stats.forwarded[3], 5);
	check_staging_empty(&st);
	CHECK_EQ(rte_mempool_avail_count(pool),
		 avail - 2 * (INBOX_SIZE - 1) - 5);
	/* the flush touches nothing else */
	CHECK_EQ(stats.quic_local, 0);
	CHECK_EQ(stats.quic_forwarded_in, 0);
	CHECK_EQ(stats.drop_malformed, 0);

	/* what was enqueued is what was staged first, in order */
	check_inbox(2, kept2, INBOX_SIZE - 1);
	check_inbox(3, to3, 5);
	{
		struct rte_mbuf *drained[INBOX_SIZE];
		unsigned int k = rte_ring_dequeue_burst(inbox[1], (void **)drained,
							RTE_DIM(drained), NULL);

		CHECK_EQ(k, INBOX_SIZE - 1);
		rte_pktmbuf_free_bulk(drained, k);
	}
	CHECK_EQ(rte_mempool_avail_count(pool), avail);

	/* an empty flush is a no-op */
	qs_steer_flush(&st, inbox, N_WORKERS, &stats);
	CHECK_EQ(stats.quic_forwarded_out, INBOX_SIZE - 1 + 20 + 43 + 5);
	CHECK_EQ(stats.quic_forward_dropped, 1 + QS_MAX_BURST + 7);
}

int
main(void)
{
	char err[256];

	if (qs_cid_codec_init(&codec, "nibble", N_WORKERS, err, sizeof(err)) != 0) {
		fprintf(stderr, "test_steer: %s\n", err);
		return 2;
	}
	test_decide();

	test_eal_init("steer", "0");
	pool = rte_pktmbuf_pool_create("test_steer", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "test_steer: no mbuf pool: %s\n",
			rte_strerror(rte_errno));
		return 2;
	}
	test_inbox_rings();
	if (inbox[N_WORKERS - 1] != NULL)
		test_flush_to_full_rings();

	for (uint16_t w = 0; w < N_WORKERS; w++)
		rte_ring_free(inbox[w]);
	rte_mempool_free(pool);
	test_eal_cleanup();
	return test_done("test_steer");
}
