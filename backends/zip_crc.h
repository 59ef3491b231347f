/* Checking a member's CRC-32: the verdict, and for stored members a check in
 * the background, a step (struct backend_idle) that reads one slice per
 * loop turn. */
#ifndef UBLKD_ZIP_CRC_H
#define UBLKD_ZIP_CRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/backend.h"

enum zip_crc_state {
	ZIP_CRC_PENDING,	/* not checked yet */
	ZIP_CRC_OK,
	ZIP_CRC_MISMATCH,	/* the data is not what the archive recorded */
	ZIP_CRC_ERROR,		/* the data could not be read to check it */
};

/* A check that reads [off, off + len) of fd one slice per loop turn. */
struct zip_crc {
	struct backend_idle *idle;	/* NULL: checked at once */
	int fd;
	uint64_t off, len, done;
	uint32_t expect, crc;
	size_t slice;
	uint8_t *buf;
	enum zip_crc_state state;
	const char *label;	/* names the member in log lines; the caller's */
};

/* Compares a computed CRC-32 with the recorded one; logs and returns the state. */
enum zip_crc_state zip_crc_verdict(const char *label, uint32_t got, uint32_t expect);
/* Starts checking in the background through idle, or checks at once when
 * idle is NULL. c->state says how far it got. */
void zip_crc_start(struct zip_crc *c, struct backend_idle *idle, int fd, uint64_t off,
		   uint64_t len, uint32_t expect, size_t slice, const char *label);
/* Stops a check still running and frees its buffer; harmless on a zeroed
 * struct or a check that ended. */
void zip_crc_stop(struct zip_crc *c);
/* Names a state for device_info: pending, ok, mismatch or error. */
const char *zip_crc_state_name(enum zip_crc_state state);

#endif
