/* Printing ublkd's replies for people (tables, key: value lines) or as JSON.
 * Functions return 0, or -EPROTO when the reply is not shaped as expected;
 * write errors are left in the FILE for the caller to check. */
#ifndef UBLKCTL_OUTPUT_H
#define UBLKCTL_OUTPUT_H

#include <stdio.h>
#include <json-c/json.h>

/* Prints a JSON value on one line, as compact as it came. */
int output_json(FILE *out, struct json_object *value);

/* Prints the device's block device path: its "block_device" field. */
int output_device_path(FILE *out, struct json_object *device);

/* Prints an array of devices as an aligned table under the header
 * "ID DEVICE BACKEND SIZE QUEUES DEPTH STATE". */
int output_table(FILE *out, struct json_object *devices);

/* Prints every member of an object as a "key: value" line, in order. */
int output_fields(FILE *out, struct json_object *object);

#endif
