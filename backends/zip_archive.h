/* Finding one member of a ZIP archive with libzip: which member, how it is
 * stored, and where its data starts in the archive file. */
#ifndef UBLKD_ZIP_ARCHIVE_H
#define UBLKD_ZIP_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#define ZIP_METHOD_STORED	0
#define ZIP_METHOD_DEFLATED	8

/* The member the zip backend serves. */
struct zip_member {
	char *name;		/* as the central directory spells it */
	uint16_t method;	/* ZIP_METHOD_STORED or ZIP_METHOD_DEFLATED */
	uint64_t size;		/* uncompressed bytes */
	uint64_t comp_size;	/* bytes of data in the archive */
	uint32_t crc;		/* CRC-32 the central directory records */
	uint64_t header_offset;	/* the member's local file header */
	uint64_t data_offset;	/* its first data byte, after that header */
};

/* Opens the archive at path read-only and picks the member named entry (or
 * the only file when entry is NULL); checks it can be served and locates its
 * data. passed, when not -1, is a descriptor the client passed for path:
 * a copy of it is used instead of opening path. On success *fd is the open
 * archive. Returns 0 or -errno with a message naming the archive and the
 * member in err. */
int zip_archive_open(const char *path, int passed, const char *entry, int *fd,
		     struct zip_member *m, char *err, size_t errlen);
/* Releases what zip_archive_open put in m. */
void zip_archive_member_free(struct zip_member *m);
/* Reads exactly len bytes of the archive at off: 0, -EIO at end of file,
 * or -errno. */
int zip_archive_read_at(int fd, void *buf, size_t len, uint64_t off);
/* Names a compression method ("bzip2", ...) for messages. */
const char *zip_archive_method_name(uint16_t method);

#endif
