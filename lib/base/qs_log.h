/* Log types: quicsteer.port, .dataplane, .lcore, .endpoint, .app.
 * `set log quicsteer.* debug` (CLI) or --log-level=quicsteer.*:debug (EAL). */
#ifndef QS_LOG_H
#define QS_LOG_H

#include <rte_log.h>

extern int qs_logtype_port;
extern int qs_logtype_dataplane;
extern int qs_logtype_lcore;
extern int qs_logtype_endpoint;
extern int qs_logtype_app;

#define RTE_LOGTYPE_QS_PORT qs_logtype_port
#define RTE_LOGTYPE_QS_DP qs_logtype_dataplane
#define RTE_LOGTYPE_QS_LCORE qs_logtype_lcore
#define RTE_LOGTYPE_QS_EP qs_logtype_endpoint
#define RTE_LOGTYPE_QS_APP qs_logtype_app

#endif
