/* Reading JSON-RPC params with checks that name what was wrong. */
#ifndef UBLKD_PARAMS_H
#define UBLKD_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "backends/backend.h"

/* A message quotes at most this many bytes of a string a client sent. */
#define PARAMS_QUOTE	64

/* How many bytes of a client's string s a message quotes ("%.*s"): at
 * most PARAMS_QUOTE, never part of a character. */
int params_quote_len(const char *s);
/* "..." when s is longer than what params_quote_len quotes, else "". */
const char *params_quote_more(const char *s);
/* Returns -EINVAL with a message unless params is an object (or NULL) whose
 * keys are all in the NULL-terminated list allowed. */
int params_check_keys(struct json_object *params, const char *const *allowed,
		      char *err, size_t errlen);
/* The same, saying whose parameters they are ("the zip backend") in the
 * message. */
int params_check_keys_for(struct json_object *params, const char *const *allowed,
			  const char *whose, char *err, size_t errlen);
/* Reads the parameters a backend declares in decl from params into args
 * (one per row; absent ones all zero), the SIZE one also into *size:
 * checks each one's type, range and presence when required, and that a
 * path is absolute. whose names the owner in messages ("the zip
 * backend"). With path_passed a required PATH parameter may be absent (a
 * descriptor stands for it). Returns 0 or -EINVAL with a message. */
int params_declared(struct json_object *params, const struct backend_param *decl,
		    const char *whose, uint32_t block_size, bool path_passed,
		    struct backend_arg *args, uint64_t *size, char *err, size_t errlen);
/* Reads an integer in [min, max]: 0 found, 1 absent, -EINVAL wrong. */
int params_uint(struct json_object *params, const char *key, uint64_t min,
		uint64_t max, uint64_t *out, char *err, size_t errlen);
/* Reads a size: an integer of bytes or a string like "1G": 0, 1 absent, -EINVAL. */
int params_size(struct json_object *params, const char *key, uint64_t *out,
		char *err, size_t errlen);
/* Reads a boolean: 0 found, 1 absent, -EINVAL wrong type. */
int params_bool(struct json_object *params, const char *key, bool *out,
		char *err, size_t errlen);
/* Reads a non-empty string without NUL characters (borrowed): 0 found, 1
 * absent, -EINVAL wrong. */
int params_string(struct json_object *params, const char *key, const char **out,
		  char *err, size_t errlen);

#endif
