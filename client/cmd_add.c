/* add: create a device and print its block device path. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/output.h"
#include "client/session.h"
#include "common/protocol.h"

#include <stdint.h>

/* add's options: each becomes a device_add param under its key. */
static const struct option_def cmd_add_options[] = {
	{ .name = "--size", .metavar = "SIZE", .type = OPTION_SIZE, .key = "size",
	  .help = "size in bytes, or with a K, M, G or T suffix\n"
		  "(powers of 1024; KiB, MiB, GiB, TiB too)" },
	{ .name = "--path", .metavar = "PATH", .type = OPTION_PATH, .key = "path",
	  .help = "the backing file (file, zip)" },
	{ .name = "--entry", .metavar = "NAME", .type = OPTION_STRING, .key = "entry",
	  .help = "the archive entry to serve (zip)" },
	{ .name = "--id", .metavar = "N", .type = OPTION_NUMBER, .key = "id",
	  .max = OPTION_MAX_ID, .expect = OPTION_EXPECT_ID,
	  .help = "the device ID to take (default: a free one)" },
	{ .name = "--queues", .metavar = "N", .type = OPTION_NUMBER, .key = "queues",
	  .max = UINT16_MAX, .expect = "a whole number from 0 to 65535",
	  .help = "the number of I/O queues (default: the daemon's)" },
	{ .name = "--depth", .metavar = "N", .type = OPTION_NUMBER, .key = "depth",
	  .max = UINT16_MAX, .expect = "a whole number from 0 to 65535",
	  .help = "the depth of each queue (default: the daemon's)" },
	{ .name = "--block-size", .metavar = "512|4096", .type = OPTION_BLOCK_SIZE,
	  .key = "block_size", .help = "the logical block size (default: the daemon's)" },
	{ .name = "--read-only", .type = OPTION_FLAG, .key = "read_only",
	  .help = "refuse writes" },
	{ .name = "--buffered", .type = OPTION_FLAG, .key = "buffered",
	  .help = "go through the page cache (file)" },
	{ .name = "--reserve", .type = OPTION_FLAG, .key = "reserve",
	  .help = "take all the memory now and keep it (mem); a\n"
		  "size the tmpfs cannot hold is refused" },
	{ .name = NULL },
};

/* The one operand: the backend's name, sent first in the params. */
static const struct option_def cmd_add_backend = {
	.name = "BACKEND", .type = OPTION_STRING, .key = "backend",
};

/* Sends device_add; prints the new device's path, or with --json the device. */
static int cmd_add_run(struct session *s, const struct args *a, FILE *out, FILE *err,
		       struct failure *f)
{
	struct json_object *device;
	int ret = session_call(s, a->command->method, a->params, &device, f);

	(void)err;
	if (ret < 0)
		return ret;
	if (a->json && json_object_is_type(device, json_type_object))
		ret = output_json(out, device);
	else
		ret = output_device_path(out, device);
	json_object_put(device);
	if (ret < 0)
		return cmd_bad_result(f, a->command->method, "a device with a block_device");
	return 0;
}

const struct cmd cmd_add = {
	.name = "add",
	.method = RPC_M_DEVICE_ADD,
	.options = cmd_add_options,
	.operand = &cmd_add_backend,
	.min_operands = 1,
	.max_operands = 1,
	.forms = { "add BACKEND [OPTIONS]" },
	.summary = "create a device and print its block device path",
	.about = "Create a device served by BACKEND and print its block device path\n"
		 "(/dev/ublkbN). The backends are the daemon's (null, mem, ...); the daemon\n"
		 "checks BACKEND and the options and says what is wrong.\n",
	.notes = "--socket, --json and --timeout may be given here too; with --json the\n"
		 "device object is printed instead of the path.\n",
	.run = cmd_add_run,
};
