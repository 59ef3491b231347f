/* Unit tests of evwatch.c: backends' descriptor watches and timers on a
 * real libev loop. */
#include "config.h"
#include "daemon/evwatch.h"

#include <check.h>
#include <errno.h>
#include <unistd.h>

static struct ev_loop *loop;
static struct evwatch ew;
static struct backend_loop *bl;
static unsigned seen_events, seen_calls, fired;
static struct backend_watch *watch;

/* Prepares a fresh loop and the backend_loop on it. */
static void setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	evwatch_init(&ew, loop);
	bl = &ew.ops;
	seen_events = seen_calls = fired = 0;
	watch = NULL;
}

/* Frees the loop. */
static void teardown(void)
{
	ev_loop_destroy(loop);
}

/* Records what a watch reported, and stops watching after the first. */
static void on_ready(void *arg, unsigned revents)
{
	(void)arg;
	seen_events |= revents;
	seen_calls++;
	bl->watch_set(watch, 0);
}

/* Counts the firings of a timer. */
static void on_timer(void *arg)
{
	(void)arg;
	fired++;
}

START_TEST(test_watch_reports_readiness)
{
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(bl->watch_start(bl, fds[0], 0, on_ready, NULL, &watch), 0);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_uint_eq(seen_calls, 0);	/* waits for nothing yet */
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_uint_eq(seen_calls, 0);	/* still nothing asked */
	bl->watch_set(watch, BACKEND_EV_READ);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_uint_eq(seen_calls, 1);
	ck_assert_uint_eq(seen_events, BACKEND_EV_READ);
	/* on_ready set it to nothing: readable still, but not reported. */
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_uint_eq(seen_calls, 1);
	/* A pipe's write end is writable. */
	bl->watch_stop(watch);
	seen_events = 0;
	ck_assert_int_eq(bl->watch_start(bl, fds[1], BACKEND_EV_READ | BACKEND_EV_WRITE,
					 on_ready, NULL, &watch), 0);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_uint_eq(seen_calls, 2);
	ck_assert_uint_eq(seen_events, BACKEND_EV_WRITE);
	bl->watch_stop(watch);
	bl->watch_stop(NULL);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_timers)
{
	struct backend_timer *a, *b;
	double t0 = bl->now(bl);

	ck_assert_int_eq(bl->timer_start(bl, 0.01, on_timer, NULL, &a), 0);
	ck_assert_int_eq(bl->timer_start(bl, 0.02, on_timer, NULL, &b), 0);
	bl->timer_stop(b);		/* stopped: never fires */
	ev_run(loop, 0);		/* returns when no watcher is left */
	ck_assert_uint_eq(fired, 1);
	ck_assert(bl->now(bl) >= t0 + 0.01);
	bl->timer_stop(NULL);
}
END_TEST

/* Builds the suite. */
static Suite *evwatch_suite(void)
{
	Suite *s = suite_create("evwatch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_watch_reports_readiness);
	tcase_add_test(tc, test_timers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(evwatch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
