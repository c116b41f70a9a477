/* The HTTP/3 side of a connection: nghttp3 callbacks and responses from
 * the content store or the synthetic /bytes/N endpoint. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qs_conn.h"
#include "qs_content.h"
#include "qs_lcore.h"
#include "qs_quic.h"
#include "qs_server.h"

#define SERVER_NAME "quicsteer"
#define BYTES_PREFIX "/bytes/"
/* /bytes/N bodies repeat a-z; a chunk holds whole alphabets so chunk after
 * chunk continues the pattern: byte k of every body is 'a' + k % 26 */
#define PATTERN_CHUNK (26 * 630)
/* body bytes handed to nghttp3 and not yet acked, per synthetic stream */
#define SYNTH_INFLIGHT_MAX (1024 * 1024)

static uint8_t pattern[PATTERN_CHUNK];

static inline struct qs_lcore *
lcore_of(const struct qs_conn *c)
{
	return c->srv->lc;
}

static void
consume(struct qs_conn *c, int64_t stream_id, size_t n)
{
	qs_quic_consume(c->conn, stream_id, n);
}

static int
h3_recv_data(nghttp3_conn *h3, int64_t stream_id, const uint8_t *data,
	     size_t datalen, void *user_data, void *stream_user_data)
{
	(void)h3; (void)data; (void)stream_user_data;
	/* request bodies are read and discarded */
	consume(user_data, stream_id, datalen);
	return 0;
}

static int
h3_deferred_consume(nghttp3_conn *h3, int64_t stream_id, size_t consumed,
		    void *user_data, void *stream_user_data)
{
	(void)h3; (void)stream_user_data;
	consume(user_data, stream_id, consumed);
	return 0;
}

static int
h3_begin_headers(nghttp3_conn *h3, int64_t stream_id, void *user_data,
		 void *stream_user_data)
{
	struct qs_conn *c = user_data;
	struct qs_h3_stream *st;

	(void)stream_user_data;
	st = qs_server_stream_get(c->srv);
	if (st == NULL)
		return NGHTTP3_ERR_CALLBACK_FAILURE;
	st->id = stream_id;
	st->next = c->streams;
	c->streams = st;
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

	(void)h3; (void)stream_id; (void)name; (void)flags; (void)user_data;
	if (st == NULL)
		return 0;
	switch (token) {
	case NGHTTP3_QPACK_TOKEN__PATH:
		copy_token(st->path, sizeof(st->path), &v, &st->path_len,
			   &st->path_too_long);
		break;
	case NGHTTP3_QPACK_TOKEN__METHOD:
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
		qs_server_mark_dirty(c->srv, c);
	}
	return 0;
}

static void
count_status(struct qs_conn *c, unsigned int status)
{
	struct qs_stats *s = &lcore_of(c)->stats;

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
	count_status(c, status);
	rv = nghttp3_conn_submit_response(c->h3, st->id, nva, allow_header ? 5 : 4,
					  with_body ? &dr : NULL);
	qs_server_mark_dirty(c->srv, c);
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
	const struct qs_config *cfg = lcore_of(c)->dp->cfg;
	bool head = strcmp(st->method, "HEAD") == 0;
	const struct qs_content_file *f;
	const char *q;
	size_t plen;
	uint64_t n;

	lcore_of(c)->stats.h3_requests++;
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
	f = qs_content_find(st->path, plen);
	if (f == NULL)
		return submit_error(c, st, 404, "404 Not Found\n", head);
	st->body = f->data;
	st->body_left = f->len;
	return submit(c, st, 200, f->content_type, f->len, !head, false);
}

static int
h3_end_stream(nghttp3_conn *h3, int64_t stream_id, void *user_data,
	      void *stream_user_data)
{
	struct qs_h3_stream *st = stream_user_data;

	(void)h3; (void)stream_id;
	if (st == NULL || st->responded)
		return 0;
	return respond(user_data, st) == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static void
stream_forget(struct qs_conn *c, int64_t stream_id)
{
	struct qs_h3_stream **pp = &c->streams;

	for (; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == stream_id) {
			struct qs_h3_stream *st = *pp;

			*pp = st->next;
			c->n_streams--;
			qs_server_stream_put(c->srv, st);
			return;
		}
	}
}

static int
h3_stream_close(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qs_conn *c = user_data;

	(void)h3; (void)app_error_code; (void)stream_user_data;
	stream_forget(c, stream_id);
	if (ngtcp2_is_bidi_stream(stream_id))
		ngtcp2_conn_extend_max_streams_bidi(c->conn, 1);
	return 0;
}

static int
h3_stop_sending(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qs_conn *c = user_data;

	(void)h3; (void)stream_user_data;
	ngtcp2_conn_shutdown_stream_read(c->conn, stream_id, app_error_code);
	return 0;
}

static int
h3_reset_stream(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qs_conn *c = user_data;

	(void)h3; (void)stream_user_data;
	ngtcp2_conn_shutdown_stream_write(c->conn, stream_id, app_error_code);
	return 0;
}

static const nghttp3_callbacks h3_callbacks = {
	.acked_stream_data = h3_acked_stream_data,
	.stream_close = h3_stream_close,
	.recv_data = h3_recv_data,
	.deferred_consume = h3_deferred_consume,
	.begin_headers = h3_begin_headers,
	.recv_header = h3_recv_header,
	.stop_sending = h3_stop_sending,
	.end_stream = h3_end_stream,
	.reset_stream = h3_reset_stream,
};

void
qs_h3_global_init(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)('a' + i % 26);
}

int
qs_h3_setup(struct qs_conn *c)
{
	const ngtcp2_transport_params *params;
	nghttp3_settings settings;

	if (c->h3 != NULL)
		return 0;
	if (ngtcp2_conn_get_max_local_streams_uni(c->conn) < 3)
		return -1;
	nghttp3_settings_default(&settings);
	settings.qpack_max_dtable_capacity = 4096;
	settings.qpack_blocked_streams = 100;
	if (nghttp3_conn_server_new(&c->h3, &h3_callbacks, &settings,
				    nghttp3_mem_default(), c) != 0)
		return -1;
	params = ngtcp2_conn_get_local_transport_params(c->conn);
	nghttp3_conn_set_max_client_streams_bidi(c->h3,
						 params->initial_max_streams_bidi);
	return qs_quic_bind_h3_streams(c->conn, c->h3);
}

void
qs_h3_free_streams(struct qs_conn *c)
{
	while (c->streams != NULL) {
		struct qs_h3_stream *st = c->streams;

		c->streams = st->next;
		qs_server_stream_put(c->srv, st);
	}
	c->n_streams = 0;
}
