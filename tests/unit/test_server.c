/* The per-lcore QUIC server (quic/qs_server.c) driven end to end by a real
 * ngtcp2 + nghttp3 + GnuTLS client in the same process: the in-process rig
 * of qs_inproc.h, whose client is built on the shared glue
 * (quic/qs_quic_glue.h) as quicsteer-load's is, and whose server is wired
 * as the dataplane wires a worker (dataplane/qs_dataplane.c lcore_new):
 * the client's datagrams go in as Ethernet/IPv4/UDP frames through
 * qs_net_classify and qs_server_input; what the server sends comes out of
 * the rig's TX burst, is checked as a frame (MACs, addresses, ports, both
 * checksums) and read by the client.
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
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "base/qs_clock.h"
#include "dataplane/qs_ctl.h"
#include "http/qs_content.h"
#include "http/qs_h3.h"
#include "net/qs_classify.h"
#include "net/qs_port.h"
#include "quic/qs_server.h"
#include "quic/qs_stateless.h"
#include "steer/qs_cid.h"
#include "steer/qs_quic_hdr.h"
#include "qs_frames.h"
#include "qs_inproc.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define N_MBUFS 4095
#define MAX_CONNS 16
#define STRAY_MAX 8             /* answers to the test's own datagrams */
#define KEY_UPDATE_TRIES 8      /* each 3 PTO later than the last */
#define CLIENT_PORT QS_FRAMES_PEER_PORT
#define REBIND_PORT (QS_FRAMES_PEER_PORT + 1)
#define STRAY_PORT 40000        /* where the test's hand-made datagrams come from */
#define FORGED_PORT 40001       /* a forger's port at another address */
#define REORDER_PORT (QS_FRAMES_PEER_PORT + 2)
#define FLOOD_CLIENT_PORT (QS_FRAMES_PEER_PORT + 3)
#define GOAWAY_PORT (QS_FRAMES_PEER_PORT + 4)
#define EARLY_CLOSE_PORT (QS_FRAMES_PEER_PORT + 5)
#define RAPID_RESETS_MAX 50       /* stream_resets_max in the test */
#define RAPID_RESET_TRIES 400
#define SPOOF_NET 0xc6120100u     /* 198.18.1.0/24: the flood's sources */
#define SPOOFED_INITIALS 12
#define FLOOD_UNVALIDATED_MAX 4   /* retry_auto_unvalidated in the test */
#define FORGED_DATAGRAMS 8      /* pairs before the download, more during */

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

struct harness {
	struct qs_inproc s;        /* the server, on the wall clock plus skew */
	struct qs_inproc_files fx;

	/* answers to datagrams from STRAY_PORT, kept for inspection */
	struct rte_mbuf *stray[STRAY_MAX];
	unsigned int n_stray;
	unsigned int bad_frames;   /* frames that failed the frame checks */
	unsigned int lost_old_port;/* sent to the port before a rebinding */
	unsigned int to_spoofed;   /* sent to a spoofed flood address */
	unsigned int to_closed;    /* sent to the client after it ended */
	unsigned int lost_other;

	bool forge;                /* pump: forged datagrams in every pass */
	unsigned int n_forged;
	uint16_t old_port;         /* the client's before the last rebinding */
	struct qs_inproc_client cl;
};

static struct harness H;
static uint8_t file_data[FILE_LEN];

/* ---- the wire: frames in, frames out ---- */

/* The client's address and MAC, at port. */
static struct qs_inproc_addr
peer_at(uint16_t port)
{
	return (struct qs_inproc_addr){.v4 = qs_frames_peer_v4, .port = port,
				       .mac = &qs_frames_peer_mac};
}

/* A datagram from src into the server. */
static void
server_input(struct harness *h, const struct qs_inproc_addr *src,
	     const uint8_t *payload, size_t len)
{
	const char *why = qs_inproc_input(&h->s, src, 0, payload, len);

	if (why != NULL)
		test_fail(__FILE__, __LINE__, "%s", why);
}

/* The client's wire: without its ECN bits, not-ECT as ever. */
static void
client_send(struct qs_inproc_client *c, const uint8_t *dgram, size_t len,
	    uint8_t ecn, bool last)
{
	(void)ecn; (void)last;
	server_input(c->arg, &c->src, dgram, len);
}

/* Hands what the server sent to the client (frames to its port), keeps
 * the answers to the test's own datagrams (STRAY_PORT) and drops the rest:
 * after a rebinding the old port leads nowhere (the NAT forgot it).
 * Returns how many frames there were. */
static unsigned int
deliver(struct harness *h)
{
	struct qs_inproc_client *c = &h->cl;
	unsigned int n = h->s.n_captured;

	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = h->s.captured[i];
		struct qs_inproc_frame f;

		if (qs_inproc_frame_parse(m, &f) != NULL || f.ipv6 ||
		    !rte_is_same_ether_addr(f.dst_mac, &qs_frames_peer_mac)) {
			h->bad_frames++;
		} else if ((rte_be_to_cpu_32(f.dst_v4) & 0xffffff00u) == SPOOF_NET) {
			h->to_spoofed++;
		} else if (f.dst_v4 != qs_frames_peer_v4) {
			h->bad_frames++;
		} else if (f.dport == c->src.port && qs_inproc_client_live(c)) {
			qs_inproc_client_read(c, f.payload, f.len, f.ecn);
		} else if (f.dport == STRAY_PORT && h->n_stray < STRAY_MAX) {
			h->stray[h->n_stray++] = m;
			continue;
		} else if (h->old_port != 0 && f.dport == h->old_port) {
			h->lost_old_port++;
		} else if (f.dport == c->src.port) {
			h->to_closed++;         /* the client has closed or failed */
		} else {
			h->lost_other++;
		}
		rte_pktmbuf_free(m);
	}
	h->s.n_captured = 0;
	return n;
}

static void
free_stray(struct harness *h)
{
	for (unsigned int i = 0; i < h->n_stray; i++)
		rte_pktmbuf_free(h->stray[i]);
	h->n_stray = 0;
}

/* ---- the client ---- */

static const struct qs_inproc_client_conf client_conf = {
	.send = client_send,
	.user_agent = "test_server",
	.ca = H.fx.cert,           /* the chain and the IP address in it */
	.max_stream_data = 4u << 20,
	.max_data = 16u << 20,
};

static int
client_new(struct harness *h, struct qs_inproc_client *c, uint16_t port,
	   bool big_hello)
{
	struct qs_inproc_addr src = peer_at(port);

	if (c == &h->cl)
		h->old_port = 0;
	if (qs_inproc_client_new(c, &h->s, &client_conf, &src, big_hello,
				 NULL) != 0)
		return -1;
	c->arg = h;
	return 0;
}

/* A request with one extra header field (extra_name NULL: none); NULL on
 * failure. */
static struct qs_inproc_req *
client_request_with(struct harness *h, const char *name, const char *method,
		    const char *path, const char *extra_name,
		    const char *extra_value)
{
	struct qs_inproc_req *r = qs_inproc_request(&h->cl, method, path,
						    extra_name, extra_value);

	if (r != NULL)
		r->name = name;
	return r;
}

static struct qs_inproc_req *
client_request(struct harness *h, const char *name, const char *method,
	       const char *path)
{
	return client_request_with(h, name, method, path, NULL, NULL);
}

/* ---- the loop ---- */

typedef bool (*done_fn)(struct harness *h);

static void forge_datagrams(struct harness *h);

/* Runs both ends until done(h) or the client fails, at most
 * PUMP_ITERS_MAX passes and PUMP_WALL_NS; false (and a failure naming
 * what) when it did not get there. */
static bool
pump(struct harness *h, done_fn done, const char *what)
{
	uint64_t give_up = qs_now_ns() + PUMP_WALL_NS;
	unsigned int i;

	for (i = 0; i < PUMP_ITERS_MAX && qs_now_ns() < give_up; i++) {
		unsigned int moved;
		uint64_t now, next;

		qs_inproc_client_timers(&h->cl);
		moved = qs_inproc_client_flush(&h->cl);
		if (h->forge)
			forge_datagrams(h);
		qs_inproc_step(&h->s, true);
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
		now = qs_inproc_now(&h->s);
		next = qs_inproc_next_expiry(&h->s, &h->cl);
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
	       h->cl.q.h3 != NULL && h->s.stats.quic_handshakes_completed > 0;
}

static bool
requests_done(struct harness *h)
{
	return qs_inproc_requests_done(&h->cl);
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
	h->s.env.now = qs_inproc_now(&h->s);
	qs_ctl_serve(&h->s.srv.set, req);
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
	h->s.env.now = qs_inproc_now(&h->s);
	qs_ctl_serve(&h->s.srv.set, req);
	CHECK_EQ(req->state, QS_CTL_DONE);
}

static bool
test_handshake(struct harness *h)
{
	struct qs_stats before = h->s.stats;
	gnutls_datum_t alpn;

	TEST_CONTEXT("handshake");
	if (client_new(h, &h->cl, CLIENT_PORT, false) != 0) {
		CHECK(!"the client connection and TLS session are set up");
		return false;
	}
	if (!pump(h, handshake_done, "handshake"))
		return false;
	/* a whole 1-RTT handshake: one Initial, no Retry, nothing resumed */
	CHECK_EQ(h->s.stats.quic_initials - before.quic_initials, 1);
	CHECK_EQ(h->s.stats.quic_conn_accepted - before.quic_conn_accepted, 1);
	CHECK_EQ(h->s.stats.quic_handshakes_completed -
		 before.quic_handshakes_completed, 1);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
	CHECK_EQ(h->s.stats.quic_retries_sent, 0);
	CHECK_EQ(h->s.stats.quic_sessions_resumed, 0);
	CHECK_EQ(h->s.stats.quic_0rtt_accepted, 0);
	CHECK_EQ(h->s.stats.quic_conn_refused, 0);
	CHECK_EQ(h->s.stats.quic_drop_no_tls, 0);
	CHECK_EQ(h->s.srv.set.n_conns, 1);
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
check_body_pattern(const struct qs_inproc_req *r, size_t n)
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
check_response(const struct qs_inproc_req *r, unsigned int status,
	       size_t body_len)
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
	struct qs_stats before = h->s.stats;
	static char big_value[BIG_HEADER_LEN + 1];
	struct qs_inproc_req *bytes, *file, *root, *missing, *post, *propfind,
			     *head, *too_long, *bad, *big_fields;
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

	check_response(root, 200, sizeof(QS_INPROC_INDEX_HTML) - 1);
	CHECK(html != NULL && strcmp(root->content_type, html) == 0);
	if (root->body_len == sizeof(QS_INPROC_INDEX_HTML) - 1)
		CHECK_MEM_EQ(root->body, QS_INPROC_INDEX_HTML,
			     sizeof(QS_INPROC_INDEX_HTML) - 1);

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
	CHECK_EQ(h->s.stats.h3_requests - before.h3_requests, 10);
	CHECK_EQ(h->s.stats.h3_responses_2xx - before.h3_responses_2xx, 4);
	CHECK_EQ(h->s.stats.h3_responses_4xx - before.h3_responses_4xx, 6);
	CHECK_EQ(h->s.stats.h3_responses_5xx - before.h3_responses_5xx, 0);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
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
	snprintf(peer, sizeof(peer), "198.18.0.2:%u", h->cl.src.port);
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

	/* set qlog on: this harness has no qlog, so the connection was not
	 * armed and nothing changes */
	TEST_CONTEXT("control: set qlog on, not armed");
	memset(&req, 0, sizeof(req));
	req.type = QS_CTL_QLOG_ON;
	memcpy(req.cid, dcid->data, dcid->datalen);
	req.cid_len = (uint8_t)dcid->datalen;
	qs_ctl_serve(&h->s.srv.set, &req);
	CHECK_EQ(req.n_out, 1);
	CHECK_EQ(req.qlog_started, -1);
	CHECK_EQ(req.out[0].qlog_state, QS_QLOG_OFF);

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
	struct qs_stats before = h->s.stats;
	struct qs_inproc_client *c = &h->cl;
	struct qs_inproc_addr src = peer_at(REBIND_PORT);
	const struct qs_ctl_conn_info *info;
	struct qs_inproc_req *r;
	char peer[64];

	TEST_CONTEXT("rebinding");
	h->old_port = c->src.port;
	qs_inproc_client_rebind(c, &src);

	r = client_request(h, "GET /bytes/3000 after rebinding", "GET", "/bytes/3000");
	CHECK(r != NULL);
	if (r == NULL || !pump(h, requests_done, "a request after rebinding"))
		return false;
	check_response(r, 200, 3000);
	check_body_pattern(r, 3000);
	TEST_CONTEXT("rebinding: counters");
	CHECK_EQ(h->s.stats.quic_path_migrations - before.quic_path_migrations, 1);
	CHECK_EQ(h->s.stats.h3_requests - before.h3_requests, 1);
	CHECK_EQ(h->s.stats.h3_responses_2xx - before.h3_responses_2xx, 1);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
	CHECK_EQ(h->s.stats.quic_stateless_resets_sent, 0);

	TEST_CONTEXT("rebinding: show conns");
	snprintf(peer, sizeof(peer), "198.18.0.2:%u", c->src.port);
	info = ctl_conns(h, &req);
	if (info != NULL) {
		CHECK(strcmp(info->peer, peer) == 0);
		CHECK(info->migrations_seen >= 2);
	}
	TEST_CONTEXT_CLEAR();
	return true;
}

/* Two key updates by the client (RFC 9001 6): requests go on under each
 * new key, and the packet-number guard, which must know every receive
 * key's IV, refuses nothing. */
static bool
test_key_update(struct harness *h)
{
	struct qs_stats before = h->s.stats;

	TEST_CONTEXT("key update");
	for (int i = 0; i < 2; i++) {
		struct qs_inproc_req *r;
		int rv;

		/* ngtcp2 allows the next update 3 PTO after the last was
		 * confirmed, and prepares its keys when it next writes; a slow
		 * machine (sanitizers, load) inflates the PTO: a few tries */
		rv = NGTCP2_ERR_INVALID_STATE;
		for (int t = 0; t < KEY_UPDATE_TRIES && rv != 0; t++) {
			h->s.skew += 3 * ngtcp2_conn_get_pto(h->cl.q.conn) +
				     NGTCP2_MILLISECONDS;
			qs_inproc_client_flush(&h->cl);
			rv = ngtcp2_conn_initiate_key_update(h->cl.q.conn,
							     qs_inproc_now(&h->s));
		}
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
	CHECK_EQ(h->s.stats.quic_drop_pn_guard - before.quic_drop_pn_guard, 0);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
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
	uint8_t flight[2][QS_INPROC_UDP_MAX];
	size_t len[2];
	struct qs_stats before = h->s.stats;
	struct qs_inproc_req *held, *passed;

	TEST_CONTEXT("a packet delayed past the server's answer");
	held = client_request(h, "GET /bytes/700 (its packet held back)",
			      "GET", "/bytes/700");
	CHECK(held != NULL);
	if (held == NULL ||
	    qs_inproc_client_write(&h->cl, flight, len, NULL, 1, NULL) != 1)
		return false;
	passed = client_request(h, "GET /bytes/900 (its packet passes)", "GET",
				"/bytes/900");
	CHECK(passed != NULL);
	if (passed == NULL ||
	    qs_inproc_client_write(&h->cl, flight + 1, len + 1, NULL, 1, NULL) != 1)
		return false;
	server_input(h, &h->cl.src, flight[1], len[1]);
	qs_inproc_step(&h->s, true);
	deliver(h);
	server_input(h, &h->cl.src, flight[0], len[0]);
	CHECK_EQ(h->s.stats.quic_drop_pn_guard - before.quic_drop_pn_guard, 1);
	if (!pump(h, requests_done, "both requests after the late packet"))
		return false;
	check_response(held, 200, 700);
	check_body_pattern(held, 700);
	check_response(passed, 200, 900);
	check_body_pattern(passed, 900);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
	CHECK_EQ(h->s.stats.quic_drop_pn_guard - before.quic_drop_pn_guard, 1);
	TEST_CONTEXT_CLEAR();
	return true;
}

/* One hand-made datagram from STRAY_PORT; returns the answers in h->stray. */
static unsigned int
stray_exchange(struct harness *h, const uint8_t *payload, size_t len)
{
	struct qs_inproc_addr src = peer_at(STRAY_PORT);

	free_stray(h);
	server_input(h, &src, payload, len);
	qs_inproc_step(&h->s, true);
	deliver(h);
	return h->n_stray;
}

static void
test_stateless(struct harness *h)
{
	static uint8_t pkt[1500];
	struct qs_stats before = h->s.stats;
	uint8_t cid[8], scid[8], token[NGTCP2_STATELESS_RESET_TOKENLEN];
	struct rte_mbuf *m;
	struct qs_quic_hdr hdr;
	size_t n;
	uint16_t plen;
	uint8_t *p;

	/* a short header to a CID nobody has, naming worker 0 */
	TEST_CONTEXT("stateless reset");
	qs_frames_nibble_cid(0, cid);
	CHECK_EQ(qs_cid_decode(&h->s.codec, cid, sizeof(cid)), 0);
	n = qs_quic_short(pkt, cid, sizeof(cid), RESET_TRIGGER_LEN);
	CHECK_EQ(stray_exchange(h, pkt, n), 1);
	CHECK_EQ(h->s.stats.quic_stateless_resets_sent -
		 before.quic_stateless_resets_sent, 1);
	if (h->n_stray == 1) {
		m = h->stray[0];
		p = qs_net_udp_payload(m, &plen);
		/* RFC 9000 10.3: a short header, shorter than the trigger,
		 * at most 43 bytes here, ending in the CID's token */
		CHECK_EQ(plen, QS_RESET_MAX_LEN);
		CHECK(plen < RESET_TRIGGER_LEN);
		CHECK_EQ(p[0] & 0xc0, 0x40);
		qs_frames_reset_token(h->s.cfg.reset_secret,
				      sizeof(h->s.cfg.reset_secret), cid,
				      sizeof(cid), token);
		if (plen >= sizeof(token))
			CHECK_MEM_EQ(p + plen - sizeof(token), token, sizeof(token));
	}

	/* 21 bytes: too short to answer without being a reset loop */
	TEST_CONTEXT("no reset for 21 bytes");
	before = h->s.stats;
	n = qs_quic_short(pkt, cid, sizeof(cid), QS_RESET_MIN_LEN);
	CHECK_EQ(stray_exchange(h, pkt, n), 0);
	CHECK_EQ(h->s.stats.quic_stateless_resets_sent -
		 before.quic_stateless_resets_sent, 0);
	CHECK_EQ(h->s.stats.quic_drop_short - before.quic_drop_short, 1);

	/* an unknown version in a datagram big enough for an Initial */
	TEST_CONTEXT("version negotiation");
	before = h->s.stats;
	qs_frames_nibble_cid(0, scid);
	scid[7] ^= 0xff;
	n = qs_quic_long(pkt, 0, UNKNOWN_VERSION, cid, sizeof(cid), scid,
			 sizeof(scid), 1200);
	CHECK_EQ(n, 1200);
	CHECK_EQ(stray_exchange(h, pkt, n), 1);
	CHECK_EQ(h->s.stats.quic_version_negotiations_sent -
		 before.quic_version_negotiations_sent, 1);
	CHECK_EQ(h->s.stats.quic_initials - before.quic_initials, 0);
	if (h->n_stray == 1) {
		bool v1 = false;
		size_t off;

		p = qs_net_udp_payload(h->stray[0], &plen);
		CHECK_EQ(qs_quic_parse(p, plen, h->s.codec.cid_len, &hdr), QS_QUIC_OK);
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
	before = h->s.stats;
	n = qs_quic_long(pkt, 0, UNKNOWN_VERSION, cid, sizeof(cid), scid,
			 sizeof(scid), 1199);
	CHECK_EQ(stray_exchange(h, pkt, n), 0);
	CHECK_EQ(h->s.stats.quic_version_negotiations_sent -
		 before.quic_version_negotiations_sent, 0);
	CHECK_EQ(h->s.stats.quic_drop_short - before.quic_drop_short, 1);

	/* none of this touched the connection */
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
	CHECK_EQ(h->s.stats.quic_conn_accepted - before.quic_conn_accepted, 0);
	free_stray(h);
	TEST_CONTEXT_CLEAR();
}

/* The server has the client's Finished too: a connection still in its
 * handshake gets its GOAWAY when that completes, not at the shutdown. */
static bool
server_handshakes_done(struct harness *h)
{
	const struct qs_conn *c;

	LIST_FOREACH(c, &h->s.srv.set.conns, link)
		if (c->state == QS_CONN_OPEN && !c->handshake_done)
			return false;
	return true;
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
	struct qs_inproc_req *r;

	TEST_CONTEXT("graceful stop");
	if (!pump(h, server_handshakes_done, "the server's side of the handshake"))
		return;
	qs_server_shutdown(&h->s.srv);
	CHECK(qs_server_busy(&h->s.srv));
	qs_inproc_step(&h->s, true);    /* the notice leaves the server */
	r = client_request(h, "GET /bytes/5000 crossing the GOAWAY notice",
			   "GET", "/bytes/5000");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	qs_inproc_client_flush(&h->cl); /* the request leaves the client */
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
	CHECK(!qs_server_busy(&h->s.srv));
	CHECK_EQ(h->cl.err, 0);         /* still open: closing is the lcore's */
	TEST_CONTEXT_CLEAR();
}

/* The client sends CONNECTION_CLOSE (H3_NO_ERROR) to the server; false
 * when it could not write one. */
static bool
client_close(struct harness *h)
{
	bool ok = qs_inproc_client_close(&h->cl);

	CHECK(ok);
	return ok;
}

static void
test_close(struct harness *h)
{
	static struct qs_ctl_req req;
	struct qs_stats before = h->s.stats;
	const struct qs_ctl_conn_info *info;
	unsigned int to_client;

	TEST_CONTEXT("close");
	/* whatever is still in flight (ACKs) first */
	for (int i = 0; i < 3; i++) {
		qs_inproc_client_flush(&h->cl);
		qs_inproc_step(&h->s, true);
		deliver(h);
	}
	if (!client_close(h))
		return;
	qs_inproc_step(&h->s, true);
	/* draining: the server says nothing more, but still lists it */
	to_client = h->s.n_captured;
	deliver(h);
	CHECK_EQ(to_client, 0);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
	info = ctl_conns(h, &req);
	if (info != NULL)
		CHECK(info->state != NULL && strcmp(info->state, "draining") == 0);

	/* past the draining period (3 PTO, tens of ms here; the clock moves
	 * 5 s, well within the 30 s idle timeout): one pass of the server's
	 * timers frees it */
	h->s.skew += DRAIN_SKEW_NS;
	qs_inproc_step(&h->s, true);
	deliver(h);
	CHECK_EQ(h->s.stats.quic_conn_active, 0);
	CHECK_EQ(h->s.srv.set.n_conns, 0);
	CHECK_EQ(h->s.stats.quic_conn_closed - before.quic_conn_closed, 1);
	memset(&req, 0, sizeof(req));
	req.type = QS_CTL_CONNS;
	req.max = 10;
	qs_ctl_serve(&h->s.srv.set, &req);
	CHECK_EQ(req.n_conns, 0);
	CHECK_EQ(req.n_out, 0);
	TEST_CONTEXT_CLEAR();
}

/* A client may close before it sends its Finished (quicsteer-load did,
 * when a 0-RTT response came with the server's first flight): the server
 * never sees the handshake complete, and the connection drains. From then
 * on it no longer holds an unproven handshake's place towards Retry in
 * auto mode; enough such clients made every later one get a Retry. */
static bool
test_close_before_finished(struct harness *h)
{
	struct qs_stats before = h->s.stats;
	struct qs_inproc_client *c = &h->cl;

	TEST_CONTEXT("close before Finished");
	if (client_new(h, c, EARLY_CLOSE_PORT, false) != 0) {
		CHECK(!"a client is set up");
		return false;
	}
	/* Initials both ways until the client has the server's Finished; the
	 * client's own Finished is never written */
	for (int i = 0; i < 5 && !ngtcp2_conn_get_handshake_completed(c->q.conn);
	     i++) {
		qs_inproc_client_flush(c);
		qs_inproc_step(&h->s, true);
		deliver(h);
	}
	CHECK(ngtcp2_conn_get_handshake_completed(c->q.conn));
	CHECK_EQ(h->s.srv.set.n_unvalidated, 1);
	CHECK_EQ(h->s.stats.quic_conn_unvalidated, 1);
	if (!client_close(h))
		return false;
	qs_inproc_step(&h->s, true);
	CHECK_EQ(h->s.n_captured, 0);           /* draining: silent */
	deliver(h);
	CHECK_EQ(h->s.stats.quic_handshakes_completed,
		 before.quic_handshakes_completed);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
	CHECK_EQ(h->s.srv.set.n_unvalidated, 0);
	CHECK_EQ(h->s.stats.quic_conn_unvalidated, 0);
	/* and at its end nothing is given back twice */
	h->s.skew += DRAIN_SKEW_NS;
	qs_inproc_step(&h->s, true);
	deliver(h);
	CHECK_EQ(h->s.stats.quic_conn_active, 0);
	CHECK_EQ(h->s.srv.set.n_unvalidated, 0);
	CHECK_EQ(h->s.stats.quic_conn_unvalidated, 0);
	TEST_CONTEXT_CLEAR();
	return true;
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

	struct qs_inproc_addr from = {.v4 = qs_frames_peer_v4,
				      .port = h->cl.src.port, .mac = &forger};

	server_input(h, &from, pkt, n);
	from.v4 = qs_frames_other_v4;
	from.port = FORGED_PORT;
	server_input(h, &from, pkt, n);
	h->n_forged += 2;
}

/* Path poisoning: forged datagrams (forge_datagrams) arrive in every pass
 * of a download; they are counted and teach the server nothing: every
 * frame still goes to the client's MAC, address and port, and the body
 * arrives whole. */
static bool
test_poisoning(struct harness *h)
{
	struct qs_stats before = h->s.stats;
	unsigned int bad = h->bad_frames, lost = h->lost_other;
	struct qs_inproc_req *r;

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
	CHECK_EQ(h->s.stats.quic_drop_unauthenticated -
		 before.quic_drop_unauthenticated, h->n_forged);
	/* every frame went to the client's MAC, address and port */
	CHECK_EQ(h->bad_frames, bad);
	CHECK_EQ(h->lost_other, lost);
	CHECK_EQ(h->s.stats.quic_path_migrations - before.quic_path_migrations, 0);
	CHECK_EQ(h->s.stats.drop_tx_no_path - before.drop_tx_no_path, 0);
	CHECK_EQ(h->s.stats.quic_conn_active, 1);
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
	uint8_t flight[4][QS_INPROC_UDP_MAX];
	size_t len[4];
	unsigned int n = 0;
	struct qs_stats before;
	struct qs_inproc_req *r;

	TEST_CONTEXT("reordered Initials");
	if (client_new(h, &h->cl, REORDER_PORT, true) != 0) {
		CHECK(!"the second client is set up");
		return false;
	}
	before = h->s.stats;
	n = qs_inproc_client_write(&h->cl, flight, len, NULL, 4, NULL);
	/* the ClientHello needs two datagrams */
	CHECK(n >= 2);
	if (n < 2)
		return false;
	server_input(h, &h->cl.src, flight[1], len[1]);
	server_input(h, &h->cl.src, flight[0], len[0]);
	for (unsigned int i = 2; i < n; i++)
		server_input(h, &h->cl.src, flight[i], len[i]);
	if (!pump(h, handshake_done, "handshake after reordered Initials"))
		return false;
	CHECK_EQ(h->s.stats.quic_retries_sent - before.quic_retries_sent, 1);
	r = client_request(h, "GET /bytes/1000 after the Retry", "GET",
			   "/bytes/1000");
	CHECK(r != NULL);
	if (r == NULL || !pump(h, requests_done, "a request after the Retry"))
		return false;
	check_response(r, 200, 1000);
	check_body_pattern(r, 1000);
	/* the server's side of the handshake too (the client's Finished) */
	CHECK_EQ(h->s.stats.quic_handshakes_completed -
		 before.quic_handshakes_completed, 1);
	/* and the first part, arriving after the Retry, opened a connection
	 * that never completes (freed by its handshake timeout) */
	CHECK_EQ(h->s.stats.quic_conn_active, 2);
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
	static struct qs_inproc_client spoof;
	static uint8_t flight[4][QS_INPROC_UDP_MAX];
	struct qs_stats before = h->s.stats;
	uint32_t unproven = h->s.srv.set.n_unvalidated, to_spoofed;
	size_t len[4];
	unsigned int sent = 0;

	TEST_CONTEXT("Initial flood");
	CHECK_EQ(h->s.cfg.retry, QS_RETRY_AUTO);
	CHECK(unproven < FLOOD_UNVALIDATED_MAX);
	h->s.cfg.retry_auto_unvalidated = FLOOD_UNVALIDATED_MAX;
	for (unsigned int i = 0; i < SPOOFED_INITIALS; i++) {
		struct qs_inproc_addr from;
		unsigned int n;

		if (client_new(h, &spoof, (uint16_t)(FLOOD_CLIENT_PORT + 1 + i),
			       false) != 0) {
			CHECK(!"a flood client is set up");
			qs_inproc_client_free(&spoof);
			return false;
		}
		n = qs_inproc_client_write(&spoof, flight, len, NULL, 4, NULL);
		from = (struct qs_inproc_addr){
			.v4 = rte_cpu_to_be_32(SPOOF_NET | (i + 1)),
			.port = spoof.src.port, .mac = &qs_frames_peer_mac};
		for (unsigned int k = 0; k < n; k++)
			server_input(h, &from, flight[k], len[k]);
		sent += n > 0;
		qs_inproc_client_free(&spoof);
	}
	qs_inproc_step(&h->s, true);
	deliver(h);
	CHECK_EQ(sent, SPOOFED_INITIALS);
	/* the unproven handshakes stop at the threshold; the rest got a
	 * Retry and left no state */
	CHECK_EQ(h->s.srv.set.n_unvalidated, FLOOD_UNVALIDATED_MAX);
	CHECK_EQ(h->s.stats.quic_conn_unvalidated, FLOOD_UNVALIDATED_MAX);
	CHECK_EQ(h->s.stats.quic_retries_sent - before.quic_retries_sent,
		 SPOOFED_INITIALS - (FLOOD_UNVALIDATED_MAX - unproven));

	TEST_CONTEXT("Initial flood: a real client");
	client_close(h);
	before = h->s.stats;
	if (client_new(h, &h->cl, FLOOD_CLIENT_PORT, false) != 0 ||
	    !pump(h, handshake_done, "a handshake during the flood")) {
		CHECK(!"a real client connects during the flood");
		return false;
	}
	CHECK_EQ(h->s.stats.quic_retries_sent - before.quic_retries_sent, 1);

	TEST_CONTEXT("Initial flood: the spoofed handshakes time out");
	to_spoofed = h->to_spoofed;
	before = h->s.stats;
	h->s.skew += (uint64_t)h->s.cfg.handshake_timeout_ms * 1000000 +
		     DRAIN_SKEW_NS;
	for (int i = 0; i < 3; i++) {
		qs_inproc_client_flush(&h->cl);
		qs_inproc_step(&h->s, true);
		deliver(h);
	}
	CHECK_EQ(h->s.stats.quic_handshake_timeouts - before.quic_handshake_timeouts,
		 FLOOD_UNVALIDATED_MAX);
	CHECK_EQ(h->s.srv.set.n_unvalidated, 0);
	CHECK_EQ(h->s.stats.quic_conn_unvalidated, 0);
	/* silently: no CONNECTION_CLOSE to a spoofed address */
	CHECK_EQ(h->to_spoofed, to_spoofed);
	CHECK_EQ(h->cl.err, 0);
	h->s.cfg.retry_auto_unvalidated = 128;
	TEST_CONTEXT_CLEAR();
	return true;
}

/* Rapid reset (CVE-2023-44487's HTTP/3 form): a client that opens request
 * streams and resets each at once is closed with H3_EXCESSIVE_LOAD once it
 * passes [quic] stream_resets_max resets in a second. */
static bool
test_rapid_reset(struct harness *h)
{
	struct qs_stats before = h->s.stats;
	struct qs_inproc_client *c = &h->cl;
	ngtcp2_connection_close_error cc;
	unsigned int opened = 0;
	nghttp3_nv nva[] = {
		QS_INPROC_NV(":method", "GET"),
		QS_INPROC_NV(":scheme", "https"),
		QS_INPROC_NV(":authority", QS_INPROC_AUTHORITY),
		QS_INPROC_NV(":path", "/bytes/100000"),
	};

	TEST_CONTEXT("rapid reset");
	h->s.cfg.stream_resets_max = RAPID_RESETS_MAX;
	for (int i = 0; i < RAPID_RESET_TRIES && c->err == 0; i++) {
		int64_t sid;

		if (ngtcp2_conn_open_bidi_stream(c->q.conn, &sid, NULL) == 0 &&
		    nghttp3_conn_submit_request(c->q.h3, sid, nva, RTE_DIM(nva),
						NULL, NULL) == 0) {
			qs_inproc_client_flush(c);  /* the request goes out ... */
			ngtcp2_conn_shutdown_stream(c->q.conn, sid,
						    NGHTTP3_H3_REQUEST_CANCELLED);
			opened++;               /* ... and its reset at once */
		}
		qs_inproc_client_flush(c);
		qs_inproc_step(&h->s, true);
		deliver(h);
	}
	h->s.cfg.stream_resets_max = 200;
	CHECK(opened > RAPID_RESETS_MAX / 2);
	CHECK_EQ(c->err, NGTCP2_ERR_DRAINING);
	ngtcp2_conn_get_connection_close_error(c->q.conn, &cc);
	CHECK_EQ(cc.type, NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION);
	CHECK_EQ(cc.error_code, NGHTTP3_H3_EXCESSIVE_LOAD);
	CHECK_EQ(h->s.stats.quic_conn_closed_abuse -
		 before.quic_conn_closed_abuse, 1);
	CHECK(h->s.stats.h3_streams_reset_by_peer - before.h3_streams_reset_by_peer >
	      RAPID_RESETS_MAX);
	TEST_CONTEXT_CLEAR();
	return c->err == NGTCP2_ERR_DRAINING;
}

/* A fresh client for what comes next. */
static bool
client_again(struct harness *h, uint16_t port)
{
	uint16_t before = h->cl.src.port;

	if (client_new(h, &h->cl, port, false) != 0) {
		CHECK(!"a new client is set up");
		return false;
	}
	/* what the server still sends the closed one goes nowhere */
	h->old_port = before;
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
	time_t now = time(NULL);
	const struct qs_inproc_cert cert = {
		.cn = "quicsteer unit test",
		.not_before = now - 3600,
		.not_after = now + 86400,
	};

	qs_inproc_files_make(&h->fx, "test-server", &cert, FILE_LEN);
	qs_inproc_notes(file_data, FILE_LEN);
	qs_inproc_config(&h->s, &h->fx, MAX_CONNS);
	qs_inproc_init(&h->s, "test_server", N_MBUFS, qs_now_ns);
	/* what a 1500-byte MTU carries in one mbuf */
	h->s.ports[0].mtu = RTE_ETHER_MTU;
	h->s.env.max_udp_payload = qs_port_max_udp_payload(&h->s.ports[0],
							   h->s.pool);
	qs_inproc_start(&h->s);
}

static void
harness_fini(struct harness *h)
{
	unsigned int missing;

	qs_inproc_client_free(&h->cl);
	deliver(h);
	free_stray(h);
	missing = qs_inproc_fini(&h->s);
	CHECK_EQ(h->s.capture_overflow, 0);
	/* every mbuf came back: none kept by the server, none lost here */
	CHECK_EQ(missing, 0);
}

int
main(void)
{
	struct harness *h = &H;

	test_eal_init("server", "0");
	harness_init(h);

	if (test_handshake(h) && test_requests(h)) {
		test_ctl(h);
		if (test_rebinding(h) && test_key_update(h) &&
		    test_late_packet(h) && test_poisoning(h)) {
			test_stateless(h);
			test_close(h);
			if (test_close_before_finished(h) &&
			    test_reordered_initials(h) && test_initial_flood(h) &&
			    test_rapid_reset(h) && client_again(h, GOAWAY_PORT))
				test_goaway(h);
		}
	}
	TEST_CONTEXT("frames the server sent");
	CHECK_EQ(h->bad_frames, 0);
	CHECK_EQ(h->lost_other, 0);
	TEST_CONTEXT_CLEAR();

	harness_fini(h);
	qs_inproc_files_remove(&h->fx);
	test_eal_cleanup();
	return test_done("test_server");
}
