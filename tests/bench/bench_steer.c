/* Cost of the worker's receive stage, on one lcore, without a NIC:
 * classify + record offsets + decide the owner + stage + flush into real
 * inbox rings (qs_net_classify, qs_net_meta_to_mbuf, qs_steer_decide,
 * qs_steer_stage_add, qs_steer_flush), over a few thousand mbufs holding
 * short-header QUIC datagrams that name random owners among 4 workers.
 * The other workers' drain of their inboxes runs here too (so the rings
 * never fill) and is timed apart. A baseline loop in the same run only
 * touches each packet's first cache line, as any receive loop must.
 *
 *   bench_steer [passes]      (default 2000 passes over 4096 packets)
 *
 * The two loops alternate pass by pass, each pass timed on its own; the
 * median pass (and the fastest) of each is reported, so that a pass where
 * another process took the CPU does not skew the figures on a shared
 * machine. Prints cycles per packet and packets per second for both loops
 * and their ratio. A benchmark, not a test: it never fails on a number. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "qs_cid.h"
#include "qs_frames.h"
#include "qs_net.h"
#include "qs_steer.h"

#define N_PACKETS 4096
#define N_WORKERS 4
#define SELF 0
#define BURST 32                 /* the default [dataplane] burst */
#define PREFETCH_AHEAD 3         /* as lib/qs_lcore.c */
#define DATAGRAM_LEN 100         /* a small 1-RTT packet */
#define INBOX_SIZE 4096
#define POOL_SIZE (2 * N_PACKETS)
#define DEFAULT_PASSES 2000
#define WARMUP_PASSES 20

static struct rte_mbuf *pkts[N_PACKETS];
static struct rte_ring *inbox[N_WORKERS];
static struct qs_cid_codec codec;
static struct qs_listen listen_set;
static struct qs_steer_stage stage;
static struct qs_stats stats;
static uint64_t drain_cycles, local_count;
static volatile uint64_t sink;

static void
die(const char *what)
{
	fprintf(stderr, "bench_steer: %s: %s\n", what, rte_strerror(rte_errno));
	exit(1);
}

static void
make_packets(struct rte_mempool *pool)
{
	uint8_t payload[DATAGRAM_LEN], frame[QS_FRAME_MAX], cid[8];

	for (int i = 0; i < N_PACKETS; i++) {
		size_t len;

		qs_cid_encode(&codec, (uint16_t)(rte_rand() % N_WORKERS), cid);
		qs_quic_short(payload, cid, sizeof(cid), sizeof(payload));
		len = qs_frame_quic_to_us(frame, i % 2, payload, sizeof(payload));
		pkts[i] = qs_frames_mbuf(pool, frame, len);
		if (pkts[i] == NULL)
			die("mbuf");
	}
}

/* The other workers take what was forwarded (their inbox drain). Nothing
 * is freed: the same mbufs are classified again on the next pass. */
static void
drain_inboxes(void)
{
	struct rte_mbuf *out[QS_MAX_BURST];
	uint64_t t0 = rte_rdtsc();

	for (int w = 0; w < N_WORKERS; w++)
		while (rte_ring_dequeue_burst(inbox[w], (void **)out, RTE_DIM(out),
					      NULL) != 0)
			;
	drain_cycles += rte_rdtsc() - t0;
}

/* The steer stage of lib/qs_lcore.c rx_one/rx_poll, minus the counters
 * that only matter there. */
static void
steer_pass(void)
{
	for (int b = 0; b < N_PACKETS; b += BURST) {
		struct rte_mbuf **burst = &pkts[b];

		for (int i = 0; i < PREFETCH_AHEAD; i++)
			rte_prefetch0(rte_pktmbuf_mtod(burst[i], void *));
		for (int i = 0; i < BURST; i++) {
			struct rte_mbuf *m = burst[i];
			struct qs_pkt_meta meta;
			struct qs_quic_hdr hdr;
			uint16_t owner, len;
			uint8_t *payload;

			if (i + PREFETCH_AHEAD < BURST)
				rte_prefetch0(rte_pktmbuf_mtod(burst[i + PREFETCH_AHEAD],
							       void *));
			if (qs_net_classify(rte_pktmbuf_mtod(m, const uint8_t *),
					    rte_pktmbuf_data_len(m), &listen_set,
					    &meta) != QS_PKT_QUIC)
				continue;
			qs_net_meta_to_mbuf(m, &meta);
			payload = qs_net_udp_payload(m, &len);
			switch (qs_steer_decide(&codec, true, SELF, payload, len, &hdr,
						&owner)) {
			case QS_STEER_FORWARD:
				qs_steer_stage_add(&stage, owner, m);
				break;
			case QS_STEER_LOCAL:
				local_count++;
				break;
			default:
				break;
			}
		}
		qs_steer_flush(&stage, inbox, N_WORKERS, &stats);
		drain_inboxes();
	}
}

/* What any receive loop costs at least: the packet's first cache line. */
static void
baseline_pass(void)
{
	uint64_t sum = 0;

	for (int b = 0; b < N_PACKETS; b += BURST) {
		struct rte_mbuf **burst = &pkts[b];

		for (int i = 0; i < PREFETCH_AHEAD; i++)
			rte_prefetch0(rte_pktmbuf_mtod(burst[i], void *));
		for (int i = 0; i < BURST; i++) {
			if (i + PREFETCH_AHEAD < BURST)
				rte_prefetch0(rte_pktmbuf_mtod(burst[i + PREFETCH_AHEAD],
							       void *));
			sum += *rte_pktmbuf_mtod(burst[i], const uint8_t *) +
			       rte_pktmbuf_data_len(burst[i]);
		}
	}
	sink += sum;
}

static uint64_t
timed(void (*pass)(void))
{
	uint64_t t0 = rte_rdtsc_precise();

	pass();
	return rte_rdtsc_precise() - t0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the per-pass samples; their median, in cycles per packet. */
static double
median_per_packet(uint64_t *samples, unsigned int n)
{
	qsort(samples, n, sizeof(*samples), cmp_u64);
	return (double)samples[n / 2] / N_PACKETS;
}

static void
report(const char *name, double median, double fastest)
{
	double hz = (double)rte_get_tsc_hz();

	printf("%-40s %7.1f cycles/packet %7.2f Mpps   (fastest pass %.1f)\n",
	       name, median, hz / median / 1e6, fastest);
}

int
main(int argc, char **argv)
{
	char *eal_argv[] = {
		argv[0], (char *)"--no-huge", (char *)"--no-pci", (char *)"-m",
		(char *)"256", (char *)"--no-shconf", (char *)"--no-telemetry",
		(char *)"--file-prefix", (char *)"bench-steer", (char *)"-l",
		(char *)"0", (char *)"--log-level=error",
	};
	unsigned int passes = argc > 1 ? (unsigned int)atoi(argv[1]) : DEFAULT_PASSES;
	uint64_t packets = (uint64_t)passes * N_PACKETS;
	uint64_t *base, *steer, *steer_only, *drain;
	double base_med, steer_med, only_med, drain_med;
	struct rte_mempool *pool;
	char err[256];

	if (passes == 0) {
		fprintf(stderr, "usage: %s [passes]\n", argv[0]);
		return 2;
	}
	if (rte_eal_init((int)RTE_DIM(eal_argv), eal_argv) < 0)
		die("EAL");
	if (qs_cid_codec_init(&codec, "nibble", N_WORKERS, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_steer: %s\n", err);
		return 1;
	}
	qs_frames_listen(&listen_set);
	pool = rte_pktmbuf_pool_create("bench_steer", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		die("mbuf pool");
	for (uint16_t w = 0; w < N_WORKERS; w++) {
		inbox[w] = qs_steer_inbox_create(w, INBOX_SIZE, SOCKET_ID_ANY);
		if (inbox[w] == NULL)
			die("inbox ring");
	}
	make_packets(pool);

	printf("bench_steer: %d packets (%d-byte short-header QUIC datagrams, "
	       "IPv4 and IPv6), %d workers, self %d, bursts of %d\n",
	       N_PACKETS, DATAGRAM_LEN, N_WORKERS, SELF, BURST);
	printf("%u passes of each loop (%" PRIu64 " packets), alternating, TSC "
	       "%.0f MHz, lcore %u\n", passes, packets, rte_get_tsc_hz() / 1e6,
	       rte_lcore_id());

	base = calloc(passes, sizeof(*base));
	steer = calloc(passes, sizeof(*steer));
	steer_only = calloc(passes, sizeof(*steer_only));
	drain = calloc(passes, sizeof(*drain));
	if (base == NULL || steer == NULL || steer_only == NULL || drain == NULL)
		return 1;
	for (unsigned int i = 0; i < WARMUP_PASSES; i++) {
		baseline_pass();
		steer_pass();
	}
	memset(&stats, 0, sizeof(stats));
	local_count = 0;
	for (unsigned int i = 0; i < passes; i++) {
		base[i] = timed(baseline_pass);
		drain_cycles = 0;
		steer[i] = timed(steer_pass);
		drain[i] = drain_cycles;
		steer_only[i] = steer[i] - drain_cycles;
	}

	base_med = median_per_packet(base, passes);
	steer_med = median_per_packet(steer, passes);
	only_med = median_per_packet(steer_only, passes);
	drain_med = median_per_packet(drain, passes);
	report("baseline (touch first cache line)", base_med,
	       (double)base[0] / N_PACKETS);
	report("steer (classify+decide+stage+flush)", only_med,
	       (double)steer_only[0] / N_PACKETS);
	report("other workers' inbox drain", drain_med,
	       (double)drain[0] / N_PACKETS);
	report("steer and drain", steer_med, (double)steer[0] / N_PACKETS);
	printf("ratio steer/baseline (medians): %.2f (with the drain: %.2f)\n",
	       only_med / base_med, steer_med / base_med);
	printf("forwarded %" PRIu64 ", local %" PRIu64 ", forward drops %" PRIu64
	       " (expect about 3/4 forwarded, no drops)\n",
	       stats.quic_forwarded_out, local_count, stats.quic_forward_dropped);
	free(base);
	free(steer);
	free(steer_only);
	free(drain);

	for (int i = 0; i < N_PACKETS; i++)
		rte_pktmbuf_free(pkts[i]);
	for (uint16_t w = 0; w < N_WORKERS; w++)
		rte_ring_free(inbox[w]);
	rte_mempool_free(pool);
	snprintf(err, sizeof(err), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(err); /* empty with --no-shconf */
	return sink == 0; /* keeps the baseline's loads; never 0 */
}
