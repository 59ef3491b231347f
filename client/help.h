/* ublkctl's --help texts, made from the command table and the option rows;
 * client/ublkctl.1 says the same. */
#ifndef UBLKCTL_HELP_H
#define UBLKCTL_HELP_H

#include <stdio.h>

#include "client/cmd.h"

/* Prints the help for command, or the general help for NULL; operand is the
 * first operand given with --help (add zip --help: "zip"), or NULL. */
void help_print(FILE *out, const struct cmd *command, const char *operand);
/* Prints a row for each option in table, lined up among themselves. */
void help_option_rows(FILE *out, const struct option_def *table);

/* Prints "ublkctl VERSION". */
void help_version(FILE *out);

#endif
