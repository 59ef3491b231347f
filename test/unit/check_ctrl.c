/* Unit tests of the ublk command encodings against the kernel's values,
 * and of the control ring when the kernel refuses a submit. */
#include "config.h"
#include "daemon/ctrl.h"
#include "common/ublk_uapi.h"
#include "test/unit/ring_refusal.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

START_TEST(test_ioctl_values)
{
	/* Values as the kernel header defines them (7.3). */
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_GET_DEV_INFO), 0x80207502);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_ADD_DEV), 0xC0207504);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_DEL_DEV), 0xC0207505);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_START_DEV), 0xC0207506);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_STOP_DEV), 0xC0207507);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_SET_PARAMS), 0xC0207508);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_GET_PARAMS), 0x80207509);
	ck_assert_uint_eq(ctrl_opcode(true, _IOC_NR(UBLK_U_CMD_GET_FEATURES)), 0x80207513);
	ck_assert_uint_eq(ctrl_opcode(true, _IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC)), 0x80207514);
	ck_assert_uint_eq(ctrl_opcode(true, _IOC_NR(UBLK_U_CMD_UPDATE_SIZE)), 0xC0207515);
	ck_assert_uint_eq(ctrl_opcode(true, _IOC_NR(UBLK_U_CMD_QUIESCE_DEV)), 0xC0207516);
	ck_assert_uint_eq(ctrl_opcode(true, _IOC_NR(UBLK_U_CMD_TRY_STOP_DEV)), 0xC0207517);
	ck_assert_uint_eq(ctrl_opcode(true, _IOC_NR(UBLK_U_CMD_REG_BUF)), 0xC0207518);
	ck_assert_uint_eq(ctrl_opcode(true, _IOC_NR(UBLK_U_CMD_UNREG_BUF)), 0xC0207519);
	ck_assert_uint_eq(UBLK_U_IO_FETCH_REQ, 0xC0107520);
	ck_assert_uint_eq(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0xC0107521);
}
END_TEST

START_TEST(test_legacy_values)
{
	ck_assert_uint_eq(ctrl_opcode(false, UBLK_CMD_ADD_DEV), 0x04);
	ck_assert_uint_eq(ctrl_opcode(false, UBLK_CMD_START_DEV), 0x06);
	/* GET_FEATURES and DEL_DEV_ASYNC exist only ioctl-encoded. */
	ck_assert_uint_eq(ctrl_opcode(false, _IOC_NR(UBLK_U_CMD_GET_FEATURES)), 0x80207513);
	ck_assert_uint_eq(ctrl_opcode(false, _IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC)), 0x80207514);
	ck_assert_uint_eq(ctrl_opcode(false, UBLK_CMD_GET_DEV_INFO2), 0x12);
	ck_assert_str_eq(ctrl_cmd_name(UBLK_CMD_START_DEV), "START_DEV");
	ck_assert_str_eq(ctrl_cmd_name(_IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC)), "DEL_DEV_ASYNC");
	ck_assert_str_eq(ctrl_cmd_name(0x77), "UNKNOWN");
	ck_assert_str_eq(ctrl_cmd_name(0x03), "UNKNOWN");
}
END_TEST

/* Every command up to 7.3's has its name, and its ioctl opcode is the
 * kernel's, carrying its number. */
START_TEST(test_every_command)
{
	static const struct {
		uint32_t op;
		const char *name;
	} cmds[] = {
		{ UBLK_U_CMD_GET_QUEUE_AFFINITY, "GET_QUEUE_AFFINITY" },
		{ UBLK_U_CMD_GET_DEV_INFO, "GET_DEV_INFO" },
		{ UBLK_U_CMD_ADD_DEV, "ADD_DEV" },
		{ UBLK_U_CMD_DEL_DEV, "DEL_DEV" },
		{ UBLK_U_CMD_START_DEV, "START_DEV" },
		{ UBLK_U_CMD_STOP_DEV, "STOP_DEV" },
		{ UBLK_U_CMD_SET_PARAMS, "SET_PARAMS" },
		{ UBLK_U_CMD_GET_PARAMS, "GET_PARAMS" },
		{ UBLK_U_CMD_START_USER_RECOVERY, "START_USER_RECOVERY" },
		{ UBLK_U_CMD_END_USER_RECOVERY, "END_USER_RECOVERY" },
		{ UBLK_U_CMD_GET_DEV_INFO2, "GET_DEV_INFO2" },
		{ UBLK_U_CMD_GET_FEATURES, "GET_FEATURES" },
		{ UBLK_U_CMD_DEL_DEV_ASYNC, "DEL_DEV_ASYNC" },
		{ UBLK_U_CMD_UPDATE_SIZE, "UPDATE_SIZE" },
		{ UBLK_U_CMD_QUIESCE_DEV, "QUIESCE_DEV" },
		{ UBLK_U_CMD_TRY_STOP_DEV, "TRY_STOP_DEV" },
		{ UBLK_U_CMD_REG_BUF, "REG_BUF" },
		{ UBLK_U_CMD_UNREG_BUF, "UNREG_BUF" },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		unsigned nr = _IOC_NR(cmds[i].op);

		ck_assert_str_eq(ctrl_cmd_name(nr), cmds[i].name);
		ck_assert_uint_eq(ctrl_opcode(true, nr), cmds[i].op);
		ck_assert_uint_eq(_IOC_TYPE(cmds[i].op), 'u');
		ck_assert_uint_eq(_IOC_SIZE(cmds[i].op), sizeof(struct ublksrv_ctrl_cmd));
	}
}
END_TEST

START_TEST(test_layouts)
{
	ck_assert_uint_eq(sizeof(struct ublksrv_ctrl_cmd), 32);
	ck_assert_uint_eq(sizeof(struct ublksrv_ctrl_dev_info), 64);
	ck_assert_uint_eq(offsetof(struct ublksrv_ctrl_dev_info, io_desc_size), 6);
	ck_assert_uint_eq(offsetof(struct ublksrv_ctrl_dev_info, flags), 24);
	ck_assert_uint_eq(offsetof(struct ublksrv_ctrl_dev_info, owner_uid), 40);
	ck_assert_uint_eq(sizeof(struct ublksrv_io_cmd), 16);
	ck_assert_uint_eq(sizeof(struct ublksrv_io_desc), 24);
	ck_assert_uint_eq(sizeof(struct ublk_params), 120);
	ck_assert_uint_eq(offsetof(struct ublk_params, basic), 8);
	ck_assert_uint_eq(offsetof(struct ublk_params, discard), 40);
	ck_assert_uint_eq(offsetof(struct ublk_params, devt), 60);
	ck_assert_uint_eq(offsetof(struct ublk_params, zoned), 76);
	ck_assert_uint_eq(offsetof(struct ublk_params, dma), 108);
	ck_assert_uint_eq(offsetof(struct ublk_param_basic, dev_sectors), 16);
	ck_assert_uint_eq(offsetof(struct ublk_param_discard, max_discard_segments), 16);
}
END_TEST

/* The fd of the one io_uring instance this process holds, or -1. */
static int find_ring_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[300], target[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[io_uring]") == 0) {
			ck_assert_int_eq(found, -1);
			found = atoi(e->d_name);
		}
	}
	closedir(d);
	return found;
}

/* How many answers a command got, and the last one. */
struct answer {
	int calls;
	int res;
};

/* Records an answer. */
static void on_answer(void *arg, int res)
{
	struct answer *a = arg;

	a->calls++;
	a->res = res;
}

/* A submit the kernel refuses fails that command alone: the SQE it leaves
 * queued goes with the next submit as a NOP that names no request, so the
 * next command is answered once and the refused ones never, even after
 * more refusals than the SQ has slots. The control device is
 * a memfd (the kernel refuses its commands with EOPNOTSUPP), and the
 * ring's fd is swapped for /dev/null to make io_uring_enter fail. */
START_TEST(test_refused_submit)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct answer first = { 0, 1 }, second = { 0, 1 };
	struct ublksrv_ctrl_dev_info info1, info2;
	int fd = memfd_create("ublk-control", MFD_CLOEXEC);
	struct ring_refusal refusal;
	struct ctrl *c;
	int ring;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(find_ring_fd(), -1);
	ck_assert_int_eq(ctrl_open_fd(loop, fd, &c), 0);
	ck_assert(!ctrl_ioctl_encoded(c));	/* GET_FEATURES refused */
	ring = find_ring_fd();
	ck_assert_int_ge(ring, 0);

	ring_refusal_start(&refusal, ring);
	/* More refusals than the SQ has slots (32, CTRL_RING_ENTRIES): each
	 * leaves its NOP queued, until the SQ is full of them (EBUSY). */
	for (int i = 0; i < 40; i++) {
		int ret = ctrl_submit(c, UBLK_CMD_GET_DEV_INFO, 1, &info1, sizeof(info1), 0, 5.,
				      on_answer, &first);

		ck_assert_msg(ret == (i < 32 ? -EOPNOTSUPP : -EBUSY), "refusal %d: %d", i, ret);
	}
	ck_assert_uint_eq(ctrl_pending(c), 0);
	ring_refusal_stop(&refusal);

	ck_assert_int_eq(ctrl_submit(c, UBLK_CMD_GET_DEV_INFO, 2, &info2, sizeof(info2), 0, 5.,
				     on_answer, &second), 0);
	ck_assert_uint_eq(ctrl_pending(c), 1);
	for (int i = 0; i < 5000 && !second.calls; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	ev_run(loop, EVRUN_NOWAIT);	/* anything more would show now */
	ck_assert_int_eq(second.calls, 1);
	ck_assert_int_eq(second.res, -EOPNOTSUPP);
	ck_assert_int_eq(first.calls, 0);
	ck_assert_uint_eq(ctrl_pending(c), 0);
	ctrl_close(c);
	ev_loop_destroy(loop);
}
END_TEST

/* Builds the suite. */
static Suite *ctrl_suite(void)
{
	Suite *s = suite_create("ctrl");
	TCase *tc = tcase_create("encoding");

	tcase_add_test(tc, test_ioctl_values);
	tcase_add_test(tc, test_legacy_values);
	tcase_add_test(tc, test_every_command);
	tcase_add_test(tc, test_layouts);
	tcase_add_test(tc, test_refused_submit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctrl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
