/* One QUIC connection and its HTTP/3 session: the per-connection handler
 * (ngtcp2 and nghttp3 callbacks), owned by exactly one worker lcore. */
#ifndef QS_CONN_H
#define QS_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "qs_net.h"

#define QS_CONN_MAX_PATHS 4
/* server CIDs a connection may hold at once: the first SCID plus what
 * active_connection_id_limit lets ngtcp2 issue, with room for retiring */
#define QS_CONN_MAX_CIDS 16
#define QS_CONN_ACTIVE_CID_LIMIT 8
#define QS_H3_PATH_MAX 1024

struct qs_server;

enum qs_conn_state {
	QS_CONN_OPEN,
	QS_CONN_CLOSING,     /* our CONNECTION_CLOSE sent; resend on input */
	QS_CONN_DRAINING,    /* peer closed; silent until freed */
};

/* Where to reach a peer address: learnt from the packets it sent. */
struct qs_peer_path {
	struct qs_net_path net;
	uint16_t port_id;
};

struct qs_h3_stream {
	int64_t id;
	struct qs_h3_stream *next;   /* connection's list, or the free list */
	char method[8];
	char path[QS_H3_PATH_MAX];
	uint16_t path_len;
	bool path_too_long;
	bool responded;
	/* response body: a file in the content store, or /bytes/N */
	const uint8_t *body;
	uint64_t body_left;          /* /bytes/N still to hand to nghttp3 */
	uint64_t unacked;            /* handed to nghttp3, not yet acked */
	bool synthetic;
};

struct qs_conn {
	struct qs_server *srv;
	ngtcp2_conn *conn;
	nghttp3_conn *h3;
	gnutls_session_t tls;
	ngtcp2_crypto_conn_ref conn_ref;
	enum qs_conn_state state;

	ngtcp2_cid cids[QS_CONN_MAX_CIDS];    /* in the lcore's CID table */
	uint8_t n_cids;
	ngtcp2_cid odcid;                     /* client's first DCID */
	bool odcid_mapped;

	struct qs_peer_path paths[QS_CONN_MAX_PATHS];
	uint8_t n_paths;
	struct qs_net_path cur_path;          /* ngtcp2's path at last read */

	ngtcp2_connection_close_error last_error;
	uint8_t *close_pkt;                   /* CONNECTION_CLOSE to resend */
	size_t close_len;
	uint32_t close_rx;                    /* packets seen while closing */

	struct qs_h3_stream *streams;
	uint32_t n_streams;
	bool goaway_sent;
	bool handshake_done;

	/* timer heap position and expiry (ns) */
	uint32_t heap_idx;
	uint64_t expiry;
	bool dirty;
	TAILQ_ENTRY(qs_conn) dirty_link;
	LIST_ENTRY(qs_conn) link;

	uint64_t created_ns;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

/* Creates a connection for an acceptable Initial (hd) that arrived on
 * path; ocid is set when a Retry token named the original DCID. */
struct qs_conn *qs_conn_new(struct qs_server *srv, const ngtcp2_pkt_hd *hd,
			    const ngtcp2_cid *ocid, const struct qs_net_path *path,
			    uint16_t port_id);
/* Frees everything the connection holds and forgets its CIDs. */
void qs_conn_free(struct qs_conn *c);
/* The part of qs_conn_free that undoes qs_conn_new (also on its failure). */
void qs_conn_destroy(struct qs_conn *c);

/* Feeds one datagram; returns 0, or -1 when the connection is to be freed
 * now. */
int qs_conn_read(struct qs_conn *c, const struct qs_net_path *path,
		 uint16_t port_id, const uint8_t *data, size_t len);
/* Writes what the connection has to send; -1 when it is to be freed. */
int qs_conn_write(struct qs_conn *c);
/* Runs ngtcp2's timers; -1 when the connection is to be freed. */
int qs_conn_expire(struct qs_conn *c);
/* Graceful stop: GOAWAY now, CONNECTION_CLOSE when streams are done. */
void qs_conn_shutdown(struct qs_conn *c);
/* Sends CONNECTION_CLOSE with NO_ERROR at once. */
void qs_conn_close_now(struct qs_conn *c);

/* HTTP/3 side (qs_h3.c) */
void qs_h3_global_init(void);    /* once, before the workers start */
int qs_h3_setup(struct qs_conn *c);
void qs_h3_free_streams(struct qs_conn *c);

#endif
