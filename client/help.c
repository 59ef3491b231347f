/* The --help texts, laid out from the tables: the general help lists the
 * command table and the global options, a command's help its own rows. Keep
 * client/ublkctl.1 in step with them. */
#include "config.h"
#include "client/args.h"
#include "client/help.h"

#include <string.h>

/* Room for a row's label: "--block-size 512..4096", "del ID... | del --all". */
#define HELP_LABEL_MAX 128

/* Writes first, then sep and second if there is a second, into buf; returns
 * the label's length. */
static int help_label(char buf[HELP_LABEL_MAX], const char *first, const char *sep,
		      const char *second)
{
	return snprintf(buf, HELP_LABEL_MAX, "%s%s%s", first, second ? sep : "",
			second ? second : "");
}

/* Prints one row: the label padded to width, then the help, its later lines
 * lined up under the first. */
static void help_row(FILE *out, const char *label, int width, const char *help)
{
	const char *nl;

	fprintf(out, "  %-*s  ", width, label);
	for (; (nl = strchr(help, '\n')); help = nl + 1)
		fprintf(out, "%.*s\n%*s", (int)(nl - help), help, width + 4, "");
	fprintf(out, "%s\n", help);
}

/* The widest label of the options in table, or width if that is wider. */
static int help_options_width(const struct option_def *table, int width)
{
	char label[HELP_LABEL_MAX];
	int len;

	for (; table && table->name; table++) {
		len = help_label(label, table->name, " ", table->metavar);
		if (len > width)
			width = len;
	}
	return width;
}

/* Prints a row for each option in table. */
static void help_options(FILE *out, const struct option_def *table, int width)
{
	char label[HELP_LABEL_MAX];

	for (; table && table->name; table++) {
		help_label(label, table->name, " ", table->metavar);
		help_row(out, label, width, table->help);
	}
}

/* Prints the general help: the commands and the global options. */
static void help_general(FILE *out)
{
	const struct cmd *const *c;
	const struct args_action_def *act;
	const struct option_def *o;
	char label[HELP_LABEL_MAX];
	int width = 0, len;

	fputs("Usage: ublkctl", out);
	for (o = args_global_options; o->name; o++)
		fprintf(out, " [%s%s%s]", o->name, o->metavar ? " " : "",
			o->metavar ? o->metavar : "");
	fputs(" COMMAND [ARGS...]\n"
	      "       ublkctl --version | --help | COMMAND --help\n"
	      "\n"
	      "Control ublkd, the daemon that serves ublk userspace block devices.\n"
	      "\n"
	      "Commands:\n", out);
	for (c = cmd_table; *c; c++) {
		len = help_label(label, (*c)->forms[0], " | ", (*c)->forms[1]);
		if (len > width)
			width = len;
	}
	for (c = cmd_table; *c; c++) {
		help_label(label, (*c)->forms[0], " | ", (*c)->forms[1]);
		help_row(out, label, width, (*c)->summary);
	}

	fputs("\nOptions, before the command or among its options:\n", out);
	width = help_options_width(args_global_options, 0);
	for (act = args_actions; act->name; act++)
		if ((int)strlen(act->name) > width)
			width = (int)strlen(act->name);
	help_options(out, args_global_options, width);
	for (act = args_actions; act->name; act++)
		help_row(out, act->name, width, act->help);
	fputs("\nExit status: 0 success, 1 error, 2 usage error.\n", out);
}

/* Prints a row for each option in table, lined up among themselves. */
void help_option_rows(FILE *out, const struct option_def *table)
{
	help_options(out, table, help_options_width(table, 0));
}

/* Prints a command's help: its forms, what it does, its options and notes. */
static void help_command(FILE *out, const struct cmd *command, const char *operand)
{
	for (size_t i = 0; i < sizeof(command->forms) / sizeof(command->forms[0]); i++)
		if (command->forms[i])
			fprintf(out, "%s ublkctl %s\n", i ? "      " : "Usage:", command->forms[i]);
	fprintf(out, "\n%s\n", command->about);
	if (command->options && command->options->name) {
		fputs("Options:\n", out);
		help_options(out, command->options, help_options_width(command->options, 0));
		fputc('\n', out);
	}
	if (command->help_more)
		command->help_more(out, operand);
	fputs(command->notes, out);
}

/* Prints the help for command, or the general help for NULL. */
void help_print(FILE *out, const struct cmd *command, const char *operand)
{
	if (command)
		help_command(out, command, operand);
	else
		help_general(out);
}

/* Prints "ublkctl VERSION". */
void help_version(FILE *out)
{
	fprintf(out, "ublkctl %s\n", PACKAGE_VERSION);
}
