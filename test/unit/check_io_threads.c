/* Unit tests of daemon/io_threads.c (calls run on the io thread and are
 * waited for, notes run on the main loop once, forgotten notes never run,
 * queues spread by CPU and load) and of the mem backend served from two
 * threads at once (no page written by one thread is lost to the other);
 * under ring-wait, a thread serving one queue alone sleeps in its wait,
 * every call ends that sleep (its kick eventfd readable) after a flush,
 * the kick is cleared, and more queues or a failing wait put it back in
 * its loop. */
#include "config.h"
#include "daemon/io_threads.h"
#include "backends/backend.h"
#include "test/unit/backend_test.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct backend_ops backend_mem;

/* What a call saw of the thread it ran on. */
struct probe {
	pthread_t ran_on;
	struct io_thread *t;
	int calls;
};

/* Records the calling thread; returns a known value. */
static int probe_call(void *arg)
{
	struct probe *p = arg;

	p->ran_on = pthread_self();
	p->calls++;
	return -42;
}

/* A note's function: counts its runs. */
static void count_note(void *arg)
{
	(*(int *)arg)++;
}

/* Runs the main loop until nothing is pending, a few times over. */
static void spin_main(struct ev_loop *loop)
{
	for (int i = 0; i < 50; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

START_TEST(call_runs_on_the_thread)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct probe p = { 0 };

	ck_assert_int_eq(io_threads_start(loop, 2), 0);
	ck_assert_uint_eq(io_threads_count(), 2);
	p.t = io_threads_pick(NULL);
	ck_assert_ptr_nonnull(p.t);
	ck_assert_int_eq(io_thread_call(p.t, probe_call, &p), -42);
	ck_assert_int_eq(p.calls, 1);
	ck_assert(!pthread_equal(p.ran_on, pthread_self()));
	/* A second call reaches the same thread. */
	{
		pthread_t first = p.ran_on;

		ck_assert_int_eq(io_thread_call(p.t, probe_call, &p), -42);
		ck_assert(pthread_equal(p.ran_on, first));
	}
	io_threads_unpick(p.t);
	io_threads_stop();
	ck_assert_uint_eq(io_threads_count(), 0);
}
END_TEST

/* On the io thread: posts the note given as arg twice (one run expected). */
static int post_twice(void *arg)
{
	io_threads_note(arg);
	io_threads_note(arg);
	return 0;
}

START_TEST(notes_run_on_main_once)
{
	struct ev_loop *loop = ev_default_loop(0);
	int runs = 0, forgotten_runs = 0;
	struct io_note n = { .fn = count_note, .arg = &runs };
	struct io_note gone = { .fn = count_note, .arg = &forgotten_runs };
	struct io_thread *t;

	ck_assert_int_eq(io_threads_start(loop, 1), 0);
	t = io_threads_pick(NULL);
	io_thread_call(t, post_twice, &n);
	io_thread_call(t, post_twice, &gone);
	ck_assert_int_eq(runs, 0);	/* nothing runs before the main loop does */
	io_threads_forget(&gone);
	spin_main(loop);
	ck_assert_int_eq(runs, 1);
	ck_assert_int_eq(forgotten_runs, 0);
	/* Once run, the note can be queued again. */
	io_thread_call(t, post_twice, &n);
	spin_main(loop);
	ck_assert_int_eq(runs, 2);
	io_threads_unpick(t);
	io_threads_stop();
}
END_TEST

START_TEST(pick_spreads_by_load_and_cpu)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct io_thread *a, *b, *c;
	cpu_set_t all;

	ck_assert_int_eq(io_threads_start(loop, 2), 0);
	a = io_threads_pick(NULL);
	b = io_threads_pick(NULL);
	ck_assert_ptr_ne(a, b);		/* the least loaded one */
	c = io_threads_pick(NULL);
	ck_assert_ptr_eq(c, a);		/* a tie: the first */
	io_threads_unpick(c);
	io_threads_unpick(b);
	io_threads_unpick(a);
	/* With the kernel's CPUs of a queue, the thread holding them wins
	 * even over a less loaded one (on a machine with two CPUs or more). */
	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	if (CPU_COUNT(&all) >= 2) {
		cpu_set_t second;
		int n = 0;

		CPU_ZERO(&second);
		for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &all) && n++ == 1)
				CPU_SET(cpu, &second);
		a = io_threads_pick(NULL);	/* thread 0, now loaded */
		b = io_threads_pick(&second);
		ck_assert_uint_eq(io_thread_index(b), 1);
		c = io_threads_pick(&second);
		ck_assert_ptr_eq(c, b);
		io_threads_unpick(a);
		io_threads_unpick(b);
		io_threads_unpick(c);
	}
	io_threads_stop();
}
END_TEST

START_TEST(bad_counts_are_refused)
{
	struct ev_loop *loop = ev_default_loop(0);

	ck_assert_int_eq(io_threads_start(loop, IO_THREADS_MAX + 1), -EINVAL);
	ck_assert_uint_eq(io_threads_count(), 0);
	io_threads_stop();
	ck_assert_int_eq(io_threads_start(loop, 0), 0);
	ck_assert_ptr_null(io_threads_pick(NULL));
	io_threads_stop();
}
END_TEST

#define MEM_PAGES 4096	/* 16 MiB: 64 bitmap words */

/* One writer thread of the mem test. */
struct writer {
	void *priv;
	pthread_barrier_t *start;	/* both writers begin together */
	unsigned parity;	/* writes the pages whose number has this parity */
};

/* Writes every page of its parity, each filled with its page number. */
static void *writer_run(void *arg)
{
	struct writer *w = arg;
	uint32_t buf[4096 / 4];

	pthread_barrier_wait(w->start);
	for (unsigned page = w->parity; page < MEM_PAGES; page += 2) {
		for (size_t i = 0; i < sizeof(buf) / 4; i++)
			buf[i] = page;
		if (backend_mem.write(w->priv, buf, sizeof(buf), (uint64_t)page * 4096, 0) != 0)
			return (void *)1;
	}
	return NULL;
}

START_TEST(mem_two_threads_lose_no_page)
{
	struct backend_arg args[16];
	struct backend_config cfg;
	struct backend_geometry geo;
	char err[256] = "", dir[] = "/dev/shm/ublkd-iot-XXXXXX";
	void *priv;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* Several rounds: each new device starts with an empty bitmap. */
	for (int round = 0; round < 8; round++) {
		struct writer w[2];
		pthread_barrier_t start;
		pthread_t tid[2];
		void *res;
		uint32_t buf[4096 / 4];

		memset(args, 0, sizeof(args));
		memset(&cfg, 0, sizeof(cfg));
		cfg.size = (uint64_t)MEM_PAGES * 4096;
		cfg.block_size = 4096;
		cfg.state_dir = dir;
		cfg.args = args;
		ck_assert_msg(backend_mem.open(&priv, &cfg, &geo, err, sizeof(err)) == 0, "%s", err);
		pthread_barrier_init(&start, NULL, 2);
		for (unsigned i = 0; i < 2; i++) {
			w[i].priv = priv;
			w[i].start = &start;
			w[i].parity = i;
			ck_assert_int_eq(pthread_create(&tid[i], NULL, writer_run, &w[i]), 0);
		}
		for (unsigned i = 0; i < 2; i++) {
			ck_assert_int_eq(pthread_join(tid[i], &res), 0);
			ck_assert_ptr_null(res);
		}
		pthread_barrier_destroy(&start);
		for (unsigned page = 0; page < MEM_PAGES; page++) {
			ck_assert_int_eq(backend_mem.read(priv, buf, sizeof(buf),
							  (uint64_t)page * 4096), 0);
			ck_assert_msg(buf[0] == page && buf[1023] == page,
				      "round %d: page %u reads %u", round, page, buf[0]);
		}
		backend_mem.close(priv);
	}
	rmdir(dir);
}
END_TEST

/* A queue as a ring-wait thread sees it: counts its waits and flushes. */
struct fake_waiter {
	struct io_waiter w;
	struct io_thread *t;
	int result;		/* what wait returns (0: it sleeps until a kick) */
	int waits;		/* atomic: waits entered */
	int flushes;		/* atomic: flushes */
	int sleeping;		/* atomic: inside a wait now */
	int last_flushes;	/* flushes the last call saw */
	bool flushed_first;	/* every call found a flush since the one before */
};

/* Sleeps as a ring would, until kick_fd is readable (the ring polls it):
 * IO_WAIT_WOKEN then. */
static int fake_wait(void *arg, int kick_fd, long long timeout_ns)
{
	struct fake_waiter *f = arg;
	struct pollfd pfd = { .fd = kick_fd, .events = POLLIN };

	(void)timeout_ns;

	__atomic_add_fetch(&f->waits, 1, __ATOMIC_SEQ_CST);
	if (f->result)
		return f->result;
	__atomic_store_n(&f->sleeping, 1, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(poll(&pfd, 1, -1), 1);
	__atomic_store_n(&f->sleeping, 0, __ATOMIC_SEQ_CST);
	return IO_WAIT_WOKEN;
}

/* Counts a flush. */
static void fake_flush(void *arg)
{
	struct fake_waiter *f = arg;

	__atomic_add_fetch(&f->flushes, 1, __ATOMIC_SEQ_CST);
}

/* Sets up f to be held by t; wait is fake_wait unless can_wait is false. */
static void fake_waiter_init(struct fake_waiter *f, struct io_thread *t, bool can_wait)
{
	memset(f, 0, sizeof(*f));
	f->t = t;
	f->w.wait = can_wait ? fake_wait : NULL;
	f->w.flush = fake_flush;
	f->w.arg = f;
	f->flushed_first = true;
}

/* On the thread: holds f. */
static int hold_call(void *arg)
{
	struct fake_waiter *f = arg;

	io_thread_hold(f->t, &f->w);
	return 0;
}

/* On the thread: releases f. */
static int release_call(void *arg)
{
	struct fake_waiter *f = arg;

	io_thread_release(f->t, &f->w);
	return 0;
}

/* On the thread: notes whether a flush came since the last call. */
static int flush_seen_call(void *arg)
{
	struct fake_waiter *f = arg;
	int now = __atomic_load_n(&f->flushes, __ATOMIC_SEQ_CST);

	if (now <= f->last_flushes)
		f->flushed_first = false;
	f->last_flushes = now;
	return 7;
}

/* Lets the io thread settle in whatever it sleeps in. */
static void settle(void)
{
	usleep(50 * 1000);
}

/* Starts one io thread under ring-wait and picks it. */
static struct io_thread *ring_wait_thread(void)
{
	io_threads_use_ring_wait(true);
	ck_assert_int_eq(io_threads_start(ev_default_loop(0), 1), 0);
	return io_threads_pick(NULL);
}

START_TEST(ring_wait_sleeps_alone_and_wakes_for_calls)
{
	struct io_thread *t = ring_wait_thread();
	struct fake_waiter a, b;
	int waits;

	fake_waiter_init(&a, t, true);
	fake_waiter_init(&b, t, true);

	/* Alone: the thread sleeps in a's wait, and each call ends that
	 * sleep, after a flush, and is answered. */
	ck_assert_int_eq(io_thread_call(t, hold_call, &a), 0);
	settle();
	ck_assert_int_eq(__atomic_load_n(&a.sleeping, __ATOMIC_SEQ_CST), 1);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(io_thread_call(t, flush_seen_call, &a), 7);
	ck_assert(a.flushed_first);
	ck_assert_int_ge(__atomic_load_n(&a.waits, __ATOMIC_SEQ_CST), 20);
	/* Each kick was cleared: idle, the thread stays in one wait. */
	settle();
	waits = __atomic_load_n(&a.waits, __ATOMIC_SEQ_CST);
	settle();
	ck_assert_int_eq(__atomic_load_n(&a.waits, __ATOMIC_SEQ_CST), waits);
	ck_assert_int_eq(__atomic_load_n(&a.sleeping, __ATOMIC_SEQ_CST), 1);

	/* Two queues: the thread sleeps in its loop, never in a wait. */
	ck_assert_int_eq(io_thread_call(t, hold_call, &b), 0);
	settle();
	waits = __atomic_load_n(&a.waits, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(__atomic_load_n(&a.sleeping, __ATOMIC_SEQ_CST), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(io_thread_call(t, flush_seen_call, &b), 7);
	settle();
	ck_assert_int_eq(__atomic_load_n(&a.waits, __ATOMIC_SEQ_CST), waits);
	ck_assert_int_eq(__atomic_load_n(&b.waits, __ATOMIC_SEQ_CST), 0);

	/* a gone: b alone now, and waited in. */
	ck_assert_int_eq(io_thread_call(t, release_call, &a), 0);
	settle();
	ck_assert_int_eq(__atomic_load_n(&b.sleeping, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(__atomic_load_n(&a.waits, __ATOMIC_SEQ_CST), waits);
	ck_assert_int_eq(io_thread_call(t, release_call, &b), 0);
	io_threads_stop();
	io_threads_use_ring_wait(false);
}
END_TEST

START_TEST(ring_wait_falls_back_to_the_loop)
{
	struct io_thread *t = ring_wait_thread();
	struct fake_waiter bad, plain;
	int waits;

	/* A queue that cannot be waited on: the loop serves, no wait. */
	fake_waiter_init(&plain, t, false);
	ck_assert_int_eq(io_thread_call(t, hold_call, &plain), 0);
	ck_assert_int_eq(io_thread_call(t, flush_seen_call, &plain), 7);
	settle();
	ck_assert_int_eq(__atomic_load_n(&plain.flushes, __ATOMIC_SEQ_CST), 0);
	ck_assert_int_eq(io_thread_call(t, release_call, &plain), 0);

	/* A wait that fails: the thread sleeps in its loop instead (one
	 * failed wait per wakeup, not a spin) and calls are answered. */
	fake_waiter_init(&bad, t, true);
	bad.result = -EIO;
	ck_assert_int_eq(io_thread_call(t, hold_call, &bad), 0);
	settle();
	waits = __atomic_load_n(&bad.waits, __ATOMIC_SEQ_CST);
	ck_assert_int_ge(waits, 1);
	settle();
	ck_assert_int_eq(__atomic_load_n(&bad.waits, __ATOMIC_SEQ_CST), waits);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(io_thread_call(t, flush_seen_call, &bad), 7);
	ck_assert_int_eq(io_thread_call(t, release_call, &bad), 0);
	io_threads_stop();
	io_threads_use_ring_wait(false);
}
END_TEST

/* The suite. */
static Suite *io_threads_suite(void)
{
	Suite *s = suite_create("io_threads");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, call_runs_on_the_thread);
	tcase_add_test(tc, notes_run_on_main_once);
	tcase_add_test(tc, pick_spreads_by_load_and_cpu);
	tcase_add_test(tc, bad_counts_are_refused);
	tcase_add_test(tc, mem_two_threads_lose_no_page);
	tcase_add_test(tc, ring_wait_sleeps_alone_and_wakes_for_calls);
	tcase_add_test(tc, ring_wait_falls_back_to_the_loop);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite. */
int main(void)
{
	SRunner *sr = srunner_create(io_threads_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
