/* The device object of the control protocol, built from a device's view. */
#include "config.h"
#include "daemon/device_json.h"

#include <stdio.h>

/* Builds the device object of the protocol. */
struct json_object *device_json(const struct device *dev)
{
	struct json_object *o = json_object_new_object();
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
	if (v.path)
		json_object_object_add(o, "path", json_object_new_string(v.path));
	if (v.entry)
		json_object_object_add(o, "entry", json_object_new_string(v.entry));
	json_object_object_add(o, "discard", json_object_new_boolean(v.geo->max_discard_bytes > 0));
	json_object_object_add(o, "write_zeroes",
			       json_object_new_boolean(v.geo->max_write_zeroes_bytes > 0));
	json_object_object_add(o, "volatile_cache", json_object_new_boolean(v.geo->volatile_cache));
	json_object_object_add(o, "flags", json_object_new_int64((int64_t)v.flags));
	json_object_object_add(o, "io_count", json_object_new_int64((int64_t)v.io_count));
	if (v.backend->describe && v.backend_priv)
		v.backend->describe(v.backend_priv, o);
	return o;
}
