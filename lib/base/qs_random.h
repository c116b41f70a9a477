/* Random bytes for CIDs, tokens and ngtcp2's rand callback, per lcore and
 * without a syscall. */
#ifndef QS_RANDOM_H
#define QS_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with random bytes from DPDK's per-lcore generator. */
void qs_random_bytes(uint8_t *buf, size_t len);

#endif
