/* The backends' parameters as ublkctl options: one table of rows per
 * backend, generated at build time (backends/backend-doc c) from the
 * backends' own declarations, so no copy is kept by hand here. */
#ifndef UBLKCTL_BACKEND_OPTIONS_H
#define UBLKCTL_BACKEND_OPTIONS_H

#include "client/option.h"

struct backend_options {
	const char *name;		/* the backend: "zip" */
	const char *summary;		/* what it serves */
	const struct option_def *options;	/* its parameters as options */
};

/* Every backend, in the daemon's order; ends with a row without a name. */
extern const struct backend_options backend_options_table[];

/* Finds the backend called name, or NULL. */
const struct backend_options *backend_options_find(const char *name);
/* Finds an option of any backend by name (len bytes); NULL if none. Two
 * backends that share a name read it the same way (backend-doc checks). */
const struct option_def *backend_options_option(const char *name, size_t len);
/* Finds an option of the backend called backend by name (len bytes); NULL
 * if that backend has none or there is no such backend. */
const struct option_def *backend_options_option_of(const char *backend, const char *name,
						   size_t len);

#endif
