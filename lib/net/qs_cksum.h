/* The Internet checksum (RFC 1071) for UDP over IPv4 and IPv6, computed
 * by the CPU when the port does not: receive checks and transmit fills
 * use these, so both agree. With SSE2, eight 16-bit words an instruction
 * (pmaddwd against ones, the words biased to signed); without, 32-bit
 * words into 64 bits. Either is a fraction of rte_raw_cksum's 16-bit
 * loop, and neither has a carry to track. */
#ifndef QS_CKSUM_H
#define QS_CKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

/* sum plus buf's 16-bit words, in memory order (a last odd byte is the
 * first of a word whose second is zero); not folded */
static inline uint64_t
qs_net_cksum_add(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint32_t w[4];

#ifdef __SSE2__
	/* each 32-bit lane gains at most 2^17 a step: 8,192 steps (128 KiB)
	 * a block stay far from overflow */
	while (len >= 64) {
		const __m128i bias = _mm_set1_epi16((short)0x8000);
		const __m128i ones = _mm_set1_epi16(1);
		__m128i acc = _mm_setzero_si128();
		int32_t lane[4];
		int64_t steps = 0;

		for (; len >= 32 && steps < 8192; p += 32, len -= 32, steps += 2) {
			__m128i a = _mm_loadu_si128((const __m128i *)p);
			__m128i b = _mm_loadu_si128((const __m128i *)(p + 16));

			acc = _mm_add_epi32(acc, _mm_madd_epi16(
				_mm_xor_si128(a, bias), ones));
			acc = _mm_add_epi32(acc, _mm_madd_epi16(
				_mm_xor_si128(b, bias), ones));
		}
		_mm_storeu_si128((__m128i *)lane, acc);
		/* a pair of words x, y added as (x - 2^15) + (y - 2^15) */
		sum += (uint64_t)((int64_t)lane[0] + lane[1] + lane[2] + lane[3] +
				  steps * 4 * 0x10000);
	}
#endif
	for (; len >= sizeof(w); p += sizeof(w), len -= sizeof(w)) {
		memcpy(w, p, sizeof(w));
		sum += (uint64_t)w[0] + w[1] + w[2] + w[3];
	}
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(w, p, 4);
		sum += w[0];
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		len -= 2;
	}
	if (len != 0) {
		uint16_t left = 0;

		memcpy(&left, p, 1);
		sum += left;
	}
	return sum;
}

/* sum folded to 16 bits, one's complement: 0 only when sum is */
static inline uint16_t
qs_net_cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* The folded sum of the UDP pseudo-header (addresses from the IP header
 * at l3, protocol, udp's length) and the udp->dgram_len bytes at udp:
 * 0xffff when the checksum in it is right. */
static inline uint16_t
qs_net_udp_sum(const void *l3, bool ipv6, const struct rte_udp_hdr *udp)
{
	uint64_t sum;

	if (ipv6)
		sum = qs_net_cksum_add(
			((const struct rte_ipv6_hdr *)l3)->src_addr, 32, 0);
	else
		sum = qs_net_cksum_add(
			&((const struct rte_ipv4_hdr *)l3)->src_addr, 8, 0);
	/* protocol and UDP length as 16-bit words in network order */
	sum += rte_cpu_to_be_16(IPPROTO_UDP) + udp->dgram_len;
	return qs_net_cksum_fold(qs_net_cksum_add(
		udp, rte_be_to_cpu_16(udp->dgram_len), sum));
}

/* The value for udp->dgram_cksum, computed with the field zero (0 on the
 * wire means "none": a sum of zero is sent as 0xffff) */
static inline uint16_t
qs_net_udp_cksum(const void *l3, bool ipv6, const struct rte_udp_hdr *udp)
{
	uint16_t c = (uint16_t)~qs_net_udp_sum(l3, ipv6, udp);

	return c == 0 ? 0xffff : c;
}

#endif
