/* The per-lcore QUIC server (ngtcp2's examples/server.cc Server::on_read on
 * a worker lcore): CID table, accept, VN, Retry, reset, refusal, timers. */
#include <string.h>

#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "qs_endpoint.h"
#include "qs_lcore.h"
#include "qs_log.h"
#include "qs_server.h"
#include "qs_tls.h"

#define MIN_INITIAL_DATAGRAM 1200     /* RFC 9000 14.1 */
#define STREAM_CACHE_MAX 1024
#define RETRY_WINDOW_NS NGTCP2_SECONDS
#define REPLY_BUF NGTCP2_MAX_UDP_PAYLOAD_SIZE

struct cid_key {
	uint8_t len;
	uint8_t data[NGTCP2_MAX_CIDLEN];
	uint8_t pad[3];
};

static void
make_key(struct cid_key *k, const uint8_t *cid, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->len = (uint8_t)len;
	memcpy(k->data, cid, len);
}

int
qs_server_init(struct qs_server *srv, struct qs_lcore *lc, int socket)
{
	char name[RTE_HASH_NAMESIZE];
	uint32_t max_conns = lc->dp->cfg->max_conns;
	struct rte_hash_parameters p = {
		.name = name,
		.entries = RTE_MAX(max_conns * (QS_CONN_MAX_CIDS + 1), 64u),
		.key_len = sizeof(struct cid_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
	};

	memset(srv, 0, sizeof(*srv));
	srv->lc = lc;
	srv->max_conns = max_conns;
	TAILQ_INIT(&srv->dirty);
	LIST_INIT(&srv->conns);
	snprintf(name, sizeof(name), "qs_cids_%u", lc->worker);
	srv->cids = rte_hash_create(&p);
	srv->heap = rte_zmalloc_socket("qs_timers", max_conns * sizeof(srv->heap[0]),
				       0, socket);
	if (srv->cids == NULL || srv->heap == NULL)
		return -1;
	if (qs_tls_enabled() && qs_tls_anti_replay_new(&srv->anti_replay) != 0)
		return -1;
	return 0;
}

void
qs_server_fini(struct qs_server *srv)
{
	struct qs_conn *c;

	while ((c = LIST_FIRST(&srv->conns)) != NULL)
		qs_conn_free(c);
	while (srv->free_streams != NULL) {
		struct qs_h3_stream *st = srv->free_streams;

		srv->free_streams = st->next;
		rte_free(st);
	}
	if (srv->anti_replay != NULL)
		gnutls_anti_replay_deinit(srv->anti_replay);
	rte_hash_free(srv->cids);
	rte_free(srv->heap);
	memset(srv, 0, sizeof(*srv));
}

/* ---- CID table ---- */

int
qs_server_add_cid_key(struct qs_server *srv, const ngtcp2_cid *cid,
		      struct qs_conn *c)
{
	struct cid_key k;

	make_key(&k, cid->data, cid->datalen);
	/* a key already there belongs to someone else: never steal it */
	if (rte_hash_lookup(srv->cids, &k) >= 0)
		return -1;
	return rte_hash_add_key_data(srv->cids, &k, c) == 0 ? 0 : -1;
}

void
qs_server_del_cid_key(struct qs_server *srv, const ngtcp2_cid *cid)
{
	struct cid_key k;

	make_key(&k, cid->data, cid->datalen);
	rte_hash_del_key(srv->cids, &k);
}

int
qs_server_add_cid(struct qs_server *srv, const ngtcp2_cid *cid,
		  struct qs_conn *c)
{
	if (c->n_cids == QS_CONN_MAX_CIDS)
		return -1;
	if (qs_server_add_cid_key(srv, cid, c) != 0)
		return -1;
	c->cids[c->n_cids++] = *cid;
	return 0;
}

void
qs_server_del_cid(struct qs_server *srv, const ngtcp2_cid *cid)
{
	struct qs_conn *c;
	struct cid_key k;

	make_key(&k, cid->data, cid->datalen);
	if (rte_hash_lookup_data(srv->cids, &k, (void **)&c) < 0)
		return;
	rte_hash_del_key(srv->cids, &k);
	for (uint8_t i = 0; i < c->n_cids; i++) {
		if (ngtcp2_cid_eq(&c->cids[i], cid)) {
			c->cids[i] = c->cids[--c->n_cids];
			break;
		}
	}
}

static struct qs_conn *
find_conn(struct qs_server *srv, const uint8_t *dcid, size_t len)
{
	struct qs_conn *c;
	struct cid_key k;

	if (len > NGTCP2_MAX_CIDLEN)
		return NULL;
	make_key(&k, dcid, len);
	return rte_hash_lookup_data(srv->cids, &k, (void **)&c) >= 0 ? c : NULL;
}

/* ---- timers: a binary min-heap on expiry ---- */

static void
heap_swap(struct qs_server *srv, uint32_t a, uint32_t b)
{
	struct qs_conn *t = srv->heap[a];

	srv->heap[a] = srv->heap[b];
	srv->heap[b] = t;
	srv->heap[a]->heap_idx = a;
	srv->heap[b]->heap_idx = b;
}

static void
heap_fix(struct qs_server *srv, uint32_t i)
{
	while (i > 0 && srv->heap[(i - 1) / 2]->expiry > srv->heap[i]->expiry) {
		heap_swap(srv, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < srv->heap_len && srv->heap[l]->expiry < srv->heap[m]->expiry)
			m = l;
		if (r < srv->heap_len && srv->heap[r]->expiry < srv->heap[m]->expiry)
			m = r;
		if (m == i)
			return;
		heap_swap(srv, i, m);
		i = m;
	}
}

void
qs_server_timer_update(struct qs_server *srv, struct qs_conn *c)
{
	if (c->heap_idx == UINT32_MAX) {
		c->heap_idx = srv->heap_len;
		srv->heap[srv->heap_len++] = c;
	}
	heap_fix(srv, c->heap_idx);
}

void
qs_server_timer_remove(struct qs_server *srv, struct qs_conn *c)
{
	uint32_t i = c->heap_idx;

	if (i == UINT32_MAX)
		return;
	c->heap_idx = UINT32_MAX;
	if (i != --srv->heap_len) {
		srv->heap[i] = srv->heap[srv->heap_len];
		srv->heap[i]->heap_idx = i;
		heap_fix(srv, i);
	}
}

void
qs_server_mark_dirty(struct qs_server *srv, struct qs_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	TAILQ_INSERT_TAIL(&srv->dirty, c, dirty_link);
}

/* ---- streams: recycled per lcore ---- */

struct qs_h3_stream *
qs_server_stream_get(struct qs_server *srv)
{
	struct qs_h3_stream *st = srv->free_streams;

	if (st != NULL) {
		srv->free_streams = st->next;
		srv->n_free_streams--;
	} else {
		st = rte_malloc("qs_stream", sizeof(*st), 0);
		if (st == NULL)
			return NULL;
	}
	memset(st, 0, offsetof(struct qs_h3_stream, path));
	st->path[0] = '\0';
	st->path_len = 0;
	st->path_too_long = false;
	st->responded = false;
	st->body = NULL;
	st->body_left = st->unacked = 0;
	st->synthetic = false;
	return st;
}

void
qs_server_stream_put(struct qs_server *srv, struct qs_h3_stream *st)
{
	if (srv->n_free_streams >= STREAM_CACHE_MAX) {
		rte_free(st);
		return;
	}
	st->next = srv->free_streams;
	srv->free_streams = st;
	srv->n_free_streams++;
}

/* ---- answers that need no connection, written over the trigger ---- */

/* Every QUIC drop: a counter, and at debug level a line saying why. */
static void
discard(struct qs_server *srv, struct rte_mbuf *m, uint64_t *counter,
	const char *why)
{
	(*counter)++;
	RTE_LOG(DEBUG, QS_LCORE, "worker %u: dropped QUIC datagram: %s\n",
		srv->lc->worker, why);
	rte_pktmbuf_free(m);
}

static void
reply(struct qs_server *srv, struct rte_mbuf *m, const uint8_t *pkt,
      ssize_t len, uint64_t *counter)
{
	struct qs_lcore *lc = srv->lc;
	uint16_t plen;
	uint8_t *payload = qs_net_udp_payload(m, &plen);

	if (len <= 0 || (size_t)len > (size_t)plen + rte_pktmbuf_tailroom(m)) {
		discard(srv, m, &lc->stats.quic_drop_no_conn,
			"no room for the stateless answer");
		return;
	}
	memcpy(payload, pkt, (size_t)len);
	if (qs_net_udp_reply(m, (uint16_t)len, qs_lcore_caps(lc, m->port)) != 0) {
		discard(srv, m, &lc->stats.quic_drop_malformed,
			"cannot frame the stateless answer");
		return;
	}
	if (counter != NULL)
		(*counter)++;
	qs_lcore_tx(lc, m);
}

static void
stateless_reset(struct qs_server *srv, struct rte_mbuf *m,
		const struct qs_quic_hdr *hdr, uint16_t len)
{
	struct qs_lcore *lc = srv->lc;
	uint8_t pkt[QS_RESET_MAX_LEN];
	size_t reset_len = qs_endpoint_reset_len(len);

	if (reset_len == 0)
		discard(srv, m, &lc->stats.quic_drop_short,
			"unknown CID, too short for a stateless reset");
	else if (!qs_ratelimit_take(&lc->reset_limit, rte_rdtsc()))
		discard(srv, m, &lc->stats.quic_stateless_resets_ratelimited,
			"unknown CID, stateless reset over the rate limit");
	else if (qs_endpoint_write_reset(pkt, reset_len, hdr->dcid,
					 hdr->dcid_len) != 0)
		discard(srv, m, &lc->stats.quic_drop_malformed,
			"unknown CID, no reset token for it");
	else
		reply(srv, m, pkt, (ssize_t)reset_len,
		      &lc->stats.quic_stateless_resets_sent);
}

static bool
retry_required(struct qs_server *srv)
{
	const struct qs_config *cfg = srv->lc->dp->cfg;
	uint64_t now = srv->lc->now;

	if (cfg->retry == QS_RETRY_ON)
		return true;
	if (cfg->retry == QS_RETRY_OFF)
		return false;
	if (now - srv->hs_window_start >= RETRY_WINDOW_NS) {
		srv->hs_window_start = now;
		srv->hs_in_window = 0;
	}
	return srv->hs_in_window >= cfg->retry_auto_rate;
}

static void
accept_initial(struct qs_server *srv, struct rte_mbuf *m, uint8_t *payload,
	       uint16_t len)
{
	struct qs_lcore *lc = srv->lc;
	uint8_t pkt[REPLY_BUF];
	struct qs_net_path path;
	ngtcp2_cid odcid, *ocid = NULL;
	ngtcp2_pkt_hd hd;
	struct qs_conn *c;
	bool need_retry;

	if (!qs_tls_enabled()) {
		discard(srv, m, &lc->stats.quic_drop_no_tls,
			"Initial, but no [tls] cert and key");
		return;
	}
	if (ngtcp2_accept(&hd, payload, len) != 0) {
		discard(srv, m, &lc->stats.quic_drop_no_conn,
			"Initial not acceptable (too short or bad header)");
		return;
	}
	if (srv->stopping || srv->n_conns >= srv->max_conns) {
		reply(srv, m, pkt,
		      qs_endpoint_write_close(pkt, sizeof(pkt), &hd,
					      NGTCP2_CONNECTION_REFUSED),
		      &lc->stats.quic_conn_refused);
		return;
	}
	qs_net_path_from_mbuf(m, &path);
	need_retry = retry_required(srv);

	if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
		if (qs_endpoint_verify_retry_token(&odcid, &hd, &path.remote.sa,
						   path.addrlen) != 0) {
			lc->stats.quic_drop_bad_token++;
			reply(srv, m, pkt,
			      qs_endpoint_write_close(pkt, sizeof(pkt), &hd,
						      NGTCP2_INVALID_TOKEN),
			      NULL);
			return;
		}
		ocid = &odcid;
	} else {
		bool valid = hd.token.len > 0 &&
			hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR &&
			qs_endpoint_verify_regular_token(&hd, &path.remote.sa,
							 path.addrlen) == 0;

		if (!valid) {
			hd.token.base = NULL;
			hd.token.len = 0;
		}
		if (need_retry && !valid) {
			ngtcp2_cid retry_scid;

			retry_scid.datalen = lc->dp->codec.cid_len;
			qs_cid_encode(&lc->dp->codec, lc->worker, retry_scid.data);
			reply(srv, m, pkt,
			      qs_endpoint_write_retry(pkt, RTE_MIN(sizeof(pkt),
								   (size_t)len),
						      &hd, &path.remote.sa,
						      path.addrlen, &retry_scid),
			      &lc->stats.quic_retries_sent);
			return;
		}
	}

	srv->hs_in_window++;
	c = qs_conn_new(srv, &hd, ocid, &path, m->port);
	if (c == NULL) {
		discard(srv, m, &lc->stats.quic_drop_no_conn,
			"Initial, but no memory for a connection");
		return;
	}
	if (qs_conn_read(c, &path, m->port, payload, len) != 0)
		qs_conn_free(c);
	rte_pktmbuf_free(m);
}

void
qs_server_input(struct qs_server *srv, struct rte_mbuf *m)
{
	struct qs_lcore *lc = srv->lc;
	struct qs_net_path path;
	struct qs_quic_hdr hdr;
	struct qs_conn *c;
	uint16_t len;
	uint8_t *payload = qs_net_udp_payload(m, &len);
	uint8_t pkt[REPLY_BUF];

	if (qs_quic_parse(payload, len, lc->dp->codec.cid_len, &hdr) != QS_QUIC_OK) {
		discard(srv, m, &lc->stats.quic_drop_malformed, "unparseable header");
		return;
	}
	switch (hdr.type) {
	case QS_QUIC_VERSION_NEGOTIATION:
	case QS_QUIC_RETRY:
		discard(srv, m, &lc->stats.quic_drop_no_conn,
			"Version Negotiation or Retry: only servers send these");
		return;
	case QS_QUIC_UNKNOWN_VERSION:
		/* RFC 9000 6.1: only for a datagram big enough for an Initial */
		if (len < MIN_INITIAL_DATAGRAM) {
			discard(srv, m, &lc->stats.quic_drop_short,
				"unknown version in a datagram under 1200 bytes");
			return;
		}
		reply(srv, m, pkt,
		      qs_endpoint_write_vn(pkt, sizeof(pkt), hdr.dcid,
					   hdr.dcid_len, hdr.scid, hdr.scid_len),
		      &lc->stats.quic_version_negotiations_sent);
		return;
	default:
		break;
	}

	c = find_conn(srv, hdr.dcid, hdr.dcid_len);
	if (c != NULL) {
		qs_net_path_from_mbuf(m, &path);
		if (qs_conn_read(c, &path, m->port, payload, len) != 0)
			qs_conn_free(c);
		rte_pktmbuf_free(m);
		return;
	}
	switch (hdr.type) {
	case QS_QUIC_SHORT:
		stateless_reset(srv, m, &hdr, len);
		return;
	case QS_QUIC_INITIAL:
		lc->stats.quic_initials++;
		accept_initial(srv, m, payload, len);
		return;
	default:
		discard(srv, m, &lc->stats.quic_drop_no_conn,
			hdr.type == QS_QUIC_0RTT ? "0-RTT for no connection"
						 : "Handshake for no connection");
		return;
	}
}

unsigned int
qs_server_run(struct qs_server *srv)
{
	uint64_t now = srv->lc->now;
	uint32_t budget = srv->heap_len;
	unsigned int served = 0;
	struct qs_conn *c;
	TAILQ_HEAD(, qs_conn) batch;

	/* due timers; each connection at most once per call */
	while (srv->heap_len > 0 && budget-- > 0 && srv->heap[0]->expiry <= now) {
		c = srv->heap[0];
		served++;
		if (c->state != QS_CONN_OPEN) {
			qs_conn_free(c);    /* closing or draining period over */
			continue;
		}
		if (qs_conn_expire(c) != 0) {
			qs_conn_free(c);
			continue;
		}
		if (c->heap_idx == 0 && c->expiry <= now) {
			/* nothing moved it (e.g. TX full): look again next time */
			c->expiry = now + 1;
			qs_server_timer_update(srv, c);
		}
	}

	/* connections with something to write; those that stay blocked go
	 * back on the list for the next iteration */
	TAILQ_INIT(&batch);
	TAILQ_CONCAT(&batch, &srv->dirty, dirty_link);
	while ((c = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, c, dirty_link);
		c->dirty = false;
		served++;
		if (qs_conn_write(c) != 0)
			qs_conn_free(c);
	}
	return served;
}

void
qs_server_shutdown(struct qs_server *srv)
{
	struct qs_conn *c;

	srv->stopping = true;
	LIST_FOREACH(c, &srv->conns, link)
		qs_conn_shutdown(c);
}

bool
qs_server_has_active_streams(const struct qs_server *srv)
{
	const struct qs_conn *c;

	LIST_FOREACH(c, &srv->conns, link)
		if (c->state == QS_CONN_OPEN && c->n_streams > 0)
			return true;
	return false;
}

void
qs_server_close_all(struct qs_server *srv)
{
	struct qs_conn *c;

	LIST_FOREACH(c, &srv->conns, link)
		qs_conn_close_now(c);
	while ((c = LIST_FIRST(&srv->conns)) != NULL)
		qs_conn_free(c);
}
