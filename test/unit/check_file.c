/* Unit tests of the file backend: opening and checking the backing, the
 * probes, and the operation planned for each request, run through a real
 * io_uring the way a queue runs them. */
#include "config.h"
#include "backends/file.h"
#include "daemon/io.h"
#include "test/unit/backend_test.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#define MiB (1024 * 1024)
#define BUF_BYTES (512 * 1024)

static char disk_dir[256];	/* in the build tree: a disk file system, usually */
static char shm_dir[] = "/dev/shm/check-file-XXXXXX";
static const struct backend_ops *ops;

/* Makes a path inside dir. */
static const char *in(const char *dir, const char *name)
{
	static char paths[4][1024];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

/* Creates a file of size bytes filled with a pattern. */
static void make_file(const char *path, uint64_t size, mode_t mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, mode);
	char block[4096];

	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)(i * 13 + 1);
	for (uint64_t off = 0; off < size; off += sizeof(block)) {
		size_t n = size - off < sizeof(block) ? size - off : sizeof(block);

		ck_assert_int_eq(pwrite(fd, block, n, (off_t)off), (ssize_t)n);
	}
	close(fd);
}

/* Returns the size of a file, or -1 when it does not exist. */
static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Returns the byte at off in a file. */
static char file_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDONLY);
	char c = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	close(fd);
	return c;
}

/* Returns the bytes a file has allocated. */
static long long file_allocated(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (long long)st.st_blocks * 512;
}

/* The path a config serves. */
#define cfg_path(c)	((c)->args[FILE_ARG_PATH].text)

/* A config for path with the daemon's defaults; each call has arguments
 * of its own (from a ring of 16). */
static struct backend_config config(const char *path, uint64_t size)
{
	static struct backend_arg ring[16][BACKEND_MAX_PARAMS];
	static unsigned next;
	struct backend_arg *args = ring[next++ % 16];
	struct backend_config cfg = { .size = size, .block_size = 512, .args = args };

	memset(args, 0, sizeof(ring[0]));
	args[FILE_ARG_PATH] = (struct backend_arg){ .given = true, .text = path };
	if (size)
		args[FILE_ARG_SIZE] = (struct backend_arg){ .given = true, .bytes = size };
	return cfg;
}

/* Sets the buffered parameter of a config made by config(). */
static void set_buffered(struct backend_config *cfg, bool on)
{
	((struct backend_arg *)cfg->args)[FILE_ARG_BUFFERED] =
		(struct backend_arg){ .given = on, .flag = on };
}

/* Opens the backend, expecting success. */
static struct file_dev *open_ok(const struct backend_config *cfg, struct backend_geometry *geo)
{
	char err[512] = "";
	void *priv = NULL;

	ck_assert_msg(ops->open(&priv, cfg, geo, err, sizeof(err)) == 0, "open %s: %s",
		      cfg_path(cfg), err);
	return priv;
}

/* Opens the backend, expecting err_no and a message holding each fragment. */
static void open_fails(const struct backend_config *cfg, int err_no, const char *frag1,
		       const char *frag2)
{
	struct backend_geometry geo;
	char err[512] = "";
	void *priv = NULL;
	int ret = ops->open(&priv, cfg, &geo, err, sizeof(err));

	ck_assert_msg(ret == err_no, "open %s: %d (%s), expected %d", cfg_path(cfg), ret, err, err_no);
	ck_assert_msg(strstr(err, cfg_path(cfg)), "message names the path: %s", err);
	ck_assert_msg(strstr(err, frag1), "message has '%s': %s", frag1, err);
	if (frag2)
		ck_assert_msg(strstr(err, frag2), "message has '%s': %s", frag2, err);
}

/* True when dir is on tmpfs. */
static bool on_tmpfs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 && st.f_type == TMPFS_MAGIC;
}

/* True when dir is on a file system known to have ZERO_RANGE and direct I/O. */
static bool on_ext4_or_xfs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 &&
	       (st.f_type == EXT4_SUPER_MAGIC || st.f_type == XFS_SUPER_MAGIC);
}

/* Plans one request and returns the op. */
static struct backend_op plan(struct file_dev *f, enum backend_req_op op, uint32_t flags,
			      uint64_t off, uint64_t len)
{
	struct backend_req req = { .op = op, .flags = flags, .off = off, .len = len };
	struct backend_op o;

	memset(&o, 0x7e, sizeof(o));
	ck_assert_int_eq(ops->plan(f, &req, &o), 0);
	return o;
}

/* Runs one request through io_prepare, a real io_uring and io_advance, as a
 * queue does; returns the result that would be committed. */
static int run(struct file_dev *f, uint64_t dev_size, unsigned op_flags, uint64_t off,
	       uint32_t len, void *buf)
{
	struct io_target t = { .ops = ops, .priv = f, .size = dev_size, .buf_bytes = BUF_BYTES };
	struct ublksrv_io_desc d = { .op_flags = op_flags, .nr_sectors = len >> 9,
				     .start_sector = off >> 9, .addr = (uintptr_t)buf };
	struct io_pending p;
	struct io_uring ring;
	bool valgrind = getenv("UBLKD_UNDER_VALGRIND") != NULL;
	int r;

	ck_assert_int_eq(io_uring_queue_init(4, &ring, 0), 0);
	r = io_prepare(&t, &d, buf, &p);
	while (r == 1) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		char *b = (char *)buf + p.done;

		if (valgrind && p.op.kind == BACKEND_OP_READ) {
			/* valgrind does not see io_uring fill a buffer and
			 * would call it uninitialised: read the same range
			 * with pread (test/memcheck sets the variable). */
			ssize_t n = pread(p.op.fd, b, p.op.len - p.done,
					  (off_t)(p.op.off + p.done));

			r = io_advance(&p, n < 0 ? -errno : (int)n, buf);
			continue;
		}
		switch (p.op.kind) {
		case BACKEND_OP_READ:
			io_uring_prep_read(sqe, p.op.fd, b, (unsigned)(p.op.len - p.done),
					   p.op.off + p.done);
			break;
		case BACKEND_OP_WRITE:
			io_uring_prep_write(sqe, p.op.fd, b, (unsigned)(p.op.len - p.done),
					    p.op.off + p.done);
			sqe->rw_flags = p.op.rw_flags;
			break;
		case BACKEND_OP_FSYNC:
			io_uring_prep_fsync(sqe, p.op.fd, p.op.datasync ? IORING_FSYNC_DATASYNC : 0);
			break;
		default:
			io_uring_prep_fallocate(sqe, p.op.fd, p.op.mode, (off_t)p.op.off,
						(off_t)p.op.len);
			break;
		}
		ck_assert_int_eq(io_uring_submit_and_wait(&ring, 1), 1);
		ck_assert_int_eq(io_uring_peek_cqe(&ring, &cqe), 0);
		r = io_advance(&p, cqe->res, buf);
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	return r;
}

/* An aligned tag-like buffer. */
static char *tag_buf(void)
{
	char *b = aligned_alloc(4096, BUF_BYTES);

	ck_assert_ptr_nonnull(b);
	return b;
}

START_TEST(test_registered)
{
	ck_assert_ptr_nonnull(ops);
	ck_assert_uint_eq(backend_param_count(ops->params), FILE_ARG_COUNT);
	ck_assert_str_eq(ops->params[FILE_ARG_PATH].name, "path");
	ck_assert(ops->params[FILE_ARG_PATH].required);
	ck_assert_int_eq(ops->params[FILE_ARG_SIZE].type, BACKEND_PARAM_SIZE);
	ck_assert_int_eq(ops->params[FILE_ARG_BUFFERED].type, BACKEND_PARAM_FLAG);
	ck_assert_ptr_nonnull(ops->plan);
	ck_assert_ptr_nonnull(ops->describe);
}
END_TEST

START_TEST(test_missing_file)
{
	struct backend_config cfg = config(in(disk_dir, "missing.img"), 0);

	open_fails(&cfg, -ENOENT, "does not exist", "give a size");
	ck_assert_int_eq(file_size(cfg_path(&cfg)), -1);
	cfg.size = MiB;
	cfg.read_only = true;
	open_fails(&cfg, -ENOENT, "does not exist", "read-only");
	ck_assert_int_eq(file_size(cfg_path(&cfg)), -1);
	cfg = config(in(disk_dir, "no-such-dir/x.img"), MiB);
	open_fails(&cfg, -ENOENT, "cannot create", "No such file");
}
END_TEST

START_TEST(test_create_with_size)
{
	struct backend_config cfg = config(in(disk_dir, "new.img"), 8 * MiB);
	struct backend_geometry geo;
	struct file_dev *f = open_ok(&cfg, &geo);

	ck_assert_uint_eq(geo.size, 8 * MiB);
	ck_assert_int_eq(file_size(cfg_path(&cfg)), 8 * MiB);
	ck_assert(f->created);
	ck_assert(geo.volatile_cache);
	ck_assert(!geo.read_only);
	ops->close(f);
	/* Closing keeps the file and its size. */
	ck_assert_int_eq(file_size(cfg_path(&cfg)), 8 * MiB);
	unlink(cfg_path(&cfg));
}
END_TEST

START_TEST(test_create_then_fail_removes)
{
	/* Not a multiple of the block size: the check comes after creation. */
	struct backend_config cfg = config(in(disk_dir, "odd.img"), MiB + 512);

	cfg.block_size = 4096;
	open_fails(&cfg, -EINVAL, "not a multiple of the block size 4096", NULL);
	ck_assert_int_eq(file_size(cfg_path(&cfg)), -1);
}
END_TEST

START_TEST(test_abandon_undoes_open)
{
	struct backend_config cfg = config(in(disk_dir, "abandon.img"), 2 * MiB);
	struct backend_geometry geo;
	struct file_dev *f;

	/* A file created for the size is removed. */
	f = open_ok(&cfg, &geo);
	ck_assert(f->created);
	ops->abandon(f);
	ops->close(f);
	ck_assert_int_eq(file_size(cfg_path(&cfg)), -1);
	/* A file extended for the size gets its old size back, data intact. */
	make_file(cfg_path(&cfg), MiB, 0600);
	f = open_ok(&cfg, &geo);
	ck_assert(!f->created && f->extended);
	ck_assert_int_eq(file_size(cfg_path(&cfg)), 2 * MiB);
	ops->abandon(f);
	ops->close(f);
	ck_assert_int_eq(file_size(cfg_path(&cfg)), MiB);
	ck_assert_int_eq(file_byte(cfg_path(&cfg), MiB - 1), (char)(4095 * 13 + 1));
	/* A file of the right size is left alone. */
	cfg.size = MiB;
	f = open_ok(&cfg, &geo);
	ck_assert(!f->created && !f->extended);
	ops->abandon(f);
	ops->close(f);
	ck_assert_int_eq(file_size(cfg_path(&cfg)), MiB);
	unlink(cfg_path(&cfg));
}
END_TEST

START_TEST(test_not_a_file)
{
	struct backend_config cfg = config(disk_dir, 0);

	open_fails(&cfg, -EISDIR, "is a directory", NULL);
	cfg = config("/dev/null", 0);
	open_fails(&cfg, -EINVAL, "not a regular file or a block device", NULL);
	cfg = config("", 0);
	{
		struct backend_geometry geo;
		char err[256] = "";
		void *priv;

		ck_assert_int_eq(ops->open(&priv, &cfg, &geo, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, "a path is required");
		cfg = config("disk.img", MiB);
		ck_assert_int_eq(ops->open(&priv, &cfg, &geo, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, "disk.img is a relative path; give an absolute one");
		ck_assert_int_eq(access("disk.img", F_OK), -1);
	}
}
END_TEST

START_TEST(test_shrink_refused)
{
	struct backend_config cfg = config(in(disk_dir, "big.img"), MiB);

	make_file(cfg_path(&cfg), 2 * MiB, 0600);
	open_fails(&cfg, -EINVAL, "2097152", "1048576");
	ck_assert_int_eq(file_size(cfg_path(&cfg)), 2 * MiB);
	unlink(cfg_path(&cfg));
}
END_TEST

START_TEST(test_extend_keeps_data)
{
	struct backend_config cfg = config(in(disk_dir, "grow.img"), 3 * MiB);
	struct backend_geometry geo;
	struct file_dev *f;
	char *buf = tag_buf();

	make_file(cfg_path(&cfg), MiB, 0600);
	f = open_ok(&cfg, &geo);
	ck_assert(!f->created);
	ck_assert_uint_eq(geo.size, 3 * MiB);
	ck_assert_int_eq(file_size(cfg_path(&cfg)), 3 * MiB);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_READ, MiB - 4096, 8192, buf), 8192);
	ck_assert_int_eq(buf[0], (char)1);
	ck_assert_int_eq(buf[4096], 0);
	ops->close(f);
	/* Read-only cannot extend. */
	cfg.size = 4 * MiB;
	cfg.read_only = true;
	open_fails(&cfg, -EROFS, "smaller than the size", "read-only");
	ck_assert_int_eq(file_size(cfg_path(&cfg)), 3 * MiB);
	free(buf);
	unlink(cfg_path(&cfg));
}
END_TEST

START_TEST(test_bad_sizes)
{
	struct backend_config cfg = config(in(disk_dir, "sizes.img"), 0);

	make_file(cfg_path(&cfg), 1000, 0600);
	open_fails(&cfg, -EINVAL, "size 1000 is not a multiple of the block size 512", NULL);
	make_file(cfg_path(&cfg), 100, 0600);
	open_fails(&cfg, -EINVAL, "100 bytes, smaller than one block (512 bytes)", NULL);
	make_file(cfg_path(&cfg), 0, 0600);
	open_fails(&cfg, -EINVAL, "0 bytes, smaller than one block", NULL);
	make_file(cfg_path(&cfg), 8192 + 512, 0600);
	cfg.block_size = 4096;
	open_fails(&cfg, -EINVAL, "not a multiple of the block size 4096", NULL);
	/* A failed open leaves an existing file alone. */
	ck_assert_int_eq(file_size(cfg_path(&cfg)), 8192 + 512);
	unlink(cfg_path(&cfg));
}
END_TEST

START_TEST(test_no_permission)
{
	char dir[512];
	struct backend_config cfg;
	struct backend_geometry geo;
	struct file_dev *f;
	struct backend_op o;

	/* Root ignores file modes: drop to nobody (this test runs in a child). */
	snprintf(dir, sizeof(dir), "%s/perm", disk_dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	cfg = config(in(dir, "ro.img"), 0);
	make_file(cfg_path(&cfg), MiB, 0444);
	if (geteuid() == 0)
		ck_assert_int_eq(seteuid(65534), 0);
	open_fails(&cfg, -EACCES, "cannot open", "for writing");
	cfg.read_only = true;
	f = open_ok(&cfg, &geo);
	ck_assert(geo.read_only);
	ck_assert_uint_eq(geo.max_discard_bytes, 0);
	ck_assert_uint_eq(geo.max_write_zeroes_bytes, 0);
	o = plan(f, BACKEND_REQ_WRITE, 0, 0, 4096);
	ck_assert_int_eq(o.kind, BACKEND_OP_DONE);
	ck_assert_int_eq(o.result, -EROFS);
	o = plan(f, BACKEND_REQ_READ, 0, 0, 4096);
	ck_assert_int_eq(o.kind, BACKEND_OP_READ);
	ops->close(f);
	if (getuid() == 0)
		ck_assert_int_eq(seteuid(0), 0);
	unlink(cfg_path(&cfg));
	rmdir(dir);
}
END_TEST

START_TEST(test_tmpfs)
{
	struct backend_config cfg = config(in(shm_dir, "t.img"), 4 * MiB);
	struct backend_geometry geo;
	struct file_dev *f;
	struct json_object *o;
	struct backend_op op;

	ck_assert_msg(on_tmpfs(shm_dir), "%s is not on tmpfs", shm_dir);
	f = open_ok(&cfg, &geo);

	/* tmpfs reports no direct-I/O alignment: buffered, not a guess. */
	ck_assert(!f->direct);
	ck_assert_uint_eq(f->dio_align, 0);
	o = test_describe(ops, f);
	ck_assert(!json_object_get_boolean(json_object_object_get(o, "direct_io")));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "backing")), "file");
	json_object_put(o);
	/* tmpfs punches holes but has no ZERO_RANGE: zeroes are punched. */
	ck_assert(f->can_punch);
	ck_assert_int_eq(f->zero_mode, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	ck_assert_uint_gt(geo.max_discard_bytes, 0);
	ck_assert_uint_gt(geo.max_write_zeroes_bytes, 0);
	op = plan(f, BACKEND_REQ_WRITE_ZEROES, 0, 4096, 8192);
	ck_assert_int_eq(op.kind, BACKEND_OP_FALLOCATE);
	ck_assert_int_eq(op.mode, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	/* ... but not when the space must stay allocated (NOUNMAP). */
	op = plan(f, BACKEND_REQ_WRITE_ZEROES, BACKEND_F_NOUNMAP, 4096, 8192);
	ck_assert_int_eq(op.kind, BACKEND_OP_DONE);
	ck_assert_int_eq(op.result, -EOPNOTSUPP);
	ck_assert_uint_eq(geo.block_size, 512);
	ops->close(f);
	unlink(cfg_path(&cfg));
}
END_TEST

START_TEST(test_odirect_refused)
{
	/* sysfs refuses O_DIRECT at open (EINVAL) and its files say 4096 bytes. */
	struct backend_config cfg = config("/sys/kernel/uevent_seqnum", 0);
	struct backend_geometry geo;
	struct file_dev *f;

	if (access(cfg_path(&cfg), R_OK) < 0) {
		fprintf(stderr, "test_odirect_refused: skipped, no %s\n", cfg_path(&cfg));
		return;
	}
	cfg.read_only = true;
	f = open_ok(&cfg, &geo);
	ck_assert(!f->direct);
	ck_assert_uint_eq(geo.size, 4096);
	ops->close(f);
}
END_TEST

START_TEST(test_disk_fs)
{
	struct backend_config cfg = config(in(disk_dir, "d.img"), 4 * MiB);
	struct backend_geometry geo;
	struct file_dev *f;
	struct json_object *o;

	if (!on_ext4_or_xfs(disk_dir)) {
		fprintf(stderr, "test_disk_fs: skipped, %s is not ext4 or xfs\n", disk_dir);
		return;
	}
	f = open_ok(&cfg, &geo);
	ck_assert(f->direct);
	ck_assert(f->dio_align >= 512 && f->dio_align <= 4096);
	ck_assert_uint_eq(geo.block_size, f->dio_align > 512 ? f->dio_align : 512);
	ck_assert((fcntl(f->fd, F_GETFL) & O_DIRECT) != 0);
	ck_assert(f->can_punch);
	ck_assert_int_eq(f->zero_mode, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	o = test_describe(ops, f);
	ck_assert(json_object_get_boolean(json_object_object_get(o, "direct_io")));
	json_object_put(o);
	ops->close(f);
	/* --buffered: no O_DIRECT. */
	set_buffered(&cfg, true);
	f = open_ok(&cfg, &geo);
	ck_assert(!f->direct);
	ck_assert((fcntl(f->fd, F_GETFL) & O_DIRECT) == 0);
	ops->close(f);
	unlink(cfg_path(&cfg));
}
END_TEST

/* Opens the file in dir passed as a client's descriptor (O_APPEND,
 * O_NONBLOCK, offset 123) and checks that the daemon's copy is its own:
 * its flags are the backend's, the client's are untouched. */
static void check_passed_fd(const char *dir)
{
	const char *path = in(dir, "passed.img");
	struct backend_config cfg = config(path, 0);
	struct backend_arg *arg = (struct backend_arg *)&cfg.args[FILE_ARG_PATH];
	struct backend_geometry geo;
	struct file_dev *f;
	int cfd, fl;

	make_file(path, 4 * MiB, 0600);
	cfd = open(path, O_RDWR | O_APPEND | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(lseek(cfd, 123, SEEK_SET), 123);
	arg->passed = true;
	arg->fd = cfd;
	f = open_ok(&cfg, &geo);
	ck_assert_int_ne(f->fd, cfd);
	fl = fcntl(f->fd, F_GETFL);
	ck_assert_int_eq(fl & O_ACCMODE, O_RDWR);
	ck_assert_int_eq(fl & (O_APPEND | O_NONBLOCK), 0);
	ck_assert_int_eq(!!(fl & O_DIRECT), f->direct);
	fl = fcntl(cfd, F_GETFL);
	ck_assert_msg((fl & (O_APPEND | O_NONBLOCK)) == (O_APPEND | O_NONBLOCK) && !(fl & O_DIRECT),
		      "the client's descriptor lost its flags: 0%o", fl);
	ck_assert_int_eq(lseek(cfd, 0, SEEK_CUR), 123);
	ops->close(f);
	ck_assert_int_ge(fcntl(cfd, F_GETFD), 0);	/* still the client's */
	close(cfd);

	/* A read-only descriptor gives a read-only copy, never more. */
	cfd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(cfd, 0);
	arg->fd = cfd;
	cfg.read_only = true;
	f = open_ok(&cfg, &geo);
	ck_assert_int_eq(fcntl(f->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ops->close(f);
	close(cfd);
	unlink(path);
}

START_TEST(test_passed_fd_is_own_copy)
{
	check_passed_fd(shm_dir);
	check_passed_fd(disk_dir);
}
END_TEST

START_TEST(test_plan_ops)
{
	struct backend_config cfg = config(in(shm_dir, "p.img"), 4 * MiB);
	struct backend_geometry geo;
	struct file_dev *f = open_ok(&cfg, &geo);
	struct backend_op o;

	o = plan(f, BACKEND_REQ_READ, 0, 8192, 16384);
	ck_assert_int_eq(o.kind, BACKEND_OP_READ);
	ck_assert_int_eq(o.fd, f->fd);
	ck_assert_uint_eq(o.off, 8192);
	ck_assert_uint_eq(o.len, 16384);
	ck_assert_int_eq(o.rw_flags, 0);

	o = plan(f, BACKEND_REQ_WRITE, 0, 4096, 512);
	ck_assert_int_eq(o.kind, BACKEND_OP_WRITE);
	ck_assert_uint_eq(o.off, 4096);
	ck_assert_uint_eq(o.len, 512);
	ck_assert_int_eq(o.rw_flags, 0);

	o = plan(f, BACKEND_REQ_WRITE, BACKEND_F_FUA, 4096, 512);
	ck_assert_int_eq(o.kind, BACKEND_OP_WRITE);
	ck_assert_int_eq(o.rw_flags, RWF_DSYNC);

	o = plan(f, BACKEND_REQ_FLUSH, 0, 0, 0);
	ck_assert_int_eq(o.kind, BACKEND_OP_FSYNC);
	ck_assert(o.datasync);
	ck_assert_int_eq(o.fd, f->fd);

	o = plan(f, BACKEND_REQ_DISCARD, 0, MiB, 2 * MiB);
	ck_assert_int_eq(o.kind, BACKEND_OP_FALLOCATE);
	ck_assert_int_eq(o.mode, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	ck_assert_uint_eq(o.off, MiB);
	ck_assert_uint_eq(o.len, 2 * MiB);

	/* Zeroes that must stay allocated (NOUNMAP) only by ZERO_RANGE. */
	f->zero_mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	o = plan(f, BACKEND_REQ_WRITE_ZEROES, BACKEND_F_NOUNMAP, 512, 1024);
	ck_assert_int_eq(o.kind, BACKEND_OP_FALLOCATE);
	ck_assert_int_eq(o.mode, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	ck_assert_uint_eq(o.off, 512);
	ck_assert_uint_eq(o.len, 1024);
	f->zero_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	o = plan(f, BACKEND_REQ_WRITE_ZEROES, BACKEND_F_NOUNMAP, 512, 1024);
	ck_assert_int_eq(o.kind, BACKEND_OP_DONE);
	ck_assert_int_eq(o.result, -EOPNOTSUPP);
	o = plan(f, BACKEND_REQ_WRITE_ZEROES, 0, 512, 1024);
	ck_assert_int_eq(o.kind, BACKEND_OP_FALLOCATE);
	ck_assert_int_eq(o.mode, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);

	o = plan(f, (enum backend_req_op)99, 0, 0, 512);
	ck_assert_int_eq(o.kind, BACKEND_OP_DONE);
	ck_assert_int_eq(o.result, -EOPNOTSUPP);

	/* Without fallocate support nothing is planned for them. */
	f->can_punch = false;
	f->zero_mode = -1;
	o = plan(f, BACKEND_REQ_DISCARD, 0, 0, 4096);
	ck_assert_int_eq(o.kind, BACKEND_OP_DONE);
	ck_assert_int_eq(o.result, -EOPNOTSUPP);
	o = plan(f, BACKEND_REQ_WRITE_ZEROES, 0, 0, 4096);
	ck_assert_int_eq(o.kind, BACKEND_OP_DONE);
	ck_assert_int_eq(o.result, -EOPNOTSUPP);
	ops->close(f);
	unlink(cfg_path(&cfg));
}
END_TEST

/* Writes, flushes, reads, discards and zeroes through io_uring on a file in
 * dir, checking the backing file itself after each step. */
static void roundtrip(const char *dir, bool buffered)
{
	struct backend_config cfg = config(in(dir, "rt.img"), 16 * MiB);
	struct backend_geometry geo;
	struct file_dev *f;
	char *buf = tag_buf(), *check = malloc(BUF_BYTES);
	int fd, wfd;

	set_buffered(&cfg, buffered);
	f = open_ok(&cfg, &geo);
	fd = open(cfg_path(&cfg), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < BUF_BYTES; i++)
		buf[i] = (char)(i * 31 + 7);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_WRITE, 2 * MiB, BUF_BYTES, buf), BUF_BYTES);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_WRITE | UBLK_IO_F_FUA, 4 * MiB, 4096, buf),
			 4096);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_FLUSH, 0, 0, buf), 0);
	ck_assert_int_eq(pread(fd, check, BUF_BYTES, 2 * MiB), BUF_BYTES);
	ck_assert_mem_eq(check, buf, BUF_BYTES);
	ck_assert_int_eq(pread(fd, check, 4096, 4 * MiB), 4096);
	ck_assert_mem_eq(check, buf, 4096);

	/* Data placed in the file reads back through the backend. */
	memset(check, 0x3c, 8192);
	wfd = open(cfg_path(&cfg), O_WRONLY);
	ck_assert_int_eq(pwrite(wfd, check, 8192, 8 * MiB), 8192);
	close(wfd);
	memset(buf, 0, 8192);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_READ, 8 * MiB, 8192, buf), 8192);
	ck_assert_mem_eq(buf, check, 8192);

	/* DISCARD punches a hole: the file gives its blocks back. */
	{
		long long before = file_allocated(cfg_path(&cfg));

		ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_DISCARD, 2 * MiB, BUF_BYTES, buf), 0);
		ck_assert_int_le(file_allocated(cfg_path(&cfg)), before - BUF_BYTES);
		ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_READ, 2 * MiB, BUF_BYTES, buf),
				 BUF_BYTES);
		test_assert_zero(buf, BUF_BYTES);
	}
	/* WRITE_ZEROES zeroes exactly its range. */
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_WRITE_ZEROES, 8 * MiB, 4096, buf), 0);
	ck_assert_int_eq(pread(fd, check, 8192, 8 * MiB), 8192);
	test_assert_zero(check, 4096);
	ck_assert_int_eq(check[4096], 0x3c);

	/* The file shrank behind our back: a read past its end gives zeroes,
	 * and the full length, never a short result. */
	ck_assert_int_eq(truncate(cfg_path(&cfg), 16 * MiB - 4096), 0);
	memset(buf, 0x55, 8192);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_READ, 16 * MiB - 8192, 8192, buf), 8192);
	test_assert_zero(buf + 4096, 4096);

	/* A failing backing is an error, not zeroes: reading through a
	 * descriptor that cannot read (EBADF) commits -EIO. */
	{
		int keep = f->fd;

		f->fd = open(cfg_path(&cfg), O_WRONLY);
		ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_READ, 0, 4096, buf), -EIO);
		close(f->fd);
		f->fd = keep;
	}
	close(fd);
	ops->close(f);
	unlink(cfg_path(&cfg));
	free(buf);
	free(check);
}

START_TEST(test_roundtrip_disk)
{
	roundtrip(disk_dir, false);
}
END_TEST

START_TEST(test_roundtrip_buffered)
{
	roundtrip(disk_dir, true);
}
END_TEST

START_TEST(test_roundtrip_tmpfs)
{
	roundtrip(shm_dir, false);
}
END_TEST

START_TEST(test_block_size_pick)
{
	char err[256] = "";
	uint32_t bs = 0;

	ck_assert_int_eq(file_open_block_size(512, 4096, "x", &bs, err, sizeof(err)), 0);
	ck_assert_uint_eq(bs, 4096);
	ck_assert_int_eq(file_open_block_size(4096, 512, "x", &bs, err, sizeof(err)), 0);
	ck_assert_uint_eq(bs, 4096);
	ck_assert_int_eq(file_open_block_size(1024, 0, "x", &bs, err, sizeof(err)), 0);
	ck_assert_uint_eq(bs, 1024);
	ck_assert_int_eq(file_open_block_size(512, 8192, "/dev/big", &bs, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "/dev/big needs a logical block size of 8192"), "%s", err);
}
END_TEST

START_TEST(test_probes)
{
	struct stat st;
	uint32_t lbs = 0;
	bool punch, zero;
	int fd;

	/* A file on a disk: its device's queue has a logical block size. */
	ck_assert_int_eq(stat(disk_dir, &st), 0);
	if (file_probe_sysfs_lbs(st.st_dev, &lbs) == 0)
		ck_assert(lbs >= 512 && lbs <= 65536 && !(lbs & (lbs - 1)));
	/* tmpfs has no block device. */
	ck_assert_int_eq(stat(shm_dir, &st), 0);
	ck_assert_int_lt(file_probe_sysfs_lbs(st.st_dev, &lbs), 0);
	/* On tmpfs, the fallocate probe finds PUNCH_HOLE and no ZERO_RANGE. */
	fd = open(shm_dir, O_TMPFILE | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 8192), 0);
	file_probe_fallocate_fd(fd, &punch, &zero);
	ck_assert(punch);
	ck_assert(!zero);
	close(fd);
	/* A read-only fd cannot fallocate at all. */
	fd = open("/dev/null", O_RDONLY);
	file_probe_fallocate_fd(fd, &punch, &zero);
	ck_assert(!punch && !zero);
	close(fd);
}
END_TEST

/* Runs a command and returns its first output line, or "" on failure. */
static const char *sh(const char *cmd)
{
	static char line[256];
	FILE *p = popen(cmd, "r");

	line[0] = 0;
	if (!p)
		return line;
	if (!fgets(line, sizeof(line), p))
		line[0] = 0;
	if (pclose(p) != 0)
		line[0] = 0;
	line[strcspn(line, "\n")] = 0;
	return line;
}

START_TEST(test_block_device_4k)
{
	const char *img = in(disk_dir, "loop.img");
	char cmd[1024], dev[64];
	struct backend_config cfg;
	struct backend_geometry geo;
	struct file_dev *f;
	char *buf;

	if (geteuid() != 0 || access("/dev/loop-control", W_OK) < 0) {
		fprintf(stderr, "test_block_device_4k: skipped, needs root and loop devices\n");
		return;
	}
	make_file(img, 16 * MiB, 0600);
	snprintf(cmd, sizeof(cmd), "losetup --sector-size 4096 -f --show %s 2>/dev/null", img);
	snprintf(dev, sizeof(dev), "%s", sh(cmd));
	if (!dev[0]) {
		fprintf(stderr, "test_block_device_4k: skipped, losetup failed\n");
		unlink(img);
		return;
	}
	/* Asked for 512: a 4 KiB-sector device is served with 4 KiB blocks. */
	cfg = config(dev, 0);
	f = open_ok(&cfg, &geo);
	ck_assert(f->bdev);
	ck_assert_uint_eq(geo.block_size, 4096);
	ck_assert_uint_eq(geo.size, 16 * MiB);
	ck_assert_uint_eq(geo.max_discard_bytes, 0);
	ck_assert_uint_gt(geo.max_write_zeroes_bytes, 0);
	ck_assert_int_eq(f->zero_mode, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	{
		struct json_object *o = test_describe(ops, f);

		ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "backing")),
				 "block device");
		json_object_put(o);
	}
	/* Held exclusively: a second writer is refused. */
	open_fails(&cfg, -EBUSY, "in use", NULL);
	buf = tag_buf();
	memset(buf, 0x42, 8192);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_WRITE, 4096, 8192, buf), 8192);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_FLUSH, 0, 0, buf), 0);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_WRITE_ZEROES, 8192, 4096, buf), 0);
	memset(buf, 0, 8192);
	ck_assert_int_eq(run(f, geo.size, UBLK_IO_OP_READ, 4096, 8192, buf), 8192);
	ck_assert_int_eq(buf[0], 0x42);
	ck_assert_int_eq(buf[4095], 0x42);
	ck_assert_int_eq(buf[4096], 0);
	ops->close(f);
	free(buf);
	/* A size that differs from the device's is an error. */
	cfg.size = 8 * MiB;
	open_fails(&cfg, -EINVAL, "differs from the size of the block device", "16777216");
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	ck_assert_int_eq(system(cmd), 0);
	unlink(img);
}
END_TEST

/* Builds the suite. */
static Suite *file_suite(void)
{
	Suite *s = suite_create("file");
	TCase *open = tcase_create("open");
	TCase *io = tcase_create("io");

	tcase_add_test(open, test_registered);
	tcase_add_test(open, test_missing_file);
	tcase_add_test(open, test_create_with_size);
	tcase_add_test(open, test_create_then_fail_removes);
	tcase_add_test(open, test_abandon_undoes_open);
	tcase_add_test(open, test_passed_fd_is_own_copy);
	tcase_add_test(open, test_not_a_file);
	tcase_add_test(open, test_shrink_refused);
	tcase_add_test(open, test_extend_keeps_data);
	tcase_add_test(open, test_bad_sizes);
	tcase_add_test(open, test_no_permission);
	tcase_add_test(open, test_tmpfs);
	tcase_add_test(open, test_odirect_refused);
	tcase_add_test(open, test_disk_fs);
	tcase_add_test(open, test_block_size_pick);
	tcase_add_test(open, test_probes);
	tcase_add_test(io, test_plan_ops);
	tcase_add_test(io, test_roundtrip_disk);
	tcase_add_test(io, test_roundtrip_buffered);
	tcase_add_test(io, test_roundtrip_tmpfs);
	tcase_add_test(io, test_block_device_4k);
	tcase_set_timeout(io, 60);
	suite_add_tcase(s, open);
	suite_add_tcase(s, io);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;
	char cmd[600];

	ops = backends_find("file");
	/* The build tree, as an absolute path: the backend wants one. */
	if (!getcwd(disk_dir, sizeof(disk_dir) - 32))
		return 99;
	strcat(disk_dir, "/check-file-XXXXXX");
	if (!mkdtemp(disk_dir) || !mkdtemp(shm_dir))
		return 99;
	chmod(disk_dir, 0755);
	sr = srunner_create(file_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", disk_dir, shm_dir);
	if (system(cmd) != 0)
		return 99;
	return failed ? 1 : 0;
}
