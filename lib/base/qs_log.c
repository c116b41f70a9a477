#include "base/qs_log.h"

RTE_LOG_REGISTER(qs_logtype_port, quicsteer.port, INFO);
RTE_LOG_REGISTER(qs_logtype_dataplane, quicsteer.dataplane, INFO);
RTE_LOG_REGISTER(qs_logtype_lcore, quicsteer.lcore, INFO);
RTE_LOG_REGISTER(qs_logtype_endpoint, quicsteer.endpoint, INFO);
RTE_LOG_REGISTER(qs_logtype_app, quicsteer.app, INFO);
