/* Reading JSON-RPC params with checks that name what was wrong. */
#include "config.h"
#include "daemon/params.h"
#include "common/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Returns the member key of params, or NULL when params or the key is absent. */
static struct json_object *params_member(struct json_object *params, const char *key)
{
	struct json_object *v = NULL;

	if (!params || !json_object_is_type(params, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(params, key, &v))
		return NULL;
	return v;
}

/* Returns -EINVAL with a message unless params is an object with allowed keys only. */
int params_check_keys(struct json_object *params, const char *const *allowed,
		      char *err, size_t errlen)
{
	if (!params)
		return 0;
	if (!json_object_is_type(params, json_type_object)) {
		snprintf(err, errlen, "params: expected an object of named parameters");
		return -EINVAL;
	}
	json_object_object_foreach(params, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = true;
		if (!ok) {
			size_t n = (size_t)snprintf(err, errlen, "%s: unknown parameter (expected", key);

			for (const char *const *a = allowed; *a && n < errlen; a++)
				n += (size_t)snprintf(err + n, errlen - n, "%s %s",
						      a == allowed ? "" : ",", *a);
			if (n < errlen)
				snprintf(err + n, errlen - n, ")");
			return -EINVAL;
		}
	}
	return 0;
}

/* Reads an integer in [min, max]: 0 found, 1 absent, -EINVAL wrong. */
int params_uint(struct json_object *params, const char *key, uint64_t min,
		uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);
	int64_t i;

	if (!v)
		return 1;
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: expected an integer from %" PRIu64 " to %" PRIu64,
			 key, min, max);
		return -EINVAL;
	}
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max) {
		snprintf(err, errlen, "%s: %s is out of range (expected %" PRIu64 " to %" PRIu64 ")",
			 key, json_object_to_json_string(v), min, max);
		return -EINVAL;
	}
	*out = (uint64_t)i;
	return 0;
}

/* Reads a size: an integer of bytes or a string like "1G": 0, 1 absent, -EINVAL. */
int params_size(struct json_object *params, const char *key, uint64_t *out,
		char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);

	if (v && json_object_is_type(v, json_type_string)) {
		if (size_parse(json_object_get_string(v), out) < 0 || *out > INT64_MAX) {
			snprintf(err, errlen, "%s: '%s' is not a size (expected bytes, or a "
				 "number with K, M, G or T)", key, json_object_get_string(v));
			return -EINVAL;
		}
		return 0;
	}
	if (v && !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: expected a number of bytes or a string like \"1G\"", key);
		return -EINVAL;
	}
	return params_uint(params, key, 0, INT64_MAX, out, err, errlen);
}

/* Reads a boolean: 0 found, 1 absent, -EINVAL wrong type. */
int params_bool(struct json_object *params, const char *key, bool *out,
		char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);

	if (!v)
		return 1;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "%s: expected true or false", key);
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* Reads a non-empty string (borrowed): 0 found, 1 absent, -EINVAL wrong. */
int params_string(struct json_object *params, const char *key, const char **out,
		  char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);

	if (!v)
		return 1;
	if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v)) {
		snprintf(err, errlen, "%s: expected a non-empty string", key);
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}
