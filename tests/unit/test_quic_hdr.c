/* qs_quic_parse: every packet type, every truncation point, oversize CIDs,
 * and no read past the datagram (each parse of a cut packet runs on a copy
 * that ends right at an inaccessible page). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qs_frames.h"
#include "steer/qs_quic_hdr.h"
#include "qs_test.h"

#define SERVER_CID_LEN 8
#define UNKNOWN_VERSION 0xff00001du /* draft-29: a version we do not speak */
#define QUIC_V2 0x6b3343cfu          /* RFC 9369: not spoken either (yet) */

/* Two pages, the second inaccessible: a copy placed at its start - len
 * faults on any read past the end, with or without ASan. */
static uint8_t *guard_area;
static size_t page_size;

static void
guard_init(void)
{
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	guard_area = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_area == MAP_FAILED ||
	    mprotect(guard_area + page_size, page_size, PROT_NONE) != 0) {
		perror("guard page");
		exit(2);
	}
}

static const uint8_t *
guarded_copy(const uint8_t *p, size_t len)
{
	uint8_t *at = guard_area + page_size - len;

	memcpy(at, p, len);
	return at;
}

/* Parses the first len bytes of p from a guarded copy, and from a heap copy
 * of exactly len bytes (which ASan bounds); both must agree. */
static int
parse_cut(const uint8_t *p, size_t len, size_t short_len, struct qs_quic_hdr *h)
{
	struct qs_quic_hdr heap_hdr;
	uint8_t *heap = malloc(len ? len : 1);
	int rc, heap_rc;

	memcpy(heap, p, len);
	heap_rc = qs_quic_parse(heap, len, short_len, &heap_hdr);
	free(heap);
	rc = qs_quic_parse(guarded_copy(p, len), len, short_len, h);
	CHECK_EQ(heap_rc, rc);
	return rc;
}

static void
test_v1_long_types(void)
{
	static const struct {
		unsigned int type_bits;
		enum qs_quic_long_type type;
	} cases[] = {
		{0, QS_QUIC_INITIAL},
		{1, QS_QUIC_0RTT},
		{2, QS_QUIC_HANDSHAKE},
		{3, QS_QUIC_RETRY},
	};
	uint8_t dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8}, scid[5] = {9, 10, 11, 12, 13};
	uint8_t pkt[1200];

	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		struct qs_quic_hdr h;
		size_t len = qs_quic_long(pkt, cases[i].type_bits, QS_QUIC_V1, dcid,
					  sizeof(dcid), scid, sizeof(scid),
					  sizeof(pkt));

		TEST_CONTEXT("v1 long type bits %u", cases[i].type_bits);
		CHECK_EQ(qs_quic_parse(pkt, len, SERVER_CID_LEN, &h), QS_QUIC_OK);
		CHECK_EQ(h.type, cases[i].type);
		CHECK_EQ(h.version, QS_QUIC_V1);
		CHECK(h.dcid == pkt + 6);
		CHECK_EQ(h.dcid_len, sizeof(dcid));
		CHECK(h.scid == pkt + 6 + sizeof(dcid) + 1);
		CHECK_EQ(h.scid_len, sizeof(scid));
		CHECK(strcmp(qs_quic_type_name(h.type), "?") != 0);
	}
	TEST_CONTEXT_CLEAR();
}

/* The low bits of the first byte (reserved, packet number length) and the
 * fixed bit do not change the type. */
static void
test_v1_first_byte_low_bits_ignored(void)
{
	uint8_t dcid[8] = {0}, pkt[64];
	struct qs_quic_hdr h;
	size_t len = qs_quic_long(pkt, 2, QS_QUIC_V1, dcid, 8, dcid, 8, 40);

	for (unsigned int low = 0; low < 16; low++) {
		pkt[0] = (uint8_t)(0x80 | 2 << 4 | low);
		CHECK_EQ(qs_quic_parse(pkt, len, SERVER_CID_LEN, &h), QS_QUIC_OK);
		CHECK_EQ(h.type, QS_QUIC_HANDSHAKE);
	}
}

static void
test_version_negotiation(void)
{
	uint8_t dcid[20], scid[40], pkt[128];
	struct qs_quic_hdr h;
	size_t len;

	memset(dcid, 0x11, sizeof(dcid));
	memset(scid, 0x22, sizeof(scid));
	/* RFC 8999: a version negotiation packet may carry CIDs over 20 bytes */
	len = qs_quic_long(pkt, 0, 0, dcid, sizeof(dcid), scid, sizeof(scid),
			   qs_quic_long_hdr_len(20, 40) + 8);
	CHECK_EQ(qs_quic_parse(pkt, len, SERVER_CID_LEN, &h), QS_QUIC_OK);
	CHECK_EQ(h.type, QS_QUIC_VERSION_NEGOTIATION);
	CHECK_EQ(h.version, 0);
	CHECK_EQ(h.dcid_len, 20);
	CHECK_EQ(h.scid_len, 40);
	CHECK(h.scid == pkt + 6 + 20 + 1);
}

/* RFC 8999 5.1: for a version we do not know, CIDs may be up to 255 bytes. */
static void
test_unknown_version_cid_lengths(void)
{
	static const uint32_t versions[] = {UNKNOWN_VERSION, QUIC_V2, 0x0a0a0a0a};
	static const uint8_t lens[] = {0, 1, 20, 21, 100, 254, 255};
	uint8_t cid[255], pkt[600];

	memset(cid, 0x5c, sizeof(cid));
	for (size_t v = 0; v < RTE_DIM(versions); v++) {
		for (size_t d = 0; d < RTE_DIM(lens); d++) {
			for (size_t s = 0; s < RTE_DIM(lens); s++) {
				struct qs_quic_hdr h;
				size_t hdr_len = qs_quic_long_hdr_len(lens[d], lens[s]);
				size_t len = qs_quic_long(pkt, 0, versions[v], cid,
							  lens[d], cid, lens[s],
							  hdr_len);

				TEST_CONTEXT("version %08x dcid %u scid %u", versions[v],
					     lens[d], lens[s]);
				CHECK_EQ(parse_cut(pkt, len, SERVER_CID_LEN, &h),
					 QS_QUIC_OK);
				CHECK_EQ(h.type, QS_QUIC_UNKNOWN_VERSION);
				CHECK_EQ(h.version, versions[v]);
				CHECK_EQ(h.dcid_len, lens[d]);
				CHECK_EQ(h.scid_len, lens[s]);
				CHECK(h.scid + h.scid_len <= guard_area + page_size);
			}
		}
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_short_header(void)
{
	uint8_t dcid[8] = {0x31, 2, 3, 4, 5, 6, 7, 8}, pkt[64];
	size_t len = qs_quic_short(pkt, dcid, sizeof(dcid), 40);
	struct qs_quic_hdr h;

	CHECK_EQ(qs_quic_parse(pkt, len, SERVER_CID_LEN, &h), QS_QUIC_OK);
	CHECK_EQ(h.type, QS_QUIC_SHORT);
	CHECK_EQ(h.version, 0);
	CHECK(h.dcid == pkt + 1);
	CHECK_EQ(h.dcid_len, SERVER_CID_LEN);
	CHECK(h.scid == NULL);
	CHECK_EQ(h.scid_len, 0);

	/* the caller's CID length decides; a header of exactly 1 + len parses */
	for (size_t cut = 0; cut <= 1 + SERVER_CID_LEN; cut++) {
		TEST_CONTEXT("short header cut at %zu", cut);
		CHECK_EQ(parse_cut(pkt, cut, SERVER_CID_LEN, &h),
			 cut == 0 ? QS_QUIC_ERR_EMPTY :
			 cut <= SERVER_CID_LEN ? QS_QUIC_ERR_TRUNCATED : QS_QUIC_OK);
	}
	TEST_CONTEXT_CLEAR();
	CHECK_EQ(parse_cut(pkt, 1, 0, &h), QS_QUIC_OK);
	CHECK_EQ(h.dcid_len, 0);
}

/* Every prefix shorter than the invariant header is refused; the header
 * itself (and anything longer) parses. */
static void
check_every_truncation(const char *what, const uint8_t *pkt, size_t hdr_len,
		       size_t full_len)
{
	for (size_t len = 0; len <= full_len; len++) {
		struct qs_quic_hdr h;
		int want = len == 0 ? QS_QUIC_ERR_EMPTY :
			   len < hdr_len ? QS_QUIC_ERR_TRUNCATED : QS_QUIC_OK;

		TEST_CONTEXT("%s cut at %zu of %zu", what, len, full_len);
		CHECK_EQ(parse_cut(pkt, len, SERVER_CID_LEN, &h), want);
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_truncation(void)
{
	uint8_t cid[255], pkt[600];
	size_t len;

	memset(cid, 0xa7, sizeof(cid));
	for (unsigned int type = 0; type < 4; type++) {
		len = qs_quic_long(pkt, type, QS_QUIC_V1, cid, 8, cid, 20,
				   qs_quic_long_hdr_len(8, 20) + 30);
		check_every_truncation("v1", pkt, qs_quic_long_hdr_len(8, 20), len);
	}
	len = qs_quic_long(pkt, 0, QS_QUIC_V1, cid, 0, cid, 0, 10);
	check_every_truncation("v1 empty cids", pkt, qs_quic_long_hdr_len(0, 0),
			       len);
	len = qs_quic_long(pkt, 0, QS_QUIC_V1, cid, 20, cid, 20,
			   qs_quic_long_hdr_len(20, 20));
	check_every_truncation("v1 max cids", pkt, qs_quic_long_hdr_len(20, 20),
			       len);
	len = qs_quic_long(pkt, 0, 0, cid, 255, cid, 255,
			   qs_quic_long_hdr_len(255, 255));
	check_every_truncation("version negotiation 255", pkt,
			       qs_quic_long_hdr_len(255, 255), len);
	len = qs_quic_long(pkt, 1, UNKNOWN_VERSION, cid, 255, cid, 255,
			   qs_quic_long_hdr_len(255, 255) + 5);
	check_every_truncation("unknown version 255", pkt,
			       qs_quic_long_hdr_len(255, 255), len);
}

/* RFC 9000 17.2: a v1 CID over 20 bytes makes the packet invalid, even when
 * the datagram holds all the bytes it claims. */
static void
test_v1_oversize_cids(void)
{
	uint8_t cid[255], pkt[600];

	memset(cid, 0x42, sizeof(cid));
	for (unsigned int n = 21; n <= 255; n++) {
		struct qs_quic_hdr h;
		size_t len;

		TEST_CONTEXT("v1 dcid length %u", n);
		len = qs_quic_long(pkt, 2, QS_QUIC_V1, cid, (uint8_t)n, cid, 8,
				   qs_quic_long_hdr_len((uint8_t)n, 8));
		CHECK_EQ(parse_cut(pkt, len, SERVER_CID_LEN, &h),
			 QS_QUIC_ERR_CID_TOO_LONG);

		TEST_CONTEXT("v1 scid length %u", n);
		len = qs_quic_long(pkt, 0, QS_QUIC_V1, cid, 8, cid, (uint8_t)n,
				   qs_quic_long_hdr_len(8, (uint8_t)n));
		CHECK_EQ(parse_cut(pkt, len, SERVER_CID_LEN, &h),
			 QS_QUIC_ERR_CID_TOO_LONG);
	}
	TEST_CONTEXT_CLEAR();
}

int
main(void)
{
	guard_init();
	test_v1_long_types();
	test_v1_first_byte_low_bits_ignored();
	test_version_negotiation();
	test_unknown_version_cid_lengths();
	test_short_header();
	test_truncation();
	test_v1_oversize_cids();
	return test_done("test_quic_hdr");
}
