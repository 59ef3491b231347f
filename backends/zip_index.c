/* Random access into a raw deflate stream.
 *
 * One inflate pass, in steps of at most 32 KiB of output, records a restart
 * point about every span bytes of output, and the CRC-32. At a deflate block
 * boundary a point is where the next block starts in the compressed stream
 * (a byte offset and the bits of the previous byte that already belong to
 * it) plus the 32 KiB of output before it, kept deflated; inflating from it
 * primes those bits and sets that history as the dictionary. Blocks can be
 * long (Info-ZIP's hold 32 Ki codes: 8 MiB of zeroes), so when no boundary
 * comes within half a span more, a point is made inside the block: a copy of
 * the whole inflate state (inflateCopy), resumed by feeding the input from
 * where that state stopped.
 *
 * Disk images hold long runs of zeroes; runs of at least 64 KiB are recorded
 * and read as zeroes without inflating, and no state points are kept inside
 * them: while a run longer than span goes on, only the latest state is kept
 * aside, and becomes a point when data follows it in the same block. So every
 * byte outside the runs lies less than 1.5 span + 32 KiB after its point. */
#include "config.h"
#include "backends/zip_index.h"
#include "backends/zip_archive.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZIP_INDEX_IN_BYTES	(128U * 1024)

/* Where the pass is. */
struct zip_pass {
	uint64_t pos;		/* compressed bytes read */
	uint64_t totin;		/* compressed bytes inflate consumed */
	uint64_t totout;	/* bytes produced */
	uint64_t last;		/* out of the latest point */
	uint64_t run_start;	/* where the current run of zeroes started */
	uint32_t crc;
	uint8_t *ring;		/* the latest 32 KiB of output */
	size_t rpos;
	bool boundary;		/* inflate stopped at a block boundary */
	unsigned bits;		/* and this many bits of the last byte are left */
	struct zip_point pending;	/* a state set aside in a run of zeroes */
};

/* Reads the next piece of the compressed stream from *pos on into zs. */
static int zip_index_fill(struct zip_index *ix, z_stream *zs, uint64_t *pos)
{
	uint64_t left = ix->comp_size - *pos;
	size_t n = left < ZIP_INDEX_IN_BYTES ? (size_t)left : ZIP_INDEX_IN_BYTES;
	int ret;

	zs->next_in = ix->in;
	zs->avail_in = 0;
	if (n == 0)
		return 0;
	ret = zip_archive_read_at(ix->fd, ix->in, n, ix->data_offset + *pos);
	if (ret < 0)
		return ret;
	zs->avail_in = (uInt)n;
	*pos += n;
	return 0;
}

/* Makes room for one more point. */
static int zip_index_grow(struct zip_index *ix)
{
	uint32_t cap = ix->cap ? ix->cap * 2 : 64;
	struct zip_point *grown;

	if (ix->count < ix->cap)
		return 0;
	grown = realloc(ix->points, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ix->points = grown;
	ix->cap = cap;
	return 0;
}

/* Appends a boundary point; ring holds the output so far, ending at ring[pos - 1]. */
static int zip_index_add(struct zip_index *ix, uint64_t in, unsigned bits, uint64_t out,
			 const uint8_t *ring, size_t pos)
{
	uint32_t dlen = out < ZIP_INDEX_WINDOW ? (uint32_t)out : ZIP_INDEX_WINDOW;
	struct zip_point *p;
	uLongf zlen = 0;
	uint8_t *z = NULL;

	if (zip_index_grow(ix) < 0)
		return -ENOMEM;
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
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->in = in;
	p->bits = (uint8_t)bits;
	p->dict_len = dlen;
	p->zlen = (uint32_t)zlen;
	p->zdict = z;
	return 0;
}

/* Frees a point's state copy, if it has one. */
static void zip_index_drop_state(struct zip_point *p)
{
	if (!p->state)
		return;
	inflateEnd(p->state);
	free(p->state);
	p->state = NULL;
}

/* Copies the current inflate state into p: a point inside a block. */
static int zip_index_snapshot(struct zip_index *ix, const struct zip_pass *ps,
			      struct zip_point *p)
{
	zip_index_drop_state(p);
	memset(p, 0, sizeof(*p));
	p->state = calloc(1, sizeof(*p->state));
	if (!p->state)
		return -ENOMEM;
	if (inflateCopy(p->state, &ix->zs) != Z_OK) {
		free(p->state);
		p->state = NULL;
		return -ENOMEM;
	}
	p->out = ps->totout;
	p->in = ps->totin;
	return 0;
}

/* Appends a point made by zip_index_snapshot; the index owns its state now. */
static int zip_index_add_state(struct zip_index *ix, struct zip_point *p)
{
	if (zip_index_grow(ix) < 0)
		return -ENOMEM;
	ix->points[ix->count++] = *p;
	ix->state_points++;
	memset(p, 0, sizeof(*p));
	return 0;
}

/* Records a run of zeroes [start, end) if it is long enough to keep. */
static int zip_index_zeroes(struct zip_index *ix, uint64_t start, uint64_t end)
{
	if (end - start < ZIP_INDEX_ZEROES_MIN)
		return 0;
	if (ix->zero_count == ix->zero_cap) {
		uint32_t cap = ix->zero_cap ? ix->zero_cap * 2 : 64;
		struct zip_zeroes *grown = realloc(ix->zeroes, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		ix->zeroes = grown;
		ix->zero_cap = cap;
	}
	ix->zeroes[ix->zero_count].start = start;
	ix->zeroes[ix->zero_count].end = end;
	ix->zero_count++;
	ix->zero_bytes += end - start;
	return 0;
}

/* Finds the first and last non-zero bytes of buf; false if it is all zeroes. */
static bool zip_index_nonzero(const uint8_t *buf, size_t len, size_t *first, size_t *last)
{
	size_t i = 0, j = len;

	/* All zeroes is the common long case: let memcmp's vector code see it. */
	if (len == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, len - 1) == 0))
		return false;
	while (buf[i] == 0)
		i++;
	while (buf[j - 1] == 0)
		j--;
	*first = i;
	*last = j - 1;
	return true;
}

/* Before a step: places a point when the latest is span bytes behind. */
static int zip_index_place(struct zip_index *ix, struct zip_pass *ps)
{
	uint64_t a = ps->totout;

	if (a - ps->last < ix->span || a >= ix->size)
		return 0;
	if (ps->boundary) {
		zip_index_drop_state(&ps->pending);
		ps->last = a;
		return zip_index_add(ix, ps->totin, ps->bits, a, ps->ring, ps->rpos);
	}
	if (a - ps->run_start >= ix->span)
		return zip_index_snapshot(ix, ps, &ps->pending);	/* in a long run */
	if (a - ps->last < ZIP_INDEX_PATIENCE(ix->span))
		return 0;	/* a block boundary may come soon */
	ps->last = a;
	if (zip_index_snapshot(ix, ps, &ps->pending) < 0)
		return -ENOMEM;
	return zip_index_add_state(ix, &ps->pending);
}

/* After a step that produced [a, a + n): follows the runs of zeroes, and
 * turns the state set aside into a point when data ends a long run. */
static int zip_index_scan(struct zip_index *ix, struct zip_pass *ps, uint64_t a,
			  const uint8_t *out, size_t n)
{
	size_t first, last;

	if (!zip_index_nonzero(out, n, &first, &last))
		return 0;
	if (zip_index_zeroes(ix, ps->run_start, a + first) < 0)
		return -ENOMEM;
	ps->run_start = a + last + 1;
	if (ps->pending.state) {
		ps->last = ps->pending.out;
		return zip_index_add_state(ix, &ps->pending);
	}
	return 0;
}

/* Runs inflate once over the ring; adds to the counts and the CRC. */
static int zip_index_step(struct zip_index *ix, struct zip_pass *ps)
{
	uInt in_before = ix->zs.avail_in, produced;
	uint64_t a = ps->totout;
	uint8_t *out;
	int zret;

	if (ps->rpos == ZIP_INDEX_WINDOW)
		ps->rpos = 0;
	out = ps->ring + ps->rpos;
	ix->zs.next_out = out;
	ix->zs.avail_out = (uInt)(ZIP_INDEX_WINDOW - ps->rpos);
	zret = inflate(&ix->zs, Z_BLOCK);
	produced = (uInt)(ZIP_INDEX_WINDOW - ps->rpos) - ix->zs.avail_out;
	ps->crc = (uint32_t)crc32(ps->crc, out, produced);
	ps->rpos += produced;
	ps->totout += produced;
	ps->totin += in_before - ix->zs.avail_in;
	ps->boundary = (ix->zs.data_type & 128) && !(ix->zs.data_type & 64);
	ps->bits = (unsigned)ix->zs.data_type & 7;
	if (zret == Z_BUF_ERROR && (produced || in_before != ix->zs.avail_in))
		zret = Z_OK;
	if ((zret == Z_OK || zret == Z_STREAM_END) && zip_index_scan(ix, ps, a, out, produced) < 0)
		zret = Z_MEM_ERROR;
	return zret;
}

/* Explains a failed step in err and turns it into -errno. */
static int zip_index_fail(struct zip_index *ix, int zret, const struct zip_pass *ps,
			  char *err, size_t errlen)
{
	if (zret == Z_MEM_ERROR) {
		snprintf(err, errlen, "out of memory while indexing");
		return -ENOMEM;
	}
	if (zret == Z_BUF_ERROR && ix->zs.avail_in == 0) {
		/* No input left, and inflate cannot go on without more. */
		snprintf(err, errlen, "the deflate stream ends early, after %llu of %llu bytes: "
			 "truncated or corrupt", (unsigned long long)ps->totout,
			 (unsigned long long)ix->size);
		return -EBADMSG;
	}
	snprintf(err, errlen, "corrupt deflate data near compressed byte %llu: %s",
		 (unsigned long long)ps->totin, ix->zs.msg ? ix->zs.msg : "cannot be inflated");
	return -EBADMSG;
}

/* Releases the pass: its ring and a state set aside. */
static void zip_index_pass_free(struct zip_index *ix)
{
	if (!ix->pass)
		return;
	zip_index_drop_state(&ix->pass->pending);
	free(ix->pass->ring);
	free(ix->pass);
	ix->pass = NULL;
}

/* Makes one step of the pass: read input if needed, inflate, check the size.
 * Returns 1 to go on, 0 at the end of the stream, or -errno with a message. */
static int zip_index_pass_step(struct zip_index *ix, struct zip_pass *ps, char *err,
			       size_t errlen)
{
	int zret, ret;

	if (zip_index_place(ix, ps) < 0)
		goto nomem;
	if (ix->zs.avail_in == 0) {
		ret = zip_index_fill(ix, &ix->zs, &ps->pos);
		if (ret < 0) {
			snprintf(err, errlen, "cannot read compressed data at byte %llu: %s",
				 (unsigned long long)ps->pos, strerror(-ret));
			return ret;
		}
	}
	zret = zip_index_step(ix, ps);
	if (zret != Z_OK && zret != Z_STREAM_END)
		return zip_index_fail(ix, zret, ps, err, errlen);
	if (ps->totout > ix->size || (zret == Z_STREAM_END && ps->totout != ix->size)) {
		snprintf(err, errlen, "inflates to %s%llu bytes, not the %llu its directory "
			 "entry says: corrupt", zret == Z_STREAM_END ? "" : "more than ",
			 (unsigned long long)(ps->totout > ix->size ? ix->size : ps->totout),
			 (unsigned long long)ix->size);
		return -EBADMSG;
	}
	if (zret != Z_STREAM_END)
		return 1;
	if (zip_index_zeroes(ix, ps->run_start, ps->totout) < 0)
		goto nomem;
	ix->crc = ps->crc;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory while indexing");
	return -ENOMEM;
}

/* Prepares the pass over the stream: buffers, the inflate stream, point 0. */
int zip_index_begin(struct zip_index *ix, int fd, uint64_t data_offset,
		    uint64_t comp_size, uint64_t size, uint64_t span,
		    char *err, size_t errlen)
{
	memset(ix, 0, sizeof(*ix));
	ix->fd = fd;
	ix->data_offset = data_offset;
	ix->comp_size = comp_size;
	ix->size = size;
	ix->span = span;
	ix->in = malloc(ZIP_INDEX_IN_BYTES);
	ix->dict = malloc(ZIP_INDEX_WINDOW);
	if (!ix->in || !ix->dict || inflateInit2(&ix->zs, -15) != Z_OK) {
		free(ix->in);
		free(ix->dict);
		ix->in = ix->dict = NULL;
		snprintf(err, errlen, "out of memory for the inflate index");
		return -ENOMEM;
	}
	ix->pass = calloc(1, sizeof(*ix->pass));
	if (ix->pass) {
		ix->pass->crc = (uint32_t)crc32(0L, Z_NULL, 0);
		ix->pass->boundary = true;
		ix->pass->ring = malloc(ZIP_INDEX_WINDOW);
	}
	if (!ix->pass || !ix->pass->ring || zip_index_add(ix, 0, 0, 0, NULL, 0) < 0) {
		zip_index_free(ix);
		snprintf(err, errlen, "out of memory while indexing");
		return -ENOMEM;
	}
	return 0;
}

/* Goes on with the pass until at least budget more bytes are inflated. */
int zip_index_advance(struct zip_index *ix, uint64_t budget, char *err, size_t errlen)
{
	struct zip_pass *ps = ix->pass;
	uint64_t stop;
	int ret;

	if (!ps)
		return 0;
	stop = budget > UINT64_MAX - ps->totout ? UINT64_MAX : ps->totout + budget;
	do {
		ret = zip_index_pass_step(ix, ps, err, errlen);
		ix->built = ps->totout;
	} while (ret == 1 && ps->totout < stop);
	if (ret <= 0)
		zip_index_pass_free(ix);
	return ret;
}

/* Releases the index. */
void zip_index_free(struct zip_index *ix)
{
	if (!ix->in)
		return;
	zip_index_pass_free(ix);
	for (uint32_t i = 0; i < ix->count; i++) {
		free(ix->points[i].zdict);
		zip_index_drop_state(&ix->points[i]);
	}
	free(ix->points);
	free(ix->zeroes);
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

/* The end of the run of zeroes holding off, or 0 when off is in none. */
uint64_t zip_index_zeroes_end(const struct zip_index *ix, uint64_t off)
{
	uint32_t lo = 0, hi = ix->zero_count;

	/* The first run that ends after off is the only one that can hold it. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->zeroes[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->zero_count && ix->zeroes[lo].start <= off)
		return ix->zeroes[lo].end;
	return 0;
}

/* Sets up ix->zs to resume at boundary point p: its leftover bits and history. */
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

/* Inflates len bytes into out with zs, reading input from pos on. */
static int zip_index_inflate(struct zip_index *ix, z_stream *zs, uint64_t pos,
			     uint8_t *out, size_t len)
{
	int zret, ret;

	zs->next_in = ix->in;
	zs->avail_in = 0;
	zs->next_out = out;
	zs->avail_out = (uInt)len;
	while (zs->avail_out) {
		if (zs->avail_in == 0) {
			ret = zip_index_fill(ix, zs, &pos);
			if (ret < 0)
				return ret;
		}
		zret = inflate(zs, Z_NO_FLUSH);
		if (zret == Z_STREAM_END)
			break;
		if (zret != Z_OK)
			return -EIO;
	}
	return zs->avail_out ? -EIO : 0;
}

/* Inflates len bytes starting at point i into out. */
int zip_index_extract(struct zip_index *ix, uint32_t i, uint8_t *out, size_t len)
{
	const struct zip_point *p = &ix->points[i];
	int ret;

	if (p->state) {
		if (inflateCopy(&ix->work, p->state) != Z_OK)
			return -ENOMEM;
		ret = zip_index_inflate(ix, &ix->work, p->in, out, len);
		inflateEnd(&ix->work);
		return ret;
	}
	ret = zip_index_resume(ix, p);
	if (ret < 0)
		return ret;
	return zip_index_inflate(ix, &ix->zs, p->in, out, len);
}
