/* The main loop's sleep under ublkd --wakeup ring-wait without io threads:
 * while one of its queues alone is busy, the main thread sleeps in that
 * queue's ring, where one system call submits the commits and waits for the
 * next request, as an io thread serving one queue does (io_threads.h). The
 * ring also polls libev's own epoll fd, so every other watcher of the loop
 * (the control socket, the control ring, other queues) still wakes it at
 * once; timers, signals and async sends reach it within a tick. */
#ifndef UBLKD_LOOP_WAIT_H
#define UBLKD_LOOP_WAIT_H

#include <stdbool.h>
#include <ev.h>

#include "daemon/io_threads.h"

/* Lets loop, the main loop, sleep in a busy queue's ring (on), or not; and
 * with poll_us (not with on), poll libev without blocking for poll_us
 * microseconds after each run that had events, before sleeping in it (a
 * reply or request due soon is then seen without a wakeup). Logs which it
 * does. */
void loop_wait_use(struct ev_loop *loop, bool on, unsigned poll_us);
/* Runs loop until loop_wait_break: ev_run(loop, 0), sleeping in a busy
 * queue's ring where it may. */
void loop_wait_run(struct ev_loop *loop);
/* Ends loop_wait_run (and the libev loop) once the current callback returns. */
void loop_wait_break(struct ev_loop *loop);
/* A queue of the main loop woke it with requests (from the queue's libev
 * watcher). */
void loop_wait_saw(struct io_waiter *w);
/* A queue leaves the main loop (its watcher is being stopped, its ring may
 * close): never wait in its ring again, nor touch it. */
void loop_wait_forget(struct io_waiter *w);

#endif
