/* ublkctl: the command-line client of ublkd. */
#include "config.h"
#include "client/args.h"
#include "client/cmd.h"
#include "client/failure.h"
#include "client/help.h"
#include "common/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Flushes and closes stdout, recording a write error in f if nothing failed before. */
static void main_close_stdout(struct failure *f)
{
	int failed;

	errno = 0;
	failed = ferror(stdout);
	failed |= fclose(stdout) != 0;
	if (failed && f->kind == FAILURE_NONE)
		failure_set(f, FAILURE_OUTPUT, errno ? errno : EIO, NULL, NULL);
}

/* Parses the command line, runs the command and turns the outcome into an
 * exit status. */
int main(int argc, char **argv)
{
	struct args a;
	struct failure f;
	int status;

	if (args_parse(argc, argv, getenv(UBLKD_SOCKET_ENV), &a, &f) == 0) {
		switch (a.action) {
		case ARGS_ACTION_HELP:
			help_print(stdout, a.command, a.help_operand);
			break;
		case ARGS_ACTION_VERSION:
			help_version(stdout);
			break;
		case ARGS_ACTION_RUN:
			cmd_run(&a, stdout, stderr, &f);
			break;
		}
	}
	main_close_stdout(&f);
	status = failure_report(&f, stderr);
	args_free(&a);
	return status;
}
