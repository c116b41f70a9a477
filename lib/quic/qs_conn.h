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

#include "net/qs_classify.h"
#include "quic/qs_cidtab.h"
#include "quic/qs_env.h"
#include "quic/qs_qlog.h"
#include "quic/qs_quic_glue.h"
#include "quic/qs_timers.h"

#define QS_CONN_MAX_PATHS 4
/* server CIDs a connection may hold at once: the first SCID plus what
 * active_connection_id_limit lets ngtcp2 issue, with room for retiring */
#define QS_CONN_MAX_CIDS 16
#define QS_CONN_ACTIVE_CID_LIMIT 8

struct qs_conn;

/* The connections of one lcore and what they share: owned by its server
 * (quic/qs_server.c), reached by each connection through c->set. */
struct qs_conn_set {
	struct qs_env *env;
	struct qs_cidtab cids;          /* server CID or client ODCID -> conn */
	struct qs_timers timers;        /* connections by expiry */
	TAILQ_HEAD(, qs_conn) dirty;    /* have something to write */
	LIST_HEAD(, qs_conn) conns;
	uint32_t n_conns;
	uint32_t n_unvalidated;         /* of those, address not yet proven */
	bool shutting_down;             /* stop or drain: GOAWAY, refuse new */
	gnutls_anti_replay_t anti_replay;
};

enum qs_conn_state {
	QS_CONN_OPEN,
	QS_CONN_CLOSING,     /* our CONNECTION_CLOSE sent; resend on input */
	QS_CONN_DRAINING,    /* peer closed; silent until freed */
};

/* Where to reach a peer address: learnt from datagrams of it that ngtcp2
 * authenticated (and from the first Initial). A slot stays where it is, so
 * ngtcp2's own copy of the path points at it (ngtcp2_path.user_data). */
struct qs_peer_path {
	struct qs_net_path net;
	uint16_t port_id;
	bool used;
	uint64_t last_seen;                   /* ns: least recently seen goes */
};

struct qs_conn {
	struct qs_quic_conn q;                /* first: ngtcp2's user_data */
	struct qs_conn_set *set;
	enum qs_conn_state state;

	ngtcp2_cid cids[QS_CONN_MAX_CIDS];    /* in the lcore's CID table */
	uint8_t n_cids;
	ngtcp2_cid odcid;                     /* client's first DCID */
	ngtcp2_cid first_cid;                 /* our first: names it in logs */
	bool odcid_mapped;

	struct qs_peer_path paths[QS_CONN_MAX_PATHS];
	uint8_t n_paths;                      /* slots in use */
	struct qs_peer_path *cur;             /* ngtcp2's path at last read */

	uint8_t *close_pkt;                   /* CONNECTION_CLOSE to resend */
	size_t close_len;
	uint32_t close_rx;                    /* packets seen while closing */

	/* the application's requests (HTTP/3: http/qs_h3.c); opaque here */
	void *app_streams;
	uint32_t n_streams;
	bool addr_validated;                  /* by a token, or the handshake */
	uint32_t resets;                      /* by the peer, since resets_since */
	uint64_t resets_since;
	bool goaway_sent;                     /* the shutdown notice went */
	uint64_t goaway_at;                   /* ns: the final GOAWAY is due
					       * (0: not pending) */
	uint64_t goaway_final_at;             /* ns: when it went */
	bool handshake_done;
	struct qs_tls_creds *tls_creds;       /* held while q.tls lives */
	struct qs_qlog qlog;                  /* sampled at the start, armed,
					       * or off */

	struct qs_timer timer;                /* expiry in ns */
	bool dirty;
	TAILQ_ENTRY(qs_conn) dirty_link;
	LIST_ENTRY(qs_conn) link;

	uint64_t created_ns;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

/* The environment of the lcore the connection lives on. */
struct qs_env *qs_conn_env(const struct qs_conn *c);

/* Creates a connection for an acceptable Initial (hd) that arrived on
 * path; ocid is set when a Retry token named the original DCID. */
struct qs_conn *qs_conn_new(struct qs_conn_set *set, const ngtcp2_pkt_hd *hd,
			    const ngtcp2_cid *ocid, const struct qs_net_path *path,
			    uint16_t port_id);
/* Frees everything the connection holds and forgets its CIDs. */
void qs_conn_free(struct qs_conn *c);
/* The part of qs_conn_free that undoes qs_conn_new (also on its failure). */
void qs_conn_destroy(struct qs_conn *c);

/* What qs_conn_read asks of its caller. */
enum qs_conn_read_result {
	QS_CONN_READ_OK = 0,
	QS_CONN_READ_FREE = -1,     /* free the connection now */
	/* the first datagram was not the ClientHello's start (reordered):
	 * free the connection and answer with a Retry, as ngtcp2 asks */
	QS_CONN_READ_RETRY = -2,
};

/* Feeds one datagram; a qs_conn_read_result. */
int qs_conn_read(struct qs_conn *c, const struct qs_net_path *path,
		 uint16_t port_id, const uint8_t *data, size_t len);
/* Writes what the connection has to send; -1 when it is to be freed. */
int qs_conn_write(struct qs_conn *c);
/* Runs ngtcp2's timers; -1 when the connection is to be freed. */
int qs_conn_expire(struct qs_conn *c);
/* Graceful stop: the GOAWAY notice now, the final GOAWAY (naming the last
 * request taken) about two round trips later from the connection's timer,
 * so that requests already on their way are served (nghttp3 0.8). */
void qs_conn_shutdown(struct qs_conn *c);
/* Sends CONNECTION_CLOSE with NO_ERROR at once. */
void qs_conn_close_now(struct qs_conn *c);
/* `set qlog on`: starts the qlog of a connection created ARMED ([debug]
 * qlog_live) with its file's header; the events from now on follow.
 * Returns 0, or -1 when it was not ARMED (c->qlog.state says why). */
int qs_conn_qlog_start(struct qs_conn *c);

/* Requests open, or the final GOAWAY still to send. */
bool qs_conn_busy(const struct qs_conn *c);
/* Shut down and done: the final GOAWAY went three PTOs ago (a request
 * the client sent before it saw GOAWAY has arrived by then, retransmitted
 * if it was lost) and no request is open. */
bool qs_conn_finished(const struct qs_conn *c);

/* The connection has something to write (qs_server_run writes it). */
void qs_conn_mark_dirty(struct qs_conn *c);
/* Its timer.expiry changed. */
void qs_conn_timer_update(struct qs_conn *c);

#endif
