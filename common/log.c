/* Logging to stderr with a level prefix systemd understands. */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_prog = "ublkd";
static enum log_level log_max = LOG_LEVEL_INFO;

/* Sets the program name and the most verbose level that is printed. */
void log_init(const char *prog, enum log_level max)
{
	log_prog = prog;
	log_max = max;
}

/* Writes one formatted line with an optional error suffix. */
static void log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "<3>", "<4>", "<6>", "<7>" };
	char buf[1024];

	if (level > log_max)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (err)
		fprintf(stderr, "%s%s: %s: %s\n", prefix[level], log_prog, buf, strerror(err));
	else
		fprintf(stderr, "%s%s: %s\n", prefix[level], log_prog, buf);
}

/* Prints one message at a level, with a newline. */
void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Prints a warning followed by strerror(err) for a positive or negative errno. */
void log_errno(int err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, err < 0 ? -err : err, fmt, ap);
	va_end(ap);
	errno = saved;
}
