/* Unit tests for ublkctl's command line: argv in, JSON-RPC request out. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/failure.h"
#include "client/option.h"
#include "client/session.h"
#include "common/protocol.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGV(...) ((char *const[]){ "ublkctl", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *const[]){ "ublkctl", __VA_ARGS__ }) / sizeof(char *)))
/* Parses a literal argument list with $UBLKD_SOCKET unset. */
#define PARSE(a, f, ...) args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), NULL, a, f)

static struct args a;
static struct failure f;

/* Frees what a test parsed. */
static void teardown(void)
{
	args_free(&a);
}

/* The request a parsed command sends first, as JSON text (caller frees). */
static char *request_of(const struct args *parsed)
{
	struct json_object *req = session_request(1, parsed->command->method, parsed->params);
	char *text = strdup(session_request_text(req, NULL));

	json_object_put(req);
	return text;
}

/* Asserts that the parsed command sends exactly the request text want. */
static void check_request(const char *want)
{
	char *got = request_of(&a);

	ck_assert_str_eq(got, want);
	free(got);
}

/* Asserts a usage failure of kind, about what, with value. */
static void check_usage(int ret, enum failure_kind kind, const char *what, const char *value)
{
	ck_assert_int_lt(ret, 0);
	ck_assert_int_eq(f.kind, kind);
	ck_assert(failure_is_usage(&f));
	if (what)
		ck_assert_str_eq(f.what, what);
	if (value)
		ck_assert_str_eq(f.value, value);
}

/* add BACKEND --size sends device_add with backend and size only. */
START_TEST(test_add_minimal)
{
	ck_assert_int_eq(PARSE(&a, &f, "add", "mem", "--size", "1G"), 0);
	ck_assert_int_eq(a.action, ARGS_ACTION_RUN);
	ck_assert_ptr_eq(a.command, &cmd_add);
	ck_assert(!a.json);
	ck_assert_str_eq(a.socket, UBLKD_DEFAULT_SOCKET);
	ck_assert_uint_eq(a.timeout, ARGS_DEFAULT_TIMEOUT);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\","
		      "\"params\":{\"backend\":\"mem\",\"size\":1073741824}}");
}
END_TEST

/* Options left out are not sent. */
START_TEST(test_add_backend_only)
{
	/* Only what was given is sent; the daemon decides what is required. */
	ck_assert_int_eq(PARSE(&a, &f, "add", "null"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\","
		      "\"params\":{\"backend\":\"null\"}}");
}
END_TEST

/* Every add option lands in params under its wire name. */
START_TEST(test_add_every_option)
{
	ck_assert_int_eq(PARSE(&a, &f, "add", "--path", "/srv/a b.img", "file", "--read-only",
			       "--buffered", "--block-size=512", "--queues", "2", "--depth", "64",
			       "--id", "3", "--entry", "disk/x.raw", "--size=4KiB"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\",\"params\":{"
		      "\"backend\":\"file\",\"path\":\"/srv/a b.img\",\"read_only\":true,\"buffered\":true,"
		      "\"block_size\":512,\"queues\":2,\"depth\":64,\"id\":3,"
		      "\"entry\":\"disk/x.raw\",\"size\":4096}}");
}
END_TEST

/* A relative --path is sent absolute: the daemon has its own directory. */
START_TEST(test_add_relative_path)
{
	char cwd[4096], want[4200];
	struct json_object *path;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(PARSE(&a, &f, "add", "file", "--path", "img/d.raw"), 0);
	ck_assert(json_object_object_get_ex(a.params, "path", &path));
	snprintf(want, sizeof(want), "%s/img/d.raw", strcmp(cwd, "/") ? cwd : "");
	ck_assert_str_eq(json_object_get_string(path), want);
}
END_TEST

/* The client does not judge backend names. */
START_TEST(test_add_unknown_backend_passes)
{
	ck_assert_int_eq(PARSE(&a, &f, "add", "nbd-someday", "--size", "1M"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\","
		      "\"params\":{\"backend\":\"nbd-someday\",\"size\":1048576}}");
}
END_TEST

/* A repeated option keeps its last value. */
START_TEST(test_add_repeated_option_last_wins)
{
	ck_assert_int_eq(PARSE(&a, &f, "add", "mem", "--size", "1M", "--size", "2M"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\","
		      "\"params\":{\"backend\":\"mem\",\"size\":2097152}}");
}
END_TEST

/* After -- a word that looks like an option is the backend. */
START_TEST(test_add_after_double_dash)
{
	ck_assert_int_eq(PARSE(&a, &f, "add", "--size", "1K", "--", "--odd"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\","
		      "\"params\":{\"backend\":\"--odd\",\"size\":1024}}");
}
END_TEST

/* A non-numeric --size is a usage error naming option and value. */
START_TEST(test_add_bad_size)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--size", "abc"), FAILURE_BAD_VALUE, "--size", "abc");
	ck_assert_int_eq(f.err, EINVAL);
	ck_assert_str_eq(f.command, "add");
}
END_TEST

/* A negative --size is taken as the value and refused. */
START_TEST(test_add_negative_size)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--size", "-1"), FAILURE_BAD_VALUE, "--size", "-1");
}
END_TEST

/* --size= with nothing after it is refused. */
START_TEST(test_add_empty_size)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--size="), FAILURE_BAD_VALUE, "--size", "");
}
END_TEST

/* A --size past 64 bits is a range error. */
START_TEST(test_add_huge_size)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--size", "16777216T"), FAILURE_BAD_VALUE,
		    "--size", "16777216T");
	ck_assert_int_eq(f.err, ERANGE);
}
END_TEST

/* An option at the end without its value is refused. */
START_TEST(test_add_missing_value)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--size"), FAILURE_MISSING_VALUE, "--size", NULL);
}
END_TEST

/* A flag given =value is refused. */
START_TEST(test_add_flag_with_value)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--read-only=yes"), FAILURE_UNEXPECTED_VALUE,
		    "--read-only", NULL);
}
END_TEST

/* --block-size takes only the powers of two from 512 to 4096. */
START_TEST(test_add_bad_block_size)
{
	static char *const bad[] = { "256", "1000", "3072", "8192", "4k", "" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_usage(PARSE(&a, &f, "add", "mem", "--block-size", bad[i]), FAILURE_BAD_VALUE,
			    "--block-size", bad[i]);
		args_free(&a);
	}
}
END_TEST

/* --block-size takes 512, 1024, 2048 and 4096, as the daemon does. */
START_TEST(test_add_block_sizes)
{
	static char *const good[] = { "512", "1024", "2048", "4096" };
	struct json_object *v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(PARSE(&a, &f, "add", "mem", "--block-size", good[i]), 0);
		ck_assert(json_object_object_get_ex(a.params, "block_size", &v));
		ck_assert_uint_eq(json_object_get_uint64(v), strtoull(good[i], NULL, 10));
		args_free(&a);
	}
}
END_TEST

/* --queues, --depth and --id take decimal numbers in range. */
START_TEST(test_add_bad_numbers)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--queues", "two"), FAILURE_BAD_VALUE,
		    "--queues", "two");
	args_free(&a);
	check_usage(PARSE(&a, &f, "add", "mem", "--depth", "65536"), FAILURE_BAD_VALUE,
		    "--depth", "65536");
	ck_assert_int_eq(f.err, ERANGE);
	args_free(&a);
	check_usage(PARSE(&a, &f, "add", "mem", "--id", "2147483648"), FAILURE_BAD_VALUE,
		    "--id", "2147483648");
	ck_assert_int_eq(f.err, ERANGE);
	args_free(&a);
	check_usage(PARSE(&a, &f, "add", "mem", "--id", "-1"), FAILURE_BAD_VALUE, "--id", "-1");
}
END_TEST

/* add takes exactly one BACKEND. */
START_TEST(test_add_operand_count)
{
	check_usage(PARSE(&a, &f, "add"), FAILURE_MISSING_ARGUMENT, "BACKEND", NULL);
	args_free(&a);
	check_usage(PARSE(&a, &f, "add", "--size", "1M"), FAILURE_MISSING_ARGUMENT, "BACKEND", NULL);
	args_free(&a);
	check_usage(PARSE(&a, &f, "add", "mem", "null"), FAILURE_EXTRA_ARGUMENT, NULL, "null");
}
END_TEST

/* del's --all is not an add option. */
START_TEST(test_add_option_of_other_command)
{
	check_usage(PARSE(&a, &f, "add", "mem", "--all"), FAILURE_UNKNOWN_OPTION, NULL, "--all");
}
END_TEST

/* --socket, --json and --timeout work before and after the command. */
START_TEST(test_globals_everywhere)
{
	ck_assert_int_eq(PARSE(&a, &f, "--socket", "/a", "list", "--json", "--timeout=7"), 0);
	ck_assert_str_eq(a.socket, "/a");
	ck_assert(a.json);
	ck_assert_uint_eq(a.timeout, 7);
	args_free(&a);
	ck_assert_int_eq(PARSE(&a, &f, "--json", "--timeout", "9", "info", "--socket=/b", "4"), 0);
	ck_assert_str_eq(a.socket, "/b");
	ck_assert(a.json);
	ck_assert_uint_eq(a.timeout, 9);
}
END_TEST

#ifdef HAVE_NBD
/* After the backend's name, its own --timeout is the backend's; before the
 * command word, or after a backend without one, it is the reply timeout. */
START_TEST(test_backend_option_shadows_global)
{
	ck_assert_int_eq(PARSE(&a, &f, "--timeout", "60", "add", "nbd", "--url", "nbd://h",
			       "--timeout", "5"), 0);
	ck_assert_uint_eq(a.timeout, 60);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\",\"params\":{"
		      "\"backend\":\"nbd\",\"url\":\"nbd://h\",\"timeout\":\"5\"}}");
	args_free(&a);
	ck_assert_int_eq(PARSE(&a, &f, "add", "mem", "--size", "1M", "--timeout", "8"), 0);
	ck_assert_uint_eq(a.timeout, 8);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\","
		      "\"params\":{\"backend\":\"mem\",\"size\":1048576}}");
}
END_TEST
#endif

#ifdef HAVE_RBD
/* After `add rbd`, --id is rbd's client (the spelling); the device
 * id goes before the backend's name. */
START_TEST(test_rbd_id_is_the_client)
{
	ck_assert_int_eq(PARSE(&a, &f, "add", "--id", "3", "rbd", "--pool", "p", "--image", "i",
			       "--id", "admin"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\",\"params\":{"
		      "\"backend\":\"rbd\",\"id\":3,\"pool\":\"p\",\"image\":\"i\","
		      "\"client_id\":\"admin\"}}");
}
END_TEST
#endif

/* --socket beats $UBLKD_SOCKET, which beats the default. */
START_TEST(test_socket_precedence)
{
	char *const argv[] = { "ublkctl", "list", NULL };
	char *const argv_opt[] = { "ublkctl", "--socket", "/opt.sock", "list", NULL };

	ck_assert_int_eq(args_parse(2, argv, "/env.sock", &a, &f), 0);
	ck_assert_str_eq(a.socket, "/env.sock");
	args_free(&a);
	ck_assert_int_eq(args_parse(4, argv_opt, "/env.sock", &a, &f), 0);
	ck_assert_str_eq(a.socket, "/opt.sock");
	args_free(&a);
	ck_assert_int_eq(args_parse(2, argv, "", &a, &f), 0);
	ck_assert_str_eq(a.socket, UBLKD_DEFAULT_SOCKET);
}
END_TEST

/* --timeout must be a whole number of seconds, 1 or more. */
START_TEST(test_bad_timeout)
{
	check_usage(PARSE(&a, &f, "--timeout", "0", "list"), FAILURE_BAD_VALUE, "--timeout", "0");
	ck_assert_ptr_null(f.command);
	args_free(&a);
	check_usage(PARSE(&a, &f, "list", "--timeout", "1.5"), FAILURE_BAD_VALUE, "--timeout", "1.5");
	ck_assert_str_eq(f.command, "list");
	args_free(&a);
	check_usage(PARSE(&a, &f, "list", "--timeout", "2147484"), FAILURE_BAD_VALUE,
		    "--timeout", "2147484");
}
END_TEST

/* A command line without a command is a usage error. */
START_TEST(test_no_command)
{
	char *const argv[] = { "ublkctl", NULL };

	check_usage(args_parse(1, argv, NULL, &a, &f), FAILURE_NO_COMMAND, NULL, NULL);
	args_free(&a);
	check_usage(PARSE(&a, &f, "--json"), FAILURE_NO_COMMAND, NULL, NULL);
}
END_TEST

/* An unknown command is named in the failure. */
START_TEST(test_unknown_command)
{
	check_usage(PARSE(&a, &f, "frob", "1"), FAILURE_UNKNOWN_COMMAND, NULL, "frob");
	ck_assert_ptr_null(f.command);
}
END_TEST

/* Unknown, short and abbreviated options are refused. */
START_TEST(test_unknown_global_option)
{
	check_usage(PARSE(&a, &f, "--frob", "list"), FAILURE_UNKNOWN_OPTION, NULL, "--frob");
	args_free(&a);
	check_usage(PARSE(&a, &f, "-j", "list"), FAILURE_UNKNOWN_OPTION, NULL, "-j");
	args_free(&a);
	/* No abbreviations: scripts must keep working when options are added. */
	check_usage(PARSE(&a, &f, "--sock", "/x", "list"), FAILURE_UNKNOWN_OPTION, NULL, "--sock");
}
END_TEST

/* del collects its IDs in order. */
START_TEST(test_del_ids)
{
	ck_assert_int_eq(PARSE(&a, &f, "del", "1", "0", "22"), 0);
	ck_assert_ptr_eq(a.command, &cmd_del);
	ck_assert_str_eq(a.command->method, "device_del");
	ck_assert(!a.all);
	ck_assert_str_eq(json_object_to_json_string_ext(a.ids, JSON_C_TO_STRING_PLAIN), "[1,0,22]");
}
END_TEST

/* del --all takes no IDs. */
START_TEST(test_del_all)
{
	ck_assert_int_eq(PARSE(&a, &f, "del", "--all"), 0);
	ck_assert(a.all);
	ck_assert_int_eq(json_object_array_length(a.ids), 0);
	args_free(&a);
	check_usage(PARSE(&a, &f, "del", "--all", "3"), FAILURE_CONFLICT, "--all", NULL);
}
END_TEST

/* del needs IDs, each a number in range. */
START_TEST(test_del_bad_ids)
{
	check_usage(PARSE(&a, &f, "del"), FAILURE_MISSING_ARGUMENT, "ID", NULL);
	ck_assert_str_eq(f.command, "del");
	args_free(&a);
	check_usage(PARSE(&a, &f, "del", "1", "x2"), FAILURE_BAD_VALUE, "ID", "x2");
	args_free(&a);
	check_usage(PARSE(&a, &f, "del", "1", ""), FAILURE_BAD_VALUE, "ID", "");
	args_free(&a);
	check_usage(PARSE(&a, &f, "del", "99999999999"), FAILURE_BAD_VALUE, "ID", "99999999999");
	ck_assert_int_eq(f.err, ERANGE);
	args_free(&a);
	check_usage(PARSE(&a, &f, "del", "-1"), FAILURE_UNKNOWN_OPTION, NULL, "-1");
}
END_TEST

/* info sends device_info with the one ID it takes. */
START_TEST(test_info)
{
	ck_assert_int_eq(PARSE(&a, &f, "info", "7"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_info\",\"params\":{\"id\":7}}");
	args_free(&a);
	check_usage(PARSE(&a, &f, "info"), FAILURE_MISSING_ARGUMENT, "ID", NULL);
	args_free(&a);
	check_usage(PARSE(&a, &f, "info", "1", "2"), FAILURE_EXTRA_ARGUMENT, NULL, "2");
	args_free(&a);
	check_usage(PARSE(&a, &f, "info", "one"), FAILURE_BAD_VALUE, "ID", "one");
}
END_TEST

/* list and status send {} and take no operands. */
START_TEST(test_list_and_status)
{
	ck_assert_int_eq(PARSE(&a, &f, "list"), 0);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\",\"params\":{}}");
	args_free(&a);
	ck_assert_int_eq(PARSE(&a, &f, "status", "--json"), 0);
	ck_assert(a.json);
	check_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon_info\",\"params\":{}}");
	args_free(&a);
	check_usage(PARSE(&a, &f, "list", "all"), FAILURE_EXTRA_ARGUMENT, NULL, "all");
	args_free(&a);
	check_usage(PARSE(&a, &f, "status", "--size", "1G"), FAILURE_UNKNOWN_OPTION, NULL, "--size");
}
END_TEST

/* --help and --version win over the rest of the line. */
START_TEST(test_help_and_version)
{
	ck_assert_int_eq(PARSE(&a, &f, "--help"), 0);
	ck_assert_int_eq(a.action, ARGS_ACTION_HELP);
	ck_assert_ptr_null(a.command);
	args_free(&a);
	ck_assert_int_eq(PARSE(&a, &f, "--json", "--version"), 0);
	ck_assert_int_eq(a.action, ARGS_ACTION_VERSION);
	args_free(&a);
	/* Help wins over mistakes in the same command line. */
	ck_assert_int_eq(PARSE(&a, &f, "add", "--size", "junk", "--help"), 0);
	ck_assert_int_eq(a.action, ARGS_ACTION_HELP);
	ck_assert_ptr_eq(a.command, &cmd_add);
	args_free(&a);
	ck_assert_int_eq(PARSE(&a, &f, "del", "--help"), 0);
	ck_assert_ptr_eq(a.command, &cmd_del);
	ck_assert_int_eq(a.action, ARGS_ACTION_HELP);
}
END_TEST

/* option_number: digits only, overflow and the maximum. */
START_TEST(test_number)
{
	uint64_t n = 42;

	ck_assert_int_eq(option_number("0", 10, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(option_number("65535", UINT16_MAX, &n), 0);
	ck_assert_uint_eq(n, 65535);
	ck_assert_int_eq(option_number("65536", UINT16_MAX, &n), -ERANGE);
	ck_assert_int_eq(option_number("18446744073709551615", UINT64_MAX, &n), 0);
	ck_assert_uint_eq(n, UINT64_MAX);
	ck_assert_int_eq(option_number("18446744073709551616", UINT64_MAX, &n), -ERANGE);
	ck_assert_int_eq(option_number("", 10, &n), -EINVAL);
	ck_assert_int_eq(option_number("1a", 10, &n), -EINVAL);
	ck_assert_int_eq(option_number("99999999999999999999a", 10, &n), -EINVAL);
	ck_assert_int_eq(option_number(" 1", 10, &n), -EINVAL);
	ck_assert_int_eq(option_number("11", 10, &n), -ERANGE);
}
END_TEST

/* Reports f into a string and returns the exit status in *status. */
static char *report_of(const struct failure *failure, int *status)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	*status = failure_report(failure, mem);
	fclose(mem);
	return text;
}

/* Usage failures print the message and the hint, exit 2. */
START_TEST(test_report_usage)
{
	int status;
	char *text;

	PARSE(&a, &f, "add", "mem", "--size", "12Q");
	text = report_of(&f, &status);
	ck_assert_int_eq(status, EXIT_USAGE);
	ck_assert_str_eq(text, "ublkctl: invalid --size '12Q': expected a size in bytes, "
			 "or a number with a K, M, G or T suffix\n"
			 "Try 'ublkctl add --help' for more information.\n");
	free(text);
	args_free(&a);

	PARSE(&a, &f, "bogus");
	text = report_of(&f, &status);
	ck_assert_int_eq(status, EXIT_USAGE);
	ck_assert_str_eq(text, "ublkctl: unknown command 'bogus'\n"
			 "Try 'ublkctl --help' for more information.\n");
	free(text);
	args_free(&a);

	PARSE(&a, &f, "del", "4294967296");
	text = report_of(&f, &status);
	ck_assert_int_eq(status, EXIT_USAGE);
	ck_assert_str_eq(text, "ublkctl: ID '4294967296' is out of range: expected a device ID "
			 "from 0 to 2147483647\nTry 'ublkctl del --help' for more information.\n");
	free(text);
}
END_TEST

/* Other failures print one line and exit 1; none exits 0. */
START_TEST(test_report_errors)
{
	struct failure e = { 0 };
	int status;
	char *text;

	text = report_of(&e, &status);
	ck_assert_int_eq(status, EXIT_OK);
	ck_assert_str_eq(text, "");
	free(text);

	failure_set(&e, FAILURE_CONNECT, ENOENT, NULL, NULL);
	e.socket = "/run/ublkd/ublkd.sock";
	text = report_of(&e, &status);
	ck_assert_int_eq(status, EXIT_ERROR);
	ck_assert_str_eq(text, "ublkctl: cannot connect to ublkd at /run/ublkd/ublkd.sock: "
			 "No such file or directory (is ublkd running?)\n");
	free(text);

	failure_set(&e, FAILURE_DAEMON, EREMOTEIO, NULL, NULL);
	snprintf(e.message, sizeof(e.message), "device 7: no such device");
	text = report_of(&e, &status);
	ck_assert_int_eq(status, EXIT_ERROR);
	ck_assert_str_eq(text, "ublkctl: device 7: no such device\n");
	free(text);

	failure_set(&e, FAILURE_RECEIVE, ETIMEDOUT, NULL, NULL);
	e.socket = "/s";
	e.timeout = 3;
	text = report_of(&e, &status);
	ck_assert_int_eq(status, EXIT_ERROR);
	ck_assert_str_eq(text, "ublkctl: no reply from ublkd at /s within 3 seconds (see --timeout)\n");
	free(text);

	failure_set(&e, FAILURE_REPORTED, EIO, NULL, NULL);
	text = report_of(&e, &status);
	ck_assert_int_eq(status, EXIT_ERROR);
	ck_assert_str_eq(text, "");
	free(text);
}
END_TEST

/* Builds the suite of command-line tests. */
static Suite *args_suite(void)
{
	Suite *s = suite_create("client_args");
	TCase *add = tcase_create("add");
	TCase *common = tcase_create("common");
	TCase *others = tcase_create("others");
	TCase *report = tcase_create("report");

	tcase_add_checked_fixture(add, NULL, teardown);
	tcase_add_checked_fixture(common, NULL, teardown);
	tcase_add_checked_fixture(others, NULL, teardown);
	tcase_add_checked_fixture(report, NULL, teardown);

	tcase_add_test(add, test_add_minimal);
#ifdef HAVE_NBD
	tcase_add_test(add, test_backend_option_shadows_global);
#endif
#ifdef HAVE_RBD
	tcase_add_test(add, test_rbd_id_is_the_client);
#endif
	tcase_add_test(add, test_add_backend_only);
	tcase_add_test(add, test_add_every_option);
	tcase_add_test(add, test_add_relative_path);
	tcase_add_test(add, test_add_unknown_backend_passes);
	tcase_add_test(add, test_add_repeated_option_last_wins);
	tcase_add_test(add, test_add_after_double_dash);
	tcase_add_test(add, test_add_bad_size);
	tcase_add_test(add, test_add_negative_size);
	tcase_add_test(add, test_add_empty_size);
	tcase_add_test(add, test_add_huge_size);
	tcase_add_test(add, test_add_missing_value);
	tcase_add_test(add, test_add_flag_with_value);
	tcase_add_test(add, test_add_bad_block_size);
	tcase_add_test(add, test_add_block_sizes);
	tcase_add_test(add, test_add_bad_numbers);
	tcase_add_test(add, test_add_operand_count);
	tcase_add_test(add, test_add_option_of_other_command);

	tcase_add_test(common, test_globals_everywhere);
	tcase_add_test(common, test_socket_precedence);
	tcase_add_test(common, test_bad_timeout);
	tcase_add_test(common, test_no_command);
	tcase_add_test(common, test_unknown_command);
	tcase_add_test(common, test_unknown_global_option);
	tcase_add_test(common, test_help_and_version);
	tcase_add_test(common, test_number);

	tcase_add_test(others, test_del_ids);
	tcase_add_test(others, test_del_all);
	tcase_add_test(others, test_del_bad_ids);
	tcase_add_test(others, test_info);
	tcase_add_test(others, test_list_and_status);

	tcase_add_test(report, test_report_usage);
	tcase_add_test(report, test_report_errors);

	suite_add_tcase(s, add);
	suite_add_tcase(s, common);
	suite_add_tcase(s, others);
	suite_add_tcase(s, report);
	return s;
}

/* Runs the suite; the exit status says whether every test passed. */
int main(void)
{
	SRunner *sr = srunner_create(args_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
