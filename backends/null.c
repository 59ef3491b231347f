/* The null backend: reads return zeroes, writes succeed and are dropped. */
#include "config.h"
#include "backends/backend.h"

#include <string.h>

/* Opens a null device of the requested size; it needs no state. */
static int null_open(void **priv, const struct backend_config *cfg,
		     struct backend_geometry *geo, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*priv = NULL;
	backends_plain_geometry(cfg, geo);
	geo->zero_copy = true;	/* null_plan never touches the data */
	return 0;
}

/* Nothing to release. */
static void null_close(void *priv)
{
	(void)priv;
}

/* Fills the buffer with zeroes. */
static int null_read(void *priv, void *buf, uint32_t len, uint64_t off)
{
	(void)priv;
	(void)off;
	memset(buf, 0, len);
	return 0;
}

/* Accepts and drops the data. */
static int null_write(void *priv, const void *buf, uint32_t len, uint64_t off,
		      uint32_t flags)
{
	(void)priv;
	(void)buf;
	(void)len;
	(void)off;
	(void)flags;
	return 0;
}

/* Accepts a discard or write-zeroes: the device already reads zeroes. */
static int null_trim(void *priv, uint64_t len, uint64_t off)
{
	(void)priv;
	(void)len;
	(void)off;
	return 0;
}

/* Accepts a write-zeroes request. */
static int null_write_zeroes(void *priv, uint64_t len, uint64_t off, uint32_t flags)
{
	(void)flags;
	return null_trim(priv, len, off);
}

/* Under zero copy, where the daemon has no buffer of its own: a READ is
 * all zeroes (an empty op, which the queue completes from /dev/zero into
 * the request's pages); anything else is done at once. */
static int null_plan(void *priv, const struct backend_req *req, struct backend_op *op)
{
	(void)priv;
	memset(op, 0, sizeof(*op));
	op->fd = -1;
	op->kind = req->op == BACKEND_REQ_READ ? BACKEND_OP_READ : BACKEND_OP_DONE;
	return 0;
}

/* Under user copy: a READ lends zeroes to the kernel's copy into the
 * request's pages; a WRITE is dropped without any copy. */
static int null_move(void *priv, const struct backend_req *req, struct backend_mover *mv)
{
	(void)priv;
	return req->op == BACKEND_REQ_READ ? backend_move_zeroes(mv, req->len) : 0;
}

/* What device_add takes for a null device. */
static const struct backend_param null_params[] = {
	{ .name = "size", .type = BACKEND_PARAM_SIZE, .required = true, .metavar = "SIZE",
	  .help = "the device size: bytes, or with a K, M, G or T suffix" },
	{ .name = NULL },
};

const struct backend_ops backend_null = {
	.name = "null",
	.summary = "reads return zeroes, writes are dropped",
	.params = null_params,
	.thread_safe = true,
	.reads_zero = true,
	.open = null_open,
	.close = null_close,
	.read = null_read,
	.write = null_write,
	.discard = null_trim,
	.write_zeroes = null_write_zeroes,
	.plan = null_plan,
	.move = null_move,
};
