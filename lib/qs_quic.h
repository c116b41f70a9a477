/* QUIC <-> HTTP/3 glue shared by the server's connection handler
 * (qs_conn, qs_h3) and the load client (app/quicsteer-load): the ngtcp2
 * and nghttp3 calls that are the same on both sides. No DPDK here. */
#ifndef QS_QUIC_H
#define QS_QUIC_H

#include <stdbool.h>
#include <stdint.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>

/* Why qs_quic_write_pkt failed: an ngtcp2 or an nghttp3 error code. */
struct qs_quic_err {
	int code;
	bool h3;
};

/* Writes one packet of what nghttp3 (may be NULL before HTTP/3 is set up)
 * and ngtcp2 have into buf: its length, 0 when there is nothing to send,
 * or -1 with *ccerr set for the CONNECTION_CLOSE and *err saying why. */
ngtcp2_ssize qs_quic_write_pkt(ngtcp2_conn *conn, nghttp3_conn *h3,
			       ngtcp2_connection_close_error *ccerr,
			       uint8_t *buf, size_t cap, ngtcp2_path *path,
			       ngtcp2_pkt_info *pi, ngtcp2_tstamp ts,
			       struct qs_quic_err *err);

/* Sets ccerr for an ngtcp2 error (a TLS alert for NGTCP2_ERR_CRYPTO). */
void qs_quic_ccerr_liberr(ngtcp2_connection_close_error *ccerr,
			  ngtcp2_conn *conn, int liberr);
/* Sets ccerr for an nghttp3 error. */
void qs_quic_ccerr_h3(ngtcp2_connection_close_error *ccerr, int h3err);

/* Stream data from ngtcp2 into nghttp3, flow control credited back. A
 * malformed request or response resets that stream with H3_MESSAGE_ERROR;
 * other nghttp3 errors fail (-1, *ccerr set) and close the connection. */
int qs_quic_recv_stream_data(ngtcp2_conn *conn, nghttp3_conn *h3,
			     ngtcp2_connection_close_error *ccerr,
			     uint32_t flags, int64_t stream_id,
			     const uint8_t *data, size_t datalen);
/* Credits n consumed bytes to the stream's and the connection's window. */
void qs_quic_consume(ngtcp2_conn *conn, int64_t stream_id, size_t n);

/* Opens the HTTP/3 control and QPACK streams and binds them. */
int qs_quic_bind_h3_streams(ngtcp2_conn *conn, nghttp3_conn *h3);

#endif
