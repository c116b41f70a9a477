/* The per-lcore QUIC server: demultiplexes owned datagrams to connections
 * through a CID table (rte_hash), accepts Initials, answers what no
 * connection claims (Version Negotiation, Retry, stateless reset, refusal),
 * and drives connection timers from a min-heap. Touched only by its lcore. */
#ifndef QS_SERVER_H
#define QS_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <gnutls/gnutls.h>
#include <rte_hash.h>
#include <rte_mbuf.h>

#include "qs_conn.h"

struct qs_lcore;

struct qs_server {
	struct qs_lcore *lc;
	struct rte_hash *cids;          /* server CID or client ODCID -> conn */
	struct qs_conn **heap;          /* by expiry, soonest first */
	uint32_t heap_len;
	uint32_t max_conns;
	uint32_t n_conns;
	TAILQ_HEAD(, qs_conn) dirty;    /* have something to write */
	LIST_HEAD(, qs_conn) conns;
	gnutls_anti_replay_t anti_replay;
	struct qs_h3_stream *free_streams;
	uint32_t n_free_streams;
	/* Retry in auto mode: handshakes started in the current second */
	uint64_t hs_window_start;
	uint32_t hs_in_window;
	bool stopping;
};

int qs_server_init(struct qs_server *srv, struct qs_lcore *lc, int socket);
void qs_server_fini(struct qs_server *srv);

/* One QUIC datagram this lcore owns (classified, offsets in the mbuf);
 * consumes m. */
void qs_server_input(struct qs_server *srv, struct rte_mbuf *m);
/* Runs due timers, then writes for every connection with work; returns
 * how many connections it served (0: nothing to do). */
unsigned int qs_server_run(struct qs_server *srv);
/* Starts the graceful stop on every connection. */
void qs_server_shutdown(struct qs_server *srv);
/* Closes every connection now (CONNECTION_CLOSE) and frees it. */
void qs_server_close_all(struct qs_server *srv);
bool qs_server_has_active_streams(const struct qs_server *srv);

/* Used by connections. A server CID is also recorded in c->cids so the
 * connection can forget all of its CIDs when it goes. */
int qs_server_add_cid(struct qs_server *srv, const ngtcp2_cid *cid,
		      struct qs_conn *c);
void qs_server_del_cid(struct qs_server *srv, const ngtcp2_cid *cid);
/* The client's first DCID: in the table, not among c->cids. */
int qs_server_add_cid_key(struct qs_server *srv, const ngtcp2_cid *cid,
			  struct qs_conn *c);
void qs_server_del_cid_key(struct qs_server *srv, const ngtcp2_cid *cid);
void qs_server_mark_dirty(struct qs_server *srv, struct qs_conn *c);
void qs_server_timer_update(struct qs_server *srv, struct qs_conn *c);
void qs_server_timer_remove(struct qs_server *srv, struct qs_conn *c);
struct qs_h3_stream *qs_server_stream_get(struct qs_server *srv);
void qs_server_stream_put(struct qs_server *srv, struct qs_h3_stream *s);

#endif
