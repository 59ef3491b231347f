/* Serving one ublk I/O descriptor through a backend. */
#include "config.h"
#include "daemon/io.h"
#include "common/log.h"

#include <errno.h>

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

/* Serves the request in iod with buf as its data buffer. */
int io_serve(const struct io_target *t, const struct ublksrv_io_desc *iod, void *buf)
{
	unsigned op = iod->op_flags & 0xff;
	uint32_t flags = iod->op_flags & ~0xffU;
	uint64_t off = iod->start_sector << 9;
	uint64_t len = (uint64_t)iod->nr_sectors << 9;
	bool data = op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE;
	int ret;

	if (op > UBLK_IO_OP_WRITE_ZEROES || op == UBLK_IO_OP_WRITE_SAME)
		return -EOPNOTSUPP;
	if (op != UBLK_IO_OP_FLUSH) {
		ret = io_check(t, off, len, data, iod, buf);
		if (ret) {
			log_error("%s of %llu bytes at %llu: outside the device or buffer",
				  io_op_name(op), (unsigned long long)len,
				  (unsigned long long)off);
			return ret;
		}
	}
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
