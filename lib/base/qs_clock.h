/* Time for the dataplane: monotonic nanoseconds from the TSC (no syscall),
 * read once per loop iteration by each lcore. */
#ifndef QS_CLOCK_H
#define QS_CLOCK_H

#include <stdint.h>

/* Monotonic nanoseconds from the TSC. */
uint64_t qs_now_ns(void);
/* The same from a TSC value the caller read (rte_rdtsc). */
uint64_t qs_tsc_ns(uint64_t tsc);

#endif
