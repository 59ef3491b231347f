/* del: delete devices by ID, or every device the daemon lists. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/session.h"
#include "common/protocol.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* del's own option. */
static const struct option_def cmd_del_options[] = {
	{ .name = "--all", .type = OPTION_FLAG, .effect = OPTION_ALL,
	  .help = "delete every device the daemon lists (one that is gone by the\n"
		  "time it is deleted is no failure)" },
	{ .name = NULL },
};

/* Each operand: a device ID, collected in the args' ids. */
static const struct option_def cmd_del_id = {
	.name = "ID", .type = OPTION_NUMBER, .max = OPTION_MAX_ID, .expect = OPTION_EXPECT_ID,
};

/* Builds the params {"id": id} that name one device. NULL when out of memory. */
static struct json_object *cmd_del_params(int64_t id)
{
	struct json_object *params = json_object_new_object();

	if (params && json_object_object_add(params, "id", json_object_new_int64(id)) < 0) {
		json_object_put(params);
		return NULL;
	}
	return params;
}

/* True if a user other than root runs del --all and dev is not its own:
 * such a user deletes only its own devices. */
static bool cmd_del_not_mine(struct json_object *dev)
{
	struct json_object *owner;

	if (getuid() == 0)
		return false;
	return !json_object_object_get_ex(dev, "owner_uid", &owner) ||
	       json_object_get_int64(owner) != (int64_t)getuid();
}

/* Collects the integer "id" of every device the daemon lists into *ids
 * (for a user other than root, of its own devices). */
static int cmd_del_list_ids(struct session *s, struct json_object **ids, struct failure *f)
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
		ret = cmd_bad_result(f, RPC_M_DEVICE_LIST, "an array of device objects");
	for (size_t i = 0; ret == 0 && i < json_object_array_length(devices); i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(devices, i), "id", &id) ||
		    !json_object_is_type(id, json_type_int))
			ret = cmd_bad_result(f, RPC_M_DEVICE_LIST, "devices with integer ids");
		else if (cmd_del_not_mine(json_object_array_get_idx(devices, i)))
			continue;
		else if (!*ids || json_object_array_add(*ids, json_object_get(id)) < 0)
			ret = failure_set(f, FAILURE_SYSTEM, ENOMEM, "listing the devices", NULL);
	}
	json_object_put(devices);
	return ret;
}

/* Deletes each device, reporting those the daemon refuses and going on. */
static int cmd_del_run(struct session *s, const struct args *a, FILE *out, FILE *err,
		       struct failure *f)
{
	struct json_object *ids = NULL, *params, *result;
	size_t failed = 0;
	int ret = 0;

	(void)out;
	if (a->all)
		ret = cmd_del_list_ids(s, &ids, f);
	else
		ids = json_object_get(a->ids);
	for (size_t i = 0; ret == 0 && i < json_object_array_length(ids); i++) {
		params = cmd_del_params(json_object_get_int64(json_object_array_get_idx(ids, i)));
		if (!params) {
			ret = failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
			break;
		}
		ret = session_call(s, a->command->method, params, &result, f);
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

const struct cmd cmd_del = {
	.name = "del",
	.method = RPC_M_DEVICE_DEL,
	.options = cmd_del_options,
	.operand = &cmd_del_id,
	.min_operands = 1,
	.max_operands = -1,
	.forms = { "del ID...", "del --all" },
	.summary = "delete devices",
	.about = "Delete the devices with these IDs, or every device. A device that cannot\n"
		 "be deleted is reported and the others are still deleted; the exit status\n"
		 "is then 1. Nothing is printed on success.\n",
	.notes = "--socket, --json and --timeout may be given here too; --json changes\n"
		 "nothing.\n",
	.run = cmd_del_run,
};
