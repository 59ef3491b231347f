/* The delete pipeline, in kernel order: STOP_DEV while still serving, wait
 * until the kernel has aborted every tag's command and answered STOP_DEV
 * (they come in either order), release the queues and the char device,
 * then DEL_DEV_ASYNC (DEL_DEV on kernels before 6.9), then free. A failed
 * add unwinds through the same steps from DEL_RELEASE, so every failure
 * undoes what dev->undo says is owed, and the caller is answered once. */
#include "config.h"
#include "daemon/device_pipeline.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

static void del_step(struct device *dev, int res);

/* A control command of the delete answered: go on with the next step. */
static void del_on_answer(void *arg, int res)
{
	del_step(arg, res);
}

/* A queue holds no more commands: the kernel stopped the device, or a stop
 * may be complete. */
void device_on_queue_idle(void *arg, struct queue *q)
{
	struct device *dev = arg;

	if (dev->state == DEVICE_LIVE && queue_active(q) == 0) {
		log_warn("device %u: the kernel stopped it; delete it to release it", dev->id);
		dev->state = DEVICE_FAILED;
	}
	if (dev->state == DEVICE_STOPPING &&
	    (dev->del == DEL_DRAIN || dev->del == DEL_QUIESCE_DRAIN))
		del_step(dev, 0);
}

/* True while a backend operation of a queue is in flight: a request the
 * kernel handed us is not answered yet. */
static bool del_queues_serving(const struct device *dev)
{
	for (unsigned i = 0; i < dev->queues_ready; i++)
		if (queue_inflight(&dev->queues[i]))
			return true;
	return false;
}

/* True while a queue still holds commands in the kernel. */
static bool del_queues_busy(const struct device *dev)
{
	for (unsigned i = 0; i < dev->queues_ready; i++)
		if (queue_active(&dev->queues[i]))
			return true;
	return false;
}

/* Releases the queues and the char device: closes the queues (cancelling
 * what the kernel holds), or with leave_open only stops serving them and
 * leaves them open until the daemon exits (see kernel_queue_leave). The
 * rings and mapped descriptors keep /dev/ublkcN open in the kernel. */
static void del_close_queues(struct device *dev, bool leave_open)
{
	ev_timer_stop(dev->loop, &dev->open_timer);
	if (!leave_open) {
		for (unsigned i = 0; i < dev->queues_ready; i++)
			dev->drv->queue_teardown(dev->drv, &dev->queues[i]);
	} else if (dev->undo & UNDO_QUEUES) {
		dev->drv->queue_leave(dev->drv, dev->queues, dev->queues_ready);
		dev->queues = NULL;	/* the driver's now */
	}
	dev->queues_ready = 0;
	if (dev->undo & UNDO_CDEV) {
		dev->drv->close_cdev(dev->drv, dev->cdev_fd);
		dev->cdev_fd = -1;
	}
	dev->undo &= ~(UNDO_QUEUES | UNDO_CDEV);
}

/* Sends DEL_DEV_ASYNC or DEL_DEV as step; a refused send is its answer. */
static void del_send(struct device *dev, enum device_del_step step)
{
	unsigned nr = step == DEL_DEV ? UBLK_CMD_DEL_DEV : _IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC);
	int ret;

	dev->del = step;
	ret = dev->drv->submit(dev->drv, nr, dev->id, NULL, 0, 0, DEVICE_CMD_TIMEOUT,
			       del_on_answer, dev);
	if (ret < 0)
		del_step(dev, ret);
}

/* The end of an add or a delete: close the backend (a mem device's file
 * is gone, a failed add's new file removed) before answering whoever
 * asked, since a reply may reach the client at once; tell the observer
 * when the kernel device is gone, then free. */
static void del_finish(struct device *dev)
{
	device_close_backend(dev);
	device_answer(dev, &dev->adder, dev->err);
	device_answer(dev, &dev->deleter, dev->err);
	if (dev->id != DEVICE_ID_AUTO && !(dev->undo & UNDO_KERNEL))
		device_notify(dev, DEVICE_EV_GONE);
	device_free(dev);
}

/* Runs the delete pipeline: res is the answer to the step dev->del waits for. */
static void del_step(struct device *dev, int res)
{
	switch (dev->del) {
	case DEL_NONE:
		return;
	case DEL_STOP:
		if (res < 0)
			log_errno(res, "device %u: STOP_DEV", dev->id);
		dev->del = DEL_DRAIN;
		/* fall through */
	case DEL_DRAIN:
		if (del_queues_busy(dev))
			return;	/* device_on_queue_idle comes back here */
		dev->del = DEL_RELEASE;
		/* fall through */
	case DEL_RELEASE:
		del_close_queues(dev, false);
		dev->state = DEVICE_DELETING;
		if (!(dev->undo & UNDO_KERNEL)) {
			del_finish(dev);
			return;
		}
		/* The kernel checks no path for DEL_DEV_ASYNC: a user's
		 * device gets -EINVAL for it, so it takes DEL_DEV. */
		del_send(dev, dev->drv->ioctl_encoded(dev->drv) && !device_unprivileged() ?
			 DEL_DEV_ASYNC : DEL_DEV);
		return;
	case DEL_DEV_ASYNC:
		if (res == -EOPNOTSUPP) {
			/* A kernel before 6.9: no DEL_DEV_ASYNC, use DEL_DEV. */
			del_send(dev, DEL_DEV);
			return;
		}
		/* fall through */
	case DEL_DEV:
		/* A failed DEL_DEV still leaves the device gone or going, so its
		 * record goes too: the kernel removes it before the one wait that
		 * can fail (-EINTR: freed when its last reference drops), -ENODEV
		 * means it was gone, and a command we timed out still runs. */
		dev->undo &= ~UNDO_KERNEL;
		if (res < 0)
			device_set_error(dev, res, "DEL_DEV failed: %s", strerror(-res));
		else
			log_info("device %u deleted", dev->id);
		del_finish(dev);
		return;
	case DEL_QUIESCE:
		if (res < 0) {
			/* Still safe: what is in flight is reissued to the next daemon. */
			log_errno(res, "device %u: QUIESCE_DEV", dev->id);
			dev->del = DEL_LEAVE;
			del_step(dev, 0);
			return;
		}
		dev->del = DEL_QUIESCE_DRAIN;
		/* fall through */
	case DEL_QUIESCE_DRAIN:
		/* Quiesced: the kernel hands out nothing new. Once every request
		 * it handed us is answered nothing is in flight; the commands it
		 * still holds are cancelled when the queues are closed. */
		if (del_queues_serving(dev))
			return;	/* device_on_queue_idle comes back here */
		dev->del = DEL_DETACH;
		/* fall through */
	case DEL_DETACH:
	case DEL_LEAVE:
		/* Left open while requests may still arrive; closed once
		 * quiesced and drained. */
		del_close_queues(dev, dev->del == DEL_LEAVE);
		io_detach(&dev->target);
		dev->undo &= ~(UNDO_BACKEND | UNDO_ABANDON | UNDO_KERNEL);
		log_info("device %u left in the kernel for the next ublkd", dev->id);
		device_answer(dev, &dev->deleter, 0);
		device_free(dev);	/* no DEVICE_EV_GONE: its record stays */
		return;
	}
}

/* Leaves a live device to the next daemon: QUIESCE_DEV first when the
 * device has it (6.16+: nothing is in flight when we let go), then release
 * the queues (without it: stop serving them, closed when the daemon exits),
 * /dev/ublkcN and the backend (detach: mem keeps its file), and forget the
 * device without deleting it. */
void device_detach_from(struct device *dev)
{
	int ret;

	dev->state = DEVICE_STOPPING;
	if (!(dev->info.flags & UBLK_F_QUIESCE)) {
		log_info("device %u: no QUIESCE_DEV (Linux 6.16+); requests in flight are "
			 "reissued to the next ublkd", dev->id);
		dev->del = DEL_LEAVE;
		del_step(dev, 0);
		return;
	}
	dev->del = DEL_QUIESCE;
	for (unsigned i = 0; i < dev->queues_ready; i++)
		queue_watch_drain(&dev->queues[i]);
	log_info("device %u: quiescing for the next ublkd", dev->id);
	ret = dev->drv->submit(dev->drv, _IOC_NR(UBLK_U_CMD_QUIESCE_DEV), dev->id, NULL, 0,
			       DEVICE_QUIESCE_MS, DEVICE_CMD_TIMEOUT, del_on_answer, dev);
	if (ret < 0)
		del_step(dev, ret);
}

/* Runs the delete pipeline from step: DEL_STOP to delete a live (or
 * failed) device, DEL_RELEASE to unwind a failed add. */
void device_del_from(struct device *dev, enum device_del_step step)
{
	int ret;

	dev->del = step;
	if (step != DEL_STOP) {
		del_step(dev, 0);
		return;
	}
	dev->state = DEVICE_STOPPING;
	log_info("device %u: stopping", dev->id);
	ret = dev->drv->submit(dev->drv, UBLK_CMD_STOP_DEV, dev->id, NULL, 0, 0,
			       DEVICE_CMD_TIMEOUT, del_on_answer, dev);
	if (ret < 0) {
		log_errno(ret, "device %u: sending STOP_DEV", dev->id);
		dev->del = DEL_RELEASE;
		del_step(dev, 0);
	}
}
