/* ublk devices: the registry, and the doors to the add pipeline
 * (device_add.c) and the delete pipeline (device_del.c). The kernel is
 * reached only through the driver given to device_init, so the pipelines
 * can be tested against a fake. */
#include "config.h"
#include "daemon/device_pipeline.h"
#include "daemon/device_node.h"
#include "daemon/idle.h"
#include "daemon/evwatch.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	struct ev_loop *loop;
	const char *state_dir;
	struct device_driver *drv;
	bool drv_open;
	struct idle idle;	/* runs the backends' background steps */
	struct evwatch watch;	/* backends' watches and timers */
	struct device *list;
	void (*all_done)(void *arg);
	void *all_done_arg;
	device_observer_fn observer;	/* told when devices go live or go */
	void *observer_arg;
} devices;

/* Sets the one observer of device events (the state records). */
void device_observe(device_observer_fn fn, void *arg)
{
	devices.observer = fn;
	devices.observer_arg = arg;
}

/* Tells the observer about a device event. */
void device_notify(struct device *dev, enum device_event ev)
{
	if (devices.observer)
		devices.observer(devices.observer_arg, dev, ev);
}

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

/* Prepares the registry with the real kernel driver. */
void device_init(struct ev_loop *loop, const char *state_dir)
{
	device_init_driver(loop, state_dir, device_kernel_driver());
}

/* Prepares the registry with a given driver (a fake in unit tests). */
void device_init_driver(struct ev_loop *loop, const char *state_dir, struct device_driver *drv)
{
	if (devices.idle.loop)
		idle_fini(&devices.idle);
	idle_init(&devices.idle, loop);
	evwatch_init(&devices.watch, loop);
	devices.loop = loop;
	devices.state_dir = state_dir;
	devices.drv = drv;
	devices.drv_open = false;
}

/* Opens the ublk control device if needed; -ENOENT when there is no driver. */
int device_driver_open(char *err, size_t errlen)
{
	int ret;

	if (devices.drv_open)
		return 0;
	ret = devices.drv->open(devices.drv, devices.loop);
	if (ret == -ENOENT)
		snprintf(err, errlen, "no ublk driver: %s does not exist "
			 "(load it with 'modprobe ublk_drv'; it needs Linux 6.0 or later "
			 "built with CONFIG_BLK_DEV_UBLK)", UBLK_CONTROL_PATH);
	else if (ret < 0)
		snprintf(err, errlen, "cannot open %s: %s", UBLK_CONTROL_PATH,
			 strerror(-ret));
	devices.drv_open = ret == 0;
	return ret;
}

/* Features the driver reported (0 before it was opened or when unknown). */
uint64_t device_driver_features(bool *loaded)
{
	return devices.drv->features(devices.drv, loaded);
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

/* Answers a caller once (err 0: success). */
void device_answer(struct device *dev, struct device_caller *c, int err)
{
	device_done_fn fn = c->fn;

	c->fn = NULL;
	if (fn)
		fn(c->arg, err ? NULL : dev, err, err ? dev->msg : "");
}

/* Records the first error of an operation, and logs it (at debug level
 * when the caller logs the failure itself: a recovery's). */
void device_set_error(struct device *dev, int err, const char *fmt, ...)
{
	enum log_level level = dev->caller_logs_error ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR;
	va_list ap;

	if (dev->err)
		return;
	dev->err = err;
	va_start(ap, fmt);
	vsnprintf(dev->msg, sizeof(dev->msg), fmt, ap);
	va_end(ap);
	if (dev->id != DEVICE_ID_AUTO)
		log_msg(level, "device %u: %s", dev->id, dev->msg);
	else if (dev->info.dev_id != DEVICE_ID_AUTO)
		log_msg(level, "new device %u: %s", dev->info.dev_id, dev->msg);
	else
		log_msg(level, "new device: %s", dev->msg);
}

/* Closes the backend (undoing what open created if the device never went
 * live); this also cancels a wait for it to be ready. A recovery that
 * failed lets go of it as for the next daemon instead: what it keeps (a
 * mem device's file) is the device's data, named by the record that is
 * moved aside, and no one asked to delete it. */
void device_close_backend(struct device *dev)
{
	if (!(dev->undo & UNDO_BACKEND))
		return;
	if (dev->rec != DEVICE_REC_NONE && dev->rec != DEVICE_REC_LIVE)
		io_detach(&dev->target);
	else
		io_close(&dev->target, dev->undo & UNDO_ABANDON);
	dev->undo &= ~(UNDO_BACKEND | UNDO_ABANDON);
}

/* Takes a device off the list and frees it. */
void device_free(struct device *dev)
{
	for (struct device **p = &devices.list; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	ev_timer_stop(dev->loop, &dev->open_timer);
	device_close_backend(dev);
	free(dev->queues);
	free(dev->queue_cpus);
	device_close_passed(dev);
	for (unsigned i = 0; i < BACKEND_MAX_PARAMS; i++)
		free(dev->arg_text[i]);
	for (unsigned i = 0; i < 2 * BACKEND_MAX_SAVED; i++)
		free(dev->saved_text[i]);
	free(dev);
	if (!devices.list && devices.all_done) {
		void (*all_done)(void *arg) = devices.all_done;

		devices.all_done = NULL;
		all_done(devices.all_done_arg);
	}
}

/* The add or recovery made dev live: gives its node to its owner, tells
 * the observer, answers the adder, then leaves it to the next daemon or
 * deletes it if a shutdown asked to. */
void device_went_live(struct device *dev)
{
	device_node_give(dev->id, dev->owner_uid, dev->owner_gid);
	device_notify(dev, DEVICE_EV_LIVE);
	device_answer(dev, &dev->adder, 0);
	if (dev->detach_when_live)
		device_detach_from(dev);
	else if (dev->delete_when_live)
		device_del(dev, NULL, NULL);
}

/* Closes the passed descriptors the device still holds. */
void device_close_passed(struct device *dev)
{
	for (unsigned i = 0; i < BACKEND_MAX_PARAMS; i++) {
		if (dev->args[i].passed && dev->args[i].fd >= 0)
			close(dev->args[i].fd);
		dev->args[i].fd = -1;
	}
}

/* Copies a spec's config and backend arguments so the device owns them (a
 * passed descriptor is duplicated, kept until the backend has opened). */
static int device_copy_config(struct device *dev, const struct device_spec *spec)
{
	dev->cfg = spec->cfg;
	dev->cfg.state_dir = devices.state_dir;
	dev->cfg.idle = &devices.idle.ops;
	dev->cfg.loop = &devices.watch.ops;
	dev->cfg.queues = spec->queues;
	dev->cfg.depth = spec->depth;
	dev->cfg.max_io_bytes = DEVICE_IO_BUF_BYTES;
	dev->cfg.args = dev->args;
	for (unsigned i = 0; i < BACKEND_MAX_PARAMS; i++) {
		dev->args[i] = spec->args[i];
		dev->args[i].fd = -1;
		if (spec->args[i].text && !(dev->arg_text[i] = strdup(spec->args[i].text)))
			return -ENOMEM;
		dev->args[i].text = dev->arg_text[i];
		if (spec->args[i].passed &&
		    (dev->args[i].fd = fcntl(spec->args[i].fd, F_DUPFD_CLOEXEC, 0)) < 0)
			return -errno;
	}
	return 0;
}

/* Copies the values a backend saved into the device, for its recovery. */
static int device_copy_saved(struct device *dev, const struct backend_saved *saved)
{
	unsigned n = 0;

	for (; saved && saved[n].key; n++) {
		if (n >= BACKEND_MAX_SAVED)
			return -E2BIG;
		dev->saved_text[2 * n] = strdup(saved[n].key);
		dev->saved_text[2 * n + 1] = strdup(saved[n].value);
		if (!dev->saved_text[2 * n] || !dev->saved_text[2 * n + 1])
			return -ENOMEM;
		dev->saved[n].key = dev->saved_text[2 * n];
		dev->saved[n].value = dev->saved_text[2 * n + 1];
	}
	dev->saved[n].key = NULL;
	dev->cfg.recovering = true;
	dev->cfg.saved = dev->saved;
	return 0;
}

/* Registers a new device for spec, answered through done; NULL (done
 * answered) when the driver or memory is missing. */
static struct device *device_new(const struct device_spec *spec, device_done_fn done, void *arg)
{
	struct device *dev;
	char err[512] = "";
	int ret;

	ret = device_driver_open(err, sizeof(err));
	if (ret < 0) {
		done(arg, NULL, ret, err);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		done(arg, NULL, -ENOMEM, "out of memory");
		return NULL;
	}
	dev->drv = devices.drv;
	dev->loop = devices.loop;
	dev->id = DEVICE_ID_AUTO;
	dev->cdev_fd = -1;
	dev->backend = spec->backend;
	dev->adder.fn = done;
	dev->adder.arg = arg;
	dev->info.dev_id = spec->id;
	dev->info.nr_hw_queues = spec->queues;
	dev->info.queue_depth = spec->depth;
	dev->recovery = spec->recovery;
	dev->owner_uid = spec->owner_uid;
	dev->owner_gid = spec->owner_gid;
	dev->next = devices.list;
	devices.list = dev;
	ret = device_copy_config(dev, spec);
	if (ret < 0) {
		device_add_fail(dev, ret, "cannot keep the device's parameters: %s",
				strerror(-ret));
		return NULL;
	}
	return dev;
}

/* Creates a device; done is called exactly once, maybe before this returns. */
void device_add(const struct device_spec *spec, device_done_fn done, void *arg)
{
	struct device *dev = device_new(spec, done, arg);

	if (dev)
		device_add_start(dev);
}

/* Takes over a device the kernel kept for us (spec->id) with what its
 * backend saved; done is called exactly once, and logs a failure (the
 * records' "device N cannot be recovered: WHY" line is the only one). */
void device_recover(const struct device_spec *spec, const struct backend_saved *saved,
		    device_done_fn done, void *arg)
{
	struct device *dev = device_new(spec, done, arg);
	int ret;

	if (!dev)
		return;
	dev->id = spec->id;
	dev->caller_logs_error = true;
	ret = device_copy_saved(dev, saved);
	if (ret < 0) {
		device_add_fail(dev, ret, "cannot keep what the %s backend saved: %s",
				dev->backend->name, strerror(-ret));
		return;
	}
	device_recover_start(dev);
}

/* What a device being purged shows as its backend: it has none. */
static const struct backend_ops device_no_backend = {
	.name = "none",
	.summary = "a kernel device with no record, being deleted",
};

/* GET_DEV_INFO answered for a purge: a device added with USER_RECOVERY
 * (as every device with a record is) is deleted; another is left alone. */
static void purge_on_info(void *arg, int res)
{
	struct device *dev = arg;

	if (res == 0 && (dev->info.flags & UBLK_F_USER_RECOVERY)) {
		log_info("device %u: deleting it from the kernel (no usable record)", dev->id);
		device_del_from(dev, DEL_RELEASE);
		return;
	}
	dev->undo &= ~UNDO_KERNEL;
	if (res < 0) {
		dev->err = res;
		snprintf(dev->msg, sizeof(dev->msg), "GET_DEV_INFO: %s", strerror(-res));
	} else {
		log_warn("device %u: not added with recovery (flags 0x%llx), so not the one its "
			 "record described; left alone", dev->id,
			 (unsigned long long)dev->info.flags);
	}
	device_del_from(dev, DEL_RELEASE);
}

/* Deletes kernel device id, which no usable record describes (a corrupt
 * or refused record, or an orphan the daemon was told to adopt); with
 * ours_only only if it was added with USER_RECOVERY; done once. */
void device_purge(uint32_t id, bool ours_only, device_done_fn done, void *arg)
{
	struct device_spec spec = { .backend = &device_no_backend, .id = id };
	struct device *dev = device_new(&spec, done, arg);
	int ret;

	if (!dev)
		return;
	dev->id = id;
	dev->state = DEVICE_DELETING;
	dev->add = ADD_LIVE;
	dev->undo = UNDO_KERNEL;
	if (!ours_only) {
		log_info("device %u: deleting it from the kernel (no record)", id);
		device_del_from(dev, DEL_RELEASE);
		return;
	}
	ret = dev->drv->submit(dev->drv, UBLK_CMD_GET_DEV_INFO, id, &dev->info, sizeof(dev->info),
			       0, DEVICE_CMD_TIMEOUT, purge_on_info, dev);
	if (ret < 0)
		purge_on_info(dev, ret);
}

/* Reports what a live device's backend saved for its recovery. */
void device_save(const struct device *dev, struct backend_report *r)
{
	io_save(&dev->target, r);
}

/* Stops and deletes a device; done is called exactly once. */
void device_del(struct device *dev, device_done_fn done, void *arg)
{
	if (device_backend_waiting(dev)) {
		/* Deleted before the backend was ready: the add fails first. */
		device_close_backend(dev);
		device_set_error(dev, -ECANCELED, "deleted before the %s backend was ready",
				 dev->backend->name);
		device_answer(dev, &dev->adder, dev->err);
		dev->deleter.fn = done;
		dev->deleter.arg = arg;
		dev->err = 0;
		dev->msg[0] = 0;
		log_info("device %u: deleting", dev->id);
		device_del_from(dev, DEL_RELEASE);
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
	dev->deleter.fn = done;
	dev->deleter.arg = arg;
	dev->err = 0;
	dev->msg[0] = 0;
	device_del_from(dev, DEL_STOP);
}

/* Ends every device, then calls done: one being added is cancelled, or
 * deleted once live; a live one, or one being recovered once live, is left
 * to the next daemon when detach is set and it has a recovery mode, else
 * deleted; a failed one is deleted. */
static void device_end_all(bool detach, void (*done)(void *arg), void *arg)
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
		if (device_backend_waiting(d))
			device_add_cancel_wait(d);
		else if (d->state == DEVICE_STARTING && detach && d->rec != DEVICE_REC_NONE)
			d->detach_when_live = true;	/* it was live before this daemon */
		else if (d->state == DEVICE_STARTING)
			d->delete_when_live = true;
		else if (detach && d->state == DEVICE_LIVE && d->recovery != DEVICE_RECOVERY_NONE)
			device_detach_from(d);
		else if (d->state == DEVICE_LIVE || d->state == DEVICE_FAILED)
			device_del(d, NULL, NULL);
	}
}

/* Deletes every device, then calls done (used on SIGTERM). */
void device_del_all(void (*done)(void *arg), void *arg)
{
	device_end_all(false, done, arg);
}

/* Leaves every live device to the next daemon and deletes the others
 * (being added, or stopped by the kernel), then calls done. */
void device_detach_all(void (*done)(void *arg), void *arg)
{
	device_end_all(true, done, arg);
}

/* Closes the control device once nothing is left (for a clean exit). */
void device_shutdown(void)
{
	devices.drv->close(devices.drv);
	devices.drv_open = false;
}

/* Fills the view of a device. */
void device_view(const struct device *dev, struct device_view *v)
{
	v->id = dev->id;
	v->state = dev->state;
	v->backend = dev->backend;
	v->target = &dev->target;
	v->args = dev->args;
	v->geo = &dev->geo;
	v->queues = dev->nr_queues;
	v->depth = dev->info.queue_depth;
	v->read_only = dev->params.basic.attrs & UBLK_ATTR_READ_ONLY;
	v->flags = dev->info.flags;
	v->recovery = dev->recovery;
	v->owner_uid = dev->owner_uid;
	v->owner_gid = dev->owner_gid;
	v->io_count = v->ring_wait_io_count = 0;
	v->queue_list = dev->queues;
	v->queues_ready = dev->queues_ready;
	for (unsigned i = 0; i < dev->queues_ready; i++) {
		v->io_count += queue_ios(&dev->queues[i]);
		v->ring_wait_io_count += queue_ios_in_wait(&dev->queues[i]);
	}
}

/* The uid that added the device (0: root). */
uint32_t device_owner(const struct device *dev)
{
	return dev->owner_uid;
}

/* Counts uid's devices, those being added included, and the bytes of
 * those served by mem_backend. */
void device_usage(uint32_t uid, const char *mem_backend, unsigned *count, uint64_t *bytes)
{
	*count = 0;
	*bytes = 0;
	for (struct device *dev = devices.list; dev; dev = dev->next) {
		if (dev->owner_uid != uid)
			continue;
		(*count)++;
		if (mem_backend && strcmp(dev->backend->name, mem_backend) == 0)
			*bytes += dev->geo.size ? dev->geo.size : dev->cfg.size;
	}
}

/* True when ublkd runs without root. */
bool device_unprivileged(void)
{
	return geteuid() != 0;
}
