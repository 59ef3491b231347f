/* Unit tests of the null and mem backends. */
#include "config.h"
#include "backends/backend.h"
#include "backends/mem_guard.h"
#include "test/unit/backend_test.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char state_dir[64];

/* Opens a backend by name with a size and checks it succeeded. */
static void *open_backend(const char *name, uint64_t size, struct backend_geometry *geo)
{
	const struct backend_ops *b = backends_find(name);
	static struct backend_arg args[BACKEND_MAX_PARAMS];
	struct backend_config cfg = { .size = size, .block_size = 4096,
				      .state_dir = state_dir, .args = args };
	char err[256] = "";
	void *priv = NULL;

	ck_assert_ptr_nonnull(b);
	ck_assert_msg(b->open(&priv, &cfg, geo, err, sizeof(err)) == 0, "open: %s", err);
	return priv;
}

/* Copies the backing_file a backend describes into path. */
static void backing_file(const struct backend_ops *b, void *priv, char *path, size_t len)
{
	struct json_object *o = test_describe(b, priv), *v;

	ck_assert(json_object_object_get_ex(o, "backing_file", &v));
	snprintf(path, len, "%s", json_object_get_string(v));
	json_object_put(o);
}

/* Returns an integer field of what a backend describes. */
static int64_t described_int(const struct backend_ops *b, void *priv, const char *key)
{
	struct json_object *o = test_describe(b, priv), *v;
	int64_t i;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
	i = json_object_get_int64(v);
	json_object_put(o);
	return i;
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
#ifdef HAVE_NBD
	ck_assert_ptr_nonnull(backends_find("nbd"));
#define NBD_NAME ", nbd"
#else
	ck_assert_ptr_null(backends_find("nbd"));
#define NBD_NAME ""
#endif
#ifdef HAVE_RBD
	ck_assert_ptr_nonnull(backends_find("rbd"));
#define RBD_NAME ", rbd"
#else
	ck_assert_ptr_null(backends_find("rbd"));
#define RBD_NAME ""
#endif
	ck_assert_str_eq(backends_names(), "null, mem, zip, file" NBD_NAME RBD_NAME);
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

	backing_file(b, priv, path, sizeof(path));
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
	ck_assert_int_eq(b->write_zeroes(priv, 4096, 4096, BACKEND_F_NOUNMAP), 0);
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
			uint32_t flags = rand_r(&seed) % 2 ? BACKEND_F_NOUNMAP : 0;

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

	backing_file(b, priv, path, sizeof(path));
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

	backing_file(b, priv, path, sizeof(path));
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
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = { .size = 1 << 20, .block_size = 512,
				      .state_dir = "/nonexistent-dir", .args = args };
	struct backend_geometry geo;
	char err[256] = "";
	void *priv = NULL;

	/* Not tmpfs: falls back to /dev/shm, which exists here. */
	ck_assert_int_eq(b->open(&priv, &cfg, &geo, err, sizeof(err)), 0);
	b->close(priv);
	cfg.size = 1ULL << 62;
	ck_assert_int_lt(b->open(&priv, &cfg, &geo, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "/dev/shm/mem-") != NULL, "message names the file: %s", err);
}
END_TEST

/* Opens a mem device of size bytes in dir: 0 or -errno, with err filled. */
static int open_mem_in(const char *dir, uint64_t size, bool reserve, void **priv,
		       char *err, size_t errlen)
{
	const struct backend_ops *b = backends_find("mem");
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = { .size = size, .block_size = 512,
				      .state_dir = dir, .args = args };
	struct backend_geometry geo;

	test_arg_flag(b, args, "reserve", reserve);
	return b->open(priv, &cfg, &geo, err, errlen);
}

START_TEST(test_mem_files_are_unique)
{
	const struct backend_ops *b = backends_find("mem");
	enum { N = 4 };
	void *priv[N];
	char path[N][512], old[512], err[256] = "";
	static char buf[8192], out[8192];
	FILE *f;

	/* A file with the name the daemon once used for every device, as a
	 * crashed daemon may leave it: never opened, never truncated. */
	snprintf(old, sizeof(old), "%s/mem-0.img", state_dir);
	f = fopen(old, "w");
	ck_assert_ptr_nonnull(f);
	fputs("left by another daemon", f);
	fclose(f);
	/* Largest first: a smaller device must not shrink a larger one. */
	for (int i = 0; i < N; i++) {
		ck_assert_msg(open_mem_in(state_dir, (uint64_t)(N - i) << 20, false,
					  &priv[i], err, sizeof(err)) == 0, "open %d: %s", i, err);
		backing_file(b, priv[i], path[i], sizeof(path[i]));
		ck_assert_msg(strncmp(path[i], state_dir, strlen(state_dir)) == 0,
			      "%s is in the state directory", path[i]);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(path[i], path[j]);
	}
	/* Each device gets its own pattern at the same offsets... */
	for (int i = 0; i < N; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		ck_assert_int_eq(b->write(priv[i], buf, sizeof(buf), 0, 0), 0);
	}
	/* ...and past the end of the smaller ones (no SIGBUS). */
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(b->write(priv[0], buf, sizeof(buf), (3 << 20) + 4096, 0), 0);
	for (int i = 0; i < N; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		ck_assert_int_eq(b->read(priv[i], out, sizeof(out), 0), 0);
		ck_assert_msg(memcmp(out, buf, sizeof(buf)) == 0, "device %d reads its own data", i);
	}
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(b->read(priv[0], out, sizeof(out), (3 << 20) + 4096), 0);
	ck_assert_mem_eq(out, buf, sizeof(buf));
	for (int i = 0; i < N; i++) {
		b->close(priv[i]);
		ck_assert_int_ne(access(path[i], F_OK), 0);
	}
	f = fopen(old, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "left by another daemon");
	unlink(old);
}
END_TEST

START_TEST(test_mem_fault_fails_one_request)
{
	const struct backend_ops *b = backends_find("mem");
	void *priv = NULL, *other = NULL;
	char path[512], err[256] = "";
	static char buf[4096], out[4096];
	int fd;

	ck_assert_int_eq(open_mem_in(state_dir, 1 << 20, false, &priv, err, sizeof(err)), 0);
	ck_assert_int_eq(open_mem_in(state_dir, 1 << 20, false, &other, err, sizeof(err)), 0);
	memset(buf, 3, sizeof(buf));
	ck_assert_int_eq(b->write(priv, buf, sizeof(buf), 0, 0), 0);
	ck_assert_int_eq(b->write(priv, buf, sizeof(buf), 800 << 10, 0), 0);
	ck_assert_int_eq(b->write(other, buf, sizeof(buf), 800 << 10, 0), 0);
	/* Someone shrinks the backing file under the mapping. */
	backing_file(b, priv, path, sizeof(path));
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 64 << 10), 0);
	/* Touching the lost part faults: only that request fails. */
	ck_assert_int_eq(b->read(priv, out, sizeof(out), 800 << 10), -EIO);
	ck_assert_int_eq(b->write(priv, buf, sizeof(buf), 800 << 10, 0), -EIO);
	ck_assert_int_eq(b->read(priv, out, sizeof(out), 0), 0);
	ck_assert_mem_eq(out, buf, sizeof(buf));
	ck_assert_int_eq(b->read(other, out, sizeof(out), 800 << 10), 0);
	ck_assert_mem_eq(out, buf, sizeof(buf));
	/* The guard is re-armed for every copy: the next fault fails too. */
	ck_assert_int_eq(b->read(priv, out, sizeof(out), 800 << 10), -EIO);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	ck_assert_int_eq(b->write(priv, buf, sizeof(buf), 800 << 10, 0), 0);
	ck_assert_int_eq(b->read(priv, out, sizeof(out), 800 << 10), 0);
	ck_assert_mem_eq(out, buf, sizeof(buf));
	close(fd);
	b->close(priv);
	b->close(other);
}
END_TEST

START_TEST(test_guard_leaves_other_faults_fatal)
{
	char path[512];
	int status, fd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/fault-XXXXXX", state_dir);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(ftruncate(fd, 8192), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* A SIGBUS outside any guarded copy must still kill. */
		volatile char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED || mem_guard_init() < 0 || ftruncate(fd, 0) < 0)
			_exit(3);
		(void)p[4096];
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		      "child status %#x: expected death by SIGBUS", status);
	close(fd);
}
END_TEST

START_TEST(test_mem_full_tmpfs_fails_writes)
{
	const struct backend_ops *b = backends_find("mem");
	char dir[] = "/tmp/ublkd-check-tmpfs-XXXXXX", err[256] = "";
	void *priv = NULL, *other = NULL, *big = NULL, *res = NULL;
	static char buf[4096], out[4096];
	uint64_t off, failed_at = 0;

	/* A private mount namespace with a 256 KiB tmpfs (needs root). */
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %s (run as root)",
		      strerror(errno));
	ck_assert_int_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_msg(mount("ublkd-check", dir, "tmpfs", 0, "size=256k") == 0,
		      "mount tmpfs: %s", strerror(errno));

	/* Reserving more than is free is refused up front. */
	ck_assert_int_eq(open_mem_in(dir, 1 << 20, true, &big, err, sizeof(err)), -ENOSPC);
	ck_assert_msg(strstr(err, "reserve") && strstr(err, dir), "message: %s", err);
	/* A reserved device holds its memory from the start and after DISCARD. */
	ck_assert_int_eq(open_mem_in(dir, 64 << 10, true, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(described_int(b, res, "memory_used"), 64 << 10);
	ck_assert_int_eq(b->discard(res, 64 << 10, 0), 0);
	ck_assert_int_eq(described_int(b, res, "memory_used"), 64 << 10);
	ck_assert_int_eq(b->read(res, out, sizeof(out), 0), 0);
	ck_assert(all_zero(out, sizeof(out)));

	/* Two sparse devices that add up to more than the tmpfs holds. */
	ck_assert_int_eq(open_mem_in(dir, 1 << 20, false, &priv, err, sizeof(err)), 0);
	ck_assert_int_eq(open_mem_in(dir, 1 << 20, false, &other, err, sizeof(err)), 0);
	memset(buf, 5, sizeof(buf));
	ck_assert_int_eq(b->write(other, buf, sizeof(buf), 0, 0), 0);
	for (off = 0; off < 1 << 20; off += sizeof(buf)) {
		memset(buf, (int)(off >> 12), sizeof(buf));
		int ret = b->write(priv, buf, sizeof(buf), off, 0);

		if (ret < 0) {
			ck_assert_int_eq(ret, -ENOSPC);
			if (!failed_at)
				failed_at = off;
		}
	}
	ck_assert_msg(failed_at > 0 && failed_at < 256 << 10, "writes failed from %llu",
		      (unsigned long long)failed_at);
	ck_assert_int_le(described_int(b, priv, "tmpfs_free"), 4096);
	/* What was written before the tmpfs filled up reads back. */
	for (off = 0; off < failed_at; off += sizeof(buf)) {
		memset(buf, (int)(off >> 12), sizeof(buf));
		ck_assert_int_eq(b->read(priv, out, sizeof(out), off), 0);
		ck_assert_mem_eq(out, buf, sizeof(buf));
	}
	/* A failed write left a hole, and the other device is intact. */
	ck_assert_int_eq(b->read(priv, out, sizeof(out), (1 << 20) - 4096), 0);
	ck_assert(all_zero(out, sizeof(out)));
	memset(buf, 5, sizeof(buf));
	ck_assert_int_eq(b->read(other, out, sizeof(out), 0), 0);
	ck_assert_mem_eq(out, buf, sizeof(buf));
	/* A page already held can still be rewritten; DISCARD makes room. */
	ck_assert_int_eq(b->write(other, buf, sizeof(buf), 0, 0), 0);
	ck_assert_int_eq(b->write(other, buf, sizeof(buf), 8192, 0), -ENOSPC);
	ck_assert_int_eq(b->discard(priv, 64 << 10, 0), 0);
	ck_assert_int_eq(b->write(other, buf, sizeof(buf), 8192, 0), 0);
	b->close(priv);
	b->close(other);
	b->close(res);
	ck_assert_int_eq(umount(dir), 0);
	rmdir(dir);
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
	tcase_add_test(tc, test_mem_files_are_unique);
	tcase_add_test(tc, test_mem_fault_fails_one_request);
	tcase_add_test(tc, test_guard_leaves_other_faults_fatal);
	tcase_add_test(tc, test_mem_full_tmpfs_fails_writes);
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
