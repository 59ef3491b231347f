/* Unit tests of daemon/idle.c: backends' steps run from a real libev loop,
 * one slice each per turn, only when nothing else is pending, and never
 * again once stopped. */
#include "config.h"
#include "daemon/idle.h"

#include <check.h>
#include <stdlib.h>
#include <unistd.h>
#include <ev.h>

/* A step under test: counts its calls and ends after slices of them. */
struct work {
	int calls;
	int slices;
	struct backend_idle *idle;
	struct work *victim;	/* stopped from inside this step's first call */
	struct work *child;	/* started from inside this step's first call */
	bool stop_self;		/* stops itself in its first call, says "more" */
	bool free_self;		/* frees itself when it ends (as a closing backend) */
};

/* Counts a call; does whatever the test set up; says whether more remains. */
static bool work_step(void *arg)
{
	struct work *w = arg;

	w->calls++;
	if (w->calls == 1 && w->victim)
		w->idle->stop(w->idle, work_step, w->victim);
	if (w->calls == 1 && w->child)
		ck_assert_int_eq(w->idle->start(w->idle, work_step, w->child), 0);
	if (w->calls == 1 && w->stop_self) {
		w->idle->stop(w->idle, work_step, w);
		return true;
	}
	if (w->calls < w->slices)
		return true;
	if (w->free_self) {
		w->idle->stop(w->idle, work_step, w);
		free(w);
	}
	return false;
}

/* Runs one turn of the loop; returns whether watchers are still active. */
static bool turn(struct ev_loop *loop)
{
	return ev_run(loop, EVRUN_NOWAIT) != 0;
}

/* Two steps: never called from start, one slice each per turn, and the
 * watcher goes once both are over. */
START_TEST(test_one_slice_per_turn)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct idle idle;
	struct work a = { .slices = 3 }, b = { .slices = 5 };

	idle_init(&idle, loop);
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &a), 0);
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &b), 0);
	ck_assert_int_eq(a.calls + b.calls, 0);
	for (int i = 1; i <= 3; i++) {
		ck_assert(turn(loop));
		ck_assert_int_eq(a.calls, i);
		ck_assert_int_eq(b.calls, i);
	}
	ck_assert(turn(loop));
	ck_assert(!turn(loop));		/* b's last slice: nothing left to run */
	ck_assert_int_eq(a.calls, 3);
	ck_assert_int_eq(b.calls, 5);
	ck_assert(!ev_is_active(&idle.watcher));
	turn(loop);
	ck_assert_int_eq(b.calls, 5);
	idle_fini(&idle);
	ev_loop_destroy(loop);
}
END_TEST

/* Counts the calls of a watcher that stays pending (its pipe never drained). */
static void busy_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	(*(int *)w->data)++;
}

/* A step waits while other events are pending: the loop serves them first. */
START_TEST(test_waits_for_other_events)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct idle idle;
	struct work a = { .slices = 100 };
	int fds[2], busy = 0;
	ev_io io;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	ev_io_init(&io, busy_cb, fds[0], EV_READ);
	io.data = &busy;
	ev_io_start(loop, &io);
	idle_init(&idle, loop);
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &a), 0);
	for (int i = 0; i < 5; i++)
		turn(loop);
	ck_assert_int_eq(busy, 5);
	ck_assert_int_eq(a.calls, 0);
	ev_io_stop(loop, &io);
	turn(loop);
	ck_assert_int_eq(a.calls, 1);
	idle_fini(&idle);
	ck_assert(!ev_is_active(&idle.watcher));
	close(fds[0]);
	close(fds[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* Stopped before its first turn, from inside itself, or by another step in
 * the same turn: never called again; stopping twice or after the end is
 * harmless. */
START_TEST(test_stop)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct idle idle;
	struct work early = { .slices = 10 }, self = { .slices = 10, .stop_self = true };
	struct work victim = { .slices = 10 }, killer = { .slices = 10, .victim = &victim };

	idle_init(&idle, loop);
	self.idle = killer.idle = &idle.ops;
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &early), 0);
	idle.ops.stop(&idle.ops, work_step, &early);
	idle.ops.stop(&idle.ops, work_step, &early);
	ck_assert(!ev_is_active(&idle.watcher));
	/* Newest first: killer's turn comes before victim's. */
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &victim), 0);
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &self), 0);
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &killer), 0);
	for (int i = 0; i < 4; i++)
		turn(loop);
	ck_assert_int_eq(early.calls, 0);
	ck_assert_int_eq(self.calls, 1);
	ck_assert_int_eq(victim.calls, 0);
	ck_assert_int_eq(killer.calls, 4);
	idle.ops.stop(&idle.ops, work_step, &killer);
	ck_assert(!ev_is_active(&idle.watcher));
	idle.ops.stop(&idle.ops, work_step, &killer);
	idle_fini(&idle);
	ev_loop_destroy(loop);
}
END_TEST

/* A step that frees its own state as it ends (a backend closed by the
 * callback its last slice made) is never touched again. */
START_TEST(test_step_frees_itself)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct idle idle;
	struct work *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	idle_init(&idle, loop);
	w->slices = 2;
	w->free_self = true;
	w->idle = &idle.ops;
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, w), 0);
	ck_assert(turn(loop));
	ck_assert(!turn(loop));
	ck_assert(!ev_is_active(&idle.watcher));
	idle_fini(&idle);
	ev_loop_destroy(loop);
}
END_TEST

/* A step started from inside a step runs from the next turn on. */
START_TEST(test_start_inside_step)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct idle idle;
	struct work child = { .slices = 2 }, parent = { .slices = 1, .child = &child };

	idle_init(&idle, loop);
	parent.idle = &idle.ops;
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &parent), 0);
	ck_assert(turn(loop));
	ck_assert_int_eq(parent.calls, 1);
	ck_assert_int_eq(child.calls, 0);
	ck_assert(turn(loop));
	ck_assert_int_eq(child.calls, 1);
	ck_assert(!turn(loop));
	ck_assert_int_eq(child.calls, 2);
	idle_fini(&idle);
	ev_loop_destroy(loop);
}
END_TEST

/* idle_fini drops steps still started; another runner on the loop goes on. */
START_TEST(test_fini_and_daemon)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct work a = { .slices = 100 }, b = { .slices = 2 };
	struct idle idle, other;
	struct backend_idle *d = &other.ops;

	idle_init(&other, loop);
	idle_init(&idle, loop);
	ck_assert_int_eq(idle.ops.start(&idle.ops, work_step, &a), 0);
	turn(loop);
	idle_fini(&idle);
	turn(loop);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(d->start(d, work_step, &b), 0);
	ck_assert_int_eq(b.calls, 0);
	ck_assert(turn(loop));
	ck_assert(!turn(loop));
	ck_assert_int_eq(b.calls, 2);
	idle_fini(&other);
	ev_loop_destroy(loop);
}
END_TEST

/* Builds the suite. */
static Suite *idle_suite(void)
{
	Suite *s = suite_create("idle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_one_slice_per_turn);
	tcase_add_test(tc, test_waits_for_other_events);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_step_frees_itself);
	tcase_add_test(tc, test_start_inside_step);
	tcase_add_test(tc, test_fini_and_daemon);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(idle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
