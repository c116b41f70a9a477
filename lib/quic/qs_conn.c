/* The per-connection handler: ngtcp2 callbacks, read, write straight into
 * mbufs, timers, closing and draining (ngtcp2's examples/server.cc Handler,
 * on a DPDK worker lcore). */
#include <string.h>

#include <ngtcp2/ngtcp2_crypto.h>

#include "base/qs_log.h"
#include "base/qs_random.h"
#include "net/qs_udp.h"
#include "quic/qs_conn.h"
#include "quic/qs_quic_glue.h"
#include "quic/qs_stateless.h"
#include "quic/qs_tls.h"

/* most packets one connection writes per loop iteration */
#define WRITE_BURST 64
/* the final GOAWAY waits two RTTs after the notice, and at least the
 * minimum: a request sent just before the notice arrived is still served;
 * at most the maximum, whatever RTT a peer makes the server measure */
#define GOAWAY_DELAY_MIN_NS (10ull * 1000000)
#define GOAWAY_DELAY_MAX_NS (1000ull * 1000000)

/* ngtcp2 and nghttp3 hand the shared callbacks (qs_quic_glue.c) the
 * connection as a struct qs_quic_conn */
_Static_assert(offsetof(struct qs_conn, q) == 0, "qs_quic_conn first");

struct qs_env *
qs_conn_env(const struct qs_conn *c)
{
	return c->set->env;
}

void
qs_conn_mark_dirty(struct qs_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	TAILQ_INSERT_TAIL(&c->set->dirty, c, dirty_link);
}

void
qs_conn_timer_update(struct qs_conn *c)
{
	/* the heap holds max_conns and a connection is in it once */
	qs_timers_update(&c->set->timers, &c->timer);
}

/* ---- CIDs: each server CID is in the lcore's table and in c->cids, so
 * the connection can forget all of its CIDs when it goes ---- */

static int
add_cid(struct qs_conn *c, const ngtcp2_cid *cid)
{
	if (c->n_cids == QS_CONN_MAX_CIDS)
		return -1;
	if (qs_cidtab_add(&c->set->cids, cid->data, cid->datalen, c) != 0)
		return -1;
	c->cids[c->n_cids++] = *cid;
	return 0;
}

static void
del_cid(struct qs_conn *c, const ngtcp2_cid *cid)
{
	qs_cidtab_del(&c->set->cids, cid->data, cid->datalen);
	for (uint8_t i = 0; i < c->n_cids; i++) {
		if (ngtcp2_cid_eq(&c->cids[i], cid)) {
			c->cids[i] = c->cids[--c->n_cids];
			break;
		}
	}
}

/* ---- paths: where each peer address was last heard from ---- */

static struct qs_peer_path *
path_find(struct qs_conn *c, const struct sockaddr *remote)
{
	for (uint8_t i = 0; i < QS_CONN_MAX_PATHS; i++)
		if (c->paths[i].used &&
		    qs_quic_addr_eq(&c->paths[i].net.remote.sa, remote))
			return &c->paths[i];
	return NULL;
}

/* The slot for a path ngtcp2 gives us, by its user_data when that still
 * names the same address, else by address; NULL when the address was
 * never learnt (no other peer's MAC is ever used instead). */
static struct qs_peer_path *
path_of(struct qs_conn *c, const ngtcp2_path *path)
{
	struct qs_peer_path *pp = path->user_data;

	if (pp != NULL && pp->used &&
	    qs_quic_addr_eq(&pp->net.remote.sa, path->remote.addr))
		return pp;
	return path_find(c, path->remote.addr);
}

/* Records where p's peer is: only for datagrams ngtcp2 authenticated, and
 * for the Initial that created the connection. A new address takes a free
 * slot or the least recently seen one that is not ngtcp2's current path. */
static struct qs_peer_path *
path_learn(struct qs_conn *c, const struct qs_net_path *p, uint16_t port_id)
{
	struct qs_peer_path *pp = path_find(c, &p->remote.sa), *victim = NULL;

	for (uint8_t i = 0; pp == NULL && i < QS_CONN_MAX_PATHS; i++) {
		struct qs_peer_path *s = &c->paths[i];

		if (!s->used) {
			victim = s;
			break;
		}
		if (s != c->cur &&
		    (victim == NULL || s->last_seen < victim->last_seen))
			victim = s;
	}
	if (pp == NULL) {
		pp = victim;
		if (!pp->used)
			c->n_paths++;
	}
	pp->net = *p;
	pp->port_id = port_id;
	pp->used = true;
	pp->last_seen = c->set->env->now;
	return pp;
}

/* ---- sending ---- */

/* Frames the QUIC payload in m for path and queues it; consumes m. */
static void
send_packet(struct qs_conn *c, struct rte_mbuf *m, const ngtcp2_path *path,
	    uint8_t ecn)
{
	struct qs_env *env = c->set->env;
	const struct qs_peer_path *pp = path_of(c, path);

	if (pp == NULL) {
		env->stats->drop_tx_no_path++;
		rte_pktmbuf_free(m);
		return;
	}
	c->tx_bytes += rte_pktmbuf_data_len(m);
	m->port = pp->port_id;
	if (qs_net_udp_build(m, path->local.addr, path->remote.addr, ecn,
			     &pp->net.peer_mac, qs_tx_caps(env->tx, m->port)) != 0) {
		rte_pktmbuf_free(m);
		return;
	}
	qs_tx_enqueue(env->tx, m);
}

static int
send_buffer(struct qs_conn *c, const uint8_t *data, size_t len,
	    const ngtcp2_path *path, uint8_t ecn)
{
	struct qs_env *env = c->set->env;
	struct rte_mbuf *m = rte_pktmbuf_alloc(env->pool);
	uint8_t *dst;

	if (m == NULL) {
		env->stats->drop_tx_nombuf++;
		return -1;
	}
	dst = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (dst == NULL) {
		rte_pktmbuf_free(m);
		return -1;
	}
	memcpy(dst, data, len);
	send_packet(c, m, path, ecn);
	return 0;
}

/* ---- closing ---- */

/* The peer's address is proven (a token, or the handshake it completed),
 * or the connection is draining or freed: it no longer counts towards
 * Retry in auto mode. */
static void
addr_proven(struct qs_conn *c)
{
	if (c->addr_validated)
		return;
	c->addr_validated = true;
	c->set->n_unvalidated--;
	c->set->env->stats->quic_conn_unvalidated--;
}

static void
enter_close_wait(struct qs_conn *c, enum qs_conn_state state)
{
	c->state = state;
	/* the peer closed: a draining connection sends nothing more, so it
	 * no longer holds an unproven handshake's place (a 0-RTT client may
	 * close before its Finished) */
	if (state == QS_CONN_DRAINING)
		addr_proven(c);
	/* RFC 9000 10.2: three times the PTO */
	c->timer.expiry = c->set->env->now + 3 * ngtcp2_conn_get_pto(c->q.conn);
	qs_conn_timer_update(c);
}

/* Sends CONNECTION_CLOSE for last_error and enters the closing period;
 * -1 when the connection should simply go (idle timeout). */
static int
handle_error(struct qs_conn *c)
{
	struct qs_env *env = c->set->env;
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;

	if (c->q.last_error.type ==
	    NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT_IDLE_CLOSE)
		return -1;
	if (c->state != QS_CONN_OPEN)
		return 0;
	if (ngtcp2_conn_is_in_draining_period(c->q.conn)) {
		enter_close_wait(c, QS_CONN_DRAINING);
		return 0;
	}
	c->close_pkt = qs_alloc_malloc(c->q.alloc, NGTCP2_MAX_UDP_PAYLOAD_SIZE);
	if (c->close_pkt == NULL)
		return -1;
	ngtcp2_path_storage_zero(&ps);
	n = ngtcp2_conn_write_connection_close(c->q.conn, &ps.path, &pi,
					       c->close_pkt,
					       NGTCP2_MAX_UDP_PAYLOAD_SIZE,
					       &c->q.last_error, env->now);
	if (n <= 0) {
		/* nothing to resend: a second try must not find it set */
		qs_alloc_free(c->q.alloc, c->close_pkt);
		c->close_pkt = NULL;
		return -1;
	}
	c->close_len = (size_t)n;
	send_buffer(c, c->close_pkt, c->close_len, &ps.path, pi.ecn);
	enter_close_wait(c, QS_CONN_CLOSING);
	return 0;
}

/* A callback that failed may have set the reason already (e.g. an
 * HTTP/3 error); keep it rather than a generic INTERNAL_ERROR. */
static int
fail_liberr(struct qs_conn *c, int liberr)
{
	if (c->q.last_error.error_code == 0)
		qs_quic_ccerr_liberr(&c->q.last_error, c->q.conn, liberr);
	return handle_error(c);
}

/* ---- ngtcp2 callbacks ---- */

static int
cb_handshake_completed(ngtcp2_conn *conn, void *user_data)
{
	struct qs_conn *c = user_data;
	uint8_t token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
	const ngtcp2_path *path = ngtcp2_conn_get_path(conn);
	ngtcp2_ssize tokenlen;

	c->handshake_done = true;
	addr_proven(c);
	c->set->env->stats->quic_handshakes_completed++;
	if (gnutls_session_is_resumed(c->q.tls))
		c->set->env->stats->quic_sessions_resumed++;
	if (gnutls_session_get_flags(c->q.tls) & GNUTLS_SFLAGS_EARLY_DATA)
		c->set->env->stats->quic_0rtt_accepted++;
	qs_tls_send_ticket(c->q.tls);
	/* a stop or drain began during the handshake: GOAWAY now */
	if (c->set->shutting_down)
		qs_conn_shutdown(c);
	/* Initials no longer carry the client's first DCID */
	if (c->odcid_mapped) {
		del_cid(c, &c->odcid);
		c->odcid_mapped = false;
	}
	tokenlen = qs_stateless_regular_token(token, path->remote.addr,
					     path->remote.addrlen);
	if (tokenlen > 0)
		ngtcp2_conn_submit_new_token(conn, token, (size_t)tokenlen);
	return 0;
}

/* Once the handshake is done and the session ticket handed to ngtcp2 (which
 * copies it), a server's TLS session has nothing left to do in QUIC: keys
 * and key updates live in ngtcp2, and a client sends no TLS message after
 * its Finished (RFC 9001 4.1.3, 6). Freed, it no longer costs an idle
 * connection its 10-15 KiB. */
static void
tls_end(struct qs_conn *c)
{
	if (c->q.tls != NULL)
		gnutls_deinit(c->q.tls);
	c->q.tls = NULL;
	if (c->tls_creds != NULL)
		qs_holds_drop(&c->tls_creds->holds, c->set->env->worker);
	c->tls_creds = NULL;
}

static void
tls_release(struct qs_conn *c)
{
	ngtcp2_conn_set_tls_native_handle(c->q.conn, NULL);
	tls_end(c);
}

/* CRYPTO data after the TLS session is gone: a post-handshake message no
 * QUIC client sends, answered as TLS would (unexpected_message). */
static int
cb_recv_crypto_data(ngtcp2_conn *conn, ngtcp2_crypto_level level,
		    uint64_t offset, const uint8_t *data, size_t datalen,
		    void *user_data)
{
	if (ngtcp2_conn_get_tls_native_handle(conn) == NULL) {
		ngtcp2_conn_set_tls_alert(conn, GNUTLS_A_UNEXPECTED_MESSAGE);
		return NGTCP2_ERR_CRYPTO;
	}
	return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data,
						 datalen, user_data);
}

/* Rapid reset (the HTTP/2 attack of CVE-2023-44487, in HTTP/3): every
 * stream the peer opens and resets costs the server a request's work, and
 * the credit comes straight back. Past stream_resets_max in a second, the
 * connection is closed with H3_EXCESSIVE_LOAD. */
static int
note_peer_reset(struct qs_conn *c)
{
	struct qs_env *env = c->set->env;

	env->stats->h3_streams_reset_by_peer++;
	if (env->now - c->resets_since >= NGTCP2_SECONDS) {
		c->resets_since = env->now;
		c->resets = 0;
	}
	if (++c->resets <= env->cfg->stream_resets_max)
		return 0;
	env->stats->quic_conn_closed_abuse++;
	ngtcp2_connection_close_error_set_application_error(
		&c->q.last_error, NGHTTP3_H3_EXCESSIVE_LOAD, NULL, 0);
	return NGTCP2_ERR_CALLBACK_FAILURE;
}

static int
cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size,
		uint64_t app_error_code, void *user_data, void *stream_user_data)
{
	if (note_peer_reset(user_data) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return qs_quic_cb_stream_reset(conn, stream_id, final_size, app_error_code,
				       user_data, stream_user_data);
}

static int
cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id,
		       uint64_t app_error_code, void *user_data,
		       void *stream_user_data)
{
	if (note_peer_reset(user_data) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return qs_quic_cb_stream_stop_sending(conn, stream_id, app_error_code,
					      user_data, stream_user_data);
}

static void
cb_rand(uint8_t *dest, size_t destlen, const ngtcp2_rand_ctx *rand_ctx)
{
	(void)rand_ctx;
	qs_random_bytes(dest, destlen);
}

/* Every CID ngtcp2 issues names this worker, and its reset token is
 * derived after the owner is stamped (docs/architecture.md "Connection IDs"). */
static int
cb_get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
			 size_t cidlen, void *user_data)
{
	struct qs_conn *c = user_data;
	struct qs_env *env = c->set->env;
	const struct qs_cid_codec *codec = env->codec;

	(void)conn;
	if (cidlen != codec->cid_len)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	qs_cid_encode(codec, env->worker, cid->data);
	cid->datalen = cidlen;
	if (qs_stateless_reset_token(token, cid->data, cid->datalen) != 0 ||
	    add_cid(c, cid) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid,
			void *user_data)
{
	(void)conn;
	del_cid(user_data, cid);
	return 0;
}

static int
cb_recv_tx_key(ngtcp2_conn *conn, ngtcp2_crypto_level level, void *user_data)
{
	struct qs_conn *c = user_data;

	(void)conn;
	if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION)
		return 0;
	return c->set->env->app->start(c) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static const ngtcp2_cc_algo cc_algos[] = {
	[QS_CC_CUBIC] = NGTCP2_CC_ALGO_CUBIC, [QS_CC_RENO] = NGTCP2_CC_ALGO_RENO,
	[QS_CC_BBR] = NGTCP2_CC_ALGO_BBR,     [QS_CC_BBR2] = NGTCP2_CC_ALGO_BBR2,
};

/* ngtcp2's qlog callback (settings.qlog.write) of a sampled connection:
 * the chunk goes to the worker's qlog ring, never to a file here */
static void
cb_qlog_write(void *user_data, uint32_t flags, const void *data, size_t datalen)
{
	struct qs_conn *c = user_data;
	struct qs_env *env = c->set->env;

	qs_qlog_write(&c->qlog, env->qlog, flags, data, datalen, env->stats);
}

int
qs_conn_qlog_start(struct qs_conn *c)
{
	struct qs_env *env = c->set->env;
	const ngtcp2_transport_params *params =
		ngtcp2_conn_get_local_transport_params(c->q.conn);

	/* the header's group_id is what ngtcp2 gave a sampled connection */
	return qs_qlog_start_live(&c->qlog, c->first_cid.data,
				  (uint8_t)c->first_cid.datalen,
				  params->original_dcid.data,
				  params->original_dcid.datalen, env->qlog,
				  env->stats);
}

/* ---- life ---- */

static void
ngtcp2_path_of(ngtcp2_path *p, const struct qs_net_path *np)
{
	memset(p, 0, sizeof(*p));
	p->local.addr = (ngtcp2_sockaddr *)&np->local.sa;
	p->local.addrlen = np->addrlen;
	p->remote.addr = (ngtcp2_sockaddr *)&np->remote.sa;
	p->remote.addrlen = np->addrlen;
}

struct qs_conn *
qs_conn_new(struct qs_conn_set *set, const ngtcp2_pkt_hd *hd,
	    const ngtcp2_cid *ocid, const struct qs_net_path *path,
	    uint16_t port_id)
{
	struct qs_env *env = set->env;
	const struct qs_config *cfg = env->cfg;
	const struct qs_cid_codec *codec = env->codec;
	ngtcp2_transport_params params;
	ngtcp2_callbacks callbacks;
	ngtcp2_settings settings;
	ngtcp2_path npath;
	ngtcp2_cid scid;
	struct qs_conn *c;

	/* the worker's own allocator: no lock shared with other lcores */
	c = qs_alloc_calloc(env->alloc, 1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->set = set;
	c->state = QS_CONN_OPEN;
	qs_timer_init(&c->timer);
	c->created_ns = env->now;
	qs_quic_conn_init(&c->q);
	c->q.alloc = env->alloc;
	c->q.mem_total[QS_MEM_NGTCP2] = &env->stats->quic_mem_ngtcp2;
	c->q.mem_total[QS_MEM_NGHTTP3] = &env->stats->quic_mem_nghttp3;
	c->cur = path_learn(c, path, port_id);

	scid.datalen = codec->cid_len;
	qs_cid_encode(codec, env->worker, scid.data);

	qs_quic_callbacks_init(&callbacks, true);
	callbacks.handshake_completed = cb_handshake_completed;
	callbacks.rand = cb_rand;
	callbacks.get_new_connection_id = cb_get_new_connection_id;
	callbacks.remove_connection_id = cb_remove_connection_id;
	callbacks.recv_tx_key = cb_recv_tx_key;
	callbacks.recv_crypto_data = cb_recv_crypto_data;
	callbacks.stream_reset = cb_stream_reset;
	callbacks.stream_stop_sending = cb_stream_stop_sending;

	ngtcp2_settings_default(&settings);
	settings.initial_ts = env->now;
	settings.cc_algo = cc_algos[cfg->cc];
	settings.handshake_timeout =
		(uint64_t)cfg->handshake_timeout_ms * NGTCP2_MILLISECONDS;
	settings.token = hd->token;
	/* one connection in qlog_sample, decided now: ngtcp2 takes its qlog
	 * writer only here (the header goes out from ngtcp2_conn_server_new);
	 * with qlog_live the others get it too, to be switched on later */
	if (env->qlog != NULL) {
		if (qs_qlog_sample(&env->qlog_sample_count, cfg->qlog_sample))
			qs_qlog_start(&c->qlog, scid.data, (uint8_t)scid.datalen);
		else if (cfg->qlog_live)
			qs_qlog_arm(&c->qlog);
		if (c->qlog.state != QS_QLOG_OFF) {
			settings.qlog.write = cb_qlog_write;
			settings.qlog.odcid = ocid != NULL ? *ocid : hd->dcid;
		}
	}

	ngtcp2_transport_params_default(&params);
	params.initial_max_stream_data_bidi_local = cfg->max_stream_data;
	params.initial_max_stream_data_bidi_remote = cfg->max_stream_data;
	params.initial_max_stream_data_uni = cfg->max_stream_data;
	params.initial_max_data = cfg->max_data;
	params.initial_max_streams_bidi = cfg->max_streams_bidi;
	params.initial_max_streams_uni = 3;
	params.max_idle_timeout = (uint64_t)cfg->idle_timeout_ms * NGTCP2_MILLISECONDS;
	params.active_connection_id_limit = QS_CONN_ACTIVE_CID_LIMIT;
	/* larger datagrams would arrive in several mbufs, which RX drops */
	if (env->max_udp_payload != 0)
		params.max_udp_payload_size = env->max_udp_payload;
	params.stateless_reset_token_present = 1;
	if (qs_stateless_reset_token(params.stateless_reset_token, scid.data,
				    scid.datalen) != 0)
		goto fail;
	if (ocid != NULL) {
		params.original_dcid = *ocid;
		params.retry_scid = hd->dcid;
		params.retry_scid_present = 1;
	} else {
		params.original_dcid = hd->dcid;
	}

	ngtcp2_path_of(&npath, path);
	if (ngtcp2_conn_server_new(&c->q.conn, &hd->scid, &scid, &npath,
				   hd->version, &callbacks, &settings, &params,
				   &c->q.ngtcp2_mem, c) != 0)
		goto fail;
	if (env->tls == NULL ||
	    qs_tls_session_new(&c->q.tls, &c->q.conn_ref, set->anti_replay,
			       env->tls) != 0)
		goto fail;
	c->tls_creds = env->tls;
	qs_holds_take(&c->tls_creds->holds, env->worker);
	ngtcp2_conn_set_tls_native_handle(c->q.conn, c->q.tls);

	if (add_cid(c, &scid) != 0)
		goto fail;
	c->first_cid = scid;
	c->odcid = hd->dcid;
	if (qs_cidtab_add(&set->cids, c->odcid.data, c->odcid.datalen, c) == 0)
		c->odcid_mapped = true;

	LIST_INSERT_HEAD(&set->conns, c, link);
	set->n_conns++;
	/* the server dropped a token that did not verify */
	c->addr_validated = ocid != NULL || hd->token.len > 0;
	if (!c->addr_validated) {
		set->n_unvalidated++;
		env->stats->quic_conn_unvalidated++;
	}
	env->stats->quic_conn_accepted++;
	env->stats->quic_conn_active++;
	return c;
fail:
	qs_conn_destroy(c);
	return NULL;
}

void
qs_conn_destroy(struct qs_conn *c)
{
	for (uint8_t i = c->n_cids; i > 0; i--)
		del_cid(c, &c->cids[i - 1]);
	if (c->odcid_mapped)
		qs_cidtab_del(&c->set->cids, c->odcid.data, c->odcid.datalen);
	c->set->env->app->release(c);
	if (c->q.h3 != NULL)
		nghttp3_conn_del(c->q.h3);
	if (c->q.conn != NULL)
		ngtcp2_conn_del(c->q.conn);
	tls_end(c);
	qs_alloc_free(c->q.alloc, c->close_pkt);
	qs_alloc_free(c->q.alloc, c);
}

void
qs_conn_free(struct qs_conn *c)
{
	struct qs_conn_set *set = c->set;
	struct qs_env *env = set->env;

	qs_timers_remove(&set->timers, &c->timer);
	if (c->dirty)
		TAILQ_REMOVE(&set->dirty, c, dirty_link);
	LIST_REMOVE(c, link);
	set->n_conns--;
	addr_proven(c);      /* it no longer holds a place */
	env->stats->quic_conn_active--;
	env->stats->quic_conn_closed++;
	qs_conn_destroy(c);
}

static void
note_path_change(struct qs_conn *c)
{
	struct qs_peer_path *pp = path_of(c, ngtcp2_conn_get_path(c->q.conn));

	if (pp == NULL || pp == c->cur)
		return;
	c->cur = pp;
	c->set->env->stats->quic_path_migrations++;
}

int
qs_conn_read(struct qs_conn *c, const struct qs_net_path *path,
	     uint16_t port_id, const uint8_t *data, size_t len)
{
	struct qs_env *env = c->set->env;
	ngtcp2_pkt_info pi = {.ecn = path->ecn};
	ngtcp2_path npath;
	int rv;

	c->rx_bytes += len;
	if (c->state == QS_CONN_CLOSING) {
		/* answer with our close again, backing off: 1st, 2nd, 4th.. */
		c->close_rx++;
		if ((c->close_rx & (c->close_rx - 1)) == 0) {
			/* back where it came from; not learnt: nothing
			 * authenticated it */
			struct qs_peer_path from = {.net = *path, .port_id = port_id,
						    .used = true};

			ngtcp2_path_of(&npath, path);
			npath.user_data = &from;
			send_buffer(c, c->close_pkt, c->close_len, &npath, 0);
		}
		return 0;
	}
	if (c->state == QS_CONN_DRAINING)
		return 0;

	ngtcp2_path_of(&npath, path);
	npath.user_data = path_find(c, &path->remote.sa);
	rv = qs_quic_read_pkt(&c->q, &npath, &pi, data, len, env->now);
	env->stats->quic_drop_pn_guard += c->q.rx_refused;
	env->stats->quic_ncid_repeats_ignored += c->q.rx_frames_ignored;
	if (rv == 0 && c->handshake_done && c->q.tls != NULL)
		tls_release(c);
	if (rv == 0) {
		if (c->q.rx_authentic)
			path_learn(c, path, port_id);
		else
			env->stats->quic_drop_unauthenticated++;
	}
	if (rv != 0) {
		RTE_LOG(DEBUG, QS_LCORE, "worker %u: read_pkt: %s\n", env->worker,
			ngtcp2_strerror(rv));
		switch (rv) {
		case NGTCP2_ERR_DRAINING:
			enter_close_wait(c, QS_CONN_DRAINING);
			return 0;
		case NGTCP2_ERR_DROP_CONN:
			return QS_CONN_READ_FREE;
		case NGTCP2_ERR_RETRY:
			return QS_CONN_READ_RETRY;
		default:
			return fail_liberr(c, rv);
		}
	}
	note_path_change(c);
	qs_conn_mark_dirty(c);
	return 0;
}

int
qs_conn_write(struct qs_conn *c)
{
	struct qs_env *env = c->set->env;
	size_t max_payload, max_pkts;
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;

	if (c->state != QS_CONN_OPEN)
		return 0;
	max_payload = ngtcp2_conn_get_max_tx_udp_payload_size(c->q.conn);
	max_pkts = ngtcp2_conn_get_send_quantum(c->q.conn) / max_payload;
	max_pkts = RTE_MAX(RTE_MIN(max_pkts, (size_t)WRITE_BURST), (size_t)1);
	ngtcp2_path_storage_zero(&ps);

	for (size_t n = 0; n < max_pkts; n++) {
		struct qs_quic_err err;
		struct rte_mbuf *m;
		ngtcp2_ssize nwrite;

		/* back-pressure: a full TX queue holds the rest for later */
		if (qs_tx_room(env->tx, c->cur->port_id) == 0) {
			qs_conn_mark_dirty(c);
			break;
		}
		m = rte_pktmbuf_alloc(env->pool);
		if (m == NULL) {
			env->stats->drop_tx_nombuf++;
			qs_conn_mark_dirty(c);
			break;
		}
		nwrite = qs_quic_write_pkt(&c->q,
					   rte_pktmbuf_mtod(m, uint8_t *),
					   RTE_MIN(max_payload,
						   (size_t)rte_pktmbuf_tailroom(m)),
					   &ps.path, &pi, env->now, &err);
		if (nwrite <= 0) {
			rte_pktmbuf_free(m);
			if (nwrite < 0)
				return handle_error(c);
			break;
		}
		m->data_len = (uint16_t)nwrite;
		m->pkt_len = (uint32_t)nwrite;
		send_packet(c, m, &ps.path, pi.ecn);
	}
	/* ngtcp2 0.12 paces the first flights by the 333 ms initial RTT, a
	 * ~20 ms stall per handshake; pace once the RTT is measured */
	if (c->handshake_done)
		ngtcp2_conn_update_pkt_tx_time(c->q.conn, env->now);
	c->timer.expiry = ngtcp2_conn_get_expiry(c->q.conn);
	if (c->goaway_at != 0 && c->goaway_at < c->timer.expiry)
		c->timer.expiry = c->goaway_at;
	qs_conn_timer_update(c);
	return 0;
}

int
qs_conn_expire(struct qs_conn *c)
{
	uint64_t now = c->set->env->now;
	int rv;

	if (c->goaway_at != 0 && now >= c->goaway_at) {
		c->goaway_at = 0;
		c->goaway_final_at = now;
		nghttp3_conn_shutdown(c->q.h3);
	}
	rv = ngtcp2_conn_handle_expiry(c->q.conn, now);
	if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
		/* free it silently: the address may be spoofed, and holding a
		 * closing period would keep the place a flood took */
		c->set->env->stats->quic_handshake_timeouts++;
		return -1;
	}
	if (rv != 0) {
		ngtcp2_connection_close_error_set_transport_error_liberr(
			&c->q.last_error, rv, NULL, 0);
		return handle_error(c);
	}
	return qs_conn_write(c);
}

void
qs_conn_shutdown(struct qs_conn *c)
{
	ngtcp2_conn_stat st;

	/* HTTP/3 starts with the 1-RTT keys, before the handshake completes;
	 * one not started yet gets GOAWAY when the handshake completes (until
	 * then a stop does not wait for it, a drain does) */
	if (c->state != QS_CONN_OPEN || c->goaway_sent || c->q.h3 == NULL)
		return;
	nghttp3_conn_submit_shutdown_notice(c->q.h3);
	c->goaway_sent = true;
	ngtcp2_conn_get_conn_stat(c->q.conn, &st);
	c->goaway_at = c->set->env->now +
		RTE_MIN(RTE_MAX(2 * st.smoothed_rtt, (uint64_t)GOAWAY_DELAY_MIN_NS),
			(uint64_t)GOAWAY_DELAY_MAX_NS);
	qs_conn_mark_dirty(c);
}

bool
qs_conn_busy(const struct qs_conn *c)
{
	return c->state == QS_CONN_OPEN && (c->n_streams > 0 || c->goaway_at != 0);
}

bool
qs_conn_finished(const struct qs_conn *c)
{
	return c->state == QS_CONN_OPEN && c->goaway_sent && c->goaway_at == 0 &&
	       c->n_streams == 0 &&
	       c->set->env->now >= c->goaway_final_at +
				   3 * ngtcp2_conn_get_pto(c->q.conn);
}

void
qs_conn_close_now(struct qs_conn *c)
{
	if (c->state != QS_CONN_OPEN)
		return;
	if (c->q.h3 != NULL)
		ngtcp2_connection_close_error_set_application_error(
			&c->q.last_error, NGHTTP3_H3_NO_ERROR, NULL, 0);
	else
		ngtcp2_connection_close_error_set_transport_error(
			&c->q.last_error, NGTCP2_NO_ERROR, NULL, 0);
	/* no CONNECTION_CLOSE could be written (e.g. no keys for it yet): go
	 * silently from the timer, as a draining connection does; the caller
	 * may be walking the connection list, so it is not freed here */
	if (handle_error(c) != 0)
		enter_close_wait(c, QS_CONN_DRAINING);
}
