/* qlog of sampled connections, the worker's half. ngtcp2 writes a
 * connection's qlog (draft-ietf-quic-qlog, JSON-SEQ) through its
 * settings.qlog.write callback, in chunks: the header at creation, one
 * whole event per call after that (at most 4096 bytes in ngtcp2 0.12.1),
 * and a call with NGTCP2_QLOG_WRITE_FLAG_FIN and no data from
 * ngtcp2_conn_del. The worker copies each chunk into fixed-size records on
 * its own ring (qs_env.qlog), all of a chunk's records in one bulk enqueue
 * or none; the control plane writes them to <dir>/<first server CID
 * hex>.sqlog (dataplane/qs_logwriter.c). Workers never touch a file and
 * never wait.
 *
 * A chunk that does not fit (the ring is full) is lost, and so is the rest
 * of that connection's qlog: the connection is cut (qlog_truncated), sends
 * no more data, and sends one QS_QLOG_TRUNCATED record as soon as one fits
 * (it is tried again at each later chunk, and at the end), so the writer
 * renames the file <cid>.sqlog.truncated. A file named .sqlog therefore
 * holds every chunk from the header to the end; a .truncated one holds
 * whole events up to the loss (the writer also truncates a file whose
 * records skip a sequence number, that it cannot write, or that is still
 * open at shutdown or silent for too long). qlog_dropped counts the chunks
 * that did not reach a ring. To keep room for those last records, a chunk
 * with data needs QS_QLOG_RESERVE free slots beyond its own.
 *
 * A connection can also get qlog while it runs (`set qlog on <cid>`).
 * ngtcp2 0.12 takes the callback only at creation, so with [debug]
 * qlog_live every connection starts ARMED: ngtcp2 formats its events and
 * the worker discards them, uncounted, until the owner switches it on
 * (qs_qlog_start_live): then the file starts with a header like ngtcp2's
 * own (qs_qlog_header), and the events that follow carry times relative to
 * the connection's start, as in a sampled connection's file. */
#ifndef QS_QLOG_H
#define QS_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/qs_stats.h"

struct rte_ring;

#define QS_QLOG_RECORD_SIZE 1024
#define QS_QLOG_CID_MAX 20
#define QS_QLOG_RECORD_HEADER 28
#define QS_QLOG_DATA_MAX (QS_QLOG_RECORD_SIZE - QS_QLOG_RECORD_HEADER)
/* one bulk enqueue: a chunk up to 8 x 996 bytes goes whole or not at all
 * (ngtcp2 0.12.1 writes at most 4096 at once); a longer one goes in
 * several bulks, and a loss after the first leaves its start in a file
 * that is then renamed .truncated */
#define QS_QLOG_CHUNK_RECORDS 8

enum qs_qlog_flag {
	QS_QLOG_FIN = 0x01,        /* the connection's last record */
	QS_QLOG_TRUNCATED = 0x02,  /* chunks were lost: nothing more comes,
				    * close the file as truncated (no data) */
};

struct qs_qlog_record {
	uint32_t seq;              /* the connection's records, from 0 */
	uint16_t len;              /* bytes of data */
	uint8_t flags;             /* qs_qlog_flag */
	uint8_t cid_len;
	uint8_t cid[QS_QLOG_CID_MAX]; /* the connection's first server CID */
	uint8_t data[QS_QLOG_DATA_MAX];
};

_Static_assert(sizeof(struct qs_qlog_record) == QS_QLOG_RECORD_SIZE,
	       "a qlog record is not its ring slot");

enum qs_qlog_state {
	QS_QLOG_OFF = 0,           /* not sampled: ngtcp2 has no callback */
	QS_QLOG_ON,
	QS_QLOG_CUT,               /* a chunk was lost; TRUNCATED still to go */
	QS_QLOG_DONE,              /* FIN or TRUNCATED went: nothing more */
	QS_QLOG_ARMED,             /* ngtcp2 has the callback (qlog_live);
				    * its chunks are discarded until ON */
};

/* A connection's qlog, in its struct qs_conn. */
struct qs_qlog {
	uint32_t seq;              /* records sent so far */
	uint8_t state;             /* qs_qlog_state */
	uint8_t cid_len;
	uint8_t cid[QS_QLOG_CID_MAX];
};

/* The sampling decision at a connection's start: true for the first of
 * every `sample` calls on this counter (per worker), so k connections get
 * ceil(k / sample) qlogs; sample 0: none. */
static inline bool
qs_qlog_sample(uint32_t *counter, uint32_t sample)
{
	bool yes = *counter == 0;

	if (sample == 0)
		return false;
	if (++*counter >= sample)
		*counter = 0;
	return yes;
}

/* Switches q on for the connection whose first server CID is cid. */
void qs_qlog_start(struct qs_qlog *q, const uint8_t *cid, uint8_t cid_len);
/* qlog_live: q takes ngtcp2's chunks and discards them until started. */
void qs_qlog_arm(struct qs_qlog *q);

/* The longest header qs_qlog_header writes. */
#define QS_QLOG_HEADER_MAX 256
/* The JSON-SEQ record that starts a file, as ngtcp2 0.12 writes it at a
 * connection's creation (qlog 0.3, server vantage point, times relative
 * to the connection's start, group_id the client's original DCID), into
 * buf (QS_QLOG_HEADER_MAX bytes). Returns its length. */
size_t qs_qlog_header(uint8_t *buf, const uint8_t *odcid, size_t odcid_len);

/* Switches an ARMED q on for the connection whose first server CID is cid
 * and puts its header on ring (as qs_qlog_write). Returns 0, or -1 when q
 * was not ARMED (then nothing changes). */
int qs_qlog_start_live(struct qs_qlog *q, const uint8_t *cid, uint8_t cid_len,
		       const uint8_t *odcid, size_t odcid_len,
		       struct rte_ring *ring, struct qs_stats *stats);

/* Records for up to max x QS_QLOG_DATA_MAX bytes of a chunk (data, len),
 * numbered from seq, into out: *n of them. Returns the bytes taken. The
 * last record carries QS_QLOG_FIN when fin is set and the whole rest of
 * the chunk fits; a chunk of no data with fin makes one empty record. */
size_t qs_qlog_split(const struct qs_qlog *q, uint32_t seq, const uint8_t *data,
		     size_t len, bool fin, struct qs_qlog_record *out,
		     unsigned int max, unsigned int *n);

/* Free slots a chunk with data leaves on the ring for the FIN and
 * TRUNCATED records of cut connections. */
unsigned int qs_qlog_reserve(const struct rte_ring *ring);

/* ngtcp2's qlog callback, past the connection: puts one chunk (flags:
 * NGTCP2_QLOG_WRITE_FLAG_*) on ring as described above, counting in
 * stats. */
void qs_qlog_write(struct qs_qlog *q, struct rte_ring *ring, uint32_t flags,
		   const void *data, size_t len, struct qs_stats *stats);

#endif
