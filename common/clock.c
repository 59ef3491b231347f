/* Seconds on the monotonic clock (see clock.h). */
#include "config.h"
#include "common/clock.h"

#include <time.h>

/* Seconds on the monotonic clock (only differences mean anything). */
double clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
