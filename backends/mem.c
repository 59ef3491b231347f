/* The mem backend: a sparse RAM disk kept in a tmpfs file. Memory is taken on
 * first write and given back by DISCARD and WRITE_ZEROES, so a large device
 * costs nothing until written. Each device has a file of its own, created
 * with a unique name (O_EXCL) in the state directory when that is on tmpfs
 * (else /dev/shm), so a later recovery can re-attach to it.
 * Reads and writes are plain copies to and from a shared mapping of the file,
 * or, where the kernel copies for the daemon (UBLK_F_USER_COPY), that mapping
 * lent to the kernel's copy between it and the request's pages (mem_move).
 * A bitmap of the pages allocated in the file keeps reads of holes from
 * touching the mapping (a read fault there would allocate a tmpfs page), and
 * a write to a page not allocated yet first allocates it with fallocate: a
 * full tmpfs or a memory limit then fails that write with -ENOSPC instead of
 * a SIGBUS in the daemon. Writes and reads of allocated pages make no system
 * call. The copies are guarded (mem_guard.c), so even a mapping that faults
 * anyway (the file truncated by someone else) fails only that request; a
 * fault in the kernel's copy ends it short, which fails the request too.
 * Queues may be served on several threads at once (--io-threads): the
 * bitmap's words change only by atomic operations, so two writes to pages
 * of one word never lose each other's bit, and the failure log is locked. */
#include "config.h"
#include "backends/backend.h"
#include "backends/mem_guard.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define MEM_PAGE	4096ULL	/* granularity of the written bitmap */
#define MEM_LOG_EVERY	60	/* seconds between two logs of failed requests */

struct mem {
	int fd;
	uint8_t *map;
	uint64_t size;
	uint64_t *written;	/* bit per MEM_PAGE: the page is allocated in
				 * the file and may hold data */
	size_t written_bytes;	/* size of the written mapping */
	bool reserve;		/* all memory taken at open, kept on discard */
	pthread_mutex_t fail_lock;	/* guards fail_rl (io threads share it) */
	struct ratelimit fail_rl;	/* one log of a failed request a minute */
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
	return (__atomic_load_n(&m->written[page / 64], __ATOMIC_ACQUIRE) >> (page % 64)) & 1;
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
			__atomic_fetch_or(&m->written[w], mask, __ATOMIC_RELEASE);
		else if (__atomic_load_n(&m->written[w], __ATOMIC_RELAXED) & mask)
			__atomic_fetch_and(&m->written[w], ~mask, __ATOMIC_RELEASE);
	}
}

/* Logs a failed request of this device, at most once a minute, with a
 * count of the failures not logged in between. */
__attribute__((format(printf, 2, 3)))
static void mem_log_failure(struct mem *m, const char *fmt, ...)
{
	char msg[256], more[64];
	va_list ap;
	bool pass;

	pthread_mutex_lock(&m->fail_lock);
	pass = ratelimit_pass_line(&m->fail_rl, clock_mono(), more, sizeof(more));
	pthread_mutex_unlock(&m->fail_lock);
	if (!pass)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("mem %s: %s%s", m->path, msg, more);
}

/* Allocates in the file the pages [first, last] not allocated yet, in runs,
 * and marks them: 0, or -ENOSPC when the tmpfs or a memory limit refuses. */
static int mem_alloc_pages(struct mem *m, uint64_t first, uint64_t last)
{
	uint64_t p = first;

	while (p <= last) {
		uint64_t q = p, off, end;

		if (mem_page_written(m, p)) {
			p++;
			continue;
		}
		while (q < last && !mem_page_written(m, q + 1))
			q++;
		off = p * MEM_PAGE;
		end = (q + 1) * MEM_PAGE < m->size ? (q + 1) * MEM_PAGE : m->size;
		if (fallocate(m->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)(end - off)) < 0) {
			int err = -errno;

			/* tmpfs says ENOSPC when full, a memory cgroup ENOMEM:
			 * the block layer knows the first as "no space". */
			mem_log_failure(m, "no memory for %llu bytes at %llu: %s; the write "
					"fails with ENOSPC", (unsigned long long)(end - off),
					(unsigned long long)off, strerror(-err));
			return -ENOSPC;
		}
		mem_pages_mark(m, p, q, true);
		p = q + 1;
	}
	return 0;
}

/* Takes all the memory of the device now (--reserve): refuses a size the
 * tmpfs does not have free, then allocates the whole file. */
static int mem_reserve(struct mem *m, const char *dir, char *err, size_t errlen)
{
	struct statfs st;
	uint64_t free_bytes;

	if (fstatfs(m->fd, &st) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "cannot read the free space of %s: %s", dir, strerror(-ret));
		return ret;
	}
	free_bytes = (uint64_t)st.f_bavail * (uint64_t)st.f_bsize;
	if (m->size > free_bytes) {
		snprintf(err, errlen, "reserve: the device needs %llu bytes but the tmpfs %s "
			 "has only %llu free", (unsigned long long)m->size, dir,
			 (unsigned long long)free_bytes);
		return -ENOSPC;
	}
	if (m->size && fallocate(m->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)m->size) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "reserve: cannot allocate %llu bytes in %s: %s",
			 (unsigned long long)m->size, dir, strerror(-ret));
		return ret;
	}
	if (m->size)
		mem_pages_mark(m, 0, (m->size - 1) / MEM_PAGE, true);
	return 0;
}

/* The mem backend's parameters: rows of mem_params, slots of cfg->args. */
enum mem_arg {
	MEM_ARG_SIZE,
	MEM_ARG_RESERVE,
	MEM_ARG_COUNT,
};

/* Creates the device's own file in dir, sized: 0 or -errno with err. */
static int mem_create_file(struct mem *m, const char *dir, char *err, size_t errlen)
{
	int ret;

	/* A name of its own, made with O_EXCL: never another device's file. */
	if ((size_t)snprintf(m->path, sizeof(m->path), "%s/mem-XXXXXX.img", dir) >= sizeof(m->path)) {
		snprintf(err, errlen, "the directory name %s is too long", dir);
		return -ENAMETOOLONG;
	}
	m->fd = mkostemps(m->path, 4, O_CLOEXEC);
	if (m->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
		return ret;
	}
	if (ftruncate(m->fd, (off_t)m->size) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot size %s to %llu bytes: %s", m->path,
			 (unsigned long long)m->size, strerror(errno));
		close(m->fd);
		unlink(m->path);
		return ret;
	}
	return 0;
}

/* Reopens the file a recovered device saved: it must be a mem backing file
 * of exactly the device's size on tmpfs. 0 or -errno with err. */
static int mem_reopen_file(struct mem *m, const struct backend_config *cfg, char *err,
			   size_t errlen)
{
	const char *path = backend_saved_get(cfg, "backing_file");
	const char *base = path ? strrchr(path, '/') : NULL;
	struct statfs sfs;
	struct stat st;
	int ret;

	if (!base || strncmp(base, "/mem-", 5) != 0 ||
	    (size_t)snprintf(m->path, sizeof(m->path), "%s", path) >= sizeof(m->path)) {
		snprintf(err, errlen, "the saved backing file '%s' is not a mem file",
			 path ? path : "");
		return -EINVAL;
	}
	m->fd = open(m->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (m->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot reopen %s: %s", m->path, strerror(errno));
		return ret;
	}
	ret = fstat(m->fd, &st) < 0 || fstatfs(m->fd, &sfs) < 0 ? -errno : 0;
	if (ret == 0 && (!S_ISREG(st.st_mode) || sfs.f_type != TMPFS_MAGIC ||
			 (uint64_t)st.st_size != m->size))
		ret = -EINVAL;
	if (ret < 0) {
		snprintf(err, errlen, "%s is not a tmpfs file of %llu bytes", m->path,
			 (unsigned long long)m->size);
		close(m->fd);
	}
	return ret;
}

/* Marks in the bitmap the pages a reopened file holds (SEEK_DATA runs). */
static int mem_pages_scan(struct mem *m, char *err, size_t errlen)
{
	off_t data = 0, hole;

	while (m->size && (data = lseek(m->fd, data, SEEK_DATA)) >= 0) {
		hole = lseek(m->fd, data, SEEK_HOLE);
		if (hole < 0)
			break;
		mem_pages_mark(m, (uint64_t)data / MEM_PAGE, ((uint64_t)hole - 1) / MEM_PAGE, true);
		data = hole;
	}
	if (m->size && errno != ENXIO) {
		snprintf(err, errlen, "cannot find the pages %s holds: %s", m->path,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/* Creates the device's own tmpfs file and maps it shared; memory is taken on
 * first write, or all at once with reserve. */
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
	m->reserve = cfg->args[MEM_ARG_RESERVE].flag;
	pthread_mutex_init(&m->fail_lock, NULL);
	ratelimit_init(&m->fail_rl, MEM_LOG_EVERY, 1);
	ret = mem_guard_init();
	if (ret < 0) {
		snprintf(err, errlen, "cannot install the SIGBUS handler: %s", strerror(-ret));
		free(m);
		return ret;
	}
	ret = cfg->recovering ? mem_reopen_file(m, cfg, err, errlen)
			      : mem_create_file(m, dir, err, errlen);
	if (ret < 0) {
		free(m);
		return ret;
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
	if (cfg->recovering)
		ret = mem_pages_scan(m, err, errlen);
	else if (m->reserve)
		ret = mem_reserve(m, dir, err, errlen);
	if (ret < 0) {
		munmap(m->written, m->written_bytes);
		munmap(m->map, m->size);
		goto fail;
	}
	backends_plain_geometry(cfg, geo);
	*priv = m;
	return 0;
fail:
	close(m->fd);
	if (!cfg->recovering)
		unlink(m->path);	/* a recovered device's data stays */
	free(m);
	return ret;
}

/* Unmaps the backing file and, with unlink, deletes it. */
static void mem_release(struct mem *m, bool unlink_file)
{
	munmap(m->written, m->written_bytes);
	munmap(m->map, m->size);
	close(m->fd);
	if (unlink_file)
		unlink(m->path);
	free(m);
}

/* Unmaps and deletes the backing file, returning its memory. */
static void mem_close(void *priv)
{
	mem_release(priv, true);
}

/* Unmaps the backing file and keeps it, with the data, for the next daemon. */
static void mem_detach(void *priv)
{
	mem_release(priv, false);
}

/* Saves the backing file's name: a later daemon maps the same memory. */
static void mem_save(void *priv, struct backend_report *r)
{
	struct mem *m = priv;

	r->text(r, "backing_file", m->path);
}

/* Calls fn(arg, pos, len, written) for each run of pages of the range
 * [off, off + len) in one state, allocated (written) or a hole, in order;
 * stops at the first run fn fails and returns that, else 0. */
static int mem_runs(const struct mem *m, uint64_t off, uint64_t len,
		    int (*fn)(void *arg, uint64_t pos, uint64_t len, bool written), void *arg)
{
	uint64_t pos = off, end = off + len;

	while (pos < end) {
		uint64_t page = pos / MEM_PAGE;
		bool written = mem_page_written(m, page);
		uint64_t run = (page + 1) * MEM_PAGE;
		int ret;

		/* Extend the run over the following pages in the same state. */
		while (run < end && mem_page_written(m, run / MEM_PAGE) == written)
			run += MEM_PAGE;
		if (run > end)
			run = end;
		ret = fn(arg, pos, run - pos, written);
		if (ret < 0)
			return ret;
		pos = run;
	}
	return 0;
}

/* Where mem_read_run copies one read to. */
struct mem_read_to {
	struct mem *m;
	uint8_t *buf;
	uint64_t off;
};

/* Copies one run of a read out of the mapping; a hole reads as zeroes. */
static int mem_read_run(void *arg, uint64_t pos, uint64_t len, bool written)
{
	struct mem_read_to *r = arg;
	uint8_t *to = r->buf + (pos - r->off);

	if (!written) {
		memset(to, 0, len);
		return 0;
	}
	if (mem_guard_copy(to, r->m->map + pos, len, r->m->map, r->m->size) < 0) {
		mem_log_failure(r->m, "the mapping faulted reading %llu bytes at %llu; the "
				"read fails with EIO", (unsigned long long)len,
				(unsigned long long)pos);
		return -EIO;
	}
	return 0;
}

/* Copies the range out of the mapping; holes read as zeroes. */
static int mem_read(void *priv, void *buf, uint32_t len, uint64_t off)
{
	struct mem_read_to r = { .m = priv, .buf = buf, .off = off };

	return mem_runs(r.m, off, len, mem_read_run, &r);
}

/* Allocates the pages the range needs, then copies the data into the
 * shared mapping. */
static int mem_write(void *priv, const void *buf, uint32_t len, uint64_t off,
		     uint32_t flags)
{
	struct mem *m = priv;
	int ret;

	(void)flags;
	if (len == 0)
		return 0;
	ret = mem_alloc_pages(m, off / MEM_PAGE, (off + len - 1) / MEM_PAGE);
	if (ret < 0)
		return ret;
	if (mem_guard_copy(m->map + off, buf, len, m->map, m->size) < 0) {
		mem_log_failure(m, "the mapping faulted writing %u bytes at %llu; the write "
				"fails with EIO", len, (unsigned long long)off);
		return -EIO;
	}
	return 0;
}

/* How many pieces mem_move hands the mover at once. */
#define MEM_MOVE_PIECES	64

/* The pieces of one request mem_move gathers for its mover. */
struct mem_moving {
	struct mem *m;
	struct backend_mover *mover;
	bool write;
	uint64_t pos;		/* device offset of the first piece held */
	uint64_t bytes;		/* bytes the pieces held cover */
	int n;
	struct iovec iov[MEM_MOVE_PIECES];
};

/* Has the mover copy the pieces held: 0, or -EIO (logged) when it copied
 * fewer bytes than they cover. */
static int mem_move_flush(struct mem_moving *mv)
{
	long got;

	if (!mv->n)
		return 0;
	got = mv->mover->copy(mv->mover, mv->iov, mv->n);
	if (got != (long)mv->bytes) {
		mem_log_failure(mv->m, "copying %llu bytes at %llu %s the request failed (%s); "
				"the %s fails with EIO", (unsigned long long)mv->bytes,
				(unsigned long long)mv->pos, mv->write ? "out of" : "into",
				got < 0 ? strerror((int)-got) : "the mapping faulted",
				mv->write ? "write" : "read");
		return -EIO;
	}
	mv->pos += mv->bytes;
	mv->bytes = 0;
	mv->n = 0;
	return 0;
}

/* Adds a piece of len bytes at base, copying what is held first when full. */
static int mem_move_add(struct mem_moving *mv, void *base, uint64_t len)
{
	int ret;

	if (mv->n == MEM_MOVE_PIECES && (ret = mem_move_flush(mv)) < 0)
		return ret;
	mv->iov[mv->n].iov_base = base;
	mv->iov[mv->n].iov_len = (size_t)len;
	mv->n++;
	mv->bytes += len;
	return 0;
}

/* Adds one run of a read: the mapping's pages, or zeroes for a hole. */
static int mem_move_run(void *arg, uint64_t pos, uint64_t len, bool written)
{
	struct mem_moving *mv = arg;
	int ret = 0;

	if (written)
		return mem_move_add(mv, mv->m->map + pos, len);
	while (len && ret == 0) {
		uint64_t piece = len < BACKEND_ZERO_BYTES ? len : BACKEND_ZERO_BYTES;

		ret = mem_move_add(mv, (void *)(uintptr_t)backend_zeroes, piece);
		len -= piece;
	}
	return ret;
}

/* Lends a READ or WRITE the mapping itself, so the kernel copies straight
 * between it and the request's pages: a write's pages are allocated first
 * (ENOSPC, as with mem_write), and a read's holes lend zeroes. */
static int mem_move(void *priv, const struct backend_req *req, struct backend_mover *mover)
{
	struct mem *m = priv;
	struct mem_moving mv = { .m = m, .mover = mover, .pos = req->off,
				 .write = req->op == BACKEND_REQ_WRITE };
	int ret;

	if (req->len == 0)
		return 0;
	if (mv.write) {
		ret = mem_alloc_pages(m, req->off / MEM_PAGE, (req->off + req->len - 1) / MEM_PAGE);
		if (ret == 0)
			ret = mem_move_add(&mv, m->map + req->off, req->len);
	} else {
		ret = mem_runs(m, req->off, req->len, mem_move_run, &mv);
	}
	return ret < 0 ? ret : mem_move_flush(&mv);
}

/* Zeroes a range; with keep (NOUNMAP, or a reserved device) its whole
 * pages stay allocated, else their memory is given back. */
static int mem_zero(struct mem *m, uint64_t len, uint64_t off, bool keep)
{
	uint64_t first = (off + MEM_PAGE - 1) / MEM_PAGE, end = (off + len) / MEM_PAGE;

	if (fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0)
		return -errno;
	/* Whole pages are holes now; a partly punched page reads zeroes there. */
	if (end > first)
		mem_pages_mark(m, first, end - 1, false);
	/* Taking the pages again may fail on a full tmpfs: the range reads as
	 * zeroes all the same, and a later write allocates what it needs. */
	if (keep && end > first)
		(void)mem_alloc_pages(m, first, end - 1);
	return 0;
}

/* Gives the range's memory back (kept on a reserved device); it reads as
 * zeroes afterwards. */
static int mem_discard(void *priv, uint64_t len, uint64_t off)
{
	struct mem *m = priv;

	return mem_zero(m, len, off, m->reserve);
}

/* Zeroes a range; with NOUNMAP the memory stays allocated. */
static int mem_write_zeroes(void *priv, uint64_t len, uint64_t off, uint32_t flags)
{
	struct mem *m = priv;

	return mem_zero(m, len, off, m->reserve || (flags & BACKEND_F_NOUNMAP));
}

/* Reports where the memory lives and how much of it is in use. */
static void mem_describe(void *priv, struct backend_report *r)
{
	struct mem *m = priv;
	struct statfs sfs;
	struct stat st;

	r->text(r, "backing_file", m->path);
	if (fstat(m->fd, &st) == 0)
		r->number(r, "memory_used", (uint64_t)st.st_blocks * 512);
	if (fstatfs(m->fd, &sfs) == 0)
		r->number(r, "tmpfs_free", (uint64_t)sfs.f_bavail * sfs.f_bsize);
	r->flag(r, "reserve", m->reserve);
}

/* What device_add takes for a mem device (rows in enum mem_arg order). */
static const struct backend_param mem_params[] = {
	[MEM_ARG_SIZE] = { .name = "size", .type = BACKEND_PARAM_SIZE, .required = true,
		.metavar = "SIZE", .help = "the device size: bytes, or with a K, M, G or T suffix" },
	[MEM_ARG_RESERVE] = { .name = "reserve", .type = BACKEND_PARAM_FLAG,
		.def = "memory is taken on first write",
		.help = "take all the memory now and keep it, also across DISCARD; a size "
			"the tmpfs cannot hold is refused" },
	[MEM_ARG_COUNT] = { .name = NULL },
};

const struct backend_ops backend_mem = {
	.name = "mem",
	.summary = "sparse RAM disk in a tmpfs file",
	.params = mem_params,
	.thread_safe = true,
	.open = mem_open,
	.close = mem_close,
	.read = mem_read,
	.write = mem_write,
	.discard = mem_discard,
	.write_zeroes = mem_write_zeroes,
	.move = mem_move,
	.describe = mem_describe,
	.save = mem_save,
	.detach = mem_detach,
};
