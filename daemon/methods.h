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
/* Records when the daemon started, for daemon_info's uptime; new devices are
 * accepted until methods_shutdown. */
void methods_init(void);

#endif
