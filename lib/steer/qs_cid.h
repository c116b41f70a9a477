/* Connection ID codec: names the owning worker inside every CID the server
 * mints, and reads it back from the DCID of an arriving packet. One
 * interface, several formats (today: nibble). */
#ifndef QS_CID_H
#define QS_CID_H

#include <stddef.h>
#include <stdint.h>

#define QS_CID_NONE (-1)

/* The format behind a codec, for the RX stage, which picks an inline
 * decoder by it once per burst instead of calling decode per packet. A
 * format without an inline decoder is decoded through the interface. */
enum qs_cid_format {
	QS_CID_FORMAT_NIBBLE,
};

struct qs_cid_codec {
	const char *name;
	enum qs_cid_format format;
	uint8_t cid_len;        /* length of every CID this codec mints */
	uint16_t n_workers;
	/* Writes cid_len bytes naming worker; the rest is random. */
	void (*encode)(const struct qs_cid_codec *c, uint16_t worker, uint8_t *cid);
	/* Returns the owner index, or QS_CID_NONE when the CID names none. */
	int (*decode)(const struct qs_cid_codec *c, const uint8_t *cid, size_t len);
};

/* Sets up codec for a format by name; returns 0, or -1 with err filled. */
int qs_cid_codec_init(struct qs_cid_codec *c, const char *format,
		      uint16_t n_workers, char *err, size_t errlen);

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

#endif
