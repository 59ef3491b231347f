/* device_add under the peer's credentials (add_creds.h). */
#include "config.h"
#include "daemon/add_creds.h"
#include "daemon/access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The most supplementary groups add_creds_open_as puts back. */
#define ADD_CREDS_MAX_GROUPS	256

/* The backend whose devices count against the mem quota. */
#define ADD_CREDS_MEM_BACKEND	"mem"

/* Names the file behind fd, as this process sees it. */
void add_creds_fd_name(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n <= 0)
		snprintf(buf, len, "(descriptor passed by the client)");
	else
		buf[n] = '\0';
}

/* Takes the descriptor spec->fd_index names and makes it the backend's file. */
static int add_creds_take_fd(struct rpc_call *call, struct device_spec *spec,
			     struct add_creds_keep *keep, char *err, size_t errlen)
{
	struct backend_arg *a = &spec->args[spec->path_index];
	unsigned dropped, n = rpc_call_fds(call, &dropped);
	int fd = rpc_call_take_fd(call, (unsigned)spec->fd_index);

	if (fd < 0) {
		snprintf(err, errlen, "fd: %d names no descriptor: %u came with the request%s "
			 "(send them with the request line, SCM_RIGHTS, at most %d)",
			 spec->fd_index, n, dropped ? ", more were dropped" : "", CONTROL_MAX_FDS);
		return -EINVAL;
	}
	keep->fd = fd;
	add_creds_fd_name(fd, keep->name, sizeof(keep->name));
	a->given = true;
	a->passed = true;
	a->fd = fd;
	a->text = keep->name;
	return 0;
}

/* Applies the peer's credentials to spec. */
int add_creds_apply(struct rpc_call *call, struct device_spec *spec,
		    struct add_creds_keep *keep, char *err, size_t errlen)
{
	const struct control_peer *peer = rpc_call_peer(call);
	struct access_usage use;
	int ret;

	keep->fd = -1;
	keep->name[0] = '\0';
	spec->owner_uid = (uint32_t)peer->uid;
	spec->owner_gid = (uint32_t)peer->gid;
	spec->cfg.for_user = !access_daemon_wide(spec->owner_uid);
	if (spec->cfg.for_user && spec->backend->root_only) {
		snprintf(err, errlen, "%s: only root (or ublkd's own user) may add %s devices: %s",
			 spec->backend->name, spec->backend->name, spec->backend->root_only);
		return -EPERM;
	}
	if (spec->fd_index >= 0) {
		ret = add_creds_take_fd(call, spec, keep, err, errlen);
		if (ret < 0)
			return ret;
	} else if (!access_is_root(spec->owner_uid) && spec->path_index >= 0 &&
		   spec->args[spec->path_index].given) {
		snprintf(err, errlen, "%s: ublkd opens no file for uid %u, only for root; open "
			 "it yourself and pass the descriptor (\"fd\": 0 with SCM_RIGHTS), as "
			 "ublkctl does", spec->backend->params[spec->path_index].name,
			 spec->owner_uid);
		return -EINVAL;
	}
	device_usage(spec->owner_uid, ADD_CREDS_MEM_BACKEND, &use.devices, &use.mem);
	return access_quota_check(spec->owner_uid, &use,
				  strcmp(spec->backend->name, ADD_CREDS_MEM_BACKEND) == 0 ?
				  spec->cfg.size : 0, err, errlen);
}

/* Closes what add_creds_apply kept. */
void add_creds_release(struct add_creds_keep *keep)
{
	if (keep->fd >= 0)
		close(keep->fd);
	keep->fd = -1;
}

/* Opens path with uid:gid's rights: the fs ids and the groups of this
 * thread only (raw system calls; glibc's would change every thread). */
int add_creds_open_as(const char *path, bool read_only, uint32_t uid, uint32_t gid)
{
	gid_t groups[ADD_CREDS_MAX_GROUPS], one = (gid_t)gid;
	int n = getgroups(ADD_CREDS_MAX_GROUPS, groups);
	int fd = -EPERM;

	if (n < 0)
		return -errno;
	if (syscall(SYS_setgroups, 1, &one) < 0)
		return -errno;
	setfsgid((gid_t)gid);
	setfsuid((uid_t)uid);
	if ((uint32_t)setfsuid((uid_t)-1) == uid && (uint32_t)setfsgid((gid_t)-1) == gid) {
		fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			fd = -errno;
	}
	setfsuid(geteuid());
	setfsgid(getegid());
	syscall(SYS_setgroups, (size_t)n, groups);
	return fd;
}
