/* The per-lcore QUIC server (quic/qs_server.c) driven end to end by a real
 * ngtcp2 + nghttp3 + GnuTLS client in the same process, built on the shared
 * glue (quic/qs_quic_glue.h) as quicsteer-load is, and wired to the server
 * as the dataplane wires a worker (dataplane/qs_dataplane.c lcore_new):
 * the client's datagrams go in as Ethernet/IPv4/UDP frames through
 * qs_net_classify and qs_server_input; what the server sends comes out of a
 * TX burst function of the test's own, is checked as a frame (MACs,
 * addresses, ports, both checksums) and read by the client.
 *
 * Covers, as a user sees it:
 * - the handshake, a full 1-RTT one (no Retry, no resumption, no 0-RTT)
 *   against a self-signed ECDSA certificate made here and verified by the
 *   client, ALPN h3; the stats move by exactly one Initial, one accepted
 *   connection, one completed handshake, one active connection;
 * - HTTP/3: GET /bytes/100000 (status, content-length and every body byte
 *   'a' + k % 26), a docroot file (exact bytes, content-type), / serving
 *   index.html, 404, 405 with allow (also for a method longer than the
 *   server keeps), 431 for header fields over max_field_section_size,
 *   HEAD (headers, no body), 414 for a
 *   path longer than QS_H3_PATH_MAX, 400 for /bytes/abc; h3_requests and
 *   h3_responses_2xx/4xx/5xx;
 * - the control requests (show conns, show conn <cid>): one connection,
 *   its CID is the client's current DCID, its peer the client's address;
 *   found by that CID, not by an unknown one;
 * - a NAT rebinding (the client's port changes unannounced; what the
 *   server sends to the old port is lost): the next request completes
 *   and quic_path_migrations moves; show conn names the new port;
 * - two key updates by the client, a request under each new key; a packet
 *   held back until the server answered the next one is refused by the
 *   packet-number guard (quic_drop_pn_guard) and its request still served;
 * - stateless answers: a reset (short header, 43 bytes, the reset token
 *   ngtcp2 derives from the configured secret) for an unknown CID naming
 *   worker 0, nothing for a 21-byte trigger; Version Negotiation listing
 *   version 1 for an unknown version in 1200 bytes, nothing under 1200;
 * - path poisoning: datagrams with the connection's DCID that ngtcp2
 *   cannot authenticate, from another MAC at the client's address and
 *   from another address, are counted (quic_drop_unauthenticated) and
 *   change nothing: every later frame goes to the client's MAC and address;
 * - graceful stop: a request that crosses the GOAWAY notice is served, and
 *   the final GOAWAY that follows names it as the last request taken;
 * - closing: the client's CONNECTION_CLOSE puts the connection in its
 *   draining period (silent, still listed), and once its timers run past
 *   it (the clock is moved forward) it is gone: quic_conn_active 0;
 * - a ClientHello over two Initials delivered second first: a Retry
 *   (quic_retries_sent), then the handshake and a request complete;
 * - an Initial flood from spoofed addresses: unproven handshakes stop at
 *   retry_auto_unvalidated, the rest get a Retry, a real client connects
 *   through a Retry, and the spoofed handshakes time out silently;
 * - rapid reset: opening and resetting streams past stream_resets_max a
 *   second closes the connection with H3_EXCESSIVE_LOAD;
 * - qs_server_fini frees everything and every mbuf is back in the pool
 *   (leaks of malloc'd memory are LeakSanitizer's job in the san build).
 *
 * Both ends run in one bounded loop (iterations and wall clock); a stall
 * fails with what was awaited instead of hanging. Needs no root, no
 * network and no namespaces; the certificate, key and docroot live in a
 * temporary directory that is removed at the end. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "base/qs_clock.h"
#include "base/qs_config.h"
#include "base/qs_ratelimit.h"
#include "base/qs_stats.h"
#include "dataplane/qs_ctl.h"
#include "http/qs_content.h"
#include "http/qs_h3.h"
#include "net/qs_classify.h"
#include "net/qs_port.h"
#include "net/qs_tx.h"
#include "quic/qs_env.h"
#include "quic/qs_quic_glue.h"
#include "quic/qs_server.h"
#include "quic/qs_stateless.h"
#include "quic/qs_timers.h"
#include "quic/qs_tls.h"
#include "steer/qs_cid.h"
#include "steer/qs_quic_hdr.h"
#include "qs_frames.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define N_MBUFS 4095
#define MAX_CONNS 16
#define CAPTURE_MAX 1024        /* frames the server sends per loop pass */
#define STRAY_MAX 8             /* answers to the test's own datagrams */
#define CLIENT_TX_BURST 64
#define CLIENT_UDP_MAX 1452
#define CLIENT_SCID_LEN 17
#define CLIENT_DCID_LEN 18
#define CLIENT_PORT QS_FRAMES_PEER_PORT
#define REBIND_PORT (QS_FRAMES_PEER_PORT + 1)
#define STRAY_PORT 40000        /* where the test's hand-made datagrams come from */
#define FORGED_PORT 40001       /* a forger's port at another address */
#define REORDER_PORT (QS_FRAMES_PEER_PORT + 2)
#define FLOOD_CLIENT_PORT (QS_FRAMES_PEER_PORT + 3)
#define GOAWAY_PORT (QS_FRAMES_PEER_PORT + 4)
#define RAPID_RESETS_MAX 50       /* stream_resets_max in the test */
#define RAPID_RESET_TRIES 400
#define SPOOF_NET 0xc6120100u     /* 198.18.1.0/24: the flood's sources */
#define SPOOFED_INITIALS 12
#define FLOOD_UNVALIDATED_MAX 4   /* retry_auto_unvalidated in the test */
#define FORGED_DATAGRAMS 8      /* pairs before the download, more during */
#define N_REQS 24

/* the loop's bounds: a stall fails, it never hangs */
#define PUMP_ITERS_MAX 4000
#define PUMP_WALL_NS (10ull * 1000000000)
#define IDLE_SLEEP_MAX_NS 2000000ull
#define DRAIN_SKEW_NS (5ull * 1000000000)

#define BYTES_N 100000
#define BIG_HEADER_LEN 20000     /* over the default max_field_section_size */
#define FILE_LEN 5000
#define RESET_TRIGGER_LEN 60
#define UNKNOWN_VERSION 0x1a2a3a4au   /* reserved for negotiation tests */
#define AUTHORITY "198.18.0.1"

#define TLS_PRIORITY \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"
#define TLS_PRIORITY_BIG_HELLO \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:" \
	"-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519"

static const char index_html[] = "<!doctype html><title>qs</title><h1>index</h1>\n";

/* ---- the client: one ngtcp2 connection and its HTTP/3 session ---- */

/* One request and what came back. */
struct req {
	const char *name;
	int64_t id;
	unsigned int status;
	char content_type[64];
	char allow[32];
	bool has_length;
	uint64_t content_length;
	uint8_t *body;
	size_t body_len;
	size_t body_cap;
	bool ended;                /* the response arrived in full */
	bool closed;               /* nghttp3 closed the stream */
	uint64_t error;            /* its close code */
};

struct client {
	struct qs_quic_conn q;     /* first: ngtcp2's and nghttp3's user_data */
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t priority;
	uint16_t port;             /* local UDP port, host order */
	uint16_t old_port;         /* before the last rebinding (0: none) */
	struct sockaddr_in local;
	struct sockaddr_in remote;
	uint64_t expiry;
	int err;                   /* the ngtcp2 error that ended it, or 0 */
	bool closed;               /* it sent CONNECTION_CLOSE: no more I/O */
	unsigned int goaways;      /* GOAWAY frames received */
	int64_t goaway_id;         /* the last one's stream ID */
	struct req reqs[N_REQS];
	size_t n_reqs;
};

/* ---- the server side, wired as lcore_new does ---- */

struct harness {
	struct qs_config cfg;
	struct qs_cid_codec codec;
	struct rte_mempool *pool;
	struct qs_port ports[1];
	uint8_t port_index[RTE_MAX_ETHPORTS];
	struct qs_stats stats;
	struct qs_ratelimit reset_limit;
	struct qs_h3_lcore h3;
	struct qs_tx tx;
	struct qs_env env;
	struct qs_server srv;
	bool srv_up;

	/* what the burst function took */
	struct rte_mbuf *captured[CAPTURE_MAX];
	unsigned int n_captured;
	unsigned int capture_overflow;
	/* answers to datagrams from STRAY_PORT, kept for inspection */
	struct rte_mbuf *stray[STRAY_MAX];
	unsigned int n_stray;
	unsigned int bad_frames;   /* frames that failed the frame checks */
	unsigned int lost_old_port;/* sent to the port before a rebinding */
	unsigned int to_spoofed;   /* sent to a spoofed flood address */
	unsigned int to_closed;    /* sent to the client after it ended */
	unsigned int lost_other;

	uint64_t skew;             /* added to the clock (draining period) */
	bool forge;                /* pump: forged datagrams in every pass */
	unsigned int n_forged;
	struct client cl;
};

static struct harness H;
static char tmpdir[PATH_MAX];
static char cert_path[PATH_MAX], key_path[PATH_MAX], docroot[PATH_MAX];
static uint8_t file_data[FILE_LEN];

/* The clock both ends run on: the server's own plus the test's skew. */
static uint64_t
test_now(struct harness *h)
{
	return qs_now_ns() + h->skew;
}

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "test_server: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	exit(2);
}

/* ---- fixtures: certificate, key and docroot in a temporary directory ---- */

static void
put_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die("cannot write", path);
}

static void
join(char *out, const char *a, const char *b)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX)
		die("path too long", b);
}

#define GNUTLS_OK(call) \
	do { \
		int rv_ = (call); \
		if (rv_ < 0) \
			die(#call, gnutls_strerror(rv_)); \
	} while (0)

/* A self-signed ECDSA P-256 certificate for 198.18.0.1 (an IP address
 * SAN, so the client can verify the name too), and its key, as PEM. */
static void
make_cert(void)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t pem;
	uint8_t serial[8];
	uint32_t ip = qs_frames_our_v4;
	time_t now = time(NULL);

	GNUTLS_OK(gnutls_x509_privkey_init(&key));
	GNUTLS_OK(gnutls_x509_privkey_generate(
		key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	GNUTLS_OK(gnutls_x509_crt_init(&crt));
	GNUTLS_OK(gnutls_x509_crt_set_version(crt, 3));
	GNUTLS_OK(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)));
	serial[0] &= 0x7f;
	GNUTLS_OK(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	GNUTLS_OK(gnutls_x509_crt_set_activation_time(crt, now - 3600));
	GNUTLS_OK(gnutls_x509_crt_set_expiration_time(crt, now + 86400));
	GNUTLS_OK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						0, "quicsteer unit test", 19));
	GNUTLS_OK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
						      &ip, sizeof(ip),
						      GNUTLS_FSAN_SET));
	GNUTLS_OK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
	GNUTLS_OK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
	GNUTLS_OK(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
	GNUTLS_OK(gnutls_x509_crt_set_key(crt, key));
	GNUTLS_OK(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0));

	GNUTLS_OK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem));
	put_file(cert_path, pem.data, pem.size);
	gnutls_free(pem.data);
	GNUTLS_OK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem));
	put_file(key_path, pem.data, pem.size);
	gnutls_free(pem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
}

static void
make_fixtures(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];

	snprintf(tmpdir, sizeof(tmpdir), "%s/qs-test-server-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		die("cannot make a temporary directory", strerror(errno));
	join(cert_path, tmpdir, "cert.pem");
	join(key_path, tmpdir, "key.pem");
	join(docroot, tmpdir, "www");
	make_cert();
	if (mkdir(docroot, 0755) != 0)
		die("cannot mkdir", strerror(errno));
	join(path, docroot, "index.html");
	put_file(path, index_html, sizeof(index_html) - 1);
	/* text over several packets, every line different */
	for (size_t i = 0; i < FILE_LEN; i++)
		file_data[i] = i % 50 == 49 ? '\n' : (uint8_t)('0' + (i / 50 + i) % 75);
	join(path, docroot, "notes.txt");
	put_file(path, file_data, sizeof(file_data));
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "test_server: cannot remove '%s': %s\n", path,
			strerror(errno));
	return 0;
}

/* ---- the wire: frames in, frames out ---- */

/* The TX burst: the test is the NIC; it takes everything. */
static uint16_t
capture_burst(struct qs_tx *tx, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	struct harness *h = qs_container_of(tx, struct harness, tx);

	(void)pi;
	for (uint16_t i = 0; i < n; i++) {
		if (h->n_captured < CAPTURE_MAX) {
			h->captured[h->n_captured++] = pkts[i];
		} else {
			h->capture_overflow++;
			rte_pktmbuf_free(pkts[i]);
		}
	}
	return n;
}

/* A datagram from src_v4:sport and src_mac, framed, classified and marked
 * as the RX path does, into the server. */
static void
server_input_from(struct harness *h, uint32_t src_v4,
		  const struct rte_ether_addr *src_mac, uint16_t sport,
		  const uint8_t *payload, size_t len)
{
	uint8_t frame[QS_FRAME_MAX];
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	size_t flen;

	flen = qs_frame_udp4(frame, src_v4, qs_frames_our_v4, sport,
			     QS_FRAMES_OUR_PORT, payload, len);
	rte_ether_addr_copy(src_mac, &((struct rte_ether_hdr *)frame)->src_addr);
	m = qs_frames_mbuf(h->pool, frame, flen);
	if (m == NULL) {
		test_fail(__FILE__, __LINE__, "no mbuf for a client datagram");
		return;
	}
	m->port = 0;
	if (qs_net_classify(rte_pktmbuf_mtod(m, const uint8_t *),
			    rte_pktmbuf_data_len(m), &h->cfg.listen,
			    &qs_frames_our_mac, &meta) !=
	    QS_PKT_QUIC) {
		test_fail(__FILE__, __LINE__,
			  "a client datagram does not classify as QUIC");
		rte_pktmbuf_free(m);
		return;
	}
	qs_net_meta_to_mbuf(m, &meta);
	h->env.now = test_now(h);
	qs_server_input(&h->srv, m);
}

/* A datagram from the client's address and MAC. */
static void
server_input(struct harness *h, uint16_t sport, const uint8_t *payload, size_t len)
{
	server_input_from(h, qs_frames_peer_v4, &qs_frames_peer_mac, sport,
			  payload, len);
}

/* Timers and writes on the server, and what it sent out of the TX queue. */
static void
server_step(struct harness *h)
{
	h->env.now = test_now(h);
	qs_server_run(&h->srv);
	qs_tx_flush_all(&h->tx);
}

/* A frame the server sent, checked and taken apart. */
struct out_frame {
	uint16_t sport, dport;     /* host order */
	uint8_t ecn;
	const uint8_t *payload;
	uint16_t len;
};

static bool
parse_out_frame(struct rte_mbuf *m, struct out_frame *f)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp;
	uint16_t ulen, sum, want;

	if (m->nb_segs != 1 || rte_pktmbuf_pkt_len(m) != len ||
	    len < RTE_ETHER_HDR_LEN + sizeof(*ip) + sizeof(*udp))
		return false;
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    !rte_is_same_ether_addr(&eth->dst_addr, &qs_frames_peer_mac) ||
	    !rte_is_same_ether_addr(&eth->src_addr, &qs_frames_our_mac))
		return false;
	if (ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != IPPROTO_UDP ||
	    rte_be_to_cpu_16(ip->total_length) != len - RTE_ETHER_HDR_LEN ||
	    ip->src_addr != qs_frames_our_v4 || ip->dst_addr != qs_frames_peer_v4 ||
	    rte_ipv4_cksum(ip) != 0)
		return false;
	udp = (struct rte_udp_hdr *)(ip + 1);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (ulen != len - RTE_ETHER_HDR_LEN - sizeof(*ip) || ulen < sizeof(*udp) ||
	    rte_be_to_cpu_16(udp->src_port) != QS_FRAMES_OUR_PORT)
		return false;
	want = udp->dgram_cksum;
	udp->dgram_cksum = 0;
	sum = rte_ipv4_udptcp_cksum(ip, udp);
	udp->dgram_cksum = want;
	if (want != sum)
		return false;
	f->sport = rte_be_to_cpu_16(udp->src_port);
	f->dport = rte_be_to_cpu_16(udp->dst_port);
	f->ecn = ip->type_of_service & 3;
	f->payload = (const uint8_t *)(udp + 1);
	f->len = (uint16_t)(ulen - sizeof(*udp));
	return true;
}

static void
sockaddr4(struct sockaddr_in *sa, uint32_t addr_be, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = addr_be;
	sa->sin_port = htons(port);
}

static void
client_read(struct harness *h, const struct out_frame *f)
{
	struct client *c = &h->cl;
	struct sockaddr_in local, remote;
	ngtcp2_pkt_info pi = {.ecn = f->ecn};
	ngtcp2_path path;
	int rv;

	sockaddr4(&local, qs_frames_peer_v4, f->dport);
	sockaddr4(&remote, qs_frames_our_v4, f->sport);
	path = (ngtcp2_path){
		.local = {(ngtcp2_sockaddr *)&local, sizeof(local)},
		.remote = {(ngtcp2_sockaddr *)&remote, sizeof(remote)},
	};
	rv = qs_quic_read_pkt(&c->q, &path, &pi, f->payload, f->len,
				  test_now(h));
	if (rv != 0 && c->err == 0)
		c->err = rv;
	c->expiry = ngtcp2_conn_get_expiry(c->q.conn);
}

/* A frame to one of the addresses the Initial flood spoofs (SPOOF_NET). */
static bool
to_spoofed_address(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip =
		(const struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);

	return rte_pktmbuf_data_len(m) >= RTE_ETHER_HDR_LEN + sizeof(*ip) &&
	       ((const struct rte_ether_hdr *)p)->ether_type ==
		       RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
	       (rte_be_to_cpu_32(ip->dst_addr) & 0xffffff00u) == SPOOF_NET;
}

/* Hands what the server sent to the client (frames to its port), keeps
 * the answers to the test's own datagrams (STRAY_PORT) and drops the rest:
 * after a rebinding the old port leads nowhere (the NAT forgot it).
 * Returns how many frames there were. */
static unsigned int
deliver(struct harness *h)
{
	struct client *c = &h->cl;
	unsigned int n = h->n_captured;

	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = h->captured[i];
		struct out_frame f;

		if (to_spoofed_address(m)) {
			h->to_spoofed++;
		} else if (!parse_out_frame(m, &f)) {
			h->bad_frames++;
		} else if (f.dport == c->port && c->q.conn != NULL && !c->closed &&
			   c->err == 0) {
			client_read(h, &f);
		} else if (f.dport == STRAY_PORT && h->n_stray < STRAY_MAX) {
			h->stray[h->n_stray++] = m;
			continue;
		} else if (c->old_port != 0 && f.dport == c->old_port) {
			h->lost_old_port++;
		} else if (f.dport == c->port) {
			h->to_closed++;         /* the client has closed or failed */
		} else {
			h->lost_other++;
		}
		rte_pktmbuf_free(m);
	}
	h->n_captured = 0;
	return n;
}

static void
free_stray(struct harness *h)
{
	for (unsigned int i = 0; i < h->n_stray; i++)
		rte_pktmbuf_free(h->stray[i]);
	h->n_stray = 0;
}

/* ---- client callbacks: only what the shared glue leaves to each end ---- */

static int
cl_recv_header(nghttp3_conn *h3, int64_t stream_id, int32_t token,
	       nghttp3_rcbuf *name, nghttp3_rcbuf *value, uint8_t flags,
	       void *user_data, void *stream_user_data)
{
	struct req *r = stream_user_data;
	nghttp3_vec n = nghttp3_rcbuf_get_buf(name);
	nghttp3_vec v = nghttp3_rcbuf_get_buf(value);

	(void)h3; (void)stream_id; (void)flags; (void)user_data;
	if (r == NULL)
		return 0;
	if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
		r->status = 0;
		for (size_t i = 0; i < v.len; i++)
			r->status = r->status * 10 + (unsigned int)(v.base[i] - '0');
	} else if (token == NGHTTP3_QPACK_TOKEN_CONTENT_TYPE) {
		snprintf(r->content_type, sizeof(r->content_type), "%.*s",
			 (int)v.len, (const char *)v.base);
	} else if (token == NGHTTP3_QPACK_TOKEN_CONTENT_LENGTH) {
		r->has_length = true;
		r->content_length = strtoull((const char *)v.base, NULL, 10);
	} else if (n.len == 5 && memcmp(n.base, "allow", 5) == 0) {
		snprintf(r->allow, sizeof(r->allow), "%.*s", (int)v.len,
			 (const char *)v.base);
	}
	return 0;
}

static int
cl_recv_data(nghttp3_conn *h3, int64_t stream_id, const uint8_t *data,
	     size_t datalen, void *user_data, void *stream_user_data)
{
	struct client *c = user_data;
	struct req *r = stream_user_data;

	(void)h3;
	qs_quic_consume(c->q.conn, stream_id, datalen);
	if (r == NULL)
		return 0;
	if (r->body_len + datalen > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		uint8_t *p;

		while (cap < r->body_len + datalen)
			cap *= 2;
		p = realloc(r->body, cap);
		if (p == NULL)
			return NGHTTP3_ERR_CALLBACK_FAILURE;
		r->body = p;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, datalen);
	r->body_len += datalen;
	return 0;
}

static int
cl_end_stream(nghttp3_conn *h3, int64_t stream_id, void *user_data,
	      void *stream_user_data)
{
	struct req *r = stream_user_data;

	(void)h3; (void)stream_id; (void)user_data;
	if (r != NULL)
		r->ended = true;
	return 0;
}

static int
cl_stream_close(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct req *r = stream_user_data;

	(void)h3; (void)stream_id; (void)user_data;
	if (r != NULL) {
		r->closed = true;
		r->error = app_error_code;
	}
	return 0;
}

static int
cl_shutdown(nghttp3_conn *h3, int64_t id, void *user_data)
{
	struct client *c = user_data;

	(void)h3;
	c->goaways++;
	c->goaway_id = id;
	return 0;
}

static int
cl_recv_rx_key(ngtcp2_conn *conn, ngtcp2_crypto_level level, void *user_data)
{
	struct client *c = user_data;
	nghttp3_callbacks cb;

	(void)conn;
	if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION)
		return 0;
	qs_quic_h3_callbacks_init(&cb);
	cb.recv_header = cl_recv_header;
	cb.recv_data = cl_recv_data;
	cb.end_stream = cl_end_stream;
	cb.stream_close = cl_stream_close;
	cb.shutdown = cl_shutdown;
	return qs_quic_h3_start(&c->q, false, &cb, 0) == 0
		? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

/* ---- client life ---- */

static int
client_tls(struct client *c, bool big_hello)
{
	gnutls_datum_t alpn = {.data = (unsigned char *)"h3", .size = 2};
	const char *perr = NULL;
	gnutls_session_t s;

	/* an FFDHE-8192 key share (1 KiB) first makes the ClientHello span two
	 * Initial packets, as a large post-quantum key share does */
	if (gnutls_certificate_allocate_credentials(&c->cred) != 0 ||
	    gnutls_certificate_set_x509_trust_file(c->cred, cert_path,
						   GNUTLS_X509_FMT_PEM) != 1 ||
	    gnutls_priority_init(&c->priority,
				 big_hello ? TLS_PRIORITY_BIG_HELLO : TLS_PRIORITY,
				 &perr) != 0)
		return -1;
	if (gnutls_init(&s, GNUTLS_CLIENT) != 0)
		return -1;
	c->q.tls = s;
	if (gnutls_priority_set(s, c->priority) != 0 ||
	    qs_quic_tls_configure(s, false) != 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->cred) != 0 ||
	    gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY) != 0)
		return -1;
	/* the chain (the certificate itself) and the IP address in it */
	gnutls_session_set_verify_cert(s, AUTHORITY, 0);
	gnutls_session_set_ptr(s, &c->q.conn_ref);
	ngtcp2_conn_set_tls_native_handle(c->q.conn, s);
	return 0;
}

static int
client_new(struct harness *h, struct client *c, uint16_t port, bool big_hello)
{
	ngtcp2_transport_params params;
	ngtcp2_callbacks cb;
	ngtcp2_settings settings;
	ngtcp2_cid scid, dcid;
	ngtcp2_path path;

	qs_quic_conn_init(&c->q);
	c->port = port;
	c->expiry = UINT64_MAX;
	sockaddr4(&c->local, qs_frames_peer_v4, c->port);
	sockaddr4(&c->remote, qs_frames_our_v4, QS_FRAMES_OUR_PORT);
	scid.datalen = CLIENT_SCID_LEN;
	dcid.datalen = CLIENT_DCID_LEN;
	if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) != 0)
		return -1;

	qs_quic_callbacks_init(&cb, false);
	cb.recv_rx_key = cl_recv_rx_key;

	ngtcp2_settings_default(&settings);
	settings.initial_ts = test_now(h);
	settings.max_tx_udp_payload_size = CLIENT_UDP_MAX;

	ngtcp2_transport_params_default(&params);
	params.initial_max_stream_data_bidi_local = 4u << 20;
	params.initial_max_stream_data_bidi_remote = 4u << 20;
	params.initial_max_stream_data_uni = 4u << 20;
	params.initial_max_data = 16u << 20;
	params.initial_max_streams_bidi = 0;
	params.initial_max_streams_uni = 100;
	params.max_idle_timeout = 30 * NGTCP2_SECONDS;
	params.active_connection_id_limit = 7;

	path = (ngtcp2_path){
		.local = {(ngtcp2_sockaddr *)&c->local, sizeof(c->local)},
		.remote = {(ngtcp2_sockaddr *)&c->remote, sizeof(c->remote)},
	};
	if (ngtcp2_conn_client_new(&c->q.conn, &dcid, &scid, &path,
				   NGTCP2_PROTO_VER_V1, &cb, &settings, &params,
				   NULL, c) != 0) {
		c->q.conn = NULL;
		return -1;
	}
	return client_tls(c, big_hello);
}

static void
client_free(struct client *c)
{
	if (c->q.h3 != NULL)
		nghttp3_conn_del(c->q.h3);
	if (c->q.conn != NULL)
		ngtcp2_conn_del(c->q.conn);
	if (c->q.tls != NULL)
		gnutls_deinit(c->q.tls);
	if (c->priority != NULL)
		gnutls_priority_deinit(c->priority);
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	for (size_t i = 0; i < c->n_reqs; i++)
		free(c->reqs[i].body);
	memset(c, 0, sizeof(*c));
}

/* Everything the client has to send, into the server. */
static unsigned int
client_flush(struct harness *h)
{
	struct client *c = &h->cl;
	uint8_t buf[CLIENT_UDP_MAX];
	unsigned int n;

	if (c->q.conn == NULL || c->closed || c->err != 0)
		return 0;
	for (n = 0; n < CLIENT_TX_BURST; n++) {
		ngtcp2_path_storage ps;
		ngtcp2_pkt_info pi;
		struct qs_quic_err err;
		ngtcp2_ssize nw;

		ngtcp2_path_storage_zero(&ps);
		nw = qs_quic_write_pkt(&c->q, buf, sizeof(buf), &ps.path, &pi,
				       test_now(h), &err);
		if (nw < 0) {
			c->err = err.code;
			break;
		}
		if (nw == 0)
			break;
		/* through the NAT: whatever ngtcp2 thinks, it leaves from
		 * the port the NAT gives it now */
		server_input(h, c->port, buf, (size_t)nw);
	}
	c->expiry = ngtcp2_conn_get_expiry(c->q.conn);
	return n;
}

static void
client_timers(struct harness *h)
{
	struct client *c = &h->cl;
	int rv;

	if (c->q.conn == NULL || c->closed || c->err != 0)
		return;
	if (c->expiry > test_now(h))
		return;
	rv = ngtcp2_conn_handle_expiry(c->q.conn, test_now(h));
	if (rv != 0)
		c->err = rv;
	c->expiry = ngtcp2_conn_get_expiry(c->q.conn);
}

#define NV(n, v) \
	{(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
	 NGHTTP3_NV_FLAG_NO_COPY_NAME | NGHTTP3_NV_FLAG_NO_COPY_VALUE}

/* Opens a request stream (no body); NULL on failure. */
/* A request with one extra header field (extra_name NULL: none). */
static struct req *
client_request_with(struct harness *h, const char *name, const char *method,
		    const char *path, const char *extra_name,
		    const char *extra_value)
{
	struct client *c = &h->cl;
	nghttp3_nv nva[] = {
		NV(":method", method),
		NV(":scheme", "https"),
		NV(":authority", AUTHORITY),
		NV(":path", path),
		NV("user-agent", "test_server"),
		NV("x-extra", ""),
	};
	size_t n_nv = RTE_DIM(nva) - 1;
	struct req *r;
	int64_t sid;

	if (extra_name != NULL) {
		nva[n_nv].name = (uint8_t *)extra_name;
		nva[n_nv].namelen = strlen(extra_name);
		nva[n_nv].value = (uint8_t *)extra_value;
		nva[n_nv].valuelen = strlen(extra_value);
		n_nv++;
	}
	if (c->n_reqs == N_REQS || c->q.h3 == NULL)
		return NULL;
	r = &c->reqs[c->n_reqs];
	memset(r, 0, sizeof(*r));
	r->name = name;
	if (ngtcp2_conn_open_bidi_stream(c->q.conn, &sid, NULL) != 0 ||
	    nghttp3_conn_submit_request(c->q.h3, sid, nva, n_nv, NULL, r) != 0)
		return NULL;
	r->id = sid;
	c->n_reqs++;
	return r;
}

static struct req *
client_request(struct harness *h, const char *name, const char *method,
	       const char *path)
{
	return client_request_with(h, name, method, path, NULL, NULL);
}

/* ---- the loop ---- */

typedef bool (*done_fn)(struct harness *h);

/* Runs both ends until done(h) or the client fails, at most
 * PUMP_ITERS_MAX passes and PUMP_WALL_NS; false (and a failure naming
 * what) when it did not get there. */
static void forge_datagrams(struct harness *h);

static bool
pump(struct harness *h, done_fn done, const char *what)
{
	uint64_t give_up = qs_now_ns() + PUMP_WALL_NS;
	unsigned int i;

	for (i = 0; i < PUMP_ITERS_MAX && qs_now_ns() < give_up; i++) {
		unsigned int moved;
		uint64_t now, next;
		struct qs_timer *t;

		client_timers(h);
		moved = client_flush(h);
		if (h->forge)
			forge_datagrams(h);
		server_step(h);
		moved += deliver(h);
		if (h->cl.err != 0) {
			test_fail(__FILE__, __LINE__,
				  "%s: the client failed: %s (after %u passes)",
				  what, ngtcp2_strerror(h->cl.err), i);
			return false;
		}
		if (done(h))
			return true;
		if (moved > 0)
			continue;
		/* nothing moved: sleep to the nearest timer of either end */
		now = test_now(h);
		next = h->cl.q.conn != NULL && !h->cl.closed ? h->cl.expiry : UINT64_MAX;
		t = qs_timers_first(&h->srv.set.timers);
		if (t != NULL && t->expiry < next)
			next = t->expiry;
		if (next > now) {
			uint64_t ns = RTE_MIN(next - now, IDLE_SLEEP_MAX_NS);
			struct timespec ts = {.tv_nsec = (long)ns};

			nanosleep(&ts, NULL);
		}
	}
	test_fail(__FILE__, __LINE__, "%s: not done after %u passes (%s)", what, i,
		  i >= PUMP_ITERS_MAX ? "iteration bound" : "10 s wall-clock bound");
	return false;
}

static bool
handshake_done(struct harness *h)
{
	return ngtcp2_conn_get_handshake_completed(h->cl.q.conn) &&
	       h->cl.q.h3 != NULL && h->stats.quic_handshakes_completed > 0;
}

static bool
requests_done(struct harness *h)
{
	for (size_t i = 0; i < h->cl.n_reqs; i++)
		if (!h->cl.reqs[i].closed)
			return false;
	return true;
}

/* ---- what is checked ---- */

static void
cid_hex(const uint8_t *cid, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", cid[i]);
	out[2 * len] = '\0';
}

/* the connection's one listing, by show conns; NULL when not exactly one */
static const struct qs_ctl_conn_info *
ctl_conns(struct harness *h, struct qs_ctl_req *req)
{
	memset(req, 0, sizeof(*req));
	req->type = QS_CTL_CONNS;
	req->max = 10;
	h->env.now = test_now(h);
	qs_ctl_serve(&h->srv.set, req);
	CHECK_EQ(req->state, QS_CTL_DONE);
	CHECK_EQ(req->n_conns, 1);
	CHECK_EQ(req->n_out, 1);
	return req->n_conns == 1 && req->n_out == 1 ? &req->out[0] : NULL;
}

static void
ctl_conn(struct harness *h, struct qs_ctl_req *req, const uint8_t *cid,
	 size_t len)
{
	memset(req, 0, sizeof(*req));
	req->type = QS_CTL_CONN;
	memcpy(req->cid, cid, len);
	req->cid_len = (uint8_t)len;
	h->env.now = test_now(h);
	qs_ctl_serve(&h->srv.set, req);
	CHECK_EQ(req->state, QS_CTL_DONE);
}

static bool
test_handshake(struct harness *h)
{
	struct qs_stats before = h->stats;
	gnutls_datum_t alpn;

	TEST_CONTEXT("handshake");
	if (client_new(h, &h->cl, CLIENT_PORT, false) != 0) {
		CHECK(!"the client connection and TLS session are set up");
		return false;
	}
	if (!pump(h, handshake_done, "handshake"))
		return false;
	/* a whole 1-RTT handshake: one Initial, no Retry, nothing resumed */
	CHECK_EQ(h->stats.quic_initials - before.quic_initials, 1);
	CHECK_EQ(h->stats.quic_conn_accepted - before.quic_conn_accepted, 1);
	CHECK_EQ(h->stats.quic_handshakes_completed -
		 before.quic_handshakes_completed, 1);
	CHECK_EQ(h->stats.quic_conn_active, 1);
	CHECK_EQ(h->stats.quic_retries_sent, 0);
	CHECK_EQ(h->stats.quic_sessions_resumed, 0);
	CHECK_EQ(h->stats.quic_0rtt_accepted, 0);
	CHECK_EQ(h->stats.quic_conn_refused, 0);
	CHECK_EQ(h->stats.quic_drop_no_tls, 0);
	CHECK_EQ(h->srv.set.n_conns, 1);
	/* the client saw the certificate it trusts and agreed on h3 */
	CHECK_EQ(gnutls_session_get_verify_cert_status(h->cl.q.tls), 0);
	CHECK_EQ(gnutls_alpn_get_selected_protocol(h->cl.q.tls, &alpn), 0);
	CHECK(alpn.size == 2 && memcmp(alpn.data, "h3", 2) == 0);
	CHECK(!gnutls_session_is_resumed(h->cl.q.tls));
	/* what a 1500-byte MTU carries over IPv6 in one mbuf, not 65527 */
	CHECK_EQ(ngtcp2_conn_get_remote_transport_params(h->cl.q.conn)
			 ->max_udp_payload_size, 1452);
	TEST_CONTEXT_CLEAR();
	return true;
}

static void
check_body_pattern(const struct req *r, size_t n)
{
	size_t bad = 0, first = SIZE_MAX;

	CHECK_EQ(r->body_len, n);
	for (size_t k = 0; k < r->body_len && k < n; k++) {
		if (r->body[k] != (uint8_t)('a' + k % 26)) {
			if (bad++ == 0)
				first = k;
		}
	}
	if (bad != 0)
		test_fail(__FILE__, __LINE__,
			  "%zu body bytes are not 'a' + k %% 26, the first at %zu",
			  bad, first);
	CHECK_EQ(bad, 0);
}

/* Checks a finished request: status, the end of its response, no stream
 * error, and the body length. */
static void
check_response(const struct req *r, unsigned int status, size_t body_len)
{
	TEST_CONTEXT("request %s", r->name);
	CHECK(r->closed);
	CHECK(r->ended);
	CHECK_EQ(r->error, NGHTTP3_H3_NO_ERROR);
	CHECK_EQ(r->status, status);
	CHECK_EQ(r->body_len, body_len);
	CHECK(r->has_length);
}

static bool
test_requests(struct harness *h)
{
	static char long_path[QS_H3_PATH_MAX + 64];
	struct qs_stats before = h->stats;
	static char big_value[BIG_HEADER_LEN + 1];
	struct req *bytes, *file, *root, *missing, *post, *propfind, *head,
		   *too_long, *bad, *big_fields;
	const char *text = qs_content_type("/notes.txt");
	const char *html = qs_content_type("/index.html");

	TEST_CONTEXT("requests");
	long_path[0] = '/';
	memset(long_path + 1, 'p', sizeof(long_path) - 2);
	long_path[sizeof(long_path) - 1] = '\0';

	bytes = client_request(h, "GET /bytes/100000", "GET", "/bytes/100000");
	file = client_request(h, "GET /notes.txt", "GET", "/notes.txt");
	root = client_request(h, "GET /", "GET", "/");
	missing = client_request(h, "GET /missing.txt", "GET", "/missing.txt");
	post = client_request(h, "POST /notes.txt", "POST", "/notes.txt");
	/* longer than the server keeps: still a method it does not serve */
	propfind = client_request(h, "PROPFIND /notes.txt", "PROPFIND",
				  "/notes.txt");
	head = client_request(h, "HEAD /notes.txt", "HEAD", "/notes.txt");
	too_long = client_request(h, "GET /ppp... (too long)", "GET", long_path);
	bad = client_request(h, "GET /bytes/abc", "GET", "/bytes/abc");
	/* header fields over [http] max_field_section_size */
	memset(big_value, 'v', BIG_HEADER_LEN);
	big_fields = client_request_with(h, "GET / with a 20 kB header field",
					 "GET", "/", "x-big", big_value);
	CHECK(bytes && file && root && missing && post && propfind && head &&
	      too_long && bad && big_fields);
	if (!(bytes && file && root && missing && post && propfind && head &&
	      too_long && bad && big_fields))
		return false;
	if (!pump(h, requests_done, "ten requests"))
		return false;

	check_response(bytes, 200, BYTES_N);
	CHECK_EQ(bytes->content_length, BYTES_N);
	CHECK(strcmp(bytes->content_type, "application/octet-stream") == 0);
	check_body_pattern(bytes, BYTES_N);

	check_response(file, 200, FILE_LEN);
	CHECK_EQ(file->content_length, FILE_LEN);
	CHECK(text != NULL && strcmp(file->content_type, text) == 0);
	if (file->body_len == FILE_LEN)
		CHECK_MEM_EQ(file->body, file_data, FILE_LEN);

	check_response(root, 200, sizeof(index_html) - 1);
	CHECK(html != NULL && strcmp(root->content_type, html) == 0);
	if (root->body_len == sizeof(index_html) - 1)
		CHECK_MEM_EQ(root->body, index_html, sizeof(index_html) - 1);

	check_response(missing, 404, strlen("404 Not Found\n"));
	check_response(big_fields, 431,
		       strlen("431 Request Header Fields Too Large\n"));

	check_response(post, 405, strlen("405 Method Not Allowed\n"));
	CHECK(strcmp(post->allow, "GET, HEAD") == 0);
	check_response(propfind, 405, strlen("405 Method Not Allowed\n"));
	CHECK(strcmp(propfind->allow, "GET, HEAD") == 0);

	/* HEAD: the GET's headers, no body */
	check_response(head, 200, 0);
	CHECK_EQ(head->content_length, FILE_LEN);
	CHECK(text != NULL && strcmp(head->content_type, text) == 0);

	check_response(too_long, 414, strlen("414 URI Too Long\n"));
	check_response(bad, 400, strlen("400 Bad Request: /bytes/N takes a count\n"));
	CHECK(bad->body_len > 0 && memcmp(bad->body, "400 ", 4) == 0);

	TEST_CONTEXT("requests: counters");
	CHECK_EQ(h->stats.h3_requests - before.h3_requests, 10);
	CHECK_EQ(h->stats.h3_responses_2xx - before.h3_responses_2xx, 4);
	CHECK_EQ(h->stats.h3_responses_4xx - before.h3_responses_4xx, 6);
	CHECK_EQ(h->stats.h3_responses_5xx - before.h3_responses_5xx, 0);
	CHECK_EQ(h->stats.quic_conn_active, 1);
	TEST_CONTEXT_CLEAR();
	return true;
}

static void
test_ctl(struct harness *h)
{
	static struct qs_ctl_req req;
	const ngtcp2_cid *dcid = ngtcp2_conn_get_dcid(h->cl.q.conn);
	const struct qs_ctl_conn_info *info;
	char hex[2 * NGTCP2_MAX_CIDLEN + 1], peer[64];
	uint8_t unknown[NGTCP2_MAX_CIDLEN];

	TEST_CONTEXT("control: show conns");
	cid_hex(dcid->data, dcid->datalen, hex);
	snprintf(peer, sizeof(peer), "198.18.0.2:%u", h->cl.port);
	info = ctl_conns(h, &req);
	if (info != NULL) {
		CHECK(strcmp(info->cid, hex) == 0);
		CHECK(strcmp(info->peer, peer) == 0);
		CHECK(info->state != NULL && strcmp(info->state, "open") == 0);
		CHECK_EQ(info->worker, 0);
		CHECK(info->rx_bytes > 0);
		CHECK(info->tx_bytes > BYTES_N);
		if (strcmp(info->cid, hex) != 0 || strcmp(info->peer, peer) != 0)
			fprintf(stderr, "  listed %s %s, the client has %s %s\n",
				info->cid, info->peer, hex, peer);
	}

	TEST_CONTEXT("control: show conn <client's DCID>");
	ctl_conn(h, &req, dcid->data, dcid->datalen);
	CHECK_EQ(req.n_out, 1);
	if (req.n_out == 1) {
		CHECK(strcmp(req.out[0].cid, hex) == 0);
		CHECK(strcmp(req.out[0].peer, peer) == 0);
	}

	TEST_CONTEXT("control: show conn <unknown CID>");
	memcpy(unknown, dcid->data, dcid->datalen);
	unknown[dcid->datalen - 1] ^= 0x5a;
	ctl_conn(h, &req, unknown, dcid->datalen);
	CHECK_EQ(req.n_out, 0);
	CHECK_EQ(req.n_conns, 1);
	/* a prefix of a real CID is not that CID */
	ctl_conn(h, &req, dcid->data, dcid->datalen - 1u);
	CHECK_EQ(req.n_out, 0);
	TEST_CONTEXT_CLEAR();
}

/* NAT rebinding: the client's port changes under it, unannounced. */
static bool
test_rebinding(struct harness *h)
{
	static struct qs_ctl_req req;
	struct qs_stats before = h->stats;
	struct client *c = &h->cl;
	const struct qs_ctl_conn_info *info;
	ngtcp2_addr addr;
	struct req *r;
	char peer[64];

	TEST_CONTEXT("rebinding");
	c->old_port = c->port;
	c->port = REBIND_PORT;
	sockaddr4(&c->local, qs_frames_peer_v4, c->port);
	ngtcp2_addr_init(&addr, (ngtcp2_sockaddr *)&c->local, sizeof(c->local));
	ngtcp2_conn_set_local_addr(c->q.conn, &addr);

	r = client_request(h, "GET /bytes/3000 after rebinding", "GET", "/bytes/3000");
	CHECK(r != NULL);
	if (r == NULL || !pump(h, requests_done, "a request after rebinding"))
		return false;
	check_response(r, 200, 3000);
	check_body_pattern(r, 3000);
	TEST_CONTEXT("rebinding: counters");
	CHECK_EQ(h->stats.quic_path_migrations - before.quic_path_migrations, 1);
	CHECK_EQ(h->stats.h3_requests - before.h3_requests, 1);
	CHECK_EQ(h->stats.h3_responses_2xx - before.h3_responses_2xx, 1);
	CHECK_EQ(h->stats.quic_conn_active, 1);
	CHECK_EQ(h->stats.quic_stateless_resets_sent, 0);

	TEST_CONTEXT("rebinding: show conns");
	snprintf(peer, sizeof(peer), "198.18.0.2:%u", c->port);
	info = ctl_conns(h, &req);
	if (info != NULL) {
		CHECK(strcmp(info->peer, peer) == 0);
		CHECK(info->migrations_seen >= 2);
	}
	TEST_CONTEXT_CLEAR();
	return true;
}

/* What the client has to send, into flight[] instead of the server: the
 * number of datagrams (at most max). */
static unsigned int
client_first_flight(struct harness *h, struct client *c,
		    uint8_t (*flight)[CLIENT_UDP_MAX], size_t *len, unsigned int max)
{
	unsigned int n;

	for (n = 0; n < max; n++) {
		ngtcp2_path_storage ps;
		ngtcp2_pkt_info pi;
		struct qs_quic_err err;
		ngtcp2_ssize nw;

		ngtcp2_path_storage_zero(&ps);
		nw = qs_quic_write_pkt(&c->q, flight[n], CLIENT_UDP_MAX, &ps.path, &pi,
				       test_now(h), &err);
		if (nw <= 0)
			break;
		len[n] = (size_t)nw;
	}
	return n;
}

/* Two key updates by the client (RFC 9001 6): requests go on under each
 * new key, and the packet-number guard, which must know every receive
 * key's IV, refuses nothing. */
static bool
test_key_update(struct harness *h)
{
	struct qs_stats before = h->stats;

	TEST_CONTEXT("key update");
	for (int i = 0; i < 2; i++) {
		struct req *r;
		int rv;

		/* ngtcp2 allows the next update 3 PTO after the last was
		 * confirmed, and prepares its keys when it next writes */
		h->skew += 1000000000ull;
		client_flush(h);
		rv = ngtcp2_conn_initiate_key_update(h->cl.q.conn, test_now(h));
		CHECK_EQ(rv, 0);
		r = client_request(h, "GET /bytes/2000 under a new key", "GET",
				   "/bytes/2000");
		CHECK(r != NULL);
		if (rv != 0 || r == NULL ||
		    !pump(h, requests_done, "a request after a key update"))
			return false;
		check_response(r, 200, 2000);
		check_body_pattern(r, 2000);
	}
	/* (ngtcp2 0.12's server cannot read the second update's first
	 * packets until its own first update is acknowledged: those count as
	 * unauthenticated, the client sends them again) */
	CHECK_EQ(h->stats.quic_drop_pn_guard - before.quic_drop_pn_guard, 0);
	CHECK_EQ(h->stats.quic_conn_active, 1);
	TEST_CONTEXT_CLEAR();
	return true;
}

/* A packet the network holds back until after the server answered the one
 * behind it: one below a number the server may already have had
 * acknowledged, the packet-number guard refuses it (the peer that does
 * this on purpose would make ngtcp2 0.12 abort; see quic/qs_pn_guard.h).
 * The client sends its frames again, as for a loss: both requests are
 * answered on the same connection. */
static bool
test_late_packet(struct harness *h)
{
	uint8_t flight[2][CLIENT_UDP_MAX];
	size_t len[2];
	struct qs_stats before = h->stats;
	struct req *held, *passed;

	TEST_CONTEXT("a packet delayed past the server's answer");
	held = client_request(h, "GET /bytes/700 (its packet held back)",
			      "GET", "/bytes/700");
	CHECK(held != NULL);
	if (held == NULL || client_first_flight(h, &h->cl, flight, len, 1) != 1)
		return false;
	passed = client_request(h, "GET /bytes/900 (its packet passes)", "GET",
				"/bytes/900");
	CHECK(passed != NULL);
	if (passed == NULL ||
	    client_first_flight(h, &h->cl, flight + 1, len + 1, 1) != 1)
		return false;
	server_input(h, h->cl.port, flight[1], len[1]);
	server_step(h);
	deliver(h);
	server_input(h, h->cl.port, flight[0], len[0]);
	CHECK_EQ(h->stats.quic_drop_pn_guard - before.quic_drop_pn_guard, 1);
	if (!pump(h, requests_done, "both requests after the late packet"))
		return false;
	check_response(held, 200, 700);
	check_body_pattern(held, 700);
	check_response(passed, 200, 900);
	check_body_pattern(passed, 900);
	CHECK_EQ(h->stats.quic_conn_active, 1);
	CHECK_EQ(h->stats.quic_drop_pn_guard - before.quic_drop_pn_guard, 1);
	TEST_CONTEXT_CLEAR();
	return true;
}

/* One hand-made datagram from STRAY_PORT; returns the answers in h->stray. */
static unsigned int
stray_exchange(struct harness *h, const uint8_t *payload, size_t len)
{
	free_stray(h);
	server_input(h, STRAY_PORT, payload, len);
	server_step(h);
	deliver(h);
	return h->n_stray;
}

static void
test_stateless(struct harness *h)
{
	static uint8_t pkt[1500];
	struct qs_stats before = h->stats;
	uint8_t cid[8], scid[8], token[NGTCP2_STATELESS_RESET_TOKENLEN];
	struct rte_mbuf *m;
	struct qs_quic_hdr hdr;
	ngtcp2_cid ncid;
	size_t n;
	uint16_t plen;
	uint8_t *p;

	/* a short header to a CID nobody has, naming worker 0 */
	TEST_CONTEXT("stateless reset");
	qs_frames_nibble_cid(0, cid);
	CHECK_EQ(qs_cid_decode(&h->codec, cid, sizeof(cid)), 0);
	n = qs_quic_short(pkt, cid, sizeof(cid), RESET_TRIGGER_LEN);
	CHECK_EQ(stray_exchange(h, pkt, n), 1);
	CHECK_EQ(h->stats.quic_stateless_resets_sent -
		 before.quic_stateless_resets_sent, 1);
	if (h->n_stray == 1) {
		m = h->stray[0];
		p = qs_net_udp_payload(m, &plen);
		/* RFC 9000 10.3: a short header, shorter than the trigger,
		 * at most 43 bytes here, ending in the CID's token */
		CHECK_EQ(plen, QS_RESET_MAX_LEN);
		CHECK(plen < RESET_TRIGGER_LEN);
		CHECK_EQ(p[0] & 0xc0, 0x40);
		ngtcp2_cid_init(&ncid, cid, sizeof(cid));
		CHECK_EQ(ngtcp2_crypto_generate_stateless_reset_token(
				 token, h->cfg.reset_secret,
				 sizeof(h->cfg.reset_secret), &ncid), 0);
		if (plen >= sizeof(token))
			CHECK_MEM_EQ(p + plen - sizeof(token), token, sizeof(token));
	}

	/* 21 bytes: too short to answer without being a reset loop */
	TEST_CONTEXT("no reset for 21 bytes");
	before = h->stats;
	n = qs_quic_short(pkt, cid, sizeof(cid), QS_RESET_MIN_LEN);
	CHECK_EQ(stray_exchange(h, pkt, n), 0);
	CHECK_EQ(h->stats.quic_stateless_resets_sent -
		 before.quic_stateless_resets_sent, 0);
	CHECK_EQ(h->stats.quic_drop_short - before.quic_drop_short, 1);

	/* an unknown version in a datagram big enough for an Initial */
	TEST_CONTEXT("version negotiation");
	before = h->stats;
	qs_frames_nibble_cid(0, scid);
	scid[7] ^= 0xff;
	n = qs_quic_long(pkt, 0, UNKNOWN_VERSION, cid, sizeof(cid), scid,
			 sizeof(scid), 1200);
	CHECK_EQ(n, 1200);
	CHECK_EQ(stray_exchange(h, pkt, n), 1);
	CHECK_EQ(h->stats.quic_version_negotiations_sent -
		 before.quic_version_negotiations_sent, 1);
	CHECK_EQ(h->stats.quic_initials - before.quic_initials, 0);
	if (h->n_stray == 1) {
		bool v1 = false;
		size_t off;

		p = qs_net_udp_payload(h->stray[0], &plen);
		CHECK_EQ(qs_quic_parse(p, plen, h->codec.cid_len, &hdr), QS_QUIC_OK);
		CHECK_EQ(hdr.type, QS_QUIC_VERSION_NEGOTIATION);
		/* the client's CIDs, swapped */
		CHECK_EQ(hdr.dcid_len, sizeof(scid));
		CHECK_EQ(hdr.scid_len, sizeof(cid));
		if (hdr.dcid_len == sizeof(scid) && hdr.scid_len == sizeof(cid)) {
			CHECK_MEM_EQ(hdr.dcid, scid, sizeof(scid));
			CHECK_MEM_EQ(hdr.scid, cid, sizeof(cid));
		}
		off = hdr.scid != NULL ? (size_t)(hdr.scid + hdr.scid_len - p) : plen;
		CHECK(off < plen && (plen - off) % 4 == 0);
		for (; off + 4 <= plen; off += 4)
			if (((uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
			     (uint32_t)p[off + 2] << 8 | p[off + 3]) == QS_QUIC_V1)
				v1 = true;
		CHECK(v1);
	}

	/* the same under 1200 bytes: no answer (RFC 9000 6.1) */
	TEST_CONTEXT("no version negotiation under 1200 bytes");
	before = h->stats;
	n = qs_quic_long(pkt, 0, UNKNOWN_VERSION, cid, sizeof(cid), scid,
			 sizeof(scid), 1199);
	CHECK_EQ(stray_exchange(h, pkt, n), 0);
	CHECK_EQ(h->stats.quic_version_negotiations_sent -
		 before.quic_version_negotiations_sent, 0);
	CHECK_EQ(h->stats.quic_drop_short - before.quic_drop_short, 1);

	/* none of this touched the connection */
	CHECK_EQ(h->stats.quic_conn_active, 1);
	CHECK_EQ(h->stats.quic_conn_accepted - before.quic_conn_accepted, 0);
	free_stray(h);
	TEST_CONTEXT_CLEAR();
}

static bool
final_goaway_seen(struct harness *h)
{
	return h->cl.goaways >= 2;
}

/* Graceful stop: the GOAWAY notice, and the final GOAWAY two round trips
 * later, so that a request the client sent before the notice reached it is
 * served, and the final GOAWAY names it as the last one taken. */
static void
test_goaway(struct harness *h)
{
	struct req *r;

	TEST_CONTEXT("graceful stop");
	qs_server_shutdown(&h->srv);
	CHECK(qs_server_busy(&h->srv));
	server_step(h);                 /* the notice leaves the server */
	r = client_request(h, "GET /bytes/5000 crossing the GOAWAY notice",
			   "GET", "/bytes/5000");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	client_flush(h);                /* the request leaves the client */
	deliver(h);                     /* the notice arrives */
	if (!pump(h, requests_done, "a request crossing the GOAWAY notice"))
		return;
	check_response(r, 200, 5000);
	check_body_pattern(r, 5000);
	TEST_CONTEXT("graceful stop: the final GOAWAY");
	if (!pump(h, final_goaway_seen, "the final GOAWAY"))
		return;
	/* the last request taken is the one that crossed the notice */
	CHECK_EQ(h->cl.goaway_id, r->id + 4);
	CHECK(!qs_server_busy(&h->srv));
	CHECK_EQ(h->cl.err, 0);         /* still open: closing is the lcore's */
	TEST_CONTEXT_CLEAR();
}

/* The client sends CONNECTION_CLOSE (H3_NO_ERROR) to the server; false
 * when it could not write one. */
static bool
client_close(struct harness *h)
{
	struct client *c = &h->cl;
	uint8_t buf[CLIENT_UDP_MAX];
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;

	ngtcp2_connection_close_error_set_application_error(
		&c->q.last_error, NGHTTP3_H3_NO_ERROR, NULL, 0);
	ngtcp2_path_storage_zero(&ps);
	n = ngtcp2_conn_write_connection_close(c->q.conn, &ps.path, &pi, buf,
					       sizeof(buf), &c->q.last_error,
					       test_now(h));
	CHECK(n > 0);
	if (n <= 0)
		return false;
	c->closed = true;
	server_input(h, c->port, buf, (size_t)n);
	return true;
}

static void
test_close(struct harness *h)
{
	static struct qs_ctl_req req;
	struct qs_stats before = h->stats;
	const struct qs_ctl_conn_info *info;
	unsigned int to_client;

	TEST_CONTEXT("close");
	/* whatever is still in flight (ACKs) first */
	for (int i = 0; i < 3; i++) {
		client_flush(h);
		server_step(h);
		deliver(h);
	}
	if (!client_close(h))
		return;
	server_step(h);
	/* draining: the server says nothing more, but still lists it */
	to_client = h->n_captured;
	deliver(h);
	CHECK_EQ(to_client, 0);
	CHECK_EQ(h->stats.quic_conn_active, 1);
	info = ctl_conns(h, &req);
	if (info != NULL)
		CHECK(info->state != NULL && strcmp(info->state, "draining") == 0);

	/* past the draining period (3 PTO, tens of ms here; the clock moves
	 * 5 s, well within the 30 s idle timeout): one pass of the server's
	 * timers frees it */
	h->skew += DRAIN_SKEW_NS;
	server_step(h);
	deliver(h);
	CHECK_EQ(h->stats.quic_conn_active, 0);
	CHECK_EQ(h->srv.set.n_conns, 0);
	CHECK_EQ(h->stats.quic_conn_closed - before.quic_conn_closed, 1);
	memset(&req, 0, sizeof(req));
	req.type = QS_CTL_CONNS;
	req.max = 10;
	qs_ctl_serve(&h->srv.set, &req);
	CHECK_EQ(req.n_conns, 0);
	CHECK_EQ(req.n_out, 0);
	TEST_CONTEXT_CLEAR();
}

/* Datagrams that carry the connection's real DCID but no packet ngtcp2
 * can authenticate: from another MAC at the client's own address and
 * port, and from another address. */
static void
forge_datagrams(struct harness *h)
{
	static const struct rte_ether_addr forger = {
		{0x02, 0x66, 0x66, 0x66, 0x66, 0x66}};
	const ngtcp2_cid *dcid = ngtcp2_conn_get_dcid(h->cl.q.conn);
	uint8_t pkt[200];
	size_t n = qs_quic_short(pkt, dcid->data, (uint8_t)dcid->datalen,
				 sizeof(pkt));

	server_input_from(h, qs_frames_peer_v4, &forger, h->cl.port, pkt, n);
	server_input_from(h, qs_frames_other_v4, &forger, FORGED_PORT, pkt, n);
	h->n_forged += 2;
}

/* Path poisoning: forged datagrams (forge_datagrams) arrive in every pass
 * of a download; they are counted and teach the server nothing: every
 * frame still goes to the client's MAC, address and port, and the body
 * arrives whole. */
static bool
test_poisoning(struct harness *h)
{
	struct qs_stats before = h->stats;
	unsigned int bad = h->bad_frames, lost = h->lost_other;
	struct req *r;

	TEST_CONTEXT("path poisoning");
	h->n_forged = 0;
	r = client_request(h, "GET /bytes/300000 among forged datagrams", "GET",
			   "/bytes/300000");
	CHECK(r != NULL);
	if (r == NULL)
		return false;
	for (int i = 0; i < FORGED_DATAGRAMS; i++)
		forge_datagrams(h);
	h->forge = true;
	if (!pump(h, requests_done, "a download among forged datagrams")) {
		h->forge = false;
		return false;
	}
	h->forge = false;
	check_response(r, 200, 300000);
	check_body_pattern(r, 300000);
	TEST_CONTEXT("path poisoning: counters and where the server sent");
	CHECK(h->n_forged >= 2 * FORGED_DATAGRAMS);
	CHECK_EQ(h->stats.quic_drop_unauthenticated -
		 before.quic_drop_unauthenticated, h->n_forged);
	/* every frame went to the client's MAC, address and port */
	CHECK_EQ(h->bad_frames, bad);
	CHECK_EQ(h->lost_other, lost);
	CHECK_EQ(h->stats.quic_path_migrations - before.quic_path_migrations, 0);
	CHECK_EQ(h->stats.drop_tx_no_path - before.drop_tx_no_path, 0);
	CHECK_EQ(h->stats.quic_conn_active, 1);
	TEST_CONTEXT_CLEAR();
	return true;
}

/* The datagrams of c's first flight (at most max), written, not sent. */
/* A ClientHello over two Initial packets whose second arrives first (a
 * large key share, reordered on the way): ngtcp2 cannot buffer what does
 * not start at offset 0 before the address is validated, so the server
 * answers with a Retry, and the client completes the handshake with it. */
static bool
test_reordered_initials(struct harness *h)
{
	uint8_t flight[4][CLIENT_UDP_MAX];
	size_t len[4];
	unsigned int n = 0;
	struct qs_stats before;
	struct req *r;

	TEST_CONTEXT("reordered Initials");
	client_free(&h->cl);
	if (client_new(h, &h->cl, REORDER_PORT, true) != 0) {
		CHECK(!"the second client is set up");
		return false;
	}
	before = h->stats;
	n = client_first_flight(h, &h->cl, flight, len, 4);
	/* the ClientHello needs two datagrams */
	CHECK(n >= 2);
	if (n < 2)
		return false;
	server_input(h, h->cl.port, flight[1], len[1]);
	server_input(h, h->cl.port, flight[0], len[0]);
	for (unsigned int i = 2; i < n; i++)
		server_input(h, h->cl.port, flight[i], len[i]);
	if (!pump(h, handshake_done, "handshake after reordered Initials"))
		return false;
	CHECK_EQ(h->stats.quic_retries_sent - before.quic_retries_sent, 1);
	r = client_request(h, "GET /bytes/1000 after the Retry", "GET",
			   "/bytes/1000");
	CHECK(r != NULL);
	if (r == NULL || !pump(h, requests_done, "a request after the Retry"))
		return false;
	check_response(r, 200, 1000);
	check_body_pattern(r, 1000);
	/* the server's side of the handshake too (the client's Finished) */
	CHECK_EQ(h->stats.quic_handshakes_completed -
		 before.quic_handshakes_completed, 1);
	/* and the first part, arriving after the Retry, opened a connection
	 * that never completes (freed by its handshake timeout) */
	CHECK_EQ(h->stats.quic_conn_active, 2);
	TEST_CONTEXT_CLEAR();
	return true;
}

/* An Initial flood from spoofed addresses (retry = auto): handshakes with
 * an unproven address stop at retry_auto_unvalidated, every later Initial
 * gets a Retry and no state, a real client still connects (through a
 * Retry), and the spoofed handshakes time out silently: nothing is ever
 * sent to a spoofed address after its first flight. */
static bool
test_initial_flood(struct harness *h)
{
	static struct client spoof;
	static uint8_t flight[4][CLIENT_UDP_MAX];
	struct qs_stats before = h->stats;
	uint32_t unproven = h->srv.set.n_unvalidated, to_spoofed;
	size_t len[4];
	unsigned int sent = 0;

	TEST_CONTEXT("Initial flood");
	CHECK_EQ(h->cfg.retry, QS_RETRY_AUTO);
	CHECK(unproven < FLOOD_UNVALIDATED_MAX);
	h->cfg.retry_auto_unvalidated = FLOOD_UNVALIDATED_MAX;
	for (unsigned int i = 0; i < SPOOFED_INITIALS; i++) {
		unsigned int n;

		if (client_new(h, &spoof, (uint16_t)(FLOOD_CLIENT_PORT + 1 + i),
			       false) != 0) {
			CHECK(!"a flood client is set up");
			client_free(&spoof);
			return false;
		}
		n = client_first_flight(h, &spoof, flight, len, 4);
		for (unsigned int k = 0; k < n; k++)
			server_input_from(h, rte_cpu_to_be_32(SPOOF_NET | (i + 1)),
					  &qs_frames_peer_mac, spoof.port,
					  flight[k], len[k]);
		sent += n > 0;
		client_free(&spoof);
	}
	server_step(h);
	deliver(h);
	CHECK_EQ(sent, SPOOFED_INITIALS);
	/* the unproven handshakes stop at the threshold; the rest got a
	 * Retry and left no state */
	CHECK_EQ(h->srv.set.n_unvalidated, FLOOD_UNVALIDATED_MAX);
	CHECK_EQ(h->stats.quic_conn_unvalidated, FLOOD_UNVALIDATED_MAX);
	CHECK_EQ(h->stats.quic_retries_sent - before.quic_retries_sent,
		 SPOOFED_INITIALS - (FLOOD_UNVALIDATED_MAX - unproven));

	TEST_CONTEXT("Initial flood: a real client");
	client_close(h);
	client_free(&h->cl);
	before = h->stats;
	if (client_new(h, &h->cl, FLOOD_CLIENT_PORT, false) != 0 ||
	    !pump(h, handshake_done, "a handshake during the flood")) {
		CHECK(!"a real client connects during the flood");
		return false;
	}
	CHECK_EQ(h->stats.quic_retries_sent - before.quic_retries_sent, 1);

	TEST_CONTEXT("Initial flood: the spoofed handshakes time out");
	to_spoofed = h->to_spoofed;
	before = h->stats;
	h->skew += (uint64_t)h->cfg.handshake_timeout_ms * 1000000 + DRAIN_SKEW_NS;
	for (int i = 0; i < 3; i++) {
		client_flush(h);
		server_step(h);
		deliver(h);
	}
	CHECK_EQ(h->stats.quic_handshake_timeouts - before.quic_handshake_timeouts,
		 FLOOD_UNVALIDATED_MAX);
	CHECK_EQ(h->srv.set.n_unvalidated, 0);
	CHECK_EQ(h->stats.quic_conn_unvalidated, 0);
	/* silently: no CONNECTION_CLOSE to a spoofed address */
	CHECK_EQ(h->to_spoofed, to_spoofed);
	CHECK_EQ(h->cl.err, 0);
	h->cfg.retry_auto_unvalidated = 128;
	TEST_CONTEXT_CLEAR();
	return true;
}

/* Rapid reset (CVE-2023-44487's HTTP/3 form): a client that opens request
 * streams and resets each at once is closed with H3_EXCESSIVE_LOAD once it
 * passes [quic] stream_resets_max resets in a second. */
static bool
test_rapid_reset(struct harness *h)
{
	struct qs_stats before = h->stats;
	struct client *c = &h->cl;
	ngtcp2_connection_close_error cc;
	unsigned int opened = 0;
	nghttp3_nv nva[] = {
		NV(":method", "GET"),
		NV(":scheme", "https"),
		NV(":authority", AUTHORITY),
		NV(":path", "/bytes/100000"),
	};

	TEST_CONTEXT("rapid reset");
	h->cfg.stream_resets_max = RAPID_RESETS_MAX;
	for (int i = 0; i < RAPID_RESET_TRIES && c->err == 0; i++) {
		int64_t sid;

		if (ngtcp2_conn_open_bidi_stream(c->q.conn, &sid, NULL) == 0 &&
		    nghttp3_conn_submit_request(c->q.h3, sid, nva, RTE_DIM(nva),
						NULL, NULL) == 0) {
			client_flush(h);        /* the request goes out ... */
			ngtcp2_conn_shutdown_stream(c->q.conn, sid,
						    NGHTTP3_H3_REQUEST_CANCELLED);
			opened++;               /* ... and its reset at once */
		}
		client_flush(h);
		server_step(h);
		deliver(h);
	}
	h->cfg.stream_resets_max = 200;
	CHECK(opened > RAPID_RESETS_MAX / 2);
	CHECK_EQ(c->err, NGTCP2_ERR_DRAINING);
	ngtcp2_conn_get_connection_close_error(c->q.conn, &cc);
	CHECK_EQ(cc.type, NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION);
	CHECK_EQ(cc.error_code, NGHTTP3_H3_EXCESSIVE_LOAD);
	CHECK_EQ(h->stats.quic_conn_closed_abuse - before.quic_conn_closed_abuse, 1);
	CHECK(h->stats.h3_streams_reset_by_peer - before.h3_streams_reset_by_peer >
	      RAPID_RESETS_MAX);
	TEST_CONTEXT_CLEAR();
	return c->err == NGTCP2_ERR_DRAINING;
}

/* A fresh client for what comes next. */
static bool
client_again(struct harness *h, uint16_t port)
{
	uint16_t before = h->cl.port;

	client_free(&h->cl);
	if (client_new(h, &h->cl, port, false) != 0) {
		CHECK(!"a new client is set up");
		return false;
	}
	/* what the server still sends the closed one goes nowhere */
	h->cl.old_port = before;
	if (!pump(h, handshake_done, "a new client's handshake")) {
		CHECK(!"a new client connects");
		return false;
	}
	return true;
}

/* ---- setup and teardown, as qs_dataplane_init / lcore_new do ---- */

static void
harness_init(struct harness *h)
{
	char err[QS_ERR_LEN];
	char n[16];

	qs_config_defaults(&h->cfg);
	qs_frames_listen(&h->cfg.listen);
	snprintf(n, sizeof(n), "%u", MAX_CONNS);
	if (qs_config_set(&h->cfg, "tls", "cert", cert_path, err, sizeof(err)) != 0 ||
	    qs_config_set(&h->cfg, "tls", "key", key_path, err, sizeof(err)) != 0 ||
	    qs_config_set(&h->cfg, "http", "docroot", docroot, err, sizeof(err)) != 0 ||
	    qs_config_set(&h->cfg, "quic", "max_conns", n, err, sizeof(err)) != 0)
		die("configuration", err);
	/* a known reset secret: the test derives the expected token */
	for (size_t i = 0; i < sizeof(h->cfg.reset_secret); i++)
		h->cfg.reset_secret[i] = (uint8_t)(0x40 + i);
	h->cfg.reset_secret_set = true;

	if (qs_cid_codec_init(&h->codec, h->cfg.cid_format, 1, err, sizeof(err)) != 0)
		die("cid codec", err);
	if (qs_stateless_init(&h->cfg) != 0)
		die("qs_stateless_init", NULL);
	if (qs_tls_init(&h->cfg, err, sizeof(err)) != 0)
		die("qs_tls_init", err);
	if (qs_content_load(h->cfg.docroot, (uint64_t)h->cfg.docroot_max_mb << 20,
			    err, sizeof(err)) != 0)
		die("qs_content_load", err);
	qs_h3_global_init();
	h->pool = rte_pktmbuf_pool_create("test_server", N_MBUFS, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	if (h->pool == NULL)
		die("mbuf pool", rte_strerror(rte_errno));

	h->ports[0].port_id = 0;
	h->ports[0].nb_queues = 1;
	h->ports[0].mtu = RTE_ETHER_MTU;
	rte_ether_addr_copy(&qs_frames_our_mac, &h->ports[0].caps.mac);
	qs_ratelimit_init(&h->reset_limit, h->cfg.reset_rate, h->cfg.reset_burst);
	h->tx.ports = h->ports;
	h->tx.port_index = h->port_index;
	h->tx.n_ports = 1;
	h->tx.stats = &h->stats;
	h->tx.burst = capture_burst;
	h->env = (struct qs_env){
		.cfg = &h->cfg,
		.codec = &h->codec,
		.pool = h->pool,
		.worker = 0,
		.max_udp_payload = qs_port_max_udp_payload(&h->ports[0], h->pool),
		.app = &qs_h3_app_ops,
		.app_ctx = &h->h3,
		.now = test_now(h),
		.stats = &h->stats,
		.tx = &h->tx,
		.reset_limit = &h->reset_limit,
	};
	if (qs_server_init(&h->srv, &h->env, (int)rte_socket_id()) != 0)
		die("qs_server_init", NULL);
	h->srv_up = true;
}

static void
harness_fini(struct harness *h)
{
	client_free(&h->cl);
	deliver(h);
	free_stray(h);
	if (h->srv_up)
		qs_server_fini(&h->srv);
	h->srv_up = false;
	qs_tx_discard(&h->tx);
	qs_h3_lcore_fini(&h->h3);
	CHECK_EQ(h->capture_overflow, 0);
	/* every mbuf came back: none kept by the server, none lost here */
	CHECK_EQ(rte_mempool_avail_count(h->pool), N_MBUFS);
	rte_mempool_free(h->pool);
	qs_tls_fini();
	qs_content_free();
}

int
main(void)
{
	struct harness *h = &H;

	test_eal_init("server", "0");
	make_fixtures();
	harness_init(h);

	if (test_handshake(h) && test_requests(h)) {
		test_ctl(h);
		if (test_rebinding(h) && test_key_update(h) &&
		    test_late_packet(h) && test_poisoning(h)) {
			test_stateless(h);
			test_close(h);
			if (test_reordered_initials(h) && test_initial_flood(h) &&
			    test_rapid_reset(h) && client_again(h, GOAWAY_PORT))
				test_goaway(h);
		}
	}
	TEST_CONTEXT("frames the server sent");
	CHECK_EQ(h->bad_frames, 0);
	CHECK_EQ(h->lost_other, 0);
	TEST_CONTEXT_CLEAR();

	harness_fini(h);
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	test_eal_cleanup();
	return test_done("test_server");
}
