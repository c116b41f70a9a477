/* Connection ID codec: names the owning worker inside every CID the server
 * mints, and reads it back from the DCID of an arriving packet. One
 * interface, two formats:
 *   nibble   8 bytes, the worker in the high nibble of the first: one node,
 *            at most 16 workers;
 *   quic-lb  draft-ietf-quic-load-balancers-21 (steer/qs_quic_lb.h): the
 *            server ID is this node's id ([quic_lb] node_id, server_id_len
 *            - 1 bytes) then the worker (one byte, up to 256 workers), so
 *            a load balancer routes by node and the steer stage by worker. */
#ifndef QS_CID_H
#define QS_CID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QS_CID_NONE (-1)
/* quic-lb: a CID of our configuration whose server ID names another node */
#define QS_CID_OTHER_NODE (-2)

struct qs_quic_lb_config;
struct qs_quic_lb_settings;

/* ---- the quic-lb server ID quicsteer mints ----
 * server ID = node (server_id_len - 1 bytes: [quic_lb] node_id big-endian,
 * zero above its 8 bytes) then the worker (one byte). The codec below and
 * app/quicsteer-cid (the operator's encoder, decoder and nftables map
 * writer) both build and read server IDs through these. */
#define QS_CID_QUIC_LB_MAX_WORKERS 256  /* the worker is one byte */

/* Bytes of node in a server ID of server_id_len bytes (1 or more). */
static inline unsigned int
qs_cid_quic_lb_node_len(unsigned int server_id_len)
{
	return server_id_len - 1;
}

/* Whether node_id fits node_len bytes of server ID. */
static inline bool
qs_cid_quic_lb_node_fits(uint64_t node_id, unsigned int node_len)
{
	return node_len >= 8 || node_id >> (8 * node_len) == 0;
}

/* Writes node_id as the node_len bytes of node (big-endian). */
void qs_cid_quic_lb_node(uint64_t node_id, unsigned int node_len,
			 uint8_t *node);

/* Writes the server ID (node_len + 1 bytes) naming worker on node. */
static inline void
qs_cid_quic_lb_server_id(const uint8_t *node, unsigned int node_len,
			 uint16_t worker, uint8_t *server_id)
{
	memcpy(server_id, node, node_len);
	server_id[node_len] = (uint8_t)worker;
}

/* The worker a server ID names (its node is its first node_len bytes). */
static inline unsigned int
qs_cid_quic_lb_worker(const uint8_t *server_id, unsigned int node_len)
{
	return server_id[node_len];
}

/* Checks s as the server does (server_id_len leaves room for the worker
 * byte, node_id fits the rest, and what qs_quic_lb_config_init checks) and
 * sets up lb for n_slots threads (keyed configurations; plaintext ignores
 * it). Returns 0, or -1 with err naming the [quic_lb] key at fault and lb
 * holding nothing to free. */
int qs_cid_quic_lb_config_from_settings(struct qs_quic_lb_config *lb,
					const struct qs_quic_lb_settings *s,
					unsigned int n_slots, char *err,
					size_t errlen);

/* The format behind a codec, for the RX stage, which picks an inline
 * decoder by it once per burst instead of calling decode per packet. A
 * format without an inline decoder is decoded through the interface. */
enum qs_cid_format {
	QS_CID_FORMAT_NIBBLE,
	QS_CID_FORMAT_QUIC_LB,
};

struct qs_cid_codec {
	const char *name;
	enum qs_cid_format format;
	uint8_t cid_len;        /* length of every CID this codec mints */
	uint16_t n_workers;
	/* quic-lb only */
	struct qs_quic_lb_config *lb;
	bool lb_plaintext;                    /* no key: decoded inline */
	uint8_t lb_first_octet, lb_first_mask; /* what the first octet must be */
	uint8_t node_len;                     /* server ID bytes of the node */
	uint8_t node[16];                     /* node_id, big-endian */
	/* Writes cid_len bytes naming worker; the rest is random. */
	void (*encode)(const struct qs_cid_codec *c, uint16_t worker, uint8_t *cid);
	/* Returns the owner index, QS_CID_NONE when the CID names none, or
	 * QS_CID_OTHER_NODE. */
	int (*decode)(const struct qs_cid_codec *c, const uint8_t *cid, size_t len);
};

/* Sets up codec for a format by name ("nibble"; "quic-lb" needs
 * qs_cid_codec_init_quic_lb); returns 0, or -1 with err filled. */
int qs_cid_codec_init(struct qs_cid_codec *c, const char *format,
		      uint16_t n_workers, char *err, size_t errlen);
/* The quic-lb format from [quic_lb]; err names the key at fault. Its keyed
 * modes keep an AES context per lcore (rte_lcore_id()): encode and decode
 * only on EAL lcores. */
int qs_cid_codec_init_quic_lb(struct qs_cid_codec *c,
			      const struct qs_quic_lb_settings *s,
			      uint16_t n_workers, char *err, size_t errlen);
/* What init allocated (nothing for nibble). */
void qs_cid_codec_fini(struct qs_cid_codec *c);

static inline void
qs_cid_encode(const struct qs_cid_codec *c, uint16_t worker, uint8_t *cid)
{
	c->encode(c, worker, cid);
}

static inline int
qs_cid_decode(const struct qs_cid_codec *c, const uint8_t *cid, size_t len)
{
	return c->decode(c, cid, len);
}

/* The nibble format's decode of a CID of c->cid_len bytes: the owner in
 * the high nibble of byte 0 (the codec's decode, and the RX fast path). */
static inline int
qs_cid_nibble_owner(const struct qs_cid_codec *c, const uint8_t *cid)
{
	unsigned int owner = cid[0] >> 4;

	return owner < c->n_workers ? (int)owner : QS_CID_NONE;
}

/* The quic-lb format's decode of a plaintext CID of c->cid_len bytes
 * (the codec's decode, and the RX fast path): config id and length in the
 * first octet, then the node, then the worker. */
static inline int
qs_cid_quic_lb_plain_owner(const struct qs_cid_codec *c, const uint8_t *cid)
{
	unsigned int worker;

	if ((cid[0] & c->lb_first_mask) != c->lb_first_octet)
		return QS_CID_NONE;
	if (memcmp(cid + 1, c->node, c->node_len) != 0)
		return QS_CID_OTHER_NODE;
	worker = qs_cid_quic_lb_worker(cid + 1, c->node_len);
	return worker < c->n_workers ? (int)worker : QS_CID_NONE;
}

#endif
