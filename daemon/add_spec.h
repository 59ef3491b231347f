/* Reading device_add params into a device spec (device_add, and the
 * recovery of a saved device). */
#ifndef UBLKD_ADD_SPEC_H
#define UBLKD_ADD_SPEC_H

#include <stddef.h>
#include <json-c/json.h>

#include "daemon/device.h"

/* Reads and checks every device_add param into spec (strings borrowed
 * from params). Returns 0, or -EINVAL with a message naming the param. */
int add_spec_read(struct json_object *params, struct device_spec *spec, char *err,
		  size_t errlen);
/* Refuses what the running kernel's driver lacks (a recovery mode), naming
 * the kernel version that has it: 0 or -EOPNOTSUPP with a message. */
int add_spec_check_kernel(const struct device_spec *spec, char *err, size_t errlen);

#endif
