/* The access log's line formatter (lib/http/qs_access_log.c): the
 * documented text and JSON lines for known records, and for records whose
 * method and path are random client bytes, a line that stays in its
 * bounds, holds only printable ASCII, ends in one newline, never lets a
 * quote or control byte through unescaped (a client cannot forge a line),
 * and, in JSON, escapes each byte so that it decodes back to the input. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "http/qs_access_log.h"
#include "qs_test.h"

#define LINE 4096
#define RANDOM_RECORDS 20000

static struct qs_access_record
known(void)
{
	struct qs_access_record r;

	memset(&r, 0, sizeof(r));
	r.end_ns = 1000000000ull * 10 + 123456789;   /* offset below: 2026 */
	r.duration_ns = 512000;
	r.body_bytes = 1024;
	r.status = 200;
	r.worker = 3;
	r.port = 52344;
	r.family = 4;
	inet_pton(AF_INET, "198.18.0.2", r.addr);
	r.cid_len = 4;
	memcpy(r.cid, "\x0a\x1b\x2c\x3d", 4);
	r.complete = true;
	memcpy(r.method, "GET", 4);
	r.path_len = 7;
	memcpy(r.path, "/1k.bin", 7);
	return r;
}

/* 2026-12-02 12:34:36 UTC, minus the record's 10 s */
#define OFFSET_NS ((int64_t)1796214876 * 1000000000 - 10 * 1000000000ll)

static void
known_lines(void)
{
	struct qs_access_record r = known();
	char line[LINE];
	size_t n;

	n = qs_access_format(&r, QS_ACCESS_TEXT, OFFSET_NS, line, sizeof(line));
	CHECK_EQ(n, strlen(line));
	CHECK(strcmp(line, "198.18.0.2 - - [02/Dec/2026:12:34:36.123 +0000] "
		     "\"GET /1k.bin HTTP/3\" 200 1024 port=52344 worker=3 "
		     "cid=0a1b2c3d duration_us=512 early_data=0 complete=1\n") == 0);

	n = qs_access_format(&r, QS_ACCESS_JSON, OFFSET_NS, line, sizeof(line));
	CHECK_EQ(n, strlen(line));
	CHECK(strcmp(line, "{\"time\":\"2026-12-02T12:34:36.123456Z\",\"client\":"
		     "\"198.18.0.2\",\"port\":52344,\"worker\":3,\"cid\":\"0a1b2c3d\","
		     "\"method\":\"GET\",\"path\":\"/1k.bin\",\"status\":200,"
		     "\"body_bytes\":1024,\"duration_us\":512,\"early_data\":false,"
		     "\"complete\":true}\n") == 0);

	/* IPv6, a quote and a control byte in the path, a path cut short */
	r.family = 6;
	inet_pton(AF_INET6, "2001:db8::2", r.addr);
	r.path_len = 6;
	memcpy(r.path, "/a\"b\x01" "c", 6);
	r.path_cut = true;
	qs_access_format(&r, QS_ACCESS_TEXT, OFFSET_NS, line, sizeof(line));
	CHECK(strncmp(line, "2001:db8::2 - - [", 17) == 0);
	CHECK(strstr(line, "\"GET /a\\x22b\\x01c... HTTP/3\"") != NULL);
	qs_access_format(&r, QS_ACCESS_JSON, OFFSET_NS, line, sizeof(line));
	CHECK(strstr(line, "\"path\":\"/a\\u0022b\\u0001c...\"") != NULL);

	/* a small buffer: cut, terminated, never overrun */
	memset(line, 'Z', sizeof(line));
	n = qs_access_format(&r, QS_ACCESS_JSON, OFFSET_NS, line, 32);
	CHECK(n < 32 && line[n] == '\0' && line[32] == 'Z');
}

/* JSON's \u00HH escapes decoded: the bytes the record held */
static size_t
json_unescape(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 5 < len + 1 && s[i + 1] == 'u') {
			char hex[3] = {s[i + 4], s[i + 5], 0};

			out[n++] = (char)strtoul(hex, NULL, 16);
			i += 5;
		} else {
			out[n++] = s[i];
		}
	}
	return n;
}

static void
random_lines(void)
{
	char line[LINE], decoded[LINE];

	for (int i = 0; i < RANDOM_RECORDS; i++) {
		struct qs_access_record r = known();
		enum qs_access_format fmt = i & 1 ? QS_ACCESS_JSON : QS_ACCESS_TEXT;
		const char *p, *end;
		size_t n, quotes = 0;

		TEST_CONTEXT("record %d", i);
		r.path_len = (uint16_t)(test_rng() % (QS_ACCESS_PATH_MAX + 1));
		for (uint16_t k = 0; k < r.path_len; k++)
			r.path[k] = (char)test_rng();
		for (size_t k = 0; k < sizeof(r.method); k++)
			r.method[k] = (char)test_rng();   /* maybe unterminated */
		r.path_cut = test_rng() & 1;
		r.status = (uint16_t)test_rng();
		n = qs_access_format(&r, fmt, OFFSET_NS, line, sizeof(line));
		CHECK(n > 0 && n < sizeof(line) && line[n - 1] == '\n');
		for (size_t k = 0; k + 1 < n; k++) {
			unsigned char ch = (unsigned char)line[k];

			if (ch < 0x20 || ch >= 0x7f) {
				CHECK(!"a byte outside printable ASCII");
				break;
			}
			quotes += ch == '"' && (k == 0 || line[k - 1] != '\\');
		}
		/* text: the request's two; JSON: 12 keys and 5 string values */
		CHECK_EQ(quotes, fmt == QS_ACCESS_JSON ? 34 : 2);
		if (fmt != QS_ACCESS_JSON)
			continue;
		p = strstr(line, "\"path\":\"");
		end = p != NULL ? strstr(p + 8, "\",\"status\"") : NULL;
		CHECK(p != NULL && end != NULL);
		if (p == NULL || end == NULL)
			continue;
		n = json_unescape(p + 8, (size_t)(end - p - 8), decoded);
		CHECK_EQ(n, r.path_len + (r.path_cut ? 3 : 0));
		CHECK(memcmp(decoded, r.path, r.path_len) == 0);
	}
	TEST_CONTEXT_CLEAR();
}

int
main(void)
{
	known_lines();
	random_lines();
	return test_done("access_log");
}
