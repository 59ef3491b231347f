/* Reading JSON-RPC params with checks that name what was wrong. */
#ifndef UBLKD_PARAMS_H
#define UBLKD_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Returns -EINVAL with a message unless params is an object (or NULL) whose
 * keys are all in the NULL-terminated list allowed. */
int params_check_keys(struct json_object *params, const char *const *allowed,
		      char *err, size_t errlen);
/* Reads an integer in [min, max]: 0 found, 1 absent, -EINVAL wrong. */
int params_uint(struct json_object *params, const char *key, uint64_t min,
		uint64_t max, uint64_t *out, char *err, size_t errlen);
/* Reads a size: an integer of bytes or a string like "1G": 0, 1 absent, -EINVAL. */
int params_size(struct json_object *params, const char *key, uint64_t *out,
		char *err, size_t errlen);
/* Reads a boolean: 0 found, 1 absent, -EINVAL wrong type. */
int params_bool(struct json_object *params, const char *key, bool *out,
		char *err, size_t errlen);
/* Reads a non-empty string (borrowed): 0 found, 1 absent, -EINVAL wrong. */
int params_string(struct json_object *params, const char *key, const char **out,
		  char *err, size_t errlen);

#endif
