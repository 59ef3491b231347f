/* Text from outside: strict UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), cutting without splitting a character, and
 * escaping for log lines. */
#ifndef UBLKD_TEXT_H
#define UBLKD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the strict UTF-8 character at s (at most len bytes), or 0
 * when s does not start with one. */
size_t text_utf8_char(const char *s, size_t len);
/* True if all of s (len bytes) is strict UTF-8. */
bool text_utf8_valid(const char *s, size_t len);
/* How many bytes of s (len bytes) fit in max without splitting a UTF-8
 * character at the cut. */
size_t text_utf8_cut(const char *s, size_t len, size_t max);
/* Makes s (len bytes) strict UTF-8 in place: a character cut at the end
 * is dropped (a NUL written where it began), any other byte that is not
 * part of one becomes '?'. Returns the new length. */
size_t text_utf8_repair(char *s, size_t len);
/* Writes s (len bytes) into dst (dstlen > 0), NUL-terminated, as one line a
 * person can read and no one can forge: backslash as \\, \n \r \t, other
 * control characters (C0, DEL, C1) and every byte that is not strict UTF-8
 * as \xNN. Stops before a character or escape that does not fit. Returns
 * how many bytes of s it took. */
size_t text_escape(char *dst, size_t dstlen, const char *s, size_t len);

#endif
