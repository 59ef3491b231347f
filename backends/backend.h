/* The backend interface: what answers a device's reads and writes.
 * One const struct backend_ops per backend, found by name in backends.c.
 * A NULL callback means the capability is absent; the daemon advertises to
 * the kernel only what is present. Callbacks return 0 or -errno. */
#ifndef UBLKD_BACKEND_H
#define UBLKD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* What device_add asked for. Strings may be NULL when not given. */
struct backend_config {
	uint64_t size;		/* bytes; 0 = the backend decides (file, zip) */
	uint32_t block_size;	/* logical block size, 512 or 4096 */
	bool read_only;
	bool buffered;		/* file: page-cache I/O instead of O_DIRECT */
	const char *path;	/* file, zip */
	const char *entry;	/* zip */
	const char *state_dir;	/* where a backend may keep files */
	uint32_t dev_id;	/* the kernel's id for the device */
};

/* What the opened backend reports; open fills it from the config. */
struct backend_geometry {
	uint64_t size;		/* bytes, a multiple of block_size */
	uint32_t block_size;
	bool read_only;
	bool volatile_cache;	/* writes need FLUSH to be durable */
	uint32_t max_discard_bytes;	/* 0 if DISCARD is not supported */
	uint32_t max_write_zeroes_bytes;/* 0 if WRITE_ZEROES is not supported */
};

/* Which device_add parameters a backend takes (backend_ops.params). */
#define BACKEND_P_SIZE		(1U << 0)	/* size is accepted */
#define BACKEND_P_SIZE_REQUIRED	(1U << 1)	/* size must be given */
#define BACKEND_P_PATH		(1U << 2)	/* path is required */
#define BACKEND_P_ENTRY		(1U << 3)	/* entry is accepted */
#define BACKEND_P_BUFFERED	(1U << 4)	/* buffered is accepted */

struct backend_ops {
	const char *name;
	const char *summary;
	unsigned params;	/* BACKEND_P_* */
	/* Required. Opens the backend; on error writes a message to err. */
	int (*open)(void **priv, const struct backend_config *cfg,
		    struct backend_geometry *geo, char *err, size_t errlen);
	/* Required. Releases everything open made. */
	void (*close)(void *priv);
	/* Required. Reads len bytes at off into buf. */
	int (*read)(void *priv, void *buf, uint32_t len, uint64_t off);
	/* Optional (absent: read-only). flags are UBLK_IO_F_* (FUA). */
	int (*write)(void *priv, const void *buf, uint32_t len, uint64_t off,
		     uint32_t flags);
	/* Optional. Makes completed writes durable. */
	int (*flush)(void *priv);
	/* Optional. Deallocates a range; later reads return zeroes. */
	int (*discard)(void *priv, uint64_t len, uint64_t off);
	/* Optional. Zeroes a range; flags may hold UBLK_IO_F_NOUNMAP. */
	int (*write_zeroes)(void *priv, uint64_t len, uint64_t off, uint32_t flags);
	/* Optional. Adds backend-specific fields to the device object. */
	void (*describe)(void *priv, struct json_object *obj);
};

/* Finds a backend by name, or NULL. */
const struct backend_ops *backends_find(const char *name);
/* Lists the backend names, comma separated, for error messages. */
const char *backends_names(void);

#endif
