/* The device object of the control protocol. */
#ifndef UBLKD_DEVICE_JSON_H
#define UBLKD_DEVICE_JSON_H

#include <json-c/json.h>

#include "daemon/device.h"

/* Builds the device object of the protocol. */
struct json_object *device_json(const struct device *dev);

#endif
