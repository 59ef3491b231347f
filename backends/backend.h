/* The backend interface: what answers a device's reads and writes.
 * One const struct backend_ops per backend, found by name in backends.c.
 * A NULL callback means the capability is absent; the daemon advertises to
 * the kernel only what is present. Callbacks return 0 or -errno.
 * This header is the whole contract: backends see neither the kernel's
 * UAPI, nor JSON, nor the event loop. Each declares its device_add
 * parameters in a table (struct backend_param); the daemon checks requests
 * against it, and ublkctl's options and help are generated from it. */
#ifndef UBLKD_BACKEND_H
#define UBLKD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

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

/* Events a watched descriptor waits for, and reports (struct backend_loop). */
#define BACKEND_EV_READ		(1U << 0)
#define BACKEND_EV_WRITE	(1U << 1)

struct backend_watch;
struct backend_timer;

/* Called from the loop when a watched descriptor is ready for revents. */
typedef void (*backend_watch_fn)(void *arg, unsigned revents);
/* Called from the loop once when a timer expires. */
typedef void (*backend_timer_fn)(void *arg);

/* What the daemon lends a backend that waits on descriptors of its own (a
 * socket, an eventfd): watches and timers on the loop the device is served
 * from. Callbacks run on that loop, never from inside these functions, and
 * never after the watch or timer is stopped. */
struct backend_loop {
	/* Required. Watches fd for events (BACKEND_EV_*, 0 for none yet);
	 * *w then names it. Returns 0 or -ENOMEM. */
	int (*watch_start)(struct backend_loop *l, int fd, unsigned events,
			   backend_watch_fn cb, void *arg, struct backend_watch **w);
	/* Required. Changes what w waits for (0: nothing, until changed). */
	void (*watch_set)(struct backend_watch *w, unsigned events);
	/* Required. Stops and frees w; harmless on NULL. */
	void (*watch_stop)(struct backend_watch *w);
	/* Required. Calls cb(arg) once, after seconds; *t then names it until
	 * it has fired or is stopped. Returns 0 or -ENOMEM. */
	int (*timer_start)(struct backend_loop *l, double seconds, backend_timer_fn cb,
			   void *arg, struct backend_timer **t);
	/* Required. Stops and frees t if it has not fired; harmless on NULL.
	 * Not to be called for a timer that fired (it is freed then). */
	void (*timer_stop)(struct backend_timer *t);
	/* Required. The loop's clock, in seconds. */
	double (*now)(struct backend_loop *l);
};

/* Called once when a request a backend started with submit ends: res is
 * 0 or -errno (a READ's data is then in the request's buffer). */
typedef void (*backend_done_fn)(void *ctx, int res);

/* How one device_add parameter is written. */
enum backend_param_type {
	BACKEND_PARAM_FLAG,	/* true or false; ublkctl: --NAME alone */
	BACKEND_PARAM_TEXT,	/* a non-empty string */
	BACKEND_PARAM_PATH,	/* a file name; ublkctl makes it absolute */
	BACKEND_PARAM_BYTES,	/* a byte count (a number, or a string like
				 * "64M") from min to max */
	BACKEND_PARAM_SIZE,	/* the device's size: bytes, more than 0, a
				 * multiple of the block size (at most one) */
};

/* One parameter a backend takes, a row of its own params table (which ends
 * with a row without a name). */
struct backend_param {
	const char *name;	/* the device_add key, "chunk_size"; ublkctl
				 * spells it --chunk-size */
	const char *option;	/* ublkctl's spelling instead, without the
				 * dashes ("id" for rbd's client_id), or NULL */
	enum backend_param_type type;
	bool required;
	const char *metavar;	/* its value in help, "SIZE"; NULL for a flag */
	const char *def;	/* what applies when it is absent, for help */
	const char *help;	/* one line */
	uint64_t min, max;	/* BYTES: the values allowed */
};

/* The most parameters one backend may declare. */
#define BACKEND_MAX_PARAMS	8

/* A parameter's value as device_add gave it; absent, all zero. */
struct backend_arg {
	bool given;
	bool flag;		/* FLAG */
	uint64_t bytes;		/* BYTES, SIZE */
	const char *text;	/* TEXT, PATH */
	/* PATH: the client opened the file itself and passed it (text then
	 * names it, for messages only): open uses fd, borrowed (dup what is
	 * kept; its access mode is what the client could open), and neither
	 * creates, extends nor reopens text. */
	bool passed;
	int fd;
};

/* The most values a backend may save for its recovery. */
#define BACKEND_MAX_SAVED	4

/* One value a backend saved for its recovery (backend_ops.save). */
struct backend_saved {
	const char *key;
	const char *value;
};

/* What device_add asked for. There is no device id here on purpose: open
 * runs before the kernel assigns one, so nothing a backend names or creates
 * may depend on it. */
struct backend_config {
	uint64_t size;		/* the SIZE parameter; 0 when absent */
	uint32_t block_size;	/* logical block size, 512 to 4096 */
	bool read_only;
	const struct backend_arg *args;	/* one per row of the backend's
					 * params, in the same order */
	const char *state_dir;	/* where a backend may keep files */
	bool recovering;	/* a new daemon takes over a device that outlived
				 * the old one: create, extend or delete nothing,
				 * reopen what save named */
	const struct backend_saved *saved;	/* recovering: what save reported,
						 * ending with a NULL key; else NULL */
	struct backend_idle *idle;	/* runs background work; NULL: open
					 * does it at once */
	bool for_user;		/* added for a client other than root and
				 * ublkd's own user: open, connect to or read
				 * nothing named by a parameter (a socket, a
				 * file) on its behalf, and present none of
				 * ublkd's credentials for it */
	struct backend_loop *loop;	/* watches and timers, for backends
					 * with submit; NULL elsewhere */
	uint16_t queues;	/* the device's hardware queues */
	uint16_t depth;		/* requests each queue may hold at once */
	uint32_t max_io_bytes;	/* the largest READ or WRITE a request asks */
};

/* What the opened backend reports; open fills it from the config. */
struct backend_geometry {
	uint64_t size;		/* bytes, a multiple of block_size */
	uint32_t block_size;
	bool read_only;
	bool volatile_cache;	/* writes need FLUSH to be durable */
	uint32_t max_discard_bytes;	/* 0 if DISCARD is not supported */
	uint32_t max_write_zeroes_bytes;/* 0 if WRITE_ZEROES is not supported */
	uint32_t max_io_bytes;	/* the largest READ or WRITE the backend takes,
				 * a multiple of 4096; 0: any the daemon asks
				 * (backend_config.max_io_bytes) */
	/* plan's operations alone move every byte of this device's READs
	 * and WRITEs: plan never reads or writes req->buf (a READ op shorter
	 * than the request leaves the rest to read as zeroes). The daemon
	 * may then hand the file operations the requests' own pages (ublkd
	 * --zero-copy auto), and req->buf is NULL. */
	bool zero_copy;
	uint32_t mem_align;	/* zero_copy: the alignment in bytes a request's
				 * pages need for plan's operations (O_DIRECT);
				 * 0 or 1 for none */
};

/* What a request asks for. */
enum backend_req_op {
	BACKEND_REQ_READ,
	BACKEND_REQ_WRITE,
	BACKEND_REQ_FLUSH,
	BACKEND_REQ_DISCARD,
	BACKEND_REQ_WRITE_ZEROES,
};

/* A request's flags. */
#define BACKEND_F_FUA		(1U << 0)	/* WRITE: durable when answered */
#define BACKEND_F_NOUNMAP	(1U << 1)	/* WRITE_ZEROES: keep the space */

/* One request as a planning backend sees it. */
struct backend_req {
	enum backend_req_op op;
	uint32_t flags;		/* BACKEND_F_* */
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
	BACKEND_OP_FSYNC,	/* fsync, or fdatasync with datasync */
	BACKEND_OP_FALLOCATE,	/* fallocate(fd, mode, off, len) */
};

struct backend_op {
	enum backend_op_kind kind;
	int fd;
	uint64_t off;		/* offset in the file */
	uint64_t len;
	int rw_flags;		/* RWF_DSYNC for a FUA write */
	int mode;		/* fallocate mode */
	bool datasync;		/* FSYNC: data only (fdatasync) */
	int result;		/* BACKEND_OP_DONE: 0 or -errno */
};

/* What a moving backend (backend_ops.move) hands its memory to: the daemon
 * copies it into or out of one request's pages. */
struct backend_mover {
	/* Copies the n pieces in order: into the request's data for a READ,
	 * out of it for a WRITE, going on from where the last call ended.
	 * Returns the bytes copied (fewer than asked: the request is shorter,
	 * or a piece faulted) or -errno. */
	long (*copy)(struct backend_mover *mv, const struct iovec *iov, int n);
};

/* Called once when a backend that was not ready yet is: res is 0, or
 * -errno with msg saying why it never will be. */
typedef void (*backend_ready_fn)(void *arg, int res, const char *msg);

/* Where describe reports a backend's state, as typed key/value pairs (the
 * daemon turns them into fields of the device object). */
struct backend_report {
	void (*text)(struct backend_report *r, const char *key, const char *value);
	void (*number)(struct backend_report *r, const char *key, uint64_t value);
	void (*flag)(struct backend_report *r, const char *key, bool value);
	void (*real)(struct backend_report *r, const char *key, double value);
};

struct backend_ops {
	const char *name;
	const char *summary;
	const struct backend_param *params;	/* what device_add takes */
	/* The serving ops (read, write, flush, discard, write_zeroes, plan)
	 * may run for several queues of one device at once, on different
	 * threads (ublkd --io-threads); false keeps them on the main loop. */
	bool thread_safe;
	/* Every read returns zeroes: the daemon zeroes only the part of a
	 * request's buffer that a write may have filled since, and read is
	 * not called for requests. */
	bool reads_zero;
	/* Non-NULL: only root or ublkd's own user may add this backend's
	 * devices (cfg->for_user is refused); the text says why. */
	const char *root_only;
	/* Required. Opens the backend; on error writes a message to err. */
	int (*open)(void **priv, const struct backend_config *cfg,
		    struct backend_geometry *geo, char *err, size_t errlen);
	/* Required. Releases everything open made. */
	void (*close)(void *priv);
	/* Required unless plan is given. Reads len bytes at off into buf. */
	int (*read)(void *priv, void *buf, uint32_t len, uint64_t off);
	/* Optional (absent: read-only). flags may hold BACKEND_F_FUA. */
	int (*write)(void *priv, const void *buf, uint32_t len, uint64_t off,
		     uint32_t flags);
	/* Optional. Makes completed writes durable. */
	int (*flush)(void *priv);
	/* Optional. Deallocates a range; later reads return zeroes. */
	int (*discard)(void *priv, uint64_t len, uint64_t off);
	/* Optional. Zeroes a range; flags may hold BACKEND_F_NOUNMAP. */
	int (*write_zeroes)(void *priv, uint64_t len, uint64_t off, uint32_t flags);
	/* Optional. Turns a request into one file operation or a result.
	 * When present it serves every request instead of the callbacks
	 * above (a backend that has read too, null, is planned only on a
	 * zero-copy queue, where the daemon has no buffer of its own, and
	 * served by the callbacks otherwise), and the geometry alone says
	 * what exists: writes unless
	 * read_only, FLUSH if volatile_cache, DISCARD and WRITE_ZEROES if
	 * their maximums are non-zero. Requests are already checked
	 * against the device size. A READ op may be shorter than the
	 * request (0 bytes too): the rest reads as zeroes. */
	int (*plan)(void *priv, const struct backend_req *req, struct backend_op *op);
	/* Optional. Serves a READ or WRITE from the backend's own memory: it
	 * hands mv->copy the pieces that hold req->len bytes at req->off, in
	 * order (a READ's holes may be pieces of zeroes; a WRITE's memory
	 * must be able to take the data), and the kernel copies between them
	 * and the request's pages in one pass (UBLK_F_USER_COPY), where read
	 * and write copy through a daemon buffer too. req->buf is NULL. The
	 * daemon uses it only where the kernel can (root's devices, without
	 * zero copy or batch I/O); the callbacks above serve every other
	 * request, and every request elsewhere. 0 once all req->len bytes
	 * were copied, or -errno. */
	int (*move)(void *priv, const struct backend_req *req, struct backend_mover *mv);
	/* Optional. Starts a request that ends later, for backends that wait
	 * on descriptors of their own through cfg->loop (remote storage).
	 * When present it serves every request instead of the callbacks
	 * above and plan, and the geometry alone says what exists, as for
	 * plan. queue is the device queue the request came from (0 to
	 * queues - 1); req->buf stays valid until done. Returns 0 when
	 * started: done(ctx, res) is then called exactly once, from the loop,
	 * never from inside submit; or -errno at once, and done is not called.
	 * Such backends are served on the main loop only (thread_safe is
	 * ignored), and close is called only when no request is in flight. */
	int (*submit)(void *priv, unsigned queue, const struct backend_req *req,
		      backend_done_fn done, void *ctx);
	/* Optional, with submit. Called after the daemon handed submit every
	 * request that one wakeup of queue brought (and only then, from the
	 * loop): a backend may hold what submit started until this call and
	 * send it all at once. done may be called from inside it. */
	void (*unplug)(void *priv, unsigned queue);
	/* Optional. The device never went live: undo what open created for
	 * it (a backing file made for the requested size). Called before close. */
	void (*abandon)(void *priv);
	/* Optional (absent: ready when open returns). Says whether an opened
	 * backend can serve yet, for work open leaves running on the loop: 0
	 * if it can; 1 if it will call cb(arg, ...) once, later, from the loop
	 * (never from inside this call); -errno with a message in err if it
	 * never will. close cancels a wait: cb is then never called. */
	int (*wait_ready)(void *priv, backend_ready_fn cb, void *arg, char *err, size_t errlen);
	/* Optional. Called once the backend is ready (wait_ready's 0, or
	 * cb(arg, 0)): fills geo again, for a backend that learns what the
	 * device looks like only then (a remote image's size). The daemon
	 * tells the kernel the geometry only after this. */
	void (*ready_geometry)(void *priv, struct backend_geometry *geo);
	/* Optional. Reports backend-specific fields of the device. */
	void (*describe)(void *priv, struct backend_report *r);
	/* Optional. Reports, as text, what open needs to take the device over
	 * after the daemon is gone (mem: its backing file); it is saved with
	 * the device and handed back in cfg->saved. */
	void (*save)(void *priv, struct backend_report *r);
	/* Optional (absent: close). Lets go of the device for the next daemon
	 * (a planned restart): like close, but keeps what save named. */
	void (*detach)(void *priv);
};

/* Who waits for an opened backend to become ready (backend_ops.wait_ready),
 * for backends whose readiness comes later; all zero: nobody. */
struct backend_waiter {
	backend_ready_fn cb;
	void *arg;
};

/* wait_ready for a backend whose readiness is state (0 ready, 1 not yet,
 * -errno failed with msg saying why): returns state, copying msg into err
 * when it failed, and when not yet remembers cb(arg) in w. */
int backend_wait_ready(struct backend_waiter *w, int state, const char *msg,
		       backend_ready_fn cb, void *arg, char *err, size_t errlen);
/* Tells whoever waits in w, once, res and msg; w is emptied first, since
 * the callback may close the backend. */
void backend_waiter_tell(struct backend_waiter *w, int res, const char *msg);

/* Zeroes a moving backend may lend a READ (backend_ops.move), at most
 * BACKEND_ZERO_BYTES per piece; never written. */
#define BACKEND_ZERO_BYTES	(64 * 1024)
extern const uint8_t backend_zeroes[BACKEND_ZERO_BYTES];
/* Has mv copy len bytes of zeroes into a READ's request: 0, or -EIO when
 * it copied fewer. */
int backend_move_zeroes(struct backend_mover *mv, uint64_t len);

/* Fills geo for a backend that keeps the requested size and block size and
 * serves DISCARD and WRITE_ZEROES (up to 1 GiB each); no volatile cache. */
void backends_plain_geometry(const struct backend_config *cfg, struct backend_geometry *geo);
/* Finds a backend by name, or NULL. */
const struct backend_ops *backends_find(const char *name);
/* The i-th backend of the table, or NULL past its end. */
const struct backend_ops *backends_at(size_t i);
/* Counts the rows of a params table. */
size_t backend_param_count(const struct backend_param *params);
/* The value saved under key for a recovered device, or NULL. */
const char *backend_saved_get(const struct backend_config *cfg, const char *key);
/* Lists the backend names, comma separated, for error messages. */
const char *backends_names(void);
/* The name of a request's op, for log lines. */
const char *backend_req_op_name(enum backend_req_op op);

#endif
