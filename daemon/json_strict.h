/* A strict reading of a request line before json-c parses it: json-c 0.16
 * takes NaN and Infinity, overlong and surrogate UTF-8, raw control
 * characters, "1." and lone \u surrogates even with JSON_TOKENER_STRICT,
 * clamps integers beyond 64 bits, and cuts member names at a \u0000.
 * json_strict_check refuses the first set and reports the others with
 * where they are, for rpc.c to answer. */
#ifndef UBLKD_JSON_STRICT_H
#define UBLKD_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>

/* Nesting deeper than this is refused (json-c's default depth). */
#define JSON_STRICT_MAX_DEPTH	32

enum json_strict_problem {
	JSON_STRICT_OK,
	JSON_STRICT_SYNTAX,	/* not RFC 8259 JSON in strict UTF-8: what says why */
	JSON_STRICT_NUL_NAME,	/* a member name holds \u0000 */
	JSON_STRICT_RANGE,	/* an integer beyond 64 bits, or a number beyond a double */
};

/* What json_strict_check found. Problems at the top level and in "params"
 * are kept apart, so that one in params cannot hide one in the id. */
struct json_strict_report {
	/* SYNTAX, or the first problem inside the top-level member "params"
	 * (NUL_NAME or RANGE), or OK. */
	enum json_strict_problem problem;
	const char *what;	/* SYNTAX: what was wrong */
	size_t offset;		/* where it is, in bytes from the start */
	int depth;		/* NUL_NAME, RANGE: 2 directly in params */
	char member[32];	/* the top-level member it is in, as written */
	char name[80];		/* the member of params it is in ("" if none) */
	const char *token;	/* RANGE: the number as written */
	size_t token_len;
	bool nul_name;		/* a top-level member name holds \u0000 */
	const char *id_range;	/* the id as written if it is a number out */
	size_t id_range_len;	/* of range, else NULL */
	const char *params;	/* the top-level member "params" as written, */
	size_t params_len;	/* or NULL */
};

/* Checks that text (len bytes, text[len] readable) is one strict JSON
 * text; returns 0 with r->problem OK, NUL_NAME or RANGE (syntax being
 * fine otherwise), or -EINVAL with r->problem SYNTAX. */
int json_strict_check(const char *text, size_t len, struct json_strict_report *r);

#endif
