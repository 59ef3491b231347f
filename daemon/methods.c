/* The JSON-RPC methods of ublkd: device_add, device_del, device_list,
 * device_info and daemon_info. Each checks its params, then acts through
 * device.c and answers once. */
#include "config.h"
#include "daemon/methods.h"
#include "daemon/device.h"
#include "daemon/device_json.h"
#include "daemon/params.h"
#include "daemon/rpc.h"
#include "common/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ERRLEN 512

static bool methods_stopping;
static struct timespec methods_started;

/* Records when the daemon started, for daemon_info's uptime; new devices are
 * accepted until methods_shutdown. */
void methods_init(void)
{
	clock_gettime(CLOCK_MONOTONIC, &methods_started);
	methods_stopping = false;
}

/* Makes new devices refused from now on (the daemon is stopping). */
void methods_shutdown(void)
{
	methods_stopping = true;
}

/* Answers a finished device_add. */
static void methods_add_done(void *arg, struct device *dev, int err, const char *msg)
{
	struct rpc_call *call = arg;

	if (err)
		rpc_fail(call, err, "%s", msg);
	else
		rpc_reply(call, device_json(dev));
}

/* The device_add params of the daemon itself; the backend's follow. */
static const char *const methods_add_keys[] = { "backend", "id", "queues", "depth",
	"block_size", "read_only", NULL };

/* Finds the backend the params name, or says why not. */
static int methods_add_backend(struct json_object *params, struct device_spec *spec, char *err)
{
	static const char *const none[] = { NULL };
	const char *name = NULL;
	int ret;

	if (params && !json_object_is_type(params, json_type_object))
		return params_check_keys(params, none, err, ERRLEN);
	ret = params_string(params, "backend", &name, err, ERRLEN);
	if (ret) {
		snprintf(err, ERRLEN, "backend: required, one of: %s", backends_names());
		return -EINVAL;
	}
	spec->backend = backends_find(name);
	if (!spec->backend) {
		snprintf(err, ERRLEN, "backend: unknown backend '%s' (expected one of: %s)",
			 name, backends_names());
		return -EINVAL;
	}
	return 0;
}

/* Checks that every param is the daemon's or one the backend declares. */
static int methods_add_keys_check(struct json_object *params, const struct backend_ops *b,
				  char *err)
{
	const char *keys[sizeof(methods_add_keys) / sizeof(methods_add_keys[0]) +
			 BACKEND_MAX_PARAMS];
	char whose[64];
	size_t n = 0;

	for (const char *const *k = methods_add_keys; *k; k++)
		keys[n++] = *k;
	for (size_t i = 0; b->params && b->params[i].name && i < BACKEND_MAX_PARAMS; i++)
		keys[n++] = b->params[i].name;
	keys[n] = NULL;
	snprintf(whose, sizeof(whose), "the %s backend", b->name);
	return params_check_keys_for(params, keys, whose, err, ERRLEN);
}

/* Reads and checks every device_add param into spec. */
static int methods_add_spec(struct json_object *params, struct device_spec *spec, char *err)
{
	char whose[64];
	uint64_t v;
	int ret;

	memset(spec, 0, sizeof(*spec));
	ret = methods_add_backend(params, spec, err);
	if (ret < 0)
		return ret;
	ret = methods_add_keys_check(params, spec->backend, err);
	if (ret < 0)
		return ret;
	spec->id = DEVICE_ID_AUTO;
	if ((ret = params_uint(params, "id", 0, DEVICE_ID_MAX, &v, err, ERRLEN)) < 0)
		return ret;
	if (ret == 0)
		spec->id = (uint32_t)v;
	spec->queues = 1;
	if ((ret = params_uint(params, "queues", 1, UBLK_MAX_NR_QUEUES, &v, err, ERRLEN)) < 0)
		return ret;
	if (ret == 0)
		spec->queues = (uint16_t)v;
	spec->depth = 128;
	if ((ret = params_uint(params, "depth", 1, UBLK_MAX_QUEUE_DEPTH, &v, err, ERRLEN)) < 0)
		return ret;
	if (ret == 0)
		spec->depth = (uint16_t)v;
	spec->cfg.block_size = 512;
	if ((ret = params_uint(params, "block_size", 512, 4096, &v, err, ERRLEN)) < 0)
		return ret;
	if (ret == 0 && (v & (v - 1))) {
		snprintf(err, ERRLEN, "block_size: %llu is not a power of two (expected 512, 1024, 2048 or 4096)",
			 (unsigned long long)v);
		return -EINVAL;
	}
	if (ret == 0)
		spec->cfg.block_size = (uint32_t)v;
	if ((ret = params_bool(params, "read_only", &spec->cfg.read_only, err, ERRLEN)) < 0)
		return ret;
	snprintf(whose, sizeof(whose), "the %s backend", spec->backend->name);
	return params_declared(params, spec->backend->params, whose, spec->cfg.block_size,
			       spec->args, &spec->cfg.size, err, ERRLEN);
}

/* device_add {backend, id?, queues?, depth?, block_size?, read_only?, and the
 * backend's own params} */
static void methods_device_add(struct rpc_call *call, struct json_object *params)
{
	struct device_spec spec;
	char err[ERRLEN] = "";
	int ret;

	if (methods_stopping) {
		rpc_fail(call, -ESHUTDOWN, "ublkd is shutting down; no new devices");
		return;
	}
	ret = methods_add_spec(params, &spec, err);
	if (ret < 0) {
		rpc_fail(call, ret, "%s", err);
		return;
	}
	if (spec.id != DEVICE_ID_AUTO && device_id_taken(spec.id)) {
		rpc_fail(call, -EEXIST, "id: device %u already exists", spec.id);
		return;
	}
	ret = device_driver_open(err, sizeof(err));
	if (ret < 0) {
		rpc_fail_code(call, ret == -ENOENT ? RPC_NO_DRIVER : RPC_DEVICE_ERROR, ret,
			      "%s", err);
		return;
	}
	device_add(&spec, methods_add_done, call);
}

/* Reads the id param and finds its device, or answers the call with the error. */
static struct device *methods_lookup(struct rpc_call *call, struct json_object *params)
{
	static const char *const keys[] = { "id", NULL };
	struct device *dev;
	char err[ERRLEN];
	uint64_t id;
	int ret;

	ret = params_check_keys(params, keys, err, ERRLEN);
	if (ret == 0)
		ret = params_uint(params, "id", 0, DEVICE_ID_MAX, &id, err, ERRLEN);
	if (ret == 1) {
		snprintf(err, ERRLEN, "id: required (a device id from device_list)");
		ret = -EINVAL;
	}
	if (ret < 0) {
		rpc_fail(call, ret, "%s", err);
		return NULL;
	}
	dev = device_find((uint32_t)id);
	if (!dev)
		rpc_fail(call, -ENODEV, "device %llu: no such device", (unsigned long long)id);
	return dev;
}

/* Answers a finished device_del. */
static void methods_del_done(void *arg, struct device *dev, int err, const char *msg)
{
	struct rpc_call *call = arg;

	(void)dev;
	if (err)
		rpc_fail(call, err, "%s", msg);
	else
		rpc_reply(call, NULL);
}

/* device_del {id} */
static void methods_device_del(struct rpc_call *call, struct json_object *params)
{
	struct device *dev = methods_lookup(call, params);

	if (dev)
		device_del(dev, methods_del_done, call);
}

/* device_info {id} */
static void methods_device_info(struct rpc_call *call, struct json_object *params)
{
	struct device *dev = methods_lookup(call, params);

	if (dev)
		rpc_reply(call, device_json(dev));
}

/* Appends one device object to a JSON array. */
static void methods_list_one(struct device *dev, void *arg)
{
	json_object_array_add(arg, device_json(dev));
}

/* device_list {} */
static void methods_device_list(struct rpc_call *call, struct json_object *params)
{
	static const char *const keys[] = { NULL };
	struct json_object *list;
	char err[ERRLEN];

	if (params_check_keys(params, keys, err, ERRLEN) < 0) {
		rpc_fail(call, -EINVAL, "%s", err);
		return;
	}
	list = json_object_new_array();
	device_foreach(methods_list_one, list);
	rpc_reply(call, list);
}

/* Lists the names of the feature bits that are set: the kernel's UBLK_F_*
 * names without the prefix (SUPPORT_ZERO_COPY shows as ZERO_COPY), "BITn"
 * for a bit newer than this list. */
static struct json_object *methods_feature_names(uint64_t features)
{
	static const struct {
		uint64_t flag;
		const char *name;
	} names[] = {
		{ UBLK_F_SUPPORT_ZERO_COPY, "ZERO_COPY" },
		{ UBLK_F_URING_CMD_COMP_IN_TASK, "URING_CMD_COMP_IN_TASK" },
		{ UBLK_F_NEED_GET_DATA, "NEED_GET_DATA" },
		{ UBLK_F_USER_RECOVERY, "USER_RECOVERY" },
		{ UBLK_F_USER_RECOVERY_REISSUE, "USER_RECOVERY_REISSUE" },
		{ UBLK_F_UNPRIVILEGED_DEV, "UNPRIVILEGED_DEV" },
		{ UBLK_F_CMD_IOCTL_ENCODE, "CMD_IOCTL_ENCODE" },
		{ UBLK_F_USER_COPY, "USER_COPY" },
		{ UBLK_F_ZONED, "ZONED" },
		{ UBLK_F_USER_RECOVERY_FAIL_IO, "USER_RECOVERY_FAIL_IO" },
		{ UBLK_F_UPDATE_SIZE, "UPDATE_SIZE" },
		{ UBLK_F_AUTO_BUF_REG, "AUTO_BUF_REG" },
		{ UBLK_F_QUIESCE, "QUIESCE" },
		{ UBLK_F_PER_IO_DAEMON, "PER_IO_DAEMON" },
		{ UBLK_F_BUF_REG_OFF_DAEMON, "BUF_REG_OFF_DAEMON" },
		{ UBLK_F_BATCH_IO, "BATCH_IO" },
		{ UBLK_F_INTEGRITY, "INTEGRITY" },
		{ UBLK_F_SAFE_STOP_DEV, "SAFE_STOP_DEV" },
		{ UBLK_F_NO_AUTO_PART_SCAN, "NO_AUTO_PART_SCAN" },
		{ UBLK_F_SHMEM_ZC, "SHMEM_ZC" },
		{ UBLK_F_IO_DESC_SIZE, "IO_DESC_SIZE" },
	};
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < 64; i++) {
		const char *name = NULL;
		char buf[16];

		if (!(features & (1ULL << i)))
			continue;
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]) && !name; j++)
			if (names[j].flag == 1ULL << i)
				name = names[j].name;
		if (!name) {
			snprintf(buf, sizeof(buf), "BIT%u", i);
			name = buf;
		}
		json_object_array_add(a, json_object_new_string(name));
	}
	return a;
}

/* daemon_info {} */
static void methods_daemon_info(struct rpc_call *call, struct json_object *params)
{
	static const char *const keys[] = { NULL };
	struct json_object *o;
	struct timespec now;
	char err[ERRLEN];
	uint64_t features;
	bool loaded;

	if (params_check_keys(params, keys, err, ERRLEN) < 0) {
		rpc_fail(call, -EINVAL, "%s", err);
		return;
	}
	/* Probe the driver now if it appeared since start-up. */
	device_driver_open(err, sizeof(err));
	features = device_driver_features(&loaded);
	clock_gettime(CLOCK_MONOTONIC, &now);
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "protocol", json_object_new_int(UBLKD_PROTOCOL_VERSION));
	json_object_object_add(o, "driver_loaded", json_object_new_boolean(loaded));
	json_object_object_add(o, "features", json_object_new_int64((int64_t)features));
	json_object_object_add(o, "feature_names", methods_feature_names(features));
	json_object_object_add(o, "uptime",
			       json_object_new_int64(now.tv_sec - methods_started.tv_sec));
	json_object_object_add(o, "devices", json_object_new_int((int)device_count()));
	rpc_reply(call, o);
}

/* Every method: name, function, and whether it changes state (logged). */
const struct rpc_method methods_table[] = {
	{ RPC_M_DEVICE_ADD, methods_device_add, true },
	{ RPC_M_DEVICE_DEL, methods_device_del, true },
	{ RPC_M_DEVICE_LIST, methods_device_list, false },
	{ RPC_M_DEVICE_INFO, methods_device_info, false },
	{ RPC_M_DAEMON_INFO, methods_daemon_info, false },
	{ NULL, NULL, false },
};
