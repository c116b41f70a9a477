/* A per-lcore allocator for what ngtcp2 and nghttp3 allocate and free per
 * packet, per stream and per connection (through their ngtcp2_mem /
 * nghttp3_mem hooks), and for quicsteer's own connection structs.
 *
 * Requests up to QS_ALLOC_SMALL_MAX bytes are rounded up to one of 32
 * small classes; larger ones, up to QS_ALLOC_LARGE_MAX, to a whole number
 * of pages (16 large classes: the libraries' object pools and connection
 * structs, 4 to 44 KiB, of which an idle connection touches the first
 * pages only). Objects are carved from 64 KiB spans, each span of one
 * class, in a region of address space the lcore reserves at start: its
 * pages become resident only when first touched, and calloc does not
 * touch an object that was never used (the kernel's pages are zero). A
 * freed object goes on its class's free list (LIFO, linked through the
 * object) and is what the next request of that class gets. No lock, no
 * syscall after start, no header per object: a side table gives each
 * span's class.
 *
 * Requests above QS_ALLOC_LARGE_MAX, and every request once the region is
 * used up (counted in fallbacks), go to libc's malloc; qs_alloc_free and
 * qs_alloc_realloc tell the two apart by address. Spans stay with their
 * class for the allocator's life: memory freed by one class is reused by
 * that class.
 *
 * One allocator serves one lcore (or thread): nothing here is
 * thread-safe. An object must be freed through the allocator that gave
 * it. Every function takes a NULL allocator and then uses libc. Under
 * AddressSanitizer, free objects are poisoned, so a use after free or an
 * overflow into the next object is still reported. */
#ifndef QS_ALLOC_H
#define QS_ALLOC_H

#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QS_ALLOC_SPAN ((size_t)64 << 10)
#define QS_ALLOC_SMALL_MAX 2048
#define QS_ALLOC_SMALL_CLASSES 32
#define QS_ALLOC_PAGE 4096
#define QS_ALLOC_LARGE_MAX QS_ALLOC_SPAN
#define QS_ALLOC_CLASSES \
	(QS_ALLOC_SMALL_CLASSES + QS_ALLOC_LARGE_MAX / QS_ALLOC_PAGE)
/* address space reserved per allocator: 1,048,576 spans, room for about
 * 400,000 connections' objects; halved until the kernel gives it, down to
 * the minimum */
#define QS_ALLOC_REGION ((size_t)64 << 30)
#define QS_ALLOC_REGION_MIN ((size_t)1 << 30)

struct qs_alloc {
	uint8_t *base;                  /* the region; NULL: all goes to libc */
	size_t size;
	size_t used;                    /* bytes of the region in spans */
	uint8_t *span_class;            /* class of each span in use */
	void *free[QS_ALLOC_CLASSES];   /* free objects of each class */
	uint8_t *next[QS_ALLOC_CLASSES];/* where a class carves next */
	uint8_t *end[QS_ALLOC_CLASSES]; /* the end of that span */
	/* written by the owner only; others read them (telemetry) */
	uint64_t in_use;                /* bytes of live objects */
	uint64_t fallbacks;             /* requests libc served because the
					 * region was used up */
};

/* Reserves region bytes of address space (a multiple of QS_ALLOC_SPAN;
 * 0: QS_ALLOC_REGION, or the most the kernel gives of it halved down to
 * QS_ALLOC_REGION_MIN; a->size says). Returns 0, or -1 when the kernel
 * refuses it: a is then usable and serves everything from libc. */
int qs_alloc_init(struct qs_alloc *a, size_t region);
/* Gives the region back; every object of it must be freed already. */
void qs_alloc_fini(struct qs_alloc *a);

void *qs_alloc_malloc(struct qs_alloc *a, size_t size);
void *qs_alloc_calloc(struct qs_alloc *a, size_t n, size_t size);
/* realloc's contract: size 0 frees p and returns NULL; on failure p
 * stays valid and NULL is returned. */
void *qs_alloc_realloc(struct qs_alloc *a, void *p, size_t size);
void qs_alloc_free(struct qs_alloc *a, void *p);
/* Each class's object size (inline: every hooked malloc and free asks) */
extern const uint32_t qs_alloc_class_size[QS_ALLOC_CLASSES];

/* Whether p is in a's region (else libc's). */
static inline bool
qs_alloc_owns(const struct qs_alloc *a, const void *p)
{
	return a != NULL && (uintptr_t)p - (uintptr_t)a->base < a->size;
}

/* The class of p, which a owns. */
static inline unsigned int
qs_alloc_class_at(const struct qs_alloc *a, const void *p)
{
	return a->span_class[((const uint8_t *)p - a->base) / QS_ALLOC_SPAN];
}

/* Bytes usable at p (its class's size, or malloc_usable_size). */
static inline size_t
qs_alloc_usable_size(const struct qs_alloc *a, const void *p)
{
	if (p == NULL)
		return 0;
	if (!qs_alloc_owns(a, p))
		return malloc_usable_size((void *)p);
	return qs_alloc_class_size[qs_alloc_class_at(a, p)];
}
/* Bytes of the region in spans: an upper bound of what it made resident. */
static inline uint64_t
qs_alloc_reserved(const struct qs_alloc *a)
{
	return __atomic_load_n(&a->used, __ATOMIC_RELAXED);
}

#endif
