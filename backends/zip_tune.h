/* The zip backend's tuning knobs, read when a device is added: its
 * chunk_size and cache_limit parameters, else from the daemon's environment
 * UBLKD_ZIP_CHUNK, UBLKD_ZIP_CACHE (byte counts written as common/size.h
 * parses them), else the defaults. */
#ifndef UBLKD_ZIP_TUNE_H
#define UBLKD_ZIP_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "backends/backend.h"

#define ZIP_TUNE_CHUNK_ENV	"UBLKD_ZIP_CHUNK"
#define ZIP_TUNE_CACHE_ENV	"UBLKD_ZIP_CACHE"
#define ZIP_TUNE_CHUNK_DEFAULT	(1ULL << 20)
#define ZIP_TUNE_CHUNK_MIN	(64ULL << 10)
#define ZIP_TUNE_CHUNK_MAX	(64ULL << 20)
#define ZIP_TUNE_CACHE_DEFAULT	(64ULL << 20)
#define ZIP_TUNE_CACHE_MAX	(1ULL << 40)

struct zip_tune {
	uint64_t chunk;		/* uncompressed bytes between restart points */
	uint64_t cache;		/* bytes of inflated chunks kept per device */
};

/* Reads the knobs from the parameters (NULL or not given: the environment,
 * else the defaults). Returns 0 or -EINVAL with a message. */
int zip_tune_load(struct zip_tune *t, const struct backend_arg *chunk,
		  const struct backend_arg *cache, char *err, size_t errlen);

#endif
