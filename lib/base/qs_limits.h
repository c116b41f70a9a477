/* Sizes fixed at build time: arrays on the fast path are sized by these, so
 * no per-packet code allocates. Raise them here and nowhere else. */
#ifndef QS_LIMITS_H
#define QS_LIMITS_H

#define QS_MAX_WORKERS 128     /* lcores that own connections (DPDK 22.11 has at most
                                * RTE_MAX_LCORE = 128 lcores) */
#define QS_MAX_IO_LCORES 8     /* pipeline layout: lcores that only do I/O */
#define QS_MAX_LCORES (QS_MAX_WORKERS + QS_MAX_IO_LCORES)
#define QS_MAX_PORTS 8         /* ethdev ports one dataplane drives */
#define QS_MAX_BURST 64        /* largest rx burst ([dataplane] burst) */
#define QS_MAX_ADDRS 8         /* [listen] addresses */

#endif
