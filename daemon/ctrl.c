/* The control ring: asynchronous ublk control commands. */
#include "config.h"
#include "daemon/ctrl.h"
#include "daemon/ringwatch.h"
#include "common/log.h"
#include "common/ublk_uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTRL_RING_ENTRIES 32
/* The bytes before the payload that name /dev/ublkcN, NUL-padded, in every
 * command on a user's (UBLK_F_UNPRIVILEGED_DEV) device but ADD_DEV and
 * GET_FEATURES: the kernel checks the caller's access to that node. */
#define CTRL_PATH_SLOT	32

/* One command in flight. Its buffer is ours, so a caller that gave up after
 * a time-out may free its own copy while the kernel still writes to this. */
struct ctrl_req {
	struct ctrl *ctrl;
	unsigned nr;
	uint32_t dev_id;
	void *user_buf;
	uint16_t len;
	uint16_t path_len;	/* buf starts with the ublkc path, this long */
	ctrl_done_fn fn;
	void *arg;
	bool abandoned;
	double timeout;
	ev_timer timer;
	struct ctrl_req *next;
	uint8_t buf[];
};

struct ctrl {
	struct ev_loop *loop;
	int fd;
	struct io_uring ring;
	ev_io watcher;
	uint64_t features;
	bool ioctl_encoded;
	unsigned pending;
	struct ctrl_req *reqs;	/* every request not yet answered by the kernel */
};

/* Every control command by its number: its name for logs and its opcode in
 * the ioctl encoding, both from the kernel's UBLK_U_CMD_* definitions. */
#define CTRL_CMD(cmd) [_IOC_NR(UBLK_U_CMD_##cmd)] = { #cmd, UBLK_U_CMD_##cmd }
static const struct {
	const char *name;
	uint32_t op;
} ctrl_cmds[] = {
	CTRL_CMD(GET_QUEUE_AFFINITY),
	CTRL_CMD(GET_DEV_INFO),
	CTRL_CMD(ADD_DEV),
	CTRL_CMD(DEL_DEV),
	CTRL_CMD(START_DEV),
	CTRL_CMD(STOP_DEV),
	CTRL_CMD(SET_PARAMS),
	CTRL_CMD(GET_PARAMS),
	CTRL_CMD(START_USER_RECOVERY),
	CTRL_CMD(END_USER_RECOVERY),
	CTRL_CMD(GET_DEV_INFO2),
	CTRL_CMD(GET_FEATURES),
	CTRL_CMD(DEL_DEV_ASYNC),
	CTRL_CMD(UPDATE_SIZE),
	CTRL_CMD(QUIESCE_DEV),
	CTRL_CMD(TRY_STOP_DEV),
	CTRL_CMD(REG_BUF),
	CTRL_CMD(UNREG_BUF),
};

/* True if nr is a command in ctrl_cmds. */
static bool ctrl_known(unsigned nr)
{
	return nr < sizeof(ctrl_cmds) / sizeof(ctrl_cmds[0]) && ctrl_cmds[nr].name;
}

/* Names a control command for log messages. */
const char *ctrl_cmd_name(unsigned nr)
{
	return ctrl_known(nr) ? ctrl_cmds[nr].name : "UNKNOWN";
}

/* Returns the opcode for command nr in the encoding the kernel takes. */
uint32_t ctrl_opcode(bool ioctl_encoded, unsigned nr)
{
	/* GET_FEATURES and the commands after it exist only ioctl-encoded. */
	if (!ioctl_encoded && nr <= UBLK_CMD_GET_DEV_INFO2)
		return nr;
	if (ctrl_known(nr))
		return ctrl_cmds[nr].op;
	return _IOWR('u', nr, struct ublksrv_ctrl_cmd);
}

/* Fills an SQE128 slot with a control command. */
static void ctrl_prep(struct ctrl *c, struct io_uring_sqe *sqe, unsigned nr,
		      uint32_t dev_id, void *buf, uint16_t len, uint64_t data0,
		      uint16_t path_len)
{
	struct ublksrv_ctrl_cmd *cmd = (struct ublksrv_ctrl_cmd *)sqe->cmd;
	uint32_t op = ctrl_opcode(c->ioctl_encoded, nr);

	/* An SQE128 slot: the command area runs 80 bytes from byte 48. */
	memset(sqe, 0, sizeof(*sqe));
	memset(sqe->cmd, 0, 128 - 48);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	sqe->cmd_op = op;
	cmd->dev_id = dev_id;
	cmd->queue_id = (uint16_t)-1;
	cmd->len = len;
	cmd->addr = (uint64_t)(uintptr_t)buf;
	cmd->data[0] = data0;
	cmd->dev_path_len = path_len;
}

/* Unlinks a request from the pending list. */
static void ctrl_unlink(struct ctrl *c, struct ctrl_req *r)
{
	for (struct ctrl_req **p = &c->reqs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			return;
		}
	}
}

/* Handles one CQE: hands the answer to its caller unless it was abandoned. */
static void ctrl_complete(struct ctrl *c, struct ctrl_req *r, int res)
{
	ctrl_unlink(c, r);
	c->pending--;
	if (!r->abandoned) {
		ev_timer_stop(c->loop, &r->timer);
		if (r->user_buf && r->len)
			memcpy(r->user_buf, r->buf + r->path_len, r->len);
		log_debug("%s dev %u: %d", ctrl_cmd_name(r->nr), r->dev_id, res);
		r->fn(r->arg, res);
	} else {
		log_warn("%s for device %u answered %d after its time-out",
			 ctrl_cmd_name(r->nr), r->dev_id, res);
	}
	free(r);
}

/* Drains the control ring's completions. */
static void ctrl_reap(struct ctrl *c)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&c->ring, &cqe) == 0) {
		struct ctrl_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&c->ring, cqe);
		if (r)	/* else the NOP of a refused submit */
			ctrl_complete(c, r, res);
	}
}

/* The eventfd fired: clear it, then reap. */
static void ctrl_on_event(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctrl *c = w->data;

	(void)loop;
	(void)revents;
	ringwatch_clear(w);
	ctrl_reap(c);
}

/* A command's time-out expired: tell the caller and keep the buffer. */
static void ctrl_on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctrl_req *r = w->data;

	(void)loop;
	(void)revents;
	log_error("%s for device %u: no answer from the kernel in %.0f s",
		  ctrl_cmd_name(r->nr), r->dev_id, r->timeout);
	r->abandoned = true;
	r->fn(r->arg, -ETIMEDOUT);
}

/* True if command nr must name /dev/ublkcN: a ublkd without root makes
 * only UBLK_F_UNPRIVILEGED_DEV devices, and every command on them but
 * ADD_DEV and GET_FEATURES carries the path. */
static bool ctrl_path_needed(unsigned nr)
{
	return geteuid() != 0 && nr != UBLK_CMD_ADD_DEV &&
	       nr != _IOC_NR(UBLK_U_CMD_GET_FEATURES);
}

/* Sends one command; see ctrl.h. */
int ctrl_submit(struct ctrl *c, unsigned nr, uint32_t dev_id, void *buf,
		uint16_t len, uint64_t data0, double timeout,
		ctrl_done_fn fn, void *arg)
{
	uint16_t path_len = ctrl_path_needed(nr) ? CTRL_PATH_SLOT : 0;
	struct io_uring_sqe *sqe;
	struct ctrl_req *r;
	int ret;

	r = calloc(1, sizeof(*r) + path_len + len);
	if (!r)
		return -ENOMEM;
	r->path_len = path_len;
	if (path_len)
		snprintf((char *)r->buf, path_len, "/dev/ublkc%u", dev_id);
	r->ctrl = c;
	r->nr = nr;
	r->dev_id = dev_id;
	r->user_buf = buf;
	r->len = len;
	r->fn = fn;
	r->arg = arg;
	r->timeout = timeout;
	if (buf && len)
		memcpy(r->buf + path_len, buf, len);
	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe) {
		/* The SQ is full of NOPs that refused submits left: send them. */
		io_uring_submit(&c->ring);
		sqe = io_uring_get_sqe(&c->ring);
	}
	if (!sqe) {
		free(r);
		return -EBUSY;
	}
	ctrl_prep(c, sqe, nr, dev_id, len || path_len ? r->buf : NULL, len + path_len, data0,
		  path_len);
	io_uring_sqe_set_data(sqe, r);
	ret = io_uring_submit(&c->ring);
	if (ret < 0) {
		/* The kernel took nothing, but the SQE stays queued for the
		 * next submit: make it a NOP that points at nothing. */
		memset(sqe, 0, 128);
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data(sqe, NULL);
		free(r);
		return ret;
	}
	r->next = c->reqs;
	c->reqs = r;
	c->pending++;
	ev_timer_init(&r->timer, ctrl_on_timeout, timeout, 0.);
	r->timer.data = r;
	if (timeout > 0)
		ev_timer_start(c->loop, &r->timer);
	log_debug("%s dev %u submitted", ctrl_cmd_name(nr), dev_id);
	return 0;
}

/* Sends GET_FEATURES and waits for it; safe before any device exists. */
static int ctrl_probe(struct ctrl *c)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	uint64_t features = 0;
	int ret;

	c->ioctl_encoded = true;
	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe)
		return -EBUSY;
	ctrl_prep(c, sqe, _IOC_NR(UBLK_U_CMD_GET_FEATURES), (uint32_t)-1, &features,
		  sizeof(features), 0, 0);
	io_uring_sqe_set_data(sqe, NULL);
	ret = io_uring_submit_and_wait(&c->ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&c->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	if (ret == 0) {
		c->features = features;
	} else {
		/* Kernels before 6.5 have no GET_FEATURES: use legacy numbers. */
		log_info("GET_FEATURES: %s; using legacy command numbers", strerror(-ret));
		c->features = 0;
		c->ioctl_encoded = false;
	}
	return 0;
}

/* Opens the control device and ring and probes the driver's features. */
int ctrl_open(struct ev_loop *loop, struct ctrl **out)
{
	int fd = open(UBLK_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return ctrl_open_fd(loop, fd, out);
}

/* Sets up the ring on an open control device fd (closed on failure) and
 * probes the driver's features. */
int ctrl_open_fd(struct ev_loop *loop, int fd, struct ctrl **out)
{
	struct ctrl *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->loop = loop;
	c->fd = fd;
	ret = io_uring_queue_init(CTRL_RING_ENTRIES, &c->ring, IORING_SETUP_SQE128);
	if (ret < 0) {
		log_errno(ret, "control ring setup");
		goto fail_fd;
	}
	ret = ctrl_probe(c);
	if (ret < 0)
		goto fail_ring;
	ret = ringwatch_start(loop, &c->ring, &c->watcher, ctrl_on_event, c);
	if (ret < 0)
		goto fail_ring;
	log_info("ublk driver features 0x%llx (%s command numbers)",
		 (unsigned long long)c->features,
		 c->ioctl_encoded ? "ioctl-encoded" : "legacy");
	*out = c;
	return 0;
fail_ring:
	io_uring_queue_exit(&c->ring);
fail_fd:
	close(c->fd);
	free(c);
	return ret;
}

/* Releases the ring; commands still in the kernel are abandoned. */
void ctrl_close(struct ctrl *c)
{
	if (!c)
		return;
	ringwatch_stop(c->loop, &c->watcher);
	while (c->reqs) {
		struct ctrl_req *r = c->reqs;

		c->reqs = r->next;
		ev_timer_stop(c->loop, &r->timer);
		free(r);
	}
	io_uring_queue_exit(&c->ring);
	close(c->fd);
	free(c);
}

/* Features from GET_FEATURES (0 when the kernel has no such command). */
uint64_t ctrl_features(const struct ctrl *c)
{
	return c->features;
}

/* True when commands are sent in their ioctl encoding. */
bool ctrl_ioctl_encoded(const struct ctrl *c)
{
	return c->ioctl_encoded;
}

/* Number of commands sent and not yet answered. */
unsigned ctrl_pending(const struct ctrl *c)
{
	return c->pending;
}
