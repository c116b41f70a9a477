/* Latency histograms and counter sums. */
#include <string.h>

#include "qsl_stats.h"

static unsigned int
log2_floor(uint64_t v)
{
	return 63u - (unsigned int)__builtin_clzll(v);
}

static unsigned int
bucket_of(uint64_t v)
{
	unsigned int e, b;

	if (v < QSL_HIST_LINEAR)
		return (unsigned int)v;
	e = log2_floor(v);	/* >= 6 */
	b = QSL_HIST_LINEAR + (e - 6) * QSL_HIST_SUB +
	    (unsigned int)((v >> (e - 5)) & (QSL_HIST_SUB - 1));
	return b < QSL_HIST_BUCKETS ? b : QSL_HIST_BUCKETS - 1;
}

/* the middle of bucket b */
static uint64_t
bucket_mid(unsigned int b)
{
	unsigned int e, sub;
	uint64_t lo, width;

	if (b < QSL_HIST_LINEAR)
		return b;
	e = (b - QSL_HIST_LINEAR) / QSL_HIST_SUB + 6;
	sub = (b - QSL_HIST_LINEAR) % QSL_HIST_SUB;
	width = 1ull << (e - 5);
	lo = (1ull << e) + sub * width;
	return lo + width / 2;
}

void
qsl_hist_init(struct qsl_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void
qsl_hist_add(struct qsl_hist *h, uint64_t v)
{
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->buckets[bucket_of(v)]++;
}

void
qsl_hist_merge(struct qsl_hist *dst, const struct qsl_hist *src)
{
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (unsigned int i = 0; i < QSL_HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

uint64_t
qsl_hist_quantile(const struct qsl_hist *h, double q)
{
	uint64_t rank, seen = 0, v;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	/* the smallest value with at least q of the samples at or below it */
	rank = (uint64_t)(q * (double)h->count + 0.5);
	if (rank == 0)
		rank = 1;
	for (unsigned int i = 0; i < QSL_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			v = bucket_mid(i);
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

void
qsl_stats_init(struct qsl_stats *s)
{
	memset(&s->c, 0, sizeof(s->c));
	qsl_hist_init(&s->ttfb);
	qsl_hist_init(&s->request);
	qsl_hist_init(&s->connect);
}

#define NCOUNTERS (sizeof(struct qsl_counters) / sizeof(uint64_t))

void
qsl_stats_merge(struct qsl_stats *dst, const struct qsl_stats *src)
{
	uint64_t *d = (uint64_t *)&dst->c;
	const uint64_t *s = (const uint64_t *)&src->c;

	for (size_t i = 0; i < NCOUNTERS; i++)
		d[i] += s[i];
	qsl_hist_merge(&dst->ttfb, &src->ttfb);
	qsl_hist_merge(&dst->request, &src->request);
	qsl_hist_merge(&dst->connect, &src->connect);
}

void
qsl_counters_load(struct qsl_counters *dst, const struct qsl_counters *src)
{
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;

	for (size_t i = 0; i < NCOUNTERS; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}
