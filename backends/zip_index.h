/* Random access into a raw deflate stream: restart points recorded by one
 * full inflate pass (which also computes the CRC-32), each able to resume
 * inflating in the middle of the stream. */
#ifndef UBLKD_ZIP_INDEX_H
#define UBLKD_ZIP_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define ZIP_INDEX_WINDOW	32768U	/* deflate's history */

/* A place where inflating can start over. */
struct zip_point {
	uint64_t out;		/* uncompressed offset of the point */
	uint64_t in;		/* compressed offset of the first whole byte after it */
	uint8_t bits;		/* bits of byte in - 1 that belong after the point */
	uint32_t dict_len;	/* bytes of history before the point (<= 32 KiB) */
	uint32_t zlen;		/* size of the history, itself compressed */
	uint8_t *zdict;		/* the history, compressed */
};

/* The index of one deflated member. */
struct zip_index {
	int fd;			/* the archive */
	uint64_t data_offset;	/* where the stream starts in the archive */
	uint64_t comp_size;
	uint64_t size;		/* uncompressed bytes */
	struct zip_point *points;	/* ascending out; points[0].out = 0 */
	uint32_t count;
	uint32_t cap;
	uint32_t crc;		/* CRC-32 of the whole member, from the pass */
	uint64_t dict_bytes;	/* memory the compressed histories take */
	z_stream zs;		/* reused for every inflate */
	uint8_t *in;		/* compressed input buffer */
	uint8_t *dict;		/* one history, uncompressed */
};

/* Inflates the whole stream once, recording a point about every span
 * uncompressed bytes and the CRC-32. Returns 0 or -errno with a message. */
int zip_index_build(struct zip_index *ix, int fd, uint64_t data_offset,
		    uint64_t comp_size, uint64_t size, uint64_t span,
		    char *err, size_t errlen);
/* Releases the index. */
void zip_index_free(struct zip_index *ix);
/* The last point at or before uncompressed offset off. */
uint32_t zip_index_find(const struct zip_index *ix, uint64_t off);
/* Inflates len bytes starting at point i into out. Returns 0 or -errno. */
int zip_index_extract(struct zip_index *ix, uint32_t i, uint8_t *out, size_t len);

#endif
