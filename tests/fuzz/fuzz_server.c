/* libFuzzer target: one input is a sequence of datagrams from a few client
 * addresses, with the clock moves and server passes between them
 * (server_harness.h has the format), into one per-lcore QUIC server
 * (qs_server_input, qs_server_run) with the real ngtcp2 server, GnuTLS and
 * the HTTP/3 request path (nghttp3, the content store) behind it.
 *
 * Everything below the server that is not a function of the input is
 * made one (interpose.c): fixed-seed randomness for the server's CIDs and
 * for GnuTLS, a virtual clock, fixed secrets and ticket key, a certificate
 * that is the same in every process. So a client flight recorded by
 * make_server_seeds replays as it was recorded: its Handshake and 1-RTT
 * packets decrypt, the handshake completes, requests are answered. Each
 * input may ask for null packet protection, under which mutations reach
 * ngtcp2's frame parsing, the TLS messages and nghttp3 instead of failing
 * the AEAD.
 *
 * Coverage feedback comes from lib/ and the harness only: Debian's ngtcp2,
 * nghttp3 and GnuTLS are not instrumented (their memcmp calls still feed
 * libFuzzer's comparison tables, through ASan's interceptors). What takes
 * inputs deep into them is the seeds and null protection.
 *
 * Beyond the sanitizers, the harness aborts (a crash to libFuzzer) when an
 * invariant breaks: every frame sent well formed and to where a datagram
 * came from; after every input, once all connections are closed, nothing
 * left in the server (connections, CIDs, timers), every mbuf back in the
 * pool, the rte_malloc heap as it was, the counters balanced.
 *
 * QS_FUZZ_EXPECT="name=N ..." (run_fuzz_server.sh, one seed per run): the
 * counters an input moves must be exactly these (qs_fuzz_depth): a seed
 * gets as deep as when it was recorded. At exit the totals of a run are
 * printed, to tell how deep the fuzzing went.
 *
 * By hand, in build-fuzz/tests/fuzz (LSAN_OPTIONS as run_fuzz_server.sh
 * sets it):
 *   ./make_server_seeds seeds seeds.manifest
 *   ./fuzz_server -max_len=32768 corpus seeds     fuzz, new inputs to corpus
 *   ./fuzz_server crash-...                       replay one input */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/qs_stats.h"
#include "server_harness.h"

#define DEPTH_LEN 1024

static struct qs_fuzz F;
static const char *expect;
static unsigned long long inputs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* ASan's defaults for this target (ASAN_OPTIONS still overrides them): an
 * input allocates and frees a few connections' worth of GnuTLS, ngtcp2 and
 * nghttp3 state, and filling every allocation and cycling it through the
 * default 256 MiB quarantine cost more than the server: without them, 1.6
 * to 2.5 times the executions per second in a comparison here. 64 MiB
 * still holds what hundreds of inputs freed. */
const char *
__asan_default_options(void)
{
	return "max_malloc_fill_size=0:quarantine_size_mb=64";
}

static void
totals(void)
{
	static const enum qs_counter_id shown[] = {
		QS_CNT_quic_initials, QS_CNT_quic_conn_accepted,
		QS_CNT_quic_handshakes_completed, QS_CNT_quic_sessions_resumed,
		QS_CNT_quic_0rtt_accepted, QS_CNT_quic_retries_sent,
		QS_CNT_quic_path_migrations, QS_CNT_quic_drop_unauthenticated,
		QS_CNT_quic_drop_pn_guard,
		QS_CNT_h3_requests, QS_CNT_h3_responses_2xx,
		QS_CNT_h3_responses_4xx, QS_CNT_h3_responses_5xx,
	};

	fprintf(stderr, "fuzz_server: %llu inputs;", inputs);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		fprintf(stderr, " %s=%llu", qs_counter_names[shown[i]],
			(unsigned long long)qs_stats_get(&F.s.stats, shown[i]));
	fputc('\n', stderr);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	qs_fuzz_setup(&F, "fuzz-server");
	expect = getenv("QS_FUZZ_EXPECT");
	atexit(totals);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char depth[DEPTH_LEN];

	qs_fuzz_input(&F, data, size);
	inputs++;
	if (expect != NULL && size > 0) {
		qs_fuzz_depth(&F, depth, sizeof(depth));
		fprintf(stderr, "fuzz_server: reached %s\n", depth);
		if (strcmp(depth, expect) != 0) {
			fprintf(stderr, "fuzz_server: expected %s\n", expect);
			abort();
		}
	}
	return 0;
}
