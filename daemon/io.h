/* Serving one ublk I/O descriptor through a backend. */
#ifndef UBLKD_IO_H
#define UBLKD_IO_H

#include <stdbool.h>
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
/* Capabilities of a target: what the device advertises to the kernel. */
bool io_can_write(const struct io_target *t, const struct backend_geometry *geo);
bool io_can_flush(const struct io_target *t, const struct backend_geometry *geo);
bool io_can_discard(const struct io_target *t, const struct backend_geometry *geo);
bool io_can_write_zeroes(const struct io_target *t, const struct backend_geometry *geo);
/* Fills SET_PARAMS from those capabilities (io_params.c), and clears in geo
 * what the kernel is not told, so the device reports only that. */
void io_fill_params(struct ublk_params *p, const struct io_target *t,
		    struct backend_geometry *geo, uint32_t max_io_buf_bytes);

/* The state of one request whose backend planned a file operation. */
struct io_pending {
	struct backend_op op;
	uint32_t req_len;	/* bytes the request asked for */
	uint64_t done;		/* bytes of op already transferred */
	bool data;		/* READ or WRITE: commit the byte count */
};

/* Starts a request on a planning target: returns 1 when p->op must be run
 * (from p->done on), else the result to commit. */
int io_prepare(const struct io_target *t, const struct ublksrv_io_desc *iod,
	       void *buf, struct io_pending *p);
/* Accounts one CQE result of p->op: returns 1 when the rest must be run
 * again, else the result to commit. */
int io_advance(struct io_pending *p, int res, void *buf);
/* Turns a backend's errno into one the block layer reports faithfully. */
int io_errno(int err);
/* Names an operation for log messages. */
const char *io_op_name(unsigned op);

#endif
