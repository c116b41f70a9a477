/* The RX stage of every lcore that polls a queue, from what
 * rte_eth_rx_burst returned to what this lcore handles itself:
 *   the fast path, inline: a frame to our MAC, IPv4 without options or
 *   IPv6 without extension headers, UDP to our address and port, a QUIC
 *   short header (steer/qs_steer.h qs_steer_fast) is marked and staged in
 *   the row of the worker its DCID names, decoded by the codec picked once
 *   per burst;
 *   the slow path, for everything else (ARP, ICMP, ND, long headers, IPv4
 *   options, fragments, VLAN, anything odd): classify the frame
 *   (net/qs_classify.c, the one reference classifier, of which the fast
 *   path is a subset), answer ARP, ICMP echo and ND in place
 *   (net/qs_reply.c), decide the owner of a QUIC datagram
 *   (steer/qs_steer.c);
 * then flush the datagrams staged for other workers to their inboxes with
 * one burst each, and give the lcore's own row to lc->rx_local (the QUIC
 * server, or on a pipeline I/O lcore the worker picked by the flow hash).
 * The IPv4 header checksum of a fast-path datagram is the PMD's verdict
 * (RTE_MBUF_F_RX_IP_CKSUM_GOOD), or checked by the owner
 * (qs_net_ipv4_hdr_ok in qs_lcore.c server_input) with the UDP checksum.
 * Inline and in a header so that tests/bench/bench_steer.c measures this
 * very code. */
#ifndef QS_RX_H
#define QS_RX_H

#include <stdio.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "base/qs_log.h"
#include "dataplane/qs_dataplane.h"
#include "net/qs_classify.h"
#include "net/qs_reply.h"
#include "steer/qs_steer.h"

/* frames whose first line is prefetched ahead of the one classified */
#define QS_RX_PREFETCH_AHEAD 3

/* Sends m if the in-place reply worked, else frees it; counts on success. */
static inline void
qs_rx_reply(struct qs_lcore *lc, struct rte_mbuf *m, int rc, uint64_t *counter)
{
	if (likely(rc == 0)) {
		(*counter)++;
		qs_tx_enqueue(&lc->tx, m);
	} else {
		lc->stats.drop_malformed++;
		rte_pktmbuf_free(m);
	}
}

/* A frame larger than one receive buffer: cut short by the PMD (af_packet)
 * or split over several mbufs (virtio). Almost always a peer's UDP GSO
 * super-frame, kept whole across a veth: not one QUIC packet of that peer
 * gets through, so the operator hears why, once per worker. */
static __rte_noinline __rte_cold void
qs_rx_oversize(struct qs_lcore *lc, struct rte_mbuf *m, uint32_t ip_len)
{
	lc->stats.drop_oversize++;
	if (!lc->oversize_warned) {
		lc->oversize_warned = true;
		char said[48] = "";

		if (ip_len != 0)
			snprintf(said, sizeof(said), ", the IP header says %u",
				 ip_len);
		RTE_LOG(WARNING, QS_LCORE,
			"worker %u: port %u received a frame larger than its "
			"receive buffers (%u bytes arrived%s%s), dropped "
			"(drop_oversize). A peer sends UDP GSO super-frames (or "
			"jumbo frames) that nothing segmented: on a veth or "
			"container link switch segmentation off on the peer: "
			"ethtool -K <peer> gso off tx-udp-segmentation off\n",
			lc->worker, m->port, rte_pktmbuf_pkt_len(m),
			m->nb_segs > 1 ? " in several buffers" : "", said);
	}
	rte_pktmbuf_free(m);
}

/* The IP length an intact but truncated frame's header states (0: not
 * IPv4 or IPv6). */
static inline uint32_t
qs_rx_ip_len(const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t type = ((const struct rte_ether_hdr *)f)->ether_type;

	if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)
					 (f + RTE_ETHER_HDR_LEN))->total_length);
	if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6))
		return sizeof(struct rte_ipv6_hdr) +
		       rte_be_to_cpu_16(((const struct rte_ipv6_hdr *)
					 (f + RTE_ETHER_HDR_LEN))->payload_len);
	return 0;
}

/* The slow path of one frame, received on the port of caps, that the fast
 * path did not take: the reference classifier and owner decision. A QUIC
 * datagram is staged in its owner's row (self_row when it stays here);
 * anything else is answered, or dropped and counted. */
static __rte_noinline void
qs_rx_slow(struct qs_lcore *lc, const struct qs_tx_caps *caps,
	   uint16_t self_row, struct rte_mbuf *m)
{
	struct qs_pkt_meta meta;
	struct qs_quic_hdr hdr;
	enum qs_pkt_class c;
	uint16_t owner, len;
	uint8_t *payload;

	if (unlikely(m->nb_segs != 1)) {
		qs_rx_oversize(lc, m, 0);
		return;
	}
	c = qs_net_classify(rte_pktmbuf_mtod(m, const uint8_t *),
			    rte_pktmbuf_data_len(m), &lc->dp->listen,
			    &caps->mac, &meta);
	switch (c) {
	case QS_PKT_QUIC:
		break;
	case QS_PKT_ARP_REQUEST:
		qs_rx_reply(lc, m, qs_net_arp_reply(m, caps), &lc->stats.arp_replies);
		return;
	case QS_PKT_ICMP4_ECHO:
		qs_rx_reply(lc, m, qs_net_icmp4_echo_reply(m, &meta, caps),
			   &lc->stats.icmp_echo_replies);
		return;
	case QS_PKT_ICMP6_ECHO:
		qs_rx_reply(lc, m, qs_net_icmp6_echo_reply(m, &meta, caps),
			   &lc->stats.icmp_echo_replies);
		return;
	case QS_PKT_ND_SOLICIT:
		qs_rx_reply(lc, m, qs_net_nd_advert(m, &meta, caps),
			   &lc->stats.nd_adverts);
		return;
	case QS_PKT_MALFORMED:
		lc->stats.drop_malformed++;
		rte_pktmbuf_free(m);
		return;
	case QS_PKT_TRUNCATED:
		qs_rx_oversize(lc, m, qs_rx_ip_len(m));
		return;
	case QS_PKT_NOT_OURS:
	default:
		lc->stats.drop_not_ours++;
		rte_pktmbuf_free(m);
		return;
	}

	qs_net_meta_to_mbuf(m, &meta);
	lc->stats.quic_rx++;
	payload = qs_net_udp_payload(m, &len);
	switch (qs_steer_decide(&lc->dp->codec, lc->steer, lc->worker, payload,
				len, &hdr, &owner)) {
	case QS_STEER_LOCAL:
		qs_steer_stage_add(&lc->stage, self_row, m);
		break;
	case QS_STEER_FORWARD:
		qs_steer_stage_add(&lc->stage, owner, m);
		break;
	case QS_STEER_DROP:
	default:
		lc->stats.quic_drop_malformed++;
		RTE_LOG(DEBUG, QS_LCORE, "worker %u: unparseable QUIC header\n",
			   lc->worker);
		rte_pktmbuf_free(m);
		break;
	}
}

/* The lines of m's frame the fast path reads: the first, and for IPv6 (or
 * when the PMD does not say IPv4) the second, where a short header's DCID
 * lies after 62 bytes of headers. Without a branch: an IPv4 frame
 * prefetches its first line twice. */
static __rte_always_inline void
qs_rx_prefetch(const struct rte_mbuf *m)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);

	rte_prefetch0(frame);
	rte_prefetch0(frame + (RTE_ETH_IS_IPV4_HDR(m->packet_type) ? 0 :
			       RTE_CACHE_LINE_SIZE));
}

/* One received burst from port index pi, with the owner read from DCIDs
 * by owner_of (a constant: each caller gets a loop of its own). Measured
 * (bench_steer, short headers, nibble codec, 4 workers): 19.8 cycles per
 * packet against a 12.3-cycle touch-only baseline, flush included
 * (tests/bench/RESULTS.md). */
static __rte_always_inline void
qs_rx_burst_by(struct qs_lcore *lc, uint16_t pi, struct rte_mbuf **pkts,
	       uint16_t n, qs_steer_owner_fn owner_of)
{
	const struct qs_dataplane *dp = lc->dp;
	const struct qs_tx_caps *caps = &dp->ports[pi].caps;
	const struct qs_listen *l = &dp->listen;
	const struct qs_cid_codec *codec = &dp->codec;
	struct qs_steer_stage *st = &lc->stage;
	const uint16_t self_row = qs_steer_self_row(lc->worker);
	const uint8_t cid_len = codec->cid_len;
	uint64_t bytes = 0;
	uint16_t quic = 0, n_local, i;

	lc->stats.rx_packets += n;
	for (i = 0; i < QS_RX_PREFETCH_AHEAD && i < n; i++)
		qs_rx_prefetch(pkts[i]);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct qs_pkt_meta meta;
		const uint8_t *dcid;

		if (i + QS_RX_PREFETCH_AHEAD < n)
			qs_rx_prefetch(pkts[i + QS_RX_PREFETCH_AHEAD]);
		bytes += rte_pktmbuf_pkt_len(m);
		if (likely(m->nb_segs == 1 &&
			   (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) !=
			   RTE_MBUF_F_RX_IP_CKSUM_BAD &&
			   qs_steer_fast(rte_pktmbuf_mtod(m, const uint8_t *),
					 rte_pktmbuf_data_len(m), l, &caps->mac,
					 cid_len, &meta, &dcid))) {
			qs_net_mark_quic(m, meta.ipv6, meta.l4_end);
			qs_steer_stage_add(st, qs_steer_row(owner_of(codec, dcid),
							    self_row), m);
			quic++;
		} else {
			qs_rx_slow(lc, caps, self_row, m);
		}
	}
	lc->stats.rx_bytes += bytes;
	lc->stats.quic_rx += quic;
	qs_steer_flush_except(st, dp->inbox, dp->n_workers, self_row, &lc->stats);
	n_local = st->count[self_row];
	st->count[self_row] = 0;
	if (n_local > 0)
		lc->rx_local(lc, st->pkts[self_row], n_local);
}

/* One received burst (n > 0, at most QS_MAX_BURST) from port index pi:
 * counted, classified, steered; consumes every mbuf. The way to read the
 * owner from a DCID is chosen here, once per burst. */
static inline void
qs_rx_burst(struct qs_lcore *lc, uint16_t pi, struct rte_mbuf **pkts,
	    uint16_t n)
{
	if (!lc->steer)
		qs_rx_burst_by(lc, pi, pkts, n, qs_steer_owner_off);
	else if (lc->dp->codec.format == QS_CID_FORMAT_NIBBLE)
		qs_rx_burst_by(lc, pi, pkts, n, qs_steer_owner_nibble);
	else if (lc->dp->codec.format == QS_CID_FORMAT_QUIC_LB &&
		 lc->dp->codec.lb_plaintext)
		qs_rx_burst_by(lc, pi, pkts, n, qs_steer_owner_quic_lb_plain);
	else
		qs_rx_burst_by(lc, pi, pkts, n, qs_steer_owner_codec);
}

#endif
