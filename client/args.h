/* ublkctl's command line, parsed into what to do and the JSON-RPC params to
 * send. Parsing does no I/O, so tests can feed it any argv. */
#ifndef UBLKCTL_ARGS_H
#define UBLKCTL_ARGS_H

#include <stdbool.h>
#include <json-c/json.h>

#include "client/failure.h"

/* Seconds to wait for each reply unless --timeout says otherwise. */
#define ARGS_DEFAULT_TIMEOUT	300
/* Largest --timeout: what poll's millisecond int can count. */
#define ARGS_MAX_TIMEOUT	2147483
/* Largest device ID accepted on the command line. */
#define ARGS_MAX_ID		2147483647

enum args_command {
	ARGS_COMMAND_NONE,
	ARGS_COMMAND_ADD,
	ARGS_COMMAND_DEL,
	ARGS_COMMAND_LIST,
	ARGS_COMMAND_INFO,
	ARGS_COMMAND_STATUS,
};

enum args_action {
	ARGS_ACTION_RUN,	/* send requests for command */
	ARGS_ACTION_HELP,	/* print the help for command (NONE: the general one) */
	ARGS_ACTION_VERSION,	/* print the version */
};

struct args {
	enum args_action action;
	enum args_command command;
	const char *socket;		/* --socket, else $UBLKD_SOCKET, else the default */
	bool json;			/* --json */
	unsigned timeout;		/* --timeout, seconds */
	bool all;			/* del --all */
	struct json_object *params;	/* add, info, list, status: the request params */
	struct json_object *ids;	/* del: array of the device IDs given */
};

/* Parses argv into a; env_socket is $UBLKD_SOCKET (NULL or "" when unset).
 * Returns 0, or -EINVAL/-ERANGE with a usage failure recorded in f. Strings
 * in a point into argv. Free a with args_free either way. */
int args_parse(int argc, char *const argv[], const char *env_socket,
	       struct args *a, struct failure *f);

/* Releases what args_parse allocated. */
void args_free(struct args *a);

/* The command's name as typed ("add"), or NULL for none. */
const char *args_command_name(enum args_command command);

/* The JSON-RPC method a command sends (del: the one per ID), or NULL. */
const char *args_command_method(enum args_command command);

/* Parses a decimal number of at most max: digits only. Returns 0, -EINVAL or
 * -ERANGE. */
int args_number(const char *s, uint64_t max, uint64_t *out);

#endif
