/* The registry of librados clients shared between rbd devices.
 *
 * A client is found by its key (configuration file, client id, rbd_cache).
 * The first connecting thread for a key makes the client with its own
 * handle while later ones for the same key wait for that outcome: they
 * share the client once it is connected, or fail with its error, so an
 * unreachable cluster costs one monitor time-out, not one per device in
 * turn. A failed or unused client leaves the registry at once; nothing is
 * kept connected for devices that may come later. */
#include "config.h"
#include "backends/rbd_cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rbd_cluster_state {
	RBD_CLUSTER_CONNECTING,
	RBD_CLUSTER_READY,
	RBD_CLUSTER_FAILED,
};

struct rbd_cluster {
	struct rbd_cluster_key key;
	rados_t handle;			/* once READY */
	unsigned users;			/* attached and not detached */
	enum rbd_cluster_state state;
	int res;			/* FAILED: -errno ... */
	char msg[512];			/* ... and why */
	struct rbd_cluster *next;	/* in the registry while not FAILED */
};

static pthread_mutex_t clusters_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clusters_cond = PTHREAD_COND_INITIALIZER;	/* a connect ended */
static struct rbd_cluster *clusters;

/* Fills k for the configuration at path, client and cache. */
int rbd_cluster_key_read(struct rbd_cluster_key *k, const char *path, const char *client,
			 bool cache)
{
	struct stat st;
	int n;

	memset(k, 0, sizeof(*k));
	if (stat(path, &st) < 0)
		return -errno;
	n = snprintf(k->client, sizeof(k->client), "%s", client ? client : "admin");
	if (n < 0 || (size_t)n >= sizeof(k->client))
		return -ENAMETOOLONG;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->size = st.st_size;
	k->mtime = st.st_mtim;
	k->cache = cache;
	return 0;
}

/* True if a and b name the same client. */
static bool rbd_cluster_key_eq(const struct rbd_cluster_key *a, const struct rbd_cluster_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->cache == b->cache && strcmp(a->client, b->client) == 0;
}

/* The registered client for k, or NULL (clusters_lock held). */
static struct rbd_cluster *rbd_cluster_find(const struct rbd_cluster_key *k)
{
	for (struct rbd_cluster *c = clusters; c; c = c->next)
		if (rbd_cluster_key_eq(&c->key, k))
			return c;
	return NULL;
}

/* Takes c out of the registry (clusters_lock held). */
static void rbd_cluster_unlink(struct rbd_cluster *c)
{
	for (struct rbd_cluster **p = &clusters; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			c->next = NULL;
			return;
		}
	}
}

/* Drops one user of c, freeing a FAILED c with its last (clusters_lock
 * held): the handle to shut down if c was READY and this its last user. */
static rados_t rbd_cluster_drop(struct rbd_cluster *c)
{
	rados_t handle = NULL;

	if (--c->users > 0)
		return NULL;
	if (c->state == RBD_CLUSTER_READY) {
		rbd_cluster_unlink(c);
		handle = c->handle;
	}
	free(c);
	return handle;
}

/* Makes the client for k with *own, as the first thread for k (c is
 * registered, CONNECTING, with this thread as a user). */
static struct rbd_cluster *rbd_cluster_make(struct rbd_cluster *c, rados_t *own,
					    rbd_cluster_connect_fn connect, void *arg,
					    int *res, char *msg, size_t len)
{
	char why[sizeof(c->msg)] = "";
	int ret = connect(arg, *own, why, sizeof(why));

	pthread_mutex_lock(&clusters_lock);
	if (ret == 0) {
		c->handle = *own;
		*own = NULL;
		c->state = RBD_CLUSTER_READY;
	} else {
		c->state = RBD_CLUSTER_FAILED;
		c->res = ret;
		snprintf(c->msg, sizeof(c->msg), "%s", why);
		rbd_cluster_unlink(c);	/* the next add tries afresh */
		rbd_cluster_drop(c);
		c = NULL;
		*res = ret;
		snprintf(msg, len, "%s", why);
	}
	pthread_cond_broadcast(&clusters_cond);
	pthread_mutex_unlock(&clusters_lock);
	return c;
}

/* Joins (or makes) the client for k. */
struct rbd_cluster *rbd_cluster_attach(const struct rbd_cluster_key *k, rados_t *own,
				       rbd_cluster_connect_fn connect, void *arg, int *res,
				       char *msg, size_t len)
{
	struct rbd_cluster *c;

	pthread_mutex_lock(&clusters_lock);
	c = rbd_cluster_find(k);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			pthread_mutex_unlock(&clusters_lock);
			*res = -ENOMEM;
			snprintf(msg, len, "out of memory for the cluster's client");
			return NULL;
		}
		c->key = *k;
		c->users = 1;
		c->state = RBD_CLUSTER_CONNECTING;
		c->next = clusters;
		clusters = c;
		pthread_mutex_unlock(&clusters_lock);
		return rbd_cluster_make(c, own, connect, arg, res, msg, len);
	}
	c->users++;
	while (c->state == RBD_CLUSTER_CONNECTING)
		pthread_cond_wait(&clusters_cond, &clusters_lock);
	if (c->state == RBD_CLUSTER_FAILED) {
		*res = c->res;
		snprintf(msg, len, "%s", c->msg);
		rbd_cluster_drop(c);
		c = NULL;
	}
	pthread_mutex_unlock(&clusters_lock);
	return c;
}

/* The connected handle of c. */
rados_t rbd_cluster_handle(const struct rbd_cluster *c)
{
	return c->handle;	/* set before c is READY, never changed after */
}

/* The users of c now. */
unsigned rbd_cluster_users(const struct rbd_cluster *c)
{
	unsigned n;

	pthread_mutex_lock(&clusters_lock);
	n = c->users;
	pthread_mutex_unlock(&clusters_lock);
	return n;
}

/* Lets go of c. */
rados_t rbd_cluster_detach(struct rbd_cluster *c)
{
	rados_t handle;

	if (!c)
		return NULL;
	pthread_mutex_lock(&clusters_lock);
	handle = rbd_cluster_drop(c);
	pthread_mutex_unlock(&clusters_lock);
	return handle;
}

/* Shared clients alive now. */
unsigned rbd_cluster_count(void)
{
	unsigned n = 0;

	pthread_mutex_lock(&clusters_lock);
	for (struct rbd_cluster *c = clusters; c; c = c->next)
		n++;
	pthread_mutex_unlock(&clusters_lock);
	return n;
}
