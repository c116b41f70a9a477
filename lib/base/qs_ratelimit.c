#include <rte_cycles.h>

#include "base/qs_ratelimit.h"

void
qs_ratelimit_init(struct qs_ratelimit *rl, uint32_t per_second, uint32_t burst)
{
	uint64_t hz = rte_get_tsc_hz();

	rl->per_second = per_second;
	rl->max_tokens = (uint64_t)burst * hz;
	rl->tokens = rl->max_tokens;
	rl->last_tsc = rte_rdtsc();
}

bool
qs_ratelimit_take(struct qs_ratelimit *rl, uint64_t now_tsc)
{
	uint64_t hz = rte_get_tsc_hz();

	if (rl->per_second == 0)
		return false;
	/* tokens are counted in tsc ticks so refill needs no division; a
	 * long pause fills the bucket without multiplying into overflow */
	uint64_t elapsed = now_tsc - rl->last_tsc;
	uint64_t room = rl->max_tokens - rl->tokens;

	rl->last_tsc = now_tsc;
	if (elapsed > room / rl->per_second)
		rl->tokens = rl->max_tokens;
	else
		rl->tokens += elapsed * rl->per_second;
	if (rl->tokens < hz)
		return false;
	rl->tokens -= hz;
	return true;
}
