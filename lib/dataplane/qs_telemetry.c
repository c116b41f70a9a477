#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <malloc.h>

#include <rte_malloc.h>
#include <rte_telemetry.h>

#include "dataplane/qs_ctl.h"
#include "dataplane/qs_telemetry.h"

static struct qs_dataplane *tel_dp;

static void
add_counters(struct rte_tel_data *d, const struct qs_stats *s)
{
	for (int i = 0; i < QS_CNT_MAX; i++)
		rte_tel_data_add_dict_u64(d, qs_counter_names[i],
					  qs_stats_get(s, (enum qs_counter_id)i));
}

static int
tel_stats_locked(const char *cmd __rte_unused, const char *params __rte_unused,
	  struct rte_tel_data *d)
{
	struct qs_stats sum, one;

	memset(&sum, 0, sizeof(sum));
	for (uint16_t i = 0; i < tel_dp->n_lcores; i++) {
		qs_dataplane_stats(tel_dp, i, false, &one);
		qs_stats_add(&sum, &one);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "workers", tel_dp->n_workers);
	rte_tel_data_add_dict_int(d, "io_lcores", tel_dp->n_lcores - tel_dp->n_workers);
	add_counters(d, &sum);
	return 0;
}

/* DPDK's telemetry socket answers at most 16 KiB and cuts the rest: the
 * per-lcore answers come in pages that fit, from the lcore index given as
 * parameter (default 0), with "next_lcore" naming where the next page
 * starts while lcores remain. */
#define TEL_PAGE_BUDGET (12 * 1024)

static uint16_t
tel_first_lcore(const char *params)
{
	unsigned long first = params != NULL && params[0] != '\0' ?
			      strtoul(params, NULL, 10) : 0;

	return first < tel_dp->n_lcores ? (uint16_t)first : tel_dp->n_lcores;
}

/* JSON bytes one lcore's counters take at most */
static size_t
tel_lcore_size(void)
{
	size_t n = 64;

	for (int i = 0; i < QS_CNT_MAX; i++)
		n += strlen(qs_counter_names[i]) + 24;
	return n + 6 * 48;      /* the load keys (add_load) */
}

static void
add_load(struct rte_tel_data *d, const struct qs_lcore *lc)
{
	struct qs_load_view v;

	qs_lcore_load_read(lc, &v);
	rte_tel_data_add_dict_u64(d, "busy_cycles", v.busy_cycles);
	rte_tel_data_add_dict_u64(d, "cycles", v.cycles);
	rte_tel_data_add_dict_int(d, "busy_pct", (int)v.busy_pct);
	rte_tel_data_add_dict_int(d, "busy_pct_since_start", (int)v.busy_pct_total);
	rte_tel_data_add_dict_u64(d, "rx_pps", v.rx_pps);
	rte_tel_data_add_dict_u64(d, "tx_pps", v.tx_pps);
}

static int
tel_lcores_locked(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	uint16_t i = tel_first_lcore(params);
	size_t used = 0, one = tel_lcore_size();

	rte_tel_data_start_dict(d);
	for (; i < tel_dp->n_lcores && used + one <= TEL_PAGE_BUDGET; i++) {
		struct rte_tel_data *c = rte_tel_data_alloc();
		struct qs_stats s;

		if (c == NULL)
			return -ENOMEM;
		qs_dataplane_stats(tel_dp, i, false, &s);
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_int(c, "lcore_id",
					  (int)tel_dp->lcores[i]->lcore_id);
		add_counters(c, &s);
		add_load(c, tel_dp->lcores[i]);
		rte_tel_data_add_dict_container(d, tel_dp->lcores[i]->name, c, 0);
		used += one;
	}
	if (i < tel_dp->n_lcores)
		rte_tel_data_add_dict_int(d, "next_lcore", i);
	return 0;
}

static int
tel_steering_locked(const char *cmd __rte_unused, const char *params,
	     struct rte_tel_data *d)
{
	uint16_t from = tel_first_lcore(params);
	size_t used = 0, one = 32 + (size_t)tel_dp->n_workers * 22;

	rte_tel_data_start_dict(d);
	for (; from < tel_dp->n_lcores && used + one <= TEL_PAGE_BUDGET; from++) {
		struct rte_tel_data *row = rte_tel_data_alloc();
		struct qs_stats s;

		if (row == NULL)
			return -ENOMEM;
		qs_dataplane_stats(tel_dp, from, false, &s);
		rte_tel_data_start_array(row, RTE_TEL_U64_VAL);
		for (uint16_t to = 0; to < tel_dp->n_workers; to++)
			rte_tel_data_add_array_u64(row, s.forwarded[to]);
		rte_tel_data_add_dict_container(d, tel_dp->lcores[from]->name, row, 0);
		used += one;
	}
	if (from < tel_dp->n_lcores)
		rte_tel_data_add_dict_int(d, "next_lcore", from);
	return 0;
}

#define TEL_CONNS_TOP 16
#define TEL_CTL_TIMEOUT_MS 1000

static void
add_conn(struct rte_tel_data *d, const struct qs_ctl_conn_info *ci)
{
	struct rte_tel_data *c = rte_tel_data_alloc();

	if (c == NULL)
		return;
	rte_tel_data_start_dict(c);
	rte_tel_data_add_dict_int(c, "worker", ci->worker);
	rte_tel_data_add_dict_string(c, "peer", ci->peer);
	rte_tel_data_add_dict_string(c, "state", ci->state);
	rte_tel_data_add_dict_u64(c, "age_ms", ci->age_ms);
	rte_tel_data_add_dict_u64(c, "rtt_us", ci->srtt_us);
	rte_tel_data_add_dict_u64(c, "rx_bytes", ci->rx_bytes);
	rte_tel_data_add_dict_u64(c, "tx_bytes", ci->tx_bytes);
	rte_tel_data_add_dict_u64(c, "streams", ci->streams);
	rte_tel_data_add_dict_u64(c, "mem_ngtcp2", ci->mem_ngtcp2);
	rte_tel_data_add_dict_u64(c, "mem_nghttp3", ci->mem_nghttp3);
	rte_tel_data_add_dict_u64(c, "mem_quicsteer", ci->mem_quicsteer);
	rte_tel_data_add_dict_container(d, ci->cid[0] ? ci->cid : "?", c, 0);
}

/* Connections per worker (asked of each worker: only it reads them) and
 * the busiest of each; params "N" lists N per worker (default 16). */
static int
tel_conns_locked(const char *cmd __rte_unused, const char *params,
		 struct rte_tel_data *d)
{
	struct qs_ctl_req q = {.type = QS_CTL_CONNS, .max = TEL_CONNS_TOP};
	struct qs_ctl_req *answers[QS_MAX_WORKERS];
	struct rte_tel_data *counts = rte_tel_data_alloc();
	struct rte_tel_data *busiest = rte_tel_data_alloc();

	if (counts == NULL || busiest == NULL) {
		rte_tel_data_free(counts);
		rte_tel_data_free(busiest);
		return -ENOMEM;
	}
	if (params != NULL && params[0] != '\0')
		q.max = (uint32_t)RTE_MIN(strtoul(params, NULL, 10),
					  (unsigned long)QS_CTL_MAX_CONNS);
	rte_tel_data_start_dict(d);
	rte_tel_data_start_array(counts, RTE_TEL_INT_VAL);
	rte_tel_data_start_dict(busiest);
	/* all workers at once: the stats lock is held one timeout at most */
	qs_dataplane_ask_all(tel_dp, &q, TEL_CTL_TIMEOUT_MS, answers);
	for (uint16_t w = 0; w < tel_dp->n_workers; w++) {
		struct qs_ctl_req *a = answers[w];

		rte_tel_data_add_array_int(counts, a != NULL ? (int)a->n_conns : -1);
		if (a == NULL)
			continue;
		for (uint32_t i = 0; i < a->n_out; i++)
			add_conn(busiest, &a->out[i]);
		qs_ctl_release(a);
	}
	rte_tel_data_add_dict_container(d, "per_worker", counts, 0);
	rte_tel_data_add_dict_container(d, "busiest", busiest, 0);
	return 0;
}

/* The process heap (libc: GnuTLS's and the rest of libc's users) and
 * DPDK's, with what the connections' libraries say they hold and what the
 * workers' allocators (base/qs_alloc.h) hold: those libraries' objects up
 * to 64 KiB and quicsteer's connection structs. */
static int
tel_memory(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	struct mallinfo2 mi = mallinfo2();
	struct rte_malloc_socket_stats rs;
	struct qs_stats sum, one;
	uint64_t rte_alloc = 0, spans = 0, in_use = 0, fallbacks = 0;

	memset(&sum, 0, sizeof(sum));
	rte_spinlock_lock(&tel_dp->stats_lock);
	for (uint16_t i = 0; i < tel_dp->n_lcores; i++) {
		const struct qs_alloc *a = &tel_dp->lcores[i]->alloc;

		qs_dataplane_stats(tel_dp, i, false, &one);
		qs_stats_add(&sum, &one);
		spans += qs_alloc_reserved(a);
		in_use += __atomic_load_n(&a->in_use, __ATOMIC_RELAXED);
		fallbacks += __atomic_load_n(&a->fallbacks, __ATOMIC_RELAXED);
	}
	rte_spinlock_unlock(&tel_dp->stats_lock);
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (rte_malloc_get_socket_stats(s, &rs) == 0)
			rte_alloc += rs.heap_allocsz_bytes;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "libc_heap_in_use", mi.uordblks + mi.hblkhd);
	rte_tel_data_add_dict_u64(d, "libc_heap_free", mi.fordblks);
	rte_tel_data_add_dict_u64(d, "rte_malloc_in_use", rte_alloc);
	rte_tel_data_add_dict_u64(d, "ngtcp2", sum.quic_mem_ngtcp2);
	rte_tel_data_add_dict_u64(d, "nghttp3", sum.quic_mem_nghttp3);
	/* what the workers' allocators hold (not in libc's heap), their
	 * spans, and the requests libc took instead */
	rte_tel_data_add_dict_u64(d, "lcore_alloc_in_use", in_use);
	rte_tel_data_add_dict_u64(d, "lcore_alloc_spans", spans);
	rte_tel_data_add_dict_u64(d, "lcore_alloc_fallbacks", fallbacks);
	rte_tel_data_add_dict_u64(d, "conns", sum.quic_conn_active);
	return 0;
}

/* The drain's progress; param "start" starts it (a second start is
 * harmless). Any other param is refused, so a typo starts nothing. */
static int
tel_drain_locked(const char *cmd __rte_unused, const char *params,
		 struct rte_tel_data *d)
{
	struct qs_drain_status st;

	if (params != NULL && params[0] != '\0') {
		if (strcmp(params, "start") != 0)
			return -EINVAL;
		qs_dataplane_drain(tel_dp);
	}
	qs_dataplane_drain_status(tel_dp, &st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "draining", st.draining);
	rte_tel_data_add_dict_int(d, "drained", st.drained);
	rte_tel_data_add_dict_u64(d, "connections", st.connections);
	rte_tel_data_add_dict_u64(d, "elapsed_ms", st.elapsed_ms);
	return 0;
}

/* Where reloads stand (CLI `reload` and SIGHUP make them); the last
 * message is cut to telemetry's string size (the log has it whole). */
static int
tel_reload(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	struct qs_reload_status st;

	qs_reload_status(&tel_dp->reload, &st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "generation", st.generation);
	rte_tel_data_add_dict_u64(d, "reloads", st.reloads);
	rte_tel_data_add_dict_u64(d, "refused", st.refused);
	rte_tel_data_add_dict_u64(d, "retired_in_use", st.retired);
	rte_tel_data_add_dict_int(d, "last_ok", st.last_ok);
	rte_tel_data_add_dict_string(d, "last", st.last);
	return 0;
}

/* The lock keeps qs_dataplane_fini from freeing workers mid-read. */
#define TEL_LOCKED(fn) \
	static int fn(const char *cmd, const char *params, \
		      struct rte_tel_data *d) \
	{ \
		int rc; \
		rte_spinlock_lock(&tel_dp->stats_lock); \
		rc = fn##_locked(cmd, params, d); \
		rte_spinlock_unlock(&tel_dp->stats_lock); \
		return rc; \
	}
TEL_LOCKED(tel_stats)
TEL_LOCKED(tel_lcores)
TEL_LOCKED(tel_steering)
TEL_LOCKED(tel_conns)
TEL_LOCKED(tel_drain)

int
qs_telemetry_register(struct qs_dataplane *dp)
{
	tel_dp = dp;
	if (rte_telemetry_register_cmd("/quicsteer/stats", tel_stats,
			"Counters summed over all dataplane lcores") != 0 ||
	    rte_telemetry_register_cmd("/quicsteer/lcores", tel_lcores,
			"Counters per lcore, keyed by worker index (I/O lcores: io<n>); "
			"param: first lcore index; next_lcore: where the next page starts") != 0 ||
	    rte_telemetry_register_cmd("/quicsteer/steering", tel_steering,
			"Packets forwarded: row = from lcore, column = to worker; "
			"param: first lcore index; next_lcore: where the next page starts") != 0 ||
	    rte_telemetry_register_cmd("/quicsteer/conns", tel_conns,
			"Connections per worker and the busiest; param: how many") != 0 ||
	    rte_telemetry_register_cmd("/quicsteer/memory", tel_memory,
			"Heap bytes: libc's, DPDK's, and ngtcp2's and nghttp3's share") != 0 ||
	    rte_telemetry_register_cmd("/quicsteer/drain", tel_drain,
			"Drain progress: draining, drained, connections, "
			"elapsed_ms. Param start: begin the drain") != 0 ||
	    rte_telemetry_register_cmd("/quicsteer/reload", tel_reload,
			"Reloads (CLI reload, SIGHUP): generation, reloads, "
			"refused, retired_in_use, last_ok, last") != 0)
		return -1;
	return 0;
}
