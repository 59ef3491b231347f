/* Giving a live device's block node to the user that added it. */
#include "config.h"
#include "daemon/device_node.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static mode_t device_node_mode = 0600;

/* The mode a user's block node gets. */
void device_node_set_mode(mode_t mode)
{
	device_node_mode = mode;
}

/* Chowns and chmods /dev/ublkbN for its owner, through one descriptor so
 * that both reach the same node. */
int device_node_give(uint32_t id, uint32_t uid, uint32_t gid)
{
	char path[32];
	struct stat st;
	int fd, ret = 0;

	if (uid == 0 || geteuid() != 0)
		return 0;
	snprintf(path, sizeof(path), "/dev/ublkb%u", id);
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode))
		ret = fd < 0 ? -errno : -ENOTBLK;
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		ret = -errno;
	else {
		char proc[64];

		/* fchmod refuses an O_PATH descriptor: go through its link. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (chmod(proc, device_node_mode) < 0)
			ret = -errno;
	}
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		log_error("device %u: cannot give %s to uid %u: %s", id, path, uid, strerror(-ret));
	else
		log_info("device %u: %s belongs to uid %u:%u, mode %04o", id, path, uid, gid,
			 (unsigned)device_node_mode);
	return ret;
}
