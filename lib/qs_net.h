/* L2/L3/L4 for the dataplane: classify a received frame, answer ARP, ICMP
 * echo and IPv6 neighbour solicitation in place, turn a datagram into a UDP
 * reply, and the one checksum helper every UDP sender uses. */
#ifndef QS_NET_H
#define QS_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define QS_MAX_ADDRS 8

/* What we answer for: listen addresses and the UDP port, in network order. */
struct qs_listen {
	uint32_t v4[QS_MAX_ADDRS];
	uint8_t v6[QS_MAX_ADDRS][16];
	unsigned int n_v4;
	unsigned int n_v6;
	uint16_t port_be;
};

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

/* Per-port facts a sender needs: our MAC and which checksums the NIC fills. */
struct qs_tx_caps {
	struct rte_ether_addr mac;
	bool hw_ip_cksum;
	bool hw_udp_cksum;
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

/* In-place answers; each returns 0 when m is ready to transmit. */
int qs_net_arp_reply(struct rte_mbuf *m, const struct qs_tx_caps *caps);
int qs_net_icmp4_echo_reply(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
			    const struct qs_tx_caps *caps);
int qs_net_icmp6_echo_reply(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
			    const struct qs_tx_caps *caps);
int qs_net_nd_advert(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
		     const struct qs_tx_caps *caps);

/* Turns a classified QUIC datagram into a reply to its sender carrying
 * payload_len bytes the caller has written at the UDP payload. */
int qs_net_udp_reply(struct rte_mbuf *m, uint16_t payload_len,
		     const struct qs_tx_caps *caps);

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

/* Prepends Ethernet, IP and UDP headers to the datagram payload held in m,
 * from local to remote, with ECN bits, checksums per caps. */
int qs_net_udp_build(struct rte_mbuf *m, const struct sockaddr *local,
		     const struct sockaddr *remote, uint8_t ecn,
		     const struct rte_ether_addr *dst_mac,
		     const struct qs_tx_caps *caps);

/* Sets the IPv4 header and UDP checksums, by offload where caps allow. */
void qs_net_l4_cksum(struct rte_mbuf *m, void *l3, struct rte_udp_hdr *udp,
		     bool ipv6, const struct qs_tx_caps *caps);

const char *qs_net_class_name(enum qs_pkt_class c);

#endif
