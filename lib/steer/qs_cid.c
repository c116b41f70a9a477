#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>

#include "base/qs_config.h"
#include "base/qs_random.h"
#include "steer/qs_cid.h"
#include "steer/qs_quic_lb.h"

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

/* ---- quic-lb ---- */

void
qs_cid_quic_lb_node(uint64_t node_id, unsigned int node_len, uint8_t *node)
{
	for (unsigned int i = 0; i < node_len; i++)
		node[node_len - 1 - i] = i < 8 ? (uint8_t)(node_id >> (8 * i)) : 0;
}

int
qs_cid_quic_lb_config_from_settings(struct qs_quic_lb_config *lb,
				    const struct qs_quic_lb_settings *s,
				    unsigned int n_slots, char *err,
				    size_t errlen)
{
	struct qs_quic_lb_params p = {
		.config_id = (uint8_t)s->config_id,
		.server_id_len = (uint8_t)s->server_id_len,
		.nonce_len = (uint8_t)s->nonce_len,
		.encode_len = s->self_describing_length != 0,
		.key = s->key_set ? s->key : NULL,
		.key_len = s->key_set ? QS_QUIC_LB_KEY_LEN : 0,
		.n_slots = s->key_set ? n_slots : 0,
	};
	char why[160];
	unsigned int node_len;

	if (s->server_id_len < 1 || s->server_id_len > QS_QUIC_LB_SERVER_ID_MAX) {
		snprintf(err, errlen, "[quic_lb] server_id_len: %u bytes, not 1 "
			 "to %d (the node id, then one byte of worker)",
			 s->server_id_len, QS_QUIC_LB_SERVER_ID_MAX);
		return -1;
	}
	node_len = qs_cid_quic_lb_node_len(s->server_id_len);
	if (!qs_cid_quic_lb_node_fits(s->node_id, node_len)) {
		snprintf(err, errlen, "[quic_lb] node_id: %" PRIu64 " does not fit "
			 "the %u byte%s server_id_len %u leaves it (the last byte "
			 "is the worker)", s->node_id, node_len,
			 node_len == 1 ? "" : "s", s->server_id_len);
		return -1;
	}
	if (qs_quic_lb_config_init(lb, &p, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "[quic_lb]: %s", why);
		return -1;
	}
	return 0;
}

/* An AES context per EAL lcore, and one for any other thread */
static unsigned int
lb_slot(void)
{
	unsigned int id = rte_lcore_id();

	return id < RTE_MAX_LCORE ? id : RTE_MAX_LCORE;
}

static void
quic_lb_encode(const struct qs_cid_codec *c, uint16_t worker, uint8_t *cid)
{
	uint8_t server_id[QS_QUIC_LB_SERVER_ID_MAX];
	uint8_t rnd[QS_QUIC_LB_NONCE_MAX + 1];

	qs_cid_quic_lb_server_id(c->node, c->node_len, worker, server_id);
	qs_random_bytes(rnd, c->lb->nonce_len + 1u);
	if (qs_quic_lb_encode(c->lb, lb_slot(), server_id, rnd + 1, rnd[0],
			      cid) != 0) {
		/* a cipher failure: a CID that names nobody, not a wrong one */
		qs_random_bytes(cid, c->cid_len);
		cid[0] |= 0xe0;         /* config 0b111: unroutable */
	}
}

static int
quic_lb_plain_decode(const struct qs_cid_codec *c, const uint8_t *cid,
		     size_t len)
{
	if (len != c->cid_len)
		return QS_CID_NONE;
	return qs_cid_quic_lb_plain_owner(c, cid);
}

static int
quic_lb_decode(const struct qs_cid_codec *c, const uint8_t *cid, size_t len)
{
	uint8_t server_id[QS_QUIC_LB_SERVER_ID_MAX];
	unsigned int worker;

	if (qs_quic_lb_decode(c->lb, lb_slot(), cid, len, server_id, NULL) != 0)
		return QS_CID_NONE;
	if (memcmp(server_id, c->node, c->node_len) != 0)
		return QS_CID_OTHER_NODE;
	worker = qs_cid_quic_lb_worker(server_id, c->node_len);
	return worker < c->n_workers ? (int)worker : QS_CID_NONE;
}

int
qs_cid_codec_init_quic_lb(struct qs_cid_codec *c,
			  const struct qs_quic_lb_settings *s,
			  uint16_t n_workers, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (n_workers == 0 || n_workers > QS_CID_QUIC_LB_MAX_WORKERS) {
		snprintf(err, errlen, "cid format quic-lb holds 1 to %d workers, "
			 "not %u", QS_CID_QUIC_LB_MAX_WORKERS, n_workers);
		return -1;
	}
	c->lb = calloc(1, sizeof(*c->lb));
	if (c->lb == NULL) {
		snprintf(err, errlen, "out of memory for the quic-lb codec");
		return -1;
	}
	if (qs_cid_quic_lb_config_from_settings(c->lb, s, RTE_MAX_LCORE + 1,
						err, errlen) != 0) {
		free(c->lb);
		c->lb = NULL;
		return -1;
	}
	c->name = "quic-lb";
	c->format = QS_CID_FORMAT_QUIC_LB;
	c->cid_len = c->lb->cid_len;
	c->n_workers = n_workers;
	c->node_len = (uint8_t)qs_cid_quic_lb_node_len(s->server_id_len);
	qs_cid_quic_lb_node(s->node_id, c->node_len, c->node);
	c->lb_plaintext = c->lb->mode == QS_QUIC_LB_PLAINTEXT;
	c->lb_first_octet = c->lb->first_octet;
	c->lb_first_mask = c->lb->first_octet_mask;
	c->encode = quic_lb_encode;
	c->decode = c->lb_plaintext ? quic_lb_plain_decode : quic_lb_decode;
	return 0;
}

void
qs_cid_codec_fini(struct qs_cid_codec *c)
{
	if (c->lb != NULL) {
		qs_quic_lb_config_free(c->lb);
		free(c->lb);
		c->lb = NULL;
	}
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
	if (strcmp(format, "quic-lb") == 0) {
		snprintf(err, errlen, "cid format quic-lb is set up from [quic_lb]");
		return -1;
	}
	snprintf(err, errlen, "unknown cid format '%s' (known: nibble, quic-lb)",
		 format);
	return -1;
}
