/* Closing an image and its cluster handle off the loop.
 *
 * rbd_close flushes librbd's cache and releases the image's exclusive lock,
 * and both need the OSDs: with an OSD down it waits without bound. On the
 * daemon's loop that would stop every other device, so a short-lived,
 * detached thread does the closing (image, pool, cluster handle, then the
 * eventfd librbd was told to write) and the loop goes on at once. At most
 * RBD_MAX_CLOSING such threads live at once; a close past that waits in a
 * queue, and each thread takes the next queued close before it ends. A
 * close that takes long says so when it is done. At exit the daemon waits a
 * bounded time for the closes not yet done, queued ones included, and for
 * the threads still connecting (rbd_exit_hold); if some are still in
 * librados after that, the process ends at once with its exit status, since
 * librados' own exit handlers abort under a thread still using it. */
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

/* What one close closes. */
struct rbd_closer {
	rados_t cluster;
	struct rbd_cluster *shared;
	rados_ioctx_t ioctx;
	rbd_image_t image;
	struct rbd_size_watch *watch;
	int efd;
	char label[300];
	struct rbd_closer *next;	/* in the queue */
};

static pthread_mutex_t closers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closers_cond = PTHREAD_COND_INITIALIZER;
static unsigned closers;	/* closes not done: running or queued */
static unsigned closer_threads;	/* threads alive */
static unsigned closer_threads_max = RBD_MAX_CLOSING;
static struct rbd_closer *queue_head, *queue_tail;	/* closes waiting for a thread */
static unsigned queued;
static unsigned holds;		/* other threads in librados (rbd_exit_hold) */
static bool closers_exit_wait;	/* the exit handler is registered */
static unsigned exit_wait = RBD_CLOSE_EXIT_WAIT;	/* seconds */

/* Closes what h holds: the image, the pool, its use of a shared client
 * (shut down with its last user), its own cluster handle, the eventfd. */
static void rbd_closer_run(struct rbd_closer *h)
{
	rados_t last;

	rbd_size_watch_stop(h->watch);
	if (h->image)
		rbd_close(h->image);
	if (h->ioctx)
		rados_ioctx_destroy(h->ioctx);
	last = rbd_cluster_detach(h->shared);
	if (last)
		rados_shutdown(last);
	if (h->cluster)
		rados_shutdown(h->cluster);
	if (h->efd >= 0)
		close(h->efd);
}

/* Takes the first queued close out of the queue, or NULL (closers_lock
 * held). */
static struct rbd_closer *rbd_closer_pop(void)
{
	struct rbd_closer *h = queue_head;

	if (h) {
		queue_head = h->next;
		if (!queue_head)
			queue_tail = NULL;
		queued--;
	}
	return h;
}

/* Puts h back at the head of the queue (closers_lock held). */
static void rbd_closer_unpop(struct rbd_closer *h)
{
	h->next = queue_head;
	queue_head = h;
	if (!queue_tail)
		queue_tail = h;
	queued++;
}

/* The thread: closes h, says so if it took long, counts it out, and goes
 * on with the next queued close, if any; then ends. */
static void *rbd_closer_thread(void *arg)
{
	struct rbd_closer *h = arg;

	while (h) {
		double t0 = clock_mono(), took;

		rbd_closer_run(h);
		took = clock_mono() - t0;
		if (took >= RBD_CLOSE_SLOW)
			log_info("rbd %s: closed after %.1f s", h->label, took);
		free(h);
		pthread_mutex_lock(&closers_lock);
		if (--closers == 0 && holds == 0)
			pthread_cond_broadcast(&closers_cond);
		h = rbd_closer_pop();
		if (!h)
			closer_threads--;
		pthread_mutex_unlock(&closers_lock);
	}
	return NULL;
}

/* Sets the most closing threads alive at once, and starts threads for
 * queued closes up to it. */
void rbd_closing_set_max(unsigned n)
{
	pthread_mutex_lock(&closers_lock);
	closer_threads_max = n;
	while (queue_head && closer_threads < closer_threads_max) {
		/* Out of the queue first: the thread may free h at once. */
		struct rbd_closer *h = rbd_closer_pop();

		if (rbd_thread_start(rbd_closer_thread, h) != 0) {
			rbd_closer_unpop(h);	/* the threads alive work through it */
			break;
		}
		closer_threads++;
	}
	pthread_mutex_unlock(&closers_lock);
}

/* Closing threads alive and closes queued for them, now. */
void rbd_close_counts(unsigned *threads, unsigned *waiting)
{
	pthread_mutex_lock(&closers_lock);
	*threads = closer_threads;
	*waiting = queued;
	pthread_mutex_unlock(&closers_lock);
}

/* True while a thread of ours may still be in librados (closers_lock held). */
static bool rbd_threads_busy(void)
{
	return closers || holds;
}

/* At exit (with the process's status): waits up to exit_wait seconds for
 * the closes not yet done and the threads held in; if some are still in
 * librados then, ends the process at once with status. */
static void rbd_exit_wait(int status, void *arg)
{
	struct timespec until;
	unsigned left, held;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&closers_lock);
	/* A healthy cluster lets go within the first second, silently. */
	while (rbd_threads_busy() &&
	       pthread_cond_timedwait(&closers_cond, &closers_lock, &until) == 0)
		;
	if (rbd_threads_busy() && exit_wait > 1) {
		log_info("rbd: waiting up to %u s for %u image(s) to close and %u connection(s) "
			 "to give up", exit_wait, closers, holds);
		until.tv_sec += exit_wait - 1;
		while (rbd_threads_busy() &&
		       pthread_cond_timedwait(&closers_cond, &closers_lock, &until) == 0)
			;
	}
	left = closers;
	held = holds;
	pthread_mutex_unlock(&closers_lock);
	if (!left && !held)
		return;
	log_warn("rbd: %u image(s) still closing and %u connection(s) still waiting for the "
		 "cluster after %u s (is an OSD down?): exiting without them; their exclusive "
		 "locks go when the cluster sees this client gone", left, held, exit_wait);
	/* librados' exit handlers would run under those threads and abort. */
	fflush(NULL);
	_exit(status);
}

/* Registers the exit wait once (closers_lock held). */
static void rbd_exit_wait_register(void)
{
	if (!closers_exit_wait && on_exit(rbd_exit_wait, NULL) == 0)
		closers_exit_wait = true;
}

/* Counts a thread that uses librados in: the exit waits for it. */
void rbd_exit_hold(void)
{
	pthread_mutex_lock(&closers_lock);
	rbd_exit_wait_register();
	holds++;
	pthread_mutex_unlock(&closers_lock);
}

/* Counts a thread held in by rbd_exit_hold out. */
void rbd_exit_release(void)
{
	pthread_mutex_lock(&closers_lock);
	if (--holds == 0 && closers == 0)
		pthread_cond_broadcast(&closers_cond);
	pthread_mutex_unlock(&closers_lock);
}

/* Sets how long the exit waits, in seconds (tests; the default is
 * RBD_CLOSE_EXIT_WAIT). */
void rbd_exit_set_wait(unsigned seconds)
{
	pthread_mutex_lock(&closers_lock);
	exit_wait = seconds;
	pthread_mutex_unlock(&closers_lock);
}

/* Hands h to a new detached thread, or to the queue when as many threads
 * as allowed are alive or a new one cannot start while one is alive: 0,
 * or a positive error number (no thread could start and none is alive to
 * take h later). */
static int rbd_closer_start(struct rbd_closer *h)
{
	int ret = 0;

	pthread_mutex_lock(&closers_lock);
	rbd_exit_wait_register();
	if (closer_threads < closer_threads_max) {
		ret = rbd_thread_start(rbd_closer_thread, h);
		if (ret == 0)
			closer_threads++;
		if (ret == 0 || closer_threads == 0)
			goto out;
	}
	h->next = NULL;
	if (queue_tail)
		queue_tail->next = h;
	else
		queue_head = h;
	queue_tail = h;
	queued++;
	ret = 0;
out:
	if (ret == 0)
		closers++;
	pthread_mutex_unlock(&closers_lock);
	return ret;
}

/* Closes image (may be NULL), ioctx, the use of shared, cluster and efd
 * (may be -1) off the loop; label names the image in the logs. */
void rbd_close_async(rados_t cluster, struct rbd_cluster *shared, rados_ioctx_t ioctx,
		     rbd_image_t image, struct rbd_size_watch *watch, int efd,
		     const char *label)
{
	struct rbd_closer what = { .cluster = cluster, .shared = shared, .ioctx = ioctx,
				   .image = image, .watch = watch, .efd = efd };
	struct rbd_closer *h;
	int ret = ENOMEM;

	if (!cluster && !shared && !ioctx && !image && efd < 0)
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
