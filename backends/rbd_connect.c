/* Connecting to the cluster and opening the image, off the loop.
 *
 * rados_connect waits for a monitor (up to client_mount_timeout) and
 * rbd_open reads the image's header from an OSD (with no bound at all when
 * that OSD is down), so neither may run on the daemon's loop, which serves
 * every other device meanwhile. A short-lived, detached thread does just
 * these calls, then writes an eventfd the loop watches (rbd.c). It does no
 * work for requests: once the image is open, every request is started on
 * the loop and its completion reaches the loop through librbd's own eventfd.
 * If the loop stops waiting first (the add timed out, or the device went),
 * the thread closes what it opened when librados lets it return. Devices of
 * the same configuration, client id and cache setting share one librados
 * client (rbd_cluster.c) unless a device asks for its own. */
#include "config.h"
#include "backends/rbd.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads whether librbd caches writes for the open image (rbd_cache as in
 * effect: the pool's or the image's own setting wins over the client's)
 * into c->cache and c->cache_source (left as set if librbd does not list
 * it); 0, or -errno. */
static int rbd_read_cache(struct rbd_connect *c)
{
	static const char *const sources[] = {
		[RBD_CONFIG_SOURCE_CONFIG] = "config",
		[RBD_CONFIG_SOURCE_POOL] = "pool",
		[RBD_CONFIG_SOURCE_IMAGE] = "image",
	};
	rbd_config_option_t *opts = NULL;
	int n = 128, ret;

	do {
		rbd_config_option_t *more = realloc(opts, (size_t)n * sizeof(*opts));

		if (!more) {
			free(opts);
			return -ENOMEM;
		}
		opts = more;
		ret = rbd_config_image_list(c->image, opts, &n);
	} while (ret == -ERANGE);
	if (ret < 0) {
		free(opts);
		return ret;
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(opts[i].name, "rbd_cache") != 0)
			continue;
		c->cache = strcmp(opts[i].value, "true") == 0;
		snprintf(c->cache_source, sizeof(c->cache_source), "%s",
			 (unsigned)opts[i].source < 3 ? sources[opts[i].source] : "?");
	}
	rbd_config_image_list_cleanup(opts, n);
	free(opts);
	return ret;
}

/* Connects the handle own for c: 0, or -errno with msg saying why
 * (rbd_cluster_connect_fn). */
static int rbd_connect_cluster(void *arg, rados_t own, char *msg, size_t len)
{
	char mon[256] = "";
	int ret;

	(void)arg;
	ret = rados_connect(own);
	if (ret == 0)
		return 0;
	if (rados_conf_get(own, "mon_host", mon, sizeof(mon)) < 0 || !mon[0])
		snprintf(mon, sizeof(mon), "(none set)");
	if (ret == -ETIMEDOUT)
		snprintf(msg, len, "cannot connect to the Ceph cluster: rados_connect: %s "
			 "(no monitor answered within %d s; mon_host %s)", strerror(-ret),
			 RBD_MON_TIMEOUT, mon);
	else
		snprintf(msg, len, "cannot connect to the Ceph cluster: rados_connect: %s "
			 "(mon_host %s)", strerror(-ret), mon);
	return ret;
}

/* Connects c's own handle, or joins the client shared under c->key (and
 * shuts down the own handle it then does not need): the handle to use, or
 * NULL with *res and c->msg saying why. */
static rados_t rbd_connect_client(struct rbd_connect *c, int *res)
{
	if (!c->share) {
		*res = rbd_connect_cluster(c, c->cluster, c->msg, sizeof(c->msg));
		return *res ? NULL : c->cluster;
	}
	c->shared = rbd_cluster_attach(&c->key, &c->cluster, rbd_connect_cluster, c, res,
				       c->msg, sizeof(c->msg));
	if (c->cluster && c->shared) {
		rados_shutdown(c->cluster);	/* never connected: quick */
		c->cluster = NULL;
	}
	return c->shared ? rbd_cluster_handle(c->shared) : NULL;
}

/* Connects (or joins a shared client), finds the pool, opens the image (or
 * its snapshot, read-only) and reads its size: 0, or -errno with c->msg
 * saying why. */
static int rbd_connect_open(struct rbd_connect *c)
{
	char label[300];
	rados_t cluster;
	int ret = 0;

	rbd_label(label, sizeof(label), c->pool, c->image_name, c->snap);
	cluster = rbd_connect_client(c, &ret);
	if (!cluster)
		return ret;
	ret = rados_ioctx_create(cluster, c->pool, &c->ioctx);
	if (ret < 0) {
		c->ioctx = NULL;
		if (ret == -ENOENT)
			snprintf(c->msg, sizeof(c->msg), "no pool named '%s' in the cluster", c->pool);
		else
			rbd_error(c->msg, sizeof(c->msg), "opening pool", c->pool, ret);
		return ret;
	}
	if (c->read_only || c->snap)
		ret = rbd_open_read_only(c->ioctx, c->image_name, &c->image, NULL);
	else
		ret = rbd_open(c->ioctx, c->image_name, &c->image, NULL);
	if (ret < 0) {
		c->image = NULL;
		if (ret == -ENOENT)
			snprintf(c->msg, sizeof(c->msg), "no image named '%s' in pool '%s'",
				 c->image_name, c->pool);
		else
			rbd_error(c->msg, sizeof(c->msg), "opening image", label, ret);
		return ret;
	}
	if (c->snap) {
		ret = rbd_snap_set(c->image, c->snap);
		if (ret < 0) {
			if (ret == -ENOENT)
				snprintf(c->msg, sizeof(c->msg), "image %s/%s has no snapshot named '%s'",
					 c->pool, c->image_name, c->snap);
			else
				rbd_error(c->msg, sizeof(c->msg), "opening snapshot", label, ret);
			return ret;
		}
	}
	ret = rbd_get_size(c->image, &c->image_size);
	if (ret < 0) {
		rbd_error(c->msg, sizeof(c->msg), "reading the size of", label, ret);
		return ret;
	}
	ret = rbd_read_cache(c);
	if (ret < 0)
		rbd_error(c->msg, sizeof(c->msg), "reading rbd_cache of", label, ret);
	return ret;
}

static pthread_mutex_t connecting_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned connecting;	/* connecting threads alive */
static unsigned connecting_max = RBD_MAX_CONNECTING;

/* Counts a connecting thread in, for the bound and for the exit's wait:
 * true if there is room for one more (*max says how many may be alive). */
static bool rbd_connecting_take(unsigned *max)
{
	bool room;

	pthread_mutex_lock(&connecting_lock);
	room = connecting < connecting_max;
	connecting += room;
	*max = connecting_max;
	pthread_mutex_unlock(&connecting_lock);
	if (room)
		rbd_exit_hold();
	return room;
}

/* Counts a connecting thread out (after its close, if any, is counted). */
static void rbd_connecting_put(void)
{
	pthread_mutex_lock(&connecting_lock);
	connecting--;
	pthread_mutex_unlock(&connecting_lock);
	rbd_exit_release();
}

/* Sets the most connecting threads alive at once. */
void rbd_connecting_set_max(unsigned n)
{
	pthread_mutex_lock(&connecting_lock);
	connecting_max = n;
	pthread_mutex_unlock(&connecting_lock);
}

/* Connecting threads alive now. */
unsigned rbd_connecting_count(void)
{
	unsigned n;

	pthread_mutex_lock(&connecting_lock);
	n = connecting;
	pthread_mutex_unlock(&connecting_lock);
	return n;
}

/* The thread: connect and open, say so through the eventfd, let go. */
static void *rbd_connect_thread(void *arg)
{
	struct rbd_connect *c = arg;
	uint64_t one = 1;

	c->res = rbd_connect_open(c);
	if (write(c->efd, &one, sizeof(one)) < 0)
		c->res = c->res ? c->res : -errno;	/* cannot happen: a counter of 1 */
	rbd_connect_put(c);
	rbd_connecting_put();	/* after the put of c: its close is counted by then */
	return NULL;
}

/* Starts fn(arg) on a detached thread: 0, or a positive error number. */
int rbd_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t thread;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return ret;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}

/* Starts the connecting thread, detached. */
int rbd_connect_start(struct rbd_connect *c, char *err, size_t errlen)
{
	unsigned max;
	int ret;

	if (!rbd_connecting_take(&max)) {
		snprintf(err, errlen, "%u rbd connections, the most at once, still wait for the "
			 "cluster (counting those of adds that gave up): try again once they are "
			 "done (is the cluster slow or an OSD down?)", max);
		return -EAGAIN;
	}
	__atomic_store_n(&c->refs, 2, __ATOMIC_RELEASE);
	ret = rbd_thread_start(rbd_connect_thread, c);
	if (ret) {
		__atomic_store_n(&c->refs, 1, __ATOMIC_RELEASE);
		rbd_connecting_put();
		snprintf(err, errlen, "cannot start the thread that connects: %s", strerror(ret));
		return -ret;
	}
	return 0;
}

/* Lets go of c; the last holder has the image, pool and cluster handle
 * closed (off the loop) and frees c. */
void rbd_connect_put(struct rbd_connect *c)
{
	char label[300];

	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	rbd_label(label, sizeof(label), c->pool, c->image_name, c->snap);
	rbd_close_async(c->cluster, c->shared, c->ioctx, c->image, NULL, -1, label);
	if (c->efd >= 0)
		close(c->efd);
	free(c->pool);
	free(c->image_name);
	free(c->snap);
	free(c);
}
