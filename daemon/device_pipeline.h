/* Inside the device registry: struct device and what the add and delete
 * pipelines (device_add.c, device_del.c) share with the registry. */
#ifndef UBLKD_DEVICE_PIPELINE_H
#define UBLKD_DEVICE_PIPELINE_H

#include "daemon/device.h"
#include "daemon/device_driver.h"

#define DEVICE_CMD_TIMEOUT	30.0
#define DEVICE_START_TIMEOUT	120.0
#define DEVICE_OPEN_TRIES	300	/* 10 ms apart: 3 s for devtmpfs */
#define DEVICE_QUIESCE_MS	10000	/* QUIESCE_DEV waits this long for idle queues */

/* Where the add pipeline is: the step whose answer it waits for. */
enum device_add_step {
	ADD_BACKEND_OPEN,	/* open the backend, send ADD_DEV */
	ADD_DEV,		/* ADD_DEV sent */
	ADD_WAIT_BACKEND,	/* the backend will say when it is ready */
	ADD_SET_PARAMS,		/* SET_PARAMS sent */
	ADD_OPEN_CDEV,		/* opening /dev/ublkcN, retried until devtmpfs shows it */
	ADD_START_DEV,		/* queues FETCHed, START_DEV sent */
	ADD_LIVE,		/* done: the block device serves I/O */
};

/* Where the recovery pipeline is (device_recover.c). */
enum device_rec_step {
	DEVICE_REC_NONE,		/* not recovering */
	DEVICE_REC_INFO,		/* GET_DEV_INFO sent */
	DEVICE_REC_WAIT_BACKEND,	/* the backend will say when it is ready */
	DEVICE_REC_PARAMS,		/* GET_PARAMS sent */
	DEVICE_REC_START,		/* START_USER_RECOVERY sent, or its retry timer */
	DEVICE_REC_QUEUES,		/* learning the queues' CPUs, then FETCH */
	DEVICE_REC_END,			/* queues FETCHed, END_USER_RECOVERY sent */
	DEVICE_REC_LIVE,		/* done: the block device serves I/O again */
};

/* Where the delete pipeline is. */
enum device_del_step {
	DEL_NONE,		/* not deleting */
	DEL_STOP,		/* STOP_DEV sent, still serving */
	DEL_DRAIN,		/* STOP_DEV answered: waiting until every queue is idle */
	DEL_RELEASE,		/* release our side, then DEL_DEV */
	DEL_DEV_ASYNC,		/* DEL_DEV_ASYNC sent */
	DEL_DEV,		/* DEL_DEV sent */
	/* Leaving the device to the next daemon (device_detach). */
	DEL_QUIESCE,		/* QUIESCE_DEV sent */
	DEL_QUIESCE_DRAIN,	/* quiesced: waiting until every queue is idle */
	DEL_DETACH,		/* release our side, keep the kernel device */
	DEL_LEAVE,		/* as DEL_DETACH, but the queues stay open until exit */
};

/* What is owed to undo a device, whatever step failed: each bit is set by
 * the step that creates the resource and cleared by whatever releases it. */
enum device_undo {
	UNDO_BACKEND	= 1U << 0,	/* close the backend (cancels a wait for it) */
	UNDO_ABANDON	= 1U << 1,	/* it never went live: abandon before close */
	UNDO_KERNEL	= 1U << 2,	/* ADD_DEV succeeded: DEL_DEV is owed */
	UNDO_CDEV	= 1U << 3,	/* /dev/ublkcN is open */
	UNDO_QUEUES	= 1U << 4,	/* queues_ready queues are set up */
};

/* Who asked for an add or a delete, answered once. */
struct device_caller {
	device_done_fn fn;
	void *arg;
};

struct device {
	struct device *next;
	struct device_driver *drv;
	struct ev_loop *loop;
	enum device_state state;	/* what device_list shows */
	enum device_add_step add;
	enum device_rec_step rec;
	enum device_del_step del;
	unsigned undo;			/* enum device_undo bits */
	bool delete_when_live;		/* a shutdown arrived while starting */
	bool detach_when_live;		/* a shutdown keeping devices arrived
					 * while it was being recovered */
	bool caller_logs_error;		/* recovery: done's caller logs a failure
					 * (one line per device), not set_error */
	uint32_t id;
	enum device_recovery recovery;
	const struct backend_ops *backend;
	struct backend_config cfg;	/* cfg.args points at args */
	struct backend_arg args[BACKEND_MAX_PARAMS];
	char *arg_text[BACKEND_MAX_PARAMS];	/* the copies args[].text point at */
	uint32_t owner_uid, owner_gid;	/* who added it */
	struct backend_geometry geo;
	struct io_target target;	/* the open backend */
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	struct ublk_params kernel_params;	/* recovery: GET_PARAMS' answer */
	struct backend_saved saved[BACKEND_MAX_SAVED + 1];	/* recovery: the
							 * backend's saved values */
	char *saved_text[2 * BACKEND_MAX_SAVED];	/* the copies saved points at */
	int cdev_fd;
	struct queue *queues;
	unsigned nr_queues;
	cpu_set_t *queue_cpus;	/* per queue, from GET_QUEUE_AFFINITY (io threads) */
	unsigned aff_next;	/* the queue whose CPUs are asked for */
	void (*aff_done)(struct device *dev);	/* then this goes on */
	unsigned queues_ready;	/* how many queues were set up */
	int open_tries;
	ev_timer open_timer;
	struct device_caller adder;	/* answered when the add ends */
	struct device_caller deleter;	/* answered when the delete ends */
	int err;
	char msg[512];
	char backend_msg[512];	/* why the backend will never be ready */
};

/* True while the add waits for the backend (and nothing unwinds it yet). */
static inline bool device_backend_waiting(const struct device *dev)
{
	return dev->add == ADD_WAIT_BACKEND && dev->del == DEL_NONE;
}

/* The registry's part (device.c). */
/* Closes the passed descriptors the device still holds (once the backend
 * has opened, or the device is freed). */
void device_close_passed(struct device *dev);
/* Answers a caller once (err 0: success). */
void device_answer(struct device *dev, struct device_caller *c, int err);
/* Records the first error of an operation, and logs it (at debug level
 * when dev->caller_logs_error). */
void device_set_error(struct device *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Closes the backend (abandoning it if it never went live). */
void device_close_backend(struct device *dev);
/* Tells the observer about a device event. */
void device_notify(struct device *dev, enum device_event ev);
/* Takes a device off the list and frees it. */
void device_free(struct device *dev);
/* The add or recovery made dev live (its state says so): gives its node to
 * its owner, tells the observer, answers the adder, and deletes it if a
 * shutdown asked for that meanwhile. */
void device_went_live(struct device *dev);

/* The add pipeline (device_add.c). */
/* Starts the add pipeline on a registered device. */
void device_add_start(struct device *dev);
/* Opens the device's backend (dev->cfg says whether it is recovered): 0,
 * or -errno (the add or recovery failed). */
int device_open_backend(struct device *dev);
/* The backend answered its wait with res: fails the add or recovery on an
 * error (-errno returned), else fills the device's parameters from the
 * geometry the backend knows only now: 0. */
int device_backend_ready(struct device *dev, int res);
/* Opens /dev/ublkcN once, without waiting for devtmpfs: 0, or -errno (the
 * add or recovery failed). */
int device_open_cdev_now(struct device *dev);
/* Sets up every queue and FETCHes every tag: 0, or -errno (failed). */
int device_start_queues(struct device *dev);

/* Learning the queues' CPUs (device_affinity.c). */
/* True when io threads serve the device's queues: there are some, and its
 * backend may run on several at once. */
bool device_on_io_threads(const struct device *dev);
/* Learns each queue's CPUs when io threads will serve the queues, then
 * calls done(dev); without io threads (or for a backend they do not serve)
 * done runs at once. */
void device_fetch_affinity(struct device *dev, void (*done)(struct device *dev));
/* The kernel's CPUs of queue q, or NULL when they are not known. */
const cpu_set_t *device_queue_cpus(const struct device *dev, unsigned q);

/* The recovery pipeline (device_recover.c). */
/* Starts the recovery pipeline on a registered device. */
void device_recover_start(struct device *dev);
/* Gives up waiting for the backend on shutdown: the add fails, the device goes. */
void device_add_cancel_wait(struct device *dev);
/* Creation failed at some step: records the error and unwinds. */
void device_add_fail(struct device *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The delete pipeline (device_del.c). */
/* A queue holds no more commands: the kernel stopped the device, or a stop
 * may be complete. */
void device_on_queue_idle(void *arg, struct queue *q);
/* Runs the delete pipeline from step, e.g. DEL_RELEASE to unwind a failed add. */
void device_del_from(struct device *dev, enum device_del_step step);
/* Leaves a live device to the next daemon (QUIESCE_DEV when it has it),
 * without deleting it; dev->deleter is answered, then dev is freed. */
void device_detach_from(struct device *dev);

#endif
