/* The one door between the daemon and a backend: the only file that calls
 * a backend's operations. It opens, describes and closes backends, and
 * serves the kernel's I/O descriptors through them, translating the UAPI's
 * ops and flags into the backend's own. */
#include "config.h"
#include "daemon/io.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

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

/* Checks that a request stays inside the device and, with data, the buffer
 * (NULL under zero copy: the kernel lends the request's pages instead). */
static int io_check(const struct io_target *t, uint64_t off, uint64_t len,
		    bool data, const struct ublksrv_io_desc *iod, const void *buf)
{
	if (off > t->size || len > t->size - off)
		return -EIO;
	if (data && (len > t->buf_bytes || (buf && iod->addr != (uint64_t)(uintptr_t)buf)))
		return -EIO;
	return 0;
}

/* Translates the kernel's op and flags into the backend's: 0, or
 * -EOPNOTSUPP for an op no backend serves. */
static int io_translate(uint32_t op_flags, struct backend_req *req)
{
	static const int ops[] = {
		[UBLK_IO_OP_READ] = BACKEND_REQ_READ,
		[UBLK_IO_OP_WRITE] = BACKEND_REQ_WRITE,
		[UBLK_IO_OP_FLUSH] = BACKEND_REQ_FLUSH,
		[UBLK_IO_OP_DISCARD] = BACKEND_REQ_DISCARD,
		[UBLK_IO_OP_WRITE_SAME] = -1,
		[UBLK_IO_OP_WRITE_ZEROES] = BACKEND_REQ_WRITE_ZEROES,
	};
	unsigned op = op_flags & 0xff;

	if (op >= sizeof(ops) / sizeof(ops[0]) || ops[op] < 0)
		return -EOPNOTSUPP;
	req->op = (enum backend_req_op)ops[op];
	req->flags = 0;
	if (op_flags & UBLK_IO_F_FUA)
		req->flags |= BACKEND_F_FUA;
	if (op_flags & UBLK_IO_F_NOUNMAP)
		req->flags |= BACKEND_F_NOUNMAP;
	return 0;
}

/* True for the ops that move data through the tag's buffer. */
static bool io_has_data(enum backend_req_op op)
{
	return op == BACKEND_REQ_READ || op == BACKEND_REQ_WRITE;
}

/* Decodes a descriptor and checks it: 0, or the result to commit. */
static int io_decode(const struct io_target *t, const struct ublksrv_io_desc *iod,
		     void *buf, struct backend_req *req)
{
	int ret = io_translate(iod->op_flags, req);

	if (ret)
		return ret;
	req->off = iod->start_sector << 9;
	req->len = (uint64_t)iod->nr_sectors << 9;
	req->buf = buf;
	if (req->op == BACKEND_REQ_FLUSH)
		return 0;
	ret = io_check(t, req->off, req->len, io_has_data(req->op), iod, buf);
	if (ret)
		log_error("%s of %llu bytes at %llu: outside the device or buffer",
			  io_op_name(iod->op_flags & 0xff), (unsigned long long)req->len,
			  (unsigned long long)req->off);
	return ret;
}

/* True when one op (plan or submit) serves every request, so the geometry
 * alone says which requests exist. */
static bool io_geometry_says(const struct io_target *t)
{
	return t->ops->plan || t->ops->submit;
}

/* Capabilities of a target: what the device advertises to the kernel. */
bool io_can_write(const struct io_target *t, const struct backend_geometry *geo)
{
	return !geo->read_only && (io_geometry_says(t) || t->ops->write);
}

/* True when the device has a volatile cache that FLUSH writes back. */
bool io_can_flush(const struct io_target *t, const struct backend_geometry *geo)
{
	return geo->volatile_cache && (io_geometry_says(t) || t->ops->flush);
}

/* True when DISCARD is served. */
bool io_can_discard(const struct io_target *t, const struct backend_geometry *geo)
{
	return io_can_write(t, geo) && geo->max_discard_bytes &&
	       (io_geometry_says(t) || t->ops->discard);
}

/* True when WRITE_ZEROES is served. */
bool io_can_write_zeroes(const struct io_target *t, const struct backend_geometry *geo)
{
	return io_can_write(t, geo) && geo->max_write_zeroes_bytes &&
	       (io_geometry_says(t) || t->ops->write_zeroes);
}

/* Decodes a request into req and resets p for it: 0, or the result to
 * commit at once. */
static int io_begin(const struct io_target *t, const struct ublksrv_io_desc *iod,
		    void *buf, struct io_pending *p, struct backend_req *req)
{
	int ret = io_decode(t, iod, buf, req);

	if (ret)
		return ret;
	memset(p, 0, sizeof(*p));
	p->req_len = (uint32_t)req->len;
	p->data = io_has_data(req->op);
	return 0;
}

/* Zero copy: a READ ended short of the request; its rest, pages we cannot
 * write ourselves, is read from /dev/zero (never stale data). */
static int io_fill_rest(struct io_pending *p)
{
	p->fill = true;
	p->op.len = p->req_len;
	return 1;
}

/* Starts a request on a planning target. */
int io_prepare(const struct io_target *t, const struct ublksrv_io_desc *iod,
	       void *buf, struct io_pending *p)
{
	struct backend_req req;
	int ret = io_begin(t, iod, buf, p, &req);

	if (ret)
		return ret;
	ret = t->ops->plan(t->priv, &req, &p->op);
	if (ret < 0)
		return io_errno(ret);
	if (p->op.kind == BACKEND_OP_DONE)
		return p->op.result < 0 ? io_errno(p->op.result) : p->data ? (int)req.len : 0;
	if (p->op.kind == BACKEND_OP_READ && p->op.len < req.len) {
		/* The rest reads as zeroes: cleared here, or under zero copy
		 * read from /dev/zero after the op (at once if it is empty). */
		if (!buf)
			return p->op.len ? 1 : io_fill_rest(p);
		memset((char *)buf + p->op.len, 0, req.len - p->op.len);
		if (!p->op.len)
			return (int)req.len;
	}
	if ((p->op.kind == BACKEND_OP_READ || p->op.kind == BACKEND_OP_WRITE) &&
	    p->op.len > req.len)
		return -EIO;
	return 1;
}

/* Starts a request on a submitting target. */
int io_start(const struct io_target *t, unsigned queue, const struct ublksrv_io_desc *iod,
	     void *buf, struct io_pending *p, backend_done_fn done, void *ctx)
{
	struct backend_req req;
	int ret = io_begin(t, iod, buf, p, &req);

	if (ret)
		return ret;
	ret = t->ops->submit(t->priv, queue, &req, done, ctx);
	return ret < 0 ? io_errno(ret) : 1;
}

/* Tells a submitting target that one wakeup of queue has been handed over. */
void io_unplug(const struct io_target *t, unsigned queue)
{
	if (t->ops->unplug)
		t->ops->unplug(t->priv, queue);
}

/* Turns the end of a submitted request into the result to commit. */
int io_finish(const struct io_pending *p, int res)
{
	if (res < 0)
		return io_errno(res);
	return p->data ? (int)p->req_len : 0;
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
		if (p->op.kind == BACKEND_OP_WRITE || p->fill)
			return -EIO;
		if (!buf)
			return io_fill_rest(p);
		memset((char *)buf + p->done, 0, p->op.len - p->done);
		return (int)p->req_len;
	}
	p->done += (uint64_t)res;
	if (p->done < p->op.len)
		return 1;
	if (!buf && p->op.kind == BACKEND_OP_READ && p->done < p->req_len)
		return io_fill_rest(p);
	return (int)p->req_len;
}

/* Raises *dirty to len bytes (at most the buffer's size). */
static void io_dirty(uint32_t *dirty, uint64_t len, uint32_t buf_bytes)
{
	if (len > buf_bytes)
		len = buf_bytes;
	if (len > *dirty)
		*dirty = (uint32_t)len;
}

/* Runs a decoded request through the backend's callbacks, buf its data
 * (unused by the ops without data): 0 or -errno, as the backend says. */
static int io_call(const struct io_target *t, const struct backend_req *req, void *buf,
		   uint32_t *dirty)
{
	const struct backend_ops *b = t->ops;

	switch (req->op) {
	case BACKEND_REQ_READ:
		if (b->reads_zero && dirty) {
			/* Past *dirty the buffer holds zeroes still. */
			memset(buf, 0, req->len < *dirty ? req->len : *dirty);
			if (req->len >= *dirty)
				*dirty = 0;
			return 0;
		}
		return b->read(t->priv, buf, (uint32_t)req->len, req->off);
	case BACKEND_REQ_WRITE:
		return b->write ? b->write(t->priv, buf, (uint32_t)req->len, req->off, req->flags)
				: -EROFS;
	case BACKEND_REQ_FLUSH:
		return b->flush ? b->flush(t->priv) : 0;
	case BACKEND_REQ_DISCARD:
		return b->discard ? b->discard(t->priv, req->len, req->off) : -EOPNOTSUPP;
	case BACKEND_REQ_WRITE_ZEROES:
		return b->write_zeroes ? b->write_zeroes(t->priv, req->len, req->off, req->flags)
				       : -EOPNOTSUPP;
	}
	return -EOPNOTSUPP;
}

/* Serves the request in iod with buf as its data buffer. */
int io_serve(const struct io_target *t, const struct ublksrv_io_desc *iod, void *buf,
	     uint32_t *dirty)
{
	struct backend_req req;
	int ret;

	/* The kernel copied a WRITE's data in before handing it over, even
	 * one that is refused below. */
	if (dirty && (iod->op_flags & 0xff) == UBLK_IO_OP_WRITE)
		io_dirty(dirty, (uint64_t)iod->nr_sectors << 9, t->buf_bytes);
	ret = io_decode(t, iod, buf, &req);
	if (ret)
		return ret;
	if (dirty && req.op == BACKEND_REQ_READ && !t->ops->reads_zero)
		io_dirty(dirty, req.len, t->buf_bytes);	/* the backend fills it */
	ret = io_call(t, &req, buf, dirty);
	if (ret < 0)
		return io_errno(ret);
	return io_has_data(req.op) ? (int)req.len : 0;
}

/* The kernel's copy of one request's data (UBLK_F_USER_COPY): pread or
 * pwrite on the char device at the request's place there. */
struct io_user_copy {
	struct backend_mover mover;	/* first: copy gets it */
	int fd;
	off_t pos;
	bool to_request;		/* a READ: the data goes into the request */
};

/* Copies n pieces into or out of the request, from where the last call
 * ended: the bytes copied, or -errno. */
static long io_user_copy(struct backend_mover *mv, const struct iovec *iov, int n)
{
	struct io_user_copy *c = (struct io_user_copy *)mv;
	ssize_t got = c->to_request ? pwritev(c->fd, iov, n, c->pos) : preadv(c->fd, iov, n, c->pos);

	if (got < 0)
		return -errno;
	c->pos += got;
	return (long)got;
}

/* Serves a request of a device whose kernel copies for the daemon. */
int io_serve_user_copy(const struct io_target *t, const struct ublksrv_io_desc *iod,
		       int cdev_fd, uint16_t q_id, uint16_t tag)
{
	struct io_user_copy c = {
		.mover.copy = io_user_copy,
		.fd = cdev_fd,
		.pos = (off_t)(UBLKSRV_IO_BUF_OFFSET + ((uint64_t)q_id << UBLK_QID_OFF) +
			       ((uint64_t)tag << UBLK_TAG_OFF)),
	};
	struct backend_req req;
	int ret = io_decode(t, iod, NULL, &req);

	if (ret)
		return ret;
	if (!io_has_data(req.op)) {
		ret = io_call(t, &req, NULL, NULL);
		return ret < 0 ? io_errno(ret) : 0;
	}
	if (!t->ops->move) {
		/* Only a backend that moves is added with user copy. */
		static bool told;

		if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
			log_error("%s of %llu bytes at %llu: user copy, but backend %s cannot "
				  "move data; such requests fail with EIO (logged once)",
				  io_op_name(iod->op_flags & 0xff), (unsigned long long)req.len,
				  (unsigned long long)req.off, t->ops->name);
		return -EIO;
	}
	c.to_request = req.op == BACKEND_REQ_READ;
	ret = t->ops->move(t->priv, &req, &c.mover);
	if (ret < 0)
		return io_errno(ret);
	return (int)req.len;
}

/* Opens a backend for cfg into t; on error writes a message to err. */
int io_open(struct io_target *t, const struct backend_ops *ops, const struct backend_config *cfg,
	    struct backend_geometry *geo, char *err, size_t errlen)
{
	void *priv = NULL;
	int ret = ops->open(&priv, cfg, geo, err, errlen);

	if (ret < 0)
		return ret;
	t->ops = ops;
	t->priv = priv;
	t->open = true;
	t->size = geo->size;
	return 0;
}

/* Closes t's backend, first undoing what open created when abandon is set
 * (the device never went live). Harmless when it is not open. */
void io_close(struct io_target *t, bool abandon)
{
	if (!t->open)
		return;
	if (abandon && t->ops->abandon)
		t->ops->abandon(t->priv);
	t->ops->close(t->priv);
	t->open = false;
	t->priv = NULL;
}

/* Asks whether t's backend can serve yet: 0 yes, 1 it will call cb once
 * later, or -errno with a message in err. */
int io_wait_ready(struct io_target *t, backend_ready_fn cb, void *arg, char *err,
		  size_t errlen)
{
	if (!t->ops->wait_ready)
		return 0;
	return t->ops->wait_ready(t->priv, cb, arg, err, errlen);
}

/* t's backend is ready: has it fill geo again where it learns it only
 * now, and checks requests against that size from here on. */
void io_ready_geometry(struct io_target *t, struct backend_geometry *geo)
{
	if (t->open && t->ops->ready_geometry)
		t->ops->ready_geometry(t->priv, geo);
	t->size = geo->size;
}

/* Has an open backend report its own fields into r. */
void io_describe(const struct io_target *t, struct backend_report *r)
{
	if (t->open && t->ops->describe)
		t->ops->describe(t->priv, r);
}

/* Has an open backend report what it needs to be recovered into r. */
void io_save(const struct io_target *t, struct backend_report *r)
{
	if (t->open && t->ops->save)
		t->ops->save(t->priv, r);
}

/* Lets go of t's backend for the next daemon, keeping what save named
 * (close when the backend has nothing to keep). */
void io_detach(struct io_target *t)
{
	if (!t->open)
		return;
	if (t->ops->detach)
		t->ops->detach(t->priv);
	else
		t->ops->close(t->priv);
	t->open = false;
	t->priv = NULL;
}

/* True when the backend plans the file operations the queue runs: always
 * for a backend that only plans, and for one that also serves through a
 * buffer (null) only on a zero-copy queue, which has no buffer. */
bool io_plans(const struct io_target *t, bool zero_copy)
{
	return t->ops->plan && (zero_copy || !t->ops->read);
}

/* True when the backend starts requests that end later (io_start). */
bool io_submits(const struct io_target *t)
{
	return t->ops->submit != NULL;
}

/* True when the kernel may copy between t's memory and the requests' pages. */
bool io_user_copy_capable(const struct io_target *t)
{
	return t->ops->move != NULL;
}

/* True when the kernel may lend t's file operations the requests' own pages. */
bool io_zero_copy_capable(const struct io_target *t, const struct backend_geometry *geo)
{
	return geo->zero_copy && t->ops->plan && !t->ops->submit;
}

/* True when t's queues may be served by io threads, at once: never for a
 * submitting backend, whose watches live on the main loop. */
bool io_thread_safe(const struct io_target *t)
{
	return t->ops->thread_safe && !t->ops->submit;
}
