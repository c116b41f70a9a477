/* Force-included (-include) into lib/quic/qs_stateless.c in the server fuzz
 * binaries only: its wall clock, the timestamp in Retry and NEW_TOKEN
 * tokens, becomes the virtual one (interpose.c), so a token recorded in a
 * seed is as valid when the fuzzer replays it as when it was issued. */
#ifndef QS_FUZZ_WALL_CLOCK_H
#define QS_FUZZ_WALL_CLOCK_H

#include <time.h>

int qs_fuzz_clock_gettime(clockid_t id, struct timespec *ts);

#define clock_gettime(id, ts) qs_fuzz_clock_gettime(id, ts)

#endif
