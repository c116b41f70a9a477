#include "qs_quic.h"

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

ngtcp2_ssize
qs_quic_write_pkt(ngtcp2_conn *conn, nghttp3_conn *h3,
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

int
qs_quic_bind_h3_streams(ngtcp2_conn *conn, nghttp3_conn *h3)
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
