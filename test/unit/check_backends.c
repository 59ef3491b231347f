/* Unit tests of the null and mem backends. */
#include "config.h"
#include "backends/backend.h"
#include "common/ublk_uapi.h"

#include <check.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char state_dir[64];

/* Opens a backend by name with a size and checks it succeeded. */
static void *open_backend(const char *name, uint64_t size, struct backend_geometry *geo)
{
	const struct backend_ops *b = backends_find(name);
	struct backend_config cfg = { .size = size, .block_size = 4096,
				      .state_dir = state_dir, .dev_id = 7 };
	char err[256] = "";
	void *priv = NULL;

	ck_assert_ptr_nonnull(b);
	ck_assert_msg(b->open(&priv, &cfg, geo, err, sizeof(err)) == 0, "open: %s", err);
	return priv;
}

/* True when len bytes at p are all zero. */
static bool all_zero(const char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Returns the bytes of memory a backend file holds. */
static long long file_bytes(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (long long)st.st_blocks * 512;
}

START_TEST(test_find)
{
	ck_assert_ptr_nonnull(backends_find("null"));
	ck_assert_ptr_nonnull(backends_find("mem"));
	ck_assert_ptr_null(backends_find("nope"));
	ck_assert_str_eq(backends_names(), "null, mem, zip, file");
}
END_TEST

START_TEST(test_null_reads_zeroes)
{
	const struct backend_ops *b = backends_find("null");
	struct backend_geometry geo;
	void *priv = open_backend("null", 1 << 20, &geo);
	char buf[4096];

	ck_assert_uint_eq(geo.size, 1 << 20);
	memset(buf, 0xaa, sizeof(buf));
	ck_assert_int_eq(b->write(priv, buf, sizeof(buf), 0, 0), 0);
	ck_assert_int_eq(b->read(priv, buf, sizeof(buf), 0), 0);
	ck_assert(all_zero(buf, sizeof(buf)));
	b->close(priv);
}
END_TEST

START_TEST(test_mem_roundtrip_and_discard)
{
	const struct backend_ops *b = backends_find("mem");
	struct backend_geometry geo;
	void *priv = open_backend("mem", 64 << 20, &geo);
	char path[512];
	static char buf[1 << 20], out[1 << 20];

	snprintf(path, sizeof(path), "%s/mem-7.img", state_dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	ck_assert_int_eq(b->write(priv, buf, sizeof(buf), 3 << 20, 0), 0);
	ck_assert_int_eq(b->read(priv, out, sizeof(out), 3 << 20), 0);
	ck_assert_mem_eq(buf, out, sizeof(buf));
	ck_assert_int_ge(file_bytes(path), 1 << 20);

	ck_assert_int_eq(b->discard(priv, 1 << 20, 3 << 20), 0);
	ck_assert_int_eq(file_bytes(path), 0);
	ck_assert_int_eq(b->read(priv, out, sizeof(out), 3 << 20), 0);
	ck_assert(all_zero(out, sizeof(out)));

	ck_assert_int_eq(b->write(priv, buf, 8192, 0, 0), 0);
	ck_assert_int_eq(b->write_zeroes(priv, 4096, 0, 0), 0);
	ck_assert_int_eq(b->read(priv, out, 8192, 0), 0);
	ck_assert(all_zero(out, 4096));
	ck_assert_mem_eq(out + 4096, buf + 4096, 4096);
	ck_assert_int_eq(file_bytes(path), 4096);
	/* NOUNMAP zeroes the second page but keeps its memory allocated. */
	ck_assert_int_eq(b->write_zeroes(priv, 4096, 4096, UBLK_IO_F_NOUNMAP), 0);
	ck_assert_int_eq(file_bytes(path), 4096);
	ck_assert_int_eq(b->read(priv, out, 8192, 0), 0);
	ck_assert(all_zero(out, 8192));
	b->close(priv);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_mem_matches_model)
{
	/* Random writes, reads, discards and write-zeroes at 512-byte
	 * granularity, crossing pages, against a plain buffer as the model. */
	enum { SIZE = 1 << 20, MAXLEN = 64 << 10 };
	const struct backend_ops *b = backends_find("mem");
	struct backend_geometry geo;
	void *priv = open_backend("mem", SIZE, &geo);
	static char model[SIZE], buf[MAXLEN], out[MAXLEN];
	unsigned seed = 12345;

	memset(model, 0, sizeof(model));
	for (int i = 0; i < 4000; i++) {
		uint32_t len = (uint32_t)(rand_r(&seed) % (MAXLEN / 512) + 1) * 512;
		uint64_t off = (uint64_t)(rand_r(&seed) % ((SIZE - len) / 512 + 1)) * 512;
		int op = rand_r(&seed) % 5;

		if (op <= 1) {
			for (uint32_t j = 0; j < len; j++)
				buf[j] = (char)(rand_r(&seed) | 1);
			ck_assert_int_eq(b->write(priv, buf, len, off, 0), 0);
			memcpy(model + off, buf, len);
		} else if (op == 2) {
			ck_assert_int_eq(b->discard(priv, len, off), 0);
			memset(model + off, 0, len);
		} else if (op == 3) {
			uint32_t flags = rand_r(&seed) % 2 ? UBLK_IO_F_NOUNMAP : 0;

			ck_assert_int_eq(b->write_zeroes(priv, len, off, flags), 0);
			memset(model + off, 0, len);
		}
		memset(out, 0x5a, len);
		ck_assert_int_eq(b->read(priv, out, len, off), 0);
		ck_assert_msg(memcmp(out, model + off, len) == 0,
			      "step %d: read of %u bytes at %llu differs from the model", i, len,
			      (unsigned long long)off);
	}
	for (uint64_t off = 0; off < SIZE; off += MAXLEN) {
		ck_assert_int_eq(b->read(priv, out, MAXLEN, off), 0);
		ck_assert_mem_eq(out, model + off, MAXLEN);
	}
	b->close(priv);
}
END_TEST

START_TEST(test_mem_holes_take_no_memory)
{
	const struct backend_ops *b = backends_find("mem");
	struct backend_geometry geo;
	void *priv = open_backend("mem", 16 << 20, &geo);
	char path[512];
	static char buf[1 << 20];

	snprintf(path, sizeof(path), "%s/mem-7.img", state_dir);
	/* Written: 512 bytes straddling the pages at 8 KiB. */
	memset(buf, 7, 512);
	ck_assert_int_eq(b->write(priv, buf, 512, 8192 - 256, 0), 0);
	ck_assert_int_eq(file_bytes(path), 8192);
	/* Reading 1 MiB around it, and 8 MiB of holes, takes no more. */
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(b->read(priv, buf, sizeof(buf), 0), 0);
	ck_assert(all_zero(buf, 8192 - 256));
	ck_assert_int_eq(buf[8192 - 256], 7);
	ck_assert_int_eq(buf[8192 + 255], 7);
	ck_assert(all_zero(buf + 8192 + 256, sizeof(buf) - 8192 - 256));
	for (uint64_t off = 8 << 20; off < 16 << 20; off += sizeof(buf))
		ck_assert_int_eq(b->read(priv, buf, sizeof(buf), off), 0);
	ck_assert_int_eq(file_bytes(path), 8192);
	/* Discarding part of a written page zeroes that part only. */
	memset(buf, 9, 4096);
	ck_assert_int_eq(b->write(priv, buf, 4096, 12288, 0), 0);
	ck_assert_int_eq(b->discard(priv, 1024, 12288 + 1024), 0);
	memset(buf, 0x5a, 4096);
	ck_assert_int_eq(b->read(priv, buf, 4096, 12288), 0);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq(buf[i], i >= 1024 && i < 2048 ? 0 : 9);
	/* A discard covering whole pages and a part of one: all of it zeroes. */
	ck_assert_int_eq(b->discard(priv, 4096 + 512, 4096), 0);
	ck_assert_int_eq(b->read(priv, buf, 12288, 0), 0);
	ck_assert(all_zero(buf, 12288));
	b->close(priv);
}
END_TEST

START_TEST(test_mem_large_costs_nothing)
{
	/* valgrind cannot map 1 TiB: test/memcheck says so and gets 1 GiB. */
	uint64_t size = getenv("UBLKD_UNDER_VALGRIND") ? 1ULL << 30 : 1ULL << 40;
	const struct backend_ops *b = backends_find("mem");
	struct backend_geometry geo;
	void *priv = open_backend("mem", size, &geo);
	char path[512], buf[4096];

	snprintf(path, sizeof(path), "%s/mem-7.img", state_dir);
	ck_assert_uint_eq(geo.size, size);
	ck_assert_int_eq(b->read(priv, buf, sizeof(buf), size - 4096), 0);
	ck_assert_int_eq(file_bytes(path), 0);
	memset(buf, 1, sizeof(buf));
	ck_assert_int_eq(b->write(priv, buf, sizeof(buf), size - 4096, 0), 0);
	ck_assert_int_eq(file_bytes(path), 4096);
	b->close(priv);
}
END_TEST

START_TEST(test_mem_bad_dir)
{
	const struct backend_ops *b = backends_find("mem");
	struct backend_config cfg = { .size = 1 << 20, .block_size = 512,
				      .state_dir = "/nonexistent-dir", .dev_id = 1 };
	struct backend_geometry geo;
	char err[256] = "";
	void *priv = NULL;

	/* Not tmpfs: falls back to /dev/shm, which exists here. */
	ck_assert_int_eq(b->open(&priv, &cfg, &geo, err, sizeof(err)), 0);
	b->close(priv);
	cfg.size = 1ULL << 62;
	ck_assert_int_lt(b->open(&priv, &cfg, &geo, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "mem-1.img") != NULL, "message names the file: %s", err);
}
END_TEST

/* Builds the suite. */
static Suite *backends_suite(void)
{
	Suite *s = suite_create("backends");
	TCase *tc = tcase_create("core");

	/* Correctness only: a loaded machine must not fail it on time. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_null_reads_zeroes);
	tcase_add_test(tc, test_mem_roundtrip_and_discard);
	tcase_add_test(tc, test_mem_matches_model);
	tcase_add_test(tc, test_mem_holes_take_no_memory);
	tcase_add_test(tc, test_mem_large_costs_nothing);
	tcase_add_test(tc, test_mem_bad_dir);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* The state dir must be tmpfs for mem to use it: use /dev/shm. */
	strcpy(state_dir, "/dev/shm/ublkd-check-XXXXXX");
	if (!mkdtemp(state_dir))
		return 99;
	sr = srunner_create(backends_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rmdir(state_dir);
	return failed ? 1 : 0;
}
