/* The commands: one request (or a few, for del) and the output of the reply. */
#include "config.h"
#include "client/commands.h"
#include "client/output.h"
#include "client/session.h"
#include "common/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Builds the params {"id": id} that name one device. NULL when out of memory. */
static struct json_object *commands_device_params(int64_t id)
{
	struct json_object *params = json_object_new_object();

	if (params && json_object_object_add(params, "id", json_object_new_int64(id)) < 0) {
		json_object_put(params);
		return NULL;
	}
	return params;
}

/* Records a reply whose result is not shaped as method promises. */
static int commands_bad_result(struct failure *f, const char *method, const char *expected)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "the %s result is not %s", method, expected);
	return failure_set(f, FAILURE_BAD_REPLY, EPROTO, detail, NULL);
}

/* add: prints the new device's path, or with --json the device object. */
static int commands_add(struct session *s, const struct args *a, FILE *out, struct failure *f)
{
	struct json_object *device;
	int ret = session_call(s, RPC_M_DEVICE_ADD, a->params, &device, f);

	if (ret < 0)
		return ret;
	if (a->json && json_object_is_type(device, json_type_object))
		ret = output_json(out, device);
	else
		ret = output_device_path(out, device);
	json_object_put(device);
	if (ret < 0)
		return commands_bad_result(f, RPC_M_DEVICE_ADD, "a device with a block_device");
	return 0;
}

/* info and status: one object printed as key: value lines, or as JSON. */
static int commands_show(struct session *s, const struct args *a, const char *method,
			 FILE *out, struct failure *f)
{
	struct json_object *obj;
	int ret = session_call(s, method, a->params, &obj, f);

	if (ret < 0)
		return ret;
	if (!json_object_is_type(obj, json_type_object))
		ret = -EPROTO;
	else if (a->json)
		ret = output_json(out, obj);
	else
		ret = output_fields(out, obj);
	json_object_put(obj);
	if (ret < 0)
		return commands_bad_result(f, method, "an object");
	return 0;
}

/* list: the device table, or the JSON array. */
static int commands_list(struct session *s, const struct args *a, FILE *out, struct failure *f)
{
	struct json_object *devices;
	int ret = session_call(s, RPC_M_DEVICE_LIST, a->params, &devices, f);

	if (ret < 0)
		return ret;
	if (!json_object_is_type(devices, json_type_array))
		ret = -EPROTO;
	else if (a->json)
		ret = output_json(out, devices);
	else
		ret = output_table(out, devices);
	json_object_put(devices);
	if (ret < 0)
		return commands_bad_result(f, RPC_M_DEVICE_LIST, "an array of device objects");
	return 0;
}

/* Collects the integer "id" of every device the daemon lists into *ids. */
static int commands_list_ids(struct session *s, struct json_object **ids, struct failure *f)
{
	struct json_object *params = json_object_new_object(), *devices, *id;
	int ret;

	*ids = NULL;
	if (!params)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	ret = session_call(s, RPC_M_DEVICE_LIST, params, &devices, f);
	json_object_put(params);
	if (ret < 0)
		return ret;
	*ids = json_object_new_array();
	if (!json_object_is_type(devices, json_type_array))
		ret = commands_bad_result(f, RPC_M_DEVICE_LIST, "an array of device objects");
	for (size_t i = 0; ret == 0 && i < json_object_array_length(devices); i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(devices, i), "id", &id) ||
		    !json_object_is_type(id, json_type_int))
			ret = commands_bad_result(f, RPC_M_DEVICE_LIST, "devices with integer ids");
		else if (!*ids || json_object_array_add(*ids, json_object_get(id)) < 0)
			ret = failure_set(f, FAILURE_SYSTEM, ENOMEM, "listing the devices", NULL);
	}
	json_object_put(devices);
	return ret;
}

/* del: deletes each device, reporting those the daemon refuses and going on. */
static int commands_del(struct session *s, const struct args *a, FILE *err, struct failure *f)
{
	struct json_object *ids = NULL, *params, *result;
	size_t failed = 0;
	int ret = 0;

	if (a->all)
		ret = commands_list_ids(s, &ids, f);
	else
		ids = json_object_get(a->ids);
	for (size_t i = 0; ret == 0 && i < json_object_array_length(ids); i++) {
		params = commands_device_params(json_object_get_int64(json_object_array_get_idx(ids, i)));
		if (!params) {
			ret = failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
			break;
		}
		ret = session_call(s, RPC_M_DEVICE_DEL, params, &result, f);
		json_object_put(params);
		json_object_put(result);
		/* With --all, a device deleted by someone else meanwhile is no failure. */
		if (ret == -EREMOTEIO && a->all && f->code == RPC_NO_SUCH_DEVICE) {
			memset(f, 0, sizeof(*f));
			ret = 0;
		} else if (ret == -EREMOTEIO) {
			failure_report(f, err);
			memset(f, 0, sizeof(*f));
			failed++;
			ret = 0;
		}
	}
	json_object_put(ids);
	if (ret == 0 && failed)
		ret = failure_set(f, FAILURE_REPORTED, EIO, NULL, NULL);
	return ret;
}

/* Runs a's command, printing results to out. */
int commands_run(const struct args *a, FILE *out, FILE *err, struct failure *f)
{
	struct session s;
	int ret = session_open(&s, a->socket, a->timeout, f);

	if (ret < 0) {
		session_close(&s);
		return ret;
	}
	switch (a->command) {
	case ARGS_COMMAND_ADD:
		ret = commands_add(&s, a, out, f);
		break;
	case ARGS_COMMAND_DEL:
		ret = commands_del(&s, a, err, f);
		break;
	case ARGS_COMMAND_LIST:
		ret = commands_list(&s, a, out, f);
		break;
	case ARGS_COMMAND_INFO:
		ret = commands_show(&s, a, RPC_M_DEVICE_INFO, out, f);
		break;
	case ARGS_COMMAND_STATUS:
		ret = commands_show(&s, a, RPC_M_DAEMON_INFO, out, f);
		break;
	case ARGS_COMMAND_NONE:
		ret = failure_set(f, FAILURE_NO_COMMAND, EINVAL, NULL, NULL);
		break;
	}
	session_close(&s);
	return ret;
}
