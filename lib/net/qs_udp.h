/* UDP framing and checksums for what the dataplane sends. */
#ifndef QS_UDP_H
#define QS_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define QS_NET_TTL 64         /* TTL / hop limit of what we send */

/* Per-port facts a sender needs: our MAC and which checksums the NIC fills. */
struct qs_tx_caps {
	struct rte_ether_addr mac;
	bool hw_ip_cksum;
	bool hw_udp_cksum;
};

/* Prepends Ethernet, IP and UDP headers to the datagram payload held in m,
 * from local to remote, with the ECN codepoint ecn (qs_net_ipv4_hdr),
 * checksums per caps. */
int qs_net_udp_build(struct rte_mbuf *m, const struct sockaddr *local,
		     const struct sockaddr *remote, uint8_t ecn,
		     const struct rte_ether_addr *dst_mac,
		     const struct qs_tx_caps *caps);

/* The IP header of everything the dataplane sends, built whole, never
 * inherited from a received packet: no IPv4 options, DF, TTL (hop limit)
 * QS_NET_TTL, DSCP 0 and the ECN codepoint in the two low bits of ecn (the
 * other bits are ignored), IPv6 flow label 0; l4_len bytes follow. src and
 * dst must not point into ip. The IPv4 header checksum is left to
 * qs_net_ipv4_cksum. */
void qs_net_ipv4_hdr(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst,
		     uint8_t proto, uint16_t l4_len, uint8_t ecn);
void qs_net_ipv6_hdr(struct rte_ipv6_hdr *ip, const uint8_t *src,
		     const uint8_t *dst, uint8_t proto, uint16_t l4_len,
		     uint8_t ecn);

/* Sets the IPv4 header and UDP checksums, by offload where caps allow. */
void qs_net_l4_cksum(struct rte_mbuf *m, void *l3, struct rte_udp_hdr *udp,
		     bool ipv6, const struct qs_tx_caps *caps);

/* Sets the IPv4 header checksum, by offload where caps allow. */
void qs_net_ipv4_cksum(struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		       const struct qs_tx_caps *caps);

#endif
