/* A bounded cache of inflated chunks, least recently used first out. Chunks
 * are found by id through a table with one slot per index point, and kept on
 * a list from newest to oldest. */
#include "config.h"
#include "backends/zip_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Prepares an empty cache for ids below nslots. */
int zip_cache_init(struct zip_cache *c, uint32_t nslots, uint64_t limit)
{
	memset(c, 0, sizeof(*c));
	c->slots = calloc(nslots ? nslots : 1, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	c->nslots = nslots;
	c->limit = limit;
	return 0;
}

/* Takes a chunk off the list. */
static void zip_cache_unlink(struct zip_cache *c, struct zip_chunk *ch)
{
	if (ch->newer)
		ch->newer->older = ch->older;
	else
		c->newest = ch->older;
	if (ch->older)
		ch->older->newer = ch->newer;
	else
		c->oldest = ch->newer;
	ch->newer = ch->older = NULL;
}

/* Puts a chunk at the newest end of the list. */
static void zip_cache_link_newest(struct zip_cache *c, struct zip_chunk *ch)
{
	ch->newer = NULL;
	ch->older = c->newest;
	if (c->newest)
		c->newest->newer = ch;
	else
		c->oldest = ch;
	c->newest = ch;
}

/* Frees every chunk and the cache's table. */
void zip_cache_free(struct zip_cache *c)
{
	struct zip_chunk *ch = c->newest;

	while (ch) {
		struct zip_chunk *next = ch->older;

		free(ch);
		ch = next;
	}
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

/* Finds a chunk and makes it the newest, or NULL (counted as a miss). */
struct zip_chunk *zip_cache_get(struct zip_cache *c, uint32_t id)
{
	struct zip_chunk *ch = id < c->nslots ? c->slots[id] : NULL;

	if (!ch) {
		c->misses++;
		return NULL;
	}
	c->hits++;
	if (c->newest != ch) {
		zip_cache_unlink(c, ch);
		zip_cache_link_newest(c, ch);
	}
	return ch;
}

/* Allocates a chunk of len bytes for id, not yet in the cache. */
struct zip_chunk *zip_cache_chunk_new(uint32_t id, uint64_t start, size_t len)
{
	struct zip_chunk *ch = malloc(sizeof(*ch) + len);

	if (!ch)
		return NULL;
	memset(ch, 0, sizeof(*ch));
	ch->id = id;
	ch->start = start;
	ch->len = len;
	return ch;
}

/* Removes and frees the oldest chunk. */
static void zip_cache_evict_oldest(struct zip_cache *c)
{
	struct zip_chunk *ch = c->oldest;

	zip_cache_unlink(c, ch);
	c->slots[ch->id] = NULL;
	c->bytes -= ch->len;
	c->chunks--;
	c->evictions++;
	free(ch);
}

/* Adds a chunk as the newest, then evicts the oldest over the limit. */
void zip_cache_put(struct zip_cache *c, struct zip_chunk *ch)
{
	if (c->slots[ch->id]) {
		struct zip_chunk *old = c->slots[ch->id];

		zip_cache_unlink(c, old);
		c->bytes -= old->len;
		c->chunks--;
		free(old);
	}
	c->slots[ch->id] = ch;
	zip_cache_link_newest(c, ch);
	c->bytes += ch->len;
	c->chunks++;
	while (c->bytes > c->limit && c->oldest != ch)
		zip_cache_evict_oldest(c);
}
