/* A binary min-heap of timers on their expiry: the server's connections
 * and quicsteer-load's connection slots both wait on one. The caller gives
 * the slot array, so the heap never allocates. No DPDK here. */
#ifndef QS_TIMERS_H
#define QS_TIMERS_H

#include <stddef.h>
#include <stdint.h>

#define QS_TIMER_IDLE UINT32_MAX      /* not in the heap */

/* Embedded in what waits; qs_container_of finds the owner again. */
struct qs_timer {
	uint64_t expiry;
	uint32_t heap_idx;
};

struct qs_timers {
	struct qs_timer **slots;
	uint32_t len;
	uint32_t cap;
};

#define qs_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void
qs_timer_init(struct qs_timer *t)
{
	t->expiry = UINT64_MAX;
	t->heap_idx = QS_TIMER_IDLE;
}

/* slots holds cap pointers; a timer may be in one heap at a time. */
void qs_timers_init(struct qs_timers *h, struct qs_timer **slots, uint32_t cap);

/* Puts t in the heap (or moves it) after its expiry changed; -1 when the
 * heap is full. */
int qs_timers_update(struct qs_timers *h, struct qs_timer *t);
void qs_timers_remove(struct qs_timers *h, struct qs_timer *t);

/* The soonest timer, or NULL. */
static inline struct qs_timer *
qs_timers_first(const struct qs_timers *h)
{
	return h->len > 0 ? h->slots[0] : NULL;
}

#endif
