/* The first stage of the RX path: what a received frame is, and where its
 * headers are. Also the accessors later stages use on a classified QUIC
 * datagram (its payload, its 4-tuple). */
#ifndef QS_CLASSIFY_H
#define QS_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "base/qs_config.h"

#define QS_ND_HOP_LIMIT 255   /* RFC 4861: ND messages carry 255 */

enum qs_pkt_class {
	QS_PKT_MALFORMED = 0,
	QS_PKT_NOT_OURS,
	/* an intact IP header to our address whose length runs past the frame:
	 * cut short by the port's receive buffer (a UDP GSO super-frame a peer
	 * kept whole, a jumbo frame), or on the way */
	QS_PKT_TRUNCATED,
	QS_PKT_ARP_REQUEST,
	QS_PKT_ICMP4_ECHO,
	QS_PKT_ICMP6_ECHO,
	QS_PKT_ND_SOLICIT,
	QS_PKT_QUIC,
};

/* Offsets found by the classifier; valid for every class but MALFORMED,
 * NOT_OURS and TRUNCATED. l4_end is where the IP payload ends (Ethernet padding beyond). */
struct qs_pkt_meta {
	uint16_t l3_off;
	uint16_t l4_off;
	uint16_t l4_end;
	bool ipv6;
};

/* Rules the classifier and its fast path below share. */

#define QS_NET_IPV4_MF_OR_OFFSET 0x3fff   /* a fragment: MF or an offset */

static inline bool
qs_net_v4_is_ours(const struct qs_listen *l, uint32_t addr)
{
	for (unsigned int i = 0; i < l->n_v4; i++)
		if (l->v4[i] == addr)
			return true;
	return false;
}

static inline bool
qs_net_v6_is_ours(const struct qs_listen *l, const uint8_t *addr)
{
	uint64_t a[2];

	memcpy(a, addr, sizeof(a));
	for (unsigned int i = 0; i < l->n_v6; i++) {
		uint64_t o[2];

		memcpy(o, l->v6[i], sizeof(o));
		if (((a[0] ^ o[0]) | (a[1] ^ o[1])) == 0)
			return true;
	}
	return false;
}

static inline bool
qs_net_ipv4_is_fragment(const struct rte_ipv4_hdr *ip)
{
	return (ip->fragment_offset &
		rte_cpu_to_be_16(QS_NET_IPV4_MF_OR_OFFSET)) != 0;
}

/* The length a UDP header says, when it is at least the header and at
 * most room (the IP payload it sits in); 0 otherwise. */
static inline uint16_t
qs_net_udp_len(const struct rte_udp_hdr *udp, uint32_t room)
{
	uint16_t ulen = rte_be_to_cpu_16(udp->dgram_len);

	return ulen >= sizeof(*udp) && ulen <= room ? ulen : 0;
}

/* What frame is, for the host with the addresses of l and the MAC our_mac
 * (the receiving port's). Only frames to our_mac are ours, besides ARP
 * requests by broadcast and neighbour solicitations to the solicited-node
 * group of one of our IPv6 addresses: the port may be promiscuous, or a PMD
 * (af_packet) may pass every frame of the segment (RFC 1122 3.3.6). */
enum qs_pkt_class qs_net_classify(const uint8_t *frame, uint32_t len,
				  const struct qs_listen *l,
				  const struct rte_ether_addr *our_mac,
				  struct qs_pkt_meta *meta);

/* The fast path of qs_net_classify, inline for the RX stage: true for a
 * frame to our_mac, without VLAN tag, carrying IPv4 with a 20-byte header
 * and no fragmentation, or IPv6 whose next header is UDP, to one of the
 * addresses of l, and in it a UDP datagram to l's port, every length
 * consistent. Such a frame is one qs_net_classify calls QS_PKT_QUIC, with
 * the same meta -- unless its IPv4 header checksum is wrong, which this
 * does not check (then qs_net_classify says QS_PKT_MALFORMED): the PMD's
 * flag or the owner does (qs_net_ipv4_hdr_ok). False: anything else, for
 * qs_net_classify to tell. A subset of the rules of qs_net_classify, never
 * a rule of its own; tests/unit/test_steer.c and tests/fuzz/fuzz_steer.c
 * check that the two agree. */
static __rte_always_inline bool
qs_net_classify_fast(const uint8_t *frame, uint32_t len,
		     const struct qs_listen *l,
		     const struct rte_ether_addr *our_mac,
		     struct qs_pkt_meta *meta)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const struct rte_udp_hdr *udp;
	uint32_t l4_off, room;
	uint16_t ulen;

	/* the shortest frame read here: Ethernet, IPv4, UDP */
	if (len < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) +
		  sizeof(*udp) || len > UINT16_MAX ||
	    !rte_is_same_ether_addr(&eth->dst_addr, our_mac))
		return false;
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip =
			(const struct rte_ipv4_hdr *)(eth + 1);
		uint32_t total = rte_be_to_cpu_16(ip->total_length);

		l4_off = RTE_ETHER_HDR_LEN + sizeof(*ip);
		if (ip->version_ihl != RTE_IPV4_VHL_DEF ||
		    total < sizeof(*ip) || RTE_ETHER_HDR_LEN + total > len ||
		    qs_net_ipv4_is_fragment(ip) ||
		    ip->next_proto_id != IPPROTO_UDP ||
		    !qs_net_v4_is_ours(l, ip->dst_addr))
			return false;
		room = total - (uint32_t)sizeof(*ip);
		meta->ipv6 = false;
	} else if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
		const struct rte_ipv6_hdr *ip =
			(const struct rte_ipv6_hdr *)(eth + 1);

		l4_off = RTE_ETHER_HDR_LEN + sizeof(*ip);
		room = rte_be_to_cpu_16(ip->payload_len);
		if (len < l4_off + sizeof(*udp) ||
		    (ip->vtc_flow & RTE_BE32(0xf0000000)) != RTE_BE32(0x60000000) ||
		    l4_off + room > len || ip->proto != IPPROTO_UDP ||
		    !qs_net_v6_is_ours(l, ip->dst_addr))
			return false;
		meta->ipv6 = true;
	} else {
		return false;
	}
	udp = (const struct rte_udp_hdr *)(frame + l4_off);
	ulen = qs_net_udp_len(udp, room);
	if (ulen == 0 || udp->dst_port != l->port_be)
		return false;
	meta->l3_off = RTE_ETHER_HDR_LEN;
	meta->l4_off = (uint16_t)l4_off;
	meta->l4_end = (uint16_t)(l4_off + ulen);
	return true;
}

/* The multicast MAC of the solicited-node group of an IPv6 address:
 * 33:33:ff and the address's last three bytes (RFC 2464 7, RFC 4291 2.7.1). */
static inline void
qs_net_solicited_node_mac(const uint8_t *addr, struct rte_ether_addr *mac)
{
	mac->addr_bytes[0] = 0x33;
	mac->addr_bytes[1] = 0x33;
	mac->addr_bytes[2] = 0xff;
	mac->addr_bytes[3] = addr[13];
	mac->addr_bytes[4] = addr[14];
	mac->addr_bytes[5] = addr[15];
}

/* Marks a QUIC datagram for the owner lcore: packet_type says IPv4 or IPv6
 * (the PMD's own is kept when it says the same: IPv4 or IPv6 by
 * RTE_ETH_IS_IPV4_HDR / RTE_ETH_IS_IPV6_HDR, and UDP) and Ethernet padding
 * is trimmed. Only the mbuf's first cache line is written; the offsets are
 * read back from the headers. */
static __rte_always_inline void
qs_net_mark_quic(struct rte_mbuf *m, bool ipv6, uint16_t l4_end)
{
	uint32_t pmd = m->packet_type;
	bool same = (pmd & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_UDP &&
		    (ipv6 ? RTE_ETH_IS_IPV6_HDR(pmd) : RTE_ETH_IS_IPV4_HDR(pmd));

	m->packet_type = same ? pmd : (ipv6 ? RTE_PTYPE_L3_IPV6 :
				       RTE_PTYPE_L3_IPV4) | RTE_PTYPE_L4_UDP;
	/* one segment (checked on RX): trimming is setting the lengths */
	m->data_len = l4_end;
	m->pkt_len = l4_end;
}

/* Marks a datagram qs_net_classify called QS_PKT_QUIC (qs_net_mark_quic);
 * it verified the IPv4 header checksum, and says so in ol_flags
 * (RTE_MBUF_F_RX_IP_CKSUM_GOOD) so that the owner does not again. */
void qs_net_meta_to_mbuf(struct rte_mbuf *m, const struct qs_pkt_meta *meta);

/* Whether the IPv4 header checksum of a marked datagram holds (true for
 * IPv6): RTE_MBUF_F_RX_IP_CKSUM_GOOD in ol_flags (the PMD's verdict, or
 * qs_net_meta_to_mbuf's), else computed. For the owner, before the UDP
 * checksum: the RX fast path leaves it to the owner when the PMD has no
 * verdict; a datagram failing it is malformed (drop_malformed), as
 * qs_net_classify would have said. */
bool qs_net_ipv4_hdr_ok(const struct rte_mbuf *m);

/* IP header length of a marked datagram (after a 14-byte Ethernet header). */
static inline uint16_t
qs_net_l3_len(const struct rte_mbuf *m)
{
	if (RTE_ETH_IS_IPV6_HDR(m->packet_type))
		return 40;
	return (uint16_t)((*rte_pktmbuf_mtod_offset(m, const uint8_t *,
						    RTE_ETHER_HDR_LEN) & 0x0f) * 4);
}

/* UDP payload of a marked datagram. */
static inline uint8_t *
qs_net_udp_payload(struct rte_mbuf *m, uint16_t *len)
{
	uint16_t off = (uint16_t)(RTE_ETHER_HDR_LEN + qs_net_l3_len(m) + 8);

	*len = (uint16_t)(rte_pktmbuf_data_len(m) - off);
	return rte_pktmbuf_mtod_offset(m, uint8_t *, off);
}

/* Whether the UDP checksum of a marked datagram holds:
 * the PMD's verdict where it gave one (RX L4 checksum flags), else computed
 * over the datagram as its UDP length says. A zero checksum means "none"
 * over IPv4 (RFC 768) and is invalid over IPv6 (RFC 8200 8.1). For the
 * owner, just before the QUIC server: the steer stage stays cheap. */
bool qs_net_udp_cksum_ok(const struct rte_mbuf *m);

/* The 4-tuple, ECN bits and sender MAC of a classified QUIC datagram. */
struct qs_net_path {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} local, remote;
	socklen_t addrlen;
	uint8_t ecn;
	struct rte_ether_addr peer_mac;
};

void qs_net_path_from_mbuf(const struct rte_mbuf *m, struct qs_net_path *p);

const char *qs_net_class_name(enum qs_pkt_class c);

#endif
