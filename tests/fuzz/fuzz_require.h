/* The fuzz targets' invariants: a failed one prints file:line and what
 * failed, then aborts, so libFuzzer keeps the input as a crash. */
#ifndef FUZZ_REQUIRE_H
#define FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* why: NULL, or the check that failed */
#define REQUIRE_NULL(why) \
	do { \
		const char *why_ = (why); \
		if (why_ != NULL) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, why_); \
			abort(); \
		} \
	} while (0)

#endif
