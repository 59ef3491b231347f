/* The zip backend: one member of a ZIP archive (a disk image) served as a
 * read-only block device.
 *
 * A stored member is read straight from the archive: each request becomes
 * one read of the archive file on the queue's io_uring, and its CRC-32 is
 * checked in the background. A deflated member is indexed when the device
 * is added (one inflate pass, which also checks the CRC-32), in the
 * background one slice per loop turn (zip_build.c): the device waits for it
 * (wait_ready) while the daemon goes on serving the others. Each request is
 * then served from the runs of zeroes the pass found and from a bounded
 * cache of inflated chunks, inflating at most one chunk (about 1.5 times
 * UBLKD_ZIP_CHUNK at most) per missing piece. The device size is the
 * member's size rounded up to the block size; the padding reads as zeroes.
 * Tuning: the chunk_size and cache_limit parameters, whose defaults
 * UBLKD_ZIP_CHUNK and UBLKD_ZIP_CACHE in the daemon's environment set. */
#include "config.h"
#include "backends/backend.h"
#include "backends/zip_archive.h"
#include "backends/zip_build.h"
#include "backends/zip_cache.h"
#include "backends/zip_crc.h"
#include "backends/zip_index.h"
#include "backends/zip_tune.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ratelimit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZIP_CRC_SLICE	(1U << 20)	/* bytes read per loop turn by the CRC check */
#define ZIP_CHUNK_ALIGN	4096U	/* chunks reach past the next point to this */
#define ZIP_INDEX_SLICE	(1U << 20)	/* bytes inflated per loop turn by the index build */

struct zip {
	int fd;
	struct zip_member m;
	char *label;		/* "member 'NAME' of PATH", for messages */
	uint64_t padded;	/* zero bytes after the member */
	struct zip_tune tune;
	struct zip_crc crc;
	bool deflated;
	struct zip_index index;
	struct zip_build build;
	int index_state;	/* 1 while building, 0 when ready, or -errno */
	char index_err[512];	/* why the build failed */
	struct backend_waiter waiter;	/* who waits for the build */
	struct zip_cache cache;
	double index_seconds;
	uint64_t chunk_max;	/* bytes of the longest chunk */
	uint64_t inflated_bytes;	/* inflated to serve reads */
	struct ratelimit fail_rl;	/* of the lines about failed reads */
};

/* At most one line per this many seconds says a read failed. */
#define ZIP_LOG_FAIL_S	60.

/* Logs a failed read of the member, at most once per ZIP_LOG_FAIL_S, with
 * the count of failures not logged since. */
__attribute__((format(printf, 2, 3)))
static void zip_log_failure(struct zip *z, const char *fmt, ...)
{
	char msg[256], more[64];
	va_list ap;

	if (!ratelimit_pass_line(&z->fail_rl, clock_mono(), more, sizeof(more)))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("zip: %s: %s%s", z->label, msg, more);
}

/* Releases everything open made. */
static void zip_close(void *priv)
{
	struct zip *z = priv;

	zip_crc_stop(&z->crc);
	zip_build_stop(&z->build);
	zip_cache_free(&z->cache);
	zip_index_free(&z->index);
	if (z->fd >= 0)
		close(z->fd);
	zip_archive_member_free(&z->m);
	free(z->label);
	free(z);
}

/* Where the bytes chunk i serves end: just past the next point, up to the
 * next 4 KiB boundary, so an aligned 4 KiB read never needs two chunks; but
 * no further than any data can lie from the point (the index makes sure
 * that what is further is a run of zeroes). */
static uint64_t zip_chunk_end(const struct zip *z, uint32_t i)
{
	uint64_t reach = z->index.points[i].out + ZIP_INDEX_REACH(z->tune.chunk);
	uint64_t end = z->m.size;

	if (i + 1 < z->index.count)
		end = (z->index.points[i + 1].out + ZIP_CHUNK_ALIGN - 1) / ZIP_CHUNK_ALIGN *
		      ZIP_CHUNK_ALIGN;
	if (end > reach)
		end = reach;	/* the rest, up to the next point, is zeroes */
	return end < z->m.size ? end : z->m.size;
}

/* The pass over a deflated member ended with ret: on success logs the
 * index, gives the CRC-32 verdict and prepares the cache. */
static int zip_open_indexed(struct zip *z, int ret, const char *why, char *err, size_t errlen)
{
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", z->label, why);
		zip_index_free(&z->index);
		return ret;
	}
	z->index_seconds = zip_build_seconds(&z->build);
	log_info("zip: %s: indexed %llu bytes in %.3f s: %u restart points (%u inside blocks), "
		 "%u runs of zeroes (%llu bytes)", z->label, (unsigned long long)z->m.size,
		 z->index_seconds, z->index.count, z->index.state_points, z->index.zero_count,
		 (unsigned long long)z->index.zero_bytes);
	z->crc.state = zip_crc_verdict(z->label, z->index.crc, z->m.crc);
	for (uint32_t i = 0; i < z->index.count; i++)
		if (zip_chunk_end(z, i) - z->index.points[i].out > z->chunk_max)
			z->chunk_max = zip_chunk_end(z, i) - z->index.points[i].out;
	ret = zip_cache_init(&z->cache, z->index.count, z->tune.cache);
	if (ret < 0)
		snprintf(err, errlen, "%s: out of memory for the chunk cache", z->label);
	return ret;
}

/* The build ended: records the outcome and tells who waits. */
static void zip_on_indexed(void *arg, int res, const char *why)
{
	struct zip *z = arg;

	z->index_state = zip_open_indexed(z, res, why, z->index_err, sizeof(z->index_err));
	/* Last: the waiter may close z. */
	backend_waiter_tell(&z->waiter, z->index_state, z->index_state < 0 ? z->index_err : "");
}

/* Indexes a deflated member: starts the build through idle, or builds the
 * index at once without it. Either way the pass also checks the CRC-32. */
static int zip_open_deflated(struct zip *z, struct backend_idle *idle, char *err, size_t errlen)
{
	char why[256];
	int ret;

	ret = zip_index_begin(&z->index, z->fd, z->m.data_offset, z->m.comp_size, z->m.size,
			      z->tune.chunk, why, sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", z->label, why);
		return ret;
	}
	z->index_state = 1;
	ret = zip_build_start(&z->build, idle, &z->index, ZIP_INDEX_SLICE, z->label,
			      zip_on_indexed, z);
	if (ret < 0) {
		snprintf(err, errlen, "%s: out of memory for the index build", z->label);
		return ret;
	}
	/* Without idle the build is over: index_state says how it went. */
	if (z->index_state < 0)
		snprintf(err, errlen, "%s", z->index_err);
	return z->index_state < 0 ? z->index_state : 0;
}

/* Says whether the index is built: 0, 1 after arranging for cb, or -errno. */
static int zip_wait_ready(void *priv, backend_ready_fn cb, void *arg, char *err, size_t errlen)
{
	struct zip *z = priv;

	return backend_wait_ready(&z->waiter, z->index_state, z->index_err, cb, arg, err, errlen);
}

/* The zip backend's parameters: rows of zip_params, slots of cfg->args. */
enum zip_arg {
	ZIP_ARG_PATH,
	ZIP_ARG_ENTRY,
	ZIP_ARG_CHUNK,
	ZIP_ARG_CACHE,
	ZIP_ARG_COUNT,
};

/* Opens the archive and the member, and says what the device looks like. */
static int zip_open(void **priv, const struct backend_config *cfg,
		    struct backend_geometry *geo, char *err, size_t errlen)
{
	struct zip *z = calloc(1, sizeof(*z));
	uint64_t size;
	int ret;
	const char *path = cfg->args[ZIP_ARG_PATH].text;

	if (!z)
		return -ENOMEM;
	z->fd = -1;
	ratelimit_init(&z->fail_rl, ZIP_LOG_FAIL_S, 1);
	if (!path) {
		snprintf(err, errlen, "path: required (the ZIP archive)");
		free(z);
		return -EINVAL;
	}
	ret = zip_tune_load(&z->tune, &cfg->args[ZIP_ARG_CHUNK], &cfg->args[ZIP_ARG_CACHE],
			    err, errlen);
	if (ret == 0)
		ret = zip_archive_open(path, cfg->args[ZIP_ARG_PATH].passed ?
				       cfg->args[ZIP_ARG_PATH].fd : -1,
				       cfg->args[ZIP_ARG_ENTRY].text, &z->fd, &z->m, err, errlen);
	if (ret < 0)
		goto fail;
	if (asprintf(&z->label, "member '%s' of %s", z->m.name, path) < 0) {
		z->label = NULL;
		ret = -ENOMEM;
		goto fail;
	}
	size = (z->m.size + cfg->block_size - 1) / cfg->block_size * cfg->block_size;
	z->padded = size - z->m.size;
	z->deflated = z->m.method == ZIP_METHOD_DEFLATED;
	if (z->deflated)
		ret = zip_open_deflated(z, cfg->idle, err, errlen);
	else
		zip_crc_start(&z->crc, cfg->idle, z->fd, z->m.data_offset, z->m.size, z->m.crc,
			      ZIP_CRC_SLICE, z->label);
	if (ret < 0)
		goto fail;
	memset(geo, 0, sizeof(*geo));
	geo->size = size;
	geo->block_size = cfg->block_size;
	geo->read_only = true;
	/* A stored member is read from the archive as it is; a deflated one
	 * is inflated into the request's buffer. */
	geo->zero_copy = !z->deflated;
	*priv = z;
	return 0;
fail:
	zip_close(z);
	return ret;
}

/* Finds chunk i in the cache, or inflates it into the cache. */
static int zip_chunk_load(struct zip *z, uint32_t i, struct zip_chunk **out)
{
	uint64_t start = z->index.points[i].out;
	struct zip_chunk *ch = zip_cache_get(&z->cache, i);
	int ret;

	if (ch) {
		*out = ch;
		return 0;
	}
	ch = zip_cache_chunk_new(i, start, (size_t)(zip_chunk_end(z, i) - start));
	if (!ch)
		return -ENOMEM;
	ret = zip_index_extract(&z->index, i, ch->data, ch->len);
	if (ret < 0) {
		zip_log_failure(z, "cannot inflate the chunk at byte %llu: %s",
				(unsigned long long)start, strerror(-ret));
		free(ch);
		return -EIO;
	}
	z->inflated_bytes += ch->len;
	zip_cache_put(&z->cache, ch);
	*out = ch;
	return 0;
}

/* Fills buf with len bytes of a deflated member from off on. */
static int zip_read_deflated(struct zip *z, uint8_t *buf, uint64_t off, uint64_t len)
{
	while (len) {
		struct zip_chunk *ch;
		uint64_t n;
		int ret;

		if (off >= z->m.size) {
			memset(buf, 0, len);
			return 0;
		}
		n = zip_index_zeroes_end(&z->index, off);
		if (n) {
			n = n - off < len ? n - off : len;
			memset(buf, 0, n);
			buf += n;
			off += n;
			len -= n;
			continue;
		}
		ret = zip_chunk_load(z, zip_index_find(&z->index, off), &ch);
		if (ret < 0)
			return ret;
		if (off >= ch->start + ch->len) {
			zip_log_failure(z, "byte %llu is neither in a chunk nor in a run of zeroes",
					(unsigned long long)off);
			return -EIO;
		}
		n = ch->start + ch->len - off;
		if (n > len)
			n = len;
		memcpy(buf, ch->data + (off - ch->start), n);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Turns a request into a read of the archive (stored), or serves it now. */
static int zip_plan(void *priv, const struct backend_req *req, struct backend_op *op)
{
	struct zip *z = priv;

	memset(op, 0, sizeof(*op));
	op->kind = BACKEND_OP_DONE;
	switch (req->op) {
	case BACKEND_REQ_READ:
		break;
	case BACKEND_REQ_FLUSH:
		return 0;
	case BACKEND_REQ_WRITE:
	case BACKEND_REQ_DISCARD:
	case BACKEND_REQ_WRITE_ZEROES:
		op->result = -EROFS;
		return 0;
	default:
		op->result = -EOPNOTSUPP;
		return 0;
	}
	if (z->deflated) {
		/* The device is not started before the index is built. */
		op->result = z->index_state ? -EIO : zip_read_deflated(z, req->buf, req->off, req->len);
		return 0;
	}
	/* Past the member's end (the padding to the block size) the read is
	 * shorter, or empty: the daemon fills the rest with zeroes. */
	op->kind = BACKEND_OP_READ;
	op->fd = z->fd;
	op->off = z->m.data_offset + req->off;
	if (req->off >= z->m.size)
		op->len = 0;
	else
		op->len = req->len < z->m.size - req->off ? req->len : z->m.size - req->off;
	return 0;
}

/* Reports the member, the CRC-32 check, and for deflated the index and cache. */
static void zip_describe(void *priv, struct backend_report *r)
{
	struct zip *z = priv;
	char crc[16];

	r->text(r, "member", z->m.name);
	r->text(r, "method", z->deflated ? "deflated" : "stored");
	r->number(r, "member_size", z->m.size);
	r->number(r, "compressed_size", z->m.comp_size);
	r->number(r, "data_offset", z->m.data_offset);
	r->number(r, "padded_bytes", z->padded);
	snprintf(crc, sizeof(crc), "%08x", z->m.crc);
	r->text(r, "crc32", crc);
	r->text(r, "crc_check", zip_crc_state_name(z->crc.state));
	if (!z->deflated) {
		r->number(r, "crc_checked_bytes", z->crc.done);
		return;
	}
	r->text(r, "index_state",
		z->index_state == 1 ? "building" : z->index_state == 0 ? "ready" : "failed");
	r->number(r, "index_inflated_bytes", z->index_state == 0 ? z->m.size : z->index.built);
	r->number(r, "chunk_size", z->tune.chunk);
	r->number(r, "index_points", z->index.count);
	r->number(r, "index_state_points", z->index.state_points);
	r->number(r, "chunk_max", z->chunk_max);
	r->number(r, "zero_runs", z->index.zero_count);
	r->number(r, "zero_bytes", z->index.zero_bytes);
	/* About: a state point's size is zlib's business. */
	r->number(r, "index_bytes", z->index.dict_bytes +
		  (uint64_t)z->index.count * sizeof(struct zip_point) +
		  (uint64_t)z->index.state_points * ZIP_INDEX_STATE_BYTES +
		  (uint64_t)z->index.zero_count * sizeof(struct zip_zeroes));
	r->real(r, "index_seconds", z->index_seconds);
	r->number(r, "cache_limit", z->cache.limit);
	r->number(r, "cache_bytes", z->cache.bytes);
	r->number(r, "cache_chunks", z->cache.chunks);
	r->number(r, "cache_hits", z->cache.hits);
	r->number(r, "cache_misses", z->cache.misses);
	r->number(r, "inflated_bytes", z->inflated_bytes);
}

/* What device_add takes for a zip device (rows in enum zip_arg order). */
static const struct backend_param zip_params[] = {
	[ZIP_ARG_PATH] = { .name = "path", .type = BACKEND_PARAM_PATH, .required = true,
		.metavar = "PATH", .help = "the ZIP archive" },
	[ZIP_ARG_ENTRY] = { .name = "entry", .type = BACKEND_PARAM_TEXT, .metavar = "NAME",
		.def = "the archive's only file", .help = "the archive member to serve" },
	[ZIP_ARG_CHUNK] = { .name = "chunk_size", .type = BACKEND_PARAM_BYTES, .metavar = "BYTES",
		.def = "$" ZIP_TUNE_CHUNK_ENV ", else 1M",
		.help = "uncompressed bytes between restart points of a deflated member's index",
		.min = ZIP_TUNE_CHUNK_MIN, .max = ZIP_TUNE_CHUNK_MAX },
	[ZIP_ARG_CACHE] = { .name = "cache_limit", .type = BACKEND_PARAM_BYTES, .metavar = "BYTES",
		.def = "$" ZIP_TUNE_CACHE_ENV ", else 64M",
		.help = "inflated chunks kept in memory for this device (0: none)",
		.min = 0, .max = ZIP_TUNE_CACHE_MAX },
	[ZIP_ARG_COUNT] = { .name = NULL },
};

const struct backend_ops backend_zip = {
	.name = "zip",
	.summary = "read-only disk image inside a ZIP archive (stored or deflated)",
	.params = zip_params,
	.open = zip_open,
	.close = zip_close,
	.plan = zip_plan,
	.wait_ready = zip_wait_ready,
	.describe = zip_describe,
};
