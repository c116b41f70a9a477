/* Steering: which worker owns a QUIC datagram, and the handoff of the
 * datagrams owned elsewhere to their owners' inbox rings. */
#ifndef QS_STEER_H
#define QS_STEER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "steer/qs_cid.h"
#include "steer/qs_quic_hdr.h"
#include "base/qs_stats.h"

enum qs_steer_verdict {
	QS_STEER_LOCAL,     /* handle on this lcore */
	QS_STEER_FORWARD,   /* hand to *owner's inbox */
	QS_STEER_DROP,      /* unparseable; counted by the caller */
};

/* Decides the owner of one QUIC datagram received from an RX queue of
 * worker self. Short-header and Handshake packets go where their DCID
 * points; Initial, 0-RTT, unknown versions and DCIDs naming no worker stay
 * here. With steering off everything stays here. hdr is filled either way
 * when the header parsed. */
enum qs_steer_verdict qs_steer_decide(const struct qs_cid_codec *codec,
				      bool enabled, uint16_t self,
				      const uint8_t *payload, size_t len,
				      struct qs_quic_hdr *hdr, uint16_t *owner);

/* Per-lcore staging of datagrams for other owners, flushed with one burst
 * enqueue per destination. */
struct qs_steer_stage {
	uint16_t count[QS_MAX_WORKERS];
	struct rte_mbuf *pkts[QS_MAX_WORKERS][QS_MAX_BURST];
};

static inline void
qs_steer_stage_add(struct qs_steer_stage *st, uint16_t owner, struct rte_mbuf *m)
{
	st->pkts[owner][st->count[owner]++] = m;
}

/* Enqueues every staged datagram to its owner's inbox; what does not fit
 * is freed and counted as quic_forward_dropped, never retried. */
void qs_steer_flush(struct qs_steer_stage *st, struct rte_ring *const *inbox,
		    uint16_t n_workers, struct qs_stats *stats);

/* Multi-producer (RTS, safe when lcores share CPUs) single-consumer ring. */
struct rte_ring *qs_steer_inbox_create(uint16_t worker, unsigned int size,
				       int socket);

#endif
