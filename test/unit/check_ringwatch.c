/* Unit tests of daemon/ringwatch.c in both wakeup modes (an eventfd, or the
 * ring's own fd): a completion wakes the loop's watcher, a drained ring does
 * not wake it again, and stopping leaves the ring usable. On a
 * DEFER_TASKRUN ring, completions that wait as task work (more than the
 * kernel runs per entry) all reach the loop through the eventfd,
 * ringwatch_run_deferred and an idle watcher kept on while
 * ringwatch_deferred_held says work is still held. The kernel's flag of
 * held work can be stale, and entering the ring does not clear it: the
 * re-reaps back off (ringwatch_held_delay). A muted ring's own posting
 * signals nothing, and unmuting reports what arrived meanwhile. */
#include "config.h"
#include "daemon/ringwatch.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <liburing.h>

/* What the watcher saw. */
struct seen {
	struct io_uring *ring;
	int wakeups;
	int cqes;
};

/* Clears the watch and drains the ring, counting both. */
static void on_event(struct ev_loop *loop, ev_io *w, int revents)
{
	struct seen *s = w->data;
	struct io_uring_cqe *cqe;

	(void)loop;
	(void)revents;
	ringwatch_clear(w);
	s->wakeups++;
	while (io_uring_peek_cqe(s->ring, &cqe) == 0) {
		io_uring_cqe_seen(s->ring, cqe);
		s->cqes++;
	}
}

/* Submits n NOPs. */
static void nops(struct io_uring *ring, int n)
{
	for (int i = 0; i < n; i++)
		io_uring_prep_nop(io_uring_get_sqe(ring));
	ck_assert_int_eq(io_uring_submit(ring), n);
}

/* Runs the loop without blocking a few times. */
static void turns(struct ev_loop *loop)
{
	for (int i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

/* One mode end to end. */
static void run_mode(bool ring_fd)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct io_uring ring;
	struct seen s = { .ring = &ring };
	ev_io w;

	ringwatch_use_ring_fd(ring_fd);
	ck_assert_int_eq(io_uring_queue_init(8, &ring, 0), 0);
	ck_assert_int_eq(ringwatch_start(loop, &ring, &w, on_event, &s), 0);
	if (ring_fd)
		ck_assert_int_eq(w.fd, ring.ring_fd);
	else
		ck_assert_int_ne(w.fd, ring.ring_fd);
	turns(loop);
	ck_assert_int_eq(s.wakeups, 0);		/* nothing completed yet */
	nops(&ring, 3);
	ev_run(loop, EVRUN_ONCE);		/* blocks until the wakeup */
	turns(loop);
	ck_assert_int_eq(s.cqes, 3);
	ck_assert_int_ge(s.wakeups, 1);
	{
		int before = s.wakeups;

		turns(loop);			/* drained: no more wakeups */
		ck_assert_int_eq(s.wakeups, before);
	}
	nops(&ring, 2);
	ev_run(loop, EVRUN_ONCE);
	turns(loop);
	ck_assert_int_eq(s.cqes, 5);
	ringwatch_stop(loop, &w);
	ck_assert_int_eq(w.fd, -1);
	nops(&ring, 1);				/* the ring still works */
	{
		struct io_uring_cqe *cqe;

		ck_assert_int_eq(io_uring_wait_cqe(&ring, &cqe), 0);
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	ev_loop_destroy(loop);
	ringwatch_use_ring_fd(false);
}

START_TEST(eventfd_mode)
{
	run_mode(false);
}
END_TEST

START_TEST(ring_fd_mode)
{
	run_mode(true);
}
END_TEST

/* Reads only what the CQ already holds, never entering the kernel. */
static int cq_drain(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		ck_assert_int_eq(cqe->res, 1);
		n++;
	}
	io_uring_cq_advance(ring, n);
	return (int)n;
}

static ev_idle held;	/* reaps again while work is held, as queue.c does */

/* Runs the held task work and drains the CQ; before the loop may sleep,
 * keeps the idle watcher on while the kernel still flags held work. */
static void reap_deferred(struct ev_loop *loop, struct seen *s)
{
	ck_assert_int_eq(ringwatch_run_deferred(s->ring), 0);
	s->cqes += cq_drain(s->ring);
	if (ringwatch_deferred_held(s->ring))
		ev_idle_start(loop, &held);
	else
		ev_idle_stop(loop, &held);
}

/* The idle watcher: work was still held when the loop was to sleep. */
static void on_held(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	reap_deferred(loop, w->data);
}

/* A deferring ring's wakeup, in queue.c's order: clear, then reap. */
static void on_deferred(struct ev_loop *loop, ev_io *w, int revents)
{
	struct seen *s = w->data;

	(void)revents;
	ringwatch_clear(w);
	s->wakeups++;
	reap_deferred(loop, s);
}

/* Stops the loop when the test has waited long enough. */
static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

#define PIPES 50	/* more than the 20 items a DEFER ring runs per entry */

/* Makes a ring that defers task work as the daemon's do (--taskrun defer). */
static void defer_ring(struct io_uring *ring, unsigned entries)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			 IORING_SETUP_TASKRUN_FLAG,
	};

	ck_assert_int_eq(io_uring_queue_init_params(entries, ring, &p), 0);
}

START_TEST(deferred_task_work)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct io_uring ring;
	struct seen s = { .ring = &ring };
	int fds[PIPES][2];
	char bytes[PIPES];
	ev_timer deadline;
	ev_io w;

	defer_ring(&ring, 64);
	ck_assert_int_eq(ringwatch_start(loop, &ring, &w, on_deferred, &s), 0);
	ev_idle_init(&held, on_held);
	held.data = &s;
	/* Reads of empty pipes wait on a poll, which completes as task work. */
	for (int i = 0; i < PIPES; i++) {
		ck_assert_int_eq(pipe(fds[i]), 0);
		io_uring_prep_read(io_uring_get_sqe(&ring), fds[i][0], &bytes[i], 1, 0);
	}
	ck_assert_int_eq(io_uring_submit(&ring), PIPES);
	turns(loop);
	ck_assert_int_eq(s.cqes, 0);
	for (int i = 0; i < PIPES; i++)
		ck_assert_int_eq(write(fds[i][1], "x", 1), 1);
	/* The CQEs exist only once the work runs: not yet; the flag says so. */
	ck_assert_int_eq(io_uring_cq_ready(&ring), 0);
	ck_assert(ringwatch_deferred_held(&ring));
	ev_timer_init(&deadline, on_deadline, 5., 0.);
	ev_timer_start(loop, &deadline);
	while (s.cqes < PIPES && ev_is_active(&deadline))
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(s.cqes, PIPES);
	ck_assert_int_ge(s.wakeups, 1);
	ck_assert(!ringwatch_deferred_held(&ring));		/* nothing left */
	ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert_int_eq(io_uring_cq_ready(&ring), 0);
	ev_idle_stop(loop, &held);
	ev_timer_stop(loop, &deadline);
	ringwatch_stop(loop, &w);
	for (int i = 0; i < PIPES; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	io_uring_queue_exit(&ring);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(run_deferred_other_rings)
{
	struct io_uring ring;

	ck_assert_int_eq(io_uring_queue_init(8, &ring, 0), 0);
	nops(&ring, 2);
	ck_assert(!ringwatch_deferred_held(&ring));
	ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert_int_eq(io_uring_cq_ready(&ring), 2);	/* untouched */
	io_uring_queue_exit(&ring);
}
END_TEST

/* Counts the eventfd's signals since it was last read (0: none). */
static uint64_t signals(ev_io *w)
{
	uint64_t v = 0;

	if (read(w->fd, &v, sizeof(v)) < 0)
		ck_assert_int_eq(errno, EAGAIN);
	return v;
}

/* Whether the kernel told of held task work: a signal on the eventfd, or
 * the ring's flag of held work. */
static bool work_told(struct io_uring *ring, ev_io *w)
{
	return signals(w) >= 1 || ringwatch_deferred_held(ring);
}

/* Queues one pipe read as task work: submitted on an empty pipe, then
 * written, so its completion waits for the ring's owner. */
static void pipe_work(struct io_uring *ring, int fds[2], char *byte)
{
	io_uring_prep_read(io_uring_get_sqe(ring), fds[0], byte, 1, 0);
	ck_assert_int_eq(io_uring_submit(ring), 1);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
}

START_TEST(muted_reap)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct io_uring ring;
	int fds[2];
	char byte;
	ev_io w;

	defer_ring(&ring, 8);
	ck_assert_int_eq(ringwatch_start(loop, &ring, &w, on_event, NULL), 0);
	ck_assert_int_eq(pipe(fds), 0);

	/* Unmuted, as before: queued work is told (6.1 signals the eventfd;
	 * 6.18 and 7.3 only set the flag the loop's held-work watcher reads),
	 * and its CQE signals. */
	ringwatch_use_mute(false);
	pipe_work(&ring, fds, &byte);
	ck_assert(work_told(&ring, &w));
	ck_assert(!ringwatch_mute(&ring));
	ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert_int_eq(cq_drain(&ring), 1);
	ck_assert_uint_ge(signals(&w), 1);	/* the wakeup that finds nothing */

	/* Muted: the reap's own CQE signals nothing, and unmuting says it
	 * is there to be read. */
	ringwatch_use_mute(true);
	pipe_work(&ring, fds, &byte);
	ck_assert(work_told(&ring, &w));
	ck_assert(ringwatch_mute(&ring));
	ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert_uint_eq(signals(&w), 0);
	ck_assert(ringwatch_unmute(&ring));
	ck_assert_int_eq(cq_drain(&ring), 1);
	ck_assert(!ringwatch_unmute(&ring));	/* nothing left */

	/* Work queued while muted signals nothing; the flag it set makes
	 * unmuting report it. */
	ck_assert(ringwatch_mute(&ring));
	pipe_work(&ring, fds, &byte);
	ck_assert_uint_eq(signals(&w), 0);
	ck_assert(ringwatch_unmute(&ring));
	ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert_int_eq(cq_drain(&ring), 1);

	/* Unmuted again, new work is told as before, and its CQE signals
	 * the eventfd again (on every kernel: unmuting turned it back on). */
	pipe_work(&ring, fds, &byte);
	ck_assert(work_told(&ring, &w));
	ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert_int_eq(cq_drain(&ring), 1);
	ck_assert_uint_ge(signals(&w), 1);

	ringwatch_stop(loop, &w);
	close(fds[0]);
	close(fds[1]);
	io_uring_queue_exit(&ring);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(mute_other_rings)
{
	struct io_uring ring;

	ringwatch_use_mute(true);
	ck_assert_int_eq(io_uring_queue_init(8, &ring, 0), 0);
	ck_assert(!ringwatch_mute(&ring));	/* only deferring rings */
	ck_assert(io_uring_cq_eventfd_enabled(&ring));
	io_uring_queue_exit(&ring);
}
END_TEST

START_TEST(held_delay)
{
	double last = 0.;

	/* At once for the first reaps that find nothing... */
	for (unsigned i = 0; i < 16; i++)
		ck_assert(ringwatch_held_delay(i) == 0.);
	/* ...then 1 ms, doubling, never past 128 ms. */
	ck_assert(ringwatch_held_delay(16) == 0.001);
	for (unsigned i = 17; i < 40; i++) {
		double d = ringwatch_held_delay(i);

		ck_assert(d >= 2 * ringwatch_held_delay(i - 1) || d == 0.128);
		ck_assert(d <= 0.128 && d >= last);
		last = d;
	}
	ck_assert(ringwatch_held_delay(23) == 0.128);
	ck_assert(ringwatch_held_delay(~0u) == 0.128);
}
END_TEST

START_TEST(stale_held_flag)
{
	struct io_uring ring;
	int fds[2];
	char byte;

	defer_ring(&ring, 8);
	ck_assert_int_eq(pipe(fds), 0);
	/* The flag as a producer leaves it when a run took its work before
	 * it set the flag: set, with nothing held. */
	__atomic_or_fetch(ring.sq.kflags, IORING_SQ_TASKRUN, __ATOMIC_SEQ_CST);
	ck_assert(ringwatch_deferred_held(&ring));
	/* Entering the ring does not clear it: nothing is there to run. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert(ringwatch_deferred_held(&ring));
	ck_assert_int_eq(io_uring_cq_ready(&ring), 0);
	/* Real work, once run, clears it. */
	pipe_work(&ring, fds, &byte);
	ck_assert_int_eq(ringwatch_run_deferred(&ring), 0);
	ck_assert_int_eq(cq_drain(&ring), 1);
	ck_assert(!ringwatch_deferred_held(&ring));
	close(fds[0]);
	close(fds[1]);
	io_uring_queue_exit(&ring);
}
END_TEST

/* The suite. */
static Suite *ringwatch_suite(void)
{
	Suite *s = suite_create("ringwatch");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, eventfd_mode);
	tcase_add_test(tc, ring_fd_mode);
	tcase_add_test(tc, deferred_task_work);
	tcase_add_test(tc, run_deferred_other_rings);
	tcase_add_test(tc, muted_reap);
	tcase_add_test(tc, mute_other_rings);
	tcase_add_test(tc, held_delay);
	tcase_add_test(tc, stale_held_flag);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite. */
int main(void)
{
	SRunner *sr = srunner_create(ringwatch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
