/* Unit tests of the rbd backend without a cluster: its pure helpers, its
 * parameter checks, and the connection made off the loop failing cleanly
 * (a configuration naming no monitor) through a real libev loop, and the
 * closing thread. */
#include "config.h"
#include "backends/backend.h"
#include "backends/rbd.h"
#include "daemon/evwatch.h"
#include "test/unit/backend_test.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct backend_ops *rbd;
static struct backend_arg args[BACKEND_MAX_PARAMS];
static struct backend_config cfg;
static struct ev_loop *loop;
static struct evwatch ew;
static char conf_path[64];

/* A config for pool "p", image "img", served from a fresh loop. */
static void setup(void)
{
	rbd = backends_find("rbd");
	ck_assert_ptr_nonnull(rbd);
	memset(args, 0, sizeof(args));
	memset(&cfg, 0, sizeof(cfg));
	test_arg_text(rbd, args, "pool", "p");
	test_arg_text(rbd, args, "image", "img");
	cfg.args = args;
	cfg.block_size = 512;
	cfg.queues = 2;
	cfg.depth = 4;
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	evwatch_init(&ew, loop);
	cfg.loop = &ew.ops;
	conf_path[0] = 0;
}

/* Frees the loop and any configuration file written. */
static void teardown(void)
{
	if (conf_path[0])
		unlink(conf_path);
	ev_loop_destroy(loop);
}

/* Writes a Ceph configuration holding text; its path is cfg's conf. */
static void write_conf(const char *text)
{
	int fd;

	snprintf(conf_path, sizeof(conf_path), "/tmp/check_rbd-XXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	test_arg_text(rbd, args, "conf", conf_path);
}

START_TEST(test_device_size)
{
	ck_assert_uint_eq(rbd_device_size(256ULL << 20, 512), 256ULL << 20);
	ck_assert_uint_eq(rbd_device_size((256ULL << 20) + 1000, 4096), 256ULL << 20);
	ck_assert_uint_eq(rbd_device_size(4095, 4096), 0);
	ck_assert_uint_eq(rbd_device_size(4096, 0), 0);
}
END_TEST

START_TEST(test_label_and_error)
{
	char buf[128];

	rbd_label(buf, sizeof(buf), "rbd", "img", NULL);
	ck_assert_str_eq(buf, "rbd/img");
	rbd_label(buf, sizeof(buf), "rbd", "img", "s1");
	ck_assert_str_eq(buf, "rbd/img@s1");
	rbd_error(buf, sizeof(buf), "opening image", "rbd/img", -EPERM);
	ck_assert_str_eq(buf, "opening image rbd/img: Operation not permitted");
}
END_TEST

/* The backend serves through submit and learns its size when ready. */
START_TEST(test_ops)
{
	ck_assert_ptr_nonnull(rbd->submit);
	ck_assert_ptr_nonnull(rbd->wait_ready);
	ck_assert_ptr_nonnull(rbd->ready_geometry);
	ck_assert_ptr_null(rbd->plan);
	ck_assert_ptr_null(rbd->read);
	ck_assert_ptr_nonnull(test_arg(rbd, args, "client_id"));
	ck_assert_ptr_nonnull(test_arg(rbd, args, "snap"));
}
END_TEST

START_TEST(test_missing_conf)
{
	struct backend_geometry geo;
	char err[256] = "";
	void *priv = NULL;

	test_arg_text(rbd, args, "conf", "/nonexistent/ceph.conf");
	ck_assert_int_eq(rbd->open(&priv, &cfg, &geo, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(priv);
	ck_assert_str_eq(err, "cannot read the Ceph configuration /nonexistent/ceph.conf: "
		"No such file or directory");
}
END_TEST

START_TEST(test_missing_pool)
{
	struct backend_geometry geo;
	char err[256] = "";
	void *priv = NULL;

	test_arg_text(rbd, args, "pool", NULL);
	ck_assert_int_eq(rbd->open(&priv, &cfg, &geo, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "pool and image are required");
}
END_TEST

static int ready_res = 1;
static char ready_msg[512];

/* Records how the connection ended and stops the loop. */
static void on_ready(void *arg, int res, const char *msg)
{
	(void)arg;
	ready_res = res;
	snprintf(ready_msg, sizeof(ready_msg), "%s", msg ? msg : "");
	ev_break(loop, EVBREAK_ALL);
}

/* A configuration without monitors: the thread fails, the loop hears it
 * through the eventfd, and the add gets librados' reason. */
START_TEST(test_no_monitor)
{
	struct backend_geometry geo;
	char err[256] = "";
	void *priv = NULL;
	int ret;

	write_conf("[global]\nauth_client_required = none\nlog_to_stderr = false\n"
		   "err_to_stderr = false\n");
	ck_assert_int_eq(rbd->open(&priv, &cfg, &geo, err, sizeof(err)), 0);
	ck_assert_uint_eq(geo.size, 0);
	ck_assert(!geo.volatile_cache);	/* librbd's cache is off by default */
	ck_assert(!geo.read_only);
	ret = rbd->wait_ready(priv, on_ready, NULL, err, sizeof(err));
	if (ret == 1)
		ev_run(loop, 0);
	else
		ready_res = ret;
	ck_assert_int_lt(ready_res, 0);
	ck_assert_msg(strstr(ret == 1 ? ready_msg : err, "rados_connect"), "message: %s",
		      ret == 1 ? ready_msg : err);
	rbd->close(priv);
}
END_TEST

/* cache asks for librbd's write-back cache: the device has a volatile
 * cache and says rbd_cache; without it, neither. */
START_TEST(test_cache_flag)
{
	for (int cache = 0; cache < 2; cache++) {
		struct backend_geometry geo;
		struct json_object *d, *v;
		char err[256] = "";
		void *priv = NULL;

		write_conf("[global]\nauth_client_required = none\nlog_to_stderr = false\n"
			   "err_to_stderr = false\nrbd_cache = true\n");
		test_arg_flag(rbd, args, "cache", cache);
		ck_assert_int_eq(rbd->open(&priv, &cfg, &geo, err, sizeof(err)), 0);
		ck_assert_int_eq(geo.volatile_cache, cache);
		d = test_describe(rbd, priv);
		ck_assert(json_object_object_get_ex(d, "rbd_cache", &v));
		ck_assert_int_eq(json_object_get_boolean(v), cache);
		json_object_put(d);
		rbd->close(priv);
		unlink(conf_path);
		conf_path[0] = 0;
	}
	usleep(200000);	/* let the detached threads finish under the test */
}
END_TEST

/* close while the thread connects: nothing is called back, nothing leaks
 * onto the loop (the thread cleans up). */
START_TEST(test_close_while_connecting)
{
	struct backend_geometry geo;
	char err[256] = "";
	void *priv = NULL;

	write_conf("[global]\nauth_client_required = none\nlog_to_stderr = false\n"
		   "err_to_stderr = false\n");
	test_arg_text(rbd, args, "snap", "s1");
	ck_assert_int_eq(rbd->open(&priv, &cfg, &geo, err, sizeof(err)), 0);
	ck_assert(geo.read_only);
	ck_assert_uint_eq(geo.max_discard_bytes, 0);
	ready_res = 1;
	ck_assert_int_ge(rbd->wait_ready(priv, on_ready, NULL, err, sizeof(err)), 0);
	rbd->close(priv);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(ready_res, 1);
	usleep(200000);	/* let the detached thread finish under the test */
}
END_TEST

/* rbd_close_async returns at once and its thread closes what it was
 * given: a cluster handle and the fd (the write end of a pipe, so its
 * close is seen as end of file on the read end). */
START_TEST(test_close_async)
{
	rados_t cluster;
	int p[2];
	char c;
	double t0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(rados_create(&cluster, NULL), 0);
	t0 = ev_time();
	rbd_close_async(cluster, NULL, NULL, NULL, NULL, p[1], "test/image");
	ck_assert_msg(ev_time() - t0 < 1.0, "rbd_close_async waited %.2f s", ev_time() - t0);
	ck_assert_int_eq(read(p[0], &c, 1), 0);	/* blocks until the thread closes it */
	ck_assert_double_lt(ev_time() - t0, 10.0);
	close(p[0]);
	rbd_close_async(NULL, NULL, NULL, NULL, NULL, -1, "nothing");	/* nothing to close */
}
END_TEST

/* Connecting threads are bounded: with room for 3, a fourth add is refused
 * at once with a message saying why (room comes back when a thread is
 * done, which librados decides, not the close). Meanwhile the two adds of
 * one configuration wait on one shared client: one registry entry (the
 * third, with own_client, connects outside the registry; e2e 85 checks
 * that such a device has a client of its own). */
START_TEST(test_connecting_bound)
{
	struct backend_geometry geo;
	char err[256] = "";
	void *priv[4] = { NULL };
	double t0;

	/* A monitor that refuses: librados hunts for it until the add's
	 * bound, so the threads stay. */
	write_conf("[global]\nauth_client_required = none\nlog_to_stderr = false\n"
		   "err_to_stderr = false\nmon_host = 127.0.0.1:9\n");
	rbd_connecting_set_max(3);
	for (int i = 0; i < 3; i++) {
		if (i == 2)
			test_arg_flag(rbd, args, "own_client", true);
		ck_assert_int_eq(rbd->open(&priv[i], &cfg, &geo, err, sizeof(err)), 0);
	}
	t0 = ev_time();
	ck_assert_int_eq(rbd->open(&priv[3], &cfg, &geo, err, sizeof(err)), -EAGAIN);
	ck_assert_double_lt(ev_time() - t0, 1.0);
	ck_assert_msg(strstr(err, "3 rbd connections, the most at once, still wait") != NULL, "message: %s", err);
	while (rbd_cluster_count() == 0 && ev_time() - t0 < 5)
		usleep(10000);
	usleep(200000);		/* every thread has reached the registry or passed it */
	ck_assert_uint_eq(rbd_cluster_count(), 1);
	for (int i = 0; i < 3; i++)
		rbd->close(priv[i]);
	/* The threads end when librados gives up (15 s): wait, so that none
	 * runs while the process exits. */
	t0 = ev_time();
	while (rbd_connecting_count() > 0 && ev_time() - t0 < 40)
		usleep(100000);
	ck_assert_uint_eq(rbd_connecting_count(), 0);
	ck_assert_uint_eq(rbd_cluster_count(), 0);
	rbd_connecting_set_max(RBD_MAX_CONNECTING);
}
END_TEST

/* Closing threads are bounded: with no room, closes queue (and return at
 * once, nothing closed); with room for 1, one thread works through the
 * queue, no second one starts, and every queued close is done. */
START_TEST(test_closing_bound)
{
	enum { N = 6 };
	struct pollfd pf;
	int p[N][2];
	unsigned threads, waiting;
	char c;
	double t0 = ev_time();

	/* Closes of earlier tests (one process under valgrind) finish first. */
	do {
		rbd_close_counts(&threads, &waiting);
	} while ((threads || waiting) && ev_time() - t0 < 20 && usleep(50000) == 0);
	ck_assert_uint_eq(threads + waiting, 0);
	rbd_closing_set_max(0);
	for (int i = 0; i < N; i++) {
		rados_t cluster;

		ck_assert_int_eq(pipe(p[i]), 0);
		ck_assert_int_eq(rados_create(&cluster, NULL), 0);
		rbd_close_async(cluster, NULL, NULL, NULL, NULL, p[i][1], "test/image");
	}
	rbd_close_counts(&threads, &waiting);
	ck_assert_uint_eq(threads, 0);
	ck_assert_uint_eq(waiting, N);
	pf = (struct pollfd){ .fd = p[0][0], .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 100), 0);	/* not closed: queued */
	rbd_closing_set_max(1);
	for (int i = 0; i < N; i++) {
		rbd_close_counts(&threads, &waiting);
		ck_assert_uint_le(threads, 1);
		ck_assert_int_eq(read(p[i][0], &c, 1), 0);	/* until its close is done */
		close(p[i][0]);
	}
	rbd_closing_set_max(RBD_MAX_CLOSING);
}
END_TEST

/* Runs an add whose thread hunts for a monitor that refuses, then exits
 * with status 7 after delay_us, in a child; returns the child's status and
 * how long its exit took, in *took. */
static int exit_while_connecting(unsigned wait_s, unsigned delay_us, double *took)
{
	int status, p[2];
	double t0;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct backend_geometry geo;
		char err[256] = "";
		void *priv = NULL;

		close(p[0]);
		rbd_exit_set_wait(wait_s);
		if (rbd->open(&priv, &cfg, &geo, err, sizeof(err)) < 0)
			_exit(3);
		usleep(delay_us);
		if (write(p[1], "x", 1) != 1)
			_exit(4);
		exit(7);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);	/* the child calls exit now */
	t0 = ev_time();
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*took = ev_time() - t0;
	close(p[0]);
	return status;
}

/* The process exits while an add's thread still waits for the cluster:
 * librados' exit handlers abort under such a thread (seen: SIGABRT from
 * boost::bad_get), so the exit waits for it, a bounded time, and past that
 * ends at once; either way with the process's own status. */
START_TEST(test_exit_while_connecting)
{
	double took;
	int st;

	write_conf("[global]\nauth_client_required = none\nlog_to_stderr = false\n"
		   "err_to_stderr = false\nmon_host = 127.0.0.1:9\n");
	/* A wait of 1 s ends with the thread still hunting: ended at once. */
	for (unsigned round = 0; round < 6; round++) {
		st = exit_while_connecting(1, round * 40000, &took);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7,
			      "round %u: the process ended with status 0x%x", round, st);
		ck_assert_msg(took < 5.0, "round %u: the exit took %.1f s", round, took);
	}
	/* The default wait outlasts librados' hunt (RBD_MON_TIMEOUT s): the
	 * thread ends first and the exit is a normal one. */
	st = exit_while_connecting(RBD_CLOSE_EXIT_WAIT, 0, &took);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7, "the process ended with status 0x%x", st);
	ck_assert_msg(took >= RBD_MON_TIMEOUT - 3 && took < RBD_CLOSE_EXIT_WAIT,
		      "the exit took %.1f s", took);
}
END_TEST

/* The suite. */
static Suite *rbd_suite(void)
{
	Suite *s = suite_create("rbd");
	TCase *tc = tcase_create("rbd");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_device_size);
	tcase_add_test(tc, test_label_and_error);
	tcase_add_test(tc, test_ops);
	tcase_add_test(tc, test_missing_conf);
	tcase_add_test(tc, test_missing_pool);
	tcase_add_test(tc, test_no_monitor);
	tcase_add_test(tc, test_close_while_connecting);
	tcase_add_test(tc, test_cache_flag);
	tcase_add_test(tc, test_close_async);
	tcase_add_test(tc, test_connecting_bound);
	tcase_add_test(tc, test_closing_bound);
	tcase_add_test(tc, test_exit_while_connecting);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite. */
int main(void)
{
	SRunner *sr = srunner_create(rbd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
