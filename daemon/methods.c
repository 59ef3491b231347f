/* The JSON-RPC methods of ublkd: device_add, device_del, device_list,
 * device_info and daemon_info. Each checks its params, then acts through
 * device.c and answers once. */
#include "config.h"
#include "daemon/methods.h"
#include "daemon/access.h"
#include "daemon/add_creds.h"
#include "daemon/add_spec.h"
#include "daemon/device.h"
#include "daemon/device_json.h"
#include "daemon/params.h"
#include "daemon/rpc.h"
#include "daemon/rpc_log.h"
#include "common/log.h"
#include "common/protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ERRLEN 512

static bool methods_stopping;
static struct timespec methods_started;
static methods_stop_fn methods_stop;

/* Records when the daemon started, for daemon_info's uptime; new devices are
 * accepted until methods_shutdown. */
void methods_init(methods_stop_fn stop)
{
	clock_gettime(CLOCK_MONOTONIC, &methods_started);
	methods_stopping = false;
	methods_stop = stop;
}

/* Makes new devices refused from now on (the daemon is stopping). */
void methods_shutdown(void)
{
	methods_stopping = true;
}

/* Refuses call for a reason of the peer's credentials: logs who and why
 * (rate-limited per peer), then answers with err. */
static void methods_refuse(struct rpc_call *call, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void methods_refuse(struct rpc_call *call, int err, const char *fmt, ...)
{
	const struct control_peer *peer = rpc_call_peer(call);
	char msg[ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rpc_log_allow(peer, LOG_LEVEL_WARN))
		log_warn("refused a request of uid=%u pid=%d: %s", (unsigned int)peer->uid,
			 (int)peer->pid, msg);
	rpc_fail(call, err, "%s", msg);
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

static void methods_add_checked(struct rpc_call *call, struct device_spec *spec, char *err);

/* device_add {backend, fd?, id?, queues?, depth?, block_size?, read_only?, and the
 * backend's own params} */
static void methods_device_add(struct rpc_call *call, struct json_object *params)
{
	struct add_creds_keep keep = { .fd = -1 };
	struct device_spec spec;
	char err[ERRLEN] = "";
	int ret;

	if (methods_stopping) {
		rpc_fail(call, -ESHUTDOWN, "ublkd is shutting down; no new devices");
		return;
	}
	ret = add_spec_read(params, &spec, err, sizeof(err));
	if (ret < 0) {
		rpc_fail(call, ret, "%s", err);
		return;
	}
	ret = add_creds_apply(call, &spec, &keep, err, sizeof(err));
	if (ret < 0) {
		add_creds_release(&keep);
		methods_refuse(call, ret, "%s", err);
		return;
	}
	methods_add_checked(call, &spec, err);
	add_creds_release(&keep);	/* device_add kept a copy */
}

/* The rest of device_add, once the peer may: the id, the driver, the kernel. */
static void methods_add_checked(struct rpc_call *call, struct device_spec *spec, char *err)
{
	int ret;

	if (spec->id != DEVICE_ID_AUTO && device_id_taken(spec->id)) {
		rpc_fail(call, -EEXIST, "id: device %u already exists", spec->id);
		return;
	}
	ret = device_driver_open(err, ERRLEN);
	if (ret < 0) {
		rpc_fail_code(call, ret == -ENOENT ? RPC_NO_DRIVER : RPC_DEVICE_ERROR, ret,
			      "%s", err);
		return;
	}
	ret = add_spec_check_kernel(spec, err, ERRLEN);
	if (ret < 0) {
		rpc_fail(call, ret, "%s", err);
		return;
	}
	device_add(spec, methods_add_done, call);
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
	/* The peer is read first: a failed lookup answers, and frees, call. */
	uint32_t uid = (uint32_t)rpc_call_peer(call)->uid;
	struct device *dev = methods_lookup(call, params);

	if (dev && !access_may_change(uid, device_owner(dev)))
		methods_refuse(call, -EPERM, "device %u belongs to uid %u; only its owner or "
			       "root may delete it", device_id(dev), device_owner(dev));
	else if (dev)
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

/* daemon_shutdown {keep_devices?}: answers, then stops the daemon: every
 * device deleted (as SIGTERM does), or with keep_devices left in the
 * kernel, with its record, for the next daemon to recover. */
static void methods_daemon_shutdown(struct rpc_call *call, struct json_object *params)
{
	static const char *const keys[] = { "keep_devices", NULL };
	bool keep = false;
	char err[ERRLEN];
	int ret;

	ret = params_check_keys(params, keys, err, ERRLEN);
	if (ret == 0)
		ret = params_bool(params, "keep_devices", &keep, err, ERRLEN);
	if (ret < 0) {
		rpc_fail(call, ret, "%s", err);
		return;
	}
	if (!access_daemon_wide((uint32_t)rpc_call_peer(call)->uid)) {
		methods_refuse(call, -EPERM, "only root (or ublkd's own user) may shut ublkd down");
		return;
	}
	if (methods_stopping) {
		rpc_fail(call, -ESHUTDOWN, "ublkd is already shutting down");
		return;
	}
	rpc_reply(call, NULL);
	methods_stopping = true;
	if (methods_stop)
		methods_stop(keep);
}

/* Every method: name, function, and whether it changes state (logged). */
const struct rpc_method methods_table[] = {
	{ RPC_M_DEVICE_ADD, methods_device_add, true },
	{ RPC_M_DEVICE_DEL, methods_device_del, true },
	{ RPC_M_DEVICE_LIST, methods_device_list, false },
	{ RPC_M_DEVICE_INFO, methods_device_info, false },
	{ RPC_M_DAEMON_INFO, methods_daemon_info, false },
	{ RPC_M_DAEMON_SHUTDOWN, methods_daemon_shutdown, true },
	{ NULL, NULL, false },
};
