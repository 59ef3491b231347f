/* Opening the file backend's backing: a regular file (created or extended
 * by --size) or a block device, checked so that every mistake is a clear
 * error at add time and a failed open leaves nothing behind. */
#include "config.h"
#include "backends/file.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes an error message and returns ret. */
static int file_open_error(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int file_open_error(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* Refuses what is neither a regular file nor a block device: 0 or -errno. */
static int file_open_kind(const struct file_dev *f, const struct stat *st, char *err,
			  size_t errlen)
{
	if (S_ISDIR(st->st_mode))
		return file_open_error(err, errlen, -EISDIR,
				       "%s is a directory; expected a regular file or a block device",
				       f->path);
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return file_open_error(err, errlen, -EINVAL,
				       "%s is not a regular file or a block device", f->path);
	return 0;
}

/* Creates a missing file for --size, empty: it is sized last, after every check. */
static int file_open_create(struct file_dev *f, const struct backend_config *cfg,
			    char *err, size_t errlen)
{
	int fd;

	if (cfg->recovering)
		return file_open_error(err, errlen, -ENOENT,
				       "%s is gone; a recovered device does not create it", f->path);
	if (!cfg->size)
		return file_open_error(err, errlen, -ENOENT,
				       "%s does not exist (give a size to create it)", f->path);
	if (cfg->read_only)
		return file_open_error(err, errlen, -ENOENT,
				       "%s does not exist, and a read-only device does not create it",
				       f->path);
	fd = open(f->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return file_open_error(err, errlen, -errno, "cannot create %s: %s",
				       f->path, strerror(errno));
	close(fd);
	f->created = true;
	return 0;
}

/* Finds out what the path is, creating it when --size asks for that. */
static int file_open_stat(struct file_dev *f, const struct backend_config *cfg,
			  struct stat *st, char *err, size_t errlen)
{
	int ret;

	if (stat(f->path, st) < 0) {
		if (errno != ENOENT)
			return file_open_error(err, errlen, -errno, "cannot access %s: %s",
					       f->path, strerror(errno));
		ret = file_open_create(f, cfg, err, errlen);
		if (ret < 0)
			return ret;
		if (stat(f->path, st) < 0)
			return file_open_error(err, errlen, -errno, "cannot access %s: %s",
					       f->path, strerror(errno));
	}
	ret = file_open_kind(f, st, err, errlen);
	if (ret < 0)
		return ret;
	f->bdev = S_ISBLK(st->st_mode);
	return 0;
}

/* Opens path with flags, and O_DIRECT when f asks for it; where the file
 * system refuses O_DIRECT (EINVAL) says so and opens it buffered. The fd,
 * or -1 with errno set. */
static int file_open_direct(struct file_dev *f, const char *path, int flags)
{
	int fd;

	if (f->direct) {
		fd = open(path, flags | O_DIRECT);
		if (fd >= 0 || errno != EINVAL)
			return fd;
		log_warn("%s: the file system refuses O_DIRECT; using buffered I/O", f->path);
		f->direct = false;
	}
	return open(path, flags);
}

/* Opens the backing, falling back to buffered I/O where O_DIRECT is refused. */
static int file_open_fd(struct file_dev *f, const struct stat *st, char *err, size_t errlen)
{
	int flags = (f->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat now;
	int e;

	/* A writer must not share a block device with a mounted file system. */
	if (f->bdev && !f->read_only)
		flags |= O_EXCL;
	f->fd = file_open_direct(f, f->path, flags);
	if (f->fd < 0) {
		e = errno;
		if (!f->read_only && (e == EACCES || e == EPERM || e == EROFS))
			return file_open_error(err, errlen, -e,
					       "cannot open %s for writing: %s (serve it read-only to only read it)",
					       f->path, strerror(e));
		if (f->bdev && e == EBUSY)
			return file_open_error(err, errlen, -e,
					       "%s is in use (mounted, or held by another program)",
					       f->path);
		return file_open_error(err, errlen, -e, "cannot open %s: %s", f->path, strerror(e));
	}
	if (fstat(f->fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return file_open_error(err, errlen, -ESTALE, "%s changed while it was being opened",
				       f->path);
	return 0;
}

/* Opens the file behind fd, passed by the client (its flags fl), anew with
 * the same access mode and O_DIRECT when asked for: the copy kept has an
 * open file description of its own, so the client's keeps its flags
 * (O_APPEND, O_NONBLOCK, buffered I/O) and its offset. -1 when the file
 * cannot be reopened here (a daemon without root on another user's file,
 * say): the caller then keeps a duplicate. */
static int file_open_own(struct file_dev *f, int fd, int fl, const struct stat *st)
{
	char proc[64];
	struct stat now;
	int nfd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	nfd = file_open_direct(f, proc, (fl & O_ACCMODE) | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0) {
		log_debug("%s: the descriptor passed cannot be opened anew (%s); its duplicate "
			  "is kept", f->path, strerror(errno));
		return -1;
	}
	if (fstat(nfd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(nfd);
		return -1;
	}
	return nfd;
}

/* Takes the descriptor the client passed: a regular file or a block device,
 * open for writing unless the device is read-only. The copy kept is opened
 * anew (file_open_own) or else duplicated, with O_APPEND and O_NONBLOCK
 * cleared and O_DIRECT set when asked for (then shared with the client's
 * descriptor). */
static int file_open_passed(struct file_dev *f, int fd, struct stat *st, char *err,
			    size_t errlen)
{
	int fl = fcntl(fd, F_GETFL);
	int ret;

	if (fl < 0 || fstat(fd, st) < 0)
		return file_open_error(err, errlen, -errno, "cannot use the descriptor passed "
				       "for %s: %s", f->path, strerror(errno));
	if (fl & O_PATH)
		return file_open_error(err, errlen, -EBADF, "the descriptor passed for %s is "
				       "an O_PATH one; open the file for reading or writing", f->path);
	ret = file_open_kind(f, st, err, errlen);
	if (ret < 0)
		return ret;
	if ((fl & O_ACCMODE) == O_WRONLY)
		return file_open_error(err, errlen, -EACCES, "cannot read %s: the descriptor "
				       "passed is open for writing only", f->path);
	if (!f->read_only && (fl & O_ACCMODE) != O_RDWR)
		return file_open_error(err, errlen, -EACCES, "cannot open %s for writing: the "
				       "descriptor passed is read-only (serve it read-only to only "
				       "read it)", f->path);
	f->bdev = S_ISBLK(st->st_mode);
	f->fd = file_open_own(f, fd, fl, st);
	if (f->fd >= 0)
		return 0;
	f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0)
		return file_open_error(err, errlen, -errno, "cannot keep the descriptor for "
				       "%s: %s", f->path, strerror(errno));
	fl &= ~(O_APPEND | O_NONBLOCK);
	if (f->direct && fcntl(f->fd, F_SETFL, fl | O_DIRECT) < 0) {
		log_warn("%s: the file system refuses O_DIRECT; using buffered I/O", f->path);
		f->direct = false;
	}
	if (!f->direct && fcntl(f->fd, F_SETFL, fl & ~O_DIRECT) < 0)
		return file_open_error(err, errlen, -errno, "cannot set the flags of the "
				       "descriptor for %s: %s", f->path, strerror(errno));
	return 0;
}

/* Learns direct I/O's alignment; turns O_DIRECT off where it cannot be used. */
static void file_open_dio(struct file_dev *f)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t off, mem;
	int ret, fl;

	if (!f->direct)
		return;
	ret = file_probe_dio(f->fd, &off, &mem);
	if (ret == 0 && (f->bdev || (off <= FILE_MAX_BLOCK_SIZE && mem <= page))) {
		/* A block device keeps O_DIRECT: its sector size is its
		 * logical block size, which is checked next anyway. */
		f->dio_align = off;
		f->dio_mem_align = mem;
		return;
	}
	if (ret < 0)
		log_warn("%s: direct I/O is unsupported or its alignment unknown here; using buffered I/O",
			 f->path);
	else
		log_warn("%s: direct I/O needs %u-byte offsets and %u-byte buffers, more than ublk can give; using buffered I/O",
			 f->path, off, mem);
	fl = fcntl(f->fd, F_GETFL);
	if (fl >= 0)
		fcntl(f->fd, F_SETFL, fl & ~O_DIRECT);
	f->direct = false;
	f->dio_align = 0;
	f->dio_mem_align = 0;
}

/* Picks the logical block size: at least what was asked and what the
 * backing needs; -EINVAL (with err) when ublk cannot serve that. */
int file_open_block_size(uint32_t want, uint32_t need, const char *path,
			 uint32_t *bs, char *err, size_t errlen)
{
	uint32_t b;

	if (!want)
		want = 512;
	b = want > need ? want : need;

	if (b > FILE_MAX_BLOCK_SIZE || (b & (b - 1)))
		return file_open_error(err, errlen, -EINVAL,
				       "%s needs a logical block size of %u bytes; ublk serves at most %u",
				       path, b, FILE_MAX_BLOCK_SIZE);
	if (b != want)
		log_info("%s: block size %u instead of %u, as the backing requires", path, b, want);
	*bs = b;
	return 0;
}

/* Works out the size to serve from the backing's and the one asked for. */
static int file_open_size(struct file_dev *f, const struct backend_config *cfg,
			  uint64_t cur, char *err, size_t errlen)
{
	unsigned long long want = cfg->size, have = cur;

	if (f->bdev && want && want != have)
		return file_open_error(err, errlen, -EINVAL,
				       "size %llu differs from the size of the block device %s (%llu bytes)",
				       want, f->path, have);
	if (want && want < have)
		return file_open_error(err, errlen, -EINVAL,
				       "%s is %llu bytes, larger than the size %llu: refusing to shrink it",
				       f->path, have, want);
	if (want > have && cfg->recovering)
		return file_open_error(err, errlen, -EINVAL,
				       "%s is %llu bytes, smaller than the device's %llu: it was "
				       "truncated while no daemon served it", f->path, have, want);
	if (want > have && f->read_only)
		return file_open_error(err, errlen, -EROFS,
				       "%s is %llu bytes, smaller than the size %llu, and a read-only device does not extend it",
				       f->path, have, want);
	f->size = want ? want : have;
	if (f->size < f->block_size)
		return file_open_error(err, errlen, -EINVAL,
				       "%s is %llu bytes, smaller than one block (%u bytes)%s",
				       f->path, (unsigned long long)f->size, f->block_size,
				       f->bdev ? "" : "; give a size to extend it");
	if (f->size % f->block_size)
		return file_open_error(err, errlen, -EINVAL,
				       "%s: the size %llu is not a multiple of the block size %u",
				       f->path, (unsigned long long)f->size, f->block_size);
	return 0;
}

/* Gives the file its size; the last step, so nothing is left half-sized. */
static int file_open_extend(struct file_dev *f, uint64_t cur, char *err, size_t errlen)
{
	if (f->bdev || f->size <= cur)
		return 0;
	if (ftruncate(f->fd, (off_t)f->size) < 0)
		return file_open_error(err, errlen, -errno, "cannot extend %s to %llu bytes: %s",
				       f->path, (unsigned long long)f->size, strerror(errno));
	f->extended = !f->created;
	f->extended_from = cur;
	return 0;
}

/* Opens and checks the backing of cfg into f; on error writes err and
 * leaves nothing behind (a file it created is removed again). */
int file_open_backing(struct file_dev *f, const struct backend_config *cfg,
		      char *err, size_t errlen)
{
	struct stat st;
	uint64_t cur;
	uint32_t lbs = 0;
	int ret;

	f->fd = -1;
	f->zero_mode = -1;
	f->read_only = cfg->read_only;
	f->direct = !cfg->args[FILE_ARG_BUFFERED].flag;
	if (cfg->args[FILE_ARG_PATH].passed) {
		ret = file_open_passed(f, cfg->args[FILE_ARG_PATH].fd, &st, err, errlen);
	} else {
		ret = file_open_stat(f, cfg, &st, err, errlen);
		if (ret == 0)
			ret = file_open_fd(f, &st, err, errlen);
	}
	if (ret < 0)
		goto fail;
	cur = (uint64_t)st.st_size;
	if (f->bdev && (ret = file_probe_bdev(f->fd, &cur, &lbs)) < 0) {
		file_open_error(err, errlen, ret, "cannot read the geometry of %s: %s",
				f->path, strerror(-ret));
		goto fail;
	}
	file_open_dio(f);
	ret = file_open_block_size(cfg->block_size, lbs > f->dio_align ? lbs : f->dio_align,
				   f->path, &f->block_size, err, errlen);
	if (ret == 0)
		ret = file_open_size(f, cfg, cur, err, errlen);
	if (ret < 0)
		goto fail;
	file_probe_fallocate(f);
	ret = file_open_extend(f, cur, err, errlen);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->created)
		unlink(f->path);
	f->created = false;
	return ret;
}
