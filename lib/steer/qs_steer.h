/* Steering: which worker owns a QUIC datagram, and the handoff of the
 * datagrams owned elsewhere to their owners' inbox rings. */
#ifndef QS_STEER_H
#define QS_STEER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "base/qs_config.h"
#include "base/qs_limits.h"
#include "base/qs_stats.h"
#include "net/qs_classify.h"
#include "steer/qs_cid.h"
#include "steer/qs_quic_hdr.h"

enum qs_steer_verdict {
	QS_STEER_LOCAL,     /* handle on this lcore */
	QS_STEER_FORWARD,   /* hand to *owner's inbox */
	QS_STEER_DROP,      /* unparseable; counted by the caller */
};

/* Decides the owner of one QUIC datagram received from an RX queue of
 * worker self. Short-header and Handshake packets go where their DCID
 * points; Initial, 0-RTT, unknown versions and DCIDs naming no worker stay
 * here. With steering off everything stays here. hdr is filled either way
 * when the header parsed. The reference for the RX fast path below. */
enum qs_steer_verdict qs_steer_decide(const struct qs_cid_codec *codec,
				      bool enabled, uint16_t self,
				      const uint8_t *payload, size_t len,
				      struct qs_quic_hdr *hdr, uint16_t *owner);

/* ---- the RX fast path (lib/dataplane/qs_rx.h) ---- */

/* The fast path of classification and decision for one frame: true when
 * qs_net_classify_fast takes it and its UDP payload starts with a short
 * header holding a DCID of cid_len bytes; *dcid then points at that DCID,
 * and qs_steer_decide would find a short header there and steer it by
 * that DCID. False: the frame is for qs_net_classify and qs_steer_decide. */
static __rte_always_inline bool
qs_steer_fast(const uint8_t *frame, uint32_t len, const struct qs_listen *l,
	      const struct rte_ether_addr *our_mac, uint8_t cid_len,
	      struct qs_pkt_meta *meta, const uint8_t **dcid)
{
	const uint8_t *payload;

	if (!qs_net_classify_fast(frame, len, l, our_mac, meta))
		return false;
	payload = frame + meta->l4_off + sizeof(struct rte_udp_hdr);
	if (!qs_quic_is_short(payload, (size_t)(meta->l4_end - meta->l4_off -
						sizeof(struct rte_udp_hdr)),
			      cid_len))
		return false;
	*dcid = payload + 1;
	return true;
}

/* Who a short header's DCID (of c->cid_len bytes) names, or QS_CID_NONE:
 * the RX stage picks one of these once per burst, so that the nibble codec
 * is decoded inline and not through a pointer per packet. */
typedef int (*qs_steer_owner_fn)(const struct qs_cid_codec *c,
				 const uint8_t *dcid);

/* the nibble format, inline */
static __rte_always_inline int
qs_steer_owner_nibble(const struct qs_cid_codec *c, const uint8_t *dcid)
{
	return qs_cid_nibble_owner(c, dcid);
}

/* the quic-lb format without a key, inline */
static __rte_always_inline int
qs_steer_owner_quic_lb_plain(const struct qs_cid_codec *c, const uint8_t *dcid)
{
	return qs_cid_quic_lb_plain_owner(c, dcid);
}

/* any format, through the codec's interface */
static __rte_always_inline int
qs_steer_owner_codec(const struct qs_cid_codec *c, const uint8_t *dcid)
{
	return qs_cid_decode(c, dcid, c->cid_len);
}

/* steering off: nobody is named, everything stays */
static __rte_always_inline int
qs_steer_owner_off(const struct qs_cid_codec *c, const uint8_t *dcid)
{
	RTE_SET_USED(c);
	RTE_SET_USED(dcid);
	return QS_CID_NONE;
}

/* ---- staging and handoff ---- */

/* The staging row of the datagrams a lcore keeps, when it is no worker
 * (a pipeline I/O lcore: its worker index names nobody). */
#define QS_STEER_LOCAL_ROW QS_MAX_WORKERS

/* Per-lcore staging of datagrams, a row per owner, flushed with one burst
 * enqueue per destination. Every datagram is staged, the ones a lcore
 * keeps too: in its own row (qs_steer_self_row), which the flush leaves
 * for it to handle. */
struct qs_steer_stage {
	uint16_t count[QS_MAX_WORKERS + 1];
	struct rte_mbuf *pkts[QS_MAX_WORKERS + 1][QS_MAX_BURST];
};

/* The row a lcore keeps: its own worker index (a DCID naming it is local
 * as one naming nobody), or QS_STEER_LOCAL_ROW for one that is no worker. */
static inline uint16_t
qs_steer_self_row(uint16_t self)
{
	return self < QS_MAX_WORKERS ? self : QS_STEER_LOCAL_ROW;
}

/* The row of a datagram whose DCID names dest (QS_CID_NONE: nobody) on a
 * lcore whose own row is self_row; without a branch. */
static __rte_always_inline uint16_t
qs_steer_row(int dest, uint16_t self_row)
{
	return dest < 0 ? self_row : (uint16_t)dest;
}

static inline void
qs_steer_stage_add(struct qs_steer_stage *st, uint16_t owner, struct rte_mbuf *m)
{
	st->pkts[owner][st->count[owner]++] = m;
}

/* Enqueues the datagrams staged for workers 0..n_workers-1, but row keep
 * (the caller's own), to their inboxes; what does not fit is freed and
 * counted as quic_forward_dropped, never retried. */
void qs_steer_flush_except(struct qs_steer_stage *st,
			   struct rte_ring *const *inbox, uint16_t n_workers,
			   uint16_t keep, struct qs_stats *stats);

/* The same for every worker's row. */
static inline void
qs_steer_flush(struct qs_steer_stage *st, struct rte_ring *const *inbox,
	       uint16_t n_workers, struct qs_stats *stats)
{
	qs_steer_flush_except(st, inbox, n_workers, QS_STEER_LOCAL_ROW, stats);
}

/* Multi-producer (RTS, safe when lcores share CPUs) single-consumer ring. */
struct rte_ring *qs_steer_inbox_create(uint16_t worker, unsigned int size,
				       int socket);

#endif
