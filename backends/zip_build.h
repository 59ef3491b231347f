/* Building a deflated member's index in the background: a step (struct
 * backend_idle) inflates one slice per loop turn, so the daemon keeps
 * serving the other devices meanwhile. Progress goes to the log every few
 * seconds. */
#ifndef UBLKD_ZIP_BUILD_H
#define UBLKD_ZIP_BUILD_H

#include <stdint.h>

#include "backends/backend.h"
#include "backends/zip_index.h"

#define ZIP_BUILD_LOG_EVERY	5.0	/* seconds between progress lines */

/* Called once when the build ends: res is 0, or -errno with why. */
typedef void (*zip_build_done_fn)(void *arg, int res, const char *why);

/* A build under way: ix after zip_index_begin, advanced by the step. */
struct zip_build {
	struct backend_idle *idle;	/* NULL: the build ran at once */
	struct zip_index *ix;
	uint64_t slice;		/* bytes inflated per loop turn, at least */
	const char *label;	/* names the member in log lines; the caller's */
	double t0;		/* clock_mono() when the build started */
	double next_log;	/* seconds after t0 of the next progress line */
	zip_build_done_fn done;
	void *arg;
	char why[256];
};

/* Starts advancing ix slice by slice through idle; done is called once,
 * from the loop, when the index is complete or the pass failed. Without
 * idle the whole pass runs now and done is called before this returns.
 * Returns 0, or -ENOMEM (done is then never called). */
int zip_build_start(struct zip_build *b, struct backend_idle *idle, struct zip_index *ix,
		    uint64_t slice, const char *label, zip_build_done_fn done, void *arg);
/* Stops a build still running (done is then never called); harmless on a
 * zeroed struct or a build that ended. */
void zip_build_stop(struct zip_build *b);
/* Seconds since the build started: how long it took, from done. */
double zip_build_seconds(const struct zip_build *b);

#endif
