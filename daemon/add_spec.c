/* Reading device_add params into a device spec: the daemon's own (id,
 * queues, depth, block_size, read_only, recovery) and those the backend
 * declares. device_add and the recovery of a saved device read them the
 * same way. */
#include "config.h"
#include "daemon/add_spec.h"
#include "daemon/control.h"
#include "daemon/params.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The device_add params of the daemon itself; the backend's follow. */
static const char *const add_spec_keys_daemon[] = { "backend", "id", "queues", "depth",
	"block_size", "read_only", "recovery", NULL };

/* Finds the backend the params name, or says why not. */
static int add_spec_backend(struct json_object *params, struct device_spec *spec, char *err,
			    size_t errlen)
{
	static const char *const none[] = { NULL };
	struct json_object *v;
	const char *name = NULL;
	int ret;

	if (params && !json_object_is_type(params, json_type_object))
		return params_check_keys(params, none, err, errlen);
	ret = params_string(params, "backend", &name, err, errlen);
	/* A name with a NUL in it is named as such. */
	if (ret < 0 && json_object_object_get_ex(params, "backend", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v))
		return ret;
	if (ret) {
		snprintf(err, errlen, "backend: required, one of: %s", backends_names());
		return -EINVAL;
	}
	spec->backend = backends_find(name);
	if (!spec->backend) {
		snprintf(err, errlen, "backend: unknown backend '%.*s%s' (expected one of: %s)",
			 params_quote_len(name), name, params_quote_more(name), backends_names());
		return -EINVAL;
	}
	return 0;
}

/* Checks that every param is the daemon's or one the backend declares. */
static int add_spec_keys(struct json_object *params, const struct backend_ops *b, char *err,
			 size_t errlen)
{
	const char *keys[sizeof(add_spec_keys_daemon) / sizeof(add_spec_keys_daemon[0]) +
			 BACKEND_MAX_PARAMS];
	char whose[64];
	size_t n = 0;

	for (const char *const *k = add_spec_keys_daemon; *k; k++)
		keys[n++] = *k;
	for (size_t i = 0; b->params && b->params[i].name && i < BACKEND_MAX_PARAMS; i++)
		keys[n++] = b->params[i].name;
	keys[n] = NULL;
	snprintf(whose, sizeof(whose), "the %s backend", b->name);
	/* "fd" (add_spec_fd) is checked on its own, and not listed: it is
	 * how ublkctl passes a file, not a param people type. */
	if (json_object_is_type(params, json_type_object) &&
	    json_object_object_get_ex(params, "fd", NULL)) {
		struct json_object *rest = json_object_new_object();
		int ret;

		json_object_object_foreach(params, key, val)
			if (strcmp(key, "fd") != 0)
				json_object_object_add(rest, key, json_object_get(val));
		ret = params_check_keys_for(rest, keys, whose, err, errlen);
		json_object_put(rest);
		return ret;
	}
	return params_check_keys_for(params, keys, whose, err, errlen);
}

/* Reads "fd", the index of a passed descriptor standing for the backend's
 * file (its PATH parameter), into spec->fd_index (-1 when absent). */
static int add_spec_fd(struct json_object *params, struct device_spec *spec, char *err,
		       size_t errlen)
{
	const struct backend_param *p = spec->backend->params;
	struct json_object *v;
	uint64_t i;
	int ret;

	spec->fd_index = -1;
	spec->path_index = -1;
	for (size_t k = 0; p && p[k].name && k < BACKEND_MAX_PARAMS; k++)
		if (p[k].type == BACKEND_PARAM_PATH && spec->path_index < 0)
			spec->path_index = (int)k;
	ret = params_uint(params, "fd", 0, CONTROL_MAX_FDS - 1, &i, err, errlen);
	if (ret)
		return ret < 0 ? ret : 0;
	if (spec->path_index < 0) {
		snprintf(err, errlen, "fd: the %s backend opens no file, so it takes no "
			 "descriptor", spec->backend->name);
		return -EINVAL;
	}
	if (json_object_object_get_ex(params, p[spec->path_index].name, &v)) {
		snprintf(err, errlen, "fd: give either %s or fd (a descriptor passed for it), "
			 "not both", p[spec->path_index].name);
		return -EINVAL;
	}
	spec->fd_index = (int)i;
	return 0;
}

/* Reads and checks every device_add param into spec. */
int add_spec_read(struct json_object *params, struct device_spec *spec, char *err, size_t errlen)
{
	const char *name = NULL;
	char whose[64];
	uint64_t v;
	int ret;

	memset(spec, 0, sizeof(*spec));
	ret = add_spec_backend(params, spec, err, errlen);
	if (ret < 0)
		return ret;
	ret = add_spec_keys(params, spec->backend, err, errlen);
	if (ret == 0)
		ret = add_spec_fd(params, spec, err, errlen);
	if (ret < 0)
		return ret;
	spec->id = DEVICE_ID_AUTO;
	if ((ret = params_uint(params, "id", 0, DEVICE_ID_MAX, &v, err, errlen)) < 0)
		return ret;
	if (ret == 0)
		spec->id = (uint32_t)v;
	spec->queues = 1;
	if ((ret = params_uint(params, "queues", 1, UBLK_MAX_NR_QUEUES, &v, err, errlen)) < 0)
		return ret;
	if (ret == 0)
		spec->queues = (uint16_t)v;
	spec->depth = 128;
	if ((ret = params_uint(params, "depth", 1, UBLK_MAX_QUEUE_DEPTH, &v, err, errlen)) < 0)
		return ret;
	if (ret == 0)
		spec->depth = (uint16_t)v;
	spec->cfg.block_size = 512;
	if ((ret = params_uint(params, "block_size", 512, 4096, &v, err, errlen)) < 0)
		return ret;
	if (ret == 0 && (v & (v - 1))) {
		snprintf(err, errlen, "block_size: %llu is not a power of two (expected 512, 1024, 2048 or 4096)",
			 (unsigned long long)v);
		return -EINVAL;
	}
	if (ret == 0)
		spec->cfg.block_size = (uint32_t)v;
	if ((ret = params_bool(params, "read_only", &spec->cfg.read_only, err, errlen)) < 0)
		return ret;
	spec->recovery = DEVICE_RECOVERY_REISSUE;
	if ((ret = params_string(params, "recovery", &name, err, errlen)) < 0)
		return ret;
	if (ret == 0 && device_recovery_parse(name, &spec->recovery) < 0) {
		snprintf(err, errlen, "recovery: '%.*s%s' is not a recovery mode (expected "
			 "reissue, fail-io or none)", params_quote_len(name), name,
			 params_quote_more(name));
		return -EINVAL;
	}
	snprintf(whose, sizeof(whose), "the %s backend", spec->backend->name);
	return params_declared(params, spec->backend->params, whose, spec->cfg.block_size,
			       spec->fd_index >= 0, spec->args, &spec->cfg.size, err, errlen);
}

/* Refuses what the running kernel's driver lacks (a recovery mode), naming
 * the kernel version that has it. */
int add_spec_check_kernel(const struct device_spec *spec, char *err, size_t errlen)
{
	static const struct {
		uint64_t flag;
		const char *name, *since;
	} needs[] = {
		{ UBLK_F_USER_RECOVERY, "USER_RECOVERY", "6.1" },
		{ UBLK_F_USER_RECOVERY_REISSUE, "USER_RECOVERY_REISSUE", "6.1" },
		{ UBLK_F_USER_RECOVERY_FAIL_IO, "USER_RECOVERY_FAIL_IO", "6.13" },
	};
	enum device_recovery mode = spec->recovery;
	uint64_t want = device_recovery_flags(mode);
	bool loaded;
	uint64_t have = device_driver_features(&loaded);

	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		if ((want & needs[i].flag) && !(have & needs[i].flag)) {
			snprintf(err, errlen, "recovery: %s needs Linux %s or later (this kernel's "
				 "ublk driver lacks %s); use --recovery none or reissue",
				 device_recovery_name(mode), needs[i].since, needs[i].name);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}
