/* Finding one member of a ZIP archive with libzip.
 *
 * libzip parses the archive (central directory, ZIP64, consistency checks)
 * but does not tell where a member's data starts in the file. To learn it
 * without parsing the directory by hand, libzip reads the archive through a
 * source of ours (a "tap") that notes where each read starts: opening the
 * member raw and reading its first byte makes libzip read at exactly the
 * data offset. That offset is then checked against the member's local file
 * header, read by us: signature, name, and name + extra lengths that end
 * where the data starts. */
#include "config.h"
#include "backends/zip_archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#define ZIP_LFH_SIGNATURE	0x04034b50U
#define ZIP_LFH_BYTES		30
#define ZIP_GPBF_ENCRYPTED	0x0001U
#define ZIP_NAMES_LISTED	5

/* The source libzip reads the archive through. */
struct zip_tap {
	int fd;
	uint64_t size;
	uint64_t pos;
	uint64_t last_read;	/* where the latest read started */
	zip_error_t error;
};

/* Names a compression method ("bzip2", ...) for messages. */
const char *zip_archive_method_name(uint16_t method)
{
	switch (method) {
	case 0: return "stored";
	case 1: return "shrink";
	case 6: return "implode";
	case 8: return "deflate";
	case 9: return "deflate64";
	case 12: return "bzip2";
	case 14: return "lzma";
	case 18: return "IBM TERSE";
	case 93: return "zstd";
	case 95: return "xz";
	case 96: return "JPEG";
	case 97: return "WavPack";
	case 98: return "PPMd";
	case 99: return "AES";
	default: return "an unknown method";
	}
}

/* Reads exactly len bytes at off: 0, -EIO at end of file, or -errno. */
int zip_archive_read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Reads into the tap at its position and notes where the read started. */
static zip_int64_t zip_tap_read(struct zip_tap *t, void *data, zip_uint64_t len)
{
	ssize_t n;

	if (t->pos >= t->size)
		return 0;
	if (len > t->size - t->pos)
		len = t->size - t->pos;
	do
		n = pread(t->fd, data, len, (off_t)t->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		zip_error_set(&t->error, ZIP_ER_READ, errno);
		return -1;
	}
	t->last_read = t->pos;
	t->pos += (uint64_t)n;
	return n;
}

/* The tap's source callback: a seekable, read-only view of the archive fd. */
static zip_int64_t zip_tap_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct zip_tap *t = ud;
	zip_int64_t pos;

	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		t->pos = 0;
		return 0;
	case ZIP_SOURCE_READ:
		return zip_tap_read(t, data, len);
	case ZIP_SOURCE_CLOSE:
	case ZIP_SOURCE_FREE:
		return 0;
	case ZIP_SOURCE_STAT:
		if (len < sizeof(zip_stat_t)) {
			zip_error_set(&t->error, ZIP_ER_INVAL, 0);
			return -1;
		}
		zip_stat_init(data);
		((zip_stat_t *)data)->size = t->size;
		((zip_stat_t *)data)->valid |= ZIP_STAT_SIZE;
		return sizeof(zip_stat_t);
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&t->error, data, len);
	case ZIP_SOURCE_SEEK:
		pos = zip_source_seek_compute_offset(t->pos, t->size, data, len, &t->error);
		if (pos < 0)
			return -1;
		t->pos = (uint64_t)pos;
		return 0;
	case ZIP_SOURCE_TELL:
		return (zip_int64_t)t->pos;
	case ZIP_SOURCE_SUPPORTS:
		return ZIP_SOURCE_SUPPORTS_SEEKABLE;
	default:
		zip_error_set(&t->error, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* Explains why libzip refused to open the archive. */
static int zip_archive_open_error(struct zip_tap *t, const char *path, zip_error_t *ze,
				  char *err, size_t errlen)
{
	uint8_t head[4] = { 0 };
	bool zipish;

	switch (zip_error_code_zip(ze)) {
	case ZIP_ER_NOZIP:
		zipish = zip_archive_read_at(t->fd, head, sizeof(head), 0) == 0 &&
			 head[0] == 'P' && head[1] == 'K';
		if (zipish)
			snprintf(err, errlen, "%s is truncated or damaged: it starts like a zip "
				 "archive but its central directory cannot be found", path);
		else
			snprintf(err, errlen, "%s is not a zip archive", path);
		return -EINVAL;
	case ZIP_ER_INCONS:
		snprintf(err, errlen, "%s is a damaged zip archive (truncated or corrupt): %s",
			 path, zip_error_strerror(ze));
		return -EINVAL;
	case ZIP_ER_MEMORY:
		snprintf(err, errlen, "out of memory reading %s", path);
		return -ENOMEM;
	default:
		snprintf(err, errlen, "cannot read %s as a zip archive: %s", path,
			 zip_error_strerror(ze));
		return zip_error_code_system(ze) > 0 && zip_error_system_type(ze) == ZIP_ET_SYS
		       ? -zip_error_code_system(ze) : -EIO;
	}
}

/* True when an entry name is a directory's. */
static bool zip_archive_is_dir(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && name[n - 1] == '/';
}

/* Lists the first file names of the archive, comma separated, into buf. */
static void zip_archive_list(zip_t *za, char *buf, size_t len)
{
	zip_int64_t n = zip_get_num_entries(za, 0);
	size_t used = 0;
	int listed = 0;

	buf[0] = 0;
	for (zip_int64_t i = 0; i < n && used < len; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);

		if (!name || zip_archive_is_dir(name))
			continue;
		if (listed == ZIP_NAMES_LISTED) {
			snprintf(buf + used, len - used, ", ...");
			return;
		}
		used += (size_t)snprintf(buf + used, len - used, "%s'%s'", listed ? ", " : "", name);
		listed++;
	}
}

/* Picks the member to serve: the named entry, or the only file. */
static int zip_archive_pick(zip_t *za, const char *path, const char *entry,
			    zip_uint64_t *idx, char *err, size_t errlen)
{
	zip_int64_t n = zip_get_num_entries(za, 0), files = 0, found;
	char names[256];

	if (entry) {
		found = zip_name_locate(za, entry, 0);
		if (found < 0) {
			zip_archive_list(za, names, sizeof(names));
			snprintf(err, errlen, "no member named '%s' in %s (its files: %s)", entry,
				 path, names[0] ? names : "none");
			return -ENOENT;
		}
		if (zip_archive_is_dir(entry)) {
			snprintf(err, errlen, "member '%s' in %s is a directory, not a disk image",
				 entry, path);
			return -EINVAL;
		}
		*idx = (zip_uint64_t)found;
		return 0;
	}
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);

		if (name && !zip_archive_is_dir(name)) {
			files++;
			*idx = (zip_uint64_t)i;
		}
	}
	if (files == 1)
		return 0;
	if (files == 0) {
		snprintf(err, errlen, "%s holds no files", path);
		return -ENOENT;
	}
	zip_archive_list(za, names, sizeof(names));
	snprintf(err, errlen, "%s holds %lld files (%s): choose one with --entry NAME",
		 path, (long long)files, names);
	return -EINVAL;
}

/* Reads the member's sizes, method and CRC and refuses what cannot be served. */
static int zip_archive_check(zip_t *za, zip_uint64_t idx, const char *path,
			     struct zip_member *m, char *err, size_t errlen)
{
	const zip_uint64_t need = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE |
		ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD | ZIP_STAT_CRC;
	zip_stat_t st;

	if (zip_stat_index(za, idx, 0, &st) < 0 || (st.valid & need) != need) {
		snprintf(err, errlen, "cannot read the directory entry of member %llu in %s: %s",
			 (unsigned long long)idx, path, zip_strerror(za));
		return -EINVAL;
	}
	m->name = strdup(st.name);
	if (!m->name)
		return -ENOMEM;
	m->method = st.comp_method;
	m->size = st.size;
	m->comp_size = st.comp_size;
	m->crc = st.crc;
	if (st.encryption_method != ZIP_EM_NONE) {
		snprintf(err, errlen, "member '%s' in %s is encrypted; encrypted members "
			 "cannot be served", m->name, path);
		return -EOPNOTSUPP;
	}
	if (m->method != ZIP_METHOD_STORED && m->method != ZIP_METHOD_DEFLATED) {
		snprintf(err, errlen, "member '%s' in %s is compressed with %s (method %u); "
			 "only stored (0) and deflate (8) members can be served",
			 m->name, path, zip_archive_method_name(m->method), m->method);
		return -EOPNOTSUPP;
	}
	if (m->size == 0) {
		snprintf(err, errlen, "member '%s' in %s is empty: nothing to serve", m->name, path);
		return -EINVAL;
	}
	if (m->method == ZIP_METHOD_STORED && m->comp_size != m->size) {
		snprintf(err, errlen, "member '%s' in %s is stored but its sizes differ "
			 "(%llu vs %llu bytes): damaged archive", m->name, path,
			 (unsigned long long)m->comp_size, (unsigned long long)m->size);
		return -EINVAL;
	}
	return 0;
}

/* Reads the member's first raw byte through libzip, so the tap sees its offset. */
static int zip_archive_tap_offset(zip_t *za, zip_uint64_t idx, struct zip_tap *t,
				  const char *path, struct zip_member *m,
				  char *err, size_t errlen)
{
	zip_file_t *zf;
	uint8_t byte;
	zip_int64_t n;

	t->last_read = UINT64_MAX;
	zf = zip_fopen_index(za, idx, ZIP_FL_COMPRESSED);
	if (!zf) {
		snprintf(err, errlen, "cannot open member '%s' in %s: %s", m->name, path,
			 zip_strerror(za));
		return -EINVAL;
	}
	n = zip_fread(zf, &byte, 1);
	if (n != 1 || t->last_read == UINT64_MAX) {
		snprintf(err, errlen, "cannot read member '%s' in %s: %s", m->name, path,
			 n < 0 ? zip_file_strerror(zf) : "no data where its directory entry points");
		zip_fclose(zf);
		return -EINVAL;
	}
	zip_fclose(zf);
	m->data_offset = t->last_read;
	if (m->data_offset > t->size || m->comp_size > t->size - m->data_offset) {
		snprintf(err, errlen, "member '%s' in %s: its %llu bytes of data at offset %llu "
			 "run past the end of the archive (%llu bytes): truncated archive",
			 m->name, path, (unsigned long long)m->comp_size,
			 (unsigned long long)m->data_offset, (unsigned long long)t->size);
		return -EINVAL;
	}
	return 0;
}

/* Little-endian fields of a ZIP header. */
static uint16_t zip_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Reads a 32-bit little-endian field. */
static uint32_t zip_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Checks one candidate local header that ends where the data starts. */
static bool zip_archive_header_fits(const uint8_t *h, const char *name, size_t nlen,
				    size_t extra)
{
	return zip_le32(h) == ZIP_LFH_SIGNATURE && zip_le16(h + 26) == nlen &&
	       zip_le16(h + 28) == extra && memcmp(h + ZIP_LFH_BYTES, name, nlen) == 0;
}

/* Finds and checks the local file header in front of the member's data:
 * signature, name, and 30 + name length + extra length = data offset. */
static int zip_archive_local_header(int fd, const char *raw_name, const char *path,
				    struct zip_member *m, char *err, size_t errlen)
{
	size_t nlen = strlen(raw_name);
	uint64_t reach = ZIP_LFH_BYTES + nlen + 0xffff;
	uint64_t start = m->data_offset > reach ? m->data_offset - reach : 0;
	size_t len = (size_t)(m->data_offset - start);
	uint8_t *buf = malloc(len ? len : 1);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = zip_archive_read_at(fd, buf, len, start);
	if (ret < 0) {
		snprintf(err, errlen, "cannot read the local header of member '%s' in %s: %s",
			 m->name, path, strerror(-ret));
		free(buf);
		return ret;
	}
	for (size_t extra = 0; extra <= 0xffff && ZIP_LFH_BYTES + nlen + extra <= len; extra++) {
		const uint8_t *h = buf + len - (ZIP_LFH_BYTES + nlen + extra);
		uint16_t flags, method;

		if (!zip_archive_header_fits(h, raw_name, nlen, extra))
			continue;
		flags = zip_le16(h + 6);
		method = zip_le16(h + 8);
		m->header_offset = m->data_offset - (ZIP_LFH_BYTES + nlen + extra);
		free(buf);
		if (flags & ZIP_GPBF_ENCRYPTED) {
			snprintf(err, errlen, "member '%s' in %s is encrypted; encrypted members "
				 "cannot be served", m->name, path);
			return -EOPNOTSUPP;
		}
		if (method != m->method) {
			snprintf(err, errlen, "member '%s' in %s: its local header says method %u, "
				 "its directory entry %u: damaged archive", m->name, path,
				 method, m->method);
			return -EINVAL;
		}
		return 0;
	}
	free(buf);
	snprintf(err, errlen, "member '%s' in %s: no valid local file header in front of its "
		 "data at offset %llu: damaged archive", m->name, path,
		 (unsigned long long)m->data_offset);
	return -EINVAL;
}

/* Picks, checks and locates the member in an opened archive. */
static int zip_archive_member(zip_t *za, struct zip_tap *t, const char *path,
			      const char *entry, struct zip_member *m,
			      char *err, size_t errlen)
{
	zip_uint64_t idx = 0;
	const char *raw;
	int ret;

	ret = zip_archive_pick(za, path, entry, &idx, err, errlen);
	if (ret == 0)
		ret = zip_archive_check(za, idx, path, m, err, errlen);
	if (ret == 0)
		ret = zip_archive_tap_offset(za, idx, t, path, m, err, errlen);
	if (ret < 0)
		return ret;
	raw = zip_get_name(za, idx, ZIP_FL_ENC_RAW);
	if (!raw) {
		snprintf(err, errlen, "cannot read the name of member %llu in %s",
			 (unsigned long long)idx, path);
		return -EINVAL;
	}
	return zip_archive_local_header(t->fd, raw, path, m, err, errlen);
}

/* Opens the archive file (or duplicates passed, the descriptor the client
 * passed for it, when not -1) and checks it is a regular file. */
static int zip_archive_open_file(const char *path, int passed, struct zip_tap *t, char *err,
				 size_t errlen)
{
	struct stat st;
	int ret, fl = passed >= 0 ? fcntl(passed, F_GETFL) : 0;

	if (passed >= 0 && (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)) {
		snprintf(err, errlen, "cannot read %s: the descriptor passed is not open for "
			 "reading", path);
		return -EBADF;
	}
	t->fd = passed >= 0 ? fcntl(passed, F_DUPFD_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(t->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(t->fd);
		t->fd = -1;
		return -EINVAL;
	}
	t->size = (uint64_t)st.st_size;
	return 0;
}

/* Opens the archive, picks the member, checks it and locates its data. */
int zip_archive_open(const char *path, int passed, const char *entry, int *fd,
		     struct zip_member *m, char *err, size_t errlen)
{
	struct zip_tap t = { .fd = -1 };
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = zip_archive_open_file(path, passed, &t, err, errlen);
	if (ret < 0)
		return ret;
	zip_error_init(&t.error);
	zip_error_init(&ze);
	src = zip_source_function_create(zip_tap_cb, &t, &ze);
	za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
	if (!za) {
		ret = zip_archive_open_error(&t, path, &ze, err, errlen);
		zip_source_free(src);
		goto out;
	}
	ret = zip_archive_member(za, &t, path, entry, m, err, errlen);
	zip_discard(za);
out:
	zip_error_fini(&ze);
	zip_error_fini(&t.error);
	if (ret < 0) {
		close(t.fd);
		zip_archive_member_free(m);
		return ret;
	}
	*fd = t.fd;
	return 0;
}

/* Releases what zip_archive_open put in m. */
void zip_archive_member_free(struct zip_member *m)
{
	free(m->name);
	m->name = NULL;
}
