/* DPDK telemetry endpoints /quicsteer/stats, /quicsteer/lcores and
 * /quicsteer/steering: counters since start (never cleared, so rates
 * computed from them never go backwards). */
#ifndef QS_TELEMETRY_H
#define QS_TELEMETRY_H

#include "dataplane/qs_dataplane.h"

int qs_telemetry_register(struct qs_dataplane *dp);

#endif
