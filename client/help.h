/* ublkctl's --help texts; client/ublkctl.1 says the same. */
#ifndef UBLKCTL_HELP_H
#define UBLKCTL_HELP_H

#include <stdio.h>

#include "client/args.h"

/* Prints the help for command, or the general help for ARGS_COMMAND_NONE. */
void help_print(FILE *out, enum args_command command);

/* Prints "ublkctl VERSION". */
void help_version(FILE *out);

#endif
