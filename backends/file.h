/* The file backend's state, shared by its parts: file.c (the backend_ops),
 * file_open.c (validating and sizing the backing) and file_probe.c (asking
 * the kernel what the backing supports). */
#ifndef UBLKD_FILE_H
#define UBLKD_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backends/backend.h"

/* Largest logical block size ublk accepts (logical_bs_shift <= PAGE_SHIFT). */
#define FILE_MAX_BLOCK_SIZE	4096U
/* What one DISCARD or WRITE_ZEROES request may cover. */
#define FILE_MAX_TRIM_BYTES	(1U << 30)

/* The file backend's parameters: rows of its params table, slots of
 * backend_config.args. */
enum file_arg {
	FILE_ARG_PATH,
	FILE_ARG_SIZE,
	FILE_ARG_BUFFERED,
	FILE_ARG_COUNT,
};

struct file_dev {
	int fd;
	char *path;		/* as given */
	bool bdev;		/* a block device, not a regular file */
	bool direct;		/* opened with O_DIRECT */
	bool read_only;
	bool created;		/* this open created the file */
	bool extended;		/* this open extended it from extended_from bytes */
	uint64_t extended_from;
	bool can_punch;		/* fallocate(PUNCH_HOLE|KEEP_SIZE) works: DISCARD */
	int zero_mode;		/* fallocate mode for WRITE_ZEROES, or -1: none */
	uint64_t size;		/* bytes served */
	uint32_t block_size;	/* logical block size served */
	uint32_t dio_align;	/* file offset alignment of direct I/O (0 if buffered) */
	uint32_t dio_mem_align;	/* buffer alignment of direct I/O (0 if buffered or unknown) */
};

/* Opens and checks the backing of cfg into f; on error writes err and
 * leaves nothing behind (a file it created is removed again). */
int file_open_backing(struct file_dev *f, const struct backend_config *cfg,
		      char *err, size_t errlen);
/* Picks the logical block size: at least what was asked and what the
 * backing needs; -EINVAL (with err) when ublk cannot serve that. */
int file_open_block_size(uint32_t want, uint32_t need, const char *path,
			 uint32_t *bs, char *err, size_t errlen);

/* Finds the direct-I/O offset alignment of an O_DIRECT fd: from statx
 * STATX_DIOALIGN, else from the logical block size of the device under the
 * file system. -EOPNOTSUPP when direct I/O is unsupported or its alignment
 * cannot be known; mem_align may be 0 when unknown. */
int file_probe_dio(int fd, uint32_t *offset_align, uint32_t *mem_align);
/* Reads the logical block size of a block device's queue from sysfs (a
 * partition's from its disk); -errno when there is none. */
int file_probe_sysfs_lbs(dev_t dev, uint32_t *lbs);
/* Size in bytes and logical block size of an open block device. */
int file_probe_bdev(int fd, uint64_t *size, uint32_t *lbs);
/* Finds which fallocate modes the backing supports, without touching its
 * data: sets f->can_punch and f->zero_mode. */
void file_probe_fallocate(struct file_dev *f);
/* Tries the two fallocate modes on a scratch fd: PUNCH_HOLE and ZERO_RANGE. */
void file_probe_fallocate_fd(int fd, bool *punch, bool *zero_range);

#endif
