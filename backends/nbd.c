/* The nbd backend: a device served by an NBD server through libnbd's
 * asynchronous API, driven from the daemon's loop (no thread per request).
 * open checks the URL and starts the handshake of each connection; the add
 * waits for them (wait_ready), bounded by the timeout, and fails with the
 * server's message when it refuses. The device then advertises what the
 * server does: size, read-only, flush (with FUA), trim, zero. Requests are
 * pipelined on the connections (--connections N when the server offers
 * multi-conn, round robin from the request's queue); the requests of one
 * wakeup of a queue are sent together, on a corked socket. A connection that is
 * lost is reconnected in the background with back-off; its requests wait
 * for it and are issued again, and any request unanswered --timeout after
 * it came fails with EIO (a stuck connection is dropped then). */
#include "config.h"
#include "backends/nbd.h"
#include "backends/nbd_url.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBD_MAX_CONNECTIONS	16
#define NBD_MAX_RANGE		(1U << 30)	/* the largest trim or zero */
#define NBD_LOG_EVERY		10.0	/* seconds between logs of failures */
#define NBD_BLOCK_SIZE_MAX	4096	/* the largest --block-size */

/* The nbd backend's parameters: rows of nbd_params, slots of cfg->args. */
enum nbd_arg {
	NBD_ARG_URL,
	NBD_ARG_CONNECTIONS,
	NBD_ARG_TIMEOUT,
	NBD_ARG_STRUCTURED,
	NBD_ARG_COUNT,
};

static void nbd_on_tick(void *arg);

/* Calls done for cmd, and frees it once libnbd lets go of it too. */
static void nbd_cmd_end(struct nbd_cmd *cmd, int res)
{
	cmd->ended = true;
	cmd->done(cmd->ctx, res);
	if (!cmd->in_lib)
		free(cmd);
}

/* The result of a structured read answered with error (0 or an errno)
 * whose chunks covered covered of its len bytes: EIO when the server said
 * success without sending them all (libnbd checks that only in
 * nbd_aio_command_completed, not when a completion callback retires the
 * command). */
static int nbd_chunked_result(int error, uint64_t covered, uint64_t len)
{
	return error || covered == len ? error : EIO;
}

/* A chunk of a structured read's reply: counts the bytes it covers, and
 * zeroes a hole's range (libnbd 1.14 does too with pread_initialize off;
 * not relied on). */
static int nbd_cmd_chunk(void *user_data, const void *subbuf, size_t count, uint64_t offset,
			 unsigned status, int *error)
{
	struct nbd_cmd *cmd = user_data;

	(void)subbuf;
	(void)error;
	if (status == LIBNBD_READ_HOLE)
		memset((char *)cmd->req.buf + (offset - cmd->req.off), 0, count);
	if (status != LIBNBD_READ_ERROR)
		cmd->covered += count;
	return 0;
}

/* Logs a structured read whose reply left bytes out, rate-limited. */
static void nbd_log_short(struct nbd_cmd *cmd)
{
	struct nbdb *b = cmd->b;
	char more[64];

	if (nbd_log_pass(&b->short_log, b, more, sizeof(more)))
		log_error("nbd %s: a read of %" PRIu64 " bytes at %" PRIu64 " failed with EIO: "
			  "the server answered success with %" PRIu64 " bytes of data%s", b->url,
			  cmd->req.len, cmd->req.off, cmd->covered, more);
}

/* libnbd answered cmd (from inside a notify or close): keep the answer. */
static int nbd_cmd_answered(void *user_data, int *error)
{
	struct nbd_cmd *cmd = user_data;

	cmd->error = *error;
	if (cmd->chunked) {
		cmd->error = nbd_chunked_result(*error, cmd->covered, cmd->req.len);
		if (cmd->error != *error && *error != ENOTCONN)
			nbd_log_short(cmd);
	}
	if (cmd->conn) {
		cmd->lost = cmd->conn->closing || *error == ENOTCONN;
		TAILQ_REMOVE(&cmd->conn->issued, cmd, link);
		cmd->conn = NULL;
		TAILQ_INSERT_TAIL(&cmd->b->finished, cmd, link);
	}
	return 1;
}

/* libnbd lets go of cmd for good. */
static void nbd_cmd_released(void *user_data)
{
	struct nbd_cmd *cmd = user_data;

	cmd->in_lib = false;
	if (cmd->ended)
		free(cmd);
}

/* Sends the read cmd on c, whose replies are structured, counting what its
 * chunks cover. */
static int64_t nbd_issue_chunked(struct nbd_conn *c, struct nbd_cmd *cmd,
				 nbd_completion_callback cb)
{
	nbd_chunk_callback chunk = { .callback = nbd_cmd_chunk, .user_data = cmd };

	cmd->chunked = true;
	cmd->covered = 0;
	return nbd_aio_pread_structured(c->h, cmd->req.buf, cmd->req.len, cmd->req.off, chunk,
					cb, 0);
}

/* Sends cmd on c: 0, or -1 when c's handle refused it (c is broken). */
static int nbd_issue(struct nbd_conn *c, struct nbd_cmd *cmd)
{
	struct nbdb *b = c->b;
	nbd_completion_callback cb = { .callback = nbd_cmd_answered, .user_data = cmd,
				       .free = nbd_cmd_released };
	const struct backend_req *r = &cmd->req;
	uint32_t fl = 0;
	int64_t ret = -1;

	cmd->conn = c;
	cmd->issued_at = b->loop->now(b->loop);
	cmd->in_lib = true;
	cmd->error = 0;
	cmd->chunked = false;
	TAILQ_INSERT_TAIL(&c->issued, cmd, link);
	switch (r->op) {
	case BACKEND_REQ_READ:
		ret = c->structured ? nbd_issue_chunked(c, cmd, cb) :
		      nbd_aio_pread(c->h, r->buf, r->len, r->off, cb, 0);
		break;
	case BACKEND_REQ_WRITE:
		if ((r->flags & BACKEND_F_FUA) && b->can_fua)
			fl |= LIBNBD_CMD_FLAG_FUA;
		ret = nbd_aio_pwrite(c->h, r->buf, r->len, r->off, cb, fl);
		break;
	case BACKEND_REQ_FLUSH:
		ret = nbd_aio_flush(c->h, cb, 0);
		break;
	case BACKEND_REQ_DISCARD:
		ret = nbd_aio_trim(c->h, r->len, r->off, cb, 0);
		break;
	case BACKEND_REQ_WRITE_ZEROES:
		if (r->flags & BACKEND_F_NOUNMAP)
			fl |= LIBNBD_CMD_FLAG_NO_HOLE;
		ret = nbd_aio_zero(c->h, r->len, r->off, cb, fl);
		break;
	}
	if (ret < 0 && cmd->conn) {
		/* Not issued (libnbd has freed its side): the caller says
		 * whether it waits again or ends (nbd_refused). */
		TAILQ_REMOVE(&c->issued, cmd, link);
		cmd->conn = NULL;
		return -1;
	}
	return 0;
}

/* True when a line limited by rl may be logged now, with the count of
 * lines left out since the last one as a suffix in more. */
bool nbd_log_pass(struct ratelimit *rl, struct nbdb *b, char *more, size_t len)
{
	return ratelimit_pass_line(rl, b->loop->now(b->loop), more, len);
}

/* c's handle is dead or closed: fail c with libnbd's error (its requests
 * wait again and its reconnection is planned now). Also after a call that
 * succeeded: libnbd queued the command but its send failed, which the
 * next tick would otherwise find as "invalid state: DEAD". */
static void nbd_send_failed(struct nbd_conn *c)
{
	const char *msg = nbd_get_error();

	nbd_conn_fail(c, msg && msg[0] ? msg : "a send failed");
}

/* libnbd refused to send cmd on c (nbd_issue returned -1). A dead or
 * closed handle fails c and cmd waits for the next connection; a healthy
 * one refused cmd alone (strict mode: unaligned to the server's minimum
 * block size, or a command or flag the server did not advertise), which
 * then ends with libnbd's errno: resending it could only be refused again. */
static void nbd_refused(struct nbd_conn *c, struct nbd_cmd *cmd)
{
	struct nbdb *b = c->b;
	const char *msg = nbd_get_error();
	int err = nbd_get_errno();
	char more[64];

	if (nbd_aio_is_dead(c->h) || nbd_aio_is_closed(c->h)) {
		TAILQ_INSERT_HEAD(&b->waiting, cmd, link);
		nbd_send_failed(c);
		return;
	}
	if (!msg || !msg[0])
		msg = "send failed";
	cmd->error = err > 0 ? err : EIO;
	TAILQ_INSERT_TAIL(&b->finished, cmd, link);
	if (!nbd_log_pass(&b->refused_log, b, more, sizeof(more)))
		return;
	log_error("nbd %s: a %s of %" PRIu64 " bytes at %" PRIu64 " failed with %s: libnbd "
		  "refused to send it: %s%s", b->url, backend_req_op_name(cmd->req.op), cmd->req.len,
		  cmd->req.off, strerror(cmd->error), msg, more);
}

/* The connection for a request of queue: its own when ready, else the next
 * ready one; NULL when none is. */
static struct nbd_conn *nbd_pick(struct nbdb *b, unsigned queue)
{
	struct nbd_conn *c = &b->conns[queue % b->nconn];

	if (c->state == NBD_CONN_READY)
		return c;
	for (unsigned i = 0; i < b->nconn; i++) {
		c = &b->conns[b->rr++ % b->nconn];
		if (c->state == NBD_CONN_READY)
			return c;
	}
	return NULL;
}

/* Logs requests failed for want of the server, at most every 10 s. */
static void nbd_log_failed(struct nbdb *b)
{
	double now = b->loop->now(b->loop);

	if (!b->failed || now - b->failed_logged < NBD_LOG_EVERY)
		return;
	log_error("nbd %s: %lu requests failed with EIO: no answer from the server within "
		  "%.1f s", b->url, b->failed, b->timeout);
	b->failed = 0;
	b->failed_logged = now;
}

/* Ends the answered commands: a FUA write the server cannot FUA goes on
 * to its FLUSH; one lost with its connection waits again. */
static void nbd_drain(struct nbdb *b)
{
	struct nbd_cmd *cmd;

	while ((cmd = TAILQ_FIRST(&b->finished))) {
		TAILQ_REMOVE(&b->finished, cmd, link);
		if (cmd->lost) {
			cmd->lost = false;
			TAILQ_INSERT_TAIL(&b->waiting, cmd, link);
			continue;
		}
		if (!cmd->error && cmd->fua_flush) {
			cmd->fua_flush = false;
			cmd->req.op = BACKEND_REQ_FLUSH;
			TAILQ_INSERT_TAIL(&b->waiting, cmd, link);
			continue;
		}
		nbd_cmd_end(cmd, cmd->error ? -cmd->error : 0);
	}
}

/* Issues waiting commands on ready connections and ends answered ones.
 * Several to send: each connection's socket is corked meanwhile, so they
 * leave in one segment and the server wakes once for them. */
void nbd_progress(struct nbdb *b)
{
	struct nbd_cmd *cmd;
	bool touched[NBD_MAX_CONNECTIONS] = { false };
	bool corked[NBD_MAX_CONNECTIONS] = { false };
	bool several;

	nbd_drain(b);
	cmd = TAILQ_FIRST(&b->waiting);
	several = cmd && TAILQ_NEXT(cmd, link);
	while ((cmd = TAILQ_FIRST(&b->waiting))) {
		struct nbd_conn *c = nbd_pick(b, cmd->queue);

		if (!c)
			break;
		TAILQ_REMOVE(&b->waiting, cmd, link);
		touched[c->idx] = true;
		if (several && !corked[c->idx])
			corked[c->idx] = nbd_conn_cork(c, true);
		if (nbd_issue(c, cmd) < 0)
			nbd_refused(c, cmd);
		else if (nbd_aio_is_dead(c->h))
			nbd_send_failed(c);
	}
	for (unsigned i = 0; i < b->nconn; i++) {
		if (corked[i])
			nbd_conn_cork(&b->conns[i], false);
		if (touched[i])
			nbd_conn_rearm(&b->conns[i]);
	}
	nbd_drain(b);	/* what a failed connection answered as it closed */
	nbd_log_failed(b);
}

/* Fails the waiting requests that are past their deadline with EIO. */
static void nbd_expire(struct nbdb *b, double now)
{
	struct nbd_cmd *cmd, *next;

	/* A request the server has held for the whole timeout: the
	 * connection is stuck; dropping it makes libnbd let go of its
	 * buffers, and the request fails or waits again by its deadline.
	 * One sent late (it waited for a reconnection) gets the whole
	 * timeout too: a server that answers is not gone. */
	for (unsigned i = 0; i < b->nconn; i++) {
		struct nbd_conn *c = &b->conns[i];

		if (c->state != NBD_CONN_READY)
			continue;
		TAILQ_FOREACH(cmd, &c->issued, link) {
			if (now - cmd->issued_at >= b->timeout) {
				char why[128];

				snprintf(why, sizeof(why), "no reply for %.1f s", b->timeout);
				nbd_conn_fail(c, why);
				break;
			}
		}
	}
	nbd_drain(b);
	for (cmd = TAILQ_FIRST(&b->waiting); cmd; cmd = next) {
		next = TAILQ_NEXT(cmd, link);
		if (cmd->deadline > now)
			continue;
		TAILQ_REMOVE(&b->waiting, cmd, link);
		b->failed++;
		nbd_cmd_end(cmd, -EIO);
	}
}

/* Every tick: time out requests, reconnect what is due, give up slow
 * handshakes. */
static void nbd_on_tick(void *arg)
{
	struct nbdb *b = arg;
	double now = b->loop->now(b->loop);
	char err[512], where[256];

	b->tick = NULL;
	for (unsigned i = 0; i < b->nconn; i++) {
		struct nbd_conn *c = &b->conns[i];

		if (c->state == NBD_CONN_CONNECTING && c->deadline <= now) {
			nbd_conn_stuck_at(c, where, sizeof(where));
			snprintf(err, sizeof(err),
				 "connection %u: no answer to the handshake within %.1f s (%s)",
				 c->idx, b->timeout, where);
			nbd_conn_fail(c, err);
		} else if (c->state == NBD_CONN_IDLE && b->ready == 0 && c->next_attempt <= now &&
			   nbd_conn_connect(c, err, sizeof(err)) < 0) {
			nbd_conn_fail(c, err);
		}
	}
	nbd_expire(b, now);
	nbd_progress(b);
	if (b->loop->timer_start(b->loop, nbd_tick(b->timeout), nbd_on_tick, b, &b->tick) < 0)
		log_error("nbd %s: out of memory for the timeout timer", b->url);
}

/* Takes a request: it waits, to be sent with the rest of its wakeup's
 * (nbd_unplug) or once a connection is ready. */
static int nbd_submit(void *priv, unsigned queue, const struct backend_req *req,
		      backend_done_fn done, void *ctx)
{
	struct nbdb *b = priv;
	struct nbd_cmd *cmd = calloc(1, sizeof(*cmd));

	if (!cmd)
		return -ENOMEM;
	cmd->b = b;
	cmd->req = *req;
	cmd->done = done;
	cmd->ctx = ctx;
	cmd->queue = queue;
	cmd->deadline = b->loop->now(b->loop) + b->timeout;
	cmd->fua_flush = req->op == BACKEND_REQ_WRITE && (req->flags & BACKEND_F_FUA) &&
			 !b->can_fua;
	TAILQ_INSERT_TAIL(&b->waiting, cmd, link);
	return 0;
}

/* The daemon handed over one wakeup's requests: send them together. */
static void nbd_unplug(void *priv, unsigned queue)
{
	(void)queue;
	nbd_progress(priv);
}

/* Says in err why a server whose minimum block size is min_block cannot
 * serve the device: libnbd would refuse every smaller request. */
static void nbd_block_size_refusal(const struct nbdb *b, int64_t min_block, char *err,
				   size_t errlen)
{
	if (min_block <= NBD_BLOCK_SIZE_MAX)
		/* ublkctl takes 512 or 4096; device_add any power of two
		 * between (a server's minimum is one). */
		snprintf(err, errlen, "the server's minimum block size is %" PRId64 " bytes, larger "
			 "than the device's block size %u: add the device with --block-size "
			 "4096 (device_add's block_size: %" PRId64 " to 4096)", min_block,
			 b->block_size, min_block);
	else
		snprintf(err, errlen, "the server's minimum block size is %" PRId64 " bytes, larger "
			 "than any block size ublkd serves (at most %d)", min_block,
			 NBD_BLOCK_SIZE_MAX);
}

/* A connection became ready: check the server against the device. */
int nbd_connected(struct nbdb *b, struct nbd_conn *c, char *err, size_t errlen)
{
	int64_t size = nbd_get_size(c->h);
	int64_t min_block = nbd_get_block_size(c->h, LIBNBD_SIZE_MINIMUM);
	bool ro = nbd_is_read_only(c->h) == 1;

	if (size < 0) {
		snprintf(err, errlen, "cannot read the export size: %s", nbd_get_error());
		return -EIO;
	}
	if (min_block > b->block_size) {
		nbd_block_size_refusal(b, min_block, err, errlen);
		return -EINVAL;
	}
	if (!b->known) {
		uint64_t usable = (uint64_t)size / b->block_size * b->block_size;

		if (usable == 0) {
			snprintf(err, errlen, "the export has %" PRId64 " bytes: less than one "
				 "block of %u", size, b->block_size);
			return -EINVAL;
		}
		if (usable != (uint64_t)size)
			log_warn("nbd %s: the export has %" PRId64 " bytes, not a multiple of "
				 "the block size %u: serving %" PRIu64, b->url, size,
				 b->block_size, usable);
		if (b->want_size && usable != b->want_size) {
			snprintf(err, errlen, "the export now has %" PRIu64 " bytes but the device "
				 "had %" PRIu64 ": not the same export", usable, b->want_size);
			return -EINVAL;
		}
		if (b->caps_saved && nbd_caps_check(b, c->h, err, errlen) < 0)
			return -EINVAL;
		/* A recovered device's kernel keeps its largest request. */
		if (nbd_caps_max_io(b, c->h, !b->want_size, err, errlen) < 0)
			return -EINVAL;
		b->size = usable;
		b->read_only = ro || b->want_ro;
		nbd_caps_take(b, c->h);
		b->known = true;
		return 0;
	}
	if ((uint64_t)size / b->block_size * b->block_size != b->size ||
	    (ro && !b->read_only)) {
		snprintf(err, errlen, "the server now serves %" PRId64 " bytes%s, not the "
			 "export of this device (%" PRIu64 " bytes%s)", size,
			 ro ? " read-only" : "", b->size, b->read_only ? " read-only" : "");
		return -EINVAL;
	}
	if (nbd_caps_check(b, c->h, err, errlen) < 0)
		return -EINVAL;
	return nbd_caps_max_io(b, c->h, false, err, errlen);
}

/* Calls the add's ready callback from the loop, as the last thing done. */
static void nbd_on_ready_timer(void *arg)
{
	struct nbdb *b = arg;

	b->ready_timer = NULL;
	backend_waiter_tell(&b->waiter, b->ready, b->ready < 0 ? b->ready_msg : NULL);
}

/* The add's wait is over: res 0, or -errno with msg. */
void nbd_ready_end(struct nbdb *b, int res, const char *msg)
{
	if (b->ready != 1)
		return;
	b->ready = res;
	if (res < 0)
		snprintf(b->ready_msg, sizeof(b->ready_msg), "%s: %s", b->url, msg);
	else if (b->nconn < b->nasked)
		log_warn("nbd %s: the server does not offer multi-conn: using 1 connection, "
			 "not %u", b->url, b->nasked);
	if (b->waiter.cb && !b->ready_timer &&
	    b->loop->timer_start(b->loop, 0, nbd_on_ready_timer, b, &b->ready_timer) < 0)
		log_error("nbd %s: out of memory for a timer", b->url);
}

/* Says whether the connections are up: 0, 1 after arranging for cb, or -errno. */
static int nbd_wait_ready(void *priv, backend_ready_fn cb, void *arg, char *err, size_t errlen)
{
	struct nbdb *b = priv;

	return backend_wait_ready(&b->waiter, b->ready, b->ready_msg, cb, arg, err, errlen);
}

/* Reports what the server advertised, for the device once ready. */
static void nbd_ready_geometry(void *priv, struct backend_geometry *geo)
{
	struct nbdb *b = priv;

	geo->size = b->size;
	geo->block_size = b->block_size;
	geo->read_only = b->read_only;
	geo->volatile_cache = b->can_flush;
	geo->max_discard_bytes = b->can_trim ? NBD_MAX_RANGE : 0;
	geo->max_write_zeroes_bytes = b->can_zero ? NBD_MAX_RANGE : 0;
	geo->max_io_bytes = b->max_io;
}

/* Releases everything: the connections, the timers, the device. */
static void nbd_close_backend(void *priv)
{
	struct nbdb *b = priv;
	struct nbd_cmd *cmd;

	b->loop->timer_stop(b->tick);
	b->loop->timer_stop(b->ready_timer);
	for (unsigned i = 0; b->conns && i < b->nasked; i++)
		nbd_conn_close(&b->conns[i]);
	/* Nothing is in flight when close is called; this is a safety net. */
	while ((cmd = TAILQ_FIRST(&b->waiting))) {
		TAILQ_REMOVE(&b->waiting, cmd, link);
		nbd_cmd_end(cmd, -EIO);
	}
	while ((cmd = TAILQ_FIRST(&b->finished))) {
		TAILQ_REMOVE(&b->finished, cmd, link);
		nbd_cmd_end(cmd, -EIO);
	}
	free(b->conns);
	free(b->url);
	free(b);
}

/* Checks the parameters and starts connecting; the add waits (wait_ready). */
static int nbd_open(void **priv, const struct backend_config *cfg,
		    struct backend_geometry *geo, char *err, size_t errlen)
{
	struct nbdb *b;
	const char *url = cfg->args[NBD_ARG_URL].text;
	const char *saved_size, *saved_caps, *saved_max_io;
	bool tls = false;
	double timeout;
	int ret;

	if (!cfg->loop) {
		snprintf(err, errlen, "needs the daemon's loop");
		return -EINVAL;
	}
	ret = nbd_url_check(url, cfg->for_user, &tls, err, errlen);
	if (ret == 0)
		ret = nbd_timeout_parse(cfg->args[NBD_ARG_TIMEOUT].text, &timeout, err, errlen);
	if (ret < 0)
		return ret;
	b = calloc(1, sizeof(*b));
	if (!b || !(b->url = strdup(url))) {
		free(b);
		return -ENOMEM;
	}
	b->tls = tls;
	b->structured = cfg->args[NBD_ARG_STRUCTURED].flag;
	b->local_files = !cfg->for_user;
	b->timeout = timeout;
	b->loop = cfg->loop;
	b->block_size = cfg->block_size;
	b->want_ro = cfg->read_only;
	b->ready = 1;
	TAILQ_INIT(&b->waiting);
	TAILQ_INIT(&b->finished);
	ratelimit_init(&b->refused_log, NBD_LOG_EVERY, 1);
	ratelimit_init(&b->refused_server_log, NBD_LOG_EVERY, 1);
	ratelimit_init(&b->short_log, NBD_LOG_EVERY, 1);
	saved_size = cfg->recovering ? backend_saved_get(cfg, "size") : NULL;
	if (saved_size)
		b->want_size = strtoull(saved_size, NULL, 10);
	saved_caps = cfg->recovering ? backend_saved_get(cfg, "caps") : NULL;
	if (saved_size && saved_caps)
		nbd_caps_restore(b, saved_caps);
	/* The largest request the kernel device was told of (a record
	 * without one: the daemon's, what the device then had). */
	b->max_io = cfg->max_io_bytes;
	saved_max_io = cfg->recovering ? backend_saved_get(cfg, "max_io") : NULL;
	if (saved_max_io) {
		unsigned long long m = strtoull(saved_max_io, NULL, 10);

		if (m >= NBD_MAX_IO_MIN && m < b->max_io)
			b->max_io = (uint32_t)(m / NBD_MAX_IO_MIN * NBD_MAX_IO_MIN);
	}
	b->nasked = cfg->args[NBD_ARG_CONNECTIONS].given ?
		    (unsigned)cfg->args[NBD_ARG_CONNECTIONS].bytes : 1;
	b->nconn = 1;	/* more once the server offers multi-conn */
	b->conns = calloc(b->nasked, sizeof(*b->conns));
	if (!b->conns) {
		nbd_close_backend(b);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < b->nasked; i++) {
		b->conns[i].b = b;
		b->conns[i].idx = i;
		TAILQ_INIT(&b->conns[i].issued);
	}
	/* A recovered device whose size was saved is ready at once: its
	 * requests wait for the server (up to the timeout, then EIO) as after
	 * a lost connection, and the first connection checks the export. A
	 * server that is down while the daemon restarts costs the device
	 * nothing; it serves again when the server is back. */
	if (b->want_size) {
		b->size = b->want_size;
		b->read_only = b->want_ro;
		b->ready = 0;
		for (unsigned i = 0; i < b->nasked; i++)
			b->conns[i].lost_at = b->loop->now(b->loop);
	}
	ret = nbd_conn_connect(&b->conns[0], err, errlen);
	if (ret < 0 && b->ready == 0) {
		nbd_conn_fail(&b->conns[0], err);	/* retried from the tick */
		ret = 0;
	}
	if (ret == 0)
		ret = b->loop->timer_start(b->loop, nbd_tick(timeout), nbd_on_tick, b, &b->tick);
	if (ret < 0) {
		nbd_close_backend(b);
		return ret;
	}
	/* Known once the server answers the handshake (nbd_ready_geometry). */
	memset(geo, 0, sizeof(*geo));
	geo->block_size = cfg->block_size;
	geo->read_only = cfg->read_only;
	*priv = b;
	return 0;
}

/* Once the first connection is up, opens the others the server allows. */
void nbd_more_connections(struct nbdb *b)
{
	char err[512];

	if (b->nasked < 2 || !b->multi_conn || b->nconn > 1)
		return;
	b->nconn = b->nasked;
	for (unsigned i = 1; i < b->nconn; i++)
		if (nbd_conn_connect(&b->conns[i], err, sizeof(err)) < 0)
			nbd_conn_fail(&b->conns[i], err);
}

/* Whether the replies are structured: as negotiated on the first
 * connection while it is up, else as asked. */
static bool nbd_structured(const struct nbdb *b)
{
	const struct nbd_conn *c = &b->conns[0];

	if (c->state == NBD_CONN_READY && c->h)
		return nbd_get_structured_replies_negotiated(c->h) == 1;
	return b->structured;
}

/* Reports the device's connection state. */
static void nbd_describe(void *priv, struct backend_report *r)
{
	struct nbdb *b = priv;
	unsigned up = 0, reconnects = 0;

	for (unsigned i = 0; i < b->nconn; i++) {
		up += b->conns[i].state == NBD_CONN_READY;
		reconnects += b->conns[i].reconnects;
	}
	r->text(r, "url", b->url);
	r->number(r, "connections", b->nconn);
	r->number(r, "connections_up", up);
	r->number(r, "reconnects", reconnects);
	r->real(r, "timeout", b->timeout);
	r->flag(r, "multi_conn", b->multi_conn);
	r->flag(r, "fua", b->can_fua);
	r->flag(r, "structured_replies", nbd_structured(b));
}

/* Saves what a recovery checks: the export's size and the largest request
 * and capabilities the kernel device was set up with (when known). */
static void nbd_save(void *priv, struct backend_report *r)
{
	struct nbdb *b = priv;
	char caps[128];

	if (b->known || b->want_size) {
		r->number(r, "size", b->size);
		r->number(r, "max_io", b->max_io);
	}
	if (b->known || b->caps_saved) {
		nbd_caps_names(b, caps, sizeof(caps));
		r->text(r, "caps", caps);
	}
}

static const struct backend_param nbd_params[] = {
	[NBD_ARG_URL] = { .name = "url", .type = BACKEND_PARAM_TEXT, .required = true,
		.metavar = "URL",
		.help = "the NBD server: nbd://HOST[:PORT][/EXPORT], nbd+unix:///EXPORT?socket=PATH, "
			"nbds:// for TLS" },
	[NBD_ARG_CONNECTIONS] = { .name = "connections", .type = BACKEND_PARAM_BYTES,
		.metavar = "N", .def = "1",
		.help = "connections to a server that offers multi-conn, queues spread over them",
		.min = 1, .max = NBD_MAX_CONNECTIONS },
	[NBD_ARG_TIMEOUT] = { .name = "timeout", .type = BACKEND_PARAM_TEXT, .metavar = "SECONDS",
		.def = "30",
		.help = "how long a request waits for an unreachable server before EIO" },
	[NBD_ARG_STRUCTURED] = { .name = "structured_replies", .type = BACKEND_PARAM_FLAG,
		.help = "ask the server for structured replies (default: simple replies, "
			"fewer reads per request, as the kernel's nbd client)" },
	[NBD_ARG_COUNT] = { .name = NULL },
};

const struct backend_ops backend_nbd = {
	.name = "nbd",
	.summary = "a remote export of an NBD server (libnbd)",
	.params = nbd_params,
	.open = nbd_open,
	.close = nbd_close_backend,
	.submit = nbd_submit,
	.unplug = nbd_unplug,
	.wait_ready = nbd_wait_ready,
	.ready_geometry = nbd_ready_geometry,
	.describe = nbd_describe,
	.save = nbd_save,
};
