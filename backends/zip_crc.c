/* Checking a member's CRC-32. A stored member is checked in the background:
 * a step reads one slice per loop turn, when nothing else is pending, so
 * the check never holds the loop for more than one slice. */
#include "config.h"
#include "backends/zip_crc.h"
#include "backends/zip_archive.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Compares a computed CRC-32 with the recorded one; logs and returns the state. */
enum zip_crc_state zip_crc_verdict(const char *label, uint32_t got, uint32_t expect)
{
	if (got != expect) {
		log_error("zip: %s: CRC-32 mismatch: the data gives %08x, the archive records "
			  "%08x; the device serves damaged data", label, got, expect);
		return ZIP_CRC_MISMATCH;
	}
	log_info("zip: %s: CRC-32 %08x checked", label, got);
	return ZIP_CRC_OK;
}

/* Checks the next slice; returns true when the check is over. */
static bool zip_crc_slice(struct zip_crc *c)
{
	uint64_t left = c->len - c->done;
	size_t n = left < c->slice ? (size_t)left : c->slice;
	int ret;

	ret = zip_archive_read_at(c->fd, c->buf, n, c->off + c->done);
	if (ret < 0) {
		log_error("zip: %s: cannot read it for the CRC-32 check: %s", c->label,
			  strerror(-ret));
		c->state = ZIP_CRC_ERROR;
		return true;
	}
	c->crc = (uint32_t)crc32(c->crc, c->buf, (uInt)n);
	c->done += n;
	if (c->done < c->len)
		return false;
	c->state = zip_crc_verdict(c->label, c->crc, c->expect);
	return true;
}

/* One slice; once the check is over, frees the buffer and says so. */
static bool zip_crc_step(void *arg)
{
	struct zip_crc *c = arg;

	if (!zip_crc_slice(c))
		return true;
	free(c->buf);
	c->buf = NULL;
	return false;
}

/* Starts checking in the background through idle, or at once without it. */
void zip_crc_start(struct zip_crc *c, struct backend_idle *idle, int fd, uint64_t off,
		   uint64_t len, uint32_t expect, size_t slice, const char *label)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->off = off;
	c->len = len;
	c->expect = expect;
	c->crc = (uint32_t)crc32(0L, Z_NULL, 0);
	c->slice = slice;
	c->label = label;
	c->state = ZIP_CRC_PENDING;
	c->buf = malloc(slice);
	if (!c->buf || (idle && idle->start(idle, zip_crc_step, c) < 0)) {
		log_error("zip: %s: no memory for the CRC-32 check", label);
		c->state = ZIP_CRC_ERROR;
		free(c->buf);
		c->buf = NULL;
		return;
	}
	c->idle = idle;
	if (!idle)
		while (zip_crc_step(c))
			;
}

/* Stops a check still running and frees its buffer. */
void zip_crc_stop(struct zip_crc *c)
{
	if (c->idle)
		c->idle->stop(c->idle, zip_crc_step, c);
	free(c->buf);
	c->buf = NULL;
}

/* Names a state for device_info. */
const char *zip_crc_state_name(enum zip_crc_state state)
{
	switch (state) {
	case ZIP_CRC_PENDING: return "pending";
	case ZIP_CRC_OK: return "ok";
	case ZIP_CRC_MISMATCH: return "mismatch";
	case ZIP_CRC_ERROR: return "error";
	}
	return "unknown";
}
