/* The --help texts. Keep client/ublkctl.1 in step with them. */
#include "config.h"
#include "client/help.h"

static const char help_general[] =
	"Usage: ublkctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARGS...]\n"
	"       ublkctl --version | --help | COMMAND --help\n"
	"\n"
	"Control ublkd, the daemon that serves ublk userspace block devices.\n"
	"\n"
	"Commands:\n"
	"  add BACKEND [OPTIONS]  create a device and print its block device path\n"
	"  del ID... | del --all  delete devices\n"
	"  list                   list the devices as a table\n"
	"  info ID                show every field of one device\n"
	"  status                 show the daemon's version, features and uptime\n"
	"\n"
	"Options, before the command or among its options:\n"
	"  --socket PATH      ublkd's socket (default: $UBLKD_SOCKET if set,\n"
	"                     else /run/ublkd/ublkd.sock)\n"
	"  --json             print the daemon's reply as JSON\n"
	"  --timeout SECONDS  wait this long for each reply (default: 300)\n"
	"  --help             show this help, or a command's after the command\n"
	"  --version          show the version\n"
	"\n"
	"Exit status: 0 success, 1 error, 2 usage error.\n";

static const char help_add[] =
	"Usage: ublkctl add BACKEND [OPTIONS]\n"
	"\n"
	"Create a device served by BACKEND and print its block device path\n"
	"(/dev/ublkbN). The backends are the daemon's (null, mem, ...); the daemon\n"
	"checks BACKEND and the options and says what is wrong.\n"
	"\n"
	"Options:\n"
	"  --size SIZE            size in bytes, or with a K, M, G or T suffix\n"
	"                         (powers of 1024; KiB, MiB, GiB, TiB too)\n"
	"  --path PATH            the backing file (file, zip)\n"
	"  --entry NAME           the archive entry to serve (zip)\n"
	"  --id N                 the device ID to take (default: a free one)\n"
	"  --queues N             the number of I/O queues (default: the daemon's)\n"
	"  --depth N              the depth of each queue (default: the daemon's)\n"
	"  --block-size 512|4096  the logical block size (default: the daemon's)\n"
	"  --read-only            refuse writes\n"
	"  --buffered             go through the page cache (file)\n"
	"  --reserve              take all the memory now and keep it (mem); a\n"
	"                         size the tmpfs cannot hold is refused\n"
	"\n"
	"--socket, --json and --timeout may be given here too; with --json the\n"
	"device object is printed instead of the path.\n";

static const char help_del[] =
	"Usage: ublkctl del ID...\n"
	"       ublkctl del --all\n"
	"\n"
	"Delete the devices with these IDs, or every device. A device that cannot\n"
	"be deleted is reported and the others are still deleted; the exit status\n"
	"is then 1. Nothing is printed on success.\n"
	"\n"
	"Options:\n"
	"  --all  delete every device the daemon lists (one that is gone by the\n"
	"         time it is deleted is no failure)\n"
	"\n"
	"--socket, --json and --timeout may be given here too; --json changes\n"
	"nothing.\n";

static const char help_list[] =
	"Usage: ublkctl list\n"
	"\n"
	"List the devices as a table with the columns\n"
	"ID DEVICE BACKEND SIZE QUEUES DEPTH STATE (SIZE human-readable),\n"
	"or with --json as the daemon's JSON array.\n"
	"\n"
	"--socket, --json and --timeout may be given here too.\n";

static const char help_info[] =
	"Usage: ublkctl info ID\n"
	"\n"
	"Show every field of the device as \"key: value\" lines (the size in bytes\n"
	"and human-readable), or with --json as the daemon's JSON object.\n"
	"\n"
	"--socket, --json and --timeout may be given here too.\n";

static const char help_status[] =
	"Usage: ublkctl status\n"
	"\n"
	"Show the daemon's version, protocol, whether the ublk driver is loaded,\n"
	"the driver's features, the uptime and the number of devices as\n"
	"\"key: value\" lines, or with --json as the daemon's JSON object.\n"
	"\n"
	"--socket, --json and --timeout may be given here too.\n";

/* Prints the help for command, or the general help for ARGS_COMMAND_NONE. */
void help_print(FILE *out, enum args_command command)
{
	switch (command) {
	case ARGS_COMMAND_ADD:
		fputs(help_add, out);
		break;
	case ARGS_COMMAND_DEL:
		fputs(help_del, out);
		break;
	case ARGS_COMMAND_LIST:
		fputs(help_list, out);
		break;
	case ARGS_COMMAND_INFO:
		fputs(help_info, out);
		break;
	case ARGS_COMMAND_STATUS:
		fputs(help_status, out);
		break;
	case ARGS_COMMAND_NONE:
		fputs(help_general, out);
		break;
	}
}

/* Prints "ublkctl VERSION". */
void help_version(FILE *out)
{
	fprintf(out, "ublkctl %s\n", PACKAGE_VERSION);
}
