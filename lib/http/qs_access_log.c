#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/qs_access_log.h"

/* A bounded appender: never writes past size, always NUL-terminated. */
struct out {
	char *buf;
	size_t size, len;
};

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->size - o->len ? (size_t)n : o->size - o->len - 1;
}

/* Client bytes as they may appear inside quotes: printable ASCII but the
 * quote and backslash as is, the rest escaped. */
static void
put_escaped(struct out *o, const char *s, size_t len, bool json)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			put(o, "%c", ch);
		else if (json)
			put(o, "\\u%04x", ch);
		else
			put(o, "\\x%02x", ch);
	}
}

static void
put_addr(struct out *o, const struct qs_access_record *r)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, r->addr, a, sizeof(a)) == NULL)
		strcpy(a, "-");
	put(o, "%s", a);
}

static void
put_cid(struct out *o, const struct qs_access_record *r)
{
	if (r->cid_len == 0)
		put(o, "-");
	for (uint8_t i = 0; i < r->cid_len && i < QS_ACCESS_CID_MAX; i++)
		put(o, "%02x", r->cid[i]);
}

static void
put_request_path(struct out *o, const struct qs_access_record *r, bool json)
{
	put_escaped(o, r->path, r->path_len < QS_ACCESS_PATH_MAX ? r->path_len
			: QS_ACCESS_PATH_MAX, json);
	if (r->path_cut)
		put(o, "...");
}

size_t
qs_access_format(const struct qs_access_record *r, enum qs_access_format format,
		 int64_t realtime_offset_ns, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	int64_t wall = (int64_t)r->end_ns + realtime_offset_ns;
	time_t secs = (time_t)(wall / 1000000000);
	long frac_ns = (long)(wall % 1000000000);
	size_t mlen = strnlen(r->method, sizeof(r->method));
	struct tm tm;
	char when[64];

	if (size == 0)
		return 0;
	buf[0] = '\0';
	gmtime_r(&secs, &tm);
	if (format == QS_ACCESS_JSON) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		put(&o, "{\"time\":\"%s.%06ldZ\",\"client\":\"", when, frac_ns / 1000);
		put_addr(&o, r);
		put(&o, "\",\"port\":%u,\"worker\":%u,\"cid\":\"", r->port, r->worker);
		put_cid(&o, r);
		put(&o, "\",\"method\":\"");
		put_escaped(&o, r->method, mlen, true);
		put(&o, "\",\"path\":\"");
		put_request_path(&o, r, true);
		put(&o, "\",\"status\":%u,\"body_bytes\":%" PRIu64 ",\"duration_us\":%" PRIu64
		    ",\"early_data\":%s,\"complete\":%s}\n", r->status, r->body_bytes,
		    r->duration_ns / 1000, r->early_data ? "true" : "false",
		    r->complete ? "true" : "false");
		return o.len;
	}
	strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S", &tm);
	put_addr(&o, r);
	put(&o, " - - [%s.%03ld +0000] \"", when, frac_ns / 1000000);
	put_escaped(&o, r->method, mlen, false);
	put(&o, " ");
	put_request_path(&o, r, false);
	put(&o, " HTTP/3\" %u %" PRIu64 " port=%u worker=%u cid=", r->status,
	    r->body_bytes, r->port, r->worker);
	put_cid(&o, r);
	put(&o, " duration_us=%" PRIu64 " early_data=%d complete=%d\n",
	    r->duration_ns / 1000, r->early_data, r->complete);
	return o.len;
}
