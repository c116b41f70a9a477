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

#include "base/qs_log.h"
#include "http/qs_content.h"
#include "dataplane/qs_dataplane.h"
#include "quic/qs_stateless.h"
#include "quic/qs_tls.h"

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

/* The lcores' roles: every worker lcore in RTC; in the pipeline layout the
 * first io_lcores of them do I/O and the rest are workers. */
static int
plan_lcores(struct qs_dataplane *dp, const struct qs_config *cfg,
	    uint16_t *n_io)
{
	uint16_t n = (uint16_t)(rte_lcore_count() - 1);

	*n_io = cfg->layout == QS_LAYOUT_PIPELINE ? (uint16_t)cfg->io_lcores : 0;
	if (n == 0) {
		RTE_LOG(ERR, QS_DP,
			"no worker lcore: the main lcore runs only the control "
			"plane; give at least two lcores (e.g. -l 0-1)\n");
		return -1;
	}
	if (n <= *n_io) {
		RTE_LOG(ERR, QS_DP,
			"pipeline layout with io_lcores = %u needs more than %u "
			"lcores besides the main one (have %u)\n", *n_io, *n_io, n);
		return -1;
	}
	if (n - *n_io > QS_MAX_WORKERS) {
		RTE_LOG(ERR, QS_DP, "%u worker lcores: at most %d\n", n - *n_io,
			QS_MAX_WORKERS);
		return -1;
	}
	dp->n_workers = (uint16_t)(n - *n_io);
	dp->n_lcores = n;
	return 0;
}

static struct qs_lcore *
lcore_new(struct qs_dataplane *dp, unsigned int lcore_id, uint16_t index,
	  enum qs_lcore_role role, uint16_t n_io)
{
	const struct qs_config *cfg = dp->cfg;
	int socket = (int)rte_lcore_to_socket_id(lcore_id);
	char ring_name[RTE_RING_NAMESIZE];
	struct qs_lcore *lc;

	lc = rte_zmalloc_socket("qs_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE,
				socket);
	if (lc == NULL)
		return NULL;
	dp->lcores[index] = lc;
	lc->dp = dp;
	lc->lcore_id = lcore_id;
	lc->steer = cfg->steer == QS_STEER_MODE_CID;
	lc->burst = cfg->burst;
	lc->inbox_drain = cfg->inbox_drain;
	lc->idle_sleep_us = cfg->idle_sleep_us;
	qs_ratelimit_init(&lc->reset_limit, cfg->reset_rate, cfg->reset_burst);
	lc->tx.ports = dp->ports;
	lc->tx.port_index = dp->port_index;
	lc->tx.n_ports = dp->n_ports;
	lc->tx.stats = &lc->stats;
	qs_lcore_set_role(lc, role);
	lc->env = (struct qs_env){
		.codec = &dp->codec,
		.pool = dp->pool,
		.app = &qs_h3_app_ops,
		.app_ctx = &lc->h3,
		.max_udp_payload = dp->max_udp_payload,
		.now = qs_now_ns(),
		.stats = &lc->stats,
		.tx = &lc->tx,
		.reset_limit = &lc->reset_limit,
	};
	qs_lcore_set_generation(lc, dp->reload.current);

	if (role == QS_ROLE_IO) {
		uint16_t io = (uint16_t)(index - dp->n_workers);

		snprintf(lc->name, sizeof(lc->name), "io%u", io);
		lc->worker = UINT16_MAX;       /* names no worker: forwards all */
		lc->queue = io;
		snprintf(ring_name, sizeof(ring_name), "qs_tx_%u", io);
		lc->tx_ring = rte_ring_create(ring_name, QS_TX_RING_SIZE, socket,
					      RING_F_MP_RTS_ENQ | RING_F_SC_DEQ);
		return lc->tx_ring != NULL ? lc : NULL;
	}

	snprintf(lc->name, sizeof(lc->name), "%u", index);
	lc->worker = index;
	lc->env.worker = index;
	if (qs_alloc_init(&lc->alloc, 0) != 0)
		RTE_LOG(WARNING, QS_DP, "worker %u: no address space for its "
			"allocator (%zu GiB reserved, not committed): ngtcp2 and "
			"nghttp3 use libc's malloc\n", index,
			(size_t)(QS_ALLOC_REGION_MIN >> 30));
	else if (lc->alloc.size < QS_ALLOC_REGION)
		RTE_LOG(WARNING, QS_DP, "worker %u: %zu GiB of address space "
			"for its allocator, not %zu (address space limited): "
			"past it, libc's malloc (lcore_alloc_fallbacks)\n", index,
			lc->alloc.size >> 30, (size_t)(QS_ALLOC_REGION >> 30));
	lc->env.alloc = &lc->alloc;
	lc->queue = role == QS_ROLE_RTC ? index : UINT16_MAX;
	dp->workers[index] = lc;
	dp->inbox[index] = qs_steer_inbox_create(index, cfg->inbox_size, socket);
	lc->inbox = dp->inbox[index];
	snprintf(ring_name, sizeof(ring_name), "qs_ctl_%u", index);
	/* CLI and telemetry both ask: multi-producer */
	lc->ctl = rte_ring_create(ring_name, CTL_RING_SIZE, socket, RING_F_SC_DEQ);
	if (lc->inbox == NULL || lc->ctl == NULL ||
	    qs_server_init(&lc->srv, &lc->env, socket) != 0) {
		RTE_LOG(ERR, QS_DP,
			"worker %u: no memory for its rings or connection table "
			"(max_conns %u; give EAL more with -m)\n", index,
			cfg->max_conns);
		return NULL;
	}
	(void)n_io;
	return lc;
}

int
qs_dataplane_init(struct qs_dataplane *dp, const struct qs_config *cfg)
{
	char err[QS_ERR_LEN];
	unsigned int lcore_id;
	uint16_t n_ports = rte_eth_dev_count_avail(), n_io, i = 0;
	uint32_t n_mbufs;

	memset(dp, 0, sizeof(*dp));
	dp->cfg = cfg;
	rte_spinlock_init(&dp->stats_lock);
	if (plan_lcores(dp, cfg, &n_io) != 0)
		return -1;
	if ((strcmp(cfg->cid_format, "quic-lb") == 0 ?
	     qs_cid_codec_init_quic_lb(&dp->codec, &cfg->quic_lb, dp->n_workers,
				       err, sizeof(err)) :
	     qs_cid_codec_init(&dp->codec, cfg->cid_format, dp->n_workers, err,
			       sizeof(err))) != 0) {
		RTE_LOG(ERR, QS_DP, "%s\n", err);
		return -1;
	}
	if (qs_stateless_init(cfg) != 0)
		return -1;
	if (qs_tls_init(cfg, err, sizeof(err)) != 0 ||
	    qs_reload_init(&dp->reload, cfg, dp->n_workers, err,
			   sizeof(err)) != 0) {
		fprintf(stderr, "quicsteer: config error: %s\n", err);
		return -1;
	}
	dp->reload_on = true;
	/* from here on the published generation's copy is the configuration */
	cfg = dp->cfg = &dp->reload.current->cfg;
	dp->listen = cfg->listen;
	dp->shutdown_timeout_ms = cfg->shutdown_timeout_ms;
	if (!qs_tls_enabled())
		RTE_LOG(WARNING, QS_DP,
			"no [tls] cert and key: HTTP/3 connections are refused "
			"(quic_drop_no_tls); steering and resets still work\n");
	if (cfg->docroot[0] != '\0')
		RTE_LOG(INFO, QS_DP, "docroot %s: %zu files, %" PRIu64 " bytes\n",
			cfg->docroot, qs_content_count(dp->reload.current->content),
			qs_content_bytes(dp->reload.current->content));
	qs_h3_global_init();

	n_mbufs = pool_size(cfg, dp->n_lcores, RTE_MAX(n_ports, 1));
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
	RTE_LOG(INFO, QS_DP, "mbuf pool: %u mbufs for %u lcores\n", n_mbufs,
		dp->n_lcores);

	/* queue pairs: one per lcore that polls (every worker, or the I/O
	 * lcores of the pipeline) */
	if (qs_port_init_all(dp->ports, &dp->n_ports, n_io ? n_io : dp->n_workers,
			     cfg->rx_desc, cfg->tx_desc, dp->pool,
			     &cfg->listen) != 0)
		return -1;
	for (uint16_t p = 0; p < dp->n_ports; p++) {
		uint16_t max = qs_port_max_udp_payload(&dp->ports[p], dp->pool);

		dp->port_index[dp->ports[p].port_id] = (uint8_t)p;
		if (dp->max_udp_payload == 0 || max < dp->max_udp_payload)
			dp->max_udp_payload = max;
	}

	/* EAL order: the first n_io worker lcores do I/O; workers come first
	 * in dp->lcores so that index == worker index */
	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		bool io = i < n_io;
		uint16_t index = io ? (uint16_t)(dp->n_workers + i)
				    : (uint16_t)(i - n_io);
		enum qs_lcore_role role = io ? QS_ROLE_IO
				       : n_io ? QS_ROLE_WORKER : QS_ROLE_RTC;

		if (lcore_new(dp, lcore_id, index, role, n_io) == NULL) {
			RTE_LOG(ERR, QS_DP, "lcore %u: cannot set it up\n", lcore_id);
			return -1;
		}
		i++;
	}
	/* each pipeline worker sends through one I/O lcore */
	for (uint16_t w = 0; n_io && w < dp->n_workers; w++)
		dp->workers[w]->tx_ring = dp->lcores[dp->n_workers + w % n_io]->tx_ring;

	if (qs_config_access_log_on(cfg) || qs_config_qlog_on(cfg)) {
		char err[PATH_MAX + 128];

		if (qs_logwriter_init(&dp->logwriter, cfg, dp->n_workers, err,
				      sizeof(err)) != 0) {
			RTE_LOG(ERR, QS_DP, "%s\n", err);
			return -1;
		}
		dp->logwriter_on = true;
		dp->access_log_on = dp->logwriter.access_on;
		dp->qlog_on = dp->logwriter.qlog_on;
	}
	if (dp->access_log_on) {
		for (uint16_t w = 0; w < dp->n_workers; w++)
			dp->workers[w]->env.access_log = dp->logwriter.rings[w];
		RTE_LOG(INFO, QS_DP, "access log: %s (%s), %u records per worker\n",
			cfg->access_log, cfg->access_format == QS_ACCESS_JSON ?
			"json" : "text", cfg->access_ring);
	}
	if (dp->qlog_on) {
		for (uint16_t w = 0; w < dp->n_workers; w++)
			dp->workers[w]->env.qlog = dp->logwriter.qlog.rings[w];
		char sample[64] = "none from its start";

		if (cfg->qlog_sample > 0)
			snprintf(sample, sizeof(sample), "one connection in %u "
				 "per worker from its start", cfg->qlog_sample);
		RTE_LOG(INFO, QS_DP, "qlog: %s/<first server CID>.sqlog, %s%s, %u "
			"records per worker\n", cfg->qlog_dir, sample,
			cfg->qlog_live ? ", any other on `set qlog on <cid>` "
			"(qlog_live)" : "", cfg->qlog_ring);
	}

	RTE_LOG(INFO, QS_DP, "%s layout: %u workers%s, steering %s, cid format %s\n",
		n_io ? "pipeline" : "run-to-completion", dp->n_workers,
		n_io ? " behind I/O lcores" : "",
		cfg->steer == QS_STEER_MODE_CID ? "by cid" : "off", dp->codec.name);
	return 0;
}

int
qs_dataplane_launch(struct qs_dataplane *dp)
{
	static lcore_function_t *const loops[] = {
		[QS_ROLE_RTC] = qs_lcore_main_rtc,
		[QS_ROLE_IO] = qs_lcore_main_io,
		[QS_ROLE_WORKER] = qs_lcore_main_worker,
	};

	for (uint16_t i = 0; i < dp->n_lcores; i++) {
		struct qs_lcore *lc = dp->lcores[i];
		int rc = rte_eal_remote_launch(loops[lc->role], lc, lc->lcore_id);

		if (rc != 0) {
			RTE_LOG(ERR, QS_DP, "cannot launch lcore %u: %s\n",
				lc->lcore_id, rte_strerror(-rc));
			__atomic_store_n(&dp->quit, true, __ATOMIC_RELAXED);
			rte_eal_mp_wait_lcore();
			return -1;
		}
	}
	dp->launched = true;
	if (dp->logwriter_on && qs_logwriter_start(&dp->logwriter) != 0)
		return -1;
	return 0;
}

int
qs_dataplane_reload(struct qs_dataplane *dp, const struct qs_config *next,
		    char *msg, size_t msglen)
{
	int rc;

	if (__atomic_load_n(&dp->stopping, __ATOMIC_RELAXED)) {
		snprintf(msg, msglen, "reload refused: quicsteer is stopping");
		return -1;
	}
	rc = qs_reload_apply(&dp->reload, next, msg, msglen);
	dp->cfg = &dp->reload.current->cfg;
	if (rc == 0 && dp->logwriter_on)
		qs_logwriter_reconfigure(&dp->logwriter, dp->cfg);
	if (rc == 0)
		RTE_LOG(INFO, QS_DP, "%s\n", msg);
	else
		RTE_LOG(ERR, QS_DP, "%s\n", msg);
	return rc;
}

void
qs_dataplane_reload_refused(struct qs_dataplane *dp, const char *msg)
{
	qs_reload_refused(&dp->reload, msg);
	RTE_LOG(ERR, QS_DP, "%s\n", msg);
}

void
qs_dataplane_tick(struct qs_dataplane *dp)
{
	if (dp->reload_on)
		qs_reload_reclaim(&dp->reload);
}

void
qs_dataplane_reopen_logs(struct qs_dataplane *dp)
{
	if (dp->access_log_on)
		qs_logwriter_reopen(&dp->logwriter);
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
	dp->n_lcores = 0;
	for (uint16_t w = 0; w < QS_MAX_WORKERS; w++) {
		if (dp->inbox[w] != NULL) {
			while (rte_ring_dequeue(dp->inbox[w], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(dp->inbox[w]);
			dp->inbox[w] = NULL;
		}
		dp->workers[w] = NULL;
	}
	for (uint16_t i = 0; i < QS_MAX_LCORES; i++) {
		struct qs_lcore *lc = dp->lcores[i];

		if (lc == NULL)
			continue;
		if (lc->role == QS_ROLE_IO) {
			while (rte_ring_dequeue(lc->tx_ring, (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(lc->tx_ring);
		} else {
			qs_server_fini(&lc->srv);
			qs_h3_lcore_fini(&lc->h3);
			qs_alloc_fini(&lc->alloc);
			qs_ctl_drain(lc->ctl);
			rte_ring_free(lc->ctl);
		}
		qs_tx_discard(&lc->tx);
		rte_free(lc);
		dp->lcores[i] = NULL;
	}
	rte_spinlock_unlock(&dp->stats_lock);
	/* the workers are done and qs_server_fini freed the connections left
	 * (their last access records and qlog FINs): what the rings hold is
	 * the last */
	if (dp->logwriter_on) {
		qs_logwriter_fini(&dp->logwriter);
		dp->logwriter_on = false;
		dp->access_log_on = false;
		dp->qlog_on = false;
	}
	rte_mempool_free(dp->pool);
	dp->pool = NULL;
	if (dp->reload_on)
		qs_reload_fini(&dp->reload);
	dp->reload_on = false;
	dp->cfg = NULL;
	qs_tls_fini();
	qs_cid_codec_fini(&dp->codec);
}

unsigned int
qs_dataplane_ask_all(struct qs_dataplane *dp, const struct qs_ctl_req *question,
		     unsigned int timeout_ms, struct qs_ctl_req **answers)
{
	struct rte_ring *rings[QS_MAX_WORKERS];

	for (uint16_t w = 0; w < dp->n_workers; w++) {
		rings[w] = dp->workers[w]->ctl;
		answers[w] = NULL;
	}
	if (!dp->launched)
		return 0;
	return qs_ctl_ask_all(rings, dp->n_workers, question, timeout_ms, answers);
}

void
qs_dataplane_stop(struct qs_dataplane *dp)
{
	uint64_t grace_ns = (uint64_t)dp->shutdown_timeout_ms * 1000000;
	uint64_t give_up = qs_now_ns() + grace_ns + STOP_SLACK_NS;
	bool running = true;

	if (!dp->launched)
		return;
	dp->stop_deadline = qs_now_ns() + grace_ns;
	__atomic_store_n(&dp->stopping, true, __ATOMIC_RELEASE);
	while (running && qs_now_ns() < give_up) {
		running = false;
		for (uint16_t i = 0; i < dp->n_lcores; i++)
			if (rte_eal_get_lcore_state(dp->lcores[i]->lcore_id) ==
			    RUNNING)
				running = true;
		if (running)
			rte_delay_us_sleep(STOP_POLL_US);
	}
	if (running)
		RTE_LOG(WARNING, QS_DP, "workers did not stop in time; forcing\n");
	__atomic_store_n(&dp->quit, true, __ATOMIC_RELEASE);
}

bool
qs_dataplane_drain(struct qs_dataplane *dp)
{
	bool expected = false;
	uint64_t now = qs_now_ns();

	if (!__atomic_compare_exchange_n(&dp->drain_claimed, &expected, true,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return false;
	dp->drain_started = now;
	dp->drain_deadline = now + (uint64_t)dp->shutdown_timeout_ms * 1000000;
	/* workers read the times after they see the flag */
	__atomic_store_n(&dp->draining, true, __ATOMIC_RELEASE);
	return true;
}

void
qs_dataplane_drain_status(struct qs_dataplane *dp, struct qs_drain_status *st)
{
	struct qs_stats s;

	memset(st, 0, sizeof(*st));
	for (uint16_t w = 0; w < dp->n_workers; w++) {
		qs_dataplane_stats(dp, w, false, &s);
		st->connections += s.quic_conn_active;
	}
	st->draining = __atomic_load_n(&dp->draining, __ATOMIC_ACQUIRE);
	if (!st->draining)
		return;
	st->drained = __atomic_load_n(&dp->workers_drained, __ATOMIC_ACQUIRE) ==
		      dp->n_workers;
	st->elapsed_ms = (qs_now_ns() - dp->drain_started) / 1000000;
}

void
qs_dataplane_stats(struct qs_dataplane *dp, uint16_t i, bool since_clear,
		   struct qs_stats *out)
{
	struct qs_stats now;

	qs_stats_snapshot(&dp->lcores[i]->stats, &now);
	if (!since_clear) {
		*out = now;
		return;
	}
	qs_stats_sub(out, &now, &dp->cleared[i]);
	/* a gauge, not a count: clearing does not zero it */
	out->quic_conn_active = now.quic_conn_active;
}

void
qs_dataplane_stats_clear(struct qs_dataplane *dp)
{
	for (uint16_t i = 0; i < dp->n_lcores; i++)
		qs_stats_snapshot(&dp->lcores[i]->stats, &dp->cleared[i]);
}
