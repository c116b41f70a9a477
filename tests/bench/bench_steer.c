/* Cost of the worker's receive stage, on one lcore, without a NIC: the
 * worker loop's own qs_rx_burst (lib/dataplane/qs_rx.h: its fast path
 * classifies, marks, reads the owner from the DCID and stages; then the
 * flush into real inbox rings and the local rest handed on) on a lcore set
 * up as the dataplane sets up a worker, over a few thousand mbufs holding
 * short-header QUIC datagrams that name random owners among 4 workers
 * (mbufs as a PMD without packet type or checksum flags leaves them; from
 * the second pass on they carry the packet type the stage wrote).
 * The other workers' drain of their inboxes runs here too (so the rings
 * never fill) and is timed apart. A baseline loop in the same run only
 * touches each packet's first cache line, as any receive loop must.
 *
 *   bench_steer [passes]      (default 2000 passes over 4096 packets)
 *
 * Each CID format in turn (nibble; quic-lb plaintext, single-pass and
 * four-pass AES), each with packets of its own CIDs: the two loops
 * alternate pass by pass, each pass timed on its own; the median pass (and
 * the fastest) of each is reported, so that a pass where another process
 * took the CPU does not skew the figures on a shared machine. Prints
 * cycles per packet and packets per second for both loops, their ratio,
 * and each format against nibble. A benchmark, not a test: it never fails
 * on a number. */
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

#include <rte_malloc.h>

#include "dataplane/qs_rx.h"
#include "qs_frames.h"

#define N_PACKETS 4096
#define N_WORKERS 4
#define SELF 0
#define BURST 32                 /* the default [dataplane] burst */
#define DATAGRAM_LEN 100         /* a small 1-RTT packet */
#define INBOX_SIZE 4096
#define POOL_SIZE (2 * N_PACKETS)
#define DEFAULT_PASSES 2000
#define WARMUP_PASSES 20

static struct rte_mbuf *pkts[N_PACKETS];

/* the CID formats measured: quic-lb's three modes, all node 1 */
static const struct format {
	const char *name;
	bool lb;
	struct qs_quic_lb_settings lb_settings;
} formats[] = {
	{"nibble", false, {0}},
	{"quic-lb plaintext", true, {.config_id = 1, .server_id_len = 2,
				      .nonce_len = 8, .node_id = 1,
				      .self_describing_length = 1}},
	{"quic-lb single-pass", true, {.config_id = 1, .server_id_len = 2,
					.nonce_len = 14, .node_id = 1,
					.key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
						11, 12, 13, 14, 15, 16},
					.key_set = true,
					.self_describing_length = 1}},
	{"quic-lb four-pass", true, {.config_id = 1, .server_id_len = 2,
				      .nonce_len = 8, .node_id = 1,
				      .key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
					      12, 13, 14, 15, 16},
				      .key_set = true,
				      .self_describing_length = 1}},
};
static struct qs_config cfg;
static struct qs_dataplane dp;
static struct qs_lcore *lc;
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
	uint8_t payload[DATAGRAM_LEN], frame[QS_FRAME_MAX], cid[20];

	for (int i = 0; i < N_PACKETS; i++) {
		size_t len;

		qs_cid_encode(&dp.codec, (uint16_t)(rte_rand() % N_WORKERS), cid);
		qs_quic_short(payload, cid, dp.codec.cid_len, sizeof(payload));
		len = qs_frame_quic_to_us(frame, i % 2, payload, sizeof(payload));
		pkts[i] = qs_frames_mbuf(pool, frame, len);
		if (pkts[i] == NULL)
			die("mbuf");
		pkts[i]->port = 0;	/* as the PMD of port 0 sets it */
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
		while (rte_ring_dequeue_burst(dp.inbox[w], (void **)out, RTE_DIM(out),
					      NULL) != 0)
			;
	drain_cycles += rte_rdtsc() - t0;
}

/* What the worker does with the datagrams it owns, minus the server:
 * counted, kept for the next pass. */
static void
count_local(struct qs_lcore *l, struct rte_mbuf **pkts, uint16_t n)
{
	(void)l; (void)pkts;
	local_count += n;
}

/* The RX stage, burst by burst, as the worker loop runs it after
 * rte_eth_rx_burst. */
static void
steer_pass(void)
{
	for (int b = 0; b < N_PACKETS; b += BURST) {
		qs_rx_burst(lc, 0, &pkts[b], BURST);
		drain_inboxes();
	}
}

/* A worker lcore as qs_dataplane_init makes one: worker SELF of
 * N_WORKERS, steering by CID, one port. */
static void
make_worker(void)
{
	qs_config_defaults(&cfg);
	qs_frames_listen(&cfg.listen);
	dp.cfg = &cfg;
	dp.listen = cfg.listen;
	dp.n_workers = N_WORKERS;
	dp.n_lcores = N_WORKERS;
	dp.n_ports = 1;
	/* the port's MAC: the frames are addressed to it */
	dp.ports[0].caps.mac = qs_frames_our_mac;
	for (uint16_t w = 0; w < N_WORKERS; w++) {
		dp.inbox[w] = qs_steer_inbox_create(w, INBOX_SIZE, SOCKET_ID_ANY);
		if (dp.inbox[w] == NULL)
			die("inbox ring");
	}
	lc = rte_zmalloc("bench_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	if (lc == NULL)
		die("lcore");
	lc->dp = &dp;
	lc->worker = SELF;
	lc->steer = true;
	lc->burst = BURST;
	lc->tx.ports = dp.ports;
	lc->tx.port_index = dp.port_index;
	lc->tx.n_ports = dp.n_ports;
	lc->tx.stats = &lc->stats;
	qs_lcore_set_role(lc, QS_ROLE_RTC);
	lc->rx_local = count_local;
	dp.lcores[SELF] = dp.workers[SELF] = lc;
}

/* What any receive loop costs at least: the packet's first cache line. */
static void
baseline_pass(void)
{
	uint64_t sum = 0;

	for (int b = 0; b < N_PACKETS; b += BURST) {
		struct rte_mbuf **burst = &pkts[b];

		for (int i = 0; i < QS_RX_PREFETCH_AHEAD; i++)
			rte_prefetch0(rte_pktmbuf_mtod(burst[i], void *));
		for (int i = 0; i < BURST; i++) {
			if (i + QS_RX_PREFETCH_AHEAD < BURST)
				rte_prefetch0(rte_pktmbuf_mtod(burst[i + QS_RX_PREFETCH_AHEAD],
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
	double ratio[RTE_DIM(formats)];
	char err[256];

	if (passes == 0) {
		fprintf(stderr, "usage: %s [passes]\n", argv[0]);
		return 2;
	}
	if (rte_eal_init((int)RTE_DIM(eal_argv), eal_argv) < 0)
		die("EAL");
	pool = rte_pktmbuf_pool_create("bench_steer", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		die("mbuf pool");
	make_worker();

	printf("bench_steer: %d packets (%d-byte short-header QUIC datagrams, "
	       "IPv4 and IPv6), %d workers, self %d, bursts of %d\n",
	       N_PACKETS, DATAGRAM_LEN, N_WORKERS, SELF, BURST);
	printf("%u passes of each loop (%" PRIu64 " packets) per CID format, "
	       "alternating, TSC %.0f MHz, lcore %u\n", passes, packets,
	       rte_get_tsc_hz() / 1e6, rte_lcore_id());

	base = calloc(passes, sizeof(*base));
	steer = calloc(passes, sizeof(*steer));
	steer_only = calloc(passes, sizeof(*steer_only));
	drain = calloc(passes, sizeof(*drain));
	if (base == NULL || steer == NULL || steer_only == NULL || drain == NULL)
		return 1;
	for (size_t f = 0; f < RTE_DIM(formats); f++) {
		const struct format *fm = &formats[f];

		qs_cid_codec_fini(&dp.codec);
		if ((fm->lb ? qs_cid_codec_init_quic_lb(&dp.codec, &fm->lb_settings,
							 N_WORKERS, err, sizeof(err))
			    : qs_cid_codec_init(&dp.codec, "nibble", N_WORKERS,
						err, sizeof(err))) != 0) {
			fprintf(stderr, "bench_steer: %s: %s\n", fm->name, err);
			return 1;
		}
		make_packets(pool);
		for (unsigned int i = 0; i < WARMUP_PASSES; i++) {
			baseline_pass();
			steer_pass();
		}
		memset(&lc->stats, 0, sizeof(lc->stats));
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
		printf("\n%s (%u-byte CIDs)\n", fm->name, dp.codec.cid_len);
		report("baseline (touch first cache line)", base_med,
		       (double)base[0] / N_PACKETS);
		report("steer (classify+decide+stage+flush)", only_med,
		       (double)steer_only[0] / N_PACKETS);
		report("other workers' inbox drain", drain_med,
		       (double)drain[0] / N_PACKETS);
		report("steer and drain", steer_med, (double)steer[0] / N_PACKETS);
		ratio[f] = only_med / base_med;
		printf("ratio steer/baseline (medians): %.2f (with the drain: %.2f)\n",
		       ratio[f], steer_med / base_med);
		printf("forwarded %" PRIu64 ", local %" PRIu64 ", forward drops %"
		       PRIu64 " (expect about 3/4 forwarded, no drops)\n",
		       lc->stats.quic_forwarded_out, local_count,
		       lc->stats.quic_forward_dropped);
		for (int i = 0; i < N_PACKETS; i++)
			rte_pktmbuf_free(pkts[i]);
	}
	printf("\nsteer/baseline against nibble's:");
	for (size_t f = 1; f < RTE_DIM(formats); f++)
		printf(" %s %.2f x%s", formats[f].name, ratio[f] / ratio[0],
		       f + 1 < RTE_DIM(formats) ? "," : "\n");
	free(base);
	free(steer);
	free(steer_only);
	free(drain);
	qs_cid_codec_fini(&dp.codec);

	for (uint16_t w = 0; w < N_WORKERS; w++)
		rte_ring_free(dp.inbox[w]);
	rte_free(lc);
	rte_mempool_free(pool);
	snprintf(err, sizeof(err), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(err); /* empty with --no-shconf */
	return sink == 0; /* keeps the baseline's loads; never 0 */
}
