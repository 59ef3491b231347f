/* ublk devices: their lifecycle from ADD_DEV to DEL_DEV, and the registry.
 *
 * Creation: open the backend, ADD_DEV, wait until the backend is ready (a
 * zip index is built on the loop meanwhile; the device, with its id, shows
 * as starting and can be deleted), SET_PARAMS, open /dev/ublkcN, set up
 * the queues and FETCH every tag, then START_DEV. START_DEV answers only
 * after the kernel has read the partition table through our own queues, so
 * every step is asynchronous and the loop keeps serving while it waits.
 * Deletion: STOP_DEV while still serving, wait until the kernel has aborted
 * every tag's command and answered STOP_DEV, release the queues and the char
 * device, then DEL_DEV. */
#include "config.h"
#include "daemon/device.h"
#include "daemon/ctrl.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEVICE_CMD_TIMEOUT	30.0
#define DEVICE_START_TIMEOUT	120.0
#define DEVICE_OPEN_TRIES	300	/* 10 ms apart: 3 s for devtmpfs */

struct device {
	struct device *next;
	enum device_state state;
	uint32_t id;
	const struct backend_ops *backend;
	void *priv;
	struct backend_config cfg;
	struct backend_geometry geo;
	char *path;
	char *entry;
	struct io_target target;
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	int cdev_fd;
	struct queue *queues;
	unsigned nr_queues;
	unsigned queues_ready;	/* how many queues were set up */
	bool in_kernel;		/* ADD_DEV succeeded: DEL_DEV is owed */
	bool stop_answered;
	bool delete_when_live;	/* a shutdown arrived while starting */
	bool del_async_failed;
	bool went_live;		/* START_DEV succeeded once */
	bool backend_waiting;	/* the backend will say when it is ready */
	int open_tries;
	ev_timer open_timer;
	device_done_fn done;
	void *done_arg;
	int err;
	char msg[512];
};

static struct {
	struct ev_loop *loop;
	const char *state_dir;
	struct ctrl *ctrl;
	struct device *list;
	void (*all_done)(void *arg);
	void *all_done_arg;
} devices;

static void device_stop_progress(struct device *dev);
static void device_release(struct device *dev);
static void device_on_params(void *arg, int res);

/* Names a device state. */
const char *device_state_name(enum device_state state)
{
	switch (state) {
	case DEVICE_STARTING: return "starting";
	case DEVICE_LIVE: return "live";
	case DEVICE_STOPPING: return "stopping";
	case DEVICE_DELETING: return "deleting";
	case DEVICE_FAILED: return "failed";
	}
	return "unknown";
}

/* Prepares the registry; state_dir is where backends may keep files. */
void device_init(struct ev_loop *loop, const char *state_dir)
{
	devices.loop = loop;
	devices.state_dir = state_dir;
}

/* Opens the ublk control device if needed; -ENOENT when there is no driver. */
int device_driver_open(char *err, size_t errlen)
{
	int ret;

	if (devices.ctrl)
		return 0;
	ret = ctrl_open(devices.loop, &devices.ctrl);
	if (ret == -ENOENT)
		snprintf(err, errlen, "no ublk driver: %s does not exist "
			 "(load it with 'modprobe ublk_drv'; it needs Linux 6.0 or later "
			 "built with CONFIG_BLK_DEV_UBLK)", UBLK_CONTROL_PATH);
	else if (ret < 0)
		snprintf(err, errlen, "cannot open %s: %s", UBLK_CONTROL_PATH,
			 strerror(-ret));
	return ret;
}

/* Features the driver reported (0 before it was opened or when unknown). */
uint64_t device_driver_features(bool *loaded)
{
	*loaded = devices.ctrl != NULL || access(UBLK_CONTROL_PATH, F_OK) == 0;
	return devices.ctrl ? ctrl_features(devices.ctrl) : 0;
}

/* Finds a device by id among those with an id. */
struct device *device_find(uint32_t id)
{
	for (struct device *d = devices.list; d; d = d->next)
		if (d->id == id && id != DEVICE_ID_AUTO)
			return d;
	return NULL;
}

/* True while a device with this id is being created or exists. */
bool device_id_taken(uint32_t id)
{
	for (struct device *d = devices.list; d; d = d->next)
		if (d->id == id || d->info.dev_id == id)
			return true;
	return false;
}

/* Calls fn for each device that has an id, in id order. */
void device_foreach(void (*fn)(struct device *dev, void *arg), void *arg)
{
	uint32_t last = 0;
	bool first = true;

	/* The list is short: pick the next larger id each round. */
	for (;;) {
		struct device *next = NULL;

		for (struct device *d = devices.list; d; d = d->next) {
			if (d->id == DEVICE_ID_AUTO || (!first && d->id <= last))
				continue;
			if (!next || d->id < next->id)
				next = d;
		}
		if (!next)
			return;
		first = false;
		last = next->id;
		fn(next, arg);
	}
}

/* Counts the devices. */
unsigned device_count(void)
{
	unsigned n = 0;

	for (struct device *d = devices.list; d; d = d->next)
		n++;
	return n;
}

/* The device's kernel id. */
uint32_t device_id(const struct device *dev)
{
	return dev->id;
}

/* Fills the view of a device. */
void device_view(const struct device *dev, struct device_view *v)
{
	v->id = dev->id;
	v->state = dev->state;
	v->backend = dev->backend;
	v->backend_priv = dev->priv;
	v->geo = &dev->geo;
	v->path = dev->path;
	v->entry = dev->entry;
	v->queues = dev->nr_queues;
	v->depth = dev->info.queue_depth;
	v->read_only = dev->params.basic.attrs & UBLK_ATTR_READ_ONLY;
	v->flags = dev->info.flags;
	v->io_count = 0;
	for (unsigned i = 0; i < dev->queues_ready; i++)
		v->io_count += dev->queues[i].ios;
}

/* Reports the end of an add or delete to whoever asked, once. */
static void device_finish(struct device *dev, int err)
{
	device_done_fn done = dev->done;

	dev->done = NULL;
	if (done)
		done(dev->done_arg, err ? NULL : dev, err, err ? dev->msg : "");
}

/* Records the first error of an operation. */
static void device_set_error(struct device *dev, int err, const char *fmt, ...)
{
	va_list ap;

	if (dev->err)
		return;
	dev->err = err;
	va_start(ap, fmt);
	vsnprintf(dev->msg, sizeof(dev->msg), fmt, ap);
	va_end(ap);
	if (dev->id != DEVICE_ID_AUTO)
		log_error("device %u: %s", dev->id, dev->msg);
	else if (dev->info.dev_id != DEVICE_ID_AUTO)
		log_error("new device %u: %s", dev->info.dev_id, dev->msg);
	else
		log_error("new device: %s", dev->msg);
}

/* Closes the backend (undoing what open created if the device never went
 * live); this also cancels a wait for it to be ready. */
static void device_close_backend(struct device *dev)
{
	if (!dev->priv)
		return;
	if (!dev->went_live && dev->backend->abandon)
		dev->backend->abandon(dev->priv);
	dev->backend->close(dev->priv);
	dev->priv = NULL;
	dev->target.priv = NULL;
	dev->backend_waiting = false;
}

/* Takes a device off the list and frees it. */
static void device_free(struct device *dev)
{
	for (struct device **p = &devices.list; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	ev_timer_stop(devices.loop, &dev->open_timer);
	device_close_backend(dev);
	free(dev->queues);
	free(dev->path);
	free(dev->entry);
	free(dev);
	if (!devices.list && devices.all_done) {
		void (*all_done)(void *arg) = devices.all_done;

		devices.all_done = NULL;
		all_done(devices.all_done_arg);
	}
}

/* Releases the queues and the char device (cancelling what the kernel holds). */
static void device_close_queues(struct device *dev)
{
	for (unsigned i = 0; i < dev->queues_ready; i++)
		queue_teardown(&dev->queues[i]);
	dev->queues_ready = 0;
	if (dev->cdev_fd >= 0) {
		close(dev->cdev_fd);
		dev->cdev_fd = -1;
	}
}

/* DEL_DEV answered: the device is gone. */
static void device_on_deleted(void *arg, int res)
{
	struct device *dev = arg;

	if (res == -EOPNOTSUPP && !dev->del_async_failed) {
		/* A kernel before 6.9: no DEL_DEV_ASYNC, use DEL_DEV. */
		dev->del_async_failed = true;
		device_release(dev);
		return;
	}
	if (res < 0)
		device_set_error(dev, res, "DEL_DEV failed: %s", strerror(-res));
	else
		log_info("device %u deleted", dev->id);
	device_finish(dev, dev->err);
	device_free(dev);
}

/* Closes our side and sends DEL_DEV, or frees at once if there is no kernel device. */
static void device_release(struct device *dev)
{
	unsigned nr = dev->del_async_failed || !ctrl_ioctl_encoded(devices.ctrl)
		      ? UBLK_CMD_DEL_DEV : 0x14 /* DEL_DEV_ASYNC */;
	int ret;

	device_close_queues(dev);
	dev->state = DEVICE_DELETING;
	if (!dev->in_kernel) {
		device_finish(dev, dev->err);
		device_free(dev);
		return;
	}
	ret = ctrl_submit(devices.ctrl, nr, dev->id, NULL, 0, 0, DEVICE_CMD_TIMEOUT,
			  device_on_deleted, dev);
	if (ret < 0)
		device_on_deleted(dev, ret);
}

/* Creation failed at some step: undo everything and report the error. */
static void device_abort_add(struct device *dev, int err, const char *fmt, ...)
{
	va_list ap;
	char buf[sizeof(dev->msg)];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	device_set_error(dev, err, "%s", buf);
	device_release(dev);
}

/* A queue holds no more commands: the stop may be complete. */
static void device_on_queue_idle(void *arg, struct queue *q)
{
	struct device *dev = arg;

	(void)q;
	if (dev->state == DEVICE_LIVE) {
		log_warn("device %u: the kernel stopped it; delete it to release it", dev->id);
		dev->state = DEVICE_FAILED;
	}
	if (dev->state == DEVICE_STOPPING)
		device_stop_progress(dev);
}

/* Proceeds to release once STOP_DEV has answered and every queue is idle. */
static void device_stop_progress(struct device *dev)
{
	if (!dev->stop_answered)
		return;
	for (unsigned i = 0; i < dev->queues_ready; i++)
		if (dev->queues[i].active)
			return;
	device_release(dev);
}

/* STOP_DEV answered. */
static void device_on_stopped(void *arg, int res)
{
	struct device *dev = arg;

	if (res < 0)
		log_errno(res, "device %u: STOP_DEV", dev->id);
	dev->stop_answered = true;
	device_stop_progress(dev);
}

/* START_DEV answered: the block device is live, or creation failed. */
static void device_on_started(void *arg, int res)
{
	struct device *dev = arg;

	if (res < 0) {
		device_abort_add(dev, res, "START_DEV failed: %s", strerror(-res));
		return;
	}
	dev->state = DEVICE_LIVE;
	dev->went_live = true;
	log_info("device %u live: /dev/ublkb%u, %s backend, %llu bytes, %u queue(s) of depth %u",
		 dev->id, dev->id, dev->backend->name, (unsigned long long)dev->geo.size,
		 dev->nr_queues, dev->info.queue_depth);
	device_finish(dev, 0);
	if (dev->delete_when_live)
		device_del(dev, NULL, NULL);
}

/* Sets up every queue, FETCHes every tag and sends START_DEV. */
static void device_start_queues(struct device *dev)
{
	bool ioctl = dev->info.flags & UBLK_F_CMD_IOCTL_ENCODE;
	int ret;

	for (unsigned i = 0; i < dev->nr_queues; i++) {
		ret = queue_setup(&dev->queues[i], devices.loop, dev->cdev_fd, (uint16_t)i,
				  dev->info.queue_depth, &dev->target, ioctl,
				  device_on_queue_idle, dev);
		if (ret < 0) {
			device_abort_add(dev, ret, "setting up queue %u: %s", i, strerror(-ret));
			return;
		}
		dev->queues_ready++;
	}
	for (unsigned i = 0; i < dev->nr_queues; i++) {
		ret = queue_fetch_all(&dev->queues[i]);
		if (ret < 0) {
			device_abort_add(dev, ret, "FETCH on queue %u: %s", i, strerror(-ret));
			return;
		}
	}
	ret = ctrl_submit(devices.ctrl, UBLK_CMD_START_DEV, dev->id, NULL, 0,
			  (uint64_t)getpid(), DEVICE_START_TIMEOUT, device_on_started, dev);
	if (ret < 0)
		device_abort_add(dev, ret, "sending START_DEV: %s", strerror(-ret));
}

/* Tries to open /dev/ublkcN, which devtmpfs may not show yet. */
static void device_try_open(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct device *dev = w->data;
	char path[64];

	(void)loop;
	(void)revents;
	snprintf(path, sizeof(path), "/dev/ublkc%u", dev->id);
	dev->cdev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->cdev_fd >= 0) {
		device_start_queues(dev);
		return;
	}
	if ((errno == ENOENT || errno == EACCES) && ++dev->open_tries < DEVICE_OPEN_TRIES) {
		ev_timer_set(&dev->open_timer, 0.01, 0.);
		ev_timer_start(devices.loop, &dev->open_timer);
		return;
	}
	device_abort_add(dev, -errno, "cannot open %s: %s", path, strerror(errno));
}

/* SET_PARAMS answered: open the char device next. */
static void device_on_params(void *arg, int res)
{
	struct device *dev = arg;

	if (res < 0) {
		device_abort_add(dev, res, "SET_PARAMS failed: %s", strerror(-res));
		return;
	}
	ev_timer_init(&dev->open_timer, device_try_open, 0., 0.);
	dev->open_timer.data = dev;
	device_try_open(devices.loop, &dev->open_timer, 0);
}

/* Sends SET_PARAMS; the answer opens the char device next. */
static void device_send_params(struct device *dev)
{
	int ret = ctrl_submit(devices.ctrl, UBLK_CMD_SET_PARAMS, dev->id, &dev->params,
			      sizeof(dev->params), 0, DEVICE_CMD_TIMEOUT, device_on_params, dev);

	if (ret < 0)
		device_abort_add(dev, ret, "sending SET_PARAMS: %s", strerror(-ret));
}

/* Gives up waiting for the backend on shutdown: the add fails, the device goes. */
static void device_cancel_wait(struct device *dev)
{
	device_close_backend(dev);
	device_abort_add(dev, -ECANCELED, "the daemon is shutting down; the %s backend "
			 "was not ready yet", dev->backend->name);
}

/* The backend that was not ready is, or failed: go on, or abort the add. */
static void device_on_backend_ready(void *arg, int res, const char *msg)
{
	struct device *dev = arg;

	dev->backend_waiting = false;
	if (res < 0) {
		device_abort_add(dev, res, "%s backend: %s", dev->backend->name,
				 msg && msg[0] ? msg : strerror(-res));
		return;
	}
	log_info("device %u: the %s backend is ready", dev->id, dev->backend->name);
	device_send_params(dev);
}

/* Sends SET_PARAMS once the backend is ready, waiting for it if need be. */
static void device_wait_backend(struct device *dev)
{
	char err[512] = "";
	int ret;

	if (!dev->backend->wait_ready) {
		device_send_params(dev);
		return;
	}
	ret = dev->backend->wait_ready(dev->priv, device_on_backend_ready, dev, err, sizeof(err));
	if (ret < 0) {
		device_abort_add(dev, ret, "%s backend: %s", dev->backend->name,
				 err[0] ? err : strerror(-ret));
		return;
	}
	if (ret == 0) {
		device_send_params(dev);
		return;
	}
	dev->backend_waiting = true;
	if (dev->delete_when_live) {
		device_cancel_wait(dev);
		return;
	}
	log_info("device %u: waiting for the %s backend to be ready", dev->id,
		 dev->backend->name);
}

/* ADD_DEV answered: learn the id and queue count, wait for the backend,
 * then send the parameters. */
static void device_on_added(void *arg, int res)
{
	struct device *dev = arg;

	if (res < 0) {
		if (res == -EEXIST)
			device_abort_add(dev, res, "device id %u is already in use by another ublk server",
					 dev->info.dev_id);
		else
			device_abort_add(dev, res, "ADD_DEV failed: %s", strerror(-res));
		return;
	}
	dev->in_kernel = true;
	dev->id = dev->info.dev_id;
	dev->nr_queues = dev->info.nr_hw_queues;
	dev->queues = calloc(dev->nr_queues, sizeof(*dev->queues));
	if (!dev->queues) {
		device_abort_add(dev, -ENOMEM, "out of memory for %u queues", dev->nr_queues);
		return;
	}
	dev->target.buf_bytes = dev->info.max_io_buf_bytes;
	io_fill_params(&dev->params, &dev->target, &dev->geo, dev->info.max_io_buf_bytes);
	device_wait_backend(dev);
}

/* Copies the strings of a config so the device owns them. */
static int device_copy_config(struct device *dev, const struct backend_config *cfg)
{
	dev->cfg = *cfg;
	dev->cfg.state_dir = devices.state_dir;
	dev->cfg.loop = devices.loop;
	if (cfg->path && !(dev->path = strdup(cfg->path)))
		return -ENOMEM;
	if (cfg->entry && !(dev->entry = strdup(cfg->entry)))
		return -ENOMEM;
	dev->cfg.path = dev->path;
	dev->cfg.entry = dev->entry;
	return 0;
}

/* Creates a device; done is called exactly once, maybe before this returns. */
void device_add(const struct device_spec *spec, device_done_fn done, void *arg)
{
	struct device *dev;
	char err[512] = "";
	int ret;

	ret = device_driver_open(err, sizeof(err));
	if (ret < 0) {
		done(arg, NULL, ret, err);
		return;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		done(arg, NULL, -ENOMEM, "out of memory");
		return;
	}
	dev->id = DEVICE_ID_AUTO;
	dev->cdev_fd = -1;
	dev->backend = spec->backend;
	dev->done = done;
	dev->done_arg = arg;
	dev->info.dev_id = spec->id;
	dev->next = devices.list;
	devices.list = dev;
	ev_timer_init(&dev->open_timer, device_try_open, 0., 0.);
	dev->open_timer.data = dev;
	if (device_copy_config(dev, &spec->cfg) < 0) {
		device_abort_add(dev, -ENOMEM, "out of memory");
		return;
	}
	ret = dev->backend->open(&dev->priv, &dev->cfg, &dev->geo, err, sizeof(err));
	if (ret < 0) {
		dev->priv = NULL;
		device_abort_add(dev, ret, "%s backend: %s", dev->backend->name,
				 err[0] ? err : strerror(-ret));
		return;
	}
	dev->target.ops = dev->backend;
	dev->target.priv = dev->priv;
	dev->target.size = dev->geo.size;

	dev->info.nr_hw_queues = spec->queues;
	dev->info.queue_depth = spec->depth;
	dev->info.max_io_buf_bytes = DEVICE_IO_BUF_BYTES;
	dev->info.ublksrv_pid = getpid();
	if (ctrl_ioctl_encoded(devices.ctrl))
		dev->info.flags = UBLK_F_CMD_IOCTL_ENCODE;
	ret = ctrl_submit(devices.ctrl, UBLK_CMD_ADD_DEV, spec->id, &dev->info,
			  sizeof(dev->info), 0, DEVICE_CMD_TIMEOUT, device_on_added, dev);
	if (ret < 0)
		device_abort_add(dev, ret, "sending ADD_DEV: %s", strerror(-ret));
}

/* Deletes a device whose backend is not ready yet: the add fails first. */
static void device_del_waiting(struct device *dev, device_done_fn done, void *arg)
{
	device_close_backend(dev);
	device_set_error(dev, -ECANCELED, "deleted before the %s backend was ready",
			 dev->backend->name);
	device_finish(dev, dev->err);
	dev->done = done;
	dev->done_arg = arg;
	dev->err = 0;
	dev->msg[0] = 0;
	log_info("device %u: deleting", dev->id);
	device_release(dev);
}

/* Stops and deletes a device; done is called exactly once. */
void device_del(struct device *dev, device_done_fn done, void *arg)
{
	int ret;

	if (dev->backend_waiting) {
		device_del_waiting(dev, done, arg);
		return;
	}
	if (dev->state == DEVICE_STARTING || dev->state == DEVICE_STOPPING ||
	    dev->state == DEVICE_DELETING) {
		if (done) {
			char msg[128];

			snprintf(msg, sizeof(msg), "device %u is %s; try again when it is live",
				 dev->id, device_state_name(dev->state));
			done(arg, NULL, -EBUSY, msg);
		}
		return;
	}
	dev->done = done;
	dev->done_arg = arg;
	dev->err = 0;
	dev->msg[0] = 0;
	dev->state = DEVICE_STOPPING;
	log_info("device %u: stopping", dev->id);
	ret = ctrl_submit(devices.ctrl, UBLK_CMD_STOP_DEV, dev->id, NULL, 0, 0,
			  DEVICE_CMD_TIMEOUT, device_on_stopped, dev);
	if (ret < 0) {
		log_errno(ret, "device %u: sending STOP_DEV", dev->id);
		dev->stop_answered = true;
		device_release(dev);
	}
}

/* Deletes every device, then calls done (used on SIGTERM). */
void device_del_all(void (*done)(void *arg), void *arg)
{
	struct device *d, *next;

	if (!devices.list) {
		done(arg);
		return;
	}
	devices.all_done = done;
	devices.all_done_arg = arg;
	for (d = devices.list; d; d = next) {
		next = d->next;
		if (d->backend_waiting)
			device_cancel_wait(d);
		else if (d->state == DEVICE_STARTING)
			d->delete_when_live = true;
		else if (d->state == DEVICE_LIVE || d->state == DEVICE_FAILED)
			device_del(d, NULL, NULL);
	}
}

/* Closes the control device once nothing is left (for a clean exit). */
void device_shutdown(void)
{
	ctrl_close(devices.ctrl);
	devices.ctrl = NULL;
}
