/* Cluster handles shared between rbd devices (rbd_cluster.c).
 *
 * Each librados client (rados_t) runs its own messenger and io_context
 * threads (16 to 17 per client here) and its own sessions with the
 * monitors and OSDs. Devices that connect with the same configuration file
 * (the same file, unchanged), the same client id and the same rbd_cache
 * setting share one client, as the kernel's rbd client shares its ceph
 * client between mappings: each further image costs an ioctx and an open
 * image, not a client. The registry only counts and hands out handles; the
 * caller's connect function makes the connection, and the caller shuts a
 * handle down once the last user has let go. */
#ifndef UBLKD_RBD_CLUSTER_H
#define UBLKD_RBD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <rados/librados.h>

/* What makes two connections the same client. */
struct rbd_cluster_key {
	dev_t dev;		/* the configuration file ... */
	ino_t ino;
	off_t size;		/* ... as it was when read */
	struct timespec mtime;
	char client[128];	/* the client id, "admin" when not given */
	bool cache;		/* rbd_cache as set over the file */
};

struct rbd_cluster;

/* Connects the caller's own handle *own: 0, or -errno with msg saying why. */
typedef int (*rbd_cluster_connect_fn)(void *arg, rados_t own, char *msg, size_t len);

/* Fills k for the configuration at path (stat follows /proc/self/fd/N to
 * the file), client (NULL: "admin") and cache: 0, or -errno (the file
 * cannot be read, or the id is too long to share by). */
int rbd_cluster_key_read(struct rbd_cluster_key *k, const char *path, const char *client,
			 bool cache);
/* Joins the client for k, on a thread that may wait: one already
 * connected; one being connected by another thread (waits for its outcome,
 * and takes its error if it fails); or none, and then connects *own with
 * connect and, on success, keeps it as the shared client (*own becomes
 * NULL). Returns the client, or NULL with *res and msg saying why; *own is
 * the caller's to shut down whenever it is not NULL afterwards. */
struct rbd_cluster *rbd_cluster_attach(const struct rbd_cluster_key *k, rados_t *own,
				       rbd_cluster_connect_fn connect, void *arg, int *res,
				       char *msg, size_t len);
/* The connected handle of c. */
rados_t rbd_cluster_handle(const struct rbd_cluster *c);
/* The devices (and connecting threads) using c now. */
unsigned rbd_cluster_users(const struct rbd_cluster *c);
/* Lets go of c: the handle to shut down when this was its last user
 * (no longer found by attach), else NULL. */
rados_t rbd_cluster_detach(struct rbd_cluster *c);
/* Shared clients alive now (connected or connecting). */
unsigned rbd_cluster_count(void);

#endif
