/* Answers built in place over the received frame: ARP, ICMP echo, ND, and
 * stateless UDP replies. Each returns 0 when m is ready to transmit. */
#ifndef QS_REPLY_H
#define QS_REPLY_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "net/qs_classify.h"
#include "net/qs_udp.h"

int qs_net_arp_reply(struct rte_mbuf *m, const struct qs_tx_caps *caps);
int qs_net_icmp4_echo_reply(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
			    const struct qs_tx_caps *caps);
int qs_net_icmp6_echo_reply(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
			    const struct qs_tx_caps *caps);
int qs_net_nd_advert(struct rte_mbuf *m, const struct qs_pkt_meta *meta,
		     const struct qs_tx_caps *caps);

/* Turns a classified QUIC datagram into a reply to its sender carrying
 * payload_len bytes the caller has written at the UDP payload. */
int qs_net_udp_reply(struct rte_mbuf *m, uint16_t payload_len,
		     const struct qs_tx_caps *caps);

#endif
