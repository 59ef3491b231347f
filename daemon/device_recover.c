/* The recovery pipeline, in kernel order: a new daemon takes over a device
 * that outlived the old one (added with USER_RECOVERY). GET_DEV_INFO (the
 * kernel must still have it, quiesced or failing I/O, in the shape the
 * record says), open the backend without creating anything, wait until it
 * is ready, GET_PARAMS (the kernel's size and block size must be the
 * backend's), START_USER_RECOVERY (retried while the old daemon's
 * /dev/ublkcN is still closing), open /dev/ublkcN, set up the queues and
 * FETCH every tag, END_USER_RECOVERY. Requests the old daemon had not
 * answered are then reissued to us by the kernel (REISSUE), so none is
 * lost. A failure at any step unwinds through the delete pipeline, which
 * deletes the kernel device once GET_DEV_INFO has shown it exists with the
 * record's recovery flags (one without them is another's, left alone). */
#include "config.h"
#include "daemon/device_pipeline.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Kernel device states of GET_DEV_INFO. */
#define REC_STATE_DEAD		0
#define REC_STATE_LIVE		1
#define REC_STATE_QUIESCED	2
#define REC_STATE_FAIL_IO	3

/* START_USER_RECOVERY is refused (EBUSY) until the killed daemon's io_uring
 * is torn down and its /dev/ublkcN closed, which a loaded machine can take
 * many seconds to do: try every 100 ms for 60 s, saying so after 5 s. */
#define REC_START_TRIES		600
#define REC_START_SAY_AT	50

static void rec_step(struct device *dev, int res);

/* A control command of the recovery answered: go on with the next step. */
static void rec_on_answer(void *arg, int res)
{
	rec_step(arg, res);
}

/* Sends control command nr, to be answered in step next. */
static void rec_send(struct device *dev, enum device_rec_step next, unsigned nr, void *buf,
		     uint16_t len, uint64_t data0)
{
	int ret;

	dev->rec = next;
	ret = dev->drv->submit(dev->drv, nr, dev->id, buf, len, data0, DEVICE_CMD_TIMEOUT,
			       rec_on_answer, dev);
	if (ret < 0)
		device_add_fail(dev, ret, "sending %s: %s", ctrl_cmd_name(nr), strerror(-ret));
}

/* Names a kernel device state for messages. */
static const char *rec_state_name(unsigned state)
{
	static const char *const names[] = { "dead", "live", "quiesced", "failing I/O" };

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

/* GET_DEV_INFO answered: the kernel must hold the device, recoverable, with
 * the recovery flags and shape it was added with. 0 or -errno (failed). */
static int rec_on_info(struct device *dev, int res)
{
	uint64_t want = device_recovery_flags(dev->recovery);

	if (res < 0) {
		device_add_fail(dev, res, "the kernel has no device %u any more (%s)", dev->id,
				strerror(-res));
		return res;
	}
	/* A device without the record's recovery flags is not the one the
	 * record describes (its id was reused, by another server perhaps):
	 * it is left alone. */
	if (!want || (dev->info.flags & want) != want) {
		device_add_fail(dev, -EINVAL, "the kernel's device %u was not added with "
				"recovery %s (flags 0x%llx): not this record's; left alone",
				dev->id, device_recovery_name(dev->recovery),
				(unsigned long long)dev->info.flags);
		return -EINVAL;
	}
	dev->undo |= UNDO_KERNEL;	/* from here on a failure deletes it */
	if (dev->info.state == REC_STATE_DEAD) {
		device_add_fail(dev, -ESTALE, "the kernel's device %u is dead (stopped), not "
				"waiting for a daemon", dev->id);
		return -ESTALE;
	}
	log_info("device %u: the kernel holds it %s, %u queue(s) of depth %u; recovering",
		 dev->id, rec_state_name(dev->info.state), dev->info.nr_hw_queues,
		 dev->info.queue_depth);
	dev->nr_queues = dev->info.nr_hw_queues;
	dev->queues = calloc(dev->nr_queues, sizeof(*dev->queues));
	if (!dev->queues) {
		device_add_fail(dev, -ENOMEM, "out of memory for %u queues", dev->nr_queues);
		return -ENOMEM;
	}
	return 0;
}

/* Opens the backend as it was (nothing created); what the kernel should
 * already have been told is worked out once it is ready. 0 or -errno. */
static int rec_open_backend(struct device *dev)
{
	int ret = device_open_backend(dev);	/* not UNDO_ABANDON: its data stays */

	if (ret < 0)
		return ret;
	dev->target.buf_bytes = dev->info.max_io_buf_bytes;
	return 0;
}

/* The backend that was not ready is, or failed: go on, or give up. */
static void rec_on_backend_ready(void *arg, int res, const char *msg)
{
	struct device *dev = arg;

	snprintf(dev->backend_msg, sizeof(dev->backend_msg), "%s", msg ? msg : "");
	rec_step(dev, res);
}

/* GET_PARAMS answered into kernel_params: the size and block size the
 * kernel serves must be what the backend serves now. 0 or -errno. */
static int rec_on_params(struct device *dev, int res)
{
	const struct ublk_param_basic *k = &dev->kernel_params.basic, *b = &dev->params.basic;

	if (res < 0) {
		device_add_fail(dev, res, "GET_PARAMS failed: %s", strerror(-res));
		return res;
	}
	if (k->dev_sectors != b->dev_sectors || k->logical_bs_shift != b->logical_bs_shift) {
		device_add_fail(dev, -EINVAL, "the kernel serves %llu sectors of %u bytes but the "
				"%s backend now has %llu of %u: not the same data",
				(unsigned long long)k->dev_sectors, 1U << k->logical_bs_shift,
				dev->backend->name, (unsigned long long)b->dev_sectors,
				1U << b->logical_bs_shift);
		return -EINVAL;
	}
	/* The kernel keeps the largest request it was told of: the backend
	 * must still take it (an NBD server's maximum block size). */
	if (k->max_sectors > b->max_sectors) {
		device_add_fail(dev, -EINVAL, "the kernel sends requests of up to %u KiB but the "
				"%s backend now takes at most %u KiB", k->max_sectors / 2,
				dev->backend->name, b->max_sectors / 2);
		return -EINVAL;
	}
	/* Report what the kernel was told when the device was added. */
	dev->params.basic.attrs = k->attrs;
	return 0;
}

/* The START_USER_RECOVERY retry timer fired. */
static void rec_on_retry_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct device *dev = w->data;

	(void)loop;
	(void)revents;
	rec_send(dev, DEVICE_REC_START, UBLK_CMD_START_USER_RECOVERY, NULL, 0,
		 (uint64_t)getpid());
}

/* START_USER_RECOVERY answered: 0 go on, 1 retrying (the old daemon's
 * /dev/ublkcN is not closed yet), or -errno (failed). */
static int rec_on_started(struct device *dev, int res)
{
	if (res == -EBUSY && ++dev->open_tries < REC_START_TRIES) {
		if (dev->open_tries == REC_START_SAY_AT)
			log_warn("device %u: the old daemon's /dev/ublkc%u is still open; waiting "
				 "up to %d s for the kernel to release it", dev->id, dev->id,
				 REC_START_TRIES / 10);
		ev_timer_stop(dev->loop, &dev->open_timer);
		ev_timer_init(&dev->open_timer, rec_on_retry_timer, 0.1, 0.);
		dev->open_timer.data = dev;
		ev_timer_start(dev->loop, &dev->open_timer);
		return 1;
	}
	if (res == -EBUSY) {
		device_add_fail(dev, res, "START_USER_RECOVERY still refused after %d s (the old "
				"daemon's /dev/ublkc%u is still open): %s", REC_START_TRIES / 10,
				dev->id, strerror(-res));
		return res;
	}
	if (res < 0) {
		device_add_fail(dev, res, "START_USER_RECOVERY failed: %s", strerror(-res));
		return res;
	}
	dev->open_tries = 0;
	return 0;
}

/* The device serves again. */
static void rec_live(struct device *dev)
{
	dev->rec = DEVICE_REC_LIVE;
	dev->state = DEVICE_LIVE;
	log_info("device %u recovered: /dev/ublkb%u, %s backend, %llu bytes, %u queue(s)",
		 dev->id, dev->id, dev->backend->name, (unsigned long long)dev->geo.size,
		 dev->nr_queues);
	device_went_live(dev);
}

/* The queues' CPUs are known (or not needed): open /dev/ublkcN next. */
static void rec_on_affinity(struct device *dev)
{
	rec_step(dev, 0);
}

/* Runs the recovery pipeline: res is the answer to the step dev->rec waits for. */
static void rec_step(struct device *dev, int res)
{
	switch (dev->rec) {
	case DEVICE_REC_INFO:
		if (rec_on_info(dev, res) < 0 || rec_open_backend(dev) < 0)
			return;
		dev->rec = DEVICE_REC_WAIT_BACKEND;
		res = io_wait_ready(&dev->target, rec_on_backend_ready, dev, dev->backend_msg,
				    sizeof(dev->backend_msg));
		if (res == 1)
			return;	/* rec_on_backend_ready comes back here */
		/* fall through */
	case DEVICE_REC_WAIT_BACKEND:
		if (device_backend_ready(dev, res) < 0)
			return;
		dev->kernel_params.len = UBLK_PARAMS_LEN_6_12;
		rec_send(dev, DEVICE_REC_PARAMS, UBLK_CMD_GET_PARAMS, &dev->kernel_params,
			 sizeof(dev->kernel_params), 0);
		return;
	case DEVICE_REC_PARAMS:
		if (rec_on_params(dev, res) < 0)
			return;
		rec_send(dev, DEVICE_REC_START, UBLK_CMD_START_USER_RECOVERY, NULL, 0,
			 (uint64_t)getpid());
		return;
	case DEVICE_REC_START:
		res = rec_on_started(dev, res);
		if (res != 0)
			return;
		dev->rec = DEVICE_REC_QUEUES;
		device_fetch_affinity(dev, rec_on_affinity);
		return;
	case DEVICE_REC_QUEUES:
		/* The same steps as an add from here: /dev/ublkcN, queues, FETCH. */
		if (device_open_cdev_now(dev) < 0 || device_start_queues(dev) < 0)
			return;
		rec_send(dev, DEVICE_REC_END, UBLK_CMD_END_USER_RECOVERY, NULL, 0,
			 (uint64_t)getpid());
		return;
	case DEVICE_REC_END:
		if (res < 0) {
			device_add_fail(dev, res, "END_USER_RECOVERY failed: %s", strerror(-res));
			return;
		}
		rec_live(dev);
		return;
	case DEVICE_REC_NONE:
	case DEVICE_REC_LIVE:
		return;
	}
}

/* Starts the recovery pipeline on a registered device. */
void device_recover_start(struct device *dev)
{
	ev_timer_init(&dev->open_timer, rec_on_retry_timer, 0., 0.);
	dev->open_timer.data = dev;
	dev->add = ADD_LIVE;	/* the add pipeline has nothing to do */
	rec_send(dev, DEVICE_REC_INFO, UBLK_CMD_GET_DEV_INFO, &dev->info, sizeof(dev->info), 0);
}
