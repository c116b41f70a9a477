/* Holds on an object the control plane publishes read-only to the workers
 * and replaces as a whole on reload (TLS credentials, the content store):
 * what a worker still uses of it beyond one loop iteration (a connection
 * handshaking with the credentials, a response whose body points into the
 * store). Each worker counts its own holds on a cache line no other worker
 * writes, so taking and dropping one is a plain store; the control plane
 * frees a replaced object once every worker has passed a quiescent point
 * since the swap (rte_rcu_qsbr: no new hold can be taken) and the counts
 * sum to zero (no old hold is left). */
#ifndef QS_HOLDS_H
#define QS_HOLDS_H

#include <stdint.h>
#include <stdlib.h>

#include <rte_common.h>

struct qs_hold {
	uint64_t n;
} __rte_cache_aligned;

struct qs_holds {
	struct qs_hold *by_worker;       /* n_workers lines */
	uint16_t n_workers;
};

/* Zero holds for n_workers; -1 when out of memory. */
static inline int
qs_holds_init(struct qs_holds *h, uint16_t n_workers)
{
	uint16_t n = n_workers > 0 ? n_workers : 1;

	h->by_worker = aligned_alloc(RTE_CACHE_LINE_SIZE,
				     (size_t)n * sizeof(struct qs_hold));
	if (h->by_worker == NULL)
		return -1;
	for (uint16_t i = 0; i < n; i++)
		h->by_worker[i].n = 0;
	h->n_workers = n;
	return 0;
}

static inline void
qs_holds_fini(struct qs_holds *h)
{
	free(h->by_worker);
	h->by_worker = NULL;
}

/* On worker w only. */
static inline void
qs_holds_take(struct qs_holds *h, uint16_t w)
{
	struct qs_hold *s = &h->by_worker[w];

	__atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELAXED);
}

/* On worker w only, after its last use of the object: the release store
 * orders that use before the control plane's reading a zero. */
static inline void
qs_holds_drop(struct qs_holds *h, uint16_t w)
{
	struct qs_hold *s = &h->by_worker[w];

	__atomic_store_n(&s->n, s->n - 1, __ATOMIC_RELEASE);
}

/* Any thread. */
static inline uint64_t
qs_holds_total(const struct qs_holds *h)
{
	uint64_t sum = 0;

	for (uint16_t i = 0; i < h->n_workers; i++)
		sum += __atomic_load_n(&h->by_worker[i].n, __ATOMIC_ACQUIRE);
	return sum;
}

#endif
