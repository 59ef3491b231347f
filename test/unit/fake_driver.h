/* A fake ublk driver and backend for the device pipelines' unit tests: it
 * records kernel devices, open char devices and queues, answers control
 * commands when told, and fails any step on request. */
#ifndef UBLKD_FAKE_DRIVER_H
#define UBLKD_FAKE_DRIVER_H

#include <stdbool.h>
#include "daemon/device_driver.h"
#include "backends/backend.h"

#define FAKE_MAX_CMDS	16
#define FAKE_MAX_QUEUES	8
#define FAKE_NONE	(-1)

/* One control command the fake kernel has not answered yet. */
struct fake_cmd {
	unsigned nr;
	void *buf;
	ctrl_done_fn fn;
	void *arg;
};

struct fake_driver {
	struct device_driver ops;
	bool ioctl_encoded;
	/* Failures to inject: a command refused at submit (sync) or answered
	 * with fail_res; a char device, queue setup or FETCH failing. */
	int fail_nr;
	int fail_res;
	bool fail_sync;
	int cdev_res;		/* open_cdev's error, 0 for success */
	int cdev_enoent;	/* -ENOENT this many times first */
	int fail_setup_queue;	/* queue id whose setup fails */
	int fail_fetch_queue;	/* queue id whose FETCH fails */
	/* What the fake kernel holds. */
	struct fake_cmd cmds[FAKE_MAX_CMDS];
	unsigned ncmds;
	int kernel_devs;	/* ADD_DEV succeeded minus DEL_DEV succeeded */
	int open_fds;
	struct queue *queues[FAKE_MAX_QUEUES];
	int nqueues;
	int left_queues;	/* queues left open for the daemon's exit */
	uint32_t next_id;
	unsigned submitted[0x20];	/* per command number */
	uint64_t features;	/* what GET_FEATURES reports */
	/* A device kept from an earlier daemon: GET_DEV_INFO answers
	 * dev_info when dev_info_set; GET_PARAMS answers what the last
	 * SET_PARAMS gave. */
	struct ublksrv_ctrl_dev_info dev_info;
	bool dev_info_set;
	struct ublk_params params;
};

/* The fake backend's counters and behaviour. */
struct fake_backend {
	int open_res;		/* open's error, 0 for success */
	int wait_mode;		/* wait_ready: 0 ready, 1 call back later, -errno */
	int opens, closes, abandons;
	char label[32];		/* the label parameter at the last open */
	backend_ready_fn cb;	/* a pending wait_ready */
	void *cb_arg;
};

extern struct fake_driver fake;
extern struct fake_backend fake_be;
extern const struct backend_ops fake_backend_ops;

/* Resets the fake driver and backend to "everything succeeds". */
void fake_reset(void);
/* Answers the oldest pending command (the injected result if it matches);
 * returns false when none is pending. */
bool fake_answer_one(void);
/* Answers commands until the oldest pending one is nr; false if none is. */
bool fake_answer_until(unsigned nr);
/* The kernel aborts every queue's commands, as after STOP_DEV. */
void fake_abort_queues(void);
/* The backend that was waited for says res. */
void fake_backend_ready(int res);
/* Runs everything to the end: answers, backend waits, loop timers. */
void fake_run(struct ev_loop *loop);

#endif
