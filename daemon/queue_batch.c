/* The batch path of a queue (UBLK_F_BATCH_IO, Linux 7.0+). The kernel puts
 * the tag of each new request in a per-queue FIFO; a multishot
 * FETCH_IO_CMDS copies tags from it into a buffer of the provided buffer
 * ring named in its SQE and posts one CQE per buffer (F_MORE while it stays
 * armed). Results go back in one COMMIT_IO_CMDS per loop turn, which the
 * kernel handles inline. Two FETCHes stay armed per queue, each on a ring
 * of its own: the kernel feeds only one at a time, so an ABORT of either
 * says the queue is cancelled (a stop, a quiesce) even when the other, the
 * one it was feeding then, is left armed until the ring is closed. */
#include "config.h"
#include "daemon/queue_batch.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef IORING_URING_CMD_MULTISHOT
#define IORING_URING_CMD_MULTISHOT (1U << 1)	/* 6.18; liburing 2.3 lacks it */
#endif

#define QB_FETCHES	2	/* FETCH_IO_CMDS armed per queue */
#define QB_COMMIT_BUFS	4	/* COMMIT_IO_CMDS arrays; one fills, the others are
				 * in the kernel until their (inline) CQE is reaped */
#define QB_TAGS_PER_CQE	128	/* the kernel copies at most 256 bytes of tags */

/* Kinds of batch commands in user_data bits 16-23; bits 0-15 index. */
enum qb_kind { QB_PREP = 1, QB_COMMIT = 2, QB_FETCH = 3 };

/* One element of PREP_IO_CMDS and COMMIT_IO_CMDS (UBLK_BATCH_F_HAS_BUF_ADDR). */
struct qb_elem {
	struct ublk_elem_header h;
	__u64 buf_addr;
};

/* One FETCH_IO_CMDS and its provided buffer ring (buffer group = index). */
struct qb_fetch {
	struct io_uring_buf_ring *br;
	uint8_t *bufs;		/* entries buffers of buf_bytes each */
	bool registered;
	bool fresh;		/* registered full, and not armed since */
	bool armed;		/* the kernel holds it (counted in q->active) */
	bool rearm;		/* it ran out of buffers and is to be armed again */
	bool rearm_logged;	/* a failure to do so was logged (once a run) */
};

struct queue_batch {
	unsigned entries;	/* buffers per ring, a power of two >= depth */
	unsigned buf_bytes;	/* bytes per buffer */
	size_t ring_len;	/* bytes of each buffer ring */
	struct qb_fetch fetch[QB_FETCHES];
	bool aborted;		/* the kernel cancelled the queue's FETCHes */
	uint8_t *owned;		/* per tag: its request is ours, not committed */
	struct qb_elem *commit[QB_COMMIT_BUFS];	/* depth elements each */
	uint16_t commit_nr[QB_COMMIT_BUFS];	/* elements sent, 0 when free */
	unsigned cur;		/* the array being filled */
	unsigned nr;		/* elements in it */
};

/* The batch state of q. */
static struct queue_batch *qb_of(const struct queue *q)
{
	return q->batch_state;
}

/* user_data of a batch command. */
static uint64_t qb_ud(enum qb_kind kind, unsigned index)
{
	return QUEUE_UD_BATCH | ((uint64_t)kind << 16) | (index & 0xffff);
}

/* Rounds n up to a power of two. */
static unsigned qb_pow2(unsigned n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* Maps zeroed, page-aligned memory: the pointer or NULL. */
static void *qb_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Allocates the batch state of q (queue_setup, before the ring exists). */
int queue_batch_setup(struct queue *q)
{
	struct queue_batch *b = calloc(1, sizeof(*b));
	size_t tag_bytes = (q->depth < QB_TAGS_PER_CQE ? q->depth : QB_TAGS_PER_CQE) * 2U;

	if (!b)
		return -ENOMEM;
	q->batch_state = b;
	b->entries = qb_pow2(q->depth);
	b->buf_bytes = (unsigned)((tag_bytes + 15) / 16 * 16);
	b->ring_len = (size_t)b->entries * sizeof(struct io_uring_buf);
	b->owned = calloc(q->depth, 1);
	if (!b->owned)
		return -ENOMEM;
	for (unsigned i = 0; i < QB_FETCHES; i++) {
		b->fetch[i].br = qb_map(b->ring_len);
		b->fetch[i].bufs = qb_map((size_t)b->entries * b->buf_bytes);
		if (!b->fetch[i].br || !b->fetch[i].bufs)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < QB_COMMIT_BUFS; i++) {
		b->commit[i] = calloc(q->depth, sizeof(struct qb_elem));
		if (!b->commit[i])
			return -ENOMEM;
	}
	return 0;
}

/* Gives buffer bid of fetch i back to its ring. */
static void qb_provide(struct queue_batch *b, unsigned i, unsigned bid)
{
	struct qb_fetch *f = &b->fetch[i];

	io_uring_buf_ring_add(f->br, f->bufs + (size_t)bid * b->buf_bytes, b->buf_bytes,
			      (unsigned short)bid, io_uring_buf_ring_mask(b->entries), 0);
	io_uring_buf_ring_advance(f->br, 1);
}

/* (Re)registers the buffer ring of fetch i, every buffer in it: 0 or
 * -errno. Only while that FETCH is not armed. */
static int qb_ring_register(struct queue *q, unsigned i)
{
	struct queue_batch *b = qb_of(q);
	struct qb_fetch *f = &b->fetch[i];
	struct io_uring_buf_reg reg;
	int ret;

	if (f->registered) {
		ret = io_uring_unregister_buf_ring(&q->ring, (int)i);
		if (ret < 0)
			return ret;	/* still the kernel's: tried again later */
		f->registered = false;
	}
	memset(f->br, 0, b->ring_len);
	io_uring_buf_ring_init(f->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)f->br;
	reg.ring_entries = b->entries;
	reg.bgid = (uint16_t)i;
	ret = io_uring_register_buf_ring(&q->ring, &reg, 0);
	if (ret < 0)
		return ret;
	f->registered = true;
	for (unsigned bid = 0; bid < b->entries; bid++)
		io_uring_buf_ring_add(f->br, f->bufs + (size_t)bid * b->buf_bytes, b->buf_bytes,
				      (unsigned short)bid, io_uring_buf_ring_mask(b->entries),
				      (int)bid);
	io_uring_buf_ring_advance(f->br, (int)b->entries);
	f->fresh = true;
	return 0;
}

/* Fills the SQE of a batch command on q. */
static void qb_cmd(struct queue *q, struct io_uring_sqe *sqe, uint32_t op, uint64_t ud,
		   const void *elems, unsigned nr, unsigned elem_bytes, unsigned flags)
{
	struct ublk_batch_io *cmd = (struct ublk_batch_io *)sqe->cmd;

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->cdev_fd;
	sqe->cmd_op = op;
	sqe->user_data = ud;
	sqe->addr = (uint64_t)(uintptr_t)elems;
	sqe->len = nr * elem_bytes;
	cmd->q_id = q->id;
	cmd->flags = (uint16_t)flags;
	cmd->nr_elem = (uint16_t)nr;
	cmd->elem_bytes = (uint8_t)elem_bytes;
}

/* Queues FETCH_IO_CMDS i: 0 or -EBUSY (no SQE). */
static int qb_arm(struct queue *q, unsigned i)
{
	struct queue_batch *b = qb_of(q);
	struct io_uring_sqe *sqe = queue_sqe(q);

	if (!sqe)
		return -EBUSY;
	qb_cmd(q, sqe, UBLK_U_IO_FETCH_IO_CMDS, qb_ud(QB_FETCH, i), NULL,
	       b->buf_bytes / 2, sizeof(__u16), 0);
	sqe->flags = IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)i;
	sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
	b->fetch[i].armed = true;
	b->fetch[i].fresh = false;
	queue_count(&q->active, 1);
	q->queued++;
	return 0;
}

/* Sends PREP_IO_CMDS for every tag of q and waits for its answer, which
 * the kernel gives inline: 0 or -errno. */
static int qb_prep(struct queue *q)
{
	struct queue_batch *b = qb_of(q);
	struct qb_elem *e = b->commit[0];	/* no commit before the prep */
	struct io_uring_sqe *sqe = queue_sqe(q);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	for (unsigned tag = 0; tag < q->depth; tag++) {
		memset(&e[tag], 0, sizeof(e[tag]));
		e[tag].h.tag = (uint16_t)tag;
		e[tag].buf_addr = (uint64_t)(uintptr_t)queue_buf(q, tag);
	}
	qb_cmd(q, sqe, UBLK_U_IO_PREP_IO_CMDS, qb_ud(QB_PREP, 0), e, q->depth,
	       sizeof(*e), UBLK_BATCH_F_HAS_BUF_ADDR);
	ret = io_uring_submit_and_wait(&q->ring, 1);
	q->queued = 0;
	if (ret < 0)
		return ret;
	ret = io_uring_peek_cqe(&q->ring, &cqe);
	if (ret < 0)
		return ret;
	if (cqe->user_data != qb_ud(QB_PREP, 0)) {
		log_error("queue %u: PREP_IO_CMDS: another completion came first", q->id);
		return -EPROTO;
	}
	ret = cqe->res;
	io_uring_cqe_seen(&q->ring, cqe);
	return ret;
}

/* On the thread serving q: registers the fetch buffer rings, sends
 * PREP_IO_CMDS for every tag and waits for its answer (it comes inline),
 * then queues the FETCH_IO_CMDS. 0 or -errno (the kernel's refusal). */
int queue_batch_start(struct queue *q)
{
	int ret;

	for (unsigned i = 0; i < QB_FETCHES; i++) {
		ret = qb_ring_register(q, i);
		if (ret < 0) {
			log_errno(ret, "queue %u: registering the fetch buffer ring", q->id);
			return ret;
		}
	}
	ret = qb_prep(q);
	if (ret < 0) {
		log_errno(ret, "queue %u: PREP_IO_CMDS", q->id);
		return ret;
	}
	for (unsigned i = 0; i < QB_FETCHES; i++) {
		ret = qb_arm(q, i);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Notes the result of a tag's request, committed at the next flush. */
void queue_batch_commit(struct queue *q, unsigned tag, int result)
{
	struct queue_batch *b = qb_of(q);
	struct qb_elem *e;

	if (!b->owned[tag]) {
		log_error("queue %u tag %u: a result for a request the kernel did not hand us",
			  q->id, tag);
		return;
	}
	if (b->nr >= q->depth) {	/* each tag is in the array at most once */
		log_error("queue %u: more results than tags; tag %u dropped", q->id, tag);
		return;
	}
	b->owned[tag] = 0;
	e = &b->commit[b->cur][b->nr++];
	e->h.tag = (uint16_t)tag;
	e->h.buf_index = 0;
	e->h.result = result;
	e->buf_addr = (uint64_t)(uintptr_t)queue_buf(q, tag);
}

/* Arms again, with a full buffer ring, fetch i, which ran out of buffers
 * (its tags wait in the kernel). When the ring takes no SQE (queue_sqe
 * then armed the retry timer) or the buffer ring cannot be registered
 * (logged once until it is; the retry timer is armed), it stays marked and
 * the next flush, the timer's or the loop's, tries again. */
static void qb_rearm(struct queue *q, unsigned i)
{
	struct qb_fetch *f = &qb_of(q)->fetch[i];
	int ret;

	if (qb_of(q)->aborted || f->armed) {
		f->rearm = false;
		return;
	}
	ret = f->fresh ? 0 : qb_ring_register(q, i);
	if (ret == 0)
		ret = qb_arm(q, i);
	f->rearm = ret < 0;
	if (!f->rearm)
		f->rearm_logged = false;
	if (ret == 0 || ret == -EBUSY)	/* armed, or queue_sqe armed the timer */
		return;
	if (!f->rearm_logged)
		log_errno(ret, "queue %u: registering the buffer ring of FETCH_IO_CMDS %u again",
			  q->id, i);
	f->rearm_logged = true;
	queue_flush_later(q);
}

/* Arms again the FETCHes that ran out of buffers, then queues one
 * COMMIT_IO_CMDS for the results noted since the last one. The array
 * stays the kernel's until its CQE; when no other array is free the
 * results wait for the next flush (that CQE is already in the ring, since
 * the kernel answers commits inline). */
void queue_batch_flush(struct queue *q)
{
	struct queue_batch *b = qb_of(q);
	struct io_uring_sqe *sqe;
	unsigned next = QB_COMMIT_BUFS;

	if (!b)
		return;
	for (unsigned i = 0; i < QB_FETCHES; i++)
		if (b->fetch[i].rearm)
			qb_rearm(q, i);
	if (!b->nr)
		return;
	for (unsigned i = 1; i < QB_COMMIT_BUFS && next == QB_COMMIT_BUFS; i++)
		if (!b->commit_nr[(b->cur + i) % QB_COMMIT_BUFS])
			next = (b->cur + i) % QB_COMMIT_BUFS;
	if (next == QB_COMMIT_BUFS)
		return;
	sqe = queue_sqe(q);
	if (!sqe)
		return;
	qb_cmd(q, sqe, UBLK_U_IO_COMMIT_IO_CMDS, qb_ud(QB_COMMIT, b->cur), b->commit[b->cur],
	       b->nr, sizeof(struct qb_elem), UBLK_BATCH_F_HAS_BUF_ADDR);
	b->commit_nr[b->cur] = (uint16_t)b->nr;
	q->queued++;
	b->cur = next;
	b->nr = 0;
}

/* A COMMIT_IO_CMDS answered: free its array; results the kernel did not
 * take (it stops at the first element it refuses) are noted again, but
 * the refused one, which cannot be ours. */
static void qb_committed(struct queue *q, unsigned idx, int res)
{
	struct queue_batch *b = qb_of(q);
	unsigned sent = b->commit_nr[idx], done;
	struct qb_elem *e = b->commit[idx];

	b->commit_nr[idx] = 0;
	if (res >= 0 && (unsigned)res == sent * sizeof(*e))
		return;
	done = res < 0 ? 0 : (unsigned)res / sizeof(*e);
	if (done < sent)
		log_error("queue %u: COMMIT_IO_CMDS took %u of %u results, refusing tag %u: %s",
			  q->id, done, sent, e[done].h.tag, res < 0 ? strerror(-res) : "partial");
	for (unsigned i = done + 1; i < sent; i++) {
		b->owned[e[i].h.tag] = 1;
		queue_batch_commit(q, e[i].h.tag, e[i].h.result);
	}
}

/* Serves the tags a FETCH delivered in buffer bid of fetch i, then gives
 * the buffer back. */
static void qb_deliver(struct queue *q, unsigned i, unsigned bid, int res)
{
	struct queue_batch *b = qb_of(q);
	const uint16_t *tags;
	unsigned n;

	if (bid >= b->entries) {
		log_error("queue %u: FETCH_IO_CMDS named buffer %u of %u", q->id, bid, b->entries);
		return;
	}
	tags = (const uint16_t *)(b->fetch[i].bufs + (size_t)bid * b->buf_bytes);
	n = res > 0 ? (unsigned)res / 2 : 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned tag = tags[k];

		if (tag >= q->depth || b->owned[tag]) {
			log_error("queue %u: FETCH_IO_CMDS delivered tag %u, %s", q->id, tag,
				  tag >= q->depth ? "beyond the depth" : "which is ours already");
			continue;
		}
		b->owned[tag] = 1;
		queue_serve(q, tag);
	}
	qb_provide(b, i, bid);
}

/* The kernel cancelled the queue's FETCHes: it hands out nothing more, so
 * none counts as held any longer (the one it may keep armed is cancelled
 * when the ring is closed). */
static void qb_abort(struct queue *q)
{
	struct queue_batch *b = qb_of(q);

	b->aborted = true;
	for (unsigned i = 0; i < QB_FETCHES; i++) {
		if (b->fetch[i].armed) {
			b->fetch[i].armed = false;
			queue_count(&q->active, -1);
		}
	}
}

/* A FETCH_IO_CMDS ended (no F_MORE) with res. */
static void qb_fetch_ended(struct queue *q, unsigned i, int res)
{
	struct queue_batch *b = qb_of(q);

	if (b->fetch[i].armed) {
		b->fetch[i].armed = false;
		queue_count(&q->active, -1);
	}
	if (b->aborted)
		return;
	if (res == UBLK_IO_RES_ABORT) {
		qb_abort(q);
		return;
	}
	if (res != -ENOBUFS) {
		log_error("queue %u: FETCH_IO_CMDS ended: %s", q->id,
			  res < 0 ? strerror(-res) : "without an error");
		return;
	}
	/* No buffer was left, or a CQE found no room (its buffer is lost):
	 * the tags wait in the kernel; start over with a full ring. */
	log_debug("queue %u: FETCH_IO_CMDS ran out of buffers; arming it again", q->id);
	qb_rearm(q, i);
}

/* The user_data of FETCH_IO_CMDS i. */
uint64_t queue_batch_fetch_ud(unsigned i)
{
	return qb_ud(QB_FETCH, i);
}

/* Handles the CQE of a batch command (user_data ud). */
void queue_batch_cqe(struct queue *q, uint64_t ud, int res, unsigned flags)
{
	unsigned kind = (unsigned)(ud >> 16) & 0xff, idx = (unsigned)ud & 0xffff;

	switch (kind) {
	case QB_COMMIT:
		if (idx < QB_COMMIT_BUFS)
			qb_committed(q, idx, res);
		return;
	case QB_FETCH:
		if (idx >= QB_FETCHES)
			break;
		if (flags & IORING_CQE_F_BUFFER)
			qb_deliver(q, idx, flags >> IORING_CQE_BUFFER_SHIFT, res);
		if (!(flags & IORING_CQE_F_MORE))
			qb_fetch_ended(q, idx, res);
		return;
	default:
		break;
	}
	log_error("queue %u: completion of an unknown batch command 0x%llx (%d)", q->id,
		  (unsigned long long)ud, res);
}

/* Frees the batch state (after the ring is closed). */
void queue_batch_teardown(struct queue *q)
{
	struct queue_batch *b = qb_of(q);

	if (!b)
		return;
	for (unsigned i = 0; i < QB_FETCHES; i++) {
		if (b->fetch[i].br)
			munmap(b->fetch[i].br, b->ring_len);
		if (b->fetch[i].bufs)
			munmap(b->fetch[i].bufs, (size_t)b->entries * b->buf_bytes);
	}
	for (unsigned i = 0; i < QB_COMMIT_BUFS; i++)
		free(b->commit[i]);
	free(b->owned);
	free(b);
	q->batch_state = NULL;
}
