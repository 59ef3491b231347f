/* Logging to stderr for ublkd (systemd captures it). */
#ifndef UBLKD_LOG_H
#define UBLKD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the program name and the most verbose level that is printed. */
void log_init(const char *prog, enum log_level max);
/* True if messages of level are printed. */
bool log_enabled(enum log_level level);
/* Prints one message at a level, with a newline; the message is escaped
 * (common/text.h), so it stays one line whatever it quotes. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints a warning followed by strerror(err) for a positive or negative errno. */
void log_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
