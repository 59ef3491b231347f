/* Building a deflated member's index in the background, one slice per
 * loop turn (see zip_build.h). */
#include "config.h"
#include "backends/zip_build.h"
#include "common/clock.h"
#include "common/log.h"

#include <string.h>

/* Seconds since the build started. */
double zip_build_seconds(const struct zip_build *b)
{
	return clock_mono() - b->t0;
}

/* Logs how far the build is, every ZIP_BUILD_LOG_EVERY seconds. */
static void zip_build_progress(struct zip_build *b)
{
	double t = zip_build_seconds(b);

	if (t < b->next_log)
		return;
	b->next_log = t + ZIP_BUILD_LOG_EVERY;
	log_info("zip: %s: indexing: %llu of %llu bytes inflated (%llu%%) in %.0f s", b->label,
		 (unsigned long long)b->ix->built, (unsigned long long)b->ix->size,
		 (unsigned long long)(b->ix->size ? b->ix->built * 100 / b->ix->size : 100), t);
}

/* One slice; at the end, reports and says the work is over. */
static bool zip_build_step(void *arg)
{
	struct zip_build *b = arg;
	int ret = zip_index_advance(b->ix, b->slice, b->why, sizeof(b->why));

	if (ret == 1) {
		zip_build_progress(b);
		return true;
	}
	/* Last: done may free b. */
	b->done(b->arg, ret, ret < 0 ? b->why : "");
	return false;
}

/* Starts advancing ix slice by slice through idle, or runs it all now. */
int zip_build_start(struct zip_build *b, struct backend_idle *idle, struct zip_index *ix,
		    uint64_t slice, const char *label, zip_build_done_fn done, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->ix = ix;
	b->slice = slice;
	b->label = label;
	b->done = done;
	b->arg = arg;
	b->t0 = clock_mono();
	b->next_log = ZIP_BUILD_LOG_EVERY;
	if (!idle) {
		while (zip_build_step(b))
			;
		return 0;
	}
	b->idle = idle;
	return idle->start(idle, zip_build_step, b);
}

/* Stops a build still running; done is then never called. */
void zip_build_stop(struct zip_build *b)
{
	if (b->idle)
		b->idle->stop(b->idle, zip_build_step, b);
}
