/* The real kernel side of devices: the control ring of ctrl.c, the char
 * device /dev/ublkcN and the queues of queue.c. */
#include "config.h"
#include "daemon/device_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct device_kernel {
	struct device_driver ops;
	struct ctrl *ctrl;
};

/* Finds the kernel driver's state from its ops. */
static struct device_kernel *kernel_of(struct device_driver *drv)
{
	return (struct device_kernel *)drv;
}

/* Opens the control device and ring if they are not open. */
static int kernel_open(struct device_driver *drv, struct ev_loop *loop)
{
	struct device_kernel *k = kernel_of(drv);

	if (k->ctrl)
		return 0;
	return ctrl_open(loop, &k->ctrl);
}

/* Closes the control ring. */
static void kernel_close(struct device_driver *drv)
{
	struct device_kernel *k = kernel_of(drv);

	ctrl_close(k->ctrl);
	k->ctrl = NULL;
}

/* Features the driver reported; loaded when the control device exists. */
static uint64_t kernel_features(struct device_driver *drv, bool *loaded)
{
	struct device_kernel *k = kernel_of(drv);

	*loaded = k->ctrl != NULL || access(UBLK_CONTROL_PATH, F_OK) == 0;
	return k->ctrl ? ctrl_features(k->ctrl) : 0;
}

/* True when commands go in their ioctl encoding. */
static bool kernel_ioctl_encoded(struct device_driver *drv)
{
	return ctrl_ioctl_encoded(kernel_of(drv)->ctrl);
}

/* Sends a control command on the ring. */
static int kernel_submit(struct device_driver *drv, unsigned nr, uint32_t dev_id, void *buf,
			 uint16_t len, uint64_t data0, double timeout, ctrl_done_fn fn, void *arg)
{
	return ctrl_submit(kernel_of(drv)->ctrl, nr, dev_id, buf, len, data0, timeout, fn, arg);
}

/* Opens /dev/ublkcN. */
static int kernel_open_cdev(struct device_driver *drv, uint32_t id)
{
	char path[64];
	int fd;

	(void)drv;
	snprintf(path, sizeof(path), "/dev/ublkc%u", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

/* Closes /dev/ublkcN. */
static void kernel_close_cdev(struct device_driver *drv, int fd)
{
	(void)drv;
	close(fd);
}

/* Sets up a queue with queue.c. */
static int kernel_queue_setup(struct device_driver *drv, struct queue *q, struct ev_loop *loop,
			      struct io_thread *thread, int cdev_fd, uint16_t id, uint16_t depth,
			      const struct io_target *target, uint64_t flags,
			      queue_idle_fn idle, void *idle_arg)
{
	(void)drv;
	return queue_setup(q, loop, thread, cdev_fd, id, depth, target, flags, idle, idle_arg);
}

/* FETCHes every tag of a queue. */
static int kernel_queue_fetch_all(struct device_driver *drv, struct queue *q)
{
	(void)drv;
	return queue_fetch_all(q);
}

/* Tears a queue down. */
static void kernel_queue_teardown(struct device_driver *drv, struct queue *q)
{
	(void)drv;
	queue_teardown(q);
}

/* Queue arrays left open for the process exit, kept reachable. */
struct kernel_left {
	struct queue *queues;
	struct kernel_left *next;
};
static struct kernel_left *kernel_left;

/* Leaves queues to the process exit. On a kernel without QUIESCE_DEV
 * (6.12) requests keep arriving while we let go. Closing a ring while the
 * daemon lives cancels its commands from a kernel worker, and a request the
 * kernel queued just before that is still handed to this live task, which
 * never answers it: the kernel then waits for it forever and holds the
 * device's lock, so the next daemon's recovery hangs. When the daemon exits
 * with the rings open, the kernel cancels them from the exiting task and
 * requeues every request for the next daemon, as after a crash. */
static void kernel_queue_leave(struct device_driver *drv, struct queue *queues, unsigned n)
{
	struct kernel_left *left = malloc(sizeof(*left));

	(void)drv;
	for (unsigned i = 0; i < n; i++)
		queue_quiet(&queues[i]);
	if (!left)
		return;	/* still open: only unreachable */
	left->queues = queues;
	left->next = kernel_left;
	kernel_left = left;
}

static struct device_kernel device_kernel = {
	.ops = {
		.open = kernel_open,
		.close = kernel_close,
		.features = kernel_features,
		.ioctl_encoded = kernel_ioctl_encoded,
		.submit = kernel_submit,
		.open_cdev = kernel_open_cdev,
		.close_cdev = kernel_close_cdev,
		.queue_setup = kernel_queue_setup,
		.queue_fetch_all = kernel_queue_fetch_all,
		.queue_teardown = kernel_queue_teardown,
		.queue_leave = kernel_queue_leave,
	},
};

/* The real driver: /dev/ublk-control, /dev/ublkcN and queue.c. */
struct device_driver *device_kernel_driver(void)
{
	return &device_kernel.ops;
}
