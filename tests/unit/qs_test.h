/* The unit tests' assertions: each failed check prints file:line, what was
 * expected and the current context (TEST_CONTEXT), and is counted; a test
 * program ends with `return test_done();`, which exits non-zero when any
 * check failed. Checks never abort, so one run shows every failure. */
#ifndef QS_TEST_H
#define QS_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* xorshift64*: random numbers a test can reproduce (it sets or prints
 * the seed, test_rng_state) */
static uint64_t test_rng_state __attribute__((unused)) = 0x9e3779b97f4a7c15ull;

static inline uint64_t
test_rng(void)
{
	test_rng_state ^= test_rng_state >> 12;
	test_rng_state ^= test_rng_state << 25;
	test_rng_state ^= test_rng_state >> 27;
	return test_rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned int test_checks;
static unsigned int test_failures;
static char test_context[256];

/* Names what the next checks are about (a loop index, a case name); printed
 * with every failure until changed or cleared. */
static inline void __attribute__((format(printf, 1, 2)))
TEST_CONTEXT(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(test_context, sizeof(test_context), fmt, ap);
	va_end(ap);
}

static inline void
TEST_CONTEXT_CLEAR(void)
{
	test_context[0] = '\0';
}

static inline void __attribute__((format(printf, 3, 4)))
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	test_failures++;
	fprintf(stderr, "%s:%d: FAILED: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (test_context[0] != '\0')
		fprintf(stderr, " [%s]", test_context);
	fputc('\n', stderr);
}

#define CHECK(cond) \
	do { \
		test_checks++; \
		if (!(cond)) \
			test_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

/* Integers of any type (pointers: use CHECK). */
#define CHECK_EQ(actual, expected) \
	do { \
		long long a_ = (long long)(actual); \
		long long e_ = (long long)(expected); \
		test_checks++; \
		if (a_ != e_) \
			test_fail(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", \
				  #actual, #expected, a_, e_); \
	} while (0)

#define CHECK_MEM_EQ(actual, expected, len) \
	do { \
		test_checks++; \
		if (memcmp((actual), (expected), (len)) != 0) \
			test_fail(__FILE__, __LINE__, "%s and %s differ in %zu bytes", \
				  #actual, #expected, (size_t)(len)); \
	} while (0)

/* The string s contains needle (error messages name what went wrong). */
#define CHECK_CONTAINS(s, needle) \
	do { \
		const char *s_ = (s), *n_ = (needle); \
		test_checks++; \
		if (s_ == NULL || strstr(s_, n_) == NULL) \
			test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", \
				  s_ ? s_ : "(null)", n_); \
	} while (0)

/* Prints the summary; the exit status of the test program. */
static inline int
test_done(const char *name)
{
	printf("%s: %u checks, %u failed\n", name, test_checks, test_failures);
	return test_failures == 0 ? 0 : 1;
}

#endif
