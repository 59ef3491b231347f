/* list: the devices as a table, or the daemon's JSON array. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/output.h"
#include "client/session.h"
#include "common/protocol.h"

#include <errno.h>

/* Sends device_list; prints the device table, or with --json the array. */
static int cmd_list_run(struct session *s, const struct args *a, FILE *out, FILE *err,
			struct failure *f)
{
	struct json_object *devices;
	int ret = session_call(s, a->command->method, a->params, &devices, f);

	(void)err;
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
		return cmd_bad_result(f, a->command->method, "an array of device objects");
	return 0;
}

const struct cmd cmd_list = {
	.name = "list",
	.method = RPC_M_DEVICE_LIST,
	.forms = { "list" },
	.summary = "list the devices as a table",
	.about = "List the devices as a table with the columns\n"
		 "ID DEVICE BACKEND SIZE QUEUES DEPTH STATE (SIZE human-readable),\n"
		 "and OWNER (the uid that added it) when a user other than root owns a\n"
		 "device; or with --json as the daemon's JSON array.\n",
	.notes = "--socket, --json and --timeout may be given here too.\n",
	.run = cmd_list_run,
};
