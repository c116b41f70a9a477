/* The first stage of the RX path: what a received frame is, and where its
 * headers are. Also the accessors later stages use on a classified QUIC
 * datagram (its payload, its 4-tuple). */
#ifndef QS_CLASSIFY_H
#define QS_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "base/qs_config.h"

#define QS_ND_HOP_LIMIT 255   /* RFC 4861: ND messages carry 255 */

enum qs_pkt_class {
	QS_PKT_MALFORMED = 0,
	QS_PKT_NOT_OURS,
	QS_PKT_ARP_REQUEST,
	QS_PKT_ICMP4_ECHO,
	QS_PKT_ICMP6_ECHO,
	QS_PKT_ND_SOLICIT,
	QS_PKT_QUIC,
};

/* Offsets found by the classifier; valid for every class but MALFORMED and
 * NOT_OURS. l4_end is where the IP payload ends (Ethernet padding beyond). */
struct qs_pkt_meta {
	uint16_t l3_off;
	uint16_t l4_off;
	uint16_t l4_end;
	bool ipv6;
};

/* What frame is, for the host with the addresses of l and the MAC our_mac
 * (the receiving port's). Only frames to our_mac are ours, besides ARP
 * requests by broadcast and neighbour solicitations to the solicited-node
 * group of one of our IPv6 addresses: the port may be promiscuous, or a PMD
 * (af_packet) may pass every frame of the segment (RFC 1122 3.3.6). */
enum qs_pkt_class qs_net_classify(const uint8_t *frame, uint32_t len,
				  const struct qs_listen *l,
				  const struct rte_ether_addr *our_mac,
				  struct qs_pkt_meta *meta);

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

/* Marks a classified QUIC datagram for the owner lcore: packet_type says
 * IPv4 or IPv6 and Ethernet padding is trimmed. Only the mbuf's first cache
 * line is written; the offsets are read back from the headers. */
void qs_net_meta_to_mbuf(struct rte_mbuf *m, const struct qs_pkt_meta *meta);

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
