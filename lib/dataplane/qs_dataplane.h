/* The dataplane: per-lcore worker state, the worker loop, and the setup
 * and teardown the main lcore does around it. */
#ifndef QS_DATAPLANE_H
#define QS_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "base/qs_alloc.h"
#include "base/qs_clock.h"
#include "base/qs_config.h"
#include "base/qs_limits.h"
#include "base/qs_ratelimit.h"
#include "base/qs_stats.h"
#include "dataplane/qs_ctl.h"
#include "dataplane/qs_logwriter.h"
#include "dataplane/qs_reload.h"
#include "http/qs_h3.h"
#include "net/qs_port.h"
#include "net/qs_tx.h"
#include "quic/qs_env.h"
#include "quic/qs_server.h"
#include "steer/qs_cid.h"
#include "steer/qs_steer.h"

#define QS_TX_RING_SIZE 4096

struct qs_dataplane;

/* What a dataplane lcore does, chosen once at start (l3fwd style: no mode
 * tests in the loop). */
enum qs_lcore_role {
	QS_ROLE_RTC,     /* polls its own queues and owns connections */
	QS_ROLE_IO,      /* pipeline: polls queues, steers, sends for workers */
	QS_ROLE_WORKER,  /* pipeline: owns connections, no queues of its own */
};

/* How busy an lcore is (VPP's `show runtime`, F-Stack's top): TSC cycles
 * of loop iterations that found work against all cycles since it started,
 * and the same with packets per second over the last whole interval.
 * Written by its lcore only (relaxed atomic stores), read by the control
 * plane through qs_lcore_load_read. */
struct qs_lcore_load {
	uint64_t start_tsc;
	uint64_t busy_cycles;
	uint64_t interval;               /* TSC cycles: one second */
	/* where the current interval began */
	uint64_t window_tsc, window_busy, window_rx, window_tx;
	/* the last whole interval */
	uint32_t busy_pct;
	uint32_t rx_pps, tx_pps;
};

struct qs_load_view {
	uint64_t busy_cycles, cycles;    /* since the lcore started */
	uint32_t busy_pct;               /* last interval, 0..100 */
	uint32_t busy_pct_total;         /* since start */
	uint32_t rx_pps, tx_pps;         /* last interval */
};

/* Everything one worker lcore touches on the fast path. */
struct qs_lcore {
	/* read-only after start */
	struct qs_dataplane *dp;
	unsigned int lcore_id;
	enum qs_lcore_role role;
	char name[8];                   /* worker index, or "io<n>" */
	uint16_t worker;                /* index encoded in CIDs (workers) */
	uint16_t queue;                 /* RX and TX queue on every port
					 * (RTC and I/O lcores) */
	/* I/O lcore: packets workers give it to send; pipeline worker: the
	 * ring of the I/O lcore that sends for it */
	struct rte_ring *tx_ring;
	/* what to do with QUIC datagrams rx_poll found no other owner for:
	 * an RTC lcore handles them, an I/O lcore picks a worker by hash */
	void (*rx_local)(struct qs_lcore *lc, struct rte_mbuf **pkts,
			 uint16_t n);
	bool steer;
	uint32_t burst;
	uint32_t inbox_drain;
	uint32_t idle_sleep_us;
	struct rte_ring *inbox;

	struct rte_ring *ctl;            /* requests from the control plane */

	/* written only by this lcore */
	const struct qs_generation *gen; /* picked up at the loop's top */
	struct qs_env env;               /* what its connections see; env.now
					  * is the time of this iteration */
	uint64_t idle_polls;
	struct qs_lcore_load load;
	bool stop_done;                  /* graceful stop: own connections closed */
	bool drain_done;                 /* drain: no connection left */
	uint64_t drain_sweep_at;         /* ns: next look for finished ones */
	/* UDP checksums checked and failed in the current window, to say
	 * once why most fail (qs_lcore.c cksum_watch) */
	uint16_t cksum_checked;
	uint16_t cksum_bad;
	bool cksum_warned;
	bool oversize_warned;            /* drop_oversize explained once */
	struct qs_alloc alloc;           /* its connections' libraries' small
					  * objects (base/qs_alloc.h) */
	struct qs_server srv;
	struct qs_h3_lcore h3;
	struct qs_ratelimit reset_limit;
	struct qs_tx tx;                 /* hands packets to the NIC queue, or
					  * to the I/O lcore (pipeline worker) */
	struct qs_steer_stage stage;
	struct qs_stats stats;
} __rte_cache_aligned;

struct qs_dataplane {
	/* the current generation's (main lcore: a reload replaces it) */
	const struct qs_config *cfg;
	struct qs_reload reload;         /* what workers read; reloads */
	bool reload_on;                  /* reload initialised */
	/* from start (not reloadable), for lcores that report no quiescent
	 * state (I/O lcores) and the signal handlers */
	struct qs_listen listen;         /* what the RX path answers for */
	uint32_t shutdown_timeout_ms;
	struct qs_cid_codec codec;
	uint16_t n_workers;
	uint16_t n_lcores;               /* workers first, then I/O lcores */
	struct qs_lcore *lcores[QS_MAX_LCORES];
	struct qs_lcore *workers[QS_MAX_WORKERS];
	struct rte_ring *inbox[QS_MAX_WORKERS];
	struct qs_port ports[QS_MAX_PORTS];
	uint16_t n_ports;
	uint8_t port_index[RTE_MAX_ETHPORTS];
	uint16_t max_udp_payload;        /* what every port receives whole */
	struct rte_mempool *pool;
	bool launched;
	volatile bool stopping;          /* graceful: GOAWAY, drain, close */
	volatile bool quit;              /* leave the loop now */
	uint64_t stop_deadline;          /* ns; close what is left by then */
	uint32_t workers_stopped;        /* I/O lcores outlive the workers */
	/* the control thread that writes the access log and qlog */
	struct qs_logwriter logwriter;
	bool logwriter_on;               /* either is on */
	bool access_log_on;              /* [log] access_log */
	bool qlog_on;                    /* [debug] qlog_dir */
	/* drain (rolling restart): set once, never cleared */
	bool drain_claimed;              /* qs_dataplane_drain ran */
	volatile bool draining;          /* workers: GOAWAY, close, refuse new */
	uint64_t drain_started;          /* ns */
	uint64_t drain_deadline;         /* ns; close what is left by then */
	uint32_t workers_drained;        /* workers with no connection left */

	/* control plane only: the view `clear stats` resets; stats_lock
	 * serialises the CLI, telemetry thread and teardown (never a worker) */
	rte_spinlock_t stats_lock;
	struct qs_stats cleared[QS_MAX_LCORES];
};

/* Builds the dataplane from cfg: codec, mbuf pool, ports, inbox rings and
 * one qs_lcore per worker (every lcore but the main one). */
int qs_dataplane_init(struct qs_dataplane *dp, const struct qs_config *cfg);
/* Starts the worker loop on every worker lcore. */
int qs_dataplane_launch(struct qs_dataplane *dp);
/* Stops the workers, the ports, and frees what init took. */
void qs_dataplane_fini(struct qs_dataplane *dp);

/* Counters of dataplane lcore i (workers first: i is the worker index),
 * since start or since the last clear. The caller holds dp->stats_lock,
 * as does the caller of qs_dataplane_stats_clear. */
void qs_dataplane_stats(struct qs_dataplane *dp, uint16_t i, bool since_clear,
			struct qs_stats *out);
void qs_dataplane_stats_clear(struct qs_dataplane *dp);

/* Asks every worker a control question (qs_ctl.h) at once and waits up to
 * timeout_ms in all: answers[w] (n_workers of them) is worker w's answer
 * or NULL. Returns how many answered. */
unsigned int qs_dataplane_ask_all(struct qs_dataplane *dp,
				  const struct qs_ctl_req *question,
				  unsigned int timeout_ms,
				  struct qs_ctl_req **answers);

/* Graceful stop: workers send GOAWAY, let responses finish until
 * shutdown_timeout_ms, close every connection and leave their loops. */
void qs_dataplane_stop(struct qs_dataplane *dp);

/* Drain, before a node leaves a fleet (rolling restart): every worker
 * sends GOAWAY on each connection (as soon as its HTTP/3 has started),
 * refuses new connections (CONNECTION_REFUSED), serves what is in
 * flight, closes each connection once it is finished and, at
 * shutdown_timeout_ms, whatever is left; the dataplane goes on running
 * until stopped. Async-signal-safe (SIGUSR1 calls it). Returns true when
 * this call started the drain, false when one was under way. */
bool qs_dataplane_drain(struct qs_dataplane *dp);

struct qs_drain_status {
	bool draining;
	bool drained;                    /* every worker has no connection */
	uint64_t connections;            /* open or closing, all workers */
	uint64_t elapsed_ms;             /* since the drain began */
};

/* Where the drain is; the caller holds dp->stats_lock. */
void qs_dataplane_drain_status(struct qs_dataplane *dp,
			       struct qs_drain_status *st);

/* Has the access log writer reopen its file (logrotate); a no-op without
 * an access log. Async-signal-safe (SIGHUP). */
void qs_dataplane_reopen_logs(struct qs_dataplane *dp);

/* Reload (CLI `reload`, SIGHUP): makes next the configuration, with the
 * credentials and document root it names, or changes nothing; msg says
 * which (qs_reload_apply). Main lcore only. */
int qs_dataplane_reload(struct qs_dataplane *dp, const struct qs_config *next,
			char *msg, size_t msglen);
/* A reload whose configuration did not build: logged and counted. */
void qs_dataplane_reload_refused(struct qs_dataplane *dp, const char *msg);

/* The control plane's periodic work (main lcore, every ~100 ms): frees
 * what reloads retired once nothing uses it. */
void qs_dataplane_tick(struct qs_dataplane *dp);

/* How busy lc is; any thread. */
void qs_lcore_load_read(const struct qs_lcore *lc, struct qs_load_view *v);

/* What lc's connections and requests read from now on: g's
 * configuration, credentials and store (at start, then at each pick-up). */
void qs_lcore_set_generation(struct qs_lcore *lc,
			     const struct qs_generation *g);

/* Sets the role-specific functions of lc. */
void qs_lcore_set_role(struct qs_lcore *lc, enum qs_lcore_role role);

/* The loop of a dataplane lcore, by role; arg is a struct qs_lcore. */
int qs_lcore_main_rtc(void *arg);
int qs_lcore_main_io(void *arg);
int qs_lcore_main_worker(void *arg);

#endif
