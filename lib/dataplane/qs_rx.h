/* The RX stage of every lcore that polls a queue, from what
 * rte_eth_rx_burst returned to what this lcore handles itself:
 *   classify each frame (net/qs_classify.c), answer ARP, ICMP echo and ND in
 *   place (net/qs_reply.c), decide the owner of each QUIC datagram
 *   (steer/qs_steer.c), stage datagrams owned elsewhere and flush them to
 *   their owners' inboxes with one burst each, and give the rest to
 *   lc->rx_local (the QUIC server, or on a pipeline I/O lcore the worker
 *   picked by the flow hash).
 * Inline and in a header so that tests/bench/bench_steer.c measures this
 * very code. */
#ifndef QS_RX_H
#define QS_RX_H

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

/* Classifies one received frame; QUIC datagrams owned here go to local[],
 * others to the staging area of their owner. */
static inline void
qs_rx_one(struct qs_lcore *lc, struct rte_mbuf *m, struct rte_mbuf **local,
       uint16_t *n_local)
{
	const struct qs_tx_caps *caps = qs_tx_caps(&lc->tx, m->port);
	struct qs_pkt_meta meta;
	struct qs_quic_hdr hdr;
	enum qs_pkt_class c;
	uint16_t owner, len;
	uint8_t *payload;

	lc->stats.rx_bytes += rte_pktmbuf_pkt_len(m);
	if (unlikely(m->nb_segs != 1)) {
		lc->stats.drop_malformed++;
		rte_pktmbuf_free(m);
		return;
	}
	c = qs_net_classify(rte_pktmbuf_mtod(m, const uint8_t *),
			    rte_pktmbuf_data_len(m), &lc->dp->cfg->listen,
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
		local[(*n_local)++] = m;
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

/* One received burst (n > 0, at most QS_MAX_BURST): counted, classified,
 * steered; consumes every mbuf. */
static inline void
qs_rx_burst(struct qs_lcore *lc, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *local[QS_MAX_BURST];
	uint16_t n_local = 0, i;

	lc->stats.rx_packets += n;
	for (i = 0; i < QS_RX_PREFETCH_AHEAD && i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + QS_RX_PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + QS_RX_PREFETCH_AHEAD],
						       void *));
		qs_rx_one(lc, pkts[i], local, &n_local);
	}
	qs_steer_flush(&lc->stage, lc->dp->inbox, lc->dp->n_workers, &lc->stats);
	if (n_local > 0)
		lc->rx_local(lc, local, n_local);
}

#endif
