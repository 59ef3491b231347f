/* A fake ublk driver and backend for the device pipelines' unit tests. */
#include "config.h"
#include "test/unit/fake_driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_driver fake;
struct fake_backend fake_be;

/* Pretends to open the control device. */
static int fake_open(struct device_driver *drv, struct ev_loop *loop)
{
	(void)drv;
	(void)loop;
	return 0;
}

/* Pretends to close the control device. */
static void fake_close(struct device_driver *drv)
{
	(void)drv;
}

/* Reports fake.features, driver loaded. */
static uint64_t fake_features(struct device_driver *drv, bool *loaded)
{
	(void)drv;
	*loaded = true;
	return fake.features;
}

/* Says which encoding the fake kernel takes. */
static bool fake_ioctl(struct device_driver *drv)
{
	(void)drv;
	return fake.ioctl_encoded;
}

/* Queues a command for a later answer, or refuses it as injected. */
static int fake_submit(struct device_driver *drv, unsigned nr, uint32_t dev_id, void *buf,
		       uint16_t len, uint64_t data0, double timeout, ctrl_done_fn fn, void *arg)
{
	(void)drv;
	(void)dev_id;
	(void)len;
	(void)data0;
	(void)timeout;
	if (nr < sizeof(fake.submitted) / sizeof(fake.submitted[0]))
		fake.submitted[nr]++;
	if (fake.fail_sync && fake.fail_nr == (int)nr) {
		fake.fail_nr = FAKE_NONE;
		return fake.fail_res;
	}
	if (fake.ncmds == FAKE_MAX_CMDS)
		return -EBUSY;
	fake.cmds[fake.ncmds++] = (struct fake_cmd){ nr, buf, fn, arg };
	return 0;
}

/* Opens a fake /dev/ublkcN. */
static int fake_open_cdev(struct device_driver *drv, uint32_t id)
{
	(void)drv;
	(void)id;
	if (fake.cdev_enoent > 0) {
		fake.cdev_enoent--;
		return -ENOENT;
	}
	if (fake.cdev_res)
		return fake.cdev_res;
	fake.open_fds++;
	return 100 + fake.open_fds;
}

/* Closes a fake /dev/ublkcN. */
static void fake_close_cdev(struct device_driver *drv, int fd)
{
	(void)drv;
	(void)fd;
	fake.open_fds--;
}

/* Sets up a fake queue, or fails as injected. */
static int fake_queue_setup(struct device_driver *drv, struct queue *q, struct ev_loop *loop,
			    struct io_thread *thread, int cdev_fd, uint16_t id, uint16_t depth,
			    const struct io_target *target, uint64_t flags,
			    queue_idle_fn idle, void *idle_arg)
{
	(void)drv;
	(void)thread;
	if (fake.fail_setup_queue == id)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->loop = loop;
	q->cdev_fd = cdev_fd;
	q->id = id;
	q->depth = depth;
	q->target = target;
	q->ioctl_encoded = flags & UBLK_F_CMD_IOCTL_ENCODE;
	q->batch = flags & UBLK_F_BATCH_IO;
	q->idle = idle;
	q->idle_arg = idle_arg;
	fake.queues[fake.nqueues++] = q;
	return 0;
}

/* FETCHes every tag of a fake queue, or fails as injected. */
static int fake_queue_fetch_all(struct device_driver *drv, struct queue *q)
{
	(void)drv;
	if (fake.fail_fetch_queue == q->id)
		return -EIO;
	q->active = q->depth;
	return 0;
}

/* Releases a fake queue. */
static void fake_queue_teardown(struct device_driver *drv, struct queue *q)
{
	(void)drv;
	for (int i = 0; i < fake.nqueues; i++) {
		if (fake.queues[i] == q) {
			fake.queues[i] = fake.queues[--fake.nqueues];
			break;
		}
	}
	q->active = 0;
}

/* Leaves fake queues to the exit: counted, no longer set up. */
static void fake_queue_leave(struct device_driver *drv, struct queue *queues, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fake_queue_teardown(drv, &queues[i]);
		fake.left_queues++;
	}
	free(queues);
}

/* Resets the fake driver and backend to "everything succeeds". */
void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.ops = (struct device_driver){
		.open = fake_open,
		.close = fake_close,
		.features = fake_features,
		.ioctl_encoded = fake_ioctl,
		.submit = fake_submit,
		.open_cdev = fake_open_cdev,
		.close_cdev = fake_close_cdev,
		.queue_setup = fake_queue_setup,
		.queue_fetch_all = fake_queue_fetch_all,
		.queue_teardown = fake_queue_teardown,
		.queue_leave = fake_queue_leave,
	};
	fake.ioctl_encoded = true;
	fake.fail_nr = FAKE_NONE;
	fake.fail_setup_queue = FAKE_NONE;
	fake.fail_fetch_queue = FAKE_NONE;
	fake.next_id = 0;
	memset(&fake_be, 0, sizeof(fake_be));
}

/* Answers the oldest pending command. */
bool fake_answer_one(void)
{
	struct fake_cmd c;
	int res = 0;

	if (!fake.ncmds)
		return false;
	c = fake.cmds[0];
	memmove(fake.cmds, fake.cmds + 1, --fake.ncmds * sizeof(fake.cmds[0]));
	if (!fake.fail_sync && fake.fail_nr == (int)c.nr) {
		fake.fail_nr = FAKE_NONE;
		res = fake.fail_res;
	}
	if (res == 0 && c.nr == UBLK_CMD_ADD_DEV) {
		struct ublksrv_ctrl_dev_info *info = c.buf;

		if (info->dev_id == UINT32_MAX)
			info->dev_id = fake.next_id++;
		fake.kernel_devs++;
	}
	if (res == 0 && (c.nr == UBLK_CMD_DEL_DEV || c.nr == 0x14))
		fake.kernel_devs--;
	if (res == 0 && c.nr == UBLK_CMD_GET_DEV_INFO && fake.dev_info_set)
		memcpy(c.buf, &fake.dev_info, sizeof(fake.dev_info));
	if (res == 0 && c.nr == UBLK_CMD_SET_PARAMS)
		memcpy(&fake.params, c.buf, sizeof(fake.params));
	if (res == 0 && c.nr == UBLK_CMD_GET_PARAMS)
		memcpy(c.buf, &fake.params, sizeof(fake.params));
	c.fn(c.arg, res);
	return true;
}

/* Answers commands until the oldest pending one is nr. */
bool fake_answer_until(unsigned nr)
{
	while (fake.ncmds && fake.cmds[0].nr != nr)
		fake_answer_one();
	return fake.ncmds && fake.cmds[0].nr == nr;
}

/* The kernel aborts every queue's commands, as after STOP_DEV. */
void fake_abort_queues(void)
{
	for (int i = 0; i < fake.nqueues; i++) {
		struct queue *q = fake.queues[i];

		if (!q->active)
			continue;
		q->active = 0;
		q->idle(q->idle_arg, q);
		i = -1;	/* idle may have torn queues down: start over */
	}
}

/* The backend that was waited for says res. */
void fake_backend_ready(int res)
{
	backend_ready_fn cb = fake_be.cb;

	fake_be.cb = NULL;
	cb(fake_be.cb_arg, res, res ? "the fake index failed" : NULL);
}

/* Runs everything to the end: answers, backend waits, loop timers. */
void fake_run(struct ev_loop *loop)
{
	for (;;) {
		if (fake.ncmds) {
			bool stop = fake.cmds[0].nr == UBLK_CMD_STOP_DEV;

			fake_answer_one();
			if (stop)
				fake_abort_queues();
		} else if (fake_be.cb) {
			fake_backend_ready(0);
		} else {
			ev_run(loop, 0);
			if (!fake.ncmds && !fake_be.cb)
				return;
		}
	}
}

/* Opens the fake backend: 1 MiB, or the injected error. */
static int fb_open(void **priv, const struct backend_config *cfg,
		   struct backend_geometry *geo, char *err, size_t errlen)
{
	if (fake_be.open_res) {
		snprintf(err, errlen, "cannot open the fake");
		return fake_be.open_res;
	}
	backends_plain_geometry(cfg, geo);
	snprintf(fake_be.label, sizeof(fake_be.label), "%s",
		 cfg->args[1].text ? cfg->args[1].text : "");
	fake_be.opens++;
	*priv = &fake_be;
	return 0;
}

/* Closes the fake backend (cancelling a wait). */
static void fb_close(void *priv)
{
	(void)priv;
	fake_be.closes++;
	fake_be.cb = NULL;
}

/* Counts an abandon. */
static void fb_abandon(void *priv)
{
	(void)priv;
	fake_be.abandons++;
}

/* Reads zeroes. */
static int fb_read(void *priv, void *buf, uint32_t len, uint64_t off)
{
	(void)priv;
	(void)off;
	memset(buf, 0, len);
	return 0;
}

/* Says ready, later, or never, as injected. */
static int fb_wait_ready(void *priv, backend_ready_fn cb, void *arg, char *err, size_t errlen)
{
	(void)priv;
	if (fake_be.wait_mode < 0) {
		snprintf(err, errlen, "the fake index is broken");
		return fake_be.wait_mode;
	}
	if (fake_be.wait_mode == 0)
		return 0;
	fake_be.cb = cb;
	fake_be.cb_arg = arg;
	return 1;
}

/* The fake backend's parameters: a size, and a label it records. */
static const struct backend_param fb_params[] = {
	{ .name = "size", .type = BACKEND_PARAM_SIZE, .help = "the size" },
	{ .name = "label", .type = BACKEND_PARAM_TEXT, .help = "recorded at open" },
	{ .name = NULL },
};

const struct backend_ops fake_backend_ops = {
	.name = "fake",
	.summary = "the unit tests' backend",
	.params = fb_params,
	.open = fb_open,
	.close = fb_close,
	.read = fb_read,
	.abandon = fb_abandon,
	.wait_ready = fb_wait_ready,
};
