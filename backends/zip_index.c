/* Random access into a raw deflate stream.
 *
 * One inflate pass with Z_BLOCK stops at every deflate block boundary; about
 * every span bytes of output it records a point: where the next block starts
 * in the compressed stream (a byte offset and the bits of the previous byte
 * that already belong to it) and the 32 KiB of output before it, which the
 * next blocks may refer back to. Inflating from a point primes those bits and
 * sets that history as the dictionary. Histories are kept deflated to keep
 * the index small. The same pass computes the member's CRC-32. */
#include "config.h"
#include "backends/zip_index.h"
#include "backends/zip_archive.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZIP_INDEX_IN_BYTES	(128U * 1024)

/* Reads the next piece of the compressed stream from *pos on as input. */
static int zip_index_fill(struct zip_index *ix, uint64_t *pos)
{
	uint64_t left = ix->comp_size - *pos;
	size_t n = left < ZIP_INDEX_IN_BYTES ? (size_t)left : ZIP_INDEX_IN_BYTES;
	int ret;

	ix->zs.next_in = ix->in;
	ix->zs.avail_in = 0;
	if (n == 0)
		return 0;
	ret = zip_archive_read_at(ix->fd, ix->in, n, ix->data_offset + *pos);
	if (ret < 0)
		return ret;
	ix->zs.avail_in = (uInt)n;
	*pos += n;
	return 0;
}

/* Appends a point; ring holds the output so far, ending at ring[pos - 1]. */
static int zip_index_add(struct zip_index *ix, uint64_t in, unsigned bits, uint64_t out,
			 const uint8_t *ring, size_t pos)
{
	uint32_t dlen = out < ZIP_INDEX_WINDOW ? (uint32_t)out : ZIP_INDEX_WINDOW;
	struct zip_point *p;
	uLongf zlen = 0;
	uint8_t *z = NULL;

	if (ix->count == ix->cap) {
		uint32_t cap = ix->cap ? ix->cap * 2 : 64;
		struct zip_point *grown = realloc(ix->points, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		ix->points = grown;
		ix->cap = cap;
	}
	if (dlen) {
		if (out >= ZIP_INDEX_WINDOW) {
			memcpy(ix->dict, ring + pos, ZIP_INDEX_WINDOW - pos);
			memcpy(ix->dict + ZIP_INDEX_WINDOW - pos, ring, pos);
		} else {
			memcpy(ix->dict, ring, dlen);
		}
		zlen = compressBound(dlen);
		z = malloc(zlen);
		if (!z)
			return -ENOMEM;
		if (compress2(z, &zlen, ix->dict, dlen, 1) != Z_OK) {
			free(z);
			return -ENOMEM;
		}
		ix->dict_bytes += zlen;
	}
	p = &ix->points[ix->count++];
	p->out = out;
	p->in = in;
	p->bits = (uint8_t)bits;
	p->dict_len = dlen;
	p->zlen = (uint32_t)zlen;
	p->zdict = z;
	return 0;
}

/* Runs inflate once over the ring; adds to the counts and the CRC. */
static int zip_index_step(struct zip_index *ix, uint8_t *ring, size_t *rpos,
			  uint64_t *totin, uint64_t *totout, uint32_t *crc)
{
	uInt in_before = ix->zs.avail_in, produced;
	int zret;

	if (*rpos == ZIP_INDEX_WINDOW)
		*rpos = 0;
	ix->zs.next_out = ring + *rpos;
	ix->zs.avail_out = (uInt)(ZIP_INDEX_WINDOW - *rpos);
	zret = inflate(&ix->zs, Z_BLOCK);
	produced = (uInt)(ZIP_INDEX_WINDOW - *rpos) - ix->zs.avail_out;
	*crc = (uint32_t)crc32(*crc, ring + *rpos, produced);
	*rpos += produced;
	*totout += produced;
	*totin += in_before - ix->zs.avail_in;
	if (zret == Z_BUF_ERROR && (produced || in_before != ix->zs.avail_in))
		zret = Z_OK;
	return zret;
}

/* Explains a failed pass in err and turns it into -errno. */
static int zip_index_fail(struct zip_index *ix, int zret, uint64_t totin,
			  char *err, size_t errlen)
{
	if (zret == Z_MEM_ERROR) {
		snprintf(err, errlen, "out of memory while inflating");
		return -ENOMEM;
	}
	snprintf(err, errlen, "corrupt deflate data near compressed byte %llu: %s",
		 (unsigned long long)totin, ix->zs.msg ? ix->zs.msg : "cannot be inflated");
	return -EBADMSG;
}

/* Inflates the whole stream once, recording points and the CRC-32. */
static int zip_index_pass(struct zip_index *ix, uint64_t span, char *err, size_t errlen)
{
	uint64_t pos = 0, totin = 0, totout = 0, last = 0;
	uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
	uint8_t *ring = malloc(ZIP_INDEX_WINDOW);
	size_t rpos = 0;
	int zret, ret = -ENOMEM;

	if (!ring || zip_index_add(ix, 0, 0, 0, NULL, 0) < 0)
		goto out;
	for (;;) {
		if (ix->zs.avail_in == 0) {
			ret = zip_index_fill(ix, &pos);
			if (ret < 0) {
				snprintf(err, errlen, "cannot read compressed data at byte %llu: %s",
					 (unsigned long long)pos, strerror(-ret));
				goto out;
			}
		}
		zret = zip_index_step(ix, ring, &rpos, &totin, &totout, &crc);
		if (zret == Z_BUF_ERROR && ix->zs.avail_in == 0) {
			/* No input left and inflate cannot go on without more. */
			snprintf(err, errlen, "the deflate stream ends early, after %llu of %llu "
				 "bytes: truncated or corrupt", (unsigned long long)totout,
				 (unsigned long long)ix->size);
			ret = -EBADMSG;
			goto out;
		}
		if (zret != Z_OK && zret != Z_STREAM_END) {
			ret = zip_index_fail(ix, zret, totin, err, errlen);
			goto out;
		}
		if (totout > ix->size || (zret == Z_STREAM_END && totout != ix->size)) {
			snprintf(err, errlen, "inflates to %s%llu bytes, not the %llu its directory "
				 "entry says: corrupt", zret == Z_STREAM_END ? "" : "more than ",
				 (unsigned long long)(totout > ix->size ? ix->size : totout),
				 (unsigned long long)ix->size);
			ret = -EBADMSG;
			goto out;
		}
		if (zret == Z_STREAM_END)
			break;
		if ((ix->zs.data_type & 128) && !(ix->zs.data_type & 64) &&
		    totout - last >= span && totout < ix->size) {
			ret = zip_index_add(ix, totin, (unsigned)ix->zs.data_type & 7, totout,
					    ring, rpos);
			if (ret < 0)
				goto out;
			last = totout;
		}
	}
	ix->crc = crc;
	ret = 0;
out:
	free(ring);
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory while indexing");
	return ret;
}

/* Inflates the whole stream once, recording points and the CRC-32. */
int zip_index_build(struct zip_index *ix, int fd, uint64_t data_offset,
		    uint64_t comp_size, uint64_t size, uint64_t span,
		    char *err, size_t errlen)
{
	int ret;

	memset(ix, 0, sizeof(*ix));
	ix->fd = fd;
	ix->data_offset = data_offset;
	ix->comp_size = comp_size;
	ix->size = size;
	err[0] = 0;
	ix->in = malloc(ZIP_INDEX_IN_BYTES);
	ix->dict = malloc(ZIP_INDEX_WINDOW);
	if (!ix->in || !ix->dict || inflateInit2(&ix->zs, -15) != Z_OK) {
		free(ix->in);
		free(ix->dict);
		ix->in = ix->dict = NULL;
		snprintf(err, errlen, "out of memory for the inflate index");
		return -ENOMEM;
	}
	ret = zip_index_pass(ix, span, err, errlen);
	if (ret < 0)
		zip_index_free(ix);
	return ret;
}

/* Releases the index. */
void zip_index_free(struct zip_index *ix)
{
	if (!ix->in)
		return;
	for (uint32_t i = 0; i < ix->count; i++)
		free(ix->points[i].zdict);
	free(ix->points);
	free(ix->in);
	free(ix->dict);
	inflateEnd(&ix->zs);
	memset(ix, 0, sizeof(*ix));
}

/* The last point at or before uncompressed offset off. */
uint32_t zip_index_find(const struct zip_index *ix, uint64_t off)
{
	uint32_t lo = 0, hi = ix->count;

	/* points[lo].out <= off < points[hi].out, with points[count] past the end. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->points[mid].out <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Sets up the stream to resume at point p: its leftover bits and history. */
static int zip_index_resume(struct zip_index *ix, const struct zip_point *p)
{
	uint8_t byte;
	uLongf dlen = ZIP_INDEX_WINDOW;
	int ret;

	if (inflateReset(&ix->zs) != Z_OK)
		return -EIO;
	ix->zs.avail_in = 0;
	if (p->bits) {
		ret = zip_archive_read_at(ix->fd, &byte, 1, ix->data_offset + p->in - 1);
		if (ret < 0)
			return ret;
		if (inflatePrime(&ix->zs, p->bits, byte >> (8 - p->bits)) != Z_OK)
			return -EIO;
	}
	if (!p->dict_len)
		return 0;
	if (uncompress(ix->dict, &dlen, p->zdict, p->zlen) != Z_OK || dlen != p->dict_len)
		return -EIO;
	if (inflateSetDictionary(&ix->zs, ix->dict, (uInt)dlen) != Z_OK)
		return -EIO;
	return 0;
}

/* Inflates len bytes starting at point i into out. */
int zip_index_extract(struct zip_index *ix, uint32_t i, uint8_t *out, size_t len)
{
	const struct zip_point *p = &ix->points[i];
	uint64_t pos = p->in;
	int zret, ret;

	ret = zip_index_resume(ix, p);
	if (ret < 0)
		return ret;
	ix->zs.next_out = out;
	ix->zs.avail_out = (uInt)len;
	while (ix->zs.avail_out) {
		if (ix->zs.avail_in == 0) {
			ret = zip_index_fill(ix, &pos);
			if (ret < 0)
				return ret;
		}
		zret = inflate(&ix->zs, Z_NO_FLUSH);
		if (zret == Z_STREAM_END)
			break;
		if (zret != Z_OK)
			return -EIO;
	}
	return ix->zs.avail_out ? -EIO : 0;
}
