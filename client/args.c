/* Parsing ublkctl's command line into a struct args by the tables: the global
 * options and actions here, each command's options and operands in its row. */
#include "config.h"
#include "client/args.h"
#include "common/protocol.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A number macro's value as a string literal. */
#define ARGS_STR(x)	ARGS_STR_(x)
#define ARGS_STR_(x)	#x

/* The options every command takes, before the command or among its options. */
const struct option_def args_global_options[] = {
	{ .name = "--socket", .metavar = "PATH", .type = OPTION_STRING, .effect = OPTION_SOCKET,
	  .help = "ublkd's socket (default: $" UBLKD_SOCKET_ENV " if set,\n"
		  "else " UBLKD_DEFAULT_SOCKET ")" },
	{ .name = "--json", .type = OPTION_FLAG, .effect = OPTION_JSON,
	  .help = "print the daemon's reply as JSON" },
	{ .name = "--timeout", .metavar = "SECONDS", .type = OPTION_NUMBER,
	  .effect = OPTION_TIMEOUT, .min = 1, .max = ARGS_MAX_TIMEOUT,
	  .expect = "a number of seconds from 1 to " ARGS_STR(ARGS_MAX_TIMEOUT),
	  .help = "wait this long for each reply (default: " ARGS_STR(ARGS_DEFAULT_TIMEOUT) ")" },
	{ .name = NULL },
};

/* The words that stand for a command before it. */
const struct args_action_def args_actions[] = {
	{ "--help", ARGS_ACTION_HELP, "show this help, or a command's after the command" },
	{ "--version", ARGS_ACTION_VERSION, "show the version" },
	{ NULL, ARGS_ACTION_RUN, NULL },
};

/* Adds key=value to params, taking the reference to value. */
static int args_param(struct json_object *params, const char *key, struct json_object *value,
		      struct failure *f)
{
	if (json_object_object_add(params, key, value) < 0) {
		json_object_put(value);
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	}
	return 0;
}

/* Reads one option's value and puts it where the option's row says. */
static int args_apply(struct args *a, const struct option_def *o, const char *text,
		      struct failure *f)
{
	struct json_object *value;
	int ret = option_read(o, text, &value, f);

	if (ret < 0)
		return ret;
	switch (o->effect) {
	case OPTION_PARAM:
		return args_param(a->params, o->key, value, f);
	case OPTION_SOCKET:
		a->socket = text;
		break;
	case OPTION_JSON:
		a->json = true;
		break;
	case OPTION_TIMEOUT:
		a->timeout = (unsigned)json_object_get_uint64(value);
		break;
	case OPTION_ALL:
		a->all = true;
		break;
	}
	json_object_put(value);
	return 0;
}

/* Handles the option at argv[*i], consuming its value; command is NULL before
 * the command word. */
static int args_option(struct args *a, int argc, char *const argv[], int *i,
		       const struct cmd *command, const char *operand, struct failure *f)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct option_def *o = NULL;
	const char *value = eq ? eq + 1 : NULL;

	if (command && operand && command->find_operand_option)
		o = command->find_operand_option(operand, arg, len);
	if (!o)
		o = option_find(args_global_options, arg, len);

	if (!o && command)
		o = option_find(command->options, arg, len);
	if (!o && command && command->find_option)
		o = command->find_option(arg, len);
	if (!o)
		return failure_set(f, FAILURE_UNKNOWN_OPTION, EINVAL, NULL, arg);
	if (o->type == OPTION_FLAG) {
		if (value)
			return failure_set(f, FAILURE_UNEXPECTED_VALUE, EINVAL, o->name, NULL);
	} else if (!value) {
		if (*i + 1 >= argc)
			return failure_set(f, FAILURE_MISSING_VALUE, EINVAL, o->name, NULL);
		value = argv[++*i];
	}
	return args_apply(a, o, value, f);
}

/* True if argv[from..] asks for help before any "--"; *operand is then
 * the first word that is not an option, or NULL. */
static bool args_wants_help(int argc, char *const argv[], int from, const char **operand)
{
	*operand = NULL;
	for (int i = from; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0)
			return true;
		if (argv[i][0] != '-' && !*operand)
			*operand = argv[i];
	}
	return false;
}

/* Puts the operands' params (first) ahead of the options' in a->params. */
static int args_params_first(struct args *a, struct json_object *first, struct failure *f)
{
	json_object_object_foreach(a->params, key, value) {
		if (args_param(first, key, json_object_get(value), f) < 0)
			return -ENOMEM;
	}
	json_object_put(a->params);
	a->params = json_object_get(first);
	return 0;
}

/* Checks the operands' count and reads each into params (the command's
 * operand has a key) or into a->ids. */
static int args_operands(struct args *a, const struct cmd *command,
			 const char *const operands[], int n, struct failure *f)
{
	const struct option_def *o = command->operand;
	struct json_object *first = NULL, *value;
	int ret = 0;

	if (a->all && n > 0)
		return failure_set(f, FAILURE_CONFLICT, EINVAL, "--all", "device IDs");
	if (n < command->min_operands && !a->all)
		return failure_set(f, FAILURE_MISSING_ARGUMENT, EINVAL, o->name, NULL);
	if (command->max_operands >= 0 && n > command->max_operands)
		return failure_set(f, FAILURE_EXTRA_ARGUMENT, EINVAL, NULL,
				   operands[command->max_operands]);
	if (n == 0)
		return 0;

	if (o->key && !(first = json_object_new_object()))
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	for (int i = 0; ret == 0 && i < n; i++) {
		ret = option_read(o, operands[i], &value, f);
		if (ret < 0)
			break;
		if (first) {
			ret = args_param(first, o->key, value, f);
		} else if (json_object_array_add(a->ids, value) < 0) {
			json_object_put(value);
			ret = failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
		}
	}
	if (ret == 0 && first)
		ret = args_params_first(a, first, f);
	json_object_put(first);
	return ret;
}

/* Parses the words after the command word. */
static int args_command_words(struct args *a, int argc, char *const argv[], int i,
			      const struct cmd *command, struct failure *f)
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
			ret = args_option(a, argc, argv, &i, command, n ? list[0] : NULL, f);
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

/* Finds the action a word before the command stands for, or NULL. */
static const struct args_action_def *args_action_find(const char *word)
{
	for (const struct args_action_def *d = args_actions; d->name; d++)
		if (strcmp(word, d->name) == 0)
			return d;
	return NULL;
}

/* Parses argv into a; env_socket is $UBLKD_SOCKET (NULL or "" when unset). */
int args_parse(int argc, char *const argv[], const char *env_socket,
	       struct args *a, struct failure *f)
{
	const struct args_action_def *action;
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
		action = args_action_find(argv[i]);
		if (action) {
			a->action = action->action;
			return 0;
		}
		ret = args_option(a, argc, argv, &i, NULL, NULL, f);
		if (ret < 0)
			return ret;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return failure_set(f, FAILURE_NO_COMMAND, EINVAL, NULL, NULL);
	a->command = cmd_find(argv[i]);
	if (!a->command)
		return failure_set(f, FAILURE_UNKNOWN_COMMAND, EINVAL, NULL, argv[i]);

	f->command = a->command->name;
	if (args_wants_help(argc, argv, i + 1, &a->help_operand)) {
		a->action = ARGS_ACTION_HELP;
		return 0;
	}
	return args_command_words(a, argc, argv, i + 1, a->command, f);
}

/* Releases what args_parse allocated. */
void args_free(struct args *a)
{
	json_object_put(a->params);
	json_object_put(a->ids);
	a->params = NULL;
	a->ids = NULL;
}
