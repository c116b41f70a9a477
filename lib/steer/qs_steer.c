#include <stdio.h>

#include <rte_ring.h>

#include "base/qs_log.h"
#include "steer/qs_steer.h"

enum qs_steer_verdict
qs_steer_decide(const struct qs_cid_codec *codec, bool enabled, uint16_t self,
		const uint8_t *payload, size_t len, struct qs_quic_hdr *hdr,
		uint16_t *owner)
{
	int dest;

	if (qs_quic_parse(payload, len, codec->cid_len, hdr) != QS_QUIC_OK)
		return QS_STEER_DROP;
	*owner = self;
	if (!enabled)
		return QS_STEER_LOCAL;
	/* client-chosen DCIDs (Initial, 0-RTT) say nothing about the owner */
	if (hdr->type != QS_QUIC_SHORT && hdr->type != QS_QUIC_HANDSHAKE)
		return QS_STEER_LOCAL;
	dest = qs_cid_decode(codec, hdr->dcid, hdr->dcid_len);
	if (dest == QS_CID_NONE || dest == self)
		return QS_STEER_LOCAL;
	*owner = (uint16_t)dest;
	return QS_STEER_FORWARD;
}

void
qs_steer_flush_except(struct qs_steer_stage *st, struct rte_ring *const *inbox,
		      uint16_t n_workers, uint16_t keep, struct qs_stats *stats)
{
	for (uint16_t w = 0; w < n_workers; w++) {
		unsigned int n = st->count[w], sent;

		if (n == 0 || w == keep)
			continue;
		sent = rte_ring_enqueue_burst(inbox[w], (void **)st->pkts[w], n,
					      NULL);
		stats->quic_forwarded_out += sent;
		stats->forwarded[w] += sent;
		if (unlikely(sent < n)) {
			stats->quic_forward_dropped += n - sent;
			RTE_LOG(DEBUG, QS_LCORE,
				"dropped %u QUIC datagrams: worker %u's inbox is full\n",
				n - sent, w);
			rte_pktmbuf_free_bulk(&st->pkts[w][sent], n - sent);
		}
		st->count[w] = 0;
	}
}

struct rte_ring *
qs_steer_inbox_create(uint16_t worker, unsigned int size, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "qs_inbox_%u", worker);
	return rte_ring_create(name, size, socket,
			       RING_F_MP_RTS_ENQ | RING_F_SC_DEQ);
}
