/* The per-lcore QUIC server (ngtcp2's examples/server.cc Server::on_read on
 * a worker lcore): CID table, accept, VN, Retry, reset, refusal, timers. */
#include <string.h>

#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "base/qs_log.h"
#include "net/qs_reply.h"
#include "quic/qs_server.h"
#include "quic/qs_stateless.h"
#include "quic/qs_tls.h"
#include "steer/qs_quic_hdr.h"

#define MIN_INITIAL_DATAGRAM 1200     /* RFC 9000 14.1 */
#define REPLY_BUF NGTCP2_MAX_UDP_PAYLOAD_SIZE

int
qs_server_init(struct qs_server *srv, struct qs_env *env, int socket)
{
	char name[32];
	uint32_t max_conns = env->cfg->max_conns;
	struct qs_timer **slots;

	memset(srv, 0, sizeof(*srv));
	srv->set.env = env;
	srv->max_conns = max_conns;
	TAILQ_INIT(&srv->set.dirty);
	LIST_INIT(&srv->set.conns);
	snprintf(name, sizeof(name), "qs_cids_%u", env->worker);
	slots = rte_zmalloc_socket("qs_timers", max_conns * sizeof(*slots), 0,
				   socket);
	if (slots == NULL)
		return -1;
	qs_timers_init(&srv->set.timers, slots, max_conns);
	if (qs_cidtab_init(&srv->set.cids, name,
			   RTE_MAX(max_conns * (QS_CONN_MAX_CIDS + 1), 64u),
			   socket) != 0)
		return -1;
	if (qs_tls_enabled() && qs_tls_anti_replay_new(&srv->set.anti_replay) != 0)
		return -1;
	return 0;
}

void
qs_server_fini(struct qs_server *srv)
{
	struct qs_conn *c;

	while ((c = LIST_FIRST(&srv->set.conns)) != NULL)
		qs_conn_free(c);
	if (srv->set.anti_replay != NULL)
		gnutls_anti_replay_deinit(srv->set.anti_replay);
	qs_cidtab_fini(&srv->set.cids);
	rte_free(srv->set.timers.slots);
	memset(srv, 0, sizeof(*srv));
}

/* ---- answers that need no connection, written over the trigger ---- */

/* Every QUIC drop: a counter, and at debug level a line saying why. */
static void
discard(struct qs_server *srv, struct rte_mbuf *m, uint64_t *counter,
	const char *why)
{
	(*counter)++;
	RTE_LOG(DEBUG, QS_LCORE, "worker %u: dropped QUIC datagram: %s\n",
		srv->set.env->worker, why);
	rte_pktmbuf_free(m);
}

static void
reply(struct qs_server *srv, struct rte_mbuf *m, const uint8_t *pkt,
      ssize_t len, uint64_t *counter)
{
	struct qs_env *env = srv->set.env;
	uint16_t plen;
	uint8_t *payload = qs_net_udp_payload(m, &plen);

	if (len <= 0 || (size_t)len > (size_t)plen + rte_pktmbuf_tailroom(m)) {
		discard(srv, m, &env->stats->quic_drop_no_conn,
			"no room for the stateless answer");
		return;
	}
	memcpy(payload, pkt, (size_t)len);
	if (qs_net_udp_reply(m, (uint16_t)len, qs_tx_caps(env->tx, m->port)) != 0) {
		discard(srv, m, &env->stats->quic_drop_malformed,
			"cannot frame the stateless answer");
		return;
	}
	if (counter != NULL)
		(*counter)++;
	qs_tx_enqueue(env->tx, m);
}

static void
stateless_reset(struct qs_server *srv, struct rte_mbuf *m,
		const struct qs_quic_hdr *hdr, uint16_t len)
{
	struct qs_env *env = srv->set.env;
	uint8_t pkt[QS_RESET_MAX_LEN];
	size_t reset_len = qs_stateless_reset_len(len);

	if (reset_len == 0)
		discard(srv, m, &env->stats->quic_drop_short,
			"unknown CID, too short for a stateless reset");
	else if (!qs_ratelimit_take(env->reset_limit, rte_rdtsc()))
		discard(srv, m, &env->stats->quic_stateless_resets_ratelimited,
			"unknown CID, stateless reset over the rate limit");
	else if (qs_stateless_write_reset(pkt, reset_len, hdr->dcid,
					 hdr->dcid_len) != 0)
		discard(srv, m, &env->stats->quic_drop_malformed,
			"unknown CID, no reset token for it");
	else
		reply(srv, m, pkt, (ssize_t)reset_len,
		      &env->stats->quic_stateless_resets_sent);
}

/* auto: a flood of Initials from spoofed addresses shows as handshakes
 * whose address nothing has proven; past the threshold every new client
 * proves its address first, so a spoofer gets no state at all. */
static bool
retry_required(const struct qs_server *srv)
{
	const struct qs_config *cfg = srv->set.env->cfg;

	switch (cfg->retry) {
	case QS_RETRY_ON:
		return true;
	case QS_RETRY_AUTO:
		return srv->set.n_unvalidated >= cfg->retry_auto_unvalidated;
	default:
		return false;
	}
}

/* Retry for Initial hd (len bytes, from path), written over m: the client
 * comes back with a token that proves its address. */
static void
send_retry(struct qs_server *srv, struct rte_mbuf *m, const ngtcp2_pkt_hd *hd,
	   const struct qs_net_path *path, uint16_t len)
{
	struct qs_env *env = srv->set.env;
	uint8_t pkt[REPLY_BUF];
	ngtcp2_cid retry_scid;

	retry_scid.datalen = env->codec->cid_len;
	/* ngtcp2 asserts (aborts) when the Retry's source CID equals the
	 * client's DCID: draw again, however unlikely */
	do
		qs_cid_encode(env->codec, env->worker, retry_scid.data);
	while (ngtcp2_cid_eq(&retry_scid, &hd->dcid));
	reply(srv, m, pkt,
	      qs_stateless_write_retry(pkt, RTE_MIN(sizeof(pkt), (size_t)len), hd,
				       &path->remote.sa, path->addrlen,
				       &retry_scid),
	      &env->stats->quic_retries_sent);
}

static void
accept_initial(struct qs_server *srv, struct rte_mbuf *m, uint8_t *payload,
	       uint16_t len)
{
	struct qs_env *env = srv->set.env;
	uint8_t pkt[REPLY_BUF];
	struct qs_net_path path;
	ngtcp2_cid odcid, *ocid = NULL;
	ngtcp2_pkt_hd hd;
	struct qs_conn *c;
	bool need_retry;

	if (!qs_tls_enabled()) {
		discard(srv, m, &env->stats->quic_drop_no_tls,
			"Initial, but no [tls] cert and key");
		return;
	}
	if (ngtcp2_accept(&hd, payload, len) != 0) {
		discard(srv, m, &env->stats->quic_drop_no_conn,
			"Initial not acceptable (too short or bad header)");
		return;
	}
	if (srv->set.shutting_down || srv->set.n_conns >= srv->max_conns) {
		reply(srv, m, pkt,
		      qs_stateless_write_close(pkt, sizeof(pkt), &hd,
					      NGTCP2_CONNECTION_REFUSED),
		      &env->stats->quic_conn_refused);
		return;
	}
	qs_net_path_from_mbuf(m, &path);
	need_retry = retry_required(srv);

	if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
		if (qs_stateless_verify_retry_token(&odcid, &hd, &path.remote.sa,
						   path.addrlen) != 0) {
			env->stats->quic_drop_bad_token++;
			reply(srv, m, pkt,
			      qs_stateless_write_close(pkt, sizeof(pkt), &hd,
						      NGTCP2_INVALID_TOKEN),
			      NULL);
			return;
		}
		ocid = &odcid;
	} else {
		bool valid = hd.token.len > 0 &&
			hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR &&
			qs_stateless_verify_regular_token(&hd, &path.remote.sa,
							 path.addrlen) == 0;

		if (!valid) {
			hd.token.base = NULL;
			hd.token.len = 0;
		}
		if (need_retry && !valid) {
			send_retry(srv, m, &hd, &path, len);
			return;
		}
	}

	c = qs_conn_new(&srv->set, &hd, ocid, &path, m->port);
	if (c == NULL) {
		discard(srv, m, &env->stats->quic_drop_no_conn,
			"Initial, but no memory for a connection");
		return;
	}
	switch (qs_conn_read(c, &path, m->port, payload, len)) {
	case QS_CONN_READ_OK:
		break;
	case QS_CONN_READ_RETRY:
		qs_conn_free(c);
		send_retry(srv, m, &hd, &path, len);
		return;
	default:
		qs_conn_free(c);
		break;
	}
	rte_pktmbuf_free(m);
}

void
qs_server_input(struct qs_server *srv, struct rte_mbuf *m)
{
	struct qs_env *env = srv->set.env;
	struct qs_net_path path;
	struct qs_quic_hdr hdr;
	struct qs_conn *c;
	uint16_t len;
	uint8_t *payload = qs_net_udp_payload(m, &len);
	uint8_t pkt[REPLY_BUF];

	if (qs_quic_parse(payload, len, env->codec->cid_len, &hdr) != QS_QUIC_OK) {
		discard(srv, m, &env->stats->quic_drop_malformed, "unparseable header");
		return;
	}
	switch (hdr.type) {
	case QS_QUIC_VERSION_NEGOTIATION:
	case QS_QUIC_RETRY:
		discard(srv, m, &env->stats->quic_drop_no_conn,
			"Version Negotiation or Retry: only servers send these");
		return;
	case QS_QUIC_UNKNOWN_VERSION:
		/* RFC 9000 6.1: only for a datagram big enough for an Initial */
		if (len < MIN_INITIAL_DATAGRAM) {
			discard(srv, m, &env->stats->quic_drop_short,
				"unknown version in a datagram under 1200 bytes");
			return;
		}
		reply(srv, m, pkt,
		      qs_stateless_write_vn(pkt, sizeof(pkt), hdr.dcid,
					   hdr.dcid_len, hdr.scid, hdr.scid_len),
		      &env->stats->quic_version_negotiations_sent);
		return;
	default:
		break;
	}

	c = qs_cidtab_find(&srv->set.cids, hdr.dcid, hdr.dcid_len);
	if (c != NULL) {
		qs_net_path_from_mbuf(m, &path);
		if (qs_conn_read(c, &path, m->port, payload, len) != 0)
			qs_conn_free(c);
		rte_pktmbuf_free(m);
		return;
	}
	switch (hdr.type) {
	case QS_QUIC_SHORT:
		/* a CID another node minted: only that node may reset it (the
		 * reset oracle of RFC 9000 21.11 between nodes) */
		if (qs_cid_decode(env->codec, hdr.dcid, hdr.dcid_len) ==
		    QS_CID_OTHER_NODE) {
			discard(srv, m, &env->stats->quic_drop_other_node,
				"a CID of another node");
			return;
		}
		stateless_reset(srv, m, &hdr, len);
		return;
	case QS_QUIC_INITIAL:
		env->stats->quic_initials++;
		accept_initial(srv, m, payload, len);
		return;
	default:
		discard(srv, m, &env->stats->quic_drop_no_conn,
			hdr.type == QS_QUIC_0RTT ? "0-RTT for no connection"
						 : "Handshake for no connection");
		return;
	}
}

unsigned int
qs_server_run(struct qs_server *srv)
{
	uint64_t now = srv->set.env->now;
	uint32_t budget = srv->set.timers.len;
	unsigned int served = 0;
	struct qs_timer *t;
	struct qs_conn *c;
	TAILQ_HEAD(, qs_conn) batch;

	/* due timers; each connection at most once per call */
	while (budget-- > 0 && (t = qs_timers_first(&srv->set.timers)) != NULL &&
	       t->expiry <= now) {
		c = qs_container_of(t, struct qs_conn, timer);
		served++;
		if (c->state != QS_CONN_OPEN) {
			qs_conn_free(c);    /* closing or draining period over */
			continue;
		}
		if (qs_conn_expire(c) != 0) {
			qs_conn_free(c);
			continue;
		}
		if (c->timer.heap_idx == 0 && c->timer.expiry <= now) {
			/* nothing moved it (e.g. TX full): look again next time */
			c->timer.expiry = now + 1;
			qs_conn_timer_update(c);
		}
	}

	/* connections with something to write; those that stay blocked go
	 * back on the list for the next iteration */
	TAILQ_INIT(&batch);
	TAILQ_CONCAT(&batch, &srv->set.dirty, dirty_link);
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

	srv->set.shutting_down = true;
	LIST_FOREACH(c, &srv->set.conns, link)
		qs_conn_shutdown(c);
}

void
qs_server_close_finished(struct qs_server *srv)
{
	struct qs_conn *c;

	LIST_FOREACH(c, &srv->set.conns, link)
		if (qs_conn_finished(c))
			qs_conn_close_now(c);
}

bool
qs_server_busy(const struct qs_server *srv)
{
	const struct qs_conn *c;

	LIST_FOREACH(c, &srv->set.conns, link)
		if (qs_conn_busy(c))
			return true;
	return false;
}

void
qs_server_close_all(struct qs_server *srv)
{
	struct qs_conn *c;

	LIST_FOREACH(c, &srv->set.conns, link)
		qs_conn_close_now(c);
	while ((c = LIST_FIRST(&srv->set.conns)) != NULL)
		qs_conn_free(c);
}
