/* Turning a recorded failure into a message and an exit status. */
#include "config.h"
#include "client/failure.h"
#include "common/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Records a failure of some kind and returns -err (or -EINVAL if err is 0). */
int failure_set(struct failure *f, enum failure_kind kind, int err,
		const char *what, const char *value)
{
	f->kind = kind;
	f->err = err ? err : EINVAL;
	snprintf(f->what, sizeof(f->what), "%s", what ? what : "");
	snprintf(f->value, sizeof(f->value), "%s", value ? value : "");
	return -f->err;
}

/* True for the kinds that are usage errors. */
int failure_is_usage(const struct failure *f)
{
	return f->kind >= FAILURE_NO_COMMAND && f->kind <= FAILURE_CONFLICT;
}

/* Prints a usage error and the hint where to read more. */
static void failure_usage(const struct failure *f, FILE *err)
{
	switch (f->kind) {
	case FAILURE_NO_COMMAND:
		fprintf(err, "ublkctl: no command given\n");
		break;
	case FAILURE_UNKNOWN_COMMAND:
		fprintf(err, "ublkctl: unknown command '%s'\n", f->value);
		break;
	case FAILURE_UNKNOWN_OPTION:
		fprintf(err, "ublkctl: unknown option '%s'\n", f->value);
		break;
	case FAILURE_MISSING_VALUE:
		fprintf(err, "ublkctl: option '%s' needs a value\n", f->what);
		break;
	case FAILURE_UNEXPECTED_VALUE:
		fprintf(err, "ublkctl: option '%s' takes no value\n", f->what);
		break;
	case FAILURE_BAD_VALUE:
		if (f->err == ERANGE)
			fprintf(err, "ublkctl: %s '%s' is out of range: expected %s\n",
				f->what, f->value, f->expect ? f->expect : "a smaller value");
		else
			fprintf(err, "ublkctl: invalid %s '%s': expected %s\n",
				f->what, f->value, f->expect ? f->expect : "something else");
		break;
	case FAILURE_MISSING_ARGUMENT:
		fprintf(err, "ublkctl: missing %s\n", f->what);
		break;
	case FAILURE_EXTRA_ARGUMENT:
		fprintf(err, "ublkctl: unexpected argument '%s'\n", f->value);
		break;
	case FAILURE_CONFLICT:
		fprintf(err, "ublkctl: %s cannot be combined with %s\n", f->what, f->value);
		break;
	default:
		break;
	}
	if (f->command)
		fprintf(err, "Try 'ublkctl %s --help' for more information.\n", f->command);
	else
		fprintf(err, "Try 'ublkctl --help' for more information.\n");
}

/* Returns advice to follow a failed connect, or "". */
static const char *failure_connect_hint(int err)
{
	if (err == ENOENT || err == ECONNREFUSED)
		return " (is ublkd running?)";
	if (err == EACCES || err == EPERM)
		return " (only users allowed to use ublkd's socket may)";
	return "";
}

/* Prints an error that is about talking to the daemon or the system. */
static void failure_error(const struct failure *f, FILE *err)
{
	const char *sock = f->socket ? f->socket : UBLKD_DEFAULT_SOCKET;

	switch (f->kind) {
	case FAILURE_CONNECT:
		fprintf(err, "ublkctl: cannot connect to ublkd at %s: %s%s\n",
			sock, strerror(f->err), failure_connect_hint(f->err));
		break;
	case FAILURE_SEND:
		fprintf(err, "ublkctl: cannot send the request to ublkd at %s: %s\n",
			sock, strerror(f->err));
		break;
	case FAILURE_RECEIVE:
		if (f->err == ENODATA)
			fprintf(err, "ublkctl: ublkd at %s closed the connection without replying\n",
				sock);
		else if (f->err == ECONNABORTED)
			fprintf(err, "ublkctl: ublkd at %s closed the connection in the middle of a reply\n",
				sock);
		else if (f->err == ETIMEDOUT)
			fprintf(err, "ublkctl: no reply from ublkd at %s within %u seconds (see --timeout)\n",
				sock, f->timeout);
		else if (f->err == EMSGSIZE)
			fprintf(err, "ublkctl: the reply from ublkd at %s is longer than %d bytes\n",
				sock, UBLKD_MAX_LINE);
		else
			fprintf(err, "ublkctl: cannot read the reply from ublkd at %s: %s\n",
				sock, strerror(f->err));
		break;
	case FAILURE_BAD_REPLY:
		if (f->err == EBADMSG)
			fprintf(err, "ublkctl: invalid reply from ublkd: not JSON (%s)\n", f->what);
		else
			fprintf(err, "ublkctl: invalid reply from ublkd: %s\n", f->what);
		break;
	case FAILURE_DAEMON:
		if (f->message[0])
			fprintf(err, "ublkctl: %s\n", f->message);
		else
			fprintf(err, "ublkctl: ublkd reported error %lld without a message\n", f->code);
		break;
	case FAILURE_OUTPUT:
		fprintf(err, "ublkctl: cannot write the output: %s\n", strerror(f->err));
		break;
	case FAILURE_SYSTEM:
		fprintf(err, "ublkctl: %s: %s\n", f->what, strerror(f->err));
		break;
	case FAILURE_FILE:
		fprintf(err, "ublkctl: %s\n", f->message);
		break;
	default:
		break;
	}
}

/* Prints the failure and returns the exit status for it: 0, 1 or 2. */
int failure_report(const struct failure *f, FILE *err)
{
	if (f->kind == FAILURE_NONE)
		return EXIT_OK;
	if (failure_is_usage(f)) {
		failure_usage(f, err);
		return EXIT_USAGE;
	}
	failure_error(f, err);
	return EXIT_ERROR;
}
