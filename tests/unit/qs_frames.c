#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "qs_frames.h"

#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ND_SOLICIT 135
#define ND_OPT_SOURCE_LLADDR 1
#define ND_SOLICIT_LEN 24       /* type, code, cksum, reserved, target */
#define ND_LLADDR_OPT_LEN 8
#define PEER_TTL 64
#define ICMP_ECHO_ID 0x1234
#define ICMP_ECHO_SEQ 7

const uint32_t qs_frames_our_v4 = RTE_BE32(RTE_IPV4(198, 18, 0, 1));
const uint32_t qs_frames_peer_v4 = RTE_BE32(RTE_IPV4(198, 18, 0, 2));
const uint32_t qs_frames_other_v4 = RTE_BE32(RTE_IPV4(198, 18, 0, 99));
const uint8_t qs_frames_our_v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
const uint8_t qs_frames_peer_v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};
const uint8_t qs_frames_other_v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x99};
const struct rte_ether_addr qs_frames_our_mac = {
	.addr_bytes = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const struct rte_ether_addr qs_frames_peer_mac = {
	.addr_bytes = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const struct rte_ether_addr qs_frames_other_mac = {
	.addr_bytes = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};

void
qs_frames_listen(struct qs_listen *l)
{
	memset(l, 0, sizeof(*l));
	l->v4[l->n_v4++] = qs_frames_our_v4;
	memcpy(l->v6[l->n_v6++], qs_frames_our_v6, 16);
	l->port_be = rte_cpu_to_be_16(QS_FRAMES_OUR_PORT);
}

void
qs_frames_solicited_node(const uint8_t addr[16], uint8_t out[16])
{
	static const uint8_t prefix[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	memcpy(out, prefix, sizeof(prefix));
	memcpy(out + 13, addr + 13, 3);
}

static void
eth(uint8_t *buf, const struct rte_ether_addr *dst, uint16_t ether_type)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)buf;

	rte_ether_addr_copy(dst, &e->dst_addr);
	rte_ether_addr_copy(&qs_frames_peer_mac, &e->src_addr);
	e->ether_type = rte_cpu_to_be_16(ether_type);
}

/* IPv6 multicast goes to 33:33 and the address's last 32 bits. */
static void
eth6(uint8_t *buf, const uint8_t dst[16])
{
	struct rte_ether_addr mac = qs_frames_our_mac;

	if (dst[0] == 0xff) {
		mac.addr_bytes[0] = 0x33;
		mac.addr_bytes[1] = 0x33;
		memcpy(&mac.addr_bytes[2], dst + 12, 4);
	}
	eth(buf, &mac, RTE_ETHER_TYPE_IPV6);
}

static struct rte_ipv4_hdr *
ipv4(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto, size_t l4_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + QS_FRAME_L3_OFF);

	eth(buf, &qs_frames_our_mac, RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->packet_id = rte_cpu_to_be_16(1);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = PEER_TTL;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return ip;
}

static struct rte_ipv6_hdr *
ipv6(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
     uint8_t hop_limit, size_t l4_len)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(buf + QS_FRAME_L3_OFF);

	eth6(buf, dst);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)l4_len);
	ip->proto = proto;
	ip->hop_limits = hop_limit;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	return ip;
}

void
qs_frame_ipv4_fix_cksum(uint8_t *frame)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + QS_FRAME_L3_OFF);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

size_t
qs_frame_ipv4_add_options(uint8_t *frame, size_t len, const uint8_t *opts,
			  size_t opt_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + QS_FRAME_L3_OFF);

	memmove(frame + QS_FRAME_L4_OFF_V4 + opt_len, frame + QS_FRAME_L4_OFF_V4,
		len - QS_FRAME_L4_OFF_V4);
	memcpy(frame + QS_FRAME_L4_OFF_V4, opts, opt_len);
	ip->version_ihl = (uint8_t)(0x40 | (sizeof(*ip) + opt_len) / 4);
	ip->total_length = rte_cpu_to_be_16(
		(uint16_t)(rte_be_to_cpu_16(ip->total_length) + opt_len));
	qs_frame_ipv4_fix_cksum(frame);
	return len + opt_len;
}

void
qs_frame_ipv4_set_tos(uint8_t *frame, uint8_t tos)
{
	((struct rte_ipv4_hdr *)(frame + QS_FRAME_L3_OFF))->type_of_service = tos;
	qs_frame_ipv4_fix_cksum(frame);
}

void
qs_frame_ipv6_set_class_flow(uint8_t *frame, uint8_t traffic_class,
			     uint32_t flow_label)
{
	((struct rte_ipv6_hdr *)(frame + QS_FRAME_L3_OFF))->vtc_flow =
		rte_cpu_to_be_32(6u << 28 | (uint32_t)traffic_class << 20 |
				 (flow_label & 0xfffff));
}

void
qs_frame_set_dst_mac(uint8_t *frame, const struct rte_ether_addr *mac)
{
	rte_ether_addr_copy(mac, &((struct rte_ether_hdr *)frame)->dst_addr);
}

size_t
qs_frame_pad(uint8_t *frame, size_t len, size_t min_len)
{
	if (len >= min_len)
		return len;
	memset(frame + len, 0, min_len - len);
	return min_len;
}

size_t
qs_frame_arp(uint8_t *buf, uint16_t opcode, uint32_t sender_ip,
	     uint32_t target_ip)
{
	static const struct rte_ether_addr broadcast = {
		.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(buf + QS_FRAME_L3_OFF);

	eth(buf, &broadcast, RTE_ETHER_TYPE_ARP);
	memset(arp, 0, sizeof(*arp));
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(opcode);
	rte_ether_addr_copy(&qs_frames_peer_mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = sender_ip;
	arp->arp_data.arp_tip = target_ip;
	return QS_FRAME_L3_OFF + sizeof(*arp);
}

static void
echo_body(struct rte_icmp_hdr *icmp, uint8_t type, size_t data_len)
{
	uint8_t *data = (uint8_t *)(icmp + 1);

	icmp->icmp_type = type;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	icmp->icmp_ident = rte_cpu_to_be_16(ICMP_ECHO_ID);
	icmp->icmp_seq_nb = rte_cpu_to_be_16(ICMP_ECHO_SEQ);
	for (size_t i = 0; i < data_len; i++)
		data[i] = (uint8_t)i;
}

size_t
qs_frame_icmp4_echo(uint8_t *buf, uint32_t src, uint32_t dst, size_t data_len)
{
	size_t l4_len = sizeof(struct rte_icmp_hdr) + data_len;
	struct rte_icmp_hdr *icmp =
		(struct rte_icmp_hdr *)(buf + QS_FRAME_L4_OFF_V4);

	ipv4(buf, src, dst, IPPROTO_ICMP, l4_len);
	echo_body(icmp, RTE_IP_ICMP_ECHO_REQUEST, data_len);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, l4_len);
	return QS_FRAME_L4_OFF_V4 + l4_len;
}

size_t
qs_frame_icmp6_echo(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
		    size_t data_len)
{
	size_t l4_len = sizeof(struct rte_icmp_hdr) + data_len;
	struct rte_icmp_hdr *icmp =
		(struct rte_icmp_hdr *)(buf + QS_FRAME_L4_OFF_V6);
	struct rte_ipv6_hdr *ip =
		ipv6(buf, src, dst, IPPROTO_ICMPV6, PEER_TTL, l4_len);

	echo_body(icmp, ICMP6_ECHO_REQUEST, data_len);
	icmp->icmp_cksum = rte_ipv6_udptcp_cksum(ip, icmp);
	return QS_FRAME_L4_OFF_V6 + l4_len;
}

size_t
qs_frame_nd_solicit(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
		    const uint8_t target[16], uint8_t hop_limit,
		    bool with_source_lladdr)
{
	size_t l4_len = ND_SOLICIT_LEN + (with_source_lladdr ? ND_LLADDR_OPT_LEN : 0);
	uint8_t *nd = buf + QS_FRAME_L4_OFF_V6;
	struct rte_ipv6_hdr *ip =
		ipv6(buf, src, dst, IPPROTO_ICMPV6, hop_limit, l4_len);
	uint16_t cksum;

	memset(nd, 0, l4_len);
	nd[0] = ICMP6_ND_SOLICIT;
	memcpy(nd + 8, target, 16);
	if (with_source_lladdr) {
		nd[24] = ND_OPT_SOURCE_LLADDR;
		nd[25] = 1; /* in units of 8 bytes */
		memcpy(nd + 26, qs_frames_peer_mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	}
	cksum = rte_ipv6_udptcp_cksum(ip, nd);
	memcpy(nd + 2, &cksum, sizeof(cksum));
	return QS_FRAME_L4_OFF_V6 + l4_len;
}

static void
udp(struct rte_udp_hdr *u, uint16_t sport, uint16_t dport,
    const uint8_t *payload, size_t len)
{
	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*u) + len));
	u->dgram_cksum = 0;
	memmove(u + 1, payload, len);
}

size_t
qs_frame_udp4(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
	      uint16_t dport, const uint8_t *payload, size_t len)
{
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(buf + QS_FRAME_L4_OFF_V4);
	struct rte_ipv4_hdr *ip;

	udp(u, sport, dport, payload, len);
	ip = ipv4(buf, src, dst, IPPROTO_UDP, sizeof(*u) + len);
	u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	return QS_FRAME_L4_OFF_V4 + sizeof(*u) + len;
}

size_t
qs_frame_udp6(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
	      uint16_t sport, uint16_t dport, const uint8_t *payload, size_t len)
{
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(buf + QS_FRAME_L4_OFF_V6);
	struct rte_ipv6_hdr *ip;

	udp(u, sport, dport, payload, len);
	ip = ipv6(buf, src, dst, IPPROTO_UDP, PEER_TTL, sizeof(*u) + len);
	u->dgram_cksum = rte_ipv6_udptcp_cksum(ip, u);
	return QS_FRAME_L4_OFF_V6 + sizeof(*u) + len;
}

size_t
qs_frame_quic_to_us(uint8_t *buf, bool ipv6, const uint8_t *payload, size_t len)
{
	if (ipv6)
		return qs_frame_udp6(buf, qs_frames_peer_v6, qs_frames_our_v6,
				     QS_FRAMES_PEER_PORT, QS_FRAMES_OUR_PORT,
				     payload, len);
	return qs_frame_udp4(buf, qs_frames_peer_v4, qs_frames_our_v4,
			     QS_FRAMES_PEER_PORT, QS_FRAMES_OUR_PORT, payload,
			     len);
}

static size_t
filler(uint8_t *buf, size_t at, size_t total_len)
{
	for (size_t i = at; i < total_len; i++)
		buf[i] = (uint8_t)(0xa5 ^ i);
	return total_len > at ? total_len : at;
}

size_t
qs_quic_long(uint8_t *buf, unsigned int type, uint32_t version,
	     const uint8_t *dcid, uint8_t dcid_len, const uint8_t *scid,
	     uint8_t scid_len, size_t total_len)
{
	size_t off = 0;

	buf[off++] = (uint8_t)(0xc0 | (type & 0x3) << 4);
	buf[off++] = (uint8_t)(version >> 24);
	buf[off++] = (uint8_t)(version >> 16);
	buf[off++] = (uint8_t)(version >> 8);
	buf[off++] = (uint8_t)version;
	buf[off++] = dcid_len;
	memcpy(buf + off, dcid, dcid_len);
	off += dcid_len;
	buf[off++] = scid_len;
	memcpy(buf + off, scid, scid_len);
	off += scid_len;
	return filler(buf, off, total_len);
}

size_t
qs_quic_short(uint8_t *buf, const uint8_t *dcid, uint8_t dcid_len,
	      size_t total_len)
{
	buf[0] = 0x40;
	memcpy(buf + 1, dcid, dcid_len);
	return filler(buf, 1u + dcid_len, total_len);
}

void
qs_frames_nibble_cid(uint8_t owner, uint8_t cid[8])
{
	static const uint8_t rest[8] = {0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61,
					0x72};

	memcpy(cid, rest, sizeof(rest));
	cid[0] = (uint8_t)(owner << 4 | (rest[0] & 0x0f));
}

struct rte_mbuf *
qs_frames_mbuf(struct rte_mempool *pool, const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *data;

	if (m == NULL)
		return NULL;
	data = rte_pktmbuf_append(m, (uint16_t)len);
	if (data == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(data, frame, len);
	return m;
}

void
qs_frames_reset_token(const uint8_t *secret, size_t secret_len,
		      const uint8_t *cid, size_t cid_len, uint8_t *token)
{
	static const char label[] = "quicsteer stateless reset";
	uint8_t msg[sizeof(label) - 1 + 20], digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, cid, cid_len);
	HMAC(EVP_sha256(), secret, (int)secret_len, msg,
	     sizeof(label) - 1 + cid_len, digest, &n);
	memcpy(token, digest, 16);
}
