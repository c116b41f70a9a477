/* The access log: one fixed-size record per response. A worker fills a
 * record when the response's stream closes and puts it on its own ring
 * (qs_env.access_log); the control plane takes records off the rings and
 * writes the lines (dataplane/qs_logwriter.c). Workers never touch a file
 * and never wait: a record that finds its ring full is counted in
 * access_log_dropped. */
#ifndef QS_ACCESS_LOG_H
#define QS_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/qs_config.h"

#define QS_ACCESS_RECORD_SIZE 512
#define QS_ACCESS_PATH_MAX 400       /* longer paths are cut, marked "..." */
#define QS_ACCESS_CID_MAX 20

struct qs_access_record {
	uint64_t end_ns;             /* monotonic (qs_now_ns) at the close */
	uint64_t duration_ns;        /* first request byte to close */
	uint64_t body_bytes;         /* response body handed to QUIC (as
				      * nginx's $body_bytes_sent) */
	uint16_t status;
	uint16_t worker;
	uint16_t port;               /* client's, host order */
	uint8_t family;              /* 4 or 6 */
	uint8_t addr[16];            /* client's address (4 bytes for IPv4) */
	uint8_t cid_len;
	uint8_t cid[QS_ACCESS_CID_MAX]; /* the connection's first server CID */
	bool early_data;             /* the request came in 0-RTT */
	bool complete;               /* the whole body went to QUIC and the
				      * stream was not reset */
	bool path_cut;
	char method[8];
	uint16_t path_len;
	char path[QS_ACCESS_PATH_MAX];
};

_Static_assert(sizeof(struct qs_access_record) <= QS_ACCESS_RECORD_SIZE,
	       "an access record outgrew its ring slot");

/* One line for r, with its newline, into buf (size bytes; 4096 always
 * suffice); realtime_offset_ns turns end_ns into wall-clock time. Text:
 *   ADDR - - [02/Dec/2026:12:34:56.789 +0000] "GET /p HTTP/3" 200 1024
 *   port=P worker=W cid=HEX duration_us=D early_data=0|1 complete=0|1
 * JSON: {"time":"2026-12-02T12:34:56.789012Z","client":ADDR,"port":P,
 *   "worker":W,"cid":HEX,"method":M,"path":P,"status":S,"body_bytes":B,
 *   "duration_us":D,"early_data":bool,"complete":bool}
 * Bytes of method and path outside printable ASCII, and the quote and
 * backslash, are escaped (\xHH in text, \u00HH in JSON): a client cannot
 * forge a line. Returns the length written. */
size_t qs_access_format(const struct qs_access_record *r,
			enum qs_access_format format, int64_t realtime_offset_ns,
			char *buf, size_t size);

#endif
