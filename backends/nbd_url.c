/* The nbd backend's pure logic (see nbd_url.h). */
#include "config.h"
#include "backends/nbd_url.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The URI schemes libnbd connects to, and whether each is TLS. */
static const struct {
	const char *scheme;
	bool tls;
} nbd_schemes[] = {
	{ "nbd://", false },
	{ "nbds://", true },
	{ "nbd+unix://", false },
	{ "nbds+unix://", true },
	{ "nbd+vsock://", false },
	{ "nbds+vsock://", true },
};

/* Checks the scheme of an NBD URI (libnbd parses the rest); for_user: the
 * URI comes from a client other than root, which may not make ublkd open
 * a socket or a TLS file by name (those are all query parameters). */
int nbd_url_check(const char *url, bool for_user, bool *tls, char *err, size_t errlen)
{
	if (!url || !url[0]) {
		snprintf(err, errlen, "url: required (nbd://HOST[:PORT][/EXPORT] or "
			 "nbd+unix:///EXPORT?socket=PATH)");
		return -EINVAL;
	}
	if (for_user && (strchr(url, '?') || strstr(url, "+unix://"))) {
		snprintf(err, errlen, "url: '%s': a client other than root may give only "
			 "nbd:// or nbds:// URLs without query parameters (a unix socket or "
			 "a TLS file would be opened by ublkd, as root)", url);
		return -EPERM;
	}
	for (size_t i = 0; i < sizeof(nbd_schemes) / sizeof(nbd_schemes[0]); i++) {
		size_t n = strlen(nbd_schemes[i].scheme);

		if (strncmp(url, nbd_schemes[i].scheme, n) == 0) {
			if (strncmp(nbd_schemes[i].scheme, "nbd://", 6) == 0 ||
			    strncmp(nbd_schemes[i].scheme, "nbds://", 7) == 0) {
				if (url[n] == '\0' || url[n] == '/') {
					snprintf(err, errlen, "url: '%s' names no host "
						 "(expected %sHOST[:PORT][/EXPORT])", url,
						 nbd_schemes[i].scheme);
					return -EINVAL;
				}
			}
			*tls = nbd_schemes[i].tls;
			return 0;
		}
	}
	snprintf(err, errlen, "url: '%s' is not an NBD URI (expected nbd://HOST[:PORT][/EXPORT], "
		 "nbd+unix:///EXPORT?socket=PATH, or nbds:// and nbds+unix:// for TLS)", url);
	return -EINVAL;
}

/* Reads a --timeout value in seconds. */
int nbd_timeout_parse(const char *text, double *secs, char *err, size_t errlen)
{
	char *end;
	double v;

	if (!text) {
		*secs = NBD_TIMEOUT_DEFAULT;
		return 0;
	}
	errno = 0;
	v = strtod(text, &end);
	if (end != text && *end == 's')
		end++;
	if (end == text || *end || errno || !isfinite(v) || v <= 0 || v > NBD_TIMEOUT_MAX) {
		snprintf(err, errlen, "timeout: '%s' is not a number of seconds from more than 0 "
			 "to %.0f", text, NBD_TIMEOUT_MAX);
		return -EINVAL;
	}
	*secs = v;
	return 0;
}

/* Seconds before reconnection attempt number attempt. */
double nbd_backoff(unsigned attempt)
{
	double s = NBD_BACKOFF_FIRST;

	for (unsigned i = 0; i < attempt && s < NBD_BACKOFF_MAX; i++)
		s *= 2;
	return s < NBD_BACKOFF_MAX ? s : NBD_BACKOFF_MAX;
}

/* The period of the timeout checks for a timeout. */
double nbd_tick(double timeout)
{
	double t = timeout / 4;

	return t < 0.1 ? 0.1 : t > 1.0 ? 1.0 : t;
}
