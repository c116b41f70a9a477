/* Per-lcore counters. Each is written by exactly one worker lcore with plain
 * stores; the control plane reads and sums. Declared once, here, so the
 * struct, the names and the telemetry output never disagree. */
#ifndef QS_STATS_H
#define QS_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>

#include "base/qs_limits.h"

#define QS_COUNTERS(X) \
	X(rx_packets) X(tx_packets) X(rx_bytes) X(tx_bytes) \
	X(drop_malformed) X(drop_not_ours) X(drop_tx_full) X(drop_tx_nombuf) \
	X(drop_tx_no_path) \
	X(drop_bad_checksum) X(drop_oversize) \
	X(arp_replies) X(icmp_echo_replies) X(nd_adverts) \
	X(quic_rx) X(quic_local) X(quic_forwarded_out) X(quic_forwarded_in) \
	X(quic_forward_dropped) \
	X(quic_drop_malformed) X(quic_drop_no_conn) X(quic_drop_short) \
	X(quic_stateless_resets_ratelimited) X(quic_drop_bad_token) \
	X(quic_drop_no_tls) X(quic_conn_refused) X(quic_drop_unauthenticated) \
	X(quic_drop_pn_guard) X(quic_drop_other_node) X(quic_ncid_repeats_ignored) \
	X(quic_initials) X(quic_version_negotiations_sent) X(quic_retries_sent) \
	X(quic_stateless_resets_sent) \
	X(quic_conn_accepted) X(quic_conn_active) X(quic_conn_closed) \
	X(quic_handshakes_completed) X(quic_sessions_resumed) X(quic_0rtt_accepted) \
	X(quic_path_migrations) X(quic_conn_unvalidated) X(quic_handshake_timeouts) \
	X(quic_conn_closed_abuse) \
	X(quic_mem_ngtcp2) X(quic_mem_nghttp3) \
	X(h3_requests) X(h3_responses_2xx) X(h3_responses_4xx) X(h3_responses_5xx) \
	X(h3_streams_reset_by_peer) X(access_log_dropped) \
	X(qlog_dropped) X(qlog_truncated)

struct qs_stats {
#define QS_COUNTER_FIELD(name) uint64_t name;
	QS_COUNTERS(QS_COUNTER_FIELD)
#undef QS_COUNTER_FIELD
	/* forwarded[j]: packets this lcore moved to worker j's inbox */
	uint64_t forwarded[QS_MAX_WORKERS];
} __rte_cache_aligned;

enum qs_counter_id {
#define QS_COUNTER_ENUM(name) QS_CNT_##name,
	QS_COUNTERS(QS_COUNTER_ENUM)
#undef QS_COUNTER_ENUM
	QS_CNT_MAX
};

extern const char *const qs_counter_names[QS_CNT_MAX];

/* Reads counter id of s; a relaxed load, the writer is another lcore. */
uint64_t qs_stats_get(const struct qs_stats *s, enum qs_counter_id id);

/* Copies s into out with relaxed loads (a consistent-enough snapshot). */
void qs_stats_snapshot(const struct qs_stats *s, struct qs_stats *out);

/* out += s */
void qs_stats_add(struct qs_stats *out, const struct qs_stats *s);

/* out = a - b, field by field */
void qs_stats_sub(struct qs_stats *out, const struct qs_stats *a,
		  const struct qs_stats *b);

#endif
