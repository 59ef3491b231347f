/* Looking things up in the generated backend_options_table. */
#include "config.h"
#include "client/backend_options.h"

#include <string.h>

/* Finds the backend called name, or NULL. */
const struct backend_options *backend_options_find(const char *name)
{
	for (const struct backend_options *b = backend_options_table; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

/* Finds an option of any backend by name (len bytes); NULL if none. */
const struct option_def *backend_options_option(const char *name, size_t len)
{
	const struct option_def *o;

	for (const struct backend_options *b = backend_options_table; b->name; b++)
		if ((o = option_find(b->options, name, len)))
			return o;
	return NULL;
}

/* Finds an option of the backend called backend by name (len bytes). */
const struct option_def *backend_options_option_of(const char *backend, const char *name,
						   size_t len)
{
	const struct backend_options *b = backend_options_find(backend);

	return b ? option_find(b->options, name, len) : NULL;
}
