/* Watching an io_uring's completions from the libev loop: an eventfd
 * registered on the ring, read by an ev_io watcher. */
#ifndef UBLKD_RINGWATCH_H
#define UBLKD_RINGWATCH_H

#include <stdbool.h>
#include <ev.h>
#include <liburing.h>

/* Chooses, before any watcher starts, to poll the rings' own fds (no
 * eventfd to read per wakeup) or eventfds registered on them. */
void ringwatch_use_ring_fd(bool on);
/* Starts w on ring's completions (a new eventfd registered on it, or its
 * own fd), calling cb with data. */
int ringwatch_start(struct ev_loop *loop, struct io_uring *ring, ev_io *w,
		    void (*cb)(struct ev_loop *, ev_io *, int), void *data);
/* Clears the eventfd after a wakeup, before the ring is reaped. */
void ringwatch_clear(ev_io *w);
/* True while a DEFER_TASKRUN ring (IORING_SETUP_TASKRUN_FLAG too) holds
 * task work: the kernel's flag IORING_SQ_TASKRUN. Other rings: false. */
bool ringwatch_deferred_held(const struct io_uring *ring);
/* On such a ring, runs (a bounded part of) the task work the kernel holds
 * for it, turning it into CQEs: 0 or -errno. Other rings: nothing. A run
 * may end with work still held and no new CQE, so no eventfd signal (the
 * kernel's per-entry cap, or a producer caught mid-push): the caller must
 * not sleep while ringwatch_deferred_held says so, only back off while it
 * stays set and nothing turns up (ringwatch_held_delay). */
int ringwatch_run_deferred(struct io_uring *ring);
/* How long to wait before reaping again a deferring ring that still flags
 * held work after `empty` reaps in a row found no CQE: 0 (at once) for the
 * first few, then 1 ms doubling up to 128 ms. The kernel's flag can be
 * stale (set by a producer whose work a run already took), and no entry
 * clears it until new work runs: re-reaping at once would spin. */
double ringwatch_held_delay(unsigned empty);
/* Chooses, before any watcher starts, whether deferring rings are muted
 * while reaped (default on; off only to measure the difference). */
void ringwatch_use_mute(bool on);
/* Whether deferring rings are muted while reaped: on x86, unless turned off. */
bool ringwatch_mutes(void);
/* Before a deferring ring is reaped: turns its eventfd off (its own entries
 * are about to post the CQEs, and each post would signal a wakeup that finds
 * nothing), on x86 where that is safe; returns whether it did. Other rings,
 * or --wakeup ring-fd: false, nothing done. */
bool ringwatch_mute(struct io_uring *ring);
/* After that reap: turns the eventfd on again; true when CQEs or held task
 * work arrived while it was off, which no signal will announce, so the
 * caller must reap again before it sleeps. */
bool ringwatch_unmute(struct io_uring *ring);
/* Stops w and closes its eventfd (the ring's registration goes with the ring). */
void ringwatch_stop(struct ev_loop *loop, ev_io *w);

#endif
