/* Unit tests of the main loop's busy poll (--busy-poll, daemon/loop_wait.c)
 * on a real libev loop: after an event the loop polls libev without
 * sleeping for the window, so an fd made readable then is served at once;
 * with nothing to serve it sleeps, spending no CPU; a break during the
 * window ends the run; an event of the highest priority opens the window
 * as one of the default does; and with the window 0 it never polls. */
#include "config.h"
#include "daemon/loop_wait.h"
#include "common/clock.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

/* The window used: long enough to measure under valgrind. */
#define POLL_US 20000

/* A timer that notes the loop's iteration count and the time it ran, and
 * may end the run. */
struct mark {
	ev_timer t;
	unsigned iter;
	double at;
	bool last;	/* ends the run */
};

/* A mark's timer ran. */
static void mark_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mark *m = (struct mark *)w;

	(void)revents;
	m->iter = ev_iteration(loop);
	m->at = clock_mono();
	if (m->last)
		loop_wait_break(loop);
}

/* Starts m after seconds, at libev priority pri. */
static void mark_start(struct ev_loop *loop, struct mark *m, double after, bool last, int pri)
{
	m->iter = 0;
	m->at = 0;
	m->last = last;
	ev_timer_init(&m->t, mark_on_timer, after, 0.);
	ev_set_priority(&m->t, pri);
	ev_timer_start(loop, &m->t);
}

/* This thread's CPU time so far, in seconds. */
static double thread_cpu(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Runs loop with marks at priority pri at 0.05 s, 0.06 s (inside the
 * first's window) and the end at 0.5 s; returns the CPU time the run took. */
static double run_marks(struct ev_loop *loop, struct mark m[3], int pri)
{
	double cpu;

	mark_start(loop, &m[0], 0.05, false, pri);
	mark_start(loop, &m[1], 0.06, false, pri);
	mark_start(loop, &m[2], 0.5, true, pri);
	ev_now_update(loop);
	cpu = thread_cpu();
	loop_wait_run(loop);
	return thread_cpu() - cpu;
}

/* The most the second mark may run after the first (due 10 ms later). */
#define MARK_GAP_MAX 0.05

/* Runs the marks (run_marks) until the loop ran libev 20 times between the
 * first two and the second ran within MARK_GAP_MAX of the first, at most 3
 * times: a thread the host did not run for those 10 ms (valgrind on a
 * loaded machine) can show neither, but a loop that sleeps in its window
 * never reaches 20 in any run. Returns the last run's CPU time, the count of
 * the run that passed (or the last) in *iters. */
static double run_marks_polled(struct ev_loop *loop, struct mark m[3], int pri, unsigned *iters)
{
	double cpu = 0;

	for (int run = 0; run < 3; run++) {
		cpu = run_marks(loop, m, pri);
		*iters = m[1].iter - m[0].iter;
		if (*iters >= 20 && m[1].at - m[0].at < MARK_GAP_MAX)
			break;
	}
	return cpu;
}

START_TEST(polls_after_an_event_and_sleeps_when_idle)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct mark m[3];
	unsigned iters;
	double cpu;

	loop_wait_use(loop, false, POLL_US);
	cpu = run_marks_polled(loop, m, 0, &iters);
	/* Between the first mark and the second (10 ms, in the first's
	 * window) the loop ran libev without sleeping, many times. */
	ck_assert_msg(iters >= 20, "%u runs of libev in the window after an event", iters);
	/* It ran on time, and the run ended at the last mark. */
	ck_assert_msg(m[1].at - m[0].at < MARK_GAP_MAX, "the second mark ran %.3f s after the first",
		      m[1].at - m[0].at);
	ck_assert(m[2].at > 0);
	/* Idle after the windows (0.05 to 0.08 s, and the last mark's,
	 * which the break cut short): it slept for the rest of the 0.5 s. */
	ck_assert_msg(cpu < 0.25, "the loop spent %.3f s of CPU in a 0.5 s run with 2 events",
		      cpu);
	loop_wait_use(loop, false, 0);
}
END_TEST

/* An event of any priority opens the window: the highest runs before the
 * default, so a counter left at the default would see none pending. */
START_TEST(an_event_of_the_highest_priority_opens_the_window)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct mark m[3];
	unsigned iters;

	loop_wait_use(loop, false, POLL_US);
	run_marks_polled(loop, m, EV_MAXPRI, &iters);
	ck_assert_msg(iters >= 20, "%u runs of libev in the window after an event at EV_MAXPRI",
		      iters);
	ck_assert(m[2].at > 0);
	loop_wait_use(loop, false, 0);
}
END_TEST

START_TEST(no_window_means_no_polling)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct mark m[3];
	double cpu;

	loop_wait_use(loop, false, 0);
	cpu = run_marks(loop, m, 0);
	ck_assert_msg(m[1].iter - m[0].iter <= 2,
		      "%u runs of libev between two timers 10 ms apart without polling",
		      m[1].iter - m[0].iter);
	ck_assert(m[2].at > 0);
	ck_assert_msg(cpu < 0.1, "the loop spent %.3f s of CPU sleeping 0.5 s", cpu);
}
END_TEST

/* A pipe, written by a timer: its byte is the event that opens a window. */
struct reader {
	ev_io io;
	int fds[2];
	double read_at;
	struct mark end;	/* started 1 ms after the read: in its window */
};

/* The pipe became readable. */
static void reader_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct reader *r = (struct reader *)w;
	char c;

	(void)revents;
	ck_assert_int_eq(read(r->fds[0], &c, 1), 1);
	r->read_at = clock_mono();
	mark_start(loop, &r->end, 0.001, true, 0);
}

/* Writes a byte to the reader's pipe. */
static void writer_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct reader *r = w->data;

	(void)loop;
	(void)revents;
	ck_assert_int_eq(write(r->fds[1], "x", 1), 1);
}

START_TEST(break_in_the_window_ends_the_run)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct reader r = { .read_at = 0 };
	ev_timer w;
	double t0;

	loop_wait_use(loop, false, 10000);	/* the most --busy-poll takes: 10 ms */
	ck_assert_int_eq(pipe(r.fds), 0);
	ev_io_init(&r.io, reader_on_io, r.fds[0], EV_READ);
	ev_io_start(loop, &r.io);
	ev_timer_init(&w, writer_on_timer, 0.02, 0.);
	w.data = &r;
	ev_timer_start(loop, &w);
	ev_now_update(loop);
	t0 = clock_mono();
	loop_wait_run(loop);
	ck_assert(r.read_at > 0);
	ck_assert(r.end.at > 0);
	/* The break ended the run at once, not at the window's end: polling
	 * on would have run libev many times more (counted, not timed, so
	 * that a host that stops the thread cannot fail it). */
	ck_assert_msg(ev_iteration(loop) - r.end.iter <= 1,
		      "libev ran %u times after the break", ev_iteration(loop) - r.end.iter);
	ck_assert(clock_mono() - t0 < 0.5);
	ev_io_stop(loop, &r.io);
	close(r.fds[0]);
	close(r.fds[1]);
	loop_wait_use(loop, false, 0);
}
END_TEST

/* The suite. */
static Suite *loop_poll_suite(void)
{
	Suite *s = suite_create("loop_poll");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, polls_after_an_event_and_sleeps_when_idle);
	tcase_add_test(tc, an_event_of_the_highest_priority_opens_the_window);
	tcase_add_test(tc, no_window_means_no_polling);
	tcase_add_test(tc, break_in_the_window_ends_the_run);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite. */
int main(void)
{
	SRunner *sr = srunner_create(loop_poll_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
