/* shutdown: stop the daemon, deleting its devices or leaving them to the
 * next one. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/session.h"
#include "common/protocol.h"

/* shutdown's option: becomes daemon_shutdown's keep_devices. */
static const struct option_def cmd_shutdown_options[] = {
	{ .name = "--keep-devices", .type = OPTION_FLAG, .key = "keep_devices",
	  .help = "leave every device in the kernel for the next ublkd,\n"
		  "which takes them over (on Linux 6.16+ quiesced first,\n"
		  "so nothing is in flight meanwhile)" },
	{ .name = NULL },
};

/* Sends daemon_shutdown; prints nothing on success. */
static int cmd_shutdown_run(struct session *s, const struct args *a, FILE *out, FILE *err,
			    struct failure *f)
{
	struct json_object *result = NULL;
	int ret = session_call(s, a->command->method, a->params, &result, f);

	(void)out;
	(void)err;
	json_object_put(result);
	return ret < 0 ? ret : 0;
}

const struct cmd cmd_shutdown = {
	.name = "shutdown",
	.method = RPC_M_DAEMON_SHUTDOWN,
	.options = cmd_shutdown_options,
	.forms = { "shutdown [OPTIONS]" },
	.summary = "stop the daemon, deleting or keeping its devices",
	.about = "Stop ublkd. Without --keep-devices every device is deleted first, as\n"
		 "SIGTERM does. With it the devices stay in the kernel, with their state\n"
		 "records, and the next ublkd started on the same state directory takes\n"
		 "them over: a restart or upgrade without losing a device. The daemon\n"
		 "answers before it stops; it exits once the devices are let go of.\n",
	.notes = "--socket and --timeout may be given here too; nothing is printed.\n",
	.run = cmd_shutdown_run,
};
