/* Seeds for fuzz_server: what real clients send, recorded.
 *
 *   make_server_seeds OUT_DIR MANIFEST
 *
 * The in-process ngtcp2 + nghttp3 + GnuTLS client of tests/unit/qs_inproc.h
 * (test_server.c's too) runs against the fuzz harness's server
 * (server_harness.c): every datagram it sends, every clock move and every
 * server pass the exchange needs goes through qs_fuzz_record and into the
 * seed, so the seed is exactly the input that fuzz_server replays. The
 * client draws its own random stream (interpose.h), so recording it does
 * not change what the server draws; the server's answers reach the client
 * only here.
 *
 * Scenarios, each with real packet protection and with null protection
 * (OUT_DIR/<scenario>-real, -null) unless said otherwise:
 *   handshake   a full handshake, nothing more;
 *   get         GET /bytes/100;
 *   requests    eight requests: files, /, a directory, HEAD, 404, 405,
 *               /bytes/3000, 400;
 *   resume      a connection that takes a session ticket and a NEW_TOKEN
 *               token, closes, and a second one from another port that
 *               resumes with 0-RTT (GET in the first flight);
 *   rebind      a NAT rebinding between two requests;
 *   migrate     an active migration to another address between two;
 *   keyupdate   a key update between two requests;
 *   close       the client closes; the draining period runs out;
 *   goaway      a graceful stop with a request crossing the GOAWAY notice;
 *   ipv6        handshake and a request over IPv6;
 *   refused     five connections against max_conns 4;
 *   malformed   malformed requests and one with too large a header
 *               section, then a good one;
 *   cancel      a download the client cancels, then another request;
 *   retry       [quic] retry on: Retry, then the handshake (real only: a
 *               client checks the Retry integrity tag with the real AEAD);
 *   reordered   a ClientHello over two Initials, second first: a Retry
 *               from NGTCP2_ERR_RETRY (real only, the same reason);
 *   stateless   Version Negotiation, a stateless reset, a short Initial
 *               (one file: no protection is involved).
 *
 * Each seed is then replayed alone through the same harness, and the
 * counters it moves must be those of the recording (else the server is
 * not deterministic and the seed would not get as deep when fuzzed). The
 * MANIFEST has a line per seed: its name, a tab, those counters
 * (qs_fuzz_depth), which run_fuzz_server.sh checks again with fuzz_server
 * itself. Exits non-zero when a scenario does not reach its goal. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>

#include "base/qs_stats.h"
#include "interpose.h"
#include "qs_frames.h"
#include "qs_inproc.h"
#include "server_harness.h"

#define SEED_MAX (256 * 1024)
#define OUT_MAX 1024            /* server frames held for the client */
#define TOKEN_MAX 256
#define DEPTH_LEN 1024
#define PUMP_PASSES_MAX 4000
#define PUMP_VIRTUAL_NS (120ull * 1000000000)
#define REFUSED_CLIENTS (QS_FUZZ_MAX_CONNS + 1)
#define NO_STOP 0xff
/* a header field larger than [http] max_field_section_size (16 KiB) */
#define QS_FUZZ_BIG_FIELD 17000

/* ---- the generator: a seed being recorded, its client (one at a time),
 * and what lives across the connections of one scenario ---- */

struct gen {
	struct qs_fuzz *f;
	struct qs_inproc_client cl;
	enum qs_fuzz_src src;      /* where the client's datagrams come from */
	bool early;                /* its first flight carries 0-RTT */
	bool confirmed;            /* HANDSHAKE_DONE received */
	uint64_t handshakes;       /* the server's count when it started */
	const char *dir;
	FILE *manifest;
	unsigned int failures;

	const char *name;
	uint8_t seed[SEED_MAX];
	size_t len;
	bool overflow;

	struct qs_fuzz_out out[OUT_MAX];
	unsigned int n_out;

	gnutls_datum_t ticket;
	ngtcp2_transport_params params;
	bool have_params;
	uint8_t token[TOKEN_MAX];
	size_t token_len;
};

static struct qs_fuzz F;
static struct gen G;

static void __attribute__((format(printf, 2, 3)))
fail(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	g->failures++;
	fprintf(stderr, "make_server_seeds: %s: ", g->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the wire, both ways ---- */

/* A record of the seed, and into the server. */
static void
record(struct gen *g, uint8_t flags, const uint8_t *dgram, size_t len)
{
	if (g->len + QS_FUZZ_REC_HDR_LEN + len > sizeof(g->seed)) {
		g->overflow = true;
	} else {
		g->seed[g->len++] = flags;
		g->seed[g->len++] = (uint8_t)(len >> 8);
		g->seed[g->len++] = (uint8_t)len;
		if (len > 0)
			memcpy(g->seed + g->len, dgram, len);
		g->len += len;
	}
	qs_fuzz_record(g->f, flags, dgram, len);
}

/* The harness's sink: frames wait here for the client (which must not
 * run inside the server's pass: it would draw the server's random). */
static void
sink(void *arg, const struct qs_fuzz_out *o)
{
	struct gen *g = arg;

	if (g->n_out == OUT_MAX) {
		rte_pktmbuf_free(o->m);
		return;
	}
	g->out[g->n_out++] = *o;
}

/* The client's datagrams into the seed and the server. */
static void
send_dgram(struct qs_inproc_client *c, const uint8_t *dgram, size_t len,
	   uint8_t ecn, bool last)
{
	struct gen *g = c->arg;

	record(g, QS_FUZZ_FLAGS(g->src, ecn, last, 0), dgram, len);
}

/* What the server sent, to the client when it is for its address; the
 * rest is lost (an old port after a rebinding, a finished client). */
static unsigned int
deliver(struct gen *g)
{
	unsigned int n = g->n_out;

	for (unsigned int i = 0; i < n; i++) {
		const struct qs_fuzz_out *o = &g->out[i];

		if (qs_inproc_client_live(&g->cl) && o->dst == g->src)
			qs_inproc_client_read(&g->cl, o->payload, o->len, o->ecn);
		rte_pktmbuf_free(o->m);
	}
	g->n_out = 0;
	return n;
}

/* Nothing moved: the clock goes to the nearer timer of either end (in the
 * steps the format has), and the server runs. */
static void
idle(struct gen *g)
{
	uint64_t now = qs_fuzz_now();
	uint64_t next = qs_inproc_next_expiry(&g->f->s, &g->cl);
	uint64_t wait = next > now ? next - now : 0;
	unsigned int adv = 0;

	while (adv < 7 && (uint64_t)qs_fuzz_advance_ms[adv] * 1000000 < wait)
		adv++;
	record(g, QS_FUZZ_FLAGS(g->src, 0, true, adv), NULL, 0);
	deliver(g);
}

typedef bool (*done_fn)(struct gen *g);

/* Both ends until done(g), bounded in passes and virtual time. Everything
 * the client has to send goes as one burst: the server runs after the
 * last datagram, as a worker does after a received burst. */
static bool
pump(struct gen *g, done_fn done, const char *what)
{
	uint64_t give_up = qs_fuzz_now() + PUMP_VIRTUAL_NS;

	for (unsigned int i = 0; i < PUMP_PASSES_MAX && qs_fuzz_now() < give_up;
	     i++) {
		unsigned int moved;

		qs_inproc_client_timers(&g->cl);
		moved = qs_inproc_client_flush(&g->cl);
		moved += deliver(g);
		if (g->cl.err != 0) {
			fail(g, "%s: the client failed: %s", what,
			     ngtcp2_strerror(g->cl.err));
			return false;
		}
		if (done(g))
			return true;
		if (moved == 0)
			idle(g);
	}
	fail(g, "%s: not reached", what);
	return false;
}

/* ---- client callbacks: what a later connection of the scenario needs
 * (the rest is qs_inproc's) ---- */

static int
cl_handshake_completed(ngtcp2_conn *conn, void *user_data)
{
	struct qs_inproc_client *c = user_data;
	struct gen *g = c->arg;
	const ngtcp2_transport_params *p =
		ngtcp2_conn_get_remote_transport_params(conn);

	if (g->early &&
	    !(gnutls_session_get_flags(c->q.tls) & GNUTLS_SFLAGS_EARLY_DATA)) {
		fail(g, "the server refused 0-RTT");
		return NGTCP2_ERR_CALLBACK_FAILURE;
	}
	if (p != NULL) {
		g->params = *p;
		/* points into the connection; not needed for 0-RTT */
		g->params.version_info.other_versions = NULL;
		g->params.version_info.other_versionslen = 0;
		g->have_params = true;
	}
	return 0;
}

static int
cl_handshake_confirmed(ngtcp2_conn *conn, void *user_data)
{
	struct gen *g = ((struct qs_inproc_client *)user_data)->arg;

	(void)conn;
	g->confirmed = true;
	return 0;
}

static int
cl_recv_new_token(ngtcp2_conn *conn, const ngtcp2_vec *token, void *user_data)
{
	struct gen *g = ((struct qs_inproc_client *)user_data)->arg;

	(void)conn;
	if (token->len <= sizeof(g->token)) {
		memcpy(g->token, token->base, token->len);
		g->token_len = token->len;
	}
	return 0;
}

static void
cl_callbacks(ngtcp2_callbacks *cb)
{
	cb->handshake_completed = cl_handshake_completed;
	cb->handshake_confirmed = cl_handshake_confirmed;
	cb->recv_new_token = cl_recv_new_token;
}

static int
cl_ticket_hook(gnutls_session_t session, unsigned int htype, unsigned int when,
	       unsigned int incoming, const gnutls_datum_t *msg)
{
	ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(session);
	struct gen *g = ((struct qs_inproc_client *)ref->user_data)->arg;
	gnutls_datum_t data;

	(void)htype; (void)when; (void)incoming; (void)msg;
	if (gnutls_session_get_data2(session, &data) != 0)
		return 0;
	gnutls_free(g->ticket.data);
	g->ticket = data;
	return 0;
}

/* ---- client life ---- */

/* The server's certificate is not verified: the client only has to say
 * what a client says. */
static const struct qs_inproc_client_conf client_conf = {
	.send = send_dgram,
	.user_agent = "make_server_seeds",
	.early_data = true,
	.max_stream_data = 1u << 20,
	.max_data = 4u << 20,
	.callbacks = cl_callbacks,
};

/* A client from src; with the scenario's ticket, token and transport
 * parameters when resume (0-RTT). */
static bool
client_new(struct gen *g, enum qs_fuzz_src src, bool big_hello, bool resume)
{
	struct qs_inproc_client *c = &g->cl;
	ngtcp2_vec token = {g->token, g->token_len};

	g->src = src;
	g->early = false;
	g->confirmed = false;
	g->handshakes = g->f->s.stats.quic_handshakes_completed;
	if (qs_inproc_client_new(c, &g->f->s, &client_conf,
				 &qs_fuzz_sources[src], big_hello,
				 resume && g->token_len > 0 ? &token : NULL) != 0)
		goto failed;
	c->arg = g;
	gnutls_handshake_set_hook_function(c->q.tls,
					   GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
					   GNUTLS_HOOK_POST, cl_ticket_hook);
	if (!resume)
		return true;
	if (g->ticket.data == NULL || !g->have_params ||
	    gnutls_session_set_data(c->q.tls, g->ticket.data,
				    g->ticket.size) != 0)
		goto failed;
	/* 0-RTT: requests go out with the first flight */
	ngtcp2_conn_set_early_remote_transport_params(c->q.conn, &g->params);
	g->early = true;
	if (qs_inproc_client_h3_start(c) == 0)
		return true;
failed:
	fail(g, "the client%s could not be set up", resume ? " (resumed)" : "");
	return false;
}

#define NV QS_INPROC_NV

static const char body[] = "abc";
/* a header field value over [http] max_field_section_size (main fills it) */
static char big_value[QS_FUZZ_BIG_FIELD + 1];

static nghttp3_ssize
cl_read_body(nghttp3_conn *h3, int64_t stream_id, nghttp3_vec *vec,
	     size_t veccnt, uint32_t *pflags, void *conn_user_data,
	     void *stream_user_data)
{
	(void)h3; (void)stream_id; (void)veccnt; (void)conn_user_data;
	(void)stream_user_data;
	vec[0].base = (uint8_t *)body;
	vec[0].len = sizeof(body) - 1;
	*pflags |= NGHTTP3_DATA_FLAG_EOF;
	return 1;
}

static struct qs_inproc_req *
sent(struct gen *g, struct qs_inproc_req *r)
{
	if (r == NULL)
		fail(g, "cannot send request %zu", g->cl.n_reqs);
	return r;
}

/* Opens a request stream with the header fields nva and, when with_body,
 * the body "abc"; NULL on failure. */
static struct qs_inproc_req *
request_nv(struct gen *g, const nghttp3_nv *nva, size_t n, bool with_body)
{
	static const nghttp3_data_reader reader = {cl_read_body};

	return sent(g, qs_inproc_request_nv(&g->cl, nva, n,
					    with_body ? &reader : NULL));
}

static struct qs_inproc_req *
request(struct gen *g, const char *method, const char *path)
{
	return sent(g, qs_inproc_request(&g->cl, method, path, NULL, NULL));
}

/* Sends CONNECTION_CLOSE (H3_NO_ERROR); the client says nothing more. */
static void
client_close(struct gen *g)
{
	if (!qs_inproc_client_close(&g->cl)) {
		fail(g, "no CONNECTION_CLOSE from the client");
		return;
	}
	deliver(g);
}

static bool
handshake_done(struct gen *g)
{
	/* both ends: the server has the client's Finished */
	return ngtcp2_conn_get_handshake_completed(g->cl.q.conn) &&
	       g->cl.q.h3 != NULL &&
	       g->f->s.stats.quic_handshakes_completed > g->handshakes;
}

static bool
confirmed(struct gen *g)
{
	return g->confirmed;
}

static bool
requests_done(struct gen *g)
{
	return qs_inproc_requests_done(&g->cl);
}

static bool
ticket_and_token(struct gen *g)
{
	return requests_done(g) && g->ticket.data != NULL && g->token_len > 0 &&
	       g->have_params;
}

static bool
final_goaway(struct gen *g)
{
	return requests_done(g) && g->cl.goaways >= 2;
}

/* The server's timers only: the client has gone. */
static bool
server_idle(struct gen *g)
{
	return g->f->s.srv.set.n_conns == 0;
}

static bool
open_conn(struct gen *g, enum qs_fuzz_src src)
{
	return client_new(g, src, false, false) &&
	       pump(g, handshake_done, "handshake");
}

static bool
get(struct gen *g, const char *path)
{
	return request(g, "GET", path) != NULL && pump(g, requests_done, path);
}

/* ---- scenarios ---- */

static void
begin(struct gen *g, const char *name, uint8_t options)
{
	qs_inproc_client_free(&g->cl);
	gnutls_free(g->ticket.data);
	g->ticket.data = NULL;
	g->ticket.size = 0;
	g->have_params = false;
	g->token_len = 0;
	g->name = name;
	g->overflow = false;
	g->seed[0] = options;
	g->seed[1] = NO_STOP;
	g->len = QS_FUZZ_HDR_LEN;
	qs_fuzz_begin(g->f, options);
	g->f->sink = sink;
	g->f->sink_arg = g;
}

/* A graceful stop here: the seed says so in its header. */
static void
stop(struct gen *g)
{
	if (g->f->n_records >= NO_STOP) {
		fail(g, "a stop after record 255 cannot be written");
		return;
	}
	g->seed[0] |= QS_FUZZ_OPT_STOP;
	g->seed[1] = (uint8_t)g->f->n_records;
	qs_fuzz_stop(g->f);
}

static void
write_file(struct gen *g, const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", g->dir, name);
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		fail(g, "cannot write %s: %s", path, strerror(errno));
}

/* A goal: the counter moved by at least min. */
struct goal {
	enum qs_counter_id id;
	uint64_t min;
};

/* Ends the recording, checks its goals, writes the seed and its manifest
 * line, and replays the seed to see it moves the same counters. */
static void
finish(struct gen *g, const struct goal *goals, size_t n_goals)
{
	char live[DEPTH_LEN], replayed[DEPTH_LEN];
	unsigned int failures = g->failures;
	struct qs_fuzz *f = g->f;

	qs_inproc_client_free(&g->cl);
	deliver(g);
	f->sink = NULL;
	qs_fuzz_end(f);
	qs_fuzz_depth(f, live, sizeof(live));
	for (size_t i = 0; i < n_goals; i++) {
		uint64_t moved = qs_stats_get(&f->s.stats, goals[i].id) -
			qs_stats_get(&f->before, goals[i].id);

		if (moved < goals[i].min)
			fail(g, "%s moved by %llu, wanted at least %llu",
			     qs_counter_names[goals[i].id],
			     (unsigned long long)moved,
			     (unsigned long long)goals[i].min);
	}
	if (g->overflow || f->n_records > QS_FUZZ_RECORDS_MAX)
		fail(g, "too long for the format (%zu bytes, %u records)", g->len,
		     f->n_records);

	qs_fuzz_input(f, g->seed, g->len);
	qs_fuzz_depth(f, replayed, sizeof(replayed));
	if (strcmp(live, replayed) != 0)
		fail(g, "replayed alone it reaches %s, not %s", replayed, live);
	if (g->failures != failures) {
		fprintf(stderr, "make_server_seeds: %s reached %s\n", g->name, live);
		return;
	}
	write_file(g, g->name, g->seed, g->len);
	fprintf(g->manifest, "%s\t%s\n", g->name, live);
	printf("%-16s %6zu bytes %3u records: %s\n", g->name, g->len, f->n_records,
	       live);
}

#define GOALS(...) \
	(const struct goal[]){__VA_ARGS__}, \
	sizeof((const struct goal[]){__VA_ARGS__}) / sizeof(struct goal)
#define GOAL(name, min) {QS_CNT_##name, min}

static const char *
named(const char *scenario, bool null, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s", scenario, null ? "null" : "real");
	return buf;
}

static uint8_t
opts(bool null)
{
	return null ? QS_FUZZ_OPT_NULL_PROTECTION : 0;
}

static void
sc_handshake(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("handshake", null, n, sizeof(n)), opts(null));
	open_conn(g, QS_FUZZ_SRC_CLIENT);
	finish(g, GOALS(GOAL(quic_handshakes_completed, 1)));
}

static void
sc_get(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("get", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT))
		get(g, "/bytes/100");
	finish(g, GOALS(GOAL(quic_handshakes_completed, 1),
			GOAL(h3_responses_2xx, 1)));
}

static void
sc_requests(struct gen *g, bool null)
{
	static const char *const reqs[][2] = {
		{"GET", "/"}, {"GET", "/notes.txt"}, {"HEAD", "/notes.txt"},
		{"GET", "/d/"}, {"GET", "/missing"}, {"POST", "/notes.txt"},
		{"GET", "/bytes/3000"}, {"GET", "/bytes/abc"},
	};
	bool ok;
	char n[64];

	begin(g, named("requests", null, n, sizeof(n)), opts(null));
	ok = open_conn(g, QS_FUZZ_SRC_CLIENT);
	for (size_t i = 0; ok && i < sizeof(reqs) / sizeof(reqs[0]); i++)
		ok = request(g, reqs[i][0], reqs[i][1]) != NULL;
	if (ok)
		pump(g, requests_done, "eight requests");
	finish(g, GOALS(GOAL(h3_requests, 8), GOAL(h3_responses_2xx, 5),
			GOAL(h3_responses_4xx, 3)));
}

static void
sc_resume(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("resume", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) && request(g, "GET", "/") != NULL &&
	    pump(g, ticket_and_token, "a ticket and a token")) {
		client_close(g);
		if (client_new(g, QS_FUZZ_SRC_REBOUND, false, true) &&
		    request(g, "GET", "/bytes/100") != NULL)
			pump(g, requests_done, "a 0-RTT request");
	}
	finish(g, GOALS(GOAL(quic_handshakes_completed, 2),
			GOAL(quic_sessions_resumed, 1), GOAL(quic_0rtt_accepted, 1),
			GOAL(h3_responses_2xx, 2)));
}

static void
sc_rebind(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("rebind", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) && get(g, "/bytes/100")) {
		/* unannounced: the NAT gave the client another port */
		g->src = QS_FUZZ_SRC_REBOUND;
		qs_inproc_client_rebind(&g->cl, &qs_fuzz_sources[g->src]);
		get(g, "/bytes/2000");
	}
	finish(g, GOALS(GOAL(quic_path_migrations, 1), GOAL(h3_responses_2xx, 2)));
}

static void
sc_migrate(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("migrate", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) && get(g, "/bytes/100") &&
	    pump(g, confirmed, "handshake confirmed")) {
		ngtcp2_path path;
		int rv;

		g->src = QS_FUZZ_SRC_OTHER;
		qs_inproc_client_addrs(&g->cl, &qs_fuzz_sources[g->src]);
		path = qs_inproc_client_path(&g->cl);
		rv = ngtcp2_conn_initiate_immediate_migration(g->cl.q.conn, &path,
							       qs_fuzz_now());
		if (rv != 0)
			fail(g, "migration: %s", ngtcp2_strerror(rv));
		else
			get(g, "/bytes/2000");
	}
	finish(g, GOALS(GOAL(quic_path_migrations, 1), GOAL(h3_responses_2xx, 2)));
}

static void
sc_keyupdate(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("keyupdate", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) && get(g, "/bytes/100") &&
	    pump(g, confirmed, "handshake confirmed")) {
		int rv = ngtcp2_conn_initiate_key_update(g->cl.q.conn, qs_fuzz_now());

		if (rv != 0)
			fail(g, "key update: %s", ngtcp2_strerror(rv));
		else
			get(g, "/bytes/3000");
	}
	finish(g, GOALS(GOAL(h3_responses_2xx, 2)));
}

static void
sc_close(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("close", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) && get(g, "/bytes/100")) {
		client_close(g);
		pump(g, server_idle, "the draining period's end");
	}
	finish(g, GOALS(GOAL(quic_conn_closed, 1), GOAL(h3_responses_2xx, 1)));
}

static void
sc_goaway(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("goaway", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) && get(g, "/bytes/100")) {
		stop(g);
		if (request(g, "GET", "/bytes/5000") != NULL)
			pump(g, final_goaway, "a request across the GOAWAY notice");
	}
	finish(g, GOALS(GOAL(h3_responses_2xx, 2)));
}

static void
sc_ipv6(struct gen *g, bool null)
{
	char n[64];

	begin(g, named("ipv6", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT6))
		get(g, "/notes.txt");
	finish(g, GOALS(GOAL(quic_handshakes_completed, 1),
			GOAL(h3_responses_2xx, 1)));
}

/* Requests RFC 9114 4.1.2 calls malformed (an upper-case field name, an
 * unknown pseudo-header, a body shorter than its content-length), one
 * whose header section is over [http] max_field_section_size, then a
 * good one: the connection outlives them all. */
static void
sc_malformed(struct gen *g, bool null)
{
	nghttp3_nv upper[] = {
		NV(":method", "GET"), NV(":scheme", "https"),
		NV(":authority", "198.18.0.1"), NV(":path", "/"),
		NV("User-Agent", "make_server_seeds"),
	};
	nghttp3_nv pseudo[] = {
		NV(":method", "GET"), NV(":scheme", "https"),
		NV(":authority", "198.18.0.1"), NV(":path", "/"),
		NV(":protocol", "h3"),
	};
	nghttp3_nv length[] = {
		NV(":method", "POST"), NV(":scheme", "https"),
		NV(":authority", "198.18.0.1"), NV(":path", "/notes.txt"),
		NV("content-length", "10"),
	};
	nghttp3_nv large[] = {
		NV(":method", "GET"), NV(":scheme", "https"),
		NV(":authority", "198.18.0.1"), NV(":path", "/"),
		NV("x-large", big_value),
	};
	char n[64];

	begin(g, named("malformed", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) &&
	    request_nv(g, upper, sizeof(upper) / sizeof(upper[0]), false) &&
	    request_nv(g, pseudo, sizeof(pseudo) / sizeof(pseudo[0]), false) &&
	    request_nv(g, length, sizeof(length) / sizeof(length[0]), true) &&
	    request_nv(g, large, sizeof(large) / sizeof(large[0]), false) &&
	    pump(g, requests_done, "malformed requests"))
		get(g, "/bytes/100");
	finish(g, GOALS(GOAL(h3_responses_4xx, 1), GOAL(h3_responses_2xx, 1)));
}

static bool
first_body(struct gen *g)
{
	return g->cl.n_reqs > 0 && g->cl.reqs[0].body_len > 0;
}

/* A download the client cancels (RESET_STREAM and STOP_SENDING, as a
 * browser leaving a page), then another request. */
static void
sc_cancel(struct gen *g, bool null)
{
	char n[64];
	int rv;

	begin(g, named("cancel", null, n, sizeof(n)), opts(null));
	if (open_conn(g, QS_FUZZ_SRC_CLIENT) &&
	    request(g, "GET", "/bytes/1000000") != NULL &&
	    pump(g, first_body, "the first bytes of a download")) {
		rv = ngtcp2_conn_shutdown_stream(g->cl.q.conn, g->cl.reqs[0].id,
						 NGHTTP3_H3_REQUEST_CANCELLED);
		if (rv != 0)
			fail(g, "cancel: %s", ngtcp2_strerror(rv));
		else
			get(g, "/bytes/100");
	}
	finish(g, GOALS(GOAL(h3_responses_2xx, 2)));
}

/* One more client than max_conns, each left open: the last is refused. */
static void
sc_refused(struct gen *g, bool null)
{
	char n[64];
	bool ok = true;

	begin(g, named("refused", null, n, sizeof(n)), opts(null));
	/* from every source in turn, the last again from the first */
	for (int i = 0; ok && i < QS_FUZZ_MAX_CONNS; i++)
		ok = open_conn(g, (enum qs_fuzz_src)(i % QS_FUZZ_N_SRC));
	if (ok && client_new(g, QS_FUZZ_SRC_CLIENT, false, false)) {
		qs_inproc_client_flush(&g->cl);
		deliver(g);
	}
	finish(g, GOALS(GOAL(quic_handshakes_completed, QS_FUZZ_MAX_CONNS),
			GOAL(quic_conn_refused, 1)));
}

static void
sc_retry(struct gen *g)
{
	begin(g, "retry-real", QS_FUZZ_OPT_RETRY_ON << QS_FUZZ_OPT_RETRY_SHIFT);
	if (open_conn(g, QS_FUZZ_SRC_CLIENT))
		get(g, "/bytes/100");
	finish(g, GOALS(GOAL(quic_retries_sent, 1),
			GOAL(quic_handshakes_completed, 1),
			GOAL(h3_responses_2xx, 1)));
}

static void
sc_reordered(struct gen *g)
{
	static uint8_t flight[4][QS_INPROC_UDP_MAX];
	size_t len[4];
	unsigned int n;

	begin(g, "reordered-real", 0);
	if (!client_new(g, QS_FUZZ_SRC_CLIENT, true, false))
		goto out;
	n = qs_inproc_client_write(&g->cl, flight, len, NULL, 4, NULL);
	if (n < 2) {
		fail(g, "the ClientHello fits one datagram");
		goto out;
	}
	record(g, QS_FUZZ_FLAGS(g->src, 0, false, 0), flight[1], len[1]);
	for (unsigned int i = 0; i < n; i++)
		if (i != 1)
			record(g, QS_FUZZ_FLAGS(g->src, 0, i + 1 == n, 0), flight[i],
			       len[i]);
	deliver(g);
	if (pump(g, handshake_done, "handshake after reordered Initials"))
		get(g, "/bytes/100");
out:
	finish(g, GOALS(GOAL(quic_retries_sent, 1),
			GOAL(quic_handshakes_completed, 1),
			GOAL(h3_responses_2xx, 1)));
}

/* Datagrams no connection claims: an unknown version in 1200 bytes, a
 * short header to an unknown CID naming worker 0, an Initial too short
 * to accept. */
static void
sc_stateless(struct gen *g)
{
	static uint8_t pkt[1200];
	uint8_t cid[8], scid[8];
	size_t n;

	begin(g, "stateless", 0);
	qs_frames_nibble_cid(0, cid);
	qs_frames_nibble_cid(0, scid);
	scid[7] ^= 0xff;
	n = qs_quic_long(pkt, 0, 0x1a2a3a4au, cid, sizeof(cid), scid,
			 sizeof(scid), sizeof(pkt));
	record(g, QS_FUZZ_FLAGS(QS_FUZZ_SRC_CLIENT, 0, true, 0), pkt, n);
	n = qs_quic_short(pkt, cid, sizeof(cid), 60);
	record(g, QS_FUZZ_FLAGS(QS_FUZZ_SRC_REBOUND, 0, true, 1), pkt, n);
	n = qs_quic_long(pkt, 0, 1, cid, sizeof(cid), scid, sizeof(scid), 600);
	record(g, QS_FUZZ_FLAGS(QS_FUZZ_SRC_CLIENT6, 0, true, 2), pkt, n);
	deliver(g);
	finish(g, GOALS(GOAL(quic_version_negotiations_sent, 1),
			GOAL(quic_stateless_resets_sent, 1)));
}

int
main(int argc, char **argv)
{
	static void (*const both[])(struct gen *, bool) = {
		sc_handshake, sc_get, sc_requests, sc_resume, sc_rebind,
		sc_migrate, sc_keyupdate, sc_close, sc_goaway, sc_ipv6,
		sc_refused, sc_malformed, sc_cancel,
	};
	struct gen *g = &G;

	if (argc != 3) {
		fprintf(stderr, "usage: make_server_seeds OUT_DIR MANIFEST\n");
		return 2;
	}
	g->f = &F;
	g->dir = argv[1];
	g->manifest = fopen(argv[2], "w");
	if (g->manifest == NULL) {
		fprintf(stderr, "make_server_seeds: %s: %s\n", argv[2],
			strerror(errno));
		return 2;
	}
	memset(big_value, 'a', QS_FUZZ_BIG_FIELD);
	qs_fuzz_setup(&F, "make-server-seeds");
	/* the server's passes switch to its own stream; everything else here
	 * is the client */
	qs_fuzz_rnd_role(QS_FUZZ_ROLE_CLIENT);

	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		both[i](g, false);
		both[i](g, true);
	}
	sc_retry(g);
	sc_reordered(g);
	sc_stateless(g);

	qs_inproc_client_free(&g->cl);
	gnutls_free(g->ticket.data);
	qs_fuzz_teardown(&F);
	if (fclose(g->manifest) != 0)
		g->failures++;
	if (g->failures > 0) {
		fprintf(stderr, "make_server_seeds: %u failures\n", g->failures);
		return 1;
	}
	return 0;
}
