/* The device object of the control protocol. */
#ifndef UBLKD_DEVICE_JSON_H
#define UBLKD_DEVICE_JSON_H

#include <stdbool.h>
#include <json-c/json.h>

#include "daemon/device.h"

/* Adds the backend params the device was added with to o under their
 * names, in device_add's form; the SIZE one only with with_size. */
void device_json_args(struct json_object *o, const struct device_view *v, bool with_size);
/* Builds the device object of the protocol. */
struct json_object *device_json(const struct device *dev);

#endif
