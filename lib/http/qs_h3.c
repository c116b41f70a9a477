/* The HTTP/3 side of a connection: nghttp3 callbacks and responses from
 * the content store or the synthetic /bytes/N endpoint. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "http/qs_access_log.h"
#include "http/qs_content.h"
#include "http/qs_h3.h"
#include "quic/qs_conn.h"
#include "quic/qs_quic_glue.h"

#define SERVER_NAME "quicsteer"
#define BYTES_PREFIX "/bytes/"
/* /bytes/N bodies repeat a-z; a chunk holds whole alphabets so chunk after
 * chunk continues the pattern: byte k of every body is 'a' + k % 26 */
#define PATTERN_CHUNK (26 * 630)
/* body bytes handed to nghttp3 and not yet acked, per synthetic stream */
#define SYNTH_INFLIGHT_MAX (1024 * 1024)
/* recycled request streams kept per lcore */
#define STREAM_CACHE_MAX 1024

static uint8_t pattern[PATTERN_CHUNK];

/* ---- streams: recycled per lcore ---- */

static struct qs_h3_stream *
stream_get(struct qs_h3_lcore *h)
{
	struct qs_h3_stream *st = h->free_streams;

	if (st != NULL) {
		h->free_streams = st->next;
		h->n_free_streams--;
	} else {
		st = rte_malloc("qs_stream", sizeof(*st), 0);
		if (st == NULL)
			return NULL;
	}
	memset(st, 0, offsetof(struct qs_h3_stream, path));
	st->path[0] = '\0';
	st->path_len = 0;
	st->path_too_long = false;
	st->fields_too_large = false;
	st->field_bytes = 0;
	st->responded = false;
	st->early_data = false;
	st->status = 0;
	st->t_start = st->body_len = 0;
	st->body = NULL;
	st->content = NULL;
	st->body_left = st->unacked = 0;
	st->synthetic = false;
	return st;
}

static struct qs_h3_lcore *
h3_lcore(const struct qs_conn *c)
{
	return qs_conn_env(c)->app_ctx;
}

/* The stream of c goes: the store its body read from is free of it. */
static void
stream_put(struct qs_conn *c, struct qs_h3_stream *st)
{
	struct qs_h3_lcore *h = h3_lcore(c);

	if (st->content != NULL)
		qs_holds_drop(&st->content->holds, qs_conn_env(c)->worker);
	st->content = NULL;
	if (h->n_free_streams >= STREAM_CACHE_MAX) {
		rte_free(st);
		return;
	}
	st->next = h->free_streams;
	h->free_streams = st;
	h->n_free_streams++;
}

void
qs_h3_lcore_fini(struct qs_h3_lcore *h)
{
	while (h->free_streams != NULL) {
		struct qs_h3_stream *st = h->free_streams;

		h->free_streams = st->next;
		rte_free(st);
	}
	h->n_free_streams = 0;
}

static int
h3_begin_headers(nghttp3_conn *h3, int64_t stream_id, void *user_data,
		 void *stream_user_data)
{
	struct qs_conn *c = user_data;
	struct qs_h3_stream *st;

	(void)stream_user_data;
	st = stream_get(h3_lcore(c));
	if (st == NULL)
		return NGHTTP3_ERR_CALLBACK_FAILURE;
	st->id = stream_id;
	st->t_start = qs_conn_env(c)->now;
	st->early_data = !ngtcp2_conn_get_handshake_completed(c->q.conn);
	st->next = c->app_streams;
	c->app_streams = st;
	c->n_streams++;
	nghttp3_conn_set_stream_user_data(h3, stream_id, st);
	return 0;
}

static void
copy_token(char *dst, size_t cap, const nghttp3_vec *v, uint16_t *len,
	   bool *too_long)
{
	if (v->len >= cap) {
		if (too_long != NULL)
			*too_long = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, v->base, v->len);
	dst[v->len] = '\0';
	if (len != NULL)
		*len = (uint16_t)v->len;
}

static int
h3_recv_header(nghttp3_conn *h3, int64_t stream_id, int32_t token,
	       nghttp3_rcbuf *name, nghttp3_rcbuf *value, uint8_t flags,
	       void *user_data, void *stream_user_data)
{
	struct qs_h3_stream *st = stream_user_data;
	nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
	struct qs_conn *c = user_data;

	(void)h3; (void)stream_id; (void)flags;
	if (st == NULL)
		return 0;
	/* nghttp3 0.8 announces the limit but does not hold requests to it */
	st->field_bytes += nghttp3_rcbuf_get_buf(name).len + v.len + 32;
	if (st->field_bytes > qs_conn_env(c)->cfg->max_field_section_size)
		st->fields_too_large = true;
	switch (token) {
	case NGHTTP3_QPACK_TOKEN__PATH:
		copy_token(st->path, sizeof(st->path), &v, &st->path_len,
			   &st->path_too_long);
		break;
	case NGHTTP3_QPACK_TOKEN__METHOD:
		/* a method too long to keep is still a method: one we do not
		 * serve (405), not a missing one (400) */
		if (v.len >= sizeof(st->method))
			memcpy(st->method, "LONG", sizeof("LONG"));
		else
			copy_token(st->method, sizeof(st->method), &v, NULL, NULL);
		break;
	default:
		break;
	}
	return 0;
}

static nghttp3_ssize
read_body(nghttp3_conn *h3, int64_t stream_id, nghttp3_vec *vec, size_t veccnt,
	  uint32_t *pflags, void *user_data, void *stream_user_data)
{
	struct qs_h3_stream *st = stream_user_data;
	size_t n = 0;

	(void)h3; (void)stream_id; (void)user_data;
	if (!st->synthetic) {
		/* the whole file at once: it lives as long as the process */
		*pflags |= NGHTTP3_DATA_FLAG_EOF;
		if (st->body_left == 0)
			return 0;
		vec[0].base = (uint8_t *)st->body;
		vec[0].len = st->body_left;
		st->body_left = 0;
		return 1;
	}
	if (st->unacked >= SYNTH_INFLIGHT_MAX && st->body_left > 0)
		return NGHTTP3_ERR_WOULDBLOCK;
	while (n < veccnt && st->body_left > 0 && st->unacked < SYNTH_INFLIGHT_MAX) {
		size_t len = RTE_MIN(st->body_left, (uint64_t)PATTERN_CHUNK);

		vec[n].base = pattern;
		vec[n].len = len;
		st->body_left -= len;
		st->unacked += len;
		n++;
	}
	if (st->body_left == 0)
		*pflags |= NGHTTP3_DATA_FLAG_EOF;
	return (nghttp3_ssize)n;
}

static int
h3_acked_stream_data(nghttp3_conn *h3, int64_t stream_id, uint64_t datalen,
		     void *user_data, void *stream_user_data)
{
	struct qs_h3_stream *st = stream_user_data;
	struct qs_conn *c = user_data;

	if (st == NULL || !st->synthetic)
		return 0;
	st->unacked -= RTE_MIN(datalen, st->unacked);
	if (st->body_left > 0 && st->unacked < SYNTH_INFLIGHT_MAX / 2) {
		nghttp3_conn_resume_stream(h3, stream_id);
		qs_conn_mark_dirty(c);
	}
	return 0;
}

static void
count_status(struct qs_conn *c, unsigned int status)
{
	struct qs_stats *s = qs_conn_env(c)->stats;

	if (status < 300)
		s->h3_responses_2xx++;
	else if (status < 500)
		s->h3_responses_4xx++;
	else
		s->h3_responses_5xx++;
}

/* Decimal digits of v into buf (no terminator); returns their count. Two
 * snprintf calls were 5 % of a request's instructions. */
static size_t
format_u64(char *buf, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

#define NV(n, v, vlen) \
	{(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen), \
	 NGHTTP3_NV_FLAG_NO_COPY_NAME}

/* Submits status and headers; the body, if any, is set up in st. */
static int
submit(struct qs_conn *c, struct qs_h3_stream *st, unsigned int status,
       const char *content_type, uint64_t length, bool with_body,
       bool allow_header)
{
	char status_str[4], length_str[24];
	nghttp3_data_reader dr = {.read_data = read_body};
	nghttp3_nv nva[5] = {
		NV(":status", status_str, 3),
		NV("server", SERVER_NAME, sizeof(SERVER_NAME) - 1),
		NV("content-type", content_type, strlen(content_type)),
		NV("content-length", length_str, 0),
		NV("allow", "GET, HEAD", 9),
	};
	int rv;

	format_u64(status_str, status);     /* always three digits */
	nva[3].valuelen = format_u64(length_str, length);
	st->responded = true;
	st->status = (uint16_t)status;
	st->body_len = with_body ? length : 0;
	count_status(c, status);
	rv = nghttp3_conn_submit_response(c->q.h3, st->id, nva, allow_header ? 5 : 4,
					  with_body ? &dr : NULL);
	qs_conn_mark_dirty(c);
	return rv == 0 ? 0 : -1;
}

static int
submit_error(struct qs_conn *c, struct qs_h3_stream *st, unsigned int status,
	     const char *text, bool head)
{
	st->body = (const uint8_t *)text;
	st->body_left = strlen(text);
	return submit(c, st, status, "text/plain; charset=utf-8", st->body_left,
		      !head, status == 405);
}

/* Digits only, no overflow: N of /bytes/N. */
static bool
parse_count(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int
respond(struct qs_conn *c, struct qs_h3_stream *st)
{
	struct qs_env *env = qs_conn_env(c);
	const struct qs_config *cfg = env->cfg;
	bool head = strcmp(st->method, "HEAD") == 0;
	const struct qs_content_file *f;
	const char *q;
	size_t plen;
	uint64_t n;

	env->stats->h3_requests++;
	if (st->fields_too_large)
		return submit_error(c, st, 431,
				    "431 Request Header Fields Too Large\n", head);
	if (st->path_too_long)
		return submit_error(c, st, 414, "414 URI Too Long\n", head);
	if (st->method[0] == '\0' || st->path[0] != '/')
		return submit_error(c, st, 400, "400 Bad Request\n", head);
	if (!head && strcmp(st->method, "GET") != 0)
		return submit_error(c, st, 405, "405 Method Not Allowed\n", false);

	q = memchr(st->path, '?', st->path_len);
	plen = q != NULL ? (size_t)(q - st->path) : st->path_len;
	if (plen > sizeof(BYTES_PREFIX) - 1 &&
	    memcmp(st->path, BYTES_PREFIX, sizeof(BYTES_PREFIX) - 1) == 0) {
		if (!parse_count(st->path + sizeof(BYTES_PREFIX) - 1,
				 plen - (sizeof(BYTES_PREFIX) - 1), &n))
			return submit_error(c, st, 400,
					    "400 Bad Request: /bytes/N takes a count\n",
					    head);
		if (n > cfg->bytes_max)
			return submit_error(c, st, 400,
					    "400 Bad Request: N is above bytes_max\n",
					    head);
		st->synthetic = true;
		st->body_left = n;
		return submit(c, st, 200, "application/octet-stream", n, !head,
			      false);
	}
	f = qs_content_find(h3_lcore(c)->content, st->path, plen);
	if (f == NULL)
		return submit_error(c, st, 404, "404 Not Found\n", head);
	st->content = h3_lcore(c)->content;
	qs_holds_take(&st->content->holds, env->worker);
	st->body = f->data;
	st->body_left = f->len;
	return submit(c, st, 200, f->content_type, f->len, !head, false);
}

static int
h3_end_stream(nghttp3_conn *h3, int64_t stream_id, void *user_data,
	      void *stream_user_data)
{
	struct qs_h3_stream *st = stream_user_data;

	if (st == NULL || st->responded)
		return 0;
	/* a request nghttp3 held back (QPACK-blocked) may end after its stream
	 * closed (the client stopped it); answering would schedule a stream
	 * nghttp3 0.8 then frees while still scheduled (use after free) */
	if (!nghttp3_conn_is_stream_writable(h3, stream_id))
		return 0;
	return respond(user_data, st) == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static void
stream_forget(struct qs_conn *c, int64_t stream_id)
{
	struct qs_h3_stream *st = c->app_streams, *prev = NULL;

	for (; st != NULL; prev = st, st = st->next) {
		if (st->id != stream_id)
			continue;
		if (prev != NULL)
			prev->next = st->next;
		else
			c->app_streams = st->next;
		c->n_streams--;
		stream_put(c, st);
		return;
	}
}

/* The access log record of a response whose stream closed; onto the
 * worker's ring, or counted when the ring is full. */
static void
access_log(struct qs_conn *c, const struct qs_h3_stream *st,
	   uint64_t app_error_code)
{
	struct qs_env *env = qs_conn_env(c);
	const ngtcp2_addr *peer = &ngtcp2_conn_get_path(c->q.conn)->remote;
	union {
		struct qs_access_record r;
		uint8_t slot[QS_ACCESS_RECORD_SIZE];
	} u;
	struct qs_access_record *r = &u.r;

	memset(&u, 0, sizeof(u));
	r->end_ns = env->now;
	r->duration_ns = env->now - st->t_start;
	r->body_bytes = st->body_len - RTE_MIN(st->body_left, st->body_len);
	r->status = st->status;
	r->worker = env->worker;
	if (peer->addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer->addr;

		r->family = 6;
		memcpy(r->addr, &a->sin6_addr, 16);
		r->port = rte_be_to_cpu_16(a->sin6_port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)peer->addr;

		r->family = 4;
		memcpy(r->addr, &a->sin_addr, 4);
		r->port = rte_be_to_cpu_16(a->sin_port);
	}
	r->cid_len = (uint8_t)RTE_MIN(c->first_cid.datalen, (size_t)QS_ACCESS_CID_MAX);
	memcpy(r->cid, c->first_cid.data, r->cid_len);
	r->early_data = st->early_data;
	r->complete = app_error_code == NGHTTP3_H3_NO_ERROR && st->body_left == 0;
	memcpy(r->method, st->method, sizeof(r->method));
	r->path_len = (uint16_t)RTE_MIN((size_t)st->path_len, (size_t)QS_ACCESS_PATH_MAX);
	r->path_cut = st->path_len > QS_ACCESS_PATH_MAX || st->path_too_long;
	memcpy(r->path, st->path, r->path_len);
	if (rte_ring_sp_enqueue_elem(env->access_log, &u, sizeof(u)) != 0)
		env->stats->access_log_dropped++;
}

static int
h3_stream_close(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qs_conn *c = user_data;
	const struct qs_h3_stream *st = stream_user_data;

	(void)h3;
	if (st != NULL && st->responded && qs_conn_env(c)->access_log != NULL)
		access_log(c, st, app_error_code);
	stream_forget(c, stream_id);
	if (ngtcp2_is_bidi_stream(stream_id))
		ngtcp2_conn_extend_max_streams_bidi(c->q.conn, 1);
	return 0;
}

void
qs_h3_global_init(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)('a' + i % 26);
}

static int
h3_start(struct qs_conn *c)
{
	nghttp3_callbacks cb;

	qs_quic_h3_callbacks_init(&cb);
	cb.acked_stream_data = h3_acked_stream_data;
	cb.stream_close = h3_stream_close;
	cb.begin_headers = h3_begin_headers;
	cb.recv_header = h3_recv_header;
	cb.end_stream = h3_end_stream;
	return qs_quic_h3_start(&c->q, true, &cb,
				qs_conn_env(c)->cfg->max_field_section_size);
}

static void
h3_release(struct qs_conn *c)
{
	while (c->app_streams != NULL) {
		struct qs_h3_stream *st = c->app_streams;

		/* answered, but the connection went before the stream closed
		 * (the client closed it once the last response was in) */
		if (st->responded && c->q.conn != NULL &&
		    qs_conn_env(c)->access_log != NULL)
			access_log(c, st, NGHTTP3_H3_NO_ERROR);
		c->app_streams = st->next;
		stream_put(c, st);
	}
	c->n_streams = 0;
}

const struct qs_app_ops qs_h3_app_ops = {
	.start = h3_start,
	.release = h3_release,
};
