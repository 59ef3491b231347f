/* Serving one ublk I/O descriptor through a backend. */
#ifndef UBLKD_IO_H
#define UBLKD_IO_H

#include <stdint.h>
#include "backends/backend.h"
#include "common/ublk_uapi.h"

/* The backend and limits one device's I/O is served with. */
struct io_target {
	const struct backend_ops *ops;
	void *priv;
	uint64_t size;		/* device size in bytes */
	uint32_t buf_bytes;	/* size of each tag's buffer */
};

/* Serves the request in iod with buf as its data buffer; returns the result
 * to commit: the byte count for READ/WRITE, 0 for the others, or -errno. */
int io_serve(const struct io_target *t, const struct ublksrv_io_desc *iod, void *buf);
/* Turns a backend's errno into one the block layer reports faithfully. */
int io_errno(int err);
/* Names an operation for log messages. */
const char *io_op_name(unsigned op);

#endif
