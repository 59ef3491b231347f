/* Unit tests for ublkctl's command table: every row complete, every option
 * in it parsed and refused where it does not belong, the help laid out from
 * it, and each command dispatched to a fake daemon. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/failure.h"
#include "client/help.h"
#include "client/backend_options.h"
#include "client/option.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGV 16

static struct args a;
static struct failure f;

/* Frees what a test parsed. */
static void teardown(void)
{
	args_free(&a);
}

/* A valid value for o, as typed; NULL for a flag. */
static const char *sample(const struct option_def *o)
{
	static char number[32];

	switch (o->type) {
	case OPTION_FLAG:
		return NULL;
	case OPTION_STRING:
		return "x";
	case OPTION_PATH:
		return "/srv/x.img";
	case OPTION_SIZE:
		return "1K";
	case OPTION_NUMBER:
		snprintf(number, sizeof(number), "%llu", (unsigned long long)o->min);
		return number;
	case OPTION_BLOCK_SIZE:
		return "512";
	}
	return "?";
}

/* Builds "ublkctl COMMAND OPERANDS..." in argv with as few operands as the
 * command needs; returns argc. */
static int command_line(const struct cmd *c, char *argv[MAX_ARGV])
{
	int argc = 0;

	argv[argc++] = "ublkctl";
	argv[argc++] = (char *)c->name;
	for (int i = 0; i < c->min_operands; i++)
		argv[argc++] = (char *)sample(c->operand);
	argv[argc] = NULL;
	return argc;
}

/* Reports f into a string and returns the exit status in *status. */
static char *report_of(int *status)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	*status = failure_report(&f, mem);
	fclose(mem);
	return text;
}

/* Asserts an option row is whole: a name with dashes, help, a value name
 * exactly when it takes a value, and a key when it sets a param. */
static void check_option_row(const struct option_def *o, const char *where)
{
	ck_assert_msg(strncmp(o->name, "--", 2) == 0, "%s: option '%s' has no dashes", where, o->name);
	ck_assert_msg(o->help && *o->help, "%s: %s has no help", where, o->name);
	ck_assert_msg((o->metavar == NULL) == (o->type == OPTION_FLAG),
		      "%s: %s shows a value name exactly when it takes a value", where, o->name);
	ck_assert_msg(o->effect != OPTION_PARAM || o->key, "%s: %s sets no param", where, o->name);
}

/* Every command has a name found by cmd_find, a method, usage text, help and
 * a run function; its operands and options are whole rows. */
START_TEST(test_rows_complete)
{
	static const char *const names[] = { "add", "del", "list", "info", "status" };
	const struct cmd *const *c;
	const struct option_def *o;

	for (c = cmd_table; *c; c++) {
		const struct cmd *cmd = *c;
		size_t len = strlen(cmd->name);

		ck_assert_msg(len > 0, "a command without a name");
		ck_assert_msg(cmd_find(cmd->name) == cmd, "%s is not found by its name", cmd->name);
		ck_assert_msg(cmd->method && *cmd->method, "%s has no method", cmd->name);
		ck_assert_msg(cmd->run, "%s has no run function", cmd->name);
		ck_assert_msg(cmd->forms[0] && strncmp(cmd->forms[0], cmd->name, len) == 0 &&
			      strchr(" ", cmd->forms[0][len]),
			      "%s has no usage line starting with its name", cmd->name);
		ck_assert_msg(cmd->summary && *cmd->summary, "%s has no summary", cmd->name);
		ck_assert_msg(cmd->about && *cmd->about, "%s has no help text", cmd->name);
		ck_assert_msg(cmd->notes && *cmd->notes, "%s has no notes", cmd->name);
		ck_assert_msg((cmd->operand != NULL) == (cmd->max_operands != 0),
			      "%s: an operand row exactly when it takes operands", cmd->name);
		ck_assert_msg(cmd->max_operands < 0 || cmd->min_operands <= cmd->max_operands,
			      "%s: more operands needed than allowed", cmd->name);
		for (o = cmd->options; o && o->name; o++) {
			check_option_row(o, cmd->name);
			ck_assert_msg(!option_find(args_global_options, o->name, strlen(o->name)),
				      "%s: %s is hidden by the global option", cmd->name, o->name);
			ck_assert_msg(option_find(cmd->options, o->name, strlen(o->name)) == o,
				      "%s: %s is in its table twice", cmd->name, o->name);
		}
	}
	for (o = args_global_options; o->name; o++)
		check_option_row(o, "global");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(cmd_find(names[i]), "no command %s", names[i]);
	ck_assert_ptr_null(cmd_find("frob"));
	ck_assert_ptr_null(cmd_find(""));
}
END_TEST

/* Every option of every command is taken after it and lands where its row
 * says; the global options are taken after every command. */
START_TEST(test_every_option_parses)
{
	char *argv[MAX_ARGV];
	struct json_object *value;

	for (const struct cmd *const *c = cmd_table; *c; c++) {
		for (const struct option_def *o = (*c)->options; o && o->name; o++) {
			int argc = o->effect == OPTION_ALL ? 2 : command_line(*c, argv);

			argv[1] = (char *)(*c)->name;
			argv[argc++] = (char *)o->name;
			if (sample(o))
				argv[argc++] = (char *)sample(o);
			argv[argc] = NULL;
			ck_assert_msg(args_parse(argc, argv, NULL, &a, &f) == 0,
				      "%s %s is refused: %s '%s'", (*c)->name, o->name, f.what, f.value);
			ck_assert_ptr_eq(a.command, *c);
			if (o->effect == OPTION_PARAM)
				ck_assert_msg(json_object_object_get_ex(a.params, o->key, &value),
					      "%s %s sets no param %s", (*c)->name, o->name, o->key);
			if (o->effect == OPTION_ALL)
				ck_assert(a.all);
			args_free(&a);
		}
		for (const struct option_def *o = args_global_options; o->name; o++) {
			int argc = command_line(*c, argv);

			argv[argc++] = (char *)o->name;
			if (sample(o))
				argv[argc++] = (char *)sample(o);
			argv[argc] = NULL;
			ck_assert_msg(args_parse(argc, argv, NULL, &a, &f) == 0,
				      "%s %s is refused", (*c)->name, o->name);
			args_free(&a);
		}
	}
}
END_TEST

/* A keyed operand comes first in the params, ahead of the options given. */
START_TEST(test_operand_first)
{
	char *argv[] = { "ublkctl", "add", "--size", "1K", "mem", NULL };

	ck_assert_int_eq(args_parse(5, argv, NULL, &a, &f), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(a.params, JSON_C_TO_STRING_PLAIN),
			 "{\"backend\":\"mem\",\"size\":1024}");
}
END_TEST

/* An unknown command is a usage error (exit 2) naming the word. */
START_TEST(test_unknown_command_exit)
{
	char *argv[] = { "ublkctl", "--json", "frob", "--size", "1", NULL };
	int status;
	char *text;

	ck_assert_int_eq(args_parse(5, argv, NULL, &a, &f), -EINVAL);
	text = report_of(&status);
	ck_assert_int_eq(status, EXIT_USAGE);
	ck_assert_str_eq(text, "ublkctl: unknown command 'frob'\n"
			 "Try 'ublkctl --help' for more information.\n");
	free(text);
}
END_TEST

/* An option no table has, another command's, or a command's own before the
 * command word, is a usage error (exit 2) naming it and pointing at the
 * command's help. */
START_TEST(test_unknown_option_exit)
{
	char *argv[MAX_ARGV], want[256];
	int status;
	char *text;

	for (const struct cmd *const *c = cmd_table; *c; c++) {
		int argc = command_line(*c, argv);

		argv[argc++] = "--no-such-option";
		argv[argc] = NULL;
		ck_assert_int_eq(args_parse(argc, argv, NULL, &a, &f), -EINVAL);
		text = report_of(&status);
		ck_assert_int_eq(status, EXIT_USAGE);
		snprintf(want, sizeof(want), "ublkctl: unknown option '--no-such-option'\n"
			 "Try 'ublkctl %s --help' for more information.\n", (*c)->name);
		ck_assert_str_eq(text, want);
		free(text);
		args_free(&a);

		for (const struct cmd *const *other = cmd_table; *other; other++) {
			for (const struct option_def *o = (*other)->options; o && o->name; o++) {
				/* Before the command word only the global options count. */
				char *before[] = { "ublkctl", (char *)o->name, (char *)(*c)->name, NULL };

				ck_assert_msg(args_parse(3, before, NULL, &a, &f) == -EINVAL &&
					      f.kind == FAILURE_UNKNOWN_OPTION && !f.command,
					      "%s is taken before %s", o->name, (*c)->name);
				args_free(&a);
				if (option_find((*c)->options, o->name, strlen(o->name)))
					continue;
				argc = command_line(*c, argv);
				argv[argc++] = (char *)o->name;
				argv[argc] = NULL;
				ck_assert_msg(args_parse(argc, argv, NULL, &a, &f) == -EINVAL &&
					      f.kind == FAILURE_UNKNOWN_OPTION &&
					      strcmp(f.value, o->name) == 0,
					      "%s takes %s of %s", (*c)->name, o->name, (*other)->name);
				args_free(&a);
			}
		}
	}
}
END_TEST

static char *help_of_operand(const struct cmd *command, const char *operand);

/* Prints the help for command (NULL: the general one) into a string. */
static char *help_of(const struct cmd *command)
{
	return help_of_operand(command, NULL);
}

/* The same for "COMMAND OPERAND --help". */
static char *help_of_operand(const struct cmd *command, const char *operand)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	help_print(mem, command, operand);
	fclose(mem);
	return text;
}

/* True if text has a line starting with prefix. */
static int has_line(const char *text, const char *prefix)
{
	size_t len = strlen(prefix);

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			return 1;
	return 0;
}

/* Asserts no line of text is wider than 79 columns. */
static void check_width(const char *text, const char *what)
{
	for (const char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1)
		ck_assert_msg(nl - p < 80, "%s: a line of %d columns", what, (int)(nl - p));
}

/* add's help lists every backend's options from the generated table, and
 * "add zip --help" only zip's; the options parse into device_add params. */
START_TEST(test_add_backend_options)
{
	char *const argv[] = { "ublkctl", "add", "zip", "--path", "/a.zip", "--chunk-size", "1M",
			       "--cache-limit=0", NULL };
	struct json_object *v;
	struct failure f;
	struct args a;
	char *text = help_of_operand(&cmd_add, "zip");

	ck_assert_ptr_nonnull(backend_options_find("zip"));
	ck_assert_ptr_null(backend_options_find("nosuch"));
	ck_assert_msg(has_line(text, "zip backend: "), "%s", text);
	ck_assert_msg(has_line(text, "  --chunk-size BYTES  "), "%s", text);
	ck_assert_msg(has_line(text, "  --entry NAME  "), "%s", text);
	ck_assert_msg(!strstr(text, "--reserve"), "%s", text);
	check_width(text, "add zip");
	free(text);
	text = help_of(&cmd_add);
	for (const struct backend_options *b = backend_options_table; b->name; b++) {
		char line[64];

		snprintf(line, sizeof(line), "%s backend: ", b->name);
		ck_assert_msg(has_line(text, line), "add --help lacks %s", line);
	}
	ck_assert_msg(has_line(text, "  --reserve  "), "%s", text);
	check_width(text, "add");
	free(text);

	ck_assert_int_eq(args_parse(8, argv, NULL, &a, &f), 0);
	ck_assert(json_object_object_get_ex(a.params, "chunk_size", &v));
	ck_assert_int_eq(json_object_get_int64(v), 1 << 20);
	ck_assert(json_object_object_get_ex(a.params, "cache_limit", &v));
	ck_assert_int_eq(json_object_get_int64(v), 0);
	ck_assert(json_object_object_get_ex(a.params, "path", &v));
	ck_assert_str_eq(json_object_get_string(v), "/a.zip");
	args_free(&a);
}
END_TEST

/* Each command's help starts with its usage, says what it does and lists
 * every option of its row with the option's value name. */
START_TEST(test_command_help)
{
	char line[256];

	for (const struct cmd *const *c = cmd_table; *c; c++) {
		char *text = help_of(*c);

		snprintf(line, sizeof(line), "Usage: ublkctl %s\n", (*c)->forms[0]);
		ck_assert_msg(strncmp(text, line, strlen(line)) == 0, "%s --help: %s", (*c)->name, text);
		ck_assert_msg(strstr(text, (*c)->about), "%s --help lacks its text", (*c)->name);
		for (const struct option_def *o = (*c)->options; o && o->name; o++) {
			snprintf(line, sizeof(line), "  %s%s%s  ", o->name, o->metavar ? " " : "",
				 o->metavar ? o->metavar : "");
			ck_assert_msg(has_line(text, line), "%s --help lacks '%s'", (*c)->name, line);
		}
		check_width(text, (*c)->name);
		free(text);
	}
}
END_TEST

/* The general help lists every command with its summary and every global
 * option and action. */
START_TEST(test_general_help_lists_table)
{
	char *text = help_of(NULL);
	char line[256];

	for (const struct cmd *const *c = cmd_table; *c; c++) {
		snprintf(line, sizeof(line), "  %s", (*c)->forms[0]);
		ck_assert_msg(has_line(text, line), "--help lacks %s", (*c)->name);
		ck_assert_msg(strstr(text, (*c)->summary), "--help lacks %s's summary", (*c)->name);
	}
	for (const struct option_def *o = args_global_options; o->name; o++) {
		snprintf(line, sizeof(line), "  %s", o->name);
		ck_assert_msg(has_line(text, line), "--help lacks %s", o->name);
	}
	for (const struct args_action_def *d = args_actions; d->name; d++) {
		snprintf(line, sizeof(line), "  %s  ", d->name);
		ck_assert_msg(has_line(text, line), "--help lacks %s", d->name);
	}
	check_width(text, "--help");
	free(text);
}
END_TEST

/* The layout: columns as wide as the widest label, continuation lines
 * under the first. */
START_TEST(test_help_layout)
{
	char *text = help_of(NULL);

	ck_assert_str_eq(text,
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
		"  shutdown [OPTIONS]     stop the daemon, deleting or keeping its devices\n"
		"\n"
		"Options, before the command or among its options:\n"
		"  --socket PATH      ublkd's socket (default: $UBLKD_SOCKET if set,\n"
		"                     else /run/ublkd/ublkd.sock)\n"
		"  --json             print the daemon's reply as JSON\n"
		"  --timeout SECONDS  wait this long for each reply (default: 300)\n"
		"  --help             show this help, or a command's after the command\n"
		"  --version          show the version\n"
		"\n"
		"Exit status: 0 success, 1 error, 2 usage error.\n");
	free(text);

	text = help_of(&cmd_del);
	ck_assert_str_eq(text,
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
		"nothing.\n");
	free(text);

	text = help_of(&cmd_status);
	ck_assert_str_eq(text,
		"Usage: ublkctl status\n"
		"\n"
		"Show the daemon's version, protocol, whether the ublk driver is loaded,\n"
		"the driver's features, the uptime and the number of devices as\n"
		"\"key: value\" lines, or with --json as the daemon's JSON object.\n"
		"\n"
		"--socket, --json and --timeout may be given here too.\n");
	free(text);
}
END_TEST

/* --- Dispatch to a fake daemon ------------------------------------------ */

static char dir[] = "/tmp/check_client_cmd.XXXXXX";	/* made anew by each setup */
static char sock_path[sizeof(dir) + 16], log_path[sizeof(dir) + 16];
static pid_t daemon_pid = -1;

/* The result the fake daemon gives for a request line. */
static const char *fake_result(const char *line)
{
	static const char *const results[][2] = {
		{ "\"method\":\"device_add\"", "{\"id\":0,\"block_device\":\"/dev/ublkb0\"}" },
		{ "\"method\":\"device_del\"", "{}" },
		{ "\"method\":\"device_list\"", "[{\"id\":4}]" },
		{ "\"method\":\"device_info\"", "{\"id\":7}" },
		{ "\"method\":\"daemon_info\"", "{\"version\":\"x\"}" },
	};

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
		if (strstr(line, results[i][0]))
			return results[i][1];
	return "null";
}

/* Logs each request line on conn and answers it, until the client hangs up. */
static void fake_serve(int conn)
{
	static char buf[65536];
	char reply[512];
	size_t len = 0;
	ssize_t n;
	char *nl;
	long id;

	while ((n = read(conn, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			int logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
			const char *idp = strstr(buf, "\"id\":");

			if (logfd < 0 || write(logfd, buf, (size_t)(nl - buf + 1)) < 0)
				_exit(2);
			close(logfd);
			*nl = '\0';
			id = idp ? strtol(idp + 5, NULL, 10) : 0;
			snprintf(reply, sizeof(reply), "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"result\":%s}\n",
				 id, fake_result(buf));
			if (write(conn, reply, strlen(reply)) < 0)
				break;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
	}
	close(conn);
}

/* Starts a fake ublkd on a socket in a new directory: it answers every
 * request with a result fit for its method and logs the requests. */
static void daemon_start(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int lfd, conn;

	memcpy(dir + sizeof(dir) - 7, "XXXXXX", 6);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		/* No check calls in here: they would write to the runner's
		 * message file that the child shares. */
		while ((conn = accept(lfd, NULL, NULL)) >= 0)
			fake_serve(conn);
		_exit(0);
	}
	close(lfd);
	ck_assert_int_gt(daemon_pid, 0);
}

/* Stops the fake daemon and removes its directory. */
static void daemon_stop(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	unlink(sock_path);
	unlink(log_path);
	rmdir(dir);
	args_free(&a);
}

/* The requests logged so far, as one string (caller frees); the log is
 * emptied. */
static char *requests(void)
{
	FILE *log = fopen(log_path, "r");
	char *text = calloc(1, 65536);

	ck_assert_ptr_nonnull(text);
	if (log) {
		if (fread(text, 1, 65535, log) == 0 && ferror(log))
			ck_abort_msg("cannot read %s", log_path);
		fclose(log);
	}
	unlink(log_path);
	return text;
}

/* Parses argv, runs it through the table against the fake daemon and
 * returns what it printed (caller frees). */
static char *dispatch(int argc, char *argv[], int want)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_int_eq(args_parse(argc, argv, sock_path, &a, &f), 0);
	ck_assert_int_eq(cmd_run(&a, out, stderr, &f), want);
	fclose(out);
	args_free(&a);
	return text;
}

/* Every command in the table is run by its row: its first request is its
 * row's method, sent to the socket given. */
START_TEST(test_dispatch_each_command)
{
	char *argv[MAX_ARGV], want[128];

	for (const struct cmd *const *c = cmd_table; *c; c++) {
		int argc = command_line(*c, argv);
		char *out = dispatch(argc, argv, 0), *sent = requests();

		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"",
			 (*c)->method);
		ck_assert_msg(strncmp(sent, want, strlen(want)) == 0, "%s sent %s", (*c)->name, sent);
		free(out);
		free(sent);
	}
}
END_TEST

/* add prints the path; del sends device_del with {"id": N} per ID, and
 * with --all deletes what device_list names. */
START_TEST(test_dispatch_requests)
{
	char *add[] = { "ublkctl", "add", "mem", "--size", "1M", NULL };
	char *del[] = { "ublkctl", "del", "22", "3", NULL };
	char *all[] = { "ublkctl", "del", "--all", NULL };
	char *out, *sent;

	out = dispatch(5, add, 0);
	sent = requests();
	ck_assert_str_eq(out, "/dev/ublkb0\n");
	ck_assert_str_eq(sent, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\","
			 "\"params\":{\"backend\":\"mem\",\"size\":1048576}}\n");
	free(out);
	free(sent);

	out = dispatch(4, del, 0);
	sent = requests();
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(sent,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_del\",\"params\":{\"id\":22}}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"device_del\",\"params\":{\"id\":3}}\n");
	free(out);
	free(sent);

	out = dispatch(3, all, 0);
	sent = requests();
	ck_assert_str_eq(sent,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\",\"params\":{}}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"device_del\",\"params\":{\"id\":4}}\n");
	free(out);
	free(sent);
}
END_TEST

/* With no daemon at the socket nothing is run, and the failure says where. */
START_TEST(test_dispatch_no_daemon)
{
	char *argv[] = { "ublkctl", "--socket", "/nonexistent/ublkd.sock", "list", NULL };

	ck_assert_int_eq(args_parse(4, argv, NULL, &a, &f), 0);
	ck_assert_int_eq(cmd_run(&a, stdout, stderr, &f), -ENOENT);
	ck_assert_int_eq(f.kind, FAILURE_CONNECT);
	ck_assert_str_eq(f.socket, "/nonexistent/ublkd.sock");
}
END_TEST

/* Builds the suite of command-table tests. */
static Suite *cmd_suite(void)
{
	Suite *s = suite_create("client_cmd");
	TCase *table = tcase_create("table");
	TCase *help = tcase_create("help");
	TCase *run = tcase_create("run");

	tcase_add_checked_fixture(table, NULL, teardown);
	tcase_add_test(table, test_rows_complete);
	tcase_add_test(table, test_every_option_parses);
	tcase_add_test(table, test_operand_first);
	tcase_add_test(table, test_unknown_command_exit);
	tcase_add_test(table, test_unknown_option_exit);

	tcase_add_test(help, test_command_help);
	tcase_add_test(help, test_general_help_lists_table);
	tcase_add_test(help, test_help_layout);

	tcase_add_checked_fixture(run, daemon_start, daemon_stop);
	tcase_set_timeout(run, 30);
	tcase_add_test(run, test_dispatch_each_command);
	tcase_add_test(run, test_add_backend_options);
	tcase_add_test(run, test_dispatch_requests);
	tcase_add_test(run, test_dispatch_no_daemon);

	suite_add_tcase(s, table);
	suite_add_tcase(s, help);
	suite_add_tcase(s, run);
	return s;
}

/* Runs the suite; the exit status says whether every test passed. */
int main(void)
{
	SRunner *sr = srunner_create(cmd_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
