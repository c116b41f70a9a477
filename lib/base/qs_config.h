/* Configuration: defaults, an INI file read with DPDK's cfgfile library,
 * command-line overrides, validation. Read-only once the dataplane starts. */
#ifndef QS_CONFIG_H
#define QS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>

#include "base/qs_limits.h"

#define QS_ERR_LEN 512
#define QS_RESET_SECRET_LEN 32

#define QS_TICKET_KEY_LEN 64      /* gnutls_session_ticket_key_generate size */

/* What we answer for: listen addresses and the UDP port, in network order. */
struct qs_listen {
	uint32_t v4[QS_MAX_ADDRS];
	uint8_t v6[QS_MAX_ADDRS][16];
	unsigned int n_v4;
	unsigned int n_v6;
	uint16_t port_be;
};

enum qs_steer_mode { QS_STEER_MODE_CID, QS_STEER_MODE_OFF };
enum qs_layout { QS_LAYOUT_RTC, QS_LAYOUT_PIPELINE };
enum qs_retry_mode { QS_RETRY_OFF, QS_RETRY_ON, QS_RETRY_AUTO };
enum qs_cc_algo { QS_CC_CUBIC, QS_CC_RENO, QS_CC_BBR, QS_CC_BBR2 };
/* who makes the handshake signature of an ECDSA key (others: GnuTLS) */
enum qs_tls_signer { QS_SIGNER_OPENSSL, QS_SIGNER_GNUTLS };

/* [quic_lb]: CIDs of draft-ietf-quic-load-balancers-21 (cid_format =
 * quic-lb); the server ID is node_id then the worker index (one byte) */
#define QS_QUIC_LB_KEY_BYTES 16
enum qs_access_format {
	QS_ACCESS_TEXT,                 /* a combined-log-like line */
	QS_ACCESS_JSON,                 /* one JSON object a line */
};

struct qs_quic_lb_settings {
	uint32_t config_id;             /* 0..6 */
	uint32_t server_id_len;         /* bytes: node id, then 1 of worker */
	uint32_t nonce_len;
	uint64_t node_id;               /* this node, unique in the fleet */
	uint8_t key[QS_QUIC_LB_KEY_BYTES];
	bool key_set;                   /* else plaintext */
	uint32_t self_describing_length; /* 0 off, 1 on */
};

struct qs_config {
	char file[PATH_MAX];            /* "" when no --config */

	/* [listen] */
	struct qs_listen listen;        /* addresses and port, network order */
	uint16_t port;

	/* [dataplane] */
	enum qs_steer_mode steer;
	enum qs_layout layout;
	uint32_t io_lcores;             /* pipeline: lcores that only do I/O */
	char cid_format[16];
	struct qs_quic_lb_settings quic_lb;
	uint32_t burst;
	uint32_t inbox_size;
	uint32_t inbox_drain;
	uint32_t rx_desc;
	uint32_t tx_desc;
	uint32_t mbufs;                 /* 0: sized from the rest */
	uint32_t idle_sleep_us;

	/* [quic] */
	uint8_t reset_secret[QS_RESET_SECRET_LEN];
	bool reset_secret_set;          /* else random at start */
	uint32_t reset_rate;            /* per lcore per second; 0: never */
	uint32_t reset_burst;
	uint8_t token_secret[QS_RESET_SECRET_LEN];
	bool token_secret_set;          /* else random at start */
	enum qs_retry_mode retry;
	uint32_t retry_auto_unvalidated; /* auto: Retry once this many
					  * handshakes per lcore have an
					  * unproven address */
	uint32_t max_conns;             /* per worker lcore */
	uint32_t idle_timeout_ms;
	uint32_t handshake_timeout_ms;
	enum qs_cc_algo cc;
	uint32_t max_streams_bidi;
	uint32_t max_stream_data;       /* receive window per stream */
	uint32_t max_data;              /* receive window per connection */
	uint32_t shutdown_timeout_ms;
	uint32_t stream_resets_max;     /* a client may reset per second on one
					 * connection; beyond: closed with
					 * H3_EXCESSIVE_LOAD (rapid reset) */

	/* [tls] */
	char cert[PATH_MAX];
	char key[PATH_MAX];
	uint8_t ticket_key[QS_TICKET_KEY_LEN];
	bool ticket_key_set;            /* else random at start */
	enum qs_tls_signer signer;

	/* [http] */
	char docroot[PATH_MAX];
	uint32_t docroot_max_mb;        /* content store cap */
	uint64_t bytes_max;             /* largest /bytes/N */
	uint32_t max_field_section_size; /* request header bytes (RFC 9114
					  * 4.2.2: name + value + 32 each) */

	/* [log] */
	char access_log[PATH_MAX];      /* "" or "off": no access log */
	enum qs_access_format access_format;
	uint32_t access_ring;           /* records per worker, a power of 2 */

	/* [debug] */
	char qlog_dir[PATH_MAX];        /* "" or "off": no qlog */
	uint32_t qlog_sample;           /* one connection in N gets qlog
					 * from its start (0: none) */
	uint32_t qlog_live;             /* 1: `set qlog on <cid>` can switch
					 * it on for a connection later */
	uint32_t qlog_ring;             /* records per worker, a power of 2 */
};

/* The access log is on (a path, not "off"). */
static inline bool
qs_config_access_log_on(const struct qs_config *cfg)
{
	return cfg->access_log[0] != '\0' && strcmp(cfg->access_log, "off") != 0;
}

/* qlog is on (a directory, not "off"). */
static inline bool
qs_config_qlog_on(const struct qs_config *cfg)
{
	return cfg->qlog_dir[0] != '\0' && strcmp(cfg->qlog_dir, "off") != 0;
}

void qs_config_defaults(struct qs_config *cfg);

/* Reads an INI file into cfg. On error returns -1 with err naming the file,
 * section, key and the problem. */
int qs_config_load(struct qs_config *cfg, const char *path, char *err,
		   size_t errlen);

/* Sets one key as the file would; used for command-line overrides too. */
int qs_config_set(struct qs_config *cfg, const char *section, const char *key,
		  const char *value, char *err, size_t errlen);

/* Forgets the listen addresses (an --addr on the command line replaces the
 * file's list rather than adding to it). */
void qs_config_clear_addrs(struct qs_config *cfg);

/* Checks what no single key can: at least one address, files readable,
 * the qlog directory writable. */
int qs_config_validate(const struct qs_config *cfg, char *err, size_t errlen);

/* The keys a reload cannot change (everything but what is read where it
 * is used: [tls] cert and key, [http], most of [quic], [debug]
 * qlog_sample) that differ between cur and next: how many, and their
 * names ("[listen] port, [dataplane] burst") in names, cut to fit. */
unsigned int qs_config_fixed_changes(const struct qs_config *cur,
				     const struct qs_config *next, char *names,
				     size_t names_len);

/* Writes the effective configuration in the file's own format. */
void qs_config_dump(const struct qs_config *cfg, FILE *out);

#endif
