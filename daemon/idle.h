/* Background work for backends (struct backend_idle) on the libev loop: one
 * ev_idle watcher calls every started step once per loop turn, when nothing
 * else is pending, so each step holds the loop for one slice at most. */
#ifndef UBLKD_IDLE_H
#define UBLKD_IDLE_H

#include <stdbool.h>
#include <ev.h>

#include "backends/backend.h"

struct idle_job;

/* The steps started on one loop, and the watcher that runs them. */
struct idle {
	struct backend_idle ops;	/* what backends are given; first member */
	struct ev_loop *loop;
	ev_idle watcher;		/* active while any step runs */
	struct idle_job *jobs;		/* newest first */
	bool in_turn;			/* steps are being called */
};

/* Prepares idle for loop, with no steps. */
void idle_init(struct idle *idle, struct ev_loop *loop);
/* Drops the steps still started and stops the watcher; not from a step. */
void idle_fini(struct idle *idle);

#endif
