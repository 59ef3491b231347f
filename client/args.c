/* Parsing ublkctl's command line into a struct args. */
#include "config.h"
#include "client/args.h"
#include "common/protocol.h"
#include "common/size.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How an option's value is read. */
enum args_type {
	ARGS_FLAG,		/* no value */
	ARGS_STRING,		/* any text */
	ARGS_PATH,		/* a file name, made absolute: ublkd has its own cwd */
	ARGS_SIZE,		/* size_parse */
	ARGS_NUMBER,		/* decimal, at most max */
	ARGS_BLOCK_SIZE,	/* 512 or 4096 */
};

/* What an option does once read. */
enum args_effect {
	ARGS_SET_SOCKET,
	ARGS_SET_JSON,
	ARGS_SET_TIMEOUT,
	ARGS_SET_ALL,
	ARGS_SET_PARAM,		/* stored in params under key */
};

struct args_option {
	const char *name;	/* with the dashes */
	enum args_type type;
	enum args_effect effect;
	const char *key;	/* ARGS_SET_PARAM: the params member */
	uint64_t max;		/* ARGS_NUMBER: the largest value */
	const char *expect;	/* what a valid value looks like, for messages */
};

static const char args_expect_size[] =
	"a size in bytes, or a number with a K, M, G or T suffix";
static const char args_expect_id[] = "a device ID from 0 to 2147483647";
static const char args_expect_u16[] = "a whole number from 0 to 65535";
static const char args_expect_block_size[] = "512 or 4096";
static const char args_expect_seconds[] = "a number of seconds from 1 to 2147483";

/* Options every command takes, before the command or among its options. */
static const struct args_option args_global_options[] = {
	{ "--socket", ARGS_STRING, ARGS_SET_SOCKET, NULL, 0, NULL },
	{ "--json", ARGS_FLAG, ARGS_SET_JSON, NULL, 0, NULL },
	{ "--timeout", ARGS_NUMBER, ARGS_SET_TIMEOUT, NULL, ARGS_MAX_TIMEOUT, args_expect_seconds },
	{ NULL, 0, 0, NULL, 0, NULL },
};

/* add's own options: each becomes a device_add param. */
static const struct args_option args_add_options[] = {
	{ "--size", ARGS_SIZE, ARGS_SET_PARAM, "size", 0, args_expect_size },
	{ "--path", ARGS_PATH, ARGS_SET_PARAM, "path", 0, NULL },
	{ "--entry", ARGS_STRING, ARGS_SET_PARAM, "entry", 0, NULL },
	{ "--id", ARGS_NUMBER, ARGS_SET_PARAM, "id", ARGS_MAX_ID, args_expect_id },
	{ "--queues", ARGS_NUMBER, ARGS_SET_PARAM, "queues", UINT16_MAX, args_expect_u16 },
	{ "--depth", ARGS_NUMBER, ARGS_SET_PARAM, "depth", UINT16_MAX, args_expect_u16 },
	{ "--block-size", ARGS_BLOCK_SIZE, ARGS_SET_PARAM, "block_size", 0, args_expect_block_size },
	{ "--read-only", ARGS_FLAG, ARGS_SET_PARAM, "read_only", 0, NULL },
	{ "--buffered", ARGS_FLAG, ARGS_SET_PARAM, "buffered", 0, NULL },
	{ "--reserve", ARGS_FLAG, ARGS_SET_PARAM, "reserve", 0, NULL },
	{ NULL, 0, 0, NULL, 0, NULL },
};

/* del's own option. */
static const struct args_option args_del_options[] = {
	{ "--all", ARGS_FLAG, ARGS_SET_ALL, NULL, 0, NULL },
	{ NULL, 0, 0, NULL, 0, NULL },
};

static const struct args_option args_no_options[] = {
	{ NULL, 0, 0, NULL, 0, NULL },
};

/* The commands, their methods, options and operands. */
static const struct args_command_info {
	enum args_command command;
	const char *name;
	const char *method;
	const struct args_option *options;
	int min_operands, max_operands;	/* -1: no limit */
	const char *operand;		/* the operands' name in messages */
} args_commands[] = {
	{ ARGS_COMMAND_ADD, "add", RPC_M_DEVICE_ADD, args_add_options, 1, 1, "BACKEND" },
	{ ARGS_COMMAND_DEL, "del", RPC_M_DEVICE_DEL, args_del_options, 1, -1, "ID" },
	{ ARGS_COMMAND_LIST, "list", RPC_M_DEVICE_LIST, args_no_options, 0, 0, NULL },
	{ ARGS_COMMAND_INFO, "info", RPC_M_DEVICE_INFO, args_no_options, 1, 1, "ID" },
	{ ARGS_COMMAND_STATUS, "status", RPC_M_DAEMON_INFO, args_no_options, 0, 0, NULL },
};

#define ARGS_N_COMMANDS (sizeof(args_commands) / sizeof(args_commands[0]))

/* Finds a command's entry by its enum value, or NULL. */
static const struct args_command_info *args_command_find(enum args_command command)
{
	for (size_t i = 0; i < ARGS_N_COMMANDS; i++)
		if (args_commands[i].command == command)
			return &args_commands[i];
	return NULL;
}

/* The command's name as typed ("add"), or NULL for none. */
const char *args_command_name(enum args_command command)
{
	const struct args_command_info *info = args_command_find(command);

	return info ? info->name : NULL;
}

/* The JSON-RPC method a command sends (del: the one per ID), or NULL. */
const char *args_command_method(enum args_command command)
{
	const struct args_command_info *info = args_command_find(command);

	return info ? info->method : NULL;
}

/* Parses a decimal number of at most max: digits only. */
int args_number(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t value = 0;
	bool overflow = false;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned digit = (unsigned)(*p - '0');

		if (digit > max || value > (max - digit) / 10)
			overflow = true;
		else
			value = value * 10 + digit;
	}
	if (overflow)
		return -ERANGE;
	*out = value;
	return 0;
}

/* Finds an option by name in a NULL-terminated table, or NULL. */
static const struct args_option *args_option_find(const struct args_option *table,
						  const char *name, size_t len)
{
	for (; table->name; table++)
		if (strlen(table->name) == len && strncmp(table->name, name, len) == 0)
			return table;
	return NULL;
}

/* Records a bad value of an option or operand and returns err. */
static int args_bad_value(struct failure *f, int err, const char *what,
			  const char *value, const char *expect)
{
	failure_set(f, FAILURE_BAD_VALUE, -err, what, value);
	f->expect = expect;
	return err;
}

/* Adds name=value to params, taking the reference to value. */
static int args_param(struct json_object *params, const char *key, struct json_object *value,
		      struct failure *f)
{
	if (!value || json_object_object_add(params, key, value) < 0) {
		json_object_put(value);
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	}
	return 0;
}

/* Makes a relative path absolute against the current directory. */
static struct json_object *args_absolute_path(const char *path)
{
	struct json_object *json;
	char *cwd, *abs;

	if (path[0] == '/' || !path[0] || !(cwd = getcwd(NULL, 0)))
		return json_object_new_string(path);
	if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) < 0) {
		free(cwd);
		return NULL;
	}
	json = json_object_new_string(abs);
	free(abs);
	free(cwd);
	return json;
}

/* Reads one option's value and applies it to a. */
static int args_apply(struct args *a, const struct args_option *opt, const char *value,
		      struct failure *f)
{
	uint64_t n = 0;
	struct json_object *json = NULL;
	int ret;

	switch (opt->type) {
	case ARGS_FLAG:
		json = json_object_new_boolean(1);
		break;
	case ARGS_STRING:
		json = json_object_new_string(value);
		break;
	case ARGS_PATH:
		json = args_absolute_path(value);
		break;
	case ARGS_SIZE:
		ret = size_parse(value, &n);
		if (ret < 0)
			return args_bad_value(f, ret, opt->name, value, opt->expect);
		json = json_object_new_uint64(n);
		break;
	case ARGS_NUMBER:
		ret = args_number(value, opt->max, &n);
		if (ret < 0)
			return args_bad_value(f, ret, opt->name, value, opt->expect);
		if (opt->effect == ARGS_SET_TIMEOUT && n == 0)
			return args_bad_value(f, -ERANGE, opt->name, value, opt->expect);
		json = json_object_new_uint64(n);
		break;
	case ARGS_BLOCK_SIZE:
		ret = args_number(value, UINT32_MAX, &n);
		if (ret < 0 || (n != 512 && n != 4096))
			return args_bad_value(f, -EINVAL, opt->name, value, opt->expect);
		json = json_object_new_uint64(n);
		break;
	}

	switch (opt->effect) {
	case ARGS_SET_SOCKET:
		a->socket = value;
		break;
	case ARGS_SET_JSON:
		a->json = true;
		break;
	case ARGS_SET_TIMEOUT:
		a->timeout = (unsigned)n;
		break;
	case ARGS_SET_ALL:
		a->all = true;
		break;
	case ARGS_SET_PARAM:
		return args_param(a->params, opt->key, json, f);
	}
	json_object_put(json);
	return 0;
}

/* Handles the option at argv[*i] from the tables, consuming its value;
 * command is NULL before the command word. */
static int args_option(struct args *a, int argc, char *const argv[], int *i,
		       const struct args_command_info *command, struct failure *f)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct args_option *opt = args_option_find(args_global_options, arg, len);
	const char *value = eq ? eq + 1 : NULL;

	if (!opt && command)
		opt = args_option_find(command->options, arg, len);
	if (!opt)
		return failure_set(f, FAILURE_UNKNOWN_OPTION, EINVAL, NULL, arg);
	if (opt->type == ARGS_FLAG) {
		if (value)
			return failure_set(f, FAILURE_UNEXPECTED_VALUE, EINVAL, opt->name, NULL);
	} else if (!value) {
		if (*i + 1 >= argc)
			return failure_set(f, FAILURE_MISSING_VALUE, EINVAL, opt->name, NULL);
		value = argv[++*i];
	}
	return args_apply(a, opt, value, f);
}

/* True if argv[from..] asks for help before any "--". */
static bool args_wants_help(int argc, char *const argv[], int from)
{
	for (int i = from; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

/* Puts backend first in add's params, ahead of the options given. */
static int args_backend(struct args *a, const char *backend, struct failure *f)
{
	struct json_object *params = json_object_new_object();

	if (!params)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	if (args_param(params, "backend", json_object_new_string(backend), f) < 0) {
		json_object_put(params);
		return -ENOMEM;
	}
	json_object_object_foreach(a->params, key, value) {
		if (args_param(params, key, json_object_get(value), f) < 0) {
			json_object_put(params);
			return -ENOMEM;
		}
	}
	json_object_put(a->params);
	a->params = params;
	return 0;
}

/* Checks the operands' count and turns them into params or IDs. */
static int args_operands(struct args *a, const struct args_command_info *command,
			 const char *const operands[], int n, struct failure *f)
{
	uint64_t id;
	int ret;

	if (a->all && n > 0)
		return failure_set(f, FAILURE_CONFLICT, EINVAL, "--all", "device IDs");
	if (n < command->min_operands && !a->all)
		return failure_set(f, FAILURE_MISSING_ARGUMENT, EINVAL, command->operand, NULL);
	if (command->max_operands >= 0 && n > command->max_operands)
		return failure_set(f, FAILURE_EXTRA_ARGUMENT, EINVAL, NULL,
				   operands[command->max_operands]);

	if (command->command == ARGS_COMMAND_ADD)
		return args_backend(a, operands[0], f);

	for (int i = 0; i < n; i++) {
		ret = args_number(operands[i], ARGS_MAX_ID, &id);
		if (ret < 0)
			return args_bad_value(f, ret, "ID", operands[i], args_expect_id);
		if (command->command == ARGS_COMMAND_INFO)
			ret = args_param(a->params, "id", json_object_new_int64((int64_t)id), f);
		else if (json_object_array_add(a->ids, json_object_new_int64((int64_t)id)) < 0)
			ret = failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Parses the words after the command word. */
static int args_command_words(struct args *a, int argc, char *const argv[], int i,
			      const struct args_command_info *command, struct failure *f)
{
	const char **list;
	int n = 0, ret;
	bool options = true;

	list = calloc((size_t)argc, sizeof(*list));
	if (!list)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "parsing the command line", NULL);
	for (; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = false;
		} else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			ret = args_option(a, argc, argv, &i, command, f);
			if (ret < 0)
				goto out;
		} else {
			list[n++] = argv[i];
		}
	}
	ret = args_operands(a, command, list, n, f);
out:
	free(list);
	return ret;
}

/* Parses argv into a; env_socket is $UBLKD_SOCKET (NULL or "" when unset). */
int args_parse(int argc, char *const argv[], const char *env_socket,
	       struct args *a, struct failure *f)
{
	const struct args_command_info *command = NULL;
	int i, ret;

	memset(a, 0, sizeof(*a));
	memset(f, 0, sizeof(*f));
	a->timeout = ARGS_DEFAULT_TIMEOUT;
	a->socket = env_socket && *env_socket ? env_socket : UBLKD_DEFAULT_SOCKET;
	a->params = json_object_new_object();
	a->ids = json_object_new_array();
	if (!a->params || !a->ids)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "parsing the command line", NULL);

	for (i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			a->action = ARGS_ACTION_HELP;
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			a->action = ARGS_ACTION_VERSION;
			return 0;
		}
		ret = args_option(a, argc, argv, &i, NULL, f);
		if (ret < 0)
			return ret;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return failure_set(f, FAILURE_NO_COMMAND, EINVAL, NULL, NULL);
	for (size_t c = 0; c < ARGS_N_COMMANDS; c++)
		if (strcmp(argv[i], args_commands[c].name) == 0)
			command = &args_commands[c];
	if (!command)
		return failure_set(f, FAILURE_UNKNOWN_COMMAND, EINVAL, NULL, argv[i]);

	a->command = command->command;
	f->command = command->name;
	if (args_wants_help(argc, argv, i + 1)) {
		a->action = ARGS_ACTION_HELP;
		return 0;
	}
	return args_command_words(a, argc, argv, i + 1, command, f);
}

/* Releases what args_parse allocated. */
void args_free(struct args *a)
{
	json_object_put(a->params);
	json_object_put(a->ids);
	a->params = NULL;
	a->ids = NULL;
}
