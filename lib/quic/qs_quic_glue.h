/* QUIC <-> HTTP/3 glue shared by the server's connection (quic/qs_conn.c,
 * http/qs_h3.c) and the load client's (app/quicsteer-load): the ngtcp2 and
 * nghttp3 callbacks and calls that are the same on both ends. No DPDK here.
 *
 * Both ends embed struct qs_quic_conn first in their connection and pass
 * the connection as ngtcp2's and nghttp3's user_data, so the callbacks
 * below find the shared part whichever end they run on. What differs
 * (handshake done, new CIDs, when HTTP/3 starts, what a request does) each
 * end sets in the callback tables after qs_quic_callbacks_init. */
#ifndef QS_QUIC_GLUE_H
#define QS_QUIC_GLUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "base/qs_alloc.h"
#include "quic/qs_frame_guard.h"
#include "quic/qs_pn_guard.h"

/* QPACK settings both ends announce */
#define QS_QPACK_MAX_DTABLE 4096
#define QS_QPACK_BLOCKED_STREAMS 100

/* What one connection's libraries hold on the heap, counted through their
 * allocator hooks (malloc_usable_size: what the allocator really gave). */
enum qs_quic_mem_owner { QS_MEM_NGTCP2, QS_MEM_NGHTTP3, QS_MEM_OWNERS };

struct qs_quic_conn {
	ngtcp2_conn *conn;
	nghttp3_conn *h3;                     /* NULL until HTTP/3 starts */
	gnutls_session_t tls;
	ngtcp2_crypto_conn_ref conn_ref;      /* how GnuTLS finds conn */
	ngtcp2_connection_close_error last_error;
	struct qs_pn_guard pn;                /* see qs_pn_guard.h */
	struct qs_frame_guard frames;         /* see qs_frame_guard.h */
	/* what the last qs_quic_read_pkt saw */
	bool rx_authentic;                    /* a packet authenticated */
	uint32_t rx_refused;                  /* packets the guard refused */
	uint32_t rx_frames_ignored;           /* repeated NEW_CONNECTION_IDs */
	struct qs_alloc *alloc;               /* the lcore's, or NULL: libc */
	ngtcp2_mem ngtcp2_mem;                /* hooks naming this connection */
	nghttp3_mem nghttp3_mem;
	uint64_t mem[QS_MEM_OWNERS];          /* bytes held, by library */
	uint64_t *mem_total[QS_MEM_OWNERS];   /* the thread's sums, or NULL */
};

/* Same family, address and port (IPv4 or IPv6): the same path end. */
bool qs_quic_addr_eq(const struct sockaddr *a, const struct sockaddr *b);

/* Before a connection: the TLS hook finds q, no close error yet; what
 * ngtcp2 and nghttp3 allocate for it comes from q->alloc (NULL: libc's
 * malloc; an end sets it before creating the connection) and is counted
 * in q->mem (and in *q->mem_total[owner] where an end sets those). Pass &q->ngtcp2_mem
 * to ngtcp2_conn_*_new; qs_quic_h3_start passes nghttp3's. */
void qs_quic_conn_init(struct qs_quic_conn *q);

/* ngtcp2's crypto helper set up on a GnuTLS session of either end, with
 * the receive IVs going to the packet-number guard. 0, or -1. */
int qs_quic_tls_configure(gnutls_session_t session, bool server);

/* ngtcp2_conn_read_pkt through the packet-number and frame guards;
 * afterwards q->rx_authentic, q->rx_refused and q->rx_frames_ignored say
 * what the datagram held. Every
 * read of a connection that has the glue's callbacks goes through here. */
int qs_quic_read_pkt(struct qs_quic_conn *q, const ngtcp2_path *path,
		     const ngtcp2_pkt_info *pi, const uint8_t *data, size_t len,
		     ngtcp2_tstamp ts);

/* The peer reset a stream or asked us to stop sending on it: HTTP/3 stops
 * reading it. Exported so an end can count resets before passing on. */
int qs_quic_cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id,
			    uint64_t final_size, uint64_t app_error_code,
			    void *user_data, void *stream_user_data);
int qs_quic_cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id,
				   uint64_t app_error_code, void *user_data,
				   void *stream_user_data);

/* The callbacks both ends share, and the crypto helper's for the role; a
 * client also gets random bytes and random CIDs from GnuTLS (a server
 * sets its own: its CIDs name their owner). */
void qs_quic_callbacks_init(ngtcp2_callbacks *cb, bool server);
void qs_quic_h3_callbacks_init(nghttp3_callbacks *cb);

/* Creates q->h3 with cb (user_data q) and binds the control and QPACK
 * streams; does nothing when it exists. max_field_section_size is what the
 * SETTINGS frame announces (0: no limit). 0, or -1. */
int qs_quic_h3_start(struct qs_quic_conn *q, bool server,
		     const nghttp3_callbacks *cb, uint64_t max_field_section_size);

/* Why qs_quic_write_pkt failed: an ngtcp2 or an nghttp3 error code. */
struct qs_quic_err {
	int code;
	bool h3;
};

/* Writes one packet of what nghttp3 (q->h3, NULL before HTTP/3 is set up)
 * and ngtcp2 have into buf: its length, 0 when there is nothing to send,
 * or -1 with q->last_error set for the CONNECTION_CLOSE and *err saying
 * why. */
ngtcp2_ssize qs_quic_write_pkt(struct qs_quic_conn *q,
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

/* nghttp3 recv_data/deferred_consume: credits what HTTP/3 consumed. */
int qs_quic_h3_consumed(nghttp3_conn *h3, int64_t stream_id, size_t n,
			void *user_data, void *stream_user_data);

#endif
