/* Ports: one RX and one TX queue per worker lcore on every port, RSS over
 * IP and UDP ports where the PMD has it, offloads where it has them, not
 * promiscuous: our MAC, broadcast and the solicited-node groups of our IPv6
 * addresses. */
#ifndef QS_PORT_H
#define QS_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "base/qs_config.h"
#include "base/qs_limits.h"
#include "net/qs_udp.h"

struct qs_port {
	uint16_t port_id;
	uint16_t nb_queues;
	struct qs_tx_caps caps;
	bool rss;
	bool hw_rx_udp_cksum;           /* the PMD flags UDP checksums on RX */
	bool hw_rx_ip_cksum;            /* and IPv4 header checksums */
	uint16_t mtu;
	char driver[32];
	/* `show port stats`: the counters at the last show, for the rates
	 * since then (testpmd's throughput lines); control plane only */
	uint64_t shown_tsc, shown_ipackets, shown_opackets, shown_ibytes, shown_obytes;
};

/* The largest UDP payload a datagram can carry into the port and still fit
 * one mbuf of pool (multi-segment frames are dropped on RX): what a QUIC
 * endpoint tells its peer in max_udp_payload_size. Counted for IPv6, the
 * larger header. */
uint16_t qs_port_max_udp_payload(const struct qs_port *p,
				 struct rte_mempool *pool);

/* Configures and starts every probed port with n_queues queue pairs, and
 * has it receive the multicast groups the addresses of l need. */
int qs_port_init_all(struct qs_port *ports, uint16_t *n_ports,
		     uint16_t n_queues, uint32_t rx_desc, uint32_t tx_desc,
		     struct rte_mempool *pool, const struct qs_listen *l);
void qs_port_stop_all(struct qs_port *ports, uint16_t n_ports);

void qs_port_info_show(const struct qs_port *p, FILE *out);
/* The NIC counters, and the packet and bit rates since the last show. */
void qs_port_stats_show(struct qs_port *p, FILE *out);
void qs_port_stats_clear(const struct qs_port *p);

#endif
