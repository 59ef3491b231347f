/* Unit tests of io_serve: one descriptor served through a backend. */
#include "config.h"
#include "daemon/io.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF_BYTES (128 * 1024)

static struct io_target target;
static char *buf;
static char dir[] = "/dev/shm/ublkd-io-XXXXXX";
static char dir_file[256];	/* the mem backend's file (test_user_copy_fault) */

/* Opens a 1 MiB mem backend as the target. */
static void setup(void)
{
	static struct backend_arg args[BACKEND_MAX_PARAMS];
	struct backend_config cfg = { .size = 1 << 20, .block_size = 512,
				      .state_dir = dir, .args = args };
	struct backend_geometry geo;
	char err[256];

	memset(&target, 0, sizeof(target));
	ck_assert_int_eq(io_open(&target, backends_find("mem"), &cfg, &geo, err, sizeof(err)), 0);
	ck_assert(target.open);
	ck_assert_uint_eq(target.size, 1 << 20);
	target.buf_bytes = BUF_BYTES;
	buf = aligned_alloc(4096, BUF_BYTES);
}

/* Closes the target. */
static void teardown(void)
{
	io_close(&target, false);
	ck_assert(!target.open);
	io_close(&target, false);	/* harmless twice */
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
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 16 * 512);
	memset(buf, 0, 16 * 512);
	d = desc(UBLK_IO_OP_READ, 8, 16);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 16 * 512);
	ck_assert_int_eq((unsigned char)buf[0], 0x5a);
	ck_assert_mem_eq(buf, buf + 1, 16 * 512 - 1);
	d = desc(UBLK_IO_OP_READ, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 8 * 512);
	ck_assert_int_eq(buf[0], 0);
}
END_TEST

START_TEST(test_bounds)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_READ, 2048 - 8, 16);

	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), -EIO);
	d = desc(UBLK_IO_OP_READ, 2048 - 8, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 8 * 512);
	d = desc(UBLK_IO_OP_WRITE, UINT64_MAX >> 9, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), -EIO);
	d = desc(UBLK_IO_OP_READ, 0, BUF_BYTES / 512 + 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), -EIO);
	/* A descriptor that points at another buffer is refused. */
	d = desc(UBLK_IO_OP_READ, 0, 8);
	d.addr += 4096;
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), -EIO);
}
END_TEST

START_TEST(test_other_ops)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_FLUSH, 0, 0);

	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 0);
	d = desc(UBLK_IO_OP_WRITE, 0, 8);
	memset(buf, 1, 4096);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 4096);
	d = desc(UBLK_IO_OP_DISCARD, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 0);
	d = desc(UBLK_IO_OP_READ, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 4096);
	ck_assert_int_eq(buf[0], 0);
	d = desc(UBLK_IO_OP_WRITE_ZEROES | UBLK_IO_F_NOUNMAP, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 0);
	d = desc(UBLK_IO_OP_WRITE_SAME, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), -EOPNOTSUPP);
	d = desc(13 /* ZONE_APPEND */, 0, 8);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), -EOPNOTSUPP);
	d = desc(UBLK_IO_OP_DISCARD, 2040, 16);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), -EIO);
}
END_TEST

/* Opens a 1 MiB null backend as t, its geometry in geo. */
static void open_null(struct io_target *t, struct backend_geometry *geo)
{
	static struct backend_arg args[BACKEND_MAX_PARAMS];
	struct backend_config cfg = { .size = 1 << 20, .block_size = 512, .args = args };
	char err[256];

	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(io_open(t, backends_find("null"), &cfg, geo, err, sizeof(err)), 0);
	t->buf_bytes = BUF_BYTES;
}

/* A null device's reads zero only what a write may have filled: a buffer
 * byte nothing was told about stays, proving no memset of the whole buffer;
 * a mem device's reads count as filling the buffer. */
START_TEST(test_zero_reads_skip_clean_buffers)
{
	struct backend_geometry geo;
	struct io_target null;
	struct ublksrv_io_desc d;
	uint32_t dirty = 0;

	open_null(&null, &geo);
	memset(buf, 0x77, 16 * 512);	/* as the kernel copies a write in */
	d = desc(UBLK_IO_OP_WRITE, 0, 16);
	ck_assert_int_eq(io_serve(&null, &d, buf, &dirty), 16 * 512);
	ck_assert_uint_eq(dirty, 16 * 512);
	/* A shorter read zeroes its own length; the rest stays dirty. */
	d = desc(UBLK_IO_OP_READ, 0, 8);
	ck_assert_int_eq(io_serve(&null, &d, buf, &dirty), 8 * 512);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_int_eq(buf[8 * 512 - 1], 0);
	ck_assert_int_eq((unsigned char)buf[8 * 512], 0x77);
	ck_assert_uint_eq(dirty, 16 * 512);
	/* A read as long as the dirty part clears all of it. */
	d = desc(UBLK_IO_OP_READ, 0, 32);
	ck_assert_int_eq(io_serve(&null, &d, buf, &dirty), 32 * 512);
	ck_assert_int_eq(buf[16 * 512 - 1], 0);
	ck_assert_uint_eq(dirty, 0);
	/* Clean now: a byte changed behind io_serve's back is not touched. */
	buf[100] = 1;
	ck_assert_int_eq(io_serve(&null, &d, buf, &dirty), 32 * 512);
	ck_assert_int_eq(buf[100], 1);
	buf[100] = 0;
	/* A WRITE refused (outside the device) still had its data copied in
	 * by the kernel: the next read must clear it. */
	memset(buf, 0x66, 64 * 512);
	d = desc(UBLK_IO_OP_WRITE, 2048 - 8, 64);
	ck_assert_int_eq(io_serve(&null, &d, buf, &dirty), -EIO);
	ck_assert_uint_eq(dirty, 64 * 512);
	d = desc(UBLK_IO_OP_READ, 0, 64);
	ck_assert_int_eq(io_serve(&null, &d, buf, &dirty), 64 * 512);
	ck_assert_int_eq(buf[64 * 512 - 1], 0);
	ck_assert_uint_eq(dirty, 0);
	io_close(&null, false);
	/* The mem target (the fixture) fills the buffer on reads. */
	dirty = 0;
	d = desc(UBLK_IO_OP_READ, 0, 16);
	ck_assert_int_eq(io_serve(&target, &d, buf, &dirty), 16 * 512);
	ck_assert_uint_eq(dirty, 16 * 512);
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

/* The last request fake_plan saw. */
static struct backend_req fake_seen;

/* A planning backend: READ of half the request from fd 42, WRITE whole,
 * FLUSH as fsync, DISCARD as DONE with an error. */
static int fake_plan(void *priv, const struct backend_req *req, struct backend_op *op)
{
	(void)priv;
	fake_seen = *req;
	memset(op, 0, sizeof(*op));
	op->fd = 42;
	op->off = req->off + 100;
	switch (req->op) {
	case BACKEND_REQ_READ: op->kind = BACKEND_OP_READ; op->len = req->len / 2; break;
	case BACKEND_REQ_WRITE: op->kind = BACKEND_OP_WRITE; op->len = req->len; break;
	case BACKEND_REQ_FLUSH: op->kind = BACKEND_OP_FSYNC; break;
	default: op->kind = BACKEND_OP_DONE; op->result = -ENOSPC; break;
	}
	return 0;
}

static const struct backend_ops fake_ops = { .name = "fake", .plan = fake_plan };

START_TEST(test_plan)
{
	struct io_target t = { .ops = &fake_ops, .size = 1 << 20, .buf_bytes = BUF_BYTES };
	struct io_pending p;
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_READ, 0, 8);
	struct backend_geometry geo = { .read_only = true };

	memset(buf, 0x77, 4096);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), 1);
	ck_assert_int_eq(p.op.kind, BACKEND_OP_READ);
	ck_assert_uint_eq(p.op.off, 100);
	ck_assert_uint_eq(p.op.len, 2048);
	/* The half the backend does not read is zero-filled. */
	ck_assert_int_eq(buf[2048], 0);
	ck_assert_int_eq(buf[4095], 0);
	/* A short read asks for the rest, end of file zero-fills it. */
	ck_assert_int_eq(io_advance(&p, 1000, buf), 1);
	ck_assert_uint_eq(p.done, 1000);
	ck_assert_int_eq(io_advance(&p, 0, buf), 4096);
	ck_assert_int_eq(buf[1000], 0);
	ck_assert_int_eq(buf[999], 0x77);

	d = desc(UBLK_IO_OP_WRITE, 0, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), 1);
	ck_assert_int_eq(io_advance(&p, 4096, buf), 4096);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), 1);
	ck_assert_int_eq(io_advance(&p, 0, buf), -EIO);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), 1);
	ck_assert_int_eq(io_advance(&p, -ENOSPC, buf), -ENOSPC);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), 1);
	ck_assert_int_eq(io_advance(&p, -EBADF, buf), -EIO);

	d = desc(UBLK_IO_OP_FLUSH, 0, 0);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), 1);
	ck_assert_int_eq(io_advance(&p, 0, buf), 0);
	d = desc(UBLK_IO_OP_DISCARD, 0, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), -ENOSPC);
	d = desc(UBLK_IO_OP_READ, 2047, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), -EIO);

	/* The kernel's ops and flags reach the backend as its own. */
	d = desc(UBLK_IO_OP_WRITE | UBLK_IO_F_FUA, 8, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), 1);
	ck_assert_int_eq(fake_seen.op, BACKEND_REQ_WRITE);
	ck_assert_uint_eq(fake_seen.flags, BACKEND_F_FUA);
	ck_assert_uint_eq(fake_seen.off, 4096);
	ck_assert_uint_eq(fake_seen.len, 4096);
	d = desc(UBLK_IO_OP_WRITE_ZEROES | UBLK_IO_F_NOUNMAP, 0, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), -ENOSPC);
	ck_assert_int_eq(fake_seen.op, BACKEND_REQ_WRITE_ZEROES);
	ck_assert_uint_eq(fake_seen.flags, BACKEND_F_NOUNMAP);
	d = desc(UBLK_IO_OP_DISCARD, 0, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), -ENOSPC);
	ck_assert_int_eq(fake_seen.op, BACKEND_REQ_DISCARD);
	ck_assert_uint_eq(fake_seen.flags, 0);
	/* Ops no backend serves never reach it. */
	memset(&fake_seen, 0, sizeof(fake_seen));
	d = desc(UBLK_IO_OP_WRITE_SAME, 0, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), -EOPNOTSUPP);
	d = desc(0x7f, 0, 8);
	ck_assert_int_eq(io_prepare(&t, &d, buf, &p), -EOPNOTSUPP);
	ck_assert_uint_eq(fake_seen.len, 0);
	ck_assert(io_plans(&t, false));
	ck_assert(io_plans(&t, true));

	/* Capabilities come from the geometry for planning backends. */
	ck_assert(!io_can_write(&t, &geo));
	geo.read_only = false;
	ck_assert(io_can_write(&t, &geo));
	ck_assert(!io_can_flush(&t, &geo));
	ck_assert(!io_can_discard(&t, &geo));
	geo.volatile_cache = true;
	geo.max_discard_bytes = 4096;
	ck_assert(io_can_flush(&t, &geo));
	ck_assert(io_can_discard(&t, &geo));
	ck_assert(!io_can_write_zeroes(&t, &geo));
}
END_TEST


/* Zero copy: no buffer of ours (NULL); a READ that ends short goes on as a
 * read of zeroes (p.fill) over the rest of the request, never a memset. */
START_TEST(test_plan_zero_copy)
{
	struct io_target t = { .ops = &fake_ops, .size = 1 << 20, .buf_bytes = BUF_BYTES };
	struct io_target copy = t;
	struct backend_geometry zc = { .zero_copy = true }, plain = { 0 };
	struct io_pending p;
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_READ, 0, 8);

	/* The geometry says it; a backend that serves at once never can. */
	ck_assert(io_zero_copy_capable(&t, &zc));
	ck_assert(!io_zero_copy_capable(&t, &plain));
	ck_assert(!io_zero_copy_capable(&target, &zc));
	d.addr = 0;	/* the kernel names no buffer of ours */
	/* fake_plan reads half: the other half comes from the fill. */
	ck_assert_int_eq(io_prepare(&t, &d, NULL, &p), 1);
	ck_assert_uint_eq(p.op.len, 2048);
	ck_assert(!p.fill);
	ck_assert_int_eq(io_advance(&p, 2048, NULL), 1);
	ck_assert(p.fill);
	ck_assert_uint_eq(p.done, 2048);
	ck_assert_uint_eq(p.op.len, 4096);
	ck_assert_int_eq(io_advance(&p, 2048, NULL), 4096);
	/* End of file mid-read: the rest is filled from where it stopped. */
	ck_assert_int_eq(io_prepare(&t, &d, NULL, &p), 1);
	ck_assert_int_eq(io_advance(&p, 512, NULL), 1);
	ck_assert(!p.fill);
	ck_assert_int_eq(io_advance(&p, 0, NULL), 1);
	ck_assert(p.fill);
	ck_assert_uint_eq(p.done, 512);
	ck_assert_int_eq(io_advance(&p, 3584, NULL), 4096);
	/* A fill that reads nothing is an error, not a loop. */
	ck_assert_int_eq(io_prepare(&t, &d, NULL, &p), 1);
	ck_assert_int_eq(io_advance(&p, 2048, NULL), 1);
	ck_assert_int_eq(io_advance(&p, 0, NULL), -EIO);
	/* Writes are whole; the kernel's addr is not checked without a buffer. */
	d = desc(UBLK_IO_OP_WRITE, 0, 8);
	d.addr = 12345;
	ck_assert_int_eq(io_prepare(&t, &d, NULL, &p), 1);
	ck_assert_int_eq(io_advance(&p, 4096, NULL), 4096);
	/* With a buffer of ours its address must still match. */
	ck_assert_int_eq(io_prepare(&copy, &d, buf, &p), -EIO);
}
END_TEST

/* The null backend copies through its buffer, and under zero copy (no
 * buffer of ours) plans: a READ is all fill from /dev/zero, every other
 * request is done at once without touching data. */
START_TEST(test_null_zero_copy)
{
	struct backend_geometry geo;
	struct io_target null;
	struct ublksrv_io_desc d;
	struct io_pending p;

	open_null(&null, &geo);
	ck_assert(io_zero_copy_capable(&null, &geo));
	ck_assert(!io_plans(&null, false));	/* copying: io_serve, dirty bytes only */
	ck_assert(io_plans(&null, true));
	ck_assert(io_can_write(&null, &geo));
	ck_assert(io_can_discard(&null, &geo));
	ck_assert(!io_can_flush(&null, &geo));

	d = desc(UBLK_IO_OP_READ, 8, 16);
	d.addr = 0;
	memset(&p, 0x5a, sizeof(p));
	ck_assert_int_eq(io_prepare(&null, &d, NULL, &p), 1);
	ck_assert(p.fill);
	ck_assert_int_eq(p.op.kind, BACKEND_OP_READ);
	ck_assert_uint_eq(p.op.len, 16 * 512);
	ck_assert_uint_eq(p.done, 0);
	ck_assert_int_eq(io_advance(&p, 4096, NULL), 1);	/* /dev/zero read short */
	ck_assert_int_eq(io_advance(&p, 4096, NULL), 16 * 512);

	d = desc(UBLK_IO_OP_WRITE, 0, 8);
	d.addr = 0;
	ck_assert_int_eq(io_prepare(&null, &d, NULL, &p), 4096);
	d = desc(UBLK_IO_OP_FLUSH, 0, 0);
	ck_assert_int_eq(io_prepare(&null, &d, NULL, &p), 0);
	d = desc(UBLK_IO_OP_DISCARD, 0, 8);
	ck_assert_int_eq(io_prepare(&null, &d, NULL, &p), 0);
	d = desc(UBLK_IO_OP_WRITE_ZEROES, 0, 8);
	ck_assert_int_eq(io_prepare(&null, &d, NULL, &p), 0);
	/* Past the end is refused before the plan, as when copying. */
	d = desc(UBLK_IO_OP_READ, (1 << 20) / 512 - 4, 8);
	d.addr = 0;
	ck_assert_int_lt(io_prepare(&null, &d, NULL, &p), 0);
	io_close(&null, false);
}
END_TEST

/* SET_PARAMS: DMA_ALIGN only for a zero-copy device whose backend needs
 * its memory aligned; else 6.12's length. */
START_TEST(test_params_dma_align)
{
	struct io_target t = { .ops = &fake_ops, .size = 1 << 20, .buf_bytes = BUF_BYTES };
	struct backend_geometry geo = { .size = 1 << 20, .block_size = 4096, .zero_copy = true,
					.mem_align = 4096 };
	struct ublk_params p;

	io_fill_params(&p, &t, &geo, BUF_BYTES, UBLK_F_AUTO_BUF_REG);
	ck_assert(p.types & UBLK_PARAM_TYPE_DMA_ALIGN);
	ck_assert_uint_eq(p.dma.alignment, 4095);
	ck_assert_uint_eq(p.len, sizeof(p));
	io_fill_params(&p, &t, &geo, BUF_BYTES, 0);
	ck_assert(!(p.types & UBLK_PARAM_TYPE_DMA_ALIGN));
	ck_assert_uint_eq(p.len, 112);
	geo.mem_align = 512;
	io_fill_params(&p, &t, &geo, BUF_BYTES, UBLK_F_AUTO_BUF_REG);
	ck_assert(p.types & UBLK_PARAM_TYPE_DMA_ALIGN);
	ck_assert_uint_eq(p.dma.alignment, 511);
	geo.mem_align = 0;	/* buffered I/O */
	io_fill_params(&p, &t, &geo, BUF_BYTES, UBLK_F_AUTO_BUF_REG);
	ck_assert(!(p.types & UBLK_PARAM_TYPE_DMA_ALIGN));
	ck_assert_uint_eq(p.len, 112);
}
END_TEST

/* SET_PARAMS: the largest request is the daemon's buffer, or the
 * backend's maximum where that is smaller (never larger). */
START_TEST(test_params_max_io)
{
	struct io_target t = { .ops = &fake_ops, .size = 1 << 20, .buf_bytes = BUF_BYTES };
	struct backend_geometry geo = { .size = 1 << 20, .block_size = 512 };
	struct ublk_params p;

	io_fill_params(&p, &t, &geo, BUF_BYTES, 0);
	ck_assert_uint_eq(p.basic.max_sectors, BUF_BYTES >> 9);
	geo.max_io_bytes = 64 << 10;
	io_fill_params(&p, &t, &geo, BUF_BYTES, 0);
	ck_assert_uint_eq(p.basic.max_sectors, 128);
	geo.max_io_bytes = 2 * BUF_BYTES;
	io_fill_params(&p, &t, &geo, BUF_BYTES, 0);
	ck_assert_uint_eq(p.basic.max_sectors, BUF_BYTES >> 9);
}
END_TEST

/* What the fake submitting backend was last handed. */
static struct {
	unsigned calls, queue, unplugs, unplugged_queue;
	struct backend_req req;
	backend_done_fn done;
	void *ctx;
} sub_seen;
static int sub_result;

/* A submitting backend that records the request and answers sub_result. */
static int sub_submit(void *priv, unsigned queue, const struct backend_req *req,
		      backend_done_fn done, void *ctx)
{
	(void)priv;
	sub_seen.calls++;
	sub_seen.queue = queue;
	sub_seen.req = *req;
	sub_seen.done = done;
	sub_seen.ctx = ctx;
	return sub_result;
}

/* A done callback that is never to be called by io_start itself. */
static void sub_done(void *ctx, int res)
{
	(void)ctx;
	(void)res;
	ck_abort_msg("done called from inside io_start");
}

/* Records an unplug. */
static void sub_unplug(void *priv, unsigned queue)
{
	(void)priv;
	sub_seen.unplugs++;
	sub_seen.unplugged_queue = queue;
}

static const struct backend_ops sub_ops = {
	.name = "sub", .submit = sub_submit, .unplug = sub_unplug, .thread_safe = true,
};

START_TEST(test_submit)
{
	struct io_target t = { .ops = &sub_ops, .size = 1 << 20, .buf_bytes = BUF_BYTES };
	struct io_pending p;
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_READ, 16, 8);
	struct backend_geometry geo = { .max_discard_bytes = 4096 };
	int ctx;

	memset(&sub_seen, 0, sizeof(sub_seen));
	sub_result = 0;
	ck_assert(io_submits(&t));
	ck_assert(!io_plans(&t, false));
	ck_assert(!io_plans(&t, true));
	/* Its watches live on the main loop: never on io threads. */
	ck_assert(!io_thread_safe(&t));
	/* A backend that cannot move data fails a user-copy READ, no more. */
	ck_assert(!io_user_copy_capable(&t));
	ck_assert_int_eq(io_serve_user_copy(&t, &d, -1, 0, 0), -EIO);
	ck_assert_int_eq(io_start(&t, 3, &d, buf, &p, sub_done, &ctx), 1);
	ck_assert_uint_eq(sub_seen.calls, 1);
	ck_assert_uint_eq(sub_seen.queue, 3);
	ck_assert_int_eq(sub_seen.req.op, BACKEND_REQ_READ);
	ck_assert_uint_eq(sub_seen.req.off, 16 * 512);
	ck_assert_uint_eq(sub_seen.req.len, 4096);
	ck_assert_ptr_eq(sub_seen.req.buf, buf);
	ck_assert_ptr_eq(sub_seen.ctx, &ctx);
	/* The end of a wakeup reaches the backend with its queue; a backend
	 * without unplug is not called. */
	io_unplug(&t, 3);
	ck_assert_uint_eq(sub_seen.unplugs, 1);
	ck_assert_uint_eq(sub_seen.unplugged_queue, 3);
	io_unplug(&(struct io_target){ .ops = &fake_ops }, 0);
	ck_assert_uint_eq(sub_seen.unplugs, 1);
	/* A data request commits its length, the others 0; errors map. */
	ck_assert_int_eq(io_finish(&p, 0), 4096);
	ck_assert_int_eq(io_finish(&p, -ENOSPC), -ENOSPC);
	ck_assert_int_eq(io_finish(&p, -ECONNRESET), -EIO);
	d = desc(UBLK_IO_OP_FLUSH, 0, 0);
	ck_assert_int_eq(io_start(&t, 0, &d, buf, &p, sub_done, &ctx), 1);
	ck_assert_int_eq(sub_seen.req.op, BACKEND_REQ_FLUSH);
	ck_assert_int_eq(io_finish(&p, 0), 0);
	/* Refused at once: the errno is committed, done is not called. */
	sub_result = -ENOTCONN;
	d = desc(UBLK_IO_OP_WRITE | UBLK_IO_F_FUA, 0, 8);
	ck_assert_int_eq(io_start(&t, 0, &d, buf, &p, sub_done, &ctx), -EIO);
	ck_assert_uint_eq(sub_seen.req.flags, BACKEND_F_FUA);
	sub_result = -ETIMEDOUT;
	ck_assert_int_eq(io_start(&t, 0, &d, buf, &p, sub_done, &ctx), -ETIMEDOUT);
	/* Requests outside the device never reach the backend. */
	sub_seen.calls = 0;
	d = desc(UBLK_IO_OP_READ, 2047, 8);
	ck_assert_int_eq(io_start(&t, 0, &d, buf, &p, sub_done, &ctx), -EIO);
	d = desc(UBLK_IO_OP_WRITE_SAME, 0, 8);
	ck_assert_int_eq(io_start(&t, 0, &d, buf, &p, sub_done, &ctx), -EOPNOTSUPP);
	ck_assert_uint_eq(sub_seen.calls, 0);
	/* Capabilities come from the geometry, as for planning backends. */
	ck_assert(io_can_write(&t, &geo));
	ck_assert(!io_can_flush(&t, &geo));
	ck_assert(io_can_discard(&t, &geo));
	ck_assert(!io_can_write_zeroes(&t, &geo));
	geo.read_only = true;
	ck_assert(!io_can_write(&t, &geo));
	ck_assert(!io_can_discard(&t, &geo));
}
END_TEST

/* Where UBLK_F_USER_COPY puts queue q's tag's data in the char device. */
static off_t user_copy_pos(uint16_t q, uint16_t tag)
{
	return (off_t)(UBLKSRV_IO_BUF_OFFSET + ((uint64_t)q << UBLK_QID_OFF) +
		       ((uint64_t)tag << UBLK_TAG_OFF));
}

/* A file standing in for the char device: pread and pwrite on it copy as
 * the kernel's do, a fault ending them short. */
static int fake_cdev(void)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/cdev", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

/* Fills len bytes of "request" data at the fake char device's pos with c. */
static void cdev_fill(int fd, off_t pos, int c, size_t len)
{
	memset(buf, c, len);
	ck_assert_int_eq(pwrite(fd, buf, len, pos), (ssize_t)len);
}

/* Under user copy a mem device's WRITE is copied out of the request's place
 * in the char device (queue and tag in the offset) into its memory, and a
 * READ into that place: written pages and holes (zeroes) in one request;
 * FLUSH, DISCARD and the bounds as when copying. */
START_TEST(test_user_copy)
{
	struct ublksrv_io_desc d;
	int fd = fake_cdev();

	ck_assert(io_user_copy_capable(&target));

	/* WRITE 12 KiB at 4 KiB from queue 1's tag 3. */
	cdev_fill(fd, user_copy_pos(1, 3), 0x5a, 12288);
	d = desc(UBLK_IO_OP_WRITE, 8, 24);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 1, 3), 12288);
	memset(buf, 0, 12288);
	d = desc(UBLK_IO_OP_READ, 8, 24);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 12288);
	ck_assert_int_eq((unsigned char)buf[0], 0x5a);
	ck_assert_mem_eq(buf, buf + 1, 12288 - 1);

	/* READ 64 KiB from 0 into queue 0's tag 0, whose place held 0x77:
	 * a hole, the written pages, then holes again. */
	cdev_fill(fd, user_copy_pos(0, 0), 0x77, 65536);
	d = desc(UBLK_IO_OP_READ, 0, 128);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 0), 65536);
	ck_assert_int_eq(pread(fd, buf, 65536, user_copy_pos(0, 0)), 65536);
	for (size_t i = 0; i < 65536; i += 512)
		ck_assert_int_eq((unsigned char)buf[i], i >= 4096 && i < 16384 ? 0x5a : 0);
	ck_assert_mem_eq(buf + 4096, buf + 4097, 12287);
	ck_assert_mem_eq(buf + 16384, buf + 16385, 65536 - 16385);

	/* Non-data requests go to the callbacks: DISCARD makes a hole. */
	d = desc(UBLK_IO_OP_DISCARD, 8, 8);
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 0), 0);
	d = desc(UBLK_IO_OP_FLUSH, 0, 0);
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 0), 0);
	d = desc(UBLK_IO_OP_READ, 8, 16);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 5), 8192);
	ck_assert_int_eq(pread(fd, buf, 8192, user_copy_pos(0, 5)), 8192);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_mem_eq(buf, buf + 1, 4095);
	ck_assert_int_eq((unsigned char)buf[4096], 0x5a);

	/* Past the end, or larger than a request may be: refused. */
	d = desc(UBLK_IO_OP_READ, 2048 - 8, 16);
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 0), -EIO);
	d = desc(UBLK_IO_OP_WRITE, 0, BUF_BYTES / 512 + 8);
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 0), -EIO);
	close(fd);
}
END_TEST

/* A null device under user copy: a READ puts zeroes at the request's place
 * (more than one zero piece's worth), a WRITE copies nothing at all (it
 * succeeds even where reading the request's data would fail). */
START_TEST(test_null_user_copy)
{
	enum { LEN = 256 * 1024 };
	struct backend_geometry geo;
	struct io_target null;
	struct ublksrv_io_desc d;
	int fd = fake_cdev(), wronly;
	char path[64];

	open_null(&null, &geo);
	ck_assert(io_user_copy_capable(&null));
	null.buf_bytes = LEN;
	cdev_fill(fd, user_copy_pos(0, 7), 0x77, BUF_BYTES);
	ck_assert_int_eq(pwrite(fd, buf, BUF_BYTES, user_copy_pos(0, 7) + BUF_BYTES), BUF_BYTES);
	d = desc(UBLK_IO_OP_READ, 16, LEN / 512);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&null, &d, fd, 0, 7), LEN);
	for (off_t at = 0; at < LEN; at += BUF_BYTES) {
		ck_assert_int_eq(pread(fd, buf, BUF_BYTES, user_copy_pos(0, 7) + at), BUF_BYTES);
		ck_assert_int_eq(buf[0], 0);
		ck_assert_mem_eq(buf, buf + 1, BUF_BYTES - 1);
	}
	snprintf(path, sizeof(path), "%s/wronly", dir);
	wronly = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(wronly, 0);
	unlink(path);
	d = desc(UBLK_IO_OP_WRITE, 16, LEN / 512);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&null, &d, wronly, 0, 7), LEN);
	/* A read whose copy fails fails. */
	d = desc(UBLK_IO_OP_READ, 16, 8);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&null, &d, -1, 0, 7), -EIO);
	close(wronly);
	close(fd);
	io_close(&null, false);
}
END_TEST

/* A READ of more pieces than mem hands over at once (every other page
 * written, 128 runs in 512 KiB) arrives whole and in order. */
START_TEST(test_user_copy_many_pieces)
{
	enum { LEN = 512 * 1024 };
	struct ublksrv_io_desc d;
	char *got = malloc(LEN);
	int fd = fake_cdev();

	target.buf_bytes = LEN;
	for (unsigned page = 0; page < LEN / 4096; page += 2) {
		d = desc(UBLK_IO_OP_WRITE, page * 8, 8);
		memset(buf, (int)(page / 2 % 250) + 1, 4096);
		ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 4096);
	}
	memset(got, 0x77, LEN);
	ck_assert_int_eq(pwrite(fd, got, LEN, user_copy_pos(0, 2)), LEN);
	d = desc(UBLK_IO_OP_READ, 0, LEN / 512);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 2), LEN);
	ck_assert_int_eq(pread(fd, got, LEN, user_copy_pos(0, 2)), LEN);
	for (unsigned page = 0; page < LEN / 4096; page++) {
		const unsigned char *p = (const unsigned char *)got + page * 4096;
		unsigned char want = page % 2 ? 0 : (unsigned char)(page / 2 % 250 + 1);

		ck_assert_msg(p[0] == want && memcmp(p, p + 1, 4095) == 0,
			      "page %u: want %u, got %u", page, want, p[0]);
	}
	free(got);
	close(fd);
}
END_TEST

/* Collects the backing_file a backend describes. */
static void report_text(struct backend_report *r, const char *key, const char *value)
{
	(void)r;
	if (strcmp(key, "backing_file") == 0)
		snprintf(dir_file, sizeof(dir_file), "%s", value);
}

/* Ignores the other fields a backend describes. */
static void report_number(struct backend_report *r, const char *key, uint64_t value)
{
	(void)r, (void)key, (void)value;
}

/* Ignores flags a backend describes. */
static void report_flag(struct backend_report *r, const char *key, bool value)
{
	(void)r, (void)key, (void)value;
}

/* A mem device whose file was cut short under it (its mapping faults):
 * the kernel's copy ends short, and the request fails with EIO instead of
 * a SIGBUS in the daemon; the other pages still serve. */
START_TEST(test_user_copy_fault)
{
	struct backend_report r = { .text = report_text, .number = report_number,
				    .flag = report_flag };
	struct ublksrv_io_desc d;
	int fd = fake_cdev(), file;

	d = desc(UBLK_IO_OP_WRITE, 0, 256);	/* 128 KiB */
	memset(buf, 3, 128 * 1024);
	ck_assert_int_eq(io_serve(&target, &d, buf, NULL), 128 * 1024);
	io_describe(&target, &r);
	file = open(dir_file, O_RDWR);
	ck_assert_int_ge(file, 0);
	ck_assert_int_eq(ftruncate(file, 64 * 1024), 0);

	d = desc(UBLK_IO_OP_READ, 0, 256);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 1), -EIO);
	cdev_fill(fd, user_copy_pos(0, 1), 9, 128 * 1024);
	d = desc(UBLK_IO_OP_WRITE, 128, 128);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 1), -EIO);
	/* Below the cut the data is there still. */
	d = desc(UBLK_IO_OP_READ, 0, 128);
	d.addr = 0;
	ck_assert_int_eq(io_serve_user_copy(&target, &d, fd, 0, 1), 64 * 1024);
	ck_assert_int_eq(pread(fd, buf, 64 * 1024, user_copy_pos(0, 1)), 64 * 1024);
	ck_assert_int_eq(buf[0], 3);
	ck_assert_mem_eq(buf, buf + 1, 64 * 1024 - 1);
	ck_assert_int_eq(ftruncate(file, 1 << 20), 0);
	close(file);
	close(fd);
}
END_TEST

/* Builds the suite. */
static Suite *io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_other_ops);
	tcase_add_test(tc, test_errno_map);
	tcase_add_test(tc, test_zero_reads_skip_clean_buffers);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_plan_zero_copy);
	tcase_add_test(tc, test_null_zero_copy);
	tcase_add_test(tc, test_params_dma_align);
	tcase_add_test(tc, test_params_max_io);
	tcase_add_test(tc, test_submit);
	tcase_add_test(tc, test_user_copy);
	tcase_add_test(tc, test_user_copy_many_pieces);
	tcase_add_test(tc, test_null_user_copy);
	tcase_add_test(tc, test_user_copy_fault);
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
