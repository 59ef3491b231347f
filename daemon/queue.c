/* One ublk hardware queue: FETCH every tag, serve each request through the
 * backend and hand the result back with COMMIT_AND_FETCH, all on the
 * queue's own io_uring whose eventfd the main loop, or the queue's io
 * thread (--io-threads), watches. */
#include "config.h"
#include "daemon/queue.h"
#include "daemon/loop_wait.h"
#include "daemon/queue_batch.h"
#include "daemon/ringwatch.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rounds n up to a whole number of pages. */
static size_t queue_page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) / page * page;
}

/* Returns the buffer of a tag: NULL under zero copy, where the kernel
 * lends the request's own pages (buffer table index tag) instead, and
 * under user copy, where it copies them to and from the backend's memory. */
void *queue_buf(const struct queue *q, unsigned tag)
{
	if (q->zero_copy || q->user_copy)
		return NULL;
	return q->bufs + (size_t)tag * q->target->buf_bytes;
}

/* Adds d to a shared counter of q's (only its serving thread writes it). */
void queue_count(unsigned *c, int d)
{
	__atomic_store_n(c, *c + (unsigned)d, __ATOMIC_RELEASE);
}

static void queue_check_idle(struct queue *q);
static void queue_watch_held(struct queue *q, bool more);

/* user_data of a backend file operation; plain tags are ublk commands. */
#define QUEUE_UD_BACKEND (1ULL << 32)
/* user_data of the poll of the waiting loop's kick fd (ring-wait: an io
 * thread's kick eventfd, or the main loop's epoll fd). */
#define QUEUE_UD_KICK (1ULL << 34)
/* user_data of the main loop's tick, a timeout in the ring (ring-wait). */
#define QUEUE_UD_TICK (1ULL << 35)

/* The retry timer's first interval and its cap, in seconds. */
#define QUEUE_RETRY_FIRST 0.001
#define QUEUE_RETRY_MAX 0.1
/* At most one line per this many seconds says the ring refused. */
#define QUEUE_RETRY_LOG_S 10.
/* The result of a held entry that runs the tag's planned file operation. */
#define QUEUE_RETRY_OP INT_MIN

/* Has the retry timer flush q later, unless it runs (the batch path's
 * FETCH that could not be armed again, whose caller logged why). */
void queue_flush_later(struct queue *q)
{
	if (ev_is_active(&q->retry))
		return;
	if (q->retry_after == 0.) {
		q->retry_after = QUEUE_RETRY_FIRST;
		q->retry_logged = false;
	}
	ev_timer_set(&q->retry, q->retry_after, 0.);
	ev_timer_start(q->loop, &q->retry);
}

/* Starts the retry timer unless it runs; logs the first refusal of a run
 * of them (the ring took no SQE, e.g. the kernel could not allocate), at
 * most once per QUEUE_RETRY_LOG_S seconds. */
static void queue_retry_arm(struct queue *q)
{
	char more[64];

	if (!ev_is_active(&q->retry) && q->retry_after == 0.) {
		q->retry_after = QUEUE_RETRY_FIRST;
		q->retry_logged = ratelimit_pass_line(&q->retry_rl, ev_now(q->loop), more,
						      sizeof(more));
		if (q->retry_logged)
			log_error("queue %u: the ring takes no more submissions (%s); requests "
				  "wait and are sent again%s", q->id, strerror(-q->submit_err), more);
	}
	queue_flush_later(q);
}

/* Returns a cleared SQE, submitting the batch first if the SQ is full;
 * NULL (the retry timer armed) when the ring refuses even that. */
struct io_uring_sqe *queue_sqe(struct queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {
		/* Each tag has at most one SQE in flight and the SQ holds
		 * depth entries: only a submit the kernel refuses ends here. */
		int ret = io_uring_submit(&q->ring);

		q->queued = 0;
		sqe = io_uring_get_sqe(&q->ring);
		if (!sqe) {
			q->submit_err = ret < 0 ? ret : -EBUSY;
			queue_retry_arm(q);
			return NULL;
		}
	}
	memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

/* Keeps a tag's commit (or with QUEUE_RETRY_OP its file operation) that
 * found no SQE, for the retry timer: the request stays ours, unanswered,
 * rather than be lost (each tag is held at most once). */
static void queue_hold(struct queue *q, unsigned tag, int result)
{
	if (q->nr_held >= q->depth) {	/* cannot happen: one entry per tag */
		log_error("queue %u tag %u: more held requests than tags", q->id, tag);
		return;
	}
	q->held_sqes[q->nr_held] = (struct queue_held){ (uint16_t)tag, result };
	queue_count(&q->nr_held, 1);
	queue_retry_arm(q);
}

/* Queues a FETCH_REQ or COMMIT_AND_FETCH_REQ SQE for a tag. */
static int queue_prep(struct queue *q, unsigned tag, unsigned nr, int result)
{
	struct io_uring_sqe *sqe = queue_sqe(q);
	struct ublksrv_io_cmd *cmd;

	if (!sqe)
		return -EBUSY;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->cdev_fd;
	sqe->cmd_op = q->ioctl_encoded ? _IOWR('u', nr, struct ublksrv_io_cmd) : nr;
	sqe->user_data = tag;
	cmd = (struct ublksrv_io_cmd *)sqe->cmd;
	cmd->q_id = q->id;
	cmd->tag = (uint16_t)tag;
	cmd->result = result;
	cmd->addr = (uint64_t)(uintptr_t)queue_buf(q, tag);
	/* Zero copy: where the kernel registers the next request's pages
	 * (struct ublk_auto_buf_reg in sqe->addr: index tag, no flags). */
	if (q->zero_copy)
		sqe->addr = tag;
	queue_count(&q->active, 1);
	q->queued++;
	return 0;
}

/* Submits what was queued, once per batch. */
static void queue_flush(struct queue *q)
{
	int ret;

	if (q->in_wait)
		return;
	if (q->batch)
		queue_batch_flush(q);
	if (!q->queued)
		return;
	ret = io_uring_submit(&q->ring);
	q->queued = 0;
	if (ret < 0) {
		/* What was queued stays in the SQ: the retry timer submits it. */
		q->submit_err = ret;
		queue_retry_arm(q);
	}
}

/* Hands a tag's result back to the kernel and fetches its next request. */
static void queue_commit(struct queue *q, unsigned tag, int result)
{
	if (q->batch) {
		queue_batch_commit(q, tag, result);
		return;
	}
	if (queue_prep(q, tag, UBLK_IO_COMMIT_AND_FETCH_REQ, result) < 0)
		queue_hold(q, tag, result);
}

/* The (rest of the) READ or WRITE a backend planned for a tag: on the tag's
 * buffer, or under zero copy on the request's own pages, registered at
 * index tag, where an address is an offset into the request (a READ's
 * zeroes past the file's end come from /dev/zero). */
static void queue_prep_rw(struct queue *q, struct io_uring_sqe *sqe, unsigned tag,
			  const struct io_pending *p)
{
	bool write = p->op.kind == BACKEND_OP_WRITE;
	unsigned len = (unsigned)(p->op.len - p->done);
	uint64_t off = p->op.off + p->done;

	if (!q->zero_copy) {
		uint8_t *buf = (uint8_t *)queue_buf(q, tag) + p->done;

		if (write)
			io_uring_prep_write(sqe, p->op.fd, buf, len, off);
		else
			io_uring_prep_read(sqe, p->op.fd, buf, len, off);
	} else {
		void *at = (void *)(uintptr_t)p->done;

		if (write)
			io_uring_prep_write_fixed(sqe, p->op.fd, at, len, off, (int)tag);
		else if (p->fill)
			io_uring_prep_read_fixed(sqe, q->zero_fd, at, len, 0, (int)tag);
		else
			io_uring_prep_read_fixed(sqe, p->op.fd, at, len, off, (int)tag);
	}
	if (write)
		sqe->rw_flags = p->op.rw_flags;
}

/* Queues the (rest of the) file operation a backend planned for a tag. */
static void queue_run_op(struct queue *q, unsigned tag)
{
	struct io_pending *p = &q->pending[tag];
	struct io_uring_sqe *sqe = queue_sqe(q);

	if (!sqe) {
		queue_hold(q, tag, QUEUE_RETRY_OP);
		return;
	}
	switch (p->op.kind) {
	case BACKEND_OP_READ:
	case BACKEND_OP_WRITE:
		queue_prep_rw(q, sqe, tag, p);
		break;
	case BACKEND_OP_FSYNC:
		io_uring_prep_fsync(sqe, p->op.fd, p->op.datasync ? IORING_FSYNC_DATASYNC : 0);
		break;
	default:
		io_uring_prep_fallocate(sqe, p->op.fd, p->op.mode, (off_t)p->op.off,
					(off_t)p->op.len);
		break;
	}
	sqe->user_data = tag | QUEUE_UD_BACKEND;
	queue_count(&q->backend_inflight, 1);
	q->queued++;
}

/* A request a submitting backend started has ended: commit it, and make
 * sure the commit is submitted before the loop sleeps. */
static void queue_async_done(void *ctx, int res)
{
	struct queue_slot *slot = ctx;
	struct queue *q = slot->q;

	if (!q)
		return;	/* the queue was torn down under it (logged then) */
	queue_count(&q->backend_inflight, -1);
	queue_commit(q, slot->tag, io_finish(&q->pending[slot->tag], res));
	if (!ev_is_active(&q->flusher))
		ev_prepare_start(q->loop, &q->flusher);
}

/* Doubles the retry interval (up to QUEUE_RETRY_MAX) and arms the timer
 * unless it runs. */
static void queue_retry_later(struct queue *q)
{
	q->retry_after = q->retry_after * 2 < QUEUE_RETRY_MAX ? q->retry_after * 2
							 : QUEUE_RETRY_MAX;
	queue_retry_arm(q);
}

/* The retry timer: submits what waits in the SQ, sends the held commits
 * and file operations again for as long as the ring has room, then
 * flushes (a batch's commits too); again later, at a doubled interval,
 * while anything is still held. */
static void queue_on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue *q = w->data;
	unsigned n = q->nr_held, sent = 0;
	int ret;

	(void)loop;
	(void)revents;
	ret = io_uring_submit(&q->ring);
	q->queued = 0;
	if (ret < 0) {
		q->submit_err = ret;
		queue_retry_later(q);
		return;
	}
	while (sent < n && io_uring_sq_space_left(&q->ring) > 0) {
		struct queue_held h = q->held_sqes[sent++];

		if (h.result == QUEUE_RETRY_OP)
			queue_run_op(q, h.tag);
		else
			queue_commit(q, h.tag, h.result);
	}
	memmove(q->held_sqes, q->held_sqes + sent, (n - sent) * sizeof(*q->held_sqes));
	queue_count(&q->nr_held, -(int)sent);
	queue_flush(q);
	if (q->nr_held || ev_is_active(&q->retry)) {
		queue_retry_later(q);
		return;
	}
	if (q->retry_logged)
		log_info("queue %u: the ring takes submissions again; every waiting request "
			 "was sent", q->id);
	q->retry_after = 0.;
	queue_check_idle(q);
}

/* Before the loop sleeps: submit the commits of ended requests at once. */
static void queue_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct queue *q = w->data;

	(void)revents;
	ev_prepare_stop(loop, w);
	queue_flush(q);
	queue_watch_held(q, false);
	queue_check_idle(q);
}

/* Starts a request on a submitting backend, or commits what it refused. */
static void queue_submit(struct queue *q, unsigned tag)
{
	int result = io_start(q->target, q->id, &q->descs[tag], queue_buf(q, tag),
			      &q->pending[tag], queue_async_done, &q->slots[tag]);

	if (result == 1)
		queue_count(&q->backend_inflight, 1);
	else
		queue_commit(q, tag, result);
}

/* Serves a new request for a tag, at once or by starting a file operation. */
void queue_serve(struct queue *q, unsigned tag)
{
	void *buf = queue_buf(q, tag);
	int result;

	__atomic_store_n(&q->ios, q->ios + 1, __ATOMIC_RELAXED);
	if (q->in_wait)
		__atomic_store_n(&q->ios_in_wait, q->ios_in_wait + 1, __ATOMIC_RELAXED);
	if (q->slots) {
		queue_submit(q, tag);
		return;
	}
	if (q->user_copy) {
		queue_commit(q, tag, io_serve_user_copy(q->target, &q->descs[tag], q->cdev_fd,
							q->id, (uint16_t)tag));
		return;
	}
	if (!io_plans(q->target, q->zero_copy)) {
		queue_commit(q, tag, io_serve(q->target, &q->descs[tag], buf, &q->dirty[tag]));
		return;
	}
	result = io_prepare(q->target, &q->descs[tag], buf, &q->pending[tag]);
	if (result == 1)
		queue_run_op(q, tag);
	else
		queue_commit(q, tag, result);
}

/* Handles the CQE of a tag's backend file operation. */
static void queue_backend_done(struct queue *q, unsigned tag, int res)
{
	int result = io_advance(&q->pending[tag], res, queue_buf(q, tag));

	queue_count(&q->backend_inflight, -1);
	if (result == 1)
		queue_run_op(q, tag);
	else
		queue_commit(q, tag, result);
}

/* Handles one CQE of a tag's command. */
static void queue_complete(struct queue *q, unsigned tag, int res)
{
	queue_count(&q->active, -1);
	if (res == UBLK_IO_RES_OK) {
		queue_serve(q, tag);
	} else if (res != UBLK_IO_RES_ABORT) {
		log_error("queue %u tag %u: command refused: %s", q->id, tag,
			  strerror(-res));
	}
}

/* Turns the task work a deferring ring holds into CQEs; a failure is
 * logged once per queue (the held-work watcher retries every loop turn). */
static void queue_run_deferred(struct queue *q)
{
	int ret = ringwatch_run_deferred(&q->ring);

	if (ret < 0 && !q->defer_failed) {
		q->defer_failed = true;
		log_errno(ret, "queue %u: running deferred task work (logged once)", q->id);
	}
}

/* Stops re-reaping held work (the loop sleeps on the eventfd alone). */
static void queue_stop_held(struct queue *q)
{
	ev_idle_stop(q->loop, &q->held);
	ev_timer_stop(q->loop, &q->held_later);
}

/* Before the loop may sleep: task work the ring still holds may have
 * signalled nothing (work past the kernel's per-entry cap, or a producer
 * caught mid-push), nor anything that arrived while the eventfd was muted
 * (more), so reap again once the loop has polled its other watchers,
 * without blocking, for as long as the kernel flags it. The flag can also
 * be stale: a producer sets it after pushing its work, and a run that
 * began before can take that work first, leaving it set with nothing to
 * run, which no entry clears. So once reaps in a row find nothing, reap
 * again only at a growing interval (ringwatch_held_delay) rather than
 * spin, unless CQEs wait; any CQE ends the back-off. */
static void queue_watch_held(struct queue *q, bool more)
{
	double after;

	if (!more && !ringwatch_deferred_held(&q->ring)) {
		q->held_empty = 0;
		return;
	}
	if (ev_is_active(&q->held) || ev_is_active(&q->held_later))
		return;
	after = ringwatch_held_delay(q->held_empty);
	if (after == 0. || io_uring_cq_ready(&q->ring) > 0) {
		ev_idle_start(q->loop, &q->held);
		return;
	}
	ev_timer_set(&q->held_later, after, 0.);
	ev_timer_start(q->loop, &q->held_later);
}

/* The poll of the loop's kick fd (QUEUE_UD_KICK: the loop has other work,
 * or the ring is closing: the poll cancelled) or the tick (QUEUE_UD_TICK)
 * completed (ring-wait). A poll or a tick that fails would end every wait
 * at once: the loop then waits in libev instead (logged once). */
static void queue_wake_done(struct queue *q, uint64_t ud, int res)
{
	bool ok;

	if (ud == QUEUE_UD_KICK) {
		q->kick_armed = false;
		q->kick_seen = res >= 0;
		ok = res >= 0 || res == -ECANCELED;
	} else {
		q->tick_armed = false;
		q->tick_seen = res == -ETIME;
		ok = res == -ETIME || res == -ECANCELED;
	}
	if (!ok && !q->kick_failed) {
		q->kick_failed = q->wait_failed = true;
		log_errno(res, "queue %u: %s in its ring (its loop waits in libev instead; logged once)",
			  q->id, ud == QUEUE_UD_KICK ? "polling the loop's kick fd" : "the loop's tick");
	}
}

/* Reaps every completion, serving requests, then submits once: how many
 * completions of requests and backend operations it reaped. It leaves the
 * idle check to the caller (queue_reap, queue_wait_here). */
static unsigned queue_reap_cqes(struct queue *q)
{
	struct io_uring_cqe *cqe;
	unsigned total = 0;
	bool muted;

	queue_stop_held(q);
	/* A ring whose flag of held work looks stale stays unmuted: a new
	 * request's signal may then be the only news of it. */
	muted = ringwatch_held_delay(q->held_empty) == 0. && ringwatch_mute(&q->ring);

	/* Submitting may run task work that posts more CQEs: look again. */
	for (int round = 0; round < 4; round++) {
		unsigned seen = 0;

		queue_run_deferred(q);
		while (io_uring_peek_cqe(&q->ring, &cqe) == 0) {
			uint64_t ud = cqe->user_data;
			unsigned tag = (unsigned)(ud & 0xffff);
			int res = cqe->res;
			unsigned flags = cqe->flags;

			io_uring_cqe_seen(&q->ring, cqe);
			if (ud == QUEUE_UD_KICK || ud == QUEUE_UD_TICK) {
				queue_wake_done(q, ud, res);
				continue;
			}
			if (ud & QUEUE_UD_BATCH)
				queue_batch_cqe(q, ud, res, flags);
			else if (tag >= q->depth)
				log_error("queue %u: CQE for unknown tag %u", q->id, tag);
			else if (ud & QUEUE_UD_BACKEND)
				queue_backend_done(q, tag, res);
			else
				queue_complete(q, tag, res);
			seen++;
		}
		if (seen && q->slots)
			io_unplug(q->target, q->id);
		queue_flush(q);
		total += seen;
		if (!seen)
			break;
	}
	q->held_empty = total ? 0 : q->held_empty + 1;
	if (!q->in_wait)	/* a wait runs held task work itself */
		queue_watch_held(q, muted && ringwatch_unmute(&q->ring));
	else if (muted)
		ringwatch_unmute(&q->ring);
	return total;
}

/* Reaps every completion (queue_reap_cqes); tells the main loop when q
 * had requests, then the device when q holds nothing, which may tear q
 * down and free it: the caller must not touch q after this. */
static void queue_reap(struct queue *q)
{
	/* Only requests count as busy: the CQE of a tick or a poll left from
	 * a wait in the ring signals the eventfd too. */
	if (queue_reap_cqes(q) && !q->thread)
		loop_wait_saw(&q->waiter);
	queue_check_idle(q);
}

/* Hands the kernel the SQEs queued on ring (liburing 2.3 does not export
 * its own flush; no SQPOLL here): how many it has yet to take. */
static unsigned queue_sq_publish(struct io_uring *ring)
{
	struct io_uring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		IO_URING_WRITE_ONCE(*sq->ktail, tail);
	}
	return tail - IO_URING_READ_ONCE(*sq->khead);
}

/* On the thread serving q, before its libev loop runs (a call, a tick, or
 * in place of a wait that failed or ended): submits what the last wait
 * left queued, and watches held task work as the loop would. */
static void queue_wait_flush(void *arg)
{
	struct queue *q = arg;

	q->queued = queue_sq_publish(&q->ring);
	queue_flush(q);
	queue_watch_held(q, false);
}

/* Queues what a wait in q's ring needs besides its commands: the poll of
 * kick_fd, and with tick_ns the tick (armed again once it fired; the
 * completions counted from then). 0, or -EBUSY without an SQE. */
static int queue_wait_arm(struct queue *q, int kick_fd, long long tick_ns)
{
	struct io_uring_sqe *sqe;

	if (!q->kick_armed) {
		if (!(sqe = queue_sqe(q)))
			return -EBUSY;
		io_uring_prep_poll_add(sqe, kick_fd, POLLIN);
		sqe->user_data = QUEUE_UD_KICK;
		q->kick_armed = true;
	}
	if (tick_ns && !q->tick_armed) {
		if (!(sqe = queue_sqe(q)))
			return -EBUSY;
		q->tick_ts.tv_sec = tick_ns / 1000000000LL;
		q->tick_ts.tv_nsec = tick_ns % 1000000000LL;
		io_uring_prep_timeout(sqe, &q->tick_ts, 0, 0);
		sqe->user_data = QUEUE_UD_TICK;
		q->tick_armed = true;
		q->since_tick = 0;
	}
	return 0;
}

/* On the thread serving q (ring-wait): has the ring poll kick_fd (once)
 * and, with tick_ns, time a tick; submits q's commits and sleeps in the
 * ring, in one system call, until a CQE comes; then serves what came,
 * leaving the new commits for the next wait or queue_wait_flush. 1 when
 * the kick came, a signal cut the wait, or a tick passed in which requests
 * came; -ETIME when a tick passed without any; 0 when requests alone came;
 * -errno when the ring could not be entered (logged once; the commits are
 * then submitted, and the loop falls back to the eventfd's path). */
static int queue_wait_here(void *arg, int kick_fd, long long tick_ns)
{
	struct queue *q = arg;
	unsigned served;
	int ret = -EIO;

	if (q->kick_failed || (ret = queue_wait_arm(q, kick_fd, tick_ns)) < 0)
		goto fail;
	ret = io_uring_enter((unsigned)q->ring.ring_fd, queue_sq_publish(&q->ring), 1,
			     IORING_ENTER_GETEVENTS, NULL);
	if (ret < 0 && ret != -EINTR) {
fail:
		if (!q->wait_failed) {
			q->wait_failed = true;
			log_errno(ret, "queue %u: waiting in the ring (the loop waits instead; logged once)",
				  q->id);
		}
		queue_wait_flush(q);	/* the loop it falls back to takes over */
		return ret;
	}
	q->queued = 0;
	q->kick_seen = q->tick_seen = false;
	q->in_wait = true;
	served = queue_reap_cqes(q);
	q->in_wait = false;
	q->since_tick += served;
	if (q->tick_seen && !q->since_tick)
		ret = -ETIME;
	else
		ret = (q->kick_seen || q->tick_seen || ret == -EINTR ? IO_WAIT_WOKEN : 0) |
		      (served ? IO_WAIT_SERVED : 0);
	queue_check_idle(q);	/* may free q (main loop): the last use */
	return ret;
}

/* Stops (on false) or starts again libev's watching of q's completions,
 * for a loop that sleeps in q's ring and polls itself from there. */
static void queue_wait_watch(void *arg, bool on)
{
	struct queue *q = arg;

	if (q->watcher.fd < 0)
		return;
	if (on)
		ev_io_start(q->loop, &q->watcher);
	else
		ev_io_stop(q->loop, &q->watcher);
}

/* Describes q to the loop that serves it: only a queue whose work all
 * ends in its ring can be waited on. */
static void queue_waiter_init(struct queue *q)
{
	q->waiter.wait = q->batch || q->slots ? NULL : queue_wait_here;
	q->waiter.flush = queue_wait_flush;
	q->waiter.watch = queue_wait_watch;
	q->waiter.arg = q;
}

/* Tells the device when q holds nothing (see queue_idle_fn). */
static void queue_check_idle(struct queue *q)
{
	if (q->backend_inflight == 0 && q->nr_held == 0 && q->idle &&
	    (q->active == 0 || __atomic_load_n(&q->watch_drain, __ATOMIC_ACQUIRE))) {
		if (q->thread)
			io_threads_note(&q->idle_note);	/* device state is main's */
		else
			q->idle(q->idle_arg, q);
	}
}

/* The main loop's side of an idle note from q's io thread. */
static void queue_on_idle_note(void *arg)
{
	struct queue *q = arg;

	q->idle(q->idle_arg, q);
}

/* The deferring ring still held task work when the loop was to sleep. */
static void queue_on_held(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)revents;
	queue_reap(w->data);
}

/* The back-off interval of a ring whose flag of held work looks stale. */
static void queue_on_held_later(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	queue_reap(w->data);
}

/* The queue's eventfd fired: clear it, then reap. */
static void queue_on_event(struct ev_loop *loop, ev_io *w, int revents)
{
	struct queue *q = w->data;

	(void)loop;
	(void)revents;
	ringwatch_clear(w);
	queue_reap(q);
}

/* New rings defer the kernel's task work (--taskrun defer); the kernel
 * refused that once already. */
static bool queue_defer_taskrun, queue_defer_refused;

/* Chooses DEFER_TASKRUN or COOP_TASKRUN rings for the queues made next. */
void queue_use_defer_taskrun(bool on)
{
	queue_defer_taskrun = on;
}

/* Creates the ring with setup flags (and a CQ for the commands and the
 * backend's operations). */
static int queue_ring_try(struct queue *q, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags | IORING_SETUP_CQSIZE;
	p.cq_entries = 2U * q->depth;
	return io_uring_queue_init_params(q->depth, &q->ring, &p);
}

/* Creates the ring: with --taskrun defer one that keeps task work until
 * its one thread enters it (an io thread's ring starts disabled, so that
 * its thread becomes the issuer by enabling it), else one with cooperative
 * task running; the plain kind where the kernel has neither. */
static int queue_ring_init(struct queue *q)
{
	int ret;

	if (queue_defer_taskrun) {
		ret = queue_ring_try(q, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
					IORING_SETUP_TASKRUN_FLAG |
					(q->thread ? IORING_SETUP_R_DISABLED : 0));
		if (ret != -EINVAL) {
			q->defer = ret == 0;
			return ret;
		}
		if (!queue_defer_refused) {
			queue_defer_refused = true;	/* once per daemon */
			log_info("this kernel has no IORING_SETUP_DEFER_TASKRUN: queue rings use cooperative task running");
		}
	}
	ret = queue_ring_try(q, IORING_SETUP_COOP_TASKRUN);
	if (ret == -EINVAL)
		ret = queue_ring_try(q, 0);
	return ret;
}

/* Zero copy: an empty buffer table with a slot per tag, where the kernel
 * registers each request's pages, and /dev/zero for reads past the end. */
static int queue_zero_copy_setup(struct queue *q)
{
	int ret = io_uring_register_buffers_sparse(&q->ring, q->depth);

	if (ret < 0) {
		log_errno(ret, "queue %u: registering a buffer table of %u slots for zero copy",
			  q->id, q->depth);
		return ret;
	}
	q->zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (q->zero_fd < 0) {
		ret = -errno;
		log_errno(ret, "queue %u: opening /dev/zero", q->id);
		return ret;
	}
	return 0;
}

/* Maps the descriptors and buffers and creates the ring of queue id, to be
 * served by thread (its own loop), or by loop when thread is NULL. */
int queue_setup(struct queue *q, struct ev_loop *loop, struct io_thread *thread, int cdev_fd,
		uint16_t id, uint16_t depth, const struct io_target *target, uint64_t flags,
		queue_idle_fn idle, void *idle_arg)
{
	off_t off = (off_t)id * (off_t)queue_page_round(UBLK_MAX_QUEUE_DEPTH *
							 sizeof(struct ublksrv_io_desc));
	void *p;
	int ret;

	memset(q, 0, sizeof(*q));
	q->loop = thread ? io_thread_loop(thread) : loop;
	q->thread = thread;
	q->idle_note.fn = queue_on_idle_note;
	q->idle_note.arg = q;
	q->id = id;
	q->depth = depth;
	q->cdev_fd = cdev_fd;
	q->target = target;
	q->ioctl_encoded = flags & UBLK_F_CMD_IOCTL_ENCODE;
	q->batch = flags & UBLK_F_BATCH_IO;
	q->zero_copy = flags & UBLK_F_AUTO_BUF_REG;
	q->user_copy = flags & UBLK_F_USER_COPY;
	q->zero_fd = -1;
	q->idle = idle;
	q->idle_arg = idle_arg;
	q->watcher.fd = -1;

	q->descs_len = queue_page_round((size_t)depth * sizeof(struct ublksrv_io_desc));
	p = mmap(NULL, q->descs_len, PROT_READ, MAP_SHARED | MAP_POPULATE, cdev_fd, off);
	if (p == MAP_FAILED) {
		ret = -errno;
		log_errno(ret, "queue %u: mapping the descriptors", id);
		goto fail;
	}
	q->descs = p;
	q->pending = calloc(depth, sizeof(*q->pending));
	q->dirty = calloc(depth, sizeof(*q->dirty));	/* new buffers are zeroes */
	q->held_sqes = calloc(depth, sizeof(*q->held_sqes));
	if (!q->pending || !q->dirty || !q->held_sqes) {
		ret = -ENOMEM;
		goto fail;
	}
	if (io_submits(target)) {
		q->slots = calloc(depth, sizeof(*q->slots));
		if (!q->slots) {
			ret = -ENOMEM;
			goto fail;
		}
		for (unsigned tag = 0; tag < depth; tag++) {
			q->slots[tag].q = q;
			q->slots[tag].tag = (uint16_t)tag;
		}
	}
	ev_prepare_init(&q->flusher, queue_on_prepare);
	q->flusher.data = q;
	ev_idle_init(&q->held, queue_on_held);
	q->held.data = q;
	ev_timer_init(&q->held_later, queue_on_held_later, 0., 0.);
	q->held_later.data = q;
	ev_timer_init(&q->retry, queue_on_retry, 0., 0.);
	q->retry.data = q;
	ratelimit_init(&q->retry_rl, QUEUE_RETRY_LOG_S, 1);
	if (!q->zero_copy && !q->user_copy) {
		q->bufs_len = (size_t)depth * target->buf_bytes;
		p = mmap(NULL, q->bufs_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			ret = -errno;
			log_errno(ret, "queue %u: allocating %zu bytes of buffers", id, q->bufs_len);
			goto fail;
		}
		q->bufs = p;
	}
	if (q->batch && (ret = queue_batch_setup(q)) < 0) {
		log_errno(ret, "queue %u: allocating the batch state", id);
		goto fail;
	}
	ret = queue_ring_init(q);
	if (ret < 0) {
		log_errno(ret, "queue %u: io_uring setup", id);
		goto fail;
	}
	q->ring_ready = true;
	if (q->zero_copy && (ret = queue_zero_copy_setup(q)) < 0)
		goto fail;
	if (thread)
		return 0;	/* its thread starts the watcher with the fetch */
	ret = ringwatch_start(loop, &q->ring, &q->watcher, queue_on_event, q);
	if (ret < 0)
		goto fail;
	queue_waiter_init(q);
	return 0;
fail:
	queue_teardown(q);
	return ret;
}

/* Sends FETCH_REQ for every tag, on the thread serving q. */
static int queue_fetch_here(struct queue *q)
{
	if (q->batch) {
		int ret = queue_batch_start(q);

		queue_flush(q);
		return ret;
	}
	for (unsigned tag = 0; tag < q->depth; tag++) {
		int ret = queue_prep(q, tag, UBLK_IO_FETCH_REQ, 0);

		if (ret < 0)
			return ret;
	}
	queue_flush(q);
	return 0;
}

/* Enables q's ring, made disabled, on the calling thread, which becomes its
 * one issuer: 0 or -errno. (liburing 2.3 declares io_uring_enable_rings
 * but does not export it.) */
static int queue_enable_ring(struct queue *q)
{
	if (syscall(__NR_io_uring_register, q->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
		    NULL, 0) < 0)
		return -errno;
	return 0;
}

/* On q's io thread: become the ring's one issuer (a deferring ring),
 * watch the ring from its loop, then fetch. */
static int queue_attach_here(void *arg)
{
	struct queue *q = arg;
	int ret;

	if (q->defer && (ret = queue_enable_ring(q)) < 0) {
		log_errno(ret, "queue %u: enabling the ring on its io thread", q->id);
		return ret;
	}
	ret = ringwatch_start(q->loop, &q->ring, &q->watcher, queue_on_event, q);
	if (ret < 0)
		return ret;
	queue_waiter_init(q);
	io_thread_hold(q->thread, &q->waiter);
	return queue_fetch_here(q);
}

/* Sends FETCH_REQ for every tag, from the thread that will serve the queue
 * (the kernel takes commits only from the task that fetched). */
int queue_fetch_all(struct queue *q)
{
	if (q->thread)
		return io_thread_call(q->thread, queue_attach_here, q);
	return queue_fetch_here(q);
}

/* On q's io thread: stop watching the ring (it stays open). */
static int queue_quiet_here(void *arg)
{
	struct queue *q = arg;

	ringwatch_stop(q->loop, &q->watcher);
	queue_stop_held(q);	/* this loop's watchers: stopped here */
	ev_timer_stop(q->loop, &q->retry);
	io_thread_release(q->thread, &q->waiter);
	return 0;
}

/* On q's io thread: stop watching and close the ring, cancelling the
 * commands this thread issued. */
static int queue_detach_here(void *arg)
{
	struct queue *q = arg;

	queue_quiet_here(q);
	if (q->ring_ready) {
		io_uring_queue_exit(&q->ring);
		q->ring_ready = false;
	}
	return 0;
}

/* Stops watching q: on its io thread with on_thread (which may also close
 * the ring there), then lets go of the thread; else on the main loop. */
static void queue_unwatch(struct queue *q, int (*on_thread)(void *arg))
{
	loop_wait_forget(&q->waiter);
	if (q->thread) {
		if (q->watcher.fd >= 0)
			io_thread_call(q->thread, on_thread, q);
		io_threads_forget(&q->idle_note);
		io_threads_unpick(q->thread);
		q->thread = NULL;
	}
	ringwatch_stop(q->loop, &q->watcher);
	if (q->loop) {
		ev_prepare_stop(q->loop, &q->flusher);
		queue_stop_held(q);
		ev_timer_stop(q->loop, &q->retry);
	}
}

/* Stops serving q and lets go of its io thread, but leaves its ring, its
 * buffers and its command descriptors as they are: nothing of ours reads
 * them again, and the kernel may still write into them until the ring is
 * closed. */
void queue_quiet(struct queue *q)
{
	queue_unwatch(q, queue_quiet_here);
}

/* Releases everything queue_setup made (cancelling any pending command). */
void queue_teardown(struct queue *q)
{
	queue_unwatch(q, queue_detach_here);
	if (q->ring_ready) {
		io_uring_queue_exit(&q->ring);
		q->ring_ready = false;
	}
	if (queue_inflight(q)) {
		/* The pipelines drain first, so this is a safety net (a failed
		 * START_DEV tears down at once): a submitting backend still
		 * holds requests into these buffers, and a file operation may
		 * still copy into them after the ring is closed (its teardown
		 * in the kernel runs later), so they and the slots stay,
		 * orphaned, rather than be reused by the next mapping. */
		log_error("queue %u: torn down with %u requests unanswered; keeping their buffers",
			  q->id, queue_inflight(q));
		for (unsigned tag = 0; q->slots && tag < q->depth; tag++)
			q->slots[tag].q = NULL;
		q->slots = NULL;
		q->bufs = NULL;
	}
	free(q->slots);
	q->slots = NULL;
	queue_batch_teardown(q);
	if (q->bufs) {
		munmap(q->bufs, q->bufs_len);
		q->bufs = NULL;
	}
	if (q->descs) {
		munmap((void *)q->descs, q->descs_len);
		q->descs = NULL;
	}
	if (q->zero_copy && q->zero_fd >= 0) {
		close(q->zero_fd);
		q->zero_fd = -1;
	}
	free(q->pending);
	q->pending = NULL;
	free(q->dirty);
	q->dirty = NULL;
	free(q->held_sqes);
	q->held_sqes = NULL;
	q->active = 0;
	q->backend_inflight = 0;
	q->nr_held = 0;
}
