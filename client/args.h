/* ublkctl's command line, parsed by the tables of client/cmd.h into what to
 * do and the JSON-RPC params to send. Parsing does no I/O, so tests can feed
 * it any argv. */
#ifndef UBLKCTL_ARGS_H
#define UBLKCTL_ARGS_H

#include <stdbool.h>
#include <json-c/json.h>

#include "client/cmd.h"
#include "client/failure.h"
#include "client/option.h"

/* Seconds to wait for each reply unless --timeout says otherwise. */
#define ARGS_DEFAULT_TIMEOUT	300
/* Largest --timeout: what poll's millisecond int can count. */
#define ARGS_MAX_TIMEOUT	2147483

enum args_action {
	ARGS_ACTION_RUN,	/* send requests for command */
	ARGS_ACTION_HELP,	/* print the help for command (NULL: the general one) */
	ARGS_ACTION_VERSION,	/* print the version */
};

/* A word that does something instead of a command: --help, --version. */
struct args_action_def {
	const char *name;
	enum args_action action;
	const char *help;	/* its line in the general help */
};

struct args {
	enum args_action action;
	const struct cmd *command;	/* NULL: none given */
	const char *socket;		/* --socket, else $UBLKD_SOCKET, else the default */
	bool json;			/* --json */
	unsigned timeout;		/* --timeout, seconds */
	bool all;			/* del --all */
	const char *help_operand;	/* COMMAND WORD --help: the WORD */
	struct json_object *params;	/* the request params of the options and operands */
	struct json_object *ids;	/* operands without a params key (del's IDs) */
};

/* The options every command takes, before the command or among its options;
 * the table ends with a row without a name. */
extern const struct option_def args_global_options[];

/* The words that stand for a command before it (--help, --version); the
 * table ends with a row without a name. */
extern const struct args_action_def args_actions[];

/* Parses argv into a; env_socket is $UBLKD_SOCKET (NULL or "" when unset).
 * Returns 0, or -EINVAL/-ERANGE with a usage failure recorded in f. Strings
 * in a point into argv. Free a with args_free either way. */
int args_parse(int argc, char *const argv[], const char *env_socket,
	       struct args *a, struct failure *f);

/* Releases what args_parse allocated. */
void args_free(struct args *a);

#endif
