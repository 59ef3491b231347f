/* Closing an image and its cluster handle off the loop.
 *
 * rbd_close flushes librbd's cache and releases the image's exclusive lock,
 * and both need the OSDs: with an OSD down it waits without bound. On the
 * daemon's loop that would stop every other device, so a short-lived,
 * detached thread does the closing (image, pool, cluster handle, then the
 * eventfd librbd was told to write) and the loop goes on at once. A thread
 * that takes long says so when it is done. At exit the daemon waits a
 * bounded time for the threads still closing. */
#include "config.h"
#include "backends/rbd.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A close that takes this long (seconds) is logged when it ends. */
#define RBD_CLOSE_SLOW		2.0

/* What one thread closes. */
struct rbd_closer {
	rados_t cluster;
	rados_ioctx_t ioctx;
	rbd_image_t image;
	int efd;
	char label[300];
};

static pthread_mutex_t closers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closers_cond = PTHREAD_COND_INITIALIZER;
static unsigned closers;	/* threads still closing */
static bool closers_exit_wait;	/* the exit handler is registered */

/* Closes what h holds: the image, the pool, the cluster, the eventfd. */
static void rbd_closer_run(struct rbd_closer *h)
{
	if (h->image)
		rbd_close(h->image);
	if (h->ioctx)
		rados_ioctx_destroy(h->ioctx);
	if (h->cluster)
		rados_shutdown(h->cluster);
	if (h->efd >= 0)
		close(h->efd);
}

/* The thread: closes, says so if it took long, and counts itself out. */
static void *rbd_closer_thread(void *arg)
{
	struct rbd_closer *h = arg;
	double t0 = clock_mono(), took;

	rbd_closer_run(h);
	took = clock_mono() - t0;
	if (took >= RBD_CLOSE_SLOW)
		log_info("rbd %s: closed after %.1f s", h->label, took);
	free(h);
	pthread_mutex_lock(&closers_lock);
	if (--closers == 0)
		pthread_cond_broadcast(&closers_cond);
	pthread_mutex_unlock(&closers_lock);
	return NULL;
}

/* At exit: waits up to RBD_CLOSE_EXIT_WAIT s for the threads still closing. */
static void rbd_closers_wait(void)
{
	struct timespec until;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&closers_lock);
	/* A healthy cluster lets go within the first second, silently. */
	while (closers && pthread_cond_timedwait(&closers_cond, &closers_lock, &until) == 0)
		;
	if (closers) {
		log_info("rbd: waiting up to %d s for %u image(s) to close", RBD_CLOSE_EXIT_WAIT,
			 closers);
		until.tv_sec += RBD_CLOSE_EXIT_WAIT - 1;
		while (closers &&
		       pthread_cond_timedwait(&closers_cond, &closers_lock, &until) == 0)
			;
	}
	left = closers;
	pthread_mutex_unlock(&closers_lock);
	if (left)
		log_warn("rbd: %u image(s) still closing after %d s (is an OSD down?): exiting "
			 "without them; their exclusive locks go when the cluster sees this "
			 "client gone", left, RBD_CLOSE_EXIT_WAIT);
}

/* Starts a detached thread for h, counted: 0, or a positive error number. */
static int rbd_closer_start(struct rbd_closer *h)
{
	int ret;

	pthread_mutex_lock(&closers_lock);
	if (!closers_exit_wait && atexit(rbd_closers_wait) == 0)
		closers_exit_wait = true;
	closers++;
	ret = rbd_thread_start(rbd_closer_thread, h);
	if (ret)
		closers--;
	pthread_mutex_unlock(&closers_lock);
	return ret;
}

/* Closes image (may be NULL), ioctx, cluster and efd (may be -1) off the
 * loop; label names the image in the logs. */
void rbd_close_async(rados_t cluster, rados_ioctx_t ioctx, rbd_image_t image, int efd,
		     const char *label)
{
	struct rbd_closer what = { .cluster = cluster, .ioctx = ioctx, .image = image,
				   .efd = efd };
	struct rbd_closer *h;
	int ret = ENOMEM;

	if (!cluster && !ioctx && !image && efd < 0)
		return;
	snprintf(what.label, sizeof(what.label), "%s", label);
	h = malloc(sizeof(*h));
	if (h) {
		*h = what;
		ret = rbd_closer_start(h);
		if (ret == 0)
			return;
		free(h);
	}
	/* No thread: close here, which may wait for the cluster. */
	log_warn("rbd %s: cannot start a thread to close the image (%s): closing it on the "
		 "loop", label, strerror(ret));
	rbd_closer_run(&what);
}
