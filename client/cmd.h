/* ublkctl's commands as rows of one table: what each is called, the method
 * it sends, its options and operands, its help and the function that runs it.
 * The parser, the help and the dispatcher know commands only through
 * cmd_table; a command joins by its row there. */
#ifndef UBLKCTL_CMD_H
#define UBLKCTL_CMD_H

#include <stddef.h>
#include <stdio.h>

#include "client/failure.h"
#include "client/option.h"

struct args;
struct session;

struct cmd {
	const char *name;			/* the word typed: "add" */
	const char *method;			/* the JSON-RPC method it sends */
	const struct option_def *options;	/* its own options; NULL: none */
	const struct option_def *operand;	/* how each operand is read; NULL: none */
	int min_operands, max_operands;		/* max -1: no limit */
	const char *forms[2];			/* its synopses: "add BACKEND [OPTIONS]" */
	const char *summary;			/* its line in the general help */
	const char *about;			/* its help: what it does */
	const char *notes;			/* its help: what follows the options */
	/* Optional: finds an option that is not in options (add: a backend's
	 * parameter) by name, len bytes; NULL if none. */
	const struct option_def *(*find_option)(const char *name, size_t len);
	/* Optional: finds an option that the first operand declares itself
	 * (add nbd: --timeout); after that operand it comes before the
	 * global option of the same name. NULL if none. */
	const struct option_def *(*find_operand_option)(const char *operand, const char *name,
							 size_t len);
	/* Optional: prints more help after the options (add: the backends'
	 * parameters); operand is the first operand given, or NULL. */
	void (*help_more)(FILE *out, const char *operand);
	/* Sends the requests over s and prints the outcome to out; failures
	 * that do not stop it go to err as they happen. Returns 0, or -errno
	 * with f recorded. */
	int (*run)(struct session *s, const struct args *a, FILE *out, FILE *err,
		   struct failure *f);
};

/* The rows, each in its command's own file. */
extern const struct cmd cmd_add, cmd_del, cmd_list, cmd_info, cmd_status, cmd_shutdown;

/* The table, in the order the general help lists it; ends with NULL. */
extern const struct cmd *const cmd_table[];

/* Finds the command called name, or NULL. */
const struct cmd *cmd_find(const char *name);

/* Records that method's result is not shaped as expected (a phrase: "an
 * object") and returns -EPROTO. For the run functions. */
int cmd_bad_result(struct failure *f, const char *method, const char *expected);

/* Connects to the daemon and runs a's command, printing results to out and
 * failures that do not stop it to err. Returns 0, or -errno with f recorded. */
int cmd_run(const struct args *a, FILE *out, FILE *err, struct failure *f);

#endif
