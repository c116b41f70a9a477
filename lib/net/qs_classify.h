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

enum qs_pkt_class qs_net_classify(const uint8_t *frame, uint32_t len,
				  const struct qs_listen *l,
				  struct qs_pkt_meta *meta);

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
