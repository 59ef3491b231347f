/* Unit tests of io_serve: one descriptor served through a backend. */
#include "config.h"
#include "daemon/io.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_BYTES (128 * 1024)

static struct io_target target;
static char *buf;
static char dir[] = "/dev/shm/ublkd-io-XXXXXX";

/* Opens a 1 MiB mem backend as the target. */
static void setup(void)
{
	struct backend_config cfg = { .size = 1 << 20, .block_size = 512,
				      .state_dir = dir, .dev_id = 3 };
	struct backend_geometry geo;
	char err[256];

	target.ops = backends_find("mem");
	ck_assert_int_eq(target.ops->open(&target.priv, &cfg, &geo, err, sizeof(err)), 0);
	target.size = geo.size;
	target.buf_bytes = BUF_BYTES;
	buf = aligned_alloc(4096, BUF_BYTES);
}

/* Closes the target. */
static void teardown(void)
{
	target.ops->close(target.priv);
	free(buf);
}

/* Builds a descriptor for op at sector with n sectors, pointing at buf. */
static struct ublksrv_io_desc desc(unsigned op_flags, uint64_t sector, uint32_t n)
{
	struct ublksrv_io_desc d = { .op_flags = op_flags, .nr_sectors = n,
				     .start_sector = sector, .addr = (uintptr_t)buf };
	return d;
}

START_TEST(test_write_read)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_WRITE, 8, 16);

	memset(buf, 0x5a, 16 * 512);
	ck_assert_int_eq(io_serve(&target, &d, buf), 16 * 512);
	memset(buf, 0, 16 * 512);
	d = desc(UBLK_IO_OP_READ, 8, 16);
	ck_assert_int_eq(io_serve(&target, &d, buf), 16 * 512);
	for (int i = 0; i < 16 * 512; i++)
		ck_assert_int_eq((unsigned char)buf[i], 0x5a);
	d = desc(UBLK_IO_OP_READ, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), 8 * 512);
	ck_assert_int_eq(buf[0], 0);
}
END_TEST

START_TEST(test_bounds)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_READ, 2048 - 8, 16);

	ck_assert_int_eq(io_serve(&target, &d, buf), -EIO);
	d = desc(UBLK_IO_OP_READ, 2048 - 8, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), 8 * 512);
	d = desc(UBLK_IO_OP_WRITE, UINT64_MAX >> 9, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), -EIO);
	d = desc(UBLK_IO_OP_READ, 0, BUF_BYTES / 512 + 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), -EIO);
	/* A descriptor that points at another buffer is refused. */
	d = desc(UBLK_IO_OP_READ, 0, 8);
	d.addr += 4096;
	ck_assert_int_eq(io_serve(&target, &d, buf), -EIO);
}
END_TEST

START_TEST(test_other_ops)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_FLUSH, 0, 0);

	ck_assert_int_eq(io_serve(&target, &d, buf), 0);
	d = desc(UBLK_IO_OP_WRITE, 0, 8);
	memset(buf, 1, 4096);
	ck_assert_int_eq(io_serve(&target, &d, buf), 4096);
	d = desc(UBLK_IO_OP_DISCARD, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), 0);
	d = desc(UBLK_IO_OP_READ, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), 4096);
	ck_assert_int_eq(buf[0], 0);
	d = desc(UBLK_IO_OP_WRITE_ZEROES | UBLK_IO_F_NOUNMAP, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), 0);
	d = desc(UBLK_IO_OP_WRITE_SAME, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), -EOPNOTSUPP);
	d = desc(13 /* ZONE_APPEND */, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf), -EOPNOTSUPP);
	d = desc(UBLK_IO_OP_DISCARD, 2040, 16);
	ck_assert_int_eq(io_serve(&target, &d, buf), -EIO);
}
END_TEST

START_TEST(test_errno_map)
{
	ck_assert_int_eq(io_errno(-ENOSPC), -ENOSPC);
	ck_assert_int_eq(io_errno(-EOPNOTSUPP), -EOPNOTSUPP);
	ck_assert_int_eq(io_errno(-EIO), -EIO);
	ck_assert_int_eq(io_errno(-EBADF), -EIO);
	ck_assert_int_eq(io_errno(-EROFS), -EIO);
	ck_assert_str_eq(io_op_name(UBLK_IO_OP_WRITE_ZEROES), "WRITE_ZEROES");
}
END_TEST

/* Builds the suite. */
static Suite *io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_other_ops);
	tcase_add_test(tc, test_errno_map);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!mkdtemp(dir))
		return 99;
	sr = srunner_create(io_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rmdir(dir);
	return failed ? 1 : 0;
}
