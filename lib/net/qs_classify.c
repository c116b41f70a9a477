/* What a received frame is: ours or not, ARP, ICMP echo, neighbour
 * solicitation, or a UDP datagram to a listen address (QUIC). Reads only
 * inside the frame; nothing is written until the verdict. Also the UDP
 * checksum check the owner makes before the QUIC server. */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "net/qs_cksum.h"
#include "net/qs_classify.h"

#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ND_SOLICIT 135
#define ND_HDR_LEN 24   /* type, code, cksum, reserved/flags, target */

/* ff02::1:ffXX:XXXX of one of our addresses (RFC 4291 2.7.1) */
static bool
v6_is_our_solicited_node(const struct qs_listen *l, const uint8_t *addr)
{
	static const uint8_t prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
					   0, 0, 0, 0x01, 0xff};

	if (memcmp(addr, prefix, sizeof(prefix)) != 0)
		return false;
	for (unsigned int i = 0; i < l->n_v6; i++)
		if (memcmp(l->v6[i] + 13, addr + 13, 3) == 0)
			return true;
	return false;
}

static enum qs_pkt_class
classify_udp(const uint8_t *frame, const struct qs_listen *l,
	     struct qs_pkt_meta *meta)
{
	const struct rte_udp_hdr *udp =
		(const struct rte_udp_hdr *)(frame + meta->l4_off);
	uint16_t ulen;

	if (meta->l4_end - meta->l4_off < (int)sizeof(*udp))
		return QS_PKT_MALFORMED;
	ulen = qs_net_udp_len(udp, (uint32_t)(meta->l4_end - meta->l4_off));
	if (ulen == 0)
		return QS_PKT_MALFORMED;
	if (udp->dst_port != l->port_be)
		return QS_PKT_NOT_OURS;
	meta->l4_end = (uint16_t)(meta->l4_off + ulen);
	return QS_PKT_QUIC;
}

static enum qs_pkt_class
classify_ipv4(const uint8_t *frame, uint32_t len, const struct qs_listen *l,
	      struct qs_pkt_meta *meta)
{
	const struct rte_ipv4_hdr *ip;
	uint32_t ihl, total;

	if (len < meta->l3_off + sizeof(*ip))
		return QS_PKT_MALFORMED;
	ip = (const struct rte_ipv4_hdr *)(frame + meta->l3_off);
	ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	total = rte_be_to_cpu_16(ip->total_length);
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) ||
	    total < ihl || meta->l3_off + ihl > len)
		return QS_PKT_MALFORMED;
	if (qs_net_ipv4_is_fragment(ip))
		return QS_PKT_MALFORMED;
	if (qs_net_cksum_fold(qs_net_cksum_add(ip, ihl, 0)) != 0xffff)
		return QS_PKT_MALFORMED;
	if (!qs_net_v4_is_ours(l, ip->dst_addr))
		return QS_PKT_NOT_OURS;
	if (meta->l3_off + total > len)
		return QS_PKT_TRUNCATED;

	meta->ipv6 = false;
	meta->l4_off = (uint16_t)(meta->l3_off + ihl);
	meta->l4_end = (uint16_t)(meta->l3_off + total);

	switch (ip->next_proto_id) {
	case IPPROTO_UDP:
		return classify_udp(frame, l, meta);
	case IPPROTO_ICMP: {
		const struct rte_icmp_hdr *icmp =
			(const struct rte_icmp_hdr *)(frame + meta->l4_off);

		if (meta->l4_end - meta->l4_off < (int)sizeof(*icmp))
			return QS_PKT_MALFORMED;
		if (icmp->icmp_type == RTE_IP_ICMP_ECHO_REQUEST &&
		    icmp->icmp_code == 0)
			return QS_PKT_ICMP4_ECHO;
		return QS_PKT_NOT_OURS;
	}
	default:
		return QS_PKT_NOT_OURS;
	}
}

static enum qs_pkt_class
classify_icmp6(const uint8_t *frame, const struct rte_ipv6_hdr *ip,
	       const struct qs_listen *l, struct qs_pkt_meta *meta)
{
	const uint8_t *icmp = frame + meta->l4_off;
	int icmp_len = meta->l4_end - meta->l4_off;

	if (icmp_len < 4)
		return QS_PKT_MALFORMED;
	if (icmp[0] == ICMP6_ECHO_REQUEST) {
		if (icmp_len < 8 || icmp[1] != 0)
			return QS_PKT_MALFORMED;
		return qs_net_v6_is_ours(l, ip->dst_addr) ? QS_PKT_ICMP6_ECHO
							  : QS_PKT_NOT_OURS;
	}
	if (icmp[0] == ICMP6_ND_SOLICIT) {
		/* RFC 4861 7.1.1: hop limit 255, code 0, at least 24 bytes */
		if (icmp_len < ND_HDR_LEN || icmp[1] != 0 ||
		    ip->hop_limits != QS_ND_HOP_LIMIT)
			return QS_PKT_MALFORMED;
		if (!qs_net_v6_is_ours(l, icmp + 8))
			return QS_PKT_NOT_OURS;
		/* duplicate address detection probes come from :: */
		static const uint8_t unspecified[16];
		if (memcmp(ip->src_addr, unspecified, 16) == 0)
			return QS_PKT_NOT_OURS;
		return QS_PKT_ND_SOLICIT;
	}
	return QS_PKT_NOT_OURS;
}

static enum qs_pkt_class
classify_ipv6(const uint8_t *frame, uint32_t len, const struct qs_listen *l,
	      struct qs_pkt_meta *meta)
{
	const struct rte_ipv6_hdr *ip;
	uint32_t payload;

	if (len < meta->l3_off + sizeof(*ip))
		return QS_PKT_MALFORMED;
	ip = (const struct rte_ipv6_hdr *)(frame + meta->l3_off);
	payload = rte_be_to_cpu_16(ip->payload_len);
	if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6)
		return QS_PKT_MALFORMED;
	if (!qs_net_v6_is_ours(l, ip->dst_addr) &&
	    !v6_is_our_solicited_node(l, ip->dst_addr))
		return QS_PKT_NOT_OURS;
	if (meta->l3_off + sizeof(*ip) + payload > len)
		return QS_PKT_TRUNCATED;

	meta->ipv6 = true;
	meta->l4_off = (uint16_t)(meta->l3_off + sizeof(*ip));
	meta->l4_end = (uint16_t)(meta->l4_off + payload);

	switch (ip->proto) {
	case IPPROTO_UDP:
		if (!qs_net_v6_is_ours(l, ip->dst_addr))
			return QS_PKT_NOT_OURS;
		return classify_udp(frame, l, meta);
	case IPPROTO_ICMPV6:
		return classify_icmp6(frame, ip, l, meta);
	case IPPROTO_FRAGMENT:
		return QS_PKT_MALFORMED;
	default:
		return QS_PKT_NOT_OURS;
	}
}

static enum qs_pkt_class
classify_arp(const uint8_t *frame, uint32_t len, const struct qs_listen *l,
	     struct qs_pkt_meta *meta)
{
	const struct rte_arp_hdr *arp;

	if (len < meta->l3_off + sizeof(*arp))
		return QS_PKT_MALFORMED;
	arp = (const struct rte_arp_hdr *)(frame + meta->l3_off);
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return QS_PKT_MALFORMED;
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    !qs_net_v4_is_ours(l, arp->arp_data.arp_tip))
		return QS_PKT_NOT_OURS;
	meta->l4_off = meta->l4_end = (uint16_t)(meta->l3_off + sizeof(*arp));
	return QS_PKT_ARP_REQUEST;
}

static bool
mac_is_our_solicited_node(const struct qs_listen *l,
			  const struct rte_ether_addr *mac)
{
	struct rte_ether_addr group;

	for (unsigned int i = 0; i < l->n_v6; i++) {
		qs_net_solicited_node_mac(l->v6[i], &group);
		if (rte_is_same_ether_addr(mac, &group))
			return true;
	}
	return false;
}

/* A frame to a group address: ARP by broadcast, and IPv6 to the
 * solicited-node MAC of one of our addresses that carries that very group
 * as its destination (ND solicitations). Nothing else sent to a broadcast
 * or multicast MAC is ours, whatever its IP header says (RFC 1122 3.3.6). */
static enum qs_pkt_class
classify_group(const uint8_t *frame, uint32_t len, const struct qs_listen *l,
	       struct qs_pkt_meta *meta)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const struct rte_ipv6_hdr *ip;
	enum qs_pkt_class c;

	if (rte_is_broadcast_ether_addr(&eth->dst_addr))
		return eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP) ?
			classify_arp(frame, len, l, meta) : QS_PKT_NOT_OURS;
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV6) ||
	    !mac_is_our_solicited_node(l, &eth->dst_addr))
		return QS_PKT_NOT_OURS;
	c = classify_ipv6(frame, len, l, meta);
	/* a multicast frame cut short is not a super-frame of ours */
	if (c == QS_PKT_TRUNCATED)
		return QS_PKT_MALFORMED;
	if (c == QS_PKT_MALFORMED || c == QS_PKT_NOT_OURS)
		return c;
	/* the destination is the very group the MAC names */
	ip = (const struct rte_ipv6_hdr *)(frame + meta->l3_off);
	if (!v6_is_our_solicited_node(l, ip->dst_addr) ||
	    memcmp(ip->dst_addr + 13, &eth->dst_addr.addr_bytes[3], 3) != 0)
		return QS_PKT_NOT_OURS;
	return c;
}

enum qs_pkt_class
qs_net_classify(const uint8_t *frame, uint32_t len, const struct qs_listen *l,
		const struct rte_ether_addr *our_mac, struct qs_pkt_meta *meta)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;

	if (len < sizeof(*eth) || len > UINT16_MAX)
		return QS_PKT_MALFORMED;
	meta->l3_off = sizeof(*eth);
	if (unlikely(!rte_is_same_ether_addr(&eth->dst_addr, our_mac)))
		return classify_group(frame, len, l, meta);
	switch (eth->ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		return classify_ipv4(frame, len, l, meta);
	case RTE_BE16(RTE_ETHER_TYPE_IPV6):
		return classify_ipv6(frame, len, l, meta);
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		return classify_arp(frame, len, l, meta);
	default:
		return QS_PKT_NOT_OURS;
	}
}

void
qs_net_meta_to_mbuf(struct rte_mbuf *m, const struct qs_pkt_meta *meta)
{
	qs_net_mark_quic(m, meta->ipv6, meta->l4_end);
	if (!meta->ipv6)
		m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_IP_CKSUM_MASK) |
			      RTE_MBUF_F_RX_IP_CKSUM_GOOD;
}

bool
qs_net_ipv4_hdr_ok(const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip;

	if (RTE_ETH_IS_IPV6_HDR(m->packet_type) ||
	    (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
	    RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		return true;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
				     RTE_ETHER_HDR_LEN);
	return qs_net_cksum_fold(qs_net_cksum_add(ip, qs_net_l3_len(m), 0)) ==
	       0xffff;
}

bool
qs_net_udp_cksum_ok(const struct rte_mbuf *m)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						    RTE_ETHER_HDR_LEN);
	const struct rte_udp_hdr *udp =
		(const struct rte_udp_hdr *)(l3 + qs_net_l3_len(m));
	bool ipv6 = RTE_ETH_IS_IPV6_HDR(m->packet_type);

	switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
	case RTE_MBUF_F_RX_L4_CKSUM_NONE:
		/* the PMD checked the data, but the field was never filled
		 * (a local sender's offload, e.g. virtio): nothing to read */
		return true;
	case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
		return udp->dgram_cksum != 0 || !ipv6;
	case RTE_MBUF_F_RX_L4_CKSUM_BAD:
		return udp->dgram_cksum == 0 && !ipv6;
	default:
		if (udp->dgram_cksum == 0)
			return !ipv6;
		/* over the length UDP gives (classify checked it against
		 * the frame; the IP payload may be longer) */
		return qs_net_udp_sum(l3, ipv6, udp) == 0xffff;
	}
}

void
qs_net_path_from_mbuf(const struct rte_mbuf *m, struct qs_net_path *p)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const uint8_t *l3 = frame + RTE_ETHER_HDR_LEN;
	const struct rte_udp_hdr *udp =
		(const struct rte_udp_hdr *)(l3 + qs_net_l3_len(m));

	rte_ether_addr_copy(&eth->src_addr, &p->peer_mac);
	if (RTE_ETH_IS_IPV6_HDR(m->packet_type)) {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)l3;

		memset(&p->local.in6, 0, sizeof(p->local.in6));
		memset(&p->remote.in6, 0, sizeof(p->remote.in6));
		p->local.in6.sin6_family = p->remote.in6.sin6_family = AF_INET6;
		memcpy(&p->local.in6.sin6_addr, ip->dst_addr, 16);
		memcpy(&p->remote.in6.sin6_addr, ip->src_addr, 16);
		p->addrlen = sizeof(struct sockaddr_in6);
		p->ecn = (rte_be_to_cpu_32(ip->vtc_flow) >> 20) & 0x3;
		p->local.in6.sin6_port = udp->dst_port;
		p->remote.in6.sin6_port = udp->src_port;
	} else {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;

		memset(&p->local.in, 0, sizeof(p->local.in));
		memset(&p->remote.in, 0, sizeof(p->remote.in));
		p->local.in.sin_family = p->remote.in.sin_family = AF_INET;
		p->local.in.sin_addr.s_addr = ip->dst_addr;
		p->remote.in.sin_addr.s_addr = ip->src_addr;
		p->addrlen = sizeof(struct sockaddr_in);
		p->ecn = ip->type_of_service & 0x3;
		p->local.in.sin_port = udp->dst_port;
		p->remote.in.sin_port = udp->src_port;
	}
}

const char *
qs_net_class_name(enum qs_pkt_class c)
{
	switch (c) {
	case QS_PKT_MALFORMED: return "malformed";
	case QS_PKT_NOT_OURS: return "not-ours";
	case QS_PKT_TRUNCATED: return "truncated";
	case QS_PKT_ARP_REQUEST: return "arp-request";
	case QS_PKT_ICMP4_ECHO: return "icmp-echo";
	case QS_PKT_ICMP6_ECHO: return "icmp6-echo";
	case QS_PKT_ND_SOLICIT: return "nd-solicit";
	case QS_PKT_QUIC: return "quic";
	}
	return "?";
}
