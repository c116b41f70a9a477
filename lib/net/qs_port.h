/* Ports: one RX and one TX queue per worker lcore on every port, RSS over
 * IP and UDP ports where the PMD has it, offloads where it has them. */
#ifndef QS_PORT_H
#define QS_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "base/qs_limits.h"
#include "net/qs_udp.h"

struct qs_port {
	uint16_t port_id;
	uint16_t nb_queues;
	struct qs_tx_caps caps;
	bool rss;
	char driver[32];
};

/* Configures and starts every probed port with n_queues queue pairs. */
int qs_port_init_all(struct qs_port *ports, uint16_t *n_ports,
		     uint16_t n_queues, uint32_t rx_desc, uint32_t tx_desc,
		     struct rte_mempool *pool);
void qs_port_stop_all(struct qs_port *ports, uint16_t n_ports);

void qs_port_info_show(const struct qs_port *p, FILE *out);
void qs_port_stats_show(const struct qs_port *p, FILE *out);
void qs_port_stats_clear(const struct qs_port *p);

#endif
