/* Random bytes for CIDs, tokens and ngtcp2's rand callback: from a CSPRNG,
 * per thread and in batches (no syscall, no lock per call). */
#ifndef QS_RANDOM_H
#define QS_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with bytes from OpenSSL's CSPRNG (aborts if none can be had). */
void qs_random_bytes(uint8_t *buf, size_t len);

#endif
