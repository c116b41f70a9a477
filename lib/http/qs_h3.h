/* HTTP/3 on a server connection: requests read through nghttp3, answered
 * from the content store or the synthetic /bytes/N endpoint. The QUIC
 * connection starts and releases it through qs_h3_app_ops. */
#ifndef QS_H3_H
#define QS_H3_H

#include <stdbool.h>
#include <stdint.h>

#include "http/qs_content.h"
#include "quic/qs_env.h"

#define QS_H3_PATH_MAX 1024

/* One request and its response. */
struct qs_h3_stream {
	int64_t id;
	struct qs_h3_stream *next;   /* connection's list, or the free list */
	char method[8];
	char path[QS_H3_PATH_MAX];
	uint16_t path_len;
	bool path_too_long;
	bool fields_too_large;       /* over max_field_section_size: 431 */
	uint64_t field_bytes;
	bool responded;
	bool early_data;             /* began before the handshake completed */
	uint16_t status;
	uint64_t t_start;            /* ns: its HEADERS began */
	uint64_t body_len;           /* content-length of the response */
	/* response body: a file in the content store, or /bytes/N */
	const uint8_t *body;
	struct qs_content *content;  /* body's store, held until the stream
				      * goes (NULL: no store body) */
	uint64_t body_left;          /* /bytes/N still to hand to nghttp3 */
	uint64_t unacked;            /* handed to nghttp3, not yet acked */
	bool synthetic;
};

/* Per-lcore HTTP/3 state (qs_env.app_ctx): request streams are recycled
 * here instead of going back to the allocator. */
struct qs_h3_lcore {
	/* the store new requests read (published by the control plane; a
	 * reload replaces it between two loop iterations) */
	struct qs_content *content;
	struct qs_h3_stream *free_streams;
	uint32_t n_free_streams;
};

/* Once, before the workers start. */
void qs_h3_global_init(void);
/* Frees the recycled streams. */
void qs_h3_lcore_fini(struct qs_h3_lcore *h);

extern const struct qs_app_ops qs_h3_app_ops;

#endif
