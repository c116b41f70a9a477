#include <string.h>

#include <ngtcp2/ngtcp2.h>
#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "quic/qs_qlog.h"

_Static_assert(offsetof(struct qs_qlog_record, data) == QS_QLOG_RECORD_HEADER,
	       "QS_QLOG_RECORD_HEADER is not the record's header");
_Static_assert(QS_QLOG_CID_MAX >= NGTCP2_MAX_CIDLEN, "a CID does not fit");

void
qs_qlog_start(struct qs_qlog *q, const uint8_t *cid, uint8_t cid_len)
{
	memset(q, 0, sizeof(*q));
	q->state = QS_QLOG_ON;
	q->cid_len = RTE_MIN(cid_len, (uint8_t)QS_QLOG_CID_MAX);
	memcpy(q->cid, cid, q->cid_len);
}

void
qs_qlog_arm(struct qs_qlog *q)
{
	memset(q, 0, sizeof(*q));
	q->state = QS_QLOG_ARMED;
}

size_t
qs_qlog_header(uint8_t *buf, const uint8_t *odcid, size_t odcid_len)
{
	static const char head[] =
		"\x1e{\"qlog_format\":\"JSON-SEQ\",\"qlog_version\":\"0.3\","
		"\"trace\":{\"vantage_point\":{\"name\":\"ngtcp2\",\"type\":"
		"\"server\"},\"common_fields\":{\"protocol_type\":[\"QUIC\"],"
		"\"time_format\":\"relative\",\"reference_time\":0,"
		"\"group_id\":\"";
	static const char tail[] = "\"}}}\n";
	static const char xdigits[] = "0123456789abcdef";
	uint8_t *p = buf;

	_Static_assert(sizeof(head) - 1 + 2 * QS_QLOG_CID_MAX + sizeof(tail) - 1 <=
		       QS_QLOG_HEADER_MAX, "QS_QLOG_HEADER_MAX is too small");
	odcid_len = RTE_MIN(odcid_len, (size_t)QS_QLOG_CID_MAX);
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (size_t i = 0; i < odcid_len; i++) {
		*p++ = (uint8_t)xdigits[odcid[i] >> 4];
		*p++ = (uint8_t)xdigits[odcid[i] & 0xf];
	}
	memcpy(p, tail, sizeof(tail) - 1);
	p += sizeof(tail) - 1;
	return (size_t)(p - buf);
}

int
qs_qlog_start_live(struct qs_qlog *q, const uint8_t *cid, uint8_t cid_len,
		   const uint8_t *odcid, size_t odcid_len, struct rte_ring *ring,
		   struct qs_stats *stats)
{
	uint8_t header[QS_QLOG_HEADER_MAX];

	if (q->state != QS_QLOG_ARMED)
		return -1;
	qs_qlog_start(q, cid, cid_len);
	qs_qlog_write(q, ring, 0, header, qs_qlog_header(header, odcid, odcid_len),
		      stats);
	return 0;
}

static void
record_head(struct qs_qlog_record *r, const struct qs_qlog *q, uint32_t seq,
	    uint8_t flags, size_t len)
{
	r->seq = seq;
	r->len = (uint16_t)len;
	r->flags = flags;
	r->cid_len = q->cid_len;
	memcpy(r->cid, q->cid, QS_QLOG_CID_MAX);
}

size_t
qs_qlog_split(const struct qs_qlog *q, uint32_t seq, const uint8_t *data,
	      size_t len, bool fin, struct qs_qlog_record *out,
	      unsigned int max, unsigned int *n)
{
	size_t taken = 0;
	unsigned int i = 0;

	while (i < max && (taken < len || (fin && i == 0 && len == 0))) {
		size_t part = RTE_MIN(len - taken, (size_t)QS_QLOG_DATA_MAX);
		bool last = taken + part == len;

		record_head(&out[i], q, seq + i, fin && last ? QS_QLOG_FIN : 0, part);
		if (part > 0)
			memcpy(out[i].data, data + taken, part);
		taken += part;
		i++;
	}
	*n = i;
	return taken;
}

unsigned int
qs_qlog_reserve(const struct rte_ring *ring)
{
	return RTE_MAX(rte_ring_get_capacity(ring) / 16, 1u);
}

/* The TRUNCATED record of a cut connection, if a slot is free. */
static void
send_truncated(struct qs_qlog *q, struct rte_ring *ring)
{
	struct qs_qlog_record r;

	record_head(&r, q, q->seq, QS_QLOG_TRUNCATED, 0);
	if (rte_ring_sp_enqueue_elem(ring, &r, sizeof(r)) == 0) {
		q->seq++;
		q->state = QS_QLOG_DONE;
	}
}

void
qs_qlog_write(struct qs_qlog *q, struct rte_ring *ring, uint32_t flags,
	      const void *data, size_t len, struct qs_stats *stats)
{
	struct qs_qlog_record recs[QS_QLOG_CHUNK_RECORDS];
	bool fin = (flags & NGTCP2_QLOG_WRITE_FLAG_FIN) != 0;
	const uint8_t *p = data;

	if (q->state == QS_QLOG_ARMED)
		return;        /* qlog_live, not asked for: by design */
	if (q->state != QS_QLOG_ON) {
		stats->qlog_dropped++;
		if (q->state == QS_QLOG_CUT)
			send_truncated(q, ring);
		return;
	}
	for (;;) {
		unsigned int n;
		size_t taken = qs_qlog_split(q, q->seq, p, len, fin, recs,
					     RTE_DIM(recs), &n);
		unsigned int need = n + (len > 0 ? qs_qlog_reserve(ring) : 0);

		if (n == 0)
			return;        /* no data, no FIN */
		if (rte_ring_free_count(ring) < need ||
		    rte_ring_sp_enqueue_bulk_elem(ring, recs, sizeof(recs[0]), n,
						  NULL) != n) {
			stats->qlog_dropped++;
			stats->qlog_truncated++;
			q->state = QS_QLOG_CUT;
			send_truncated(q, ring);
			return;
		}
		q->seq += n;
		if (taken == len)
			break;
		p += taken;
		len -= taken;
	}
	if (fin)
		q->state = QS_QLOG_DONE;
}
