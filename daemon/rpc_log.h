/* The request log lines of the JSON-RPC layer: how many each peer (uid,
 * pid) and all peers together may have printed per interval; the rest are
 * counted, and reported with the next line that passes. */
#ifndef UBLKD_RPC_LOG_H
#define UBLKD_RPC_LOG_H

#include <stdbool.h>

#include "daemon/control.h"
#include "common/log.h"

/* Sets how many request log lines are printed per interval seconds: burst
 * from one peer (uid and pid), all from every peer together; the rest are
 * counted and reported as suppressed. By default 20 and 200 per 10 s.
 * Forgets what was counted. */
void rpc_log_set_limit(double interval, unsigned int burst, unsigned int all);
/* True if a request log line at level from peer may be printed now: the
 * level is on and neither the peer nor all peers together are over their
 * limit. Logs how many were suppressed before one that passes. */
bool rpc_log_allow(const struct control_peer *peer, enum log_level level);

#endif
