/* The TX stage's per-port ring (net/qs_tx.h), driven by a NIC that takes
 * only some packets per burst:
 * - below QS_TX_BURST nothing goes until a flush; at QS_TX_BURST a burst
 *   goes by itself;
 * - every packet leaves exactly once and in the order it was queued, over
 *   many partial sends that wrap the ring around;
 * - a full queue first tries to send, then drops and counts (drop_tx_full);
 *   qs_tx_room says what is left;
 * - qs_tx_discard frees what is queued, wrapped or not: the pool is whole
 *   again at the end. */
#include <stdint.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "base/qs_stats.h"
#include "net/qs_port.h"
#include "net/qs_tx.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define POOL_SIZE 2047
#define ROUNDS 40

static struct rte_mempool *pool;
static struct qs_port ports[1];
static uint8_t port_index[RTE_MAX_ETHPORTS];
static struct qs_stats stats;
static struct qs_tx tx;

/* the NIC: takes at most `nic_takes` packets a burst, checks their order */
static uint16_t nic_takes;
static uint32_t next_seq, sent_total, out_of_order, bursts;

static uint32_t
seq_of(struct rte_mbuf *m)
{
	return *rte_pktmbuf_mtod(m, uint32_t *);
}

static uint16_t
nic_burst(struct qs_tx *t, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t take = RTE_MIN(n, nic_takes);

	(void)t; (void)pi;
	bursts++;
	for (uint16_t i = 0; i < take; i++) {
		if (seq_of(pkts[i]) != next_seq)
			out_of_order++;
		next_seq = seq_of(pkts[i]) + 1;
		sent_total++;
		rte_pktmbuf_free(pkts[i]);
	}
	return take;
}

static uint32_t queued_seq;

static void
enqueue_n(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

		if (m == NULL) {
			CHECK(!"an mbuf for the test");
			return;
		}
		*(uint32_t *)rte_pktmbuf_append(m, sizeof(uint32_t)) = queued_seq++;
		m->port = 0;
		qs_tx_enqueue(&tx, m);
	}
}

static void
test_bursts(void)
{
	TEST_CONTEXT("bursts");
	nic_takes = QS_TX_QUEUE;
	enqueue_n(QS_TX_BURST - 1);
	CHECK_EQ(sent_total, 0);
	CHECK_EQ(qs_tx_room(&tx, 0), QS_TX_QUEUE - (QS_TX_BURST - 1));
	enqueue_n(1);
	CHECK_EQ(sent_total, QS_TX_BURST);
	enqueue_n(5);
	qs_tx_flush_all(&tx);
	CHECK_EQ(sent_total, QS_TX_BURST + 5);
	CHECK_EQ(qs_tx_room(&tx, 0), QS_TX_QUEUE);
	TEST_CONTEXT_CLEAR();
}

/* A NIC that takes 7 a burst, then none, then everything: the ring wraps
 * many times over partial sends; nothing is lost, doubled or reordered. */
static void
test_partial_sends(void)
{
	TEST_CONTEXT("partial sends around the ring");
	for (int r = 0; r < ROUNDS; r++) {
		nic_takes = 7;
		enqueue_n(QS_TX_QUEUE / 2 + 13);
		nic_takes = 0;
		qs_tx_flush_all(&tx);
		nic_takes = (uint16_t)(3 + r % 11);
		qs_tx_flush_all(&tx);
		qs_tx_flush_all(&tx);
	}
	nic_takes = QS_TX_QUEUE;
	qs_tx_flush_all(&tx);
	CHECK_EQ(sent_total, queued_seq);
	CHECK_EQ(out_of_order, 0);
	CHECK_EQ(stats.drop_tx_full, 0);
	CHECK_EQ(qs_tx_room(&tx, 0), QS_TX_QUEUE);
	TEST_CONTEXT_CLEAR();
}

static void
test_full(void)
{
	uint32_t before = sent_total;

	TEST_CONTEXT("a full queue");
	nic_takes = 0;
	enqueue_n(QS_TX_QUEUE + 10);
	CHECK_EQ(sent_total, before);
	CHECK_EQ(qs_tx_room(&tx, 0), 0);
	CHECK_EQ(stats.drop_tx_full, 10);
	/* the dropped ones were the newest: the rest leaves in order */
	nic_takes = 64;
	qs_tx_flush_all(&tx);
	qs_tx_flush_all(&tx);
	CHECK_EQ(qs_tx_room(&tx, 0), 128);
	CHECK_EQ(out_of_order, 0);
	TEST_CONTEXT_CLEAR();
}

static void
test_discard(void)
{
	TEST_CONTEXT("discard");
	/* head somewhere in the middle, the queue wrapped */
	nic_takes = 0;
	enqueue_n(100);
	qs_tx_discard(&tx);
	CHECK_EQ(qs_tx_room(&tx, 0), QS_TX_QUEUE);
	CHECK_EQ(rte_mempool_in_use_count(pool), 0);
	TEST_CONTEXT_CLEAR();
}

int
main(void)
{
	test_eal_init("tx", "0");
	pool = rte_pktmbuf_pool_create("test_tx", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "test_tx: no mempool\n");
		return 2;
	}
	tx.ports = ports;
	tx.port_index = port_index;
	tx.n_ports = 1;
	tx.burst = nic_burst;
	tx.stats = &stats;

	test_bursts();
	test_partial_sends();
	test_full();
	test_discard();

	rte_mempool_free(pool);
	test_eal_cleanup();
	return test_done("test_tx");
}
