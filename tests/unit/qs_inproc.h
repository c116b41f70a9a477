/* The in-process QUIC rig of tests/unit/test_server.c and of the server
 * fuzz binaries (tests/fuzz/server_harness.c, make_server_seeds.c): one
 * per-lcore server (quic/qs_server.h) wired as the dataplane wires a
 * worker (dataplane/qs_lcore.c lcore_new), datagrams in as frames through
 * qs_net_classify, frames out through a TX burst of the rig's; and a real
 * ngtcp2 + nghttp3 + GnuTLS client on the shared glue
 * (quic/qs_quic_glue.h), as quicsteer-load's is. No threads, no sockets:
 * the program moves every datagram and owns the clock (the fuzz build's
 * is virtual). Compiled into each program from this file, as qs_frames.c
 * is, so that the fuzz build instruments it with the server. */
#ifndef QS_INPROC_H
#define QS_INPROC_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "base/qs_alloc.h"
#include "base/qs_config.h"
#include "base/qs_ratelimit.h"
#include "base/qs_stats.h"
#include "http/qs_h3.h"
#include "net/qs_port.h"
#include "net/qs_tx.h"
#include "quic/qs_env.h"
#include "quic/qs_quic_glue.h"
#include "quic/qs_server.h"
#include "steer/qs_cid.h"

#define QS_INPROC_CAPTURE_MAX 1024   /* frames the capture burst keeps */
#define QS_INPROC_UDP_MAX 1452       /* the client's largest datagram */
#define QS_INPROC_BURST 64           /* client datagrams per flush */
#define QS_INPROC_REQS 24            /* requests per client */
#define QS_INPROC_AUTHORITY "198.18.0.1"
#define QS_INPROC_INDEX_HTML "<!doctype html><title>qs</title><h1>index</h1>\n"

#define QS_INPROC_NV(n, v) \
	{(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
	 NGHTTP3_NV_FLAG_NO_COPY_NAME | NGHTTP3_NV_FLAG_NO_COPY_VALUE}

/* Prints "program: what: detail" and exits 2: setup cannot go on. */
void qs_inproc_die(const char *what, const char *detail);

/* ---- fixtures: certificate, key and docroot in a temporary directory ---- */

struct qs_inproc_files {
	char dir[PATH_MAX];
	char cert[PATH_MAX], key[PATH_MAX], docroot[PATH_MAX];
};

/* The self-signed ECDSA P-256 certificate for 198.18.0.1 (an IP address
 * SAN, so a client can verify the name too). Its key comes from
 * gnutls_rnd: the fuzz build's draws make it the same in every process. */
struct qs_inproc_cert {
	const char *cn;
	const uint8_t *serial;     /* 8 bytes, or NULL: random */
	time_t not_before, not_after;
	gnutls_pk_algorithm_t pk;  /* 0: ECDSA */
	unsigned int bits;         /* 0: P-256 (ECDSA), else the key's size */
};

/* $TMPDIR/qs-<name>-XXXXXX with cert.pem, key.pem and www/: index.html
 * (QS_INPROC_INDEX_HTML) and notes.txt (notes_len bytes of
 * qs_inproc_notes). Exits on failure. */
void qs_inproc_files_make(struct qs_inproc_files *fx, const char *name,
			  const struct qs_inproc_cert *cert, size_t notes_len);
/* One more docroot file, rel "name" or "dir/name" (dir made first). */
void qs_inproc_files_put(const struct qs_inproc_files *fx, const char *rel,
			 const void *data, size_t len);
/* The directory and all in it; nothing when it was never made. */
void qs_inproc_files_remove(struct qs_inproc_files *fx);
/* Text over several packets, every line different. */
void qs_inproc_notes(uint8_t *buf, size_t len);

/* ---- the server ---- */

/* 16 spans for 32 classes: small enough that a few connections use it up
 * and the allocator's libc fallback runs too (test_server, fuzz_server) */
#define QS_INPROC_ALLOC_REGION ((size_t)1 << 20)

struct qs_inproc {
	struct qs_config cfg;
	struct qs_alloc alloc;           /* env.alloc */
	struct qs_cid_codec codec;
	struct rte_mempool *pool;
	unsigned int n_mbufs;
	struct qs_port ports[1];
	uint8_t port_index[RTE_MAX_ETHPORTS];
	struct qs_stats stats;
	struct qs_ratelimit reset_limit;
	struct qs_h3_lcore h3;
	struct qs_tls_creds *tls;        /* generation of cfg: credentials */
	struct qs_content *content;      /* ... and the store */
	struct qs_tx tx;
	struct qs_env env;
	struct qs_server srv;
	bool srv_up;

	uint64_t (*clock)(void);   /* both ends', ns */
	uint64_t skew;             /* added to it: a test's jump forward */

	/* what the TX burst took (the rig is the NIC), for the program to
	 * take apart; a program may set a burst of its own instead */
	struct rte_mbuf *captured[QS_INPROC_CAPTURE_MAX];
	unsigned int n_captured;
	unsigned int capture_overflow;     /* freed: captured[] was full */
};

static inline uint64_t
qs_inproc_now(const struct qs_inproc *s)
{
	return s->clock() + s->skew;
}

/* Defaults, our addresses and port 443, fx's files, max_conns, and a
 * known reset secret (0x40 + i: a test derives the tokens). The caller
 * may change more before qs_inproc_init. */
void qs_inproc_config(struct qs_inproc *s, const struct qs_inproc_files *fx,
		      unsigned int max_conns);
/* What qs_dataplane_init and lcore_new do for one worker on one port:
 * codec, reset and token secrets, TLS, content, HTTP/3, an mbuf pool of
 * n_mbufs named name, the port, the reset limiter, the TX queues with the
 * capture burst, the environment on clock. env.max_udp_payload stays 0
 * (ngtcp2's default) for the program to set: the fuzz build has no
 * qs_port.c. Exits on failure. */
void qs_inproc_init(struct qs_inproc *s, const char *name,
		    unsigned int n_mbufs, uint64_t (*clock)(void));
/* qs_server_init at the clock's now. */
void qs_inproc_start(struct qs_inproc *s);
/* Everything of qs_inproc_init undone, captured frames freed; returns how
 * many mbufs were not back in the pool before it went. */
unsigned int qs_inproc_fini(struct qs_inproc *s);

/* Where a datagram comes from, and where answers go back to. */
struct qs_inproc_addr {
	bool ipv6;
	uint32_t v4;                     /* network order */
	const uint8_t *v6;
	uint16_t port;                   /* host order */
	const struct rte_ether_addr *mac;
};

/* A datagram from src with ECN bits ecn, framed, classified and checked as
 * the RX stage and the owner do (dataplane/qs_rx.h, qs_lcore.c), into
 * qs_server_input. NULL, or what went wrong (the datagram is dropped). */
const char *qs_inproc_input(struct qs_inproc *s,
			    const struct qs_inproc_addr *src, uint8_t ecn,
			    const uint8_t *payload, size_t len);
/* The server's timers and writes when run (a pass of a worker's loop),
 * then what the TX queue holds out through the burst. */
void qs_inproc_step(struct qs_inproc *s, bool run);

/* A frame the server sent, taken apart. */
struct qs_inproc_frame {
	const struct rte_ether_addr *dst_mac;
	bool ipv6;
	uint32_t dst_v4;                 /* network order */
	const uint8_t *dst_v6;
	uint16_t dport;                  /* host order */
	uint8_t ecn;
	const uint8_t *payload;          /* the UDP payload, inside the mbuf */
	uint16_t len;
};

/* NULL when m is one well-formed Ethernet/IP/UDP frame from our MAC,
 * address and port with both checksums right (f filled); else the check
 * it failed. */
const char *qs_inproc_frame_parse(const struct rte_mbuf *m,
				  struct qs_inproc_frame *f);

/* ---- the client: one ngtcp2 connection and its HTTP/3 session ---- */

/* One request and what came back. */
struct qs_inproc_req {
	const char *name;          /* the caller's, for messages */
	int64_t id;
	unsigned int status;
	char content_type[64];
	char allow[32];
	bool has_length;
	uint64_t content_length;
	uint8_t *body;
	size_t body_len;
	size_t body_cap;
	bool ended;                /* the response arrived in full */
	bool closed;               /* nghttp3 closed the stream */
	uint64_t error;            /* its close code */
};

union qs_inproc_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct qs_inproc_client;

/* The wire towards the server: each datagram a flush wrote; last on the
 * flush's last. */
typedef void (*qs_inproc_send_t)(struct qs_inproc_client *c,
				 const uint8_t *dgram, size_t len, uint8_t ecn,
				 bool last);

/* What a program's clients have in common. */
struct qs_inproc_client_conf {
	qs_inproc_send_t send;
	const char *user_agent;
	const char *ca;            /* PEM to verify the server by; NULL: none */
	bool early_data;           /* a session that can carry 0-RTT */
	uint32_t max_stream_data;  /* the windows it offers */
	uint32_t max_data;
	void (*callbacks)(ngtcp2_callbacks *cb);   /* adds its own, or NULL */
};

struct qs_inproc_client {
	struct qs_quic_conn q;     /* first: ngtcp2's and nghttp3's user_data */
	struct qs_inproc *s;
	const struct qs_inproc_client_conf *conf;
	void *arg;                 /* the program's; set after _new */
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t priority;
	struct qs_inproc_addr src; /* where its datagrams come from */
	union qs_inproc_sockaddr local, remote;
	socklen_t addrlen;
	uint64_t expiry;
	int err;                   /* the ngtcp2 error that ended it, or 0 */
	bool closed;               /* it sent CONNECTION_CLOSE: no more I/O */
	unsigned int goaways;      /* GOAWAY frames received */
	int64_t goaway_id;         /* the last one's stream ID */
	struct qs_inproc_req reqs[QS_INPROC_REQS];
	size_t n_reqs;
};

/* A new connection from src to our address (of src's family), port 443,
 * after freeing what c held; big_hello spreads the ClientHello over two
 * Initials; token (or NULL) from an earlier NEW_TOKEN. 0, or -1. */
int qs_inproc_client_new(struct qs_inproc_client *c, struct qs_inproc *s,
			 const struct qs_inproc_client_conf *conf,
			 const struct qs_inproc_addr *src, bool big_hello,
			 const ngtcp2_vec *token);
void qs_inproc_client_free(struct qs_inproc_client *c);
/* HTTP/3 now, before the handshake (0-RTT); qs_quic_h3_start's result. */
int qs_inproc_client_h3_start(struct qs_inproc_client *c);

/* c's addresses become src's; ngtcp2 is not told. */
void qs_inproc_client_addrs(struct qs_inproc_client *c,
			    const struct qs_inproc_addr *src);
/* A NAT rebinding: from src from now on, and ngtcp2 does not know why. */
void qs_inproc_client_rebind(struct qs_inproc_client *c,
			     const struct qs_inproc_addr *src);
ngtcp2_path qs_inproc_client_path(struct qs_inproc_client *c);

static inline bool
qs_inproc_client_live(const struct qs_inproc_client *c)
{
	return c->q.conn != NULL && !c->closed && c->err == 0;
}

/* Up to max datagrams of what c has to send into bufs, not sent; their
 * lengths and ECN bits. A write error goes to *err when err is not NULL. */
unsigned int qs_inproc_client_write(struct qs_inproc_client *c,
				    uint8_t (*bufs)[QS_INPROC_UDP_MAX],
				    size_t *lens, uint8_t *ecn, unsigned int max,
				    int *err);
/* Everything c has to send (QS_INPROC_BURST at most) through conf->send:
 * whatever ngtcp2 thinks, it leaves from c->src. How many datagrams. */
unsigned int qs_inproc_client_flush(struct qs_inproc_client *c);
/* A datagram the server sent to c. */
void qs_inproc_client_read(struct qs_inproc_client *c, const uint8_t *payload,
			   size_t len, uint8_t ecn);
/* Every request c opened is closed. */
bool qs_inproc_requests_done(const struct qs_inproc_client *c);
/* ngtcp2's timers, when due. */
void qs_inproc_client_timers(struct qs_inproc_client *c);
/* CONNECTION_CLOSE (H3_NO_ERROR) through conf->send; c says nothing more.
 * false when none could be written. */
bool qs_inproc_client_close(struct qs_inproc_client *c);
/* The nearer of the server's next timer and c's (while c is live). */
uint64_t qs_inproc_next_expiry(const struct qs_inproc *s,
			       const struct qs_inproc_client *c);

/* Opens a request stream with the header fields nva and body (NULL: none);
 * NULL when c has no room, no HTTP/3 or no stream left. */
struct qs_inproc_req *qs_inproc_request_nv(struct qs_inproc_client *c,
					   const nghttp3_nv *nva, size_t n,
					   const nghttp3_data_reader *body);
/* method path, with conf->user_agent and one more header field
 * (extra_name NULL: none). */
struct qs_inproc_req *qs_inproc_request(struct qs_inproc_client *c,
					const char *method, const char *path,
					const char *extra_name,
					const char *extra_value);

#endif
