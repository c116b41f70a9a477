/* Configuration: defaults, an INI file read with DPDK's cfgfile library,
 * command-line overrides, validation. Read-only once the dataplane starts. */
#ifndef QS_CONFIG_H
#define QS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "qs_net.h"

#define QS_ERR_LEN 512
#define QS_RESET_SECRET_LEN 32

enum qs_steer_mode { QS_STEER_MODE_CID, QS_STEER_MODE_OFF };

struct qs_config {
	char file[PATH_MAX];            /* "" when no --config */

	/* [listen] */
	struct qs_listen listen;        /* addresses and port, network order */
	uint16_t port;

	/* [dataplane] */
	enum qs_steer_mode steer;
	char cid_format[16];
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

	/* [tls] */
	char cert[PATH_MAX];
	char key[PATH_MAX];

	/* [http] */
	char docroot[PATH_MAX];
};

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

/* Checks what no single key can: at least one address, files readable. */
int qs_config_validate(const struct qs_config *cfg, char *err, size_t errlen);

/* Writes the effective configuration in the file's own format. */
void qs_config_dump(const struct qs_config *cfg, FILE *out);

#endif
