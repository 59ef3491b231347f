/* Building a deflated member's index on the daemon's loop: an idle watcher
 * inflates one slice per loop turn, when nothing else is pending, so the
 * loop keeps serving the other devices meanwhile. Progress goes to the log
 * every few seconds. */
#ifndef UBLKD_ZIP_BUILD_H
#define UBLKD_ZIP_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <ev.h>

#include "backends/zip_index.h"

#define ZIP_BUILD_LOG_EVERY	5.0	/* seconds between progress lines */

/* Called once when the build ends: res is 0, or -errno with why. */
typedef void (*zip_build_done_fn)(void *arg, int res, const char *why);

/* A build under way: ix after zip_index_begin, advanced by the idle watcher. */
struct zip_build {
	ev_idle idle;
	struct ev_loop *loop;
	bool running;
	struct zip_index *ix;
	uint64_t slice;		/* bytes inflated per loop turn, at least */
	const char *label;	/* names the member in log lines; the caller's */
	struct timespec t0;
	double next_log;	/* seconds after t0 of the next progress line */
	zip_build_done_fn done;
	void *arg;
	char why[256];
};

/* Starts advancing ix slice by slice on loop; done is called once, from
 * the loop, when the index is complete or the pass failed. */
void zip_build_start(struct zip_build *b, struct ev_loop *loop, struct zip_index *ix,
		     uint64_t slice, const char *label, zip_build_done_fn done, void *arg);
/* Stops a build still running (done is then never called); harmless on a
 * zeroed struct or a build that ended. */
void zip_build_stop(struct zip_build *b);

#endif
