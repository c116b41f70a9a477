/* Steering: the owner decision for every kind of QUIC header, with steering
 * on and off; the RX fast path against the reference classifier and
 * decision (every frame the fast path takes, they judge the same way);
 * then the handoff to inbox rings when they fill up: what fits is enqueued
 * in order, the rest is freed back to the pool and counted; and the whole
 * RX stage (lib/dataplane/qs_rx.h) on a burst of every kind of frame, as a
 * worker, with steering off, and as a pipeline I/O lcore. */
#include <string.h>

#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/qs_rx.h"
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

/* ---- the RX fast path against the reference ---- */

static struct qs_listen listen_set;
static uint8_t frame[QS_FRAME_MAX];

enum fast_expect { FAST_NO, FAST_YES, FAST_ANY };

/* Whether the fast path takes frame[0..len), as expected; and when it
 * does, that qs_net_classify says QUIC with the same offsets (or MALFORMED,
 * for a wrong IPv4 header checksum only) and that qs_steer_decide finds a
 * short header whose DCID puts the datagram in the same staging row, from
 * every worker and from a lcore that is no worker, steering on and off. */
static void
check_fast(const uint8_t *f, size_t len, enum fast_expect expect)
{
	struct qs_pkt_meta fm, sm;
	const uint8_t *dcid = NULL, *payload;
	enum qs_pkt_class c;
	bool fast;
	size_t plen;

	memset(&fm, 0xee, sizeof(fm));
	fast = qs_steer_fast(f, (uint32_t)len, &listen_set, &qs_frames_our_mac,
			     codec.cid_len, &fm, &dcid);
	c = qs_net_classify(f, (uint32_t)len, &listen_set, &qs_frames_our_mac,
			    &sm);
	if (expect != FAST_ANY)
		CHECK_EQ(fast, expect == FAST_YES);
	if (!fast)
		return;
	if (c == QS_PKT_MALFORMED) {
		/* the one rule the fast path leaves to the PMD or the owner */
		CHECK(!fm.ipv6);
		CHECK(rte_raw_cksum(f + RTE_ETHER_HDR_LEN,
				    sizeof(struct rte_ipv4_hdr)) != 0xffff);
		return;
	}
	CHECK_EQ(c, QS_PKT_QUIC);
	CHECK_EQ(fm.l3_off, sm.l3_off);
	CHECK_EQ(fm.l4_off, sm.l4_off);
	CHECK_EQ(fm.l4_end, sm.l4_end);
	CHECK_EQ(fm.ipv6, sm.ipv6);
	payload = f + sm.l4_off + sizeof(struct rte_udp_hdr);
	plen = (size_t)(sm.l4_end - sm.l4_off) - sizeof(struct rte_udp_hdr);
	CHECK(dcid == payload + 1);
	for (int enabled = 0; enabled <= 1; enabled++) {
		for (uint16_t self = 0; self <= N_WORKERS; self++) {
			uint16_t me = self < N_WORKERS ? self : UINT16_MAX;
			uint16_t self_row = qs_steer_self_row(me), owner = 0xffff;
			struct qs_quic_hdr hdr;
			enum qs_steer_verdict v;
			uint16_t want;

			v = qs_steer_decide(&codec, enabled, me, payload, plen, &hdr,
					    &owner);
			CHECK(v == QS_STEER_LOCAL || v == QS_STEER_FORWARD);
			CHECK_EQ(hdr.type, QS_QUIC_SHORT);
			CHECK(hdr.dcid == dcid);
			want = v == QS_STEER_FORWARD ? owner : self_row;
			if (enabled) {
				CHECK_EQ(qs_steer_row(qs_steer_owner_nibble(&codec, dcid),
						      self_row), want);
				CHECK_EQ(qs_steer_row(qs_steer_owner_codec(&codec, dcid),
						      self_row), want);
			} else {
				CHECK_EQ(qs_steer_row(qs_steer_owner_off(&codec, dcid),
						      self_row), want);
			}
		}
	}
}

static size_t
short_frame(bool ipv6, uint8_t owner, size_t payload_len)
{
	uint8_t payload[DATAGRAM_LEN + 300], cid[8];

	qs_frames_nibble_cid(owner, cid);
	qs_quic_short(payload, cid, sizeof(cid), payload_len);
	return qs_frame_quic_to_us(frame, ipv6, payload, payload_len);
}

static size_t
long_frame(bool ipv6, unsigned int type_bits, uint8_t owner)
{
	static const uint8_t client_scid[8] = {0xc1, 0xc2, 0xc3, 0xc4};
	uint8_t payload[DATAGRAM_LEN], cid[8];

	qs_frames_nibble_cid(owner, cid);
	qs_quic_long(payload, type_bits, QS_QUIC_V1, cid, sizeof(cid),
		     client_scid, sizeof(client_scid), sizeof(payload));
	return qs_frame_quic_to_us(frame, ipv6, payload, sizeof(payload));
}

static struct rte_ipv4_hdr *
ip4(void)
{
	return (struct rte_ipv4_hdr *)(frame + QS_FRAME_L3_OFF);
}

static struct rte_ipv6_hdr *
ip6(void)
{
	return (struct rte_ipv6_hdr *)(frame + QS_FRAME_L3_OFF);
}

static struct rte_udp_hdr *
udp_of(bool ipv6)
{
	return (struct rte_udp_hdr *)(frame + (ipv6 ? QS_FRAME_L4_OFF_V6
						    : QS_FRAME_L4_OFF_V4));
}

/* An 802.1Q tag after the MAC addresses of the frame of len bytes. */
static size_t
add_vlan(size_t len)
{
	static const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x05};

	memmove(frame + 16, frame + 12, len - 12);
	memcpy(frame + 12, tag, sizeof(tag));
	return len + sizeof(tag);
}

static void
test_fast_path(void)
{
	static const uint8_t opts_nop[4] = {1, 1, 1, 1};
	size_t len;

	qs_frames_listen(&listen_set);
	for (int v6 = 0; v6 <= 1; v6++) {
		const char *ip = v6 ? "ipv6" : "ipv4";

		/* what the fast path is for */
		for (uint8_t w = 0; w < N_WORKERS; w++) {
			TEST_CONTEXT("%s short header naming worker %u", ip, w);
			check_fast(frame, short_frame(v6, w, DATAGRAM_LEN), FAST_YES);
		}
		TEST_CONTEXT("%s short header naming no worker", ip);
		check_fast(frame, short_frame(v6, NO_WORKER, DATAGRAM_LEN), FAST_YES);
		TEST_CONTEXT("%s short header of 1 + CID bytes", ip);
		check_fast(frame, short_frame(v6, OTHER, 1 + 8), FAST_YES);
		TEST_CONTEXT("%s short header, Ethernet padding", ip);
		len = short_frame(v6, OTHER, 12);
		check_fast(frame, qs_frame_pad(frame, len, len + 20), FAST_YES);
		TEST_CONTEXT("%s short header, UDP shorter than the IP payload", ip);
		len = short_frame(v6, OTHER, DATAGRAM_LEN);
		udp_of(v6)->dgram_len = rte_cpu_to_be_16(8 + 20);
		check_fast(frame, len, FAST_YES);

		/* everything else is the slow path's */
		TEST_CONTEXT("%s short header one byte short of its CID", ip);
		check_fast(frame, short_frame(v6, OTHER, 8), FAST_NO);
		TEST_CONTEXT("%s empty datagram", ip);
		check_fast(frame, short_frame(v6, OTHER, 0), FAST_NO);
		for (unsigned int t = 0; t < 4; t++) {
			TEST_CONTEXT("%s long header type %u", ip, t);
			check_fast(frame, long_frame(v6, t, OTHER), FAST_NO);
		}
		TEST_CONTEXT("%s to another MAC", ip);
		len = short_frame(v6, OTHER, DATAGRAM_LEN);
		qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
		check_fast(frame, len, FAST_NO);
		TEST_CONTEXT("%s to the broadcast MAC", ip);
		memset(frame, 0xff, RTE_ETHER_ADDR_LEN);
		check_fast(frame, len, FAST_NO);
		TEST_CONTEXT("%s to another port", ip);
		len = short_frame(v6, OTHER, DATAGRAM_LEN);
		udp_of(v6)->dst_port = rte_cpu_to_be_16(QS_FRAMES_OUR_PORT + 1);
		check_fast(frame, len, FAST_NO);
		TEST_CONTEXT("%s UDP length beyond the IP payload", ip);
		len = short_frame(v6, OTHER, DATAGRAM_LEN);
		udp_of(v6)->dgram_len = rte_cpu_to_be_16(8 + DATAGRAM_LEN + 1);
		check_fast(frame, len, FAST_NO);
		TEST_CONTEXT("%s UDP length under 8", ip);
		udp_of(v6)->dgram_len = rte_cpu_to_be_16(7);
		check_fast(frame, len, FAST_NO);
		TEST_CONTEXT("%s VLAN tag", ip);
		check_fast(frame, add_vlan(short_frame(v6, OTHER, DATAGRAM_LEN)),
			   FAST_NO);
		/* every prefix, and every bit of the frame flipped */
		len = short_frame(v6, OTHER, DATAGRAM_LEN);
		for (size_t n = 0; n < len; n++) {
			TEST_CONTEXT("%s short header cut to %zu bytes", ip, n);
			check_fast(frame, n, FAST_NO);
		}
		for (size_t at = 0; at < len; at++) {
			for (unsigned int bit = 0; bit < 8; bit++) {
				TEST_CONTEXT("%s short header, bit %u of byte %zu flipped",
					     ip, bit, at);
				frame[at] ^= (uint8_t)(1u << bit);
				check_fast(frame, len, FAST_ANY);
				frame[at] ^= (uint8_t)(1u << bit);
			}
		}
	}

	TEST_CONTEXT("ipv4 header checksum wrong");
	len = short_frame(false, OTHER, DATAGRAM_LEN);
	ip4()->hdr_checksum ^= rte_cpu_to_be_16(0x5555);
	check_fast(frame, len, FAST_YES);
	TEST_CONTEXT("ipv4 options");
	check_fast(frame, qs_frame_ipv4_add_options(frame,
			short_frame(false, OTHER, DATAGRAM_LEN), opts_nop,
			sizeof(opts_nop)), FAST_NO);
	TEST_CONTEXT("ipv4 first fragment");
	len = short_frame(false, OTHER, DATAGRAM_LEN);
	ip4()->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	qs_frame_ipv4_fix_cksum(frame);
	check_fast(frame, len, FAST_NO);
	TEST_CONTEXT("ipv4 later fragment");
	ip4()->fragment_offset = rte_cpu_to_be_16(1);
	qs_frame_ipv4_fix_cksum(frame);
	check_fast(frame, len, FAST_NO);
	TEST_CONTEXT("ipv4 DF set");
	ip4()->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	qs_frame_ipv4_fix_cksum(frame);
	check_fast(frame, len, FAST_YES);
	TEST_CONTEXT("ipv4 to another address");
	len = short_frame(false, OTHER, DATAGRAM_LEN);
	ip4()->dst_addr = qs_frames_other_v4;
	qs_frame_ipv4_fix_cksum(frame);
	check_fast(frame, len, FAST_NO);
	TEST_CONTEXT("ipv4 total length beyond the frame");
	len = short_frame(false, OTHER, DATAGRAM_LEN);
	ip4()->total_length = rte_cpu_to_be_16((uint16_t)(len - QS_FRAME_L3_OFF + 1));
	qs_frame_ipv4_fix_cksum(frame);
	check_fast(frame, len, FAST_NO);
	TEST_CONTEXT("ipv6 to another address");
	len = short_frame(true, OTHER, DATAGRAM_LEN);
	memcpy(ip6()->dst_addr, qs_frames_other_v6, 16);
	check_fast(frame, len, FAST_NO);
	TEST_CONTEXT("ipv6 hop-by-hop options header");
	len = short_frame(true, OTHER, DATAGRAM_LEN);
	ip6()->proto = 0;
	check_fast(frame, len, FAST_NO);
	TEST_CONTEXT("ipv6 payload length beyond the frame");
	len = short_frame(true, OTHER, DATAGRAM_LEN);
	ip6()->payload_len = rte_cpu_to_be_16((uint16_t)(len - QS_FRAME_L4_OFF_V6 + 1));
	check_fast(frame, len, FAST_NO);
	TEST_CONTEXT("arp request");
	check_fast(frame, qs_frame_arp(frame, RTE_ARP_OP_REQUEST, qs_frames_peer_v4,
				       qs_frames_our_v4), FAST_NO);
	TEST_CONTEXT("icmp echo");
	check_fast(frame, qs_frame_icmp4_echo(frame, qs_frames_peer_v4,
					      qs_frames_our_v4, 56), FAST_NO);
	TEST_CONTEXT("icmpv6 echo");
	check_fast(frame, qs_frame_icmp6_echo(frame, qs_frames_peer_v6,
					      qs_frames_our_v6, 56), FAST_NO);
	TEST_CONTEXT_CLEAR();
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

/* ---- the RX stage ---- */

static struct qs_config rx_cfg;
static struct qs_dataplane rx_dp;
static struct qs_lcore *rx_lc;
static struct rte_mbuf *got_local[QS_MAX_BURST];
static unsigned int n_got_local, n_sent;

/* What the lcore keeps (the QUIC server, in the worker loop). */
static void
keep_local(struct qs_lcore *lc, struct rte_mbuf **pkts, uint16_t n)
{
	(void)lc;
	for (uint16_t i = 0; i < n && n_got_local < RTE_DIM(got_local); i++)
		got_local[n_got_local++] = pkts[i];
}

/* The NIC: takes every answer. */
static uint16_t
send_all(struct qs_tx *tx, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	(void)tx;
	(void)pi;
	n_sent += n;
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

/* A worker lcore as qs_dataplane_init makes one (bench_steer's), with
 * the inbox rings of test_inbox_rings. */
static bool
rx_lcore_new(void)
{
	qs_config_defaults(&rx_cfg);
	qs_frames_listen(&rx_cfg.listen);
	rx_dp.cfg = &rx_cfg;
	rx_dp.listen = rx_cfg.listen;
	rx_dp.codec = codec;
	rx_dp.n_workers = N_WORKERS;
	rx_dp.n_lcores = N_WORKERS;
	rx_dp.n_ports = 1;
	rx_dp.ports[0].caps.mac = qs_frames_our_mac;
	for (uint16_t w = 0; w < N_WORKERS; w++)
		rx_dp.inbox[w] = inbox[w];
	rx_lc = rte_zmalloc("test_lcore", sizeof(*rx_lc), RTE_CACHE_LINE_SIZE);
	if (rx_lc == NULL)
		return false;
	rx_lc->dp = &rx_dp;
	rx_lc->burst = QS_MAX_BURST;
	rx_lc->tx.ports = rx_dp.ports;
	rx_lc->tx.port_index = rx_dp.port_index;
	rx_lc->tx.n_ports = rx_dp.n_ports;
	rx_lc->tx.stats = &rx_lc->stats;
	return true;
}

/* The frames of one burst, in order, and where each must end up. */
enum rx_fate { TO_LOCAL, TO_OTHER, TO_SELF_INBOX, ANSWERED, DROPPED };

struct rx_case {
	const char *name;
	struct rte_mbuf *m;
	uint32_t len;
	bool quic;                 /* counted in quic_rx */
	enum rx_fate fate[3];      /* as a worker, steering off, as an I/O lcore */
	bool ip_hdr_ok;            /* what the owner's check says */
	uint32_t ptype;            /* the packet_type it must carry; 0: any */
};

static struct rx_case rx_cases[QS_MAX_BURST];
static unsigned int n_rx_cases;

static struct rx_case *
rx_case_add(const char *name, size_t len, bool quic, enum rx_fate worker,
	    enum rx_fate off, enum rx_fate io)
{
	struct rx_case *c = &rx_cases[n_rx_cases++];

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->m = qs_frames_mbuf(pool, frame, len);
	CHECK(c->m != NULL);
	if (c->m != NULL)
		c->m->port = 0;
	c->len = (uint32_t)len;
	c->quic = quic;
	c->fate[0] = worker;
	c->fate[1] = off;
	c->fate[2] = io;
	c->ip_hdr_ok = true;
	return c;
}

#define V4_UDP (RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP)
#define V6_UDP (RTE_PTYPE_L3_IPV6 | RTE_PTYPE_L4_UDP)
#define PMD_V4_UDP (RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4_EXT_UNKNOWN | \
		    RTE_PTYPE_L4_UDP)

/* Every kind of frame, fast path and slow path mixed. */
static void
rx_cases_make(void)
{
	static const uint8_t opts_nop[4] = {1, 1, 1, 1};
	struct rx_case *c;
	size_t len;

	n_rx_cases = 0;
	c = rx_case_add("ipv4 short naming self", short_frame(false, SELF, DATAGRAM_LEN),
			true, TO_LOCAL, TO_LOCAL, TO_SELF_INBOX);
	c->ptype = V4_UDP;
	c = rx_case_add("ipv6 short naming another", short_frame(true, OTHER, DATAGRAM_LEN),
			true, TO_OTHER, TO_LOCAL, TO_OTHER);
	c->ptype = V6_UDP;
	rx_case_add("ipv4 short naming nobody", short_frame(false, NO_WORKER, DATAGRAM_LEN),
		    true, TO_LOCAL, TO_LOCAL, TO_LOCAL);
	rx_case_add("ipv4 initial naming another", long_frame(false, 0, OTHER),
		    true, TO_LOCAL, TO_LOCAL, TO_LOCAL);
	rx_case_add("ipv6 handshake naming another", long_frame(true, 2, OTHER),
		    true, TO_OTHER, TO_LOCAL, TO_OTHER);
	rx_case_add("arp request", qs_frame_arp(frame, RTE_ARP_OP_REQUEST,
						qs_frames_peer_v4, qs_frames_our_v4),
		    false, ANSWERED, ANSWERED, ANSWERED);
	rx_case_add("icmpv6 echo", qs_frame_icmp6_echo(frame, qs_frames_peer_v6,
						       qs_frames_our_v6, 56),
		    false, ANSWERED, ANSWERED, ANSWERED);
	len = short_frame(false, OTHER, DATAGRAM_LEN);
	qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
	rx_case_add("ipv4 short to another MAC", len, false, DROPPED, DROPPED,
		    DROPPED);
	/* no PMD verdict: the owner finds the header checksum wrong */
	len = short_frame(false, OTHER, DATAGRAM_LEN);
	ip4()->hdr_checksum ^= rte_cpu_to_be_16(0x5555);
	c = rx_case_add("ipv4 short naming another, header checksum wrong", len,
			true, TO_OTHER, TO_LOCAL, TO_OTHER);
	c->ip_hdr_ok = false;
	/* the PMD says it is wrong: the slow path drops it at once */
	len = short_frame(false, SELF, DATAGRAM_LEN);
	ip4()->hdr_checksum ^= rte_cpu_to_be_16(0x5555);
	c = rx_case_add("ipv4 short, header checksum wrong, PMD flag bad", len,
			false, DROPPED, DROPPED, DROPPED);
	c->m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
	/* the PMD says it is right: nobody computes it */
	len = short_frame(false, SELF, DATAGRAM_LEN);
	ip4()->hdr_checksum ^= rte_cpu_to_be_16(0x5555);
	c = rx_case_add("ipv4 short, header checksum wrong, PMD flag good", len,
			true, TO_LOCAL, TO_LOCAL, TO_SELF_INBOX);
	c->m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	c = rx_case_add("ipv4 options, short naming another",
			qs_frame_ipv4_add_options(frame,
				short_frame(false, OTHER, DATAGRAM_LEN), opts_nop,
				sizeof(opts_nop)),
			true, TO_OTHER, TO_LOCAL, TO_OTHER);
	c->ptype = V4_UDP;
	rx_case_add("ipv4 short one byte short of its CID",
		    short_frame(false, OTHER, 8), true, DROPPED, DROPPED, DROPPED);
	len = short_frame(false, OTHER, DATAGRAM_LEN);
	ip4()->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	qs_frame_ipv4_fix_cksum(frame);
	rx_case_add("ipv4 fragment", len, false, DROPPED, DROPPED, DROPPED);
	/* the PMD's packet_type is kept where it says the same */
	c = rx_case_add("ipv4 short naming self, the PMD's packet type",
			short_frame(false, SELF, DATAGRAM_LEN), true, TO_LOCAL,
			TO_LOCAL, TO_SELF_INBOX);
	c->m->packet_type = PMD_V4_UDP;
	c->ptype = PMD_V4_UDP;
	c = rx_case_add("ipv6 short naming self, the PMD's packet type wrong",
			short_frame(true, SELF, DATAGRAM_LEN), true, TO_LOCAL,
			TO_LOCAL, TO_SELF_INBOX);
	c->m->packet_type = V4_UDP;
	c->ptype = V6_UDP;
	/* Ethernet padding is trimmed */
	len = short_frame(true, OTHER, 12);
	c = rx_case_add("ipv6 short naming another, padded",
			qs_frame_pad(frame, len, len + 20), true, TO_OTHER,
			TO_LOCAL, TO_OTHER);
	/* two segments */
	c = rx_case_add("ipv4 short in two segments",
			short_frame(false, SELF, DATAGRAM_LEN), false, DROPPED,
			DROPPED, DROPPED);
	if (c->m != NULL) {
		struct rte_mbuf *tail = rte_pktmbuf_alloc(pool);

		CHECK(tail != NULL);
		if (tail != NULL) {
			rte_pktmbuf_append(tail, 10);
			CHECK_EQ(rte_pktmbuf_chain(c->m, tail), 0);
			c->len += 10;
		}
	}
}

/* Where the lcore put the datagram of c: its local list, an inbox. */
static void
check_fate(const struct rx_case *c, enum rx_fate fate, struct rte_mbuf **by_worker,
	   unsigned int *n_by_worker)
{
	uint16_t ip_len;

	switch (fate) {
	case TO_LOCAL:
		CHECK(n_got_local > 0 && got_local[0] == c->m);
		if (n_got_local > 0) {
			memmove(got_local, got_local + 1,
				--n_got_local * sizeof(*got_local));
		}
		break;
	case TO_OTHER:
	case TO_SELF_INBOX: {
		uint16_t w = fate == TO_OTHER ? OTHER : SELF;

		CHECK(n_by_worker[w] > 0 && by_worker[w * QS_MAX_BURST] == c->m);
		if (n_by_worker[w] > 0)
			memmove(&by_worker[w * QS_MAX_BURST],
				&by_worker[w * QS_MAX_BURST + 1],
				--n_by_worker[w] * sizeof(*by_worker));
		break;
	}
	default:
		return;
	}
	/* marked for the owner: trimmed, its packet type, the header check */
	ip_len = RTE_ETH_IS_IPV6_HDR(c->m->packet_type) ? 40 :
		(uint16_t)((*rte_pktmbuf_mtod_offset(c->m, uint8_t *,
						     RTE_ETHER_HDR_LEN) & 0xf) * 4);
	CHECK_EQ(rte_pktmbuf_data_len(c->m), RTE_ETHER_HDR_LEN + ip_len +
		 rte_be_to_cpu_16(rte_pktmbuf_mtod_offset(c->m, struct rte_udp_hdr *,
							  RTE_ETHER_HDR_LEN +
							  ip_len)->dgram_len));
	CHECK_EQ(rte_pktmbuf_pkt_len(c->m), rte_pktmbuf_data_len(c->m));
	if (c->ptype != 0)
		CHECK_EQ(c->m->packet_type, c->ptype);
	CHECK_EQ(qs_net_ipv4_hdr_ok(c->m), c->ip_hdr_ok);
}

/* One burst of every case through qs_rx_burst; mode 0: worker SELF,
 * 1: steering off, 2: a pipeline I/O lcore (no worker index). */
static void
test_rx_stage(int mode)
{
	static const char *const modes[] = {"worker", "steering off", "I/O lcore"};
	static struct rte_mbuf *by_worker[N_WORKERS * QS_MAX_BURST];
	struct rte_mbuf *burst[QS_MAX_BURST];
	unsigned int n_by_worker[N_WORKERS] = {0};
	unsigned int avail = rte_mempool_avail_count(pool);
	uint64_t bytes = 0, quic = 0, answered = 0, dropped = 0, forwarded = 0;
	uint64_t fwd[N_WORKERS] = {0};
	unsigned int local = 0;

	TEST_CONTEXT("rx stage, %s", modes[mode]);
	rx_cases_make();
	memset(&rx_lc->stats, 0, sizeof(rx_lc->stats));
	rx_lc->worker = mode == 2 ? UINT16_MAX : SELF;
	rx_lc->steer = mode != 1;
	qs_lcore_set_role(rx_lc, mode == 2 ? QS_ROLE_IO : QS_ROLE_RTC);
	rx_lc->rx_local = keep_local;
	rx_lc->tx.burst = send_all;
	n_got_local = n_sent = 0;
	for (unsigned int i = 0; i < n_rx_cases; i++) {
		const struct rx_case *c = &rx_cases[i];

		burst[i] = c->m;
		bytes += c->len;
		quic += c->quic;
		switch (c->fate[mode]) {
		case TO_LOCAL: local++; break;
		case TO_OTHER: forwarded++; fwd[OTHER]++; break;
		case TO_SELF_INBOX: forwarded++; fwd[SELF]++; break;
		case ANSWERED: answered++; break;
		case DROPPED: dropped++; break;
		}
	}
	qs_rx_burst(rx_lc, 0, burst, (uint16_t)n_rx_cases);
	qs_tx_flush_all(&rx_lc->tx);

	CHECK_EQ(rx_lc->stats.rx_packets, n_rx_cases);
	CHECK_EQ(rx_lc->stats.rx_bytes, bytes);
	CHECK_EQ(rx_lc->stats.quic_rx, quic);
	CHECK_EQ(rx_lc->stats.quic_forwarded_out, forwarded);
	for (uint16_t w = 0; w < N_WORKERS; w++)
		CHECK_EQ(rx_lc->stats.forwarded[w], fwd[w]);
	CHECK_EQ(rx_lc->stats.quic_forward_dropped, 0);
	CHECK_EQ(n_got_local, local);
	CHECK_EQ(rx_lc->stats.arp_replies + rx_lc->stats.icmp_echo_replies, answered);
	CHECK_EQ(rx_lc->stats.arp_replies, 1);
	CHECK_EQ(n_sent, answered);
	/* to another MAC: not ours; two segments (a frame larger than one
	 * receive buffer): oversize; a fragment, a checksum the PMD says is
	 * bad: malformed; one short header: QUIC malformed */
	CHECK_EQ(rx_lc->stats.drop_not_ours, 1);
	CHECK_EQ(rx_lc->stats.drop_oversize, 1);
	CHECK_EQ(rx_lc->stats.drop_malformed, 2);
	CHECK_EQ(rx_lc->stats.quic_drop_malformed, 1);
	CHECK_EQ(rx_lc->stats.drop_not_ours + rx_lc->stats.drop_malformed +
		 rx_lc->stats.drop_oversize + rx_lc->stats.quic_drop_malformed,
		 dropped);
	/* the staging area is empty again, and the lcore's own row too */
	for (uint16_t r = 0; r <= QS_MAX_WORKERS; r++)
		CHECK_EQ(rx_lc->stage.count[r], 0);

	for (uint16_t w = 0; w < N_WORKERS; w++)
		n_by_worker[w] = rte_ring_dequeue_burst(inbox[w],
			(void **)&by_worker[w * QS_MAX_BURST], QS_MAX_BURST, NULL);
	for (unsigned int i = 0; i < n_rx_cases; i++) {
		TEST_CONTEXT("rx stage, %s: %s", modes[mode], rx_cases[i].name);
		check_fate(&rx_cases[i], rx_cases[i].fate[mode], by_worker,
			   n_by_worker);
		if (rx_cases[i].fate[mode] != ANSWERED &&
		    rx_cases[i].fate[mode] != DROPPED)
			rte_pktmbuf_free(rx_cases[i].m);
	}
	TEST_CONTEXT("rx stage, %s", modes[mode]);
	CHECK_EQ(n_got_local, 0);
	for (uint16_t w = 0; w < N_WORKERS; w++)
		CHECK_EQ(n_by_worker[w], 0);
	CHECK_EQ(rte_mempool_avail_count(pool), avail);
	TEST_CONTEXT_CLEAR();
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
	test_fast_path();

	test_eal_init("steer", "0");
	pool = rte_pktmbuf_pool_create("test_steer", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "test_steer: no mbuf pool: %s\n",
			rte_strerror(rte_errno));
		return 2;
	}
	test_inbox_rings();
	if (inbox[N_WORKERS - 1] != NULL) {
		test_flush_to_full_rings();
		CHECK(rx_lcore_new());
		if (rx_lc != NULL)
			for (int mode = 0; mode <= 2; mode++)
				test_rx_stage(mode);
		rte_free(rx_lc);
	}

	for (uint16_t w = 0; w < N_WORKERS; w++)
		rte_ring_free(inbox[w]);
	rte_mempool_free(pool);
	test_eal_cleanup();
	return test_done("test_steer");
}
