/* The JSON-RPC methods of ublkd. */
#ifndef UBLKD_METHODS_H
#define UBLKD_METHODS_H

#include <stdbool.h>

/* Makes new devices refused from now on (the daemon is stopping). */
void methods_shutdown(void);
/* Records when the daemon started, for daemon_info's uptime. */
void methods_init(void);

#endif
