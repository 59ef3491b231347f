/* An option or operand of ublkctl as a row of data: its name, how its value
 * is read, where the value goes and its help line. The parser, the help and
 * the commands all read these rows, so an option joins a command as one more
 * row; a backend's parameter is such a row in add's table, like --reserve:
 *	{ .name = "--reserve", .type = OPTION_FLAG, .key = "reserve", .help = "..." }
 * Reading a value does no I/O but getcwd (for OPTION_PATH). */
#ifndef UBLKCTL_OPTION_H
#define UBLKCTL_OPTION_H

#include <stdint.h>
#include <json-c/json.h>

#include "client/failure.h"

/* Largest device ID accepted on the command line. */
#define OPTION_MAX_ID		2147483647
/* What a device ID looks like, for messages. */
#define OPTION_EXPECT_ID	"a device ID from 0 to 2147483647"

/* How a value is read. */
enum option_type {
	OPTION_FLAG,		/* no value: true */
	OPTION_STRING,		/* any text */
	OPTION_PATH,		/* a file name, made absolute: ublkd has its own cwd */
	OPTION_SIZE,		/* bytes, or a number with a K, M, G or T suffix */
	OPTION_NUMBER,		/* decimal digits, from min to max */
	OPTION_BLOCK_SIZE,	/* 512, 1024, 2048 or 4096 */
};

/* Where a value goes once read. */
enum option_effect {
	OPTION_PARAM,		/* into the request's params, under key */
	OPTION_SOCKET,		/* the daemon's socket */
	OPTION_JSON,		/* print replies as JSON */
	OPTION_TIMEOUT,		/* seconds to wait for each reply */
	OPTION_ALL,		/* every device instead of operands */
};

struct option_def {
	const char *name;	/* "--size" with the dashes; an operand's: "ID" */
	const char *metavar;	/* the value in help ("SIZE"); NULL for a flag */
	enum option_type type;
	enum option_effect effect;
	const char *key;	/* OPTION_PARAM: the params member */
	uint64_t min, max;	/* OPTION_NUMBER: the values allowed */
	const char *expect;	/* what a valid value looks like; NULL: the type's */
	const char *help;	/* its help, lines split by "\n"; NULL in operands */
};

/* Finds the option called name (len bytes, no NUL needed) in a table that
 * ends with a row without a name, or NULL. table may be NULL. */
const struct option_def *option_find(const struct option_def *table, const char *name,
				     size_t len);

/* Reads text as o's value (NULL for a flag) into a new JSON value in *value.
 * Returns 0, or -EINVAL/-ERANGE with a usage failure naming o in f, or
 * -ENOMEM. */
int option_read(const struct option_def *o, const char *text, struct json_object **value,
		struct failure *f);

/* Parses a decimal number of at most max: digits only. Returns 0, -EINVAL or
 * -ERANGE. */
int option_number(const char *s, uint64_t max, uint64_t *out);

#endif
