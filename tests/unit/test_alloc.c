/* The per-lcore allocator (lib/base/qs_alloc.c):
 * - every size up to QS_ALLOC_LARGE_MAX gets an object of at least that
 *   size, 16-byte aligned, from the region (past QS_ALLOC_SMALL_MAX: whole
 *   pages, page-aligned); larger ones come from libc;
 * - calloc of an object never used leaves its pages untouched (not
 *   resident), and zeroes a reused one;
 * - a random mix of malloc, calloc, realloc and free against a model: no
 *   two live objects overlap (each holds its own pattern to the end),
 *   realloc keeps the old bytes, calloc zeroes a reused object, in_use is
 *   the sum of the live objects' classes;
 * - a region used up sends small requests to libc (counted in fallbacks)
 *   and frees still work for both kinds;
 * - a NULL allocator, or one whose region the kernel refused, is libc;
 * - where address space is limited (RLIMIT_AS), the default region is
 *   halved until it fits, not refused;
 * - under AddressSanitizer a freed object is poisoned. */
#include <malloc.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "base/qs_alloc.h"
#include "qs_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

static bool
owned(const struct qs_alloc *a, const void *p)
{
	return (uintptr_t)p - (uintptr_t)a->base < a->size;
}

static unsigned int
resident_pages(const void *p, size_t len)
{
	unsigned char vec[QS_ALLOC_LARGE_MAX / QS_ALLOC_PAGE];
	unsigned int n = 0;

	if (mincore((void *)p, len, vec) != 0)
		return 1000;
	for (size_t i = 0; i < len / QS_ALLOC_PAGE; i++)
		n += vec[i] & 1;
	return n;
}

static void
test_sizes(void)
{
	struct qs_alloc a;
	size_t prev_usable = 0;

	CHECK_EQ(qs_alloc_init(&a, (size_t)16 << 20), 0);
	CHECK_EQ(a.size, (size_t)16 << 20);
	CHECK_EQ((uintptr_t)a.base % QS_ALLOC_SPAN, 0);
	/* every small size; then large ones 61 bytes apart, and the edges */
	for (size_t size = 0; size <= QS_ALLOC_LARGE_MAX + 64;
	     size += size < QS_ALLOC_SMALL_MAX + 64 ? 1 : 61) {
		void *p = qs_alloc_malloc(&a, size);
		size_t usable = qs_alloc_usable_size(&a, p);

		TEST_CONTEXT("size %zu", size);
		CHECK(p != NULL);
		CHECK_EQ((uintptr_t)p % 16, 0);
		CHECK(usable >= size);
		CHECK(usable >= prev_usable);          /* classes only grow */
		CHECK_EQ(owned(&a, p), size <= QS_ALLOC_LARGE_MAX);
		if (size <= QS_ALLOC_SMALL_MAX) {
			/* no more than a quarter wasted beyond 64 bytes */
			CHECK(usable <= 64 || usable - size <= usable / 4);
			memset(p, 0xa5, usable);
		} else if (size <= QS_ALLOC_LARGE_MAX) {
			CHECK_EQ((uintptr_t)p % QS_ALLOC_PAGE, 0);
			CHECK_EQ(usable % QS_ALLOC_PAGE, 0);
			CHECK(usable - size < QS_ALLOC_PAGE);
			memset(p, 0xa5, size);
		}
		prev_usable = usable;
		qs_alloc_free(&a, p);
		if (size == QS_ALLOC_SMALL_MAX + 64)
			size = QS_ALLOC_LARGE_MAX - 6 * 61;  /* to hit the edge */
	}
	TEST_CONTEXT_CLEAR();
	CHECK_EQ(a.in_use, 0);
	CHECK_EQ(a.fallbacks, 0);
	CHECK(qs_alloc_reserved(&a) > 0);
	/* the same class again: the object just freed (LIFO) */
	void *p = qs_alloc_malloc(&a, 100), *q;

	qs_alloc_free(&a, p);
	q = qs_alloc_malloc(&a, 112);
	CHECK(p == q);
	qs_alloc_free(&a, q);
	/* calloc zeroes a reused object; overflow is refused */
	p = qs_alloc_malloc(&a, 200);
	memset(p, 0xff, 200);
	qs_alloc_free(&a, p);
	q = qs_alloc_calloc(&a, 4, 50);
	CHECK(p == q);
	for (int i = 0; i < 200; i++)
		CHECK_EQ(((uint8_t *)q)[i], 0);
	qs_alloc_free(&a, q);
	CHECK(qs_alloc_calloc(&a, SIZE_MAX / 2, 3) == NULL);
	/* a large object never used: calloc leaves its pages unbacked, and
	 * they read as zero; reused, calloc zeroes it */
	p = qs_alloc_calloc(&a, 1, 3 * QS_ALLOC_PAGE - 100);
	CHECK(p != NULL && owned(&a, p));
	CHECK_EQ(resident_pages(p, 3 * QS_ALLOC_PAGE), 0);
	memset(p, 0x5a, 3 * QS_ALLOC_PAGE - 100);
	CHECK_EQ(resident_pages(p, 3 * QS_ALLOC_PAGE), 3);
	qs_alloc_free(&a, p);
	q = qs_alloc_calloc(&a, 3, QS_ALLOC_PAGE - 40);
	CHECK(p == q);
	for (size_t i = 0; i < 3 * (QS_ALLOC_PAGE - 40); i++)
		if (((uint8_t *)q)[i] != 0) {
			CHECK_EQ(i, SIZE_MAX);
			break;
		}
	qs_alloc_free(&a, q);
	/* realloc: NULL is malloc, 0 frees, growth moves and keeps bytes */
	p = qs_alloc_realloc(&a, NULL, 24);
	CHECK(p != NULL && owned(&a, p));
	memcpy(p, "0123456789abcdefghijklm", 24);
	q = qs_alloc_realloc(&a, p, 30);           /* same class */
	CHECK(q == p);
	q = qs_alloc_realloc(&a, p, 3000);         /* to a large class */
	CHECK(q != NULL && owned(&a, q) && q != p);
	CHECK(memcmp(q, "0123456789abcdefghijklm", 24) == 0);
	p = qs_alloc_realloc(&a, q, QS_ALLOC_LARGE_MAX + 1);   /* to libc */
	CHECK(p != NULL && !owned(&a, p));
	CHECK(memcmp(p, "0123456789abcdefghijklm", 24) == 0);
	q = p;
	p = qs_alloc_realloc(&a, q, 80000);        /* libc's realloc */
	CHECK(memcmp(p, "0123456789abcdefghijklm", 24) == 0);
	CHECK(qs_alloc_realloc(&a, p, 0) == NULL);
	CHECK_EQ(a.in_use, 0);
#ifdef TEST_ASAN
	p = qs_alloc_malloc(&a, 64);
	CHECK(!__asan_address_is_poisoned(p));
	CHECK(__asan_address_is_poisoned((uint8_t *)p + 64));  /* the next */
	qs_alloc_free(&a, p);
	CHECK(__asan_address_is_poisoned((uint8_t *)p + 8));
#endif
	qs_alloc_fini(&a);
	CHECK(a.base == NULL);
}

#define LIVE_MAX 512

struct live {
	uint8_t *p;
	size_t size;
	uint8_t fill;
};

static bool
intact(const struct live *l)
{
	for (size_t i = 0; i < l->size; i++)
		if (l->p[i] != l->fill)
			return false;
	return true;
}

static size_t
random_size(void)
{
	uint64_t r = test_rng();

	switch (r % 8) {
	case 0:     /* large classes, and libc's */
		return (size_t)(r >> 8) % (QS_ALLOC_LARGE_MAX + 8192);
	case 1:
		return (size_t)(r >> 8) % (QS_ALLOC_SMALL_MAX + 1);
	default:
		return (size_t)(r >> 8) % 300;
	}
}

/* ops random operations on an allocator with region bytes, every live
 * object checked at each of its turns and at the end */
static void
run_model(size_t region, unsigned int ops, bool expect_fallbacks)
{
	static struct live live[LIVE_MAX];
	struct qs_alloc a;
	unsigned int bad = 0;
	uint8_t next_fill = 1;

	memset(live, 0, sizeof(live));
	CHECK_EQ(qs_alloc_init(&a, region), 0);
	for (unsigned int op = 0; op < ops; op++) {
		struct live *l = &live[test_rng() % LIVE_MAX];
		uint64_t r = test_rng() % 4;

		if (l->p != NULL && !intact(l))
			bad++;
		if (l->p == NULL) {
			l->size = random_size();
			l->fill = next_fill++;
			l->p = r == 0 ? qs_alloc_calloc(&a, 1, l->size)
				      : qs_alloc_malloc(&a, l->size);
			if (l->p == NULL) {
				bad++;
				continue;
			}
			if (r == 0)
				for (size_t i = 0; i < l->size; i++)
					bad += l->p[i] != 0;
			memset(l->p, l->fill, l->size);
		} else if (r == 0) {
			size_t size = random_size() + 1;
			uint8_t *np = qs_alloc_realloc(&a, l->p, size);

			if (np == NULL) {
				bad++;
				continue;
			}
			for (size_t i = 0; i < (size < l->size ? size : l->size); i++)
				bad += np[i] != l->fill;
			l->p = np;
			l->size = size;
			memset(l->p, l->fill, l->size);
		} else {
			qs_alloc_free(&a, l->p);
			l->p = NULL;
		}
	}
	uint64_t in_use = 0;

	for (unsigned int i = 0; i < LIVE_MAX; i++)
		if (live[i].p != NULL && owned(&a, live[i].p))
			in_use += qs_alloc_usable_size(&a, live[i].p);
	TEST_CONTEXT("region %zu, %u operations", region, ops);
	CHECK_EQ(bad, 0);
	CHECK_EQ(a.in_use, in_use);
	CHECK_EQ(a.fallbacks > 0, expect_fallbacks);
	CHECK(qs_alloc_reserved(&a) <= region);
	for (unsigned int i = 0; i < LIVE_MAX; i++) {
		CHECK(live[i].p == NULL || intact(&live[i]));
		qs_alloc_free(&a, live[i].p);
	}
	CHECK_EQ(a.in_use, 0);
	TEST_CONTEXT_CLEAR();
	qs_alloc_fini(&a);
}

static void
test_libc(void)
{
	struct qs_alloc a;
	void *p;

	/* no allocator: libc */
	p = qs_alloc_malloc(NULL, 100);
	CHECK(p != NULL);
	CHECK_EQ(qs_alloc_usable_size(NULL, p), malloc_usable_size(p));
	p = qs_alloc_realloc(NULL, p, 200);
	CHECK(p != NULL);
	qs_alloc_free(NULL, p);
	qs_alloc_free(NULL, NULL);
	/* a region the kernel refuses (far beyond the address space): libc */
	CHECK_EQ(qs_alloc_init(&a, (size_t)1 << 62), -1);
	CHECK(a.base == NULL);
	p = qs_alloc_malloc(&a, 100);
	CHECK(p != NULL && !owned(&a, p));
	qs_alloc_free(&a, p);
	CHECK_EQ(a.in_use, 0);
	qs_alloc_fini(&a);
	/* less than a span is no region */
	CHECK_EQ(qs_alloc_init(&a, QS_ALLOC_SPAN - 1), -1);
	qs_alloc_fini(&a);
}

/* In a child limited to 8 GiB more address space than it has: the
 * default reservation still succeeds, smaller. */
static void
test_region_limited(void)
{
	unsigned long long vm_kib = 0;
	char line[256];
	int status = -1;
	pid_t pid;
	FILE *fp;

	fp = fopen("/proc/self/status", "r");
	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmSize: %llu", &vm_kib) == 1)
			break;
	if (fp != NULL)
		fclose(fp);
	CHECK(vm_kib > 0);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl;
		struct qs_alloc a;

		rl.rlim_cur = rl.rlim_max = vm_kib * 1024 + ((rlim_t)8 << 30);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(2);
		if (qs_alloc_init(&a, 0) != 0)
			_exit(3);
		if (a.size >= QS_ALLOC_REGION || a.size < QS_ALLOC_REGION_MIN)
			_exit(4);
		void *p = qs_alloc_malloc(&a, 5000);

		if (p == NULL || !owned(&a, p))
			_exit(5);
		qs_alloc_free(&a, p);
		qs_alloc_fini(&a);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	/* unlimited: the whole default */
	struct qs_alloc a;

	CHECK_EQ(qs_alloc_init(&a, 0), 0);
	CHECK_EQ(a.size, QS_ALLOC_REGION);
	qs_alloc_fini(&a);
}

int
main(void)
{
	test_sizes();
	/* room for everything; then 4 spans for 48 classes: libc takes over */
	run_model((size_t)64 << 20, 200000, false);
	run_model(4 * QS_ALLOC_SPAN, 200000, true);
	test_libc();
	test_region_limited();
	return test_done("test_alloc");
}
