/* ublkd-node-owner NAME: prints "UID GID", the owner the kernel recorded for
 * the ublk device whose node is NAME (ublkcN or ublkbN), when that device is
 * a user's (UBLK_F_UNPRIVILEGED_DEV); exits 1 for a device of root's, 2 on
 * an error. udev/70-ublkd.rules gives the node to that owner with it. */
#include "config.h"
#include "common/ublk_uapi.h"
#include "daemon/ctrl.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The ublkc path the command carries, NUL-padded, then the device info. */
struct node_owner_buf {
	char path[32];
	struct ublksrv_ctrl_dev_info info;
};

/* Sends GET_DEV_INFO2 for device id into buf: 0 or -errno. */
static int node_owner_query(unsigned id, struct node_owner_buf *buf)
{
	struct ublksrv_ctrl_cmd *cmd;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd, ret;

	fd = open(UBLK_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = io_uring_queue_init(2, &ring, IORING_SETUP_SQE128);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	snprintf(buf->path, sizeof(buf->path), "/dev/ublkc%u", id);
	sqe = io_uring_get_sqe(&ring);
	if (!sqe) {
		io_uring_queue_exit(&ring);
		close(fd);
		return -EBUSY;
	}
	/* An SQE128 slot: the command area runs 80 bytes from byte 48. */
	memset(sqe, 0, sizeof(*sqe));
	memset(sqe->cmd, 0, 128 - 48);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = UBLK_U_CMD_GET_DEV_INFO2;
	cmd = (struct ublksrv_ctrl_cmd *)sqe->cmd;
	cmd->dev_id = id;
	cmd->queue_id = (uint16_t)-1;
	cmd->addr = (uint64_t)(uintptr_t)buf;
	cmd->len = sizeof(*buf);
	cmd->dev_path_len = sizeof(buf->path);
	ret = io_uring_submit_and_wait(&ring, 1);
	if (ret >= 0)
		ret = io_uring_wait_cqe(&ring, &cqe);
	if (ret >= 0) {
		ret = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	close(fd);
	return ret < 0 ? ret : 0;
}

/* Prints the owner of the user's device NAME names. */
int main(int argc, char **argv)
{
	struct node_owner_buf buf;
	unsigned id;
	char kind, end;
	int ret;

	if (argc != 2 || sscanf(argv[1], "ublk%c%u%c", &kind, &id, &end) != 2 ||
	    (kind != 'b' && kind != 'c')) {
		fprintf(stderr, "usage: ublkd-node-owner ublkcN|ublkbN\n");
		return 2;
	}
	memset(&buf, 0, sizeof(buf));
	ret = node_owner_query(id, &buf);
	if (ret < 0) {
		fprintf(stderr, "ublkd-node-owner: device %u: %s\n", id, strerror(-ret));
		return 2;
	}
	if (!(buf.info.flags & UBLK_F_UNPRIVILEGED_DEV))
		return 1;
	printf("%u %u\n", buf.info.owner_uid, buf.info.owner_gid);
	return 0;
}
