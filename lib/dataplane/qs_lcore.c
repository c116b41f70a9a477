/* The dataplane loops (docs/architecture.md "Threads"). Run-to-completion: rx_burst
 * -> classify -> steer -> flush staged datagrams to their owners -> drain
 * own inbox -> QUIC input and timers -> tx_burst -> back off when idle.
 * Pipeline: I/O lcores do the first half and send what workers hand them;
 * workers do the second half. */
#include <inttypes.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_prefetch.h>

#include "base/qs_log.h"
#include "dataplane/qs_dataplane.h"
#include "dataplane/qs_rx.h"
#include "net/qs_classify.h"

/* empty polls spent spinning before the loop starts to sleep */
#define IDLE_SPIN_POLLS 256
/* UDP checksums judged together to decide whether most fail */
#define CKSUM_WINDOW 64
/* drain: how often a worker looks for finished connections */
#define DRAIN_SWEEP_NS (10ull * 1000000)

static uint16_t
tx_to_port(struct qs_tx *tx, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	struct qs_lcore *lc = qs_container_of(tx, struct qs_lcore, tx);
	uint64_t bytes = 0;
	uint16_t sent;

	/* counted while the mbufs are ours: the driver may free what it
	 * sent (fast free) before tx_burst returns */
	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	sent = rte_eth_tx_burst(lc->dp->ports[pi].port_id, lc->queue, pkts, n);
	for (uint16_t i = sent; i < n; i++)
		bytes -= rte_pktmbuf_pkt_len(pkts[i]);
	lc->stats.tx_packets += sent;
	lc->stats.tx_bytes += bytes;
	return sent;
}

/* A pipeline worker's packets leave through its I/O lcore (which counts
 * them as sent). */
static uint16_t
tx_to_io_lcore(struct qs_tx *tx, uint16_t pi, struct rte_mbuf **pkts,
	       uint16_t n)
{
	struct qs_lcore *lc = qs_container_of(tx, struct qs_lcore, tx);

	(void)pi;
	return (uint16_t)rte_ring_enqueue_burst(lc->tx_ring, (void **)pkts, n,
						NULL);
}

static uint16_t
rx_poll(struct qs_lcore *lc, uint16_t pi)
{
	struct rte_mbuf *pkts[QS_MAX_BURST];
	uint16_t n;

	n = rte_eth_rx_burst(lc->dp->ports[pi].port_id, lc->queue, pkts,
			     (uint16_t)lc->burst);
	if (n == 0)
		return 0;
	qs_rx_burst(lc, pi, pkts, n);
	return n;
}

/* Says once per worker why most datagrams fail the UDP checksum, when they
 * do: more than half of a window of CKSUM_WINDOW. */
static void
cksum_watch(struct qs_lcore *lc, bool bad)
{
	if (likely(lc->cksum_warned))
		return;
	lc->cksum_bad += bad;
	if (++lc->cksum_checked < CKSUM_WINDOW)
		return;
	if (lc->cksum_bad > CKSUM_WINDOW / 2) {
		RTE_LOG(WARNING, QS_LCORE,
			"worker %u: %u of the last %u UDP datagrams had a bad "
			"checksum and were dropped (drop_bad_checksum). Likely "
			"cause: a veth or container peer with TX checksum offload "
			"on hands af_packet frames whose checksum was never "
			"computed; switch it off on the peer: ethtool -K <peer> "
			"tx off\n", lc->worker, lc->cksum_bad, CKSUM_WINDOW);
		lc->cksum_warned = true;
	}
	lc->cksum_checked = lc->cksum_bad = 0;
}

/* The owner's last checks before the QUIC server, done here rather than
 * in the steer stage, so that each datagram is checked once, by the lcore
 * that reads it whole anyway. An IPv4 header checksum the RX fast path
 * left unverified (no PMD verdict) and that fails makes the datagram
 * malformed, as the classifier would have said (drop_malformed). A
 * datagram whose UDP checksum fails is dropped, since the AEAD does not
 * cover addresses and a corrupted source port would still decrypt and send
 * ngtcp2 validating a bogus path. */
static inline void
server_input(struct qs_lcore *lc, struct rte_mbuf *m)
{
	bool ok;

	if (unlikely(!qs_net_ipv4_hdr_ok(m))) {
		lc->stats.drop_malformed++;
		RTE_LOG(DEBUG, QS_LCORE, "worker %u: bad IPv4 header checksum\n",
			lc->worker);
		rte_pktmbuf_free(m);
		return;
	}
	ok = qs_net_udp_cksum_ok(m);

	cksum_watch(lc, !ok);
	if (unlikely(!ok)) {
		lc->stats.drop_bad_checksum++;
		RTE_LOG(DEBUG, QS_LCORE, "worker %u: bad UDP checksum\n",
			lc->worker);
		rte_pktmbuf_free(m);
		return;
	}
	qs_server_input(&lc->srv, m);
}

static void
rx_local_handle(struct qs_lcore *lc, struct rte_mbuf **pkts, uint16_t n)
{
	lc->stats.quic_local += n;
	for (uint16_t i = 0; i < n; i++)
		server_input(lc, pkts[i]);
}

/* Software hash of the 4-tuple where the PMD gave no RSS hash, so every
 * Initial of one connection reaches the same worker. */
static uint32_t
flow_hash(const struct rte_mbuf *m)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						    RTE_ETHER_HDR_LEN);
	/* rte_hash_crc reads 8- and 4-byte words: hash an aligned copy */
	uint64_t key[5];
	size_t addrs;

	if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)
		return m->hash.rss;
	if (RTE_ETH_IS_IPV6_HDR(m->packet_type)) {
		addrs = 32;
		memcpy(key, l3 + 8, addrs);              /* both addresses */
	} else {
		addrs = 8;
		memcpy(key, l3 + 12, addrs);
	}
	memcpy((uint8_t *)key + addrs, l3 + qs_net_l3_len(m), 4);   /* both ports */
	return rte_hash_crc(key, (uint32_t)addrs + 4, 0);
}

/* I/O lcore: datagrams that name no owner (Initials, 0-RTT, unknown CIDs)
 * go to the worker their 4-tuple hashes to. */
static void
rx_local_by_hash(struct qs_lcore *lc, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t n_workers = lc->dp->n_workers;

	for (uint16_t i = 0; i < n; i++)
		qs_steer_stage_add(&lc->stage, (uint16_t)(flow_hash(pkts[i]) % n_workers),
				   pkts[i]);
	qs_steer_flush(&lc->stage, lc->dp->inbox, n_workers, &lc->stats);
}

/* Datagrams other lcores moved here; never forwarded again. */
static unsigned int
inbox_drain(struct qs_lcore *lc)
{
	struct rte_mbuf *pkts[QS_MAX_BURST];
	unsigned int total = 0, n;

	do {
		n = rte_ring_dequeue_burst(lc->inbox, (void **)pkts,
					   RTE_MIN((unsigned int)QS_MAX_BURST,
						   lc->inbox_drain - total),
					   NULL);
		lc->stats.quic_forwarded_in += n;
		for (unsigned int i = 0; i < n; i++)
			server_input(lc, pkts[i]);
		total += n;
	} while (n == QS_MAX_BURST && total < lc->inbox_drain);
	return total;
}

static void
load_start(struct qs_lcore *lc)
{
	struct qs_lcore_load *ld = &lc->load;

	memset(ld, 0, sizeof(*ld));
	ld->interval = rte_get_tsc_hz();
	ld->start_tsc = ld->window_tsc = rte_rdtsc();
}

/* One loop iteration that began at t0: its cycles count as busy when it
 * found work; at each whole interval the last one's figures are published. */
static inline void
load_account(struct qs_lcore *lc, uint64_t t0, unsigned int work)
{
	struct qs_lcore_load *ld = &lc->load;
	uint64_t span;

	if (work != 0)
		__atomic_store_n(&ld->busy_cycles,
				 ld->busy_cycles + (rte_rdtsc() - t0), __ATOMIC_RELAXED);
	span = t0 - ld->window_tsc;
	if (likely(span < ld->interval))
		return;
	__atomic_store_n(&ld->busy_pct, (uint32_t)((ld->busy_cycles - ld->window_busy) *
						   100 / span), __ATOMIC_RELAXED);
	__atomic_store_n(&ld->rx_pps, (uint32_t)((lc->stats.rx_packets - ld->window_rx) *
						 ld->interval / span), __ATOMIC_RELAXED);
	__atomic_store_n(&ld->tx_pps, (uint32_t)((lc->stats.tx_packets - ld->window_tx) *
						 ld->interval / span), __ATOMIC_RELAXED);
	ld->window_tsc = t0;
	ld->window_busy = ld->busy_cycles;
	ld->window_rx = lc->stats.rx_packets;
	ld->window_tx = lc->stats.tx_packets;
}

void
qs_lcore_load_read(const struct qs_lcore *lc, struct qs_load_view *v)
{
	const struct qs_lcore_load *ld = &lc->load;
	uint64_t start = __atomic_load_n(&ld->start_tsc, __ATOMIC_RELAXED);

	v->busy_cycles = __atomic_load_n(&ld->busy_cycles, __ATOMIC_RELAXED);
	v->cycles = start != 0 ? rte_rdtsc() - start : 0;
	v->busy_pct = __atomic_load_n(&ld->busy_pct, __ATOMIC_RELAXED);
	v->busy_pct_total = v->cycles != 0 ?
		(uint32_t)((unsigned __int128)v->busy_cycles * 100 / v->cycles) : 0;
	v->rx_pps = __atomic_load_n(&ld->rx_pps, __ATOMIC_RELAXED);
	v->tx_pps = __atomic_load_n(&ld->tx_pps, __ATOMIC_RELAXED);
}

/* Spin briefly, then sleep, so more lcores than CPUs stay responsive. */
static inline void
idle_backoff(struct qs_lcore *lc, unsigned int work)
{
	if (work != 0) {
		lc->idle_polls = 0;
		return;
	}
	if (++lc->idle_polls < IDLE_SPIN_POLLS || lc->idle_sleep_us == 0)
		rte_pause();
	else
		rte_delay_us_sleep(lc->idle_sleep_us);
}

/* Control-plane requests (show conns): answered between bursts. */
static void
ctl_poll(struct qs_lcore *lc)
{
	struct qs_ctl_req *req = NULL;

	while (rte_ring_dequeue(lc->ctl, (void **)&req) == 0)
		qs_ctl_serve(&lc->srv.set, req);
}

/* Graceful stop: the GOAWAY notice once, then close when requests are done
 * and the final GOAWAY went, or the deadline passed. A worker that is done goes on polling until every
 * worker is done, so that new Initials still get CONNECTION_REFUSED and
 * packets for the others are still steered; true when the loop may end. */
static bool
stop_progress(struct qs_lcore *lc)
{
	struct qs_dataplane *dp = lc->dp;

	if (!lc->stop_done) {
		if (!lc->srv.set.shutting_down)
			qs_server_shutdown(&lc->srv);
		if (qs_server_busy(&lc->srv) &&
		    lc->env.now < dp->stop_deadline)
			return false;
		qs_server_close_all(&lc->srv);
		qs_tx_flush_all(&lc->tx);
		lc->stop_done = true;
		__atomic_fetch_add(&dp->workers_stopped, 1, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&dp->workers_stopped, __ATOMIC_ACQUIRE) ==
	       dp->n_workers;
}

/* Drain: GOAWAY once, then close each connection as it finishes (all at
 * the deadline); the worker runs on. Counted done when it has none left:
 * new ones are refused, so none comes back. */
static void
drain_progress(struct qs_lcore *lc)
{
	struct qs_dataplane *dp = lc->dp;
	uint64_t now = lc->env.now;

	if (lc->drain_done)
		return;
	if (!lc->srv.set.shutting_down) {
		qs_server_shutdown(&lc->srv);
		if (lc->worker == 0)
			RTE_LOG(INFO, QS_LCORE, "draining: GOAWAY to every "
				"connection, new ones refused, up to %u ms for "
				"responses in flight\n", dp->shutdown_timeout_ms);
	}
	if (now >= lc->drain_sweep_at) {
		lc->drain_sweep_at = now + DRAIN_SWEEP_NS;
		if (now >= dp->drain_deadline)
			qs_server_close_all(&lc->srv);
		else
			qs_server_close_finished(&lc->srv);
	}
	if (lc->srv.set.n_conns > 0)
		return;
	lc->drain_done = true;
	if (__atomic_add_fetch(&dp->workers_drained, 1, __ATOMIC_ACQ_REL) ==
	    dp->n_workers)
		RTE_LOG(INFO, QS_LCORE, "drain complete: no connection left "
			"after %" PRIu64 " ms\n",
			(qs_now_ns() - dp->drain_started) / 1000000);
}

static inline bool
draining(const struct qs_dataplane *dp)
{
	return unlikely(__atomic_load_n(&dp->draining, __ATOMIC_ACQUIRE));
}

static inline bool
stopping(const struct qs_dataplane *dp)
{
	return unlikely(__atomic_load_n(&dp->stopping, __ATOMIC_RELAXED));
}

static inline bool
quitting(const struct qs_dataplane *dp)
{
	return __atomic_load_n(&dp->quit, __ATOMIC_RELAXED);
}

static void
log_start(const struct qs_lcore *lc, const char *what)
{
	RTE_LOG(INFO, QS_LCORE, "%s %s on lcore %u: %u ports, queue %d\n", what,
		lc->name, lc->lcore_id, lc->dp->n_ports,
		lc->role == QS_ROLE_WORKER ? -1 : (int)lc->queue);
}

static unsigned int
rx_poll_all(struct qs_lcore *lc)
{
	unsigned int n = 0;

	for (uint16_t pi = 0; pi < lc->dp->n_ports; pi++)
		n += rx_poll(lc, pi);
	return n;
}

static unsigned int
rx_poll_none(struct qs_lcore *lc)
{
	(void)lc;
	return 0;
}

void
qs_lcore_set_generation(struct qs_lcore *lc, const struct qs_generation *g)
{
	lc->gen = g;
	lc->env.cfg = &g->cfg;
	lc->env.tls = g->tls;
	lc->h3.content = g->content;
}

/* The top of the loop: nothing of the last iteration is in use any more
 * but what holds keep, so a reload's generation takes over here. */
static inline void
generation_pick_up(struct qs_lcore *lc)
{
	const struct qs_generation *g = qs_reload_pick_up(&lc->dp->reload,
							  lc->worker);

	if (unlikely(g != lc->gen))
		qs_lcore_set_generation(lc, g);
}

/* The loop of a lcore that owns connections: with its own queues (RTC) or
 * fed only through its inbox (pipeline worker). */
static int
owner_loop(struct qs_lcore *lc, unsigned int (*poll_queues)(struct qs_lcore *))
{
	struct qs_dataplane *dp = lc->dp;

	log_start(lc, "worker");
	load_start(lc);
	while (!quitting(dp)) {
		uint64_t t0 = rte_rdtsc();
		unsigned int work;

		generation_pick_up(lc);
		lc->env.now = qs_tsc_ns(t0);
		work = poll_queues(lc);
		work += inbox_drain(lc);
		work += qs_server_run(&lc->srv);
		qs_tx_flush_all(&lc->tx);
		ctl_poll(lc);
		if (stopping(dp) && stop_progress(lc))
			break;
		if (draining(dp))
			drain_progress(lc);
		load_account(lc, t0, work);
		idle_backoff(lc, work);
	}
	qs_reload_worker_exit(&dp->reload, lc->worker);
	RTE_LOG(INFO, QS_LCORE, "worker %s stopped\n", lc->name);
	return 0;
}

int
qs_lcore_main_rtc(void *arg)
{
	return owner_loop(arg, rx_poll_all);
}

int
qs_lcore_main_worker(void *arg)
{
	return owner_loop(arg, rx_poll_none);
}

/* What workers handed over to be sent, into this lcore's TX queues. */
static unsigned int
tx_ring_drain(struct qs_lcore *lc)
{
	struct rte_mbuf *pkts[QS_MAX_BURST];
	unsigned int n = rte_ring_dequeue_burst(lc->tx_ring, (void **)pkts,
						QS_MAX_BURST, NULL);

	for (unsigned int i = 0; i < n; i++)
		qs_tx_enqueue(&lc->tx, pkts[i]);
	return n;
}

int
qs_lcore_main_io(void *arg)
{
	struct qs_lcore *lc = arg;
	struct qs_dataplane *dp = lc->dp;

	log_start(lc, "I/O lcore");
	load_start(lc);
	while (!quitting(dp)) {
		uint64_t t0 = rte_rdtsc();
		unsigned int work = 0;
		/* sampled before the drain: what the last worker sent is taken */
		bool workers_done = __atomic_load_n(&dp->workers_stopped,
						    __ATOMIC_ACQUIRE) == dp->n_workers;

		lc->env.now = qs_tsc_ns(t0);
		work += rx_poll_all(lc);
		work += tx_ring_drain(lc);
		qs_tx_flush_all(&lc->tx);
		if (stopping(dp) && workers_done && work == 0)
			break;
		load_account(lc, t0, work);
		idle_backoff(lc, work);
	}
	RTE_LOG(INFO, QS_LCORE, "I/O lcore %s stopped\n", lc->name);
	return 0;
}

void
qs_lcore_set_role(struct qs_lcore *lc, enum qs_lcore_role role)
{
	lc->role = role;
	lc->tx.burst = role == QS_ROLE_WORKER ? tx_to_io_lcore : tx_to_port;
	lc->rx_local = role == QS_ROLE_IO ? rx_local_by_hash : rx_local_handle;
}
