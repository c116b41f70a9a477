/* qs_net: the classifier on crafted frames (what is ours, what is not, what
 * is malformed, and the offsets it reports; frames for other MACs), then the
 * in-place answers on real mbufs with every checksum verified and clean IP
 * headers (no options, DSCP and ECN 0), the UDP checksum check of a received
 * datagram, the IPv4 header check the owner makes for the RX fast path and
 * the marks it reads (packet type, trimmed length), and the path of a
 * datagram and a datagram built back along it. */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "qs_frames.h"
#include "net/qs_cksum.h"
#include "net/qs_classify.h"
#include "net/qs_reply.h"
#include "net/qs_udp.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define ETHER_MIN_FRAME 60   /* without FCS: shorter frames are padded */
#define ICMP_DATA_LEN 56
#define QUIC_LEN 100
#define ETHER_TYPE_LLDP 0x88cc
#define ETHER_TYPE_VLAN 0x8100
#define ICMP6_ECHO_REPLY 129
#define ICMP6_ND_ADVERT 136
#define ND_NA_FLAGS_SOLICITED_OVERRIDE 0x60000000u
#define ND_NA_LEN 32
#define ND_OPT_TARGET_LLADDR 2
#define REPLY_TTL 64
#define POOL_SIZE 64
#define TOS_EF_CE 0xbb          /* DSCP 46 (EF) and ECN CE */
#define FLOW_LABEL 0x12345

static struct qs_listen listen_set;
static uint8_t frame[QS_FRAME_MAX];

static enum qs_pkt_class
classify(size_t len, struct qs_pkt_meta *meta)
{
	memset(meta, 0xee, sizeof(*meta)); /* offsets must be written, not kept */
	return qs_net_classify(frame, (uint32_t)len, &listen_set,
			       &qs_frames_our_mac, meta);
}

static struct rte_ipv4_hdr *
ip4(uint8_t *f)
{
	return (struct rte_ipv4_hdr *)(f + QS_FRAME_L3_OFF);
}

static struct rte_ipv6_hdr *
ip6(uint8_t *f)
{
	return (struct rte_ipv6_hdr *)(f + QS_FRAME_L3_OFF);
}

static size_t
quic4_frame(void)
{
	uint8_t payload[QUIC_LEN];

	memset(payload, 0x41, sizeof(payload));
	return qs_frame_quic_to_us(frame, false, payload, sizeof(payload));
}

static size_t
quic6_frame(void)
{
	uint8_t payload[QUIC_LEN];

	memset(payload, 0x41, sizeof(payload));
	return qs_frame_quic_to_us(frame, true, payload, sizeof(payload));
}

/* ---- classification ---- */

static void
test_classify_arp(void)
{
	struct qs_pkt_meta meta;
	size_t len;

	len = qs_frame_arp(frame, RTE_ARP_OP_REQUEST, qs_frames_peer_v4,
			   qs_frames_our_v4);
	CHECK_EQ(classify(len, &meta), QS_PKT_ARP_REQUEST);
	CHECK_EQ(meta.l3_off, QS_FRAME_L3_OFF);
	CHECK_EQ(meta.l4_end, QS_FRAME_L3_OFF + sizeof(struct rte_arp_hdr));
	/* padded to the Ethernet minimum, as on the wire */
	CHECK_EQ(classify(qs_frame_pad(frame, len, ETHER_MIN_FRAME), &meta),
		 QS_PKT_ARP_REQUEST);

	len = qs_frame_arp(frame, RTE_ARP_OP_REQUEST, qs_frames_peer_v4,
			   qs_frames_other_v4);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = qs_frame_arp(frame, RTE_ARP_OP_REPLY, qs_frames_peer_v4,
			   qs_frames_our_v4);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	len = qs_frame_arp(frame, RTE_ARP_OP_REQUEST, qs_frames_peer_v4,
			   qs_frames_our_v4);
	for (size_t cut = QS_FRAME_L3_OFF; cut < len; cut++) {
		TEST_CONTEXT("arp cut at %zu", cut);
		CHECK_EQ(classify(cut, &meta), QS_PKT_MALFORMED);
	}
	TEST_CONTEXT_CLEAR();
	((struct rte_arp_hdr *)(frame + QS_FRAME_L3_OFF))->arp_hlen = 8;
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
}

static void
test_classify_icmp4(void)
{
	struct qs_pkt_meta meta;
	size_t len;

	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4,
				  ICMP_DATA_LEN);
	CHECK_EQ(classify(len, &meta), QS_PKT_ICMP4_ECHO);
	CHECK_EQ(meta.l3_off, QS_FRAME_L3_OFF);
	CHECK_EQ(meta.l4_off, QS_FRAME_L4_OFF_V4);
	CHECK_EQ(meta.l4_end, len);
	CHECK_EQ(meta.ipv6, false);

	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_other_v4,
				  ICMP_DATA_LEN);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	/* an echo reply (type 0) is not a request */
	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4, 8);
	frame[QS_FRAME_L4_OFF_V4] = RTE_IP_ICMP_ECHO_REPLY;
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	/* an IP payload too short for the ICMP header */
	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4, 0);
	ip4(frame)->total_length = rte_cpu_to_be_16(20 + 7);
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
}

static void
test_classify_udp4(void)
{
	struct qs_pkt_meta meta;
	size_t len = quic4_frame();

	CHECK_EQ(classify(len, &meta), QS_PKT_QUIC);
	CHECK_EQ(meta.l3_off, QS_FRAME_L3_OFF);
	CHECK_EQ(meta.l4_off, QS_FRAME_L4_OFF_V4);
	CHECK_EQ(meta.l4_end, len);
	CHECK_EQ(meta.ipv6, false);

	((struct rte_udp_hdr *)(frame + QS_FRAME_L4_OFF_V4))->dst_port =
		rte_cpu_to_be_16(QS_FRAMES_OUR_PORT + 1);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	len = qs_frame_udp4(frame, qs_frames_peer_v4, qs_frames_other_v4,
			    QS_FRAMES_PEER_PORT, QS_FRAMES_OUR_PORT,
			    (const uint8_t *)"x", 1);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	/* a protocol we do not speak, to our address */
	len = quic4_frame();
	ip4(frame)->next_proto_id = IPPROTO_TCP;
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
}

/* IPv4 options: 4 NOPs, and the most a header holds (40 bytes: a record
 * route with room for 9 addresses, as `ping -R` sends). */
static const uint8_t opts_nop[4] = {1, 1, 1, 1};
static const uint8_t opts_record_route[40] = {1, 7, 39, 4};

/* An IPv4 header with 4 bytes of options (NOPs): the UDP header moves. */
static void
test_classify_ipv4_options(void)
{
	struct qs_pkt_meta meta;
	size_t len = qs_frame_ipv4_add_options(frame, quic4_frame(), opts_nop,
					       sizeof(opts_nop));

	CHECK_EQ(ip4(frame)->version_ihl, 0x46);
	CHECK_EQ(classify(len, &meta), QS_PKT_QUIC);
	CHECK_EQ(meta.l4_off, QS_FRAME_L4_OFF_V4 + 4);
	CHECK_EQ(meta.l4_end, len);
}

/* RFC 1122 3.3.6: frames for another host on the segment are not ours,
 * whatever their IP header says; our MAC, ARP by broadcast and neighbour
 * solicitations to the solicited-node group of one of our addresses are. */
static void
test_classify_dst_mac(void)
{
	static const struct rte_ether_addr broadcast = {
		.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	static const struct rte_ether_addr all_nodes = {
		.addr_bytes = {0x33, 0x33, 0, 0, 0, 0x01}};
	struct rte_ether_addr our_group, other_group;
	uint8_t solicited[16];
	struct qs_pkt_meta meta;
	size_t len;

	qs_frames_solicited_node(qs_frames_our_v6, solicited);
	qs_net_solicited_node_mac(qs_frames_our_v6, &our_group);
	qs_net_solicited_node_mac(qs_frames_other_v6, &other_group);
	CHECK_EQ(our_group.addr_bytes[0], 0x33);
	CHECK_EQ(our_group.addr_bytes[2], 0xff);
	CHECK_MEM_EQ(&our_group.addr_bytes[3], qs_frames_our_v6 + 13, 3);

	/* what would be ours, to another host's unicast MAC */
	len = quic4_frame();
	qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = quic6_frame();
	qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4,
				  ICMP_DATA_LEN);
	qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = qs_frame_icmp6_echo(frame, qs_frames_peer_v6, qs_frames_our_v6,
				  ICMP_DATA_LEN);
	qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = qs_frame_arp(frame, RTE_ARP_OP_REQUEST, qs_frames_peer_v4,
			   qs_frames_our_v4);
	qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	/* ... even when it would be malformed: not ours to judge */
	len = quic4_frame();
	qs_frame_set_dst_mac(frame, &qs_frames_other_mac);
	ip4(frame)->hdr_checksum ^= 1;
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	/* ARP: by broadcast (the builder's default) and to our MAC */
	len = qs_frame_arp(frame, RTE_ARP_OP_REQUEST, qs_frames_peer_v4,
			   qs_frames_our_v4);
	CHECK(rte_is_broadcast_ether_addr(&((struct rte_ether_hdr *)frame)->dst_addr));
	CHECK_EQ(classify(len, &meta), QS_PKT_ARP_REQUEST);
	qs_frame_set_dst_mac(frame, &qs_frames_our_mac);
	CHECK_EQ(classify(len, &meta), QS_PKT_ARP_REQUEST);
	/* broadcast carries nothing else */
	len = quic4_frame();
	qs_frame_set_dst_mac(frame, &broadcast);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4,
				  ICMP_DATA_LEN);
	qs_frame_set_dst_mac(frame, &broadcast);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	/* a solicitation to our solicited-node group, by its MAC (the
	 * builder's default), and to our unicast MAC */
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_our_v6, 255, true);
	CHECK(rte_is_same_ether_addr(&((struct rte_ether_hdr *)frame)->dst_addr,
				     &our_group));
	CHECK_EQ(classify(len, &meta), QS_PKT_ND_SOLICIT);
	qs_frame_set_dst_mac(frame, &qs_frames_our_mac);
	CHECK_EQ(classify(len, &meta), QS_PKT_ND_SOLICIT);
	/* ... to another address's group MAC, to all-nodes, to broadcast */
	qs_frame_set_dst_mac(frame, &other_group);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	qs_frame_set_dst_mac(frame, &all_nodes);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	qs_frame_set_dst_mac(frame, &broadcast);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	/* our group's MAC carrying unicast traffic to us: the MAC does not
	 * name the destination */
	len = qs_frame_icmp6_echo(frame, qs_frames_peer_v6, qs_frames_our_v6,
				  ICMP_DATA_LEN);
	qs_frame_set_dst_mac(frame, &our_group);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, qs_frames_our_v6,
				  qs_frames_our_v6, 255, true);
	qs_frame_set_dst_mac(frame, &our_group);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	len = quic6_frame();
	qs_frame_set_dst_mac(frame, &our_group);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
}

static void
test_classify_ipv4_malformed(void)
{
	struct qs_pkt_meta meta;
	size_t len;

	/* IHL below 5 words, version not 4 */
	static const uint8_t bad_vhl[] = {0x44, 0x40, 0x65, 0x55};
	for (size_t i = 0; i < RTE_DIM(bad_vhl); i++) {
		len = quic4_frame();
		ip4(frame)->version_ihl = bad_vhl[i];
		qs_frame_ipv4_fix_cksum(frame);
		TEST_CONTEXT("version_ihl 0x%02x", bad_vhl[i]);
		CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
	}
	TEST_CONTEXT_CLEAR();

	/* total_length claims more than the frame holds: cut short by the
	 * receive buffer (a GSO super-frame of two 1,273-byte datagrams, as a
	 * veth passes it, in a 2,048-byte buffer) ... */
	len = quic4_frame();
	ip4(frame)->total_length = rte_cpu_to_be_16((uint16_t)(len - QS_FRAME_L3_OFF + 1));
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_TRUNCATED);
	ip4(frame)->total_length = rte_cpu_to_be_16(2 * 1273 - RTE_ETHER_HDR_LEN);
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_TRUNCATED);
	/* ... only when the header is intact and ours */
	ip4(frame)->hdr_checksum ^= 1;
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
	ip4(frame)->dst_addr = qs_frames_other_v4;
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	/* ... or less than the UDP datagram inside it */
	len = quic4_frame();
	ip4(frame)->total_length = rte_cpu_to_be_16((uint16_t)(len - QS_FRAME_L3_OFF - 1));
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
	/* ... or less than its own header */
	len = quic4_frame();
	ip4(frame)->total_length = rte_cpu_to_be_16(19);
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);

	/* fragments: more-fragments set, or a non-zero offset; DF alone is fine */
	static const uint16_t frag[] = {RTE_IPV4_HDR_MF_FLAG, 1, 0x1fff,
					RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_DF_FLAG};
	for (size_t i = 0; i < RTE_DIM(frag); i++) {
		len = quic4_frame();
		ip4(frame)->fragment_offset = rte_cpu_to_be_16(frag[i]);
		qs_frame_ipv4_fix_cksum(frame);
		TEST_CONTEXT("fragment_offset 0x%04x", frag[i]);
		CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
	}
	TEST_CONTEXT_CLEAR();
	len = quic4_frame();
	ip4(frame)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_QUIC);
	ip4(frame)->fragment_offset = 0;
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_QUIC);

	/* header checksum off by one */
	len = quic4_frame();
	ip4(frame)->hdr_checksum ^= rte_cpu_to_be_16(1);
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);

	/* truncated inside the IPv4 header */
	len = quic4_frame();
	for (size_t cut = QS_FRAME_L3_OFF; cut < QS_FRAME_L4_OFF_V4; cut++) {
		TEST_CONTEXT("ipv4 cut at %zu", cut);
		CHECK_EQ(classify(cut, &meta), QS_PKT_MALFORMED);
	}
	TEST_CONTEXT_CLEAR();
	CHECK_EQ(classify(QS_FRAME_L3_OFF - 1, &meta), QS_PKT_MALFORMED);
	CHECK_EQ(classify(0, &meta), QS_PKT_MALFORMED);
}

static void
test_classify_udp_length(void)
{
	struct rte_udp_hdr *udp =
		(struct rte_udp_hdr *)(frame + QS_FRAME_L4_OFF_V4);
	struct qs_pkt_meta meta;
	size_t len;

	static const uint16_t bad[] = {0, 7, QUIC_LEN + 8 + 1, 0xffff};
	for (size_t i = 0; i < RTE_DIM(bad); i++) {
		len = quic4_frame();
		udp->dgram_len = rte_cpu_to_be_16(bad[i]);
		TEST_CONTEXT("udp length %u", bad[i]);
		CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
	}
	TEST_CONTEXT_CLEAR();

	/* an IP payload too short for a UDP header */
	len = quic4_frame();
	ip4(frame)->total_length = rte_cpu_to_be_16(20 + 7);
	qs_frame_ipv4_fix_cksum(frame);
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);

	/* UDP shorter than the IP payload: the datagram ends where UDP says */
	len = quic4_frame();
	udp->dgram_len = rte_cpu_to_be_16(8 + 10);
	CHECK_EQ(classify(len, &meta), QS_PKT_QUIC);
	CHECK_EQ(meta.l4_end, QS_FRAME_L4_OFF_V4 + 8 + 10);
	/* an empty datagram is still a datagram (the QUIC parser refuses it) */
	udp->dgram_len = rte_cpu_to_be_16(8);
	CHECK_EQ(classify(len, &meta), QS_PKT_QUIC);
	CHECK_EQ(meta.l4_end, QS_FRAME_L4_OFF_V4 + 8);
}

/* Frames shorter than 60 bytes arrive padded; the padding is not payload. */
static void
test_classify_ethernet_padding(void)
{
	struct qs_pkt_meta meta;
	size_t len;

	len = qs_frame_quic_to_us(frame, false, (const uint8_t *)"abcd", 4);
	CHECK(len < ETHER_MIN_FRAME);
	CHECK_EQ(classify(qs_frame_pad(frame, len, ETHER_MIN_FRAME), &meta),
		 QS_PKT_QUIC);
	CHECK_EQ(meta.l4_end, len);

	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4, 4);
	CHECK_EQ(classify(qs_frame_pad(frame, len, ETHER_MIN_FRAME), &meta),
		 QS_PKT_ICMP4_ECHO);
	CHECK_EQ(meta.l4_end, len);

	/* IPv6 frames are never short, but trailing bytes are still not payload */
	len = quic6_frame();
	CHECK_EQ(classify(qs_frame_pad(frame, len, len + 16), &meta), QS_PKT_QUIC);
	CHECK_EQ(meta.l4_end, len);
}

static void
test_classify_ipv6(void)
{
	uint8_t solicited[16];
	struct qs_pkt_meta meta;
	size_t len;

	len = quic6_frame();
	CHECK_EQ(classify(len, &meta), QS_PKT_QUIC);
	CHECK_EQ(meta.l3_off, QS_FRAME_L3_OFF);
	CHECK_EQ(meta.l4_off, QS_FRAME_L4_OFF_V6);
	CHECK_EQ(meta.l4_end, len);
	CHECK_EQ(meta.ipv6, true);

	len = qs_frame_udp6(frame, qs_frames_peer_v6, qs_frames_other_v6,
			    QS_FRAMES_PEER_PORT, QS_FRAMES_OUR_PORT,
			    (const uint8_t *)"x", 1);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	/* UDP to our solicited-node group is not for the listener */
	qs_frames_solicited_node(qs_frames_our_v6, solicited);
	len = qs_frame_udp6(frame, qs_frames_peer_v6, solicited,
			    QS_FRAMES_PEER_PORT, QS_FRAMES_OUR_PORT,
			    (const uint8_t *)"x", 1);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	/* a fragment header: never reassembled */
	len = quic6_frame();
	ip6(frame)->proto = IPPROTO_FRAGMENT;
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);

	/* truncated: inside the header, and payload_len past the frame */
	len = quic6_frame();
	for (size_t cut = QS_FRAME_L3_OFF; cut < QS_FRAME_L4_OFF_V6; cut++) {
		TEST_CONTEXT("ipv6 cut at %zu", cut);
		CHECK_EQ(classify(cut, &meta), QS_PKT_MALFORMED);
	}
	TEST_CONTEXT_CLEAR();
	CHECK_EQ(classify(len - 1, &meta), QS_PKT_TRUNCATED);

	len = quic6_frame();
	ip6(frame)->vtc_flow = rte_cpu_to_be_32(4u << 28);
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
}

static void
test_classify_icmp6(void)
{
	uint8_t solicited[16];
	struct qs_pkt_meta meta;
	size_t len;

	len = qs_frame_icmp6_echo(frame, qs_frames_peer_v6, qs_frames_our_v6,
				  ICMP_DATA_LEN);
	CHECK_EQ(classify(len, &meta), QS_PKT_ICMP6_ECHO);
	CHECK_EQ(meta.l4_off, QS_FRAME_L4_OFF_V6);
	CHECK_EQ(meta.l4_end, len);
	CHECK_EQ(meta.ipv6, true);
	frame[QS_FRAME_L4_OFF_V6 + 1] = 1; /* code */
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
	len = qs_frame_icmp6_echo(frame, qs_frames_peer_v6, qs_frames_other_v6,
				  ICMP_DATA_LEN);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);

	qs_frames_solicited_node(qs_frames_our_v6, solicited);
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_our_v6, 255, true);
	CHECK_EQ(classify(len, &meta), QS_PKT_ND_SOLICIT);
	CHECK_EQ(meta.l4_off, QS_FRAME_L4_OFF_V6);
	CHECK_EQ(meta.l4_end, len);
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_our_v6, 255, false);
	CHECK_EQ(classify(len, &meta), QS_PKT_ND_SOLICIT);
	/* unicast solicitation (neighbour unreachability detection) */
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, qs_frames_our_v6,
				  qs_frames_our_v6, 255, true);
	CHECK_EQ(classify(len, &meta), QS_PKT_ND_SOLICIT);

	/* RFC 4861 7.1.1: a hop limit below 255 means it crossed a router */
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_our_v6, 64, true);
	CHECK_EQ(classify(len, &meta), QS_PKT_MALFORMED);
	/* for an address that is not ours */
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_other_v6, 255, true);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	/* duplicate address detection (from ::) is not answered */
	static const uint8_t unspecified[16];
	len = qs_frame_nd_solicit(frame, unspecified, solicited, qs_frames_our_v6,
				  255, false);
	CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	/* shorter than the 24 bytes a solicitation needs */
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_our_v6, 255, false);
	ip6(frame)->payload_len = rte_cpu_to_be_16(23);
	CHECK_EQ(classify(len - 1, &meta), QS_PKT_MALFORMED);
}

static void
test_classify_other_ethertypes(void)
{
	static const uint16_t types[] = {ETHER_TYPE_LLDP, ETHER_TYPE_VLAN, 0};
	struct qs_pkt_meta meta;

	for (size_t i = 0; i < RTE_DIM(types); i++) {
		size_t len = quic4_frame();

		((struct rte_ether_hdr *)frame)->ether_type =
			rte_cpu_to_be_16(types[i]);
		TEST_CONTEXT("ether_type 0x%04x", types[i]);
		CHECK_EQ(classify(len, &meta), QS_PKT_NOT_OURS);
	}
	TEST_CONTEXT_CLEAR();
	for (int c = QS_PKT_MALFORMED; c <= QS_PKT_QUIC; c++)
		CHECK(strcmp(qs_net_class_name((enum qs_pkt_class)c), "?") != 0);
}

/* ---- in-place answers on mbufs ---- */

static struct rte_mempool *pool;

static const struct qs_tx_caps sw_caps = {
	.mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x01}},
};
static const struct qs_tx_caps hw_caps = {
	.mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x01}},
	.hw_ip_cksum = true,
	.hw_udp_cksum = true,
};

/* The classified frame in an mbuf; meta filled. */
static struct rte_mbuf *
classified_mbuf(size_t len, enum qs_pkt_class want, struct qs_pkt_meta *meta)
{
	struct rte_mbuf *m;

	CHECK_EQ(classify(len, meta), want);
	m = qs_frames_mbuf(pool, frame, len);
	CHECK(m != NULL);
	if (m != NULL)
		m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD; /* must not leak into TX */
	return m;
}

static void
check_eth_reply(const uint8_t *f)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;

	CHECK(rte_is_same_ether_addr(&eth->dst_addr, &qs_frames_peer_mac));
	CHECK(rte_is_same_ether_addr(&eth->src_addr, &sw_caps.mac));
}

static void
test_arp_reply(void)
{
	struct qs_pkt_meta meta;
	size_t len = qs_frame_arp(frame, RTE_ARP_OP_REQUEST, qs_frames_peer_v4,
				  qs_frames_our_v4);
	struct rte_mbuf *m;

	m = classified_mbuf(qs_frame_pad(frame, len, ETHER_MIN_FRAME),
			    QS_PKT_ARP_REQUEST, &meta);
	if (m == NULL)
		return;
	CHECK_EQ(qs_net_arp_reply(m, &sw_caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(f + QS_FRAME_L3_OFF);

	check_eth_reply(f);
	CHECK_EQ(((struct rte_ether_hdr *)f)->ether_type,
		 rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP));
	CHECK_EQ(arp->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	CHECK_EQ(arp->arp_hardware, rte_cpu_to_be_16(RTE_ARP_HRD_ETHER));
	CHECK_EQ(arp->arp_protocol, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
	CHECK(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &sw_caps.mac));
	CHECK_EQ(arp->arp_data.arp_sip, qs_frames_our_v4);
	CHECK(rte_is_same_ether_addr(&arp->arp_data.arp_tha, &qs_frames_peer_mac));
	CHECK_EQ(arp->arp_data.arp_tip, qs_frames_peer_v4);
	CHECK_EQ(rte_pktmbuf_data_len(m), QS_FRAME_L3_OFF + sizeof(*arp));
	CHECK_EQ(rte_pktmbuf_pkt_len(m), QS_FRAME_L3_OFF + sizeof(*arp));
	CHECK_EQ(m->ol_flags, 0);
	rte_pktmbuf_free(m);
}

static void
check_ipv4_reply_hdr(struct rte_mbuf *m, const struct qs_tx_caps *caps,
		     uint8_t proto)
{
	struct rte_ipv4_hdr *ip = ip4(rte_pktmbuf_mtod(m, uint8_t *));

	CHECK_EQ(ip->src_addr, qs_frames_our_v4);
	CHECK_EQ(ip->dst_addr, qs_frames_peer_v4);
	CHECK_EQ(ip->time_to_live, REPLY_TTL);
	CHECK_EQ(ip->next_proto_id, proto);
	/* nothing inherited: no options, DSCP 0, DF, no fragment offset */
	CHECK_EQ(ip->version_ihl, 0x45);
	CHECK_EQ(ip->type_of_service & ~0x3, 0);
	CHECK_EQ(rte_be_to_cpu_16(ip->fragment_offset), RTE_IPV4_HDR_DF_FLAG);
	CHECK_EQ(rte_be_to_cpu_16(ip->total_length),
		 rte_pktmbuf_data_len(m) - QS_FRAME_L3_OFF);
	if (caps->hw_ip_cksum) {
		CHECK((m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM)) ==
		      (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM));
		CHECK_EQ(ip->hdr_checksum, 0);
		CHECK_EQ(m->l2_len, QS_FRAME_L3_OFF);
		CHECK_EQ(m->l3_len, rte_ipv4_hdr_len(ip));
	} else {
		CHECK_EQ(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM, 0);
		CHECK_EQ(rte_raw_cksum(ip, rte_ipv4_hdr_len(ip)), 0xffff);
	}
}

static void
test_icmp4_echo_reply(const struct qs_tx_caps *caps)
{
	struct qs_pkt_meta meta;
	size_t len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4,
					 qs_frames_our_v4, ICMP_DATA_LEN);
	uint8_t request_icmp[8 + ICMP_DATA_LEN];
	struct rte_mbuf *m;

	memcpy(request_icmp, frame + QS_FRAME_L4_OFF_V4, sizeof(request_icmp));
	m = classified_mbuf(len, QS_PKT_ICMP4_ECHO, &meta);
	if (m == NULL)
		return;
	CHECK_EQ(qs_net_icmp4_echo_reply(m, &meta, caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(f + QS_FRAME_L4_OFF_V4);

	check_eth_reply(f);
	check_ipv4_reply_hdr(m, caps, IPPROTO_ICMP);
	CHECK_EQ(rte_pktmbuf_data_len(m), len);
	CHECK_EQ(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	CHECK_EQ(icmp->icmp_code, 0);
	CHECK_EQ(rte_raw_cksum(icmp, 8 + ICMP_DATA_LEN), 0xffff);
	/* identifier, sequence number and data echoed unchanged */
	CHECK_MEM_EQ(f + QS_FRAME_L4_OFF_V4 + 4, request_icmp + 4,
		     sizeof(request_icmp) - 4);
	CHECK_EQ(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD, 0);
	rte_pktmbuf_free(m);

	/* a padded request gets an unpadded reply with a checksum over the
	 * ICMP message only */
	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4, 3);
	m = classified_mbuf(qs_frame_pad(frame, len, ETHER_MIN_FRAME),
			    QS_PKT_ICMP4_ECHO, &meta);
	if (m == NULL)
		return;
	CHECK_EQ(qs_net_icmp4_echo_reply(m, &meta, caps), 0);
	CHECK_EQ(rte_pktmbuf_data_len(m), len);
	CHECK_EQ(rte_pktmbuf_pkt_len(m), len);
	CHECK_EQ(rte_raw_cksum(rte_pktmbuf_mtod_offset(m, void *, QS_FRAME_L4_OFF_V4),
			       8 + 3), 0xffff);
	rte_pktmbuf_free(m);
}

static void
test_icmp6_echo_reply(void)
{
	struct qs_pkt_meta meta;
	size_t len = qs_frame_icmp6_echo(frame, qs_frames_peer_v6,
					 qs_frames_our_v6, ICMP_DATA_LEN);
	uint8_t request_icmp[8 + ICMP_DATA_LEN];
	struct rte_mbuf *m;

	memcpy(request_icmp, frame + QS_FRAME_L4_OFF_V6, sizeof(request_icmp));
	m = classified_mbuf(len, QS_PKT_ICMP6_ECHO, &meta);
	if (m == NULL)
		return;
	CHECK_EQ(qs_net_icmp6_echo_reply(m, &meta, &sw_caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv6_hdr *ip = ip6(f);
	uint8_t *icmp = f + QS_FRAME_L4_OFF_V6;

	check_eth_reply(f);
	CHECK_MEM_EQ(ip->src_addr, qs_frames_our_v6, 16);
	CHECK_MEM_EQ(ip->dst_addr, qs_frames_peer_v6, 16);
	CHECK_EQ(ip->hop_limits, REPLY_TTL);
	CHECK_EQ(rte_be_to_cpu_16(ip->payload_len), sizeof(request_icmp));
	CHECK_EQ(icmp[0], ICMP6_ECHO_REPLY);
	CHECK_EQ(icmp[1], 0);
	CHECK_EQ(rte_ipv6_udptcp_cksum_verify(ip, icmp), 0);
	CHECK_MEM_EQ(icmp + 4, request_icmp + 4, sizeof(request_icmp) - 4);
	CHECK_EQ(rte_pktmbuf_data_len(m), len);
	CHECK_EQ(m->ol_flags, 0);
	rte_pktmbuf_free(m);
}

static void
test_nd_advert(bool with_source_lladdr)
{
	uint8_t solicited[16];
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len;

	TEST_CONTEXT("solicitation %s the source link-layer option",
		     with_source_lladdr ? "with" : "without");
	qs_frames_solicited_node(qs_frames_our_v6, solicited);
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_our_v6, 255, with_source_lladdr);
	m = classified_mbuf(len, QS_PKT_ND_SOLICIT, &meta);
	if (m == NULL)
		return;
	CHECK_EQ(qs_net_nd_advert(m, &meta, &sw_caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv6_hdr *ip = ip6(f);
	uint8_t *nd = f + QS_FRAME_L4_OFF_V6;
	uint32_t flags;

	check_eth_reply(f);
	CHECK_MEM_EQ(ip->src_addr, qs_frames_our_v6, 16);
	CHECK_MEM_EQ(ip->dst_addr, qs_frames_peer_v6, 16);
	CHECK_EQ(ip->hop_limits, 255);
	CHECK_EQ(ip->proto, IPPROTO_ICMPV6);
	CHECK_EQ(rte_be_to_cpu_16(ip->payload_len), ND_NA_LEN);
	CHECK_EQ(rte_pktmbuf_data_len(m), QS_FRAME_L4_OFF_V6 + ND_NA_LEN);
	CHECK_EQ(rte_pktmbuf_pkt_len(m), QS_FRAME_L4_OFF_V6 + ND_NA_LEN);
	CHECK_EQ(nd[0], ICMP6_ND_ADVERT);
	CHECK_EQ(nd[1], 0);
	memcpy(&flags, nd + 4, 4);
	CHECK_EQ(rte_be_to_cpu_32(flags), ND_NA_FLAGS_SOLICITED_OVERRIDE);
	CHECK_MEM_EQ(nd + 8, qs_frames_our_v6, 16);
	CHECK_EQ(nd[24], ND_OPT_TARGET_LLADDR);
	CHECK_EQ(nd[25], 1);
	CHECK_MEM_EQ(nd + 26, sw_caps.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	CHECK_EQ(rte_ipv6_udptcp_cksum_verify(ip, nd), 0);
	CHECK_EQ(m->ol_flags, 0);
	rte_pktmbuf_free(m);
	TEST_CONTEXT_CLEAR();
}

/* A received datagram turned into a reply of reply_len payload bytes. */
static void
test_udp_reply(bool ipv6, const struct qs_tx_caps *caps, uint16_t reply_len,
	       bool padded)
{
	uint8_t payload[QUIC_LEN], reply[2 * QUIC_LEN];
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	uint16_t got_len;
	size_t len, l4_off = ipv6 ? QS_FRAME_L4_OFF_V6 : QS_FRAME_L4_OFF_V4;

	TEST_CONTEXT("udp reply %s, %s checksums, %u bytes%s",
		     ipv6 ? "ipv6" : "ipv4", caps->hw_udp_cksum ? "hw" : "sw",
		     reply_len, padded ? ", padded request" : "");
	memset(payload, 0x41, sizeof(payload));
	for (size_t i = 0; i < sizeof(reply); i++)
		reply[i] = (uint8_t)(i * 7);
	len = qs_frame_quic_to_us(frame, ipv6, payload, padded ? 4 : sizeof(payload));
	m = classified_mbuf(padded ? qs_frame_pad(frame, len, ETHER_MIN_FRAME) : len,
			    QS_PKT_QUIC, &meta);
	if (m == NULL)
		return;

	qs_net_meta_to_mbuf(m, &meta);
	/* offsets are read back from the headers, not stored in the mbuf's
	 * second cache line */
	CHECK_EQ(qs_net_l3_len(m), l4_off - QS_FRAME_L3_OFF);
	CHECK_EQ(m->packet_type, (ipv6 ? RTE_PTYPE_L3_IPV6 : RTE_PTYPE_L3_IPV4) |
				 RTE_PTYPE_L4_UDP);
	CHECK_EQ(rte_pktmbuf_data_len(m), len); /* padding trimmed */
	CHECK_EQ(rte_pktmbuf_pkt_len(m), len);
	CHECK(qs_net_udp_payload(m, &got_len) ==
	      rte_pktmbuf_mtod_offset(m, uint8_t *, l4_off + 8));
	CHECK_EQ(got_len, padded ? 4 : sizeof(payload));

	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, l4_off + 8), reply, reply_len);
	CHECK_EQ(qs_net_udp_reply(m, reply_len, caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + l4_off);

	check_eth_reply(f);
	CHECK_EQ(rte_pktmbuf_data_len(m), l4_off + 8 + reply_len);
	CHECK_EQ(rte_pktmbuf_pkt_len(m), l4_off + 8 + reply_len);
	CHECK_EQ(rte_be_to_cpu_16(udp->src_port), QS_FRAMES_OUR_PORT);
	CHECK_EQ(rte_be_to_cpu_16(udp->dst_port), QS_FRAMES_PEER_PORT);
	CHECK_EQ(rte_be_to_cpu_16(udp->dgram_len), 8 + reply_len);
	CHECK_MEM_EQ(udp + 1, reply, reply_len);
	CHECK_EQ(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD, 0);

	if (!ipv6) {
		struct rte_ipv4_hdr *ip = ip4(f);

		check_ipv4_reply_hdr(m, caps, IPPROTO_UDP);
		if (caps->hw_udp_cksum) {
			CHECK((m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM)) ==
			      (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM));
			/* the NIC expects the pseudo-header sum in the field */
			CHECK_EQ(udp->dgram_cksum, rte_ipv4_phdr_cksum(ip, m->ol_flags));
		} else {
			CHECK_EQ(m->ol_flags, 0);
			CHECK(udp->dgram_cksum != 0);
			CHECK_EQ(rte_ipv4_udptcp_cksum_verify(ip, udp), 0);
		}
	} else {
		struct rte_ipv6_hdr *ip = ip6(f);

		CHECK_MEM_EQ(ip->src_addr, qs_frames_our_v6, 16);
		CHECK_MEM_EQ(ip->dst_addr, qs_frames_peer_v6, 16);
		CHECK_EQ(ip->hop_limits, REPLY_TTL);
		CHECK_EQ(rte_be_to_cpu_16(ip->payload_len), 8 + reply_len);
		CHECK_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM), 0);
		if (caps->hw_udp_cksum) {
			CHECK((m->ol_flags & (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM)) ==
			      (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM));
			CHECK_EQ(udp->dgram_cksum, rte_ipv6_phdr_cksum(ip, m->ol_flags));
		} else {
			CHECK_EQ(m->ol_flags, 0);
			CHECK(udp->dgram_cksum != 0);
			CHECK_EQ(rte_ipv6_udptcp_cksum_verify(ip, udp), 0);
		}
	}
	rte_pktmbuf_free(m);
	TEST_CONTEXT_CLEAR();
}

/* Offload of the UDP checksum alone: the IPv4 header sum is still ours. */
static void
test_udp_reply_hw_udp_only(void)
{
	const struct qs_tx_caps caps = {.mac = sw_caps.mac, .hw_udp_cksum = true};
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len = quic4_frame();

	m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	if (m == NULL)
		return;
	qs_net_meta_to_mbuf(m, &meta);
	CHECK_EQ(qs_net_udp_reply(m, 30, &caps), 0);
	check_ipv4_reply_hdr(m, &caps, IPPROTO_UDP);
	CHECK_EQ(m->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM, RTE_MBUF_F_TX_UDP_CKSUM);
	rte_pktmbuf_free(m);
}

/* A reply that would not fit the mbuf is refused, not written past it. */
static void
test_udp_reply_too_long(void)
{
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len = quic4_frame();

	m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	if (m == NULL)
		return;
	qs_net_meta_to_mbuf(m, &meta);
	CHECK_EQ(qs_net_udp_reply(m, (uint16_t)(rte_pktmbuf_tailroom(m) + QUIC_LEN + 1),
				  &sw_caps), -1);
	rte_pktmbuf_free(m);
}

/* ---- clean IP headers on in-place answers (issue 9, defect 8) ---- */

/* A request whose IPv4 header carries options and DSCP/ECN bits: the
 * stateless answer (reset, Version Negotiation, Retry, CONNECTION_CLOSE)
 * comes out with a 20-byte header, TOS 0, lengths and checksums right, and
 * the payload the caller wrote intact. */
static void
test_udp_reply_clean_ipv4(const struct qs_tx_caps *caps, const uint8_t *opts,
			  size_t opt_len, uint16_t reply_len)
{
	uint8_t payload[QUIC_LEN], reply[2 * QUIC_LEN];
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	uint16_t got_len;
	uint8_t *at;
	size_t len;

	TEST_CONTEXT("udp reply to IPv4 with %zu option bytes and TOS 0x%02x, "
		     "%s checksums, %u bytes", opt_len, TOS_EF_CE,
		     caps->hw_udp_cksum ? "hw" : "sw", reply_len);
	memset(payload, 0x41, sizeof(payload));
	for (size_t i = 0; i < sizeof(reply); i++)
		reply[i] = (uint8_t)(i * 7);
	len = qs_frame_quic_to_us(frame, false, payload, sizeof(payload));
	len = qs_frame_ipv4_add_options(frame, len, opts, opt_len);
	qs_frame_ipv4_set_tos(frame, TOS_EF_CE);
	m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	if (m == NULL)
		return;
	qs_net_meta_to_mbuf(m, &meta);
	CHECK_EQ(qs_net_l3_len(m), 20 + opt_len);
	/* the server writes its answer where the request's payload was */
	at = qs_net_udp_payload(m, &got_len);
	CHECK_EQ(got_len, sizeof(payload));
	memcpy(at, reply, reply_len);
	CHECK_EQ(qs_net_udp_reply(m, reply_len, caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = ip4(f);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + QS_FRAME_L4_OFF_V4);

	check_eth_reply(f);
	check_ipv4_reply_hdr(m, caps, IPPROTO_UDP);
	CHECK_EQ(ip->version_ihl, 0x45);
	CHECK_EQ(ip->type_of_service, 0);
	CHECK_EQ(rte_be_to_cpu_16(ip->total_length), 20 + 8 + reply_len);
	CHECK_EQ(rte_pktmbuf_data_len(m), QS_FRAME_L4_OFF_V4 + 8 + reply_len);
	CHECK_EQ(rte_pktmbuf_pkt_len(m), QS_FRAME_L4_OFF_V4 + 8 + reply_len);
	CHECK_EQ(m->l2_len, QS_FRAME_L3_OFF);
	CHECK_EQ(m->l3_len, 20);
	CHECK_EQ(rte_be_to_cpu_16(udp->src_port), QS_FRAMES_OUR_PORT);
	CHECK_EQ(rte_be_to_cpu_16(udp->dst_port), QS_FRAMES_PEER_PORT);
	CHECK_EQ(rte_be_to_cpu_16(udp->dgram_len), 8 + reply_len);
	CHECK_MEM_EQ(udp + 1, reply, reply_len);
	if (caps->hw_udp_cksum)
		CHECK_EQ(udp->dgram_cksum, rte_ipv4_phdr_cksum(ip, m->ol_flags));
	else
		CHECK_EQ(rte_ipv4_udptcp_cksum_verify(ip, udp), 0);
	rte_pktmbuf_free(m);
	TEST_CONTEXT_CLEAR();
}

/* IPv6: traffic class and flow label are not echoed. */
static void
test_udp_reply_clean_ipv6(void)
{
	uint8_t payload[QUIC_LEN];
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len;

	memset(payload, 0x41, sizeof(payload));
	len = qs_frame_quic_to_us(frame, true, payload, sizeof(payload));
	qs_frame_ipv6_set_class_flow(frame, TOS_EF_CE, FLOW_LABEL);
	m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	if (m == NULL)
		return;
	qs_net_meta_to_mbuf(m, &meta);
	CHECK_EQ(qs_net_udp_reply(m, 43, &sw_caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv6_hdr *ip = ip6(f);

	CHECK_EQ(rte_be_to_cpu_32(ip->vtc_flow), 6u << 28);
	CHECK_EQ(rte_be_to_cpu_16(ip->payload_len), 8 + 43);
	CHECK_EQ(ip->proto, IPPROTO_UDP);
	CHECK_MEM_EQ(ip->src_addr, qs_frames_our_v6, 16);
	CHECK_MEM_EQ(ip->dst_addr, qs_frames_peer_v6, 16);
	CHECK_EQ(rte_ipv6_udptcp_cksum_verify(ip, f + QS_FRAME_L4_OFF_V6), 0);
	rte_pktmbuf_free(m);
}

/* A ping with options and TOS bits (`ping -R -Q 0xbb`): the reply has a
 * clean 20-byte header, the ICMP message echoed whole after it. */
static void
test_icmp4_echo_reply_clean(const struct qs_tx_caps *caps, const uint8_t *opts,
			    size_t opt_len, bool padded)
{
	uint8_t request_icmp[8 + ICMP_DATA_LEN];
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len;

	TEST_CONTEXT("echo reply to IPv4 with %zu option bytes and TOS 0x%02x, "
		     "%s checksums%s", opt_len, TOS_EF_CE,
		     caps->hw_ip_cksum ? "hw" : "sw", padded ? ", padded" : "");
	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4,
				  padded ? 2 : ICMP_DATA_LEN);
	memcpy(request_icmp, frame + QS_FRAME_L4_OFF_V4, sizeof(request_icmp));
	len = qs_frame_ipv4_add_options(frame, len, opts, opt_len);
	qs_frame_ipv4_set_tos(frame, TOS_EF_CE);
	m = classified_mbuf(padded ? qs_frame_pad(frame, len, ETHER_MIN_FRAME) : len,
			    QS_PKT_ICMP4_ECHO, &meta);
	if (m == NULL)
		return;
	CHECK_EQ(qs_net_icmp4_echo_reply(m, &meta, caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = ip4(f);
	uint8_t *icmp = f + QS_FRAME_L4_OFF_V4;
	size_t icmp_len = 8 + (padded ? 2 : ICMP_DATA_LEN);

	check_eth_reply(f);
	check_ipv4_reply_hdr(m, caps, IPPROTO_ICMP);
	CHECK_EQ(ip->version_ihl, 0x45);
	CHECK_EQ(ip->type_of_service, 0);
	CHECK_EQ(rte_be_to_cpu_16(ip->total_length), 20 + icmp_len);
	CHECK_EQ(rte_pktmbuf_data_len(m), QS_FRAME_L4_OFF_V4 + icmp_len);
	CHECK_EQ(rte_pktmbuf_pkt_len(m), QS_FRAME_L4_OFF_V4 + icmp_len);
	CHECK_EQ(m->l3_len, 20);
	CHECK_EQ(icmp[0], RTE_IP_ICMP_ECHO_REPLY);
	CHECK_EQ(icmp[1], 0);
	CHECK_EQ(rte_raw_cksum(icmp, icmp_len), 0xffff);
	CHECK_MEM_EQ(icmp + 4, request_icmp + 4, icmp_len - 4);
	rte_pktmbuf_free(m);
	TEST_CONTEXT_CLEAR();
}

/* ICMPv6 echo and the neighbour advertisement: traffic class and flow
 * label 0. */
static void
test_icmp6_replies_clean(void)
{
	uint8_t solicited[16];
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len;

	len = qs_frame_icmp6_echo(frame, qs_frames_peer_v6, qs_frames_our_v6,
				  ICMP_DATA_LEN);
	qs_frame_ipv6_set_class_flow(frame, TOS_EF_CE, FLOW_LABEL);
	m = classified_mbuf(len, QS_PKT_ICMP6_ECHO, &meta);
	if (m != NULL) {
		CHECK_EQ(qs_net_icmp6_echo_reply(m, &meta, &sw_caps), 0);
		struct rte_ipv6_hdr *ip = ip6(rte_pktmbuf_mtod(m, uint8_t *));
		CHECK_EQ(rte_be_to_cpu_32(ip->vtc_flow), 6u << 28);
		CHECK_EQ(rte_be_to_cpu_16(ip->payload_len), 8 + ICMP_DATA_LEN);
		CHECK_EQ(rte_ipv6_udptcp_cksum_verify(ip, (uint8_t *)(ip + 1)), 0);
		rte_pktmbuf_free(m);
	}

	qs_frames_solicited_node(qs_frames_our_v6, solicited);
	len = qs_frame_nd_solicit(frame, qs_frames_peer_v6, solicited,
				  qs_frames_our_v6, 255, true);
	qs_frame_ipv6_set_class_flow(frame, TOS_EF_CE, FLOW_LABEL);
	m = classified_mbuf(len, QS_PKT_ND_SOLICIT, &meta);
	if (m != NULL) {
		CHECK_EQ(qs_net_nd_advert(m, &meta, &sw_caps), 0);
		struct rte_ipv6_hdr *ip = ip6(rte_pktmbuf_mtod(m, uint8_t *));
		CHECK_EQ(rte_be_to_cpu_32(ip->vtc_flow), 6u << 28);
		CHECK_EQ(ip->hop_limits, 255);
		CHECK_EQ(rte_ipv6_udptcp_cksum_verify(ip, (uint8_t *)(ip + 1)), 0);
		rte_pktmbuf_free(m);
	}
}

/* What a connection sends carries the ECN codepoint ngtcp2 asked for and
 * nothing else in the TOS byte / traffic class. */
static void
test_udp_build_ecn_only(bool ipv6)
{
	struct sockaddr_in l4 = {.sin_family = AF_INET,
				 .sin_addr.s_addr = qs_frames_our_v4};
	struct sockaddr_in r4 = {.sin_family = AF_INET,
				 .sin_addr.s_addr = qs_frames_peer_v4};
	struct sockaddr_in6 l6 = {.sin6_family = AF_INET6};
	struct sockaddr_in6 r6 = {.sin6_family = AF_INET6};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	CHECK(m != NULL);
	if (m == NULL)
		return;
	memcpy(&l6.sin6_addr, qs_frames_our_v6, 16);
	memcpy(&r6.sin6_addr, qs_frames_peer_v6, 16);
	memset(rte_pktmbuf_append(m, 20), 0x5a, 20);
	/* stray high bits in the argument must not become a DSCP */
	CHECK_EQ(qs_net_udp_build(m, ipv6 ? (struct sockaddr *)&l6 : (struct sockaddr *)&l4,
				  ipv6 ? (struct sockaddr *)&r6 : (struct sockaddr *)&r4,
				  0xfd, &qs_frames_peer_mac, &sw_caps), 0);
	if (ipv6)
		CHECK_EQ(rte_be_to_cpu_32(ip6(rte_pktmbuf_mtod(m, uint8_t *))->vtc_flow),
			 6u << 28 | 1u << 20);
	else
		CHECK_EQ(ip4(rte_pktmbuf_mtod(m, uint8_t *))->type_of_service, 1);
	rte_pktmbuf_free(m);
}

/* ---- UDP checksum of a received datagram (issue 9, defect 7) ---- */

/* The datagram of frame[0..len) as the owner gets it: classified and
 * marked, with the PMD's RX L4 checksum verdict in ol_flags. */
static bool
cksum_ok(size_t len, uint64_t rx_l4_flags)
{
	struct qs_pkt_meta meta;
	struct rte_mbuf *m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	bool ok;

	if (m == NULL)
		return false;
	qs_net_meta_to_mbuf(m, &meta);
	m->ol_flags = rx_l4_flags;
	ok = qs_net_udp_cksum_ok(m);
	rte_pktmbuf_free(m);
	return ok;
}

static struct rte_udp_hdr *
udp_at(size_t l4_off)
{
	return (struct rte_udp_hdr *)(frame + l4_off);
}

static void
test_udp_cksum(bool ipv6)
{
	const size_t l4_off = ipv6 ? QS_FRAME_L4_OFF_V6 : QS_FRAME_L4_OFF_V4;
	const uint64_t unknown = RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
	uint8_t payload[QUIC_LEN + 1];
	size_t len;

	TEST_CONTEXT("udp checksum over %s", ipv6 ? "ipv6" : "ipv4");
	memset(payload, 0x41, sizeof(payload));

	/* verified in software when the PMD says nothing */
	len = quic4_frame();
	if (ipv6)
		len = quic6_frame();
	CHECK(cksum_ok(len, unknown));
	frame[len - 1] ^= 0x10;                  /* a payload bit */
	CHECK(!cksum_ok(len, unknown));
	frame[len - 1] ^= 0x10;
	udp_at(l4_off)->src_port ^= rte_cpu_to_be_16(0x100); /* the source port */
	CHECK(!cksum_ok(len, unknown));
	udp_at(l4_off)->src_port ^= rte_cpu_to_be_16(0x100);
	udp_at(l4_off)->dgram_cksum ^= 1;
	CHECK(!cksum_ok(len, unknown));
	udp_at(l4_off)->dgram_cksum ^= 1;
	CHECK(cksum_ok(len, unknown));

	/* an odd length: the last byte is summed as a padded word */
	len = qs_frame_quic_to_us(frame, ipv6, payload, sizeof(payload));
	CHECK(cksum_ok(len, unknown));
	frame[len - 1] ^= 1;
	CHECK(!cksum_ok(len, unknown));

	/* a datagram shorter than the IP payload is summed as UDP says */
	len = qs_frame_quic_to_us(frame, ipv6, payload, 10);
	if (ipv6) {
		ip6(frame)->payload_len = rte_cpu_to_be_16(8 + 10 + 6);
	} else {
		ip4(frame)->total_length = rte_cpu_to_be_16(20 + 8 + 10 + 6);
		qs_frame_ipv4_fix_cksum(frame);
	}
	memset(frame + len, 0x77, 6);
	CHECK(cksum_ok(len + 6, unknown));

	/* the zero checksum: "none" over IPv4, forbidden over IPv6, whatever
	 * the PMD says */
	len = qs_frame_quic_to_us(frame, ipv6, payload, QUIC_LEN);
	udp_at(l4_off)->dgram_cksum = 0;
	CHECK_EQ(cksum_ok(len, unknown), !ipv6);
	CHECK_EQ(cksum_ok(len, RTE_MBUF_F_RX_L4_CKSUM_GOOD), !ipv6);
	CHECK_EQ(cksum_ok(len, RTE_MBUF_F_RX_L4_CKSUM_BAD), !ipv6);

	/* the PMD's verdict is taken over the sum */
	len = qs_frame_quic_to_us(frame, ipv6, payload, QUIC_LEN);
	udp_at(l4_off)->dgram_cksum ^= 1;                   /* wrong */
	CHECK(cksum_ok(len, RTE_MBUF_F_RX_L4_CKSUM_GOOD));
	CHECK(cksum_ok(len, RTE_MBUF_F_RX_L4_CKSUM_NONE));  /* never filled */
	udp_at(l4_off)->dgram_cksum ^= 1;                   /* right */
	CHECK(!cksum_ok(len, RTE_MBUF_F_RX_L4_CKSUM_BAD));
	TEST_CONTEXT_CLEAR();
}

/* IPv4 options are not in the pseudo-header; the UDP header is found
 * after them. */
static void
test_udp_cksum_ipv4_options(void)
{
	size_t len = qs_frame_ipv4_add_options(frame, quic4_frame(),
					       opts_record_route,
					       sizeof(opts_record_route));

	CHECK(cksum_ok(len, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN));
	frame[len - 1] ^= 0x10;
	CHECK(!cksum_ok(len, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN));
}

/* ---- what the RX fast path leaves to the owner (issue 10) ---- */

/* The classifier's fast path takes what it is for, with the classifier's
 * offsets (test_steer.c checks it against every variation). */
static void
test_classify_fast(void)
{
	struct qs_pkt_meta fast, ref;
	size_t len;

	for (int v6 = 0; v6 <= 1; v6++) {
		TEST_CONTEXT("classify fast, %s", v6 ? "ipv6" : "ipv4");
		memset(&fast, 0xee, sizeof(fast)); /* written, not kept */
		len = v6 ? quic6_frame() : quic4_frame();
		CHECK(qs_net_classify_fast(frame, (uint32_t)len, &listen_set,
					   &qs_frames_our_mac, &fast));
		CHECK_EQ(classify(len, &ref), QS_PKT_QUIC);
		CHECK_EQ(fast.l4_off, ref.l4_off);
		CHECK_EQ(fast.l4_end, ref.l4_end);
		CHECK_EQ(fast.ipv6, ref.ipv6);
	}
	TEST_CONTEXT("classify fast, ipv4 options");
	len = qs_frame_ipv4_add_options(frame, quic4_frame(), opts_nop,
					sizeof(opts_nop));
	CHECK(!qs_net_classify_fast(frame, (uint32_t)len, &listen_set,
				    &qs_frames_our_mac, &fast));
	TEST_CONTEXT("classify fast, icmp");
	len = qs_frame_icmp4_echo(frame, qs_frames_peer_v4, qs_frames_our_v4,
				  ICMP_DATA_LEN);
	CHECK(!qs_net_classify_fast(frame, (uint32_t)len, &listen_set,
				    &qs_frames_our_mac, &fast));
	TEST_CONTEXT_CLEAR();
}

/* An mbuf of frame[0..len) as the RX fast path leaves it: marked, with
 * the PMD's ol_flags. */
static struct rte_mbuf *
fast_marked(size_t len, bool ipv6, uint64_t ol_flags)
{
	struct rte_mbuf *m = qs_frames_mbuf(pool, frame, len);

	CHECK(m != NULL);
	if (m == NULL)
		return NULL;
	m->ol_flags = ol_flags;
	qs_net_mark_quic(m, ipv6, (uint16_t)len);
	return m;
}

static bool
hdr_ok(size_t len, bool ipv6, uint64_t ol_flags)
{
	struct rte_mbuf *m = fast_marked(len, ipv6, ol_flags);
	bool ok;

	if (m == NULL)
		return false;
	ok = qs_net_ipv4_hdr_ok(m);
	rte_pktmbuf_free(m);
	return ok;
}

static void
test_ipv4_hdr_ok(void)
{
	const uint64_t unknown = RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN;
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t len;

	TEST_CONTEXT("ipv4 header check");
	len = quic4_frame();
	CHECK(hdr_ok(len, false, unknown));
	ip4(frame)->hdr_checksum ^= rte_cpu_to_be_16(0x100);
	CHECK(!hdr_ok(len, false, unknown));
	/* the PMD's verdict is taken; "none" is no verdict */
	CHECK(hdr_ok(len, false, RTE_MBUF_F_RX_IP_CKSUM_GOOD));
	CHECK(!hdr_ok(len, false, RTE_MBUF_F_RX_IP_CKSUM_NONE));
	CHECK(!hdr_ok(len, false, RTE_MBUF_F_RX_IP_CKSUM_BAD));
	/* a header field the checksum covers */
	len = quic4_frame();
	ip4(frame)->time_to_live--;
	CHECK(!hdr_ok(len, false, unknown));
	/* options are in the header: the sum covers them */
	len = qs_frame_ipv4_add_options(frame, quic4_frame(), opts_record_route,
					sizeof(opts_record_route));
	CHECK(hdr_ok(len, false, unknown));
	frame[QS_FRAME_L4_OFF_V4 + 8] ^= 1;
	CHECK(!hdr_ok(len, false, unknown));
	/* IPv6 has no header checksum */
	len = quic6_frame();
	CHECK(hdr_ok(len, true, unknown));
	CHECK(hdr_ok(len, true, RTE_MBUF_F_RX_IP_CKSUM_BAD));

	/* the classifier verified it, and says so; other flags stay */
	len = quic4_frame();
	m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	if (m != NULL) {
		m->ol_flags = RTE_MBUF_F_RX_RSS_HASH | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		qs_net_meta_to_mbuf(m, &meta);
		CHECK_EQ(m->ol_flags, RTE_MBUF_F_RX_RSS_HASH |
			 RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD);
		CHECK(qs_net_ipv4_hdr_ok(m));
		rte_pktmbuf_free(m);
	}
	len = quic6_frame();
	m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	if (m != NULL) {
		m->ol_flags = RTE_MBUF_F_RX_RSS_HASH;
		qs_net_meta_to_mbuf(m, &meta);
		CHECK_EQ(m->ol_flags, RTE_MBUF_F_RX_RSS_HASH);
		rte_pktmbuf_free(m);
	}
	TEST_CONTEXT_CLEAR();
}

/* The PMD's packet type stays where it says the same as the headers. */
static void
check_mark(bool ipv6, uint32_t pmd, uint32_t want)
{
	size_t len = ipv6 ? quic6_frame() : quic4_frame();
	struct rte_mbuf *m = qs_frames_mbuf(pool, frame, qs_frame_pad(frame, len,
								      len + 6));

	TEST_CONTEXT("mark %s, PMD packet type 0x%x", ipv6 ? "ipv6" : "ipv4", pmd);
	CHECK(m != NULL);
	if (m == NULL)
		return;
	m->packet_type = pmd;
	qs_net_mark_quic(m, ipv6, (uint16_t)len);
	CHECK_EQ(m->packet_type, want);
	CHECK_EQ(rte_pktmbuf_data_len(m), len);
	CHECK_EQ(rte_pktmbuf_pkt_len(m), len);
	CHECK_EQ(qs_net_l3_len(m), ipv6 ? 40 : 20);
	rte_pktmbuf_free(m);
	TEST_CONTEXT_CLEAR();
}

static void
test_mark_quic(void)
{
	const uint32_t v4 = RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
	const uint32_t v6 = RTE_PTYPE_L3_IPV6 | RTE_PTYPE_L4_UDP;
	const uint32_t l2 = RTE_PTYPE_L2_ETHER;

	check_mark(false, 0, v4);
	check_mark(false, l2 | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP,
		   l2 | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP);
	check_mark(false, l2 | RTE_PTYPE_L3_IPV4_EXT_UNKNOWN | RTE_PTYPE_L4_UDP,
		   l2 | RTE_PTYPE_L3_IPV4_EXT_UNKNOWN | RTE_PTYPE_L4_UDP);
	check_mark(false, RTE_PTYPE_L3_IPV6 | RTE_PTYPE_L4_UDP, v4);
	check_mark(false, RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP, v4);
	check_mark(false, RTE_PTYPE_L3_IPV4, v4);
	check_mark(true, 0, v6);
	check_mark(true, l2 | RTE_PTYPE_L3_IPV6_EXT_UNKNOWN | RTE_PTYPE_L4_UDP,
		   l2 | RTE_PTYPE_L3_IPV6_EXT_UNKNOWN | RTE_PTYPE_L4_UDP);
	check_mark(true, RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP, v6);
	check_mark(true, RTE_PTYPE_L3_IPV6 | RTE_PTYPE_L4_FRAG, v6);
}

/* The 4-tuple, ECN and MAC of a received datagram, then a datagram built
 * from scratch back along that path: the peer would classify it as a UDP
 * datagram to its own address and port, checksums valid. */
static void
test_path_and_udp_build(bool ipv6, const struct qs_tx_caps *caps)
{
	static const uint8_t ecn = 2; /* ECT(0) */
	uint8_t payload[QUIC_LEN];
	struct qs_listen peer_side;
	struct qs_net_path path;
	struct qs_pkt_meta meta;
	struct rte_mbuf *m, *out;
	size_t len;

	TEST_CONTEXT("udp build %s, %s checksums", ipv6 ? "ipv6" : "ipv4",
		     caps->hw_udp_cksum ? "hw" : "sw");
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i ^ 0x5a);
	len = qs_frame_quic_to_us(frame, ipv6, payload, sizeof(payload));
	if (ipv6) {
		ip6(frame)->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)ecn << 20);
	} else {
		ip4(frame)->type_of_service = ecn;
		qs_frame_ipv4_fix_cksum(frame);
	}
	m = classified_mbuf(len, QS_PKT_QUIC, &meta);
	if (m == NULL)
		return;
	qs_net_meta_to_mbuf(m, &meta);
	qs_net_path_from_mbuf(m, &path);
	CHECK(rte_is_same_ether_addr(&path.peer_mac, &qs_frames_peer_mac));
	CHECK_EQ(path.ecn, ecn);
	if (ipv6) {
		CHECK_EQ(path.addrlen, sizeof(struct sockaddr_in6));
		CHECK_EQ(path.local.in6.sin6_family, AF_INET6);
		CHECK_EQ(path.remote.in6.sin6_family, AF_INET6);
		CHECK_MEM_EQ(&path.local.in6.sin6_addr, qs_frames_our_v6, 16);
		CHECK_MEM_EQ(&path.remote.in6.sin6_addr, qs_frames_peer_v6, 16);
		CHECK_EQ(rte_be_to_cpu_16(path.local.in6.sin6_port), QS_FRAMES_OUR_PORT);
		CHECK_EQ(rte_be_to_cpu_16(path.remote.in6.sin6_port), QS_FRAMES_PEER_PORT);
	} else {
		CHECK_EQ(path.addrlen, sizeof(struct sockaddr_in));
		CHECK_EQ(path.local.in.sin_family, AF_INET);
		CHECK_EQ(path.remote.in.sin_family, AF_INET);
		CHECK_EQ(path.local.in.sin_addr.s_addr, qs_frames_our_v4);
		CHECK_EQ(path.remote.in.sin_addr.s_addr, qs_frames_peer_v4);
		CHECK_EQ(rte_be_to_cpu_16(path.local.in.sin_port), QS_FRAMES_OUR_PORT);
		CHECK_EQ(rte_be_to_cpu_16(path.remote.in.sin_port), QS_FRAMES_PEER_PORT);
	}
	rte_pktmbuf_free(m);

	/* a fresh mbuf holding only the QUIC payload */
	out = rte_pktmbuf_alloc(pool);
	CHECK(out != NULL);
	if (out == NULL)
		return;
	memcpy(rte_pktmbuf_append(out, sizeof(payload)), payload, sizeof(payload));
	out->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	CHECK_EQ(qs_net_udp_build(out, &path.local.sa, &path.remote.sa, path.ecn,
				  &path.peer_mac, caps), 0);

	uint8_t *f = rte_pktmbuf_mtod(out, uint8_t *);
	size_t l4_off = ipv6 ? QS_FRAME_L4_OFF_V6 : QS_FRAME_L4_OFF_V4;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + l4_off);

	check_eth_reply(f);
	CHECK_EQ(rte_pktmbuf_data_len(out), l4_off + 8 + sizeof(payload));
	CHECK_EQ(rte_pktmbuf_pkt_len(out), l4_off + 8 + sizeof(payload));
	CHECK_EQ(out->l2_len, QS_FRAME_L3_OFF);
	CHECK_EQ(out->l3_len, l4_off - QS_FRAME_L3_OFF);
	CHECK_EQ(out->packet_type, (ipv6 ? RTE_PTYPE_L3_IPV6 : RTE_PTYPE_L3_IPV4) |
				   RTE_PTYPE_L4_UDP);
	CHECK_EQ(rte_be_to_cpu_16(udp->src_port), QS_FRAMES_OUR_PORT);
	CHECK_EQ(rte_be_to_cpu_16(udp->dst_port), QS_FRAMES_PEER_PORT);
	CHECK_EQ(rte_be_to_cpu_16(udp->dgram_len), 8 + sizeof(payload));
	CHECK_MEM_EQ(udp + 1, payload, sizeof(payload));
	CHECK_EQ(out->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD, 0);
	if (ipv6) {
		struct rte_ipv6_hdr *ip = ip6(f);

		CHECK_EQ(rte_be_to_cpu_32(ip->vtc_flow), 6u << 28 | (uint32_t)ecn << 20);
		CHECK_EQ(rte_be_to_cpu_16(ip->payload_len), 8 + sizeof(payload));
		CHECK_EQ(ip->proto, IPPROTO_UDP);
		CHECK_EQ(ip->hop_limits, REPLY_TTL);
		CHECK_MEM_EQ(ip->src_addr, qs_frames_our_v6, 16);
		CHECK_MEM_EQ(ip->dst_addr, qs_frames_peer_v6, 16);
		if (caps->hw_udp_cksum)
			CHECK_EQ(udp->dgram_cksum, rte_ipv6_phdr_cksum(ip, out->ol_flags));
		else
			CHECK_EQ(rte_ipv6_udptcp_cksum_verify(ip, udp), 0);
	} else {
		struct rte_ipv4_hdr *ip = ip4(f);

		check_ipv4_reply_hdr(out, caps, IPPROTO_UDP);
		CHECK_EQ(ip->type_of_service, ecn);
		CHECK_EQ(ip->version_ihl, 0x45);
		CHECK_EQ(rte_be_to_cpu_16(ip->fragment_offset), RTE_IPV4_HDR_DF_FLAG);
		if (caps->hw_udp_cksum)
			CHECK_EQ(udp->dgram_cksum, rte_ipv4_phdr_cksum(ip, out->ol_flags));
		else
			CHECK_EQ(rte_ipv4_udptcp_cksum_verify(ip, udp), 0);
	}
	if (caps->hw_udp_cksum)
		CHECK_EQ(out->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM, RTE_MBUF_F_TX_UDP_CKSUM);

	/* what the peer sees: a datagram to its address and port */
	if (!caps->hw_udp_cksum) {
		memset(&peer_side, 0, sizeof(peer_side));
		peer_side.v4[peer_side.n_v4++] = qs_frames_peer_v4;
		memcpy(peer_side.v6[peer_side.n_v6++], qs_frames_peer_v6, 16);
		peer_side.port_be = rte_cpu_to_be_16(QS_FRAMES_PEER_PORT);
		CHECK_EQ(qs_net_classify(f, rte_pktmbuf_data_len(out), &peer_side,
					 &qs_frames_peer_mac, &meta), QS_PKT_QUIC);
		CHECK_EQ(meta.l4_end, rte_pktmbuf_data_len(out));
	}
	rte_pktmbuf_free(out);
	TEST_CONTEXT_CLEAR();
}

/* Addresses of two families, or no headroom left: refused. */
static void
test_udp_build_refuses(void)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	CHECK(m != NULL);
	if (m == NULL)
		return;
	rte_pktmbuf_append(m, 10);
	CHECK_EQ(qs_net_udp_build(m, (struct sockaddr *)&v4, (struct sockaddr *)&v6,
				  0, &qs_frames_peer_mac, &sw_caps), -1);
	CHECK_EQ(rte_pktmbuf_data_len(m), 10);
	rte_pktmbuf_prepend(m, (uint16_t)(rte_pktmbuf_headroom(m) - 20));
	CHECK_EQ(qs_net_udp_build(m, (struct sockaddr *)&v4, (struct sockaddr *)&v4,
				  0, &qs_frames_peer_mac, &sw_caps), -1);
	rte_pktmbuf_free(m);
}

/* qs_net_cksum_add/fold against DPDK's 16-bit loop: every length 0..1600
 * at every alignment 0..7 of random bytes (and all 0xff, the carries'
 * worst case); the UDP checksum against rte_ipv4/6_udptcp_cksum, and a
 * datagram carrying it sums to 0xffff while one flipped bit does not. */
static void
test_cksum(void)
{
	static uint8_t buf[1600 + 8 + 64];
	unsigned int bad = 0, bad_udp = 0;

	for (int ones = 0; ones <= 1; ones++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = ones ? 0xff : (uint8_t)test_rng();
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len <= 1600; len++)
				bad += qs_net_cksum_fold(qs_net_cksum_add(
					       buf + off, len, 0)) !=
				       rte_raw_cksum(buf + off, len);
	}
	CHECK_EQ(bad, 0);
	/* past the vector loop's 128 KiB block (DPDK's 32-bit sum would
	 * overflow there): against 16-bit words summed in 64 bits */
	static uint8_t big[300001];

	for (int ones = 0; ones <= 1; ones++) {
		uint64_t ref = 0;

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = ones ? 0xff : (uint8_t)test_rng();
		for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
			uint16_t w;

			memcpy(&w, big + i, 2);
			ref += w;
		}
		ref += big[sizeof(big) - 1];    /* the odd byte, low on x86 */
		CHECK_EQ(qs_net_cksum_fold(qs_net_cksum_add(big, sizeof(big), 0)),
			 qs_net_cksum_fold(ref));
	}
	for (int v6 = 0; v6 <= 1; v6++) {
		for (size_t len = sizeof(struct rte_udp_hdr); len <= 1500;
		     len += 7) {
			size_t l3len = v6 ? sizeof(struct rte_ipv6_hdr)
					  : sizeof(struct rte_ipv4_hdr);
			struct rte_udp_hdr *udp = (void *)(buf + l3len);
			uint16_t ours, dpdk;

			for (size_t i = 0; i < l3len + len; i++)
				buf[i] = (uint8_t)test_rng();
			if (v6) {
				struct rte_ipv6_hdr *ip = (void *)buf;

				ip->payload_len = rte_cpu_to_be_16((uint16_t)len);
				ip->proto = IPPROTO_UDP;
			} else {
				struct rte_ipv4_hdr *ip = (void *)buf;

				ip->version_ihl = RTE_IPV4_VHL_DEF;
				ip->total_length =
					rte_cpu_to_be_16((uint16_t)(l3len + len));
				ip->next_proto_id = IPPROTO_UDP;
			}
			udp->dgram_len = rte_cpu_to_be_16((uint16_t)len);
			udp->dgram_cksum = 0;
			ours = qs_net_udp_cksum(buf, v6, udp);
			dpdk = v6 ? rte_ipv6_udptcp_cksum((void *)buf, udp)
				  : rte_ipv4_udptcp_cksum((void *)buf, udp);
			bad_udp += ours != dpdk;
			udp->dgram_cksum = ours;
			bad_udp += qs_net_udp_sum(buf, v6, udp) != 0xffff;
			buf[l3len + len - 1] ^= 0x10;
			bad_udp += qs_net_udp_sum(buf, v6, udp) == 0xffff;
		}
	}
	CHECK_EQ(bad_udp, 0);
}

int
main(void)
{
	test_cksum();
	qs_frames_listen(&listen_set);
	test_classify_arp();
	test_classify_icmp4();
	test_classify_udp4();
	test_classify_ipv4_options();
	test_classify_dst_mac();
	test_classify_ipv4_malformed();
	test_classify_udp_length();
	test_classify_ethernet_padding();
	test_classify_ipv6();
	test_classify_icmp6();
	test_classify_other_ethertypes();

	test_eal_init("net", "0");
	pool = rte_pktmbuf_pool_create("test_net", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "test_net: no mbuf pool: %s\n",
			rte_strerror(rte_errno));
		return 2;
	}
	test_arp_reply();
	test_icmp4_echo_reply(&sw_caps);
	test_icmp4_echo_reply(&hw_caps);
	test_icmp6_echo_reply();
	test_nd_advert(true);
	test_nd_advert(false);
	for (int v6 = 0; v6 <= 1; v6++) {
		test_udp_reply(v6, &sw_caps, 43, false);  /* shorter: a reset */
		test_udp_reply(v6, &sw_caps, 150, false); /* longer than the request */
		test_udp_reply(v6, &sw_caps, 43, true);
		test_udp_reply(v6, &hw_caps, 43, false);
		test_udp_reply(v6, &hw_caps, 150, true);
	}
	test_udp_reply_hw_udp_only();
	for (int v6 = 0; v6 <= 1; v6++) {
		test_path_and_udp_build(v6, &sw_caps);
		test_path_and_udp_build(v6, &hw_caps);
	}
	test_udp_build_refuses();
	test_udp_reply_too_long();
	for (int hw = 0; hw <= 1; hw++) {
		const struct qs_tx_caps *caps = hw ? &hw_caps : &sw_caps;

		test_udp_reply_clean_ipv4(caps, opts_nop, sizeof(opts_nop), 43);
		test_udp_reply_clean_ipv4(caps, opts_record_route,
					  sizeof(opts_record_route), 43);
		test_udp_reply_clean_ipv4(caps, opts_record_route,
					  sizeof(opts_record_route), 150);
		test_icmp4_echo_reply_clean(caps, opts_nop, sizeof(opts_nop), false);
		test_icmp4_echo_reply_clean(caps, opts_record_route,
					    sizeof(opts_record_route), false);
		test_icmp4_echo_reply_clean(caps, opts_nop, sizeof(opts_nop), true);
	}
	test_udp_reply_clean_ipv6();
	test_icmp6_replies_clean();
	test_udp_build_ecn_only(false);
	test_udp_build_ecn_only(true);
	test_udp_cksum(false);
	test_udp_cksum(true);
	test_udp_cksum_ipv4_options();
	test_classify_fast();
	test_ipv4_hdr_ok();
	test_mark_quic();
	CHECK_EQ(rte_mempool_avail_count(pool), POOL_SIZE); /* nothing leaked */

	rte_mempool_free(pool);
	test_eal_cleanup();
	return test_done("test_net");
}
