/* Random bytes from OpenSSL's CSPRNG (a DRBG per thread, reseeded from the
 * kernel), drawn in batches so that a CID costs a memcpy, not a call into
 * the generator. DPDK's rte_rand() is not cryptographically secure: a few
 * observed CIDs would reveal its state and predict other clients' CIDs
 * (RFC 9000 5.1, 21.11). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/rand.h>

#include "base/qs_random.h"

#define BATCH 512             /* bytes per refill: 64 CIDs of 8 bytes */

/* one per thread (lcore), touched by nobody else */
static __thread struct {
	uint8_t buf[BATCH];
	size_t left;          /* unused bytes at the end of buf */
} batch;

static void
refill(void)
{
	if (RAND_bytes(batch.buf, sizeof(batch.buf)) != 1 &&
	    getrandom(batch.buf, sizeof(batch.buf), 0) != (ssize_t)sizeof(batch.buf)) {
		/* predictable CIDs would be worse than no server */
		fprintf(stderr, "quicsteer: no random bytes from OpenSSL or the "
			"kernel; stopping\n");
		abort();
	}
	batch.left = sizeof(batch.buf);
}

void
qs_random_bytes(uint8_t *buf, size_t len)
{
	while (len > 0) {
		uint8_t *src;
		size_t n;

		if (batch.left == 0)
			refill();
		n = len < batch.left ? len : batch.left;
		src = batch.buf + sizeof(batch.buf) - batch.left;
		memcpy(buf, src, n);
		memset(src, 0, n);    /* what was handed out is not kept */
		batch.left -= n;
		buf += n;
		len -= n;
	}
}
