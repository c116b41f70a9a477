/* quicsteer-load: an h2load-style HTTP/3 load generator on kernel UDP
 * sockets (ngtcp2 client + nghttp3 + GnuTLS). One event loop per thread;
 * each thread owns a set of connection slots and nothing else touches
 * them. This header holds what the files share. */
#ifndef QSL_H
#define QSL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "base/qs_alloc.h"
#include "qsl_stats.h"
#include "quic/qs_quic_glue.h"
#include "quic/qs_timers.h"

#define QSL_NAME "quicsteer-load"

/* ---- options (read-only once the run starts) ---- */

struct qsl_uri {
	char *text;		/* as given */
	char *authority;	/* host[:port], IPv6 in brackets */
	char *path;		/* path and query, at least "/" */
	char host[256];		/* without brackets */
	char port[8];
	bool host_is_ip;
};

enum qsl_move {
	QSL_MOVE_NONE,
	QSL_MOVE_REBIND,	/* NAT rebinding: ngtcp2_conn_set_local_addr */
	QSL_MOVE_MIGRATE,	/* active: ngtcp2_conn_initiate_immediate_migration */
};

#define QSL_MAX_HEADERS 8
#define QSL_MAX_LOCAL 64	/* --local addresses */

struct qsl_options {
	uint32_t conns;		/* -c */
	uint64_t requests;	/* -n; 0 with -D */
	double duration_s;	/* -D; 0 with -n */
	uint32_t streams;	/* -m: concurrent requests per connection */
	uint32_t threads;	/* -t */
	uint64_t conn_requests;	/* --conn-requests: reconnect after N (0: never) */
	uint64_t rebind_every;	/* --rebind-every */
	double rebind_fraction;	/* --rebind-fraction: share of slots that move */
	enum qsl_move move;
	uint64_t hold_ns;	/* --hold: keep finished connections open */
	uint32_t max_pending;	/* --max-pending: handshakes at once (0: any) */
	/* --rapid-reset: request streams each connection opens and resets at
	 * once, per second (0: off, normal requests) */
	double rapid_reset_rate;
	bool resume;
	bool insecure;
	const char *ca;
	bool json;
	bool quiet;
	bool verbose;
	bool single;		/* print one body to stdout, curl-like */
	/* UDP segmentation offload on send and receive: asked for (no
	 * --no-gso / --no-gro) and accepted by the kernel at start */
	bool gso;
	bool gro;
	uint64_t timeout_ns;	/* --timeout: idle, handshake and no-progress */
	uint64_t max_time_ns;	/* --max-time: the whole run (0: no limit) */
	uint64_t run_start_ns;
	struct qsl_uri *uris;
	size_t n_uris;
	/* -H: extra request header fields, sent as given (h2load's -H) */
	nghttp3_nv headers[QSL_MAX_HEADERS];
	size_t n_headers;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	/* --local: source addresses (port 0), connections spread over them;
	 * none: the kernel picks. One address has only the ephemeral port
	 * range (about 28,000) for its connections. */
	struct sockaddr_storage local[QSL_MAX_LOCAL];
	socklen_t local_len;
	uint32_t n_local;
};

/* ---- TLS (tls.c): shared credentials, per-connection sessions ---- */

struct qsl_tls {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t priority;
	bool verify;
	/* from the priming connection (--resume); read-only afterwards */
	gnutls_datum_t ticket;
	ngtcp2_transport_params params;
	bool have_params;
};

int qsl_tls_init(struct qsl_tls *tls, const struct qsl_options *opt);
void qsl_tls_fini(struct qsl_tls *tls);
/* A client session for host; with a ticket (the thread's newest, else
 * the priming one) it resumes and *early is set (0-RTT can be
 * attempted). */
int qsl_tls_session_new(const struct qsl_tls *tls, gnutls_session_t *out,
			const struct qsl_uri *uri, ngtcp2_crypto_conn_ref *ref,
			bool use_ticket, const gnutls_datum_t *own_ticket,
			bool *early);

/* ---- connections (client.c) and HTTP/3 (h3.c) ---- */

struct qsl_worker;
struct qsl_conn;
struct qsl_txq;		/* datagrams on their way to the kernel (client.c) */
struct qsl_rx;		/* one recvmmsg batch (client.c) */

/* One UDP socket of a connection: the current one, or the one it
 * migrated away from (kept until the next move). */
struct qsl_sock {
	int fd;
	struct qsl_conn *conn;
	struct sockaddr_storage local;
	socklen_t local_len;
	uint32_t rx_dropped;	/* the kernel's drop count last seen */
	bool want_out;		/* EPOLLOUT registered */
};

/* A request slot, the ngtcp2 and nghttp3 user data of its stream: free
 * again as soon as the response has ended, before the stream closes */
struct qsl_stream {
	int64_t id;		/* -1: free */
	uint32_t uri;
	uint16_t status;
	bool ended;		/* the response arrived in full */
	bool reset;		/* the peer reset it first */
	uint64_t t_start, t_first;
	uint64_t body;
};

enum qsl_slot_state {
	QSL_SLOT_IDLE,		/* waiting to (re)connect at reconnect_at */
	QSL_SLOT_ACTIVE,	/* a connection is open */
	QSL_SLOT_DONE,		/* nothing more to do */
};

#define QSL_RR_BATCH 64		/* --rapid-reset: most streams opened at once */

/* A connection slot: -c of them, each owning its share of the requests
 * and, at any time, at most one QUIC connection. */
struct qsl_conn {
	struct qs_quic_conn q;	/* first: ngtcp2's and nghttp3's user_data */
	struct qsl_worker *w;
	uint32_t index;
	enum qsl_slot_state state;
	uint64_t quota;		/* requests left to start (UINT64_MAX: -D) */
	uint64_t reconnect_at;
	/* in the worker's heap by the slot's next deadline (qsl_slot_due);
	 * an idle slot waiting for a --max-pending place is on the wait
	 * list instead */
	struct qs_timer timer;
	struct qsl_conn *wait_next;
	bool waiting;

	/* the current connection: c->q */
	struct qsl_sock socks[2];
	int cur;		/* index of the current socket */
	struct qsl_stream *streams;	/* opt->streams of them */
	uint32_t inflight;
	uint64_t expiry;	/* ngtcp2's next timer */
	uint64_t progress_at;	/* last response bytes or completion */
	uint64_t t_connect;
	uint64_t served;	/* requests completed on this connection */
	uint64_t since_move;	/* completed since the last rebind/migration */
	uint64_t ticket_wait_until; /* priming: wait this long for a ticket */
	uint32_t moves;		/* migrations/rebindings of this connection */
	uint32_t uri_next;
	uint32_t local_idx;	/* its --local address, kept across moves */
	bool handshake_done, confirmed;
	bool early_data;	/* 0-RTT attempted */
	bool got_reset;		/* recv_stateless_reset fired */
	bool goaway;		/* the server will take no new requests */
	bool closing;		/* stop starting requests; close when idle */
	bool got_ticket;
	bool move_due;
	bool rebinds;		/* this slot moves (--rebind-fraction) */
	bool pending;		/* handshake under way (--max-pending) */
	bool holding;		/* requests done, kept open idle (--hold) */

	/* --rapid-reset: the token bucket, and the streams whose HEADERS
	 * went out and are reset next */
	double rr_credit;
	uint64_t rr_last;
	uint64_t rr_next_at;	/* when the next stream is due (0: none) */
	int64_t rr_pending[QSL_RR_BATCH];
	uint32_t rr_n_pending;

	/* datagrams the kernel would not take yet (EPOLLOUT resumes), or
	 * NULL */
	struct qsl_txq *blocked;
};

/* error kinds, in report order */
enum qsl_err {
	QSL_ERR_HANDSHAKE,
	QSL_ERR_RESET,
	QSL_ERR_TIMEOUT,
	QSL_ERR_STATUS,
	QSL_ERR_OTHER,
	QSL_ERR_MAX,
};

extern const char *const qsl_err_names[QSL_ERR_MAX];

struct qsl_worker {
	uint32_t id;
	pthread_t thread;
	const struct qsl_options *opt;
	struct qsl_tls *tls;
	struct qs_alloc alloc;		/* its connections' ngtcp2 and nghttp3 */
	int epfd;
	struct qsl_conn *conns;
	uint32_t n_conns;
	uint32_t n_done;
	struct qs_timers timers;	/* slots by their next deadline */
	struct qsl_conn *wait_head, *wait_tail;	/* for a --max-pending place */
	bool priming;		/* the --resume connection that fetches a ticket */
	bool draining;		/* -D over or interrupted: no new requests */
	bool aborted;		/* the drain time ran out: all closed */
	uint64_t start_ns;
	uint64_t deadline_ns;	/* -D end; UINT64_MAX with -n */
	uint64_t drain_until;	/* in-flight requests get until then */
	uint32_t max_pending;	/* this thread's share of --max-pending */
	uint32_t n_pending;	/* connections in their handshake */
	uint32_t n_holding;	/* connections held open (--hold) */
	uint64_t hold_end;	/* when the held connections close (0: not yet) */
	int holding;		/* atomic: every slot is held or done */
	/* --resume: the newest session ticket one of this thread's
	 * connections received (RFC 8446 C.4: a ticket is for one use;
	 * GnuTLS servers reject 0-RTT on a ticket older than their
	 * anti-replay window) */
	gnutls_datum_t ticket;
	struct qsl_stats stats;
	char errmsg[QSL_ERR_MAX][256];	/* the first error of each kind */
	int finished;		/* atomic: set when the loop returned */
	uint64_t cpu_ns;	/* the thread's CPU time (user+sys) at the end */
	bool gso;		/* opt->gso until the kernel refuses a GSO send */
	struct qsl_rx *rx;
	struct qsl_txq *tx;	/* the write pass being built */
};

/* set by SIGINT/SIGTERM; workers stop starting requests and wind down */
extern volatile int qsl_stop;

uint64_t qsl_now(void);
void *qsl_worker_run(void *arg);
void qsl_worker_fini(struct qsl_worker *w);
int qsl_worker_init(struct qsl_worker *w, uint32_t id,
		    const struct qsl_options *opt, struct qsl_tls *tls,
		    uint32_t n_conns);
void qsl_note_error(struct qsl_conn *c, enum qsl_err kind, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
/* Which UDP offloads the kernel accepts for the remote's family: clears
 * opt->gso / opt->gro when it refuses them (said with -v). */
void qsl_udp_offload_probe(struct qsl_options *opt);

/* h3.c */
int qsl_h3_setup(struct qsl_conn *c);
void qsl_h3_free(struct qsl_conn *c);
int qsl_h3_submit(struct qsl_conn *c);
/* ngtcp2's stream_reset: a request the peer reset is over (failed) at
 * once; then the shared callback. */
int qsl_h3_cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id,
			   uint64_t final_size, uint64_t app_error_code,
			   void *user_data, void *stream_user_data);
/* --rapid-reset: opens the streams the rate allows now, each with a
 * request, and resets them (after their HEADERS were written, with
 * write() — conn_write); sets c->rr_next_at. 0, or -1. */
int qsl_h3_rapid_reset(struct qsl_conn *c, uint64_t now,
		       int (*write)(struct qsl_conn *c));
/* Drops all request state after rejected 0-RTT: the requests go back to
 * the slot's quota and are sent again over 1-RTT. */
void qsl_h3_requeue(struct qsl_conn *c);
/* Counts the requests still in flight as failed (kind) or aborted. */
void qsl_h3_fail_inflight(struct qsl_conn *c, bool aborted);

#define STAT_ADD(w, field, n) \
	__atomic_store_n(&(w)->stats.c.field, (w)->stats.c.field + (n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(w, field) STAT_ADD(w, field, 1)

#endif
