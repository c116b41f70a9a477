#include <string.h>

#include "net/qs_tx.h"

void
qs_tx_flush(struct qs_tx *tx, uint16_t pi)
{
	struct qs_tx_queue *txq = &tx->q[pi];
	uint16_t sent;

	if (txq->n == 0)
		return;
	sent = tx->burst(tx, pi, txq->pkts, txq->n);
	if (sent < txq->n)
		memmove(txq->pkts, txq->pkts + sent,
			(txq->n - sent) * sizeof(txq->pkts[0]));
	txq->n -= sent;
}

void
qs_tx_flush_all(struct qs_tx *tx)
{
	for (uint16_t pi = 0; pi < tx->n_ports; pi++)
		qs_tx_flush(tx, pi);
}

void
qs_tx_discard(struct qs_tx *tx)
{
	for (uint16_t pi = 0; pi < QS_MAX_PORTS; pi++) {
		rte_pktmbuf_free_bulk(tx->q[pi].pkts, tx->q[pi].n);
		tx->q[pi].n = 0;
	}
}
