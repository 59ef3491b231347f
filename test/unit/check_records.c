/* Unit tests of the state records over the real device registry and a fake
 * driver: a device with a recovery mode gets a record in device_add's form
 * when it goes live and loses it when it is deleted; a device without one
 * gets none; a record that cannot be read is moved aside and the device its
 * name gives is deleted from the kernel; the start-up recovery answers once. */
#include "config.h"
#include "backends/backend.h"
#include "daemon/device.h"
#include "daemon/records.h"
#include "common/log.h"
#include "test/unit/fake_driver.h"

#include <check.h>
#include <json-c/json.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ev_loop *loop;
static char dir[64];
static int answers, answer_err, recovered_calls;

/* Records the add's or delete's answer. */
static void on_done(void *arg, struct device *dev, int err, const char *msg)
{
	(void)arg;
	(void)dev;
	(void)msg;
	answers++;
	answer_err = err;
}

/* Counts the end of the start-up recovery. */
static void on_recovered(void *arg)
{
	(void)arg;
	recovered_calls++;
}

/* A path under the records' directory. */
static const char *rec_path(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/devices/%s", dir, name);
	return path;
}

/* A fresh directory, loop, fake driver, registry and records. */
static void setup(void)
{
	char err[256];

	log_init("check_records", LOG_LEVEL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/check_records.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	loop = ev_loop_new(EVFLAG_AUTO);
	fake_reset();
	answers = recovered_calls = 0;
	device_init_driver(loop, dir, &fake.ops);
	ck_assert_msg(records_init(dir, err, sizeof(err)) == 0, "records_init: %s", err);
}

/* Removes one entry of the test directory. */
static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Releases everything and removes the directory. */
static void teardown(void)
{
	ck_assert_uint_eq(device_count(), 0);
	records_shutdown();
	device_shutdown();
	ev_loop_destroy(loop);
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Adds the device spec describes and runs it to live. */
static void run_add(const struct device_spec *spec)
{
	device_add(spec, on_done, NULL);
	fake_run(loop);
	ck_assert_int_eq(answers, 1);
	ck_assert_int_eq(answer_err, 0);
}

/* Adds a 1 MiB fake device labelled "disk-one" with recovery mode and runs
 * it to live. */
static struct device *add_live(enum device_recovery recovery)
{
	struct device_spec spec = {
		.backend = &fake_backend_ops,
		.cfg = { .size = 1 << 20, .block_size = 512 },
		.args = { { .given = true, .bytes = 1 << 20 }, { .given = true, .text = "disk-one" } },
		.id = DEVICE_ID_AUTO,
		.queues = 2,
		.depth = 4,
		.recovery = recovery,
	};

	run_add(&spec);
	return device_find(0);
}

/* Reads a JSON file, or NULL. */
static struct json_object *read_json(const char *path)
{
	return json_object_from_file(path);
}

/* Returns member key of o as a string ("" when absent). */
static const char *member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* A live device's record holds its device_add params; deleting the device
 * removes it. */
START_TEST(test_record_written_and_removed)
{
	struct device *dev = add_live(DEVICE_RECOVERY_REISSUE);
	struct json_object *rec, *params;

	rec = read_json(rec_path("ublkb0.json"));
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(member(rec, "version"), "1");
	ck_assert_str_eq(member(rec, "id"), "0");
	ck_assert(json_object_object_get_ex(rec, "params", &params));
	ck_assert_str_eq(member(params, "backend"), "fake");
	ck_assert_str_eq(member(params, "id"), "0");
	ck_assert_str_eq(member(params, "queues"), "2");
	ck_assert_str_eq(member(params, "depth"), "4");
	ck_assert_str_eq(member(params, "block_size"), "512");
	ck_assert_str_eq(member(params, "recovery"), "reissue");
	ck_assert_str_eq(member(params, "size"), "1048576");
	ck_assert_str_eq(member(params, "label"), "disk-one");
	/* USER_RECOVERY, REISSUE and CMD_IOCTL_ENCODE (the fake encodes). */
	ck_assert_str_eq(member(rec, "flags"), "88");
	json_object_put(rec);

	answers = 0;
	device_del(dev, on_done, NULL);
	fake_run(loop);
	ck_assert_int_eq(answers, 1);
	ck_assert_int_eq(access(rec_path("ublkb0.json"), F_OK), -1);
}
END_TEST

/* A device that dies with the daemon has nothing to recover: no record. */
START_TEST(test_no_record_without_recovery)
{
	struct device *dev = add_live(DEVICE_RECOVERY_NONE);

	ck_assert_int_eq(access(rec_path("ublkb0.json"), F_OK), -1);
	device_del(dev, on_done, NULL);
	fake_run(loop);
}
END_TEST

/* Writes a truncated record for device 5, which the fake kernel holds with
 * flags (GET_DEV_INFO's answer). */
static void truncated_record(uint64_t flags)
{
	FILE *f = fopen(rec_path("ublkb5.json"), "w");

	ck_assert_ptr_nonnull(f);
	fputs("{\"version\":1,\"id\":5,\"par", f);
	fclose(f);
	fake.kernel_devs = 1;	/* the kernel still has device 5 */
	memset(&fake.dev_info, 0, sizeof(fake.dev_info));
	fake.dev_info.dev_id = 5;
	fake.dev_info.flags = flags;
	fake.dev_info_set = true;
}

/* A truncated record is moved aside and its device, added for recovery,
 * deleted from the kernel; the recovery ends once. */
START_TEST(test_bad_record_purges_its_device)
{
	truncated_record(UBLK_F_USER_RECOVERY | UBLK_F_CMD_IOCTL_ENCODE);
	records_recover_all(false, on_recovered, NULL);
	fake_run(loop);
	ck_assert_int_eq(recovered_calls, 1);
	ck_assert_int_eq(access(rec_path("ublkb5.json"), F_OK), -1);
	ck_assert_int_eq(access(rec_path("ublkb5.json.bad"), F_OK), 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV] + fake.submitted[0x14], 1);
	ck_assert_int_eq(fake.kernel_devs, 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_START_USER_RECOVERY], 0);
}
END_TEST

static int detached_calls;

/* Counts the end of a shutdown that keeps devices. */
static void on_detached(void *arg)
{
	(void)arg;
	detached_calls++;
}

/* Leaves device 0 (a 1 MiB device of backend name, added live with
 * reissue) in the fake kernel, quiesced, as a daemon restart does: its
 * record stays, and GET_DEV_INFO will answer what the kernel keeps of it
 * (its flags, or flags when non-zero). */
static void leave_backend_for_next_daemon(const char *name, uint64_t flags)
{
	/* A backend a record can name (the fake is in no table). */
	struct device_spec spec = {
		.backend = backends_find(name),
		.cfg = { .size = 1 << 20, .block_size = 512 },
		.args = { { .given = true, .bytes = 1 << 20 } },
		.id = DEVICE_ID_AUTO,
		.queues = 2,
		.depth = 4,
		.recovery = DEVICE_RECOVERY_REISSUE,
	};

	ck_assert_ptr_nonnull(spec.backend);
	run_add(&spec);
	memset(&fake.dev_info, 0, sizeof(fake.dev_info));
	fake.dev_info.dev_id = 0;
	fake.dev_info.nr_hw_queues = 2;
	fake.dev_info.queue_depth = 4;
	fake.dev_info.max_io_buf_bytes = 512 << 10;
	/* As the record says (its "flags": 88). */
	fake.dev_info.flags = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE |
			      UBLK_F_CMD_IOCTL_ENCODE;
	detached_calls = 0;
	device_detach_all(on_detached, NULL);
	fake_run(loop);
	ck_assert_int_eq(detached_calls, 1);
	ck_assert_uint_eq(device_count(), 0);
	ck_assert_int_eq(fake.kernel_devs, 1);
	ck_assert_int_eq(access(rec_path("ublkb0.json"), F_OK), 0);
	fake.dev_info.state = 2;	/* quiesced */
	if (flags)
		fake.dev_info.flags = flags;
	fake.dev_info_set = true;
	memset(fake.submitted, 0, sizeof(fake.submitted));
}

/* leave_backend_for_next_daemon for a null device. */
static void leave_for_next_daemon(uint64_t flags)
{
	leave_backend_for_next_daemon("null", flags);
}

/* The kernel's device of a record's id was not added with the record's
 * recovery flags (the id was reused by another server): the recovery
 * fails, its record is moved aside, and the device is left alone. */
START_TEST(test_foreign_device_left_alone)
{
	leave_for_next_daemon(UBLK_F_CMD_IOCTL_ENCODE);
	records_recover_all(false, on_recovered, NULL);
	fake_run(loop);
	ck_assert_int_eq(recovered_calls, 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV] + fake.submitted[0x14], 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_STOP_DEV], 0);
	ck_assert_int_eq(fake.kernel_devs, 1);
	ck_assert_int_eq(access(rec_path("ublkb0.json"), F_OK), -1);
	ck_assert_int_eq(access(rec_path("ublkb0.json.bad"), F_OK), 0);
	fake.kernel_devs = 0;
}
END_TEST

/* A recovery that fails once the backend is open (the kernel's device has
 * another size than the record's) deletes the kernel device and moves the
 * record aside, but lets go of the backend as for the next daemon: a mem
 * device's file, the device's data, is not deleted. */
START_TEST(test_failed_recovery_keeps_mem_file)
{
	struct json_object *rec, *saved, *file;
	char path[4096];

	leave_backend_for_next_daemon("mem", 0);
	rec = read_json(rec_path("ublkb0.json"));
	ck_assert_ptr_nonnull(rec);
	ck_assert(json_object_object_get_ex(rec, "saved", &saved));
	ck_assert(json_object_object_get_ex(saved, "backing_file", &file));
	snprintf(path, sizeof(path), "%s", json_object_get_string(file));
	json_object_put(rec);
	ck_assert_int_eq(access(path, F_OK), 0);
	fake.params.basic.dev_sectors *= 2;
	records_recover_all(false, on_recovered, NULL);
	fake_run(loop);
	ck_assert_int_eq(recovered_calls, 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_GET_PARAMS], 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_START_USER_RECOVERY], 0);
	ck_assert_int_eq(fake.kernel_devs, 0);
	ck_assert_uint_eq(device_count(), 0);
	ck_assert_int_eq(access(rec_path("ublkb0.json.bad"), F_OK), 0);
	ck_assert_msg(access(path, F_OK) == 0, "%s was deleted with the device", path);
	ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* A record without "saved" (a backend that saved nothing) is recovered,
 * not a crash. */
START_TEST(test_record_without_saved)
{
	struct json_object *rec;

	leave_for_next_daemon(0);
	rec = read_json(rec_path("ublkb0.json"));
	ck_assert_ptr_nonnull(rec);
	json_object_object_del(rec, "saved");
	ck_assert_int_eq(json_object_to_file(rec_path("ublkb0.json"), rec), 0);
	json_object_put(rec);
	records_recover_all(false, on_recovered, NULL);
	fake_run(loop);
	ck_assert_int_eq(recovered_calls, 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_END_USER_RECOVERY], 1);
	ck_assert_uint_eq(device_count(), 1);
	answers = 0;
	device_del(device_find(0), on_done, NULL);
	fake_run(loop);
	ck_assert_int_eq(answers, 1);
}
END_TEST

/* A shutdown that keeps devices, asked while a device is being recovered
 * (before START_USER_RECOVERY is answered): the device is left to the
 * next daemon once live, never stopped or deleted, and keeps its record. */
START_TEST(test_keep_devices_during_recovery)
{
	leave_for_next_daemon(0);
	records_recover_all(false, on_recovered, NULL);
	ck_assert(fake_answer_until(UBLK_CMD_START_USER_RECOVERY));
	detached_calls = 0;
	device_detach_all(on_detached, NULL);
	fake_run(loop);
	ck_assert_int_eq(detached_calls, 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_END_USER_RECOVERY], 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_STOP_DEV], 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV] + fake.submitted[0x14], 0);
	ck_assert_int_eq(fake.kernel_devs, 1);
	ck_assert_uint_eq(device_count(), 0);
	ck_assert_int_eq(access(rec_path("ublkb0.json"), F_OK), 0);
	fake.kernel_devs = 0;
}
END_TEST

/* A truncated record whose id the kernel holds for a device added without
 * recovery (another server's): only the record is moved aside. */
START_TEST(test_bad_record_leaves_foreign_device)
{
	truncated_record(UBLK_F_CMD_IOCTL_ENCODE);
	records_recover_all(false, on_recovered, NULL);
	fake_run(loop);
	ck_assert_int_eq(recovered_calls, 1);
	ck_assert_int_eq(access(rec_path("ublkb5.json.bad"), F_OK), 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_GET_DEV_INFO], 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV] + fake.submitted[0x14], 0);
	ck_assert_int_eq(fake.kernel_devs, 1);
	fake.kernel_devs = 0;
}
END_TEST

/* A record that reads but is refused (a backend this build lacks): moved
 * aside, and its device, added for recovery, deleted from the kernel
 * rather than left quiesced with no daemon to serve it. */
START_TEST(test_refused_record_purges_its_device)
{
	struct json_object *rec, *params;

	leave_for_next_daemon(0);
	rec = read_json(rec_path("ublkb0.json"));
	ck_assert_ptr_nonnull(rec);
	ck_assert(json_object_object_get_ex(rec, "params", &params));
	json_object_object_add(params, "backend", json_object_new_string("nosuch"));
	ck_assert_int_eq(json_object_to_file(rec_path("ublkb0.json"), rec), 0);
	json_object_put(rec);
	records_recover_all(false, on_recovered, NULL);
	fake_run(loop);
	ck_assert_int_eq(recovered_calls, 1);
	ck_assert_int_eq(access(rec_path("ublkb0.json.bad"), F_OK), 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_START_USER_RECOVERY], 0);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_DEL_DEV] + fake.submitted[0x14], 1);
	ck_assert_int_eq(fake.kernel_devs, 0);
}
END_TEST

/* No records: the recovery ends at once, once, and touches nothing. */
START_TEST(test_no_records)
{
	records_recover_all(false, on_recovered, NULL);
	ck_assert_int_eq(recovered_calls, 1);
	fake_run(loop);
	ck_assert_int_eq(recovered_calls, 1);
	ck_assert_uint_eq(fake.submitted[UBLK_CMD_GET_DEV_INFO], 0);
}
END_TEST

/* Builds the suite. */
static Suite *records_suite(void)
{
	Suite *s = suite_create("records");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_record_written_and_removed);
	tcase_add_test(tc, test_no_record_without_recovery);
	tcase_add_test(tc, test_bad_record_purges_its_device);
	tcase_add_test(tc, test_no_records);
	tcase_add_test(tc, test_foreign_device_left_alone);
	tcase_add_test(tc, test_record_without_saved);
	tcase_add_test(tc, test_keep_devices_during_recovery);
	tcase_add_test(tc, test_bad_record_leaves_foreign_device);
	tcase_add_test(tc, test_refused_record_purges_its_device);
	tcase_add_test(tc, test_failed_recovery_keeps_mem_file);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite; the exit status says whether every test passed. */
int main(void)
{
	SRunner *sr = srunner_create(records_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
