/* The add pipeline, in kernel order: open the backend, ADD_DEV, wait until
 * the backend is ready (a zip index is built on the loop meanwhile; the
 * device, with its id, shows as starting and can be deleted), SET_PARAMS,
 * open /dev/ublkcN, set up the queues and FETCH every tag, then START_DEV.
 * START_DEV answers only after the kernel has read the partition table
 * through our own queues, so every step is asynchronous and the loop keeps
 * serving while it waits. add_step runs the steps top to bottom; any
 * failure unwinds through the delete pipeline from DEL_RELEASE. */
#include "config.h"
#include "daemon/device_pipeline.h"
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void add_step(struct device *dev, int res);

/* Creation failed at some step: records the error and unwinds. */
void device_add_fail(struct device *dev, int err, const char *fmt, ...)
{
	va_list ap;
	char buf[sizeof(dev->msg)];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	device_set_error(dev, err, "%s", buf);
	device_del_from(dev, DEL_RELEASE);
}

/* A control command of the add answered: go on with the next step. */
static void add_on_answer(void *arg, int res)
{
	add_step(arg, res);
}

/* Sends control command nr, to be answered in step next. */
static void add_send(struct device *dev, enum device_add_step next, unsigned nr,
		     void *buf, uint16_t len, uint64_t data0, double timeout)
{
	int ret;

	dev->add = next;
	ret = dev->drv->submit(dev->drv, nr, dev->info.dev_id, buf, len, data0, timeout,
			       add_on_answer, dev);
	if (ret < 0)
		device_add_fail(dev, ret, "sending %s: %s", ctrl_cmd_name(nr), strerror(-ret));
}

/* Opens the device's backend (dev->cfg says whether it is recovered): 0,
 * or -errno (the add or recovery failed). */
int device_open_backend(struct device *dev)
{
	char err[512] = "";
	int ret;

	ret = io_open(&dev->target, dev->backend, &dev->cfg, &dev->geo, err, sizeof(err));
	device_close_passed(dev);	/* the backend kept what it needs */
	if (ret < 0) {
		device_add_fail(dev, ret, "%s backend: %s", dev->backend->name,
				err[0] ? err : strerror(-ret));
		return ret;
	}
	dev->undo |= UNDO_BACKEND;
	return 0;
}

/* The backend answered its wait with res: fails the add or recovery on an
 * error, else takes the geometry it knows only now (a remote backend's
 * size) into the device's parameters. 0, or res. */
int device_backend_ready(struct device *dev, int res)
{
	if (res < 0) {
		device_add_fail(dev, res, "%s backend: %s", dev->backend->name,
				dev->backend_msg[0] ? dev->backend_msg : strerror(-res));
		return res;
	}
	io_ready_geometry(&dev->target, &dev->geo);
	io_fill_params(&dev->params, &dev->target, &dev->geo, dev->info.max_io_buf_bytes,
		       dev->info.flags);
	return 0;
}

static bool add_batch_io;	/* ublkd --batch-io auto */

/* Whether new devices ask for UBLK_F_BATCH_IO where the kernel has it
 * (ublkd --batch-io auto) or never (off, the default). */
void device_use_batch_io(bool use)
{
	add_batch_io = use;
}

/* flag when it is wanted and the kernel has it; else 0, saying lacks once
 * (*told) when it is wanted and the kernel lacks it. */
static uint64_t add_wanted_flag(bool wanted, uint64_t features, uint64_t flag, bool *told,
				const char *lacks)
{
	if (!wanted)
		return 0;
	if (features & flag)
		return flag;
	if (!*told)
		log_info("%s", lacks);
	*told = true;
	return 0;
}

/* UBLK_F_BATCH_IO when it is wanted and the kernel has it (7.0+). */
static uint64_t add_batch_flag(uint64_t features)
{
	static bool told;

	return add_wanted_flag(add_batch_io, features, UBLK_F_BATCH_IO, &told,
			       "batch I/O: this kernel has no UBLK_F_BATCH_IO (Linux 7.0+); "
			       "devices use one command per request");
}

static bool add_zero_copy = true;	/* ublkd --zero-copy auto, the default */

/* Whether new devices whose backend never touches the data ask for
 * UBLK_F_AUTO_BUF_REG where the kernel has it (ublkd --zero-copy auto, the
 * default) or never (off). */
void device_use_zero_copy(bool use)
{
	add_zero_copy = use;
}

/* UBLK_F_AUTO_BUF_REG when it is wanted, the backend never touches this
 * device's data, the device is root's (the kernel refuses it to a user's)
 * and the kernel has it (6.16+). */
static uint64_t add_zero_copy_flag(const struct device *dev, uint64_t features)
{
	static bool told;

	return add_wanted_flag(add_zero_copy && io_zero_copy_capable(&dev->target, &dev->geo) &&
			       !device_unprivileged(), features, UBLK_F_AUTO_BUF_REG, &told,
			       "zero copy: this kernel has no UBLK_F_AUTO_BUF_REG (Linux 6.16+); "
			       "devices copy through the daemon's buffers");
}

static bool add_user_copy = true;	/* ublkd --user-copy auto, the default */

/* Whether new devices whose backend serves from its own memory ask for
 * UBLK_F_USER_COPY (ublkd --user-copy auto, the default) or never (off). */
void device_use_user_copy(bool use)
{
	add_user_copy = use;
}

/* UBLK_F_USER_COPY when it is wanted, the backend moves its own data, the
 * device is root's (the kernel refuses it to a user's), neither zero copy
 * nor batched commands were chosen, and the kernel has it (6.5+). */
static uint64_t add_user_copy_flag(const struct device *dev, uint64_t features)
{
	static bool told;

	return add_wanted_flag(add_user_copy && io_user_copy_capable(&dev->target) &&
			       !device_unprivileged() &&
			       !(dev->info.flags & (UBLK_F_AUTO_BUF_REG | UBLK_F_BATCH_IO)),
			       features, UBLK_F_USER_COPY, &told,
			       "user copy: this kernel has no UBLK_F_USER_COPY (Linux 6.5+); "
			       "mem and null devices copy through the daemon's buffers");
}

/* Opens the backend and fills in what ADD_DEV asks the kernel for. */
static int add_open_backend(struct device *dev)
{
	bool loaded;
	uint64_t features;
	int ret = device_open_backend(dev);

	if (ret < 0)
		return ret;
	features = dev->drv->features(dev->drv, &loaded);
	dev->undo |= UNDO_ABANDON;
	dev->info.max_io_buf_bytes = DEVICE_IO_BUF_BYTES;
	dev->info.ublksrv_pid = getpid();
	if (device_unprivileged()) {
		/* The kernel drops recovery for a device of a user's. */
		if (dev->recovery != DEVICE_RECOVERY_NONE)
			log_info("new device: recovery %s is not for a ublkd without root; "
				 "the device dies with the daemon", device_recovery_name(dev->recovery));
		dev->recovery = DEVICE_RECOVERY_NONE;
	}
	dev->info.flags = device_recovery_flags(dev->recovery);
	/* Where the kernel can quiesce a device (6.16+), a planned restart
	 * lets go of it with nothing in flight. */
	if (dev->recovery != DEVICE_RECOVERY_NONE && (features & UBLK_F_QUIESCE))
		dev->info.flags |= UBLK_F_QUIESCE;
	dev->info.flags |= add_batch_flag(features);
	dev->info.flags |= add_zero_copy_flag(dev, features);
	dev->info.flags |= add_user_copy_flag(dev, features);
	if (dev->drv->ioctl_encoded(dev->drv))
		dev->info.flags |= UBLK_F_CMD_IOCTL_ENCODE;
	if (device_unprivileged())
		dev->info.flags |= UBLK_F_UNPRIVILEGED_DEV;
	return 0;
}

/* ADD_DEV answered: learn the id and queue count, fill the parameters. */
static int add_on_added(struct device *dev, int res)
{
	if (res < 0) {
		if (res == -EEXIST)
			device_add_fail(dev, res, "device id %u is already in use by another ublk server",
					dev->info.dev_id);
		else if (device_unprivileged() && res == -EACCES)
			device_add_fail(dev, res, "ADD_DEV refused an unprivileged device (%s): as "
					"many as the kernel allows exist already (the ublk_drv "
					"parameter ublks_max, in /sys/module/ublk_drv/parameters)",
					strerror(-res));
		else if (device_unprivileged() && res == -EPERM)
			device_add_fail(dev, res, "ADD_DEV refused an unprivileged device (%s): "
					"this kernel's ublk driver lacks UNPRIVILEGED_DEV (Linux 6.3+) "
					"or refuses it to this user", strerror(-res));
		else
			device_add_fail(dev, res, "ADD_DEV failed: %s", strerror(-res));
		return res;
	}
	dev->undo |= UNDO_KERNEL;
	dev->id = dev->info.dev_id;
	dev->nr_queues = dev->info.nr_hw_queues;
	dev->queues = calloc(dev->nr_queues, sizeof(*dev->queues));
	if (!dev->queues) {
		device_add_fail(dev, -ENOMEM, "out of memory for %u queues", dev->nr_queues);
		return -ENOMEM;
	}
	dev->target.buf_bytes = dev->info.max_io_buf_bytes;
	return 0;
}

/* The backend that was not ready is, or failed: go on, or abort the add. */
static void add_on_backend_ready(void *arg, int res, const char *msg)
{
	struct device *dev = arg;

	snprintf(dev->backend_msg, sizeof(dev->backend_msg), "%s", msg ? msg : "");
	if (res == 0)
		log_info("device %u: the %s backend is ready", dev->id, dev->backend->name);
	add_step(dev, res);
}

/* Asks whether the backend is ready: 0 yes, 1 it will call back, or -errno
 * with the reason in backend_msg. */
static int add_wait_backend(struct device *dev)
{
	int ret;

	ret = io_wait_ready(&dev->target, add_on_backend_ready, dev,
			    dev->backend_msg, sizeof(dev->backend_msg));
	if (ret != 1)
		return ret;
	if (dev->delete_when_live) {
		device_add_cancel_wait(dev);
		return 1;
	}
	log_info("device %u: waiting for the %s backend to be ready", dev->id,
		 dev->backend->name);
	return 1;
}

/* Gives up waiting for the backend on shutdown: the add fails, the device goes. */
void device_add_cancel_wait(struct device *dev)
{
	device_close_backend(dev);
	device_add_fail(dev, -ECANCELED, "the daemon is shutting down; the %s backend "
			"was not ready yet", dev->backend->name);
}

/* The open retry timer fired: try /dev/ublkcN again. */
static void add_on_open_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	add_step(w->data, 0);
}

/* Opens /dev/ublkcN: the fd (kept in dev), or -errno. */
static int add_try_cdev(struct device *dev)
{
	int fd = dev->drv->open_cdev(dev->drv, dev->id);

	if (fd >= 0) {
		dev->cdev_fd = fd;
		dev->undo |= UNDO_CDEV;
	}
	return fd;
}

/* Opens /dev/ublkcN once, without waiting for devtmpfs: 0, or -errno (the
 * add or recovery failed). */
int device_open_cdev_now(struct device *dev)
{
	int fd = add_try_cdev(dev);

	if (fd >= 0)
		return 0;
	device_add_fail(dev, fd, "cannot open /dev/ublkc%u: %s", dev->id, strerror(-fd));
	return fd;
}

/* Opens /dev/ublkcN, which devtmpfs may not show yet: 0 when open, 1 when
 * the timer will try again, or -errno (the add failed). */
static int add_open_cdev(struct device *dev)
{
	int fd = add_try_cdev(dev);

	if (fd >= 0)
		return 0;
	if ((fd == -ENOENT || fd == -EACCES) && ++dev->open_tries < DEVICE_OPEN_TRIES) {
		ev_timer_set(&dev->open_timer, 0.01, 0.);
		ev_timer_start(dev->loop, &dev->open_timer);
		return 1;
	}
	device_add_fail(dev, fd, "cannot open /dev/ublkc%u: %s", dev->id, strerror(-fd));
	return fd;
}

/* Sets up every queue and FETCHes every tag: 0, or -errno (failed). */
int device_start_queues(struct device *dev)
{
	bool threads = device_on_io_threads(dev);
	int ret;

	if (io_threads_count() && !threads)
		log_info("device %u: the %s backend is served on the main loop, not on io "
			 "threads", dev->id, dev->backend->name);
	for (unsigned i = 0; i < dev->nr_queues; i++) {
		const cpu_set_t *cpus = device_queue_cpus(dev, i);
		struct io_thread *thread = threads ? io_threads_pick(cpus) : NULL;

		ret = dev->drv->queue_setup(dev->drv, &dev->queues[i], dev->loop, thread,
					    dev->cdev_fd, (uint16_t)i, dev->info.queue_depth, &dev->target,
					    dev->info.flags, device_on_queue_idle, dev);
		if (ret < 0) {
			device_add_fail(dev, ret, "setting up queue %u: %s", i, strerror(-ret));
			return ret;
		}
		if (thread)
			log_debug("device %u: queue %u on io thread %u%s", dev->id, i,
				  io_thread_index(thread), cpus ? "" : " (its CPUs unknown)");
		dev->queues_ready++;
		dev->undo |= UNDO_QUEUES;
	}
	for (unsigned i = 0; i < dev->nr_queues; i++) {
		ret = dev->drv->queue_fetch_all(dev->drv, &dev->queues[i]);
		if (ret < 0) {
			device_add_fail(dev, ret, "FETCH on queue %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* START_DEV succeeded: the block device is live. */
static void add_live(struct device *dev)
{
	dev->add = ADD_LIVE;
	dev->state = DEVICE_LIVE;
	dev->undo &= ~UNDO_ABANDON;
	log_info("device %u live: /dev/ublkb%u, %s backend, %llu bytes, %u queue(s) of depth %u",
		 dev->id, dev->id, dev->backend->name, (unsigned long long)dev->geo.size,
		 dev->nr_queues, dev->info.queue_depth);
	device_went_live(dev);
}

/* The queues' CPUs are known (or not needed): open /dev/ublkcN next. */
static void add_on_affinity(struct device *dev)
{
	add_step(dev, 0);
}

/* Runs the add pipeline: res is the answer to the step dev->add waits for. */
static void add_step(struct device *dev, int res)
{
	switch (dev->add) {
	case ADD_BACKEND_OPEN:
		if (add_open_backend(dev) < 0)
			return;
		add_send(dev, ADD_DEV, UBLK_CMD_ADD_DEV, &dev->info, sizeof(dev->info), 0,
			 DEVICE_CMD_TIMEOUT);
		return;
	case ADD_DEV:
		if (add_on_added(dev, res) < 0)
			return;
		dev->add = ADD_WAIT_BACKEND;
		res = add_wait_backend(dev);
		if (res == 1)
			return;	/* add_on_backend_ready comes back here */
		/* fall through */
	case ADD_WAIT_BACKEND:
		if (device_backend_ready(dev, res) < 0)
			return;
		add_send(dev, ADD_SET_PARAMS, UBLK_CMD_SET_PARAMS, &dev->params,
			 sizeof(dev->params), 0, DEVICE_CMD_TIMEOUT);
		return;
	case ADD_SET_PARAMS:
		/* A user's device: the path check needs /dev/ublkcN, which
		 * udev gives the user a moment after ADD_DEV. */
		if (res == -EACCES && device_unprivileged() &&
		    ++dev->open_tries < DEVICE_OPEN_TRIES) {
			dev->add = ADD_WAIT_BACKEND;
			ev_timer_set(&dev->open_timer, 0.01, 0.);
			ev_timer_start(dev->loop, &dev->open_timer);
			return;
		}
		dev->open_tries = 0;
		if (res < 0) {
			device_add_fail(dev, res, "SET_PARAMS failed: %s", strerror(-res));
			return;
		}
		dev->add = ADD_OPEN_CDEV;
		device_fetch_affinity(dev, add_on_affinity);
		return;
	case ADD_OPEN_CDEV:
		if (add_open_cdev(dev) != 0)
			return;	/* failed, or add_on_open_timer comes back here */
		if (device_start_queues(dev) < 0)
			return;
		add_send(dev, ADD_START_DEV, UBLK_CMD_START_DEV, NULL, 0, (uint64_t)getpid(),
			 DEVICE_START_TIMEOUT);
		return;
	case ADD_START_DEV:
		if (res < 0) {
			device_add_fail(dev, res, "START_DEV failed: %s", strerror(-res));
			return;
		}
		add_live(dev);
		return;
	case ADD_LIVE:
		return;
	}
}

/* Starts the add pipeline on a registered device. */
void device_add_start(struct device *dev)
{
	ev_timer_init(&dev->open_timer, add_on_open_timer, 0., 0.);
	dev->open_timer.data = dev;
	dev->add = ADD_BACKEND_OPEN;
	add_step(dev, 0);
}
