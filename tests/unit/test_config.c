/* Configuration: every key's good values, every kind of bad value (with an
 * error naming the file, the section and the key when it comes from a
 * file), validation, and the example configuration shipped in config/.
 * Needs no EAL. Usage: test_config [path of config/quicsteer.ini] */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>

#include "base/qs_config.h"
#include "qs_test.h"

#define SECRET_HEX \
	"00112233445566778899aabbccddeeff" "FFEEDDCCBBAA99887766554433221100"

static char tmpdir[64];

/* Writes text to a file named name in the test's directory. */
static const char *
write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	return path;
}

static int
set(struct qs_config *cfg, const char *section, const char *key,
    const char *value, char *err)
{
	err[0] = '\0';
	return qs_config_set(cfg, section, key, value, err, QS_ERR_LEN);
}

static void
test_defaults(void)
{
	struct qs_config cfg;

	qs_config_defaults(&cfg);
	CHECK_EQ(cfg.port, 443);
	CHECK_EQ(cfg.listen.port_be, htons(443));
	CHECK_EQ(cfg.listen.n_v4 + cfg.listen.n_v6, 0);
	CHECK_EQ(cfg.steer, QS_STEER_MODE_CID);
	CHECK(strcmp(cfg.cid_format, "nibble") == 0);
	CHECK_EQ(cfg.burst, 32);
	CHECK_EQ(cfg.inbox_size, 1024);
	CHECK_EQ(cfg.reset_secret_set, false);
	/* address validation under load without the operator asking */
	CHECK_EQ(cfg.retry, QS_RETRY_AUTO);
	CHECK_EQ(cfg.retry_auto_unvalidated, 128);
	CHECK_EQ(cfg.signer, QS_SIGNER_OPENSSL);
	/* qlog is opt-in */
	CHECK_EQ(qs_config_qlog_on(&cfg), false);
	CHECK_EQ(cfg.qlog_sample, 1);
	CHECK_EQ(cfg.qlog_ring, 4096);
	CHECK(cfg.file[0] == '\0');
}

/* Good values, including each bound, through qs_config_set. */
static void
test_set_good_values(void)
{
	static const uint8_t secret[QS_RESET_SECRET_LEN] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
		0xbb, 0xcc, 0xdd, 0xee, 0xff, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa,
		0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
	static const struct {
		const char *section, *key, *value;
		size_t offset;
		uint32_t want;
	} uints[] = {
#define U(s, k, v, field, w) {s, k, v, offsetof(struct qs_config, field), w}
		U("dataplane", "burst", "1", burst, 1),
		U("dataplane", "burst", "64", burst, 64),
		/* a leading zero is decimal, not octal */
		U("dataplane", "burst", "010", burst, 10),
		U("dataplane", "inbox_size", "64", inbox_size, 64),
		U("dataplane", "inbox_size", "65536", inbox_size, 65536),
		U("dataplane", "inbox_size", "0x800", inbox_size, 2048),
		U("log", "access_ring", "16", access_ring, 16),
		U("log", "access_ring", "1048576", access_ring, 1048576),
		U("debug", "qlog_sample", "0", qlog_sample, 0),
		U("debug", "qlog_sample", "1", qlog_sample, 1),
		U("debug", "qlog_sample", "4294967295", qlog_sample, UINT32_MAX),
		U("debug", "qlog_ring", "16", qlog_ring, 16),
		U("debug", "qlog_ring", "1048576", qlog_ring, 1048576),
		U("dataplane", "inbox_drain", "1", inbox_drain, 1),
		U("dataplane", "inbox_drain", "4096", inbox_drain, 4096),
		U("dataplane", "rx_desc", "64", rx_desc, 64),
		U("dataplane", "rx_desc", "16384", rx_desc, 16384),
		U("dataplane", "tx_desc", "512", tx_desc, 512),
		U("dataplane", "mbufs", "0", mbufs, 0),
		U("dataplane", "mbufs", "16777216", mbufs, 16777216),
		U("dataplane", "idle_sleep_us", "0", idle_sleep_us, 0),
		U("dataplane", "idle_sleep_us", "100000", idle_sleep_us, 100000),
		U("quic", "reset_rate", "0", reset_rate, 0),
		U("quic", "reset_rate", "10000000", reset_rate, 10000000),
		U("quic", "reset_burst", "1", reset_burst, 1),
		U("quic", "reset_burst", "10000000", reset_burst, 10000000),
		U("quic", "retry_auto_unvalidated", "1", retry_auto_unvalidated, 1),
		U("quic", "retry_auto_unvalidated", "1000000", retry_auto_unvalidated, 1000000),
		U("quic", "max_conns", "1", max_conns, 1),
		U("quic", "max_conns", "1000000", max_conns, 1000000),
		U("quic", "idle_timeout_ms", "100", idle_timeout_ms, 100),
		U("quic", "idle_timeout_ms", "3600000", idle_timeout_ms, 3600000),
		U("quic", "handshake_timeout_ms", "100", handshake_timeout_ms, 100),
		U("quic", "handshake_timeout_ms", "600000", handshake_timeout_ms, 600000),
		U("quic", "max_streams_bidi", "1", max_streams_bidi, 1),
		U("quic", "max_streams_bidi", "10000", max_streams_bidi, 10000),
		U("quic", "max_stream_data", "1024", max_stream_data, 1024),
		U("quic", "max_stream_data", "1073741824", max_stream_data, 1u << 30),
		U("quic", "max_data", "1024", max_data, 1024),
		U("quic", "max_data", "1073741824", max_data, 1u << 30),
		U("quic", "shutdown_timeout_ms", "0", shutdown_timeout_ms, 0),
		U("quic", "shutdown_timeout_ms", "600000", shutdown_timeout_ms, 600000),
		U("http", "docroot_max_mb", "1", docroot_max_mb, 1),
		U("http", "docroot_max_mb", "65536", docroot_max_mb, 65536),
#undef U
	};
	struct qs_config cfg;
	char err[QS_ERR_LEN];
	uint8_t v6[16];

	qs_config_defaults(&cfg);
	for (size_t i = 0; i < RTE_DIM(uints); i++) {
		TEST_CONTEXT("[%s] %s = %s", uints[i].section, uints[i].key,
			     uints[i].value);
		CHECK_EQ(set(&cfg, uints[i].section, uints[i].key, uints[i].value,
			     err), 0);
		CHECK_EQ(*(uint32_t *)((char *)&cfg + uints[i].offset), uints[i].want);
	}
	TEST_CONTEXT_CLEAR();

	CHECK_EQ(set(&cfg, "listen", "port", "1", err), 0);
	CHECK_EQ(cfg.port, 1);
	CHECK_EQ(cfg.listen.port_be, htons(1));
	CHECK_EQ(set(&cfg, "listen", "port", "65535", err), 0);
	CHECK_EQ(cfg.port, 65535);
	CHECK_EQ(cfg.listen.port_be, htons(65535));

	CHECK_EQ(set(&cfg, "listen", "addr", "198.18.0.1", err), 0);
	CHECK_EQ(set(&cfg, "listen", "addr", "2001:db8::1", err), 0);
	CHECK_EQ(set(&cfg, "listen", "addr", "198.18.0.2", err), 0);
	CHECK_EQ(cfg.listen.n_v4, 2);
	CHECK_EQ(cfg.listen.n_v6, 1);
	CHECK_EQ(cfg.listen.v4[0], inet_addr("198.18.0.1"));
	CHECK_EQ(cfg.listen.v4[1], inet_addr("198.18.0.2"));
	inet_pton(AF_INET6, "2001:db8::1", v6);
	CHECK_MEM_EQ(cfg.listen.v6[0], v6, 16);

	CHECK_EQ(set(&cfg, "dataplane", "steer", "off", err), 0);
	CHECK_EQ(cfg.steer, QS_STEER_MODE_OFF);
	CHECK_EQ(set(&cfg, "dataplane", "steer", "cid", err), 0);
	CHECK_EQ(cfg.steer, QS_STEER_MODE_CID);
	CHECK_EQ(set(&cfg, "dataplane", "cid_format", "quic-lb", err), 0);
	CHECK(strcmp(cfg.cid_format, "quic-lb") == 0); /* the codec judges it */

	/* [quic_lb]: defaults, then every key */
	CHECK_EQ(cfg.quic_lb.server_id_len, 2);
	CHECK_EQ(cfg.quic_lb.nonce_len, 8);
	CHECK_EQ(cfg.quic_lb.self_describing_length, 1);
	CHECK_EQ(cfg.quic_lb.key_set, false);
	CHECK_EQ(set(&cfg, "quic_lb", "config_id", "6", err), 0);
	CHECK_EQ(cfg.quic_lb.config_id, 6);
	CHECK_EQ(set(&cfg, "quic_lb", "server_id_len", "3", err), 0);
	CHECK_EQ(set(&cfg, "quic_lb", "nonce_len", "12", err), 0);
	CHECK_EQ(set(&cfg, "quic_lb", "node_id", "0x1234", err), 0);
	CHECK_EQ(cfg.quic_lb.node_id, 0x1234);
	CHECK_EQ(set(&cfg, "quic_lb", "self_describing_length", "off", err), 0);
	CHECK_EQ(cfg.quic_lb.self_describing_length, 0);
	CHECK_EQ(set(&cfg, "quic_lb", "key", "000102030405060708090a0b0c0d0e0f",
		     err), 0);
	CHECK_EQ(cfg.quic_lb.key_set, true);
	CHECK_EQ(cfg.quic_lb.key[15], 0x0f);
	/* empty: plaintext again */
	CHECK_EQ(set(&cfg, "quic_lb", "key", "", err), 0);
	CHECK_EQ(cfg.quic_lb.key_set, false);

	CHECK_EQ(set(&cfg, "quic", "reset_secret", SECRET_HEX, err), 0);
	CHECK_EQ(cfg.reset_secret_set, true);
	CHECK_MEM_EQ(cfg.reset_secret, secret, sizeof(secret));
	CHECK_EQ(cfg.token_secret_set, false);
	CHECK_EQ(set(&cfg, "quic", "token_secret", SECRET_HEX, err), 0);
	CHECK_EQ(cfg.token_secret_set, true);
	CHECK_MEM_EQ(cfg.token_secret, secret, sizeof(secret));
	CHECK_EQ(cfg.ticket_key_set, false);
	CHECK_EQ(set(&cfg, "tls", "ticket_key", SECRET_HEX SECRET_HEX, err), 0);
	CHECK_EQ(cfg.ticket_key_set, true);
	CHECK_MEM_EQ(cfg.ticket_key, secret, sizeof(secret));
	CHECK_MEM_EQ(cfg.ticket_key + sizeof(secret), secret, sizeof(secret));

	static const struct {
		const char *section, *key, *value;
		size_t offset;
		int want;
	} choices[] = {
#define C(s, k, v, field, w) {s, k, v, offsetof(struct qs_config, field), w}
		C("quic", "retry", "on", retry, QS_RETRY_ON),
		C("quic", "retry", "auto", retry, QS_RETRY_AUTO),
		C("quic", "retry", "off", retry, QS_RETRY_OFF),
		C("quic", "cc", "reno", cc, QS_CC_RENO),
		C("quic", "cc", "bbr", cc, QS_CC_BBR),
		C("quic", "cc", "bbr2", cc, QS_CC_BBR2),
		C("quic", "cc", "cubic", cc, QS_CC_CUBIC),
		C("tls", "signer", "gnutls", signer, QS_SIGNER_GNUTLS),
		C("tls", "signer", "openssl", signer, QS_SIGNER_OPENSSL),
#undef C
	};
	for (size_t i = 0; i < RTE_DIM(choices); i++) {
		TEST_CONTEXT("[%s] %s = %s", choices[i].section, choices[i].key,
			     choices[i].value);
		CHECK_EQ(set(&cfg, choices[i].section, choices[i].key,
			     choices[i].value, err), 0);
		CHECK_EQ(*(int *)((char *)&cfg + choices[i].offset), choices[i].want);
	}
	TEST_CONTEXT_CLEAR();

	CHECK_EQ(set(&cfg, "http", "bytes_max", "0", err), 0);
	CHECK_EQ(cfg.bytes_max, 0);
	CHECK_EQ(set(&cfg, "http", "bytes_max", "1099511627776", err), 0);
	CHECK_EQ(cfg.bytes_max, 1ll << 40);

	CHECK_EQ(set(&cfg, "tls", "cert", "/etc/quicsteer/cert.pem", err), 0);
	CHECK(strcmp(cfg.cert, "/etc/quicsteer/cert.pem") == 0);
	CHECK_EQ(set(&cfg, "tls", "key", "/etc/quicsteer/key.pem", err), 0);
	CHECK(strcmp(cfg.key, "/etc/quicsteer/key.pem") == 0);
	CHECK_EQ(set(&cfg, "http", "docroot", "/srv/quicsteer", err), 0);
	CHECK(strcmp(cfg.docroot, "/srv/quicsteer") == 0);
	CHECK_EQ(set(&cfg, "debug", "qlog_dir", "/var/tmp/qlog", err), 0);
	CHECK(strcmp(cfg.qlog_dir, "/var/tmp/qlog") == 0);
	CHECK_EQ(qs_config_qlog_on(&cfg), true);
	CHECK_EQ(set(&cfg, "debug", "qlog_dir", "off", err), 0);
	CHECK_EQ(qs_config_qlog_on(&cfg), false);
}

struct bad_value {
	const char *section, *key, *value;
	const char *says;       /* part of the message */
};

static const struct bad_value bad_values[] = {
	{"listen", "port", "0", "out of range"},
	{"listen", "port", "65536", "out of range"},
	{"dataplane", "burst", "0", "out of range"},
	{"dataplane", "burst", "65", "out of range"},
	{"dataplane", "inbox_size", "32", "out of range"},
	{"dataplane", "inbox_size", "131072", "out of range"},
	{"dataplane", "rx_desc", "63", "out of range"},
	{"quic", "reset_burst", "0", "out of range"},
	{"dataplane", "burst", "abc", "not a number"},
	{"dataplane", "burst", "12x", "not a number"},
	{"dataplane", "burst", "-1", "not a number"},
	{"dataplane", "burst", "", "not a number"},
	{"dataplane", "burst", "+5", "not a number"},
	{"dataplane", "burst", "0x", "not a number"},
	{"dataplane", "burst", "0x1g", "not a number"},
	{"dataplane", "burst", "0100", "out of range"},  /* octal: 64 */
	{"dataplane", "mbufs", "99999999999999999999999", "not a number"},
	{"dataplane", "inbox_size", "100", "not a power of 2"},
	{"dataplane", "inbox_size", "1536", "not a power of 2"},
	{"log", "access_ring", "100", "not a power of 2"},
	{"log", "access_ring", "8", "out of range"},
	{"log", "access_format", "csv", "'csv' is not one of: text, json"},
	{"log", "access_log", "", "empty"},
	{"debug", "qlog_live", "yes", "'yes' is not one of: off, on"},
	{"debug", "qlog_sample", "4294967296", "out of range"},
	{"debug", "qlog_ring", "8", "out of range"},
	{"debug", "qlog_ring", "1000", "not a power of 2"},
	{"debug", "qlog_dir", "", "empty"},
	{"debug", "qlog", "on", "unknown key"},
	{"dataplane", "steer", "rss", "'rss' is not one of: cid, off"},
	{"dataplane", "steer", "", "not one of"},
	{"quic", "retry", "yes", "'yes' is not one of: off, on, auto"},
	{"quic", "cc", "vegas", "'vegas' is not one of: cubic, reno, bbr, bbr2"},
	{"tls", "signer", "nettle", "'nettle' is not one of: openssl, gnutls"},
	{"quic", "idle_timeout_ms", "99", "out of range"},
	{"quic", "max_stream_data", "1073741825", "out of range"},
	{"quic", "retry_auto_unvalidated", "0", "out of range"},
	{"quic", "retry_auto_unvalidated", "1000001", "out of range"},
	/* a key that is gone says what replaced it */
	{"quic", "retry_auto_rate", "1000", "replaced by retry_auto_unvalidated"},
	{"http", "bytes_max", "1099511627777", "out of range"},
	{"http", "docroot_max_mb", "0", "out of range"},
	{"quic", "token_secret", "00", "64 hex digits"},
	{"tls", "ticket_key", SECRET_HEX, "128 hex digits"},
	{"listen", "addr", "198.18.0.256", "'198.18.0.256'"},
	{"listen", "addr", "localhost", "not an IPv4 or IPv6 address"},
	{"listen", "addr", "ff02::1", "multicast"},
	{"listen", "addr", "ff05::1:3", "multicast"},
	{"quic", "reset_secret", "0011", "hex"},
	{"quic", "reset_secret", SECRET_HEX "00", "hex"},
	{"quic", "reset_secret",
	 "0g112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	 "hex"},
	{"quic", "reset_secret",
	 "+0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	 "hex"},
	{"dataplane", "cid_format", "a-name-over-16-bytes", "too long"},
	{"quic_lb", "config_id", "7", "0..6"},
	{"quic_lb", "server_id_len", "0", "1..15"},
	{"quic_lb", "server_id_len", "16", "1..15"},
	{"quic_lb", "nonce_len", "3", "4..18"},
	{"quic_lb", "key", "0011", "32 hex digits"},
	{"quic_lb", "self_describing_length", "yes", "off, on"},
	{"tls", "cert", "", "empty"},
	{"nosuch", "port", "1", "unknown section"},
	{"dataplane", "brust", "32", "unknown key"},
	{"listen", "burst", "32", "unknown key"},
};

/* Each bad value is refused with a message saying why, and changes
 * nothing the running configuration holds. */
static void
test_set_bad_values(void)
{
	for (size_t i = 0; i < RTE_DIM(bad_values); i++) {
		const struct bad_value *b = &bad_values[i];
		struct qs_config cfg, before;
		char err[QS_ERR_LEN];

		TEST_CONTEXT("[%s] %s = %s", b->section, b->key, b->value);
		qs_config_defaults(&cfg);
		memcpy(&before, &cfg, sizeof(cfg));
		CHECK_EQ(set(&cfg, b->section, b->key, b->value, err), -1);
		CHECK_CONTAINS(err, b->says);
		CHECK_MEM_EQ(&cfg, &before, sizeof(cfg));
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_too_many_addrs(void)
{
	struct qs_config cfg;
	char err[QS_ERR_LEN], addr[32];

	qs_config_defaults(&cfg);
	for (int i = 0; i < QS_MAX_ADDRS; i++) {
		snprintf(addr, sizeof(addr), i % 2 ? "198.18.0.%d" : "2001:db8::%d",
			 i + 1);
		CHECK_EQ(set(&cfg, "listen", "addr", addr, err), 0);
	}
	CHECK_EQ(set(&cfg, "listen", "addr", "198.18.1.1", err), -1);
	CHECK_CONTAINS(err, "more than 8");
	CHECK_EQ(cfg.listen.n_v4 + cfg.listen.n_v6, QS_MAX_ADDRS);

	/* an --addr on the command line replaces the list */
	qs_config_clear_addrs(&cfg);
	CHECK_EQ(cfg.listen.n_v4, 0);
	CHECK_EQ(cfg.listen.n_v6, 0);
	CHECK_EQ(set(&cfg, "listen", "addr", "198.18.1.1", err), 0);
	CHECK_EQ(cfg.listen.n_v4, 1);
	CHECK_EQ(cfg.listen.v4[0], inet_addr("198.18.1.1"));
	CHECK_EQ(cfg.listen.port_be, htons(443)); /* only the addresses go */
}

static void
test_load_good_file(void)
{
	struct qs_config cfg;
	char err[QS_ERR_LEN];
	const char *path = write_file("good.ini",
		"; comment\n"
		"[listen]\n"
		"addr = 198.18.0.1\n"
		"addr = 2001:db8::1\n"
		"addr=198.18.0.7\n"
		"port = 4433\n"
		"\n"
		"[dataplane]\n"
		"steer = off\n"
		"cid_format = nibble\n"
		"burst = 16\n"
		"inbox_size = 4096\n"
		"inbox_drain = 128\n"
		"rx_desc = 512\n"
		"tx_desc = 2048\n"
		"mbufs = 65536\n"
		"idle_sleep_us = 0\n"
		"[quic]\n"
		"reset_secret = " SECRET_HEX "\n"
		"reset_rate = 5\n"
		"reset_burst = 7\n"
		"token_secret = " SECRET_HEX "\n"
		"retry = auto\n"
		"retry_auto_unvalidated = 50\n"
		"max_conns = 10\n"
		"idle_timeout_ms = 1000\n"
		"handshake_timeout_ms = 2000\n"
		"cc = bbr\n"
		"max_streams_bidi = 3\n"
		"max_stream_data = 4096\n"
		"max_data = 8192\n"
		"shutdown_timeout_ms = 0\n"
		"[tls]\n"
		"cert = /c.pem\n"
		"key = /k.pem\n"
		"ticket_key = " SECRET_HEX SECRET_HEX "\n"
		"[http]\n"
		"docroot = /srv/www\n"
		"docroot_max_mb = 12\n"
		"bytes_max = 1099511627776\n"
		"[listen]\n"
		"addr = 198.18.0.8\n");

	qs_config_defaults(&cfg);
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), 0);
	CHECK(strcmp(cfg.file, path) == 0);
	CHECK_EQ(cfg.listen.n_v4, 3);
	CHECK_EQ(cfg.listen.n_v6, 1);
	CHECK_EQ(cfg.listen.v4[1], inet_addr("198.18.0.7"));
	CHECK_EQ(cfg.listen.v4[2], inet_addr("198.18.0.8"));
	CHECK_EQ(cfg.port, 4433);
	CHECK_EQ(cfg.listen.port_be, htons(4433));
	CHECK_EQ(cfg.steer, QS_STEER_MODE_OFF);
	CHECK_EQ(cfg.burst, 16);
	CHECK_EQ(cfg.inbox_size, 4096);
	CHECK_EQ(cfg.inbox_drain, 128);
	CHECK_EQ(cfg.rx_desc, 512);
	CHECK_EQ(cfg.tx_desc, 2048);
	CHECK_EQ(cfg.mbufs, 65536);
	CHECK_EQ(cfg.idle_sleep_us, 0);
	CHECK_EQ(cfg.reset_secret_set, true);
	CHECK_EQ(cfg.reset_secret[1], 0x11);
	CHECK_EQ(cfg.reset_rate, 5);
	CHECK_EQ(cfg.reset_burst, 7);
	CHECK(strcmp(cfg.cert, "/c.pem") == 0);
	CHECK(strcmp(cfg.key, "/k.pem") == 0);
	CHECK(strcmp(cfg.docroot, "/srv/www") == 0);
	CHECK_EQ(cfg.token_secret_set, true);
	CHECK_EQ(cfg.retry, QS_RETRY_AUTO);
	CHECK_EQ(cfg.retry_auto_unvalidated, 50);
	CHECK_EQ(cfg.max_conns, 10);
	CHECK_EQ(cfg.idle_timeout_ms, 1000);
	CHECK_EQ(cfg.handshake_timeout_ms, 2000);
	CHECK_EQ(cfg.cc, QS_CC_BBR);
	CHECK_EQ(cfg.max_streams_bidi, 3);
	CHECK_EQ(cfg.max_stream_data, 4096);
	CHECK_EQ(cfg.max_data, 8192);
	CHECK_EQ(cfg.shutdown_timeout_ms, 0);
	CHECK_EQ(cfg.ticket_key_set, true);
	CHECK_EQ(cfg.docroot_max_mb, 12);
	CHECK_EQ(cfg.bytes_max, 1ll << 40);

	/* an empty file changes nothing */
	qs_config_defaults(&cfg);
	path = write_file("empty.ini", "");
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), 0);
	CHECK_EQ(cfg.burst, 32);
}

/* A bad line in a file: the message names the file, [section] and key. */
static void
test_load_bad_files(void)
{
	char text[512], section[80], err[QS_ERR_LEN];
	struct qs_config cfg;
	const char *path;

	for (size_t i = 0; i < RTE_DIM(bad_values); i++) {
		const struct bad_value *b = &bad_values[i];

		if (b->value[0] == '\0')
			continue; /* the INI reader refuses it: see below */
		TEST_CONTEXT("file with [%s] %s = %s", b->section, b->key, b->value);
		snprintf(text, sizeof(text), "[listen]\nport = 443\n[%s]\n%s = %s\n",
			 b->section, b->key, b->value);
		path = write_file("bad.ini", text);
		qs_config_defaults(&cfg);
		err[0] = '\0';
		CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), -1);
		snprintf(section, sizeof(section), "[%s]", b->section);
		CHECK_CONTAINS(err, path);
		CHECK_CONTAINS(err, section);
		CHECK_CONTAINS(err, b->key);
		CHECK_CONTAINS(err, b->says);
	}
	TEST_CONTEXT_CLEAR();

	/* the ninth address in a file */
	path = write_file("addrs.ini",
		"[listen]\naddr = 198.18.0.1\naddr = 198.18.0.2\naddr = 198.18.0.3\n"
		"addr = 198.18.0.4\naddr = 198.18.0.5\naddr = 198.18.0.6\n"
		"addr = 198.18.0.7\naddr = 198.18.0.8\naddr = 198.18.0.9\n");
	qs_config_defaults(&cfg);
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, "[listen] addr");
	CHECK_CONTAINS(err, "more than 8");

	/* an unknown section with no keys at all */
	path = write_file("empty-section.ini", "[listen]\nport = 443\n[lisen]\n");
	qs_config_defaults(&cfg);
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, "[lisen]");
	CHECK_CONTAINS(err, "unknown section");

	/* a line that is neither [section] nor key = value: a typo must not
	 * make a setting vanish silently (DPDK's cfgfile skips such lines);
	 * the message names the file and quotes the line */
	static const char *const typos[] = {
		"[dataplane]\nburst 16\nrx_desc = 512\n",
		"[dataplane]\nrx_desc = 512\n  burst 16\t\r\n",
		/* an '=' in the comment does not make the line a key = value */
		"[dataplane]\nburst 16 ; was = 32\n",
	};
	for (size_t i = 0; i < RTE_DIM(typos); i++) {
		TEST_CONTEXT("syntax error %zu", i);
		path = write_file("syntax.ini", typos[i]);
		qs_config_defaults(&cfg);
		err[0] = '\0';
		CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, path);
		CHECK_CONTAINS(err, "burst 16");
	}
	TEST_CONTEXT_CLEAR();
	/* comments and blank lines are not typos */
	path = write_file("comments.ini", "; comment\n\n   \n[dataplane] ; burst\n"
			  "burst = 16 ; comment\n  ; burst 8\n");
	qs_config_defaults(&cfg);
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), 0);
	CHECK_EQ(cfg.burst, 16);

	/* an empty value (refused by the INI reader itself) */
	path = write_file("empty-value.ini", "[dataplane]\nburst =\n");
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, path);

	/* a key before any section */
	path = write_file("nosection.ini", "burst = 32\n");
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, path);

	snprintf(text, sizeof(text), "%s/no-such-file.ini", tmpdir);
	err[0] = '\0';
	CHECK_EQ(qs_config_load(&cfg, text, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, text);
	CHECK_CONTAINS(err, "No such file");
}

static void
test_validate(void)
{
	struct qs_config cfg;
	char err[QS_ERR_LEN], missing[128];
	const char *cert = write_file("cert.pem", "not really a certificate\n");

	snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
	qs_config_defaults(&cfg);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "no listen address");
	CHECK_CONTAINS(err, "[listen] addr");
	CHECK_CONTAINS(err, "--addr");

	CHECK_EQ(set(&cfg, "listen", "addr", "2001:db8::1", err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), 0);

	/* a certificate without its key, or the other way round */
	CHECK_EQ(set(&cfg, "tls", "cert", cert, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[tls] cert and key");
	qs_config_defaults(&cfg);
	CHECK_EQ(set(&cfg, "listen", "addr", "2001:db8::1", err), 0);
	CHECK_EQ(set(&cfg, "tls", "key", cert, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[tls] cert and key");

	CHECK_EQ(set(&cfg, "tls", "cert", missing, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[tls] cert");
	CHECK_CONTAINS(err, missing);
	CHECK_EQ(set(&cfg, "tls", "cert", cert, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), 0);
	CHECK_EQ(set(&cfg, "tls", "key", missing, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[tls] key");
	CHECK_EQ(set(&cfg, "tls", "key", cert, err), 0);
	CHECK_EQ(set(&cfg, "http", "docroot", missing, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[http] docroot");
	CHECK_EQ(set(&cfg, "http", "docroot", tmpdir, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), 0);

	/* permissions (root reads everything, so only as another user) */
	if (geteuid() != 0) {
		const char *locked = write_file("locked.pem", "x\n");

		chmod(locked, 0);
		CHECK_EQ(set(&cfg, "tls", "key", locked, err), 0);
		CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, "[tls] key");
	}

	/* [debug] qlog_dir: a directory it can write, or a message naming the
	 * section, key, path and errno */
	CHECK_EQ(set(&cfg, "tls", "key", cert, err), 0);
	CHECK_EQ(set(&cfg, "debug", "qlog_dir", tmpdir, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), 0);
	CHECK_EQ(set(&cfg, "debug", "qlog_dir", missing, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[debug] qlog_dir");
	CHECK_CONTAINS(err, missing);
	CHECK_CONTAINS(err, "No such file or directory");
	CHECK_EQ(set(&cfg, "debug", "qlog_dir", cert, err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[debug] qlog_dir");
	CHECK_CONTAINS(err, cert);
	CHECK_CONTAINS(err, "Not a directory");
	if (geteuid() != 0) {
		char ro[160];

		snprintf(ro, sizeof(ro), "%s/read-only", tmpdir);
		CHECK_EQ(mkdir(ro, 0555), 0);
		CHECK_EQ(set(&cfg, "debug", "qlog_dir", ro, err), 0);
		CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, "Permission denied");
	}
	/* qlog_live needs the directory; qlog_sample = 0 needs qlog_live */
	CHECK_EQ(set(&cfg, "debug", "qlog_dir", tmpdir, err), 0);
	CHECK_EQ(set(&cfg, "debug", "qlog_sample", "0", err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[debug] qlog_sample = 0 with qlog_live = off");
	CHECK_EQ(set(&cfg, "debug", "qlog_live", "on", err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), 0);
	CHECK_EQ(set(&cfg, "debug", "qlog_dir", "off", err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "[debug] qlog_live = on needs a qlog_dir");
	CHECK_EQ(set(&cfg, "debug", "qlog_live", "off", err), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), 0);

	qs_config_clear_addrs(&cfg);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "no listen address");
}

/* The commented example in config/ loads, and every value it sets is the
 * default, as its header promises ("the value shown is the default"). */
static void
test_example_config(const char *path)
{
	struct qs_config cfg, defaults;
	char err[QS_ERR_LEN];

	qs_config_defaults(&cfg);
	qs_config_defaults(&defaults);
	err[0] = '\0';
	CHECK_EQ(qs_config_load(&cfg, path, err, sizeof(err)), 0);
	CHECK_EQ(qs_config_validate(&cfg, err, sizeof(err)), 0);
	if (err[0] != '\0')
		fprintf(stderr, "%s\n", err);
	CHECK(cfg.listen.n_v4 + cfg.listen.n_v6 > 0);
	/* all but the addresses (required, so shown) and the file name */
	memcpy(&defaults.listen, &cfg.listen, sizeof(cfg.listen));
	memcpy(defaults.file, cfg.file, sizeof(cfg.file));
	CHECK_MEM_EQ(&cfg, &defaults, sizeof(cfg));
}

static void
test_dump(void)
{
	struct qs_config cfg;
	char err[QS_ERR_LEN], *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	qs_config_defaults(&cfg);
	CHECK_EQ(set(&cfg, "listen", "addr", "198.18.0.1", err), 0);
	CHECK_EQ(set(&cfg, "listen", "addr", "2001:db8::1", err), 0);
	CHECK_EQ(set(&cfg, "dataplane", "steer", "off", err), 0);
	CHECK_EQ(set(&cfg, "quic", "reset_secret", SECRET_HEX, err), 0);
	qs_config_dump(&cfg, out);
	fclose(out);
	CHECK_CONTAINS(text, "[listen]\naddr = 198.18.0.1\naddr = 2001:db8::1\n"
			     "port = 443\n");
	CHECK_CONTAINS(text, "steer = off\n");
	CHECK_CONTAINS(text, "burst = 32\n");
	CHECK_CONTAINS(text, "[debug]\nqlog_dir = off\nqlog_sample = 1\n"
			     "qlog_live = off\nqlog_ring = 4096\n");
	CHECK(text != NULL && strstr(text, "00112233") == NULL); /* no secret */
	free(text);
}

/* What a reload may change and what it must refuse, key by key: every
 * key of the file either is in the reloadable list or, changed alone, is
 * named in the refusal (secrets too, though `show config` hides them). */
static void
test_fixed_changes(void)
{
	static const struct {
		const char *section, *key, *value;
		bool reloadable;
	} cases[] = {
		{"listen", "addr", "198.18.0.9", false},
		{"listen", "port", "8443", false},
		{"dataplane", "steer", "off", false},
		{"dataplane", "layout", "pipeline", false},
		{"dataplane", "io_lcores", "2", false},
		{"dataplane", "cid_format", "quic-lb", false},
		{"dataplane", "burst", "16", false},
		{"dataplane", "inbox_size", "2048", false},
		{"dataplane", "inbox_drain", "32", false},
		{"dataplane", "rx_desc", "512", false},
		{"dataplane", "tx_desc", "512", false},
		{"dataplane", "mbufs", "9000", false},
		{"dataplane", "idle_sleep_us", "50", false},
		{"quic_lb", "config_id", "3", false},
		{"quic_lb", "server_id_len", "3", false},
		{"quic_lb", "nonce_len", "6", false},
		{"quic_lb", "node_id", "7", false},
		{"quic_lb", "key", "000102030405060708090a0b0c0d0e0f", false},
		{"quic_lb", "self_describing_length", "off", false},
		{"quic", "reset_secret", SECRET_HEX, false},
		{"quic", "reset_rate", "5", false},
		{"quic", "reset_burst", "5", false},
		{"quic", "token_secret", SECRET_HEX, false},
		{"quic", "max_conns", "77", false},
		{"quic", "shutdown_timeout_ms", "1000", false},
		{"tls", "ticket_key", SECRET_HEX SECRET_HEX, false},
		{"log", "access_log", "/tmp/x.log", false},
		{"log", "access_format", "json", false},
		{"log", "access_ring", "1024", false},
		{"debug", "qlog_dir", "/tmp", false},
		{"debug", "qlog_ring", "1024", false},
		{"quic", "retry", "on", true},
		{"quic", "retry_auto_unvalidated", "5", true},
		{"quic", "idle_timeout_ms", "5000", true},
		{"quic", "handshake_timeout_ms", "5000", true},
		{"quic", "cc", "bbr", true},
		{"quic", "max_streams_bidi", "7", true},
		{"quic", "max_stream_data", "4096", true},
		{"quic", "max_data", "8192", true},
		{"quic", "stream_resets_max", "9", true},
		{"tls", "cert", "/tmp/c.pem", true},
		{"tls", "key", "/tmp/k.pem", true},
		{"tls", "signer", "gnutls", true},
		{"http", "docroot", "/tmp", true},
		{"http", "docroot_max_mb", "3", true},
		{"http", "bytes_max", "1000", true},
		{"http", "max_field_section_size", "2048", true},
		{"debug", "qlog_sample", "10", true},
	};
	struct qs_config cur, next;
	char err[QS_ERR_LEN], names[QS_ERR_LEN], want[128], tiny[8];

	qs_config_defaults(&cur);
	CHECK_EQ(set(&cur, "listen", "addr", "198.18.0.1", err), 0);
	next = cur;
	CHECK_EQ(qs_config_fixed_changes(&cur, &next, names, sizeof(names)), 0);
	CHECK_EQ(names[0], '\0');
	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		TEST_CONTEXT("[%s] %s = %s", cases[i].section, cases[i].key,
			     cases[i].value);
		next = cur;
		if (strcmp(cases[i].key, "addr") == 0)
			qs_config_clear_addrs(&next);
		CHECK_EQ(set(&next, cases[i].section, cases[i].key,
			     cases[i].value, err), 0);
		CHECK_EQ(qs_config_fixed_changes(&cur, &next, names,
						 sizeof(names)),
			 cases[i].reloadable ? 0u : 1u);
		snprintf(want, sizeof(want), "[%s] %s", cases[i].section,
			 cases[i].key);
		if (!cases[i].reloadable)
			CHECK(strcmp(names, want) == 0);
	}
	TEST_CONTEXT_CLEAR();

	/* several: all named, in the file's order; a short buffer is cut */
	next = cur;
	CHECK_EQ(set(&next, "quic", "max_conns", "5", err), 0);
	CHECK_EQ(set(&next, "dataplane", "burst", "8", err), 0);
	CHECK_EQ(set(&next, "http", "bytes_max", "5", err), 0);
	CHECK_EQ(qs_config_fixed_changes(&cur, &next, names, sizeof(names)), 2);
	CHECK(strcmp(names, "[dataplane] burst, [quic] max_conns") == 0);
	memset(tiny, '#', sizeof(tiny));
	CHECK_EQ(qs_config_fixed_changes(&cur, &next, tiny, 6), 2);
	CHECK_EQ(strlen(tiny), 5);
	CHECK_EQ(tiny[6], '#');
	/* the same secret set again is no change; unsetting it is one */
	CHECK_EQ(set(&cur, "quic", "reset_secret", SECRET_HEX, err), 0);
	next = cur;
	CHECK_EQ(qs_config_fixed_changes(&cur, &next, names, sizeof(names)), 0);
	CHECK_EQ(set(&next, "quic", "reset_secret", "", err), 0);
	CHECK_EQ(qs_config_fixed_changes(&cur, &next, names, sizeof(names)), 1);
}

int
main(int argc, char **argv)
{
	char cmd[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/qs-test-config-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_defaults();
	test_set_good_values();
	test_set_bad_values();
	test_too_many_addrs();
	test_load_good_file();
	test_load_bad_files();
	test_validate();
	test_dump();
	test_fixed_changes();
	if (argc > 1)
		test_example_config(argv[1]);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_done("test_config");
}
