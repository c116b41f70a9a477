#include "steer/qs_quic_hdr.h"

int
qs_quic_parse(const uint8_t *p, size_t len, size_t short_dcid_len,
	      struct qs_quic_hdr *hdr)
{
	size_t off;

	if (len == 0)
		return QS_QUIC_ERR_EMPTY;

	if (!(p[0] & QS_QUIC_HDR_FORM_LONG)) {
		if (!qs_quic_is_short(p, len, short_dcid_len))
			return QS_QUIC_ERR_TRUNCATED;
		hdr->type = QS_QUIC_SHORT;
		hdr->version = 0;
		hdr->dcid = p + 1;
		hdr->dcid_len = (uint8_t)short_dcid_len;
		hdr->scid = NULL;
		hdr->scid_len = 0;
		return QS_QUIC_OK;
	}

	/* first byte, version (4), DCID length (1) */
	if (len < 6)
		return QS_QUIC_ERR_TRUNCATED;
	hdr->version = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 8 | p[4];
	hdr->dcid_len = p[5];
	off = 6;
	if (hdr->version == QS_QUIC_V1 && hdr->dcid_len > QS_QUIC_MAX_CID_LEN_V1)
		return QS_QUIC_ERR_CID_TOO_LONG;
	if (len < off + hdr->dcid_len + 1)
		return QS_QUIC_ERR_TRUNCATED;
	hdr->dcid = p + off;
	off += hdr->dcid_len;
	hdr->scid_len = p[off++];
	if (hdr->version == QS_QUIC_V1 && hdr->scid_len > QS_QUIC_MAX_CID_LEN_V1)
		return QS_QUIC_ERR_CID_TOO_LONG;
	if (len < off + hdr->scid_len)
		return QS_QUIC_ERR_TRUNCATED;
	hdr->scid = p + off;

	if (hdr->version == 0)
		hdr->type = QS_QUIC_VERSION_NEGOTIATION;
	else if (hdr->version == QS_QUIC_V1)
		hdr->type = (enum qs_quic_long_type)((p[0] >> 4) & 0x3);
	else
		hdr->type = QS_QUIC_UNKNOWN_VERSION;
	return QS_QUIC_OK;
}

const char *
qs_quic_type_name(enum qs_quic_long_type t)
{
	switch (t) {
	case QS_QUIC_INITIAL: return "initial";
	case QS_QUIC_0RTT: return "0rtt";
	case QS_QUIC_HANDSHAKE: return "handshake";
	case QS_QUIC_RETRY: return "retry";
	case QS_QUIC_SHORT: return "short";
	case QS_QUIC_VERSION_NEGOTIATION: return "version-negotiation";
	case QS_QUIC_UNKNOWN_VERSION: return "unknown-version";
	}
	return "?";
}
