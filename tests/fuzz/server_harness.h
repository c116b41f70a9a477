/* One per-lcore QUIC server (quic/qs_server.c) with the real ngtcp2,
 * GnuTLS and nghttp3 behind it, wired as the dataplane wires a worker, and
 * driven by a byte string: the harness of fuzz_server, shared with
 * make_server_seeds, which records real clients into that byte string.
 *
 * An input is a header and a sequence of records:
 *
 *   input  = options:1 stop_at:1 record*
 *   record = flags:1 length:2 (big endian) datagram:length
 *
 * options: bit 0 null packet protection (interpose.h) instead of the real
 * one; bits 1-2 [quic] retry: 0 off, 1 on, 2 auto (Retry once 2 handshakes
 * have an unproven address), 3 off; bit 3 a graceful stop
 * (qs_server_shutdown) before record number stop_at (from 0), or after the
 * last when there are fewer; bits 4-7 unused.
 *
 * flags: bits 0-1 where the datagram comes from (enum qs_fuzz_src); bits
 * 2-3 its ECN codepoint; bit 4 the server runs its timers and writes after
 * it (qs_server_run: one pass of a worker's loop); bits 5-7 how far the
 * virtual clock moves before it, qs_fuzz_advance_ms[bits]. A record of
 * length 0 carries no datagram: the clock and the run only. Datagrams are
 * cut at QS_FUZZ_DGRAM_MAX bytes; a length past the input's end takes what
 * is left; records after the QS_FUZZ_RECORDS_MAX-th are ignored.
 *
 * Each datagram becomes an Ethernet/IP/UDP frame to 198.18.0.1 or
 * 2001:db8::1 port 443 (tests/unit/qs_frames.c), classified and checked as
 * the RX stage does (qs_net_classify, qs_net_meta_to_mbuf, the owner's UDP
 * checksum check), into qs_server_input. Every input starts from the same
 * state: the random streams and the virtual clock reset, no connection;
 * it ends with every connection closed and freed (qs_server_close_all),
 * and the harness aborts (a crash to libFuzzer) unless then: no
 * connection, CID, timer or dirty entry is left, every mbuf is back in
 * the pool, the rte_malloc heap holds what it held before (but for the
 * HTTP/3 stream cache), the connection counters balance; and every frame
 * the server sent during the input was well formed, from our address
 * and port, to an address, port and MAC that a datagram came from. */
#ifndef QS_FUZZ_SERVER_HARNESS_H
#define QS_FUZZ_SERVER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "qs_inproc.h"

#define QS_FUZZ_HDR_LEN 2
#define QS_FUZZ_OPT_NULL_PROTECTION 0x01
#define QS_FUZZ_OPT_RETRY_SHIFT 1
#define QS_FUZZ_OPT_RETRY_MASK 0x06
#define QS_FUZZ_OPT_RETRY_OFF 0
#define QS_FUZZ_OPT_RETRY_ON 1
#define QS_FUZZ_OPT_RETRY_AUTO 2
#define QS_FUZZ_OPT_STOP 0x08

#define QS_FUZZ_REC_HDR_LEN 3
#define QS_FUZZ_RUN 0x10
#define QS_FUZZ_SRC_OF(flags) ((flags) & 0x03)
#define QS_FUZZ_ECN_OF(flags) (((flags) >> 2) & 0x03)
#define QS_FUZZ_ADVANCE_OF(flags) ((flags) >> 5)
#define QS_FUZZ_FLAGS(src, ecn, run, advance) \
	((uint8_t)((src) | (ecn) << 2 | ((run) ? QS_FUZZ_RUN : 0) | (advance) << 5))

/* The largest UDP payload of an MTU of 1500 over IPv4 */
#define QS_FUZZ_DGRAM_MAX 1472
#define QS_FUZZ_RECORDS_MAX 512
/* The virtual clock at the start of every input (ns) */
#define QS_FUZZ_CLOCK_START 1000000000ull
/* [quic] max_conns: small, so that refusals are reachable */
#define QS_FUZZ_MAX_CONNS 4
#define QS_FUZZ_RETRY_AUTO_UNVALIDATED 2

/* The sources a datagram may come from; answers go back to them alone. */
enum qs_fuzz_src {
	QS_FUZZ_SRC_CLIENT,     /* 198.18.0.2:50000, the peer's MAC */
	QS_FUZZ_SRC_REBOUND,    /* 198.18.0.2:50001: a NAT rebinding */
	QS_FUZZ_SRC_OTHER,      /* 198.18.0.99:40001, another MAC */
	QS_FUZZ_SRC_CLIENT6,    /* [2001:db8::2]:50000, the peer's MAC */
	QS_FUZZ_N_SRC,
};

extern const struct qs_inproc_addr qs_fuzz_sources[QS_FUZZ_N_SRC];
extern const uint32_t qs_fuzz_advance_ms[8];

/* A frame the server sent, checked: the source it goes back to, its ECN
 * bits and UDP payload (inside m). */
struct qs_fuzz_out {
	struct rte_mbuf *m;
	enum qs_fuzz_src dst;
	uint8_t ecn;
	const uint8_t *payload;
	uint16_t len;
};

/* Takes what the server sends (and owns out->m); NULL: freed at once. */
typedef void (*qs_fuzz_sink_t)(void *arg, const struct qs_fuzz_out *out);

struct qs_fuzz {
	struct qs_inproc s;              /* the server, on the virtual clock */
	qs_fuzz_sink_t sink;
	void *sink_arg;

	/* this input */
	unsigned int n_records;
	bool stopping;
	struct qs_stats before;          /* the counters when it started */
	unsigned int heap_allocs;        /* rte_malloc elements then */
	uint32_t h3_cached;              /* HTTP/3 streams cached then */
};

/* EAL (no hugepages, a file prefix of name and the pid), a deterministic
 * self-signed certificate, a small docroot, one server. Exits on failure. */
void qs_fuzz_setup(struct qs_fuzz *f, const char *name);
void qs_fuzz_teardown(struct qs_fuzz *f);

/* One whole input, as described above. */
void qs_fuzz_input(struct qs_fuzz *f, const uint8_t *data, size_t size);

/* The same in steps, for make_server_seeds: begin, then records (and a
 * stop where stop_at says), then end. */
void qs_fuzz_begin(struct qs_fuzz *f, uint8_t options);
void qs_fuzz_record(struct qs_fuzz *f, uint8_t flags, const uint8_t *datagram,
		    size_t len);
void qs_fuzz_stop(struct qs_fuzz *f);
void qs_fuzz_end(struct qs_fuzz *f);

/* The virtual clock's value (the server's env->now). */
uint64_t qs_fuzz_now(void);

/* The counters an input moved, "name=value" separated by spaces, for the
 * counters that tell how deep it got (handshakes, requests...). */
void qs_fuzz_depth(const struct qs_fuzz *f, char *out, size_t outlen);

#endif
