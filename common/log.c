/* Logging to stderr with a level prefix systemd understands. */
#include "config.h"
#include "log.h"
#include "text.h"

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

/* True if messages of level are printed. */
bool log_enabled(enum log_level level)
{
	return level <= log_max;
}

/* Writes one formatted line with an optional error suffix. The message is
 * escaped (text_escape), so that what it quotes from a client can neither
 * end the line nor forge a priority prefix or a terminal sequence. */
static void log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "<3>", "<4>", "<6>", "<7>" };
	char buf[1024], line[4 * sizeof(buf) + 4];
	bool cut = false;
	int n;

	if (level > log_max)
		return;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		n = 0;
	/* A message cut short loses a whole character, not part of one. */
	if ((size_t)n >= sizeof(buf)) {
		n = (int)text_utf8_cut(buf, sizeof(buf) - 1, sizeof(buf) - 4);
		cut = true;
	}
	text_escape(line, sizeof(line) - 3, buf, (size_t)n);
	if (cut)
		strcat(line, "...");
	if (err)
		fprintf(stderr, "%s%s: %s: %s\n", prefix[level], log_prog, line, strerror(err));
	else
		fprintf(stderr, "%s%s: %s\n", prefix[level], log_prog, line);
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
