/* The device object of the control protocol, built from a device's view. */
#include "config.h"
#include "daemon/device_json.h"

#include <stdio.h>

/* The sink a backend's describe writes the device object's fields into. */
struct device_json_report {
	struct backend_report ops;	/* first: the backend sees only this */
	struct json_object *obj;
};

/* Adds one reported text field. */
static void device_json_text(struct backend_report *r, const char *key, const char *value)
{
	json_object_object_add(((struct device_json_report *)r)->obj, key,
			       json_object_new_string(value));
}

/* Adds one reported number field. */
static void device_json_number(struct backend_report *r, const char *key, uint64_t value)
{
	json_object_object_add(((struct device_json_report *)r)->obj, key,
			       json_object_new_int64((int64_t)value));
}

/* Adds one reported boolean field. */
static void device_json_flag(struct backend_report *r, const char *key, bool value)
{
	json_object_object_add(((struct device_json_report *)r)->obj, key,
			       json_object_new_boolean(value));
}

/* Adds one reported real number field. */
static void device_json_real(struct backend_report *r, const char *key, double value)
{
	json_object_object_add(((struct device_json_report *)r)->obj, key,
			       json_object_new_double(value));
}

/* Adds the backend params the device was added with to o under their
 * names, in device_add's form; the SIZE one only with with_size. */
void device_json_args(struct json_object *o, const struct device_view *v, bool with_size)
{
	const struct backend_param *p = v->backend->params;

	for (size_t i = 0; p && p[i].name && i < BACKEND_MAX_PARAMS; i++) {
		const struct backend_arg *a = &v->args[i];
		struct json_object *val;

		if (!a->given || (p[i].type == BACKEND_PARAM_SIZE && !with_size))
			continue;
		if (p[i].type == BACKEND_PARAM_FLAG)
			val = json_object_new_boolean(a->flag);
		else if (p[i].type == BACKEND_PARAM_BYTES || p[i].type == BACKEND_PARAM_SIZE)
			val = json_object_new_int64((int64_t)a->bytes);
		else
			val = json_object_new_string(a->text);
		json_object_object_add(o, p[i].name, val);
	}
}

/* The io thread serving each queue (null: the main loop), in queue order. */
static struct json_object *device_json_threads(const struct device_view *v)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < v->queues_ready; i++) {
		const struct queue *q = &v->queue_list[i];

		json_object_array_add(a, q->thread ? json_object_new_int64(io_thread_index(q->thread))
						   : NULL);
	}
	return a;
}

/* Builds the device object of the protocol. */
struct json_object *device_json(const struct device *dev)
{
	struct json_object *o = json_object_new_object();
	struct device_json_report report = {
		.ops = { device_json_text, device_json_number, device_json_flag, device_json_real },
	};
	struct device_view v;
	char path[64];

	device_view(dev, &v);
	json_object_object_add(o, "id", json_object_new_int64(v.id));
	snprintf(path, sizeof(path), "/dev/ublkb%u", v.id);
	json_object_object_add(o, "block_device", json_object_new_string(path));
	snprintf(path, sizeof(path), "/dev/ublkc%u", v.id);
	json_object_object_add(o, "char_device", json_object_new_string(path));
	json_object_object_add(o, "backend", json_object_new_string(v.backend->name));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)v.geo->size));
	json_object_object_add(o, "block_size", json_object_new_int64(v.geo->block_size));
	json_object_object_add(o, "queues", json_object_new_int64(v.queues));
	json_object_object_add(o, "depth", json_object_new_int64(v.depth));
	json_object_object_add(o, "read_only", json_object_new_boolean(v.read_only));
	json_object_object_add(o, "state", json_object_new_string(device_state_name(v.state)));
	json_object_object_add(o, "owner_uid", json_object_new_int64(v.owner_uid));
	device_json_args(o, &v, false);	/* the size is the device's own field */
	json_object_object_add(o, "discard", json_object_new_boolean(v.geo->max_discard_bytes > 0));
	json_object_object_add(o, "write_zeroes",
			       json_object_new_boolean(v.geo->max_write_zeroes_bytes > 0));
	json_object_object_add(o, "volatile_cache", json_object_new_boolean(v.geo->volatile_cache));
	json_object_object_add(o, "flags", json_object_new_int64((int64_t)v.flags));
	json_object_object_add(o, "batch_io",
			       json_object_new_boolean((v.flags & UBLK_F_BATCH_IO) != 0));
	json_object_object_add(o, "zero_copy",
			       json_object_new_boolean((v.flags & UBLK_F_AUTO_BUF_REG) != 0));
	json_object_object_add(o, "user_copy",
			       json_object_new_boolean((v.flags & UBLK_F_USER_COPY) != 0));
	json_object_object_add(o, "recovery",
			       json_object_new_string(device_recovery_name(v.recovery)));
	json_object_object_add(o, "io_count", json_object_new_int64((int64_t)v.io_count));
	json_object_object_add(o, "ring_wait_io_count",
			       json_object_new_int64((int64_t)v.ring_wait_io_count));
	json_object_object_add(o, "io_threads", device_json_threads(&v));
	report.obj = o;
	io_describe(v.target, &report.ops);
	return o;
}
