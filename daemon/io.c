/* Serving one ublk I/O descriptor through a backend. */
#include "config.h"
#include "daemon/io.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

/* Names an operation for log messages. */
const char *io_op_name(unsigned op)
{
	switch (op) {
	case UBLK_IO_OP_READ: return "READ";
	case UBLK_IO_OP_WRITE: return "WRITE";
	case UBLK_IO_OP_FLUSH: return "FLUSH";
	case UBLK_IO_OP_DISCARD: return "DISCARD";
	case UBLK_IO_OP_WRITE_SAME: return "WRITE_SAME";
	case UBLK_IO_OP_WRITE_ZEROES: return "WRITE_ZEROES";
	default: return "UNKNOWN";
	}
}

/* Turns a backend's errno into one the block layer reports faithfully. */
int io_errno(int err)
{
	switch (err) {
	case -EIO:
	case -ENOSPC:
	case -EOPNOTSUPP:
	case -ETIMEDOUT:
	case -ENOMEM:
	case -ENODATA:
	case -EILSEQ:
	case -ENOLINK:
	case -EREMOTEIO:
		return err;
	default:
		/* The block layer has no status for the rest (EROFS, EBADF,
		 * ...): report them as the I/O error the kernel would make. */
		return -EIO;
	}
}

/* Checks that a request stays inside the device and, with data, the buffer. */
static int io_check(const struct io_target *t, uint64_t off, uint64_t len,
		    bool data, const struct ublksrv_io_desc *iod, const void *buf)
{
	if (off > t->size || len > t->size - off)
		return -EIO;
	if (data && (len > t->buf_bytes || iod->addr != (uint64_t)(uintptr_t)buf))
		return -EIO;
	return 0;
}

/* Decodes a descriptor and checks it: 0, or the result to commit. */
static int io_decode(const struct io_target *t, const struct ublksrv_io_desc *iod,
		     void *buf, struct backend_req *req)
{
	int ret;

	req->op = iod->op_flags & 0xff;
	req->flags = iod->op_flags & ~0xffU;
	req->off = iod->start_sector << 9;
	req->len = (uint64_t)iod->nr_sectors << 9;
	req->buf = buf;
	if (req->op > UBLK_IO_OP_WRITE_ZEROES || req->op == UBLK_IO_OP_WRITE_SAME)
		return -EOPNOTSUPP;
	if (req->op == UBLK_IO_OP_FLUSH)
		return 0;
	ret = io_check(t, req->off, req->len,
		       req->op == UBLK_IO_OP_READ || req->op == UBLK_IO_OP_WRITE, iod, buf);
	if (ret)
		log_error("%s of %llu bytes at %llu: outside the device or buffer",
			  io_op_name(req->op), (unsigned long long)req->len,
			  (unsigned long long)req->off);
	return ret;
}

/* Capabilities of a target: what the device advertises to the kernel. */
bool io_can_write(const struct io_target *t, const struct backend_geometry *geo)
{
	return !geo->read_only && (t->ops->plan || t->ops->write);
}

/* True when the device has a volatile cache that FLUSH writes back. */
bool io_can_flush(const struct io_target *t, const struct backend_geometry *geo)
{
	return geo->volatile_cache && (t->ops->plan || t->ops->flush);
}

/* True when DISCARD is served. */
bool io_can_discard(const struct io_target *t, const struct backend_geometry *geo)
{
	return io_can_write(t, geo) && geo->max_discard_bytes &&
	       (t->ops->plan || t->ops->discard);
}

/* True when WRITE_ZEROES is served. */
bool io_can_write_zeroes(const struct io_target *t, const struct backend_geometry *geo)
{
	return io_can_write(t, geo) && geo->max_write_zeroes_bytes &&
	       (t->ops->plan || t->ops->write_zeroes);
}

/* Starts a request on a planning target. */
int io_prepare(const struct io_target *t, const struct ublksrv_io_desc *iod,
	       void *buf, struct io_pending *p)
{
	struct backend_req req;
	int ret = io_decode(t, iod, buf, &req);

	if (ret)
		return ret;
	memset(p, 0, sizeof(*p));
	p->req_len = (uint32_t)req.len;
	p->data = req.op == UBLK_IO_OP_READ || req.op == UBLK_IO_OP_WRITE;
	ret = t->ops->plan(t->priv, &req, &p->op);
	if (ret < 0)
		return io_errno(ret);
	if (p->op.kind == BACKEND_OP_DONE)
		return p->op.result < 0 ? io_errno(p->op.result) : p->data ? (int)req.len : 0;
	if (p->op.kind == BACKEND_OP_READ && p->op.len < req.len)
		memset((char *)buf + p->op.len, 0, req.len - p->op.len);
	if ((p->op.kind == BACKEND_OP_READ || p->op.kind == BACKEND_OP_WRITE) &&
	    p->op.len > req.len)
		return -EIO;
	return 1;
}

/* Accounts one CQE result of p->op. */
int io_advance(struct io_pending *p, int res, void *buf)
{
	if (res < 0)
		return io_errno(res);
	if (p->op.kind != BACKEND_OP_READ && p->op.kind != BACKEND_OP_WRITE)
		return 0;
	if (res == 0) {
		/* End of file: a read completes with zeroes, a write cannot. */
		if (p->op.kind == BACKEND_OP_WRITE)
			return -EIO;
		memset((char *)buf + p->done, 0, p->op.len - p->done);
		return (int)p->req_len;
	}
	p->done += (uint64_t)res;
	if (p->done < p->op.len)
		return 1;
	return (int)p->req_len;
}

/* Serves the request in iod with buf as its data buffer. */
int io_serve(const struct io_target *t, const struct ublksrv_io_desc *iod, void *buf)
{
	struct backend_req req;
	unsigned op;
	uint32_t flags;
	uint64_t off, len;
	bool data;
	int ret = io_decode(t, iod, buf, &req);

	if (ret)
		return ret;
	op = req.op;
	flags = req.flags;
	off = req.off;
	len = req.len;
	data = op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE;
	switch (op) {
	case UBLK_IO_OP_READ:
		ret = t->ops->read(t->priv, buf, (uint32_t)len, off);
		break;
	case UBLK_IO_OP_WRITE:
		ret = t->ops->write ? t->ops->write(t->priv, buf, (uint32_t)len, off, flags)
				    : -EROFS;
		break;
	case UBLK_IO_OP_FLUSH:
		ret = t->ops->flush ? t->ops->flush(t->priv) : 0;
		break;
	case UBLK_IO_OP_DISCARD:
		ret = t->ops->discard ? t->ops->discard(t->priv, len, off) : -EOPNOTSUPP;
		break;
	default:
		ret = t->ops->write_zeroes ?
			t->ops->write_zeroes(t->priv, len, off, flags) : -EOPNOTSUPP;
		break;
	}
	if (ret < 0)
		return io_errno(ret);
	return data ? (int)len : 0;
}
