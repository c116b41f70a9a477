#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "qs_net.h"

#define IPV4_MF_OR_OFFSET 0x3fff
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_ND_SOLICIT 135
#define ICMP6_ND_ADVERT 136
#define ND_OPT_TARGET_LLADDR 2
#define ND_NA_FLAG_SOLICITED 0x40000000u
#define ND_NA_FLAG_OVERRIDE 0x20000000u
#define ND_HDR_LEN 24   /* type, code, cksum, reserved/flags, target */
#define ND_NA_LEN 32    /* header and one target link-layer option */
#define REPLY_TTL 64
#define ND_HOP_LIMIT 255

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

static bool
v4_is_ours(const struct qs_listen *l, uint32_t addr)
{
	for (unsigned int i = 0; i < l->n_v4; i++)
		if (l->v4[i] == addr)
			return true;
	return false;
}

static bool
v6_is_ours(const struct qs_listen *l, const uint8_t *addr)
{
	for (unsigned int i = 0; i < l->n_v6; i++)
		if (memcmp(l->v6[i], addr, 16) == 0)
			return true;
	return false;
}

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
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (ulen < sizeof(*udp) || ulen > meta->l4_end - meta->l4_off)
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
	    total < ihl || meta->l3_off + total > len)
		return QS_PKT_MALFORMED;
	if (rte_be_to_cpu_16(ip->fragment_offset) & IPV4_MF_OR_OFFSET)
		return QS_PKT_MALFORMED;
	if (rte_raw_cksum(ip, ihl) != 0xffff)
		return QS_PKT_MALFORMED;
	if (!v4_is_ours(l, ip->dst_addr))
		return QS_PKT_NOT_OURS;

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
		return v6_is_ours(l, ip->dst_addr) ? QS_PKT_ICMP6_ECHO
						   : QS_PKT_NOT_OURS;
	}
	if (icmp[0] == ICMP6_ND_SOLICIT) {
		/* RFC 4861 7.1.1: hop limit 255, code 0, at least 24 bytes */
		if (icmp_len < ND_HDR_LEN || icmp[1] != 0 ||
		    ip->hop_limits != ND_HOP_LIMIT)
			return QS_PKT_MALFORMED;
		if (!v6_is_ours(l, icmp + 8))
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
	if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 ||
	    meta->l3_off + sizeof(*ip) + payload > len)
		return QS_PKT_MALFORMED;
	if (!v6_is_ours(l, ip->dst_addr) &&
	    !v6_is_our_solicited_node(l, ip->dst_addr))
		return QS_PKT_NOT_OURS;

	meta->ipv6 = true;
	meta->l4_off = (uint16_t)(meta->l3_off + sizeof(*ip));
	meta->l4_end = (uint16_t)(meta->l4_off + payload);

	switch (ip->proto) {
	case IPPROTO_UDP:
		if (!v6_is_ours(l, ip->dst_addr))
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
	    !v4_is_ours(l, arp->arp_data.arp_tip))
		return QS_PKT_NOT_OURS;
	meta->l4_off = meta->l4_end = (uint16_t)(meta->l3_off + sizeof(*arp));
	return QS_PKT_ARP_REQUEST;
}

enum qs_pkt_class
qs_net_classify(const uint8_t *frame, uint32_t len, const struct qs_listen *l,
		struct qs_pkt_meta *meta)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;

	if (len < sizeof(*eth) || len > UINT16_MAX)
		return QS_PKT_MALFORMED;
	meta->l3_off = sizeof(*eth);
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
	m->packet_type = (meta->ipv6 ? RTE_PTYPE_L3_IPV6 : RTE_PTYPE_L3_IPV4) |
			 RTE_PTYPE_L4_UDP;
	/* one segment (checked on RX): trimming is setting the lengths */
	m->data_len = meta->l4_end;
	m->pkt_len = meta->l4_end;
}

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
		ip->hop_limits = REPLY_TTL;
	} else {
		struct rte_ipv4_hdr *ip = l3;
		uint32_t tmp = ip->src_addr;

		ip->src_addr = ip->dst_addr;
		ip->dst_addr = tmp;
		ip->time_to_live = REPLY_TTL;
	}
}

static void
ipv4_hdr_cksum(struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
	       const struct qs_tx_caps *caps)
{
	ip->hdr_checksum = 0;
	if (caps->hw_ip_cksum)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
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
	ipv4_hdr_cksum(m, ip, caps);
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
	ip->hop_limits = ND_HOP_LIMIT;
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

void
qs_net_l4_cksum(struct rte_mbuf *m, void *l3, struct rte_udp_hdr *udp,
		bool ipv6, const struct qs_tx_caps *caps)
{
	udp->dgram_cksum = 0;
	if (!ipv6) {
		struct rte_ipv4_hdr *ip = l3;

		ipv4_hdr_cksum(m, ip, caps);
		if (caps->hw_udp_cksum) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
			udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		} else {
			udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
		}
	} else {
		struct rte_ipv6_hdr *ip = l3;

		if (caps->hw_udp_cksum) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
			udp->dgram_cksum = rte_ipv6_phdr_cksum(ip, m->ol_flags);
		} else {
			udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
		}
	}
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
		struct rte_ipv6_hdr *ip = l3;

		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)(ecn & 3) << 20);
		ip->payload_len = rte_cpu_to_be_16(udp_len);
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = REPLY_TTL;
		memcpy(ip->src_addr, &lo->sin6_addr, 16);
		memcpy(ip->dst_addr, &re->sin6_addr, 16);
		udp->src_port = lo->sin6_port;
		udp->dst_port = re->sin6_port;
		m->packet_type = RTE_PTYPE_L3_IPV6 | RTE_PTYPE_L4_UDP;
	} else {
		const struct sockaddr_in *lo = (const struct sockaddr_in *)local;
		const struct sockaddr_in *re = (const struct sockaddr_in *)remote;
		struct rte_ipv4_hdr *ip = l3;

		eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = ecn & 3;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(l3_len + udp_len));
		ip->packet_id = 0;
		ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = REPLY_TTL;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = lo->sin_addr.s_addr;
		ip->dst_addr = re->sin_addr.s_addr;
		udp->src_port = lo->sin_port;
		udp->dst_port = re->sin_port;
		m->packet_type = RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
	}
	qs_net_l4_cksum(m, l3, udp, ipv6, caps);
	return 0;
}

const char *
qs_net_class_name(enum qs_pkt_class c)
{
	switch (c) {
	case QS_PKT_MALFORMED: return "malformed";
	case QS_PKT_NOT_OURS: return "not-ours";
	case QS_PKT_ARP_REQUEST: return "arp-request";
	case QS_PKT_ICMP4_ECHO: return "icmp-echo";
	case QS_PKT_ICMP6_ECHO: return "icmp6-echo";
	case QS_PKT_ND_SOLICIT: return "nd-solicit";
	case QS_PKT_QUIC: return "quic";
	}
	return "?";
}
