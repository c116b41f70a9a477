/* The server fuzz harness (server_harness.h): the in-process server of
 * tests/unit/qs_inproc.h on the virtual clock, the input format, and the
 * checks after every frame and every input. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "quic/qs_timers.h"
#include "quic/qs_tls.h"
#include "interpose.h"
#include "qs_frames.h"
#include "server_harness.h"
#include "fuzz_require.h"

#define N_MBUFS 2047
#define NS_PER_MS 1000000ull
/* a graceful stop at the end of an input: passes of the server, 25 ms
 * apart, for the final GOAWAYs (they leave 2 RTTs after the notice) */
#define STOP_DRAIN_PASSES 4
#define STOP_DRAIN_STEP_NS (25 * NS_PER_MS)
#define NOTES_LEN 3000

static const struct rte_ether_addr other_mac = {
	.addr_bytes = {0x02, 0x66, 0x66, 0x66, 0x66, 0x66}};

const struct qs_inproc_addr qs_fuzz_sources[QS_FUZZ_N_SRC] = {
	[QS_FUZZ_SRC_CLIENT] = {.v4 = RTE_BE32(RTE_IPV4(198, 18, 0, 2)),
				.port = QS_FRAMES_PEER_PORT,
				.mac = &qs_frames_peer_mac},
	[QS_FUZZ_SRC_REBOUND] = {.v4 = RTE_BE32(RTE_IPV4(198, 18, 0, 2)),
				 .port = QS_FRAMES_PEER_PORT + 1,
				 .mac = &qs_frames_peer_mac},
	[QS_FUZZ_SRC_OTHER] = {.v4 = RTE_BE32(RTE_IPV4(198, 18, 0, 99)),
			       .port = 40001, .mac = &other_mac},
	[QS_FUZZ_SRC_CLIENT6] = {.ipv6 = true, .v6 = qs_frames_peer_v6,
				 .port = QS_FRAMES_PEER_PORT,
				 .mac = &qs_frames_peer_mac},
};

/* from one loop pass to the handshake timeout and the idle timeout in a
 * few records */
const uint32_t qs_fuzz_advance_ms[8] = {0, 1, 5, 25, 100, 400, 2000, 10000};

/* how deep an input got: qs_fuzz_depth */
static const enum qs_counter_id depth_counters[] = {
	QS_CNT_quic_initials, QS_CNT_quic_conn_accepted, QS_CNT_quic_retries_sent,
	QS_CNT_quic_handshakes_completed, QS_CNT_quic_sessions_resumed,
	QS_CNT_quic_0rtt_accepted, QS_CNT_quic_path_migrations,
	QS_CNT_h3_requests, QS_CNT_h3_responses_2xx, QS_CNT_h3_responses_4xx,
	QS_CNT_quic_version_negotiations_sent, QS_CNT_quic_stateless_resets_sent,
	QS_CNT_quic_conn_refused,
};

uint64_t
qs_fuzz_now(void)
{
	return qs_fuzz_clock_ns;
}

/* ---- EAL: no hugepages, no PCI, no files; the process keeps every CPU it
 * had (EAL pins its main thread to the main lcore's CPU) ---- */

static void
eal_init(const char *name)
{
	char prefix[64], lcores[32];
	char *argv[] = {
		(char *)name, (char *)"--no-huge", (char *)"--no-pci",
		(char *)"-m", (char *)"64", (char *)"--no-shconf",
		(char *)"--no-telemetry", (char *)"--log-level=error",
		(char *)"--file-prefix", prefix, (char *)"--lcores", lcores,
	};
	cpu_set_t cpus;
	int first = 0;

	if (pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus) != 0)
		qs_inproc_die("pthread_getaffinity_np", strerror(errno));
	while (first < CPU_SETSIZE && !CPU_ISSET(first, &cpus))
		first++;
	snprintf(prefix, sizeof(prefix), "%s-%d", name, (int)getpid());
	snprintf(lcores, sizeof(lcores), "0@%d", first);
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		qs_inproc_die("EAL initialisation failed", rte_strerror(rte_errno));
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
}

/* ---- the wire ---- */

static int
source_of(const struct qs_inproc_frame *fr)
{
	for (int s = 0; s < QS_FUZZ_N_SRC; s++) {
		const struct qs_inproc_addr *a = &qs_fuzz_sources[s];

		if (a->ipv6 != fr->ipv6 || a->port != fr->dport)
			continue;
		if (fr->ipv6 ? memcmp(a->v6, fr->dst_v6, 16) == 0
			     : a->v4 == fr->dst_v4)
			return s;
	}
	return -1;
}

/* The TX burst: the harness is the NIC and takes everything. Every frame
 * the server sends: well formed, from us, to a source and that source's
 * MAC (never to an address, port or MAC no datagram came from: path
 * poisoning would show here). */
static uint16_t
check_burst(struct qs_tx *tx, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	struct qs_fuzz *f = qs_container_of(tx, struct qs_fuzz, s.tx);

	(void)pi;
	for (uint16_t i = 0; i < n; i++) {
		struct qs_inproc_frame fr;
		struct qs_fuzz_out o;
		int dst;

		REQUIRE_NULL(qs_inproc_frame_parse(pkts[i], &fr));
		dst = source_of(&fr);
		REQUIRE(dst >= 0);
		REQUIRE(rte_is_same_ether_addr(fr.dst_mac, qs_fuzz_sources[dst].mac));
		o = (struct qs_fuzz_out){.m = pkts[i], .dst = (enum qs_fuzz_src)dst,
					 .ecn = fr.ecn, .payload = fr.payload,
					 .len = fr.len};
		if (f->sink != NULL)
			f->sink(f->sink_arg, &o);
		else
			rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

/* ---- setup ---- */

static void
server_up(struct qs_fuzz *f)
{
	/* the clock's zero: GnuTLS's 0-RTT anti-replay window starts before
	 * any ticket an input can issue */
	qs_fuzz_clock_ns = 0;
	qs_inproc_start(&f->s);
}

/* A self-signed certificate and its key that are the same bytes in every
 * process: the key comes from the fixtures' random stream, the serial and
 * dates are fixed around the virtual epoch. A replayed client flight only
 * authenticates against the server it was recorded with, and the
 * certificate is part of the handshake transcript. A docroot of three
 * files: /, /notes.txt over a few packets, /d/. */
static void
make_files(struct qs_inproc_files *fx)
{
	static const uint8_t serial[8] = {0x51, 0x5f, 0xf0, 0x22};
	const time_t epoch = (time_t)QS_FUZZ_WALL_EPOCH_S;
	const struct qs_inproc_cert cert = {
		.cn = "quicsteer fuzz",
		.serial = serial,
		.not_before = epoch - 86400,
		.not_after = epoch + 10 * 365 * 86400,
	};
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_FIXTURES);

	qs_fuzz_rnd_reset();
	qs_inproc_files_make(fx, "fuzz-server", &cert, NOTES_LEN);
	qs_inproc_files_put(fx, "d/index.html", QS_INPROC_INDEX_HTML,
			    sizeof(QS_INPROC_INDEX_HTML) - 1);
	qs_fuzz_rnd_role(prev);
}

void
qs_fuzz_setup(struct qs_fuzz *f, const char *name)
{
	struct qs_inproc_files fx;
	struct qs_config *cfg = &f->s.cfg;

	memset(f, 0, sizeof(*f));
	qs_fuzz_interpose_init();
	eal_init(name);

	make_files(&fx);
	qs_inproc_config(&f->s, &fx, QS_FUZZ_MAX_CONNS);
	cfg->retry_auto_unvalidated = QS_FUZZ_RETRY_AUTO_UNVALIDATED;
	/* GnuTLS's ECDSA nonces come from the interposed gnutls_rnd, so the
	 * server's CertificateVerify, and with it a recorded client's
	 * Finished, replays; OpenSSL's would be fresh each run */
	cfg->signer = QS_SIGNER_GNUTLS;
	/* fixed secrets and ticket key: tokens, reset tokens and tickets are
	 * the same in every run */
	for (size_t i = 0; i < sizeof(cfg->token_secret); i++)
		cfg->token_secret[i] = (uint8_t)(0x80 + i);
	for (size_t i = 0; i < sizeof(cfg->ticket_key); i++)
		cfg->ticket_key[i] = (uint8_t)(0xc0 ^ i);
	cfg->token_secret_set = cfg->ticket_key_set = true;
	qs_inproc_init(&f->s, "fuzz_server", N_MBUFS, qs_fuzz_now);
	/* credentials and content are in memory now */
	qs_inproc_files_remove(&fx);
	f->s.tx.burst = check_burst;
	server_up(f);
}

void
qs_fuzz_teardown(struct qs_fuzz *f)
{
	qs_inproc_fini(&f->s);
	rte_eal_cleanup();
}

/* ---- one input ---- */

/* rte_malloc elements in use: connections, their close packets, HTTP/3
 * streams come from there, and must all go back */
static unsigned int
heap_allocs(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			n += st.alloc_count;
	}
	return n;
}

void
qs_fuzz_begin(struct qs_fuzz *f, uint8_t options)
{
	unsigned int retry = (options & QS_FUZZ_OPT_RETRY_MASK) >>
		QS_FUZZ_OPT_RETRY_SHIFT;

	qs_fuzz_rnd_reset();
	qs_fuzz_clock_ns = QS_FUZZ_CLOCK_START;
	f->s.env.now = qs_fuzz_clock_ns;
	qs_fuzz_null_protection(options & QS_FUZZ_OPT_NULL_PROTECTION);
	f->s.cfg.retry = retry == QS_FUZZ_OPT_RETRY_ON ? QS_RETRY_ON
		: retry == QS_FUZZ_OPT_RETRY_AUTO ? QS_RETRY_AUTO : QS_RETRY_OFF;
	/* a full bucket: resets do not depend on the inputs before */
	qs_ratelimit_init(&f->s.reset_limit, f->s.cfg.reset_rate,
			  f->s.cfg.reset_burst);
	f->n_records = 0;
	f->stopping = false;
	f->before = f->s.stats;
	f->heap_allocs = heap_allocs();
	f->h3_cached = f->s.h3.n_free_streams;
}

void
qs_fuzz_record(struct qs_fuzz *f, uint8_t flags, const uint8_t *datagram,
	       size_t len)
{
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_SERVER);

	qs_fuzz_clock_ns += qs_fuzz_advance_ms[QS_FUZZ_ADVANCE_OF(flags)] * NS_PER_MS;
	len = RTE_MIN(len, (size_t)QS_FUZZ_DGRAM_MAX);
	if (len > 0)
		REQUIRE_NULL(qs_inproc_input(&f->s,
					     &qs_fuzz_sources[QS_FUZZ_SRC_OF(flags)],
					     QS_FUZZ_ECN_OF(flags), datagram, len));
	/* what the pass sent leaves, as at the end of a worker's loop */
	qs_inproc_step(&f->s, flags & QS_FUZZ_RUN);
	f->n_records++;
	qs_fuzz_rnd_role(prev);
}

void
qs_fuzz_stop(struct qs_fuzz *f)
{
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_SERVER);

	qs_server_shutdown(&f->s.srv);
	qs_tx_flush_all(&f->s.tx);
	f->stopping = true;
	qs_fuzz_rnd_role(prev);
}

/* Nothing of the input is left in the server, the pool or the heap, and
 * the counters balance. */
static void
check_end(struct qs_fuzz *f)
{
	const struct qs_server *srv = &f->s.srv;
	const struct qs_stats *s = &f->s.stats;

	REQUIRE(srv->set.n_conns == 0);
	REQUIRE(srv->set.n_unvalidated == 0);
	REQUIRE(LIST_EMPTY(&srv->set.conns));
	REQUIRE(TAILQ_EMPTY(&srv->set.dirty));
	REQUIRE(srv->set.timers.len == 0);
	REQUIRE(rte_hash_count(srv->set.cids.hash) == 0);
	REQUIRE(s->quic_conn_active == 0);
	REQUIRE(s->quic_conn_unvalidated == 0);
	REQUIRE(s->quic_conn_accepted == s->quic_conn_closed);
	REQUIRE(s->quic_handshakes_completed <= s->quic_conn_accepted);
	REQUIRE(s->quic_sessions_resumed <= s->quic_handshakes_completed);
	REQUIRE(s->h3_responses_2xx + s->h3_responses_4xx + s->h3_responses_5xx <=
		s->h3_requests);
	REQUIRE(f->s.tx.q[0].n == 0);
	REQUIRE(rte_mempool_avail_count(f->s.pool) == N_MBUFS);
	/* a reload frees the credentials and the store once no handshake
	 * and no response holds them: every hold was given back */
	REQUIRE(f->s.tls == NULL || qs_holds_total(&f->s.tls->holds) == 0);
	REQUIRE(qs_holds_total(&f->s.content->holds) == 0);
	/* the only rte_malloc memory that may outlive an input: the HTTP/3
	 * streams kept for reuse */
	REQUIRE(heap_allocs() - f->heap_allocs ==
		f->s.h3.n_free_streams - f->h3_cached);
}

void
qs_fuzz_end(struct qs_fuzz *f)
{
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_SERVER);

	for (int i = 0; f->stopping && i < STOP_DRAIN_PASSES &&
			qs_server_busy(&f->s.srv); i++) {
		qs_fuzz_clock_ns += STOP_DRAIN_STEP_NS;
		qs_inproc_step(&f->s, true);
	}
	qs_server_close_all(&f->s.srv);
	qs_tx_flush_all(&f->s.tx);
	check_end(f);
	if (f->stopping) {
		/* a stopping server takes no new connection, for good */
		qs_server_fini(&f->s.srv);
		server_up(f);
	}
	qs_fuzz_rnd_role(prev);
}

void
qs_fuzz_input(struct qs_fuzz *f, const uint8_t *data, size_t size)
{
	uint8_t options = size > 0 ? data[0] : 0;
	unsigned int stop_at = size > 1 ? data[1] : 0;
	bool stop = options & QS_FUZZ_OPT_STOP;
	size_t off = RTE_MIN(size, (size_t)QS_FUZZ_HDR_LEN);

	qs_fuzz_begin(f, options);
	while (size - off >= QS_FUZZ_REC_HDR_LEN &&
	       f->n_records < QS_FUZZ_RECORDS_MAX) {
		uint8_t flags = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];

		off += QS_FUZZ_REC_HDR_LEN;
		len = RTE_MIN(len, size - off);
		if (stop && !f->stopping && f->n_records == stop_at)
			qs_fuzz_stop(f);
		qs_fuzz_record(f, flags, data + off, len);
		off += len;
	}
	if (stop && !f->stopping)
		qs_fuzz_stop(f);
	qs_fuzz_end(f);
}

void
qs_fuzz_depth(const struct qs_fuzz *f, char *out, size_t outlen)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < RTE_DIM(depth_counters) && off < outlen; i++) {
		enum qs_counter_id id = depth_counters[i];
		int n = snprintf(out + off, outlen - off, "%s%s=%llu",
				 i > 0 ? " " : "", qs_counter_names[id],
				 (unsigned long long)(qs_stats_get(&f->s.stats, id) -
						      qs_stats_get(&f->before, id)));

		if (n < 0)
			break;
		off += (size_t)n;
	}
}
