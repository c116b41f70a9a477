/* UDP framing for datagrams the dataplane originates (a connection's
 * packets) and the checksums every sender uses, by offload where the port
 * has it. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "net/qs_cksum.h"
#include "net/qs_udp.h"

void
qs_net_ipv4_cksum(struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		  const struct qs_tx_caps *caps)
{
	ip->hdr_checksum = 0;
	if (caps->hw_ip_cksum)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
}

void
qs_net_l4_cksum(struct rte_mbuf *m, void *l3, struct rte_udp_hdr *udp,
		bool ipv6, const struct qs_tx_caps *caps)
{
	udp->dgram_cksum = 0;
	if (!ipv6) {
		struct rte_ipv4_hdr *ip = l3;

		qs_net_ipv4_cksum(m, ip, caps);
		if (caps->hw_udp_cksum) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
			udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		} else {
			udp->dgram_cksum = qs_net_udp_cksum(ip, false, udp);
		}
	} else {
		struct rte_ipv6_hdr *ip = l3;

		if (caps->hw_udp_cksum) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
			udp->dgram_cksum = rte_ipv6_phdr_cksum(ip, m->ol_flags);
		} else {
			udp->dgram_cksum = qs_net_udp_cksum(ip, true, udp);
		}
	}
}

#define ECN_MASK 0x3     /* the two low bits of the TOS / traffic class */

void
qs_net_ipv4_hdr(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst,
		uint8_t proto, uint16_t l4_len, uint8_t ecn)
{
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = ecn & ECN_MASK;     /* DSCP 0 */
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = QS_NET_TTL;
	ip->next_proto_id = proto;
	ip->hdr_checksum = 0;
	ip->src_addr = src;
	ip->dst_addr = dst;
}

void
qs_net_ipv6_hdr(struct rte_ipv6_hdr *ip, const uint8_t *src, const uint8_t *dst,
		uint8_t proto, uint16_t l4_len, uint8_t ecn)
{
	/* version 6, traffic class DSCP 0 + ECN, flow label 0 */
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)(ecn & ECN_MASK) << 20);
	ip->payload_len = rte_cpu_to_be_16(l4_len);
	ip->proto = proto;
	ip->hop_limits = QS_NET_TTL;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
}

int
qs_net_udp_build(struct rte_mbuf *m, const struct sockaddr *local,
		 const struct sockaddr *remote, uint8_t ecn,
		 const struct rte_ether_addr *dst_mac,
		 const struct qs_tx_caps *caps)
{
	bool ipv6 = remote->sa_family == AF_INET6;
	uint16_t l3_len = ipv6 ? sizeof(struct rte_ipv6_hdr)
			       : sizeof(struct rte_ipv4_hdr);
	uint16_t udp_len = (uint16_t)(rte_pktmbuf_data_len(m) +
				      sizeof(struct rte_udp_hdr));
	struct rte_ether_hdr *eth;
	struct rte_udp_hdr *udp;
	void *l3;

	if (local->sa_family != remote->sa_family)
		return -1;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(
		m, (uint16_t)(sizeof(*eth) + l3_len + sizeof(*udp)));
	if (eth == NULL)
		return -1;
	l3 = eth + 1;
	udp = (struct rte_udp_hdr *)((uint8_t *)l3 + l3_len);
	rte_ether_addr_copy(dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&caps->mac, &eth->src_addr);
	m->ol_flags = 0;
	m->l2_len = sizeof(*eth);
	m->l3_len = l3_len;
	udp->dgram_len = rte_cpu_to_be_16(udp_len);
	if (ipv6) {
		const struct sockaddr_in6 *lo = (const struct sockaddr_in6 *)local;
		const struct sockaddr_in6 *re = (const struct sockaddr_in6 *)remote;

		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
		qs_net_ipv6_hdr(l3, lo->sin6_addr.s6_addr, re->sin6_addr.s6_addr,
				IPPROTO_UDP, udp_len, ecn);
		udp->src_port = lo->sin6_port;
		udp->dst_port = re->sin6_port;
		m->packet_type = RTE_PTYPE_L3_IPV6 | RTE_PTYPE_L4_UDP;
	} else {
		const struct sockaddr_in *lo = (const struct sockaddr_in *)local;
		const struct sockaddr_in *re = (const struct sockaddr_in *)remote;

		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		qs_net_ipv4_hdr(l3, lo->sin_addr.s_addr, re->sin_addr.s_addr,
				IPPROTO_UDP, udp_len, ecn);
		udp->src_port = lo->sin_port;
		udp->dst_port = re->sin_port;
		m->packet_type = RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
	}
	qs_net_l4_cksum(m, l3, udp, ipv6, caps);
	return 0;
}
