/* Learning which CPUs the kernel sends each queue's requests from
 * (GET_QUEUE_AFFINITY), so that ublkd --io-threads gives each queue to the
 * io thread pinned there. One command after another; a refused one only
 * costs that queue its placement (it then goes to the least loaded thread). */
#include "config.h"
#include "daemon/device_pipeline.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void aff_next(struct device *dev);

/* GET_QUEUE_AFFINITY of queue dev->aff_next answered: keep it, ask the next. */
static void aff_on_answer(void *arg, int res)
{
	struct device *dev = arg;

	if (res < 0) {
		log_errno(res, "device %u: GET_QUEUE_AFFINITY of queue %u; it goes to the "
			  "least loaded io thread", dev->id, dev->aff_next);
		CPU_ZERO(&dev->queue_cpus[dev->aff_next]);
	}
	dev->aff_next++;
	aff_next(dev);
}

/* Asks for the CPUs of the next queue, or, when every queue is known, goes on. */
static void aff_next(struct device *dev)
{
	while (dev->aff_next < dev->nr_queues) {
		int ret = dev->drv->submit(dev->drv, UBLK_CMD_GET_QUEUE_AFFINITY, dev->id,
					   &dev->queue_cpus[dev->aff_next], sizeof(cpu_set_t),
					   dev->aff_next, DEVICE_CMD_TIMEOUT, aff_on_answer, dev);

		if (ret == 0)
			return;	/* aff_on_answer comes back here */
		log_errno(ret, "device %u: sending GET_QUEUE_AFFINITY", dev->id);
		dev->aff_next++;
	}
	dev->aff_done(dev);
}

/* True when io threads serve the device's queues: there are some, and its
 * backend may run on several at once. */
bool device_on_io_threads(const struct device *dev)
{
	return io_threads_count() && io_thread_safe(&dev->target);
}

/* Learns each queue's CPUs when io threads will serve the queues, then
 * calls done(dev); without io threads (or for a backend they do not serve)
 * done runs at once. */
void device_fetch_affinity(struct device *dev, void (*done)(struct device *dev))
{
	if (!device_on_io_threads(dev)) {
		done(dev);
		return;
	}
	free(dev->queue_cpus);
	dev->queue_cpus = calloc(dev->nr_queues, sizeof(*dev->queue_cpus));
	if (!dev->queue_cpus) {
		done(dev);	/* the queues go by load */
		return;
	}
	dev->aff_next = 0;
	dev->aff_done = done;
	aff_next(dev);
}

/* The kernel's CPUs of queue q, or NULL when they are not known. */
const cpu_set_t *device_queue_cpus(const struct device *dev, unsigned q)
{
	if (!dev->queue_cpus || q >= dev->nr_queues || CPU_COUNT(&dev->queue_cpus[q]) == 0)
		return NULL;
	return &dev->queue_cpus[q];
}
