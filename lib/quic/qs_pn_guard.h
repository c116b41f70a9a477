/* The packet-number guard: keeps a peer from making ngtcp2 0.12 abort.
 *
 * ngtcp2 up to 0.15 builds an invalid ACK frame, and asserts (abort() of
 * the whole process), when the largest packet number it still tracks is
 * one below the largest it ever received: the peer sent N, our ACK of N was
 * acknowledged (ngtcp2 forgets N), then N - 1 arrives (fixed upstream in
 * 0.16, commit e854e7ad; Debian 12 ships 0.12.1). An honest peer numbers
 * its packets in order and cannot get there; a hostile one, holding the
 * keys of its own connection, can at will, in any packet number space.
 *
 * The guard sits in the decrypt callback, where ngtcp2 hands over the
 * nonce it built: the packet protection IV XOR the full packet number
 * (RFC 9001 5.3). Knowing each key's IV gives the exact number ngtcp2
 * decoded, without copying its decoder. A packet whose number is new and
 * one below a number already received before our last transmission is
 * refused as undecryptable, so ngtcp2 drops it unseen. That also refuses a
 * packet an honest peer reordered past one of our transmissions; the peer
 * repeats its frames as for any loss.
 *
 * IVs: Initial keys are installed inside ngtcp2's crypto helper, with no
 * way to read them; the first Initial a connection decrypts is decoded
 * against "nothing received yet", so its nonce gives the IV exactly. The
 * other levels come from qs_quic_tls_secret and the key update callback.
 * No DPDK here. */
#ifndef QS_PN_GUARD_H
#define QS_PN_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ngtcp2/ngtcp2.h>

#define QS_PN_GUARD_IV_MAX 16
/* 1-RTT keys alive at once: previous, current, next */
#define QS_PN_GUARD_APP_KEYS 3

struct qs_pn_iv {
	uint8_t len;                       /* 0: not known */
	uint8_t b[QS_PN_GUARD_IV_MAX];
};

/* One packet number space as the guard sees it. */
struct qs_pn_space {
	int64_t largest;      /* largest number decrypted, -1: none */
	int64_t sent_after;   /* largest when we last sent a packet, -1 */
	uint64_t seen;        /* bit i: largest - i was decrypted */
};

enum qs_pn_space_id { QS_PNS_INITIAL, QS_PNS_HANDSHAKE, QS_PNS_APP, QS_PNS_N };

struct qs_pn_guard {
	struct qs_pn_space space[QS_PNS_N];
	struct qs_pn_iv initial, handshake, early;
	struct qs_pn_iv app[QS_PN_GUARD_APP_KEYS];
	uint8_t app_next;     /* ring slot the next 1-RTT key goes to */
	bool initial_learnt;
};

void qs_pn_guard_init(struct qs_pn_guard *g);

/* A receive key was installed: its IV for the level (handshake, early or
 * application; a key update is an application key). */
void qs_pn_guard_key(struct qs_pn_guard *g, ngtcp2_crypto_level level,
		     const uint8_t *iv, size_t ivlen);
/* The Initial keys changed (a Retry on the client): the IV is learnt again
 * while no Initial was received; otherwise the space is refused. */
void qs_pn_guard_initial_rekeyed(struct qs_pn_guard *g);

/* Before decrypting a packet whose header (unprotected) is aad and whose
 * nonce ngtcp2 built: false to refuse it. On true, *space and *pkt_num are
 * what to pass to qs_pn_guard_received once the packet authenticated. */
bool qs_pn_guard_admit(struct qs_pn_guard *g, const uint8_t *aad,
		       size_t aadlen, const uint8_t *nonce, size_t noncelen,
		       enum qs_pn_space_id *space, int64_t *pkt_num);
void qs_pn_guard_received(struct qs_pn_guard *g, enum qs_pn_space_id space,
			  int64_t pkt_num);
/* We sent a packet: what was received so far may be acknowledged. */
void qs_pn_guard_sent(struct qs_pn_guard *g);

#endif
