/* Connection slots and the per-thread event loop: UDP sockets, the ngtcp2
 * client connection and its callbacks, reads, writes, timers, moves
 * (NAT rebinding and active migration) and how each connection ends.
 * Shaped after ngtcp2's examples/client.cc; written for one epoll loop
 * per thread and many connections. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include "qsl.h"

/* datagrams read per socket event, in one recvmmsg, before writing: ACKs
 * go out often enough to clock the server (64 cost a fifth of a 1 MiB
 * download's throughput against gtlsserver, 4 as much in syscalls). A
 * GRO train counts as one: 16 of them, ACKed together, still download
 * faster (about 300 MB/s against gtlsserver, 220 without GRO). */
#define RX_BATCH 16
#define RCVBUF (4 << 20)	/* socket receive buffer, bytes */
#define RX_MAX 65536		/* any UDP datagram, or a GRO train */
#define TX_BATCH 64		/* most datagrams one write pass sends */
#define TX_MAX 1500		/* one datagram we write */
/* a GSO train: at most UDP_MAX_SEGMENTS (64 on older kernels) datagrams
 * and what one IPv4 datagram can carry */
#define GSO_SEGS_MAX 64
#define GSO_BYTES_MAX 65507
#define EVENTS_MAX 128
#define LOOP_TICK_MS 100	/* longest epoll wait: signals, -D, progress */
#define RECONNECT_DELAY_NS (100 * NGTCP2_MILLISECONDS) /* -D, after a failure */
#define TICKET_WAIT_NS (2 * NGTCP2_SECONDS) /* priming: for the ticket */
#define DRAIN_MAX_NS (2 * NGTCP2_SECONDS)   /* -D: in-flight requests end */
#define SCID_LEN 17
#define DCID_LEN 18

/* the client's transport parameters: room for large responses */
#define MAX_STREAM_DATA (6u << 20)
#define MAX_DATA (15u << 20)
#define MAX_STREAMS_UNI 100
#define ACTIVE_CID_LIMIT 7

volatile int qsl_stop;

/* ngtcp2 and nghttp3 hand the shared callbacks (lib/quic/qs_quic_glue.c)
 * the connection as a struct qs_quic_conn */
_Static_assert(offsetof(struct qsl_conn, q) == 0, "qs_quic_conn first");

const char *const qsl_err_names[QSL_ERR_MAX] = {
	[QSL_ERR_HANDSHAKE] = "handshake_failed",
	[QSL_ERR_RESET] = "stateless_reset",
	[QSL_ERR_TIMEOUT] = "timeout",
	[QSL_ERR_STATUS] = "http_status",
	[QSL_ERR_OTHER] = "other",
};

uint64_t
qsl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NGTCP2_SECONDS + (uint64_t)ts.tv_nsec;
}

/* CPU time this thread used so far (user+sys), 0 if unknown */
static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * NGTCP2_SECONDS + (uint64_t)ts.tv_nsec;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void
qsl_note_error(struct qsl_conn *c, enum qsl_err kind, const char *fmt, ...)
{
	struct qsl_worker *w = c->w;
	va_list ap;

	STAT_INC(w, errors[kind]);
	if (w->errmsg[kind][0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(w->errmsg[kind], sizeof(w->errmsg[kind]), fmt, ap);
	va_end(ap);
}

/* ---- sockets ---- */

/* Datagrams of one connection on their way to the kernel: a write
 * pass's (the worker's, TX_BATCH rows), or what the kernel would not
 * take yet (the connection's, as many rows as are left). */
struct qsl_txq {
	uint32_t n;
	uint16_t len[TX_BATCH];
	uint8_t sock[TX_BATCH];		/* index in the connection's socks */
	uint8_t data[][TX_MAX];
};

/* One recvmmsg batch: per message a datagram or GRO train, its sender
 * and room for the UDP_GRO segment size and the socket's drop count */
struct qsl_rx {
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_storage from[RX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctrl[RX_BATCH];
	uint8_t data[RX_BATCH][RX_MAX];
};

void
qsl_udp_offload_probe(struct qsl_options *opt)
{
	int fd = socket(opt->remote.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	char gso_why[128] = "--no-gso", gro_why[128] = "--no-gro";
	int seg = 1200, one = 1;

	if (fd < 0) {
		snprintf(gso_why, sizeof(gso_why), "UDP socket: %s", strerror(errno));
		snprintf(gro_why, sizeof(gro_why), "%s", gso_why);
		opt->gso = opt->gro = false;
	}
	if (opt->gso && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) != 0) {
		snprintf(gso_why, sizeof(gso_why), "the kernel refuses UDP_SEGMENT: %s",
			 strerror(errno));
		opt->gso = false;
	}
	if (opt->gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) != 0) {
		snprintf(gro_why, sizeof(gro_why), "the kernel refuses UDP_GRO: %s",
			 strerror(errno));
		opt->gro = false;
	}
	if (fd >= 0)
		close(fd);
	if (opt->verbose)
		fprintf(stderr, QSL_NAME ": UDP GSO %s%s%s, GRO %s%s%s\n",
			opt->gso ? "on" : "off (", opt->gso ? "" : gso_why,
			opt->gso ? "" : ")", opt->gro ? "on" : "off (",
			opt->gro ? "" : gro_why, opt->gro ? "" : ")");
}

/* Datagrams the socket dropped that no received datagram reported yet
 * (SO_RXQ_OVFL rides on the next one): the kernel's own count. */
static void
sock_count_drops(struct qsl_sock *s)
{
	uint32_t info[SK_MEMINFO_VARS];
	socklen_t len = sizeof(info);

	if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0 ||
	    len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return;
	STAT_ADD(s->conn->w, udp_rx_dropped, (uint32_t)(info[SK_MEMINFO_DROPS] - s->rx_dropped));
	s->rx_dropped = info[SK_MEMINFO_DROPS];
}

static void
sock_close(struct qsl_sock *s)
{
	if (s->fd >= 0) {
		sock_count_drops(s);
		close(s->fd);	/* also leaves the epoll set */
	}
	s->fd = -1;
	s->want_out = false;
}

/* A connected UDP socket to the server: the kernel picks the local
 * address and a fresh port. */
static int
sock_open(struct qsl_conn *c, struct qsl_sock *s)
{
	const struct qsl_options *opt = c->w->opt;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
	int fd, err, one = 1, rcvbuf = RCVBUF;

	fd = socket(opt->remote.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_UDP);
	if (fd < 0)
		return -1;
	/* GRO trains are split again in conn_read; a socket that refuses
	 * it gets its datagrams one by one, as without */
	if (opt->gro)
		(void)setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	/* a deep receive buffer, so that a fast server's bursts are not
	 * lost here (the default 208 KiB overflowed at 400 MB/s); what is
	 * lost anyway is counted (SO_RXQ_OVFL) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	s->rx_dropped = 0;
	s->local_len = sizeof(s->local);
	if ((opt->n_local > 0 &&
	     bind(fd, (const struct sockaddr *)&opt->local[c->local_idx], opt->local_len) != 0) ||
	    connect(fd, (const struct sockaddr *)&opt->remote, opt->remote_len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&s->local, &s->local_len) != 0 ||
	    epoll_ctl(c->w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	s->fd = fd;
	s->conn = c;
	s->want_out = false;
	return 0;
}

static void
sock_want_out(struct qsl_conn *c, struct qsl_sock *s, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
				 .data.ptr = s};

	if (s->fd < 0 || s->want_out == on)
		return;
	if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, s->fd, &ev) == 0)
		s->want_out = on;
}

/* the socket bound to local, or -1 (a path whose socket is gone) */
static int
sock_for(const struct qsl_conn *c, const struct sockaddr *local)
{
	for (int i = 0; i < 2; i++)
		if (c->socks[i].fd >= 0 &&
		    qs_quic_addr_eq((const struct sockaddr *)&c->socks[i].local, local))
			return i;
	return -1;
}

/* The kernel refused a GSO send: EIO where GSO needs the device's
 * checksum offload (a veth with tx off, on some kernels), EINVAL for a
 * train past a limit of its own. This thread sends one datagram a
 * message from now on. */
static void
gso_refused(struct qsl_worker *w, int err)
{
	w->gso = false;
	if (w->opt->verbose)
		fprintf(stderr, QSL_NAME ": thread %u: UDP GSO off: the kernel "
			"refused a GSO send (%s)\n", w->id, strerror(err));
}

/* How many of q's datagrams from first on go as one GSO train: those to
 * the same socket as long as the first, the last maybe shorter. A
 * datagram over the path's probed size (a PMTU probe) goes alone. */
static uint32_t
txq_train(const struct qsl_conn *c, const struct qsl_txq *q, uint32_t first)
{
	size_t seg = q->len[first], bytes = seg;
	uint32_t i = first + 1;

	if (!c->w->gso || seg > ngtcp2_conn_get_path_max_tx_udp_payload_size(c->q.conn))
		return 1;
	while (i < q->n && i - first < GSO_SEGS_MAX && q->sock[i] == q->sock[first] &&
	       q->len[i] <= seg && bytes + q->len[i] <= GSO_BYTES_MAX) {
		bytes += q->len[i];
		if (q->len[i++] < seg)
			break;
	}
	return i - first;
}

enum send_result { SEND_OK, SEND_BLOCKED, SEND_FATAL };

/* Hands q's datagrams to the kernel: one sendmmsg per run to one
 * socket, GSO trains where they can be. *sent: how many left q (sent,
 * or lost on the way as far as QUIC can tell: it retransmits).
 * SEND_BLOCKED when the kernel takes no more now; SEND_FATAL with
 * errno. */
static enum send_result
txq_send(struct qsl_conn *c, const struct qsl_txq *q, uint32_t *sent)
{
	struct qsl_worker *w = c->w;
	struct mmsghdr msgs[TX_BATCH];
	struct iovec iov[TX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctrl[TX_BATCH];
	uint32_t segs[TX_BATCH];
	uint32_t done = 0;

	while (done < q->n) {
		int si = q->sock[done], fd = c->socks[si].fd, n;
		uint32_t nmsg = 0;

		if (fd < 0) {		/* its socket went with a move: lost */
			done++;
			continue;
		}
		for (uint32_t i = done; i < q->n && q->sock[i] == si; nmsg++) {
			struct msghdr *h = &msgs[nmsg].msg_hdr;
			uint16_t seg = q->len[i];

			segs[nmsg] = txq_train(c, q, i);
			*h = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = segs[nmsg]};
			for (uint32_t k = 0; k < segs[nmsg]; k++, i++)
				iov[i] = (struct iovec){(void *)q->data[i], q->len[i]};
			if (segs[nmsg] > 1) {
				struct cmsghdr *cm;

				h->msg_control = ctrl[nmsg].buf;
				h->msg_controllen = sizeof(ctrl[nmsg].buf);
				cm = CMSG_FIRSTHDR(h);
				cm->cmsg_level = SOL_UDP;
				cm->cmsg_type = UDP_SEGMENT;
				cm->cmsg_len = CMSG_LEN(sizeof(seg));
				memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
			}
		}
		do
			n = sendmmsg(fd, msgs, nmsg, 0);
		while (n < 0 && errno == EINTR);
		STAT_INC(w, udp_tx_calls);
		for (int k = 0; k < n; k++) {
			STAT_ADD(w, udp_tx, segs[k]);
			STAT_ADD(w, udp_tx_bytes, msgs[k].msg_len);
			if (segs[k] > 1)
				STAT_INC(w, gso_sends);
			done += segs[k];
		}
		if (n > 0)
			continue;	/* after a partial send the next call says why */
		if (segs[0] > 1 && (errno == EIO || errno == EINVAL)) {
			gso_refused(w, errno);
			continue;	/* again, one datagram a message */
		}
		switch (errno) {
		case EAGAIN:
#if EAGAIN != EWOULDBLOCK
		case EWOULDBLOCK:
#endif
			STAT_INC(w, send_blocked);
			*sent = done;
			return SEND_BLOCKED;
		/* lost on the way, as far as QUIC can tell: it retransmits */
		case ENOBUFS:
		case EMSGSIZE:
		case ECONNREFUSED:
		case EHOSTUNREACH:
		case ENETUNREACH:
			done += segs[0];
			break;
		default:
			return SEND_FATAL;
		}
	}
	*sent = done;
	return SEND_OK;
}

/* dst holds src's datagrams from first on (dst may be src) */
static void
txq_move(struct qsl_txq *dst, const struct qsl_txq *src, uint32_t first)
{
	uint32_t n = src->n - first;

	memmove(dst->len, &src->len[first], n * sizeof(dst->len[0]));
	memmove(dst->sock, &src->sock[first], n * sizeof(dst->sock[0]));
	memmove(dst->data, src->data[first], n * sizeof(dst->data[0]));
	dst->n = n;
}

/* ---- ending a connection ---- */

static void
slot_done(struct qsl_conn *c)
{
	c->state = QSL_SLOT_DONE;
	c->w->n_done++;
}

static void blocked_drop(struct qsl_conn *c);

static void
conn_free(struct qsl_conn *c)
{
	qsl_h3_free(c);
	if (c->q.conn != NULL)
		ngtcp2_conn_del(c->q.conn);
	c->q.conn = NULL;
	if (c->q.tls != NULL)
		gnutls_deinit(c->q.tls);
	c->q.tls = NULL;
	blocked_drop(c);
	sock_close(&c->socks[0]);
	sock_close(&c->socks[1]);
}

enum end_how { END_OK, END_FAILED, END_ABORTED };

/* Frees the connection and decides what the slot does next. */
static void
conn_end(struct qsl_conn *c, enum end_how how)
{
	struct qsl_worker *w = c->w;
	const struct qsl_options *opt = w->opt;
	uint64_t now = qsl_now();
	bool unserved = c->served == 0 && c->quota > 0 && !w->draining && !qsl_stop;

	/* a server that closes before serving anything would have the slot
	 * reconnect in a tight loop: that is a failure, unless it said GOAWAY
	 * (a draining node), and then the next connection waits a little */
	if (how == END_OK && unserved && !c->goaway) {
		qsl_note_error(c, QSL_ERR_OTHER,
			       "server closed the connection before serving a request");
		how = END_FAILED;
	}
	if (c->pending) {
		c->pending = false;
		w->n_pending--;
	}
	if (c->holding) {
		c->holding = false;
		w->n_holding--;
	}
	if (c->moves > 0)
		STAT_INC(w, conns_moved);
	switch (how) {
	case END_OK:
		STAT_INC(w, conn_succeeded);
		if (c->moves > 0)
			STAT_INC(w, conns_moved_survived);
		break;
	case END_FAILED:
		STAT_INC(w, conn_failed);
		qsl_h3_fail_inflight(c, false);
		break;
	case END_ABORTED:
		STAT_INC(w, conn_aborted);
		qsl_h3_fail_inflight(c, true);
		break;
	}
	conn_free(c);

	if (w->draining || qsl_stop) {
		slot_done(c);
		return;
	}
	if (how == END_FAILED && opt->duration_s == 0) {
		/* -n: what this slot had not started fails with it (h2load) */
		STAT_ADD(w, req_failed, c->quota);
		c->quota = 0;
	}
	if (c->quota == 0) {
		slot_done(c);
		return;
	}
	c->state = QSL_SLOT_IDLE;
	c->reconnect_at = how == END_FAILED || unserved ? now + RECONNECT_DELAY_NS
							 : now;
}

/* CONNECTION_CLOSE, now or never; it takes the place of the write pass
 * being built (the connection ends) */
static void
send_close(struct qsl_conn *c)
{
	struct qsl_txq *q = c->w->tx;
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;
	uint32_t sent;
	int si;

	if (c->q.conn == NULL || ngtcp2_conn_is_in_closing_period(c->q.conn) ||
	    ngtcp2_conn_is_in_draining_period(c->q.conn))
		return;
	ngtcp2_path_storage_zero(&ps);
	n = ngtcp2_conn_write_connection_close(c->q.conn, &ps.path, &pi, q->data[0],
					       sizeof(q->data[0]), &c->q.last_error,
					       qsl_now());
	if (n <= 0)
		return;
	si = sock_for(c, ps.path.local.addr);
	if (si < 0)
		return;
	q->len[0] = (uint16_t)n;
	q->sock[0] = (uint8_t)si;
	q->n = 1;
	txq_send(c, q, &sent);
}

/* The connection failed: count it, tell the peer if that is still
 * allowed, and free it. */
static void
conn_fail(struct qsl_conn *c, enum qsl_err kind, bool tell_peer,
	  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
conn_fail(struct qsl_conn *c, enum qsl_err kind, bool tell_peer,
	  const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	qsl_note_error(c, kind, "%s", msg);
	if (c->w->opt->verbose)
		fprintf(stderr, QSL_NAME ": connection %u: %s\n", c->index, msg);
	if (tell_peer)
		send_close(c);
	conn_end(c, END_FAILED);
}

static int conn_write(struct qsl_conn *c);

/* Sends CONNECTION_CLOSE(H3_NO_ERROR) and ends; requests still in flight
 * (-D over, interrupted) are counted as aborted. */
static void
conn_close(struct qsl_conn *c)
{
	/* a handshake that completed in this very pass (0-RTT: the response
	 * came with the server's first flight) still owes the server its
	 * Finished: without it the server never sees the handshake complete,
	 * and the address stays unproven there until the close */
	if (c->handshake_done && !c->confirmed && conn_write(c) < 0)
		return;
	if (c->handshake_done)
		ngtcp2_connection_close_error_set_application_error(
			&c->q.last_error, NGHTTP3_H3_NO_ERROR, NULL, 0);
	else
		ngtcp2_connection_close_error_set_transport_error(
			&c->q.last_error, NGTCP2_NO_ERROR, NULL, 0);
	send_close(c);
	conn_end(c, c->inflight > 0 || !c->handshake_done ? END_ABORTED : END_OK);
}

/* A peer's reason phrase, printable ASCII only (it ends up in JSON). */
static const char *
printable(char *buf, size_t cap, const uint8_t *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < cap; i++)
		buf[n++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	buf[n] = '\0';
	return buf;
}

static const char *
tls_failure(struct qsl_conn *c, char *buf, size_t len)
{
	unsigned int status = gnutls_session_get_verify_cert_status(c->q.tls);
	uint8_t alert = ngtcp2_conn_get_tls_alert(c->q.conn);
	gnutls_datum_t out = {0};
	const char *name;

	if (status != 0 &&
	    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
							  &out, 0) == 0) {
		snprintf(buf, len, "certificate: %s", (const char *)out.data);
		gnutls_free(out.data);
		return buf;
	}
	name = gnutls_alert_get_strname((gnutls_alert_description_t)alert);
	snprintf(buf, len, "TLS alert %u (%s)", alert, name ? name : "unknown");
	return buf;
}

/* An ngtcp2 call returned liberr: classify and end the connection. */
static void
conn_fail_liberr(struct qsl_conn *c, int liberr)
{
	ngtcp2_connection_close_error cc;
	char buf[224];

	switch (liberr) {
	case NGTCP2_ERR_DRAINING: {
		const char *name;
		bool app;

		if (c->got_reset) {
			conn_fail(c, QSL_ERR_RESET, false, "stateless reset received");
			return;
		}
		ngtcp2_conn_get_connection_close_error(c->q.conn, &cc);
		app = cc.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
		STAT_INC(c->w, peer_closed);
		qsl_stats_peer_close(&c->w->stats, app, cc.error_code, 1);
		name = qsl_close_name(app, cc.error_code);
		printable(buf, sizeof(buf), cc.reason, cc.reason ? cc.reasonlen : 0);
		if (!c->handshake_done) {
			conn_fail(c, QSL_ERR_HANDSHAKE, false,
				  "handshake failed: peer closed with %s error 0x%llx%s%s %s",
				  app ? "application" : "transport",
				  (unsigned long long)cc.error_code, name ? " " : "",
				  name ? name : "", buf);
			return;
		}
		if (cc.error_code == 0 && c->inflight == 0) {
			/* the server closed an idle connection cleanly */
			conn_end(c, END_OK);
			return;
		}
		conn_fail(c, QSL_ERR_OTHER, false,
			  "peer closed with %s error 0x%llx%s%s %s(%u requests in flight)",
			  app ? "application" : "transport",
			  (unsigned long long)cc.error_code, name ? " " : "",
			  name ? name : "", buf, c->inflight);
		return;
	}
	case NGTCP2_ERR_IDLE_CLOSE:
		conn_fail(c, QSL_ERR_TIMEOUT, false, "idle timeout");
		return;
	case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
		conn_fail(c, QSL_ERR_TIMEOUT, false, "handshake timeout");
		return;
	case NGTCP2_ERR_RECV_VERSION_NEGOTIATION:
		conn_fail(c, QSL_ERR_HANDSHAKE, false,
			  "handshake failed: no common QUIC version");
		return;
	case NGTCP2_ERR_CRYPTO:
		ngtcp2_connection_close_error_set_transport_error_tls_alert(
			&c->q.last_error, ngtcp2_conn_get_tls_alert(c->q.conn), NULL, 0);
		conn_fail(c, c->handshake_done ? QSL_ERR_OTHER : QSL_ERR_HANDSHAKE,
			  true, "handshake failed: %s", tls_failure(c, buf, sizeof(buf)));
		return;
	default:
		/* an HTTP/3 failure set an application error already */
		if (c->q.last_error.error_code == 0)
			ngtcp2_connection_close_error_set_transport_error_liberr(
				&c->q.last_error, liberr, NULL, 0);
		conn_fail(c, c->handshake_done ? QSL_ERR_OTHER : QSL_ERR_HANDSHAKE,
			  true, "%s%s", c->handshake_done ? "" : "handshake failed: ",
			  ngtcp2_strerror(liberr));
		return;
	}
}

/* ---- ngtcp2 callbacks ---- */

static int
cb_handshake_completed(ngtcp2_conn *conn, void *user_data)
{
	struct qsl_conn *c = user_data;
	struct qsl_worker *w = c->w;
	uint64_t now = qsl_now();

	c->handshake_done = true;
	c->progress_at = now;
	if (c->pending) {
		c->pending = false;
		w->n_pending--;
	}
	STAT_INC(w, handshakes);
	qsl_hist_add(&w->stats.connect, (now - c->t_connect) / 1000);
	if (gnutls_session_is_resumed(c->q.tls))
		STAT_INC(w, resumed);
	if (c->early_data) {
		if (gnutls_session_get_flags(c->q.tls) & GNUTLS_SFLAGS_EARLY_DATA) {
			STAT_INC(w, early_accepted);
		} else {
			/* resend over 1-RTT what 0-RTT carried */
			if (ngtcp2_conn_early_data_rejected(conn) != 0 ||
			    qsl_h3_setup(c) != 0)
				return NGTCP2_ERR_CALLBACK_FAILURE;
		}
	}
	if (w->priming) {
		const ngtcp2_transport_params *p =
			ngtcp2_conn_get_remote_transport_params(conn);

		if (p != NULL) {
			w->tls->params = *p;
			/* points into the connection; not needed for 0-RTT */
			w->tls->params.version_info.other_versions = NULL;
			w->tls->params.version_info.other_versionslen = 0;
			w->tls->have_params = true;
		}
	}
	return 0;
}

static int
cb_handshake_confirmed(ngtcp2_conn *conn, void *user_data)
{
	(void)conn;
	((struct qsl_conn *)user_data)->confirmed = true;
	return 0;
}

static int
cb_recv_rx_key(ngtcp2_conn *conn, ngtcp2_crypto_level level, void *user_data)
{
	struct qsl_conn *c = user_data;

	if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION)
		return 0;
	/* with 0-RTT the HTTP/3 session exists already */
	if ((!c->early_data || ngtcp2_conn_get_early_data_rejected(conn)) &&
	    qsl_h3_setup(c) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int
cb_early_data_rejected(ngtcp2_conn *conn, void *user_data)
{
	(void)conn;
	qsl_h3_requeue(user_data);
	return 0;
}

static int
cb_recv_stateless_reset(ngtcp2_conn *conn, const ngtcp2_pkt_stateless_reset *sr,
			void *user_data)
{
	(void)conn; (void)sr;
	((struct qsl_conn *)user_data)->got_reset = true;
	return 0;
}

static int
cb_path_validation(ngtcp2_conn *conn, uint32_t flags, const ngtcp2_path *path,
		   ngtcp2_path_validation_result res, void *user_data)
{
	struct qsl_conn *c = user_data;

	(void)conn; (void)flags; (void)path;
	if (res == NGTCP2_PATH_VALIDATION_RESULT_FAILURE)
		STAT_INC(c->w, path_validation_failed);
	return 0;
}

static void
log_printf(void *user_data, const char *fmt, ...)
{
	va_list ap;

	(void)user_data;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- writing ---- */

/* One datagram of what nghttp3 and ngtcp2 have into buf: its length, 0
 * when there is nothing to send, or -1 after the connection failed. */
static ngtcp2_ssize
write_one(struct qsl_conn *c, uint8_t *buf, size_t cap, ngtcp2_path *path,
	  ngtcp2_pkt_info *pi, uint64_t now)
{
	struct qs_quic_err err;
	ngtcp2_ssize n = qs_quic_write_pkt(&c->q, buf, cap, path, pi, now, &err);

	if (n >= 0)
		return n;
	if (err.h3)
		conn_fail(c, QSL_ERR_OTHER, true, "HTTP/3: %s",
			  nghttp3_strerror(err.code));
	else
		conn_fail_liberr(c, err.code);
	return -1;
}

/* Forgets what the kernel would not take yet (lost, as far as QUIC can
 * tell) and stops waiting for EPOLLOUT. */
static void
blocked_drop(struct qsl_conn *c)
{
	free(c->blocked);
	c->blocked = NULL;
	sock_want_out(c, &c->socks[0], false);
	sock_want_out(c, &c->socks[1], false);
}

/* q's datagrams from first on wait in c->blocked for EPOLLOUT on their
 * socket (q is c->blocked itself, or the write pass: conn_write writes
 * only once nothing is blocked). false when they could not be kept:
 * lost, as far as QUIC can tell. */
static bool
blocked_keep(struct qsl_conn *c, const struct qsl_txq *q, uint32_t first)
{
	struct qsl_txq *b = c->blocked;

	if (b == NULL) {
		b = malloc(sizeof(*b) + (q->n - first) * sizeof(b->data[0]));
		if (b == NULL)
			return false;
		c->blocked = b;
	}
	txq_move(b, q, first);
	for (int i = 0; i < 2; i++)
		sock_want_out(c, &c->socks[i], i == b->sock[0]);
	return true;
}

/* Sends q (a write pass, or c->blocked); what the kernel does not take
 * yet waits in c->blocked. 0 when the way is clear, 1 while datagrams
 * wait, -1 when the connection failed (freed). */
static int
conn_send(struct qsl_conn *c, struct qsl_txq *q)
{
	uint32_t sent;

	switch (txq_send(c, q, &sent)) {
	case SEND_OK:
		if (q == c->blocked)
			blocked_drop(c);
		return 0;
	case SEND_BLOCKED:
		return blocked_keep(c, q, sent) ? 1 : 0;
	default:
		conn_fail(c, QSL_ERR_OTHER, false, "send: %s", strerror(errno));
		return -1;
	}
}

static int
flush_blocked(struct qsl_conn *c)
{
	return c->blocked != NULL ? conn_send(c, c->blocked) : 0;
}

/* Writes what the connection has to send, up to a send quantum, and
 * hands it to the kernel in one go; -1 when it failed (freed). */
static int
conn_write(struct qsl_conn *c)
{
	struct qsl_txq *q = c->w->tx;
	uint64_t now = qsl_now();
	size_t max_payload, max_pkts;
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	int rv;

	rv = flush_blocked(c);
	if (rv < 0)
		return -1;
	if (rv > 0)
		goto out;	/* EPOLLOUT resumes */
	max_payload = min_u64(ngtcp2_conn_get_max_tx_udp_payload_size(c->q.conn),
			      sizeof(q->data[0]));
	max_pkts = ngtcp2_conn_get_send_quantum(c->q.conn) / max_payload;
	if (max_pkts < 1)
		max_pkts = 1;
	if (max_pkts > TX_BATCH)
		max_pkts = TX_BATCH;
	ngtcp2_path_storage_zero(&ps);

	q->n = 0;
	for (size_t n = 0; n < max_pkts; n++) {
		ngtcp2_ssize nwrite = write_one(c, q->data[q->n], max_payload,
						&ps.path, &pi, now);
		int si;

		if (nwrite < 0)
			return -1;
		if (nwrite == 0)
			break;
		si = sock_for(c, ps.path.local.addr);
		if (si < 0)
			continue;	/* the old path of a rebinding: lost */
		q->len[q->n] = (uint16_t)nwrite;
		q->sock[q->n++] = (uint8_t)si;
	}
	if (conn_send(c, q) < 0)
		return -1;
	/* Pacing before the first RTT sample spaces packets by the 333 ms
	 * initial RTT: ngtcp2 0.12.1 would hold the client's Finished about
	 * 25 ms behind the Initial. The handshake is a few small packets;
	 * pace from when it is done. */
	if (c->handshake_done)
		ngtcp2_conn_update_pkt_tx_time(c->q.conn, now);
out:
	c->expiry = ngtcp2_conn_get_expiry(c->q.conn);
	return 0;
}

/* ---- moves: NAT rebinding and active migration ---- */

static void
conn_move(struct qsl_conn *c)
{
	struct qsl_worker *w = c->w;
	const struct qsl_options *opt = w->opt;
	int ni = 1 - c->cur;
	struct qsl_sock *ns = &c->socks[ni];
	ngtcp2_addr addr;
	int rv;

	c->move_due = false;
	c->since_move = 0;
	blocked_drop(c);	/* lost with the move */
	sock_close(ns);		/* the path before last */
	if (sock_open(c, ns) != 0) {
		STAT_INC(w, moves_failed);
		return;
	}
	ngtcp2_addr_init(&addr, (struct sockaddr *)&ns->local, ns->local_len);
	if (opt->move == QSL_MOVE_REBIND) {
		/* the NAT gave us a new port: the peer learns it from our next
		 * packet; what it sends to the old port is lost */
		ngtcp2_conn_set_local_addr(c->q.conn, &addr);
		sock_close(&c->socks[c->cur]);
	} else {
		ngtcp2_path path = {
			.local = addr,
			.remote = {(struct sockaddr *)&opt->remote, opt->remote_len},
		};

		rv = ngtcp2_conn_initiate_immediate_migration(c->q.conn, &path, qsl_now());
		if (rv != 0) {
			if (opt->verbose)
				fprintf(stderr, QSL_NAME ": connection %u: migration: %s\n",
					c->index, ngtcp2_strerror(rv));
			sock_close(ns);
			STAT_INC(w, moves_failed);
			return;
		}
		/* the old socket stays open for what is still under way */
	}
	c->cur = ni;
	c->moves++;
	STAT_INC(w, moves);
}

/* ---- the connection's life ---- */

static bool
conn_wants_close(struct qsl_conn *c, uint64_t now)
{
	struct qsl_worker *w = c->w;
	const struct qsl_options *opt = w->opt;

	/* the run ends during the handshake: nothing to wait for */
	if (!c->handshake_done)
		return c->closing && c->inflight == 0;
	if (c->inflight > 0)
		return false;
	if (!(c->closing || c->goaway || c->quota == 0 ||
	      (opt->conn_requests && c->served >= opt->conn_requests)))
		return false;
	if (opt->hold_ns != 0 && c->quota == 0 && !c->closing && !c->goaway &&
	    !w->priming) {
		/* --hold: done with its requests; stays open, idle, until the
		 * worker's hold is over */
		if (!c->holding) {
			c->holding = true;
			w->n_holding++;
			STAT_INC(w, held);
		}
		return false;
	}
	if (w->priming && !c->got_ticket && !c->closing) {
		/* the ticket usually comes with the handshake; wait a little */
		if (c->ticket_wait_until == 0)
			c->ticket_wait_until = now + TICKET_WAIT_NS;
		return now >= c->ticket_wait_until;
	}
	return true;
}

/* After reads, timers and the start: moves, new requests, close or
 * write. */
static void
conn_after_io(struct qsl_conn *c)
{
	uint64_t now = qsl_now();

	if (c->state != QSL_SLOT_ACTIVE)
		return;
	if (c->move_due && c->confirmed && !c->closing)
		conn_move(c);
	if (c->w->opt->rapid_reset_rate > 0) {
		int rv = c->q.h3 != NULL && !c->closing && !c->goaway
			 ? qsl_h3_rapid_reset(c, now, conn_write) : 0;

		if (rv > 0)
			return;		/* the connection ended */
		if (rv < 0) {
			conn_fail(c, QSL_ERR_OTHER, true, "cannot open a stream to reset");
			return;
		}
	} else if (c->q.h3 != NULL && !c->closing && !c->goaway &&
		   qsl_h3_submit(c) != 0) {
		conn_fail(c, QSL_ERR_OTHER, true, "cannot submit a request");
		return;
	}
	if (conn_wants_close(c, now)) {
		conn_close(c);
		return;
	}
	conn_write(c);
}

static uint64_t
conn_deadline(const struct qsl_conn *c)
{
	uint64_t d = c->expiry;

	if (c->inflight > 0)
		d = min_u64(d, c->progress_at + c->w->opt->timeout_ns);
	if (c->ticket_wait_until != 0)
		d = min_u64(d, c->ticket_wait_until);
	if (c->rr_next_at != 0 && !c->closing && !c->goaway)
		d = min_u64(d, c->rr_next_at);
	return d;
}

static void
conn_on_timer(struct qsl_conn *c, uint64_t now)
{
	int rv;

	if (now >= c->expiry) {
		rv = ngtcp2_conn_handle_expiry(c->q.conn, now);
		if (rv != 0) {
			conn_fail_liberr(c, rv);
			return;
		}
	}
	if (c->inflight > 0 && now >= c->progress_at + c->w->opt->timeout_ns) {
		conn_fail(c, QSL_ERR_TIMEOUT, true,
			  "no response progress for %.1f s (%u requests in flight)",
			  (double)c->w->opt->timeout_ns / NGTCP2_SECONDS, c->inflight);
		return;
	}
	conn_after_io(c);
}

/* One recvmmsg batch from s into w->rx: how many messages, 0 when there
 * is nothing to read, -1 when the connection ended. */
static int
sock_recv(struct qsl_conn *c, struct qsl_sock *s)
{
	struct qsl_worker *w = c->w;
	struct qsl_rx *rx = w->rx;

	for (int tries = 0; tries < RX_BATCH; tries++) {
		int n;

		/* the kernel writes the lengths back */
		for (int i = 0; i < RX_BATCH; i++)
			rx->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &rx->from[i],
				.msg_namelen = sizeof(rx->from[i]),
				.msg_iov = &rx->iov[i],
				.msg_iovlen = 1,
				.msg_control = rx->ctrl[i].buf,
				.msg_controllen = sizeof(rx->ctrl[i].buf),
			};
		n = recvmmsg(s->fd, rx->msgs, RX_BATCH, 0, NULL);
		STAT_INC(w, udp_rx_calls);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNREFUSED) {
			/* ICMP port unreachable: nobody listens there */
			if (!c->handshake_done) {
				conn_fail(c, QSL_ERR_OTHER, false,
					  "connection refused (ICMP port unreachable)");
				return -1;
			}
			continue;
		}
		conn_fail(c, QSL_ERR_OTHER, false, "recv: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A message's control data: the size of the datagrams of a GRO train
 * (UDP_GRO), or len for one datagram; datagrams the socket dropped since
 * the last message (SO_RXQ_OVFL, a running count) are counted. */
static size_t
rx_meta(struct qsl_worker *w, struct qsl_sock *s, struct msghdr *h, size_t len)
{
	size_t seg = len;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm != NULL; cm = CMSG_NXTHDR(h, cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;

			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			if (v > 0 && (size_t)v < len)
				seg = (size_t)v;
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			uint32_t total;

			memcpy(&total, CMSG_DATA(cm), sizeof(total));
			STAT_ADD(w, udp_rx_dropped, (uint32_t)(total - s->rx_dropped));
			s->rx_dropped = total;
		}
	}
	return seg;
}

/* Reads one batch of what the socket has and hands every datagram to
 * ngtcp2, GRO trains split again; -1 when the connection ended. */
static int
conn_read(struct qsl_conn *c, struct qsl_sock *s)
{
	struct qsl_worker *w = c->w;
	struct qsl_rx *rx = w->rx;
	ngtcp2_pkt_info pi = {0};
	int n = sock_recv(c, s);
	uint64_t now;

	if (n <= 0)
		return n;
	now = qsl_now();
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &rx->msgs[i].msg_hdr;
		size_t len = rx->msgs[i].msg_len;
		size_t seg = rx_meta(w, s, h, len);
		ngtcp2_path path = {
			.local = {(struct sockaddr *)&s->local, s->local_len},
			.remote = {(struct sockaddr *)&rx->from[i], h->msg_namelen},
		};

		if (seg < len)
			STAT_INC(w, gro_receives);
		for (size_t off = 0; off < len; off += seg) {
			size_t dlen = min_u64(seg, len - off);
			int rv;

			STAT_INC(w, udp_rx);
			STAT_ADD(w, udp_rx_bytes, dlen);
			rv = qs_quic_read_pkt(&c->q, &path, &pi, &rx->data[i][off], dlen,
					      now);
			if (rv != 0) {
				if (w->opt->verbose)
					fprintf(stderr, QSL_NAME ": connection %u: "
						"read_pkt: %s\n", c->index,
						ngtcp2_strerror(rv));
				conn_fail_liberr(c, rv);
				return -1;
			}
		}
	}
	return 0;
}

static void
conn_start(struct qsl_conn *c)
{
	struct qsl_worker *w = c->w;
	const struct qsl_options *opt = w->opt;
	uint64_t now = qsl_now();
	ngtcp2_transport_params params;
	ngtcp2_callbacks callbacks;
	ngtcp2_settings settings;
	ngtcp2_cid scid, dcid;
	ngtcp2_path path;
	bool early = false;
	int rv;

	c->state = QSL_SLOT_ACTIVE;
	c->cur = 0;
	c->expiry = UINT64_MAX;
	c->progress_at = now;
	c->t_connect = now;
	c->served = c->since_move = 0;
	c->ticket_wait_until = 0;
	c->moves = 0;
	c->inflight = 0;
	c->handshake_done = c->confirmed = c->early_data = false;
	c->got_reset = c->goaway = c->closing = c->got_ticket = false;
	c->move_due = false;
	c->holding = false;
	c->rr_credit = 0;
	c->rr_last = c->rr_next_at = 0;
	c->rr_n_pending = 0;
	c->pending = true;
	w->n_pending++;
	qs_quic_conn_init(&c->q);
	c->q.alloc = &w->alloc;
	STAT_INC(w, conn_started);

	if (sock_open(c, &c->socks[0]) != 0) {
		conn_fail(c, QSL_ERR_OTHER, false, "UDP socket: %s", strerror(errno));
		return;
	}
	scid.datalen = SCID_LEN;
	dcid.datalen = DCID_LEN;
	if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) != 0) {
		conn_fail(c, QSL_ERR_OTHER, false, "no random bytes");
		return;
	}

	qs_quic_callbacks_init(&callbacks, false);
	callbacks.handshake_completed = cb_handshake_completed;
	callbacks.handshake_confirmed = cb_handshake_confirmed;
	callbacks.recv_stateless_reset = cb_recv_stateless_reset;
	callbacks.stream_reset = qsl_h3_cb_stream_reset;
	callbacks.path_validation = cb_path_validation;
	callbacks.recv_rx_key = cb_recv_rx_key;
	callbacks.early_data_rejected = cb_early_data_rejected;

	ngtcp2_settings_default(&settings);
	settings.initial_ts = now;
	settings.handshake_timeout = opt->timeout_ns;
	if (opt->verbose)
		settings.log_printf = log_printf;

	ngtcp2_transport_params_default(&params);
	params.initial_max_stream_data_bidi_local = MAX_STREAM_DATA;
	params.initial_max_stream_data_bidi_remote = MAX_STREAM_DATA;
	params.initial_max_stream_data_uni = MAX_STREAM_DATA;
	params.initial_max_data = MAX_DATA;
	params.initial_max_streams_bidi = 0;
	params.initial_max_streams_uni = MAX_STREAMS_UNI;
	params.max_idle_timeout = opt->timeout_ns;
	params.active_connection_id_limit = ACTIVE_CID_LIMIT;

	path = (ngtcp2_path){
		.local = {(struct sockaddr *)&c->socks[0].local, c->socks[0].local_len},
		.remote = {(struct sockaddr *)&opt->remote, opt->remote_len},
	};
	rv = ngtcp2_conn_client_new(&c->q.conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
				    &callbacks, &settings, &params, NULL, c);
	if (rv != 0) {
		c->q.conn = NULL;
		conn_fail(c, QSL_ERR_OTHER, false, "ngtcp2_conn_client_new: %s",
			  ngtcp2_strerror(rv));
		return;
	}
	if (qsl_tls_session_new(w->tls, &c->q.tls, &opt->uris[0], &c->q.conn_ref,
				opt->resume && !w->priming, &w->ticket, &early) != 0) {
		c->q.tls = NULL;
		conn_fail(c, QSL_ERR_OTHER, false, "TLS session setup failed");
		return;
	}
	ngtcp2_conn_set_tls_native_handle(c->q.conn, c->q.tls);
	if (early) {
		/* 0-RTT: the requests go out with the first flight */
		ngtcp2_conn_set_early_remote_transport_params(c->q.conn, &w->tls->params);
		c->early_data = true;
		STAT_INC(w, early_attempted);
		if (qsl_h3_setup(c) != 0) {
			conn_fail(c, QSL_ERR_OTHER, false, "HTTP/3 setup for 0-RTT failed");
			return;
		}
	}
	conn_after_io(c);
}

static void
conn_on_writable(struct qsl_conn *c)
{
	if (flush_blocked(c) == 0)
		conn_after_io(c);
}

/* ---- the worker ---- */

int
qsl_worker_init(struct qsl_worker *w, uint32_t id, const struct qsl_options *opt,
		struct qsl_tls *tls, uint32_t n_conns)
{
	struct qs_timer **slots;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->opt = opt;
	w->tls = tls;
	w->epfd = -1;
	w->gso = opt->gso;
	/* without the address space, libc's malloc does it all */
	(void)qs_alloc_init(&w->alloc, 0);
	qsl_stats_init(&w->stats);
	w->rx = calloc(1, sizeof(*w->rx));
	w->tx = calloc(1, sizeof(*w->tx) + TX_BATCH * sizeof(w->tx->data[0]));
	if (w->rx == NULL || w->tx == NULL)
		return -1;
	for (int i = 0; i < RX_BATCH; i++)
		w->rx->iov[i] = (struct iovec){w->rx->data[i], sizeof(w->rx->data[i])};
	w->conns = calloc(n_conns ? n_conns : 1, sizeof(*w->conns));
	if (w->conns == NULL)
		return -1;
	w->n_conns = n_conns;
	slots = calloc(n_conns ? n_conns : 1, sizeof(*slots));
	if (slots == NULL)
		return -1;
	qs_timers_init(&w->timers, slots, n_conns);
	for (uint32_t i = 0; i < n_conns; i++) {
		struct qsl_conn *c = &w->conns[i];

		c->w = w;
		qs_timer_init(&c->timer);
		c->socks[0].fd = c->socks[1].fd = -1;
		c->socks[0].conn = c->socks[1].conn = c;
		c->streams = calloc(opt->streams, sizeof(*c->streams));
		if (c->streams == NULL)
			return -1;
		for (uint32_t j = 0; j < opt->streams; j++)
			c->streams[j].id = -1;
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	return w->epfd < 0 ? -1 : 0;
}

void
qsl_worker_fini(struct qsl_worker *w)
{
	if (w->conns != NULL) {
		for (uint32_t i = 0; i < w->n_conns; i++) {
			conn_free(&w->conns[i]);
			free(w->conns[i].streams);
		}
		free(w->conns);
		w->conns = NULL;
	}
	free(w->timers.slots);
	w->timers.slots = NULL;
	free(w->rx);
	w->rx = NULL;
	free(w->tx);
	w->tx = NULL;
	if (w->epfd >= 0)
		close(w->epfd);
	w->epfd = -1;
	qs_alloc_fini(&w->alloc);
	if (w->ticket.data != NULL)
		gnutls_free(w->ticket.data);
	w->ticket.data = NULL;
	w->ticket.size = 0;
}

/* ---- the slots' timers ---- */

/* Puts the slot in the heap by its next deadline, or takes it out when it
 * has none (done, or waiting for a --max-pending place). */
static void
slot_schedule(struct qsl_conn *c)
{
	struct qsl_worker *w = c->w;

	if (c->state == QSL_SLOT_ACTIVE)
		c->timer.expiry = conn_deadline(c);
	else if (c->state == QSL_SLOT_IDLE && !c->waiting)
		c->timer.expiry = c->reconnect_at;
	else {
		qs_timers_remove(&w->timers, &c->timer);
		return;
	}
	qs_timers_update(&w->timers, &c->timer);	/* holds every slot */
}

static void
wait_push(struct qsl_conn *c)
{
	struct qsl_worker *w = c->w;

	c->waiting = true;
	c->wait_next = NULL;
	if (w->wait_tail != NULL)
		w->wait_tail->wait_next = c;
	else
		w->wait_head = c;
	w->wait_tail = c;
}

/* Starts waiting slots while --max-pending has room; slots that stopped
 * waiting (the run drained them) are dropped from the list here. */
static void
wait_start(struct qsl_worker *w)
{
	while (w->wait_head != NULL && w->n_pending < w->max_pending) {
		struct qsl_conn *c = w->wait_head;

		w->wait_head = c->wait_next;
		if (w->wait_head == NULL)
			w->wait_tail = NULL;
		c->waiting = false;
		if (c->state != QSL_SLOT_IDLE)
			continue;
		conn_start(c);
		slot_schedule(c);
	}
}

/* Every slot whose deadline has come, each once. */
static void
timers_run(struct qsl_worker *w, uint64_t now)
{
	uint32_t budget = w->timers.len;
	struct qs_timer *t;

	while (budget-- > 0 && (t = qs_timers_first(&w->timers)) != NULL &&
	       t->expiry <= now) {
		struct qsl_conn *c = qs_container_of(t, struct qsl_conn, timer);

		if (c->state == QSL_SLOT_IDLE) {
			if (w->max_pending != 0 && w->n_pending >= w->max_pending) {
				/* a handshake that ends frees a place */
				wait_push(c);
			} else {
				conn_start(c);
			}
		} else if (c->state == QSL_SLOT_ACTIVE) {
			conn_on_timer(c, now);
		}
		slot_schedule(c);
	}
}

/* -D is over or a signal came: no new requests; what is in flight gets
 * a moment to finish. */
static void
worker_drain(struct qsl_worker *w, uint64_t now)
{
	const struct qsl_options *opt = w->opt;

	w->draining = true;
	w->drain_until = qsl_stop ? now : now + min_u64(opt->timeout_ns, DRAIN_MAX_NS);
	for (uint32_t i = 0; i < w->n_conns; i++) {
		struct qsl_conn *c = &w->conns[i];

		if (c->state == QSL_SLOT_IDLE)
			slot_done(c);
		else if (c->state == QSL_SLOT_ACTIVE) {
			c->closing = true;
			conn_after_io(c);
		}
		slot_schedule(c);
	}
}

/* The drain time is over: what is still open is closed, its requests
 * counted as aborted. */
static void
worker_abort(struct qsl_worker *w)
{
	for (uint32_t i = 0; i < w->n_conns; i++) {
		struct qsl_conn *c = &w->conns[i];

		if (c->state == QSL_SLOT_ACTIVE)
			conn_close(c);
		slot_schedule(c);
	}
}

/* --hold: once every slot holds its connection open (or is done), the
 * hold time starts; when it is over, the held connections close. */
static void
hold_progress(struct qsl_worker *w, uint64_t now)
{
	if (w->hold_end == 0) {
		if (w->n_holding > 0 && w->n_holding + w->n_done == w->n_conns) {
			w->hold_end = now + w->opt->hold_ns;
			__atomic_store_n(&w->holding, 1, __ATOMIC_RELEASE);
		}
		return;
	}
	if (now >= w->hold_end)
		worker_drain(w, now);
}

void *
qsl_worker_run(void *arg)
{
	struct qsl_worker *w = arg;
	const struct qsl_options *opt = w->opt;
	struct epoll_event evs[EVENTS_MAX];

	w->start_ns = qsl_now();
	w->deadline_ns = opt->duration_s > 0
		? w->start_ns + (uint64_t)(opt->duration_s * NGTCP2_SECONDS)
		: UINT64_MAX;
	if (opt->max_time_ns != 0)
		w->deadline_ns = min_u64(w->deadline_ns, opt->run_start_ns + opt->max_time_ns);
	for (uint32_t i = 0; i < w->n_conns; i++) {
		struct qsl_conn *c = &w->conns[i];

		if (c->quota == 0) {
			slot_done(c);
		} else {
			c->state = QSL_SLOT_IDLE;
			c->reconnect_at = w->start_ns;
		}
	}

	for (uint32_t i = 0; i < w->n_conns; i++)
		slot_schedule(&w->conns[i]);

	while (w->n_done < w->n_conns) {
		uint64_t now = qsl_now(), next = now + LOOP_TICK_MS * NGTCP2_MILLISECONDS;
		struct qs_timer *first;
		int n, timeout_ms;

		if (!w->draining && (qsl_stop || now >= w->deadline_ns))
			worker_drain(w, now);
		if (w->draining && now >= w->drain_until && !w->aborted) {
			w->aborted = true;
			worker_abort(w);
		}
		timers_run(w, now);
		if (w->max_pending != 0)
			wait_start(w);
		if (opt->hold_ns != 0 && !w->draining)
			hold_progress(w, now);
		if (w->n_done >= w->n_conns)
			break;
		first = qs_timers_first(&w->timers);
		if (first != NULL)
			next = min_u64(next, first->expiry);
		if (!w->draining)
			next = min_u64(next, w->deadline_ns);
		if (w->hold_end != 0 && !w->draining)
			next = min_u64(next, w->hold_end);
		if (w->draining && !w->aborted)
			next = min_u64(next, w->drain_until);
		now = qsl_now();
		timeout_ms = next > now
			? (int)((next - now + NGTCP2_MILLISECONDS - 1) / NGTCP2_MILLISECONDS)
			: 0;
		n = epoll_wait(w->epfd, evs, EVENTS_MAX, timeout_ms);
		for (int i = 0; i < n; i++) {
			struct qsl_sock *s = evs[i].data.ptr;
			struct qsl_conn *c = s->conn;

			/* a socket closed earlier in this batch */
			if (s->fd < 0 || c->state != QSL_SLOT_ACTIVE)
				continue;
			if (evs[i].events & EPOLLOUT) {
				conn_on_writable(c);
				if (s->fd < 0 || c->state != QSL_SLOT_ACTIVE) {
					slot_schedule(c);
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				if (conn_read(c, s) == 0)
					conn_after_io(c);
			}
			slot_schedule(c);
		}
	}
	w->cpu_ns = thread_cpu_ns();
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}
