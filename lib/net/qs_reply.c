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

/* Addresses swapped and a fresh TTL: the reply goes back to the sender. */
static void
ip_reply(void *l3, bool ipv6)
{
	if (ipv6) {
		struct rte_ipv6_hdr *ip = l3;
		uint8_t tmp[16];

		memcpy(tmp, ip->src_addr, 16);
		memcpy(ip->src_addr, ip->dst_addr, 16);
		memcpy(ip->dst_addr, tmp, 16);
		ip->hop_limits = QS_NET_TTL;
	} else {
		struct rte_ipv4_hdr *ip = l3;
		uint32_t tmp = ip->src_addr;

		ip->src_addr = ip->dst_addr;
		ip->dst_addr = tmp;
		ip->time_to_live = QS_NET_TTL;
	}
}

int
qs_net_icmp4_echo_reply(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
			const struct qs_tx_caps *caps)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + meta->l3_off);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(frame + meta->l4_off);
	uint16_t cksum;

	m->ol_flags = 0;
	m->l2_len = meta->l3_off;
	m->l3_len = (uint16_t)(meta->l4_off - meta->l3_off) & 0x1ff;
	eth_reply((struct rte_ether_hdr *)frame, caps);
	ip_reply(ip, false);
	qs_net_ipv4_cksum(m, ip, caps);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	cksum = rte_raw_cksum(icmp, meta->l4_end - meta->l4_off);
	icmp->icmp_cksum = (uint16_t)~cksum;
	return set_frame_len(m, meta->l4_end);
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

	m->ol_flags = 0;
	eth_reply((struct rte_ether_hdr *)frame, caps);
	ip_reply(ip, true);
	icmp[0] = ICMP6_ECHO_REPLY;
	icmp6_cksum(ip, icmp);
	return set_frame_len(m, meta->l4_end);
}

int
qs_net_nd_advert(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
		 const struct qs_tx_caps *caps)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(frame + meta->l3_off);
	struct nd_msg *nd = (struct nd_msg *)(frame + meta->l4_off);

	if (set_frame_len(m, (uint16_t)(meta->l4_off + ND_NA_LEN)) < 0)
		return -1;
	m->ol_flags = 0;
	eth_reply((struct rte_ether_hdr *)frame, caps);
	/* the advert comes from the target address, to the solicitor */
	memcpy(ip->dst_addr, ip->src_addr, 16);
	memcpy(ip->src_addr, nd->target, 16);
	ip->hop_limits = QS_ND_HOP_LIMIT;
	ip->payload_len = rte_cpu_to_be_16(ND_NA_LEN);
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
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t l3_len = qs_net_l3_len(m);
	void *l3 = frame + RTE_ETHER_HDR_LEN;
	struct rte_udp_hdr *udp =
		(struct rte_udp_hdr *)(frame + RTE_ETHER_HDR_LEN + l3_len);
	uint16_t udp_len = (uint16_t)(sizeof(*udp) + payload_len);
	bool ipv6 = RTE_ETH_IS_IPV6_HDR(m->packet_type);
	rte_be16_t port;

	if (set_frame_len(m, (uint16_t)(RTE_ETHER_HDR_LEN + l3_len + udp_len)) < 0)
		return -1;
	m->l2_len = RTE_ETHER_HDR_LEN;      /* for checksum offload */
	m->l3_len = l3_len;
	m->ol_flags = 0;
	eth_reply((struct rte_ether_hdr *)frame, caps);
	port = udp->src_port;
	udp->src_port = udp->dst_port;
	udp->dst_port = port;
	udp->dgram_len = rte_cpu_to_be_16(udp_len);
	ip_reply(l3, ipv6);
	if (ipv6)
		((struct rte_ipv6_hdr *)l3)->payload_len = rte_cpu_to_be_16(udp_len);
	else
		((struct rte_ipv4_hdr *)l3)->total_length =
			rte_cpu_to_be_16((uint16_t)(l3_len + udp_len));
	qs_net_l4_cksum(m, l3, udp, ipv6, caps);
	return 0;
}
