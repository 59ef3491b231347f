/* The batch path of a queue (UBLK_F_BATCH_IO, Linux 7.0+): one PREP_IO_CMDS
 * for every tag, multishot FETCH_IO_CMDS that deliver the tags of new
 * requests into a provided buffer ring, and one COMMIT_IO_CMDS per loop
 * turn for every result. queue.c calls the hooks below where the per-tag
 * path sends FETCH_REQ and COMMIT_AND_FETCH_REQ; queue_batch.c serves each
 * delivered tag with queue.c's own queue_serve. */
#ifndef UBLKD_QUEUE_BATCH_H
#define UBLKD_QUEUE_BATCH_H

#include <stdint.h>

#include "daemon/queue.h"

/* user_data bit of the batch commands (plain tags are per-tag commands). */
#define QUEUE_UD_BATCH (1ULL << 33)

/* Allocates the batch state of q (queue_setup, before the ring exists). */
int queue_batch_setup(struct queue *q);
/* On the thread serving q: registers the fetch buffer rings, sends
 * PREP_IO_CMDS for every tag and waits for its answer (it comes inline),
 * then queues the FETCH_IO_CMDS. 0 or -errno (the kernel's refusal). */
int queue_batch_start(struct queue *q);
/* Notes the result of a tag's request, committed at the next flush. */
void queue_batch_commit(struct queue *q, unsigned tag, int result);
/* Arms again the FETCHes that ran out of buffers, then queues one
 * COMMIT_IO_CMDS for the results noted since the last one. */
void queue_batch_flush(struct queue *q);
/* The user_data of FETCH_IO_CMDS i. */
uint64_t queue_batch_fetch_ud(unsigned i);
/* Handles the CQE of a batch command (user_data ud). */
void queue_batch_cqe(struct queue *q, uint64_t ud, int res, unsigned flags);
/* Frees the batch state (after the ring is closed). */
void queue_batch_teardown(struct queue *q);

/* queue.c's helpers the batch path shares. */
/* Serves a new request for a tag (the result goes to queue_commit). */
void queue_serve(struct queue *q, unsigned tag);
/* Returns a cleared SQE, or NULL (the retry timer armed) when the SQ
 * stays full. */
struct io_uring_sqe *queue_sqe(struct queue *q);
/* Has the retry timer flush q later. */
void queue_flush_later(struct queue *q);
/* Returns the buffer of a tag. */
void *queue_buf(const struct queue *q, unsigned tag);
/* Adds d to a shared counter of q's (only its serving thread writes it). */
void queue_count(unsigned *c, int d);

#endif
