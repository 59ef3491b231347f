/* io threads (ublkd --io-threads N): each runs its own libev loop that
 * watches the eventfds of the queues it owns, pinned to a share of the CPUs.
 * The main loop hands a queue to a thread and takes it back with a call that
 * runs on that thread (woken by ev_async) while the main thread waits; a
 * thread tells the main loop things through notes, which never wait. */
#ifndef UBLKD_IO_THREADS_H
#define UBLKD_IO_THREADS_H

#include <stdbool.h>
#include <ev.h>
#include <sched.h>

/* Most io threads a daemon runs. */
#define IO_THREADS_MAX 64

struct io_thread;

/* A queue a loop serves, as the loop sees it. With wait set, a loop that
 * serves that queue alone (an io thread), or whose one busy queue it is
 * (the main loop, loop_wait.h), may sleep in wait(arg, kick_fd, tick_ns)
 * instead of in libev (ublkd --wakeup ring-wait): wait submits the queue's
 * commits, sleeps in its ring until a completion comes, a readable kick_fd
 * (what else the loop must do makes it readable) or, with tick_ns (0:
 * none), a tick of that many nanoseconds being one, and serves what came,
 * leaving the new commits for flush(arg) or the next wait. It returns
 * IO_WAIT_WOKEN when kick_fd was seen readable, a signal cut the wait or a
 * tick passed, or'd with IO_WAIT_SERVED when it served requests; -ETIME
 * when a tick passed and no request came since the one before; other
 * -errno when it could not sleep there (it flushed).
 * On the main loop, what it served may delete the queue's device: it then
 * calls loop_wait_forget(w) before it returns.
 * watch(arg, on) stops (off) or starts again (on) libev's watching of the
 * queue's completions, for a loop that polls itself through kick_fd. */
#define IO_WAIT_WOKEN 1	/* the kick, a tick or a signal ended the wait */
#define IO_WAIT_SERVED 2	/* the wait served requests */
struct io_waiter {
	int (*wait)(void *arg, int kick_fd, long long tick_ns);
	void (*flush)(void *arg);
	void (*watch)(void *arg, bool on);
	void *arg;
	struct io_waiter *next;	/* the thread's other queues (its own) */
};

/* Something an io thread asks the main loop to run: fn(arg) runs there
 * once per io_threads_note call that found it not yet queued. */
struct io_note {
	void (*fn)(void *arg);
	void *arg;
	struct io_note *next;
	bool queued;		/* guarded by the notes lock */
};

/* Starts n io threads (0: none, every queue stays on main); the main loop
 * runs the notes. 0 or -errno. */
int io_threads_start(struct ev_loop *main, unsigned n);
/* Lets io threads started next sleep in the ring of a queue they serve
 * alone (ublkd --wakeup ring-wait) rather than in their loops. */
void io_threads_use_ring_wait(bool on);
/* Stops and joins every io thread (they must own no queue by then). */
void io_threads_stop(void);
/* How many io threads run. */
unsigned io_threads_count(void);
/* The thread for a queue whose CPUs the kernel gives as cpus (NULL when
 * unknown), or NULL when there are no io threads. */
struct io_thread *io_threads_pick(const cpu_set_t *cpus);
/* Gives back a queue picked for t (NULL: nothing to give back). */
void io_threads_unpick(struct io_thread *t);
/* The index of thread t, for logs and views. */
unsigned io_thread_index(const struct io_thread *t);
/* The loop of thread t (use it only from t's own calls). */
struct ev_loop *io_thread_loop(struct io_thread *t);
/* On thread t (from its own calls): t now serves w's queue. */
void io_thread_hold(struct io_thread *t, struct io_waiter *w);
/* On thread t (from its own calls): t no longer serves w's queue. */
void io_thread_release(struct io_thread *t, struct io_waiter *w);
/* Runs fn(arg) on thread t and waits for it: fn's result. */
int io_thread_call(struct io_thread *t, int (*fn)(void *arg), void *arg);
/* Queues n to run on the main loop (from any thread; never waits for it). */
void io_threads_note(struct io_note *n);
/* Unqueues n if it has not run yet (main thread, before freeing n). */
void io_threads_forget(struct io_note *n);

#endif
