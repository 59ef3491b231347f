/* Reading an option's or operand's value by its row's type. */
#include "config.h"
#include "client/option.h"
#include "common/size.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Finds the option called name in a table, or NULL. */
const struct option_def *option_find(const struct option_def *table, const char *name,
				     size_t len)
{
	for (; table && table->name; table++)
		if (strlen(table->name) == len && strncmp(table->name, name, len) == 0)
			return table;
	return NULL;
}

/* Parses a decimal number of at most max: digits only. */
int option_number(const char *s, uint64_t max, uint64_t *out)
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

/* A flag's value: true. */
static int option_read_flag(const struct option_def *o, const char *text,
			    struct json_object **value)
{
	(void)o;
	(void)text;
	*value = json_object_new_boolean(1);
	return 0;
}

/* Any text, as it is. */
static int option_read_string(const struct option_def *o, const char *text,
			      struct json_object **value)
{
	(void)o;
	*value = json_object_new_string(text);
	return 0;
}

/* A file name, made absolute against the current directory. */
static int option_read_path(const struct option_def *o, const char *text,
			    struct json_object **value)
{
	char *cwd, *abs;

	(void)o;
	if (text[0] == '/' || !text[0] || !(cwd = getcwd(NULL, 0))) {
		*value = json_object_new_string(text);
		return 0;
	}
	*value = NULL;
	if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", text) >= 0) {
		*value = json_object_new_string(abs);
		free(abs);
	}
	free(cwd);
	return 0;
}

/* A size in bytes, with an optional K, M, G or T suffix. */
static int option_read_size(const struct option_def *o, const char *text,
			    struct json_object **value)
{
	uint64_t n;
	int ret = size_parse(text, &n);

	(void)o;
	if (ret < 0)
		return ret;
	*value = json_object_new_uint64(n);
	return 0;
}

/* A decimal number from o->min to o->max. */
static int option_read_number(const struct option_def *o, const char *text,
			      struct json_object **value)
{
	uint64_t n;
	int ret = option_number(text, o->max, &n);

	if (ret < 0)
		return ret;
	if (n < o->min)
		return -ERANGE;
	*value = json_object_new_uint64(n);
	return 0;
}

/* A logical block size: 512, 1024, 2048 or 4096 (what ublk and the daemon
 * take). */
static int option_read_block_size(const struct option_def *o, const char *text,
				  struct json_object **value)
{
	uint64_t n;
	int ret = option_number(text, UINT32_MAX, &n);

	(void)o;
	if (ret < 0 || n < 512 || n > 4096 || (n & (n - 1)))
		return -EINVAL;
	*value = json_object_new_uint64(n);
	return 0;
}

/* How each type is read, and what a valid value looks like unless the row
 * says. */
static const struct {
	int (*read)(const struct option_def *o, const char *text, struct json_object **value);
	const char *expect;
} option_types[] = {
	[OPTION_FLAG] = { option_read_flag, NULL },
	[OPTION_STRING] = { option_read_string, NULL },
	[OPTION_PATH] = { option_read_path, NULL },
	[OPTION_SIZE] = { option_read_size,
			  "a size in bytes, or a number with a K, M, G or T suffix" },
	[OPTION_NUMBER] = { option_read_number, NULL },
	[OPTION_BLOCK_SIZE] = { option_read_block_size, "512, 1024, 2048 or 4096" },
};

/* Reads text as o's value into a new JSON value in *value. */
int option_read(const struct option_def *o, const char *text, struct json_object **value,
		struct failure *f)
{
	int ret;

	*value = NULL;
	ret = option_types[o->type].read(o, text, value);
	if (ret < 0) {
		failure_set(f, FAILURE_BAD_VALUE, -ret, o->name, text);
		f->expect = o->expect ? o->expect : option_types[o->type].expect;
		return ret;
	}
	if (!*value)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	return 0;
}
