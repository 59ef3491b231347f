/* The rbd backend's pure helpers: its device size and its messages. */
#include "config.h"
#include "backends/rbd.h"

#include <stdio.h>
#include <string.h>

/* The device size for an image: whole blocks only. */
uint64_t rbd_device_size(uint64_t image_size, uint32_t block_size)
{
	return block_size ? image_size / block_size * block_size : 0;
}

/* Writes "pool/image" or "pool/image@snap" into buf. */
void rbd_label(char *buf, size_t len, const char *pool, const char *image, const char *snap)
{
	snprintf(buf, len, "%s/%s%s%s", pool, image, snap ? "@" : "", snap ? snap : "");
}

/* Writes "step what: reason" for a failed librados/librbd call. */
void rbd_error(char *buf, size_t len, const char *step, const char *what, int err)
{
	snprintf(buf, len, "%s %s: %s", step, what, strerror(err < 0 ? -err : err));
}
