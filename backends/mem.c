/* The mem backend: a sparse RAM disk kept in a tmpfs file. Memory is taken on
 * first write and given back by DISCARD and WRITE_ZEROES, so a large device
 * costs nothing until written. The file lives in the state directory when
 * that is on tmpfs (else /dev/shm), so a later recovery can re-attach to it.
 * Reads and writes are plain copies to and from a shared mapping of the file,
 * with no system call per request; a bitmap of the pages ever written keeps
 * reads of holes from touching the mapping, since a read fault there would
 * allocate a tmpfs page. */
#include "config.h"
#include "backends/backend.h"
#include "common/ublk_uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define MEM_PAGE	4096ULL	/* granularity of the written bitmap */

struct mem {
	int fd;
	uint8_t *map;
	uint64_t size;
	uint64_t *written;	/* bit per MEM_PAGE: the page may hold data */
	size_t written_bytes;	/* size of the written mapping */
	char path[PATH_MAX];
};

/* Picks a tmpfs directory for the backing file. */
static const char *mem_dir(const char *state_dir)
{
	struct statfs st;

	if (state_dir && statfs(state_dir, &st) == 0 && st.f_type == TMPFS_MAGIC)
		return state_dir;
	return "/dev/shm";
}

/* Maps a zeroed bitmap of m's pages; untouched parts cost no memory. */
static int mem_bitmap_map(struct mem *m)
{
	uint64_t pages = (m->size + MEM_PAGE - 1) / MEM_PAGE;

	m->written_bytes = (size_t)((pages + 63) / 64 * 8);
	m->written = mmap(NULL, m->written_bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->written == MAP_FAILED) {
		m->written = NULL;
		return -errno;
	}
	return 0;
}

/* Tells whether page may hold data. */
static bool mem_page_written(const struct mem *m, uint64_t page)
{
	return (m->written[page / 64] >> (page % 64)) & 1;
}

/* Marks the pages [first, last] as written (set) or as holes; clearing
 * never writes a word that is already zero, so discarding a large range
 * that was never written costs no bitmap memory. */
static void mem_pages_mark(struct mem *m, uint64_t first, uint64_t last, bool set)
{
	for (uint64_t w = first / 64; w <= last / 64; w++) {
		uint64_t lo = w == first / 64 ? first % 64 : 0;
		uint64_t hi = w == last / 64 ? last % 64 : 63;
		uint64_t mask = (hi == 63 ? ~0ULL : (1ULL << (hi + 1)) - 1) & ~((1ULL << lo) - 1);

		if (set)
			m->written[w] |= mask;
		else if (m->written[w] & mask)
			m->written[w] &= ~mask;
	}
}

/* Creates the tmpfs file and maps it shared, without reserving memory. */
static int mem_open(void **priv, const struct backend_config *cfg,
		    struct backend_geometry *geo, char *err, size_t errlen)
{
	const char *dir = mem_dir(cfg->state_dir);
	struct mem *m;
	int ret;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->size = cfg->size;
	snprintf(m->path, sizeof(m->path), "%s/mem-%u.img", dir, cfg->dev_id);
	m->fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (m->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", m->path, strerror(errno));
		free(m);
		return ret;
	}
	if (ftruncate(m->fd, (off_t)m->size) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot size %s to %llu bytes: %s", m->path,
			 (unsigned long long)m->size, strerror(errno));
		goto fail;
	}
	m->map = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->map == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot map %llu bytes of %s: %s",
			 (unsigned long long)m->size, m->path, strerror(errno));
		goto fail;
	}
	ret = mem_bitmap_map(m);
	if (ret < 0) {
		snprintf(err, errlen, "cannot map the page bitmap of a %llu-byte device: %s",
			 (unsigned long long)m->size, strerror(-ret));
		munmap(m->map, m->size);
		goto fail;
	}
	backends_plain_geometry(cfg, geo);
	*priv = m;
	return 0;
fail:
	close(m->fd);
	unlink(m->path);
	free(m);
	return ret;
}

/* Unmaps and deletes the backing file, returning its memory. */
static void mem_close(void *priv)
{
	struct mem *m = priv;

	munmap(m->written, m->written_bytes);
	munmap(m->map, m->size);
	close(m->fd);
	unlink(m->path);
	free(m);
}

/* Copies the range out of the mapping; holes read as zeroes. */
static int mem_read(void *priv, void *buf, uint32_t len, uint64_t off)
{
	struct mem *m = priv;
	uint64_t pos = off, end = off + len;

	while (pos < end) {
		uint64_t page = pos / MEM_PAGE;
		bool written = mem_page_written(m, page);
		uint64_t run = (page + 1) * MEM_PAGE;

		/* Extend the run over the following pages in the same state. */
		while (run < end && mem_page_written(m, run / MEM_PAGE) == written)
			run += MEM_PAGE;
		if (run > end)
			run = end;
		if (written)
			memcpy((char *)buf + (pos - off), m->map + pos, run - pos);
		else
			memset((char *)buf + (pos - off), 0, run - pos);
		pos = run;
	}
	return 0;
}

/* Copies the data into the shared mapping. */
static int mem_write(void *priv, const void *buf, uint32_t len, uint64_t off,
		     uint32_t flags)
{
	struct mem *m = priv;

	(void)flags;
	if (len == 0)
		return 0;
	mem_pages_mark(m, off / MEM_PAGE, (off + len - 1) / MEM_PAGE, true);
	memcpy(m->map + off, buf, len);
	return 0;
}

/* Gives the range's memory back; it reads as zeroes afterwards. */
static int mem_discard(void *priv, uint64_t len, uint64_t off)
{
	struct mem *m = priv;

	uint64_t first = (off + MEM_PAGE - 1) / MEM_PAGE, end = (off + len) / MEM_PAGE;

	if (fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0)
		return -errno;
	/* Whole pages are holes now; a partly punched page reads zeroes there. */
	if (end > first)
		mem_pages_mark(m, first, end - 1, false);
	return 0;
}

/* Zeroes a range; with NOUNMAP the memory stays allocated. */
static int mem_write_zeroes(void *priv, uint64_t len, uint64_t off, uint32_t flags)
{
	struct mem *m = priv;
	int ret = mem_discard(priv, len, off);

	if (ret == 0 && (flags & UBLK_IO_F_NOUNMAP) &&
	    fallocate(m->fd, 0, (off_t)off, (off_t)len) < 0)
		return -errno;
	return ret;
}

/* Reports where the memory lives and how much of it is in use. */
static void mem_describe(void *priv, struct json_object *obj)
{
	struct mem *m = priv;
	struct stat st;

	json_object_object_add(obj, "backing_file", json_object_new_string(m->path));
	if (fstat(m->fd, &st) == 0)
		json_object_object_add(obj, "memory_used",
				       json_object_new_int64((int64_t)st.st_blocks * 512));
}

const struct backend_ops backend_mem = {
	.name = "mem",
	.summary = "sparse RAM disk in a tmpfs file",
	.params = BACKEND_P_SIZE | BACKEND_P_SIZE_REQUIRED,
	.open = mem_open,
	.close = mem_close,
	.read = mem_read,
	.write = mem_write,
	.discard = mem_discard,
	.write_zeroes = mem_write_zeroes,
	.describe = mem_describe,
};
