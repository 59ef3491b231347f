/* Running a parsed ublkctl command against the daemon. */
#ifndef UBLKCTL_COMMANDS_H
#define UBLKCTL_COMMANDS_H

#include <stdio.h>

#include "client/args.h"
#include "client/failure.h"

/* Runs a's command, printing results to out. Failures that do not stop the
 * command (one device of several that del cannot delete) are reported to err
 * as they happen. Returns 0, or -errno with f recorded. */
int commands_run(const struct args *a, FILE *out, FILE *err, struct failure *f);

#endif
