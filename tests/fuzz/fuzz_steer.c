/* libFuzzer target: one input is one Ethernet frame as a worker receives it.
 *
 * It runs the worker's receive path without EAL: qs_net_classify with the
 * test listen set (198.18.0.1, 2001:db8::1, UDP 443); for QUIC datagrams
 * qs_steer_decide with a nibble codec of 4 workers, from every worker, with
 * steering on and off; qs_quic_parse directly on the raw input; and the
 * in-place answer the worker would build (ARP, ICMP, ICMPv6, ND, UDP reply)
 * on an mbuf whose buffer is a heap block of exactly its size, and the UDP
 * checksum check the owner makes; and the RX fast path (qs_steer_fast, the
 * nibble decoder inline, the mark it leaves, the IPv4 header check the
 * owner makes for it). Beyond the sanitizers' checks it asserts the
 * invariants below (REQUIRE): among them, only frames to our MAC (or ARP
 * by broadcast, ND to our solicited-node group) are ours, every answer has
 * a clean IP header (no options, DSCP and ECN 0, flow label 0) with right
 * lengths and checksums, the checksum check agrees with DPDK's, and the
 * fast path agrees with the classifier and the decision on every frame it
 * takes (and takes every frame it is for). Any failure aborts, which
 * libFuzzer reports as a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "steer/qs_cid.h"
#include "qs_frames.h"
#include "net/qs_classify.h"
#include "net/qs_reply.h"
#include "net/qs_udp.h"
#include "steer/qs_quic_hdr.h"
#include "steer/qs_steer.h"
#include "fuzz_require.h"

#define N_WORKERS 4
#define TAILROOM 64            /* room an answer may grow into */
#define RESET_LIKE_LEN 43      /* a reply shorter than most datagrams */
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ND_SOLICIT 135
#define ND_NA_LEN 32

static struct qs_listen listen_set;
static struct qs_cid_codec codec;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	qs_frames_listen(&listen_set);
	if (qs_cid_codec_init(&codec, "nibble", N_WORKERS, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_steer: %s\n", err);
		abort();
	}
	return 0;
}

static uint32_t
be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What any successful parse must satisfy, for a header at p of len bytes. */
static void
check_header(const uint8_t *p, size_t len, int rc, const struct qs_quic_hdr *h)
{
	if (rc != QS_QUIC_OK) {
		REQUIRE(rc == QS_QUIC_ERR_EMPTY || rc == QS_QUIC_ERR_TRUNCATED ||
			rc == QS_QUIC_ERR_CID_TOO_LONG);
		REQUIRE((rc == QS_QUIC_ERR_EMPTY) == (len == 0));
		return;
	}
	REQUIRE(len > 0);
	REQUIRE(h->dcid > p && h->dcid + h->dcid_len <= p + len);
	if (h->type == QS_QUIC_SHORT) {
		REQUIRE(!(p[0] & 0x80));
		REQUIRE(h->dcid == p + 1 && h->dcid_len == codec.cid_len);
		REQUIRE(h->scid == NULL && h->scid_len == 0 && h->version == 0);
		return;
	}
	REQUIRE(p[0] & 0x80);
	REQUIRE(h->dcid == p + 6 && h->dcid_len == p[5]);
	REQUIRE(h->scid == h->dcid + h->dcid_len + 1);
	REQUIRE(h->scid_len == h->dcid[h->dcid_len]);
	REQUIRE(h->scid + h->scid_len <= p + len);
	REQUIRE(h->version == be32_at(p + 1));
	if (h->version == QS_QUIC_V1) {
		REQUIRE(h->type == (enum qs_quic_long_type)((p[0] >> 4) & 3));
		REQUIRE(h->dcid_len <= QS_QUIC_MAX_CID_LEN_V1 &&
			h->scid_len <= QS_QUIC_MAX_CID_LEN_V1);
	} else if (h->version == 0) {
		REQUIRE(h->type == QS_QUIC_VERSION_NEGOTIATION);
	} else {
		REQUIRE(h->type == QS_QUIC_UNKNOWN_VERSION);
	}
}

/* The steering decision from every worker, steering on and off. */
static void
check_decide(const uint8_t *p, size_t len)
{
	struct qs_quic_hdr ref;
	int rc = qs_quic_parse(p, len, codec.cid_len, &ref);

	check_header(p, len, rc, &ref);
	for (int enabled = 0; enabled <= 1; enabled++) {
		for (uint16_t self = 0; self < N_WORKERS; self++) {
			struct qs_quic_hdr h;
			uint16_t owner = UINT16_MAX;
			enum qs_steer_verdict v = qs_steer_decide(&codec, enabled, self, p,
								  len, &h, &owner);
			int named;

			if (rc != QS_QUIC_OK) {
				REQUIRE(v == QS_STEER_DROP);
				continue;
			}
			REQUIRE(h.type == ref.type && h.dcid == ref.dcid &&
				h.dcid_len == ref.dcid_len);
			named = qs_cid_decode(&codec, h.dcid, h.dcid_len);
			REQUIRE(named == QS_CID_NONE || (named >= 0 && named < N_WORKERS));
			switch (v) {
			case QS_STEER_LOCAL:
				REQUIRE(owner == self);
				/* a server-chosen DCID naming another worker must move */
				if (enabled && (h.type == QS_QUIC_SHORT ||
						h.type == QS_QUIC_HANDSHAKE))
					REQUIRE(named == QS_CID_NONE || named == self);
				break;
			case QS_STEER_FORWARD:
				REQUIRE(enabled);
				REQUIRE(owner < N_WORKERS && owner != self);
				REQUIRE(h.type == QS_QUIC_SHORT || h.type == QS_QUIC_HANDSHAKE);
				REQUIRE(named == owner);
				break;
			default:
				REQUIRE(!"a parsed header is never dropped");
			}
		}
	}
}

/* An mbuf over a heap block of exactly headroom + frame + TAILROOM bytes:
 * a write past what the mbuf owns is a heap overflow ASan reports. */
struct test_mbuf {
	struct rte_mbuf m;
	uint8_t *block;
};

/* Whether a frame of len bytes fits an mbuf with our headroom and tailroom
 * (buf_len is 16 bits); larger ones are only classified. */
static bool
fits_mbuf(size_t len)
{
	return len <= UINT16_MAX - RTE_PKTMBUF_HEADROOM - TAILROOM;
}

static struct rte_mbuf *
mbuf_of(struct test_mbuf *t, const uint8_t *frame, size_t len)
{
	size_t block_len = RTE_PKTMBUF_HEADROOM + len + TAILROOM;

	memset(&t->m, 0, sizeof(t->m));
	t->block = malloc(block_len);
	REQUIRE(t->block != NULL);
	memcpy(t->block + RTE_PKTMBUF_HEADROOM, frame, len);
	t->m.buf_addr = t->block;
	t->m.buf_len = (uint16_t)block_len;
	t->m.data_off = RTE_PKTMBUF_HEADROOM;
	t->m.data_len = (uint16_t)len;
	t->m.pkt_len = (uint32_t)len;
	t->m.nb_segs = 1;
	return &t->m;
}

static const struct qs_tx_caps caps = {
	.mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x01}},
};

static const uint8_t *
l3_of(struct rte_mbuf *m, const struct qs_pkt_meta *meta)
{
	return rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->l3_off);
}

/* A reply comes from the address the request went to, ours, in a header
 * of its own: no options, DSCP and ECN 0, carrying l4_len bytes. */
static void
check_ipv4_hdr(const struct rte_ipv4_hdr *ip, size_t l4_len)
{
	REQUIRE(ip->version_ihl == 0x45 && ip->type_of_service == 0);
	REQUIRE(rte_be_to_cpu_16(ip->total_length) == sizeof(*ip) + l4_len);
	REQUIRE(rte_raw_cksum(ip, rte_ipv4_hdr_len(ip)) == 0xffff);
	REQUIRE(ip->src_addr == qs_frames_our_v4);
}

static void
check_ipv6_hdr(const struct rte_ipv6_hdr *ip, size_t l4_len)
{
	REQUIRE(rte_be_to_cpu_32(ip->vtc_flow) == 6u << 28);
	REQUIRE(rte_be_to_cpu_16(ip->payload_len) == l4_len);
}

static void
check_arp_reply(const uint8_t *frame, size_t len, const struct qs_pkt_meta *meta)
{
	struct test_mbuf t;
	struct rte_mbuf *m = mbuf_of(&t, frame, len);
	const struct rte_arp_hdr *arp;

	REQUIRE(qs_net_arp_reply(m, &caps) == 0);
	REQUIRE(rte_pktmbuf_data_len(m) == meta->l3_off + sizeof(*arp));
	arp = (const struct rte_arp_hdr *)l3_of(m, meta);
	REQUIRE(arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	REQUIRE(arp->arp_data.arp_sip == qs_frames_our_v4);
	free(t.block);
}

static void
check_icmp4_reply(const uint8_t *frame, size_t len, const struct qs_pkt_meta *meta)
{
	struct test_mbuf t;
	struct rte_mbuf *m = mbuf_of(&t, frame, len);

	size_t icmp_len = (size_t)(meta->l4_end - meta->l4_off);
	const size_t l4_off = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr);

	REQUIRE(qs_net_icmp4_echo_reply(m, meta, &caps) == 0);
	/* the request's options are gone: the message follows a bare header */
	REQUIRE(rte_pktmbuf_data_len(m) == l4_off + icmp_len);
	check_ipv4_hdr((const struct rte_ipv4_hdr *)l3_of(m, meta), icmp_len);
	REQUIRE(memcmp(rte_pktmbuf_mtod_offset(m, uint8_t *, l4_off + 4),
		       frame + meta->l4_off + 4, icmp_len - 4) == 0);
	REQUIRE(rte_raw_cksum(rte_pktmbuf_mtod_offset(m, void *, l4_off),
			      icmp_len) == 0xffff);
	free(t.block);
}

static void
check_icmp6_reply(const uint8_t *frame, size_t len, const struct qs_pkt_meta *meta,
		  bool neighbour_advert)
{
	struct test_mbuf t;
	struct rte_mbuf *m = mbuf_of(&t, frame, len);
	const struct rte_ipv6_hdr *ip;

	if (neighbour_advert) {
		REQUIRE(qs_net_nd_advert(m, meta, &caps) == 0);
		REQUIRE(rte_pktmbuf_data_len(m) == meta->l4_off + ND_NA_LEN);
	} else {
		REQUIRE(qs_net_icmp6_echo_reply(m, meta, &caps) == 0);
		REQUIRE(rte_pktmbuf_data_len(m) == meta->l4_end);
	}
	ip = (const struct rte_ipv6_hdr *)l3_of(m, meta);
	check_ipv6_hdr(ip, rte_pktmbuf_data_len(m) - meta->l4_off);
	REQUIRE(rte_ipv6_udptcp_cksum_verify(ip, rte_pktmbuf_mtod_offset(
			m, const void *, meta->l4_off)) == 0);
	free(t.block);
}

/* The owner's UDP checksum check against DPDK's own verification, where
 * that applies (a checksum present, the UDP length filling the IP payload,
 * which DPDK's helpers assume). */
static void
check_udp_cksum(struct rte_mbuf *m, const uint8_t *frame,
		const struct qs_pkt_meta *meta)
{
	const void *l3 = frame + meta->l3_off;
	const struct rte_udp_hdr *udp =
		(const struct rte_udp_hdr *)(frame + meta->l4_off);
	bool ok = qs_net_udp_cksum_ok(m);
	size_t ip_payload;

	if (udp->dgram_cksum == 0) {
		REQUIRE(ok == !meta->ipv6);
		return;
	}
	ip_payload = meta->ipv6 ?
		rte_be_to_cpu_16(((const struct rte_ipv6_hdr *)l3)->payload_len) :
		rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)l3)->total_length) -
			(size_t)(meta->l4_off - meta->l3_off);
	if (ip_payload != (size_t)(meta->l4_end - meta->l4_off))
		return;
	REQUIRE(ok == ((meta->ipv6 ? rte_ipv6_udptcp_cksum_verify(l3, udp)
				   : rte_ipv4_udptcp_cksum_verify(l3, udp)) == 0));
}

/* The datagram as the owner sees it, then turned into a reply of
 * reply_len bytes (shorter, as a stateless reset, or longer). */
static void
check_udp(const uint8_t *frame, size_t len, const struct qs_pkt_meta *meta,
	  uint16_t reply_len)
{
	struct test_mbuf t;
	struct rte_mbuf *m = mbuf_of(&t, frame, len);
	uint16_t payload_len, udp_off;
	uint8_t *payload;
	void *l3;

	qs_net_meta_to_mbuf(m, meta);
	REQUIRE(rte_pktmbuf_data_len(m) == meta->l4_end);
	REQUIRE(RTE_ETHER_HDR_LEN == meta->l3_off &&
		RTE_ETHER_HDR_LEN + qs_net_l3_len(m) == meta->l4_off);
	payload = qs_net_udp_payload(m, &payload_len);
	REQUIRE(payload == rte_pktmbuf_mtod_offset(m, uint8_t *, meta->l4_off + 8));
	REQUIRE(payload_len == meta->l4_end - meta->l4_off - 8);
	check_udp_cksum(m, frame, meta);

	REQUIRE(qs_net_udp_reply(m, reply_len, &caps) == 0);
	udp_off = (uint16_t)(m->l2_len + m->l3_len);
	REQUIRE(m->l2_len == RTE_ETHER_HDR_LEN);
	REQUIRE(m->l3_len == (meta->ipv6 ? sizeof(struct rte_ipv6_hdr)
					 : sizeof(struct rte_ipv4_hdr)));
	REQUIRE(rte_pktmbuf_data_len(m) == udp_off + 8 + reply_len);
	l3 = rte_pktmbuf_mtod_offset(m, void *, m->l2_len);
	if (meta->ipv6) {
		check_ipv6_hdr(l3, 8u + reply_len);
		REQUIRE(rte_ipv6_udptcp_cksum_verify(l3, rte_pktmbuf_mtod_offset(
				m, void *, udp_off)) == 0);
	} else {
		check_ipv4_hdr(l3, 8u + reply_len);
		REQUIRE(rte_ipv4_udptcp_cksum_verify(l3, rte_pktmbuf_mtod_offset(
				m, void *, udp_off)) == 0);
	}
	free(t.block);
}

/* The UDP payload in a heap block of exactly its length (reads past the
 * datagram but inside the frame would go unnoticed otherwise). */
static void
check_quic(const uint8_t *frame, size_t len, const struct qs_pkt_meta *meta)
{
	size_t payload_len = (size_t)(meta->l4_end - meta->l4_off - 8);
	uint8_t *payload = malloc(payload_len ? payload_len : 1);

	REQUIRE(payload != NULL);
	memcpy(payload, frame + meta->l4_off + 8, payload_len);
	check_decide(payload, payload_len);
	free(payload);

	check_udp(frame, len, meta,
		  (uint16_t)RTE_MIN(payload_len, (size_t)RESET_LIKE_LEN));
	check_udp(frame, len, meta, (uint16_t)(payload_len + TAILROOM / 2));
}

/* The RX fast path on frame: where it takes the frame, the classifier (c,
 * ref) and the decision must agree with it (the classifier may find the
 * IPv4 header checksum wrong, which the fast path leaves to the owner's
 * check), and its mark must be the classifier's; and it must take every
 * frame it is for. */
static void
check_fast(const uint8_t *frame, size_t len, enum qs_pkt_class c,
	   const struct qs_pkt_meta *ref)
{
	struct qs_pkt_meta meta;
	const uint8_t *dcid = NULL, *payload;
	struct test_mbuf tf, ts;
	struct rte_mbuf *mf, *ms;
	size_t plen;
	bool fast = qs_steer_fast(frame, (uint32_t)len, &listen_set, &caps.mac,
				  codec.cid_len, &meta, &dcid);

	if (!fast) {
		/* a short header over IPv4 without options or over IPv6 */
		if (c == QS_PKT_QUIC) {
			payload = frame + ref->l4_off + 8;
			plen = (size_t)(ref->l4_end - ref->l4_off - 8);
			REQUIRE(!qs_quic_is_short(payload, plen, codec.cid_len) ||
				(!ref->ipv6 && ref->l4_off != RTE_ETHER_HDR_LEN + 20));
		}
		return;
	}
	REQUIRE(c == QS_PKT_QUIC || c == QS_PKT_MALFORMED);
	REQUIRE(meta.l3_off == RTE_ETHER_HDR_LEN && meta.l4_off <= meta.l4_end &&
		meta.l4_end <= len);
	if (c == QS_PKT_MALFORMED) {
		REQUIRE(!meta.ipv6);
		REQUIRE(rte_raw_cksum(frame + RTE_ETHER_HDR_LEN,
				      sizeof(struct rte_ipv4_hdr)) != 0xffff);
	} else {
		REQUIRE(meta.l3_off == ref->l3_off && meta.l4_off == ref->l4_off &&
			meta.l4_end == ref->l4_end && meta.ipv6 == ref->ipv6);
	}
	payload = frame + meta.l4_off + 8;
	plen = (size_t)(meta.l4_end - meta.l4_off - 8);
	REQUIRE(dcid == payload + 1 && dcid + codec.cid_len <= frame + len);
	for (int enabled = 0; enabled <= 1; enabled++) {
		for (uint16_t self = 0; self <= N_WORKERS; self++) {
			uint16_t me = self < N_WORKERS ? self : UINT16_MAX;
			uint16_t self_row = qs_steer_self_row(me), owner = UINT16_MAX;
			struct qs_quic_hdr h;
			enum qs_steer_verdict v = qs_steer_decide(&codec, enabled, me,
								  payload, plen, &h,
								  &owner);
			uint16_t want = v == QS_STEER_FORWARD ? owner : self_row;

			REQUIRE(v == QS_STEER_LOCAL || v == QS_STEER_FORWARD);
			REQUIRE(h.type == QS_QUIC_SHORT && h.dcid == dcid);
			if (enabled) {
				REQUIRE(qs_steer_row(qs_steer_owner_nibble(&codec, dcid),
						     self_row) == want);
				REQUIRE(qs_steer_row(qs_steer_owner_codec(&codec, dcid),
						     self_row) == want);
			} else {
				REQUIRE(qs_steer_row(qs_steer_owner_off(&codec, dcid),
						     self_row) == want);
			}
		}
	}
	if (!fits_mbuf(len))
		return;
	/* the mark is the classifier's; the owner finds what it found */
	mf = mbuf_of(&tf, frame, len);
	qs_net_mark_quic(mf, meta.ipv6, meta.l4_end);
	REQUIRE(qs_net_ipv4_hdr_ok(mf) == (c == QS_PKT_QUIC));
	if (c == QS_PKT_QUIC) {
		ms = mbuf_of(&ts, frame, len);
		qs_net_meta_to_mbuf(ms, ref);
		REQUIRE(mf->packet_type == ms->packet_type &&
			mf->data_len == ms->data_len && mf->pkt_len == ms->pkt_len);
		REQUIRE(qs_net_ipv4_hdr_ok(ms));
		free(ts.block);
	}
	free(tf.block);
}

static void
check_classified(const uint8_t *frame, size_t len)
{
	struct qs_pkt_meta meta;
	enum qs_pkt_class c = qs_net_classify(frame, (uint32_t)len, &listen_set,
					      &caps.mac, &meta);
	const struct rte_ether_addr *dst_mac = (const struct rte_ether_addr *)frame;
	uint16_t ether_type;

	REQUIRE(c >= QS_PKT_MALFORMED && c <= QS_PKT_QUIC);
	check_fast(frame, len, c, &meta);
	if (len < RTE_ETHER_HDR_LEN)
		REQUIRE(c == QS_PKT_MALFORMED);
	if (c == QS_PKT_TRUNCATED) {
		/* an intact IP header to our MAC and address, longer than the
		 * frame: the only class besides these two without offsets */
		REQUIRE(rte_is_same_ether_addr(dst_mac, &caps.mac));
		return;
	}
	if (c == QS_PKT_MALFORMED || c == QS_PKT_NOT_OURS || !fits_mbuf(len))
		return;
	/* RFC 1122 3.3.6: to our MAC, or ARP by broadcast, or ND to the
	 * solicited-node group of our address */
	if (!rte_is_same_ether_addr(dst_mac, &caps.mac)) {
		struct rte_ether_addr group;

		qs_net_solicited_node_mac(qs_frames_our_v6, &group);
		REQUIRE((c == QS_PKT_ARP_REQUEST &&
			 rte_is_broadcast_ether_addr(dst_mac)) ||
			(c == QS_PKT_ND_SOLICIT &&
			 rte_is_same_ether_addr(dst_mac, &group)));
	}
	ether_type = (uint16_t)(frame[12] << 8 | frame[13]);
	REQUIRE(meta.l3_off == RTE_ETHER_HDR_LEN);
	REQUIRE(meta.l3_off <= meta.l4_off && meta.l4_off <= meta.l4_end &&
		meta.l4_end <= len);

	switch (c) {
	case QS_PKT_ARP_REQUEST:
		REQUIRE(ether_type == RTE_ETHER_TYPE_ARP);
		REQUIRE(meta.l4_end == meta.l3_off + sizeof(struct rte_arp_hdr));
		check_arp_reply(frame, len, &meta);
		break;
	case QS_PKT_ICMP4_ECHO:
		REQUIRE(ether_type == RTE_ETHER_TYPE_IPV4 && !meta.ipv6);
		REQUIRE(meta.l4_end - meta.l4_off >= 8);
		REQUIRE(frame[meta.l4_off] == RTE_IP_ICMP_ECHO_REQUEST);
		check_icmp4_reply(frame, len, &meta);
		break;
	case QS_PKT_ICMP6_ECHO:
	case QS_PKT_ND_SOLICIT:
		REQUIRE(ether_type == RTE_ETHER_TYPE_IPV6 && meta.ipv6);
		REQUIRE(meta.l4_off == meta.l3_off + sizeof(struct rte_ipv6_hdr));
		if (c == QS_PKT_ND_SOLICIT) {
			REQUIRE(meta.l4_end - meta.l4_off >= 24);
			REQUIRE(frame[meta.l4_off] == ICMP6_ND_SOLICIT);
			REQUIRE(memcmp(frame + meta.l4_off + 8, qs_frames_our_v6, 16) == 0);
		} else {
			REQUIRE(meta.l4_end - meta.l4_off >= 8);
			REQUIRE(frame[meta.l4_off] == ICMP6_ECHO_REQUEST);
		}
		check_icmp6_reply(frame, len, &meta, c == QS_PKT_ND_SOLICIT);
		break;
	case QS_PKT_QUIC: {
		const struct rte_udp_hdr *udp =
			(const struct rte_udp_hdr *)(frame + meta.l4_off);

		REQUIRE(meta.ipv6 == (ether_type == RTE_ETHER_TYPE_IPV6));
		REQUIRE(meta.l4_end - meta.l4_off >= 8);
		REQUIRE(udp->dst_port == listen_set.port_be);
		REQUIRE(rte_be_to_cpu_16(udp->dgram_len) == meta.l4_end - meta.l4_off);
		check_quic(frame, len, &meta);
		break;
	}
	default:
		REQUIRE(!"unreachable class");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_classified(data, size);
	/* the parser and the decision on any bytes, not only on datagrams */
	check_decide(data, size);
	return 0;
}
