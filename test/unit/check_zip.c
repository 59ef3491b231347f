/* Unit tests of the zip backend: archives written here with libzip, served
 * through the same io_prepare/io_advance path the queues use, and compared
 * with the data they were made from. */
#include "config.h"
#include "backends/backend.h"
#include "backends/zip_cache.h"
#include "backends/zip_index.h"
#include "daemon/idle.h"
#include "daemon/io.h"
#include "test/unit/backend_test.h"
#include "test/unit/log_capture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ev.h>
#include <zip.h>

#define BUF_BYTES	(512U * 1024)
#define MIB		(1024U * 1024)

static char dir[] = "/tmp/ublkd-zip-XXXXXX";
static zip_uint32_t level = 6;	/* deflate level of the archives written */

/* One member to write into a test archive. */
struct member {
	const char *name;
	const uint8_t *data;
	size_t len;
	zip_int32_t method;	/* ZIP_CM_STORE, ZIP_CM_DEFLATE, ZIP_CM_BZIP2 */
	zip_uint16_t encryption;	/* ZIP_EM_NONE, ZIP_EM_TRAD_PKWARE, ... */
	bool unknown_size;	/* stream it: libzip then writes ZIP64 headers */
};

/* An opened zip device. */
struct zdev {
	const struct backend_ops *ops;
	void *priv;
	struct backend_geometry geo;
};

/* The idle interface as most tests drive it: a plain loop instead of the
 * daemon's ev_idle watcher; each turn calls every live step once. */
struct tidle {
	struct backend_idle ops;	/* first member */
	struct {
		backend_step_fn step;	/* NULL once over or stopped */
		void *arg;
	} job[8];
	int count;
};

/* A buffer served to libzip as a source of unknown size. */
struct stream {
	const uint8_t *data;
	size_t len, pos;
};

/* Steps a xorshift generator. */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Fills buf with reproducible data that compresses like a disk image: runs of
 * words (with back references), zeroes and incompressible bytes. */
static uint8_t *make_data(size_t len, uint64_t seed)
{
	static const char *const words[] = { "block ", "inode ", "extent ", "journal ",
		"superblock ", "bitmap ", "directory ", "\n", "group descriptor ", "0123 " };
	uint8_t *buf = malloc(len);
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
	size_t i = 0;

	ck_assert_ptr_nonnull(buf);
	while (i < len) {
		uint64_t r = rnd(&x);
		size_t run = 512 + (r >> 8) % 16384;

		if (run > len - i)
			run = len - i;
		if (r % 16 == 0) {
			memset(buf + i, 0, run);
		} else if (r % 16 == 1) {
			for (size_t j = 0; j < run; j++)
				buf[i + j] = (uint8_t)rnd(&x);
		} else {
			for (size_t j = 0; j < run;) {
				const char *w = words[rnd(&x) % 10];

				for (; *w && j < run; w++, j++)
					buf[i + j] = (uint8_t)*w;
			}
		}
		i += run;
	}
	return buf;
}

/* Fills len bytes with incompressible data. */
static uint8_t *make_random(size_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len);
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 7;

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(rnd(&x) >> 24);
	return buf;
}

/* Serves a buffer to libzip without telling its size. */
static zip_int64_t stream_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct stream *s = ud;

	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		s->pos = 0;
		return 0;
	case ZIP_SOURCE_READ:
		if (len > s->len - s->pos)
			len = s->len - s->pos;
		memcpy(data, s->data + s->pos, len);
		s->pos += len;
		return (zip_int64_t)len;
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_STAT:
		zip_stat_init(data);
		return sizeof(zip_stat_t);
	case ZIP_SOURCE_ERROR:
		return 0;
	case ZIP_SOURCE_FREE:
		free(s);
		return 0;
	case ZIP_SOURCE_SUPPORTS:
		return ZIP_SOURCE_SUPPORTS_READABLE;
	default:
		return -1;
	}
}

/* backend_idle.start of the tests: records the step for the next turns. */
static int tidle_start(struct backend_idle *ops, backend_step_fn step, void *arg)
{
	struct tidle *t = (struct tidle *)ops;

	ck_assert_int_lt(t->count, 8);
	t->job[t->count].step = step;
	t->job[t->count].arg = arg;
	t->count++;
	return 0;
}

/* backend_idle.stop of the tests: the step is never called again. */
static void tidle_stop(struct backend_idle *ops, backend_step_fn step, void *arg)
{
	struct tidle *t = (struct tidle *)ops;

	for (int i = 0; i < t->count; i++)
		if (t->job[i].step == step && t->job[i].arg == arg)
			t->job[i].step = NULL;
}

/* An empty test idle. */
static struct tidle tidle_new(void)
{
	struct tidle t = { .ops = { .start = tidle_start, .stop = tidle_stop } };

	return t;
}

/* One loop turn: one slice of every step started before it. */
static void tidle_turn(struct tidle *t)
{
	int n = t->count;

	for (int i = 0; i < n; i++)
		if (t->job[i].step && !t->job[i].step(t->job[i].arg))
			t->job[i].step = NULL;
}

/* How many steps are still running. */
static int tidle_live(const struct tidle *t)
{
	int live = 0;

	for (int i = 0; i < t->count; i++)
		live += t->job[i].step != NULL;
	return live;
}

/* Makes a path in the test directory. */
static const char *tpath(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

/* Writes an archive with the given members (a NULL data makes a directory). */
static void write_zip(const char *path, const struct member *m, int n)
{
	int zerr = 0;
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);

	ck_assert_msg(za != NULL, "zip_open %s: %d", path, zerr);
	for (int i = 0; i < n; i++) {
		zip_source_t *src;
		zip_int64_t idx;

		if (!m[i].data) {
			ck_assert_int_ge(zip_dir_add(za, m[i].name, 0), 0);
			continue;
		}
		if (m[i].unknown_size) {
			struct stream *s = calloc(1, sizeof(*s));

			s->data = m[i].data;
			s->len = m[i].len;
			src = zip_source_function(za, stream_cb, s);
		} else {
			src = zip_source_buffer(za, m[i].data, m[i].len, 0);
		}
		ck_assert_ptr_nonnull(src);
		idx = zip_file_add(za, m[i].name, src, 0);
		ck_assert_int_ge(idx, 0);
		ck_assert_int_eq(zip_set_file_compression(za, (zip_uint64_t)idx, m[i].method, level), 0);
		if (m[i].encryption != ZIP_EM_NONE)
			ck_assert_int_eq(zip_file_set_encryption(za, (zip_uint64_t)idx,
								 m[i].encryption, "secret"), 0);
	}
	ck_assert_msg(zip_close(za) == 0, "zip_close: %s", zip_strerror(za));
}

/* Writes an archive holding one member. */
static void write_one(const char *path, const char *name, const uint8_t *data, size_t len,
		      zip_int32_t method)
{
	struct member m = { name, data, len, method, ZIP_EM_NONE, false };

	write_zip(path, &m, 1);
}

/* The chunk_size and cache_limit parameters zopen gives (0: not given). */
static uint64_t param_chunk, param_cache;
static bool param_cache_given;

/* Opens the zip backend on path/entry; returns 0 or -errno with err set. */
static int zopen(struct zdev *d, const char *path, const char *entry,
		 struct backend_idle *idle, char *err, size_t errlen)
{
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = { .block_size = 512, .args = args,
				      .state_dir = dir, .idle = idle };

	memset(d, 0, sizeof(*d));
	d->ops = backends_find("zip");
	ck_assert_ptr_nonnull(d->ops);
	test_arg_text(d->ops, args, "path", path);
	test_arg_text(d->ops, args, "entry", entry);
	if (param_chunk)
		test_arg_bytes(d->ops, args, "chunk_size", param_chunk);
	if (param_cache_given)
		test_arg_bytes(d->ops, args, "cache_limit", param_cache);
	err[0] = 0;
	return d->ops->open(&d->priv, &cfg, &d->geo, err, errlen);
}

/* Opens and insists on success. */
static void zopen_ok(struct zdev *d, const char *path, const char *entry)
{
	char err[512];
	int ret = zopen(d, path, entry, NULL, err, sizeof(err));

	ck_assert_msg(ret == 0, "open %s failed (%d): %s", path, ret, err);
}

/* Opens, insists on failure, and checks the message holds each fragment. */
static int zopen_fails(const char *path, const char *entry, const char *frag1,
		       const char *frag2)
{
	struct zdev d;
	char err[512];
	int ret = zopen(&d, path, entry, NULL, err, sizeof(err));

	if (ret == 0)
		d.ops->close(d.priv);
	ck_assert_msg(ret < 0, "open %s (entry %s) succeeded", path, entry ? entry : "-");
	ck_assert_msg(strstr(err, frag1), "message lacks '%s': %s", frag1, err);
	ck_assert_msg(!frag2 || strstr(err, frag2), "message lacks '%s': %s", frag2, err);
	return ret;
}

/* Reads len bytes at off the way a queue does: plan, then the file read. */
static int dev_read(struct zdev *d, void *buf, uint64_t off, uint32_t len)
{
	struct io_target t = { .ops = d->ops, .priv = d->priv, .size = d->geo.size,
			       .buf_bytes = BUF_BYTES };
	struct ublksrv_io_desc iod = { .op_flags = UBLK_IO_OP_READ, .nr_sectors = len >> 9,
				       .start_sector = off >> 9, .addr = (uintptr_t)buf };
	struct io_pending p;
	int ret = io_prepare(&t, &iod, buf, &p);

	while (ret == 1) {
		ssize_t n = pread(p.op.fd, (char *)buf + p.done, p.op.len - p.done,
				  (off_t)(p.op.off + p.done));

		ret = io_advance(&p, n < 0 ? -errno : (int)n, buf);
	}
	return ret;
}

/* dev_read under zero copy: no buffer of the queue's (NULL), the file
 * reads land in buf as the kernel's pages would, and the rest a short READ
 * leaves is filled as a read of /dev/zero would. */
static int dev_read_zero_copy(struct zdev *d, uint8_t *buf, uint64_t off, uint32_t len)
{
	struct io_target t = { .ops = d->ops, .priv = d->priv, .size = d->geo.size,
			       .buf_bytes = BUF_BYTES };
	struct ublksrv_io_desc iod = { .op_flags = UBLK_IO_OP_READ, .nr_sectors = len >> 9,
				       .start_sector = off >> 9 };
	struct io_pending p;
	int ret = io_prepare(&t, &iod, NULL, &p);

	while (ret == 1) {
		size_t n = p.op.len - p.done;
		ssize_t got = n;

		if (p.fill)
			memset(buf + p.done, 0, n);
		else
			got = pread(p.op.fd, buf + p.done, n, (off_t)(p.op.off + p.done));
		ret = io_advance(&p, got < 0 ? -errno : (int)got, NULL);
	}
	return ret;
}

/* Reads [off, off + len) of the device and compares it with the source,
 * which reads as zeroes past its end. */
static void check_range(struct zdev *d, const uint8_t *src, size_t srclen, uint64_t off,
			uint32_t len)
{
	uint8_t *buf = aligned_alloc(4096, BUF_BYTES);

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, len);
	ck_assert_int_eq(dev_read(d, buf, off, len), (int)len);
	for (uint32_t i = 0; i < len; i++) {
		uint8_t want = off + i < srclen ? src[off + i] : 0;

		if (buf[i] != want)
			ck_abort_msg("byte %llu: got %02x, want %02x",
				     (unsigned long long)(off + i), buf[i], want);
	}
	free(buf);
}

/* Reads random ranges, sector aligned, over the whole device. */
static void check_random(struct zdev *d, const uint8_t *src, size_t srclen, int count,
			 uint64_t seed)
{
	uint64_t x = seed | 1;
	uint64_t sectors = d->geo.size >> 9;

	for (int i = 0; i < count; i++) {
		uint64_t r = rnd(&x);
		uint32_t n = r % 4 == 0 ? 8 : (uint32_t)(1 + (r >> 16) % (BUF_BYTES >> 9));
		uint64_t s = (r >> 32) % sectors;

		if (r % 3 == 0)
			s &= ~7ULL;	/* 4 KiB aligned, like the page cache */
		if (s + n > sectors)
			n = (uint32_t)(sectors - s);
		check_range(d, src, srclen, s << 9, n << 9);
	}
}

/* Returns a describe field as a string (the caller frees the object). */
static struct json_object *describe(struct zdev *d)
{
	return test_describe(d->ops, d->priv);
}

/* Reads a string field of describe. */
static const char *dstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no field %s", key);
	return json_object_get_string(v);
}

/* Reads an integer field of describe. */
static int64_t dint(struct json_object *o, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no field %s", key);
	return json_object_get_int64(v);
}

/* Reads one describe integer of an open device. */
static int64_t dev_int(struct zdev *d, const char *key)
{
	struct json_object *o = describe(d);
	int64_t v = dint(o, key);

	json_object_put(o);
	return v;
}

/* Reads one describe string of an open device (valid until the next call). */
static const char *dev_str(struct zdev *d, const char *key)
{
	static char buf[64];
	struct json_object *o = describe(d);

	snprintf(buf, sizeof(buf), "%s", dstr(o, key));
	json_object_put(o);
	return buf;
}

/* Checks the crc_check field of describe. */
static void check_crc_state(struct zdev *d, const char *want)
{
	struct json_object *o = describe(d);

	ck_assert_str_eq(dstr(o, "crc_check"), want);
	json_object_put(o);
}

/* Flips one byte of a file at off. */
static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/* Reads a whole file into memory. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Finds where a piece of the source sits in the archive file, or -1. */
static off_t find_in_file(const char *path, const uint8_t *needle, size_t n)
{
	size_t len;
	uint8_t *hay = slurp(path, &len);
	uint8_t *at = memmem(hay, len, needle, n);
	off_t off = at ? at - hay : -1;

	free(hay);
	return off;
}

/* True when the last local header before data_off has a ZIP64 extra field
 * (id 0x0001) and ends exactly at data_off. */
static bool local_header_has_zip64(const char *path, uint64_t data_off)
{
	size_t len;
	uint8_t *f = slurp(path, &len);
	uint64_t off = data_off - 30;
	uint16_t nlen, elen;
	const uint8_t *e;
	bool found = false;

	while (off > 0 && memcmp(f + off, "PK\3\4", 4) != 0)
		off--;
	ck_assert_int_eq(memcmp(f + off, "PK\3\4", 4), 0);
	nlen = (uint16_t)(f[off + 26] | f[off + 27] << 8);
	elen = (uint16_t)(f[off + 28] | f[off + 29] << 8);
	ck_assert_uint_eq(off + 30 + nlen + elen, data_off);
	e = f + off + 30 + nlen;
	for (uint16_t i = 0; i + 4 <= elen;) {
		uint16_t id = (uint16_t)(e[i] | e[i + 1] << 8);
		uint16_t sz = (uint16_t)(e[i + 2] | e[i + 3] << 8);

		found |= id == 0x0001;
		i = (uint16_t)(i + 4 + sz);
	}
	free(f);
	return found;
}

START_TEST(test_stored_reads)
{
	size_t len = 3 * MIB + 1234;
	uint8_t *src = make_data(len, 1);
	const char *path = tpath("stored.zip");
	struct json_object *o;
	struct zdev d;

	write_one(path, "disk.img", src, len, ZIP_CM_STORE);
	zopen_ok(&d, path, NULL);
	ck_assert_uint_eq(d.geo.size, (len + 511) / 512 * 512);
	ck_assert(d.geo.read_only);
	o = describe(&d);
	ck_assert_str_eq(dstr(o, "member"), "disk.img");
	ck_assert_str_eq(dstr(o, "method"), "stored");
	ck_assert_int_eq(dint(o, "padded_bytes"), (int64_t)(d.geo.size - len));
	ck_assert_int_eq(dint(o, "member_size"), (int64_t)len);
	ck_assert_int_ge(dint(o, "data_offset"), 30 + 8);
	ck_assert_str_eq(dstr(o, "crc_check"), "ok");	/* no idle: checked at once */
	json_object_put(o);
	check_range(&d, src, len, 0, BUF_BYTES);
	check_range(&d, src, len, d.geo.size - 4096, 4096);	/* the padded tail */
	check_range(&d, src, len, d.geo.size - 512, 512);
	check_random(&d, src, len, 300, 11);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

/* A stored member may be served from the requests' own pages; its end,
 * padded to the block size, reads as a shorter READ and zeroes, and past
 * it as an empty READ: plan never touches req->buf. A deflated one may not. */
START_TEST(test_stored_zero_copy)
{
	size_t len = 1 * MIB + 100;
	uint8_t *src = make_data(len, 3);
	uint8_t *buf = aligned_alloc(4096, 8192);
	const char *path = tpath("zc.zip");
	struct backend_req req = { .op = BACKEND_REQ_READ, .off = len + 200, .len = 512 };
	struct backend_op op;
	struct zdev d;

	ck_assert_ptr_nonnull(buf);
	write_one(path, "x.img", src, len, ZIP_CM_STORE);
	zopen_ok(&d, path, NULL);
	ck_assert(d.geo.zero_copy);
	ck_assert_uint_eq(d.geo.size, 1 * MIB + 512);
	/* req.buf stays NULL, as under zero copy. */
	ck_assert_int_eq(d.ops->plan(d.priv, &req, &op), 0);
	ck_assert_int_eq(op.kind, BACKEND_OP_READ);
	ck_assert_uint_eq(op.len, 0);
	/* Across the end: 612 bytes of data, then 412 of zeroes. */
	memset(buf, 0xa5, 8192);
	ck_assert_int_eq(dev_read_zero_copy(&d, buf, 1 * MIB - 512, 1024), 1024);
	ck_assert_int_eq(memcmp(buf, src + MIB - 512, 612), 0);
	for (int i = 612; i < 1024; i++)
		ck_assert_int_eq(buf[i], 0);
	/* Wholly inside, as a plain read. */
	ck_assert_int_eq(dev_read_zero_copy(&d, buf, 4096, 8192), 8192);
	ck_assert_int_eq(memcmp(buf, src + 4096, 8192), 0);
	d.ops->close(d.priv);

	write_one(path, "x.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	ck_assert(!d.geo.zero_copy);
	d.ops->close(d.priv);
	free(buf);
	free(src);
}
END_TEST

START_TEST(test_stored_reads_are_file_reads)
{
	size_t len = 1 * MIB;
	uint8_t *src = make_data(len, 2);
	const char *path = tpath("plan.zip");
	struct backend_req req = { .op = BACKEND_REQ_READ, .off = 8192, .len = 4096 };
	struct backend_op op;
	struct zdev d;

	write_one(path, "x.img", src, len, ZIP_CM_STORE);
	zopen_ok(&d, path, NULL);
	req.buf = malloc(4096);
	ck_assert_int_eq(d.ops->plan(d.priv, &req, &op), 0);
	ck_assert_int_eq(op.kind, BACKEND_OP_READ);
	ck_assert_int_eq(op.off, dev_int(&d, "data_offset") + 8192);
	ck_assert_uint_eq(op.len, 4096);
	/* Writes are refused even if the block layer let one through. */
	req.op = BACKEND_REQ_WRITE;
	ck_assert_int_eq(d.ops->plan(d.priv, &req, &op), 0);
	ck_assert_int_eq(op.kind, BACKEND_OP_DONE);
	ck_assert_int_eq(op.result, -EROFS);
	free(req.buf);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

/* Reads a device of src indexed with 64 KiB chunks: random, the tail, the
 * start, and every 64 KiB boundary straddled (points sit just past them). */
static void check_deflated_64k(struct zdev *d, const uint8_t *src, size_t len)
{
	check_random(d, src, len, 400, 5);
	check_range(d, src, len, d->geo.size - 4096, 4096);
	check_range(d, src, len, 0, BUF_BYTES);
	for (uint64_t b = 64 * 1024; b + 4096 <= d->geo.size; b += 64 * 1024)
		check_range(d, src, len, b - 4096, 8192);
}

START_TEST(test_deflated_reads)
{
	size_t len = 8 * MIB + 777;
	uint8_t *src = make_data(len, 3);
	const char *path = tpath("deflated.zip");
	struct json_object *o;
	struct zdev d;
	int64_t points;

	setenv("UBLKD_ZIP_CHUNK", "64K", 1);
	level = 9;	/* as zip -9 */
	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	ck_assert_uint_eq(d.geo.size, (len + 511) / 512 * 512);
	ck_assert(d.geo.read_only);
	o = describe(&d);
	ck_assert_str_eq(dstr(o, "method"), "deflated");
	ck_assert_str_eq(dstr(o, "crc_check"), "ok");
	ck_assert_int_lt(dint(o, "compressed_size"), (int64_t)len);
	/* Points are at least 64 KiB apart, at deflate block boundaries. */
	points = dint(o, "index_points");
	ck_assert_int_ge(points, 8);
	ck_assert_int_le(points, 8 * MIB / (64 * 1024) + 1);
	ck_assert_int_ge(dint(o, "chunk_max"), 64 * 1024);
	json_object_put(o);
	check_deflated_64k(&d, src, len);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

START_TEST(test_deflated_one_inflate_per_4k)
{
	size_t len = 4 * MIB;
	uint8_t *src = make_data(len, 4);
	const char *path = tpath("onechunk.zip");
	uint64_t x = 99;
	struct zdev d;

	setenv("UBLKD_ZIP_CHUNK", "64K", 1);
	setenv("UBLKD_ZIP_CACHE", "0", 1);	/* keeps only the newest chunk */
	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	for (int i = 0; i < 200; i++) {
		uint64_t off = (rnd(&x) % (len / 4096)) * 4096;
		int64_t misses = dev_int(&d, "cache_misses");

		check_range(&d, src, len, off, 4096);
		ck_assert_int_le(dev_int(&d, "cache_misses") - misses, 1);
		ck_assert_int_le(dev_int(&d, "cache_chunks"), 1);
	}
	/* Every aligned 4 KiB block next to each chunk boundary, in turn. */
	for (uint64_t off = 0; off < len; off += 4096) {
		int64_t misses = dev_int(&d, "cache_misses");

		check_range(&d, src, len, off, 4096);
		ck_assert_int_le(dev_int(&d, "cache_misses") - misses, 1);
	}
	d.ops->close(d.priv);
	free(src);
}
END_TEST

START_TEST(test_deflated_cache_bound)
{
	size_t len = 6 * MIB;
	uint8_t *src = make_data(len, 6);
	const char *path = tpath("cache.zip");
	struct zdev d;
	int64_t hits, most = 0;

	setenv("UBLKD_ZIP_CHUNK", "64K", 1);
	setenv("UBLKD_ZIP_CACHE", "2M", 1);
	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	ck_assert_int_eq(dev_int(&d, "cache_limit"), 2 * MIB);
	ck_assert_int_lt(dev_int(&d, "chunk_max"), MIB);	/* so two fit */
	for (uint64_t off = 0; off < len; off += 128 * 1024) {
		check_range(&d, src, len, off, 128 * 1024);
		ck_assert_int_le(dev_int(&d, "cache_bytes"), 2 * MIB);
		most = dev_int(&d, "cache_chunks") > most ? dev_int(&d, "cache_chunks") : most;
	}
	ck_assert_int_ge(most, 2);
	check_random(&d, src, len, 200, 17);
	ck_assert_int_le(dev_int(&d, "cache_bytes"), 2 * MIB);
	ck_assert_int_gt(dev_int(&d, "cache_chunks"), 0);
	ck_assert_int_ge(dev_int(&d, "inflated_bytes"), (int64_t)len);
	/* The same block again comes from the cache. */
	check_range(&d, src, len, 1 * MIB, 4096);
	hits = dev_int(&d, "cache_hits");
	check_range(&d, src, len, 1 * MIB, 4096);
	ck_assert_int_eq(dev_int(&d, "cache_hits"), hits + 1);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

/* Reads 4 KiB blocks at each offset and checks each inflated at most limit bytes. */
static void check_inflate_cost(struct zdev *d, const uint8_t *src, size_t len,
			       const uint64_t *offs, int n, int64_t limit)
{
	for (int i = 0; i < n; i++) {
		int64_t before = dev_int(d, "inflated_bytes");

		check_range(d, src, len, offs[i], 4096);
		ck_assert_msg(dev_int(d, "inflated_bytes") - before <= limit,
			      "reading 4 KiB at %llu inflated %lld bytes (limit %lld)",
			      (unsigned long long)offs[i],
			      (long long)(dev_int(d, "inflated_bytes") - before), (long long)limit);
	}
}

START_TEST(test_deflated_zero_runs)
{
	/* Data, 6 MiB of zeroes, data, 5 MiB of zeroes, data: zlib's blocks of
	 * zeroes are 4 MiB long, so data starts inside long blocks. */
	size_t len = 1 * MIB + 6 * MIB + 300 * 1024 + 5 * MIB + 200 * 1024 + 1234;
	uint8_t *src = make_data(len, 21);
	const char *path = tpath("zeroes.zip");
	uint64_t b1 = 1 * MIB, e1 = b1 + 6 * MIB, b2 = e1 + 300 * 1024, e2 = b2 + 5 * MIB;
	uint64_t offs[] = { e1 & ~4095ULL, (e1 + 4096) & ~4095ULL, e2 & ~4095ULL,
			    (e2 + 4096) & ~4095ULL, b1 + 2 * MIB, b2 - 4096, b2 + MIB };
	uint64_t x = 5;
	struct json_object *o;
	struct zdev d;

	memset(src + b1, 0, e1 - b1);
	memset(src + b2, 0, e2 - b2);
	setenv("UBLKD_ZIP_CHUNK", "64K", 1);
	setenv("UBLKD_ZIP_CACHE", "0", 1);
	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	o = describe(&d);
	ck_assert_str_eq(dstr(o, "crc_check"), "ok");
	ck_assert_int_ge(dint(o, "zero_runs"), 2);
	ck_assert_int_ge(dint(o, "zero_bytes"), (int64_t)(11 * MIB));
	ck_assert_int_le(dint(o, "chunk_max"), ZIP_INDEX_REACH(64 * 1024));
	json_object_put(o);
	/* Zeroes cost nothing; data after them at most one short chunk. */
	check_inflate_cost(&d, src, len, offs, 7, ZIP_INDEX_REACH(64 * 1024));
	for (int i = 0; i < 300; i++) {
		uint64_t off = (rnd(&x) % (len / 4096)) * 4096;

		check_inflate_cost(&d, src, len, &off, 1, ZIP_INDEX_REACH(64 * 1024));
	}
	check_random(&d, src, len, 200, 23);
	for (uint64_t off = e1 - 64 * 1024; off < e1 + 64 * 1024; off += 512)
		check_range(&d, src, len, off, 4096);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

START_TEST(test_deflated_all_zeroes)
{
	size_t len = 5 * MIB;
	uint8_t *src = calloc(1, len);
	const char *path = tpath("allzero.zip");
	struct zdev d;

	write_one(path, "zero.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	ck_assert_int_eq(dev_int(&d, "zero_bytes"), (int64_t)len);
	check_random(&d, src, len, 100, 29);
	ck_assert_int_eq(dev_int(&d, "inflated_bytes"), 0);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

START_TEST(test_deflated_long_blocks_of_data)
{
	/* A repeated pattern makes blocks of megabytes that are not zeroes:
	 * points must be made inside them. */
	size_t len = 12 * MIB + 100;
	uint8_t *src = malloc(len);
	const char *path = tpath("pattern.zip");
	uint64_t offs[] = { 3 * MIB, 5 * MIB + 8192, 9 * MIB, 12 * MIB - 4096 };
	struct zdev d;

	for (size_t i = 0; i < len; i++)
		src[i] = (uint8_t)("ublkd zip! "[i % 11]);
	setenv("UBLKD_ZIP_CHUNK", "256K", 1);
	setenv("UBLKD_ZIP_CACHE", "0", 1);
	write_one(path, "pattern.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	ck_assert_int_gt(dev_int(&d, "index_state_points"), 0);
	ck_assert_int_le(dev_int(&d, "chunk_max"), ZIP_INDEX_REACH(256 * 1024));
	ck_assert_int_eq(dev_int(&d, "zero_runs"), 0);
	check_inflate_cost(&d, src, len, offs, 4, ZIP_INDEX_REACH(256 * 1024));
	check_random(&d, src, len, 150, 31);
	check_crc_state(&d, "ok");
	d.ops->close(d.priv);
	free(src);
}
END_TEST

START_TEST(test_cache_lru)
{
	struct zip_cache c;
	struct zip_chunk *ch;

	ck_assert_int_eq(zip_cache_init(&c, 8, 300), 0);
	for (uint32_t i = 0; i < 3; i++) {
		ch = zip_cache_chunk_new(i, i * 100, 100);
		zip_cache_put(&c, ch);
	}
	ck_assert_uint_eq(c.bytes, 300);
	ck_assert_ptr_nonnull(zip_cache_get(&c, 0));	/* 0 is now the newest */
	zip_cache_put(&c, zip_cache_chunk_new(3, 300, 100));
	ck_assert_uint_eq(c.bytes, 300);
	ck_assert_ptr_null(zip_cache_get(&c, 1));	/* the oldest went */
	ck_assert_ptr_nonnull(zip_cache_get(&c, 0));
	ck_assert_ptr_nonnull(zip_cache_get(&c, 2));
	ck_assert_ptr_nonnull(zip_cache_get(&c, 3));
	/* A chunk bigger than the limit stays alone. */
	zip_cache_put(&c, zip_cache_chunk_new(5, 500, 1000));
	ck_assert_uint_eq(c.chunks, 1);
	ck_assert_uint_eq(c.bytes, 1000);
	ck_assert_ptr_nonnull(zip_cache_get(&c, 5));
	ck_assert_uint_eq(c.evictions, 4);
	zip_cache_free(&c);
}
END_TEST

START_TEST(test_entries)
{
	size_t la = 100 * 1024, lb = 300 * 1024 + 100;
	uint8_t *a = make_data(la, 7), *b = make_data(lb, 8);
	struct member m[] = {
		{ "images/", NULL, 0, 0, ZIP_EM_NONE, false },
		{ "images/a.img", a, la, ZIP_CM_STORE, ZIP_EM_NONE, false },
		{ "images/b.img", b, lb, ZIP_CM_DEFLATE, ZIP_EM_NONE, false },
	};
	const char *path = tpath("two.zip"), *one = tpath("one-in-dir.zip");
	struct zdev d;

	write_zip(path, m, 3);
	ck_assert_int_eq(zopen_fails(path, NULL, "holds 2 files", "--entry"), -EINVAL);
	zopen_fails(path, NULL, "'images/a.img', 'images/b.img'", path);
	ck_assert_int_eq(zopen_fails(path, "c.img", "no member named 'c.img'", path), -ENOENT);
	zopen_fails(path, "images/", "is a directory", NULL);
	zopen_ok(&d, path, "images/b.img");
	ck_assert_uint_eq(d.geo.size, (lb + 511) / 512 * 512);
	check_random(&d, b, lb, 50, 3);
	d.ops->close(d.priv);
	zopen_ok(&d, path, "images/a.img");
	check_random(&d, a, la, 50, 4);
	d.ops->close(d.priv);
	/* A directory beside one file: the file is the only one. */
	write_zip(one, m, 2);
	zopen_ok(&d, one, NULL);
	check_range(&d, a, la, 0, (uint32_t)la);
	d.ops->close(d.priv);
	/* Only directories. */
	write_zip(one, m, 1);
	ck_assert_int_eq(zopen_fails(one, NULL, "holds no files", one), -ENOENT);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_not_a_zip)
{
	const char *path = tpath("plain.img"), *empty = tpath("empty.zip");
	uint8_t *junk = make_random(64 * 1024, 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_eq(write(fd, junk, 64 * 1024), 64 * 1024);
	close(fd);
	ck_assert_int_eq(zopen_fails(path, NULL, "is not a zip archive", path), -EINVAL);
	close(open(empty, O_WRONLY | O_CREAT | O_TRUNC, 0644));
	zopen_fails(empty, NULL, empty, NULL);
	ck_assert_int_eq(zopen_fails(tpath("missing.zip"), NULL, "cannot open", "No such file"),
			 -ENOENT);
	zopen_fails(dir, NULL, "not a regular file", NULL);
	free(junk);
}
END_TEST

START_TEST(test_truncated)
{
	size_t len = 1 * MIB;
	uint8_t *src = make_data(len, 9);
	const char *path = tpath("trunc.zip");
	struct stat st;

	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
	ck_assert_int_eq(zopen_fails(path, NULL, "truncated", path), -EINVAL);
	/* Only the last bytes of the end record missing. */
	write_one(path, "disk.img", src, len, ZIP_CM_STORE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(truncate(path, st.st_size - 5), 0);
	zopen_fails(path, NULL, path, NULL);
	free(src);
}
END_TEST

START_TEST(test_corrupt_deflate_stream)
{
	size_t len = 1 * MIB;
	uint8_t *src = make_data(len, 10);
	const char *path = tpath("badstream.zip");
	struct zdev d;
	int fd;
	uint8_t b;
	off_t at;

	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	at = (off_t)dev_int(&d, "data_offset");
	d.ops->close(d.priv);
	/* Block type 3 does not exist: inflate must refuse the first block. */
	fd = open(path, O_RDWR);
	ck_assert_int_eq(pread(fd, &b, 1, at), 1);
	b |= 0x06;
	ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
	close(fd);
	ck_assert_int_eq(zopen_fails(path, NULL, "corrupt deflate data", "'disk.img'"), -EBADMSG);
	free(src);
}
END_TEST

/* A deflated member whose chunks can no longer be read (the archive cut
 * short after it was indexed) fails every read with EIO, and the log says
 * so once a minute, not once per read. */
START_TEST(test_failed_reads_logged_once)
{
	size_t len = 2 * MIB;
	uint8_t *src = make_data(len, 12);
	const char *path = tpath("cut.zip");
	static uint8_t buf[4096];
	struct log_capture cap;
	struct zdev d;
	char *text;

	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&d, path, NULL);
	ck_assert_int_eq(truncate(path, dev_int(&d, "data_offset") + 16), 0);
	log_capture_start(&cap);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(dev_read(&d, buf, len / 2, sizeof(buf)), -EIO);
	text = log_capture_stop(&cap);
	ck_assert_int_eq(log_capture_count(text, "cannot inflate the chunk"), 1);
	free(text);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

/* Builds data whose middle is incompressible, so deflate keeps it verbatim
 * (stored blocks): flipping a byte there keeps the stream valid. */
static uint8_t *make_with_random_middle(size_t len, size_t *mid)
{
	uint8_t *src = make_data(len, 12), *r = make_random(256 * 1024, 3);

	*mid = len / 2;
	memcpy(src + *mid, r, 256 * 1024);
	free(r);
	return src;
}

START_TEST(test_crc_mismatch_deflated)
{
	size_t len = 2 * MIB, mid;
	uint8_t *src = make_with_random_middle(len, &mid);
	const char *path = tpath("badcrc.zip");
	struct zdev d;
	off_t at;

	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	at = find_in_file(path, src + mid + 100000, 64);
	ck_assert_msg(at > 0, "random data not found verbatim in the deflate stream");
	flip_byte(path, at);
	zopen_ok(&d, path, NULL);
	check_crc_state(&d, "mismatch");
	d.ops->close(d.priv);
	free(src);
}
END_TEST

START_TEST(test_crc_mismatch_stored_background)
{
	size_t len = 3 * MIB + 512, mid;
	uint8_t *src = make_with_random_middle(len, &mid);
	const char *path = tpath("badcrc-stored.zip"), *good = tpath("goodcrc-stored.zip");
	struct tidle idle = tidle_new();
	struct zdev d;
	char err[512];
	off_t at;
	int turns;

	write_one(good, "disk.img", src, len, ZIP_CM_STORE);
	ck_assert_int_eq(zopen(&d, good, NULL, &idle.ops, err, sizeof(err)), 0);
	check_crc_state(&d, "pending");
	ck_assert_int_eq(tidle_live(&idle), 1);
	for (turns = 0; turns < 100 && dev_int(&d, "crc_checked_bytes") < (int64_t)len; turns++)
		tidle_turn(&idle);
	ck_assert_int_ge(turns, 3);	/* 1 MiB slices: it took several turns */
	check_crc_state(&d, "ok");
	ck_assert_int_eq(tidle_live(&idle), 0);	/* the step said it was over */
	d.ops->close(d.priv);

	write_one(path, "disk.img", src, len, ZIP_CM_STORE);
	at = find_in_file(path, src + mid + 1000, 64);
	ck_assert_int_gt(at, 0);
	flip_byte(path, at);
	ck_assert_int_eq(zopen(&d, path, NULL, &idle.ops, err, sizeof(err)), 0);
	check_crc_state(&d, "pending");
	for (turns = 0; turns < 100; turns++)
		tidle_turn(&idle);
	check_crc_state(&d, "mismatch");
	/* Still served, as the archive holds it; device_info says it is damaged. */
	src[mid + 1000] ^= 0x5a;
	check_range(&d, src, len, (mid + 1000) & ~511ULL, 4096);
	d.ops->close(d.priv);

	/* Closed while the check still runs: its step goes with it. */
	ck_assert_int_eq(zopen(&d, good, NULL, &idle.ops, err, sizeof(err)), 0);
	tidle_turn(&idle);
	ck_assert_int_eq(dev_int(&d, "crc_checked_bytes"), MIB);
	ck_assert_int_eq(tidle_live(&idle), 1);
	d.ops->close(d.priv);
	ck_assert_int_eq(tidle_live(&idle), 0);
	tidle_turn(&idle);
	free(src);
}
END_TEST

/* What a wait_ready callback was told. */
struct ready {
	int calls;
	int res;
	char msg[512];
};

/* Records a wait_ready callback. */
static void ready_cb(void *arg, int res, const char *msg)
{
	struct ready *r = arg;

	r->calls++;
	r->res = res;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

/* One loop turn: the test idle's when t is given, else one of a real loop. */
static void turn(struct tidle *t, struct ev_loop *loop)
{
	if (t)
		tidle_turn(t);
	else
		ev_run(loop, EVRUN_NOWAIT);
}

/* Runs turns until the callback came; returns how many it took. */
static int run_until_ready(struct tidle *t, struct ev_loop *loop, struct ready *r, int max)
{
	int turns = 0;

	while (!r->calls && turns < max) {
		turn(t, loop);
		turns++;
	}
	ck_assert_msg(r->calls == 1, "wait_ready's callback came %d times in %d turns",
		      r->calls, turns);
	return turns;
}

START_TEST(test_deflated_async_reads)
{
	size_t len = 8 * MIB + 777;
	uint8_t *src = make_data(len, 3);
	const char *path = tpath("async.zip");
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ready r = { 0 };
	struct json_object *o;
	struct zdev d, sync;
	struct idle idle;	/* the daemon's runner, on a real loop */
	char err[512];
	int64_t points;

	setenv("UBLKD_ZIP_CHUNK", "64K", 1);
	level = 9;
	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	zopen_ok(&sync, path, NULL);
	ck_assert_ptr_nonnull(sync.ops->wait_ready);
	ck_assert_int_eq(sync.ops->wait_ready(sync.priv, ready_cb, &r, err, sizeof(err)), 0);
	points = dev_int(&sync, "index_points");
	sync.ops->close(sync.priv);

	idle_init(&idle, loop);
	ck_assert_msg(zopen(&d, path, NULL, &idle.ops, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_uint_eq(d.geo.size, (len + 511) / 512 * 512);
	o = describe(&d);
	ck_assert_str_eq(dstr(o, "index_state"), "building");
	ck_assert_int_eq(dint(o, "index_inflated_bytes"), 0);
	ck_assert_str_eq(dstr(o, "crc_check"), "pending");
	json_object_put(o);
	ck_assert_int_eq(d.ops->wait_ready(d.priv, ready_cb, &r, err, sizeof(err)), 1);
	ck_assert_int_eq(r.calls, 0);	/* never from inside wait_ready */
	/* 1 MiB per turn: 8 MiB take several. */
	ck_assert_int_ge(run_until_ready(NULL, loop, &r, 1000), 8);
	ck_assert_int_eq(r.res, 0);
	ck_assert(!ev_is_active(&idle.watcher));	/* the step said it was over */
	o = describe(&d);
	ck_assert_str_eq(dstr(o, "index_state"), "ready");
	ck_assert_int_eq(dint(o, "index_inflated_bytes"), (int64_t)len);
	ck_assert_str_eq(dstr(o, "crc_check"), "ok");
	ck_assert_int_eq(dint(o, "index_points"), points);
	/* The pass's time, from its start to its last slice. */
	ck_assert_msg(json_object_get_double(json_object_object_get(o, "index_seconds")) > 0 &&
		      json_object_get_double(json_object_object_get(o, "index_seconds")) < 60,
		      "index_seconds %s", json_object_to_json_string(o));
	json_object_put(o);
	ck_assert_int_eq(d.ops->wait_ready(d.priv, ready_cb, &r, err, sizeof(err)), 0);
	check_deflated_64k(&d, src, len);
	d.ops->close(d.priv);
	for (int i = 0; i < 3; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(r.calls, 1);
	idle_fini(&idle);
	ev_loop_destroy(loop);
	free(src);
}
END_TEST

START_TEST(test_deflated_async_close_mid_build)
{
	size_t len = 6 * MIB;
	uint8_t *src = make_data(len, 21);
	const char *path = tpath("async-close.zip");
	struct tidle idle = tidle_new();
	struct ready r = { 0 };
	struct zdev d;
	char err[512];
	int64_t done;

	setenv("UBLKD_ZIP_CHUNK", "64K", 1);
	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	/* Closed before the first slice, then after one slice. */
	ck_assert_msg(zopen(&d, path, NULL, &idle.ops, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(d.ops->wait_ready(d.priv, ready_cb, &r, err, sizeof(err)), 1);
	ck_assert_int_eq(tidle_live(&idle), 1);
	d.ops->close(d.priv);
	ck_assert_int_eq(tidle_live(&idle), 0);
	tidle_turn(&idle);
	ck_assert_msg(zopen(&d, path, NULL, &idle.ops, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(d.ops->wait_ready(d.priv, ready_cb, &r, err, sizeof(err)), 1);
	tidle_turn(&idle);
	done = dev_int(&d, "index_inflated_bytes");
	ck_assert_int_gt(done, 0);
	ck_assert_int_lt(done, (int64_t)len);
	ck_assert_int_gt(dev_int(&d, "index_points"), 1);
	d.ops->close(d.priv);
	/* Nothing runs after close, and the callback never comes. */
	ck_assert_int_eq(tidle_live(&idle), 0);
	for (int i = 0; i < 20; i++)
		tidle_turn(&idle);
	ck_assert_int_eq(r.calls, 0);
	free(src);
}
END_TEST

/* Finds the LEN and NLEN of the stored block holding src[pos] verbatim. */
static off_t stored_block_lengths(const char *path, const uint8_t *src, size_t pos)
{
	size_t len, k = 0;
	uint8_t *f = slurp(path, &len);
	off_t at = find_in_file(path, src + pos, 64), q;

	ck_assert_msg(at > 0, "random data not found verbatim in the deflate stream");
	/* The data goes back to where the block's data starts. */
	while (k < pos && (size_t)at > k && f[at - k - 1] == src[pos - k - 1])
		k++;
	q = at - (off_t)k;
	ck_assert_int_ge(q, 4);
	ck_assert_msg((f[q - 4] | f[q - 3] << 8) == (~(f[q - 2] | f[q - 1] << 8) & 0xffff),
		      "no stored block header before byte %lld", (long long)q);
	free(f);
	return q - 4;
}

START_TEST(test_deflated_async_corrupt)
{
	size_t len = 4 * MIB, mid;
	uint8_t *src = make_with_random_middle(len, &mid);
	const char *path = tpath("async-bad.zip");
	struct tidle idle = tidle_new();
	struct ready r = { 0 };
	struct zdev d;
	char err[512];
	off_t at;
	uint8_t b;
	int fd;

	setenv("UBLKD_ZIP_CHUNK", "64K", 1);
	write_one(path, "disk.img", src, len, ZIP_CM_DEFLATE);
	/* Past the first slice, spoil the lengths of a stored block (which holds
	 * the incompressible middle verbatim): the stream stops being valid. */
	at = stored_block_lengths(path, src, mid + 100000);
	fd = open(path, O_RDWR);
	ck_assert_int_eq(pread(fd, &b, 1, at + 2), 1);
	b ^= 0x01;
	ck_assert_int_eq(pwrite(fd, &b, 1, at + 2), 1);
	close(fd);
	ck_assert_msg(zopen(&d, path, NULL, &idle.ops, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(d.ops->wait_ready(d.priv, ready_cb, &r, err, sizeof(err)), 1);
	ck_assert_int_ge(run_until_ready(&idle, NULL, &r, 1000), 2);	/* found past the first slice */
	ck_assert_int_eq(tidle_live(&idle), 0);
	ck_assert_int_eq(r.res, -EBADMSG);
	ck_assert_msg(strstr(r.msg, "corrupt deflate data"), "message: %s", r.msg);
	ck_assert_msg(strstr(r.msg, "'disk.img'"), "message: %s", r.msg);
	ck_assert_str_eq(dev_str(&d, "index_state"), "failed");
	/* Asked again: the same answer at once. */
	err[0] = 0;
	ck_assert_int_eq(d.ops->wait_ready(d.priv, ready_cb, &r, err, sizeof(err)), -EBADMSG);
	ck_assert_str_eq(err, r.msg);
	d.ops->close(d.priv);
	/* Without idle the same stream fails in open, with the same message. */
	zopen_fails(path, NULL, "corrupt deflate data", "'disk.img'");
	ck_assert_int_eq(zopen(&d, path, NULL, NULL, err, sizeof(err)), -EBADMSG);
	ck_assert_str_eq(err, r.msg);
	free(src);
}
END_TEST

START_TEST(test_unsupported_method)
{
	size_t len = 256 * 1024;
	uint8_t *src = make_data(len, 13);
	const char *path = tpath("bzip2.zip");

	ck_assert(zip_compression_method_supported(ZIP_CM_BZIP2, 1));
	write_one(path, "disk.img", src, len, ZIP_CM_BZIP2);
	ck_assert_int_eq(zopen_fails(path, NULL, "bzip2 (method 12)", "'disk.img'"),
			 -EOPNOTSUPP);
	free(src);
}
END_TEST

START_TEST(test_encrypted)
{
	size_t len = 256 * 1024;
	uint8_t *src = make_data(len, 14);
	struct member m = { "secret.img", src, len, ZIP_CM_DEFLATE, ZIP_EM_TRAD_PKWARE, false };
	const char *path = tpath("enc.zip");

	write_zip(path, &m, 1);
	ck_assert_int_eq(zopen_fails(path, NULL, "'secret.img'", "encrypted"), -EOPNOTSUPP);
	m.encryption = ZIP_EM_AES_256;
	m.method = ZIP_CM_STORE;
	write_zip(path, &m, 1);
	ck_assert_int_eq(zopen_fails(path, NULL, "'secret.img'", "encrypted"), -EOPNOTSUPP);
	free(src);
}
END_TEST

START_TEST(test_zip64_local_headers)
{
	size_t len = 2 * MIB + 300;
	uint8_t *src = make_data(len, 15);
	struct member m[] = {
		{ "first.img", src, 4096, ZIP_CM_STORE, ZIP_EM_NONE, true },
		{ "stored.img", src, len, ZIP_CM_STORE, ZIP_EM_NONE, true },
		{ "deflated.img", src, len, ZIP_CM_DEFLATE, ZIP_EM_NONE, true },
	};
	const char *path = tpath("zip64.zip");
	struct zdev d;

	/* Streamed members of unknown size get ZIP64 extra fields. */
	write_zip(path, m, 3);
	zopen_ok(&d, path, "stored.img");
	ck_assert(local_header_has_zip64(path, (uint64_t)dev_int(&d, "data_offset")));
	check_random(&d, src, len, 100, 8);
	d.ops->close(d.priv);
	zopen_ok(&d, path, "deflated.img");
	check_crc_state(&d, "ok");
	check_random(&d, src, len, 100, 9);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

START_TEST(test_zip64_info_zip)
{
	size_t len = 1 * MIB + 1000;
	uint8_t *src = make_data(len, 16);
	const char *img = tpath("fz.img"), *path = tpath("fz.zip");
	char cmd[1024];
	struct zdev d;
	int fd;

	if (system("command -v zip >/dev/null 2>&1") != 0) {
		/* Info-ZIP is not installed: the libzip ZIP64 test covers the path. */
		fprintf(stderr, "check_zip: no zip command; zip -fz not tried\n");
		free(src);
		return;
	}
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_eq(write(fd, src, len), (ssize_t)len);
	close(fd);
	/* -fz: ZIP64 in the local and central headers, as for a > 4 GiB image. */
	snprintf(cmd, sizeof(cmd), "cd %s && rm -f fz.zip && zip -q -fz -0 fz.zip fz.img", dir);
	ck_assert_int_eq(system(cmd), 0);
	zopen_ok(&d, path, NULL);
	check_crc_state(&d, "ok");
	check_random(&d, src, len, 100, 10);
	d.ops->close(d.priv);
	snprintf(cmd, sizeof(cmd), "cd %s && rm -f fz.zip && zip -q -fz -9 fz.zip fz.img", dir);
	ck_assert_int_eq(system(cmd), 0);
	zopen_ok(&d, path, NULL);
	check_crc_state(&d, "ok");
	check_random(&d, src, len, 100, 11);
	d.ops->close(d.priv);
	free(src);
}
END_TEST

/* Stores a little-endian value of n bytes at p; returns p + n. */
static uint8_t *put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + n;
}

/* The CRC-32 of len zero bytes, by combining powers of two. */
static uint32_t crc_of_zeroes(uint64_t len)
{
	uint32_t pow = (uint32_t)crc32(0L, (const Bytef *)"", 1), crc = 0;
	bool have = false;

	for (uint64_t bit = 1; bit <= len; bit <<= 1) {
		if (len & bit) {
			crc = have ? (uint32_t)crc32_combine(crc, pow, (z_off_t)bit) : pow;
			have = true;
		}
		pow = (uint32_t)crc32_combine(pow, pow, (z_off_t)bit);
	}
	return crc;
}

/* Writes by hand a ZIP64 archive whose one stored member is size bytes: a
 * marker, a hole (sparse), a marker. Returns the data offset. */
static uint64_t write_sparse_zip64(const char *path, const char *name, uint64_t size,
				   const uint8_t *head, const uint8_t *tail, size_t mark)
{
	uint16_t n = (uint16_t)strlen(name);
	uint64_t data = 30 + n + 20, cd = data + size;
	uint32_t crc = (uint32_t)crc32_combine(
		crc32_combine(crc32(0L, head, (uInt)mark), crc_of_zeroes(size - 2 * mark),
			      (z_off_t)(size - 2 * mark)),
		crc32(0L, tail, (uInt)mark), (z_off_t)mark);
	uint8_t buf[512], *p = buf;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	p = put_le(p, 0x04034b50, 4); p = put_le(p, 45, 2); p = put_le(p, 0, 2);
	p = put_le(p, 0, 2); p = put_le(p, 0, 2); p = put_le(p, 0x21, 2);
	p = put_le(p, crc, 4); p = put_le(p, 0xffffffff, 4); p = put_le(p, 0xffffffff, 4);
	p = put_le(p, n, 2); p = put_le(p, 20, 2);
	memcpy(p, name, n); p += n;
	p = put_le(p, 1, 2); p = put_le(p, 16, 2); p = put_le(p, size, 8); p = put_le(p, size, 8);
	ck_assert_int_eq(pwrite(fd, buf, (size_t)(p - buf), 0), p - buf);
	ck_assert_int_eq(pwrite(fd, head, mark, (off_t)data), (ssize_t)mark);
	ck_assert_int_eq(pwrite(fd, tail, mark, (off_t)(cd - mark)), (ssize_t)mark);
	p = buf;	/* central directory entry */
	p = put_le(p, 0x02014b50, 4); p = put_le(p, 0x032d, 2); p = put_le(p, 45, 2);
	p = put_le(p, 0, 2); p = put_le(p, 0, 2); p = put_le(p, 0, 2); p = put_le(p, 0x21, 2);
	p = put_le(p, crc, 4); p = put_le(p, 0xffffffff, 4); p = put_le(p, 0xffffffff, 4);
	p = put_le(p, n, 2); p = put_le(p, 20, 2); p = put_le(p, 0, 2); p = put_le(p, 0, 2);
	p = put_le(p, 0, 2); p = put_le(p, 0100644U << 16, 4); p = put_le(p, 0, 4);
	memcpy(p, name, n); p += n;
	p = put_le(p, 1, 2); p = put_le(p, 16, 2); p = put_le(p, size, 8); p = put_le(p, size, 8);
	uint64_t cdsize = (uint64_t)(p - buf), eocd64 = cd + cdsize;
	p = put_le(p, 0x06064b50, 4); p = put_le(p, 44, 8); p = put_le(p, 45, 2);
	p = put_le(p, 45, 2); p = put_le(p, 0, 4); p = put_le(p, 0, 4); p = put_le(p, 1, 8);
	p = put_le(p, 1, 8); p = put_le(p, cdsize, 8); p = put_le(p, cd, 8);
	p = put_le(p, 0x07064b50, 4); p = put_le(p, 0, 4); p = put_le(p, eocd64, 8);
	p = put_le(p, 1, 4);
	p = put_le(p, 0x06054b50, 4); p = put_le(p, 0, 2); p = put_le(p, 0, 2);
	p = put_le(p, 1, 2); p = put_le(p, 1, 2); p = put_le(p, cdsize, 4);
	p = put_le(p, 0xffffffff, 4); p = put_le(p, 0, 2);
	ck_assert_int_eq(pwrite(fd, buf, (size_t)(p - buf), (off_t)cd), p - buf);
	close(fd);
	return data;
}

/* Reads len bytes at off and checks byte i against want(i) of the member
 * of size bytes (head, zeroes, tail), zero past its end. */
static void check_sparse(struct zdev *d, uint64_t off, uint32_t len, uint64_t size,
			 const uint8_t *head, const uint8_t *tail, size_t mark)
{
	uint8_t *buf = aligned_alloc(4096, BUF_BYTES);

	ck_assert_int_eq(dev_read(d, buf, off, len), (int)len);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t o = off + i;
		uint8_t want = o < mark ? head[o] : o >= size ? 0 :
			       o >= size - mark ? tail[o - (size - mark)] : 0;

		if (buf[i] != want)
			ck_abort_msg("byte %llu: got %02x, want %02x", (unsigned long long)o,
				     buf[i], want);
	}
	free(buf);
}

START_TEST(test_zip64_over_4g)
{
	uint64_t size = (5ULL << 30) + 100;	/* not a whole number of sectors */
	size_t mark = 64 * 1024;
	uint8_t *head = make_random(mark, 41), *tail = make_random(mark, 42);
	const char *path = tpath("big64.zip");
	struct tidle idle = tidle_new();
	uint64_t data = write_sparse_zip64(path, "big.img", size, head, tail, mark), end;
	struct zdev d;
	char err[512];

	/* The CRC-32 check of 5 GiB stays pending: no turn is ever run. */
	ck_assert_msg(zopen(&d, path, NULL, &idle.ops, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_uint_eq(d.geo.size, (size + 511) / 512 * 512);
	ck_assert_int_eq(dev_int(&d, "data_offset"), (int64_t)data);
	ck_assert_int_eq(dev_int(&d, "member_size"), (int64_t)size);
	ck_assert_int_eq(dev_int(&d, "padded_bytes"), (int64_t)(d.geo.size - size));
	check_crc_state(&d, "pending");
	check_sparse(&d, 0, 2 * mark, size, head, tail, mark);
	check_sparse(&d, (4ULL << 30) - 4096, 8192, size, head, tail, mark);
	end = (size - 2 * mark) & ~511ULL;	/* hole, tail marker, padding */
	check_sparse(&d, end, (uint32_t)(d.geo.size - end), size, head, tail, mark);
	d.ops->close(d.priv);
	ck_assert_int_eq(tidle_live(&idle), 0);
	free(head);
	free(tail);
}
END_TEST

/* Opens a.img of path with one knob set to text and reads a describe field. */
static int64_t tuned(const char *path, const char *knob, const char *text, const char *key)
{
	struct zdev d;
	int64_t v;

	setenv(knob, text, 1);
	zopen_ok(&d, path, NULL);
	v = dev_int(&d, key);
	d.ops->close(d.priv);
	unsetenv(knob);
	return v;
}

/* The knobs are sizes as size_parse reads them (the spellings the README and
 * ublkctl(1) document), within their ranges; anything else fails the open. */
START_TEST(test_tune)
{
	static const struct {
		const char *text;
		int64_t bytes;
	} chunks[] = {
		{ "65536", 64 * 1024 }, { "64K", 64 * 1024 }, { "64KiB", 64 * 1024 },
		{ "1M", MIB }, { "2m", 2 * MIB }, { "1MiB", MIB }, { "64M", 64 * MIB },
		{ "64mib", 64 * MIB },
	};
	static const char *const bad_chunks[] = {
		"lots", "-1", "12Q", "1.5M", "1MB", "99999999999999999999G", "1G",
	};
	const char *path = tpath("tune.zip");
	uint8_t *src = make_data(4096, 17);

	write_one(path, "a.img", src, 4096, ZIP_CM_DEFLATE);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CHUNK", chunks[i].text, "chunk_size"),
				 chunks[i].bytes);
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CACHE", "0", "cache_limit"), 0);
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CACHE", "1G", "cache_limit"), 1LL << 30);
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CACHE", "1T", "cache_limit"), 1LL << 40);
	for (size_t i = 0; i < sizeof(bad_chunks) / sizeof(bad_chunks[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "UBLKD_ZIP_CHUNK='%s'", bad_chunks[i]);
		setenv("UBLKD_ZIP_CHUNK", bad_chunks[i], 1);
		zopen_fails(path, NULL, want, "with an optional K, M or G suffix");
	}
	setenv("UBLKD_ZIP_CHUNK", "1K", 1);
	zopen_fails(path, NULL, "UBLKD_ZIP_CHUNK", "65536");
	unsetenv("UBLKD_ZIP_CHUNK");
	setenv("UBLKD_ZIP_CACHE", "2T", 1);
	zopen_fails(path, NULL, "UBLKD_ZIP_CACHE", NULL);
	free(src);
}
END_TEST

/* The chunk_size and cache_limit parameters win over the environment, and
 * each one only for itself; the declaration carries the ranges the daemon
 * checks them against. */
START_TEST(test_tune_params)
{
	const struct backend_ops *b = backends_find("zip");
	const char *path = tpath("tunep.zip");
	uint8_t *src = make_data(4096, 18);
	struct backend_arg args[BACKEND_MAX_PARAMS];

	write_one(path, "a.img", src, 4096, ZIP_CM_DEFLATE);
	param_chunk = 128 * 1024;
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CHUNK", "64K", "chunk_size"), 128 * 1024);
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CACHE", "1G", "cache_limit"), 1LL << 30);
	param_chunk = 0;
	param_cache_given = true;
	param_cache = 0;
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CACHE", "1G", "cache_limit"), 0);
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CHUNK", "256K", "chunk_size"), 256 * 1024);
	param_cache_given = false;
	ck_assert_int_eq(tuned(path, "UBLKD_ZIP_CHUNK", "", "chunk_size"), 1 << 20);
	/* The declared ranges are the environment's. */
	ck_assert_uint_eq(test_arg(b, args, "chunk_size") - args, 2);
	ck_assert_uint_eq(b->params[2].min, 64 * 1024);
	ck_assert_uint_eq(b->params[2].max, 64 * MIB);
	ck_assert_int_eq(b->params[3].type, BACKEND_PARAM_BYTES);
	ck_assert_uint_eq(b->params[3].max, 1ULL << 40);
	free(src);
}
END_TEST

/* Clears the knobs before each test. */
static void setup(void)
{
	unsetenv("UBLKD_ZIP_CHUNK");
	unsetenv("UBLKD_ZIP_CACHE");
	param_chunk = 0;
	param_cache = 0;
	param_cache_given = false;
}

/* Removes one entry of the test directory. */
static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Builds the suite. */
static Suite *zip_suite(void)
{
	Suite *s = suite_create("zip");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stored_reads);
	tcase_add_test(tc, test_stored_reads_are_file_reads);
	tcase_add_test(tc, test_deflated_reads);
	tcase_add_test(tc, test_deflated_one_inflate_per_4k);
	tcase_add_test(tc, test_deflated_cache_bound);
	tcase_add_test(tc, test_stored_zero_copy);
	tcase_add_test(tc, test_deflated_zero_runs);
	tcase_add_test(tc, test_deflated_all_zeroes);
	tcase_add_test(tc, test_deflated_long_blocks_of_data);
	tcase_add_test(tc, test_cache_lru);
	tcase_add_test(tc, test_entries);
	tcase_add_test(tc, test_not_a_zip);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_corrupt_deflate_stream);
	tcase_add_test(tc, test_failed_reads_logged_once);
	tcase_add_test(tc, test_crc_mismatch_deflated);
	tcase_add_test(tc, test_crc_mismatch_stored_background);
	tcase_add_test(tc, test_deflated_async_reads);
	tcase_add_test(tc, test_deflated_async_close_mid_build);
	tcase_add_test(tc, test_deflated_async_corrupt);
	tcase_add_test(tc, test_unsupported_method);
	tcase_add_test(tc, test_encrypted);
	tcase_add_test(tc, test_zip64_local_headers);
	tcase_add_test(tc, test_zip64_info_zip);
	tcase_add_test(tc, test_zip64_over_4g);
	tcase_add_test(tc, test_tune);
	tcase_add_test(tc, test_tune_params);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(zip_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
