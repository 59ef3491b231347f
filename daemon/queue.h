/* One ublk hardware queue: its io_uring, descriptor array and tag buffers. */
#ifndef UBLKD_QUEUE_H
#define UBLKD_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>
#include <liburing.h>

#include "daemon/io.h"

struct queue;

/* Told when a queue holds no more commands in the kernel (after a stop),
 * or with watch_drain whenever no backend operation is in flight. */
typedef void (*queue_idle_fn)(void *arg, struct queue *q);

struct queue {
	struct ev_loop *loop;
	uint16_t id;
	uint16_t depth;
	int cdev_fd;
	bool ioctl_encoded;
	const struct io_target *target;
	queue_idle_fn idle;
	void *idle_arg;

	struct io_uring ring;
	bool ring_ready;
	ev_io watcher;		/* on the ring's eventfd (fd -1 when none) */
	const struct ublksrv_io_desc *descs;
	size_t descs_len;
	uint8_t *bufs;
	size_t bufs_len;
	struct io_pending *pending;	/* per tag, for planning backends */
	unsigned active;	/* commands the kernel holds */
	unsigned backend_inflight;	/* backend file operations in flight */
	bool watch_drain;	/* also call idle when no backend operation is in
				 * flight, commands or not (a quiesced device) */
	unsigned queued;	/* SQEs prepared but not yet submitted */
	uint64_t ios;		/* requests served */
};

/* Maps the descriptors and buffers and creates the ring of queue id. */
int queue_setup(struct queue *q, struct ev_loop *loop, int cdev_fd, uint16_t id,
		uint16_t depth, const struct io_target *target, bool ioctl_encoded,
		queue_idle_fn idle, void *idle_arg);
/* Sends FETCH_REQ for every tag. */
int queue_fetch_all(struct queue *q);
/* Releases everything queue_setup made (cancelling any pending command). */
void queue_teardown(struct queue *q);

#endif
