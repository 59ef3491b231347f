/* ublkd: serves ublk block devices from one libev loop, driven over a UNIX
 * socket speaking JSON-RPC. */
#include "config.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/size.h"
#include "daemon/access.h"
#include "daemon/activation.h"
#include "daemon/control.h"
#include "daemon/device.h"
#include "daemon/device_node.h"
#include "daemon/io_threads.h"
#include "daemon/loop_wait.h"
#include "daemon/memlock.h"
#include "daemon/methods.h"
#include "daemon/queue.h"
#include "daemon/records.h"
#include "daemon/ringwatch.h"
#include "daemon/rpc.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define MAIN_STOP_TIMEOUT 120.0

static const char main_usage[] =
	"Usage: ublkd [OPTIONS]\n"
	"Serve Linux ublk block devices; control them with ublkctl.\n"
	"\n"
	"  -s, --socket PATH        control socket (default $" UBLKD_SOCKET_ENV ", else "
	UBLKD_DEFAULT_SOCKET ")\n"
	"  -g, --socket-group GROUP let GROUP use the socket (mode 0660)\n"
	"  -d, --state-dir DIR      where device records and backend files live\n"
	"                           (default /run/ublkd)\n"
	"      --adopt-orphans      delete kernel ublk devices this daemon has no\n"
	"                           record of (default: leave them alone)\n"
	"      --wakeup HOW         how loops learn of io_uring completions: eventfd\n"
	"                           (default), ring-fd (poll the ring itself) or\n"
	"                           ring-wait (a loop sleeps in the ring of its\n"
	"                           one busy queue, submitting and waiting in one\n"
	"                           system call: the main loop, or with\n"
	"                           --io-threads an io thread serving one queue)\n"
	"      --busy-poll USEC     after the main loop served something, poll it\n"
	"                           without sleeping for up to USEC microseconds\n"
	"                           (0-10000, default 0: sleep at once): fewer\n"
	"                           wakeups for more CPU; not with --wakeup ring-wait\n"
	"      --taskrun HOW        how queue rings run the kernel's task work:\n"
	"                           coop (default: it interrupts the loop's wait)\n"
	"                           or defer (it waits until the loop enters the\n"
	"                           ring; not with --wakeup ring-fd)\n"
	"      --eventfd-mute WHEN  with --taskrun defer, a ring's eventfd is off\n"
	"                           while the loop reaps it: auto (default, on x86)\n"
	"                           or off\n"
	"      --batch-io WHEN      batched fetch and commit commands (UBLK_F_BATCH_IO,\n"
	"                           Linux 7.0+) for new devices: auto (where the\n"
	"                           kernel has them) or off (default)\n"
	"      --zero-copy WHEN     file, null and stored zip devices read and write\n"
	"                           straight into the requests' pages\n"
	"                           (UBLK_F_AUTO_BUF_REG, Linux 6.16+) for new\n"
	"                           devices: auto (default, where the kernel has\n"
	"                           it; off with --batch-io auto) or off\n"
	"      --user-copy WHEN     the kernel copies the data of mem devices, and\n"
	"                           of null devices without zero copy, straight\n"
	"                           between the requests' pages and the backend's\n"
	"                           memory (UBLK_F_USER_COPY, Linux 6.5+), for new\n"
	"                           devices: auto (default, where the kernel has\n"
	"                           it; not beside --batch-io auto) or off\n"
	"      --io-threads N       serve the queues of null, mem and file devices\n"
	"                           on N io threads, each pinned to a share of the\n"
	"                           CPUs (default 0: all on the main loop)\n"
	"      --max-connections N  control connections served at once; the next\n"
	"                           is refused (1-65536, default 64)\n"
	"      --idle-timeout SECONDS  close a control connection after SECONDS\n"
	"                           without a request (1-86400, 0 never; default 60)\n"
	"      --control-budget SIZE  requests and replies all control connections\n"
	"                           may buffer together; past it the one holding\n"
	"                           most is closed (1M-4G, default 32M)\n"
	"      --max-user-devices N  devices each uid but root may have at once\n"
	"                           (0-65536, default 8)\n"
	"      --max-user-mem SIZE  bytes of mem devices each uid but root may have\n"
	"                           (default 1G)\n"
	"      --device-mode MODE   the mode of a user's /dev/ublkbN: 0600 (default)\n"
	"                           or 0660 (its primary group too)\n"
	"  -v, --verbose            log more (debug)\n"
	"  -V, --version            print the version and exit\n"
	"  -h, --help               print this help and exit\n";

struct main_opts {
	const char *socket_path;
	const char *socket_group;
	const char *state_dir;
	bool adopt_orphans;
	bool ring_fd;			/* --wakeup ring-fd */
	bool ring_wait;			/* --wakeup ring-wait */
	unsigned busy_poll;		/* --busy-poll, microseconds */
	bool defer_taskrun;		/* --taskrun defer */
	bool mute_off;			/* --eventfd-mute off */
	bool batch_io;			/* --batch-io auto */
	int zero_copy;			/* --zero-copy: 1 auto, 0 off, -1 not given */
	bool user_copy_off;		/* --user-copy off */
	unsigned io_threads;
	unsigned int max_connections;	/* 0: the default */
	double idle_timeout;		/* 0: the default, < 0: never */
	size_t control_budget;		/* 0: the default */
	struct access_quota quota;
	mode_t device_mode;
	int verbose;
};

static struct ev_loop *main_loop;
static ev_timer main_stop_timer;
static int main_status;
static bool main_stopping;
static struct control_opts main_copts;	/* the socket's, for control_start */

/* Every device is gone (deleted, or left to the next daemon when arg is
 * not NULL): stop serving the socket and leave the loop. */
static void main_all_deleted(void *arg)
{
	log_info(arg ? "all devices left to the next ublkd; exiting" : "all devices deleted; exiting");
	ev_timer_stop(main_loop, &main_stop_timer);
	control_stop(main_loop);
	loop_wait_break(main_loop);
}

/* Deleting the devices took too long: give up and exit with an error. */
static void main_on_stop_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	log_error("devices still not deleted after %.0f s; exiting anyway", MAIN_STOP_TIMEOUT);
	main_status = 1;
	control_stop(loop);
	loop_wait_break(loop);
}

/* Stops the daemon: every device deleted, or with keep_devices left in the
 * kernel for the next daemon; then exit 0. */
static void main_stop(bool keep_devices)
{
	if (main_stopping)
		return;
	main_stopping = true;
	activation_notify("STOPPING=1");
	methods_shutdown();
	ev_timer_init(&main_stop_timer, main_on_stop_timeout, MAIN_STOP_TIMEOUT, 0.);
	ev_timer_start(main_loop, &main_stop_timer);
	if (keep_devices) {
		log_info("shutting down, leaving %u device(s) to the next ublkd", device_count());
		device_detach_all(main_all_deleted, main_loop);
	} else {
		device_del_all(main_all_deleted, NULL);
	}
}

/* SIGTERM or SIGINT: delete every device, then exit 0. */
static void main_on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	if (main_stopping) {
		log_info("signal %d: already stopping", w->signum);
		return;
	}
	log_info("signal %d: deleting %u device(s) and exiting", w->signum, device_count());
	main_stop(false);
}

/* Reads the value of option name, one of first or second: true for
 * second; exits on anything else. */
static bool main_either(const char *name, const char *arg, const char *first,
			const char *second)
{
	if (strcmp(arg, first) == 0 || strcmp(arg, second) == 0)
		return strcmp(arg, second) == 0;
	fprintf(stderr, "ublkd: --%s: '%s' is not %s or %s\n"
		"Try 'ublkd --help'.\n", name, arg, first, second);
	exit(2);
}

/* The values of --wakeup, in the order of enum main_wakeup. */
static const char *const main_wakeups[] = { "eventfd", "ring-fd", "ring-wait" };
enum main_wakeup { MAIN_WAKE_EVENTFD, MAIN_WAKE_RING_FD, MAIN_WAKE_RING_WAIT };

/* Reads the value of --wakeup; exits on anything else. */
static enum main_wakeup main_wakeup(const char *arg)
{
	for (size_t i = 0; i < sizeof(main_wakeups) / sizeof(main_wakeups[0]); i++)
		if (strcmp(arg, main_wakeups[i]) == 0)
			return (enum main_wakeup)i;
	fprintf(stderr, "ublkd: --wakeup: '%s' is not eventfd, ring-fd or ring-wait\n"
		"Try 'ublkd --help'.\n", arg);
	exit(2);
}

/* Reads the auto or off of option name: true for auto; exits on anything else. */
static bool main_auto_off(const char *name, const char *arg)
{
	return !main_either(name, arg, "auto", "off");
}

/* Parses the whole of arg as an integer from min to max for option name;
 * exits with a usage error otherwise. */
static long main_number(const char *name, const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "ublkd: --%s takes a whole number from %ld to %ld, not '%s'\n"
			"Try 'ublkd --help'.\n", name, min, max, arg);
		exit(2);
	}
	return v;
}

/* Parses arg as a size ("16M") from min to max bytes for option name;
 * exits with a usage error otherwise. */
static size_t main_size(const char *name, const char *arg, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (size_parse(arg, &v) < 0 || v < min || v > max) {
		fprintf(stderr, "ublkd: --%s takes a size from %llu to %llu bytes (like 32M), "
			"not '%s'\nTry 'ublkd --help'.\n", name, (unsigned long long)min,
			(unsigned long long)max, arg);
		exit(2);
	}
	return (size_t)v;
}

/* Parses the command line; exits on --help, --version and usage errors. */
static void main_parse(int argc, char **argv, struct main_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "adopt-orphans", no_argument, NULL, 'A' },
		{ "io-threads", required_argument, NULL, 'T' },
		{ "wakeup", required_argument, NULL, 'W' },
		{ "busy-poll", required_argument, NULL, 'P' },
		{ "taskrun", required_argument, NULL, 'R' },
		{ "eventfd-mute", required_argument, NULL, 'E' },
		{ "batch-io", required_argument, NULL, 'b' },
		{ "zero-copy", required_argument, NULL, 'Z' },
		{ "user-copy", required_argument, NULL, 'u' },
		{ "max-connections", required_argument, NULL, 'M' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "control-budget", required_argument, NULL, 'B' },
		{ "max-user-devices", required_argument, NULL, 'U' },
		{ "max-user-mem", required_argument, NULL, 'm' },
		{ "device-mode", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->socket_path = getenv(UBLKD_SOCKET_ENV);
	if (o->socket_path && !*o->socket_path)
		o->socket_path = NULL;
	o->state_dir = "/run/ublkd";
	o->quota.max_devices = ACCESS_DEFAULT_MAX_DEVICES;
	o->quota.max_mem = ACCESS_DEFAULT_MAX_MEM;
	o->device_mode = 0600;
	o->zero_copy = -1;
	while ((c = getopt_long(argc, argv, "s:g:d:vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket_path = optarg; break;
		case 'g': o->socket_group = optarg; break;
		case 'd': o->state_dir = optarg; break;
		case 'A': o->adopt_orphans = true; break;
		case 'T':
			o->io_threads = (unsigned)main_number("io-threads", optarg, 0, IO_THREADS_MAX);
			break;
		case 'W': {
			enum main_wakeup how = main_wakeup(optarg);

			o->ring_fd = how == MAIN_WAKE_RING_FD;
			o->ring_wait = how == MAIN_WAKE_RING_WAIT;
			break;
		}
		case 'P':
			o->busy_poll = (unsigned)main_number("busy-poll", optarg, 0, 10000);
			break;
		case 'R': o->defer_taskrun = main_either("taskrun", optarg, "coop", "defer"); break;
		case 'E': o->mute_off = !main_auto_off("eventfd-mute", optarg); break;
		case 'b': o->batch_io = main_auto_off("batch-io", optarg); break;
		case 'Z': o->zero_copy = main_auto_off("zero-copy", optarg) ? 1 : 0; break;
		case 'u': o->user_copy_off = !main_auto_off("user-copy", optarg); break;
		case 'M':
			o->max_connections = (unsigned int)main_number("max-connections",
								      optarg, 1, 65536);
			break;
		case 'I':
			o->idle_timeout = (double)main_number("idle-timeout", optarg, 0, 86400);
			if (!o->idle_timeout)
				o->idle_timeout = -1;	/* never */
			break;
		case 'B':
			o->control_budget = main_size("control-budget", optarg,
						      1024 * 1024, 4ULL << 30);
			break;
		case 'U':
			o->quota.max_devices = (unsigned)main_number("max-user-devices", optarg,
								     0, 65536);
			break;
		case 'm':
			o->quota.max_mem = main_size("max-user-mem", optarg, 0, UINT64_MAX);
			break;
		case 'D':
			if (strcmp(optarg, "0600") && strcmp(optarg, "0660")) {
				fprintf(stderr, "ublkd: --device-mode is 0600 or 0660, not '%s'\n"
					"Try 'ublkd --help'.\n", optarg);
				exit(2);
			}
			o->device_mode = strcmp(optarg, "0660") ? 0600 : 0660;
			break;
		case 'v': o->verbose++; break;
		case 'V': printf("ublkd %s\n", PACKAGE_VERSION); exit(0);
		case 'h': fputs(main_usage, stdout); exit(0);
		default:
			fputs("Try 'ublkd --help'.\n", stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ublkd: unexpected argument '%s'\nTry 'ublkd --help'.\n",
			argv[optind]);
		exit(2);
	}
	if (o->batch_io && o->zero_copy == 1) {
		/* Batched commands carry no buffer index for the kernel. */
		fputs("ublkd: --batch-io auto and --zero-copy auto cannot be used together\n"
		      "Try 'ublkd --help'.\n", stderr);
		exit(2);
	}
	if (o->ring_fd && o->defer_taskrun) {
		/* Deferred task work signals the eventfd, not every poller of
		 * the ring's fd. */
		fputs("ublkd: --taskrun defer and --wakeup ring-fd cannot be used together\n"
		      "Try 'ublkd --help'.\n", stderr);
		exit(2);
	}
	if (o->busy_poll && o->ring_wait) {
		/* A loop sleeping in a ring is not polling libev. */
		fputs("ublkd: --busy-poll and --wakeup ring-wait cannot be used together\n"
		      "Try 'ublkd --help'.\n", stderr);
		exit(2);
	}
	ringwatch_use_ring_fd(o->ring_fd);
	io_threads_use_ring_wait(o->ring_wait);
	ringwatch_use_mute(!o->mute_off);
	queue_use_defer_taskrun(o->defer_taskrun);
	device_use_batch_io(o->batch_io);
	/* Zero copy is the default where the kernel has it, but not beside
	 * batched commands. */
	device_use_zero_copy(o->zero_copy == 1 || (o->zero_copy < 0 && !o->batch_io));
	device_use_user_copy(!o->user_copy_off);
}

/* Raises the soft limit of open files to the hard one (each control
 * connection and each device queue takes descriptors) and logs the result. */
static void main_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_errno(errno, "cannot read the limit of open files");
		return;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_errno(errno, "cannot raise the limit of open files from %llu to %llu",
				  (unsigned long long)was, (unsigned long long)rl.rlim_max);
			return;
		}
	}
	log_info("open files: limit %llu (was %llu, hard limit %llu)",
		 (unsigned long long)rl.rlim_cur, (unsigned long long)was,
		 (unsigned long long)rl.rlim_max);
}

/* The control socket's lines go to the JSON-RPC layer. */
static const struct control_handler main_rpc_handler = {
	.line = rpc_on_line,
	.too_long = rpc_on_too_long,
	.refused = rpc_on_refused,
};

/* Every saved device is recovered (or given up): the daemon is ready. */
static void main_recovered(void *arg)
{
	(void)arg;
	if (main_stopping)
		return;	/* a signal came first: the devices are being deleted */
	log_info("ublkd %s ready", PACKAGE_VERSION);
	activation_notify("READY=1");
}

/* Runs the daemon until a signal has deleted every device. */
int main(int argc, char **argv)
{
	struct main_opts o = { 0 };
	ev_signal sigterm, sigint;
	char err[512];

	main_parse(argc, argv, &o);
	log_init("ublkd", o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	memlock_raise();
	main_raise_nofile();
	if (o.defer_taskrun)
		log_info("queue rings defer task work until their loop enters them (--taskrun defer)%s",
			 ringwatch_mutes() ? "; their eventfds are off while the loop reaps them" : "");
	if (mkdir(o.state_dir, 0755) < 0 && errno != EEXIST) {
		log_errno(errno, "cannot create the state directory %s", o.state_dir);
		return 1;
	}
	main_loop = ev_default_loop(EVFLAG_AUTO);
	loop_wait_use(main_loop, o.ring_wait && !o.io_threads, o.busy_poll);
	if (io_threads_start(main_loop, o.io_threads) < 0) {
		log_error("cannot start %u io threads", o.io_threads);
		return 1;
	}
	device_init(main_loop, o.state_dir);
	access_init(&o.quota, (uint32_t)geteuid());
	device_node_set_mode(o.device_mode);
	methods_init(main_stop);
	rpc_init(methods_table);
	if (device_driver_open(err, sizeof(err)) < 0)
		log_warn("%s; devices can be added once it is there", err);

	if (records_init(o.state_dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}

	main_copts.socket_path = o.socket_path;
	main_copts.socket_group = o.socket_group;
	main_copts.handler = &main_rpc_handler;
	main_copts.max_connections = o.max_connections;
	main_copts.idle_timeout = o.idle_timeout;
	main_copts.budget = o.control_budget;
	/* The socket first: it refuses to start while another daemon answers
	 * on it, before this one touches any saved device. */
	if (control_start(main_loop, &main_copts) < 0)
		return 1;
	ev_signal_init(&sigterm, main_on_signal, SIGTERM);
	ev_signal_start(main_loop, &sigterm);
	ev_signal_init(&sigint, main_on_signal, SIGINT);
	ev_signal_start(main_loop, &sigint);
	/* Devices that outlived the last daemon are served again before the
	 * daemon says it is ready (READY=1). */
	records_recover_all(o.adopt_orphans, main_recovered, NULL);
	loop_wait_run(main_loop);
	records_shutdown();
	device_shutdown();
	io_threads_stop();	/* after the devices: their queues are gone */
	ev_loop_destroy(main_loop);
	return main_status;
}
