/* Limiting events per interval, counting what was held back. */
#include "config.h"
#include "ratelimit.h"

#include <stdio.h>

/* A limit of burst events per interval seconds, nothing seen yet. */
void ratelimit_init(struct ratelimit *rl, double interval, unsigned int burst)
{
	rl->interval = interval;
	rl->burst = burst;
	rl->start = 0;
	rl->passed = 0;
	rl->suppressed = 0;
	rl->started = false;
}

/* True if one more event at time now may pass; *suppressed as described. */
bool ratelimit_pass(struct ratelimit *rl, double now, unsigned long *suppressed)
{
	*suppressed = 0;
	/* A clock that went back starts a new interval too. */
	if (!rl->started || now >= rl->start + rl->interval || now < rl->start) {
		rl->started = true;
		rl->start = now;
		rl->passed = 0;
	}
	if (rl->passed >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->passed++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

/* ratelimit_pass with the count held back as a suffix for the line. */
bool ratelimit_pass_line(struct ratelimit *rl, double now, char *more, size_t len)
{
	unsigned long quiet;

	if (len)
		more[0] = '\0';
	if (!ratelimit_pass(rl, now, &quiet))
		return false;
	if (quiet && len)
		snprintf(more, len, " (and %lu more since the last such line)", quiet);
	return true;
}
