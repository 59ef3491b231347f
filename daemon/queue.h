/* One ublk hardware queue: its io_uring, descriptor array and tag buffers. */
#ifndef UBLKD_QUEUE_H
#define UBLKD_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>
#include <liburing.h>

#include "common/ratelimit.h"
#include "daemon/io.h"
#include "daemon/io_threads.h"

struct queue;

/* Told when a queue holds no more commands in the kernel (after a stop),
 * or with watch_drain whenever no backend operation is in flight. */
typedef void (*queue_idle_fn)(void *arg, struct queue *q);

/* What a submitting backend's done callback is handed for one tag. */
struct queue_slot {
	struct queue *q;	/* NULL once the queue is gone */
	uint16_t tag;
};

/* A tag's command or file operation that found no room in the ring: sent
 * again by the queue's retry timer (result QUEUE_RETRY_OP: the planned
 * file operation, else the result to commit). */
struct queue_held {
	uint16_t tag;
	int result;
};

/* Fields marked "shared" are written only by the thread serving the queue
 * and read by the main thread through the accessors below. */
struct queue {
	struct ev_loop *loop;	/* the loop serving the queue */
	struct io_thread *thread;	/* its io thread, NULL on the main loop */
	struct io_note idle_note;	/* idle, told from an io thread */
	uint16_t id;
	uint16_t depth;
	int cdev_fd;
	bool ioctl_encoded;
	bool batch;		/* UBLK_F_BATCH_IO: queue_batch.c's commands */
	bool zero_copy;		/* UBLK_F_AUTO_BUF_REG: the kernel registers each
				 * request's pages in the ring's buffer table at
				 * index tag; no buffers of ours */
	int zero_fd;		/* zero copy: /dev/zero, for reads past a file's end */
	bool user_copy;		/* UBLK_F_USER_COPY: the backend's move copies
				 * with pread and pwrite on cdev_fd; no buffers
				 * of ours */
	struct queue_batch *batch_state;
	const struct io_target *target;
	queue_idle_fn idle;
	void *idle_arg;

	struct io_uring ring;
	bool ring_ready;
	bool defer;		/* IORING_SETUP_DEFER_TASKRUN: the kernel's task
				 * work waits until this ring is entered */
	bool defer_failed;	/* running that work failed (logged once) */
	bool wait_failed;	/* waiting in the ring failed (logged once) */
	ev_io watcher;		/* on the ring's eventfd (fd -1 when none) */
	const struct ublksrv_io_desc *descs;
	size_t descs_len;
	uint8_t *bufs;
	size_t bufs_len;
	struct io_pending *pending;	/* per tag, for planning backends */
	struct queue_slot *slots;	/* per tag, for submitting backends */
	ev_prepare flusher;	/* submits commits made outside the reap */
	ev_idle held;		/* reaps again while a deferring ring holds task
				 * work that may have signalled nothing */
	ev_timer held_later;	/* the same, at a growing interval, once the
				 * kernel's flag looks stale */
	unsigned held_empty;	/* reaps in a row that found no CQE */
	uint32_t *dirty;	/* per tag: bytes at the start of its buffer
				 * that may be non-zero (io_serve) */
	unsigned active;	/* shared: commands the kernel holds */
	unsigned backend_inflight;	/* shared: backend file operations in flight */
	struct queue_held *held_sqes;	/* per tag at most once: what found no
					 * SQE, oldest first */
	unsigned nr_held;	/* shared: entries in held_sqes */
	ev_timer retry;		/* sends them again (and a batch's commits) */
	double retry_after;	/* its interval, doubled while the ring refuses */
	int submit_err;		/* the last submit's error, for the log */
	struct ratelimit retry_rl;	/* of the lines saying the ring refused */
	bool retry_logged;	/* this run of refusals was logged */
	bool watch_drain;	/* written by main: also call idle when no backend
				 * operation is in flight, commands or not (a
				 * quiesced device) */
	unsigned queued;	/* SQEs prepared but not yet submitted */
	struct io_waiter waiter;	/* q as its io thread sees it */
	bool in_wait;		/* served from a wait in its ring: the commits
				 * go with the next wait, not at once */
	bool kick_armed;	/* the ring polls its loop's kick fd */
	bool kick_seen;		/* that poll completed in this wait */
	bool kick_failed;	/* that poll (or the tick) failed: waits go to
				 * the loop */
	bool tick_armed;	/* the ring times the main loop's tick */
	bool tick_seen;		/* that tick passed in this wait */
	unsigned since_tick;	/* completions reaped since it was armed */
	struct __kernel_timespec tick_ts;	/* its interval */
	uint64_t ios;		/* shared: requests served */
	uint64_t ios_in_wait;	/* shared: of them, served from a wait in
				 * its ring (--wakeup ring-wait) */
};

/* Commands the kernel holds for q (from any thread). */
static inline unsigned queue_active(const struct queue *q)
{
	return __atomic_load_n(&q->active, __ATOMIC_ACQUIRE);
}

/* Requests q was handed and has not answered yet: backend operations in
 * flight, and commits or operations waiting for room in the ring (from any
 * thread). */
static inline unsigned queue_inflight(const struct queue *q)
{
	return __atomic_load_n(&q->backend_inflight, __ATOMIC_ACQUIRE) +
	       __atomic_load_n(&q->nr_held, __ATOMIC_ACQUIRE);
}

/* Requests q has served (from any thread). */
static inline uint64_t queue_ios(const struct queue *q)
{
	return __atomic_load_n(&q->ios, __ATOMIC_RELAXED);
}

/* Requests q has served from a wait in its ring (from any thread). */
static inline uint64_t queue_ios_in_wait(const struct queue *q)
{
	return __atomic_load_n(&q->ios_in_wait, __ATOMIC_RELAXED);
}

/* Asks q to call idle whenever no backend operation is in flight (main). */
static inline void queue_watch_drain(struct queue *q)
{
	__atomic_store_n(&q->watch_drain, true, __ATOMIC_RELEASE);
}

/* Chooses, before any queue exists, DEFER_TASKRUN rings (task work runs
 * when the serving thread asks) or COOP_TASKRUN ones (it interrupts the
 * thread's wait). */
void queue_use_defer_taskrun(bool on);
/* Maps the descriptors and buffers and creates the ring of queue id, to be
 * served by thread (its own loop), or by loop when thread is NULL; flags
 * are the device's negotiated UBLK_F_* (command encoding, batch I/O, zero
 * copy). */
int queue_setup(struct queue *q, struct ev_loop *loop, struct io_thread *thread, int cdev_fd,
		uint16_t id, uint16_t depth, const struct io_target *target, uint64_t flags,
		queue_idle_fn idle, void *idle_arg);
/* Sends FETCH_REQ for every tag (batch: PREP_IO_CMDS, then FETCH_IO_CMDS),
 * from the thread that will serve the queue (the kernel takes per-tag
 * commits only from the task that fetched). */
int queue_fetch_all(struct queue *q);
/* Releases everything queue_setup made (cancelling any pending command). */
void queue_teardown(struct queue *q);
/* Stops serving q but leaves its ring and buffers open (for the process
 * exit to close). */
void queue_quiet(struct queue *q);

#endif
