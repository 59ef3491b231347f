/* Unit tests of daemon/ringwatch.c in both wakeup modes (an eventfd, or the
 * ring's own fd): a completion wakes the loop's watcher, a drained ring does
 * not wake it again, and stopping leaves the ring usable. */
#include "config.h"
#include "daemon/ringwatch.h"

#include <check.h>
#include <stdlib.h>
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

/* The suite. */
static Suite *ringwatch_suite(void)
{
	Suite *s = suite_create("ringwatch");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, eventfd_mode);
	tcase_add_test(tc, ring_fd_mode);
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
