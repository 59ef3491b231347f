/* A fake device layer for the methods tests (see fake_device.h). */
#include "config.h"
#include "fake_device.h"
#include "daemon/device_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct device {
	bool used;
	uint32_t id;
	char backend[32];
	uint64_t size;
	uint32_t owner;
};

struct fake_device_state fake_device;

static struct device fake_devices[FAKE_DEVICE_MAX];

/* The device_add or device_del waiting for its finish call. */
static struct {
	device_done_fn done;
	void *arg;
	uint32_t id;
	struct device *dev;
} fake_add, fake_del;

/* Forgets every device and pending call. */
void fake_device_reset(void)
{
	memset(&fake_device, 0, sizeof(fake_device));
	memset(fake_devices, 0, sizeof(fake_devices));
	memset(&fake_add, 0, sizeof(fake_add));
	memset(&fake_del, 0, sizeof(fake_del));
}

/* Finds a live device by id. */
struct device *device_find(uint32_t id)
{
	for (int i = 0; i < FAKE_DEVICE_MAX; i++)
		if (fake_devices[i].used && fake_devices[i].id == id)
			return &fake_devices[i];
	return NULL;
}

/* Makes a live device as if added earlier. */
void fake_device_create(uint32_t id, const char *backend, uint64_t size)
{
	for (int i = 0; i < FAKE_DEVICE_MAX; i++) {
		struct device *d = &fake_devices[i];

		if (d->used)
			continue;
		d->used = true;
		d->id = id;
		snprintf(d->backend, sizeof(d->backend), "%s", backend);
		d->size = size;
		return;
	}
	abort();
}

/* True while a device with this id exists or is being added. */
bool device_id_taken(uint32_t id)
{
	return device_find(id) || (fake_add.done && fake_add.id == id);
}

/* Fails with fake_device.open_err, if set. */
int device_driver_open(char *err, size_t errlen)
{
	fake_device.open_calls++;
	if (fake_device.open_err)
		snprintf(err, errlen, "%s", fake_device.open_msg);
	return fake_device.open_err;
}

/* The features set in fake_device. */
uint64_t device_driver_features(bool *loaded)
{
	*loaded = fake_device.loaded;
	return fake_device.features;
}

/* The lowest id no device has. */
static uint32_t fake_free_id(void)
{
	uint32_t id = 0;

	while (device_find(id))
		id++;
	return id;
}

/* Makes the device spec asked for and reports it, or reports err. */
static void fake_add_finish(device_done_fn done, void *arg, uint32_t id, int err,
			    const char *msg)
{
	if (err) {
		done(arg, NULL, err, msg);
		return;
	}
	fake_device_create(id, fake_device.backend, fake_device.spec.cfg.size);
	device_find(id)->owner = fake_device.spec.owner_uid;
	done(arg, device_find(id), 0, NULL);
}

/* The recorded spec's argument for the backend's parameter name, or NULL
 * when the backend declares none of that name. */
const struct backend_arg *fake_device_arg(const char *name)
{
	const struct backend_param *p = fake_device.spec.backend->params;

	for (size_t i = 0; p && p[i].name; i++)
		if (strcmp(p[i].name, name) == 0)
			return &fake_device.spec.args[i];
	return NULL;
}

/* Copies the text of the recorded spec's argument name into buf. */
static void fake_device_keep_text(const char *name, char *buf, size_t len)
{
	const struct backend_arg *a = fake_device_arg(name);

	snprintf(buf, len, "%s", a && a->text ? a->text : "");
}

/* Records the spec, then finishes now or when the test says. */
void device_add(const struct device_spec *spec, device_done_fn done, void *arg)
{
	uint32_t id = spec->id == DEVICE_ID_AUTO ? fake_free_id() : spec->id;

	fake_device.add_calls++;
	fake_device.spec = *spec;
	snprintf(fake_device.backend, sizeof(fake_device.backend), "%s", spec->backend->name);
	fake_device_keep_text("path", fake_device.path, sizeof(fake_device.path));
	fake_device_keep_text("entry", fake_device.entry, sizeof(fake_device.entry));
	/* The borrowed strings die with the request. */
	for (unsigned i = 0; i < BACKEND_MAX_PARAMS; i++)
		fake_device.spec.args[i].text = NULL;
	if (fake_device.add_defer) {
		fake_add.done = done;
		fake_add.arg = arg;
		fake_add.id = id;
		return;
	}
	fake_add_finish(done, arg, id, fake_device.add_err, fake_device.add_msg);
}

/* Finishes the deferred device_add. */
void fake_device_finish_add(int err, const char *msg)
{
	device_done_fn done = fake_add.done;

	if (!done)
		abort();
	fake_add.done = NULL;
	fake_add_finish(done, fake_add.arg, fake_add.id, err, msg);
}

/* Removes dev and reports it, or reports err. */
static void fake_del_finish(device_done_fn done, void *arg, struct device *dev, int err,
			    const char *msg)
{
	if (err) {
		done(arg, dev, err, msg);
		return;
	}
	dev->used = false;
	done(arg, NULL, 0, NULL);
}

/* Records the id, then deletes now or when the test says. */
void device_del(struct device *dev, device_done_fn done, void *arg)
{
	fake_device.del_calls++;
	fake_device.del_id = dev->id;
	if (fake_device.del_defer) {
		fake_del.done = done;
		fake_del.arg = arg;
		fake_del.dev = dev;
		return;
	}
	fake_del_finish(done, arg, dev, fake_device.del_err, fake_device.del_msg);
}

/* Finishes the deferred device_del. */
void fake_device_finish_del(int err, const char *msg)
{
	device_done_fn done = fake_del.done;

	if (!done)
		abort();
	fake_del.done = NULL;
	fake_del_finish(done, fake_del.arg, fake_del.dev, err, msg);
}

/* Calls fn for each device in id order. */
void device_foreach(void (*fn)(struct device *dev, void *arg), void *arg)
{
	uint32_t next = 0;

	for (;;) {
		struct device *low = NULL;

		for (int i = 0; i < FAKE_DEVICE_MAX; i++) {
			struct device *d = &fake_devices[i];

			if (d->used && d->id >= next && (!low || d->id < low->id))
				low = d;
		}
		if (!low)
			return;
		next = low->id + 1;
		fn(low, arg);
	}
}

/* Counts the devices. */
unsigned device_count(void)
{
	unsigned n = 0;

	for (int i = 0; i < FAKE_DEVICE_MAX; i++)
		n += fake_devices[i].used;
	return n;
}

/* The device's id. */
uint32_t device_id(const struct device *dev)
{
	return dev->id;
}

/* A small device object: id, backend, size and state. */
struct json_object *device_json(const struct device *dev)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(dev->id));
	json_object_object_add(o, "backend", json_object_new_string(dev->backend));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)dev->size));
	json_object_object_add(o, "state", json_object_new_string("live"));
	return o;
}

/* The uid that added the device. */
uint32_t device_owner(const struct device *dev)
{
	return dev->owner;
}

/* Gives a live device to uid. */
void fake_device_set_owner(uint32_t id, uint32_t uid)
{
	device_find(id)->owner = uid;
}

/* Counts uid's devices and the bytes of its mem ones. */
void device_usage(uint32_t uid, const char *mem_backend, unsigned *count, uint64_t *bytes)
{
	*count = 0;
	*bytes = 0;
	for (int i = 0; i < FAKE_DEVICE_MAX; i++) {
		struct device *d = &fake_devices[i];

		if (!d->used || d->owner != uid)
			continue;
		(*count)++;
		if (mem_backend && strcmp(d->backend, mem_backend) == 0)
			*bytes += d->size;
	}
}
