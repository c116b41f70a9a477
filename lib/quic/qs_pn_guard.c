#include <string.h>

#include "quic/qs_pn_guard.h"

#define SEEN_WINDOW 64
#define PKT_NUM_MAX (((int64_t)1 << 62) - 1)

/* QUIC v2 (RFC 9369, and its draft ngtcp2 0.12 knows) moved the long
 * header packet types around */
#define QUIC_V2 0x6b3343cfu
#define QUIC_V2_DRAFT 0x709a50c4u

void
qs_pn_guard_init(struct qs_pn_guard *g)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < QS_PNS_N; i++) {
		g->space[i].largest = -1;
		g->space[i].sent_after = -1;
	}
}

static void
iv_set(struct qs_pn_iv *iv, const uint8_t *b, size_t len)
{
	if (len < 8 || len > QS_PN_GUARD_IV_MAX) {
		iv->len = 0;	/* no AEAD of QUIC v1 has one: nothing matches */
		return;
	}
	memcpy(iv->b, b, len);
	iv->len = (uint8_t)len;
}

void
qs_pn_guard_key(struct qs_pn_guard *g, ngtcp2_crypto_level level,
		const uint8_t *iv, size_t ivlen)
{
	switch (level) {
	case NGTCP2_CRYPTO_LEVEL_HANDSHAKE:
		iv_set(&g->handshake, iv, ivlen);
		break;
	case NGTCP2_CRYPTO_LEVEL_EARLY:
		iv_set(&g->early, iv, ivlen);
		break;
	case NGTCP2_CRYPTO_LEVEL_APPLICATION:
		iv_set(&g->app[g->app_next], iv, ivlen);
		g->app_next = (uint8_t)((g->app_next + 1) % QS_PN_GUARD_APP_KEYS);
		break;
	default:
		break;	/* Initial IVs are learnt from the first nonce */
	}
}

void
qs_pn_guard_initial_rekeyed(struct qs_pn_guard *g)
{
	g->initial.len = 0;
	/* with Initials already received, the next nonce no longer gives the
	 * IV: nothing matches and the space's packets are refused */
	g->initial_learnt = g->space[QS_PNS_INITIAL].largest >= 0;
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The packet number in nonce if iv is its key's IV: the bytes above the
 * number equal the IV's, the number fits 62 bits and ends in the bits the
 * header carried (a wrong IV passes all three about once in 2^42). */
static bool
pkt_num_of(const struct qs_pn_iv *iv, const uint8_t *nonce, size_t noncelen,
	   uint64_t truncated, uint64_t mask, int64_t *pkt_num)
{
	size_t hi = noncelen - 8;
	uint64_t pn;

	if (iv->len != noncelen || memcmp(iv->b, nonce, hi) != 0)
		return false;
	pn = be64(nonce + hi) ^ be64(iv->b + hi);
	if (pn > (uint64_t)PKT_NUM_MAX || (pn & mask) != truncated)
		return false;
	*pkt_num = (int64_t)pn;
	return true;
}

static void
initial_learn(struct qs_pn_guard *g, const uint8_t *nonce, size_t noncelen,
	      uint64_t truncated)
{
	uint8_t iv[QS_PN_GUARD_IV_MAX];
	uint64_t low;

	/* nothing received in the space yet: ngtcp2 decoded the number as
	 * the truncated value itself */
	g->initial_learnt = true;
	if (noncelen < 8 || noncelen > sizeof(iv))
		return;
	memcpy(iv, nonce, noncelen);
	low = be64(nonce + noncelen - 8) ^ truncated;
	for (int i = 0; i < 8; i++)
		iv[noncelen - 1 - i] = (uint8_t)(low >> (8 * i));
	iv_set(&g->initial, iv, noncelen);
}

static bool
seen(const struct qs_pn_space *s, int64_t pkt_num)
{
	int64_t d = s->largest - pkt_num;

	return d >= 0 && d < SEEN_WINDOW && (s->seen >> d & 1);
}

bool
qs_pn_guard_admit(struct qs_pn_guard *g, const uint8_t *aad, size_t aadlen,
		  const uint8_t *nonce, size_t noncelen,
		  enum qs_pn_space_id *space, int64_t *pkt_num)
{
	const struct qs_pn_iv *ivs;
	const struct qs_pn_space *s;
	size_t n_ivs = 1, pnlen;
	uint64_t truncated = 0, mask;
	bool found = false;

	if (aadlen < 1)
		return false;
	pnlen = (size_t)(aad[0] & 0x03) + 1;
	if (aadlen < pnlen + 1)
		return false;
	for (size_t i = aadlen - pnlen; i < aadlen; i++)
		truncated = truncated << 8 | aad[i];
	mask = ((uint64_t)1 << (8 * pnlen)) - 1;

	if (aad[0] & 0x80) {
		uint32_t version;
		unsigned type;

		if (aadlen < 5)
			return false;
		version = (uint32_t)aad[1] << 24 | (uint32_t)aad[2] << 16 |
			  (uint32_t)aad[3] << 8 | aad[4];
		type = (aad[0] >> 4) & 0x03;
		if (version == QUIC_V2 || version == QUIC_V2_DRAFT)
			type = (type + 3) & 0x03;	/* to v1's numbering */
		switch (type) {
		case 0:
			*space = QS_PNS_INITIAL;
			if (!g->initial_learnt)
				initial_learn(g, nonce, noncelen, truncated);
			ivs = &g->initial;
			break;
		case 1:
			*space = QS_PNS_APP;
			ivs = &g->early;
			break;
		case 2:
			*space = QS_PNS_HANDSHAKE;
			ivs = &g->handshake;
			break;
		default:
			return false;	/* Retry packets are not decrypted */
		}
	} else {
		*space = QS_PNS_APP;
		ivs = g->app;
		n_ivs = QS_PN_GUARD_APP_KEYS;
	}
	if (noncelen < 8)
		return false;
	for (size_t i = 0; i < n_ivs && !found; i++)
		found = pkt_num_of(&ivs[i], nonce, noncelen, truncated, mask,
				   pkt_num);
	if (!found)
		return false;	/* a key we never saw installed */

	/* one below a number received before we last sent: that one may
	 * have been acknowledged and forgotten */
	s = &g->space[*space];
	if (*pkt_num < s->sent_after &&
	    (s->largest - (*pkt_num + 1) >= SEEN_WINDOW ||
	     seen(s, *pkt_num + 1)))
		return false;
	return true;
}

void
qs_pn_guard_received(struct qs_pn_guard *g, enum qs_pn_space_id space,
		     int64_t pkt_num)
{
	struct qs_pn_space *s = &g->space[space];

	if (pkt_num > s->largest) {
		int64_t shift = pkt_num - s->largest;

		s->seen = shift >= SEEN_WINDOW ? 0 : s->seen << shift;
		s->seen |= 1;
		s->largest = pkt_num;
	} else if (s->largest - pkt_num < SEEN_WINDOW) {
		s->seen |= (uint64_t)1 << (s->largest - pkt_num);
	}
}

void
qs_pn_guard_sent(struct qs_pn_guard *g)
{
	for (int i = 0; i < QS_PNS_N; i++)
		g->space[i].sent_after = g->space[i].largest;
}
