/* The rbd backend: a Ceph RBD image (or a snapshot of it, read-only) served
 * through librbd, from the daemon's loop.
 *
 * open only reads the configuration; a short-lived thread connects and opens
 * the image (rbd_connect.c) while the add waits (wait_ready), bounded by
 * librados' own monitor time-outs and RBD_OPEN_TIMEOUT. The device has the
 * image's size (ready_geometry). Each request then becomes one librbd
 * asynchronous call (rbd_aio_read, _write, _flush, _discard, _write_zeroes;
 * a FUA write is a write and then a flush) made on the loop, with a
 * completion that has no callback: librbd signals an eventfd
 * (rbd_set_image_notification) that the loop watches, and the loop collects
 * the finished completions with rbd_poll_io_events. No request's work runs
 * on librbd's threads or ours. librbd's write-back cache is off unless the
 * device asks for it (cache): without it a write is answered once the OSDs
 * have it, as with the kernel's rbd client, so a crash of the daemon loses
 * no acknowledged write; with it the device has a volatile cache and FLUSH
 * reaches rbd_aio_flush. An OSD that goes away makes requests wait, as with
 * the kernel's rbd client, until it returns. Devices of the same
 * configuration, client id and cache setting share one librados client
 * (rbd_cluster.c), as the kernel's rbd client shares its ceph client,
 * unless the device asks for its own (own_client). Another client that
 * shrinks the image (rbd resize --allow-shrink) is seen through librbd's
 * update watch (rbd_size.c), as the kernel's client watches the header:
 * requests past the new end then fail, where librbd would cut a write short
 * and answer success for all of it. */
#include "config.h"
#include "backends/backend.h"
#include "backends/rbd.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Completions collected per rbd_poll_io_events call. */
#define RBD_POLL_BATCH	64
/* The largest DISCARD and WRITE_ZEROES the device takes. */
#define RBD_MAX_ZERO_BYTES	(1U << 30)
/* Failed requests logged per device: at most this many lines ... */
#define RBD_FAIL_LOG_BURST	5
/* ... per this many seconds; the rest are counted in the next line. */
#define RBD_FAIL_LOG_EVERY	10.0

struct rbd_dev;

/* One request in librbd. */
struct rbd_req {
	struct rbd_dev *r;
	rbd_completion_t comp;
	backend_done_fn done;
	void *ctx;
	bool flush_next;	/* a FUA write: a flush follows the write */
	bool fua_flushing;	/* that flush runs now */
	enum backend_req_op op;	/* for the log line of a failure */
	uint64_t off, len;
	struct rbd_req *next;	/* on the free list */
};

struct rbd_dev {
	struct backend_loop *loop;
	char label[300];	/* pool/image[@snap] */
	uint32_t block_size;
	bool read_only;
	bool cache;		/* librbd's write-back cache is on */
	/* Connecting (state 1), ready (0) or failed (-errno, err says why). */
	int state;
	char err[512];
	struct rbd_connect *conn;	/* while the thread connects */
	struct backend_watch *conn_watch;
	struct backend_timer *conn_timer;
	double conn_start, conn_seconds;
	struct backend_waiter waiter;	/* who waits for the connection */
	/* Once ready. */
	rados_t cluster;	/* its own client, or NULL ... */
	struct rbd_cluster *shared;	/* ... the one it shares */
	rados_ioctx_t ioctx;
	rbd_image_t image;
	uint64_t image_size, size;
	uint64_t limit;		/* the device's bytes the image still has: size,
				 * or less while another client has shrunk it */
	struct rbd_size_watch *size_watch;	/* that client's resize */
	int efd;		/* librbd's completion notification, and the
				 * size watch's */
	struct backend_watch *watch;
	struct rbd_req *reqs, *free;
	unsigned inflight;
	uint64_t wakeups, completions, failed;
	struct ratelimit fail_log;	/* of the failed requests' lines */
};

/* The rbd backend's parameters: rows of rbd_params, slots of cfg->args. */
enum rbd_arg {
	RBD_ARG_POOL,
	RBD_ARG_IMAGE,
	RBD_ARG_CONF,
	RBD_ARG_CLIENT,
	RBD_ARG_SNAP,
	RBD_ARG_CACHE,
	RBD_ARG_OWN_CLIENT,
	RBD_ARG_COUNT,
};

#define RBD_DEFAULT_CONF	"/etc/ceph/ceph.conf"

/* Starts one request's librbd call on its completion: 0 or -errno. */
typedef int (*rbd_start_fn)(struct rbd_dev *r, struct rbd_req *q, const struct backend_req *req);

/* READ: rbd_aio_read into the tag's buffer. */
static int rbd_start_read(struct rbd_dev *r, struct rbd_req *q, const struct backend_req *req)
{
	return rbd_aio_read(r->image, req->off, req->len, req->buf, q->comp);
}

/* WRITE: rbd_aio_write, followed by a flush when FUA. */
static int rbd_start_write(struct rbd_dev *r, struct rbd_req *q, const struct backend_req *req)
{
	q->flush_next = req->flags & BACKEND_F_FUA;
	return rbd_aio_write(r->image, req->off, req->len, req->buf, q->comp);
}

/* FLUSH: rbd_aio_flush (librbd's cache out to the OSDs). */
static int rbd_start_flush(struct rbd_dev *r, struct rbd_req *q, const struct backend_req *req)
{
	(void)req;
	return rbd_aio_flush(r->image, q->comp);
}

/* DISCARD: rbd_aio_discard (the objects' space is given back). */
static int rbd_start_discard(struct rbd_dev *r, struct rbd_req *q, const struct backend_req *req)
{
	return rbd_aio_discard(r->image, req->off, req->len, q->comp);
}

/* WRITE_ZEROES: rbd_aio_write_zeroes, thick when the space must stay. */
static int rbd_start_zeroes(struct rbd_dev *r, struct rbd_req *q, const struct backend_req *req)
{
	int zero_flags = (req->flags & BACKEND_F_NOUNMAP) ? RBD_WRITE_ZEROES_FLAG_THICK_PROVISION : 0;

	return rbd_aio_write_zeroes(r->image, req->off, req->len, q->comp, zero_flags, 0);
}

/* Which librbd call serves each request op. */
static const rbd_start_fn rbd_starts[] = {
	[BACKEND_REQ_READ] = rbd_start_read,
	[BACKEND_REQ_WRITE] = rbd_start_write,
	[BACKEND_REQ_FLUSH] = rbd_start_flush,
	[BACKEND_REQ_DISCARD] = rbd_start_discard,
	[BACKEND_REQ_WRITE_ZEROES] = rbd_start_zeroes,
};

/* Logs q's failure for the reason why, rate-limited per device: the
 * kernel only sees EIO-like codes, the log says why. */
static void rbd_log_failure_why(struct rbd_dev *r, const struct rbd_req *q, const char *why)
{
	char more[64];

	r->failed++;
	if (!ratelimit_pass_line(&r->fail_log, clock_mono(), more, sizeof(more)))
		return;
	log_error("rbd %s: %s of %llu bytes at %llu failed%s: %s%s", r->label,
		  backend_req_op_name(q->op), (unsigned long long)q->len, (unsigned long long)q->off,
		  q->fua_flushing ? " in its FUA flush" : "", why, more);
}

/* Logs q's failure with librbd's error ret, rate-limited per device. */
static void rbd_log_failure(struct rbd_dev *r, const struct rbd_req *q, ssize_t ret)
{
	rbd_log_failure_why(r, q, strerror((int)-ret));
}

/* Gives a request slot back. */
static void rbd_req_free(struct rbd_dev *r, struct rbd_req *q)
{
	q->comp = NULL;
	q->done = NULL;
	q->next = r->free;
	r->free = q;
}

/* backend_ops.submit: starts a request in librbd. */
static int rbd_submit(void *priv, unsigned queue, const struct backend_req *req,
		      backend_done_fn done, void *ctx)
{
	struct rbd_dev *r = priv;
	struct rbd_req *q = r->free;
	int ret;

	(void)queue;
	if (r->state != 0 || (size_t)req->op >= sizeof(rbd_starts) / sizeof(rbd_starts[0]))
		return -EIO;
	if (!q)
		return -EBUSY;	/* more requests than queues x depth: cannot happen */
	ret = rbd_aio_create_completion(q, NULL, &q->comp);
	if (ret < 0)
		return ret;
	q->flush_next = false;
	q->fua_flushing = false;
	q->op = req->op;
	q->off = req->off;
	q->len = req->len;
	/* Past the end of an image another client shrank: librbd would cut
	 * a write there short and answer success for all of it. */
	if (req->op != BACKEND_REQ_FLUSH && req->off + req->len > r->limit) {
		rbd_aio_release(q->comp);
		q->comp = NULL;
		rbd_log_failure_why(r, q, "past the end of the image, which another client shrank");
		return -EIO;
	}
	ret = rbd_starts[req->op](r, q, req);
	if (ret < 0) {
		rbd_aio_release(q->comp);
		q->comp = NULL;
		rbd_log_failure(r, q, ret);
		return ret;
	}
	r->free = q->next;
	q->done = done;
	q->ctx = ctx;
	r->inflight++;
	return 0;
}

/* A librbd call of q ended with ret: start the flush a FUA write needs, or
 * answer the request. */
static void rbd_req_end(struct rbd_dev *r, struct rbd_req *q, ssize_t ret)
{
	backend_done_fn done = q->done;
	void *ctx = q->ctx;

	if (ret >= 0 && q->flush_next) {
		q->flush_next = false;
		q->fua_flushing = true;
		ret = rbd_aio_create_completion(q, NULL, &q->comp);
		if (ret == 0) {
			ret = rbd_aio_flush(r->image, q->comp);
			if (ret == 0)
				return;
			rbd_aio_release(q->comp);
		}
		q->comp = NULL;
	}
	/* librbd cuts a read short at the image's end, which may have moved
	 * in (rbd resize --allow-shrink from another client): the rest of
	 * the buffer is not the image's data. */
	if (ret >= 0 && q->op == BACKEND_REQ_READ && (uint64_t)ret < q->len)
		ret = -EIO;
	if (ret < 0)
		rbd_log_failure(r, q, ret);
	r->inflight--;
	r->completions++;
	rbd_req_free(r, q);
	done(ctx, ret < 0 ? (int)ret : 0);
}

/* The image is size bytes now (rbd resize by another client): requests
 * past its end fail from now on, until it grows back. */
static void rbd_resized(struct rbd_dev *r, uint64_t size)
{
	uint64_t limit = rbd_device_size(size, r->block_size);

	if (limit > r->size)
		limit = r->size;
	if (limit < r->limit)
		log_warn("rbd %s: the image shrank to %llu bytes (resized by another client): "
			 "requests past %llu fail with EIO until it grows back", r->label,
			 (unsigned long long)size, (unsigned long long)limit);
	else if (limit > r->limit && limit == r->size)
		log_info("rbd %s: the image has %llu bytes again: the device serves all of it",
			 r->label, (unsigned long long)size);
	r->image_size = size;
	r->limit = limit;
}

/* librbd's eventfd is readable: take the image's new size, if it changed,
 * then collect every finished completion. */
static void rbd_on_events(void *arg, unsigned revents)
{
	struct rbd_dev *r = arg;
	rbd_completion_t comps[RBD_POLL_BATCH];
	uint64_t count, size;
	int n;

	(void)revents;
	r->wakeups++;
	/* Read first: a completion after the poll below writes it again. */
	if (read(r->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_errno(-errno, "rbd %s: reading the completion eventfd", r->label);
	if (rbd_size_watch_take(r->size_watch, &size))
		rbd_resized(r, size);
	while ((n = rbd_poll_io_events(r->image, comps, RBD_POLL_BATCH)) > 0) {
		for (int i = 0; i < n; i++) {
			struct rbd_req *q = rbd_aio_get_arg(comps[i]);
			ssize_t ret = rbd_aio_get_return_value(comps[i]);

			rbd_aio_release(comps[i]);
			rbd_req_end(r, q, ret);
		}
	}
	if (n < 0)
		log_errno(n, "rbd %s: rbd_poll_io_events", r->label);
}

/* Says the connection's outcome to whoever waits for it. */
static void rbd_ready(struct rbd_dev *r, int res)
{
	r->state = res;
	backend_waiter_tell(&r->waiter, res, res < 0 ? r->err : NULL);
}

/* Takes the opened image from the connection and watches its completions:
 * 0, or -errno with r->err saying why. */
static int rbd_take_image(struct rbd_dev *r, struct rbd_connect *c)
{
	int ret;

	r->cluster = c->cluster;
	r->shared = c->shared;
	r->ioctx = c->ioctx;
	r->image = c->image;
	r->image_size = c->image_size;
	if (c->cache != r->cache)
		log_warn("rbd %s: librbd's write-back cache is %s for this image (rbd_cache set "
			 "in the %s's configuration wins over ublkd's): the device %s", r->label,
			 c->cache ? "on" : "off", c->cache_source,
			 c->cache ? "has a volatile cache, and a crash of ublkd loses what it "
				    "has not flushed" : "has no volatile cache");
	r->cache = c->cache;
	c->cluster = NULL;
	c->shared = NULL;
	c->ioctx = NULL;
	c->image = NULL;
	r->size = rbd_device_size(r->image_size, r->block_size);
	r->limit = r->size;
	if (r->size == 0) {
		snprintf(r->err, sizeof(r->err), "image %s has %llu bytes, less than one block of %u",
			 r->label, (unsigned long long)r->image_size, r->block_size);
		return -EINVAL;
	}
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		ret = -errno;
		snprintf(r->err, sizeof(r->err), "eventfd: %s", strerror(-ret));
		return ret;
	}
	ret = rbd_set_image_notification(r->image, r->efd, EVENT_TYPE_EVENTFD);
	if (ret < 0) {
		rbd_error(r->err, sizeof(r->err), "rbd_set_image_notification on", r->label, ret);
		return ret;
	}
	ret = r->loop->watch_start(r->loop, r->efd, BACKEND_EV_READ, rbd_on_events, r, &r->watch);
	if (ret < 0) {
		snprintf(r->err, sizeof(r->err), "out of memory for the completion watch");
		return ret;
	}
	ret = rbd_size_watch_start(&r->size_watch, r->image, r->efd);
	if (ret < 0)
		log_warn("rbd %s: cannot watch the image's size (%s): a shrink by another "
			 "client will not be noticed", r->label, strerror(-ret));
	return 0;
}

/* Stops waiting for the connecting thread, which cleans up after itself. */
static void rbd_drop_connect(struct rbd_dev *r)
{
	r->loop->watch_stop(r->conn_watch);
	r->conn_watch = NULL;
	r->loop->timer_stop(r->conn_timer);
	r->conn_timer = NULL;
	rbd_connect_put(r->conn);
	r->conn = NULL;
}

/* The connecting thread is done: take the image, or its error. */
static void rbd_on_connected(void *arg, unsigned revents)
{
	struct rbd_dev *r = arg;
	struct rbd_connect *c = r->conn;
	int ret = c->res;

	(void)revents;
	r->conn_seconds = r->loop->now(r->loop) - r->conn_start;
	if (ret < 0)
		snprintf(r->err, sizeof(r->err), "%s", c->msg);
	else
		ret = rbd_take_image(r, c);
	rbd_drop_connect(r);
	if (ret == 0)
		log_info("rbd %s: connected and opened in %.1f s, %llu bytes", r->label,
			 r->conn_seconds, (unsigned long long)r->image_size);
	rbd_ready(r, ret);
}

/* The thread has not answered in RBD_OPEN_TIMEOUT: give up on it. */
static void rbd_on_connect_timeout(void *arg)
{
	struct rbd_dev *r = arg;

	r->conn_timer = NULL;	/* it fired: freed */
	snprintf(r->err, sizeof(r->err), "no answer from the Ceph cluster within %d s while "
		 "connecting and opening %s (is an OSD down?)", RBD_OPEN_TIMEOUT, r->label);
	rbd_drop_connect(r);
	rbd_ready(r, -ETIMEDOUT);
}

/* Creates the cluster handle and reads the configuration, on the loop (no
 * network yet): 0, or -errno with a message in err. */
static int rbd_configure(struct rbd_connect *c, const struct backend_config *cfg,
			 char *err, size_t errlen)
{
	const struct backend_arg *conf_arg = &cfg->args[RBD_ARG_CONF];
	const char *conf = conf_arg->text;
	const char *client = cfg->args[RBD_ARG_CLIENT].text;
	char timeout[16], passed[32];
	int ret;

	if (conf_arg->passed) {
		/* The client opened it with its own rights: read that file. */
		snprintf(passed, sizeof(passed), "/proc/self/fd/%d", conf_arg->fd);
		conf = passed;
	} else if (!conf) {
		conf = RBD_DEFAULT_CONF;
	}
	if (client && strncmp(client, "client.", 7) == 0)
		client += 7;
	ret = rados_create(&c->cluster, client);
	if (ret < 0) {
		c->cluster = NULL;
		snprintf(err, errlen, "rados_create: %s", strerror(-ret));
		return ret;
	}
	if (access(conf, R_OK) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot read the Ceph configuration %s: %s", conf,
			 strerror(-ret));
		return ret;
	}
	/* The file's identity before it is read: a client shared under it
	 * read what the file held then or later, never before. An id too
	 * long to compare gets a client of its own. */
	c->share = !cfg->args[RBD_ARG_OWN_CLIENT].flag &&
		   rbd_cluster_key_read(&c->key, conf, client,
					cfg->args[RBD_ARG_CACHE].flag) == 0;
	ret = rados_conf_read_file(c->cluster, conf);
	if (ret < 0) {
		rbd_error(err, errlen, "reading the Ceph configuration", conf, ret);
		return ret;
	}
	snprintf(timeout, sizeof(timeout), "%d", RBD_MON_TIMEOUT);
	ret = rados_conf_set(c->cluster, "client_mount_timeout", timeout);
	if (ret == 0)
		ret = rados_conf_set(c->cluster, "rados_mon_op_timeout", timeout);
	if (ret < 0) {
		rbd_error(err, errlen, "setting the monitor time-outs for", conf, ret);
		return ret;
	}
	/* Over whatever the configuration says: the device advertises a
	 * volatile cache exactly when librbd keeps one. */
	ret = rados_conf_set(c->cluster, "rbd_cache",
			     cfg->args[RBD_ARG_CACHE].flag ? "true" : "false");
	if (ret < 0)
		rbd_error(err, errlen, "setting rbd_cache for", conf, ret);
	return ret;
}

/* Prepares the connection: what to open, its eventfd, its handle. */
static int rbd_connect_prepare(struct rbd_dev *r, const struct backend_config *cfg,
			       char *err, size_t errlen)
{
	struct rbd_connect *c = calloc(1, sizeof(*c));
	const char *snap = cfg->args[RBD_ARG_SNAP].text;

	if (!c)
		return -ENOMEM;
	r->conn = c;
	c->refs = 1;
	c->efd = -1;
	c->read_only = r->read_only;
	c->cache = r->cache;	/* what librbd will have unless the pool or image says */
	snprintf(c->cache_source, sizeof(c->cache_source), "config");
	c->pool = strdup(cfg->args[RBD_ARG_POOL].text);
	c->image_name = strdup(cfg->args[RBD_ARG_IMAGE].text);
	c->snap = snap ? strdup(snap) : NULL;
	if (!c->pool || !c->image_name || (snap && !c->snap))
		return -ENOMEM;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	return rbd_configure(c, cfg, err, errlen);
}

/* backend_ops.close: stops waiting and has the image and the connection
 * closed off the loop (with an OSD down that can take without bound). */
static void rbd_close_dev(void *priv)
{
	struct rbd_dev *r = priv;

	if (r->conn)
		rbd_drop_connect(r);
	r->loop->watch_stop(r->watch);
	/* librbd may write the eventfd until the image is closed. */
	rbd_close_async(r->cluster, r->shared, r->ioctx, r->image, r->size_watch, r->efd,
			r->label);
	free(r->reqs);
	free(r);
}

/* backend_ops.open: checks the parameters, reads the configuration and
 * starts connecting; the device waits in wait_ready. */
static int rbd_open_dev(void **priv, const struct backend_config *cfg,
			struct backend_geometry *geo, char *err, size_t errlen)
{
	const char *pool = cfg->args[RBD_ARG_POOL].text, *image = cfg->args[RBD_ARG_IMAGE].text;
	const char *snap = cfg->args[RBD_ARG_SNAP].text;
	size_t nreqs = (size_t)(cfg->queues ? cfg->queues : 1) * (cfg->depth ? cfg->depth : 1);
	struct rbd_dev *r;
	int ret;

	if (!pool || !pool[0] || !image || !image[0]) {
		snprintf(err, errlen, "pool and image are required");
		return -EINVAL;
	}
	if (!cfg->loop) {
		snprintf(err, errlen, "the rbd backend needs the daemon's loop");
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = cfg->loop;
	r->efd = -1;
	r->state = 1;
	ratelimit_init(&r->fail_log, RBD_FAIL_LOG_EVERY, RBD_FAIL_LOG_BURST);
	r->block_size = cfg->block_size;
	r->read_only = cfg->read_only || snap;
	r->cache = cfg->args[RBD_ARG_CACHE].flag;
	rbd_label(r->label, sizeof(r->label), pool, image, snap);
	r->reqs = calloc(nreqs, sizeof(*r->reqs));
	if (!r->reqs) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < nreqs; i++) {
		r->reqs[i].r = r;
		rbd_req_free(r, &r->reqs[i]);
	}
	ret = rbd_connect_prepare(r, cfg, err, errlen);
	if (ret == 0)
		ret = r->loop->watch_start(r->loop, r->conn->efd, BACKEND_EV_READ, rbd_on_connected,
					   r, &r->conn_watch);
	if (ret == 0)
		ret = r->loop->timer_start(r->loop, RBD_OPEN_TIMEOUT, rbd_on_connect_timeout, r,
					   &r->conn_timer);
	if (ret == 0)
		ret = rbd_connect_start(r->conn, err, errlen);
	if (ret < 0)
		goto fail;
	r->conn_start = r->loop->now(r->loop);
	geo->size = 0;	/* the image's, once open (rbd_ready_geometry) */
	geo->block_size = cfg->block_size;
	geo->read_only = r->read_only;
	geo->volatile_cache = r->cache;
	geo->max_discard_bytes = r->read_only ? 0 : RBD_MAX_ZERO_BYTES;
	geo->max_write_zeroes_bytes = r->read_only ? 0 : RBD_MAX_ZERO_BYTES;
	*priv = r;
	return 0;
fail:
	rbd_close_dev(r);
	return ret;
}

/* backend_ops.wait_ready: 0 once connected, 1 while the thread connects. */
static int rbd_wait_ready(void *priv, backend_ready_fn cb, void *arg, char *err, size_t errlen)
{
	struct rbd_dev *r = priv;

	return backend_wait_ready(&r->waiter, r->state, r->err, cb, arg, err, errlen);
}

/* backend_ops.ready_geometry: the device has the image's size, and a
 * volatile cache if librbd keeps one for it. */
static void rbd_ready_geometry(void *priv, struct backend_geometry *geo)
{
	struct rbd_dev *r = priv;

	geo->size = r->size;
	geo->volatile_cache = r->cache;	/* as librbd has it for this image */
}

/* backend_ops.describe: the image, the connection and the traffic. */
static void rbd_describe(void *priv, struct backend_report *rep)
{
	struct rbd_dev *r = priv;

	rep->text(rep, "rbd_image", r->label);
	rep->text(rep, "connection", r->state == 1 ? "connecting" : r->state == 0 ? "ready" : "failed");
	if (r->state < 0)
		rep->text(rep, "connection_error", r->err);
	if (r->state == 0) {
		rep->number(rep, "image_size", r->image_size);
		rep->real(rep, "connect_seconds", r->conn_seconds);
	}
	rep->number(rep, "rbd_inflight", r->inflight);
	rep->number(rep, "rbd_wakeups", r->wakeups);
	rep->number(rep, "rbd_completions", r->completions);
	rep->number(rep, "rbd_failed", r->failed);
	rep->flag(rep, "rbd_cache", r->cache);
	if (r->state == 0)
		rep->number(rep, "rbd_client_devices", r->shared ? rbd_cluster_users(r->shared) : 1);
}

/* What device_add takes for an rbd device (rows in enum rbd_arg order). */
static const struct backend_param rbd_params[] = {
	[RBD_ARG_POOL] = { .name = "pool", .type = BACKEND_PARAM_TEXT, .required = true,
		.metavar = "POOL", .help = "the Ceph pool holding the image" },
	[RBD_ARG_IMAGE] = { .name = "image", .type = BACKEND_PARAM_TEXT, .required = true,
		.metavar = "IMAGE", .help = "the RBD image to serve (its size is the device's)" },
	[RBD_ARG_CONF] = { .name = "conf", .type = BACKEND_PARAM_PATH, .metavar = "PATH",
		.def = RBD_DEFAULT_CONF, .help = "the Ceph configuration (monitors, auth)" },
	[RBD_ARG_CLIENT] = { .name = "client_id", .option = "id", .type = BACKEND_PARAM_TEXT,
			     .metavar = "CLIENT",
		.def = "admin", .help = "the Ceph client to connect as (client.CLIENT)" },
	[RBD_ARG_SNAP] = { .name = "snap", .type = BACKEND_PARAM_TEXT, .metavar = "SNAP",
		.help = "serve this snapshot of the image instead, read-only" },
	[RBD_ARG_CACHE] = { .name = "cache", .type = BACKEND_PARAM_FLAG,
		.help = "librbd's write-back cache: a volatile cache the kernel flushes; "
			"a crash of ublkd loses the writes it has not flushed "
			"(default: off, writes are answered once on the OSDs)" },
	[RBD_ARG_OWN_CLIENT] = { .name = "own_client", .type = BACKEND_PARAM_FLAG,
		.help = "connect with a librados client of the device's own (default: share "
			"one with the devices of the same conf, id and cache, as krbd does)" },
	[RBD_ARG_COUNT] = { .name = NULL },
};

const struct backend_ops backend_rbd = {
	.name = "rbd",
	.summary = "a Ceph RBD image or snapshot, through librbd",
	.params = rbd_params,
	/* librados reads the configuration and every file it names (keyrings,
	 * logs, admin sockets, plugins) with ublkd's rights, and connects
	 * with its Ceph identity: nothing a client may ask for itself. */
	.root_only = "librados would read the Ceph configuration and the keyrings, logs and "
		     "plugins it names with ublkd's rights, and connect as ublkd's Ceph client",
	.open = rbd_open_dev,
	.close = rbd_close_dev,
	.submit = rbd_submit,
	.wait_ready = rbd_wait_ready,
	.ready_geometry = rbd_ready_geometry,
	.describe = rbd_describe,
};
