/* A limit on how many events (log lines) pass per interval: up to burst
 * in each interval, the rest counted as suppressed and reported with the
 * first event that passes afterwards. */
#ifndef UBLKD_RATELIMIT_H
#define UBLKD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct ratelimit {
	double interval;		/* seconds */
	unsigned int burst;		/* events let through per interval */
	double start;			/* when the current interval began */
	unsigned int passed;		/* events let through in it */
	unsigned long suppressed;	/* held back since the last that passed */
	bool started;
};

/* A limit of burst events per interval seconds, nothing seen yet. */
void ratelimit_init(struct ratelimit *rl, double interval, unsigned int burst);
/* True if one more event at time now (seconds, monotonic) may pass. When
 * it passes, *suppressed is how many were held back since the last one
 * that did (and the count starts again); else it is 0. */
bool ratelimit_pass(struct ratelimit *rl, double now, unsigned long *suppressed);
/* ratelimit_pass for a log line: when it passes, more (len bytes) holds
 * the suffix " (and N more since the last such line)" if N were held
 * back, else "". */
bool ratelimit_pass_line(struct ratelimit *rl, double now, char *more, size_t len);

#endif
