#include <rte_common.h>
#include <rte_cycles.h>

#include "base/qs_clock.h"

uint64_t
qs_tsc_ns(uint64_t tsc)
{
	static uint64_t mult;   /* ns per cycle, 32.32 fixed point */

	if (unlikely(mult == 0))
		__atomic_store_n(&mult, (UINT64_C(1000000000) << 32) / rte_get_tsc_hz(),
				 __ATOMIC_RELAXED);
	return (uint64_t)(((unsigned __int128)tsc * mult) >> 32);
}

uint64_t
qs_now_ns(void)
{
	return qs_tsc_ns(rte_rdtsc());
}
