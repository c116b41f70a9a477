/* Counters and latency histograms of quicsteer-load. Each worker thread
 * owns one qsl_stats; the counters are stored with relaxed atomics so the
 * main thread can print progress, and everything is summed after the
 * threads have joined. */
#ifndef QSL_STATS_H
#define QSL_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Log-linear buckets: exact below 64, then 32 per power of two (about 3 %
 * resolution) up to 2^46 microseconds. */
#define QSL_HIST_LINEAR 64
#define QSL_HIST_SUB 32
#define QSL_HIST_OCTAVES 40
#define QSL_HIST_BUCKETS (QSL_HIST_LINEAR + QSL_HIST_OCTAVES * QSL_HIST_SUB)

struct qsl_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t buckets[QSL_HIST_BUCKETS];
};

void qsl_hist_init(struct qsl_hist *h);
void qsl_hist_add(struct qsl_hist *h, uint64_t v);
void qsl_hist_merge(struct qsl_hist *dst, const struct qsl_hist *src);
/* The value at quantile q (0..1): a bucket's midpoint, clamped to
 * [min, max]; 0 for an empty histogram. */
uint64_t qsl_hist_quantile(const struct qsl_hist *h, double q);

struct qsl_counters {
	uint64_t req_started;
	uint64_t req_completed;	/* whole response, 2xx */
	uint64_t req_failed;	/* anything else, or never answered */
	uint64_t req_aborted;	/* in flight when the run ended (-D, signal) */
	uint64_t req_retried;	/* rejected unprocessed (H3_REQUEST_REJECTED,
				 * as after GOAWAY): sent again */
	uint64_t status[6];	/* by class: [2] 2xx .. [5] 5xx, [0] other */
	uint64_t body_bytes;
	uint64_t conn_started;
	uint64_t conn_succeeded;
	uint64_t conn_failed;
	uint64_t conn_aborted;	/* open when the run ended (-D, signal) */
	uint64_t conn_goaway;	/* the server sent GOAWAY on it */
	uint64_t handshakes;
	uint64_t resumed;
	uint64_t early_attempted;
	uint64_t early_accepted;
	uint64_t moves;		/* migrations/rebindings done */
	uint64_t moves_failed;	/* ngtcp2 would not start one */
	uint64_t path_validation_failed;
	uint64_t conns_moved;	/* connections with at least one move */
	uint64_t conns_moved_survived; /* ... that ended without an error */
	uint64_t errors[5];	/* by enum qsl_err */
	uint64_t udp_tx, udp_rx, udp_tx_bytes, udp_rx_bytes;
	uint64_t send_blocked;
	uint64_t held;		/* connections kept open idle (--hold) */
	uint64_t rr_streams;	/* --rapid-reset: streams opened and reset */
	uint64_t peer_closed;	/* connections the peer closed (CONNECTION_CLOSE) */
	uint64_t udp_tx_calls, udp_rx_calls;	/* sendmmsg, recvmmsg */
	uint64_t gso_sends;	/* messages that carried several datagrams (GSO) */
	uint64_t gro_receives;	/* buffers that held several datagrams (GRO) */
	/* datagrams the kernel dropped at a full socket receive buffer
	 * (SO_RXQ_OVFL): the client, not the server, lost them */
	uint64_t udp_rx_dropped;
};

/* How the peer closed connections: CONNECTION_CLOSE codes and counts. */
#define QSL_PEER_CLOSES_MAX 8

struct qsl_peer_close {
	uint64_t code;
	uint64_t count;
	bool app;		/* application (HTTP/3) error, else transport */
};

struct qsl_stats {
	struct qsl_counters c;
	struct qsl_hist ttfb;		/* request start to response headers, us */
	struct qsl_hist request;	/* request start to end of response, us */
	struct qsl_hist connect;	/* connection start to handshake done, us */
	struct qsl_peer_close closes[QSL_PEER_CLOSES_MAX];
	uint32_t n_closes;
	uint64_t closes_other;	/* codes that found no place in closes[] */
};

void qsl_stats_init(struct qsl_stats *s);
void qsl_stats_merge(struct qsl_stats *dst, const struct qsl_stats *src);
/* Counts one CONNECTION_CLOSE from the peer by its code (owner thread). */
void qsl_stats_peer_close(struct qsl_stats *s, bool app, uint64_t code,
			  uint64_t n);
/* A name for a well-known close code ("H3_EXCESSIVE_LOAD"), or NULL. */
const char *qsl_close_name(bool app, uint64_t code);
/* A relaxed snapshot of another thread's counters (progress line). */
void qsl_counters_load(struct qsl_counters *dst, const struct qsl_counters *src);

#endif
