/* add: create a device and print its block device path. */
#include "config.h"
#include "client/add_file.h"
#include "client/args.h"
#include "client/backend_options.h"
#include "client/cmd.h"
#include "client/help.h"
#include "client/output.h"
#include "client/session.h"
#include "common/protocol.h"

#include <stdint.h>
#include <unistd.h>

/* add's own options: each becomes a device_add param under its key. The
 * backends' parameters join them from backend_options_table, generated
 * from the backends' declarations. */
static const struct option_def cmd_add_options[] = {
	{ .name = "--id", .metavar = "N", .type = OPTION_NUMBER, .key = "id",
	  .max = OPTION_MAX_ID, .expect = OPTION_EXPECT_ID,
	  .help = "the device ID to take (default: a free one)" },
	{ .name = "--queues", .metavar = "N", .type = OPTION_NUMBER, .key = "queues",
	  .max = UINT16_MAX, .expect = "a whole number from 0 to 65535",
	  .help = "the number of I/O queues (default: the daemon's)" },
	{ .name = "--depth", .metavar = "N", .type = OPTION_NUMBER, .key = "depth",
	  .max = UINT16_MAX, .expect = "a whole number from 0 to 65535",
	  .help = "the depth of each queue (default: the daemon's)" },
	{ .name = "--block-size", .metavar = "512..4096", .type = OPTION_BLOCK_SIZE,
	  .key = "block_size", .help = "the logical block size: 512, 1024, 2048 or 4096\n(default: the daemon's)" },
	{ .name = "--read-only", .type = OPTION_FLAG, .key = "read_only",
	  .help = "refuse writes" },
	{ .name = "--recovery", .metavar = "MODE", .type = OPTION_STRING, .key = "recovery",
	  .help = "what the kernel does with I/O while no ublkd serves\n"
		  "the device: reissue (wait, default), fail-io (6.13+)\n"
		  "or none (the device dies with the daemon)" },
	{ .name = NULL },
};

/* The one operand: the backend's name, sent first in the params. */
static const struct option_def cmd_add_backend = {
	.name = "BACKEND", .type = OPTION_STRING, .key = "backend",
};

/* Prints the parameters of the backend named operand, or of every backend
 * when operand names none. */
static void cmd_add_help_backends(FILE *out, const char *operand)
{
	const struct backend_options *one = operand ? backend_options_find(operand) : NULL;

	if (operand && !one)
		fprintf(out, "There is no backend called '%s'.\n\n", operand);
	for (const struct backend_options *b = backend_options_table; b->name; b++) {
		if (one && b != one)
			continue;
		fprintf(out, "%s backend: %s\n", b->name, b->summary);
		if (b->options->name)
			help_option_rows(out, b->options);
		else
			fputs("  (none)\n", out);
		fputc('\n', out);
	}
}

/* Sends device_add; prints the new device's path, or with --json the device.
 * Run by a user other than root, ublkctl opens the backend's file itself
 * and passes the descriptor: ublkd opens no path for such a user. */
static int cmd_add_run(struct session *s, const struct args *a, FILE *out, FILE *err,
		       struct failure *f)
{
	struct add_file af = { .fd = -1 };
	struct json_object *device;
	int ret = 0;

	(void)err;
	if (getuid() != 0)
		ret = add_file_open(a->params, &af, f);
	if (ret < 0)
		return ret;
	if (af.fd >= 0)
		session_pass_fds(s, &af.fd, 1);
	ret = session_call(s, a->command->method, a->params, &device, f);
	add_file_finish(&af, ret < 0);
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
		 "(/dev/ublkbN). Each backend's own options follow ('add BACKEND --help'\n"
		 "shows one); the daemon checks BACKEND and the options and says what is\n"
		 "wrong.\n",
	.notes = "--socket, --json and --timeout may be given here too; with --json the\n"
		 "device object is printed instead of the path. A relative PATH is made\n"
		 "absolute against the current directory. Run by a user other than root,\n"
		 "ublkctl opens the PATH itself, with that user's rights (creating or\n"
		 "extending it for --size), and passes the open file to ublkd; the device\n"
		 "then belongs to that user. After BACKEND, an option the backend declares\n"
		 "is the backend's: 'add nbd --timeout 5' is nbd's timeout ('ublkctl\n"
		 "--timeout 60 add nbd ...' sets the reply timeout).\n",
	.find_option = backend_options_option,
	.find_operand_option = backend_options_option_of,
	.help_more = cmd_add_help_backends,
	.run = cmd_add_run,
};
