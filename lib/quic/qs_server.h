/* The per-lcore QUIC server: demultiplexes owned datagrams to connections
 * through a CID table (rte_hash), accepts Initials, answers what no
 * connection claims (Version Negotiation, Retry, stateless reset, refusal),
 * and drives connection timers from a min-heap. Touched only by its lcore. */
#ifndef QS_SERVER_H
#define QS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "quic/qs_conn.h"
#include "quic/qs_env.h"

struct qs_server {
	struct qs_conn_set set;         /* its connections */
	uint32_t max_conns;
};

/* A server on env's lcore; socket is its NUMA node. */
int qs_server_init(struct qs_server *srv, struct qs_env *env, int socket);
void qs_server_fini(struct qs_server *srv);

/* One QUIC datagram this lcore owns (classified, offsets in the mbuf);
 * consumes m. */
void qs_server_input(struct qs_server *srv, struct rte_mbuf *m);
/* Runs due timers, then writes for every connection with work; returns
 * how many connections it served (0: nothing to do). */
unsigned int qs_server_run(struct qs_server *srv);
/* Starts the graceful stop on every connection (and on those still in
 * their handshake once it completes); new connections are refused from
 * now on. For a stop and for a drain. */
void qs_server_shutdown(struct qs_server *srv);
/* Drain: closes (CONNECTION_CLOSE, NO_ERROR) every connection that is
 * done, its final GOAWAY sent and no request left for a while. */
void qs_server_close_finished(struct qs_server *srv);
/* Closes every connection now (CONNECTION_CLOSE) and frees it. */
void qs_server_close_all(struct qs_server *srv);
/* Some connection still has requests, or its final GOAWAY to send. */
bool qs_server_busy(const struct qs_server *srv);


#endif
