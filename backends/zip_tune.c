/* The zip backend's tuning knobs, from the environment. */
#include "config.h"
#include "backends/zip_tune.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses a byte count with an optional K, M or G suffix (powers of 1024). */
int zip_tune_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: break;
	}
	if (shift && (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0))
		end += strlen(end);
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Reads one knob: the default when unset, else a size within [min, max]. */
static int zip_tune_one(const char *name, uint64_t def, uint64_t min, uint64_t max,
			uint64_t *out, char *err, size_t errlen)
{
	const char *s = getenv(name);

	*out = def;
	if (!s || !*s)
		return 0;
	if (zip_tune_parse_size(s, out) < 0 || *out < min || *out > max) {
		snprintf(err, errlen, "%s='%s': expected a byte count from %llu to %llu, "
			 "with an optional K, M or G suffix", name, s,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

/* Reads the knobs, or the defaults. */
int zip_tune_load(struct zip_tune *t, char *err, size_t errlen)
{
	int ret = zip_tune_one(ZIP_TUNE_CHUNK_ENV, ZIP_TUNE_CHUNK_DEFAULT, ZIP_TUNE_CHUNK_MIN,
			       ZIP_TUNE_CHUNK_MAX, &t->chunk, err, errlen);

	if (ret == 0)
		ret = zip_tune_one(ZIP_TUNE_CACHE_ENV, ZIP_TUNE_CACHE_DEFAULT, 0,
				   ZIP_TUNE_CACHE_MAX, &t->cache, err, errlen);
	return ret;
}
