/* What went wrong in ublkctl, kept as data until failure_report turns it into
 * a message and an exit status: the one place that does so. */
#ifndef UBLKCTL_FAILURE_H
#define UBLKCTL_FAILURE_H

#include <stdio.h>

/* Exit statuses. */
#define EXIT_OK		0
#define EXIT_ERROR	1
#define EXIT_USAGE	2

enum failure_kind {
	FAILURE_NONE,
	/* Usage errors (exit 2). */
	FAILURE_NO_COMMAND,		/* no COMMAND given */
	FAILURE_UNKNOWN_COMMAND,	/* value: the word */
	FAILURE_UNKNOWN_OPTION,		/* value: the option */
	FAILURE_MISSING_VALUE,		/* what: the option */
	FAILURE_UNEXPECTED_VALUE,	/* what: a flag given "=value" */
	FAILURE_BAD_VALUE,		/* what, value, expect; err EINVAL/ERANGE */
	FAILURE_MISSING_ARGUMENT,	/* what: the operand's name */
	FAILURE_EXTRA_ARGUMENT,		/* value: the operand */
	FAILURE_CONFLICT,		/* what and value: two things that exclude each other */
	/* Errors (exit 1). */
	FAILURE_CONNECT,		/* err; socket */
	FAILURE_SEND,			/* err; socket */
	FAILURE_RECEIVE,		/* err (ENODATA: closed, ETIMEDOUT, EMSGSIZE...) */
	FAILURE_BAD_REPLY,		/* err EBADMSG: not JSON; EPROTO: not JSON-RPC; what: detail */
	FAILURE_DAEMON,			/* code, message: the daemon's error */
	FAILURE_OUTPUT,			/* err: writing to stdout failed */
	FAILURE_SYSTEM,			/* err, what: the operation (e.g. out of memory) */
	FAILURE_FILE,			/* err, message: a backing file ublkctl opens */
	FAILURE_REPORTED,		/* already told to the user; exit 1 */
};

struct failure {
	enum failure_kind kind;
	int err;			/* positive errno, where one applies */
	const char *command;		/* the command, for the usage hint; NULL: none */
	char what[128];			/* the option or operand, or a detail */
	char value[256];		/* the offending text (truncated) */
	const char *expect;		/* what a bad value should have looked like */
	const char *socket;		/* the daemon's socket path */
	unsigned timeout;		/* seconds waited for a reply */
	long long code;			/* the daemon's JSON-RPC error code */
	char message[1024];		/* the daemon's error message */
};

/* Records a failure of some kind and returns -err (or -EINVAL if err is 0). */
int failure_set(struct failure *f, enum failure_kind kind, int err,
		const char *what, const char *value);

/* True for the kinds that are usage errors. */
int failure_is_usage(const struct failure *f);

/* Prints the failure as "ublkctl: ..." (plus a usage hint for usage errors)
 * and returns the exit status for it: 0, 1 or 2. */
int failure_report(const struct failure *f, FILE *err);

#endif
