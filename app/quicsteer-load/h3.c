/* The HTTP/3 side of a connection: the nghttp3 client session, requests
 * (GET, round-robin over the URIs) and what each response counts for. */
#include <stdio.h>
#include <string.h>

#include "qsl.h"

#define USER_AGENT QSL_NAME "/0.1"

/* The request slot a stream's user data names, while the slot still holds
 * that stream: a slot is reused as soon as its response has ended, and
 * the stream's later callbacks (its close waits for the peer's ACK of our
 * FIN) must not touch the next request. NULL otherwise. */
static struct qsl_stream *
stream_request(void *stream_user_data, int64_t stream_id)
{
	struct qsl_stream *st = stream_user_data;

	return st != NULL && st->id == stream_id ? st : NULL;
}

static int
h3_begin_headers(nghttp3_conn *h3, int64_t stream_id, void *user_data,
		 void *stream_user_data)
{
	struct qsl_stream *st = stream_request(stream_user_data, stream_id);

	(void)h3; (void)user_data;
	if (st != NULL && st->t_first == 0)
		st->t_first = qsl_now();
	return 0;
}

static int
h3_recv_header(nghttp3_conn *h3, int64_t stream_id, int32_t token,
	       nghttp3_rcbuf *name, nghttp3_rcbuf *value, uint8_t flags,
	       void *user_data, void *stream_user_data)
{
	struct qsl_stream *st = stream_request(stream_user_data, stream_id);
	nghttp3_vec v;

	(void)h3; (void)name; (void)flags; (void)user_data;
	if (st == NULL || token != NGHTTP3_QPACK_TOKEN__STATUS)
		return 0;
	/* an interim 1xx response is followed by the real one */
	v = nghttp3_rcbuf_get_buf(value);
	if (v.len == 3 && v.base[0] >= '1' && v.base[0] <= '9' &&
	    v.base[1] >= '0' && v.base[1] <= '9' && v.base[2] >= '0' &&
	    v.base[2] <= '9')
		st->status = (uint16_t)((v.base[0] - '0') * 100 +
					(v.base[1] - '0') * 10 + (v.base[2] - '0'));
	return 0;
}

static int
h3_recv_data(nghttp3_conn *h3, int64_t stream_id, const uint8_t *data,
	     size_t datalen, void *user_data, void *stream_user_data)
{
	struct qsl_conn *c = user_data;
	struct qsl_stream *st = stream_request(stream_user_data, stream_id);

	(void)h3;
	qs_quic_consume(c->q.conn, stream_id, datalen);
	c->progress_at = qsl_now();
	if (st == NULL)
		return 0;
	st->body += datalen;
	STAT_ADD(c->w, body_bytes, datalen);
	/* curl-like: the body of a successful response to stdout */
	if (c->w->opt->single && st->status >= 200 && st->status < 300 &&
	    fwrite(data, 1, datalen, stdout) != datalen)
		return NGHTTP3_ERR_CALLBACK_FAILURE;
	return 0;
}

static void
stream_release(struct qsl_conn *c, struct qsl_stream *st)
{
	st->id = -1;
	c->inflight--;
}

/* The request on st is over: count it, and free its slot for the next
 * one. app_error_code is H3_NO_ERROR when the response ended (FIN, and a
 * body nghttp3 found as long as its content-length), else why the stream
 * ended before it did. */
static void
request_done(struct qsl_conn *c, struct qsl_stream *st, uint64_t app_error_code)
{
	struct qsl_worker *w = c->w;
	const struct qsl_options *opt = w->opt;
	uint64_t now = qsl_now();
	unsigned int cls = st->status / 100;

	if (st->status == 0 && !st->ended &&
	    app_error_code == NGHTTP3_H3_REQUEST_REJECTED) {
		/* not processed (RFC 9114 4.1.1): as a browser, send it again,
		 * on a new connection if this one is going away */
		STAT_INC(w, req_retried);
		STAT_ADD(w, req_started, (uint64_t)0 - 1);
		if (c->quota != UINT64_MAX)
			c->quota++;
		c->progress_at = now;
		stream_release(c, st);
		return;
	}
	if (st->status != 0)
		STAT_INC(w, status[cls >= 2 && cls <= 5 ? cls : 0]);
	if (st->ended && cls == 2 && app_error_code == NGHTTP3_H3_NO_ERROR) {
		STAT_INC(w, req_completed);
		qsl_hist_add(&w->stats.ttfb,
			     ((st->t_first ? st->t_first : now) - st->t_start) / 1000);
		qsl_hist_add(&w->stats.request, (now - st->t_start) / 1000);
	} else {
		STAT_INC(w, req_failed);
		if (st->ended && st->status != 0)
			qsl_note_error(c, QSL_ERR_STATUS, "HTTP status %u for %s",
				       st->status, opt->uris[st->uri].path);
		else
			qsl_note_error(c, QSL_ERR_OTHER,
				       "stream %s with error 0x%llx before the "
				       "response to %s ended",
				       st->reset ? "reset by the peer" : "closed",
				       (unsigned long long)app_error_code,
				       opt->uris[st->uri].path);
	}
	c->progress_at = now;
	c->served++;
	c->since_move++;
	if (opt->rebind_every && c->rebinds && c->since_move >= opt->rebind_every)
		c->move_due = true;
	stream_release(c, st);
}

/* The response ended: the request is done now, whenever the peer
 * acknowledges our side of the stream (a server may delay that ACK by
 * 25 ms; waiting for it measures the ACK delay, not the server). */
static int
h3_end_stream(nghttp3_conn *h3, int64_t stream_id, void *user_data,
	      void *stream_user_data)
{
	struct qsl_stream *st = stream_request(stream_user_data, stream_id);

	(void)h3;
	if (st != NULL) {
		st->ended = true;
		request_done(user_data, st, NGHTTP3_H3_NO_ERROR);
	}
	return 0;
}

/* The stream closed before its response ended: we aborted it (a
 * malformed response, see qs_quic_recv_stream_data). */
static int
h3_stream_close(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qsl_stream *st = stream_request(stream_user_data, stream_id);

	(void)h3;
	if (st != NULL)
		request_done(user_data, st, app_error_code);
	return 0;
}

int
qsl_h3_cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size,
		       uint64_t app_error_code, void *user_data,
		       void *stream_user_data)
{
	struct qsl_stream *st = stream_request(stream_user_data, stream_id);

	if (st != NULL) {
		st->reset = true;
		request_done(user_data, st, app_error_code);
	}
	return qs_quic_cb_stream_reset(conn, stream_id, final_size, app_error_code,
				       user_data, stream_user_data);
}

/* GOAWAY: the server takes no new requests on this connection; those in
 * flight finish, the next ones go on a new connection (conn_end) */
static int
h3_shutdown(nghttp3_conn *h3, int64_t id, void *user_data)
{
	struct qsl_conn *c = user_data;

	(void)h3; (void)id;
	if (!c->goaway)
		STAT_INC(c->w, conn_goaway);
	c->goaway = true;
	return 0;
}

int
qsl_h3_setup(struct qsl_conn *c)
{
	nghttp3_callbacks cb;

	qs_quic_h3_callbacks_init(&cb);
	cb.stream_close = h3_stream_close;
	cb.recv_data = h3_recv_data;
	cb.begin_headers = h3_begin_headers;
	cb.recv_header = h3_recv_header;
	cb.end_stream = h3_end_stream;
	cb.shutdown = h3_shutdown;
	return qs_quic_h3_start(&c->q, false, &cb, 0);
}

void
qsl_h3_free(struct qsl_conn *c)
{
	if (c->q.h3 != NULL)
		nghttp3_conn_del(c->q.h3);
	c->q.h3 = NULL;
}

static struct qsl_stream *
stream_free_slot(struct qsl_conn *c)
{
	for (uint32_t i = 0; i < c->w->opt->streams; i++)
		if (c->streams[i].id < 0)
			return &c->streams[i];
	return NULL;
}

#define NV(n, v) \
	{(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
	 NGHTTP3_NV_FLAG_NO_COPY_NAME | NGHTTP3_NV_FLAG_NO_COPY_VALUE}

/* A GET for the next URI on stream sid; st is the stream's user data
 * (NULL: nothing is counted for it). nghttp3's return value. */
static int
submit_get(struct qsl_conn *c, int64_t sid, struct qsl_stream *st, uint32_t uri)
{
	const struct qsl_options *opt = c->w->opt;
	const struct qsl_uri *u = &opt->uris[uri];
	/* the strings live as long as the options */
	nghttp3_nv nva[5 + QSL_MAX_HEADERS] = {
		NV(":method", "GET"),
		NV(":scheme", "https"),
		NV(":authority", u->authority),
		NV(":path", u->path),
		NV("user-agent", USER_AGENT),
	};

	memcpy(&nva[5], opt->headers, opt->n_headers * sizeof(nva[0]));
	return nghttp3_conn_submit_request(c->q.h3, sid, nva, 5 + opt->n_headers,
					   NULL, st);
}

/* Rapid reset (CVE-2023-44487's pattern over HTTP/3): each stream gets a
 * request whose HEADERS go out, then RESET_STREAM and STOP_SENDING
 * (H3_REQUEST_CANCELLED) right after, so the server does a request's
 * work for nothing and the stream credit comes back at once. */
int
qsl_h3_rapid_reset(struct qsl_conn *c, uint64_t now,
		   int (*write)(struct qsl_conn *c))
{
	struct qsl_worker *w = c->w;
	double rate = w->opt->rapid_reset_rate;
	/* at most 10 ms of streams at once, and one batch */
	double burst = rate / 100 < 1 ? 1
		       : rate / 100 > QSL_RR_BATCH ? QSL_RR_BATCH : rate / 100;
	bool blocked = false;
	int rv;

	if (c->rr_last == 0) {
		c->rr_last = now;
		c->rr_credit = 1;
	}
	c->rr_credit += (double)(now - c->rr_last) * rate / NGTCP2_SECONDS;
	c->rr_last = now;
	if (c->rr_credit > burst)
		c->rr_credit = burst;
	while (c->rr_credit >= 1 && c->rr_n_pending < QSL_RR_BATCH) {
		int64_t sid;

		rv = ngtcp2_conn_open_bidi_stream(c->q.conn, &sid, NULL);
		if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
			blocked = true;	/* MAX_STREAMS brings us back */
			break;
		}
		if (rv != 0)
			return -1;
		rv = submit_get(c, sid, NULL, c->uri_next++ % (uint32_t)w->opt->n_uris);
		if (rv == NGHTTP3_ERR_CONN_CLOSING) {
			ngtcp2_conn_shutdown_stream(c->q.conn, sid, NGHTTP3_H3_REQUEST_CANCELLED);
			c->goaway = true;
			break;
		}
		if (rv != 0)
			return -1;
		c->rr_pending[c->rr_n_pending++] = sid;
		c->rr_credit -= 1;
	}
	if (c->rr_n_pending > 0) {
		/* the requests go out first, as an attacker's would */
		if (write(c) != 0 || c->state != QSL_SLOT_ACTIVE)
			return 1;	/* the connection ended (counted there) */
		for (uint32_t i = 0; i < c->rr_n_pending; i++) {
			nghttp3_conn_shutdown_stream_read(c->q.h3, c->rr_pending[i]);
			ngtcp2_conn_shutdown_stream(c->q.conn, c->rr_pending[i],
						    NGHTTP3_H3_REQUEST_CANCELLED);
		}
		STAT_ADD(w, rr_streams, c->rr_n_pending);
		c->rr_n_pending = 0;
	}
	c->rr_next_at = blocked ? 0
		: now + (uint64_t)((1 - (c->rr_credit < 1 ? c->rr_credit : 0)) *
				   NGTCP2_SECONDS / rate);
	return 0;
}

int
qsl_h3_submit(struct qsl_conn *c)
{
	struct qsl_worker *w = c->w;
	const struct qsl_options *opt = w->opt;

	while (c->inflight < opt->streams && c->quota > 0 && !w->draining &&
	       !(opt->conn_requests && c->served + c->inflight >= opt->conn_requests)) {
		struct qsl_stream *st = stream_free_slot(c);
		int64_t sid;
		int rv;

		if (st == NULL)
			break;
		rv = ngtcp2_conn_open_bidi_stream(c->q.conn, &sid, st);
		if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
			break;	/* extend_max_streams comes with MAX_STREAMS */
		if (rv != 0)
			return -1;
		st->uri = c->uri_next++ % (uint32_t)opt->n_uris;
		rv = submit_get(c, sid, st, st->uri);
		if (rv == NGHTTP3_ERR_CONN_CLOSING) {
			ngtcp2_conn_shutdown_stream(c->q.conn, sid, NGHTTP3_H3_REQUEST_CANCELLED);
			c->goaway = true;
			break;
		}
		if (rv != 0)
			return -1;
		st->id = sid;
		st->status = 0;
		st->ended = st->reset = false;
		st->t_start = qsl_now();
		st->t_first = 0;
		st->body = 0;
		c->inflight++;
		if (c->quota != UINT64_MAX)
			c->quota--;
		STAT_INC(w, req_started);
	}
	return 0;
}

void
qsl_h3_requeue(struct qsl_conn *c)
{
	struct qsl_worker *w = c->w;
	uint32_t n = 0;

	qsl_h3_free(c);
	for (uint32_t i = 0; i < w->opt->streams; i++) {
		struct qsl_stream *st = &c->streams[i];

		if (st->id < 0)
			continue;
		st->id = -1;
		n++;
	}
	c->inflight = 0;
	if (c->quota != UINT64_MAX)
		c->quota += n;
	STAT_ADD(w, req_started, (uint64_t)0 - n);
	c->uri_next -= n;
}

void
qsl_h3_fail_inflight(struct qsl_conn *c, bool aborted)
{
	struct qsl_worker *w = c->w;

	for (uint32_t i = 0; i < w->opt->streams; i++) {
		struct qsl_stream *st = &c->streams[i];

		if (st->id < 0)
			continue;
		if (aborted)
			STAT_INC(w, req_aborted);
		else
			STAT_INC(w, req_failed);
		st->id = -1;
	}
	c->inflight = 0;
}
