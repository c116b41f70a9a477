/* A token bucket counted in TSC ticks: one per lcore, touched only by that
 * lcore (stateless resets today). */
#ifndef QS_RATELIMIT_H
#define QS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct qs_ratelimit {
	uint64_t tokens;        /* scaled by tsc_hz */
	uint64_t max_tokens;
	uint64_t per_second;
	uint64_t last_tsc;
};

void qs_ratelimit_init(struct qs_ratelimit *rl, uint32_t per_second,
		       uint32_t burst);
/* Takes one token; false when the bucket is empty. */
bool qs_ratelimit_take(struct qs_ratelimit *rl, uint64_t now_tsc);

#endif
