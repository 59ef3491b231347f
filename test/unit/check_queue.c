/* Unit tests of daemon/queue.c when its ring takes no more submissions: a
 * commit or a file operation that finds no SQE is held, not lost, counts
 * as unanswered, and the retry timer sends it once the ring takes
 * submissions again; so are commits a refused flush left in the SQ; runs
 * of refusals are logged once per interval; a batched queue's FETCH that
 * ran out of buffers is armed again when the ring had no room for it or
 * its buffer ring could not be registered. The ring refuses either as a
 * single-issuer ring (--taskrun defer) made by the test's thread, whose
 * submits from a second thread get -EEXIST, or with its fd swapped for
 * /dev/null. The ublk char device is a memfd holding the descriptors; the
 * kernel refuses its commands, and each refusal shows which tag's command
 * reached the ring. */
#include "config.h"
#include "daemon/queue.h"
#include "daemon/queue_batch.h"
#include "backends/backend.h"
#include "backends/file.h"
#include "test/unit/log_capture.h"
#include "test/unit/ring_refusal.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEPTH 4
#define REQ_BYTES 4096

static char path[4096];	/* the file backend's backing, absolute */

/* The queue under test and what it runs on. */
static struct queue q;
static struct io_target target;
static struct ev_loop *loop;
static int cdev;
static int idle_calls;

/* Counts the queue's idle notes. */
static void on_idle(void *arg, struct queue *qq)
{
	(void)arg;
	(void)qq;
	idle_calls++;
}

/* Writes tag's descriptor: a READ of REQ_BYTES at the tag's own place,
 * into the tag's buffer. */
static void put_read(unsigned tag)
{
	struct ublksrv_io_desc d = { .op_flags = UBLK_IO_OP_READ,
				     .nr_sectors = REQ_BYTES / 512,
				     .start_sector = (uint64_t)tag * REQ_BYTES / 512,
				     .addr = (uint64_t)(uintptr_t)queue_buf(&q, tag) };

	ck_assert_int_eq(pwrite(cdev, &d, sizeof(d), (off_t)(tag * sizeof(d))), (ssize_t)sizeof(d));
}

/* Opens backend name (file: on path) and sets up a queue of DEPTH tags
 * with the device flags, on a deferring ring with defer, on a memfd
 * standing in for /dev/ublkcN. */
static void start_ring(const char *name, bool defer, uint64_t flags)
{
	static struct backend_arg args[BACKEND_MAX_PARAMS];
	struct backend_config cfg = { .size = 1 << 20, .block_size = 512, .args = args };
	struct backend_geometry geo;
	char err[256] = "";

	memset(args, 0, sizeof(args));
	if (strcmp(name, "file") == 0) {
		args[FILE_ARG_PATH] = (struct backend_arg){ .given = true, .text = path };
		args[FILE_ARG_BUFFERED] = (struct backend_arg){ .given = true, .flag = true };
		cfg.size = 0;
	}
	memset(&target, 0, sizeof(target));
	ck_assert_msg(io_open(&target, backends_find(name), &cfg, &geo, err, sizeof(err)) == 0,
		      "%s: %s", name, err);
	target.buf_bytes = 64 << 10;
	cdev = memfd_create("ublkc", MFD_CLOEXEC);
	ck_assert_int_ge(cdev, 0);
	ck_assert_int_eq(ftruncate(cdev, 1 << 20), 0);
	loop = ev_loop_new(EVFLAG_AUTO);
	idle_calls = 0;
	queue_use_defer_taskrun(defer);
	ck_assert_int_eq(queue_setup(&q, loop, NULL, cdev, 0, DEPTH, &target, flags, on_idle,
				     NULL), 0);
	ck_assert_msg(q.defer == defer, "this kernel made no DEFER_TASKRUN ring (Linux 6.1+)");
	for (unsigned tag = 0; tag < DEPTH; tag++)
		put_read(tag);
}

/* start_ring on a deferring ring. */
static void start(const char *name)
{
	start_ring(name, true, 0);
}

/* Tears the queue, the loop and the backend down. */
static void stop(void)
{
	queue_teardown(&q);
	ev_loop_destroy(loop);
	io_close(&target, false);
	close(cdev);
}

/* Fills the SQ with NOPs, so that the next SQE needs a submit. */
static void fill_sq(void)
{
	struct io_uring_sqe *sqe;
	unsigned n = 0;

	while ((sqe = io_uring_get_sqe(&q.ring))) {
		io_uring_prep_nop(sqe);
		sqe->user_data = 0xffff;	/* no tag: logged and ignored */
		n++;
	}
	ck_assert_uint_ge(n, 1);
}

/* Serves every tag from a thread that is not the ring's issuer. */
static void *serve_all(void *arg)
{
	(void)arg;
	for (unsigned tag = 0; tag < DEPTH; tag++)
		queue_serve(&q, tag);
	return NULL;
}

/* Runs serve_all on a second thread and waits for it. */
static void serve_elsewhere(void)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, serve_all, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

/* Every tag waits, unanswered, with the retry timer armed. */
static void expect_all_held(int result)
{
	ck_assert_uint_eq(q.nr_held, DEPTH);
	ck_assert_uint_eq(queue_inflight(&q), DEPTH);
	ck_assert_uint_eq(queue_active(&q), 0);
	ck_assert(ev_is_active(&q.retry));
	for (unsigned i = 0; i < DEPTH; i++) {
		ck_assert_uint_eq(q.held_sqes[i].tag, i);
		ck_assert_int_eq(q.held_sqes[i].result, result);
	}
}

/* Runs the loop (the test's thread is the issuer) until every tag's
 * command was sent and refused by the memfd, or 5 s pass. */
static void run_until_answered(void)
{
	for (int i = 0; i < 5000; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		if (!q.nr_held && !queue_inflight(&q) && idle_calls)
			return;
		usleep(1000);
	}
	ck_abort_msg("still held %u, unanswered %u, idle notes %d", q.nr_held,
		     queue_inflight(&q), idle_calls);
}

/* Commits that found no SQE are held with their results and sent later. */
START_TEST(test_commit_held)
{
	start("null");
	fill_sq();
	serve_elsewhere();
	expect_all_held(REQ_BYTES);
	ck_assert_int_eq(q.submit_err, -EEXIST);
	ck_assert_int_eq(idle_calls, 0);

	run_until_answered();
	ck_assert(!ev_is_active(&q.retry));
	ck_assert_uint_eq(queue_active(&q), 0);
	ck_assert_int_eq(idle_calls, 1);
	ck_assert(queue_ios(&q) == DEPTH);
	stop();
}
END_TEST

/* File operations that found no SQE are held and run later: each tag's
 * buffer then holds its own part of the file. */
START_TEST(test_file_op_held)
{
	static unsigned char want[DEPTH * REQ_BYTES];
	FILE *f;

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)(i * 7 + i / REQ_BYTES);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(want, 1, sizeof(want), f), sizeof(want));
	ck_assert_int_eq(ftruncate(fileno(f), 1 << 20), 0);
	ck_assert_int_eq(fclose(f), 0);

	start("file");
	ck_assert(io_plans(&target, false));
	fill_sq();
	serve_elsewhere();
	expect_all_held(INT_MIN);
	for (unsigned tag = 0; tag < DEPTH; tag++)
		ck_assert_int_ne(memcmp(queue_buf(&q, tag), want + tag * REQ_BYTES, REQ_BYTES), 0);

	run_until_answered();
	for (unsigned tag = 0; tag < DEPTH; tag++)
		ck_assert_msg(memcmp(queue_buf(&q, tag), want + tag * REQ_BYTES, REQ_BYTES) == 0,
			      "tag %u's buffer does not hold its part of the file", tag);
	ck_assert(!ev_is_active(&q.retry));
	stop();
	unlink(path);
}
END_TEST

/* A submit refused after the commits were queued (the flush before the
 * loop sleeps) leaves them in the SQ, and the retry timer submits them:
 * the ring's fd is swapped for /dev/null while a wakeup is served. Each
 * tag's request comes as a NOP CQE whose user_data is the tag. */
START_TEST(test_flush_refused)
{
	struct ring_refusal refusal;
	struct io_uring_sqe *sqe;

	start_ring("null", false, 0);
	for (unsigned tag = 0; tag < DEPTH; tag++) {
		sqe = io_uring_get_sqe(&q.ring);
		ck_assert_ptr_nonnull(sqe);
		io_uring_prep_nop(sqe);
		sqe->user_data = tag;	/* completes as the tag's request */
		q.active++;		/* as if FETCHed */
	}
	ck_assert_int_eq(io_uring_submit(&q.ring), DEPTH);

	ring_refusal_start(&refusal, q.ring.ring_fd);
	for (int i = 0; i < 1000 && queue_ios(&q) < DEPTH; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	ck_assert(queue_ios(&q) == DEPTH);
	ck_assert_uint_eq(io_uring_sq_ready(&q.ring), DEPTH);	/* the commits */
	ck_assert_int_eq(q.submit_err, -EOPNOTSUPP);
	ck_assert(ev_is_active(&q.retry));
	ck_assert_uint_eq(queue_active(&q), DEPTH);
	ck_assert_int_eq(idle_calls, 0);

	ring_refusal_stop(&refusal);
	run_until_answered();
	ck_assert_uint_eq(io_uring_sq_ready(&q.ring), 0);
	ck_assert_uint_eq(queue_active(&q), 0);
	ck_assert(!ev_is_active(&q.retry));
	stop();
}
END_TEST

/* Runs of refusals in a row are logged once per interval, not each. */
START_TEST(test_refusals_logged_once)
{
	struct log_capture cap;
	char *text;

	start("null");
	log_capture_start(&cap);
	for (int run = 0; run < 3; run++) {
		idle_calls = 0;
		fill_sq();
		serve_elsewhere();
		expect_all_held(REQ_BYTES);
		run_until_answered();
	}
	text = log_capture_stop(&cap);
	ck_assert_int_eq(log_capture_count(text, "takes no more submissions"), 1);
	ck_assert_int_eq(log_capture_count(text, "takes submissions again"), 1);
	ck_assert_int_eq(log_capture_count(text, "command refused"), 3 * DEPTH);
	free(text);
	stop();
}
END_TEST

/* Ends FETCH_IO_CMDS i for want of buffers, as the kernel does. */
static void *fetch_ran_dry(void *arg)
{
	queue_batch_cqe(&q, queue_batch_fetch_ud((unsigned)(uintptr_t)arg), -ENOBUFS, 0);
	return NULL;
}

/* Runs the loop until the log captured by cap shows n FETCH_IO_CMDS
 * answered (the memfd refuses each), or 1.5 s pass (within Check's
 * timeout). */
static void run_until_fetches_ended(struct log_capture *cap, int n)
{
	char *text = NULL;

	for (int i = 0; i < 1500; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		free(text);
		text = log_capture_text(cap);
		if (log_capture_count(text, "FETCH_IO_CMDS ended") >= n) {
			free(text);
			return;
		}
		usleep(1000);
	}
	ck_abort_msg("FETCH_IO_CMDS was not sent again: %s", text);
}

/* A batch queue's FETCH_IO_CMDS that ran out of buffers is armed again
 * even when that first fails: when the ring takes no SQE (the retry
 * timer's flush arms it), and when its buffer ring cannot be registered
 * (logged once, whatever the flushes that try again; the retry timer
 * tries too). Each FETCH sent reaches the memfd, whose refusal ends it. */
START_TEST(test_batch_fetch_rearmed)
{
	struct ring_refusal refusal;
	struct log_capture cap;
	pthread_t t;
	char *text;

	start_ring("null", true, UBLK_F_BATCH_IO);
	ck_assert(q.batch);
	log_capture_start(&cap);
	/* The buffer rings are registered; the memfd refuses PREP_IO_CMDS. */
	ck_assert_int_lt(queue_batch_start(&q), 0);

	/* The ring takes no SQE: a full SQ whose submit, from a thread other
	 * than the ring's issuer, is refused. */
	fill_sq();
	ck_assert_int_eq(pthread_create(&t, NULL, fetch_ran_dry, (void *)1), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(q.submit_err, -EEXIST);
	ck_assert(ev_is_active(&q.retry));
	ck_assert_uint_eq(queue_active(&q), 0);
	run_until_fetches_ended(&cap, 1);
	text = log_capture_stop(&cap);
	ck_assert_int_eq(log_capture_count(text, "registering the buffer ring"), 0);
	ck_assert_uint_eq(queue_active(&q), 0);
	free(text);

	/* The buffer ring cannot be registered again (the ring's fd is
	 * /dev/null), while the loop's flushes try again. */
	log_capture_start(&cap);
	ring_refusal_start(&refusal, q.ring.ring_fd);
	fetch_ran_dry((void *)1);
	ck_assert(ev_is_active(&q.retry));
	for (int i = 0; i < 3; i++)
		queue_batch_flush(&q);
	ck_assert_uint_eq(queue_active(&q), 0);
	ck_assert_uint_eq(io_uring_sq_ready(&q.ring), 0);
	ring_refusal_stop(&refusal);
	run_until_fetches_ended(&cap, 1);
	text = log_capture_stop(&cap);
	ck_assert_int_eq(log_capture_count(text, "registering the buffer ring of FETCH_IO_CMDS 1"), 1);
	ck_assert_uint_eq(queue_active(&q), 0);
	free(text);

	for (int i = 0; i < 1000 && ev_is_active(&q.retry); i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	ck_assert(!ev_is_active(&q.retry));
	stop();
}
END_TEST

/* The suite. */
static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("held");

	tcase_add_test(tc, test_commit_held);
	tcase_add_test(tc, test_file_op_held);
	tcase_add_test(tc, test_refusals_logged_once);
	tcase_add_test(tc, test_flush_refused);
	tcase_add_test(tc, test_batch_fetch_rearmed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!getcwd(path, sizeof(path) - 64))
		return 99;
	snprintf(path + strlen(path), 64, "/check-queue-%d.img", (int)getpid());
	sr = srunner_create(queue_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unlink(path);
	return failed ? 1 : 0;
}
