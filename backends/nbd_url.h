/* The nbd backend's pure logic: checks of its parameters and the schedule
 * of its reconnections (no libnbd here, so it is unit tested alone). */
#ifndef UBLKD_NBD_URL_H
#define UBLKD_NBD_URL_H

#include <stdbool.h>
#include <stddef.h>

#define NBD_TIMEOUT_DEFAULT	30.0	/* seconds, --timeout */
#define NBD_TIMEOUT_MAX		86400.0
#define NBD_BACKOFF_FIRST	0.25	/* seconds before the first reconnection */
#define NBD_BACKOFF_MAX		4.0	/* and the longest wait between two */

/* Checks that url is an NBD URI libnbd can take (nbd://, nbds://,
 * nbd+unix://, nbds+unix://, nbd+vsock://, nbds+vsock://); *tls says
 * whether it asks for TLS. 0, or -EINVAL with a message in err. */
int nbd_url_check(const char *url, bool for_user, bool *tls, char *err, size_t errlen);
/* Reads --timeout: seconds, "30" or "2.5" or "30s", more than 0 and at
 * most NBD_TIMEOUT_MAX; NULL gives the default. 0, or -EINVAL with a
 * message in err. */
int nbd_timeout_parse(const char *text, double *secs, char *err, size_t errlen);
/* Seconds to wait before reconnection attempt number attempt (0 first):
 * doubling from NBD_BACKOFF_FIRST up to NBD_BACKOFF_MAX. */
double nbd_backoff(unsigned attempt);
/* How often the backend looks for requests past their timeout: a quarter
 * of it, from 0.1 s to 1 s. */
double nbd_tick(double timeout);

#endif
