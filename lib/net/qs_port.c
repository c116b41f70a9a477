#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memzone.h>
#include <rte_mempool.h>

#include "base/qs_log.h"
#include "net/qs_classify.h"
#include "net/qs_port.h"

#define LINK_WAIT_MS 3000
#define LINK_POLL_MS 100

/* net_af_xdp (DPDK 22.11) registers its RX pool with the kernel as the
 * UMEM, zero-copy: populated_size * object size bytes from the pool's
 * first chunk. That is the whole pool only when the objects lie back to
 * back, and DPDK's pools keep objects off page boundaries (without
 * hugepages one 2.3 KiB mbuf per 4 KiB page): the mbufs beyond the UMEM
 * come back from the kernel as invalid descriptors (tx_invalid_descs in
 * XDP_STATISTICS), leak, and the port stops sending after some 9,000
 * packets. Its ports get an RX pool of their own whose objects are one
 * page each, so they tile pages of any size with no gap and none crosses a
 * page (zero-copy NICs reject a buffer across pages that are not
 * contiguous). DPDK 24.07 maps the pool's real range instead. */
#define XDP_DRIVER "net_af_xdp"
#define XDP_POOL_NAME "qs_xdp_%u"
#define XDP_MEM_NAME "qs_xdp_%u_mem"
/* buffers the PMD keeps per queue in its fill ring, and at most as many
 * sent and not yet taken back from its completion ring
 * (XSK_RING_CONS__DEFAULT_NUM_DESCS) */
#define XDP_RING_BUFS 2048

static void
log_link(uint16_t port_id)
{
	struct rte_eth_link link;
	char text[RTE_ETH_LINK_MAX_STR_LEN];

	memset(&link, 0, sizeof(link));
	for (int waited = 0; waited < LINK_WAIT_MS; waited += LINK_POLL_MS) {
		if (rte_eth_link_get_nowait(port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			break;
		rte_delay_ms(LINK_POLL_MS);
	}
	rte_eth_link_to_str(text, sizeof(text), &link);
	RTE_LOG(INFO, QS_PORT, "port %u: %s\n", port_id, text);
}

/* What the port receives besides our unicast MAC and broadcast: the
 * solicited-node groups of our IPv6 addresses (neighbour solicitations), by
 * the PMD's multicast filter, else by allmulticast; then promiscuous mode
 * off. A PMD that passes every frame anyway (af_packet on a veth) is
 * covered by the destination MAC check in qs_net_classify. */
static void
port_filter(const struct qs_port *p, const struct qs_listen *l)
{
	struct rte_ether_addr groups[QS_MAX_ADDRS];
	uint32_t n = 0;
	int rc;

	for (unsigned int i = 0; i < l->n_v6; i++) {
		uint32_t j;

		qs_net_solicited_node_mac(l->v6[i], &groups[n]);
		for (j = 0; j < n; j++)
			if (rte_is_same_ether_addr(&groups[j], &groups[n]))
				break;
		if (j == n)
			n++;
	}
	if (n > 0) {
		rc = rte_eth_dev_set_mc_addr_list(p->port_id, groups, n);
		if (rc == 0) {
			RTE_LOG(INFO, QS_PORT,
				"port %u: %u solicited-node multicast groups "
				"in the MAC filter\n", p->port_id, n);
		} else if (rte_eth_allmulticast_enable(p->port_id) == 0) {
			RTE_LOG(INFO, QS_PORT,
				"port %u (%s): no multicast MAC filter (%s): "
				"allmulticast on\n", p->port_id, p->driver,
				rte_strerror(-rc));
		} else {
			/* af_packet: a veth passes every frame; a NIC under
			 * it filters groups its kernel did not join */
			for (uint32_t i = 0; i < n; i++)
				RTE_LOG(WARNING, QS_PORT,
					"port %u (%s): neither a multicast MAC "
					"filter nor allmulticast: neighbour "
					"solicitations to " RTE_ETHER_ADDR_PRT_FMT
					" arrive only if the interface passes "
					"them (a veth does; on a NIC under "
					"af_packet: ip maddr add "
					RTE_ETHER_ADDR_PRT_FMT " dev <iface>)\n",
					p->port_id, p->driver,
					RTE_ETHER_ADDR_BYTES(&groups[i]),
					RTE_ETHER_ADDR_BYTES(&groups[i]));
		}
	}
	rc = rte_eth_promiscuous_disable(p->port_id);
	if (rc != 0)
		RTE_LOG(WARNING, QS_PORT,
			"port %u (%s): cannot turn promiscuous mode off (%s): "
			"frames for other MACs are dropped by classification\n",
			p->port_id, p->driver, rte_strerror(-rc));
}

/* Every object of mp lies where the PMD expects it: inside populated_size
 * objects counted from the page of the first chunk. */
struct xdp_span {
	uintptr_t base, end;
	size_t page;
	uint32_t header, outside;
};

static void
xdp_span_check(struct rte_mempool *mp __rte_unused, void *arg, void *obj,
	       unsigned int idx __rte_unused)
{
	struct xdp_span *span = arg;
	uintptr_t start = (uintptr_t)obj - span->header;

	if (start < span->base || start + span->page > span->end)
		span->outside++;
}

static bool
xdp_pool_packed(struct rte_mempool *mp, uint32_t header, size_t page)
{
	struct rte_mempool_memhdr *first = STAILQ_FIRST(&mp->mem_list);
	struct xdp_span span = { .page = page, .header = header };

	if (first == NULL)
		return false;
	span.base = RTE_ALIGN_FLOOR((uintptr_t)first->addr, (uintptr_t)page);
	span.end = (uintptr_t)first->addr + (uintptr_t)mp->populated_size * page;
	rte_mempool_obj_iter(mp, xdp_span_check, &span);
	return span.outside == 0;
}

static void
xdp_mem_free(struct rte_mempool_memhdr *memhdr __rte_unused, void *mz)
{
	rte_memzone_free(mz);
}

/* Fills mp from one page-aligned memzone of n pages, one object each. */
static int
xdp_pool_populate(struct rte_mempool *mp, uint16_t port_id, uint32_t n,
		  size_t page, int socket)
{
	char name[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;
	int rc;

	snprintf(name, sizeof(name), XDP_MEM_NAME, port_id);
	mz = rte_memzone_reserve_aligned(name, (size_t)n * page, socket, 0, page);
	if (mz == NULL)
		return -rte_errno;
	rc = rte_mempool_populate_virt(mp, mz->addr, mz->len, page, xdp_mem_free,
				       (void *)(uintptr_t)mz);
	if (rc >= 0 && mp->populated_size == n)
		return 0;
	/* mp's chunks (and with the first the memzone) go with mp; a memzone
	 * no chunk took is freed here */
	if (rte_memzone_lookup(name) == mz && mp->nb_mem_chunks == 0)
		rte_memzone_free(mz);
	return rc < 0 ? rc : -ENOSPC;
}

/* The RX pool of a net_af_xdp port (see XDP_DRIVER): one-page mbufs, as
 * many as the shared pool has plus what the PMD keeps in its rings. It
 * lives until the process exits or the next start (mbufs from it may sit
 * in the dataplane's rings after the ports stop). */
static struct rte_mempool *
xdp_pool_create(uint16_t port_id, uint16_t n_queues,
		const struct rte_mempool *shared, int socket)
{
	const uint32_t flags = RTE_MEMPOOL_F_NO_SPREAD; /* no padding */
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct rte_pktmbuf_pool_private priv;
	struct rte_mempool_objsz sz;
	struct rte_mempool *mp;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint32_t n = shared->size + (uint32_t)n_queues * 2 * XDP_RING_BUFS;
	uint32_t elt;
	int rc;

	rte_mempool_calc_obj_size(0, flags, &sz);
	elt = (uint32_t)page - sz.header_size;
	if (rte_mempool_calc_obj_size(elt, flags, &sz) != page ||
	    elt - sizeof(struct rte_mbuf) > UINT16_MAX) {
		RTE_LOG(ERR, QS_PORT, "port %u (%s): no mbuf fits a %zu-byte page "
			"exactly\n", port_id, XDP_DRIVER, page);
		return NULL;
	}
	snprintf(name, sizeof(name), XDP_POOL_NAME, port_id);
	mp = rte_mempool_lookup(name);
	if (mp != NULL)                 /* an earlier start's */
		rte_mempool_free(mp);
	mp = rte_mempool_create_empty(name, n, elt, shared->cache_size,
				      sizeof(priv), socket, flags);
	if (mp == NULL) {
		RTE_LOG(ERR, QS_PORT, "port %u (%s): cannot create an RX pool of "
			"%u mbufs: %s (give EAL more memory with -m)\n", port_id,
			XDP_DRIVER, n, rte_strerror(rte_errno));
		return NULL;
	}
	memset(&priv, 0, sizeof(priv));
	priv.mbuf_data_room_size = (uint16_t)(elt - sizeof(struct rte_mbuf));
	rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc == 0) {
		rte_pktmbuf_pool_init(mp, &priv);
		rc = xdp_pool_populate(mp, port_id, n, page, socket);
	}
	if (rc < 0) {
		RTE_LOG(ERR, QS_PORT, "port %u (%s): cannot fill an RX pool of %u "
			"mbufs: %s (give EAL more memory with -m)\n", port_id,
			XDP_DRIVER, n, rte_strerror(-rc));
		rte_mempool_free(mp);
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	if (!xdp_pool_packed(mp, sz.header_size, page)) {
		RTE_LOG(ERR, QS_PORT, "port %u (%s): the RX pool came in %u pieces "
			"that are not one after another; the PMD maps it as one "
			"area (give EAL more memory with -m)\n", port_id,
			XDP_DRIVER, mp->nb_mem_chunks);
		rte_mempool_free(mp);
		return NULL;
	}
	RTE_LOG(INFO, QS_PORT, "port %u (%s): RX pool of %u one-page mbufs, "
		"its UMEM\n", port_id, XDP_DRIVER, n);
	return mp;
}

static int
port_init(struct qs_port *p, uint16_t port_id, uint16_t n_queues,
	  uint32_t rx_desc, uint32_t tx_desc, struct rte_mempool *pool,
	  const struct qs_listen *l)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_eth_txconf txconf;
	struct rte_mempool *rx_pool = pool;
	uint16_t nb_rxd = (uint16_t)rx_desc, nb_txd = (uint16_t)tx_desc;
	int rc, socket = rte_eth_dev_socket_id(port_id);

	memset(p, 0, sizeof(*p));
	memset(&conf, 0, sizeof(conf));
	p->port_id = port_id;
	p->nb_queues = n_queues;

	rc = rte_eth_dev_info_get(port_id, &info);
	if (rc != 0) {
		RTE_LOG(ERR, QS_PORT, "port %u: no device info: %s\n", port_id,
			rte_strerror(-rc));
		return rc;
	}
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	if (info.max_rx_queues < n_queues || info.max_tx_queues < n_queues) {
		RTE_LOG(ERR, QS_PORT,
			"port %u (%s): %u workers need %u queue pairs, the port has "
			"%u RX / %u TX (af_packet: set qpairs=%u in --vdev)\n",
			port_id, p->driver, n_queues, n_queues, info.max_rx_queues,
			info.max_tx_queues, n_queues);
		return -EINVAL;
	}
	if (strcmp(info.driver_name, "net_af_packet") == 0 &&
	    info.max_rx_queues > n_queues)
		RTE_LOG(WARNING, QS_PORT,
			"port %u: af_packet has %u queues but %u workers poll it: "
			"packets the kernel fans out to the others are lost\n",
			port_id, info.max_rx_queues, n_queues);

	conf.rx_adv_conf.rss_conf.rss_hf =
		(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	if (n_queues > 1 && conf.rx_adv_conf.rss_conf.rss_hf != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		p->rss = true;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		p->caps.hw_ip_cksum = true;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		p->caps.hw_udp_cksum = true;
	}
	/* checked on the owner (qs_net_udp_cksum_ok): the flags save it the
	 * sum where the PMD has them */
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		p->hw_rx_udp_cksum = true;
	}
	/* the IPv4 header's too: the RX fast path takes the PMD's verdict,
	 * where the owner would otherwise sum the header */
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
		p->hw_rx_ip_cksum = true;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	rc = rte_eth_dev_configure(port_id, n_queues, n_queues, &conf);
	if (rc != 0) {
		RTE_LOG(ERR, QS_PORT, "port %u: configure failed: %s\n", port_id,
			rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (rc != 0)
		return rc;
	if (strcmp(info.driver_name, XDP_DRIVER) == 0) {
		rx_pool = xdp_pool_create(port_id, n_queues, pool, socket);
		if (rx_pool == NULL)
			return -ENOMEM;
	}
	txconf = info.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < n_queues; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, nb_rxd, socket, NULL,
					    rx_pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port_id, q, nb_txd, socket,
						    &txconf);
		if (rc != 0) {
			RTE_LOG(ERR, QS_PORT, "port %u: queue %u setup failed: %s\n",
				port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_macaddr_get(port_id, &p->caps.mac);
	if (rc == 0)
		rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		RTE_LOG(ERR, QS_PORT, "port %u: start failed: %s\n", port_id,
			rte_strerror(-rc));
		return rc;
	}
	if (rte_eth_dev_get_mtu(port_id, &p->mtu) != 0)
		p->mtu = RTE_ETHER_MTU;
	port_filter(p, l);
	RTE_LOG(INFO, QS_PORT,
		"port %u (%s): " RTE_ETHER_ADDR_PRT_FMT ", %u queue pairs, rss %s, "
		"tx cksum ip %s udp %s, rx cksum ip %s udp %s\n", port_id,
		p->driver, RTE_ETHER_ADDR_BYTES(&p->caps.mac), n_queues,
		p->rss ? "on" : "off", p->caps.hw_ip_cksum ? "hw" : "sw",
		p->caps.hw_udp_cksum ? "hw" : "sw", p->hw_rx_ip_cksum ? "hw" : "sw",
		p->hw_rx_udp_cksum ? "hw" : "sw");
	log_link(port_id);
	return 0;
}

uint16_t
qs_port_max_udp_payload(const struct qs_port *p, struct rte_mempool *pool)
{
	uint32_t frame = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	uint32_t l3 = RTE_MIN((uint32_t)p->mtu, frame - RTE_ETHER_HDR_LEN);

	return (uint16_t)(l3 - sizeof(struct rte_ipv6_hdr) - sizeof(struct rte_udp_hdr));
}

int
qs_port_init_all(struct qs_port *ports, uint16_t *n_ports, uint16_t n_queues,
		 uint32_t rx_desc, uint32_t tx_desc, struct rte_mempool *pool,
		 const struct qs_listen *l)
{
	uint16_t port_id, n = 0;

	RTE_ETH_FOREACH_DEV(port_id) {
		if (n == QS_MAX_PORTS) {
			RTE_LOG(ERR, QS_PORT, "more than %d ports\n", QS_MAX_PORTS);
			return -E2BIG;
		}
		int rc = port_init(&ports[n], port_id, n_queues, rx_desc,
				   tx_desc, pool, l);
		n++;
		*n_ports = n;
		if (rc != 0)
			return rc;
	}
	*n_ports = n;
	if (n == 0) {
		RTE_LOG(ERR, QS_PORT,
			"no ports: give one with --vdev (e.g. "
			"net_af_packet0,iface=veth0,qpairs=4) or bind a NIC\n");
		return -ENODEV;
	}
	return 0;
}

void
qs_port_stop_all(struct qs_port *ports, uint16_t n_ports)
{
	for (uint16_t i = 0; i < n_ports; i++) {
		uint16_t id = ports[i].port_id;

		rte_eth_dev_stop(id);
		rte_eth_dev_close(id);
		RTE_LOG(INFO, QS_PORT, "port %u: stopped and closed\n", id);
	}
}

void
qs_port_info_show(const struct qs_port *p, FILE *out)
{
	struct rte_eth_link link;
	char text[RTE_ETH_LINK_MAX_STR_LEN] = "unknown";

	if (rte_eth_link_get_nowait(p->port_id, &link) == 0)
		rte_eth_link_to_str(text, sizeof(text), &link);
	fprintf(out,
		"port %u: driver %s, MAC " RTE_ETHER_ADDR_PRT_FMT "\n"
		"  %s\n  queue pairs %u, rss %s, tx checksum ip %s, udp %s, "
		"rx checksum udp %s\n",
		p->port_id, p->driver, RTE_ETHER_ADDR_BYTES(&p->caps.mac), text,
		p->nb_queues, p->rss ? "on" : "off",
		p->caps.hw_ip_cksum ? "offload" : "software",
		p->caps.hw_udp_cksum ? "offload" : "software",
		p->hw_rx_udp_cksum ? "offload" : "software");
}

void
qs_port_stats_show(struct qs_port *p, FILE *out)
{
	struct rte_eth_stats st;
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz(), span;

	if (rte_eth_stats_get(p->port_id, &st) != 0) {
		fprintf(out, "port %u: no stats\n", p->port_id);
		return;
	}
	fprintf(out,
		"port %u:\n"
		"  rx-packets %" PRIu64 "  rx-bytes %" PRIu64 "  rx-missed %" PRIu64
		"  rx-errors %" PRIu64 "  rx-nombuf %" PRIu64 "\n"
		"  tx-packets %" PRIu64 "  tx-bytes %" PRIu64 "  tx-errors %" PRIu64 "\n",
		p->port_id, st.ipackets, st.ibytes, st.imissed, st.ierrors,
		st.rx_nombuf, st.opackets, st.obytes, st.oerrors);
	/* the first show has no "last show": its rates are 0, as testpmd's;
	 * a clear in between makes a counter go back: 0 too */
	span = p->shown_tsc != 0 ? now - p->shown_tsc : 0;
#define RATE(cur, prev, scale) \
	(span != 0 && (cur) >= (prev) ? \
	 (uint64_t)((unsigned __int128)((cur) - (prev)) * (scale) * hz / span) : 0)
	fprintf(out,
		"  throughput since the last show:\n"
		"  Rx-pps %12" PRIu64 "  Rx-bps %14" PRIu64 "\n"
		"  Tx-pps %12" PRIu64 "  Tx-bps %14" PRIu64 "\n",
		RATE(st.ipackets, p->shown_ipackets, 1),
		RATE(st.ibytes, p->shown_ibytes, 8),
		RATE(st.opackets, p->shown_opackets, 1),
		RATE(st.obytes, p->shown_obytes, 8));
#undef RATE
	p->shown_tsc = now;
	p->shown_ipackets = st.ipackets;
	p->shown_opackets = st.opackets;
	p->shown_ibytes = st.ibytes;
	p->shown_obytes = st.obytes;
}

void
qs_port_stats_clear(const struct qs_port *p)
{
	rte_eth_stats_reset(p->port_id);
}
