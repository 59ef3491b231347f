/* A strict JSON reader (RFC 8259, strict UTF-8) that only checks: it runs
 * over a request line before json-c builds the objects. */
#include "config.h"
#include "daemon/json_strict.h"
#include "common/text.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct json_strict {
	const char *s;
	size_t len, pos;
	int depth;
	struct json_strict_report *r;
	char member[32];	/* the current top-level member */
	char name[80];		/* the current member at depth 2 */
};

/* Records a syntax error at the current position; returns -EINVAL. */
static int js_fail(struct json_strict *j, const char *what)
{
	j->r->problem = JSON_STRICT_SYNTAX;
	j->r->what = what;
	j->r->offset = j->pos;
	return -EINVAL;
}

/* Records a problem other than syntax: in a top-level name or the id
 * apart, else the first one in params. */
static void js_note(struct json_strict *j, enum json_strict_problem p, size_t at,
		    size_t len)
{
	if (j->depth == 1 && p == JSON_STRICT_NUL_NAME) {
		j->r->nul_name = true;
		return;
	}
	if (j->depth == 1 && p == JSON_STRICT_RANGE && strcmp(j->member, "id") == 0) {
		if (!j->r->id_range) {
			j->r->id_range = j->s + at;
			j->r->id_range_len = len;
		}
		return;
	}
	if (j->r->problem != JSON_STRICT_OK || j->depth < 2 || strcmp(j->member, "params") != 0)
		return;
	j->r->problem = p;
	j->r->offset = at;
	j->r->depth = j->depth;
	memcpy(j->r->member, j->depth >= 1 ? j->member : "", sizeof(j->r->member));
	memcpy(j->r->name, j->depth >= 2 ? j->name : "", sizeof(j->r->name));
	j->r->token = j->s + at;
	j->r->token_len = len;
}

/* Skips JSON whitespace. */
static void js_ws(struct json_strict *j)
{
	while (j->pos < j->len && strchr(" \t\n\r", j->s[j->pos]) && j->s[j->pos])
		j->pos++;
}

/* Reads 4 hex digits at p into *v; false if they are not there. */
static bool js_hex4(struct json_strict *j, size_t p, unsigned int *v)
{
	*v = 0;
	if (p + 4 > j->len)
		return false;
	for (size_t i = p; i < p + 4; i++) {
		char c = j->s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned int)(c - 'A' + 10);
		else
			return false;
	}
	return true;
}

/* Reads a string at pos (on its quote); *nul says whether it held \u0000. */
static int js_string(struct json_strict *j, bool *nul)
{
	*nul = false;
	j->pos++;
	while (j->pos < j->len) {
		unsigned char c = (unsigned char)j->s[j->pos];
		unsigned int u, lo;
		size_t n;

		if (c == '"') {
			j->pos++;
			return 0;
		}
		if (c < 0x20)
			return js_fail(j, "a control character in a string must be escaped");
		if (c >= 0x80) {
			n = text_utf8_char(j->s + j->pos, j->len - j->pos);
			if (!n)
				return js_fail(j, "a string is not valid UTF-8");
			j->pos += n;
			continue;
		}
		if (c != '\\') {
			j->pos++;
			continue;
		}
		if (j->pos + 1 >= j->len)
			break;
		c = (unsigned char)j->s[j->pos + 1];
		if (strchr("\"\\/bfnrt", c) && c) {
			j->pos += 2;
			continue;
		}
		if (c != 'u' || !js_hex4(j, j->pos + 2, &u))
			return js_fail(j, "an invalid escape in a string");
		if (u >= 0xdc00 && u <= 0xdfff)
			return js_fail(j, "a lone surrogate escape in a string");
		if (u >= 0xd800 && u <= 0xdbff) {
			if (j->pos + 12 > j->len || j->s[j->pos + 6] != '\\' ||
			    j->s[j->pos + 7] != 'u' || !js_hex4(j, j->pos + 8, &lo) ||
			    lo < 0xdc00 || lo > 0xdfff)
				return js_fail(j, "a lone surrogate escape in a string");
			j->pos += 6;
		}
		if (u == 0)
			*nul = true;
		j->pos += 6;
	}
	return js_fail(j, "a string is not closed");
}

/* True if the integer s (n bytes: an optional '-', then digits without a
 * leading zero) fits in int64 when negative, in uint64 otherwise. */
static bool js_int_fits(const char *s, size_t n)
{
	static const char umax[] = "18446744073709551615", imin[] = "9223372036854775808";
	const char *lim = umax;

	if (*s == '-') {
		s++;
		n--;
		lim = imin;
	}
	if (n != strlen(lim))
		return n < strlen(lim);
	return memcmp(s, lim, n) <= 0;
}

/* Reads a number at pos: the RFC's grammar; notes one out of range. */
static int js_number(struct json_strict *j)
{
	size_t start = j->pos;
	bool integer = true;

	if (j->s[j->pos] == '-')
		j->pos++;
	if (j->pos >= j->len || j->s[j->pos] < '0' || j->s[j->pos] > '9')
		return js_fail(j, "a number needs a digit");
	if (j->s[j->pos] == '0')
		j->pos++;
	else
		while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	if (j->pos < j->len && j->s[j->pos] == '.') {
		integer = false;
		j->pos++;
		if (j->pos >= j->len || j->s[j->pos] < '0' || j->s[j->pos] > '9')
			return js_fail(j, "a number needs a digit after '.'");
		while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	}
	if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		integer = false;
		j->pos++;
		if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		if (j->pos >= j->len || j->s[j->pos] < '0' || j->s[j->pos] > '9')
			return js_fail(j, "a number needs a digit in its exponent");
		while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	}
	/* strtod reads exactly this token: the text is NUL-terminated and
	 * what follows the number is not part of any number. */
	if (integer ? !js_int_fits(j->s + start, j->pos - start) :
	    !isfinite(strtod(j->s + start, NULL)))
		js_note(j, JSON_STRICT_RANGE, start, j->pos - start);
	return 0;
}

/* Reads a literal word (true, false, null). */
static int js_word(struct json_strict *j, const char *w)
{
	size_t n = strlen(w);

	if (j->len - j->pos < n || memcmp(j->s + j->pos, w, n) != 0)
		return js_fail(j, "an unexpected character (not a JSON value)");
	j->pos += n;
	return 0;
}

static int js_value(struct json_strict *j);

/* Copies the name of the member just read (quotes at from and pos - 1),
 * as written, cut at a character, into dst. */
static void js_copy_name(struct json_strict *j, size_t from, char *dst, size_t size)
{
	size_t n = text_utf8_cut(j->s + from + 1, j->pos - from - 2, size - 1);

	memcpy(dst, j->s + from + 1, n);
	dst[n] = '\0';
}

/* Reads an object at pos (on its brace). */
static int js_object(struct json_strict *j)
{
	j->pos++;
	js_ws(j);
	if (j->pos < j->len && j->s[j->pos] == '}') {
		j->pos++;
		return 0;
	}
	for (;;) {
		size_t at = j->pos, start;
		bool nul;
		int ret;

		if (j->pos >= j->len)
			return js_fail(j, "the text ended inside an object");
		if (j->s[j->pos] != '"')
			return js_fail(j, "a member name must be a string");
		ret = js_string(j, &nul);
		if (ret < 0)
			return ret;
		if (j->depth == 1)
			js_copy_name(j, at, j->member, sizeof(j->member));
		else if (j->depth == 2)
			js_copy_name(j, at, j->name, sizeof(j->name));
		if (nul)
			js_note(j, JSON_STRICT_NUL_NAME, at, j->pos - at);
		js_ws(j);
		if (j->pos >= j->len || j->s[j->pos] != ':')
			return js_fail(j, "':' expected after a member name");
		j->pos++;
		js_ws(j);
		start = j->pos;
		ret = js_value(j);
		if (ret < 0)
			return ret;
		if (j->depth == 1 && strcmp(j->member, "params") == 0) {
			size_t end = j->pos;

			while (end > start && strchr(" \t\n\r", j->s[end - 1]))
				end--;
			j->r->params = j->s + start;
			j->r->params_len = end - start;
		}
		if (j->pos < j->len && j->s[j->pos] == ',') {
			j->pos++;
			js_ws(j);
			continue;
		}
		if (j->pos < j->len && j->s[j->pos] == '}') {
			j->pos++;
			return 0;
		}
		return js_fail(j, j->pos >= j->len ? "the text ended inside an object" :
			       "',' or '}' expected in an object");
	}
}

/* Reads an array at pos (on its bracket). */
static int js_array(struct json_strict *j)
{
	j->pos++;
	js_ws(j);
	if (j->pos < j->len && j->s[j->pos] == ']') {
		j->pos++;
		return 0;
	}
	for (;;) {
		int ret = js_value(j);

		if (ret < 0)
			return ret;
		if (j->pos < j->len && j->s[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->s[j->pos] == ']') {
			j->pos++;
			return 0;
		}
		return js_fail(j, j->pos >= j->len ? "the text ended inside an array" :
			       "',' or ']' expected in an array");
	}
}

/* Reads one value with the whitespace around it. */
static int js_value(struct json_strict *j)
{
	bool nul;
	int ret;

	js_ws(j);
	if (j->pos >= j->len)
		return js_fail(j, "a value expected, the text ended");
	switch (j->s[j->pos]) {
	case '{':
	case '[':
		if (j->depth >= JSON_STRICT_MAX_DEPTH)
			return js_fail(j, "nested too deeply");
		j->depth++;
		/* What is inside names only its own members. */
		if (j->depth == 1)
			j->member[0] = '\0';
		if (j->depth <= 2)
			j->name[0] = '\0';
		ret = j->s[j->pos] == '{' ? js_object(j) : js_array(j);
		j->depth--;
		break;
	case '"':
		ret = js_string(j, &nul);
		break;
	case 't':
		ret = js_word(j, "true");
		break;
	case 'f':
		ret = js_word(j, "false");
		break;
	case 'n':
		ret = js_word(j, "null");
		break;
	default:
		if (j->s[j->pos] == '-' || (j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
			ret = js_number(j);
		else
			ret = js_fail(j, "an unexpected character (not a JSON value)");
	}
	if (ret == 0)
		js_ws(j);
	return ret;
}

/* Checks that text is one strict JSON text; see json_strict.h. */
int json_strict_check(const char *text, size_t len, struct json_strict_report *r)
{
	struct json_strict j = { .s = text, .len = len, .r = r };
	int ret;

	memset(r, 0, sizeof(*r));
	ret = js_value(&j);
	if (ret == 0 && j.pos < len)
		ret = js_fail(&j, "more text after the JSON value");
	return ret;
}
