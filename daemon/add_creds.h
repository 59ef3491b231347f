/* device_add under the peer's credentials: binds a passed descriptor to the
 * backend's file, refuses a path from a peer other than root, sets the
 * owner and holds the peer to its quota. */
#ifndef UBLKD_ADD_CREDS_H
#define UBLKD_ADD_CREDS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/device.h"
#include "daemon/rpc.h"

/* What add_creds_apply keeps for the spec: the name of a passed file. */
struct add_creds_keep {
	char name[PATH_MAX];
	int fd;			/* the passed descriptor, -1: none */
};

/* Applies the peer's credentials to spec (read by add_spec_read): takes the
 * passed descriptor it names into keep (the caller closes it with
 * add_creds_release after device_add), refuses a path from a peer other
 * than root, and checks the quota. 0, or -errno with a message naming the
 * cause (-EINVAL for a path, -EDQUOT for the quota). */
int add_creds_apply(struct rpc_call *call, struct device_spec *spec,
		    struct add_creds_keep *keep, char *err, size_t errlen);
/* Closes what add_creds_apply kept. */
void add_creds_release(struct add_creds_keep *keep);
/* Names the file behind fd for messages and records (its path as this
 * process sees it), in buf. */
void add_creds_fd_name(int fd, char *buf, size_t len);

/* Opens path for a recovered device owned by uid:gid with that user's
 * rights (this thread's fs uid and gid, and gid as its only group, for
 * the open only): the descriptor, or -errno. Read-write unless read_only. */
int add_creds_open_as(const char *path, bool read_only, uint32_t uid, uint32_t gid);

#endif
