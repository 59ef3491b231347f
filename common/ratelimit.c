/* Limiting events per interval, counting what was held back. */
#include "config.h"
#include "ratelimit.h"

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
