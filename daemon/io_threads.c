/* io threads: one libev loop per thread, each serving the queues handed to
 * it; calls from the main thread and notes back to it (see io_threads.h). */
#include "config.h"
#include "daemon/io_threads.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct io_thread {
	unsigned index;
	pthread_t tid;
	struct ev_loop *loop;
	ev_async wake;		/* a call is waiting */
	cpu_set_t cpus;		/* where the thread is pinned */
	unsigned queues;	/* queues picked for it (main thread only) */
	struct io_waiter *held;	/* the queues it serves (its own) */
	int kick_fd;		/* eventfd its calls write, under ring-wait */
	bool stop;		/* leave the loop (its own) */
	bool kicked;		/* a call came since it last looked (atomic) */

	pthread_mutex_t lock;	/* guards the call below */
	pthread_cond_t answered;
	int (*fn)(void *arg);
	void *arg;
	int result;
	bool waiting;		/* fn is set and has not run yet */
};

static struct {
	struct io_thread *threads;
	unsigned count;
	bool ring_wait;		/* threads may wait in a ring (--wakeup ring-wait) */
	struct ev_loop *main;
	ev_async notes_wake;	/* on the main loop */
	pthread_mutex_t notes_lock;
	struct io_note *notes;	/* to run on main, oldest first */
	struct io_note **notes_tail;
} iot = {
	.notes_lock = PTHREAD_MUTEX_INITIALIZER,
	.notes_tail = &iot.notes,
};

/* Runs the call waiting for thread t, if any, and answers it. */
static void iot_on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct io_thread *t = w->data;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&t->lock);
	if (t->waiting) {
		t->result = t->fn(t->arg);
		t->waiting = false;
		pthread_cond_broadcast(&t->answered);
	}
	pthread_mutex_unlock(&t->lock);
}

/* The queue thread t may wait in the ring of, when it serves that one
 * alone and it can be waited on; else NULL. */
static struct io_waiter *iot_solo(const struct io_thread *t)
{
	struct io_waiter *w = t->held;

	return w && !w->next && w->wait ? w : NULL;
}

/* Clears thread t's kick eventfd once a wait saw it readable. */
static void iot_clear_kick(struct io_thread *t)
{
	uint64_t v;

	if (read(t->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_errno(-errno, "io thread %u: reading its kick eventfd", t->index);
}

/* An io thread's loop under ring-wait: while it serves one queue alone it
 * sleeps in that queue's ring (submitting and waiting in one system call,
 * woken by a completion, or by its kick eventfd, which the ring polls),
 * and runs its libev loop only when a call came (after submitting what it
 * had queued, so that the call finds every commit sent); with more
 * queues, or none, it sleeps in its libev loop. The flag is read after
 * the eventfd is cleared: a call whose write that clearing took had set
 * the flag before. */
static void iot_serve(struct io_thread *t)
{
	while (!t->stop) {
		struct io_waiter *w = iot_solo(t);
		int ret;

		if (!w || (ret = w->wait(w->arg, t->kick_fd, 0)) < 0) {
			ev_run(t->loop, EVRUN_ONCE);
			continue;
		}
		if (ret & IO_WAIT_WOKEN)
			iot_clear_kick(t);
		if (__atomic_exchange_n(&t->kicked, false, __ATOMIC_ACQ_REL)) {
			w->flush(w->arg);
			ev_run(t->loop, EVRUN_NOWAIT);
		}
	}
}

/* The body of an io thread: pinned, deaf to signals the main loop handles,
 * running its loop until a call breaks it. */
static void *iot_main(void *arg)
{
	struct io_thread *t = arg;
	sigset_t set;
	int ret;

	/* Faults stay deliverable: a blocked SIGBUS would kill the process
	 * instead of reaching the mem backend's guard. */
	sigfillset(&set);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGILL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ret = pthread_setaffinity_np(pthread_self(), sizeof(t->cpus), &t->cpus);
	if (ret)
		log_errno(ret, "io thread %u: pinning", t->index);
	if (iot.ring_wait)
		iot_serve(t);
	else
		ev_run(t->loop, 0);
	return NULL;
}

/* Runs the notes queued for the main loop, one at a time, so that a note
 * may forget others (a device freed by one note takes its queues' along). */
static void iot_on_notes(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	for (;;) {
		struct io_note *n;

		pthread_mutex_lock(&iot.notes_lock);
		n = iot.notes;
		if (n) {
			iot.notes = n->next;
			if (!iot.notes)
				iot.notes_tail = &iot.notes;
			n->queued = false;
		}
		pthread_mutex_unlock(&iot.notes_lock);
		if (!n)
			return;
		n->fn(n->arg);
	}
}

/* Gives thread i of n its share of the CPUs the daemon may run on. */
static void iot_share_cpus(struct io_thread *t, unsigned i, unsigned n, const cpu_set_t *all)
{
	unsigned k = 0, total = (unsigned)CPU_COUNT(all);

	CPU_ZERO(&t->cpus);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, all))
			continue;
		/* More threads than CPUs: thread i shares CPU i mod total. */
		if ((n <= total && k % n == i) || (n > total && k == i % total))
			CPU_SET(cpu, &t->cpus);
		k++;
	}
}

/* Closes thread t's kick eventfd, if it has one. */
static void iot_close_kick(struct io_thread *t)
{
	if (t->kick_fd >= 0)
		close(t->kick_fd);
	t->kick_fd = -1;
}

/* Makes thread i's loop, watcher and (ring-wait) kick eventfd, and starts
 * it: 0 or -errno. */
static int iot_spawn(struct io_thread *t, unsigned i, unsigned n, const cpu_set_t *all)
{
	char name[16];
	int ret;

	t->index = i;
	iot_share_cpus(t, i, n, all);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->answered, NULL);
	t->kick_fd = -1;
	if (iot.ring_wait && (t->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	t->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!t->loop) {
		iot_close_kick(t);
		return -ENOMEM;
	}
	ev_async_init(&t->wake, iot_on_wake);
	t->wake.data = t;
	ev_async_start(t->loop, &t->wake);
	ret = pthread_create(&t->tid, NULL, iot_main, t);
	if (ret) {
		ev_loop_destroy(t->loop);
		t->loop = NULL;
		iot_close_kick(t);
		return -ret;
	}
	snprintf(name, sizeof(name), "ublkd-io%u", i);
	pthread_setname_np(t->tid, name);	/* top, ps -L, /proc/PID/task */
	return 0;
}

/* Lets io threads started next sleep in the ring of a queue they serve
 * alone rather than in their loops. */
void io_threads_use_ring_wait(bool on)
{
	iot.ring_wait = on;
}

/* Starts n io threads (0: none, every queue stays on main); the main loop
 * runs the notes. 0 or -errno. */
int io_threads_start(struct ev_loop *main, unsigned n)
{
	cpu_set_t all;
	int ret = 0;

	iot.main = main;
	ev_async_init(&iot.notes_wake, iot_on_notes);
	ev_async_start(main, &iot.notes_wake);
	if (n == 0)
		return 0;
	if (n > IO_THREADS_MAX)
		return -EINVAL;
	if (sched_getaffinity(0, sizeof(all), &all) < 0)
		return -errno;
	iot.threads = calloc(n, sizeof(*iot.threads));
	if (!iot.threads)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		ret = iot_spawn(&iot.threads[i], i, n, &all);
		if (ret < 0)
			break;
		iot.count++;
	}
	if (ret < 0) {
		io_threads_stop();
		return ret;
	}
	log_info("%u io thread(s) serve the queues of devices whose backend allows it%s", n,
		 iot.ring_wait ? "; one serving a queue alone waits in its ring" : "");
	return 0;
}

/* Breaks the loop of the calling io thread. */
static int iot_break(void *arg)
{
	struct io_thread *t = arg;

	t->stop = true;
	ev_break(t->loop, EVBREAK_ALL);
	return 0;
}

/* Stops and joins every io thread (they must own no queue by then). */
void io_threads_stop(void)
{
	for (unsigned i = 0; i < iot.count; i++) {
		struct io_thread *t = &iot.threads[i];

		io_thread_call(t, iot_break, t);
		pthread_join(t->tid, NULL);
		ev_loop_destroy(t->loop);
		iot_close_kick(t);
		pthread_cond_destroy(&t->answered);
		pthread_mutex_destroy(&t->lock);
	}
	free(iot.threads);
	iot.threads = NULL;
	iot.count = 0;
	if (iot.main) {
		ev_async_stop(iot.main, &iot.notes_wake);
		iot.main = NULL;
	}
}

/* How many io threads run. */
unsigned io_threads_count(void)
{
	return iot.count;
}

/* The thread for a queue whose CPUs the kernel gives as cpus (NULL when
 * unknown), or NULL when there are no io threads: the one sharing most of
 * those CPUs, then the one with the fewest queues. */
struct io_thread *io_threads_pick(const cpu_set_t *cpus)
{
	struct io_thread *best = NULL;
	int best_shared = -1;

	for (unsigned i = 0; i < iot.count; i++) {
		struct io_thread *t = &iot.threads[i];
		int shared = 0;

		if (cpus) {
			cpu_set_t both;

			CPU_AND(&both, cpus, &t->cpus);
			shared = CPU_COUNT(&both);
		}
		if (!best || shared > best_shared ||
		    (shared == best_shared && t->queues < best->queues)) {
			best = t;
			best_shared = shared;
		}
	}
	if (best)
		best->queues++;
	return best;
}

/* Gives back a queue picked for t (NULL: nothing to give back). */
void io_threads_unpick(struct io_thread *t)
{
	if (t && t->queues)
		t->queues--;
}

/* The index of thread t, for logs and views. */
unsigned io_thread_index(const struct io_thread *t)
{
	return t->index;
}

/* The loop of thread t (use it only from t's own calls). */
struct ev_loop *io_thread_loop(struct io_thread *t)
{
	return t->loop;
}

/* On thread t (from its own calls): t now serves w's queue. */
void io_thread_hold(struct io_thread *t, struct io_waiter *w)
{
	w->next = t->held;
	t->held = w;
}

/* On thread t (from its own calls): t no longer serves w's queue. */
void io_thread_release(struct io_thread *t, struct io_waiter *w)
{
	for (struct io_waiter **p = &t->held; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			w->next = NULL;
			return;
		}
	}
}

/* Runs fn(arg) on thread t and waits for it: fn's result. A thread that
 * may be waiting in a ring is also kicked: its eventfd, which that ring
 * polls, becomes readable (and stays so until the thread clears it, so a
 * kick sent while it is busy ends its next wait at once). */
int io_thread_call(struct io_thread *t, int (*fn)(void *arg), void *arg)
{
	int result;

	pthread_mutex_lock(&t->lock);
	t->fn = fn;
	t->arg = arg;
	t->waiting = true;
	ev_async_send(t->loop, &t->wake);
	if (iot.ring_wait) {
		__atomic_store_n(&t->kicked, true, __ATOMIC_RELEASE);
		if (eventfd_write(t->kick_fd, 1) < 0)
			log_errno(-errno, "io thread %u: kicking it", t->index);
	}
	while (t->waiting)
		pthread_cond_wait(&t->answered, &t->lock);
	result = t->result;
	pthread_mutex_unlock(&t->lock);
	return result;
}

/* Queues n to run on the main loop (from any thread; never waits for it). */
void io_threads_note(struct io_note *n)
{
	bool wake = false;

	pthread_mutex_lock(&iot.notes_lock);
	if (!n->queued) {
		n->queued = true;
		n->next = NULL;
		*iot.notes_tail = n;
		iot.notes_tail = &n->next;
		wake = true;
	}
	pthread_mutex_unlock(&iot.notes_lock);
	if (wake)
		ev_async_send(iot.main, &iot.notes_wake);
}

/* Unqueues n if it has not run yet (main thread, before freeing n). */
void io_threads_forget(struct io_note *n)
{
	pthread_mutex_lock(&iot.notes_lock);
	if (n->queued) {
		struct io_note **p = &iot.notes;

		while (*p && *p != n)
			p = &(*p)->next;
		if (*p) {
			*p = n->next;
			if (!*p)
				iot.notes_tail = p;
		}
		n->queued = false;
	}
	pthread_mutex_unlock(&iot.notes_lock);
}
