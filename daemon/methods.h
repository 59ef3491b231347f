/* The JSON-RPC methods of ublkd. A method joins by a row in methods_table
 * (methods.c); main.c hands the table to rpc_init. */
#ifndef UBLKD_METHODS_H
#define UBLKD_METHODS_H

#include <stdbool.h>

#include "daemon/rpc.h"

/* Every method, ended by an entry whose name is NULL. */
extern const struct rpc_method methods_table[];

/* Makes new devices refused from now on (the daemon is stopping). */
void methods_shutdown(void);
/* Asks the daemon to stop: delete every device, or leave them to the next
 * daemon (keep_devices). Called after daemon_shutdown's reply is queued. */
typedef void (*methods_stop_fn)(bool keep_devices);

/* Records when the daemon started, for daemon_info's uptime, and how
 * daemon_shutdown stops it; new devices are accepted until
 * methods_shutdown. */
void methods_init(methods_stop_fn stop);

#endif
