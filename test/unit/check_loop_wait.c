/* Unit tests of daemon/loop_wait.c on a real libev loop, with fake queues
 * whose "ring" is an eventfd that a producer thread fills: a busy queue has
 * the loop sleep in its ring, its own libev watcher stopped, no completion
 * lost; timers and other fds still run on time while it sleeps there; a
 * second busy queue, a quiet queue or a forgotten one puts the loop back in
 * libev, and a forgotten queue is never touched again. */
#include "config.h"
#include "daemon/loop_wait.h"
#include "common/clock.h"

#include <stdbool.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A queue as the main loop sees it: ring_fd counts completions posted in
 * its ring, note_fd is the eventfd the kernel would signal for each. */
struct fake_queue {
	struct io_waiter w;
	struct ev_loop *loop;
	ev_io watcher;		/* on note_fd, as the queue's ringwatch */
	int ring_fd, note_fd;
	bool dead;		/* forgotten: must never be touched again */
	uint64_t die_at;	/* forget itself in the wait that reaps this
				 * many completions (0: never), as a device
				 * its last request deleted */
	unsigned waits, ring_waits_cut, stops, starts, flushes, ticks;
	double next_tick;	/* when the ring's tick passes next */
	uint64_t since_tick;	/* completions since the last tick */
	uint64_t reaped;	/* completions served, in the ring or in libev */
};

/* Takes every completion the ring holds. */
static uint64_t fake_reap(struct fake_queue *f)
{
	uint64_t v = 0;

	if (read(f->ring_fd, &v, sizeof(v)) < 0)
		v = 0;
	f->reaped += v;
	return v;
}

/* The queue's wait, as queue.c's: sleeps until its ring has completions,
 * kick_fd (the loop's epoll fd) is readable, or a tick passes (one every
 * tick_ns from the first wait); IO_WAIT_WOKEN for the kick or a tick,
 * or'd with IO_WAIT_SERVED when completions came; -ETIME for a tick with
 * none since the tick before. */
static int fake_wait(void *arg, int kick_fd, long long tick_ns)
{
	struct fake_queue *f = arg;
	struct pollfd p[2] = { { .fd = f->ring_fd, .events = POLLIN },
			       { .fd = kick_fd, .events = POLLIN } };
	double now = clock_mono(), tick = (double)tick_ns / 1e9;
	uint64_t got;
	int n;

	ck_assert(!f->dead);
	ck_assert_int_eq(ev_is_active(&f->watcher), 0);
	ck_assert(tick_ns > 0);
	f->waits++;
	if (f->next_tick == 0. || f->next_tick < now - 10 * tick) {
		f->next_tick = now + tick;	/* armed anew */
		f->since_tick = 0;
	}
	n = poll(p, 2, f->next_tick > now ? (int)((f->next_tick - now) * 1e3) + 1 : 0);
	ck_assert_int_ge(n, 0);
	got = fake_reap(f);
	f->since_tick += got;
	if (f->die_at && f->reaped >= f->die_at) {
		loop_wait_forget(&f->w);
		ev_io_stop(f->loop, &f->watcher);
		f->dead = true;
		return IO_WAIT_SERVED;
	}
	if (p[1].revents)
		f->ring_waits_cut++;
	if (clock_mono() >= f->next_tick) {
		bool quiet = f->since_tick == 0;
		uint64_t one = 1;

		/* The tick's CQE signals the queue's eventfd, as any CQE. */
		ck_assert_int_eq(write(f->note_fd, &one, 8), 8);

		f->next_tick += tick;
		f->since_tick = 0;
		if (quiet)
			return -ETIME;
		f->ticks++;
		return IO_WAIT_WOKEN | (got ? IO_WAIT_SERVED : 0);
	}
	if (p[1].revents)
		return IO_WAIT_WOKEN | (got ? IO_WAIT_SERVED : 0);
	return got ? IO_WAIT_SERVED : IO_WAIT_WOKEN;	/* as a signal that cut the wait */
}

/* Counts a flush. */
static void fake_flush(void *arg)
{
	struct fake_queue *f = arg;

	ck_assert(!f->dead);
	f->flushes++;
}

/* Stops or starts libev's watching of the queue. */
static void fake_watch(void *arg, bool on)
{
	struct fake_queue *f = arg;

	ck_assert(!f->dead);
	if (on) {
		f->starts++;
		ev_io_start(f->loop, &f->watcher);
	} else {
		f->stops++;
		ev_io_stop(f->loop, &f->watcher);
	}
}

/* The queue's eventfd fired in libev. */
static void fake_on_note(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fake_queue *f = w->data;
	uint64_t v;

	(void)loop;
	(void)revents;
	ck_assert(!f->dead);
	ck_assert_int_eq(read(f->note_fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	if (fake_reap(f))
		loop_wait_saw(&f->w);
}

/* Sets up f on loop, watched by libev. */
static void fake_init(struct fake_queue *f, struct ev_loop *loop)
{
	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->ring_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->note_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(f->ring_fd, 0);
	ck_assert_int_ge(f->note_fd, 0);
	f->w.wait = fake_wait;
	f->w.flush = fake_flush;
	f->w.watch = fake_watch;
	f->w.arg = f;
	ev_io_init(&f->watcher, fake_on_note, f->note_fd, EV_READ);
	f->watcher.data = f;
	ev_io_start(loop, &f->watcher);
}

/* Closes f's fds. */
static void fake_close(struct fake_queue *f)
{
	if (ev_is_active(&f->watcher))
		ev_io_stop(f->loop, &f->watcher);
	close(f->ring_fd);
	close(f->note_fd);
}

/* A producer: posts n completions to its first queue, one every gap
 * seconds, and one to its second queue every b_every of those, as the
 * kernel does (the CQE, then the eventfd). */
struct producer {
	struct fake_queue *q[2];
	int nq;
	unsigned n, b_every;
	double gap;
	int finished;		/* atomic: it posted its last */
	double last;		/* when it did (clock_mono) */
	pthread_t tid;
};

/* The producer's thread. */
static void *producer_main(void *arg)
{
	struct producer *p = arg;
	uint64_t one = 1;

	for (unsigned i = 0; i < p->n; i++) {
		for (int k = 0; k < p->nq; k++) {
			if (k == 1 && i % p->b_every != 0)
				continue;
			ck_assert_int_eq(write(p->q[k]->ring_fd, &one, 8), 8);
			ck_assert_int_eq(write(p->q[k]->note_fd, &one, 8), 8);
		}
		if (i + 1 == p->n)
			p->last = clock_mono();
		usleep((useconds_t)(p->gap * 1e6));
	}
	__atomic_store_n(&p->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Starts a producer over a and b (unless NULL): n completions to a, one
 * every gap seconds, and one to b with every b_every-th of those. */
static void producer_start(struct producer *p, struct fake_queue *a, struct fake_queue *b,
			   unsigned n, double gap, unsigned b_every)
{
	p->q[0] = a;
	p->q[1] = b;
	p->nq = b ? 2 : 1;
	p->n = n;
	p->b_every = b_every;
	p->finished = 0;
	p->gap = gap;
	ck_assert_int_eq(pthread_create(&p->tid, NULL, producer_main, p), 0);
}

/* A timer that records how late it ran, and may call a function; with
 * feed set, it waits for that producer to finish first (a slow machine
 * may take longer to feed than the test planned). */
struct probe_timer {
	ev_timer t;
	double due, ran;
	void (*fn)(struct ev_loop *loop, void *arg);
	void *arg;
	struct producer *feed;
};

/* Records when the timer ran and runs its function. */
static void probe_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe_timer *p = (struct probe_timer *)w;

	(void)revents;
	if (p->feed && !__atomic_load_n(&p->feed->finished, __ATOMIC_ACQUIRE)) {
		ev_timer_set(&p->t, 0.02, 0.);	/* again once it is fed */
		ev_timer_start(loop, &p->t);
		p->due = clock_mono() + 0.02;
		return;
	}
	p->ran = clock_mono();
	if (p->fn)
		p->fn(loop, p->arg);
}

/* Starts a probe timer after seconds. */
static void probe_start(struct ev_loop *loop, struct probe_timer *p, double after,
			void (*fn)(struct ev_loop *, void *), void *arg)
{
	memset(p, 0, sizeof(*p));
	/* ev_now is as old as the loop's last run, maybe a test ago. */
	ev_now_update(loop);
	ev_timer_init(&p->t, probe_on_timer, after, 0.);
	p->due = clock_mono() + after;
	p->fn = fn;
	p->arg = arg;
	ev_timer_start(loop, &p->t);
}

/* Ends loop_wait_run. */
static void stop_loop(struct ev_loop *loop, void *arg)
{
	(void)arg;
	loop_wait_break(loop);
}

/* Runs loop_wait_run while the started producer p feeds, until end, a
 * timer end_after seconds from now (or once the feeding is over, if
 * later), ends it; then joins p. */
static void run_while_fed(struct ev_loop *loop, struct producer *p, double end_after,
			  struct probe_timer *end)
{
	probe_start(loop, end, end_after, stop_loop, NULL);
	end->feed = p;
	loop_wait_run(loop);
	pthread_join(p->tid, NULL);
}

/* Feeds n completions to a (and b, unless NULL), one every 0.5 ms, and
 * runs the loop meanwhile (run_while_fed); returns when the last was
 * posted (clock_mono). */
static double run_fed(struct ev_loop *loop, struct fake_queue *a, struct fake_queue *b,
		    unsigned n, double end_after, struct probe_timer *end)
{
	struct producer p;

	producer_start(&p, a, b, n, 0.0005, 1);
	run_while_fed(loop, &p, end_after, end);
	return p.last;
}

/* A pipe whose read end the loop watches: records when it was read. */
struct probe_pipe {
	ev_io io;
	int fds[2];
	double written, read;
};

/* The pipe became readable. */
static void probe_on_pipe(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe_pipe *p = (struct probe_pipe *)w;
	char c;

	(void)revents;
	ck_assert_int_eq(read(p->fds[0], &c, 1), 1);
	p->read = clock_mono();
	ev_io_stop(loop, w);
}

/* Writes the pipe (from a timer-less thread: 0.3 s of sleep, then the
 * byte). */
static void *probe_pipe_writer(void *arg)
{
	struct probe_pipe *p = arg;

	usleep(300000);
	p->written = clock_mono();
	ck_assert_int_eq(write(p->fds[1], "x", 1), 1);
	return NULL;
}

/* How late a timer or a readable fd may be served, in seconds: under
 * valgrind, which runs one thread at a time, the loop can wait its turn
 * for 0.1 s (seen in CI); a run of ASan or none stays far below. */
static double slack(void)
{
	return getenv("UBLKD_UNDER_VALGRIND") ? 0.5 : 0.1;
}

START_TEST(busy_queue_sleeps_in_its_ring)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct fake_queue a;
	struct probe_timer mid, end;
	struct probe_pipe pp;
	pthread_t writer;
	double fed_until;

	loop_wait_use(loop, true, 0);
	fake_init(&a, loop);
	ck_assert_int_eq(pipe(pp.fds), 0);
	ev_io_init(&pp.io, probe_on_pipe, pp.fds[0], EV_READ);
	ev_io_start(loop, &pp.io);
	/* 0.6 s or more of completions, one every 0.5 ms; a timer at 0.05 s,
	 * the pipe written at 0.3 s, the end at 1 s. */
	ck_assert_int_eq(pthread_create(&writer, NULL, probe_pipe_writer, &pp), 0);
	probe_start(loop, &mid, 0.05, NULL, NULL);
	fed_until = run_fed(loop, &a, NULL, 1200, 1.0, &end);
	pthread_join(writer, NULL);

	ck_assert_uint_eq(a.reaped, 1200);		/* none lost */
	ck_assert_uint_gt(a.waits, 50);			/* slept in the ring */
	ck_assert_uint_ge(a.stops, 1);
	ck_assert_uint_eq(a.starts, a.stops);		/* watched again at the end */
	ck_assert(ev_is_active(&a.watcher));
	ck_assert_uint_ge(a.flushes, a.starts);		/* flushed before libev took over */
	/* Served while the queue was still busy, however slow the machine:
	 * a ring that hid them would serve them once it went quiet (or, the
	 * timer, once the pipe woke the loop). */
	ck_assert_msg(mid.ran > 0 && mid.ran < pp.written && mid.ran < fed_until,
		      "a timer due while the ring was busy ran %.3f s after the pipe was written, "
		      "%.3f s after the last completion", mid.ran - pp.written, mid.ran - fed_until);
	ck_assert_msg(pp.written < fed_until, "the feed ended %.3f s before the pipe was written",
		      pp.written - fed_until);
	ck_assert_msg(pp.read > 0 && pp.read < fed_until,
		      "a pipe written while the ring was busy was read %.3f s after the last completion",
		      pp.read - fed_until);
	ck_assert_msg(mid.ran - mid.due < slack(),
		      "a timer due while the ring was busy ran %.3f s late", mid.ran - mid.due);
	ck_assert_msg(pp.read > 0 && pp.read - pp.written < slack(),
		      "a readable pipe waited %.3f s", pp.read - pp.written);
	/* libev stops watching lazily: the first completion in the ring
	 * still makes its epoll fd readable, which the wait sees. */
	ck_assert_uint_ge(a.ring_waits_cut, 1);
	ck_assert_msg(end.ran - end.due < slack(), "the end ran %.3f s late", end.ran - end.due);
	fake_close(&a);
	close(pp.fds[0]);
	close(pp.fds[1]);
	loop_wait_use(loop, false, 0);
}
END_TEST

START_TEST(quiet_queue_goes_back_to_libev)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct fake_queue a;
	struct probe_timer end;
	unsigned waits_then;

	loop_wait_use(loop, true, 0);
	fake_init(&a, loop);
	run_fed(loop, &a, NULL, 100, 0.3, &end);
	ck_assert_uint_eq(a.reaped, 100);
	ck_assert_uint_ge(a.stops, 1);
	ck_assert_uint_eq(a.starts, a.stops);
	/* Quiet for 0.25 s: a tick without completions ended the waits. */
	waits_then = a.waits;
	ck_assert_uint_lt(waits_then, 100 + 20);
	fake_close(&a);
	loop_wait_use(loop, false, 0);
}
END_TEST

/* Two queues busy at once: the loop leaves a ring once the other queue
 * woke libev. */
START_TEST(two_busy_queues_go_back_to_libev)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct fake_queue a, b;
	struct probe_timer end;

	loop_wait_use(loop, true, 0);
	fake_init(&a, loop);
	fake_init(&b, loop);
	run_fed(loop, &a, &b, 400, 0.5, &end);
	ck_assert_uint_eq(a.reaped, 400);
	ck_assert_uint_eq(b.reaped, 400);
	/* Every ring entered was left again, and both are watched. */
	ck_assert_uint_eq(a.starts, a.stops);
	ck_assert_uint_eq(b.starts, b.stops);
	ck_assert(ev_is_active(&a.watcher) && ev_is_active(&b.watcher));
	/* Each sleep in one ring ended when the other's eventfd woke the
	 * loop: one wait per entry, mostly (a ring kept on would take two
	 * or more, until the kicks in a row sent it back). */
	ck_assert_uint_lt(2 * (a.waits + b.waits), 3 * (a.stops + b.stops));
	fake_close(&a);
	fake_close(&b);
	loop_wait_use(loop, false, 0);
}
END_TEST

/* One queue busy, the other fed now and then: each time the other woke
 * libev the loop left the busy queue's ring, even though the busy queue's
 * requests kept the waits in a row from ending by kicks alone. */
START_TEST(second_queue_ends_the_sleep_in_a_busy_ring)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct fake_queue a, b;
	struct probe_timer end;
	struct producer p;

	loop_wait_use(loop, true, 0);
	fake_init(&a, loop);
	fake_init(&b, loop);
	/* a: 2000 completions, one every 0.25 ms; b: one every 20 of those
	 * (100, about one every 5 ms or more). */
	producer_start(&p, &a, &b, 2000, 0.00025, 20);
	run_while_fed(loop, &p, 1.5, &end);
	ck_assert_uint_eq(a.reaped, 2000);
	ck_assert_uint_eq(b.reaped, 100);
	ck_assert_uint_eq(a.starts, a.stops);
	ck_assert_uint_eq(b.starts, b.stops);
	/* About one leave per completion of b (a ring kept on while b was
	 * busy too would leave a's only now and then). */
	ck_assert_msg(a.stops >= 25, "the loop left a's ring %u times for b's 100 completions",
		      a.stops);
	fake_close(&a);
	fake_close(&b);
	loop_wait_use(loop, false, 0);
}
END_TEST

/* Forgets the queue (as queue_unwatch does) and marks it dead. */
static void forget_queue(struct ev_loop *loop, void *arg)
{
	struct fake_queue *f = arg;

	loop_wait_forget(&f->w);
	ev_io_stop(loop, &f->watcher);
	f->dead = true;
}

START_TEST(forgotten_queue_is_never_touched)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct fake_queue a;
	struct probe_timer kill, end;
	unsigned waits;

	loop_wait_use(loop, true, 0);
	fake_init(&a, loop);
	probe_start(loop, &kill, 0.1, forget_queue, &a);
	run_fed(loop, &a, NULL, 400, 0.4, &end);
	/* It slept in the ring until forgotten (the fake asserts that no
	 * call came after), and the loop ran on in libev. */
	waits = a.waits;
	ck_assert_uint_gt(waits, 10);
	ck_assert(kill.ran > 0 && end.ran > 0);
	ck_assert_uint_lt(a.reaped, 400);
	a.dead = false;
	fake_close(&a);
	loop_wait_use(loop, false, 0);
}
END_TEST

/* A queue whose wait deleted it (its device's delete ran in that wait) is
 * never touched again, and the loop runs on. */
START_TEST(queue_deleted_in_its_wait_is_never_touched)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct fake_queue a;
	struct probe_timer end;

	loop_wait_use(loop, true, 0);
	fake_init(&a, loop);
	a.die_at = 200;
	run_fed(loop, &a, NULL, 400, 0.5, &end);
	ck_assert(a.dead);		/* it died in a wait (the fake asserts
					 * that nothing touched it after) */
	ck_assert_uint_gt(a.waits, 10);
	ck_assert(end.ran > 0);
	ck_assert_uint_lt(a.reaped, 400);
	a.dead = false;
	fake_close(&a);
	loop_wait_use(loop, false, 0);
}
END_TEST

/* Off, the loop never calls a queue's wait. */
START_TEST(off_means_libev_alone)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct fake_queue a;
	struct probe_timer end;

	loop_wait_use(loop, false, 0);
	fake_init(&a, loop);
	run_fed(loop, &a, NULL, 100, 0.2, &end);
	ck_assert_uint_eq(a.reaped, 100);
	ck_assert_uint_eq(a.waits, 0);
	ck_assert_uint_eq(a.stops, 0);
	fake_close(&a);
}
END_TEST

/* The suite. */
static Suite *loop_wait_suite(void)
{
	Suite *s = suite_create("loop_wait");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, busy_queue_sleeps_in_its_ring);
	tcase_add_test(tc, quiet_queue_goes_back_to_libev);
	tcase_add_test(tc, two_busy_queues_go_back_to_libev);
	tcase_add_test(tc, second_queue_ends_the_sleep_in_a_busy_ring);
	tcase_add_test(tc, forgotten_queue_is_never_touched);
	tcase_add_test(tc, queue_deleted_in_its_wait_is_never_touched);
	tcase_add_test(tc, off_means_libev_alone);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite. */
int main(void)
{
	SRunner *sr = srunner_create(loop_wait_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
