/* The per-connection handler: ngtcp2 callbacks, read, write straight into
 * mbufs, timers, closing and draining (ngtcp2's examples/server.cc Handler,
 * on a DPDK worker lcore). */
#include <string.h>

#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_malloc.h>

#include "qs_conn.h"
#include "qs_endpoint.h"
#include "qs_lcore.h"
#include "qs_log.h"
#include "qs_quic.h"
#include "qs_server.h"
#include "qs_tls.h"

/* most packets one connection writes per loop iteration */
#define WRITE_BURST 64

static inline struct qs_lcore *
lcore_of(const struct qs_conn *c)
{
	return c->srv->lc;
}

static ngtcp2_conn *
get_conn(ngtcp2_crypto_conn_ref *ref)
{
	return ((struct qs_conn *)ref->user_data)->conn;
}

/* ---- paths: where each peer address was last heard from ---- */

static bool
sockaddr_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* Most recent first; the oldest falls off. */
static void
path_learn(struct qs_conn *c, const struct qs_net_path *p, uint16_t port_id)
{
	uint8_t i;

	for (i = 0; i < c->n_paths; i++)
		if (sockaddr_eq(&c->paths[i].net.remote.sa, &p->remote.sa))
			break;
	if (i == c->n_paths) {
		if (c->n_paths < QS_CONN_MAX_PATHS)
			c->n_paths++;
		i = c->n_paths - 1;
	}
	memmove(&c->paths[1], &c->paths[0], i * sizeof(c->paths[0]));
	c->paths[0].net = *p;
	c->paths[0].port_id = port_id;
}

static const struct qs_peer_path *
path_find(const struct qs_conn *c, const struct sockaddr *remote)
{
	for (uint8_t i = 0; i < c->n_paths; i++)
		if (sockaddr_eq(&c->paths[i].net.remote.sa, remote))
			return &c->paths[i];
	return c->n_paths ? &c->paths[0] : NULL;
}

/* ---- sending ---- */

/* Frames the QUIC payload in m for path and queues it; consumes m. */
static void
send_packet(struct qs_conn *c, struct rte_mbuf *m, const ngtcp2_path *path,
	    uint8_t ecn)
{
	struct qs_lcore *lc = lcore_of(c);
	const struct qs_peer_path *pp = path_find(c, path->remote.addr);

	if (pp == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	c->tx_bytes += rte_pktmbuf_data_len(m);
	m->port = pp->port_id;
	if (qs_net_udp_build(m, path->local.addr, path->remote.addr, ecn,
			     &pp->net.peer_mac, qs_lcore_caps(lc, m->port)) != 0) {
		rte_pktmbuf_free(m);
		return;
	}
	qs_lcore_tx(lc, m);
}

static int
send_buffer(struct qs_conn *c, const uint8_t *data, size_t len,
	    const ngtcp2_path *path, uint8_t ecn)
{
	struct qs_lcore *lc = lcore_of(c);
	struct rte_mbuf *m = rte_pktmbuf_alloc(lc->dp->pool);
	uint8_t *dst;

	if (m == NULL) {
		lc->stats.drop_tx_nombuf++;
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

static void
enter_close_wait(struct qs_conn *c, enum qs_conn_state state)
{
	c->state = state;
	/* RFC 9000 10.2: three times the PTO */
	c->expiry = lcore_of(c)->now + 3 * ngtcp2_conn_get_pto(c->conn);
	qs_server_timer_update(c->srv, c);
}

/* Sends CONNECTION_CLOSE for last_error and enters the closing period;
 * -1 when the connection should simply go (idle timeout). */
static int
handle_error(struct qs_conn *c)
{
	struct qs_lcore *lc = lcore_of(c);
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;

	if (c->last_error.type ==
	    NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT_IDLE_CLOSE)
		return -1;
	if (c->state != QS_CONN_OPEN)
		return 0;
	if (ngtcp2_conn_is_in_draining_period(c->conn)) {
		enter_close_wait(c, QS_CONN_DRAINING);
		return 0;
	}
	c->close_pkt = rte_malloc("qs_close", NGTCP2_MAX_UDP_PAYLOAD_SIZE, 0);
	if (c->close_pkt == NULL)
		return -1;
	ngtcp2_path_storage_zero(&ps);
	n = ngtcp2_conn_write_connection_close(c->conn, &ps.path, &pi,
					       c->close_pkt,
					       NGTCP2_MAX_UDP_PAYLOAD_SIZE,
					       &c->last_error, lc->now);
	if (n <= 0)
		return -1;
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
	if (c->last_error.error_code == 0)
		qs_quic_ccerr_liberr(&c->last_error, c->conn, liberr);
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
	lcore_of(c)->stats.quic_handshakes_completed++;
	if (gnutls_session_is_resumed(c->tls))
		lcore_of(c)->stats.quic_sessions_resumed++;
	if (gnutls_session_get_flags(c->tls) & GNUTLS_SFLAGS_EARLY_DATA)
		lcore_of(c)->stats.quic_0rtt_accepted++;
	qs_tls_send_ticket(c->tls);
	/* Initials no longer carry the client's first DCID */
	if (c->odcid_mapped) {
		qs_server_del_cid(c->srv, &c->odcid);
		c->odcid_mapped = false;
	}
	tokenlen = qs_endpoint_regular_token(token, path->remote.addr,
					     path->remote.addrlen);
	if (tokenlen > 0)
		ngtcp2_conn_submit_new_token(conn, token, (size_t)tokenlen);
	return 0;
}

static int
cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
		    uint64_t offset, const uint8_t *data, size_t datalen,
		    void *user_data, void *stream_user_data)
{
	struct qs_conn *c = user_data;

	(void)offset; (void)stream_user_data;
	if (qs_quic_recv_stream_data(conn, c->h3, &c->last_error, flags,
				     stream_id, data, datalen) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_acked_stream_data_offset(ngtcp2_conn *conn, int64_t stream_id,
			    uint64_t offset, uint64_t datalen, void *user_data,
			    void *stream_user_data)
{
	struct qs_conn *c = user_data;

	(void)conn; (void)offset; (void)stream_user_data;
	if (c->h3 != NULL &&
	    nghttp3_conn_add_ack_offset(c->h3, stream_id, datalen) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
		uint64_t app_error_code, void *user_data, void *stream_user_data)
{
	struct qs_conn *c = user_data;
	int rv;

	(void)stream_user_data;
	if (c->h3 == NULL)
		return 0;
	if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
		app_error_code = NGHTTP3_H3_NO_ERROR;
	rv = nghttp3_conn_close_stream(c->h3, stream_id, app_error_code);
	if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) {
		if (ngtcp2_is_bidi_stream(stream_id))
			ngtcp2_conn_extend_max_streams_bidi(conn, 1);
	} else if (rv != 0) {
		qs_quic_ccerr_h3(&c->last_error, rv);
		return NGTCP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int
cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size,
		uint64_t app_error_code, void *user_data, void *stream_user_data)
{
	struct qs_conn *c = user_data;

	(void)conn; (void)final_size; (void)app_error_code; (void)stream_user_data;
	if (c->h3 != NULL && nghttp3_conn_shutdown_stream_read(c->h3, stream_id) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id,
		       uint64_t app_error_code, void *user_data,
		       void *stream_user_data)
{
	return cb_stream_reset(conn, stream_id, 0, app_error_code, user_data,
			       stream_user_data);
}

static void
cb_rand(uint8_t *dest, size_t destlen, const ngtcp2_rand_ctx *rand_ctx)
{
	(void)rand_ctx;
	qs_random_bytes(dest, destlen);
}

/* Every CID ngtcp2 issues names this worker, and its reset token is
 * derived after the owner is stamped (DESIGN.md "Connection IDs"). */
static int
cb_get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
			 size_t cidlen, void *user_data)
{
	struct qs_conn *c = user_data;
	struct qs_lcore *lc = lcore_of(c);
	const struct qs_cid_codec *codec = &lc->dp->codec;

	(void)conn;
	if (cidlen != codec->cid_len)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	qs_cid_encode(codec, lc->worker, cid->data);
	cid->datalen = cidlen;
	if (qs_endpoint_reset_token(token, cid->data, cid->datalen) != 0 ||
	    qs_server_add_cid(c->srv, cid, c) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid,
			void *user_data)
{
	(void)conn;
	qs_server_del_cid(((struct qs_conn *)user_data)->srv, cid);
	return 0;
}

static int
cb_extend_max_remote_streams_bidi(ngtcp2_conn *conn, uint64_t max_streams,
				  void *user_data)
{
	struct qs_conn *c = user_data;

	(void)conn;
	if (c->h3 != NULL)
		nghttp3_conn_set_max_client_streams_bidi(c->h3, max_streams);
	return 0;
}

static int
cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t stream_id,
			  uint64_t max_data, void *user_data,
			  void *stream_user_data)
{
	struct qs_conn *c = user_data;

	(void)conn; (void)max_data; (void)stream_user_data;
	if (c->h3 != NULL && nghttp3_conn_unblock_stream(c->h3, stream_id) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_recv_tx_key(ngtcp2_conn *conn, ngtcp2_crypto_level level, void *user_data)
{
	(void)conn;
	if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION)
		return 0;
	return qs_h3_setup(user_data) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static const ngtcp2_callbacks callbacks = {
	.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
	.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
	.handshake_completed = cb_handshake_completed,
	.encrypt = ngtcp2_crypto_encrypt_cb,
	.decrypt = ngtcp2_crypto_decrypt_cb,
	.hp_mask = ngtcp2_crypto_hp_mask_cb,
	.recv_stream_data = cb_recv_stream_data,
	.acked_stream_data_offset = cb_acked_stream_data_offset,
	.stream_close = cb_stream_close,
	.rand = cb_rand,
	.get_new_connection_id = cb_get_new_connection_id,
	.remove_connection_id = cb_remove_connection_id,
	.update_key = ngtcp2_crypto_update_key_cb,
	.stream_reset = cb_stream_reset,
	.extend_max_remote_streams_bidi = cb_extend_max_remote_streams_bidi,
	.extend_max_stream_data = cb_extend_max_stream_data,
	.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
	.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
	.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
	.stream_stop_sending = cb_stream_stop_sending,
	.version_negotiation = ngtcp2_crypto_version_negotiation_cb,
	.recv_tx_key = cb_recv_tx_key,
};

static const ngtcp2_cc_algo cc_algos[] = {
	[QS_CC_CUBIC] = NGTCP2_CC_ALGO_CUBIC, [QS_CC_RENO] = NGTCP2_CC_ALGO_RENO,
	[QS_CC_BBR] = NGTCP2_CC_ALGO_BBR,     [QS_CC_BBR2] = NGTCP2_CC_ALGO_BBR2,
};

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
qs_conn_new(struct qs_server *srv, const ngtcp2_pkt_hd *hd,
	    const ngtcp2_cid *ocid, const struct qs_net_path *path,
	    uint16_t port_id)
{
	struct qs_lcore *lc = srv->lc;
	const struct qs_config *cfg = lc->dp->cfg;
	const struct qs_cid_codec *codec = &lc->dp->codec;
	ngtcp2_transport_params params;
	ngtcp2_settings settings;
	ngtcp2_path npath;
	ngtcp2_cid scid;
	struct qs_conn *c;

	c = rte_zmalloc("qs_conn", sizeof(*c), RTE_CACHE_LINE_SIZE);
	if (c == NULL)
		return NULL;
	c->srv = srv;
	c->state = QS_CONN_OPEN;
	c->heap_idx = UINT32_MAX;
	c->expiry = UINT64_MAX;
	c->created_ns = lc->now;
	c->conn_ref.get_conn = get_conn;
	c->conn_ref.user_data = c;
	ngtcp2_connection_close_error_default(&c->last_error);
	path_learn(c, path, port_id);
	c->cur_path = *path;

	scid.datalen = codec->cid_len;
	qs_cid_encode(codec, lc->worker, scid.data);

	ngtcp2_settings_default(&settings);
	settings.initial_ts = lc->now;
	settings.cc_algo = cc_algos[cfg->cc];
	settings.handshake_timeout =
		(uint64_t)cfg->handshake_timeout_ms * NGTCP2_MILLISECONDS;
	settings.token = hd->token;

	ngtcp2_transport_params_default(&params);
	params.initial_max_stream_data_bidi_local = cfg->max_stream_data;
	params.initial_max_stream_data_bidi_remote = cfg->max_stream_data;
	params.initial_max_stream_data_uni = cfg->max_stream_data;
	params.initial_max_data = cfg->max_data;
	params.initial_max_streams_bidi = cfg->max_streams_bidi;
	params.initial_max_streams_uni = 3;
	params.max_idle_timeout = (uint64_t)cfg->idle_timeout_ms * NGTCP2_MILLISECONDS;
	params.active_connection_id_limit = QS_CONN_ACTIVE_CID_LIMIT;
	params.stateless_reset_token_present = 1;
	if (qs_endpoint_reset_token(params.stateless_reset_token, scid.data,
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
	if (ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &npath,
				   hd->version, &callbacks, &settings, &params,
				   NULL, c) != 0)
		goto fail;
	if (qs_tls_session_new(&c->tls, &c->conn_ref, srv->anti_replay) != 0)
		goto fail;
	ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);

	if (qs_server_add_cid(srv, &scid, c) != 0)
		goto fail;
	c->odcid = hd->dcid;
	if (qs_server_add_cid_key(srv, &c->odcid, c) == 0)
		c->odcid_mapped = true;

	LIST_INSERT_HEAD(&srv->conns, c, link);
	srv->n_conns++;
	lc->stats.quic_conn_accepted++;
	lc->stats.quic_conn_active++;
	return c;
fail:
	qs_conn_destroy(c);
	return NULL;
}

void
qs_conn_destroy(struct qs_conn *c)
{
	for (uint8_t i = c->n_cids; i > 0; i--)
		qs_server_del_cid(c->srv, &c->cids[i - 1]);
	if (c->odcid_mapped)
		qs_server_del_cid_key(c->srv, &c->odcid);
	qs_h3_free_streams(c);
	if (c->h3 != NULL)
		nghttp3_conn_del(c->h3);
	if (c->conn != NULL)
		ngtcp2_conn_del(c->conn);
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	rte_free(c->close_pkt);
	rte_free(c);
}

void
qs_conn_free(struct qs_conn *c)
{
	struct qs_server *srv = c->srv;
	struct qs_lcore *lc = srv->lc;

	qs_server_timer_remove(srv, c);
	if (c->dirty)
		TAILQ_REMOVE(&srv->dirty, c, dirty_link);
	LIST_REMOVE(c, link);
	srv->n_conns--;
	lc->stats.quic_conn_active--;
	lc->stats.quic_conn_closed++;
	qs_conn_destroy(c);
}

static void
note_path_change(struct qs_conn *c)
{
	const ngtcp2_path *p = ngtcp2_conn_get_path(c->conn);

	if (sockaddr_eq(p->remote.addr, &c->cur_path.remote.sa))
		return;
	const struct qs_peer_path *pp = path_find(c, p->remote.addr);

	if (pp != NULL)
		c->cur_path = pp->net;
	lcore_of(c)->stats.quic_path_migrations++;
}

int
qs_conn_read(struct qs_conn *c, const struct qs_net_path *path,
	     uint16_t port_id, const uint8_t *data, size_t len)
{
	struct qs_lcore *lc = lcore_of(c);
	ngtcp2_pkt_info pi = {.ecn = path->ecn};
	ngtcp2_path npath;
	int rv;

	c->rx_bytes += len;
	if (c->state == QS_CONN_CLOSING) {
		/* answer with our close again, backing off: 1st, 2nd, 4th.. */
		c->close_rx++;
		if ((c->close_rx & (c->close_rx - 1)) == 0) {
			path_learn(c, path, port_id);
			ngtcp2_path_of(&npath, path);
			send_buffer(c, c->close_pkt, c->close_len, &npath, 0);
		}
		return 0;
	}
	if (c->state == QS_CONN_DRAINING)
		return 0;

	path_learn(c, path, port_id);
	ngtcp2_path_of(&npath, path);
	rv = ngtcp2_conn_read_pkt(c->conn, &npath, &pi, data, len, lc->now);
	if (rv != 0) {
		RTE_LOG(DEBUG, QS_LCORE, "worker %u: read_pkt: %s\n", lc->worker,
			ngtcp2_strerror(rv));
		switch (rv) {
		case NGTCP2_ERR_DRAINING:
			enter_close_wait(c, QS_CONN_DRAINING);
			return 0;
		case NGTCP2_ERR_DROP_CONN:
		case NGTCP2_ERR_RETRY:
			return -1;
		default:
			return fail_liberr(c, rv);
		}
	}
	note_path_change(c);
	qs_server_mark_dirty(c->srv, c);
	return 0;
}

int
qs_conn_write(struct qs_conn *c)
{
	struct qs_lcore *lc = lcore_of(c);
	size_t max_payload, max_pkts;
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;

	if (c->state != QS_CONN_OPEN)
		return 0;
	max_payload = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
	max_pkts = ngtcp2_conn_get_send_quantum(c->conn) / max_payload;
	max_pkts = RTE_MAX(RTE_MIN(max_pkts, (size_t)WRITE_BURST), (size_t)1);
	ngtcp2_path_storage_zero(&ps);

	for (size_t n = 0; n < max_pkts; n++) {
		struct qs_quic_err err;
		struct rte_mbuf *m;
		ngtcp2_ssize nwrite;

		/* back-pressure: a full TX queue holds the rest for later */
		if (qs_lcore_tx_room(lc, c->paths[0].port_id) == 0) {
			qs_server_mark_dirty(c->srv, c);
			break;
		}
		m = rte_pktmbuf_alloc(lc->dp->pool);
		if (m == NULL) {
			lc->stats.drop_tx_nombuf++;
			qs_server_mark_dirty(c->srv, c);
			break;
		}
		nwrite = qs_quic_write_pkt(c->conn, c->h3, &c->last_error,
					   rte_pktmbuf_mtod(m, uint8_t *),
					   RTE_MIN(max_payload,
						   (size_t)rte_pktmbuf_tailroom(m)),
					   &ps.path, &pi, lc->now, &err);
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
		ngtcp2_conn_update_pkt_tx_time(c->conn, lc->now);
	c->expiry = ngtcp2_conn_get_expiry(c->conn);
	qs_server_timer_update(c->srv, c);
	return 0;
}

int
qs_conn_expire(struct qs_conn *c)
{
	int rv = ngtcp2_conn_handle_expiry(c->conn, lcore_of(c)->now);

	if (rv != 0) {
		ngtcp2_connection_close_error_set_transport_error_liberr(
			&c->last_error, rv, NULL, 0);
		return handle_error(c);
	}
	return qs_conn_write(c);
}

void
qs_conn_shutdown(struct qs_conn *c)
{
	if (c->state != QS_CONN_OPEN || c->goaway_sent)
		return;
	if (c->h3 == NULL) {
		qs_conn_close_now(c);
		return;
	}
	/* the notice, then the final GOAWAY naming the last request taken */
	nghttp3_conn_submit_shutdown_notice(c->h3);
	nghttp3_conn_shutdown(c->h3);
	c->goaway_sent = true;
	qs_server_mark_dirty(c->srv, c);
}

void
qs_conn_close_now(struct qs_conn *c)
{
	if (c->state != QS_CONN_OPEN)
		return;
	if (c->h3 != NULL)
		ngtcp2_connection_close_error_set_application_error(
			&c->last_error, NGHTTP3_H3_NO_ERROR, NULL, 0);
	else
		ngtcp2_connection_close_error_set_transport_error(
			&c->last_error, NGTCP2_NO_ERROR, NULL, 0);
	handle_error(c);
}
