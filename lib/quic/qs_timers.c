#include "quic/qs_timers.h"

void
qs_timers_init(struct qs_timers *h, struct qs_timer **slots, uint32_t cap)
{
	h->slots = slots;
	h->len = 0;
	h->cap = cap;
}

static void
swap(struct qs_timers *h, uint32_t a, uint32_t b)
{
	struct qs_timer *t = h->slots[a];

	h->slots[a] = h->slots[b];
	h->slots[b] = t;
	h->slots[a]->heap_idx = a;
	h->slots[b]->heap_idx = b;
}

static void
fix(struct qs_timers *h, uint32_t i)
{
	while (i > 0 && h->slots[(i - 1) / 2]->expiry > h->slots[i]->expiry) {
		swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->len && h->slots[l]->expiry < h->slots[m]->expiry)
			m = l;
		if (r < h->len && h->slots[r]->expiry < h->slots[m]->expiry)
			m = r;
		if (m == i)
			return;
		swap(h, i, m);
		i = m;
	}
}

int
qs_timers_update(struct qs_timers *h, struct qs_timer *t)
{
	if (t->heap_idx == QS_TIMER_IDLE) {
		if (h->len == h->cap)
			return -1;
		t->heap_idx = h->len;
		h->slots[h->len++] = t;
	}
	fix(h, t->heap_idx);
	return 0;
}

void
qs_timers_remove(struct qs_timers *h, struct qs_timer *t)
{
	uint32_t i = t->heap_idx;

	if (i == QS_TIMER_IDLE)
		return;
	t->heap_idx = QS_TIMER_IDLE;
	if (i != --h->len) {
		h->slots[i] = h->slots[h->len];
		h->slots[i]->heap_idx = i;
		fix(h, i);
	}
}
