/* The main loop's sleep in a busy queue's ring (see loop_wait.h). */
#include "config.h"
#include "daemon/loop_wait.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The tick of a ring the loop sleeps in: while the queue is busy, the loop
 * runs libev without blocking once a tick, for its timers, signals and
 * async sends (which do not wake a ring); a tick without a completion
 * sends it back to libev (the queue went quiet). */
#define LOOP_WAIT_TICK_NS 1000000LL

/* Waits in a row that ticks or the loop's other watchers ended without
 * serving a request, before the loop goes back to libev (so that a watcher
 * libev leaves readable cannot make the ring spin). */
#define LOOP_WAIT_KICKS_MAX 2

static struct {
	bool on;		/* --wakeup ring-wait, no io threads */
	int epfd;		/* libev's epoll fd, or -1 */
	bool stop;		/* loop_wait_break was called */
	struct io_waiter *cur;	/* the queue whose ring the loop sleeps in */
	struct io_waiter *seen;	/* the queue that woke libev's last run */
	bool many;		/* more than one queue did */
	unsigned kicks;		/* such waits in a row */
	double poll;		/* --busy-poll, in seconds; 0: off */
	bool busy;		/* libev's last run had events to serve */
	ev_check check;		/* sets busy, on check_loop */
	struct ev_loop *check_loop;
} lw = { .epfd = -1 };

/* True when fd is an epoll instance. */
static bool loop_wait_is_epoll(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventpoll]") == 0;
}

/* libev hands out no loop's fd. An embed watcher started on a second loop,
 * which never runs, points its io member (private, but plain in ev.h) at
 * the embedded loop's backend fd: read there, and checked to be an epoll
 * instance. -1 when not found. */
static int loop_wait_epoll_fd(struct ev_loop *loop)
{
	struct ev_loop *outer;
	ev_embed e;
	int fd;

	if (ev_backend(loop) != EVBACKEND_EPOLL ||
	    !(ev_embeddable_backends() & EVBACKEND_EPOLL))
		return -1;
	outer = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOSIGMASK);
	if (!outer)
		return -1;
	ev_embed_init(&e, NULL, loop);
	ev_embed_start(outer, &e);
	fd = e.io.fd;
	ev_embed_stop(outer, &e);
	ev_loop_destroy(outer);
	return fd >= 0 && loop_wait_is_epoll(fd) ? fd : -1;
}

/* After libev's poll: notes whether it found events (watchers left to run
 * besides this one, which libev runs first: highest priority, and within
 * it the last queued, as check watchers are). */
static void loop_wait_on_check(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)w;
	(void)revents;
	if (ev_pending_count(loop) > 0)
		lw.busy = true;
}

/* Lets loop, the main loop, sleep in a busy queue's ring (on), or not; and
 * poll it for poll_us microseconds after it served something. */
void loop_wait_use(struct ev_loop *loop, bool on, unsigned poll_us)
{
	if (ev_is_active(&lw.check)) {
		ev_ref(lw.check_loop);
		ev_check_stop(lw.check_loop, &lw.check);
	}
	lw.poll = poll_us / 1e6;
	if (poll_us) {
		ev_check_init(&lw.check, loop_wait_on_check);
		/* First of the pending watchers at any priority, so that
		 * none has run (and left the count) before it counts. */
		ev_set_priority(&lw.check, EV_MAXPRI);
		ev_check_start(loop, &lw.check);
		ev_unref(loop);	/* it alone keeps no loop running */
		lw.check_loop = loop;
		log_info("the main loop polls for %u us after serving, before it sleeps (--busy-poll)",
			 poll_us);
	}
	lw.on = on;
	lw.cur = lw.seen = NULL;
	lw.epfd = on ? loop_wait_epoll_fd(loop) : -1;
	if (!on)
		return;
	if (lw.epfd < 0)
		log_warn("--wakeup ring-wait: libev's epoll fd not found; the main loop sleeps in libev");
	else
		log_info("the main loop sleeps in the ring of its one busy queue (--wakeup ring-wait)");
}

/* A queue of the main loop woke it. */
void loop_wait_saw(struct io_waiter *w)
{
	if (lw.seen && lw.seen != w)
		lw.many = true;
	lw.seen = w;
}

/* A queue leaves the main loop. */
void loop_wait_forget(struct io_waiter *w)
{
	if (lw.cur == w)
		lw.cur = NULL;
	if (lw.seen == w)
		lw.seen = NULL;
}

/* Ends loop_wait_run once the current callback returns. */
void loop_wait_break(struct ev_loop *loop)
{
	lw.stop = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Starts sleeping in w's ring: libev stops watching its completions. */
static void loop_wait_enter(struct io_waiter *w)
{
	w->watch(w->arg, false);
	lw.cur = w;
	lw.kicks = 0;
}

/* Goes back to sleeping in libev: what the ring's waits queued is
 * submitted, and libev watches the queue's completions again. */
static void loop_wait_leave(void)
{
	struct io_waiter *w = lw.cur;

	lw.cur = NULL;
	w->flush(w->arg);
	w->watch(w->arg, true);
}

/* Runs libev once without blocking (after submitting what the ring's waits
 * queued); leaves the ring when another queue woke libev, or when ticks or
 * the epoll fd ended too many waits in a row that served no request. */
static void loop_wait_run_libev(struct ev_loop *loop)
{
	lw.seen = NULL;
	lw.cur->flush(lw.cur->arg);
	ev_run(loop, EVRUN_NOWAIT);
	if (lw.cur && (lw.seen || lw.stop || lw.kicks >= LOOP_WAIT_KICKS_MAX))
		loop_wait_leave();
}

/* One sleep in the current queue's ring, and what follows it. */
static void loop_wait_turn(struct ev_loop *loop)
{
	struct io_waiter *w = lw.cur;
	int ret = w->wait(w->arg, lw.epfd, LOOP_WAIT_TICK_NS);

	if (lw.cur != w)
		return;	/* the wait's last request let its device delete it */
	if (ret < 0) {
		/* -ETIME: the queue went quiet; else the ring failed (logged) */
		loop_wait_leave();
		return;
	}
	if (ret & IO_WAIT_SERVED)
		lw.kicks = 0;
	else
		lw.kicks++;
	if (ret & IO_WAIT_WOKEN)
		loop_wait_run_libev(loop);
	else if (lw.kicks >= LOOP_WAIT_KICKS_MAX)
		loop_wait_leave();	/* waits that end with nothing */
}

/* Runs the main loop until loop_wait_break, polling libev without blocking
 * until lw.poll seconds have passed since it last had events to serve. */
static void loop_wait_poll(struct ev_loop *loop)
{
	ev_tstamp until = 0;

	lw.stop = false;
	while (!lw.stop) {
		lw.busy = false;
		if (!ev_run(loop, ev_now(loop) < until ? EVRUN_NOWAIT : EVRUN_ONCE))
			break;
		if (lw.busy)
			until = ev_now(loop) + lw.poll;
	}
}

/* Runs the main loop until loop_wait_break (or no watcher is left). */
void loop_wait_run(struct ev_loop *loop)
{
	if (lw.poll > 0 && !lw.on) {
		loop_wait_poll(loop);
		return;
	}
	if (!lw.on || lw.epfd < 0) {
		ev_run(loop, 0);
		return;
	}
	lw.stop = false;
	while (!lw.stop) {
		if (lw.cur) {
			loop_wait_turn(loop);
			continue;
		}
		lw.seen = NULL;
		lw.many = false;
		if (!ev_run(loop, EVRUN_ONCE))
			break;
		if (!lw.stop && lw.seen && !lw.many && lw.seen->wait)
			loop_wait_enter(lw.seen);
	}
	if (lw.cur)
		loop_wait_leave();
}
