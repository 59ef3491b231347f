/* Building a deflated member's index on the daemon's loop, one slice per
 * idle turn (see zip_build.h). */
#include "config.h"
#include "backends/zip_build.h"
#include "common/log.h"

#include <string.h>

/* Seconds elapsed since t0. */
static double zip_build_seconds(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Logs how far the build is, every ZIP_BUILD_LOG_EVERY seconds. */
static void zip_build_progress(struct zip_build *b)
{
	double t = zip_build_seconds(&b->t0);

	if (t < b->next_log)
		return;
	b->next_log = t + ZIP_BUILD_LOG_EVERY;
	log_info("zip: %s: indexing: %llu of %llu bytes inflated (%llu%%) in %.0f s", b->label,
		 (unsigned long long)b->ix->built, (unsigned long long)b->ix->size,
		 (unsigned long long)(b->ix->size ? b->ix->built * 100 / b->ix->size : 100), t);
}

/* One idle turn of the loop: one slice; at the end, stop and report. */
static void zip_build_on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct zip_build *b = w->data;
	int ret;

	(void)loop;
	(void)revents;
	ret = zip_index_advance(b->ix, b->slice, b->why, sizeof(b->why));
	if (ret == 1) {
		zip_build_progress(b);
		return;
	}
	zip_build_stop(b);
	/* Last: done may free b. */
	b->done(b->arg, ret, ret < 0 ? b->why : "");
}

/* Starts advancing ix slice by slice on loop; done is called once, from the loop. */
void zip_build_start(struct zip_build *b, struct ev_loop *loop, struct zip_index *ix,
		     uint64_t slice, const char *label, zip_build_done_fn done, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->ix = ix;
	b->slice = slice;
	b->label = label;
	b->done = done;
	b->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	b->next_log = ZIP_BUILD_LOG_EVERY;
	ev_idle_init(&b->idle, zip_build_on_idle);
	b->idle.data = b;
	ev_idle_start(loop, &b->idle);
	b->running = true;
}

/* Stops a build still running; done is then never called. */
void zip_build_stop(struct zip_build *b)
{
	if (b->running)
		ev_idle_stop(b->loop, &b->idle);
	b->running = false;
}
