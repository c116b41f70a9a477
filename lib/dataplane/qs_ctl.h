/* Control plane <-> worker requests (DPDK ip_pipeline style): the main
 * lcore posts a request on a worker's ring and waits; the worker answers
 * between bursts. Connections are only ever read by their own lcore. */
#ifndef QS_CTL_H
#define QS_CTL_H

#include <stdbool.h>
#include <stdint.h>

#define QS_CTL_MAX_CONNS 64

#include <rte_ring.h>

#include "quic/qs_conn.h"

enum qs_ctl_type {
	QS_CTL_CONNS,    /* count and the busiest connections */
	QS_CTL_CONN,     /* one connection, by any of its CIDs */
	QS_CTL_QLOG_ON,  /* the same, and start its qlog (qlog_live) */
};

struct qs_ctl_conn_info {
	char cid[2 * 20 + 1];        /* first server CID, hex */
	char peer[64];               /* [addr]:port */
	const char *state;
	uint64_t age_ms;
	uint64_t srtt_us;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint32_t streams;
	uint32_t n_cids;
	uint32_t migrations_seen;     /* peer addresses in its path table */
	uint64_t mem_ngtcp2;          /* heap bytes: ngtcp2's, nghttp3's, and */
	uint64_t mem_nghttp3;
	uint64_t mem_quicsteer;       /* ours (GnuTLS's are not counted) */
	uint8_t qlog_state;           /* qs_qlog_state */
	uint16_t worker;
};

struct qs_ctl_req {
	enum qs_ctl_type type;
	uint8_t cid[20];             /* QS_CTL_CONN */
	uint8_t cid_len;
	uint32_t max;                /* QS_CTL_CONNS: how many to list */
	/* answer */
	int qlog_started;            /* QS_CTL_QLOG_ON: qs_conn_qlog_start's */
	uint32_t n_conns;
	uint32_t n_out;
	struct qs_ctl_conn_info out[QS_CTL_MAX_CONNS];
	/* who frees it: the asker once answered; the worker when the asker
	 * gave up first (QS_CTL_ABANDONED) */
	int state;
};

enum qs_ctl_state { QS_CTL_PENDING, QS_CTL_DONE, QS_CTL_ABANDONED };

/* Worker side: answers from the connections of its lcore. */
void qs_ctl_serve(struct qs_conn_set *set, struct qs_ctl_req *req);
/* Control side: posts the question on the n workers' rings at once and
 * waits up to timeout_ms for all of them together. answers[i] is worker
 * i's answer (free it with qs_ctl_release), or NULL: its ring was full, or
 * it did not answer in time (it frees the request when it does). Returns
 * how many answered. */
unsigned int qs_ctl_ask_all(struct rte_ring *const *rings, uint16_t n,
			    const struct qs_ctl_req *question,
			    unsigned int timeout_ms, struct qs_ctl_req **answers);
void qs_ctl_release(struct qs_ctl_req *req);
/* Teardown, the worker stopped: frees the requests left in its ring. */
void qs_ctl_drain(struct rte_ring *ring);

/* Parses a CID in hex; returns its length or -1. */
int qs_ctl_parse_cid(const char *hex, uint8_t *cid);

#endif
