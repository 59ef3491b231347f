/* The file backend: serves a regular file or a block device, like a loop
 * device. Each request becomes one read, write, fdatasync or fallocate on
 * the backing that the queue runs on its own io_uring, with O_DIRECT unless
 * buffered I/O was asked for or the file system refuses it. */
#include "config.h"
#include "backends/file.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Opens the backing and reports its geometry and what it supports. */
static int file_open(void **priv, const struct backend_config *cfg,
		     struct backend_geometry *geo, char *err, size_t errlen)
{
	struct file_dev *f;
	int ret;

	const char *path = cfg->args[FILE_ARG_PATH].text;

	if (!path || !path[0]) {
		snprintf(err, errlen, "a path is required");
		return -EINVAL;
	}
	if (path[0] != '/' && !cfg->args[FILE_ARG_PATH].passed) {
		/* The daemon's working directory is not the client's. */
		snprintf(err, errlen, "%s is a relative path; give an absolute one", path);
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return -ENOMEM;
	}
	ret = file_open_backing(f, cfg, err, errlen);
	if (ret < 0) {
		free(f->path);
		free(f);
		return ret;
	}
	geo->size = f->size;
	geo->block_size = f->block_size;
	geo->read_only = f->read_only;
	/* The page cache or the disk's cache holds writes until a flush. */
	geo->volatile_cache = true;
	geo->zero_copy = true;	/* plan never touches the data */
	/* Direct I/O straight into a request's pages needs each page's part
	 * to start at the buffer alignment and to be a whole number of the
	 * offset alignment. */
	geo->mem_align = f->direct ? (f->dio_mem_align > f->dio_align ?
				      f->dio_mem_align : f->dio_align) : 0;
	geo->max_discard_bytes = f->can_punch ? FILE_MAX_TRIM_BYTES : 0;
	geo->max_write_zeroes_bytes = f->zero_mode >= 0 ? FILE_MAX_TRIM_BYTES : 0;
	log_info("%s: %s of %llu bytes, block size %u, %s I/O%s%s%s", f->path,
		 f->bdev ? "block device" : "file", (unsigned long long)f->size,
		 f->block_size, f->direct ? "direct" : "buffered",
		 f->read_only ? ", read-only" : "", f->can_punch ? ", discard" : "",
		 f->zero_mode >= 0 ? ", write-zeroes" : "");
	*priv = f;
	return 0;
}

/* Closes the backing; the file itself stays. */
static void file_close(void *priv)
{
	struct file_dev *f = priv;

	close(f->fd);
	free(f->path);
	free(f);
}

/* Undoes what open did to the backing: removes a file it created, or
 * gives back the size of one it extended. */
static void file_abandon(void *priv)
{
	struct file_dev *f = priv;

	if (f->created) {
		if (unlink(f->path) < 0)
			log_warn("cannot remove %s, created for a device that failed: %s",
				 f->path, strerror(errno));
		else
			log_info("removed %s, created for a device that failed", f->path);
	} else if (f->extended) {
		if (ftruncate(f->fd, (off_t)f->extended_from) < 0)
			log_warn("cannot shrink %s back to %llu bytes after a failed add: %s",
				 f->path, (unsigned long long)f->extended_from, strerror(errno));
		else
			log_info("shrank %s back to %llu bytes: its device failed", f->path,
				 (unsigned long long)f->extended_from);
	}
	f->created = false;
	f->extended = false;
}

/* Turns a request into one operation on the backing. */
static int file_plan(void *priv, const struct backend_req *req, struct backend_op *op)
{
	struct file_dev *f = priv;

	memset(op, 0, sizeof(*op));
	op->fd = f->fd;
	op->off = req->off;
	op->len = req->len;
	if (f->read_only && req->op != BACKEND_REQ_READ && req->op != BACKEND_REQ_FLUSH) {
		op->kind = BACKEND_OP_DONE;
		op->result = -EROFS;
		return 0;
	}
	switch (req->op) {
	case BACKEND_REQ_READ:
		op->kind = BACKEND_OP_READ;
		break;
	case BACKEND_REQ_WRITE:
		op->kind = BACKEND_OP_WRITE;
		if (req->flags & BACKEND_F_FUA)
			op->rw_flags = RWF_DSYNC;
		break;
	case BACKEND_REQ_FLUSH:
		op->kind = BACKEND_OP_FSYNC;
		op->datasync = true;
		op->off = 0;
		op->len = 0;
		break;
	case BACKEND_REQ_DISCARD:
		if (!f->can_punch)
			goto unsupported;
		op->kind = BACKEND_OP_FALLOCATE;
		op->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		break;
	case BACKEND_REQ_WRITE_ZEROES:
		/* NOUNMAP: the range must stay allocated, and a punched hole
		 * would free it (tmpfs has PUNCH_HOLE but no ZERO_RANGE).
		 * Refused then, as loop does: the kernel writes zero pages. */
		if (f->zero_mode < 0 ||
		    ((req->flags & BACKEND_F_NOUNMAP) && !(f->zero_mode & FALLOC_FL_ZERO_RANGE)))
			goto unsupported;
		op->kind = BACKEND_OP_FALLOCATE;
		op->mode = f->zero_mode;
		break;
	default:
		goto unsupported;
	}
	return 0;
unsupported:
	op->kind = BACKEND_OP_DONE;
	op->result = -EOPNOTSUPP;
	return 0;
}

/* Reports how the backing is served. */
static void file_describe(void *priv, struct backend_report *r)
{
	struct file_dev *f = priv;

	r->text(r, "backing", f->bdev ? "block device" : "file");
	r->flag(r, "direct_io", f->direct);
	if (f->direct)
		r->number(r, "dio_alignment", f->dio_align);
}

/* What device_add takes for a file device (rows in enum file_arg order). */
static const struct backend_param file_params[] = {
	[FILE_ARG_PATH] = { .name = "path", .type = BACKEND_PARAM_PATH, .required = true,
		.metavar = "PATH", .help = "the regular file or block device to serve" },
	[FILE_ARG_SIZE] = { .name = "size", .type = BACKEND_PARAM_SIZE, .metavar = "SIZE",
		.def = "the file's size",
		.help = "create the file, or grow it, to this size" },
	[FILE_ARG_BUFFERED] = { .name = "buffered", .type = BACKEND_PARAM_FLAG,
		.help = "go through the page cache instead of O_DIRECT" },
	[FILE_ARG_COUNT] = { .name = NULL },
};

const struct backend_ops backend_file = {
	.name = "file",
	.summary = "a regular file or block device, like a loop device",
	.params = file_params,
	.thread_safe = true,
	.open = file_open,
	.close = file_close,
	.abandon = file_abandon,
	.plan = file_plan,
	.describe = file_describe,
};
