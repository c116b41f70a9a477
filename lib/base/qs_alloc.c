#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/qs_alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define QS_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QS_ALLOC_ASAN 1
#endif
#endif

#ifdef QS_ALLOC_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

_Static_assert(QS_ALLOC_REGION / QS_ALLOC_SPAN <= UINT32_MAX, "too many spans");

_Static_assert(QS_ALLOC_SPAN % QS_ALLOC_PAGE == 0, "a span is not whole pages");

/* 16..256 by 16, 320..1024 by 64, 1280..2048 by 256, then pages */
#define SMALL16(i) ((i) + 1) * 16
#define MID64(i) 256 + ((i) + 1) * 64
#define HIGH256(i) 1024 + ((i) + 1) * 256
#define PAGES(i) ((i) + 1) * QS_ALLOC_PAGE
const uint32_t qs_alloc_class_size[QS_ALLOC_CLASSES] = {
	SMALL16(0), SMALL16(1), SMALL16(2), SMALL16(3), SMALL16(4),
	SMALL16(5), SMALL16(6), SMALL16(7), SMALL16(8), SMALL16(9),
	SMALL16(10), SMALL16(11), SMALL16(12), SMALL16(13), SMALL16(14),
	SMALL16(15),
	MID64(0), MID64(1), MID64(2), MID64(3), MID64(4), MID64(5),
	MID64(6), MID64(7), MID64(8), MID64(9), MID64(10), MID64(11),
	HIGH256(0), HIGH256(1), HIGH256(2), HIGH256(3),
	PAGES(0), PAGES(1), PAGES(2), PAGES(3), PAGES(4), PAGES(5),
	PAGES(6), PAGES(7), PAGES(8), PAGES(9), PAGES(10), PAGES(11),
	PAGES(12), PAGES(13), PAGES(14), PAGES(15),
};

static inline size_t
class_size(unsigned int cls)
{
	return qs_alloc_class_size[cls];
}

static unsigned int
class_of(size_t size)
{
	if (size <= 256)
		return size == 0 ? 0 : (unsigned int)((size - 1) >> 4);
	if (size <= 1024)
		return 16 + (unsigned int)((size - 257) >> 6);
	if (size <= QS_ALLOC_SMALL_MAX)
		return 28 + (unsigned int)((size - 1025) >> 8);
	return QS_ALLOC_SMALL_CLASSES + (unsigned int)((size - 1) / QS_ALLOC_PAGE);
}

static int
reserve(struct qs_alloc *a, size_t region)
{
	void *base;

	/* one span more, to align the region on a span */
	base = mmap(NULL, region + QS_ALLOC_SPAN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	a->span_class = calloc(region / QS_ALLOC_SPAN, 1);
	if (a->span_class == NULL) {
		munmap(base, region + QS_ALLOC_SPAN);
		return -1;
	}
	a->base = (uint8_t *)(((uintptr_t)base + QS_ALLOC_SPAN - 1) &
			      ~(uintptr_t)(QS_ALLOC_SPAN - 1));
	/* give back what the alignment left over at both ends */
	if (a->base != (uint8_t *)base)
		munmap(base, (size_t)(a->base - (uint8_t *)base));
	if ((uint8_t *)base + QS_ALLOC_SPAN != a->base)
		munmap(a->base + region,
		       (size_t)((uint8_t *)base + QS_ALLOC_SPAN - a->base));
	a->size = region;
	return 0;
}

int
qs_alloc_init(struct qs_alloc *a, size_t region)
{
	memset(a, 0, sizeof(*a));
	if (region != 0) {
		region -= region % QS_ALLOC_SPAN;
		return region == 0 ? -1 : reserve(a, region);
	}
	/* where address space is limited (ulimit -v, valgrind), less */
	for (region = QS_ALLOC_REGION; region >= QS_ALLOC_REGION_MIN;
	     region /= 2)
		if (reserve(a, region) == 0)
			return 0;
	return -1;
}

void
qs_alloc_fini(struct qs_alloc *a)
{
	if (a->base != NULL) {
		UNPOISON(a->base, a->used);
		munmap(a->base, a->size);
	}
	free(a->span_class);
	memset(a, 0, sizeof(*a));
}


/* A new object of cls from its span, or from a new span (what was left of
 * the old one stays unused); NULL when the region is used up. Its bytes
 * were never written: the kernel's zero pages. */
static void *
carve(struct qs_alloc *a, unsigned int cls, size_t size)
{
	uint8_t *p = a->next[cls];

	if (p == NULL || (size_t)(a->end[cls] - p) < size) {
		if (a->size - a->used < QS_ALLOC_SPAN)
			return NULL;
		p = a->base + a->used;
		POISON(p, QS_ALLOC_SPAN);   /* what is not carved yet */
		a->span_class[a->used / QS_ALLOC_SPAN] = (uint8_t)cls;
		a->end[cls] = p + QS_ALLOC_SPAN;
		__atomic_store_n(&a->used, a->used + QS_ALLOC_SPAN, __ATOMIC_RELAXED);
	}
	a->next[cls] = p + size;
	return p;
}

/* *zeroed: whether the object's bytes are known to be zero */
static void *
alloc(struct qs_alloc *a, size_t size, bool *zeroed)
{
	unsigned int cls;
	size_t csize;
	void *p;

	*zeroed = false;
	if (a == NULL || a->base == NULL || size > QS_ALLOC_LARGE_MAX)
		return malloc(size);
	cls = class_of(size);
	csize = class_size(cls);
	p = a->free[cls];
	if (p != NULL) {
		UNPOISON(p, csize);
		a->free[cls] = *(void **)p;
	} else {
		p = carve(a, cls, csize);
		if (p == NULL) {
			__atomic_store_n(&a->fallbacks, a->fallbacks + 1,
					 __ATOMIC_RELAXED);
			return malloc(size);
		}
		UNPOISON(p, csize);
		*zeroed = true;
	}
	__atomic_store_n(&a->in_use, a->in_use + csize, __ATOMIC_RELAXED);
	return p;
}

void *
qs_alloc_malloc(struct qs_alloc *a, size_t size)
{
	bool zeroed;

	return alloc(a, size, &zeroed);
}

void *
qs_alloc_calloc(struct qs_alloc *a, size_t n, size_t size)
{
	size_t total;
	bool zeroed;
	void *p;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	p = alloc(a, total, &zeroed);
	/* a fresh object stays untouched: pages an idle connection never
	 * writes (most of ngtcp2's 12 KiB connection) stay unbacked */
	if (p != NULL && !zeroed)
		memset(p, 0, total);
	return p;
}

void
qs_alloc_free(struct qs_alloc *a, void *p)
{
	unsigned int cls;
	size_t csize;

	if (p == NULL)
		return;
	if (!qs_alloc_owns(a, p)) {
		free(p);
		return;
	}
	cls = qs_alloc_class_at(a, p);
	csize = class_size(cls);
	*(void **)p = a->free[cls];
	a->free[cls] = p;
	POISON(p, csize);
	__atomic_store_n(&a->in_use, a->in_use - csize, __ATOMIC_RELAXED);
}

void *
qs_alloc_realloc(struct qs_alloc *a, void *p, size_t size)
{
	size_t csize;
	void *np;

	if (p == NULL)
		return qs_alloc_malloc(a, size);
	if (size == 0) {
		qs_alloc_free(a, p);
		return NULL;
	}
	if (!qs_alloc_owns(a, p))
		return realloc(p, size);
	csize = class_size(qs_alloc_class_at(a, p));
	if (size <= csize)
		return p;
	np = qs_alloc_malloc(a, size);
	if (np == NULL)
		return NULL;
	memcpy(np, p, csize);
	qs_alloc_free(a, p);
	return np;
}

