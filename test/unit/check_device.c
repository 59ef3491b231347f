/* Unit tests of the device add and delete pipelines on a fake driver: a
 * failure at each step leaves no kernel device, no open char device, no
 * queue and no open backend, and the caller is answered exactly once. */
#include "config.h"
#include "daemon/device.h"
#include "common/log.h"
#include "test/unit/fake_driver.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One caller's answers. */
struct answer {
	int calls;
	int err;
	char msg[512];
	struct device *dev;
	int closes_seen;	/* backend closes done when it was answered */
};

static struct ev_loop *loop;
static struct answer add_ans, del_ans;
static int all_done_calls;

/* Records an answer. */
static void on_done(void *arg, struct device *dev, int err, const char *msg)
{
	struct answer *a = arg;

	a->calls++;
	a->closes_seen = fake_be.closes;
	a->err = err;
	a->dev = dev;
	snprintf(a->msg, sizeof(a->msg), "%s", msg);
}

/* Counts device_del_all's end. */
static void on_all_done(void *arg)
{
	(void)arg;
	all_done_calls++;
}

/* The recovery mode add() asks for. */
static enum device_recovery add_recovery;

/* A fresh loop, fake and registry for each test. */
static void setup(void)
{
	log_init("check_device", LOG_LEVEL_ERROR);
	loop = ev_loop_new(EVFLAG_AUTO);
	fake_reset();
	memset(&add_ans, 0, sizeof(add_ans));
	memset(&del_ans, 0, sizeof(del_ans));
	all_done_calls = 0;
	add_recovery = DEVICE_RECOVERY_NONE;
	device_init_driver(loop, "/nonexistent", &fake.ops);
}

/* Checks nothing was left behind, then frees the loop. */
static void teardown(void)
{
	ck_assert_uint_eq(device_count(), 0);
	ck_assert_int_eq(fake.ncmds, 0);
	ck_assert_int_eq(fake.open_fds, 0);
	ck_assert_int_eq(fake.nqueues, 0);
	ck_assert_int_eq(fake_be.opens, fake_be.closes);
	device_shutdown();
	ev_loop_destroy(loop);
}

/* Asks for a 1 MiB device of two queues, labelled "disk-one" in a buffer
 * that dies with the request (the device keeps its own copy). */
static void add(void)
{
	char label[] = "disk-one";
	struct device_spec spec = {
		.recovery = add_recovery,
		.backend = &fake_backend_ops,
		.cfg = { .size = 1 << 20, .block_size = 512 },
		.args = { { .given = true, .bytes = 1 << 20 }, { .given = true, .text = label } },
		.id = DEVICE_ID_AUTO,
		.queues = 2,
		.depth = 4,
	};

	device_add(&spec, on_done, &add_ans);
	memset(label, 'X', sizeof(label) - 1);
}

/* The ADD_DEV flags of a device, as device_list shows them. */
static uint64_t device_view_flags(struct device *dev)
{
	struct device_view v;

	device_view(dev, &v);
	return v.flags;
}

/* Adds a device and runs it to live. */
static struct device *add_live(void)
{
	struct device_view view;

	add();
	fake_run(loop);
	ck_assert_int_eq(add_ans.calls, 1);
	ck_assert_int_eq(add_ans.err, 0);
	ck_assert_ptr_nonnull(add_ans.dev);
	ck_assert_int_eq(fake.kernel_devs, 1);
	ck_assert_int_eq(fake.open_fds, 1);
	ck_assert_int_eq(fake.nqueues, 2);
	ck_assert_str_eq(fake_be.label, "disk-one");
	device_view(add_ans.dev, &view);
	ck_assert_str_eq(view.args[1].text, "disk-one");
	return add_ans.dev;
}

/* Checks a failed add: answered once with err and a message starting with
 * msg, and everything undone (the backend abandoned if it was opened). */
static void assert_add_failed(int err, const char *msg)
{
	ck_assert_int_eq(add_ans.calls, 1);
	ck_assert_int_eq(add_ans.err, err);
	ck_assert_ptr_null(add_ans.dev);
	ck_assert_msg(strncmp(add_ans.msg, msg, strlen(msg)) == 0,
		      "message '%s' does not start with '%s'", add_ans.msg, msg);
	ck_assert_int_eq(fake.kernel_devs, 0);
	ck_assert_int_eq(fake_be.abandons, fake_be.opens);
	ck_assert_int_eq(fake_be.closes, fake_be.opens);
}

/* How a step of the add is made to fail. */
struct add_failure {
	enum { F_BACKEND, F_CMD, F_WAIT_SYNC, F_WAIT_ASYNC, F_CDEV, F_SETUP, F_FETCH } kind;
	int nr;
	int res;
	bool sync;
	const char *msg;
};

static const struct add_failure add_failures[] = {
	{ F_BACKEND, 0, -EIO, false, "fake backend: cannot open the fake" },
	{ F_CMD, UBLK_CMD_ADD_DEV, -EIO, true, "sending ADD_DEV: " },
	{ F_CMD, UBLK_CMD_ADD_DEV, -EIO, false, "ADD_DEV failed: " },
	{ F_CMD, UBLK_CMD_ADD_DEV, -EEXIST, false, "device id 4294967295 is already in use" },
	{ F_CMD, UBLK_CMD_ADD_DEV, -ETIMEDOUT, false, "ADD_DEV failed: " },
	{ F_WAIT_SYNC, 0, -EIO, false, "fake backend: the fake index is broken" },
	{ F_WAIT_ASYNC, 0, -EIO, false, "fake backend: the fake index failed" },
	{ F_CMD, UBLK_CMD_SET_PARAMS, -EIO, true, "sending SET_PARAMS: " },
	{ F_CMD, UBLK_CMD_SET_PARAMS, -EINVAL, false, "SET_PARAMS failed: " },
	{ F_CDEV, 0, -EPERM, false, "cannot open /dev/ublkc0: " },
	{ F_SETUP, 1, -ENOMEM, false, "setting up queue 1: " },
	{ F_FETCH, 1, -EIO, false, "FETCH on queue 1: " },
	{ F_CMD, UBLK_CMD_START_DEV, -EIO, true, "sending START_DEV: " },
	{ F_CMD, UBLK_CMD_START_DEV, -EIO, false, "START_DEV failed: " },
	{ F_CMD, UBLK_CMD_START_DEV, -ETIMEDOUT, false, "START_DEV failed: " },
};

/* A failure injected at each step of the add unwinds everything. */
START_TEST(test_add_fails_at_each_step)
{
	const struct add_failure *f = &add_failures[_i];

	switch (f->kind) {
	case F_BACKEND: fake_be.open_res = f->res; break;
	case F_CMD:
		fake.fail_nr = f->nr;
		fake.fail_res = f->res;
		fake.fail_sync = f->sync;
		break;
	case F_WAIT_SYNC: fake_be.wait_mode = f->res; break;
	case F_WAIT_ASYNC: fake_be.wait_mode = 1; break;
	case F_CDEV: fake.cdev_res = f->res; break;
	case F_SETUP: fake.fail_setup_queue = f->nr; break;
	case F_FETCH: fake.fail_fetch_queue = f->nr; break;
	}
	add();
	if (f->kind == F_WAIT_ASYNC) {
		fake_answer_one();	/* ADD_DEV */
		ck_assert_ptr_nonnull(fake_be.cb);
		fake_backend_ready(f->res);
	}
	fake_run(loop);
	assert_add_failed(f->res, f->msg);
	if (f->kind == F_BACKEND || (f->kind == F_CMD && f->nr == UBLK_CMD_ADD_DEV))
		ck_assert_uint_eq(fake.submitted[0x14], 0);	/* nothing to delete */
	else
		ck_assert_uint_eq(fake.submitted[0x14], 1);
}
END_TEST

/* /dev/ublkcN shows up late: the open is retried on the loop. */
START_TEST(test_add_waits_for_devtmpfs)
{
	fake.cdev_enoent = 3;
	add_live();
	ck_assert_int_eq(fake.cdev_enoent, 0);
	device_del(add_ans.dev, on_done, &del_ans);
	fake_run(loop);
	ck_assert_int_eq(del_ans.calls, 1);
}
END_TEST

/* Checks that the detach finished and left the device in the kernel with
 * our side released (its queues left open for the exit: left of them),
 * then hands the device to "the next daemon". */
static void check_left_in_kernel(int left)
{
	ck_assert_int_eq(all_done_calls, 1);
	ck_assert_uint_eq(device_count(), 0);
	ck_assert_int_eq(fake.nqueues, 0);
	ck_assert_int_eq(fake.left_queues, left);
	ck_assert_int_eq(fake.open_fds, 0);
	ck_assert_int_eq(fake.kernel_devs, 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_STOP_DEV], 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV], 0);
	fake.kernel_devs = 0;	/* the next daemon's */
}

/* Leaving devices to the next daemon without QUIESCE_DEV (a 6.12 driver):
 * at once, the queues stop being served but are left open for the daemon's
 * exit (closing them while it lives can strand a request), the char device
 * is closed, the backend is let go of (the fake has no detach: closed, not
 * abandoned), the kernel device stays. */
START_TEST(test_detach_without_quiesce)
{
	struct device *dev;

	add_recovery = DEVICE_RECOVERY_REISSUE;
	dev = add_live();
	ck_assert_uint_eq(device_view_flags(dev) & UBLK_F_QUIESCE, 0);
	ck_assert_uint_eq(device_view_flags(dev) & UBLK_F_USER_RECOVERY_REISSUE,
			  UBLK_F_USER_RECOVERY_REISSUE);
	device_detach_all(on_all_done, NULL);
	fake_run(loop);
	ck_assert_uint_eq(fake.submitted[0x16], 0);
	ck_assert_int_eq(fake_be.closes, 1);
	ck_assert_int_eq(fake_be.abandons, 0);
	check_left_in_kernel(2);
}
END_TEST

/* With QUIESCE (7.3): ADD_DEV asks for it, detach sends QUIESCE_DEV and
 * waits until every request handed to the daemon is answered (no backend
 * operation in flight) before it lets go, whatever commands the kernel
 * still holds; the kernel device stays. */
START_TEST(test_detach_with_quiesce)
{
	struct device *dev;

	fake.features = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_QUIESCE;
	add_recovery = DEVICE_RECOVERY_REISSUE;
	dev = add_live();
	ck_assert_uint_eq(device_view_flags(dev) & UBLK_F_QUIESCE, UBLK_F_QUIESCE);
	device_detach_all(on_all_done, NULL);
	ck_assert_uint_eq(fake.submitted[0x16], 1);
	ck_assert(fake.queues[0]->watch_drain && fake.queues[1]->watch_drain);
	fake.queues[1]->backend_inflight = 1;	/* a file read still running */
	ck_assert(fake_answer_until(0x16));
	fake_answer_one();
	/* Quiesced, but a request is still being served: nothing released. */
	ck_assert_int_eq(fake.nqueues, 2);
	ck_assert_int_eq(all_done_calls, 0);
	/* It is answered; the kernel still holds the other commands. */
	fake.queues[1]->backend_inflight = 0;
	fake.queues[1]->idle(fake.queues[1]->idle_arg, fake.queues[1]);
	fake_run(loop);
	check_left_in_kernel(0);	/* quiesced and drained: closed */
}
END_TEST

/* QUIESCE_DEV refused: requests may still arrive, so the queues are left
 * open for the daemon's exit, as without QUIESCE_DEV; the device stays. */
START_TEST(test_detach_quiesce_fails)
{
	fake.features = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_QUIESCE;
	add_recovery = DEVICE_RECOVERY_REISSUE;
	add_live();
	fake.fail_nr = 0x16;
	fake.fail_res = -EINVAL;
	device_detach_all(on_all_done, NULL);
	fake_run(loop);
	ck_assert_uint_eq(fake.submitted[0x16], 1);
	check_left_in_kernel(2);
}
END_TEST

/* Without a recovery mode there is nothing to leave: detach deletes. */
START_TEST(test_detach_deletes_without_recovery)
{
	add_live();
	device_detach_all(on_all_done, NULL);
	ck_assert(fake_answer_until(UBLK_CMD_STOP_DEV));
	fake_answer_one();
	fake_abort_queues();
	fake_run(loop);
	ck_assert_int_eq(all_done_calls, 1);
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* A full add and delete: the backend is closed, not abandoned. */
START_TEST(test_add_then_del)
{
	struct device *dev = add_live();

	ck_assert_ptr_eq(device_find(0), dev);
	ck_assert_int_eq(fake_be.abandons, 0);
	device_del(dev, on_done, &del_ans);
	/* STOP_DEV answered first, then the kernel aborts the tags. */
	ck_assert(fake_answer_until(UBLK_CMD_STOP_DEV));
	fake_answer_one();
	ck_assert_int_eq(fake.nqueues, 2);
	ck_assert_uint_eq(fake.submitted[0x14], 0);
	fake_abort_queues();
	ck_assert_uint_eq(fake.submitted[0x14], 1);
	ck_assert_int_eq(fake.nqueues, 0);
	ck_assert_int_eq(fake.open_fds, 0);
	fake_run(loop);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_int_eq(del_ans.err, 0);
	/* The reply may reach the client at once: by then a mem device's
	 * file must be gone, so the backend is closed before the answer. */
	ck_assert_int_eq(del_ans.closes_seen, 1);
	ck_assert_int_eq(add_ans.calls, 1);
	ck_assert_int_eq(fake.kernel_devs, 0);
	ck_assert_int_eq(fake_be.abandons, 0);
	ck_assert_int_eq(fake_be.closes, 1);
}
END_TEST

/* The tags are aborted before STOP_DEV answers: release waits for it. */
START_TEST(test_del_abort_before_stop_answer)
{
	device_del(add_live(), on_done, &del_ans);
	fake_abort_queues();
	ck_assert_int_eq(fake.nqueues, 2);
	ck_assert_uint_eq(fake.submitted[0x14], 0);
	fake_run(loop);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_int_eq(del_ans.err, 0);
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* How a step of the delete is made to fail, and what the caller hears. */
struct del_failure {
	int nr;
	int res;
	bool sync;
	int err;		/* the delete's answer */
	int kernel_devs;	/* what the fake kernel still holds */
};

static const struct del_failure del_failures[] = {
	{ UBLK_CMD_STOP_DEV, -EIO, true, 0, 0 },	/* logged; release at once */
	{ UBLK_CMD_STOP_DEV, -EIO, false, 0, 0 },	/* logged; goes on */
	{ UBLK_CMD_STOP_DEV, -ETIMEDOUT, false, 0, 0 },
	{ 0x14, -EOPNOTSUPP, false, 0, 0 },		/* before 6.9: DEL_DEV */
	{ 0x14, -EIO, false, -EIO, 1 },
	{ 0x14, -EIO, true, -EIO, 1 },
	{ 0x14, -ETIMEDOUT, false, -ETIMEDOUT, 1 },
};

/* A failure injected at each step of the delete still releases our side
 * and answers once. */
START_TEST(test_del_fails_at_each_step)
{
	const struct del_failure *f = &del_failures[_i];

	add_live();
	fake.fail_nr = f->nr;
	fake.fail_res = f->res;
	fake.fail_sync = f->sync;
	device_del(add_ans.dev, on_done, &del_ans);
	fake_run(loop);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_int_eq(del_ans.err, f->err);
	if (f->err)
		ck_assert_str_eq(del_ans.msg, f->res == -EIO ? "DEL_DEV failed: Input/output error"
				 : "DEL_DEV failed: Connection timed out");
	ck_assert_int_eq(fake.kernel_devs, f->kernel_devs);
	if (f->res == -EOPNOTSUPP)
		ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV], 1);
	ck_assert_int_eq(fake_be.closes, 1);
	ck_assert_int_eq(fake_be.abandons, 0);
}
END_TEST

/* Kernels with legacy command numbers get DEL_DEV, not DEL_DEV_ASYNC. */
START_TEST(test_del_legacy)
{
	fake.ioctl_encoded = false;
	device_del(add_live(), on_done, &del_ans);
	fake_run(loop);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_uint_eq(fake.submitted[0x14], 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV], 1);
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* A device still starting cannot be deleted: -EBUSY, nothing changes. */
START_TEST(test_del_while_starting)
{
	add();
	fake_answer_until(UBLK_CMD_SET_PARAMS);
	device_del(device_find(0), on_done, &del_ans);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_int_eq(del_ans.err, -EBUSY);
	ck_assert_str_eq(del_ans.msg, "device 0 is starting; try again when it is live");
	fake_run(loop);
	ck_assert_int_eq(add_ans.calls, 1);
	ck_assert_int_eq(add_ans.err, 0);
	memset(&del_ans, 0, sizeof(del_ans));
	device_del(add_ans.dev, on_done, &del_ans);
	fake_run(loop);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* Deleted while the backend is not ready: the add fails, the delete works. */
START_TEST(test_del_while_backend_waits)
{
	fake_be.wait_mode = 1;
	add();
	fake_answer_one();	/* ADD_DEV */
	ck_assert_ptr_nonnull(fake_be.cb);
	device_del(device_find(0), on_done, &del_ans);
	ck_assert_ptr_null(fake_be.cb);
	ck_assert_int_eq(add_ans.calls, 1);
	ck_assert_int_eq(add_ans.err, -ECANCELED);
	ck_assert_str_eq(add_ans.msg, "deleted before the fake backend was ready");
	ck_assert_int_eq(del_ans.calls, 0);
	fake_run(loop);
	ck_assert_int_eq(add_ans.calls, 1);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_int_eq(del_ans.err, 0);
	ck_assert_int_eq(fake.kernel_devs, 0);
	ck_assert_int_eq(fake_be.abandons, 1);
}
END_TEST

/* The kernel stops a live device: it shows as failed, and deletes. */
START_TEST(test_kernel_stops_live_device)
{
	struct device *dev = add_live();

	fake_abort_queues();
	ck_assert_int_eq(fake.nqueues, 2);	/* nothing released yet */
	device_del(dev, on_done, &del_ans);
	fake_run(loop);
	ck_assert_int_eq(del_ans.calls, 1);
	ck_assert_int_eq(del_ans.err, 0);
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* Where device_del_all arrives in the add. */
enum del_all_point { AT_ADD_DEV, AT_WAIT, AT_SET_PARAMS, AT_OPEN_CDEV, AT_START_DEV, AT_LIVE };

/* device_del_all during each step of the add deletes everything once. */
START_TEST(test_del_all_during_each_step)
{
	enum del_all_point at = (enum del_all_point)_i;

	if (at == AT_WAIT)
		fake_be.wait_mode = 1;
	if (at == AT_OPEN_CDEV)
		fake.cdev_enoent = 2;
	add();
	switch (at) {
	case AT_ADD_DEV: ck_assert(fake_answer_until(UBLK_CMD_ADD_DEV)); break;
	case AT_WAIT: fake_answer_one(); ck_assert_ptr_nonnull(fake_be.cb); break;
	case AT_SET_PARAMS: ck_assert(fake_answer_until(UBLK_CMD_SET_PARAMS)); break;
	case AT_OPEN_CDEV: fake_answer_one(); fake_answer_one(); break;
	case AT_START_DEV: ck_assert(fake_answer_until(UBLK_CMD_START_DEV)); break;
	case AT_LIVE: fake_run(loop); break;
	}
	device_del_all(on_all_done, NULL);
	fake_run(loop);
	ck_assert_int_eq(all_done_calls, 1);
	ck_assert_int_eq(add_ans.calls, 1);
	if (at == AT_WAIT) {
		ck_assert_int_eq(add_ans.err, -ECANCELED);
		ck_assert_str_eq(add_ans.msg, "the daemon is shutting down; the fake backend "
				 "was not ready yet");
	} else {
		ck_assert_int_eq(add_ans.err, 0);
	}
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* Shutdown while the backend is asked whether it is ready: no wait at all. */
START_TEST(test_del_all_before_backend_wait)
{
	fake_be.wait_mode = 1;
	add();
	device_del_all(on_all_done, NULL);	/* ADD_DEV still pending */
	fake_run(loop);
	ck_assert_int_eq(all_done_calls, 1);
	ck_assert_int_eq(add_ans.calls, 1);
	ck_assert_int_eq(add_ans.err, -ECANCELED);
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* Builds the suite. */
static Suite *device_suite(void)
{
	Suite *s = suite_create("device");
	TCase *tc = tcase_create("pipelines");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_add_fails_at_each_step, 0,
			    sizeof(add_failures) / sizeof(add_failures[0]));
	tcase_add_test(tc, test_add_waits_for_devtmpfs);
	tcase_add_test(tc, test_add_then_del);
	tcase_add_test(tc, test_detach_without_quiesce);
	tcase_add_test(tc, test_detach_with_quiesce);
	tcase_add_test(tc, test_detach_quiesce_fails);
	tcase_add_test(tc, test_detach_deletes_without_recovery);
	tcase_add_test(tc, test_del_abort_before_stop_answer);
	tcase_add_loop_test(tc, test_del_fails_at_each_step, 0,
			    sizeof(del_failures) / sizeof(del_failures[0]));
	tcase_add_test(tc, test_del_legacy);
	tcase_add_test(tc, test_del_while_starting);
	tcase_add_test(tc, test_del_while_backend_waits);
	tcase_add_test(tc, test_kernel_stops_live_device);
	tcase_add_loop_test(tc, test_del_all_during_each_step, AT_ADD_DEV, AT_LIVE + 1);
	tcase_add_test(tc, test_del_all_before_backend_wait);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite. */
int main(void)
{
	SRunner *sr = srunner_create(device_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
