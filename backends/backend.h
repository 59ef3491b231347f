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

/* One slice of work a backend leaves running after open: does a bounded
 * piece of it and returns true while more remains, false when it is over. */
typedef bool (*backend_step_fn)(void *arg);

/* The daemon runs a backend's background work for it, between requests:
 * each started step is called once per loop turn, when nothing else is
 * pending, until it returns false or is stopped. Backends never see the
 * loop itself. */
struct backend_idle {
	/* Required. Starts calling step(arg) from the loop, never from inside
	 * this call. Returns 0 or -ENOMEM. */
	int (*start)(struct backend_idle *idle, backend_step_fn step, void *arg);
	/* Required. Stops what start(idle, step, arg) started: step(arg) is not
	 * called again. Harmless when it has ended or never started; may be
	 * called from inside any step, this one included. */
	void (*stop)(struct backend_idle *idle, backend_step_fn step, void *arg);
};

/* What device_add asked for. Strings may be NULL when not given. There is
 * no device id here on purpose: open runs before the kernel assigns one, so
 * nothing a backend names or creates may depend on it. */
struct backend_config {
	uint64_t size;		/* bytes; 0 = the backend decides (file, zip) */
	uint32_t block_size;	/* logical block size, 512 or 4096 */
	bool read_only;
	bool buffered;		/* file: page-cache I/O instead of O_DIRECT */
	bool reserve;		/* mem: take all memory at open, keep it */
	const char *path;	/* file, zip */
	const char *entry;	/* zip */
	const char *state_dir;	/* where a backend may keep files */
	struct backend_idle *idle;	/* runs background work; NULL: open
					 * does it at once */
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
#define BACKEND_P_RESERVE	(1U << 5)	/* reserve is accepted */

/* One request as a planning backend sees it. */
struct backend_req {
	unsigned op;		/* UBLK_IO_OP_* */
	uint32_t flags;		/* UBLK_IO_F_* at their op_flags positions */
	uint64_t off;		/* bytes from the start of the device */
	uint64_t len;		/* bytes */
	void *buf;		/* the tag's buffer, for READ and WRITE */
};

/* What a planning backend answers: done now, or one operation on a file that
 * the queue runs on its own io_uring (the loop never blocks on the disk). */
enum backend_op_kind {
	BACKEND_OP_DONE,	/* result holds 0 or -errno */
	BACKEND_OP_READ,	/* read len bytes at off into the buffer; a read
				 * shorter than the request zero-fills the rest,
				 * and so does end of file */
	BACKEND_OP_WRITE,	/* write len (= the request's) bytes at off */
	BACKEND_OP_FSYNC,	/* fsync; fsync_flags may hold IORING_FSYNC_DATASYNC */
	BACKEND_OP_FALLOCATE,	/* fallocate(fd, mode, off, len) */
};

struct backend_op {
	enum backend_op_kind kind;
	int fd;
	uint64_t off;		/* offset in the file */
	uint64_t len;
	int rw_flags;		/* RWF_DSYNC for a FUA write */
	int mode;		/* fallocate mode */
	unsigned fsync_flags;
	int result;		/* BACKEND_OP_DONE: 0 or -errno */
};

/* Called once when a backend that was not ready yet is: res is 0, or
 * -errno with msg saying why it never will be. */
typedef void (*backend_ready_fn)(void *arg, int res, const char *msg);

struct backend_ops {
	const char *name;
	const char *summary;
	unsigned params;	/* BACKEND_P_* */
	/* Required. Opens the backend; on error writes a message to err. */
	int (*open)(void **priv, const struct backend_config *cfg,
		    struct backend_geometry *geo, char *err, size_t errlen);
	/* Required. Releases everything open made. */
	void (*close)(void *priv);
	/* Required unless plan is given. Reads len bytes at off into buf. */
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
	/* Optional. Turns a request into one file operation or a result.
	 * When present it serves every request instead of the callbacks
	 * above, and the geometry alone says what exists: writes unless
	 * read_only, FLUSH if volatile_cache, DISCARD and WRITE_ZEROES if
	 * their maximums are non-zero. Requests are already checked
	 * against the device size. */
	int (*plan)(void *priv, const struct backend_req *req, struct backend_op *op);
	/* Optional. The device never went live: undo what open created for
	 * it (a backing file made for the requested size). Called before close. */
	void (*abandon)(void *priv);
	/* Optional (absent: ready when open returns). Says whether an opened
	 * backend can serve yet, for work open leaves running on the loop: 0
	 * if it can; 1 if it will call cb(arg, ...) once, later, from the loop
	 * (never from inside this call); -errno with a message in err if it
	 * never will. close cancels a wait: cb is then never called. */
	int (*wait_ready)(void *priv, backend_ready_fn cb, void *arg, char *err, size_t errlen);
	/* Optional. Adds backend-specific fields to the device object. */
	void (*describe)(void *priv, struct json_object *obj);
};

/* Fills geo for a backend that keeps the requested size and block size and
 * serves DISCARD and WRITE_ZEROES (up to 1 GiB each); no volatile cache. */
void backends_plain_geometry(const struct backend_config *cfg, struct backend_geometry *geo);
/* Finds a backend by name, or NULL. */
const struct backend_ops *backends_find(const char *name);
/* Lists the backend names, comma separated, for error messages. */
const char *backends_names(void);

#endif
