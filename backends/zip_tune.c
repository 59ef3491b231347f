/* The zip backend's tuning knobs: its parameters, else the environment. */
#include "config.h"
#include "backends/zip_tune.h"
#include "common/size.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads one knob: the parameter when given (the daemon checked its range),
 * else the environment variable name as a size (size_parse) within [min,
 * max], else def. */
static int zip_tune_one(const struct backend_arg *arg, const char *name, uint64_t def,
			uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	const char *s = getenv(name);

	*out = arg && arg->given ? arg->bytes : def;
	if (arg && arg->given)
		return 0;
	if (!s || !*s)
		return 0;
	if (size_parse(s, out) < 0 || *out < min || *out > max) {
		snprintf(err, errlen, "%s='%s': expected a byte count from %llu to %llu, "
			 "with an optional K, M or G suffix", name, s,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

/* Reads the knobs from the parameters, the environment or the defaults. */
int zip_tune_load(struct zip_tune *t, const struct backend_arg *chunk,
		  const struct backend_arg *cache, char *err, size_t errlen)
{
	int ret = zip_tune_one(chunk, ZIP_TUNE_CHUNK_ENV, ZIP_TUNE_CHUNK_DEFAULT,
			       ZIP_TUNE_CHUNK_MIN, ZIP_TUNE_CHUNK_MAX, &t->chunk, err, errlen);

	if (ret == 0)
		ret = zip_tune_one(cache, ZIP_TUNE_CACHE_ENV, ZIP_TUNE_CACHE_DEFAULT, 0,
				   ZIP_TUNE_CACHE_MAX, &t->cache, err, errlen);
	return ret;
}
