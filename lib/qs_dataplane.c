/* Setup and teardown of the dataplane, done by the main lcore. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "qs_log.h"
#include "qs_content.h"
#include "qs_lcore.h"
#include "qs_tls.h"

#define POOL_CACHE 256
#define POOL_SPARE 1024
#define CTL_RING_SIZE 16
#define STOP_POLL_US 10000
#define STOP_SLACK_NS (2ull * 1000000000)

static uint32_t
pool_size(const struct qs_config *cfg, uint16_t n_workers, uint16_t n_ports)
{
	uint32_t per_worker;

	if (cfg->mbufs != 0)
		return cfg->mbufs;
	/* every descriptor may hold one, every ring and staging slot too */
	per_worker = n_ports * (cfg->rx_desc + cfg->tx_desc + QS_TX_BURST) +
		     cfg->inbox_size + 2 * QS_MAX_BURST;
	return n_workers * (per_worker + POOL_CACHE) + POOL_CACHE + POOL_SPARE;
}

int
qs_dataplane_init(struct qs_dataplane *dp, const struct qs_config *cfg)
{
	char err[QS_ERR_LEN];
	unsigned int lcore_id;
	uint16_t w = 0, n_ports = rte_eth_dev_count_avail();
	uint32_t n_mbufs;
	int rc;

	memset(dp, 0, sizeof(*dp));
	dp->cfg = cfg;
	rte_spinlock_init(&dp->stats_lock);
	dp->n_workers = (uint16_t)(rte_lcore_count() - 1);
	if (dp->n_workers == 0) {
		RTE_LOG(ERR, QS_DP,
			"no worker lcore: the main lcore runs only the control "
			"plane; give at least two lcores (e.g. -l 0-1)\n");
		return -1;
	}
	if (qs_cid_codec_init(&dp->codec, cfg->cid_format, dp->n_workers, err,
			      sizeof(err)) != 0) {
		RTE_LOG(ERR, QS_DP, "%s\n", err);
		return -1;
	}
	if (qs_endpoint_init(cfg) != 0)
		return -1;
	if (qs_tls_init(cfg, err, sizeof(err)) != 0 ||
	    qs_content_load(cfg->docroot, (uint64_t)cfg->docroot_max_mb << 20, err,
			    sizeof(err)) != 0) {
		fprintf(stderr, "quicsteer: config error: %s\n", err);
		return -1;
	}
	if (!qs_tls_enabled())
		RTE_LOG(WARNING, QS_DP,
			"no [tls] cert and key: HTTP/3 connections are refused "
			"(quic_drop_no_tls); steering and resets still work\n");
	if (cfg->docroot[0] != '\0')
		RTE_LOG(INFO, QS_DP, "docroot %s: %zu files, %" PRIu64 " bytes\n",
			cfg->docroot, qs_content_count(), qs_content_bytes());
	qs_h3_global_init();

	n_mbufs = pool_size(cfg, dp->n_workers, RTE_MAX(n_ports, 1));
	dp->pool = rte_pktmbuf_pool_create("qs_mbufs", n_mbufs, POOL_CACHE, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	if (dp->pool == NULL) {
		RTE_LOG(ERR, QS_DP,
			"cannot create a pool of %u mbufs: %s (give EAL more "
			"memory with -m, or lower [dataplane] mbufs)\n",
			n_mbufs, rte_strerror(rte_errno));
		return -1;
	}
	RTE_LOG(INFO, QS_DP, "mbuf pool: %u mbufs for %u workers\n", n_mbufs,
		dp->n_workers);

	rc = qs_port_init_all(dp->ports, &dp->n_ports, dp->n_workers,
			      cfg->rx_desc, cfg->tx_desc, dp->pool);
	if (rc != 0)
		return -1;
	for (uint16_t i = 0; i < dp->n_ports; i++)
		dp->port_index[dp->ports[i].port_id] = (uint8_t)i;

	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		struct qs_lcore *lc;
		int socket = (int)rte_lcore_to_socket_id(lcore_id);

		char ring_name[RTE_RING_NAMESIZE];

		dp->inbox[w] = qs_steer_inbox_create(w, cfg->inbox_size, socket);
		lc = rte_zmalloc_socket("qs_lcore", sizeof(*lc),
					RTE_CACHE_LINE_SIZE, socket);
		dp->workers[w] = lc;
		if (dp->inbox[w] == NULL || lc == NULL) {
			RTE_LOG(ERR, QS_DP, "worker %u: no memory for its state\n", w);
			return -1;
		}
		snprintf(ring_name, sizeof(ring_name), "qs_ctl_%u", w);
		lc->ctl = rte_ring_create(ring_name, CTL_RING_SIZE, socket,
					  RING_F_SC_DEQ);  /* CLI and telemetry both ask */
		lc->dp = dp;
		lc->lcore_id = lcore_id;
		lc->worker = w;
		lc->queue = w;
		lc->steer = cfg->steer == QS_STEER_MODE_CID;
		lc->burst = cfg->burst;
		lc->inbox_drain = cfg->inbox_drain;
		lc->idle_sleep_us = cfg->idle_sleep_us;
		lc->inbox = dp->inbox[w];
		qs_ratelimit_init(&lc->reset_limit, cfg->reset_rate,
				  cfg->reset_burst);
		lc->now = qs_now_ns();
		if (lc->ctl == NULL || qs_server_init(&lc->srv, lc, socket) != 0) {
			RTE_LOG(ERR, QS_DP,
				"worker %u: no memory for its connection table "
				"(max_conns %u; give EAL more with -m)\n", w,
				cfg->max_conns);
			return -1;
		}
		w++;
	}
	RTE_LOG(INFO, QS_DP, "%u workers, steering %s, cid format %s\n",
		dp->n_workers, cfg->steer == QS_STEER_MODE_CID ? "by cid" : "off",
		dp->codec.name);
	return 0;
}

int
qs_dataplane_launch(struct qs_dataplane *dp)
{
	for (uint16_t w = 0; w < dp->n_workers; w++) {
		int rc = rte_eal_remote_launch(qs_lcore_main, dp->workers[w],
					       dp->workers[w]->lcore_id);
		if (rc != 0) {
			RTE_LOG(ERR, QS_DP, "cannot launch worker %u: %s\n", w,
				rte_strerror(-rc));
			__atomic_store_n(&dp->quit, true, __ATOMIC_RELAXED);
			rte_eal_mp_wait_lcore();
			return -1;
		}
	}
	dp->launched = true;
	return 0;
}

void
qs_dataplane_fini(struct qs_dataplane *dp)
{
	struct rte_mbuf *m;

	__atomic_store_n(&dp->quit, true, __ATOMIC_RELAXED);
	if (dp->launched)
		rte_eal_mp_wait_lcore();
	dp->launched = false;
	qs_port_stop_all(dp->ports, dp->n_ports);
	dp->n_ports = 0;
	rte_spinlock_lock(&dp->stats_lock);
	dp->n_workers = 0;
	for (uint16_t w = 0; w < QS_MAX_WORKERS; w++) {
		if (dp->inbox[w] != NULL) {
			while (rte_ring_dequeue(dp->inbox[w], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(dp->inbox[w]);
			dp->inbox[w] = NULL;
		}
		if (dp->workers[w] != NULL) {
			qs_server_fini(&dp->workers[w]->srv);
			rte_ring_free(dp->workers[w]->ctl);
		}
		rte_free(dp->workers[w]);
		dp->workers[w] = NULL;
	}
	rte_spinlock_unlock(&dp->stats_lock);
	rte_mempool_free(dp->pool);
	dp->pool = NULL;
	qs_tls_fini();
	qs_content_free();
}

void
qs_dataplane_stop(struct qs_dataplane *dp)
{
	uint64_t grace_ns = (uint64_t)dp->cfg->shutdown_timeout_ms * 1000000;
	uint64_t give_up = qs_now_ns() + grace_ns + STOP_SLACK_NS;
	bool running = true;

	if (!dp->launched)
		return;
	dp->stop_deadline = qs_now_ns() + grace_ns;
	__atomic_store_n(&dp->stopping, true, __ATOMIC_RELEASE);
	while (running && qs_now_ns() < give_up) {
		running = false;
		for (uint16_t w = 0; w < dp->n_workers; w++)
			if (rte_eal_get_lcore_state(dp->workers[w]->lcore_id) ==
			    RUNNING)
				running = true;
		if (running)
			rte_delay_us_sleep(STOP_POLL_US);
	}
	if (running)
		RTE_LOG(WARNING, QS_DP, "workers did not stop in time; forcing\n");
	__atomic_store_n(&dp->quit, true, __ATOMIC_RELEASE);
}

void
qs_dataplane_stats(struct qs_dataplane *dp, uint16_t w, bool since_clear,
		   struct qs_stats *out)
{
	struct qs_stats now;

	qs_stats_snapshot(&dp->workers[w]->stats, &now);
	if (!since_clear) {
		*out = now;
		return;
	}
	qs_stats_sub(out, &now, &dp->cleared[w]);
	/* a gauge, not a count: clearing does not zero it */
	out->quic_conn_active = now.quic_conn_active;
}

void
qs_dataplane_stats_clear(struct qs_dataplane *dp)
{
	for (uint16_t w = 0; w < dp->n_workers; w++)
		qs_stats_snapshot(&dp->workers[w]->stats, &dp->cleared[w]);
}
