/* The command table, finding a command in it and running one. */
#include "config.h"
#include "client/cmd.h"
#include "client/args.h"
#include "client/session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Every command, in the order the general help lists them. */
const struct cmd *const cmd_table[] = {
	&cmd_add,
	&cmd_del,
	&cmd_list,
	&cmd_info,
	&cmd_status,
	&cmd_shutdown,
	NULL,
};

/* Finds the command called name, or NULL. */
const struct cmd *cmd_find(const char *name)
{
	for (const struct cmd *const *c = cmd_table; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

/* Records that method's result is not shaped as expected. */
int cmd_bad_result(struct failure *f, const char *method, const char *expected)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "the %s result is not %s", method, expected);
	return failure_set(f, FAILURE_BAD_REPLY, EPROTO, detail, NULL);
}

/* Connects to the daemon and runs a's command. */
int cmd_run(const struct args *a, FILE *out, FILE *err, struct failure *f)
{
	struct session s;
	int ret;

	if (!a->command)
		return failure_set(f, FAILURE_NO_COMMAND, EINVAL, NULL, NULL);
	ret = session_open(&s, a->socket, a->timeout, f);
	if (ret == 0)
		ret = a->command->run(&s, a, out, err, f);
	session_close(&s);
	return ret;
}
