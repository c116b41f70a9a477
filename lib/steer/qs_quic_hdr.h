/* QUIC header parser: RFC 8999 invariants plus the RFC 9000 section 17
 * long-header packet types. It reads only what steering needs and never
 * past the datagram. */
#ifndef QS_QUIC_HDR_H
#define QS_QUIC_HDR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define QS_QUIC_V1 0x00000001u
#define QS_QUIC_MAX_CID_LEN_V1 20   /* RFC 9000 17.2 */
#define QS_QUIC_MAX_CID_LEN_ANY 255 /* RFC 8999 5.1: unknown versions */
#define QS_QUIC_HDR_FORM_LONG 0x80    /* RFC 8999 5.1: the header form bit */

enum qs_quic_long_type {
	QS_QUIC_INITIAL = 0,
	QS_QUIC_0RTT = 1,
	QS_QUIC_HANDSHAKE = 2,
	QS_QUIC_RETRY = 3,
	QS_QUIC_SHORT = 4,            /* not a long type: 1-RTT short header */
	QS_QUIC_VERSION_NEGOTIATION = 5,
	QS_QUIC_UNKNOWN_VERSION = 6,  /* long header of a version we do not speak */
};

enum qs_quic_parse_err {
	QS_QUIC_OK = 0,
	QS_QUIC_ERR_EMPTY = -1,
	QS_QUIC_ERR_TRUNCATED = -2,  /* a length field points past the datagram */
	QS_QUIC_ERR_CID_TOO_LONG = -3,
};

struct qs_quic_hdr {
	enum qs_quic_long_type type;
	uint32_t version;             /* 0 for short headers */
	const uint8_t *dcid;
	const uint8_t *scid;          /* NULL for short headers */
	uint8_t dcid_len;
	uint8_t scid_len;
};

/* Whether the UDP payload p of len bytes starts with a short header that
 * holds a DCID of dcid_len bytes (the rule qs_quic_parse applies, and the
 * RX fast path with it; the DCID is at p + 1). */
static inline bool
qs_quic_is_short(const uint8_t *p, size_t len, size_t dcid_len)
{
	return len >= 1 + dcid_len && !(p[0] & QS_QUIC_HDR_FORM_LONG);
}

/* Parses the header of the first QUIC packet in a UDP payload. Short headers
 * carry no DCID length: the caller names the length of the CIDs it issues. */
int qs_quic_parse(const uint8_t *p, size_t len, size_t short_dcid_len,
		  struct qs_quic_hdr *hdr);

const char *qs_quic_type_name(enum qs_quic_long_type t);

#endif
