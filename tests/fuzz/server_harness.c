/* The server fuzz harness (server_harness.h): setup as
 * tests/unit/test_server.c and the dataplane's lcore_new do it, the input
 * format, and the checks after every frame and every input. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_udp.h>

#include "http/qs_content.h"
#include "net/qs_classify.h"
#include "quic/qs_stateless.h"
#include "quic/qs_timers.h"
#include "quic/qs_tls.h"
#include "interpose.h"
#include "qs_frames.h"
#include "server_harness.h"

#define N_MBUFS 2047
#define NS_PER_MS 1000000ull
/* a graceful stop at the end of an input: passes of the server, 25 ms
 * apart, for the final GOAWAYs (they leave 2 RTTs after the notice) */
#define STOP_DRAIN_PASSES 4
#define STOP_DRAIN_STEP_NS (25 * NS_PER_MS)
#define NOTES_LEN 3000

#define REQUIRE(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static const struct rte_ether_addr other_mac = {
	.addr_bytes = {0x02, 0x66, 0x66, 0x66, 0x66, 0x66}};

const struct qs_fuzz_addr qs_fuzz_sources[QS_FUZZ_N_SRC] = {
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

static const char index_html[] = "<!doctype html><title>qs</title><h1>index</h1>\n";

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz server harness: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	exit(2);
}

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
		die("pthread_getaffinity_np", strerror(errno));
	while (first < CPU_SETSIZE && !CPU_ISSET(first, &cpus))
		first++;
	snprintf(prefix, sizeof(prefix), "%s-%d", name, (int)getpid());
	snprintf(lcores, sizeof(lcores), "0@%d", first);
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		die("EAL initialisation failed", rte_strerror(rte_errno));
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
}

/* ---- fixtures: written to a temporary directory, loaded, removed ---- */

static char tmpdir[PATH_MAX];

static void
put_file(const char *dir, const char *name, const void *data, size_t len,
	 char *path)
{
	FILE *fp;

	if ((size_t)snprintf(path, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		die("path too long", name);
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		die("cannot write", path);
}

#define GNUTLS_OK(call) \
	do { \
		int rv_ = (call); \
		if (rv_ < 0) \
			die(#call, gnutls_strerror(rv_)); \
	} while (0)

/* A self-signed ECDSA P-256 certificate for 198.18.0.1 and its key, the
 * same bytes in every process: the key comes from the fixtures' random
 * stream, the dates are fixed around the virtual epoch. A replayed
 * client flight only authenticates against the server it was recorded
 * with, and the certificate is part of the handshake transcript. */
static void
make_cert(char *cert_path, char *key_path)
{
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_FIXTURES);
	static const uint8_t serial[8] = {0x51, 0x5f, 0xf0, 0x22};
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t pem;
	uint32_t ip = qs_frames_our_v4;
	time_t epoch = (time_t)QS_FUZZ_WALL_EPOCH_S;

	qs_fuzz_rnd_reset();
	GNUTLS_OK(gnutls_x509_privkey_init(&key));
	GNUTLS_OK(gnutls_x509_privkey_generate(
		key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	GNUTLS_OK(gnutls_x509_crt_init(&crt));
	GNUTLS_OK(gnutls_x509_crt_set_version(crt, 3));
	GNUTLS_OK(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	GNUTLS_OK(gnutls_x509_crt_set_activation_time(crt, epoch - 86400));
	GNUTLS_OK(gnutls_x509_crt_set_expiration_time(crt, epoch + 10 * 365 * 86400));
	GNUTLS_OK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						0, "quicsteer fuzz", 14));
	GNUTLS_OK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
						      &ip, sizeof(ip),
						      GNUTLS_FSAN_SET));
	GNUTLS_OK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
	GNUTLS_OK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
	GNUTLS_OK(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
						      0));
	GNUTLS_OK(gnutls_x509_crt_set_key(crt, key));
	GNUTLS_OK(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0));

	GNUTLS_OK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem));
	put_file(tmpdir, "cert.pem", pem.data, pem.size, cert_path);
	gnutls_free(pem.data);
	GNUTLS_OK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem));
	put_file(tmpdir, "key.pem", pem.data, pem.size, key_path);
	gnutls_free(pem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	qs_fuzz_rnd_role(prev);
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	remove(path);
	return 0;
}

/* A docroot of three files: /, /notes.txt over a few packets, /d/. */
static void
make_docroot(char *docroot)
{
	static uint8_t notes[NOTES_LEN];
	char path[PATH_MAX], sub[PATH_MAX];

	if ((size_t)snprintf(docroot, PATH_MAX, "%s/www", tmpdir) >= PATH_MAX ||
	    (size_t)snprintf(sub, PATH_MAX, "%s/d", docroot) >= PATH_MAX)
		die("path too long", tmpdir);
	if (mkdir(docroot, 0755) != 0 || mkdir(sub, 0755) != 0)
		die("cannot mkdir", strerror(errno));
	for (size_t i = 0; i < sizeof(notes); i++)
		notes[i] = i % 50 == 49 ? '\n' : (uint8_t)('0' + (i / 50 + i) % 75);
	put_file(docroot, "index.html", index_html, sizeof(index_html) - 1, path);
	put_file(docroot, "notes.txt", notes, sizeof(notes), path);
	put_file(sub, "index.html", index_html, sizeof(index_html) - 1, path);
}

/* ---- the wire ---- */

static int
source_of(bool ipv6, const void *addr, uint16_t port)
{
	for (int s = 0; s < QS_FUZZ_N_SRC; s++) {
		const struct qs_fuzz_addr *a = &qs_fuzz_sources[s];

		if (a->ipv6 != ipv6 || a->port != port)
			continue;
		if (ipv6 ? memcmp(a->v6, addr, 16) == 0
			 : memcmp(&a->v4, addr, 4) == 0)
			return s;
	}
	return -1;
}

/* Every frame the server sends: well formed, from us, to a source and
 * that source's MAC (never to an address, port or MAC no datagram came
 * from: path poisoning would show here). */
static void
check_out(struct rte_mbuf *m, struct qs_fuzz_out *o)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_udp_hdr *udp;
	uint16_t l4_len;
	int dst;

	REQUIRE(m->nb_segs == 1 && rte_pktmbuf_pkt_len(m) == len);
	REQUIRE(len >= RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) +
		sizeof(*udp));
	REQUIRE(rte_is_same_ether_addr(&eth->src_addr, &qs_frames_our_mac));
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		REQUIRE(ip->version_ihl == RTE_IPV4_VHL_DEF);
		REQUIRE(ip->next_proto_id == IPPROTO_UDP);
		REQUIRE(rte_be_to_cpu_16(ip->total_length) == len - RTE_ETHER_HDR_LEN);
		REQUIRE(rte_raw_cksum(ip, sizeof(*ip)) == 0xffff);
		REQUIRE(ip->src_addr == qs_frames_our_v4);
		udp = (struct rte_udp_hdr *)(ip + 1);
		REQUIRE(rte_ipv4_udptcp_cksum_verify(ip, udp) == 0);
		l4_len = (uint16_t)(len - RTE_ETHER_HDR_LEN - sizeof(*ip));
		dst = source_of(false, &ip->dst_addr, rte_be_to_cpu_16(udp->dst_port));
		o->ecn = ip->type_of_service & 3;
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		REQUIRE(eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6));
		REQUIRE(len >= RTE_ETHER_HDR_LEN + sizeof(*ip) + sizeof(*udp));
		REQUIRE(rte_be_to_cpu_32(ip->vtc_flow) >> 28 == 6);
		REQUIRE(ip->proto == IPPROTO_UDP);
		REQUIRE(rte_be_to_cpu_16(ip->payload_len) ==
			len - RTE_ETHER_HDR_LEN - sizeof(*ip));
		REQUIRE(memcmp(ip->src_addr, qs_frames_our_v6, 16) == 0);
		udp = (struct rte_udp_hdr *)(ip + 1);
		REQUIRE(rte_ipv6_udptcp_cksum_verify(ip, udp) == 0);
		l4_len = (uint16_t)(len - RTE_ETHER_HDR_LEN - sizeof(*ip));
		dst = source_of(true, ip->dst_addr, rte_be_to_cpu_16(udp->dst_port));
		o->ecn = (rte_be_to_cpu_32(ip->vtc_flow) >> 20) & 3;
	}
	REQUIRE(rte_be_to_cpu_16(udp->src_port) == QS_FRAMES_OUR_PORT);
	REQUIRE(rte_be_to_cpu_16(udp->dgram_len) == l4_len);
	REQUIRE(dst >= 0);
	REQUIRE(rte_is_same_ether_addr(&eth->dst_addr, qs_fuzz_sources[dst].mac));
	o->m = m;
	o->dst = (enum qs_fuzz_src)dst;
	o->payload = (const uint8_t *)(udp + 1);
	o->len = (uint16_t)(l4_len - sizeof(*udp));
}

/* The TX burst: the harness is the NIC and takes everything. */
static uint16_t
capture_burst(struct qs_tx *tx, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	struct qs_fuzz *f = qs_container_of(tx, struct qs_fuzz, tx);

	(void)pi;
	for (uint16_t i = 0; i < n; i++) {
		struct qs_fuzz_out o;

		check_out(pkts[i], &o);
		if (f->sink != NULL)
			f->sink(f->sink_arg, &o);
		else
			rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

/* A datagram from the source its flags name, with their ECN bits, framed,
 * classified and checked as the RX stage and the owner do
 * (lib/dataplane/qs_rx.h, qs_lcore.c), into the server. */
static void
input_datagram(struct qs_fuzz *f, uint8_t flags, const uint8_t *payload,
	       size_t len)
{
	const struct qs_fuzz_addr *a = &qs_fuzz_sources[QS_FUZZ_SRC_OF(flags)];
	uint8_t ecn = QS_FUZZ_ECN_OF(flags);
	uint8_t frame[QS_FRAME_MAX];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t flen;

	if (a->ipv6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		flen = qs_frame_udp6(frame, a->v6, qs_frames_our_v6, a->port,
				     QS_FRAMES_OUR_PORT, payload, len);
		ip->vtc_flow |= rte_cpu_to_be_32((uint32_t)ecn << 20);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		flen = qs_frame_udp4(frame, a->v4, qs_frames_our_v4, a->port,
				     QS_FRAMES_OUR_PORT, payload, len);
		ip->type_of_service = ecn;
		qs_frame_ipv4_fix_cksum(frame);
	}
	rte_ether_addr_copy(a->mac, &eth->src_addr);
	m = qs_frames_mbuf(f->pool, frame, flen);
	REQUIRE(m != NULL);
	m->port = f->ports[0].port_id;
	REQUIRE(qs_net_classify(rte_pktmbuf_mtod(m, const uint8_t *),
				rte_pktmbuf_data_len(m), &f->cfg.listen,
				&f->ports[0].caps.mac, &meta) == QS_PKT_QUIC);
	qs_net_meta_to_mbuf(m, &meta);
	REQUIRE(qs_net_udp_cksum_ok(m));
	qs_server_input(&f->srv, m);
}

/* ---- setup ---- */

static void
server_up(struct qs_fuzz *f)
{
	/* the clock's zero: GnuTLS's 0-RTT anti-replay window starts before
	 * any ticket an input can issue */
	qs_fuzz_clock_ns = 0;
	f->env.now = 0;
	if (qs_server_init(&f->srv, &f->env, (int)rte_socket_id()) != 0)
		die("qs_server_init", NULL);
}

static void
config(struct qs_fuzz *f, const char *cert, const char *key, const char *docroot)
{
	char err[QS_ERR_LEN], n[16], m[16];

	qs_config_defaults(&f->cfg);
	qs_frames_listen(&f->cfg.listen);
	snprintf(n, sizeof(n), "%u", QS_FUZZ_MAX_CONNS);
	snprintf(m, sizeof(m), "%u", QS_FUZZ_RETRY_AUTO_UNVALIDATED);
	if (qs_config_set(&f->cfg, "tls", "cert", cert, err, sizeof(err)) != 0 ||
	    qs_config_set(&f->cfg, "tls", "key", key, err, sizeof(err)) != 0 ||
	    qs_config_set(&f->cfg, "http", "docroot", docroot, err, sizeof(err)) != 0 ||
	    qs_config_set(&f->cfg, "quic", "max_conns", n, err, sizeof(err)) != 0 ||
	    qs_config_set(&f->cfg, "quic", "retry_auto_unvalidated", m, err,
			  sizeof(err)) != 0)
		die("configuration", err);
	/* fixed secrets and ticket key: tokens, reset tokens and tickets are
	 * the same in every run */
	for (size_t i = 0; i < sizeof(f->cfg.reset_secret); i++) {
		f->cfg.reset_secret[i] = (uint8_t)(0x40 + i);
		f->cfg.token_secret[i] = (uint8_t)(0x80 + i);
	}
	for (size_t i = 0; i < sizeof(f->cfg.ticket_key); i++)
		f->cfg.ticket_key[i] = (uint8_t)(0xc0 ^ i);
	f->cfg.reset_secret_set = f->cfg.token_secret_set = true;
	f->cfg.ticket_key_set = true;
}

void
qs_fuzz_setup(struct qs_fuzz *f, const char *name)
{
	char cert[PATH_MAX], key[PATH_MAX], docroot[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	char err[QS_ERR_LEN];

	memset(f, 0, sizeof(*f));
	qs_fuzz_interpose_init();
	eal_init(name);

	snprintf(tmpdir, sizeof(tmpdir), "%s/qs-fuzz-server-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		die("cannot make a temporary directory", strerror(errno));
	make_cert(cert, key);
	make_docroot(docroot);
	config(f, cert, key, docroot);

	if (qs_cid_codec_init(&f->codec, f->cfg.cid_format, 1, err, sizeof(err)) != 0)
		die("cid codec", err);
	if (qs_stateless_init(&f->cfg) != 0)
		die("qs_stateless_init", NULL);
	if (qs_tls_init(&f->cfg, err, sizeof(err)) != 0)
		die("qs_tls_init", err);
	if (qs_content_load(f->cfg.docroot, (uint64_t)f->cfg.docroot_max_mb << 20,
			    err, sizeof(err)) != 0)
		die("qs_content_load", err);
	/* credentials and content are in memory now */
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	qs_h3_global_init();

	f->pool = rte_pktmbuf_pool_create("fuzz_server", N_MBUFS, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	if (f->pool == NULL)
		die("mbuf pool", rte_strerror(rte_errno));
	f->ports[0].port_id = 0;
	f->ports[0].nb_queues = 1;
	rte_ether_addr_copy(&qs_frames_our_mac, &f->ports[0].caps.mac);
	f->tx.ports = f->ports;
	f->tx.port_index = f->port_index;
	f->tx.n_ports = 1;
	f->tx.stats = &f->stats;
	f->tx.burst = capture_burst;
	f->env = (struct qs_env){
		.cfg = &f->cfg,
		.codec = &f->codec,
		.pool = f->pool,
		.worker = 0,
		.app = &qs_h3_app_ops,
		.app_ctx = &f->h3,
		.stats = &f->stats,
		.tx = &f->tx,
		.reset_limit = &f->reset_limit,
	};
	server_up(f);
}

void
qs_fuzz_teardown(struct qs_fuzz *f)
{
	qs_server_fini(&f->srv);
	qs_tx_discard(&f->tx);
	qs_h3_lcore_fini(&f->h3);
	rte_mempool_free(f->pool);
	qs_tls_fini();
	qs_content_free();
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
	f->env.now = qs_fuzz_clock_ns;
	qs_fuzz_null_protection(options & QS_FUZZ_OPT_NULL_PROTECTION);
	f->cfg.retry = retry == QS_FUZZ_OPT_RETRY_ON ? QS_RETRY_ON
		: retry == QS_FUZZ_OPT_RETRY_AUTO ? QS_RETRY_AUTO : QS_RETRY_OFF;
	/* a full bucket: resets do not depend on the inputs before */
	qs_ratelimit_init(&f->reset_limit, f->cfg.reset_rate, f->cfg.reset_burst);
	f->n_records = 0;
	f->stopping = false;
	f->before = f->stats;
	f->heap_allocs = heap_allocs();
	f->h3_cached = f->h3.n_free_streams;
}

void
qs_fuzz_record(struct qs_fuzz *f, uint8_t flags, const uint8_t *datagram,
	       size_t len)
{
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_SERVER);

	qs_fuzz_clock_ns += qs_fuzz_advance_ms[QS_FUZZ_ADVANCE_OF(flags)] * NS_PER_MS;
	f->env.now = qs_fuzz_clock_ns;
	if (len > 0)
		input_datagram(f, flags, datagram,
			       RTE_MIN(len, (size_t)QS_FUZZ_DGRAM_MAX));
	if (flags & QS_FUZZ_RUN)
		qs_server_run(&f->srv);
	/* what the pass sent leaves, as at the end of a worker's loop */
	qs_tx_flush_all(&f->tx);
	f->n_records++;
	qs_fuzz_rnd_role(prev);
}

void
qs_fuzz_stop(struct qs_fuzz *f)
{
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_SERVER);

	qs_server_shutdown(&f->srv);
	qs_tx_flush_all(&f->tx);
	f->stopping = true;
	qs_fuzz_rnd_role(prev);
}

/* Nothing of the input is left in the server, the pool or the heap, and
 * the counters balance. */
static void
check_end(struct qs_fuzz *f)
{
	const struct qs_stats *s = &f->stats;

	REQUIRE(f->srv.set.n_conns == 0);
	REQUIRE(f->srv.set.n_unvalidated == 0);
	REQUIRE(LIST_EMPTY(&f->srv.set.conns));
	REQUIRE(TAILQ_EMPTY(&f->srv.set.dirty));
	REQUIRE(f->srv.set.timers.len == 0);
	REQUIRE(rte_hash_count(f->srv.set.cids.hash) == 0);
	REQUIRE(s->quic_conn_active == 0);
	REQUIRE(s->quic_conn_unvalidated == 0);
	REQUIRE(s->quic_conn_accepted == s->quic_conn_closed);
	REQUIRE(s->quic_handshakes_completed <= s->quic_conn_accepted);
	REQUIRE(s->quic_sessions_resumed <= s->quic_handshakes_completed);
	REQUIRE(s->h3_responses_2xx + s->h3_responses_4xx + s->h3_responses_5xx <=
		s->h3_requests);
	REQUIRE(f->tx.q[0].n == 0);
	REQUIRE(rte_mempool_avail_count(f->pool) == N_MBUFS);
	/* the only rte_malloc memory that may outlive an input: the HTTP/3
	 * streams kept for reuse */
	REQUIRE(heap_allocs() - f->heap_allocs ==
		f->h3.n_free_streams - f->h3_cached);
}

void
qs_fuzz_end(struct qs_fuzz *f)
{
	enum qs_fuzz_role prev = qs_fuzz_rnd_role(QS_FUZZ_ROLE_SERVER);

	for (int i = 0; f->stopping && i < STOP_DRAIN_PASSES &&
			qs_server_busy(&f->srv); i++) {
		qs_fuzz_clock_ns += STOP_DRAIN_STEP_NS;
		f->env.now = qs_fuzz_clock_ns;
		qs_server_run(&f->srv);
		qs_tx_flush_all(&f->tx);
	}
	qs_server_close_all(&f->srv);
	qs_tx_flush_all(&f->tx);
	check_end(f);
	if (f->stopping) {
		/* a stopping server takes no new connection, for good */
		qs_server_fini(&f->srv);
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
				 (unsigned long long)(qs_stats_get(&f->stats, id) -
						      qs_stats_get(&f->before, id)));

		if (n < 0)
			break;
		off += (size_t)n;
	}
}
