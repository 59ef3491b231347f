/* The one door between the daemon and a backend (io.c calls every backend
 * operation): open, serve, describe, close. */
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
	bool open;		/* between io_open and io_close */
	uint64_t size;		/* device size in bytes */
	uint32_t buf_bytes;	/* size of each tag's buffer */
};

/* Opens a backend for cfg into t; on error writes a message to err. */
int io_open(struct io_target *t, const struct backend_ops *ops, const struct backend_config *cfg,
	    struct backend_geometry *geo, char *err, size_t errlen);
/* Closes t's backend, first undoing what open created when abandon is set
 * (the device never went live). Harmless when it is not open. */
void io_close(struct io_target *t, bool abandon);
/* Asks whether t's backend can serve yet: 0 yes, 1 it will call cb once
 * later (never from inside this call), or -errno with a message in err. */
int io_wait_ready(struct io_target *t, backend_ready_fn cb, void *arg, char *err,
		  size_t errlen);
/* t's backend is ready: has it fill geo again where it learns it only now
 * (backend_ops.ready_geometry), and checks requests against that size. */
void io_ready_geometry(struct io_target *t, struct backend_geometry *geo);
/* Has an open backend report its own fields into r. */
void io_describe(const struct io_target *t, struct backend_report *r);
/* Has an open backend report what it needs to be recovered into r. */
void io_save(const struct io_target *t, struct backend_report *r);
/* Lets go of t's backend for the next daemon, keeping what save named
 * (close when the backend has nothing to keep). */
void io_detach(struct io_target *t);
/* True when the backend plans file operations the queue runs (io_prepare,
 * io_advance), false when io_serve answers at once; a backend with both
 * plans only on a zero-copy queue (zero_copy), which has no buffer. */
bool io_plans(const struct io_target *t, bool zero_copy);
/* True when the backend starts requests that end later (io_start, io_finish). */
bool io_submits(const struct io_target *t);
/* True when the kernel may lend t's file operations the requests' own
 * pages (UBLK_F_AUTO_BUF_REG): a planning backend whose geometry says it
 * never touches them. */
bool io_zero_copy_capable(const struct io_target *t, const struct backend_geometry *geo);
/* True when the kernel may copy t's READs and WRITEs straight between the
 * requests' pages and the backend's own memory (UBLK_F_USER_COPY): a
 * backend that moves (backend_ops.move). */
bool io_user_copy_capable(const struct io_target *t);
/* True when t's queues may be served by io threads, at once. */
bool io_thread_safe(const struct io_target *t);

/* Serves the request in iod with buf as its data buffer; returns the result
 * to commit: the byte count for READ/WRITE, 0 for the others, or -errno.
 * dirty (NULL: not kept) counts the bytes at the start of buf that may be
 * non-zero, so a backend whose reads are zeroes clears only those. */
int io_serve(const struct io_target *t, const struct ublksrv_io_desc *iod, void *buf,
	     uint32_t *dirty);
/* Serves the request in iod of queue q_id's tag on a device whose kernel
 * copies for the daemon (UBLK_F_USER_COPY): a READ or WRITE through the
 * backend's move, between its memory and the request's pages at their
 * place in cdev_fd; anything else as io_serve does. Returns the result to
 * commit, as io_serve. */
int io_serve_user_copy(const struct io_target *t, const struct ublksrv_io_desc *iod,
		       int cdev_fd, uint16_t q_id, uint16_t tag);
/* Capabilities of a target: what the device advertises to the kernel. */
bool io_can_write(const struct io_target *t, const struct backend_geometry *geo);
bool io_can_flush(const struct io_target *t, const struct backend_geometry *geo);
bool io_can_discard(const struct io_target *t, const struct backend_geometry *geo);
bool io_can_write_zeroes(const struct io_target *t, const struct backend_geometry *geo);
/* Fills SET_PARAMS from those capabilities (io_params.c), and clears in geo
 * what the kernel is not told, so the device reports only that; flags are
 * the device's UBLK_F_* (zero copy may need the requests' memory aligned). */
void io_fill_params(struct ublk_params *p, const struct io_target *t,
		    struct backend_geometry *geo, uint32_t max_io_buf_bytes, uint64_t flags);

/* The state of one request whose backend planned a file operation. */
struct io_pending {
	struct backend_op op;
	uint32_t req_len;	/* bytes the request asked for */
	uint64_t done;		/* bytes of op already transferred */
	bool data;		/* READ or WRITE: commit the byte count */
	bool fill;		/* zero copy: the rest of the READ is zeroes,
				 * read from /dev/zero into the request's pages */
};

/* Starts a request on a planning target: returns 1 when p->op must be run
 * (from p->done on), else the result to commit. */
int io_prepare(const struct io_target *t, const struct ublksrv_io_desc *iod,
	       void *buf, struct io_pending *p);
/* Starts a request on a submitting target for device queue queue: returns 1
 * when started (done(ctx, res) follows, from the loop), else the result to
 * commit at once. */
int io_start(const struct io_target *t, unsigned queue, const struct ublksrv_io_desc *iod,
	     void *buf, struct io_pending *p, backend_done_fn done, void *ctx);
/* Tells a submitting target that every request one wakeup of queue
 * brought has been started (io_start): what it held back may go now. */
void io_unplug(const struct io_target *t, unsigned queue);
/* Turns the end of a request io_start started into the result to commit. */
int io_finish(const struct io_pending *p, int res);
/* Accounts one CQE result of p->op: returns 1 when the rest must be run
 * again, else the result to commit. buf is NULL under zero copy: a READ
 * that ends short then goes on with p->fill set. */
int io_advance(struct io_pending *p, int res, void *buf);
/* Turns a backend's errno into one the block layer reports faithfully. */
int io_errno(int err);
/* Names an operation for log messages. */
const char *io_op_name(unsigned op);

#endif
