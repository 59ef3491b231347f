/* Asking the kernel what a file backend's backing supports: the alignment
 * direct I/O needs, a block device's geometry, and which fallocate modes
 * work, all found at open time so that each request is one operation. */
#include "config.h"
#include "backends/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Reads one unsigned number from a sysfs file. */
static int file_probe_read_u32(const char *path, uint32_t *v)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = 0;
	*v = (uint32_t)strtoul(buf, NULL, 10);
	return *v ? 0 : -EIO;
}

/* Reads the logical block size of a block device's queue from sysfs (a
 * partition's from its disk); -errno when there is none. */
int file_probe_sysfs_lbs(dev_t dev, uint32_t *lbs)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/logical_block_size",
		 major(dev), minor(dev));
	if (file_probe_read_u32(path, lbs) == 0)
		return 0;
	/* A partition has no queue of its own: its disk is the parent. */
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/logical_block_size",
		 major(dev), minor(dev));
	return file_probe_read_u32(path, lbs);
}

/* Size in bytes and logical block size of an open block device. */
int file_probe_bdev(int fd, uint64_t *size, uint32_t *lbs)
{
	int ssz = 0;

	if (ioctl(fd, BLKGETSIZE64, size) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0)
		return -errno;
	if (ssz <= 0)
		return -EIO;
	*lbs = (uint32_t)ssz;
	return 0;
}

/* Finds the direct-I/O offset alignment of an O_DIRECT fd: from statx
 * STATX_DIOALIGN, else from the logical block size of the device under the
 * file system. -EOPNOTSUPP when direct I/O is unsupported or its alignment
 * cannot be known; mem_align may be 0 when unknown. */
int file_probe_dio(int fd, uint32_t *offset_align, uint32_t *mem_align)
{
	struct statx stx;
	struct stat st;
	uint64_t size;

	*offset_align = 0;
	*mem_align = 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		/* The file system answered; 0 means "no direct I/O here". */
		if (!stx.stx_dio_offset_align)
			return -EOPNOTSUPP;
		*offset_align = stx.stx_dio_offset_align;
		*mem_align = stx.stx_dio_mem_align;
		return 0;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return file_probe_bdev(fd, &size, offset_align);
	/* tmpfs, 9p, NFS, overlay: no block device whose sectors we know. */
	if (file_probe_sysfs_lbs(st.st_dev, offset_align) < 0)
		return -EOPNOTSUPP;
	return 0;
}

/* Tries the two fallocate modes on a scratch fd: PUNCH_HOLE and ZERO_RANGE. */
void file_probe_fallocate_fd(int fd, bool *punch, bool *zero_range)
{
	*punch = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
	*zero_range = fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
}

/* Opens an unnamed scratch file on the file system that holds path. */
static int file_probe_scratch(const char *path)
{
	char *real = realpath(path, NULL);
	char *slash;
	int fd;

	if (!real)
		return -errno;
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = 0;
	else
		*slash = 0;
	fd = open(real, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	free(real);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, 8192) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* Finds which fallocate modes the backing supports, without touching its
 * data: sets f->can_punch and f->zero_mode. */
void file_probe_fallocate(struct file_dev *f)
{
	bool punch = false, zero_range = false;
	struct stat st;
	int fd;

	f->can_punch = false;
	f->zero_mode = -1;
	if (f->read_only)
		return;
	if (f->bdev) {
		/* On a block device PUNCH_HOLE is a write-zeroes that fails
		 * unless the hardware has one, and nothing discards; ZERO_RANGE
		 * always works (the kernel writes zeroes if it must). */
		f->zero_mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		return;
	}
	fd = file_probe_scratch(f->path);
	if (fd >= 0) {
		file_probe_fallocate_fd(fd, &punch, &zero_range);
		close(fd);
	} else if (fstat(f->fd, &st) == 0) {
		/* No scratch file here: punching beyond the end of the file
		 * itself changes nothing, so that much can still be asked. */
		punch = fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  st.st_size, 4096) == 0;
	}
	f->can_punch = punch;
	if (zero_range)
		f->zero_mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	else if (punch)
		f->zero_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
}
