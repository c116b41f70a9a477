/* Test traffic built byte by byte: Ethernet frames (ARP, ICMP, ICMPv6 echo
 * and neighbour solicitation, UDP over IPv4 and IPv6) and QUIC headers.
 * Shared by the unit tests, the fuzz target and the benchmark so that one
 * piece of code knows how to craft a packet. (tests/fuzz/make_corpus.py is
 * its Python twin for the seed corpus and the benchmark's pcap file.)
 *
 * Every frame builder writes at buf (QS_FRAME_MAX bytes are always enough)
 * and returns the frame length. Checksums are valid; a test that wants a
 * broken one breaks it after building. Frames go from the peer (MAC, IP,
 * port) to us; the listen set of qs_frames_listen() answers for "us". */
#ifndef QS_FRAMES_H
#define QS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "net/qs_classify.h"
#include "net/qs_reply.h"
#include "net/qs_udp.h"

#define QS_FRAME_MAX 2048

/* Offsets in every frame these builders make: no VLAN tag, no IP options. */
#define QS_FRAME_L3_OFF RTE_ETHER_HDR_LEN          /* 14 */
#define QS_FRAME_L4_OFF_V4 (QS_FRAME_L3_OFF + 20)  /* 34 */
#define QS_FRAME_L4_OFF_V6 (QS_FRAME_L3_OFF + 40)  /* 54 */

#define QS_FRAMES_OUR_PORT 443
#define QS_FRAMES_PEER_PORT 50000

/* Addresses in network order: 198.18.0.1 and 2001:db8::1 are ours,
 * 198.18.0.2 and 2001:db8::2 the peer's, 198.18.0.99 and 2001:db8::99
 * belong to nobody we answer for. */
extern const uint32_t qs_frames_our_v4, qs_frames_peer_v4, qs_frames_other_v4;
extern const uint8_t qs_frames_our_v6[16], qs_frames_peer_v6[16],
	qs_frames_other_v6[16];
extern const struct rte_ether_addr qs_frames_our_mac, qs_frames_peer_mac;
/* a unicast MAC on the segment that is neither ours nor the peer's */
extern const struct rte_ether_addr qs_frames_other_mac;

/* Our addresses and UDP port 443. */
void qs_frames_listen(struct qs_listen *l);

/* ff02::1:ffXX:XXXX for addr (RFC 4291 2.7.1). */
void qs_frames_solicited_node(const uint8_t addr[16], uint8_t out[16]);

size_t qs_frame_arp(uint8_t *buf, uint16_t opcode, uint32_t sender_ip,
		    uint32_t target_ip);
size_t qs_frame_icmp4_echo(uint8_t *buf, uint32_t src, uint32_t dst,
			   size_t data_len);
size_t qs_frame_icmp6_echo(uint8_t *buf, const uint8_t src[16],
			   const uint8_t dst[16], size_t data_len);
/* Neighbour solicitation for target, optionally with the source link-layer
 * address option (RFC 4861 4.3). */
size_t qs_frame_nd_solicit(uint8_t *buf, const uint8_t src[16],
			   const uint8_t dst[16], const uint8_t target[16],
			   uint8_t hop_limit, bool with_source_lladdr);
size_t qs_frame_udp4(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
		     uint16_t dport, const uint8_t *payload, size_t len);
size_t qs_frame_udp6(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
		     uint16_t sport, uint16_t dport, const uint8_t *payload,
		     size_t len);
/* A UDP datagram from the peer to our address and port. */
size_t qs_frame_quic_to_us(uint8_t *buf, bool ipv6, const uint8_t *payload,
			   size_t len);

/* Recomputes the IPv4 header checksum after a test changed the header. */
void qs_frame_ipv4_fix_cksum(uint8_t *frame);
/* Inserts opt_len bytes of IPv4 options (a multiple of 4, at most 40) after
 * the 20-byte header of the IPv4 frame of len bytes: the payload moves
 * down, IHL, total length and the header checksum follow (the UDP and ICMP
 * checksums do not cover options). Returns the new length. */
size_t qs_frame_ipv4_add_options(uint8_t *frame, size_t len,
				 const uint8_t *opts, size_t opt_len);
/* Sets the TOS byte (DSCP and ECN) of an IPv4 frame, checksum fixed. */
void qs_frame_ipv4_set_tos(uint8_t *frame, uint8_t tos);
/* Sets the traffic class and flow label of an IPv6 frame. */
void qs_frame_ipv6_set_class_flow(uint8_t *frame, uint8_t traffic_class,
				  uint32_t flow_label);
/* Rewrites the destination MAC. */
void qs_frame_set_dst_mac(uint8_t *frame, const struct rte_ether_addr *mac);
/* Appends zero bytes up to min_len (Ethernet padding); returns the length. */
size_t qs_frame_pad(uint8_t *frame, size_t len, size_t min_len);

/* QUIC long header: first byte 0xc0 | type << 4, version, DCID, SCID, then
 * filler bytes up to total_len (the header alone when total_len is
 * smaller). Returns the length written. */
size_t qs_quic_long(uint8_t *buf, unsigned int type, uint32_t version,
		    const uint8_t *dcid, uint8_t dcid_len, const uint8_t *scid,
		    uint8_t scid_len, size_t total_len);
/* Length of the invariant part qs_quic_long writes before the filler. */
static inline size_t
qs_quic_long_hdr_len(uint8_t dcid_len, uint8_t scid_len)
{
	return 7u + dcid_len + scid_len;
}
/* QUIC short header (first byte 0x40), DCID, filler up to total_len. */
size_t qs_quic_short(uint8_t *buf, const uint8_t *dcid, uint8_t dcid_len,
		     size_t total_len);

/* An 8-byte CID in the nibble format naming owner (0..15) in the high
 * nibble of byte 0, with fixed other bits: the encoding written out by
 * hand, independent of lib/steer/qs_cid.c. */
void qs_frames_nibble_cid(uint8_t owner, uint8_t cid[8]);

/* A one-segment mbuf holding a copy of frame; NULL when the pool is empty. */
struct rte_mbuf *qs_frames_mbuf(struct rte_mempool *pool, const uint8_t *frame,
				size_t len);

/* The stateless reset token quicsteer must give a CID, computed
 * independently (OpenSSL's one-shot HMAC) from the secret: see
 * qs_stateless_reset_token. */
void qs_frames_reset_token(const uint8_t *secret, size_t secret_len,
			   const uint8_t *cid, size_t cid_len, uint8_t *token);

#endif
