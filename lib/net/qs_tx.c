#include "net/qs_tx.h"

void
qs_tx_flush(struct qs_tx *tx, uint16_t pi)
{
	struct qs_tx_queue *txq = &tx->q[pi];

	/* at most two runs: up to the end of the ring, then from its start */
	while (txq->n > 0) {
		uint16_t run = RTE_MIN(txq->n, (uint16_t)(QS_TX_QUEUE - txq->head));
		uint16_t sent = tx->burst(tx, pi, &txq->pkts[txq->head], run);

		txq->head = (uint16_t)((txq->head + sent) & (QS_TX_QUEUE - 1));
		txq->n -= sent;
		if (sent < run)
			break;          /* the NIC queue is full */
	}
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
		struct qs_tx_queue *txq = &tx->q[pi];
		uint16_t run = RTE_MIN(txq->n, (uint16_t)(QS_TX_QUEUE - txq->head));

		rte_pktmbuf_free_bulk(&txq->pkts[txq->head], run);
		rte_pktmbuf_free_bulk(txq->pkts, txq->n - run);
		txq->head = 0;
		txq->n = 0;
	}
}
