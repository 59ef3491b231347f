/* The kernel side of a device, as the add and delete pipelines see it: the
 * control ring, the char device and the queues. device_kernel.c wires it
 * to the real ctrl.c and queue.c; the unit tests replace it with a fake. */
#ifndef UBLKD_DEVICE_DRIVER_H
#define UBLKD_DEVICE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>

#include "daemon/ctrl.h"
#include "daemon/io.h"
#include "daemon/queue.h"

/* Every callback is required. Implementations embed this struct first and
 * find their own state from the pointer they are given. */
struct device_driver {
	/* Opens the control device if it is not open: 0 or -errno. */
	int (*open)(struct device_driver *drv, struct ev_loop *loop);
	/* Closes the control device (commands in the kernel are abandoned). */
	void (*close)(struct device_driver *drv);
	/* Features from GET_FEATURES (0 when unknown); loaded says whether
	 * the driver is there at all. */
	uint64_t (*features)(struct device_driver *drv, bool *loaded);
	/* True when control commands are sent in their ioctl encoding. */
	bool (*ioctl_encoded)(struct device_driver *drv);
	/* Sends one control command, as ctrl_submit: fn is called once with
	 * the answer, unless this returns -errno. */
	int (*submit)(struct device_driver *drv, unsigned nr, uint32_t dev_id, void *buf,
		      uint16_t len, uint64_t data0, double timeout, ctrl_done_fn fn, void *arg);
	/* Opens /dev/ublkcN: the fd, or -errno (-ENOENT until devtmpfs shows it). */
	int (*open_cdev)(struct device_driver *drv, uint32_t id);
	/* Closes what open_cdev returned. */
	void (*close_cdev)(struct device_driver *drv, int fd);
	/* Sets up one queue, as queue_setup. */
	int (*queue_setup)(struct device_driver *drv, struct queue *q, struct ev_loop *loop,
			   struct io_thread *thread, int cdev_fd, uint16_t id, uint16_t depth, const struct io_target *target,
			   uint64_t flags, queue_idle_fn idle, void *idle_arg);
	/* Sends FETCH_REQ for every tag of a queue (or the batch commands), as
	 * queue_fetch_all. */
	int (*queue_fetch_all)(struct device_driver *drv, struct queue *q);
	/* Releases a queue set up by queue_setup, as queue_teardown. */
	void (*queue_teardown)(struct device_driver *drv, struct queue *q);
	/* Stops serving n queues but leaves their rings open until the daemon
	 * exits, and takes the array (see device_kernel.c for why). */
	void (*queue_leave)(struct device_driver *drv, struct queue *queues, unsigned n);
};

/* The real driver: /dev/ublk-control, /dev/ublkcN and queue.c. */
struct device_driver *device_kernel_driver(void);

#endif
