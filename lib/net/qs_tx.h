/* The TX stage: per-lcore queues, one per port, that gather what the lcore
 * sends and hand it on in bursts (to the NIC queue, or in the pipeline
 * layout to the I/O lcore that sends for it). A full queue holds packets
 * back rather than dropping them: connections check qs_tx_room first. */
#ifndef QS_TX_H
#define QS_TX_H

#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "base/qs_limits.h"
#include "base/qs_stats.h"
#include "net/qs_port.h"

#define QS_TX_BURST 32
/* packets a lcore holds per port when the NIC queue is full: connections
 * stop writing (back-pressure) before anything is dropped */
#define QS_TX_QUEUE 512                 /* a power of 2 */

/* A ring: a partial send leaves the rest where it is (no memmove of up to
 * QS_TX_QUEUE pointers each time the NIC queue is full, as in a bulk
 * download). */
struct qs_tx_queue {
	uint16_t head;                  /* the oldest packet */
	uint16_t n;
	struct rte_mbuf *pkts[QS_TX_QUEUE];
};

struct qs_tx;

/* Hands n packets of port index pi on; returns how many were taken. */
typedef uint16_t (*qs_tx_burst_t)(struct qs_tx *tx, uint16_t pi,
				  struct rte_mbuf **pkts, uint16_t n);

struct qs_tx {
	/* read-only after start */
	const struct qs_port *ports;          /* by port index */
	const uint8_t *port_index;            /* ethdev port id -> index */
	uint16_t n_ports;
	qs_tx_burst_t burst;
	/* written only by the owning lcore */
	struct qs_stats *stats;
	struct qs_tx_queue q[QS_MAX_PORTS];
};

/* Sends what queue pi holds; keeps what was not taken. */
void qs_tx_flush(struct qs_tx *tx, uint16_t pi);
/* Every port's queue. */
void qs_tx_flush_all(struct qs_tx *tx);
/* Frees whatever is still queued (teardown). */
void qs_tx_discard(struct qs_tx *tx);

static inline const struct qs_tx_caps *
qs_tx_caps(const struct qs_tx *tx, uint16_t port_id)
{
	return &tx->ports[tx->port_index[port_id]].caps;
}

/* Room left in the queue towards port_id. */
static inline unsigned int
qs_tx_room(const struct qs_tx *tx, uint16_t port_id)
{
	return QS_TX_QUEUE - tx->q[tx->port_index[port_id]].n;
}

/* Queues m for transmission on m->port; drops and counts when full. */
static inline void
qs_tx_enqueue(struct qs_tx *tx, struct rte_mbuf *m)
{
	uint16_t pi = tx->port_index[m->port];
	struct qs_tx_queue *txq = &tx->q[pi];

	if (unlikely(txq->n == QS_TX_QUEUE)) {
		qs_tx_flush(tx, pi);
		if (txq->n == QS_TX_QUEUE) {
			tx->stats->drop_tx_full++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	txq->pkts[(txq->head + txq->n++) & (QS_TX_QUEUE - 1)] = m;
	if (txq->n >= QS_TX_BURST)
		qs_tx_flush(tx, pi);
}

#endif
