/* A bounded cache of inflated chunks of a deflated member, least recently
 * used first out. */
#ifndef UBLKD_ZIP_CACHE_H
#define UBLKD_ZIP_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* One inflated chunk: bytes [start, start + len) of the member. */
struct zip_chunk {
	struct zip_chunk *newer, *older;
	uint32_t id;		/* the index point it starts at */
	uint64_t start;
	size_t len;
	uint8_t data[];
};

struct zip_cache {
	struct zip_chunk **slots;	/* by id; NULL when not cached */
	uint32_t nslots;
	struct zip_chunk *newest, *oldest;
	uint64_t bytes;		/* data bytes held */
	uint64_t limit;		/* bytes held beyond the newest chunk are evicted */
	uint32_t chunks;
	uint64_t hits, misses, evictions;
};

/* Prepares an empty cache for ids below nslots. Returns 0 or -ENOMEM. */
int zip_cache_init(struct zip_cache *c, uint32_t nslots, uint64_t limit);
/* Frees every chunk and the cache's table. */
void zip_cache_free(struct zip_cache *c);
/* Finds a chunk and makes it the newest, or NULL (counted as a miss). */
struct zip_chunk *zip_cache_get(struct zip_cache *c, uint32_t id);
/* Allocates a chunk of len bytes for id, not yet in the cache. */
struct zip_chunk *zip_cache_chunk_new(uint32_t id, uint64_t start, size_t len);
/* Adds a chunk (id below nslots) as the newest, then evicts the oldest ones while more than
 * limit bytes are held; the chunk just added always stays. */
void zip_cache_put(struct zip_cache *c, struct zip_chunk *ch);

#endif
