/* info and status: one object from the daemon shown as key: value lines. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/output.h"
#include "client/session.h"
#include "common/protocol.h"

#include <errno.h>

/* Sends the command's method; prints the object as key: value lines, or with
 * --json as it came. */
static int cmd_show_run(struct session *s, const struct args *a, FILE *out, FILE *err,
			struct failure *f)
{
	struct json_object *obj;
	int ret = session_call(s, a->command->method, a->params, &obj, f);

	(void)err;
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
		return cmd_bad_result(f, a->command->method, "an object");
	return 0;
}

/* info's one operand: the device ID, sent as the param "id". */
static const struct option_def cmd_info_id = {
	.name = "ID", .type = OPTION_NUMBER, .key = "id",
	.max = OPTION_MAX_ID, .expect = OPTION_EXPECT_ID,
};

const struct cmd cmd_info = {
	.name = "info",
	.method = RPC_M_DEVICE_INFO,
	.operand = &cmd_info_id,
	.min_operands = 1,
	.max_operands = 1,
	.forms = { "info ID" },
	.summary = "show every field of one device",
	.about = "Show every field of the device as \"key: value\" lines (the size in bytes\n"
		 "and human-readable), or with --json as the daemon's JSON object.\n",
	.notes = "--socket, --json and --timeout may be given here too.\n",
	.run = cmd_show_run,
};

const struct cmd cmd_status = {
	.name = "status",
	.method = RPC_M_DAEMON_INFO,
	.forms = { "status" },
	.summary = "show the daemon's version, features and uptime",
	.about = "Show the daemon's version, protocol, whether the ublk driver is loaded,\n"
		 "the driver's features, the uptime and the number of devices as\n"
		 "\"key: value\" lines, or with --json as the daemon's JSON object.\n",
	.notes = "--socket, --json and --timeout may be given here too.\n",
	.run = cmd_show_run,
};
