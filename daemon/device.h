/* ublk devices: the registry, and the doors to their add and delete
 * pipelines (ADD_DEV to START_DEV, STOP_DEV to DEL_DEV). */
#ifndef UBLKD_DEVICE_H
#define UBLKD_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>

#include "backends/backend.h"
#include "common/ublk_uapi.h"
#include "daemon/io.h"
#include "daemon/queue.h"

#define DEVICE_ID_AUTO		UINT32_MAX
#define DEVICE_ID_MAX		((1U << 20) - 1)
#define DEVICE_IO_BUF_BYTES	(512U * 1024)

enum device_state {
	DEVICE_STARTING,	/* being created */
	DEVICE_LIVE,		/* /dev/ublkbN serves I/O */
	DEVICE_STOPPING,	/* STOP_DEV sent, draining */
	DEVICE_DELETING,	/* DEL_DEV sent */
	DEVICE_FAILED,		/* the kernel stopped it; only deletion is left */
};

/* What the kernel does with a device's I/O while no daemon serves it (a
 * crash, a restart): the recovery mode the device was added with. */
enum device_recovery {
	DEVICE_RECOVERY_NONE,		/* the device dies with the daemon */
	DEVICE_RECOVERY_REISSUE,	/* I/O waits, and is reissued to the next daemon */
	DEVICE_RECOVERY_FAIL_IO,	/* I/O fails until the next daemon (6.13+) */
};

/* What device_add creates; validated by the caller. */
struct device_spec {
	const struct backend_ops *backend;
	struct backend_config cfg;	/* size may be 0 for backends that know it;
					 * cfg.args is set by device_add */
	struct backend_arg args[BACKEND_MAX_PARAMS];	/* one per row of
							 * backend->params */
	uint32_t id;			/* DEVICE_ID_AUTO to let the kernel choose */
	uint16_t queues;
	uint16_t depth;
	enum device_recovery recovery;
	uint32_t owner_uid, owner_gid;	/* who added it (0 for root) */
	int path_index;			/* the backend's PATH row, or -1 */
	int fd_index;			/* device_add's "fd": the passed descriptor
					 * standing for that row, or -1 */
};

struct device;
struct device_driver;

/* Called once when an add or delete finishes: err is 0 or -errno, msg says
 * what went wrong. dev is valid only during the call (NULL after delete). */
typedef void (*device_done_fn)(void *arg, struct device *dev, int err, const char *msg);

/* What an observer of the devices is told (device_observe). */
enum device_event {
	DEVICE_EV_LIVE,		/* added or recovered: it serves I/O */
	DEVICE_EV_GONE,		/* the kernel device is deleted */
};

/* Called for each device event; dev is valid during the call. */
typedef void (*device_observer_fn)(void *arg, struct device *dev, enum device_event ev);

/* Prepares the registry; state_dir is where backends may keep files. */
void device_init(struct ev_loop *loop, const char *state_dir);
/* The same with another driver than the kernel's (a fake, in unit tests). */
void device_init_driver(struct ev_loop *loop, const char *state_dir,
			struct device_driver *drv);
/* Sets the one observer of device events (the state records). */
void device_observe(device_observer_fn fn, void *arg);
/* Opens the ublk control device if needed; -ENOENT when there is no driver. */
int device_driver_open(char *err, size_t errlen);
/* Features the driver reported (0 before it was opened or when unknown). */
uint64_t device_driver_features(bool *loaded);
/* Whether new devices ask for UBLK_F_BATCH_IO where the kernel has it
 * (ublkd --batch-io auto) or never (off, the default). */
void device_use_batch_io(bool use);
/* Whether new devices whose backend never touches the data ask for
 * UBLK_F_AUTO_BUF_REG where the kernel has it (ublkd --zero-copy auto, the
 * default) or never (off). */
void device_use_zero_copy(bool use);
/* Whether new devices whose backend serves from its own memory (mem,
 * null) ask for UBLK_F_USER_COPY where the kernel has it (ublkd --user-copy
 * auto, the default) or never (off). */
void device_use_user_copy(bool use);
/* Creates a device; done is called exactly once, maybe before this returns. */
void device_add(const struct device_spec *spec, device_done_fn done, void *arg);
/* Takes over a device the kernel kept for us (spec->id, added with a
 * recovery mode) with what its backend saved; done is called exactly once.
 * On failure the kernel device is deleted, if there is one. */
void device_recover(const struct device_spec *spec, const struct backend_saved *saved,
		    device_done_fn done, void *arg);
/* Deletes kernel device id, which no usable record describes (a corrupt
 * or refused record, or an orphan the daemon was told to adopt); with
 * ours_only only if GET_DEV_INFO shows it was added with USER_RECOVERY, as
 * every device with a record is (else it is left alone); done once. */
void device_purge(uint32_t id, bool ours_only, device_done_fn done, void *arg);
/* Reports what a live device's backend saved for its recovery. */
void device_save(const struct device *dev, struct backend_report *r);
/* Stops and deletes a device; done is called exactly once. */
void device_del(struct device *dev, device_done_fn done, void *arg);
/* Leaves every live device that has a recovery mode to the next daemon
 * (QUIESCE_DEV first where the kernel has it; the state records stay) and
 * deletes the others, then calls done (daemon_shutdown keep_devices). */
void device_detach_all(void (*done)(void *arg), void *arg);
/* Deletes every device, then calls done (used on SIGTERM). */
void device_del_all(void (*done)(void *arg), void *arg);
/* Finds a device by id among those with an id. */
struct device *device_find(uint32_t id);
/* True while a device with this id is being created or exists. */
bool device_id_taken(uint32_t id);
/* Calls fn for each device that has an id, in id order. */
void device_foreach(void (*fn)(struct device *dev, void *arg), void *arg);
/* Counts the devices. */
unsigned device_count(void);
/* The device's kernel id. */
uint32_t device_id(const struct device *dev);
/* True when ublkd runs without root: its devices are UBLK_F_UNPRIVILEGED_DEV
 * ones, without recovery, every control command naming /dev/ublkcN. */
bool device_unprivileged(void);
/* The uid that added the device (0: root). */
uint32_t device_owner(const struct device *dev);
/* How many devices uid owns (being added too), and the bytes of those of
 * them whose backend is named mem_backend. */
void device_usage(uint32_t uid, const char *mem_backend, unsigned *count, uint64_t *bytes);
/* What device_list shows of a device (device_json.c builds the object). */
struct device_view {
	uint32_t id;
	enum device_state state;
	const struct backend_ops *backend;
	const struct io_target *target;	/* io_describe reports the backend */
	const struct backend_geometry *geo;
	const struct backend_arg *args;	/* as given, per row of backend->params */
	unsigned queues;
	unsigned depth;
	bool read_only;			/* as the kernel was told */
	uint64_t flags;			/* as ADD_DEV answered */
	enum device_recovery recovery;
	uint32_t owner_uid, owner_gid;	/* who added it */
	uint64_t io_count;		/* requests served */
	uint64_t ring_wait_io_count;	/* of them, served from a wait in a ring */
	const struct queue *queue_list;	/* the queues set up, queues_ready of them */
	unsigned queues_ready;
};
/* Fills the view of a device. */
void device_view(const struct device *dev, struct device_view *v);
/* Names a recovery mode ("reissue", "fail-io", "none"). */
const char *device_recovery_name(enum device_recovery mode);
/* Finds a recovery mode by name: 0, or -EINVAL. */
int device_recovery_parse(const char *name, enum device_recovery *mode);
/* The UBLK_F_* flags ADD_DEV is given for a recovery mode. */
uint64_t device_recovery_flags(enum device_recovery mode);
/* Names a device state. */
const char *device_state_name(enum device_state state);
/* Closes the control device once nothing is left (for a clean exit). */
void device_shutdown(void);

#endif
