#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "quic/qs_frame_guard.h"

#define SEEN_WINDOW 64
#define STATELESS_RESET_TOKEN_LEN 16
#define MAX_CID_LEN 20

/* RFC 9000 16: a variable-length integer at *p, which advances; false when
 * the payload ends first */
static bool
varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	size_t n;

	if (*p >= end)
		return false;
	n = (size_t)1 << (**p >> 6);
	if ((size_t)(end - *p) < n)
		return false;
	*v = **p & 0x3f;
	for (size_t i = 1; i < n; i++)
		*v = *v << 8 | (*p)[i];
	*p += n;
	return true;
}

/* n varints */
static bool
skip_varints(const uint8_t **p, const uint8_t *end, unsigned int n)
{
	uint64_t v;

	while (n-- > 0)
		if (!varint(p, end, &v))
			return false;
	return true;
}

static bool
skip_bytes(const uint8_t **p, const uint8_t *end, uint64_t n)
{
	if ((uint64_t)(end - *p) < n)
		return false;
	*p += n;
	return true;
}

/* a length, then that many bytes */
static bool
skip_counted(const uint8_t **p, const uint8_t *end)
{
	uint64_t n;

	return varint(p, end, &n) && skip_bytes(p, end, n);
}

static bool
seen_before(struct qs_frame_guard *g, uint64_t seq)
{
	uint64_t d;

	if (!g->any) {
		g->any = 1;
		g->largest_seq = seq;
		g->seen = 1;
		return false;
	}
	if (seq > g->largest_seq) {
		d = seq - g->largest_seq;
		g->seen = d >= SEEN_WINDOW ? 0 : g->seen << d;
		g->seen |= 1;
		g->largest_seq = seq;
		return false;
	}
	d = g->largest_seq - seq;
	if (d >= SEEN_WINDOW)
		return true;
	if (g->seen >> d & 1)
		return true;
	g->seen |= (uint64_t)1 << d;
	return false;
}

/* The frame at *p whose type t was read: skipped; a NEW_CONNECTION_ID seen
 * before is overwritten with PADDING from start. False: it does not parse. */
static bool
skip_frame(struct qs_frame_guard *g, uint64_t t, uint8_t *start,
	   const uint8_t **p, const uint8_t *end, unsigned int *turned)
{
	uint64_t v, seq;

	switch (t) {
	case 0x00:              /* PADDING */
	case 0x01:              /* PING */
	case 0x1e:              /* HANDSHAKE_DONE */
		return true;
	case 0x02:              /* ACK */
	case 0x03: {            /* ACK with ECN counts */
		uint64_t ranges;

		if (!skip_varints(p, end, 2) || !varint(p, end, &ranges) ||
		    !skip_varints(p, end, 1))
			return false;
		for (; ranges > 0; ranges--)
			if (!skip_varints(p, end, 2))
				return false;
		return t == 0x02 || skip_varints(p, end, 3);
	}
	case 0x04:              /* RESET_STREAM */
		return skip_varints(p, end, 3);
	case 0x05:              /* STOP_SENDING */
	case 0x11:              /* MAX_STREAM_DATA */
	case 0x15:              /* STREAM_DATA_BLOCKED */
		return skip_varints(p, end, 2);
	case 0x06:              /* CRYPTO */
		return skip_varints(p, end, 1) && skip_counted(p, end);
	case 0x07:              /* NEW_TOKEN */
		return skip_counted(p, end);
	case 0x10:              /* MAX_DATA */
	case 0x12: case 0x13:   /* MAX_STREAMS */
	case 0x14:              /* DATA_BLOCKED */
	case 0x16: case 0x17:   /* STREAMS_BLOCKED */
	case 0x19:              /* RETIRE_CONNECTION_ID */
		return skip_varints(p, end, 1);
	case 0x18:              /* NEW_CONNECTION_ID */
		if (!varint(p, end, &seq) || !skip_varints(p, end, 1) ||
		    *p >= end)
			return false;
		v = **p;
		(*p)++;
		if (v < 1 || v > MAX_CID_LEN ||
		    !skip_bytes(p, end, v + STATELESS_RESET_TOKEN_LEN))
			return false;
		if (seen_before(g, seq)) {
			memset(start, 0, (size_t)(*p - start));
			(*turned)++;
		}
		return true;
	case 0x1a:              /* PATH_CHALLENGE */
	case 0x1b:              /* PATH_RESPONSE */
		return skip_bytes(p, end, 8);
	case 0x1c:              /* CONNECTION_CLOSE (transport) */
		return skip_varints(p, end, 2) && skip_counted(p, end);
	case 0x1d:              /* CONNECTION_CLOSE (application) */
		return skip_varints(p, end, 1) && skip_counted(p, end);
	case 0x30:              /* DATAGRAM, to the end */
		*p = end;
		return true;
	case 0x31:              /* DATAGRAM with a length */
		return skip_counted(p, end);
	default:
		if (t >= 0x08 && t <= 0x0f) {   /* STREAM */
			if (!skip_varints(p, end, (t & 0x04) ? 2 : 1))
				return false;
			if (t & 0x02)
				return skip_counted(p, end);
			*p = end;
			return true;
		}
		return false;   /* unknown: ngtcp2 judges the packet */
	}
}

/* A run of PADDING frames (0x00 bytes), eight at a time: padded datagrams
 * and PMTU probes are mostly that, and a frame at a time it cost about 20
 * instructions a byte. */
static const uint8_t *
skip_padding(const uint8_t *p, const uint8_t *end)
{
	uint64_t w;

	while (end - p >= (ptrdiff_t)sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		if (w != 0)
			break;
		p += sizeof(w);
	}
	while (p < end && *p == 0)
		p++;
	return p;
}

unsigned int
qs_frame_guard_filter(struct qs_frame_guard *g, uint8_t *payload, size_t len)
{
	const uint8_t *p = payload, *end = payload + len;
	unsigned int turned = 0;

	while (p < end) {
		uint8_t *start = payload + (p - payload);
		uint64_t t;

		if (*p == 0x00) {
			p = skip_padding(p, end);
			continue;
		}
		if (!varint(&p, end, &t) ||
		    !skip_frame(g, t, start, &p, end, &turned))
			break;
	}
	return turned;
}
