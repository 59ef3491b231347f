/* Strict UTF-8 and escaping of text that came from outside the daemon. */
#include "config.h"
#include "text.h"

#include <stdio.h>
#include <string.h>

/* The length of the strict UTF-8 character at s, or 0 if there is none. */
size_t text_utf8_char(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned int cp, min;
	size_t n;

	if (!len)
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2; cp = u[0] & 0x1f; min = 0x80;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3; cp = u[0] & 0x0f; min = 0x800;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4; cp = u[0] & 0x07; min = 0x10000;
	} else {
		return 0;	/* a continuation byte, C0, C1 or F5..FF */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* True if all of s is strict UTF-8. */
bool text_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n;

		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		n = text_utf8_char(s + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* How many bytes of s fit in max without splitting a character. */
size_t text_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t back = 0;

	if (len <= max)
		return len;
	/* s[max] is the first byte left out: step back over the start of
	 * its character (at most 3 continuation bytes). */
	while (max && back < 3 && ((unsigned char)s[max] & 0xc0) == 0x80) {
		max--;
		back++;
	}
	return max;
}

/* How many bytes the character that lead byte c starts has (c >= 0xc2). */
static size_t text_utf8_need(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
}

/* Makes s (len bytes) strict UTF-8 in place: drops a cut character at the
 * end (writing a NUL where it began), turns other bytes that belong to no
 * character into '?'. Returns the new length. */
size_t text_utf8_repair(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = (unsigned char)s[i] < 0x80 ? 1 : text_utf8_char(s + i, len - i);

		if (n) {
			i += n;
			continue;
		}
		/* A lead byte whose character the end of s cut short. */
		if ((unsigned char)s[i] >= 0xc2 && (unsigned char)s[i] <= 0xf4 &&
		    len - i < text_utf8_need((unsigned char)s[i])) {
			bool cut = true;

			for (size_t j = i + 1; j < len; j++)
				if (((unsigned char)s[j] & 0xc0) != 0x80)
					cut = false;
			if (cut) {
				s[i] = '\0';
				return i;
			}
		}
		s[i++] = '?';
	}
	return len;
}

/* Writes s escaped into dst: one line that shows every byte of s. */
size_t text_escape(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		unsigned char c = (unsigned char)s[in];
		const char *esc = NULL;
		char hex[9];
		size_t n = c < 0x80 ? 1 : text_utf8_char(s + in, len - in), w;

		if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c < 0x20 || c == 0x7f || !n) {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			esc = hex;
			n = 1;
		} else if (n == 2 && c == 0xc2 && (unsigned char)s[in + 1] < 0xa0) {
			/* U+0080..U+009F: C1 controls (0x9b starts a CSI) */
			snprintf(hex, sizeof(hex), "\\xc2\\x%02x", (unsigned char)s[in + 1]);
			esc = hex;
		}
		w = esc ? strlen(esc) : n;
		if (out + w >= dstlen)
			break;
		memcpy(dst + out, esc ? esc : s + in, w);
		out += w;
		in += n;
	}
	dst[out] = '\0';
	return in;
}
