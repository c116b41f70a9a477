#include <stdio.h>
#include <string.h>

#include "steer/qs_cid.h"
#include "base/qs_random.h"

#define NIBBLE_CID_LEN 8
#define NIBBLE_MAX_WORKERS 16

static void
nibble_encode(const struct qs_cid_codec *c, uint16_t worker, uint8_t *cid)
{
	qs_random_bytes(cid, c->cid_len);
	cid[0] = (uint8_t)((worker & 0xf) << 4) | (cid[0] & 0x0f);
}

static int
nibble_decode(const struct qs_cid_codec *c, const uint8_t *cid, size_t len)
{
	if (len != c->cid_len)
		return QS_CID_NONE;
	return qs_cid_nibble_owner(c, cid);
}

int
qs_cid_codec_init(struct qs_cid_codec *c, const char *format,
		  uint16_t n_workers, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (strcmp(format, "nibble") == 0) {
		if (n_workers == 0 || n_workers > NIBBLE_MAX_WORKERS) {
			snprintf(err, errlen,
				 "cid format nibble holds 1 to %d workers, not %u",
				 NIBBLE_MAX_WORKERS, n_workers);
			return -1;
		}
		c->name = "nibble";
		c->format = QS_CID_FORMAT_NIBBLE;
		c->cid_len = NIBBLE_CID_LEN;
		c->n_workers = n_workers;
		c->encode = nibble_encode;
		c->decode = nibble_decode;
		return 0;
	}
	snprintf(err, errlen, "unknown cid format '%s' (known: nibble)", format);
	return -1;
}
