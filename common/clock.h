/* Seconds on the monotonic clock, for deadlines, rate limits and how long
 * something took. */
#ifndef UBLKD_CLOCK_H
#define UBLKD_CLOCK_H

/* Seconds on the monotonic clock (only differences mean anything). */
double clock_mono(void);

#endif
