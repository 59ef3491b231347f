/* Random access into a raw deflate stream: restart points recorded by one
 * full inflate pass (which also computes the CRC-32), each able to resume
 * inflating in the middle of the stream. */
#ifndef UBLKD_ZIP_INDEX_H
#define UBLKD_ZIP_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define ZIP_INDEX_WINDOW	32768U	/* deflate's history */

struct zip_pass;	/* where a pass still going on is (zip_index.c) */

/* A place where inflating can start over: at a deflate block boundary (the
 * history is kept, compressed), or inside a long block (a copy of the whole
 * inflate state, about 40 KiB, since a block's codes cannot be rebuilt). */
struct zip_point {
	uint64_t out;		/* uncompressed offset of the point */
	uint64_t in;		/* compressed offset of the first byte to feed */
	uint8_t bits;		/* boundary: bits of byte in - 1 that belong after it */
	uint32_t dict_len;	/* boundary: bytes of history (<= 32 KiB) */
	uint32_t zlen;		/* boundary: size of the history, compressed */
	uint8_t *zdict;		/* boundary: the history, compressed */
	z_stream *state;	/* inside a block: the inflate state there */
};

/* A run of zeroes in the output, served without inflating. */
struct zip_zeroes {
	uint64_t start, end;
};

/* The index of one deflated member. Every output byte lies in a run of
 * zeroes or less than ZIP_INDEX_REACH(span) bytes after its point. */
struct zip_index {
	int fd;			/* the archive */
	uint64_t data_offset;	/* where the stream starts in the archive */
	uint64_t comp_size;
	uint64_t size;		/* uncompressed bytes */
	uint64_t span;		/* wanted distance between points */
	struct zip_point *points;	/* ascending out; points[0].out = 0 */
	uint32_t count;
	uint32_t cap;
	uint32_t state_points;	/* points that hold an inflate state */
	struct zip_zeroes *zeroes;	/* ascending, disjoint */
	uint32_t zero_count;
	uint32_t zero_cap;
	uint64_t zero_bytes;
	uint32_t crc;		/* CRC-32 of the whole member, from the pass */
	uint64_t dict_bytes;	/* memory the compressed histories take */
	z_stream zs;		/* reused for every inflate from a boundary */
	z_stream work;		/* a copy of a point's state while inflating */
	uint8_t *in;		/* compressed input buffer */
	uint8_t *dict;		/* one history, uncompressed */
	struct zip_pass *pass;	/* the pass, until it ends */
	uint64_t built;		/* bytes the pass has inflated so far */
};

#define ZIP_INDEX_ZEROES_MIN	(64U * 1024)	/* shorter runs are not kept */
#define ZIP_INDEX_STATE_BYTES	(40U * 1024)	/* about what a state point takes */
/* How far past span a point inside a block may wait for a block boundary. */
#define ZIP_INDEX_PATIENCE(span)	((span) + (span) / 2)
/* How far past its point a byte outside the zero runs can lie, and more. */
#define ZIP_INDEX_REACH(span)	(ZIP_INDEX_PATIENCE(span) + 2 * ZIP_INDEX_WINDOW)

/* Prepares the one inflate pass over the stream, made by zip_index_advance,
 * which records a point about every span uncompressed bytes (none inside
 * long runs of zeroes, which are recorded instead) and the CRC-32. The index
 * is usable once that returns 0. Returns 0 or -errno with a message. */
int zip_index_begin(struct zip_index *ix, int fd, uint64_t data_offset,
		    uint64_t comp_size, uint64_t size, uint64_t span,
		    char *err, size_t errlen);
/* Goes on with the pass until at least budget more bytes are inflated.
 * Returns 1 while there is more to do, 0 once the index and its CRC-32 are
 * complete, or -errno with a message (the caller then frees the index). */
int zip_index_advance(struct zip_index *ix, uint64_t budget, char *err, size_t errlen);
/* Releases the index. */
void zip_index_free(struct zip_index *ix);
/* The last point at or before uncompressed offset off. */
uint32_t zip_index_find(const struct zip_index *ix, uint64_t off);
/* The end of the run of zeroes holding off, or 0 when off is in none. */
uint64_t zip_index_zeroes_end(const struct zip_index *ix, uint64_t off);
/* Inflates len bytes starting at point i into out. Returns 0 or -errno. */
int zip_index_extract(struct zip_index *ix, uint32_t i, uint8_t *out, size_t len);

#endif
