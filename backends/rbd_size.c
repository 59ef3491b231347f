/* The image's size as other clients change it (rbd resize): librbd's
 * update watch tells a thread of librbd's, which reads the new size there
 * (it may refresh the header from the OSDs, never on the loop), leaves it
 * for the loop and wakes it through the completion eventfd. */
#include "config.h"
#include "backends/rbd.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* On librbd's thread: the image's header changed; read its size. */
static void rbd_size_on_update(void *arg)
{
	struct rbd_size_watch *w = arg;
	uint64_t size, one = 1;

	if (rbd_get_size(w->image, &size) < 0)
		return;
	__atomic_store_n(&w->size, size, __ATOMIC_RELAXED);
	__atomic_store_n(&w->changed, 1, __ATOMIC_RELEASE);
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* A full eventfd counter is already a wakeup. */
	}
}

/* Watches image's header, waking the loop through efd when its size may
 * have changed: 0 with *out set, or -errno (librbd's). */
int rbd_size_watch_start(struct rbd_size_watch **out, rbd_image_t image, int efd)
{
	struct rbd_size_watch *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->image = image;
	w->efd = efd;
	ret = rbd_update_watch(image, &w->handle, rbd_size_on_update, w);
	if (ret < 0) {
		free(w);
		return ret;
	}
	*out = w;
	return 0;
}

/* On the loop: true with the image's size in *size when the watch saw a
 * change since the last call. */
bool rbd_size_watch_take(struct rbd_size_watch *w, uint64_t *size)
{
	if (!w || !__atomic_exchange_n(&w->changed, 0, __ATOMIC_ACQUIRE))
		return false;
	*size = __atomic_load_n(&w->size, __ATOMIC_RELAXED);
	return true;
}

/* Off the loop, before the image is closed: ends the watch (librbd waits
 * for a callback under way) and frees it. */
void rbd_size_watch_stop(struct rbd_size_watch *w)
{
	if (!w)
		return;
	rbd_update_unwatch(w->image, w->handle);
	free(w);
}
