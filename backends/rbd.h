/* The rbd backend's parts: the connection made off the loop (rbd_connect.c)
 * and closed off the loop (rbd_close.c), the image's size as other clients
 * change it (rbd_size.c), and the small pure helpers the backend and its
 * unit tests share (rbd_text.c). */
#ifndef UBLKD_RBD_H
#define UBLKD_RBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "backends/rbd_cluster.h"

/* How long librados may hunt for a monitor (client_mount_timeout) and wait
 * for a monitor's answer (rados_mon_op_timeout), in seconds: an unreachable
 * cluster fails the add after this long. */
#define RBD_MON_TIMEOUT		15
/* How long the add waits for the connection and the image to open, in
 * seconds, before it fails (an OSD that does not answer the image's header
 * reads); the connecting thread then cleans up by itself whenever librados
 * lets it go. */
#define RBD_OPEN_TIMEOUT	60

/* How long the daemon waits at exit for images still closing and for
 * connecting threads, in seconds (rbd_close_async, rbd_exit_hold). */
#define RBD_CLOSE_EXIT_WAIT	30

/* The most connecting threads alive at once (each holds a cluster handle
 * and its librados threads until librados lets it go): an add past it is
 * refused until some are done. */
#define RBD_MAX_CONNECTING	16
/* The most closing threads alive at once: a close past it waits in a queue
 * that those threads work through (never on the loop, never refused). */
#define RBD_MAX_CLOSING		8

/* What to open, and what came of it. Shared by the loop and the short-lived
 * thread whose only job is rados_connect and rbd_open: the thread writes
 * the results, then the eventfd; the loop reads them only after that. The
 * last of the two to let go (rbd_connect_put) releases it. */
struct rbd_connect {
	int refs;		/* atomic: the thread's and the loop's */
	int efd;		/* written once the thread is done */
	rados_t cluster;	/* created, configured; connected by the thread
				 * unless a shared client serves instead */
	bool share;		/* join the client of others with key */
	struct rbd_cluster_key key;
	struct rbd_cluster *shared;	/* the shared client joined, or NULL */
	rados_ioctx_t ioctx;
	rbd_image_t image;
	char *pool, *image_name, *snap;	/* snap: NULL for the image itself */
	bool read_only;
	int res;		/* 0 or -errno */
	char msg[512];		/* why res < 0 */
	uint64_t image_size;	/* bytes, of the image or its snapshot */
	bool cache;		/* librbd's rbd_cache for the open image, as in effect */
	char cache_source[16];	/* where that came from: config, pool or image */
};

/* The image's size as librbd's update watch last read it (rbd_size.c):
 * written on librbd's thread, taken on the loop, freed by the close. */
struct rbd_size_watch {
	rbd_image_t image;
	int efd;		/* the completion eventfd: written after size */
	uint64_t handle;	/* rbd_update_watch's */
	uint64_t size;		/* atomic: bytes */
	int changed;		/* atomic: a size the loop has not taken */
};

/* Watches image's header, waking the loop through efd when its size may
 * have changed: 0 with *out set, or -errno (librbd's). */
int rbd_size_watch_start(struct rbd_size_watch **out, rbd_image_t image, int efd);
/* On the loop: true with the image's size in *size when the watch saw a
 * change since the last call (w may be NULL: false). */
bool rbd_size_watch_take(struct rbd_size_watch *w, uint64_t *size);
/* Off the loop, before the image is closed: ends the watch and frees it
 * (w may be NULL). */
void rbd_size_watch_stop(struct rbd_size_watch *w);

/* Starts fn(arg) on a detached thread: 0, or a positive error number. */
int rbd_thread_start(void *(*fn)(void *), void *arg);
/* Sets the most connecting threads alive at once (tests; the default is
 * RBD_MAX_CONNECTING). */
void rbd_connecting_set_max(unsigned n);
/* Connecting threads alive now. */
unsigned rbd_connecting_count(void);
/* Sets the most closing threads alive at once and starts threads for
 * queued closes up to it (tests; the default is RBD_MAX_CLOSING). */
void rbd_closing_set_max(unsigned n);
/* Closing threads alive and closes queued for them, now. */
void rbd_close_counts(unsigned *threads, unsigned *queued);
/* Counts a thread that uses librados in: the process's exit waits for it
 * (a bounded time), as for closes. */
void rbd_exit_hold(void);
/* Counts a thread held in by rbd_exit_hold out. */
void rbd_exit_release(void);
/* Sets how long the exit waits, in seconds (tests; the default is
 * RBD_CLOSE_EXIT_WAIT). */
void rbd_exit_set_wait(unsigned seconds);
/* Starts the thread that connects and opens c's image (c->cluster is
 * created and configured): 0, or -errno with a message in err. */
int rbd_connect_start(struct rbd_connect *c, char *err, size_t errlen);
/* Lets go of c: the last holder closes what it opened and frees it. */
void rbd_connect_put(struct rbd_connect *c);

/* Ends the size watch (may be NULL), closes image (may be NULL), ioctx,
 * then lets go of the shared client (may be NULL) and shuts cluster down
 * (may be NULL), and closes efd (may be -1) on a short-lived thread, never
 * waiting for the cluster on the caller's; label names the image in the
 * logs. */
void rbd_close_async(rados_t cluster, struct rbd_cluster *shared, rados_ioctx_t ioctx,
		     rbd_image_t image, struct rbd_size_watch *watch, int efd,
		     const char *label);

/* The device size for an image of image_size bytes: rounded down to a
 * whole number of blocks (the tail cannot be written through the device). */
uint64_t rbd_device_size(uint64_t image_size, uint32_t block_size);
/* Writes "pool/image" or "pool/image@snap" into buf, for messages. */
void rbd_label(char *buf, size_t len, const char *pool, const char *image, const char *snap);
/* Writes the message for a failed librados/librbd step: what was being
 * done (step), on what (what), and librados' own reason for err. */
void rbd_error(char *buf, size_t len, const char *step, const char *what, int err);

#endif
