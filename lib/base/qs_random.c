#include <string.h>

#include <rte_random.h>

#include "base/qs_random.h"

void
qs_random_bytes(uint8_t *buf, size_t len)
{
	while (len >= 8) {
		uint64_t r = rte_rand();
		memcpy(buf, &r, 8);
		buf += 8;
		len -= 8;
	}
	if (len) {
		uint64_t r = rte_rand();
		memcpy(buf, &r, len);
	}
}
