#include <stdlib.h>
#include <string.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "quic/qs_quic_glue.h"

#define H3_VEC_MAX 16

void
qs_quic_ccerr_liberr(ngtcp2_connection_close_error *ccerr, ngtcp2_conn *conn,
		     int liberr)
{
	if (liberr == NGTCP2_ERR_CRYPTO)
		ngtcp2_connection_close_error_set_transport_error_tls_alert(
			ccerr, ngtcp2_conn_get_tls_alert(conn), NULL, 0);
	else
		ngtcp2_connection_close_error_set_transport_error_liberr(
			ccerr, liberr, NULL, 0);
}

void
qs_quic_ccerr_h3(ngtcp2_connection_close_error *ccerr, int h3err)
{
	ngtcp2_connection_close_error_set_application_error(
		ccerr, nghttp3_err_infer_quic_app_error_code(h3err), NULL, 0);
}

static ngtcp2_ssize
fail(ngtcp2_connection_close_error *ccerr, ngtcp2_conn *conn,
     struct qs_quic_err *err, int code, bool h3)
{
	err->code = code;
	err->h3 = h3;
	if (h3)
		qs_quic_ccerr_h3(ccerr, code);
	else
		qs_quic_ccerr_liberr(ccerr, conn, code);
	return -1;
}

static ngtcp2_ssize
write_pkt(ngtcp2_conn *conn, nghttp3_conn *h3,
	  ngtcp2_connection_close_error *ccerr, uint8_t *buf, size_t cap,
	  ngtcp2_path *path, ngtcp2_pkt_info *pi, ngtcp2_tstamp ts,
	  struct qs_quic_err *err)
{
	for (;;) {
		nghttp3_vec vec[H3_VEC_MAX];
		nghttp3_ssize nvec = 0;
		int64_t stream_id = -1;
		ngtcp2_ssize ndatalen, nwrite;
		uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
		int fin = 0, rv;

		if (h3 != NULL && ngtcp2_conn_get_max_data_left(conn)) {
			nvec = nghttp3_conn_writev_stream(h3, &stream_id, &fin, vec,
							  H3_VEC_MAX);
			if (nvec < 0)
				return fail(ccerr, conn, err, (int)nvec, true);
		}
		if (fin)
			flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
		nwrite = ngtcp2_conn_writev_stream(conn, path, pi, buf, cap,
						   &ndatalen, flags, stream_id,
						   (const ngtcp2_vec *)vec,
						   (size_t)nvec, ts);
		if (nwrite < 0) {
			switch (nwrite) {
			case NGTCP2_ERR_STREAM_DATA_BLOCKED:
				nghttp3_conn_block_stream(h3, stream_id);
				continue;
			case NGTCP2_ERR_STREAM_SHUT_WR:
				nghttp3_conn_shutdown_stream_write(h3, stream_id);
				continue;
			case NGTCP2_ERR_WRITE_MORE:
				rv = nghttp3_conn_add_write_offset(h3, stream_id,
								   (size_t)ndatalen);
				if (rv != 0)
					return fail(ccerr, conn, err, rv, true);
				continue;
			default:
				return fail(ccerr, conn, err, (int)nwrite, false);
			}
		}
		if (ndatalen >= 0) {
			rv = nghttp3_conn_add_write_offset(h3, stream_id,
							   (size_t)ndatalen);
			if (rv != 0)
				return fail(ccerr, conn, err, rv, true);
		}
		return nwrite;
	}
}

ngtcp2_ssize
qs_quic_write_pkt(struct qs_quic_conn *q, uint8_t *buf, size_t cap,
		  ngtcp2_path *path, ngtcp2_pkt_info *pi, ngtcp2_tstamp ts,
		  struct qs_quic_err *err)
{
	ngtcp2_ssize n = write_pkt(q->conn, q->h3, &q->last_error, buf, cap,
				   path, pi, ts, err);

	if (n > 0)
		qs_pn_guard_sent(&q->pn);
	return n;
}

void
qs_quic_consume(ngtcp2_conn *conn, int64_t stream_id, size_t n)
{
	ngtcp2_conn_extend_max_stream_offset(conn, stream_id, n);
	ngtcp2_conn_extend_max_offset(conn, n);
}

int
qs_quic_recv_stream_data(ngtcp2_conn *conn, nghttp3_conn *h3,
			 ngtcp2_connection_close_error *ccerr, uint32_t flags,
			 int64_t stream_id, const uint8_t *data, size_t datalen)
{
	nghttp3_ssize n;

	if (h3 == NULL)
		return 0;
	n = nghttp3_conn_read_stream(h3, stream_id, data, datalen,
				     flags & NGTCP2_STREAM_DATA_FLAG_FIN);
	if (n == NGHTTP3_ERR_MALFORMED_HTTP_HEADER ||
	    n == NGHTTP3_ERR_MALFORMED_HTTP_MESSAGING) {
		/* RFC 9114 4.1.2: a malformed message is a stream error, not
		 * a connection error */
		nghttp3_conn_shutdown_stream_read(h3, stream_id);
		ngtcp2_conn_shutdown_stream(conn, stream_id, NGHTTP3_H3_MESSAGE_ERROR);
		qs_quic_consume(conn, stream_id, datalen);
		return 0;
	}
	if (n < 0) {
		qs_quic_ccerr_h3(ccerr, (int)n);
		return -1;
	}
	qs_quic_consume(conn, stream_id, (size_t)n);
	return 0;
}

static int
bind_h3_streams(ngtcp2_conn *conn, nghttp3_conn *h3)
{
	int64_t ctrl, enc, dec;

	if (ngtcp2_conn_open_uni_stream(conn, &ctrl, NULL) != 0 ||
	    nghttp3_conn_bind_control_stream(h3, ctrl) != 0 ||
	    ngtcp2_conn_open_uni_stream(conn, &enc, NULL) != 0 ||
	    ngtcp2_conn_open_uni_stream(conn, &dec, NULL) != 0 ||
	    nghttp3_conn_bind_qpack_streams(h3, enc, dec) != 0)
		return -1;
	return 0;
}

bool
qs_quic_addr_eq(const struct sockaddr *a, const struct sockaddr *b)
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
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* ---- one connection, either end ---- */

static ngtcp2_conn *
get_conn(ngtcp2_crypto_conn_ref *ref)
{
	return ((struct qs_quic_conn *)ref->user_data)->conn;
}

/* ---- the libraries' heap use, per connection ---- */

static void
mem_add(struct qs_quic_conn *q, enum qs_quic_mem_owner owner, void *p, int sign)
{
	uint64_t n = qs_alloc_usable_size(q->alloc, p);

	q->mem[owner] += (uint64_t)sign * n;
	if (q->mem_total[owner] != NULL)
		*q->mem_total[owner] += (uint64_t)sign * n;
}

static void *
mem_malloc(struct qs_quic_conn *q, enum qs_quic_mem_owner owner, size_t size)
{
	void *p = qs_alloc_malloc(q->alloc, size);

	mem_add(q, owner, p, 1);
	return p;
}

static void
mem_free(struct qs_quic_conn *q, enum qs_quic_mem_owner owner, void *p)
{
	mem_add(q, owner, p, -1);
	qs_alloc_free(q->alloc, p);
}

static void *
mem_calloc(struct qs_quic_conn *q, enum qs_quic_mem_owner owner, size_t n,
	   size_t size)
{
	void *p = qs_alloc_calloc(q->alloc, n, size);

	mem_add(q, owner, p, 1);
	return p;
}

static void *
mem_realloc(struct qs_quic_conn *q, enum qs_quic_mem_owner owner, void *p,
	    size_t size)
{
	uint64_t before = qs_alloc_usable_size(q->alloc, p);
	void *np = qs_alloc_realloc(q->alloc, p, size);

	if (np == NULL && size != 0)
		return NULL;	/* p is still held */
	q->mem[owner] -= before;
	if (q->mem_total[owner] != NULL)
		*q->mem_total[owner] -= before;
	mem_add(q, owner, np, 1);
	return np;
}

#define MEM_HOOKS(lib, owner) \
	static void *counted_##lib##_malloc(size_t size, void *ud) \
	{ return mem_malloc(ud, owner, size); } \
	static void counted_##lib##_free(void *p, void *ud) \
	{ mem_free(ud, owner, p); } \
	static void *counted_##lib##_calloc(size_t n, size_t size, void *ud) \
	{ return mem_calloc(ud, owner, n, size); } \
	static void *counted_##lib##_realloc(void *p, size_t size, void *ud) \
	{ return mem_realloc(ud, owner, p, size); }

MEM_HOOKS(ngtcp2, QS_MEM_NGTCP2)
MEM_HOOKS(nghttp3, QS_MEM_NGHTTP3)

void
qs_quic_conn_init(struct qs_quic_conn *q)
{
	q->ngtcp2_mem = (ngtcp2_mem){q, counted_ngtcp2_malloc,
				     counted_ngtcp2_free, counted_ngtcp2_calloc,
				     counted_ngtcp2_realloc};
	q->nghttp3_mem = (nghttp3_mem){q, counted_nghttp3_malloc,
				       counted_nghttp3_free,
				       counted_nghttp3_calloc,
				       counted_nghttp3_realloc};
	q->alloc = NULL;
	for (int i = 0; i < QS_MEM_OWNERS; i++) {
		q->mem[i] = 0;
		q->mem_total[i] = NULL;
	}
	q->conn_ref.get_conn = get_conn;
	q->conn_ref.user_data = q;
	ngtcp2_connection_close_error_default(&q->last_error);
	qs_pn_guard_init(&q->pn);
	memset(&q->frames, 0, sizeof(q->frames));
}

/* ---- packet protection through the packet-number guard ---- */

/* The connection whose datagram this thread is reading: ngtcp2's decrypt
 * callback carries no user_data, and a thread reads one at a time. */
static __thread struct qs_quic_conn *reading;

int
qs_quic_read_pkt(struct qs_quic_conn *q, const ngtcp2_path *path,
		 const ngtcp2_pkt_info *pi, const uint8_t *data, size_t len,
		 ngtcp2_tstamp ts)
{
	int rv;

	q->rx_authentic = false;
	q->rx_refused = 0;
	q->rx_frames_ignored = 0;
	reading = q;
	rv = ngtcp2_conn_read_pkt(q->conn, path, pi, data, len, ts);
	reading = NULL;
	return rv;
}

static int
cb_decrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
	   const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
	   size_t ciphertextlen, const uint8_t *nonce, size_t noncelen,
	   const uint8_t *aad, size_t aadlen)
{
	struct qs_quic_conn *q = reading;
	enum qs_pn_space_id space;
	int64_t pkt_num;
	int rv;

	if (q == NULL)
		return NGTCP2_ERR_CALLBACK_FAILURE;	/* a read past the guard */
	if (!qs_pn_guard_admit(&q->pn, aad, aadlen, nonce, noncelen, &space,
			       &pkt_num)) {
		q->rx_refused++;
		return NGTCP2_ERR_DECRYPT;	/* ngtcp2 drops it unread */
	}
	rv = ngtcp2_crypto_decrypt_cb(dest, aead, aead_ctx, ciphertext,
				      ciphertextlen, nonce, noncelen, aad,
				      aadlen);
	if (rv == 0) {
		qs_pn_guard_received(&q->pn, space, pkt_num);
		q->rx_authentic = true;
		if (space == QS_PNS_APP && ciphertextlen >= aead->max_overhead)
			q->rx_frames_ignored += qs_frame_guard_filter(
				&q->frames, dest, ciphertextlen - aead->max_overhead);
	}
	return rv;
}

static size_t
rx_ivlen(ngtcp2_conn *conn, ngtcp2_crypto_level level)
{
	const ngtcp2_crypto_ctx *ctx = level == NGTCP2_CRYPTO_LEVEL_EARLY ?
		ngtcp2_conn_get_early_crypto_ctx(conn) :
		ngtcp2_conn_get_crypto_ctx(conn);

	return ngtcp2_crypto_packet_protection_ivlen(&ctx->aead);
}

/* The crypto helper's own secret function does this too, without giving
 * the IV back. */
static int
tls_secret(gnutls_session_t session, gnutls_record_encryption_level_t glevel,
	   const void *rx_secret, const void *tx_secret, size_t secretlen)
{
	ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(session);
	struct qs_quic_conn *q = ref->user_data;
	ngtcp2_crypto_level level =
		ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(glevel);
	uint8_t iv[QS_PN_GUARD_IV_MAX * 4];

	if (rx_secret != NULL) {
		if (ngtcp2_crypto_derive_and_install_rx_key(q->conn, NULL, iv,
							    NULL, level,
							    rx_secret,
							    secretlen) != 0)
			return -1;
		qs_pn_guard_key(&q->pn, level, iv, rx_ivlen(q->conn, level));
	}
	if (tx_secret != NULL &&
	    ngtcp2_crypto_derive_and_install_tx_key(q->conn, NULL, NULL, NULL,
						    level, tx_secret,
						    secretlen) != 0)
		return -1;
	return 0;
}

int
qs_quic_tls_configure(gnutls_session_t session, bool server)
{
	int rv = server ? ngtcp2_crypto_gnutls_configure_server_session(session) :
			  ngtcp2_crypto_gnutls_configure_client_session(session);

	if (rv != 0)
		return -1;
	gnutls_handshake_set_secret_function(session, tls_secret);
	return 0;
}

static int
cb_update_key(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
	      ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv,
	      ngtcp2_crypto_aead_ctx *tx_aead_ctx, uint8_t *tx_iv,
	      const uint8_t *current_rx_secret, const uint8_t *current_tx_secret,
	      size_t secretlen, void *user_data)
{
	struct qs_quic_conn *q = user_data;
	int rv = ngtcp2_crypto_update_key_cb(conn, rx_secret, tx_secret,
					     rx_aead_ctx, rx_iv, tx_aead_ctx,
					     tx_iv, current_rx_secret,
					     current_tx_secret, secretlen,
					     user_data);

	if (rv == 0)
		qs_pn_guard_key(&q->pn, NGTCP2_CRYPTO_LEVEL_APPLICATION, rx_iv,
				rx_ivlen(conn, NGTCP2_CRYPTO_LEVEL_APPLICATION));
	return rv;
}

/* New Initial keys: a client learns the IV again from the next Initial.
 * A server never negotiates another version (it sets no preferred
 * versions); were it to, the guard would refuse the Initial space rather
 * than guess its IV. */
static int
cb_recv_retry(ngtcp2_conn *conn, const ngtcp2_pkt_hd *hd, void *user_data)
{
	struct qs_quic_conn *q = user_data;
	int rv = ngtcp2_crypto_recv_retry_cb(conn, hd, user_data);

	if (rv == 0)
		qs_pn_guard_initial_rekeyed(&q->pn);
	return rv;
}

static int
cb_version_negotiation(ngtcp2_conn *conn, uint32_t version,
		       const ngtcp2_cid *client_dcid, void *user_data)
{
	struct qs_quic_conn *q = user_data;
	int rv = ngtcp2_crypto_version_negotiation_cb(conn, version,
						      client_dcid, user_data);

	if (rv == 0)
		qs_pn_guard_initial_rekeyed(&q->pn);
	return rv;
}

int
qs_quic_h3_start(struct qs_quic_conn *q, bool server,
		 const nghttp3_callbacks *cb, uint64_t max_field_section_size)
{
	nghttp3_settings settings;
	int rv;

	if (q->h3 != NULL)
		return 0;
	if (ngtcp2_conn_get_max_local_streams_uni(q->conn) < 3)
		return -1;
	nghttp3_settings_default(&settings);
	settings.qpack_max_dtable_capacity = QS_QPACK_MAX_DTABLE;
	/* a server's responses are a few short fields (:status, server,
	 * content-type, content-length): the static table and literals say
	 * them in a few bytes, where the dynamic table cost about 4,000
	 * instructions a response (encoding, then the peer's acknowledgements) */
	if (server)
		settings.qpack_encoder_max_dtable_capacity = 0;
	settings.qpack_blocked_streams = QS_QPACK_BLOCKED_STREAMS;
	if (max_field_section_size != 0)
		settings.max_field_section_size = max_field_section_size;
	rv = server ? nghttp3_conn_server_new(&q->h3, cb, &settings,
					      &q->nghttp3_mem, q)
		    : nghttp3_conn_client_new(&q->h3, cb, &settings,
					      &q->nghttp3_mem, q);
	if (rv != 0) {
		q->h3 = NULL;
		return -1;
	}
	if (server) {
		const ngtcp2_transport_params *params =
			ngtcp2_conn_get_local_transport_params(q->conn);

		nghttp3_conn_set_max_client_streams_bidi(
			q->h3, params->initial_max_streams_bidi);
	}
	return bind_h3_streams(q->conn, q->h3);
}

/* ---- ngtcp2 callbacks both ends use ---- */

static int
cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
		    uint64_t offset, const uint8_t *data, size_t datalen,
		    void *user_data, void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)offset; (void)stream_user_data;
	if (qs_quic_recv_stream_data(conn, q->h3, &q->last_error, flags,
				     stream_id, data, datalen) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_acked_stream_data_offset(ngtcp2_conn *conn, int64_t stream_id,
			    uint64_t offset, uint64_t datalen, void *user_data,
			    void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)conn; (void)offset; (void)stream_user_data;
	if (q->h3 != NULL && nghttp3_conn_add_ack_offset(q->h3, stream_id, datalen) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
		uint64_t app_error_code, void *user_data, void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;
	int rv;

	(void)stream_user_data;
	if (q->h3 == NULL)
		return 0;
	if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
		app_error_code = NGHTTP3_H3_NO_ERROR;
	rv = nghttp3_conn_close_stream(q->h3, stream_id, app_error_code);
	if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) {
		/* a stream the peer opened that never reached HTTP/3: give its
		 * credit back (a server's peer opens requests, a client's
		 * peer unidirectional streams) */
		if (!ngtcp2_conn_is_local_stream(conn, stream_id)) {
			if (ngtcp2_is_bidi_stream(stream_id))
				ngtcp2_conn_extend_max_streams_bidi(conn, 1);
			else
				ngtcp2_conn_extend_max_streams_uni(conn, 1);
		}
	} else if (rv != 0) {
		qs_quic_ccerr_h3(&q->last_error, rv);
		return NGTCP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

int
qs_quic_cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size,
		uint64_t app_error_code, void *user_data, void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)conn; (void)final_size; (void)app_error_code; (void)stream_user_data;
	if (q->h3 != NULL && nghttp3_conn_shutdown_stream_read(q->h3, stream_id) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

int
qs_quic_cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id,
		       uint64_t app_error_code, void *user_data,
		       void *stream_user_data)
{
	return qs_quic_cb_stream_reset(conn, stream_id, 0, app_error_code, user_data,
			       stream_user_data);
}

static int
cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t stream_id,
			  uint64_t max_data, void *user_data,
			  void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)conn; (void)max_data; (void)stream_user_data;
	if (q->h3 != NULL && nghttp3_conn_unblock_stream(q->h3, stream_id) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_extend_max_remote_streams_bidi(ngtcp2_conn *conn, uint64_t max_streams,
				  void *user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)conn;
	if (q->h3 != NULL)
		nghttp3_conn_set_max_client_streams_bidi(q->h3, max_streams);
	return 0;
}

/* A client's own CIDs carry nothing: random, as are its reset tokens. */
static void
cb_client_rand(uint8_t *dest, size_t destlen, const ngtcp2_rand_ctx *rand_ctx)
{
	(void)rand_ctx;
	gnutls_rnd(GNUTLS_RND_NONCE, dest, destlen);
}

static int
cb_client_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
			    size_t cidlen, void *user_data)
{
	(void)conn; (void)user_data;
	if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) != 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	cid->datalen = cidlen;
	return 0;
}

void
qs_quic_callbacks_init(ngtcp2_callbacks *cb, bool server)
{
	memset(cb, 0, sizeof(*cb));
	if (server) {
		cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
		/* a server's requests are the client's bidirectional streams */
		cb->extend_max_remote_streams_bidi = cb_extend_max_remote_streams_bidi;
	} else {
		cb->client_initial = ngtcp2_crypto_client_initial_cb;
		cb->recv_retry = cb_recv_retry;
		cb->rand = cb_client_rand;
		cb->get_new_connection_id = cb_client_new_connection_id;
	}
	cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
	cb->encrypt = ngtcp2_crypto_encrypt_cb;
	cb->decrypt = cb_decrypt;
	cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
	cb->update_key = cb_update_key;
	cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
	cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
	cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
	cb->version_negotiation = cb_version_negotiation;
	cb->recv_stream_data = cb_recv_stream_data;
	cb->acked_stream_data_offset = cb_acked_stream_data_offset;
	cb->stream_close = cb_stream_close;
	cb->stream_reset = qs_quic_cb_stream_reset;
	cb->stream_stop_sending = qs_quic_cb_stream_stop_sending;
	cb->extend_max_stream_data = cb_extend_max_stream_data;
}

/* ---- nghttp3 callbacks both ends use ---- */

int
qs_quic_h3_consumed(nghttp3_conn *h3, int64_t stream_id, size_t n,
		    void *user_data, void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)h3; (void)stream_user_data;
	qs_quic_consume(q->conn, stream_id, n);
	return 0;
}

static int
h3_recv_data(nghttp3_conn *h3, int64_t stream_id, const uint8_t *data,
	     size_t datalen, void *user_data, void *stream_user_data)
{
	(void)data;
	return qs_quic_h3_consumed(h3, stream_id, datalen, user_data,
				   stream_user_data);
}

static int
h3_stop_sending(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)h3; (void)stream_user_data;
	ngtcp2_conn_shutdown_stream_read(q->conn, stream_id, app_error_code);
	return 0;
}

static int
h3_reset_stream(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qs_quic_conn *q = user_data;

	(void)h3; (void)stream_user_data;
	ngtcp2_conn_shutdown_stream_write(q->conn, stream_id, app_error_code);
	return 0;
}

void
qs_quic_h3_callbacks_init(nghttp3_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	/* bodies are consumed as they arrive unless an end reads them */
	cb->recv_data = h3_recv_data;
	cb->deferred_consume = qs_quic_h3_consumed;
	cb->stop_sending = h3_stop_sending;
	cb->reset_stream = h3_reset_stream;
}
