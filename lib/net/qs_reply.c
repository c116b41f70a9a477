/* Answers built in place over the frame that asked: ARP reply, ICMP and
 * ICMPv6 echo reply, neighbour advertisement, and a UDP datagram turned
 * around to its sender (stateless QUIC answers). */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "net/qs_reply.h"

#define ICMP6_ECHO_REPLY 129
#define ICMP6_ND_ADVERT 136
#define ND_OPT_TARGET_LLADDR 2
#define ND_NA_FLAG_SOLICITED 0x40000000u
#define ND_NA_FLAG_OVERRIDE 0x20000000u
#define ND_NA_LEN 32    /* header and one target link-layer option */

struct nd_msg {
	uint8_t type;
	uint8_t code;
	rte_be16_t cksum;
	rte_be32_t flags;
	uint8_t target[16];
	uint8_t opt_type;
	uint8_t opt_len;
	uint8_t opt_mac[RTE_ETHER_ADDR_LEN];
} __rte_packed;

static void
eth_reply(struct rte_ether_hdr *eth, const struct qs_tx_caps *caps)
{
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&caps->mac, &eth->src_addr);
}

/* Sets the frame length to end at l4_end, growing into tailroom if needed. */
static int
set_frame_len(struct rte_mbuf *m, uint16_t len)
{
	if (len > rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m))
		return -1;
	m->data_len = len;
	m->pkt_len = len;
	return 0;
}

int
qs_net_arp_reply(struct rte_mbuf *m, const struct qs_tx_caps *caps)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t our_ip = arp->arp_data.arp_tip;

	eth_reply(eth, caps);
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	rte_ether_addr_copy(&caps->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = our_ip;
	m->ol_flags = 0;
	return set_frame_len(m, sizeof(*eth) + sizeof(*arp));
}

/* The answer's IP header, built whole over the request's rather than
 * edited from it, so nothing the sender chose comes back:
 * addresses swapped, no IPv4 options, DSCP 0 and not-ECT, IPv6 flow label 0,
 * a fresh TTL, l4_len bytes of payload. IPv4 options are dropped by moving
 * the 14-byte Ethernet header up over them and trimming the front of m, so
 * the payload stays where it is. Afterwards the IP header is at
 * RTE_ETHER_HDR_LEN of the new start and the payload right after a header
 * without options. */
static void
ip_reply(struct rte_mbuf *m, bool ipv6, uint16_t l4_len)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	if (ipv6) {
		struct rte_ipv6_hdr *ip =
			(struct rte_ipv6_hdr *)(frame + RTE_ETHER_HDR_LEN);
		uint8_t src[16], dst[16];

		memcpy(src, ip->dst_addr, 16);
		memcpy(dst, ip->src_addr, 16);
		qs_net_ipv6_hdr(ip, src, dst, ip->proto, l4_len, 0);
	} else {
		struct rte_ipv4_hdr *ip =
			(struct rte_ipv4_hdr *)(frame + RTE_ETHER_HDR_LEN);
		uint16_t options = (uint16_t)(rte_ipv4_hdr_len(ip) - sizeof(*ip));
		uint32_t src = ip->dst_addr, dst = ip->src_addr;
		uint8_t proto = ip->next_proto_id;

		if (options != 0) {
			memmove(frame + options, frame, RTE_ETHER_HDR_LEN);
			rte_pktmbuf_adj(m, options);
			ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
						     RTE_ETHER_HDR_LEN);
		}
		qs_net_ipv4_hdr(ip, src, dst, proto, l4_len, 0);
	}
}

int
qs_net_icmp4_echo_reply(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
			const struct qs_tx_caps *caps)
{
	uint16_t icmp_len = (uint16_t)(meta->l4_end - meta->l4_off);
	struct rte_icmp_hdr *icmp;
	struct rte_ipv4_hdr *ip;
	uint8_t *frame;

	if (set_frame_len(m, meta->l4_end) < 0)
		return -1;
	ip_reply(m, false, icmp_len);
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	ip = (struct rte_ipv4_hdr *)(frame + RTE_ETHER_HDR_LEN);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	m->ol_flags = 0;
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(*ip);
	eth_reply((struct rte_ether_hdr *)frame, caps);
	qs_net_ipv4_cksum(m, ip, caps);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	return 0;
}

static void
icmp6_cksum(struct rte_ipv6_hdr *ip, uint8_t *icmp)
{
	icmp[2] = icmp[3] = 0;
	/* the UDP helper folds the same pseudo-header; 0 and 0xffff are equal */
	uint16_t c = rte_ipv6_udptcp_cksum(ip, icmp);
	memcpy(icmp + 2, &c, 2);
}

int
qs_net_icmp6_echo_reply(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
			const struct qs_tx_caps *caps)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(frame + meta->l3_off);
	uint8_t *icmp = frame + meta->l4_off;

	if (set_frame_len(m, meta->l4_end) < 0)
		return -1;
	m->ol_flags = 0;
	eth_reply((struct rte_ether_hdr *)frame, caps);
	ip_reply(m, true, (uint16_t)(meta->l4_end - meta->l4_off));
	icmp[0] = ICMP6_ECHO_REPLY;
	icmp6_cksum(ip, icmp);
	return 0;
}

int
qs_net_nd_advert(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
		 const struct qs_tx_caps *caps)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(frame + meta->l3_off);
	struct nd_msg *nd = (struct nd_msg *)(frame + meta->l4_off);
	uint8_t solicitor[16], target[16];

	if (set_frame_len(m, (uint16_t)(meta->l4_off + ND_NA_LEN)) < 0)
		return -1;
	m->ol_flags = 0;
	eth_reply((struct rte_ether_hdr *)frame, caps);
	/* the advert comes from the target address, to the solicitor */
	memcpy(solicitor, ip->src_addr, 16);
	memcpy(target, nd->target, 16);
	qs_net_ipv6_hdr(ip, target, solicitor, IPPROTO_ICMPV6, ND_NA_LEN, 0);
	ip->hop_limits = QS_ND_HOP_LIMIT;
	nd->type = ICMP6_ND_ADVERT;
	nd->code = 0;
	nd->flags = rte_cpu_to_be_32(ND_NA_FLAG_SOLICITED | ND_NA_FLAG_OVERRIDE);
	nd->opt_type = ND_OPT_TARGET_LLADDR;
	nd->opt_len = 1;
	memcpy(nd->opt_mac, caps->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	icmp6_cksum(ip, (uint8_t *)nd);
	return 0;
}

int
qs_net_udp_reply(struct rte_mbuf *m, uint16_t payload_len,
		 const struct qs_tx_caps *caps)
{
	bool ipv6 = RTE_ETH_IS_IPV6_HDR(m->packet_type);
	uint16_t udp_len = (uint16_t)(sizeof(struct rte_udp_hdr) + payload_len);
	uint16_t l3_len = ipv6 ? sizeof(struct rte_ipv6_hdr)
			       : sizeof(struct rte_ipv4_hdr);
	struct rte_udp_hdr *udp;
	rte_be16_t port;
	uint8_t *frame;
	void *l3;

	/* the payload is already in place, after the request's IP header */
	if (set_frame_len(m, (uint16_t)(RTE_ETHER_HDR_LEN + qs_net_l3_len(m) +
					udp_len)) < 0)
		return -1;
	ip_reply(m, ipv6, udp_len);
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	l3 = frame + RTE_ETHER_HDR_LEN;
	udp = (struct rte_udp_hdr *)((uint8_t *)l3 + l3_len);
	m->l2_len = RTE_ETHER_HDR_LEN;      /* for checksum offload */
	m->l3_len = l3_len;
	m->ol_flags = 0;
	eth_reply((struct rte_ether_hdr *)frame, caps);
	port = udp->src_port;
	udp->src_port = udp->dst_port;
	udp->dst_port = port;
	udp->dgram_len = rte_cpu_to_be_16(udp_len);
	qs_net_l4_cksum(m, l3, udp, ipv6, caps);
	return 0;
}
