/* Backends' descriptor watches and timers on a libev loop (see evwatch.h). */
#include "config.h"
#include "daemon/evwatch.h"

#include <errno.h>
#include <stdlib.h>

struct backend_watch {
	ev_io io;
	struct ev_loop *loop;
	backend_watch_fn cb;
	void *arg;
	unsigned events;
};

struct backend_timer {
	ev_timer timer;
	struct ev_loop *loop;
	backend_timer_fn cb;
	void *arg;
};

/* Turns BACKEND_EV_* into libev's event bits. */
static int evwatch_to_ev(unsigned events)
{
	return ((events & BACKEND_EV_READ) ? EV_READ : 0) |
	       ((events & BACKEND_EV_WRITE) ? EV_WRITE : 0);
}

/* The descriptor is ready: tell the backend what for. */
static void evwatch_on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct backend_watch *w = io->data;
	unsigned ev = ((revents & EV_READ) ? BACKEND_EV_READ : 0) |
		      ((revents & EV_WRITE) ? BACKEND_EV_WRITE : 0);

	(void)loop;
	w->cb(w->arg, ev);
}

/* backend_loop.watch_set: waits for events instead (0: for nothing). */
static void evwatch_set(struct backend_watch *w, unsigned events)
{
	events &= BACKEND_EV_READ | BACKEND_EV_WRITE;
	if (events == w->events)
		return;
	ev_io_stop(w->loop, &w->io);
	ev_io_modify(&w->io, evwatch_to_ev(events));
	w->events = events;
	if (events)
		ev_io_start(w->loop, &w->io);
}

/* backend_loop.watch_start: a new watch on fd. */
static int evwatch_start(struct backend_loop *l, int fd, unsigned events,
			 backend_watch_fn cb, void *arg, struct backend_watch **out)
{
	struct evwatch *ew = (struct evwatch *)l;
	struct backend_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->loop = ew->loop;
	w->cb = cb;
	w->arg = arg;
	ev_io_init(&w->io, evwatch_on_io, fd, 0);
	w->io.data = w;
	evwatch_set(w, events);
	*out = w;
	return 0;
}

/* backend_loop.watch_stop: stops and frees w. */
static void evwatch_stop(struct backend_watch *w)
{
	if (!w)
		return;
	ev_io_stop(w->loop, &w->io);
	free(w);
}

/* A timer expired: free it, then call the backend (which may start another). */
static void evwatch_on_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
	struct backend_timer *t = timer->data;
	backend_timer_fn cb = t->cb;
	void *arg = t->arg;

	(void)loop;
	(void)revents;
	free(t);
	cb(arg);
}

/* backend_loop.timer_start: calls cb(arg) once after seconds. */
static int evwatch_timer_start(struct backend_loop *l, double seconds, backend_timer_fn cb,
			       void *arg, struct backend_timer **out)
{
	struct evwatch *ew = (struct evwatch *)l;
	struct backend_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->loop = ew->loop;
	t->cb = cb;
	t->arg = arg;
	ev_timer_init(&t->timer, evwatch_on_timer, seconds < 0 ? 0 : seconds, 0);
	t->timer.data = t;
	ev_timer_start(t->loop, &t->timer);
	*out = t;
	return 0;
}

/* backend_loop.timer_stop: stops and frees a timer that has not fired. */
static void evwatch_timer_stop(struct backend_timer *t)
{
	if (!t)
		return;
	ev_timer_stop(t->loop, &t->timer);
	free(t);
}

/* backend_loop.now: the loop's time. */
static double evwatch_now(struct backend_loop *l)
{
	return ev_now(((struct evwatch *)l)->loop);
}

/* Prepares w to hand out watches and timers on loop. */
void evwatch_init(struct evwatch *w, struct ev_loop *loop)
{
	w->ops.watch_start = evwatch_start;
	w->ops.watch_set = evwatch_set;
	w->ops.watch_stop = evwatch_stop;
	w->ops.timer_start = evwatch_timer_start;
	w->ops.timer_stop = evwatch_timer_stop;
	w->ops.now = evwatch_now;
	w->loop = loop;
}
