/* Watches and timers for backends (struct backend_loop) on a libev loop:
 * each watch is an ev_io, each timer an ev_timer, allocated per use. */
#ifndef UBLKD_EVWATCH_H
#define UBLKD_EVWATCH_H

#include <ev.h>

#include "backends/backend.h"

/* What backends are given for one loop. */
struct evwatch {
	struct backend_loop ops;	/* first member */
	struct ev_loop *loop;
};

/* Prepares w to hand out watches and timers on loop. */
void evwatch_init(struct evwatch *w, struct ev_loop *loop);

#endif
