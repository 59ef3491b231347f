/* Watching an io_uring's completions from the libev loop. */
#include "config.h"
#include "daemon/ringwatch.h"
#include "common/log.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Watch the ring's own fd (readable while CQEs wait) instead of an eventfd. */
static bool ringwatch_ring_fd;

/* Chooses, before any watcher starts, to poll the rings' own fds (no
 * eventfd to read per wakeup) or eventfds registered on them. */
void ringwatch_use_ring_fd(bool on)
{
	ringwatch_ring_fd = on;
}

/* Starts w on ring's completions (a new eventfd registered on it, or its
 * own fd), calling cb with data. */
int ringwatch_start(struct ev_loop *loop, struct io_uring *ring, ev_io *w,
		    void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
	int efd, ret;

	if (ringwatch_ring_fd) {
		/* Level-triggered: readable until the CQ is drained. */
		ev_io_init(w, cb, ring->ring_fd, EV_READ);
		w->data = data;
		ev_io_start(loop, w);
		return 0;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	ret = io_uring_register_eventfd(ring, efd);
	if (ret < 0) {
		close(efd);
		return ret;
	}
	ev_io_init(w, cb, efd, EV_READ);
	w->data = data;
	ev_io_start(loop, w);
	return 0;
}

/* Clears the eventfd after a wakeup, before the ring is reaped. */
void ringwatch_clear(ev_io *w)
{
	uint64_t v;

	if (ringwatch_ring_fd)
		return;	/* nothing to clear: draining the CQ does it */
	/* Reading first means a completion posted while we reap wakes us again. */
	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_errno(errno, "reading an io_uring eventfd");
}

/* Reads the kernel's flag for task work a deferring ring holds. */
bool ringwatch_deferred_held(const struct io_uring *ring)
{
	return (ring->flags & IORING_SETUP_DEFER_TASKRUN) &&
	       (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN);
}

/* Runs a deferring ring's held task work (the kernel runs a bounded
 * number of items per entry, and sets the flag again for the rest). */
int ringwatch_run_deferred(struct io_uring *ring)
{
	int ret;

	if (!ringwatch_deferred_held(ring))
		return 0;
	ret = io_uring_get_events(ring);	/* liburing: -errno */
	return ret < 0 ? ret : 0;
}

/* Reaps in a row that may find nothing while the kernel flags held work
 * before the loop backs off. */
#define RINGWATCH_HELD_SPINS 16
/* The back-off's first and longest intervals, in seconds (1 ms doubled
 * seven times is the longest). */
#define RINGWATCH_HELD_FIRST 0.001
#define RINGWATCH_HELD_LONGEST 0.128

/* How long to wait before reaping again a deferring ring that flags held
 * work after `empty` reaps in a row found no CQE: 0 for at once (work past
 * the kernel's per-entry cap, or a producer mid-push, shows up within a few
 * tries), then 1 ms doubling to 128 ms (a stale flag, which nothing clears
 * until new work runs, must not make the loop spin). */
double ringwatch_held_delay(unsigned empty)
{
	unsigned over;

	if (empty < RINGWATCH_HELD_SPINS)
		return 0.;
	over = empty - RINGWATCH_HELD_SPINS;
	if (over >= 7)
		return RINGWATCH_HELD_LONGEST;
	return RINGWATCH_HELD_FIRST * (double)(1u << over);
}

/* Muting needs the kernel to order its store of IORING_SQ_TASKRUN before
 * its load of IORING_CQ_EVENTFD_DISABLED (io_req_local_work_add). It sets
 * the flag with atomic_or, a locked instruction and so a full barrier on
 * x86 only; elsewhere that pair may be reordered and a wakeup lost. */
#if defined(__x86_64__) || defined(__i386__)
#define RINGWATCH_CAN_MUTE true
#else
#define RINGWATCH_CAN_MUTE false
#endif

/* Muting a deferring ring's eventfd while it is reaped (on unless a test
 * asks to compare). */
static bool ringwatch_mute_on = true;

/* Chooses, before any watcher starts, whether deferring rings are muted
 * while reaped. */
void ringwatch_use_mute(bool on)
{
	ringwatch_mute_on = on;
}

/* Whether deferring rings are muted while reaped (this machine and the
 * daemon's options allow it). */
bool ringwatch_mutes(void)
{
	return RINGWATCH_CAN_MUTE && ringwatch_mute_on && !ringwatch_ring_fd;
}

/* Mutes a deferring ring's eventfd for the reap about to run, whose own
 * entries post the CQEs (each post would signal a wakeup that finds them
 * already read); returns whether it did. */
bool ringwatch_mute(struct io_uring *ring)
{
	if (!ringwatch_mutes() || !(ring->flags & IORING_SETUP_DEFER_TASKRUN))
		return false;
	return io_uring_cq_eventfd_toggle(ring, false) == 0;
}

/* Unmutes the ring's eventfd; returns whether CQEs or held task work
 * arrived that no signal will announce. */
bool ringwatch_unmute(struct io_uring *ring)
{
	io_uring_cq_eventfd_toggle(ring, true);
	/* Our store of the flag before our loads of the kernel's: either a
	 * producer of task work sees the eventfd on, or we see the flag it
	 * set while muted. CQEs of a deferring ring are posted only inside
	 * this thread's own entries, so reading the tail after them is
	 * ordered by the program alone. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ringwatch_deferred_held(ring) || io_uring_cq_ready(ring) > 0;
}

/* Stops w and closes its eventfd. */
void ringwatch_stop(struct ev_loop *loop, ev_io *w)
{
	if (w->fd < 0)
		return;
	ev_io_stop(loop, w);
	if (!ringwatch_ring_fd)
		close(w->fd);	/* the ring's own fd goes with the ring */
	w->fd = -1;
}
