#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cfgfile.h>
#include <rte_common.h>

#include "base/qs_config.h"

enum key_kind {
	K_UINT, K_U64, K_PATH, K_NAME, K_CHOICE, K_ADDR, K_HEX,
};

/* K_CHOICE keys: the words accepted, in enum order */
static const char *const steer_words[] = {"cid", "off", NULL};
static const char *const layout_words[] = {"rtc", "pipeline", NULL};
static const char *const retry_words[] = {"off", "on", "auto", NULL};
static const char *const cc_words[] = {"cubic", "reno", "bbr", "bbr2", NULL};
static const char *const onoff_words[] = {"off", "on", NULL};
static const char *const access_format_words[] = {"text", "json", NULL};
static const char *const signer_words[] = {"openssl", "gnutls", NULL};

struct key_def {
	const char *section;
	const char *key;
	enum key_kind kind;
	size_t offset;
	uint64_t min, max;      /* K_UINT/K_U64 bounds; K_PATH/K_NAME: size;
				 * K_HEX: bytes */
	bool pow2;
	const char *const *words;  /* K_CHOICE */
	size_t set_flag;           /* K_HEX: offset of its bool "set" */
};

#define F(field) offsetof(struct qs_config, field)
#define SZ(field) sizeof(((struct qs_config *)0)->field)

static const struct key_def keys[] = {
	{"listen", "addr", K_ADDR, 0, 0, 0, false, NULL, 0},
	{"listen", "port", K_UINT, F(port), 1, 65535, false, NULL, 0},
	{"dataplane", "steer", K_CHOICE, F(steer), 0, 0, false, steer_words, 0},
	{"dataplane", "layout", K_CHOICE, F(layout), 0, 0, false, layout_words, 0},
	{"dataplane", "io_lcores", K_UINT, F(io_lcores), 1, 8, false, NULL, 0},
	{"dataplane", "cid_format", K_NAME, F(cid_format), 0, SZ(cid_format), false, NULL, 0},
	{"dataplane", "burst", K_UINT, F(burst), 1, QS_MAX_BURST, false, NULL, 0},
	{"dataplane", "inbox_size", K_UINT, F(inbox_size), 64, 65536, true, NULL, 0},
	{"dataplane", "inbox_drain", K_UINT, F(inbox_drain), 1, 4096, false, NULL, 0},
	{"dataplane", "rx_desc", K_UINT, F(rx_desc), 64, 16384, false, NULL, 0},
	{"dataplane", "tx_desc", K_UINT, F(tx_desc), 64, 16384, false, NULL, 0},
	{"dataplane", "mbufs", K_UINT, F(mbufs), 0, 16777216, false, NULL, 0},
	{"dataplane", "idle_sleep_us", K_UINT, F(idle_sleep_us), 0, 100000, false, NULL, 0},
	{"quic_lb", "config_id", K_UINT, F(quic_lb.config_id), 0, 6, false, NULL, 0},
	{"quic_lb", "server_id_len", K_UINT, F(quic_lb.server_id_len), 1, 15, false, NULL, 0},
	{"quic_lb", "nonce_len", K_UINT, F(quic_lb.nonce_len), 4, 18, false, NULL, 0},
	{"quic_lb", "node_id", K_U64, F(quic_lb.node_id), 0, UINT64_MAX, false, NULL, 0},
	{"quic_lb", "key", K_HEX, F(quic_lb.key), 0, QS_QUIC_LB_KEY_BYTES, false, NULL, F(quic_lb.key_set)},
	{"quic_lb", "self_describing_length", K_CHOICE, F(quic_lb.self_describing_length), 0, 0, false, onoff_words, 0},
	{"quic", "reset_secret", K_HEX, F(reset_secret), 0, QS_RESET_SECRET_LEN, false, NULL, F(reset_secret_set)},
	{"quic", "reset_rate", K_UINT, F(reset_rate), 0, 10000000, false, NULL, 0},
	{"quic", "reset_burst", K_UINT, F(reset_burst), 1, 10000000, false, NULL, 0},
	{"quic", "token_secret", K_HEX, F(token_secret), 0, QS_RESET_SECRET_LEN, false, NULL, F(token_secret_set)},
	{"quic", "retry", K_CHOICE, F(retry), 0, 0, false, retry_words, 0},
	{"quic", "retry_auto_unvalidated", K_UINT, F(retry_auto_unvalidated), 1, 1000000, false, NULL, 0},
	{"quic", "max_conns", K_UINT, F(max_conns), 1, 1000000, false, NULL, 0},
	{"quic", "idle_timeout_ms", K_UINT, F(idle_timeout_ms), 100, 3600000, false, NULL, 0},
	{"quic", "handshake_timeout_ms", K_UINT, F(handshake_timeout_ms), 100, 600000, false, NULL, 0},
	{"quic", "cc", K_CHOICE, F(cc), 0, 0, false, cc_words, 0},
	{"quic", "max_streams_bidi", K_UINT, F(max_streams_bidi), 1, 10000, false, NULL, 0},
	{"quic", "max_stream_data", K_UINT, F(max_stream_data), 1024, 1u << 30, false, NULL, 0},
	{"quic", "max_data", K_UINT, F(max_data), 1024, 1u << 30, false, NULL, 0},
	{"quic", "stream_resets_max", K_UINT, F(stream_resets_max), 1, 1000000, false, NULL, 0},
	{"quic", "shutdown_timeout_ms", K_UINT, F(shutdown_timeout_ms), 0, 600000, false, NULL, 0},
	{"tls", "cert", K_PATH, F(cert), 0, SZ(cert), false, NULL, 0},
	{"tls", "key", K_PATH, F(key), 0, SZ(key), false, NULL, 0},
	{"tls", "ticket_key", K_HEX, F(ticket_key), 0, QS_TICKET_KEY_LEN, false, NULL, F(ticket_key_set)},
	{"tls", "signer", K_CHOICE, F(signer), 0, 0, false, signer_words, 0},
	{"http", "docroot", K_PATH, F(docroot), 0, SZ(docroot), false, NULL, 0},
	{"http", "docroot_max_mb", K_UINT, F(docroot_max_mb), 1, 65536, false, NULL, 0},
	{"http", "bytes_max", K_U64, F(bytes_max), 0, UINT64_C(1) << 40, false, NULL, 0},
	{"http", "max_field_section_size", K_UINT, F(max_field_section_size), 1024, 1u << 20, false, NULL, 0},
	{"log", "access_log", K_PATH, F(access_log), 0, SZ(access_log), false, NULL, 0},
	{"log", "access_format", K_CHOICE, F(access_format), 0, 0, false, access_format_words, 0},
	{"log", "access_ring", K_UINT, F(access_ring), 16, 1u << 20, true, NULL, 0},
	{"debug", "qlog_dir", K_PATH, F(qlog_dir), 0, SZ(qlog_dir), false, NULL, 0},
	{"debug", "qlog_sample", K_UINT, F(qlog_sample), 0, UINT32_MAX, false, NULL, 0},
	{"debug", "qlog_live", K_CHOICE, F(qlog_live), 0, 0, false, onoff_words, 0},
	{"debug", "qlog_ring", K_UINT, F(qlog_ring), 16, 1u << 20, true, NULL, 0},
};

/* what a reload may change: each is read where it is used (a new
 * connection, a request, a load of the store), never kept from start */
static const struct {
	const char *section, *key;
} reloadable[] = {
	{"quic", "retry"}, {"quic", "retry_auto_unvalidated"},
	{"quic", "idle_timeout_ms"}, {"quic", "handshake_timeout_ms"},
	{"quic", "cc"}, {"quic", "max_streams_bidi"},
	{"quic", "max_stream_data"}, {"quic", "max_data"},
	{"quic", "stream_resets_max"},
	{"tls", "cert"}, {"tls", "key"}, {"tls", "signer"},
	{"http", "docroot"}, {"http", "docroot_max_mb"}, {"http", "bytes_max"},
	{"http", "max_field_section_size"},
	{"debug", "qlog_sample"}, {"debug", "qlog_live"},
};

/* keys that are gone, and what to write instead */
static const struct {
	const char *section, *old, *why;
} renamed[] = {
	{"quic", "retry_auto_rate",
	 "replaced by retry_auto_unvalidated (Retry once that many handshakes "
	 "per worker have an unproven address, not by a rate)"},
};

void
qs_config_defaults(struct qs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 443;
	cfg->listen.port_be = htons(443);
	cfg->steer = QS_STEER_MODE_CID;
	cfg->layout = QS_LAYOUT_RTC;
	cfg->io_lcores = 1;
	strcpy(cfg->cid_format, "nibble");
	cfg->quic_lb.server_id_len = 2;
	cfg->quic_lb.nonce_len = 8;
	cfg->quic_lb.self_describing_length = 1;
	cfg->burst = 32;
	cfg->inbox_size = 1024;
	cfg->inbox_drain = 64;
	cfg->rx_desc = 1024;
	cfg->tx_desc = 1024;
	cfg->idle_sleep_us = 100;
	cfg->reset_rate = 10000;
	cfg->reset_burst = 1000;
	cfg->retry = QS_RETRY_AUTO;
	cfg->retry_auto_unvalidated = 128;
	cfg->max_conns = 4096;
	cfg->idle_timeout_ms = 30000;
	cfg->handshake_timeout_ms = 10000;
	cfg->cc = QS_CC_CUBIC;
	cfg->max_streams_bidi = 100;
	cfg->max_stream_data = 256 * 1024;
	cfg->max_data = 1024 * 1024;
	cfg->shutdown_timeout_ms = 5000;
	cfg->stream_resets_max = 200;
	cfg->docroot_max_mb = 256;
	cfg->bytes_max = UINT64_C(1) << 30;
	cfg->max_field_section_size = 16384;
	strcpy(cfg->access_log, "off");
	cfg->access_format = QS_ACCESS_TEXT;
	cfg->access_ring = 4096;
	strcpy(cfg->qlog_dir, "off");
	cfg->qlog_sample = 1;
	cfg->qlog_ring = 4096;
}

void
qs_config_clear_addrs(struct qs_config *cfg)
{
	cfg->listen.n_v4 = 0;
	cfg->listen.n_v6 = 0;
}

static int
add_addr(struct qs_config *cfg, const char *value, char *err, size_t errlen)
{
	struct qs_listen *l = &cfg->listen;
	uint8_t buf[16];

	if (l->n_v4 + l->n_v6 >= QS_MAX_ADDRS) {
		snprintf(err, errlen, "more than %d addresses", QS_MAX_ADDRS);
		return -1;
	}
	if (inet_pton(AF_INET, value, buf) == 1) {
		memcpy(&l->v4[l->n_v4++], buf, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, value, buf) == 1) {
		if (buf[0] == 0xff) {
			snprintf(err, errlen, "'%s' is a multicast address", value);
			return -1;
		}
		memcpy(l->v6[l->n_v6++], buf, 16);
		return 0;
	}
	snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", value);
	return -1;
}

static int
parse_uint(const char *value, const struct key_def *d, uint64_t *out,
	   char *err, size_t errlen)
{
	const char *digits = value;
	unsigned long long v;
	int base = 10;
	char *end;

	/* decimal, or hex with 0x: a leading 0 is not octal ("010" is 10),
	 * and no sign or space is taken */
	if (value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) {
		base = 16;
		digits = value + 2;
	}
	if (digits[0] == '\0')
		goto bad;
	for (const char *p = digits; *p != '\0'; p++)
		if (base == 16 ? !isxdigit((unsigned char)*p)
			       : !isdigit((unsigned char)*p))
			goto bad;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno != 0 || *end != '\0')
		goto bad;
	if (v < d->min || v > d->max) {
		snprintf(err, errlen, "%s is out of range %" PRIu64 "..%" PRIu64,
			 value, d->min, d->max);
		return -1;
	}
	if (d->pow2 && !rte_is_power_of_2((uint32_t)v)) {
		snprintf(err, errlen, "%s is not a power of 2", value);
		return -1;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a number", value);
	return -1;
}

static int
parse_hex(const char *value, uint8_t *out, size_t n, char *err, size_t errlen)
{
	if (strlen(value) != 2 * n)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(value + 2 * i, "%2x", &b) != 1 ||
		    !strchr("0123456789abcdefABCDEF", value[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", value[2 * i + 1]))
			goto bad;
		out[i] = (uint8_t)b;
	}
	return 0;
bad:
	snprintf(err, errlen, "expected %zu hex digits", 2 * n);
	return -1;
}

int
qs_config_set(struct qs_config *cfg, const char *section, const char *key,
	      const char *value, char *err, size_t errlen)
{
	const struct key_def *d = NULL;
	char *base = (char *)cfg;
	bool section_known = false;

	for (size_t i = 0; i < RTE_DIM(keys); i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(keys[i].key, key) == 0) {
			d = &keys[i];
			break;
		}
	}
	if (!section_known) {
		snprintf(err, errlen, "unknown section");
		return -1;
	}
	if (d == NULL) {
		for (size_t i = 0; i < RTE_DIM(renamed); i++)
			if (strcmp(renamed[i].section, section) == 0 &&
			    strcmp(renamed[i].old, key) == 0) {
				snprintf(err, errlen, "unknown key: %s",
					 renamed[i].why);
				return -1;
			}
		snprintf(err, errlen, "unknown key");
		return -1;
	}

	switch (d->kind) {
	case K_UINT:
	case K_U64: {
		uint64_t v;

		if (parse_uint(value, d, &v, err, errlen) < 0)
			return -1;
		if (d->offset == F(port)) {
			cfg->port = (uint16_t)v;
			cfg->listen.port_be = htons((uint16_t)v);
		} else if (d->kind == K_U64) {
			*(uint64_t *)(base + d->offset) = v;
		} else {
			*(uint32_t *)(base + d->offset) = (uint32_t)v;
		}
		return 0;
	}
	case K_PATH:
	case K_NAME:
		if (value[0] == '\0' || strlen(value) >= d->max) {
			snprintf(err, errlen, "value is empty or too long");
			return -1;
		}
		strcpy(base + d->offset, value);
		return 0;
	case K_CHOICE:
		for (int i = 0; d->words[i] != NULL; i++) {
			if (strcmp(value, d->words[i]) == 0) {
				*(int *)(base + d->offset) = i;
				return 0;
			}
		}
		{
			char list[128] = "";

			for (int i = 0; d->words[i] != NULL; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list),
					 "%s%s", i ? ", " : "", d->words[i]);
			snprintf(err, errlen, "'%s' is not one of: %s", value, list);
		}
		return -1;
	case K_ADDR:
		return add_addr(cfg, value, err, errlen);
	case K_HEX:
		/* empty: not set (a random secret, a plaintext CID) */
		if (value[0] == '\0') {
			memset(base + d->offset, 0, d->max);
			*(bool *)(base + d->set_flag) = false;
			return 0;
		}
		if (parse_hex(value, (uint8_t *)base + d->offset, d->max, err,
			      errlen) < 0)
			return -1;
		*(bool *)(base + d->set_flag) = true;
		return 0;
	}
	return -1;
}

/* DPDK 22.11's cfgfile skips a line that has no '=': a typo such as
 * "port 8443" would leave the default in force. Reject it here. */
static int
check_lines(const char *path, char *err, size_t errlen)
{
	char line[CFG_NAME_LEN + CFG_VALUE_LEN + 16];
	char section[CFG_NAME_LEN] = "";
	FILE *f = fopen(path, "r");
	int n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strspn(line, " \t");

		n++;
		p[strcspn(p, "\r\n")] = '\0';
		/* judge what cfgfile parses: the line before its comment (a ';'
		 * not escaped as "\;") */
		for (char *c = strchr(p, ';'); c != NULL; c = strchr(c + 1, ';'))
			if (c == p || c[-1] != '\\') {
				*c = '\0';
				break;
			}
		if (*p == '[') {
			snprintf(section, sizeof(section), "%.*s",
				 (int)strcspn(p + 1, "]"), p + 1);
			continue;
		}
		if (p[strspn(p, " \t")] == '\0' || strchr(p, '=') != NULL)
			continue;
		snprintf(err, errlen,
			 "%s: [%s] line %d: '%s' is neither [section] nor key = value",
			 path, section, n, p);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int
qs_config_load(struct qs_config *cfg, const char *path, char *err,
	       size_t errlen)
{
	struct rte_cfgfile *file;
	char msg[QS_ERR_LEN];
	int n_sections, rc = -1;
	char (*names)[CFG_NAME_LEN] = NULL;
	char **name_ptrs = NULL;

	if (check_lines(path, err, errlen) != 0)
		return -1;
	/* empty values reach qs_config_set, which names the key */
	file = rte_cfgfile_load(path, CFG_FLAG_EMPTY_VALUES);
	if (file == NULL) {
		snprintf(err, errlen,
			 "%s: not a valid INI file (a line is neither [section] "
			 "nor key = value; see the CFGFILE message above)", path);
		return -1;
	}
	snprintf(cfg->file, sizeof(cfg->file), "%s", path);

	n_sections = rte_cfgfile_num_sections(file, NULL, 0);
	names = calloc(RTE_MAX(n_sections, 1), sizeof(*names));
	name_ptrs = calloc(RTE_MAX(n_sections, 1), sizeof(*name_ptrs));
	if (names == NULL || name_ptrs == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (int i = 0; i < n_sections; i++)
		name_ptrs[i] = names[i];
	rte_cfgfile_sections(file, name_ptrs, n_sections);

	for (int s = 0; s < n_sections; s++) {
		int n = rte_cfgfile_section_num_entries_by_index(file, names[s],
								  s);
		struct rte_cfgfile_entry entries[n > 0 ? n : 1];
		char section[CFG_NAME_LEN];

		if (n < 0) {
			snprintf(err, errlen, "%s: [%s]: unreadable section", path,
				 names[s]);
			goto out;
		}
		snprintf(section, sizeof(section), "%s", names[s]);
		rte_cfgfile_section_entries_by_index(file, s, section, entries, n);
		for (int e = 0; e < n; e++) {
			if (qs_config_set(cfg, section, entries[e].name,
					  entries[e].value, msg, sizeof(msg)) < 0) {
				snprintf(err, errlen, "%s: [%s] %s: %s", path,
					 section, entries[e].name, msg);
				goto out;
			}
		}
		if (n == 0) {
			bool known = false;

			for (size_t i = 0; i < RTE_DIM(keys); i++)
				known |= strcmp(keys[i].section, section) == 0;
			if (!known) {
				snprintf(err, errlen, "%s: [%s]: unknown section",
					 path, section);
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(names);
	free(name_ptrs);
	rte_cfgfile_close(file);
	return rc;
}

static int
check_readable(const char *what, const char *path, bool dir, char *err,
	       size_t errlen)
{
	struct stat st;

	if (path[0] == '\0')
		return 0;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (dir != S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s '%s': %s", what, path,
			 dir ? "not a directory" : "is a directory, not a file");
		return -1;
	}
	if (access(path, R_OK | (dir ? X_OK : 0)) != 0) {
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A directory this process can create files in. */
static int
check_writable_dir(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(ENOTDIR));
		return -1;
	}
	if (access(path, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

int
qs_config_validate(const struct qs_config *cfg, char *err, size_t errlen)
{
	if (cfg->listen.n_v4 + cfg->listen.n_v6 == 0) {
		snprintf(err, errlen,
			 "no listen address: set [listen] addr or --addr");
		return -1;
	}
	if ((cfg->cert[0] == '\0') != (cfg->key[0] == '\0')) {
		snprintf(err, errlen, "[tls] cert and key must be given together");
		return -1;
	}
	if (check_readable("[tls] cert", cfg->cert, false, err, errlen) < 0 ||
	    check_readable("[tls] key", cfg->key, false, err, errlen) < 0 ||
	    check_readable("[http] docroot", cfg->docroot, true, err, errlen) < 0)
		return -1;
	if (qs_config_qlog_on(cfg) &&
	    check_writable_dir("[debug] qlog_dir", cfg->qlog_dir, err, errlen) < 0)
		return -1;
	if (cfg->qlog_live && !qs_config_qlog_on(cfg)) {
		snprintf(err, errlen, "[debug] qlog_live = on needs a qlog_dir "
			 "to write to");
		return -1;
	}
	if (qs_config_qlog_on(cfg) && cfg->qlog_sample == 0 && !cfg->qlog_live) {
		snprintf(err, errlen, "[debug] qlog_sample = 0 with qlog_live = "
			 "off: no connection would get qlog (set qlog_dir = off, "
			 "or qlog_live = on to choose them with set qlog on)");
		return -1;
	}
	return 0;
}

static bool
key_reloadable(const struct key_def *d)
{
	for (size_t i = 0; i < RTE_DIM(reloadable); i++)
		if (strcmp(reloadable[i].section, d->section) == 0 &&
		    strcmp(reloadable[i].key, d->key) == 0)
			return true;
	return false;
}

static bool
key_differs(const struct key_def *d, const struct qs_config *a,
	    const struct qs_config *b)
{
	const char *pa = (const char *)a + d->offset;
	const char *pb = (const char *)b + d->offset;

	switch (d->kind) {
	case K_UINT:
		if (d->offset == F(port))
			return a->port != b->port;
		return *(const uint32_t *)pa != *(const uint32_t *)pb;
	case K_U64:
		return *(const uint64_t *)pa != *(const uint64_t *)pb;
	case K_PATH:
	case K_NAME:
		return strcmp(pa, pb) != 0;
	case K_CHOICE:
		return *(const int *)pa != *(const int *)pb;
	case K_ADDR:
		return a->listen.n_v4 != b->listen.n_v4 ||
		       a->listen.n_v6 != b->listen.n_v6 ||
		       memcmp(a->listen.v4, b->listen.v4,
			      a->listen.n_v4 * sizeof(a->listen.v4[0])) != 0 ||
		       memcmp(a->listen.v6, b->listen.v6,
			      a->listen.n_v6 * sizeof(a->listen.v6[0])) != 0;
	case K_HEX:
		return *(const bool *)((const char *)a + d->set_flag) !=
			       *(const bool *)((const char *)b + d->set_flag) ||
		       memcmp(pa, pb, d->max) != 0;
	}
	return true;
}

unsigned int
qs_config_fixed_changes(const struct qs_config *cur,
			const struct qs_config *next, char *names,
			size_t names_len)
{
	unsigned int n = 0;
	size_t used = 0;

	if (names_len > 0)
		names[0] = '\0';
	for (size_t i = 0; i < RTE_DIM(keys); i++) {
		const struct key_def *d = &keys[i];
		int w;

		if (key_reloadable(d) || !key_differs(d, cur, next))
			continue;
		n++;
		if (used >= names_len)
			continue;
		w = snprintf(names + used, names_len - used, "%s[%s] %s",
			     n > 1 ? ", " : "", d->section, d->key);
		used += w > 0 ? (size_t)w : 0;
	}
	return n;
}

void
qs_config_dump(const struct qs_config *cfg, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];

	fprintf(out, "# effective configuration%s%s\n",
		cfg->file[0] ? " from " : "", cfg->file);
	fprintf(out, "[listen]\n");
	for (unsigned int i = 0; i < cfg->listen.n_v4; i++)
		fprintf(out, "addr = %s\n",
			inet_ntop(AF_INET, &cfg->listen.v4[i], buf, sizeof(buf)));
	for (unsigned int i = 0; i < cfg->listen.n_v6; i++)
		fprintf(out, "addr = %s\n",
			inet_ntop(AF_INET6, cfg->listen.v6[i], buf, sizeof(buf)));
	fprintf(out, "port = %u\n", cfg->port);
	fprintf(out, "\n[dataplane]\nsteer = %s\nlayout = %s\nio_lcores = %u\n"
		"cid_format = %s\n", steer_words[cfg->steer],
		layout_words[cfg->layout], cfg->io_lcores, cfg->cid_format);
	fprintf(out, "burst = %u\ninbox_size = %u\ninbox_drain = %u\n",
		cfg->burst, cfg->inbox_size, cfg->inbox_drain);
	fprintf(out, "rx_desc = %u\ntx_desc = %u\nmbufs = %u\nidle_sleep_us = %u\n",
		cfg->rx_desc, cfg->tx_desc, cfg->mbufs, cfg->idle_sleep_us);
	fprintf(out, "\n[quic_lb]\nconfig_id = %u\nserver_id_len = %u\nnonce_len = %u\n"
		"node_id = %" PRIu64 "\nkey = %s\nself_describing_length = %s\n",
		cfg->quic_lb.config_id, cfg->quic_lb.server_id_len,
		cfg->quic_lb.nonce_len, cfg->quic_lb.node_id,
		cfg->quic_lb.key_set ? "(set)" : "(none: plaintext)",
		onoff_words[cfg->quic_lb.self_describing_length]);
	fprintf(out, "\n[quic]\nreset_secret = %s\nreset_rate = %u\nreset_burst = %u\n",
		cfg->reset_secret_set ? "(set)" : "(random)", cfg->reset_rate,
		cfg->reset_burst);
	fprintf(out, "token_secret = %s\nretry = %s\nretry_auto_unvalidated = %u\n",
		cfg->token_secret_set ? "(set)" : "(random)",
		retry_words[cfg->retry], cfg->retry_auto_unvalidated);
	fprintf(out, "max_conns = %u\nidle_timeout_ms = %u\nhandshake_timeout_ms = %u\n",
		cfg->max_conns, cfg->idle_timeout_ms, cfg->handshake_timeout_ms);
	fprintf(out, "cc = %s\nmax_streams_bidi = %u\nmax_stream_data = %u\n"
		"max_data = %u\nshutdown_timeout_ms = %u\nstream_resets_max = %u\n",
		cc_words[cfg->cc],
		cfg->max_streams_bidi, cfg->max_stream_data, cfg->max_data,
		cfg->shutdown_timeout_ms, cfg->stream_resets_max);
	fprintf(out, "\n[tls]\ncert = %s\nkey = %s\nticket_key = %s\nsigner = %s\n",
		cfg->cert, cfg->key, cfg->ticket_key_set ? "(set)" : "(random)",
		signer_words[cfg->signer]);
	fprintf(out, "\n[http]\ndocroot = %s\ndocroot_max_mb = %u\nbytes_max = %" PRIu64 "\n"
		"max_field_section_size = %u\n", cfg->docroot, cfg->docroot_max_mb,
		cfg->bytes_max, cfg->max_field_section_size);
	fprintf(out, "\n[log]\naccess_log = %s\naccess_format = %s\naccess_ring = %u\n",
		qs_config_access_log_on(cfg) ? cfg->access_log : "off",
		access_format_words[cfg->access_format], cfg->access_ring);
	fprintf(out, "\n[debug]\nqlog_dir = %s\nqlog_sample = %u\n"
		"qlog_live = %s\nqlog_ring = %u\n",
		qs_config_qlog_on(cfg) ? cfg->qlog_dir : "off", cfg->qlog_sample,
		onoff_words[cfg->qlog_live], cfg->qlog_ring);
}
