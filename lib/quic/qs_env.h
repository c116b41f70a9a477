/* What the QUIC layer may use of the lcore it runs on. The dataplane fills
 * one per worker lcore and hands it to that lcore's server, which hands it
 * to every connection: a connection sees this and nothing of the dataplane
 * (ngtcp2's own conn sees its environment through ngtcp2_callbacks and
 * ngtcp2_mem in the same way). */
#ifndef QS_ENV_H
#define QS_ENV_H

#include <stdint.h>

#include <rte_mempool.h>

#include "base/qs_config.h"
#include "base/qs_ratelimit.h"
#include "base/qs_stats.h"
#include "net/qs_tx.h"
#include "steer/qs_cid.h"

struct qs_alloc;
struct qs_conn;
struct qs_tls_creds;
struct rte_ring;

/* The application above QUIC on a connection (HTTP/3: http/qs_h3.c). */
struct qs_app_ops {
	/* 1-RTT keys are in place: start the application's session */
	int (*start)(struct qs_conn *c);
	/* the connection goes: give back what the application holds */
	void (*release)(struct qs_conn *c);
};

struct qs_env {
	/* what the control plane published (a reload replaces them between
	 * two loop iterations): the configuration, and the credentials new
	 * connections take (NULL: no TLS) */
	const struct qs_config *cfg;
	struct qs_tls_creds *tls;
	/* read-only after start */
	const struct qs_cid_codec *codec;
	struct rte_mempool *pool;        /* mbufs for what connections send */
	uint16_t worker;                 /* the owner every CID here names */
	uint16_t max_udp_payload;        /* what the ports can receive in one
					  * mbuf (0: ngtcp2's default) */
	const struct qs_app_ops *app;
	void *app_ctx;                   /* the application's per-lcore state */
	/* written only by the lcore */
	uint64_t now;                    /* ns, monotonic, once per iteration */
	struct qs_alloc *alloc;          /* the connections' libraries' small
					  * objects (NULL: libc's malloc) */
	struct qs_stats *stats;
	struct qs_tx *tx;
	struct qs_ratelimit *reset_limit;
	/* the application's log records (HTTP/3: one per response), for the
	 * control plane to write; NULL: not logging */
	struct rte_ring *access_log;
	/* qlog records of the sampled connections (quic/qs_qlog.h), for the
	 * control plane to write; NULL: no qlog */
	struct rte_ring *qlog;
	uint32_t qlog_sample_count;      /* connections since the last
					  * sampled one (qs_qlog_sample) */
};

#endif
