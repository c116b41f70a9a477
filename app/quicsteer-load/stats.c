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
	memset(s->closes, 0, sizeof(s->closes));
	s->n_closes = 0;
	s->closes_other = 0;
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
	for (uint32_t i = 0; i < src->n_closes; i++)
		qsl_stats_peer_close(dst, src->closes[i].app, src->closes[i].code,
				     src->closes[i].count);
	dst->closes_other += src->closes_other;
}

void
qsl_stats_peer_close(struct qsl_stats *s, bool app, uint64_t code, uint64_t n)
{
	for (uint32_t i = 0; i < s->n_closes; i++) {
		if (s->closes[i].app == app && s->closes[i].code == code) {
			s->closes[i].count += n;
			return;
		}
	}
	if (s->n_closes == QSL_PEER_CLOSES_MAX) {
		s->closes_other += n;
		return;
	}
	s->closes[s->n_closes++] = (struct qsl_peer_close){
		.code = code, .count = n, .app = app};
}

const char *
qsl_close_name(bool app, uint64_t code)
{
	/* RFC 9114 8.1 */
	static const char *const h3[] = {
		"H3_NO_ERROR", "H3_GENERAL_PROTOCOL_ERROR", "H3_INTERNAL_ERROR",
		"H3_STREAM_CREATION_ERROR", "H3_CLOSED_CRITICAL_STREAM",
		"H3_FRAME_UNEXPECTED", "H3_FRAME_ERROR", "H3_EXCESSIVE_LOAD",
		"H3_ID_ERROR", "H3_SETTINGS_ERROR", "H3_MISSING_SETTINGS",
		"H3_REQUEST_REJECTED", "H3_REQUEST_CANCELLED",
		"H3_REQUEST_INCOMPLETE", "H3_MESSAGE_ERROR", "H3_CONNECT_ERROR",
		"H3_VERSION_FALLBACK",
	};
	/* RFC 9000 20.1 */
	static const char *const quic[] = {
		"NO_ERROR", "INTERNAL_ERROR", "CONNECTION_REFUSED",
		"FLOW_CONTROL_ERROR", "STREAM_LIMIT_ERROR", "STREAM_STATE_ERROR",
		"FINAL_SIZE_ERROR", "FRAME_ENCODING_ERROR",
		"TRANSPORT_PARAMETER_ERROR", "CONNECTION_ID_LIMIT_ERROR",
		"PROTOCOL_VIOLATION", "INVALID_TOKEN", "APPLICATION_ERROR",
		"CRYPTO_BUFFER_EXCEEDED", "KEY_UPDATE_ERROR", "AEAD_LIMIT_REACHED",
		"NO_VIABLE_PATH",
	};

	if (app)
		return code >= 0x100 && code < 0x100 + sizeof(h3) / sizeof(h3[0])
			? h3[code - 0x100] : NULL;
	if (code < sizeof(quic) / sizeof(quic[0]))
		return quic[code];
	if (code >= 0x100 && code <= 0x1ff)
		return "CRYPTO_ERROR";
	return NULL;
}

void
qsl_counters_load(struct qsl_counters *dst, const struct qsl_counters *src)
{
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;

	for (size_t i = 0; i < NCOUNTERS; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}
