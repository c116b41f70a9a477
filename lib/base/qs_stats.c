#include <string.h>

#include "base/qs_stats.h"

const char *const qs_counter_names[QS_CNT_MAX] = {
#define QS_COUNTER_NAME(name) #name,
	QS_COUNTERS(QS_COUNTER_NAME)
#undef QS_COUNTER_NAME
};

#define N_WORDS (sizeof(struct qs_stats) / sizeof(uint64_t))

static const uint64_t *
words(const struct qs_stats *s)
{
	return (const uint64_t *)s;
}

uint64_t
qs_stats_get(const struct qs_stats *s, enum qs_counter_id id)
{
	return __atomic_load_n(&words(s)[id], __ATOMIC_RELAXED);
}

void
qs_stats_snapshot(const struct qs_stats *s, struct qs_stats *out)
{
	uint64_t *o = (uint64_t *)out;

	for (size_t i = 0; i < N_WORDS; i++)
		o[i] = __atomic_load_n(&words(s)[i], __ATOMIC_RELAXED);
}

void
qs_stats_add(struct qs_stats *out, const struct qs_stats *s)
{
	uint64_t *o = (uint64_t *)out;

	for (size_t i = 0; i < N_WORDS; i++)
		o[i] += words(s)[i];
}

void
qs_stats_sub(struct qs_stats *out, const struct qs_stats *a,
	     const struct qs_stats *b)
{
	uint64_t *o = (uint64_t *)out;

	for (size_t i = 0; i < N_WORDS; i++)
		o[i] = words(a)[i] - words(b)[i];
}
