/* Unit tests of the ublk command encodings against the kernel's values. */
#include "config.h"
#include "daemon/ctrl.h"
#include "common/ublk_uapi.h"

#include <check.h>
#include <stddef.h>

START_TEST(test_ioctl_values)
{
	/* Values as the 6.12 kernel header defines them. */
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_GET_DEV_INFO), 0x80207502);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_ADD_DEV), 0xC0207504);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_DEL_DEV), 0xC0207505);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_START_DEV), 0xC0207506);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_STOP_DEV), 0xC0207507);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_SET_PARAMS), 0xC0207508);
	ck_assert_uint_eq(ctrl_opcode(true, UBLK_CMD_GET_PARAMS), 0x80207509);
	ck_assert_uint_eq(ctrl_opcode(true, 0x13), 0x80207513);
	ck_assert_uint_eq(ctrl_opcode(true, 0x14), 0x80207514);
	ck_assert_uint_eq(UBLK_U_IO_FETCH_REQ, 0xC0107520);
	ck_assert_uint_eq(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0xC0107521);
}
END_TEST

START_TEST(test_legacy_values)
{
	ck_assert_uint_eq(ctrl_opcode(false, UBLK_CMD_ADD_DEV), 0x04);
	ck_assert_uint_eq(ctrl_opcode(false, UBLK_CMD_START_DEV), 0x06);
	/* GET_FEATURES and DEL_DEV_ASYNC exist only ioctl-encoded. */
	ck_assert_uint_eq(ctrl_opcode(false, 0x13), 0x80207513);
	ck_assert_str_eq(ctrl_cmd_name(UBLK_CMD_START_DEV), "START_DEV");
	ck_assert_str_eq(ctrl_cmd_name(0x14), "DEL_DEV_ASYNC");
	ck_assert_str_eq(ctrl_cmd_name(0x77), "UNKNOWN");
}
END_TEST

START_TEST(test_layouts)
{
	ck_assert_uint_eq(sizeof(struct ublksrv_ctrl_cmd), 32);
	ck_assert_uint_eq(sizeof(struct ublksrv_ctrl_dev_info), 64);
	ck_assert_uint_eq(offsetof(struct ublksrv_ctrl_dev_info, flags), 24);
	ck_assert_uint_eq(offsetof(struct ublksrv_ctrl_dev_info, owner_uid), 40);
	ck_assert_uint_eq(sizeof(struct ublksrv_io_cmd), 16);
	ck_assert_uint_eq(sizeof(struct ublksrv_io_desc), 24);
	ck_assert_uint_eq(sizeof(struct ublk_params), 112);
	ck_assert_uint_eq(offsetof(struct ublk_params, basic), 8);
	ck_assert_uint_eq(offsetof(struct ublk_params, discard), 40);
	ck_assert_uint_eq(offsetof(struct ublk_params, devt), 60);
	ck_assert_uint_eq(offsetof(struct ublk_params, zoned), 76);
	ck_assert_uint_eq(offsetof(struct ublk_param_basic, dev_sectors), 16);
	ck_assert_uint_eq(offsetof(struct ublk_param_discard, max_discard_segments), 16);
}
END_TEST

/* Builds the suite. */
static Suite *ctrl_suite(void)
{
	Suite *s = suite_create("ctrl");
	TCase *tc = tcase_create("encoding");

	tcase_add_test(tc, test_ioctl_values);
	tcase_add_test(tc, test_legacy_values);
	tcase_add_test(tc, test_layouts);
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
