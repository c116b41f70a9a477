/* The frame guard: keeps a peer from making ngtcp2 0.12 abort through a
 * NEW_CONNECTION_ID frame it has sent before.
 *
 * ngtcp2 0.12.1 retires a connection ID whose sequence number is below the
 * peer's Retire Prior To as soon as the NEW_CONNECTION_ID for it arrives,
 * and aborts the process (ngtcp2_conn_track_retired_dcid_seq: "Unreachable")
 * when it retires a sequence number whose RETIRE_CONNECTION_ID is still
 * unacknowledged: a NEW_CONNECTION_ID frame that comes twice (retransmitted
 * because our ACK was lost, or on purpose) after Retire Prior To passed it,
 * or again after its ID was retired on a migration. Later ngtcp2 ignores
 * such a repeat; so does the guard: between decryption and ngtcp2's own
 * parse (the decrypt callback holds the plaintext), a NEW_CONNECTION_ID
 * frame whose sequence number this connection saw before is turned into
 * PADDING. Frames are skipped by their lengths, nothing else is changed;
 * a payload that does not parse is left to ngtcp2, which rejects it.
 * No DPDK here. */
#ifndef QS_FRAME_GUARD_H
#define QS_FRAME_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* sequence numbers of NEW_CONNECTION_ID frames seen, as a window below the
 * largest; anything older counts as seen */
struct qs_frame_guard {
	uint64_t largest_seq;
	uint64_t seen;          /* bit i: largest_seq - i was seen */
	uint8_t any;            /* a NEW_CONNECTION_ID was seen at all */
};

/* Walks the frames of a decrypted 0-RTT or 1-RTT payload and turns repeated
 * NEW_CONNECTION_ID frames into PADDING: how many it turned. */
unsigned int qs_frame_guard_filter(struct qs_frame_guard *g, uint8_t *payload,
				   size_t len);

#endif
