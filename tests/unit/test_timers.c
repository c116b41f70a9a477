/* The timer heap: empty and full heaps, removing a timer that is not in the
 * heap, re-positioning a queued timer both up and down, removal from the
 * middle (the moved-in last timer may have to go up), equal expiries, pop
 * order equal to the sorted expiries, qs_container_of, and many random
 * updates/removes/pops checked against a reference model: after every
 * operation the heap property holds, every queued timer's heap_idx points
 * back to its slot and every other timer is QS_TIMER_IDLE. No DPDK. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic/qs_timers.h"
#include "qs_test.h"

#define N_OWNERS 64
#define RANDOM_OPS 20000
#define POP_ROUNDS 50
#define SLOT_GUARD 4 /* slots past cap that the heap must never write */

/* What waits on a timer: the timer is deliberately not the first member. */
struct owner {
	uint32_t id;
	char name[13];
	struct qs_timer timer;
	uint64_t canary;
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The heap against the model: in_heap[i] says whether owners[i] is queued.
 * Returns the number of problems (each also counted as a failed check). */
static unsigned int
check_heap(const struct qs_timers *h, const struct owner *owners,
	   const int *in_heap, size_t n)
{
	unsigned int before = test_failures;
	uint32_t queued = 0;
	uint64_t min = UINT64_MAX;

	CHECK(h->len <= h->cap);
	for (uint32_t i = 0; i < h->len && i < h->cap; i++) {
		CHECK(h->slots[i] != NULL);
		if (h->slots[i] == NULL)
			continue;
		CHECK_EQ(h->slots[i]->heap_idx, i);
		if (i > 0 && h->slots[(i - 1) / 2] != NULL)
			CHECK(h->slots[(i - 1) / 2]->expiry <= h->slots[i]->expiry);
	}
	for (size_t o = 0; o < n; o++) {
		const struct qs_timer *t = &owners[o].timer;

		if (in_heap[o]) {
			queued++;
			if (t->expiry < min)
				min = t->expiry;
			CHECK(t->heap_idx < h->len);
			if (t->heap_idx < h->len)
				CHECK(h->slots[t->heap_idx] == t);
		} else {
			CHECK_EQ(t->heap_idx, QS_TIMER_IDLE);
		}
	}
	CHECK_EQ(h->len, queued);
	if (queued == 0) {
		CHECK(qs_timers_first(h) == NULL);
	} else {
		CHECK(qs_timers_first(h) != NULL);
		if (qs_timers_first(h) != NULL)
			CHECK_EQ(qs_timers_first(h)->expiry, min);
	}
	return test_failures - before;
}

static void
init_owners(struct owner *owners, int *in_heap, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&owners[i], 0, sizeof(owners[i]));
		owners[i].id = (uint32_t)i;
		owners[i].canary = 0x5a5a5a5a5a5a5a5aull ^ i;
		qs_timer_init(&owners[i].timer);
		in_heap[i] = 0;
	}
}

static void
test_init_and_empty(void)
{
	struct qs_timer *slots[4];
	struct qs_timers h;
	struct owner o;

	memset(&h, 0xff, sizeof(h));
	qs_timers_init(&h, slots, 4);
	CHECK(h.slots == slots);
	CHECK_EQ(h.len, 0);
	CHECK_EQ(h.cap, 4);
	CHECK(qs_timers_first(&h) == NULL);

	memset(&o.timer, 0, sizeof(o.timer));
	qs_timer_init(&o.timer);
	CHECK_EQ(o.timer.heap_idx, QS_TIMER_IDLE);
	CHECK(o.timer.expiry == UINT64_MAX);

	/* removing a timer that was never queued changes nothing */
	qs_timers_remove(&h, &o.timer);
	CHECK_EQ(h.len, 0);
	CHECK_EQ(o.timer.heap_idx, QS_TIMER_IDLE);
	CHECK(qs_timers_first(&h) == NULL);

	/* a heap without room refuses everything */
	qs_timers_init(&h, slots, 0);
	o.timer.expiry = 1;
	CHECK_EQ(qs_timers_update(&h, &o.timer), -1);
	CHECK_EQ(h.len, 0);
	CHECK_EQ(o.timer.heap_idx, QS_TIMER_IDLE);
	CHECK(qs_timers_first(&h) == NULL);
}

static void
test_container_of(void)
{
	struct owner o = {.id = 4242};
	struct qs_timer *t = &o.timer;

	CHECK(qs_container_of(t, struct owner, timer) == &o);
	CHECK_EQ(qs_container_of(t, struct owner, timer)->id, 4242);
	CHECK((void *)qs_container_of(&o.canary, struct owner, canary) ==
	      (void *)&o);
}

/* A timer already queued is re-positioned in place: moved to the top when
 * its expiry drops, sunk when it grows, and len never changes. */
static void
test_update_moves_up_and_down(void)
{
	struct owner owners[7];
	struct qs_timer *slots[7];
	int in_heap[7];
	struct qs_timers h;

	init_owners(owners, in_heap, 7);
	qs_timers_init(&h, slots, 7);
	for (int i = 0; i < 7; i++) {
		owners[i].timer.expiry = 10 * (uint64_t)(i + 1);
		CHECK_EQ(qs_timers_update(&h, &owners[i].timer), 0);
		in_heap[i] = 1;
	}
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);
	CHECK(qs_timers_first(&h) == &owners[0].timer);

	/* the latest (a leaf) becomes the soonest: it moves up to the root */
	TEST_CONTEXT("leaf 70 -> 5");
	owners[6].timer.expiry = 5;
	CHECK_EQ(qs_timers_update(&h, &owners[6].timer), 0);
	CHECK_EQ(h.len, 7);
	CHECK(qs_timers_first(&h) == &owners[6].timer);
	CHECK_EQ(owners[6].timer.heap_idx, 0);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);

	/* the soonest becomes the latest: it sinks to a leaf */
	TEST_CONTEXT("root 5 -> 100");
	owners[6].timer.expiry = 100;
	CHECK_EQ(qs_timers_update(&h, &owners[6].timer), 0);
	CHECK_EQ(h.len, 7);
	CHECK(qs_timers_first(&h) == &owners[0].timer);
	CHECK(owners[6].timer.heap_idx >= 7 / 2); /* a leaf */
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);

	/* an inner timer moving down one level, then up past the root */
	TEST_CONTEXT("inner 20 -> 65 -> 1");
	owners[1].timer.expiry = 65;
	CHECK_EQ(qs_timers_update(&h, &owners[1].timer), 0);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);
	owners[1].timer.expiry = 1;
	CHECK_EQ(qs_timers_update(&h, &owners[1].timer), 0);
	CHECK(qs_timers_first(&h) == &owners[1].timer);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);

	/* an update without a change keeps everything where it is */
	TEST_CONTEXT("unchanged expiry");
	for (int i = 0; i < 7; i++) {
		uint32_t idx = owners[i].timer.heap_idx;

		CHECK_EQ(qs_timers_update(&h, &owners[i].timer), 0);
		CHECK_EQ(owners[i].timer.heap_idx, idx);
	}
	CHECK_EQ(h.len, 7);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);
	TEST_CONTEXT_CLEAR();
}

/* Removing from the middle moves the last timer into the hole; when that
 * timer is sooner than the hole's parent it must go up, not only down. */
static void
test_remove_middle_moves_last_up(void)
{
	static const uint64_t exp[] = {1, 10, 2, 11, 12, 3, 4};
	struct owner owners[7], *last;
	struct qs_timer *slots[7];
	int in_heap[7];
	struct qs_timers h;

	init_owners(owners, in_heap, 7);
	qs_timers_init(&h, slots, 7);
	for (int i = 0; i < 7; i++) {
		owners[i].timer.expiry = exp[i];
		CHECK_EQ(qs_timers_update(&h, &owners[i].timer), 0);
		in_heap[i] = 1;
	}
	/* inserted in heap order: nothing moved */
	for (int i = 0; i < 7; i++)
		CHECK_EQ(owners[i].timer.heap_idx, i);

	qs_timers_remove(&h, &owners[3].timer); /* 11, under 10 */
	in_heap[3] = 0;
	CHECK_EQ(h.len, 6);
	CHECK_EQ(owners[3].timer.heap_idx, QS_TIMER_IDLE);
	CHECK_EQ(owners[6].timer.heap_idx, 1); /* 4 went up past 10 */
	CHECK_EQ(owners[1].timer.heap_idx, 3);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);

	/* removing it again, or another idle timer, is a no-op */
	qs_timers_remove(&h, &owners[3].timer);
	CHECK_EQ(h.len, 6);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);

	/* removing the last slot, then the root */
	last = qs_container_of(h.slots[h.len - 1], struct owner, timer);
	qs_timers_remove(&h, &last->timer);
	in_heap[last->id] = 0;
	CHECK_EQ(h.len, 5);
	CHECK_EQ(last->timer.heap_idx, QS_TIMER_IDLE);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);
	qs_timers_remove(&h, &owners[0].timer);
	in_heap[0] = 0;
	CHECK_EQ(h.len, 4);
	CHECK_EQ(qs_timers_first(&h)->expiry, 2);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);

	/* a removed timer can be queued again */
	owners[0].timer.expiry = 0;
	CHECK_EQ(qs_timers_update(&h, &owners[0].timer), 0);
	in_heap[0] = 1;
	CHECK(qs_timers_first(&h) == &owners[0].timer);
	CHECK_EQ(check_heap(&h, owners, in_heap, 7), 0);
}

/* A full heap refuses a new timer and is left exactly as it was, but still
 * re-positions and removes the timers it holds. */
static void
test_full(void)
{
	enum { CAP = 5 };
	struct owner owners[CAP + 2];
	struct qs_timer *slots[CAP + SLOT_GUARD];
	struct qs_timer *copy[CAP];
	struct qs_timer guard;
	int in_heap[CAP + 2];
	struct qs_timers h;

	init_owners(owners, in_heap, CAP + 2);
	qs_timer_init(&guard);
	for (int i = 0; i < CAP + SLOT_GUARD; i++)
		slots[i] = &guard;
	qs_timers_init(&h, slots, CAP);
	for (int i = 0; i < CAP; i++) {
		owners[i].timer.expiry = 100 + (uint64_t)i;
		CHECK_EQ(qs_timers_update(&h, &owners[i].timer), 0);
		in_heap[i] = 1;
	}
	CHECK_EQ(h.len, CAP);
	memcpy(copy, slots, sizeof(copy));

	for (int j = CAP; j < CAP + 2; j++) {
		TEST_CONTEXT("timer %d into a full heap", j);
		owners[j].timer.expiry = 1; /* sooner than all: would be first */
		CHECK_EQ(qs_timers_update(&h, &owners[j].timer), -1);
		CHECK_EQ(owners[j].timer.heap_idx, QS_TIMER_IDLE);
		CHECK_EQ(h.len, CAP);
		CHECK(memcmp(copy, slots, sizeof(copy)) == 0);
		CHECK(qs_timers_first(&h) == &owners[0].timer);
		CHECK_EQ(check_heap(&h, owners, in_heap, CAP + 2), 0);
	}
	for (int i = CAP; i < CAP + SLOT_GUARD; i++)
		CHECK(slots[i] == &guard);

	/* queued timers still move while the heap is full */
	TEST_CONTEXT("update inside a full heap");
	owners[CAP - 1].timer.expiry = 0;
	CHECK_EQ(qs_timers_update(&h, &owners[CAP - 1].timer), 0);
	CHECK(qs_timers_first(&h) == &owners[CAP - 1].timer);
	CHECK_EQ(check_heap(&h, owners, in_heap, CAP + 2), 0);

	/* one removed: there is room for exactly one more */
	TEST_CONTEXT("room after a remove");
	qs_timers_remove(&h, &owners[2].timer);
	in_heap[2] = 0;
	CHECK_EQ(qs_timers_update(&h, &owners[CAP].timer), 0);
	in_heap[CAP] = 1;
	CHECK(qs_timers_first(&h) == &owners[CAP - 1].timer); /* 0 < 1 */
	CHECK_EQ(qs_timers_update(&h, &owners[CAP + 1].timer), -1);
	CHECK_EQ(owners[CAP + 1].timer.heap_idx, QS_TIMER_IDLE);
	CHECK_EQ(check_heap(&h, owners, in_heap, CAP + 2), 0);
	for (int i = CAP; i < CAP + SLOT_GUARD; i++)
		CHECK(slots[i] == &guard);
	TEST_CONTEXT_CLEAR();
}

/* Equal expiries: all are queued, all come out, none is lost or doubled. */
static void
test_equal_expiries(void)
{
	enum { N = 33 };
	struct owner owners[N];
	struct qs_timer *slots[N];
	int in_heap[N], popped[N] = {0};
	struct qs_timers h;

	init_owners(owners, in_heap, N);
	qs_timers_init(&h, slots, N);
	for (int i = 0; i < N; i++) {
		owners[i].timer.expiry = i % 3 == 0 ? 7 : 42;
		CHECK_EQ(qs_timers_update(&h, &owners[i].timer), 0);
		in_heap[i] = 1;
	}
	CHECK_EQ(check_heap(&h, owners, in_heap, N), 0);
	for (int k = 0; k < N; k++) {
		struct qs_timer *t = qs_timers_first(&h);
		struct owner *o;

		TEST_CONTEXT("pop %d", k);
		CHECK(t != NULL);
		if (t == NULL)
			break;
		CHECK_EQ(t->expiry, k < (N + 2) / 3 ? 7 : 42);
		o = qs_container_of(t, struct owner, timer);
		CHECK(o >= owners && o < owners + N && o->id < N);
		if (o < owners || o >= owners + N || o->id >= N)
			break;
		CHECK_EQ(popped[o->id], 0);
		popped[o->id] = 1;
		qs_timers_remove(&h, t);
		in_heap[o->id] = 0;
		CHECK_EQ(check_heap(&h, owners, in_heap, N), 0);
	}
	CHECK_EQ(h.len, 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ(popped[i], 1);
	TEST_CONTEXT_CLEAR();
}

/* Random expiries (with duplicates and the extremes) come out in sorted
 * order, each owner once. */
static void
test_pop_order(void)
{
	enum { N = 200 };
	static struct owner owners[N];
	static struct qs_timer *slots[N];
	static int in_heap[N];
	uint64_t want[N];
	struct qs_timers h;
	uint32_t o;

	for (int round = 0; round < POP_ROUNDS; round++) {
		int n = 1 + (int)(test_rng() % N);

		TEST_CONTEXT("round %d, %d timers", round, n);
		init_owners(owners, in_heap, N);
		qs_timers_init(&h, slots, N);
		for (int i = 0; i < n; i++) {
			uint64_t r = test_rng();

			owners[i].timer.expiry = r % 5 == 0 ? r % 8 :
						 r % 17 == 0 ? UINT64_MAX : r;
			want[i] = owners[i].timer.expiry;
			CHECK_EQ(qs_timers_update(&h, &owners[i].timer), 0);
			in_heap[i] = 1;
		}
		qsort(want, (size_t)n, sizeof(want[0]), cmp_u64);
		for (int k = 0; k < n; k++) {
			struct qs_timer *t = qs_timers_first(&h);

			CHECK(t != NULL);
			if (t == NULL)
				break;
			CHECK(t->expiry == want[k]);
			qs_timers_remove(&h, t);
			o = qs_container_of(t, struct owner, timer)->id;
			CHECK(o < N);
			if (o < N)
				in_heap[o] = 0;
		}
		CHECK(qs_timers_first(&h) == NULL);
		CHECK_EQ(check_heap(&h, owners, in_heap, N), 0);
	}
	TEST_CONTEXT_CLEAR();
}

/* Random updates (new and queued timers, expiry up or down), removes (of
 * queued and idle timers) and pops, checked after every operation. The
 * heap holds half as many slots as there are owners, so it often fills up. */
static void
test_random_against_model(void)
{
	enum { CAP = N_OWNERS / 2 };
	static struct owner owners[N_OWNERS];
	static struct qs_timer *slots[CAP];
	static int in_heap[N_OWNERS];
	struct qs_timers h;
	unsigned int full_refusals = 0, bad = 0;

	init_owners(owners, in_heap, N_OWNERS);
	qs_timers_init(&h, slots, CAP);
	for (int op = 0; op < RANDOM_OPS && bad == 0; op++) {
		uint64_t r = test_rng();
		int o = (int)(r % N_OWNERS);
		struct qs_timer *t = &owners[o].timer;
		uint32_t len = h.len;

		switch ((r >> 8) % 8) {
		case 0: case 1: case 2: case 3: case 4: /* set expiry, update */
			TEST_CONTEXT("op %d: update owner %d", op, o);
			t->expiry = (r >> 16) % 4 == 0 ? (r >> 20) % 16 :
				    (r >> 20) % 1000000;
			if (in_heap[o] || len < CAP) {
				CHECK_EQ(qs_timers_update(&h, t), 0);
				CHECK_EQ(h.len, len + !in_heap[o]);
				in_heap[o] = 1;
			} else {
				CHECK_EQ(qs_timers_update(&h, t), -1);
				CHECK_EQ(h.len, len);
				full_refusals++;
			}
			break;
		case 5: case 6: /* remove, queued or not */
			TEST_CONTEXT("op %d: remove owner %d", op, o);
			qs_timers_remove(&h, t);
			CHECK_EQ(h.len, len - in_heap[o]);
			in_heap[o] = 0;
			break;
		default: /* pop the soonest */
			TEST_CONTEXT("op %d: pop", op);
			t = qs_timers_first(&h);
			if (t == NULL) {
				CHECK_EQ(len, 0);
				break;
			}
			o = (int)qs_container_of(t, struct owner, timer)->id;
			CHECK(o >= 0 && o < N_OWNERS);
			if (o < 0 || o >= N_OWNERS) {
				bad++;
				break;
			}
			CHECK(in_heap[o]);
			qs_timers_remove(&h, t);
			in_heap[o] = 0;
			break;
		}
		bad += check_heap(&h, owners, in_heap, N_OWNERS);
	}
	TEST_CONTEXT("after %d random operations", RANDOM_OPS);
	CHECK_EQ(bad, 0);
	CHECK(full_refusals > 0); /* the full case was exercised */
	for (int i = 0; i < N_OWNERS; i++)
		CHECK(owners[i].canary == (0x5a5a5a5a5a5a5a5aull ^ (uint64_t)i));
	TEST_CONTEXT_CLEAR();
}

int
main(void)
{
	test_rng_state = 0x9e3779b97f4a7c15ull;
	test_init_and_empty();
	test_container_of();
	test_update_moves_up_and_down();
	test_remove_middle_moves_last_up();
	test_full();
	test_equal_expiries();
	test_pop_order();
	test_random_against_model();
	return test_done("test_timers");
}
