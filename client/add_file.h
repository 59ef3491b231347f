/* The backend's file, opened by ublkctl with the user's own rights and
 * passed to ublkd as a descriptor: ublkd opens no path for a user but
 * root. Creating the file for --size, or extending it, happens here too,
 * and is undone if the add fails. */
#ifndef UBLKCTL_ADD_FILE_H
#define UBLKCTL_ADD_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "client/failure.h"

struct add_file {
	int fd;			/* -1: nothing to pass */
	char *path;		/* the file's name (owned) */
	bool created;		/* this add created it */
	bool extended;		/* this add extended it from old_size */
	uint64_t old_size;
};

/* Opens the file the PATH parameter of params' backend names, if any:
 * params' member for it is replaced by "fd": 0. 0, or -errno with f set
 * (FAILURE_FILE) naming the file and why. af->fd is -1 when there is none. */
int add_file_open(struct json_object *params, struct add_file *af, struct failure *f);
/* After the add: closes the descriptor and, when the add failed, removes
 * the file it created or shrinks it back. */
void add_file_finish(struct add_file *af, bool failed);

#endif
